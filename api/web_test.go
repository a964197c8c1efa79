package api_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"partyledger/api"
	"partyledger/domain"
)

func TestWebSignIn(t *testing.T) {
	e := newEnv(t, api.Options{})
	t.Run("pages need a session", func(t *testing.T) {
		res := e.do("GET", "/ui/orgs/"+ownOrg+"/journal?year=2016", "", nil)
		if res.status != http.StatusSeeOther || res.header.Get("Location") != "/login?next="+url.QueryEscape("/ui/orgs/"+ownOrg+"/journal?year=2016") {
			t.Fatalf("%d %s", res.status, res.header.Get("Location"))
		}
		// A bearer token does not open the pages: they take the session cookie.
		if res := e.do("GET", "/ui/overview", "auditor", nil); res.status != http.StatusSeeOther {
			t.Fatalf("bearer on a page: %d", res.status)
		}
	})
	t.Run("the session cookie is HttpOnly and SameSite=Strict", func(t *testing.T) {
		b := e.login("auditor")
		u, _ := url.Parse(e.ts.URL)
		cs := b.c.Jar.Cookies(u)
		if len(cs) == 0 {
			t.Fatal("no cookie")
		}
		// The jar hides the attributes: sign in by hand and read Set-Cookie.
		page := e.do("GET", "/login", "", nil)
		login := loginRE.FindStringSubmatch(string(page.body))[1]
		req, _ := http.NewRequest("POST", e.ts.URL+"/login", strings.NewReader(url.Values{"token": {e.tokens["auditor"]}, "login": {login}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.AddCookie(&http.Cookie{Name: "pl_login", Value: login})
		res, err := noRedirect.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		var sc string
		for _, c := range res.Header.Values("Set-Cookie") {
			if strings.HasPrefix(c, "pl_session=") {
				sc = c
			}
		}
		if !strings.Contains(sc, "HttpOnly") || !strings.Contains(sc, "SameSite=Strict") {
			t.Fatalf("Set-Cookie %q", sc)
		}
	})
	t.Run("a wrong token is refused in Chinese", func(t *testing.T) {
		page := e.do("GET", "/login", "", nil)
		login := loginRE.FindStringSubmatch(string(page.body))[1]
		req, _ := http.NewRequest("POST", e.ts.URL+"/login", strings.NewReader(url.Values{"token": {"plt_0123456789abcdef_" + strings.Repeat("x", 43)}, "login": {login}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.AddCookie(&http.Cookie{Name: "pl_login", Value: login})
		res, err := noRedirect.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		buf := make([]byte, 1<<16)
		n, _ := res.Body.Read(buf)
		if res.StatusCode != http.StatusUnauthorized || !strings.Contains(string(buf[:n]), "令牌无效") {
			t.Fatalf("%d %s", res.StatusCode, buf[:n])
		}
	})
	t.Run("login without its form token is refused", func(t *testing.T) {
		res := e.do("POST", "/login", "", url.Values{"token": {e.tokens["admin"]}}.Encode(), "Content-Type", "application/x-www-form-urlencoded")
		if res.status != http.StatusForbidden {
			t.Fatalf("%d", res.status)
		}
	})
	t.Run("a branch lands on its own scorecard; others on the overview", func(t *testing.T) {
		b := e.login("branch")
		if loc := b.get("/").header.Get("Location"); loc != "/ui/orgs/"+ownOrg {
			t.Fatalf("branch home → %s", loc)
		}
		a := e.login("assessor")
		if loc := a.get("/").header.Get("Location"); loc != "/ui/overview" {
			t.Fatalf("assessor home → %s", loc)
		}
	})
	t.Run("logout ends the session", func(t *testing.T) {
		b := e.login("auditor")
		if res := b.post("/logout", url.Values{"csrf": {b.csrf}}); res.status != http.StatusSeeOther {
			t.Fatalf("logout %d", res.status)
		}
		if res := b.get("/ui/overview"); res.status != http.StatusSeeOther {
			t.Fatalf("after logout: %d", res.status)
		}
	})
	t.Run("revoking the token ends its sessions", func(t *testing.T) {
		res := e.do("POST", "/v1/tokens", "admin", map[string]string{"role": "auditor", "name": "临时审计"})
		tok, id := res.json(t)["token"].(string), res.json(t)["token_id"].(string)
		e.tokens["temp"] = tok
		b := e.login("temp")
		if res := b.get("/ui/overview"); res.status != 200 {
			t.Fatalf("%d", res.status)
		}
		e.do("DELETE", "/v1/tokens/"+id, "admin", nil)
		if res := b.get("/ui/overview"); res.status != http.StatusSeeOther {
			t.Fatalf("after revocation: %d", res.status)
		}
	})
	t.Run("next stays on this site", func(t *testing.T) {
		page := e.do("GET", "/login?next=//evil.example/x", "", nil)
		if strings.Contains(string(page.body), "evil.example") {
			t.Fatal("an off-site next is kept")
		}
	})
}

func TestWebForms(t *testing.T) {
	e := newEnv(t, api.Options{})
	b := e.login("branch")
	path := "/ui/orgs/" + ownOrg + "/record/StudySessionHeld"
	good := url.Values{"occurred_on": {"2016-06-22"}, "topic": {"表单测试"}, "attendees": {"m1", "m2"}, "notes_kept": {"true"}}
	with := func(v url.Values, k, val string) url.Values {
		c := url.Values{}
		for kk, vv := range v {
			c[kk] = append([]string(nil), vv...)
		}
		c.Set(k, val)
		return c
	}
	t.Run("without the CSRF token: refused, nothing recorded", func(t *testing.T) {
		before := e.scorecard("branch", ownOrg)["ledger_position"]
		res := b.post(path, good)
		if res.status != http.StatusForbidden || !strings.Contains(string(res.body), "防伪") {
			t.Fatalf("%d %.200s", res.status, res.body)
		}
		res = b.post(path, with(good, "csrf", "wrong"))
		if res.status != http.StatusForbidden {
			t.Fatalf("wrong token: %d", res.status)
		}
		if after := e.scorecard("branch", ownOrg)["ledger_position"]; after != before {
			t.Fatal("a refused post was recorded")
		}
	})
	t.Run("a cross-origin post is refused", func(t *testing.T) {
		req, _ := http.NewRequest("POST", e.ts.URL+path, strings.NewReader(with(good, "csrf", b.csrf).Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", "http://evil.example")
		res, err := b.c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusForbidden {
			t.Fatalf("%d", res.StatusCode)
		}
	})
	t.Run("validation messages in Chinese next to the field", func(t *testing.T) {
		for _, c := range []struct {
			form url.Values
			id   string
			want string
		}{
			{with(good, "topic", ""), "err-topic", "必填"},
			{with(good, "occurred_on", ""), "err-occurred_on", "必填"},
			{with(good, "occurred_on", "2030-01-01"), "err-occurred_on", "不能晚于今天"},
			{with(good, "topic", strings.Repeat("长", 201)), "err-topic", "不能超过 200 个字"},
			{with(good, "attendees", "n1"), "err-attendees", "不属于本组织"},
		} {
			c.form.Set("csrf", b.csrf)
			res := b.post(path, c.form)
			body := string(res.body)
			if res.status != http.StatusUnprocessableEntity || !strings.Contains(body, `id="`+c.id+`"`) {
				t.Errorf("%v: %d, no #%s: %.300s", c.form, res.status, c.id, body)
				continue
			}
			i := strings.Index(body, `id="`+c.id+`"`)
			if !strings.Contains(body[i:i+200], c.want) {
				t.Errorf("#%s: %q, want %q", c.id, body[i:i+200], c.want)
			}
		}
	})
	t.Run("money in yuan", func(t *testing.T) {
		p := "/ui/orgs/" + ownOrg + "/record/DuesPaid"
		res := b.post(p, url.Values{"csrf": {b.csrf}, "occurred_on": {"2016-06-05"}, "member_id": {"m1"}, "month": {"2016-06"}, "amount_fen": {"12.345"}})
		if res.status != http.StatusUnprocessableEntity || !strings.Contains(string(res.body), "最多两位小数") {
			t.Fatalf("%d", res.status)
		}
		res = b.post(p, url.Values{"csrf": {b.csrf}, "occurred_on": {"2016-06-05"}, "member_id": {"m1"}, "month": {"六月"}, "amount_fen": {"12.50"}})
		if res.status != http.StatusUnprocessableEntity || !strings.Contains(string(res.body), "月份格式应为") {
			t.Fatalf("bad month: %d", res.status)
		}
		res = b.post("/ui/orgs/"+ownOrg+"/record/DuesRemitted", url.Values{"csrf": {b.csrf}, "occurred_on": {"2016-06-05"}, "quarter": {"2016-5"}, "amount_fen": {"100"}})
		if res.status != http.StatusUnprocessableEntity || !strings.Contains(string(res.body), "季度格式应为") {
			t.Fatalf("bad quarter: %d", res.status)
		}
		// 12.50 is not the 15.00 due: a warning to confirm, nothing saved.
		res = b.post(p, url.Values{"csrf": {b.csrf}, "occurred_on": {"2016-06-05"}, "member_id": {"m1"}, "month": {"2016-06"}, "amount_fen": {"12.50"}})
		if res.status != http.StatusOK || !strings.Contains(string(res.body), "应交金额 15.00 元不符") {
			t.Fatalf("no warning: %d %.300s", res.status, res.body)
		}
		res = b.post(p, url.Values{"csrf": {b.csrf}, "occurred_on": {"2016-06-05"}, "member_id": {"m1"}, "month": {"2016-06"}, "amount_fen": {"12.50"}, "confirm": {"1"}})
		if res.status != http.StatusSeeOther {
			t.Fatalf("%d %.300s", res.status, res.body)
		}
		j := e.do("GET", "/v1/orgs/"+ownOrg+"/events?after=26", "branch", nil).json(t)
		evs := j["events"].([]any)
		d := evs[len(evs)-1].(map[string]any)["data"].(map[string]any)
		if d["amount_fen"] != float64(1250) {
			t.Fatalf("data %v", d)
		}
	})
	t.Run("a good post records and shows the scorecard", func(t *testing.T) {
		res := b.post(path, with(good, "csrf", b.csrf))
		if res.status != http.StatusSeeOther || !strings.HasPrefix(res.header.Get("Location"), "/ui/orgs/"+ownOrg+"?year=2016") {
			t.Fatalf("%d %s", res.status, res.header.Get("Location"))
		}
		page := b.get(res.header.Get("Location"))
		if !strings.Contains(string(page.body), "已登记") {
			t.Fatal("no confirmation")
		}
	})
	t.Run("a branch has no form for what it may not record", func(t *testing.T) {
		for _, typ := range []string{"FindingRecorded", "GradeIssued", "OrganizationRegistered"} {
			if res := b.get("/ui/orgs/" + ownOrg + "/record/" + typ); res.status != http.StatusForbidden && res.status != http.StatusNotFound {
				t.Errorf("%s: %d", typ, res.status)
			}
		}
		if res := b.get("/ui/orgs/" + ownOrg + "/record/Nonsense"); res.status != http.StatusNotFound {
			t.Errorf("unknown type: %d", res.status)
		}
	})
	t.Run("every form the branch may use renders", func(t *testing.T) {
		idx := b.get("/ui/orgs/" + ownOrg + "/record")
		for _, typ := range api.AppendableTypes("branch") {
			if !strings.Contains(string(idx.body), "/record/"+typ) {
				t.Errorf("index lacks %s", typ)
			}
			if res := b.get("/ui/orgs/" + ownOrg + "/record/" + typ); res.status != 200 {
				t.Errorf("%s: %d", typ, res.status)
			}
		}
	})
}

func TestWebPages(t *testing.T) {
	e := newEnv(t, api.Options{})
	a := e.login("auditor")
	t.Run("overview filters by kind and tier", func(t *testing.T) {
		all := string(a.get("/ui/overview?year=2016&under=*").body)
		for _, c := range []string{ownOrg, otherOrg, genOrg} {
			if !strings.Contains(all, c) {
				t.Fatalf("overview lacks %s", c)
			}
		}
		gen := string(a.get("/ui/overview?year=2016&kind=general_branch").body)
		if !strings.Contains(gen, genOrg) || strings.Contains(gen, ">"+ownOrg+"<") {
			t.Fatal("kind filter")
		}
	})
	t.Run("scorecard: sections, items, chart, missing", func(t *testing.T) {
		body := string(a.get("/ui/orgs/" + ownOrg + "?year=2016&as_of=2016-06-10").body)
		for _, want := range []string{"思想建设", "制度建设", "5.2", "政治学习制度", "<svg", "polyline", "尚缺事项", "政治学习"} {
			if !strings.Contains(body, want) {
				t.Errorf("scorecard lacks %q", want)
			}
		}
		if n := strings.Count(body, `class="item`); n != 23 {
			t.Errorf("%d items, want 23", n)
		}
	})
	t.Run("journal as it was known on a date", func(t *testing.T) {
		res := e.do("POST", "/v1/orgs/"+ownOrg+"/events", "branch", study("2016-06-23", "后补的学习"))
		id := res.json(t)["id"].(string)
		e.do("POST", "/v1/orgs/"+ownOrg+"/events", "branch", map[string]any{"type": "EventRetracted", "occurred_on": "2016-06-24",
			"data": map[string]any{"event_id": id, "reason": "日期登记错误"}})
		now := string(a.get("/ui/orgs/" + ownOrg + "/journal?year=2016").body)
		if !strings.Contains(now, "后补的学习") || !strings.Contains(now, "已撤回") || !strings.Contains(now, "日期登记错误") {
			t.Fatal("the journal does not show the retraction with its reason")
		}
		// Everything was recorded on 2017-02-01 (the test clock): known on
		// the day before, the journal was empty.
		past := string(a.get("/ui/orgs/" + ownOrg + "/journal?year=2016&known_on=2017-01-31").body)
		if strings.Contains(past, "后补的学习") || !strings.Contains(past, "该年度没有记录") {
			t.Fatal("known_on does not re-render the past")
		}
	})
	t.Run("security headers", func(t *testing.T) {
		res := a.get("/ui/overview")
		if csp := res.header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'self'") {
			t.Fatalf("CSP %q", csp)
		}
		if res.header.Get("X-Frame-Options") != "DENY" {
			t.Fatal("X-Frame-Options")
		}
	})
}

// TestEveryOrganisationTypeHasAForm iterates the event catalog: every
// type of an organisation's stream (registration aside: it has its own
// route) is offered on the admin's 登记 index, whose role may record all
// of them, and its form renders. A type added to the catalog without a
// form (formFields) or outside the index's order (catalogOrder) fails
// here.
func TestEveryOrganisationTypeHasAForm(t *testing.T) {
	e := newEnv(t, api.Options{})
	a := e.login("admin")
	idx := string(a.get("/ui/orgs/" + ownOrg + "/record").body)
	for _, typ := range domain.Types() {
		if k, _ := domain.StreamKindOf(typ); k != domain.StreamOrg || typ == domain.TypeOrganizationRegistered {
			continue
		}
		t.Run(typ, func(t *testing.T) {
			if !strings.Contains(idx, "/record/"+typ+`"`) {
				t.Errorf("the record index does not offer %s", typ)
			}
			res := a.get("/ui/orgs/" + ownOrg + "/record/" + typ)
			if res.status != http.StatusOK || !strings.Contains(string(res.body), "<form") {
				t.Errorf("form of %s: %d %.300s", typ, res.status, res.body)
			}
		})
	}
}
