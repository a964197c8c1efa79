package api_test

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"partyledger/api"
)

// TestAdminBrowser drives the work committee's pages in headless Chromium:
// the admin signs in, issues a branch token (shown once), publishes a
// rulebook correction from a file — first one with mistakes, each shown
// with its line, then the corrected one — compares the two versions,
// recomputes (the branch moves from 未达标 to 达标, by item 5.2) and
// issues the grades (a dry run, then confirmed). Screenshots of each page
// at 1366×900 and 390×844 go to $PARTYLEDGER_ARTIFACTS.
func TestAdminBrowser(t *testing.T) {
	bin := chromium()
	if bin == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("no Chromium binary found (CI is set): .ci/run installs Debian's chromium")
		}
		t.Skip("no Chromium binary found (install Debian's chromium, or set PARTYLEDGER_CHROMIUM); skipping the admin browser test")
	}
	e := newEnv(t, api.Options{})
	dir := artifacts(t)
	files := t.TempDir()
	bad := filepath.Join(files, "2016.2-draft.json")
	good := filepath.Join(files, "2016.2.json")
	badDoc := rulebookJSON(t, correction2016("2016.2"), func(doc map[string]any) {
		doc["total"] = 99
		item := doc["items"].([]any)[3].(map[string]any)
		item["titel"] = item["title"]
		delete(item, "title")
	})
	for name, doc := range map[string]string{bad: badDoc, good: rulebookJSON(t, correction2016("2016.2"))} {
		if err := os.WriteFile(name, []byte(doc), 0o644); err != nil {
			t.Fatal(err)
		}
	}

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
		chromedp.WindowSize(1366, 900),
	}
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelA()
	bctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	if err := chromedp.Do(bctx); err != nil {
		t.Fatalf("start %s: %v", bin, err)
	}
	ctx, cancelT := context.WithTimeout(bctx, 2*time.Minute)
	defer cancelT()

	css := func(s string) chromedp.CSS { return chromedp.CSS(s) }
	do := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, steps...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	text := func(sel string) string {
		t.Helper()
		v, err := pageText(ctx, sel)
		if err != nil {
			t.Fatalf("text of %s: %v", sel, err)
		}
		return v
	}
	// shots saves the page as it is at 1366×900 (the full page) and as a
	// phone shows it, 390×844, then goes back to the desktop size.
	shots := func(name string) {
		t.Helper()
		for _, vp := range []struct {
			w, h   int64
			suffix string
		}{{1366, 900, ""}, {390, 844, "-phone"}} {
			do("viewport "+name, chromedp.EmulateViewport(vp.w, vp.h), chromedp.Sleep(150*time.Millisecond))
			// Right after a viewport change or a navigation the page may
			// not be laid out yet ("Cannot take screenshot with 0 width"):
			// wait for it, a bounded number of times.
			var png []byte
			var err error
			for try := 0; try < 20; try++ {
				if png, err = chromedp.Run(ctx, chromedp.FullScreenshot(100)); err == nil || !strings.Contains(err.Error(), "0 width") {
					break
				}
				time.Sleep(100 * time.Millisecond)
			}
			if err != nil {
				t.Fatalf("screenshot %s: %v", name, err)
			}
			if err := os.WriteFile(filepath.Join(dir, "admin-"+name+vp.suffix+".png"), png, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		do("desktop", chromedp.EmulateViewport(1366, 900))
	}
	base := e.ts.URL

	do("sign in as the admin",
		chromedp.EmulateViewport(1366, 900),
		chromedp.Navigate(base+"/login"),
		chromedp.WaitVisible(css("#token")),
		chromedp.SendKeys(css("#token"), e.tokens["admin"]),
		chromedp.Click(css("#login-submit")),
		chromedp.WaitVisible(css(`nav a[href="/ui/admin"]`)),
		chromedp.Click(css(`nav a[href="/ui/admin"]`)),
		chromedp.WaitVisible(css("#admin-index")),
	)
	shots("index")

	// A branch token: shown once, and it signs in.
	do("issue a token",
		chromedp.Click(css(`a[href="/ui/admin/tokens"]`)),
		chromedp.WaitVisible(css("#token-form")),
		chromedp.SetValue(css("#token-role"), "branch"),
		chromedp.SendKeys(css("#token-org"), ownOrg),
		chromedp.SendKeys(css("#token-name"), "新任支部书记"),
		chromedp.Click(css("#token-submit")),
		chromedp.WaitVisible(css("#new-token")),
	)
	tok := strings.TrimSpace(text("#new-token"))
	if !regexp.MustCompile(`^plt_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$`).MatchString(tok) {
		t.Fatalf("token shown: %q", tok)
	}
	if res := e.do("GET", "/v1/me", tok, nil); res.status != 200 || res.json(t)["org"] != ownOrg {
		t.Errorf("the issued token: %d %s", res.status, res.body)
	}
	shots("token-issued")
	do("token list", chromedp.Navigate(base+"/ui/admin/tokens"), chromedp.WaitVisible(css("#tokens")))
	if list := text("#tokens"); !strings.Contains(list, "新任支部书记") || strings.Contains(list, tok) {
		t.Errorf("token list: %s", list)
	}
	shots("tokens")

	// A correction with mistakes: every problem with its line; then the
	// corrected file is published.
	do("publish with mistakes",
		chromedp.Navigate(base+"/ui/admin/rulebooks?year=2016"),
		chromedp.WaitVisible(css("#publish-form")),
		chromedp.SendKeys(css("#rulebook-file"), bad), // on a file input: chooses the file
		chromedp.SendKeys(css("#rulebook-reason"), "更正：政治学习每月一次，达标线 55 分"),
		chromedp.Click(css("#publish-submit")),
		chromedp.WaitVisible(css("#problems")),
	)
	problems := text("#problems")
	lines := strings.Split(badDoc, "\n")
	lineOf := func(substr string) string {
		for i, l := range lines {
			if strings.Contains(l, substr) {
				return "第 " + strconv.Itoa(i+1) + " 行"
			}
		}
		return "?"
	}
	for _, want := range []string{lineOf(`"titel"`), "items[3].titel", "未知字段", lineOf(`"total"`), "total"} {
		if !strings.Contains(problems, want) {
			t.Errorf("problems lack %q:\n%s", want, problems)
		}
	}
	if msg := text("#publish-error"); !strings.Contains(msg, "细则未发布") {
		t.Errorf("error %q", msg)
	}
	shots("rulebook-errors")
	do("publish the corrected file",
		chromedp.SendKeys(css("#rulebook-file"), good),
		chromedp.Click(css("#publish-submit")),
		chromedp.WaitVisible(css(".flash")),
	)
	if flash := text(".flash"); !strings.Contains(flash, "已发布细则 2016.2") {
		t.Errorf("flash %q", flash)
	}
	if versions := text("#versions"); !strings.Contains(versions, "2016.2") || !strings.Contains(versions, "现行") {
		t.Errorf("versions: %s", versions)
	}
	shots("rulebooks")

	do("diff", chromedp.Click(css(`a[href^="/ui/admin/rulebooks/diff"]`)), chromedp.WaitVisible(css("#diff-summary")))
	if sum := text("#diff-summary"); !strings.Contains(sum, "5.2") {
		t.Errorf("diff summary: %s", sum)
	}
	shots("rulebook-diff")

	// Recompute: the own branch moves from 未达标 to 达标, by item 5.2.
	do("recompute",
		chromedp.Navigate(base+"/ui/admin/recompute?year=2016"),
		chromedp.WaitVisible(css("#recompute-versions")),
		chromedp.SetValue(css(`#recompute-versions select[name="from"]`), "2016.1"),
		chromedp.SetValue(css(`#recompute-versions select[name="to"]`), "2016.2"),
		chromedp.Click(css("#recompute-submit")),
		chromedp.WaitVisible(css("#moves")),
	)
	if moves := text("#moves"); !strings.Contains(moves, "未达标") || !strings.Contains(moves, "达标") {
		t.Errorf("moves: %s", moves)
	}
	if own := text("#changed-" + ownOrg); !strings.Contains(own, "政治学习") {
		t.Errorf("%s's change lacks item 5.2: %s", ownOrg, own)
	}
	shots("recompute")

	// Grades: a dry run, then confirmed.
	do("grade dry run",
		chromedp.Navigate(base+"/ui/admin/grades?year=2016"),
		chromedp.WaitVisible(css("#issue-form")),
		chromedp.Click(css(`#issue-form input[name="provisional"]`)),
		chromedp.Click(css("#issue-dry-run")),
		chromedp.WaitVisible(css("#confirm-form")),
	)
	if sum := text("#run-summary"); !strings.Contains(sum, "将评定") {
		t.Errorf("dry run: %s", sum)
	}
	shots("grades-dry-run")
	do("confirm grades", chromedp.Click(css("#confirm-submit")), chromedp.WaitVisible(css(".flash")))
	if flash := text(".flash"); !strings.Contains(flash, "已写入 1 个评定") {
		t.Errorf("flash %q", flash)
	}
	shots("grades-issued")
	do("grades", chromedp.Navigate(base+"/ui/admin/grades?year=2016"), chromedp.WaitVisible(css("#grades")))
	if grades := text("#grades"); !strings.Contains(grades, genOrg) || !strings.Contains(grades, "评定") {
		t.Errorf("grades: %s", grades)
	}
	shots("grades")
	do("history", chromedp.Click(css(`#grades a[href^="/ui/admin/grades/`+genOrg+`"]`)), chromedp.WaitVisible(css("#grade-history")))
	if h := text("#grade-history"); !strings.Contains(h, "测试 admin") {
		t.Errorf("history: %s", h)
	}
	shots("grade-history")
	t.Logf("screenshots in %s", dir)
}
