package api_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/google/uuid"

	"partyledger/api"
	"partyledger/domain"
)

// TestTokenGuarantees: only hashes are stored (nor logged); every bad
// token is answered alike (no oracle for which ids exist); failed
// authentication is limited per client whatever the client claims to be;
// recorded_by is the principal on every write route and cannot be given.
func TestTokenGuarantees(t *testing.T) {
	t.Run("only the SHA-256 is stored, and the token is never logged", func(t *testing.T) {
		e := newEnv(t, api.Options{})
		res := e.do("POST", "/v1/tokens", "admin", map[string]string{"role": "branch", "org": ownOrg, "name": "新书记"})
		if res.status != http.StatusCreated {
			t.Fatalf("%d %s", res.status, res.body)
		}
		tok, id := res.json(t)["token"].(string), res.json(t)["token_id"].(string)
		secret := tok[len(tok)-43:] // base64url: it may hold "_" itself
		// Use it, fail with variants of it, revoke it, fail with it.
		e.do("GET", "/v1/me", tok, nil)
		e.do("GET", "/v1/me", tok+"x", nil)
		e.do("GET", "/v1/me", strings.Replace(tok, secret[:4], "AAAA", 1), nil)
		e.do("DELETE", "/v1/tokens/"+id, "admin", nil)
		e.do("GET", "/v1/me", tok, nil)
		sum := sha256.Sum256([]byte(tok))
		found := false
		for ev, err := range e.bk.Events(context.Background(), 0) {
			if err != nil {
				t.Fatal(err)
			}
			for _, b := range [][]byte{ev.Data, []byte(ev.RecordedBy), []byte(ev.Type), []byte(ev.Stream)} {
				if bytes.Contains(b, []byte(secret)) {
					t.Fatalf("event %s %s holds the token's secret", ev.Type, ev.ID)
				}
			}
			if ev.Type == domain.TypeTokenIssued && bytes.Contains(ev.Data, []byte(`"`+id+`"`)) {
				found = bytes.Contains(ev.Data, []byte(hex.EncodeToString(sum[:])))
			}
		}
		if !found {
			t.Fatal("no TokenIssued with the token's SHA-256")
		}
		if strings.Contains(e.logs.String(), secret) {
			t.Fatal("the log holds the token's secret")
		}
	})

	t.Run("unknown, wrong, revoked and malformed tokens are answered alike", func(t *testing.T) {
		e := newEnv(t, api.Options{AuthFailureBurst: 1000})
		res := e.do("POST", "/v1/tokens", "admin", map[string]string{"role": "auditor", "name": "离任审计"})
		revoked := res.json(t)["token"].(string)
		e.do("DELETE", "/v1/tokens/"+res.json(t)["token_id"].(string), "admin", nil)
		good := e.tokens["auditor"]
		bad := map[string]string{
			"unknown id":             "plt_0123456789abcdef_" + strings.Repeat("A", 43),
			"known id, wrong secret": good[:len(good)-43] + strings.Repeat("A", 43),
			"revoked":                revoked,
			"malformed":              "plt_nonsense",
			"too long":               "plt_" + strings.Repeat("x", 300),
		}
		var first response
		var firstName string
		for name, tok := range bad {
			res := e.do("GET", "/v1/orgs", tok, nil)
			if res.status != http.StatusUnauthorized {
				t.Fatalf("%s: %d %s", name, res.status, res.body)
			}
			if firstName == "" {
				first, firstName = res, name
				continue
			}
			if !bytes.Equal(res.body, first.body) || res.header.Get("WWW-Authenticate") != first.header.Get("WWW-Authenticate") {
				t.Errorf("%s answered %s (%s), %s answered %s (%s)", name, res.body, res.header.Get("WWW-Authenticate"),
					firstName, first.body, first.header.Get("WWW-Authenticate"))
			}
		}
	})

	t.Run("failed authentication is limited per client, forwarded headers or not", func(t *testing.T) {
		e := newEnv(t, api.Options{AuthFailuresPerMinute: 0.01, AuthFailureBurst: 3})
		for i, ip := range []string{"10.0.0.1", "10.0.0.2", "10.0.0.3"} {
			res := e.do("GET", "/v1/me", "plt_0123456789abcdef_"+strings.Repeat("B", 43), nil, "X-Forwarded-For", ip, "X-Real-IP", ip, "Forwarded", "for="+ip)
			if res.status != http.StatusUnauthorized {
				t.Fatalf("attempt %d: %d", i, res.status)
			}
		}
		res := e.do("GET", "/v1/me", "plt_0123456789abcdef_"+strings.Repeat("D", 43), nil, "X-Forwarded-For", "10.9.9.9")
		if code, _ := res.apiErr(t); res.status != http.StatusTooManyRequests || code != "rate_limited" || res.header.Get("Retry-After") == "" {
			t.Fatalf("after three failures: %d %s", res.status, res.body)
		}
		// A valid token is not refused for them.
		if res := e.do("GET", "/v1/me", "auditor", nil, "X-Forwarded-For", "10.9.9.9"); res.status != http.StatusOK {
			t.Fatalf("a valid token after three failures: %d %s", res.status, res.body)
		}
		// The sign-in form shares the limit: a bad token is refused 429,
		// a valid one signs in.
		jar, _ := cookiejar.New(nil)
		c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		signIn := func(token string) int {
			page, err := c.Get(e.ts.URL + "/login")
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(page.Body)
			page.Body.Close()
			m := regexp.MustCompile(`name="login" value="([^"]+)"`).FindSubmatch(body)
			if m == nil {
				t.Fatalf("no login form token: %s", body)
			}
			res, err := c.PostForm(e.ts.URL+"/login", url.Values{"token": {token}, "login": {string(m[1])}, "next": {"/"}})
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			return res.StatusCode
		}
		if got := signIn("plt_0123456789abcdef_" + strings.Repeat("E", 43)); got != http.StatusTooManyRequests {
			t.Fatalf("a bad sign-in after three failures: %d", got)
		}
		if got := signIn(e.tokens["auditor"]); got != http.StatusSeeOther {
			t.Fatalf("a valid sign-in after three failures: %d", got)
		}
	})

	t.Run("recorded_by is the principal on every write route and cannot be given", func(t *testing.T) {
		e := newEnv(t, api.Options{})
		writes := []struct{ path, key, body string }{
			{"/v1/orgs", "admin", `{"occurred_on":"2016-01-04","data":{"code":"T-RB","name":"新支部","kind":"branch","parent_code":"` + genOrg + `","has_groups":false}}`},
			{"/v1/schedule", "admin", `{"occurred_on":"2016-02-01","data":{"scheduled_event_id":"rb-1","kind":"training","title":"培训","targets":["*"]}}`},
			{"/v1/orgs/" + ownOrg + "/events", "branch", `{"type":"WorkInfoSubmitted","occurred_on":"2016-03-01","data":{"title":"x"}}`},
			{"/v1/orgs/" + ownOrg + "/events", "assessor", `{"type":"GroupAssessmentRecorded","occurred_on":"2017-01-20","data":{"year":2016,"score":90}}`},
		}
		for _, w := range writes {
			forged := strings.Replace(w.body, `"occurred_on"`, `"recorded_by":"工委书记 (admin 0000000000000000)","occurred_on"`, 1)
			res := e.do("POST", w.path, w.key, forged)
			if code, field := res.apiErr(t); res.status != 422 || code != "invalid" || field != "recorded_by" {
				t.Errorf("%s as %s with recorded_by: %d %s", w.path, w.key, res.status, res.body)
			}
			res = e.do("POST", w.path, w.key, w.body)
			if res.status != http.StatusCreated {
				t.Fatalf("%s: %d %s", w.path, res.status, res.body)
			}
			ev, err := e.bk.EventByID(context.Background(), mustUUID(t, res.json(t)["id"].(string)))
			if err != nil {
				t.Fatal(err)
			}
			want := "测试 " + w.key + " (" + w.key + " " + e.ids[w.key] + ")"
			if ev.RecordedBy != want {
				t.Errorf("%s: recorded_by %q, want %q", w.path, ev.RecordedBy, want)
			}
		}
	})
}

func mustUUID(t testing.TB, s string) uuid.UUID {
	t.Helper()
	id, err := uuid.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return id
}
