package api_test

import (
	"encoding/csv"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"

	"partyledger/api"
)

// TestLoginRedirectStaysOnSite: the next of a sign-in never leaves the
// site, whatever a browser would make of it (it drops tabs and newlines
// from a URL and reads a backslash as a slash).
func TestLoginRedirectStaysOnSite(t *testing.T) {
	e := newEnv(t, api.Options{})
	for _, next := range []string{"//evil.example/", "/\t/evil.example/", "/\n/evil.example/", "/\r/evil.example/", "/\\evil.example/",
		"/\\/evil.example/", "\\\\evil.example", "https://evil.example/", "/ /evil.example/", "/\u00a0/evil.example/", "/\x00/evil.example",
		"javascript:alert(1)", "evil.example", "/%09/evil.example"} {
		t.Run(strings.ToValidUTF8(next, "?"), func(t *testing.T) {
			jar := newJarBrowser(t, e)
			res := jar.signIn(e.tokens["auditor"], next)
			loc := res.header.Get("Location")
			if res.status != http.StatusSeeOther || !strings.HasPrefix(loc, "/") || strings.HasPrefix(loc, "//") || strings.ContainsAny(loc, "\\\t\r\n ") {
				t.Fatalf("next %q redirected to %q", next, loc)
			}
			if next != "/%09/evil.example" && loc != "/" {
				t.Fatalf("next %q kept as %q", next, loc)
			}
		})
	}
	t.Run("a path on the site is kept", func(t *testing.T) {
		res := newJarBrowser(t, e).signIn(e.tokens["auditor"], "/ui/overview?year=2016")
		if loc := res.header.Get("Location"); loc != "/ui/overview?year=2016" {
			t.Fatalf("Location %q", loc)
		}
	})
}

// jarBrowser is a browser before sign-in.
type jarBrowser struct{ b *browser }

func newJarBrowser(t *testing.T, e *env) jarBrowser {
	t.Helper()
	b := &browser{e: e, c: &http.Client{Jar: mustJar(t), CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	return jarBrowser{b}
}

func (j jarBrowser) signIn(token, next string) response {
	j.b.e.t.Helper()
	page := j.b.get("/login")
	m := loginRE.FindSubmatch(page.body)
	if m == nil {
		j.b.e.t.Fatalf("no login form token")
	}
	return j.b.post("/login", url.Values{"token": {token}, "login": {string(m[1])}, "next": {next}})
}

// TestCSVExportNeutralisesFormulas: a title a branch recorded cannot run
// as a formula when an auditor opens the CSV export.
func TestCSVExportNeutralisesFormulas(t *testing.T) {
	e := newEnv(t, api.Options{})
	payloads := []string{`=HYPERLINK("http://evil.example","点此")`, "+1+1", "-2+3", "@SUM(A1:A9)", "\t=1+1"}
	for _, title := range payloads {
		res := e.do("POST", "/v1/orgs/"+ownOrg+"/events", "branch", map[string]any{"type": "WorkInfoSubmitted", "occurred_on": "2016-04-01", "data": map[string]any{"title": title}})
		if title == "\t=1+1" {
			continue // refused as a control character anyway
		}
		if res.status != 201 {
			t.Fatalf("%q: %d %s", title, res.status, res.body)
		}
	}
	// The names of organisations reach the summary table.
	if res := e.do("POST", "/v1/orgs", "admin", map[string]any{"occurred_on": "2016-01-04", "data": map[string]any{"code": "T-EVIL", "name": "=cmd|' /C calc'!A0", "kind": "branch", "has_groups": false}}); res.status != 201 {
		t.Fatalf("%d %s", res.status, res.body)
	}
	for _, table := range []string{"summary", "journal"} {
		body := e.do("GET", "/v1/reports/2016?format=csv&table="+table, "auditor", nil).body
		rows, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(string(body), "\ufeff"))).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		for _, row := range rows {
			for _, cell := range row {
				if cell != "" && strings.ContainsRune("=+-@\t\r", rune(cell[0])) {
					t.Errorf("%s: cell %q would run as a formula", table, cell)
				}
			}
		}
		if table == "summary" && !strings.Contains(string(body), "'=cmd") {
			t.Error("the organisation's name is not in the summary, neutralised")
		}
	}
}

// TestLastAdminCannotRevokeItself: the API refuses to revoke the last
// valid admin token (the work committee would be locked out); with
// another admin token, it may.
func TestLastAdminCannotRevokeItself(t *testing.T) {
	e := newEnv(t, api.Options{})
	res := e.do("DELETE", "/v1/tokens/"+e.ids["admin"], "admin", nil)
	if code, _ := res.apiErr(t); res.status != http.StatusConflict || code != "conflict" {
		t.Fatalf("revoking the last admin token: %d %s", res.status, res.body)
	}
	if res := e.do("GET", "/v1/me", "admin", nil); res.status != 200 {
		t.Fatalf("the admin token stopped working: %d", res.status)
	}
	second := e.do("POST", "/v1/tokens", "admin", map[string]string{"role": "admin", "name": "第二管理员"}).json(t)
	if res := e.do("DELETE", "/v1/tokens/"+e.ids["admin"], "admin", nil); res.status != 200 {
		t.Fatalf("with a second admin: %d %s", res.status, res.body)
	}
	e.tokens["admin2"] = second["token"].(string)
	res = e.do("DELETE", "/v1/tokens/"+second["token_id"].(string), "admin2", nil)
	if res.status != http.StatusConflict {
		t.Fatalf("the second, now last, admin revoking itself: %d", res.status)
	}
}

// TestSecureCookies: with Options.SecureCookies (serve sets it behind TLS
// or a trusted proxy) both cookies are Secure; without, neither.
func TestSecureCookies(t *testing.T) {
	for _, secure := range []bool{false, true} {
		e := newEnv(t, api.Options{SecureCookies: secure})
		j := newJarBrowser(t, e)
		page := j.b.get("/login")
		res := j.signIn(e.tokens["auditor"], "/")
		for _, r := range []response{page, res} {
			for _, c := range r.header.Values("Set-Cookie") {
				if got := strings.Contains(c, "; Secure"); got != secure {
					t.Errorf("SecureCookies %v: %s", secure, c)
				}
				if !strings.Contains(c, "HttpOnly") || !strings.Contains(c, "SameSite=Strict") {
					t.Errorf("cookie %s", c)
				}
			}
		}
	}
}

func mustJar(t *testing.T) http.CookieJar {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return jar
}
