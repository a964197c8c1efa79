package api_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"partyledger/domain"
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

// The two screens of issue 17.
const (
	desktopW, desktopH = 1366, 900
	phoneW, phoneH     = 390, 844
)

// chrome is one tab of headless Chromium driven by a test.
type chrome struct {
	t    *testing.T
	ctx  context.Context
	dir  string
	base string
}

// do runs steps, each within stepTimeout; on failure it saves a
// screenshot (what-failed.png) and shows where the page is.
func (c *chrome) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	c.t.Helper()
	for _, step := range steps {
		ctx, cancel := context.WithTimeout(c.ctx, stepTimeout)
		err := chromedp.Do(ctx, step)
		cancel()
		if err != nil {
			where, _ := chromedp.Run(c.ctx, chromedp.Evaluate[string]("location.href + '\\n' + document.body.innerText.slice(0, 600)"))
			if img, serr := chromedp.Run(c.ctx, chromedp.CaptureScreenshot()); serr == nil {
				_ = os.WriteFile(filepath.Join(c.dir, unsafeName.ReplaceAllString(what, "_")+"-failed.png"), img, 0o644)
			}
			c.t.Fatalf("%s: %v\nthe page: %s", what, err, where)
		}
	}
}

// stepTimeout bounds one browser step (a navigation, a wait).
const stepTimeout = 30 * time.Second

func (c *chrome) text(sel string) string {
	c.t.Helper()
	v, err := pageText(c.ctx, sel)
	if err != nil {
		c.t.Fatalf("text of %s: %v", sel, err)
	}
	return v
}

// pageText reads an element's text once it is visible. A form's submit
// may still be replacing the page when the element was first seen (on a
// slow machine, under -race): the old page's node or its whole context is
// then gone ("No node with given id", "Cannot find context"), so the text
// is read by a query in the page as it is now, retried until it answers
// or ten seconds pass.
func pageText(ctx context.Context, sel string) (string, error) {
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, err := chromedp.Run(ctx, chromedp.WaitVisible(chromedp.CSS(sel)))
		if err == nil {
			var got *string
			got, err = chromedp.Run(ctx, chromedp.Evaluate[*string](`(() => { const el = document.querySelector(`+strconv.Quote(sel)+`); return el ? el.innerText : null; })()`))
			if err == nil && got != nil {
				return *got, nil
			}
			if err == nil {
				err = errors.New("not on the page (yet)")
			}
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return "", err
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func eval[T any](c *chrome, js string) T {
	c.t.Helper()
	v, err := chromedp.Run(c.ctx, chromedp.Evaluate[T](js))
	if err != nil {
		c.t.Fatalf("evaluate %s: %v", js, err)
	}
	return v
}

// until polls a JavaScript condition for up to five seconds (a form that
// posts back to itself keeps its selectors: the condition tells the new
// page from the old).
func (c *chrome) until(what, js string) {
	c.t.Helper()
	for i := 0; i < 100; i++ {
		if ok, err := chromedp.Run(c.ctx, chromedp.Evaluate[bool](js)); err == nil && ok {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	c.t.Fatalf("%s: %s never held", what, js)
}

func (c *chrome) desktop() {
	c.t.Helper()
	c.do("desktop", chromedp.EmulateViewport(desktopW, desktopH))
}

func (c *chrome) phone() {
	c.t.Helper()
	c.do("phone", chromedp.EmulateViewport(phoneW, phoneH, chromedp.EmulateMobile))
}

// phoneSharp is the phone at its device pixel ratio, for the README's
// screenshots.
func (c *chrome) phoneSharp() {
	c.t.Helper()
	c.do("phone", chromedp.EmulateViewport(phoneW, phoneH, chromedp.EmulateScale(2), chromedp.EmulateMobile))
}

// maxShotHeight bounds a full-page screenshot (a year's journal on a
// phone is tens of thousands of pixels tall): a taller page is shot to
// that height.
const maxShotHeight = 6000

// shot saves a screenshot of the whole page: name.png (lossless, for the
// README) or name.jpg.
func (c *chrome) shot(name string) {
	c.t.Helper()
	quality := 60
	if strings.HasSuffix(name, ".png") {
		quality = 100
	}
	shoot := chromedp.FullScreenshot(quality)
	if h := eval[float64](c, "document.documentElement.scrollHeight"); h > maxShotHeight {
		shoot = chromedp.CaptureScreenshot()
	}
	img, err := chromedp.Run(c.ctx, shoot)
	if err != nil {
		c.t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.WriteFile(filepath.Join(c.dir, name), img, 0o644); err != nil {
		c.t.Fatal(err)
	}
}

// screen saves a screenshot of the first screen of the page (PNG).
func (c *chrome) screen(name string) {
	c.t.Helper()
	img, err := chromedp.Run(c.ctx, chromedp.CaptureScreenshot())
	if err != nil {
		c.t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.WriteFile(filepath.Join(c.dir, name), img, 0o644); err != nil {
		c.t.Fatal(err)
	}
}

// signIn signs in with a token on the sign-in page.
func (c *chrome) signIn(token string) {
	c.t.Helper()
	c.do("sign in",
		chromedp.Navigate(c.base+"/login"),
		chromedp.WaitVisible(chromedp.CSS("#token")),
		chromedp.SendKeys(chromedp.CSS("#token"), token),
		chromedp.Click(chromedp.CSS("#login-submit")),
		chromedp.WaitVisible(chromedp.CSS("header.top nav")),
	)
}

// checkPage is what every page must satisfy at the width it is shown:
// no horizontal scrolling on a phone, and no English.
func (c *chrome) checkPage(what string, phone bool) {
	c.t.Helper()
	if phone {
		// A mobile browser widens its layout viewport to fit a page that
		// overflows (innerWidth grows past the screen): both must hold.
		sw := eval[float64](c, "document.documentElement.scrollWidth")
		iw := eval[float64](c, "window.innerWidth")
		if sw > iw || iw > phoneW {
			wide := eval[string](c, `Array.from(document.querySelectorAll('body *')).filter(e => e.getBoundingClientRect().right > `+fmt.Sprint(phoneW)+` + 1).slice(0, 4).map(e => e.tagName + '.' + e.className + '#' + e.id).join(' ')`)
			c.t.Errorf("%s at %.0f px: scrollWidth %.0f (too wide: %s)", what, iw, sw, wide)
		}
	}
	if words := englishWords(eval[string](c, "document.title + ' ' + document.body.innerText")); len(words) > 0 {
		c.t.Errorf("%s shows English: %v", what, words)
	}
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9_.=-]+`)

// shotName names a page's screenshot by role, path and screen.
func shotName(role, path, screen string) string {
	p := unsafeName.ReplaceAllString(strings.Trim(path, "/"), "_")
	if p == "" {
		p = "home"
	}
	return role + "-" + p + "-" + screen + ".jpg"
}

// TestBrowser drives headless Chromium over the demo city in mid-September
// 2016, at 1366×900 and at 390×844 (issue 17): every page of every role
// at both widths (screenshots to $PARTYLEDGER_ARTIFACTS; on the phone no
// page scrolls sideways; no English anywhere); a branch records a study
// session, goes back and sends it again — one event; records the month's
// dues of the whole roster in one submit; its 待办 shrinks as it records
// what it names; an assessor records a finding by choosing from lists;
// a phone signs in with a one-time code (a wrong code and a second use
// refused) and is signed out at its next request once its session is
// revoked.
func TestBrowser(t *testing.T) {
	bin := chromium()
	if bin == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("no Chromium binary found (CI is set): .ci/run installs Debian's chromium")
		}
		t.Skip("no Chromium binary found (install Debian's chromium, or set PARTYLEDGER_CHROMIUM); skipping the browser test")
	}
	e := newDemoEnv(t, demoAsOf)
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
		chromedp.WindowSize(desktopW, desktopH),
	}
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelA()
	bctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	if err := chromedp.Do(bctx); err != nil { // starts the browser, bound to bctx
		t.Fatalf("start %s: %v", bin, err)
	}
	ctx, cancelT := context.WithTimeout(bctx, 10*time.Minute)
	defer cancelT()
	c := &chrome{t: t, ctx: ctx, dir: artifacts(t), base: e.ts.URL}

	t.Run("every page of every role at both widths", func(t *testing.T) {
		c.t = t
		for _, role := range roles {
			c.desktop()
			c.signIn(e.tokens[role])
			for _, p := range demoPages(role) {
				for _, screen := range []string{"desktop", "phone"} {
					if screen == "phone" {
						c.phone()
					} else {
						c.desktop()
					}
					start := time.Now()
					c.do(role+" "+p, chromedp.Navigate(c.base+p), chromedp.WaitVisible(chromedp.CSS("main")))
					loaded := time.Since(start)
					c.checkPage(role+" "+p+" ("+screen+")", screen == "phone")
					c.shot(shotName(role, p, screen))
					if d := time.Since(start); d > 3*time.Second {
						t.Logf("%s %s (%s): loaded in %s, checked and shot in %s", role, p, screen, loaded.Round(time.Millisecond), (d - loaded).Round(time.Millisecond))
					}
				}
			}
		}
		c.desktop()
		for _, p := range []string{"/login", "/signin?c=0123456789abcdef"} {
			for _, screen := range []string{"desktop", "phone"} {
				if screen == "phone" {
					c.phone()
				}
				c.do(p, chromedp.Navigate(c.base+p), chromedp.WaitVisible(chromedp.CSS("main")))
				c.checkPage("anonymous "+p, screen == "phone")
				c.shot(shotName("anonymous", p, screen))
			}
			c.desktop()
		}
	})
	c.t = t
	org := "/ui/orgs/" + demoBranch
	todoCount := func() int { return int(eval[float64](c, "document.querySelectorAll('#todo-list > li').length")) }

	t.Run("the branch records a study session, goes back and sends it again: one event", func(t *testing.T) {
		c.t = t
		c.desktop()
		c.signIn(e.tokens["branch"])
		c.phone()
		c.do("home", chromedp.Navigate(c.base+"/"), chromedp.WaitVisible(chromedp.CSS("#todo")))
		c.shot("home-phone.png")
		if !strings.Contains(c.text("#todo"), "换届选举（任期已于 2016-06-13 届满）") {
			t.Errorf("the 待办 does not say the term expired:\n%s", c.text("#todo"))
		}
		topic := "九月政治学习：学习贯彻全会精神"
		c.do("form",
			chromedp.Navigate(c.base+org+"/record/StudySessionHeld"),
			chromedp.WaitVisible(chromedp.CSS("#record-form")),
			chromedp.SendKeys(chromedp.CSS("#f-topic"), topic),
			chromedp.Click(chromedp.CSS(`input[name="attendees"]`)),
			chromedp.Click(chromedp.CSS("#f-notes_kept")),
		)
		c.shot("record-form-phone.png")
		c.do("record", chromedp.Click(chromedp.CSS("#record-submit")), chromedp.WaitVisible(chromedp.CSS("#final")))
		if flash := c.text(".flash"); !strings.Contains(flash, "已登记：政治学习") {
			t.Errorf("flash %q", flash)
		}
		// Back as a person presses it: the page may come from the
		// back-forward cache, which fires no load event.
		eval[bool](c, "history.back(), true")
		c.until("back", "location.pathname.endsWith('/record/StudySessionHeld') && document.getElementById('record-form') != null")
		if got := eval[string](c, "document.getElementById('f-topic').value"); got != topic {
			t.Errorf("after going back the form holds %q", got)
		}
		// The restored page is not the DOM chromedp last saw: press the
		// button from the page itself.
		eval[bool](c, "document.getElementById('record-submit').click(), true")
		c.until("again", "document.querySelector('.flash') != null && document.getElementById('final') != null")
		if flash := c.text(".flash"); !strings.Contains(flash, "没有重复登记") {
			t.Errorf("the second submit says %q", flash)
		}
		if n := e.journalCount("branch", demoBranch, topic); n != 1 {
			t.Fatalf("%d events of the study session, want 1", n)
		}
	})

	t.Run("the 待办 shrinks as the branch records what it names", func(t *testing.T) {
		c.t = t
		c.phone()
		c.do("home", chromedp.Navigate(c.base+"/"), chromedp.WaitVisible(chromedp.CSS("#todo")))
		before := todoCount()
		lecture := `#todo-list li[data-rule="5.3.party_lecture"]`
		if !strings.Contains(c.text(lecture), "0/1") {
			t.Fatalf("the quarter's party lecture: %q", c.text(lecture))
		}
		c.do("follow the link", chromedp.Click(chromedp.CSS(lecture+" a.button")), chromedp.WaitVisible(chromedp.CSS("#record-form")))
		if kind := eval[string](c, "document.getElementById('f-kind').value"); kind != domain.MeetingPartyLecture {
			t.Fatalf("the form's kind is %q", kind)
		}
		lecturer := eval[string](c, "document.querySelector('#f-lecturer_id option:nth-child(2)').value")
		c.do("all attend", chromedp.SendKeys(chromedp.CSS("#f-topic"), "第三季度党课：党章学习"),
			chromedp.Click(chromedp.CSS("#select-all")))
		c.until("全选", "document.querySelectorAll('input[name=attendees]:not(:checked)').length == 0 && document.getElementById('f-topic').value != ''")
		c.do("lecture",
			chromedp.SetValue(chromedp.CSS("#f-lecturer_id"), lecturer),
			chromedp.Click(chromedp.CSS("#record-submit")),
			chromedp.WaitVisible(chromedp.CSS("#todo")),
		)
		if n := eval[float64](c, "document.querySelectorAll('"+lecture+"').length"); n != 0 {
			t.Error("the party lecture is still due")
		}
		if after := todoCount(); after != before-1 {
			t.Errorf("%d items before, %d after", before, after)
		}
	})

	t.Run("a month's dues of the whole roster in one submit", func(t *testing.T) {
		c.t = t
		c.phone()
		c.do("dues", chromedp.Navigate(c.base+org+"/dues?month=2016-10"), chromedp.WaitVisible(chromedp.CSS("#dues-form")))
		members := int(eval[float64](c, "document.querySelectorAll('input[name=pay]').length"))
		if members == 0 {
			t.Fatal("no members on the form")
		}
		c.do("none", chromedp.Click(chromedp.CSS("#select-none")))
		c.until("全不选", "document.querySelectorAll('input[name=pay]:checked').length == 0")
		c.do("all", chromedp.Click(chromedp.CSS("#select-all")))
		c.until("全选", fmt.Sprintf("document.querySelectorAll('input[name=pay]:checked').length == %d", members))
		c.shot("dues-phone.png")
		c.do("submit", chromedp.Click(chromedp.CSS("#dues-submit")), chromedp.WaitVisible(chromedp.CSS("#roster")))
		if flash := c.text(".flash"); !strings.Contains(flash, fmt.Sprintf("已登记 %d 名党员 2016-10 的党费", members)) {
			t.Errorf("flash %q", flash)
		}
		c.shot("roster-phone.png")
		if n := e.journalCount("branch", demoBranch, `"month":"2016-10"`); n != members {
			t.Fatalf("%d payments for 2016-10, want %d", n, members)
		}
	})

	t.Run("an assessor records a finding by choosing from lists", func(t *testing.T) {
		c.t = t
		c.desktop()
		c.signIn(e.tokens["assessor"])
		c.phone()
		c.do("step 1",
			chromedp.Navigate(c.base+org+"/record/FindingRecorded"),
			chromedp.WaitVisible(chromedp.CSS("#finding-step1")),
			chromedp.SetValue(chromedp.CSS("#f-finding"), "3.2/low_satisfaction"),
			chromedp.Click(chromedp.CSS("#finding-next")),
			chromedp.WaitVisible(chromedp.CSS("#record-form")),
		)
		if opts := eval[string](c, "Array.from(document.querySelectorAll('#f-points option')).map(o => o.value).join(',')"); opts != ",1,1.5,2,2.5,3" {
			t.Fatalf("points offered: %q", opts)
		}
		c.do("step 2",
			chromedp.SetValue(chromedp.CSS("#f-points"), "2"),
			chromedp.SendKeys(chromedp.CSS("#f-reason"), "群众满意度测评偏低"),
		)
		c.shot("finding-phone.png")
		c.do("record", chromedp.Click(chromedp.CSS("#record-submit")), chromedp.WaitVisible(chromedp.CSS("#final")))
		if !strings.Contains(c.text("#item-3\\.2"), "群众满意") {
			t.Errorf("item 3.2: %q", c.text("#item-3\\.2"))
		}
		c.desktop()
		c.do("overview", chromedp.Navigate(c.base+"/ui/overview"), chromedp.WaitVisible(chromedp.CSS("#overview")))
		c.shot("overview-desktop.png")
		c.phone()
		c.do("overview", chromedp.Navigate(c.base+"/ui/overview"), chromedp.WaitVisible(chromedp.CSS("#overview")))
		c.shot("overview-phone.png")
		c.do("readme viewport", chromedp.EmulateViewport(desktopW, 1350))
		c.do("scorecard", chromedp.Navigate(c.base+org+"?year=2016"), chromedp.WaitVisible(chromedp.CSS("#final")))
		c.screen("scorecard.png")
		c.desktop()
	})

	t.Run("a phone signs in with a one-time code", func(t *testing.T) {
		c.t = t
		c.desktop()
		c.signIn(e.tokens["admin"])
		c.do("issue",
			chromedp.Navigate(c.base+"/ui/signin-codes"),
			chromedp.WaitVisible(chromedp.CSS("#signin-code-form")),
			chromedp.SetValue(chromedp.CSS("#token"), e.ids["branch"]),
			chromedp.Click(chromedp.CSS("#issue-submit")),
			chromedp.WaitVisible(chromedp.CSS("#signin-code")),
		)
		code, link := strings.TrimSpace(c.text("#code")), strings.TrimSpace(c.text("#signin-url"))
		if len(code) != 8 || strings.Contains(link, code) {
			t.Fatalf("code %q, address %q", code, link)
		}
		c.shot("signin-code-desktop.png")
		u, err := url.Parse(link)
		if err != nil {
			t.Fatal(err)
		}
		phone := func() *chrome {
			// A browser context of its own: another phone, no cookies.
			pctx, cancelP := chromedp.NewContext(bctx, chromedp.WithNewBrowserContext())
			t.Cleanup(cancelP)
			if err := chromedp.Do(pctx); err != nil {
				t.Fatal(err)
			}
			tctx, cancelT := context.WithTimeout(pctx, 2*time.Minute)
			t.Cleanup(cancelT)
			p := &chrome{t: t, ctx: tctx, dir: c.dir, base: c.base}
			p.phone()
			return p
		}
		p := phone()
		wrong := "00000000"
		if code == wrong {
			wrong = "11111111"
		}
		p.do("wrong code",
			chromedp.Navigate(c.base+u.RequestURI()),
			chromedp.WaitVisible(chromedp.CSS("#code")),
			chromedp.SendKeys(chromedp.CSS("#code"), wrong),
			chromedp.Click(chromedp.CSS("#signin-submit")),
			chromedp.WaitVisible(chromedp.CSS("#signin-error")),
		)
		p.shot("signin-phone.png")
		p.do("the code",
			chromedp.SendKeys(chromedp.CSS("#code"), code),
			chromedp.Click(chromedp.CSS("#signin-submit")),
			chromedp.WaitVisible(chromedp.CSS("#final")),
		)
		if who := eval[string](p, "location.pathname"); who != org {
			t.Fatalf("signed in to %s", who)
		}
		p.do("devices", chromedp.Navigate(c.base+"/ui/devices"), chromedp.WaitVisible(chromedp.CSS("#devices")))
		p.checkPage("devices", true)
		p.shot("devices-phone.png")
		again := phone()
		again.do("second use",
			chromedp.Navigate(c.base+u.RequestURI()),
			chromedp.WaitVisible(chromedp.CSS("#code")),
			chromedp.SendKeys(chromedp.CSS("#code"), code),
			chromedp.Click(chromedp.CSS("#signin-submit")),
			chromedp.WaitVisible(chromedp.CSS("#signin-error")),
		)
		list := e.do("GET", "/v1/sessions?token_id="+e.ids["branch"], "admin", nil).json(t)["sessions"].([]any)
		if len(list) != 1 {
			t.Fatalf("sessions %v", list)
		}
		id := list[0].(map[string]any)["session_id"].(string)
		if res := e.do("DELETE", "/v1/sessions/"+id, "admin", nil); res.status != http.StatusOK {
			t.Fatalf("revoke: %d %s", res.status, res.body)
		}
		p.do("next request", chromedp.Navigate(c.base+org), chromedp.WaitVisible(chromedp.CSS("#token")))
		if where := eval[string](p, "location.pathname"); where != "/login" {
			t.Fatalf("after revocation the phone is at %s", where)
		}
	})
	t.Run("the month-end chart stops at the date chosen", func(t *testing.T) {
		c.t = t
		c.desktop()
		c.signIn(e.tokens["auditor"])
		for _, tc := range []struct {
			asOf string
			dots int
		}{{"2016-03-31", 3}, {"2016-04-29", 3}, {"2016-04-30", 4}, {"2016-06-30", 6}} {
			c.do("scorecard as of "+tc.asOf, chromedp.Navigate(c.base+org+"?year=2016&as_of="+tc.asOf), chromedp.WaitVisible(chromedp.CSS("svg.chart")))
			dots := int(eval[float64](c, "document.querySelectorAll('svg.chart circle.dot').length"))
			line := int(eval[float64](c, "document.querySelector('svg.chart polyline').points.numberOfItems"))
			if dots != tc.dots || line != tc.dots {
				t.Errorf("as of %s: %d dots, a line of %d points; want %d", tc.asOf, dots, line, tc.dots)
			}
		}
	})
	t.Run("the README's pictures: each page at both widths", func(t *testing.T) {
		c.t = t
		for _, p := range readmePages {
			c.desktop()
			if p.role != "" {
				c.signIn(e.tokens[p.role])
			} else {
				c.do("sign out", chromedp.Navigate(c.base+"/ui/devices"))
				if eval[bool](c, "document.querySelector('form.who button') != null") {
					c.do("sign out", chromedp.Click(chromedp.CSS("form.who button")), chromedp.WaitVisible(chromedp.CSS("#token")))
				}
			}
			c.do(p.name, chromedp.Navigate(c.base+p.path), chromedp.WaitVisible(chromedp.CSS(p.wait)))
			c.screen(p.name + "-desktop.png")
			c.phoneSharp()
			c.do(p.name, chromedp.Navigate(c.base+p.path), chromedp.WaitVisible(chromedp.CSS(p.wait)))
			c.screen(p.name + "-phone.png")
		}
		c.desktop()
	})
	c.t = t
	t.Logf("screenshots in %s", c.dir)
	if os.Getenv("PARTYLEDGER_UPDATE_SCREENSHOTS") != "" {
		for _, name := range readmeShots {
			b, err := os.ReadFile(filepath.Join(c.dir, name))
			if err == nil {
				err = os.WriteFile(filepath.Join("testdata", "screenshots", name), b, 0o644)
			}
			if err != nil {
				t.Fatal(err)
			}
		}
	}
}

// readmePages are the pages the README shows, each at both widths (the
// first screen: name-desktop.png, name-phone.png).
var readmePages = []struct{ name, role, path, wait string }{
	{"home", "branch", "/ui/orgs/" + demoBranch, "#todo"},
	{"study", "branch", "/ui/orgs/" + demoBranch + "/record/StudySessionHeld", "#record-form"},
	{"dues", "branch", "/ui/orgs/" + demoBranch + "/dues?month=2016-11", "#dues-form"},
	{"journal", "branch", "/ui/orgs/" + demoBranch + "/journal?year=2016", "#journal"},
	{"finding", "assessor", "/ui/orgs/" + demoBranch + "/record/FindingRecorded?year=2016&finding=3.2%2Flow_satisfaction", "#record-form"},
	{"overview", "auditor", "/ui/overview", "#overview"},
	{"signin", "", "/signin?c=0123456789abcdef", "#signin-form"},
}

// readmeShots are the screenshots the README shows.
var readmeShots = func() []string {
	out := []string{"scorecard.png"}
	for _, p := range readmePages {
		out = append(out, p.name+"-desktop.png", p.name+"-phone.png")
	}
	return out
}()
