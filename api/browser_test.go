package api_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"partyledger/api"
)

// chromium returns the path of a Chromium binary, or "" when there is none.
func chromium() string {
	if p := os.Getenv("PARTYLEDGER_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if _, err := os.Stat("/usr/bin/chromium"); err == nil {
		return "/usr/bin/chromium"
	}
	return ""
}

// artifacts returns the directory screenshots go to: $PARTYLEDGER_ARTIFACTS,
// or a test temporary directory.
func artifacts(t *testing.T) string {
	dir := os.Getenv("PARTYLEDGER_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join(t.TempDir(), "artifacts")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestBrowser drives headless Chromium: a branch signs in with its token,
// records a study session through the 登记 form (first with a mistake,
// answered in Chinese next to the field), and sees its scorecard rise;
// then the journal shows the event with who recorded it, and an auditor
// sees the overview. Screenshots of the three main pages are saved.
func TestBrowser(t *testing.T) {
	bin := chromium()
	if bin == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("no Chromium binary found (CI is set): .ci/run installs Debian's chromium")
		}
		t.Skip("no Chromium binary found (install Debian's chromium, or set PARTYLEDGER_CHROMIUM); skipping the browser test")
	}
	e := newEnv(t, api.Options{})
	dir := artifacts(t)

	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(bin),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("lang", "zh-CN"),
		chromedp.Env("LANGUAGE=zh_CN", "LANG=zh_CN.UTF-8"),
		chromedp.WindowSize(1280, 900),
	}
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelA()
	bctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	if err := chromedp.Do(bctx); err != nil { // starts the browser, bound to bctx
		t.Fatalf("start %s: %v", bin, err)
	}
	ctx, cancelT := context.WithTimeout(bctx, 90*time.Second)
	defer cancelT()

	do := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, steps...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	text := func(sel string) string {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("text of %s: %v", sel, err)
		}
		return v
	}
	shot := func(name string) {
		t.Helper()
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatalf("screenshot %s: %v", name, err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	score := func(s string) float64 {
		t.Helper()
		f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
		if err != nil {
			t.Fatalf("final score %q: %v", s, err)
		}
		return f
	}
	css := func(s string) chromedp.CSS { return chromedp.CSS(s) }
	base := e.ts.URL

	// Sign in as the branch: the home page is its own scorecard.
	do("sign in",
		chromedp.Navigate(base+"/"),
		chromedp.WaitVisible(css("#token")),
		chromedp.SendKeys(css("#token"), e.tokens["branch"]),
		chromedp.Click(css("#login-submit")),
		chromedp.WaitVisible(css("#final")),
	)
	before := text("#final")

	// A study session with no topic is refused, in Chinese, next to the field.
	do("invalid form",
		chromedp.Navigate(base+"/ui/orgs/"+ownOrg+"/record/StudySessionHeld"),
		chromedp.WaitVisible(css("#record-form")),
		chromedp.SetValue(css("#occurred_on"), "2016-06-20"),
		chromedp.Click(css("#record-submit")),
		chromedp.WaitVisible(css("#err-topic")),
	)
	if msg := text("#err-topic"); !strings.Contains(msg, "必填") {
		t.Errorf("topic error %q, want 必填", msg)
	}
	shot("record-form-error.png")

	// The corrected form records the session and shows the scorecard.
	do("record",
		chromedp.SetValue(css("#occurred_on"), "2016-06-20"),
		chromedp.SetValue(css("#f-topic"), "六月第二次政治学习：党章"),
		chromedp.Click(css(`input[name="attendees"][value="m1"]`)),
		chromedp.Click(css(`input[name="attendees"][value="m2"]`)),
		chromedp.Click(css("#f-notes_kept")),
		chromedp.Click(css("#record-submit")),
		chromedp.WaitVisible(css("#final")),
	)
	after := text("#final")
	if score(after) <= score(before) {
		t.Errorf("final score %s after recording June's second study session, was %s: want higher", after, before)
	}
	if flash := text(".flash"); !strings.Contains(flash, "已登记") {
		t.Errorf("flash %q, want 已登记", flash)
	}
	shot("scorecard.png")
	// The top of the page, for the README.
	do("readme viewport", chromedp.EmulateViewport(1280, 1350), chromedp.Navigate(base+"/ui/orgs/"+ownOrg+"?year=2016"), chromedp.WaitVisible(css("#final")))
	top, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "scorecard-top.png"), top, 0o644); err != nil {
		t.Fatal(err)
	}
	do("desktop", chromedp.EmulateViewport(1280, 900))

	// The journal lists it, with who recorded it.
	do("journal",
		chromedp.Navigate(base+"/ui/orgs/"+ownOrg+"/journal?year=2016"),
		chromedp.WaitVisible(css("#journal")),
	)
	if journal := text("#journal"); !strings.Contains(journal, "六月第二次政治学习") || !strings.Contains(journal, "测试 branch") {
		t.Errorf("journal lacks the new session or its recorder:\n%s", journal)
	}
	shot("journal.png")

	// A phone-sized scorecard, for the eye.
	do("phone",
		chromedp.EmulateViewport(390, 844),
		chromedp.Navigate(base+"/ui/orgs/"+ownOrg),
		chromedp.WaitVisible(css("#final")),
	)
	shot("scorecard-phone.png")

	// Sign out; an auditor sees the overview of every organisation.
	do("overview",
		chromedp.EmulateViewport(1280, 900),
		chromedp.Navigate(base+"/ui/orgs/"+ownOrg),
		chromedp.WaitVisible(css("form.who button")),
		chromedp.Click(css("form.who button")),
		chromedp.WaitVisible(css("#token")),
		chromedp.SendKeys(css("#token"), e.tokens["auditor"]),
		chromedp.Click(css("#login-submit")),
		chromedp.WaitVisible(css("#overview")),
		// Every organisation, not only those directly under the committee.
		chromedp.Navigate(base+"/ui/overview?under=*"),
		chromedp.WaitVisible(css("#overview")),
	)
	overview := text("#overview")
	for _, want := range []string{ownOrg, otherOrg, genOrg, "机关第一党支部"} {
		if !strings.Contains(overview, want) {
			t.Errorf("overview lacks %s", want)
		}
	}
	shot("overview.png")
	t.Logf("screenshots in %s", dir)
	if os.Getenv("PARTYLEDGER_UPDATE_SCREENSHOTS") != "" {
		b, err := os.ReadFile(filepath.Join(dir, "scorecard-top.png"))
		if err == nil {
			err = os.WriteFile(filepath.Join("testdata", "screenshots", "scorecard.png"), b, 0o644)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}
