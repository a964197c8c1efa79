package api_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"partyledger/api"
)

// Issue 17: the branch secretary's day on a phone — forms that cannot
// double-record, errors, choices, dues, 待办, sign-in codes (the web
// pages over HTTP; TestBrowser drives the same in Chromium).

var eventIDRE = regexp.MustCompile(`name="event_id" value="([^"]+)"`)

// formEventID returns the event id a rendered form carries.
func formEventID(t *testing.T, body []byte) string {
	t.Helper()
	m := eventIDRE.FindSubmatch(body)
	if m == nil {
		t.Fatalf("the form carries no event id: %.300s", body)
	}
	return string(m[1])
}

// journalCount returns how many events of the year the journal API lists
// with topic in their data.
func (e *env) journalCount(key, org, text string) int {
	e.t.Helper()
	res := e.do("GET", "/v1/orgs/"+org+"/events?limit=1000", key, nil)
	return strings.Count(string(res.body), text)
}

func TestFormsAreIdempotent(t *testing.T) {
	e := newEnv(t, api.Options{})
	b := e.login("branch")
	path := "/ui/orgs/" + ownOrg + "/record/StudySessionHeld"
	id := formEventID(t, b.get(path).body)
	form := url.Values{"csrf": {b.csrf}, "event_id": {id}, "occurred_on": {"2016-06-22"}, "topic": {"幂等学习"}, "attendees": {"m1", "m2"}, "notes_kept": {"true"}}
	first := b.post(path, form)
	if first.status != http.StatusSeeOther || !strings.Contains(first.header.Get("Location"), "recorded="+id) {
		t.Fatalf("first: %d %s", first.status, first.header.Get("Location"))
	}
	t.Run("the same form again records nothing and shows the first result", func(t *testing.T) {
		again := b.post(path, form)
		loc := again.header.Get("Location")
		if again.status != http.StatusSeeOther || !strings.Contains(loc, "recorded="+id) || !strings.Contains(loc, "dup=1") {
			t.Fatalf("again: %d %s", again.status, loc)
		}
		if n := e.journalCount("branch", ownOrg, "幂等学习"); n != 1 {
			t.Fatalf("%d events, want 1", n)
		}
		if page := string(b.get(loc).body); !strings.Contains(page, "没有重复登记") || !strings.Contains(page, "已登记：政治学习（2016-06-22）") {
			t.Fatalf("the page does not say so: %.500s", page)
		}
	})
	t.Run("changed and sent again: the first result stands", func(t *testing.T) {
		changed := url.Values{}
		for k, v := range form {
			changed[k] = v
		}
		changed.Set("topic", "改过的主题")
		res := b.post(path, changed)
		if res.status != http.StatusSeeOther || !strings.Contains(res.header.Get("Location"), "dup=other") {
			t.Fatalf("%d %s", res.status, res.header.Get("Location"))
		}
		if n := e.journalCount("branch", ownOrg, "改过的主题"); n != 0 {
			t.Fatal("the changed form was recorded")
		}
	})
	t.Run("a form without an id is recorded once", func(t *testing.T) {
		f := url.Values{"csrf": {b.csrf}, "occurred_on": {"2016-06-23"}, "topic": {"旧页面"}, "attendees": {"m1"}}
		if res := b.post(path, f); res.status != http.StatusSeeOther {
			t.Fatalf("%d", res.status)
		}
	})
	t.Run("each rendering is a new form", func(t *testing.T) {
		if formEventID(t, b.get(path).body) == id {
			t.Fatal("the same id twice")
		}
	})
}

func TestSavedInAYearWithoutARulebook(t *testing.T) {
	e := newEnv(t, api.Options{}) // the clock is in 2017: no rulebook for it
	b := e.login("branch")
	path := "/ui/orgs/" + ownOrg + "/record/StudySessionHeld"
	res := b.post(path, url.Values{"csrf": {b.csrf}, "event_id": {formEventID(t, b.get(path).body)}, "occurred_on": {"2017-01-20"},
		"topic": {"二〇一七年第一次学习"}, "attendees": {"m1"}})
	loc := res.header.Get("Location")
	if res.status != http.StatusSeeOther || !strings.HasPrefix(loc, "/ui/orgs/"+ownOrg+"/journal?year=2017") {
		t.Fatalf("%d %s", res.status, loc)
	}
	page := b.get(loc)
	if page.status != http.StatusOK || !strings.Contains(string(page.body), "已登记：政治学习") || !strings.Contains(string(page.body), "二〇一七年第一次学习") {
		t.Fatalf("%d %.400s", page.status, page.body)
	}
	sc := b.get("/ui/orgs/" + ownOrg + "?year=2017")
	if sc.status != http.StatusOK || !strings.Contains(string(sc.body), "尚未发布考核细则") || !strings.Contains(string(sc.body), "待办") {
		t.Fatalf("the scorecard of a year without a rulebook: %d %.400s", sc.status, sc.body)
	}
}

func TestFormErrorsAtOnce(t *testing.T) {
	e := newEnv(t, api.Options{})
	b := e.login("branch")
	t.Run("an empty dues form: every field", func(t *testing.T) {
		res := b.post("/ui/orgs/"+ownOrg+"/record/DuesPaid", url.Values{"csrf": {b.csrf}})
		body := string(res.body)
		for _, id := range []string{"err-member_id", "err-month", "err-amount_fen", "err-occurred_on", "error-count"} {
			if !strings.Contains(body, `id="`+id+`"`) {
				t.Errorf("no #%s", id)
			}
		}
		if res.status != http.StatusUnprocessableEntity {
			t.Errorf("%d", res.status)
		}
	})
	t.Run("a meeting or study session needs attendees", func(t *testing.T) {
		for _, typ := range []string{"StudySessionHeld", "MeetingHeld"} {
			res := b.post("/ui/orgs/"+ownOrg+"/record/"+typ, url.Values{"csrf": {b.csrf}, "occurred_on": {"2016-06-01"}, "topic": {"无人参加"}, "kind": {"branch_committee"}})
			if res.status != http.StatusUnprocessableEntity || !strings.Contains(string(res.body), "请至少选择一名参加党员") {
				t.Errorf("%s: %d", typ, res.status)
			}
		}
	})
	t.Run("the lecturer says when it is required", func(t *testing.T) {
		body := string(b.get("/ui/orgs/" + ownOrg + "/record/MeetingHeld").body)
		if !strings.Contains(body, "党课必填") || strings.Contains(body, "授课人（仅党课）") {
			t.Fatal("the lecturer's label")
		}
		res := b.post("/ui/orgs/"+ownOrg+"/record/MeetingHeld", url.Values{"csrf": {b.csrf}, "occurred_on": {"2016-06-01"}, "topic": {"党课"}, "kind": {"party_lecture"}, "attendees": {"m1"}})
		if !strings.Contains(string(res.body), `id="err-lecturer_id"`) {
			t.Fatal("a party lecture without a lecturer")
		}
	})
	t.Run("全选 ticks every member and records nothing", func(t *testing.T) {
		res := b.post("/ui/orgs/"+ownOrg+"/record/StudySessionHeld", url.Values{"csrf": {b.csrf}, "_action": {"select_all"}, "topic": {"全选测试"}})
		body := string(res.body)
		if res.status != http.StatusOK || strings.Count(body, `name="attendees"`) != 3 || strings.Count(body, " checked>") < 3 || !strings.Contains(body, "全选测试") {
			t.Fatalf("%d %.600s", res.status, body)
		}
	})
	t.Run("a second payment for a member and month is a warning", func(t *testing.T) {
		p := "/ui/orgs/" + ownOrg + "/record/DuesPaid"
		f := url.Values{"csrf": {b.csrf}, "occurred_on": {"2016-07-05"}, "member_id": {"m2"}, "month": {"2016-07"}, "amount_fen": {"15.00"}}
		if res := b.post(p, f); res.status != http.StatusSeeOther {
			t.Fatalf("the amount due: %d %.300s", res.status, res.body)
		}
		res := b.post(p, f)
		if res.status != http.StatusOK || !strings.Contains(string(res.body), "已登记 1 笔") {
			t.Fatalf("a second payment: %d", res.status)
		}
	})
}

func TestFindingFromLists(t *testing.T) {
	e := newEnv(t, api.Options{})
	a := e.login("assessor")
	path := "/ui/orgs/" + ownOrg + "/record/FindingRecorded"
	step1 := string(a.get(path).body)
	if !strings.Contains(step1, `<optgroup label="3.2`) || !strings.Contains(step1, `value="3.2/low_satisfaction"`) || !strings.Contains(step1, "扣 1–3 分") {
		t.Fatalf("step 1: %.800s", step1)
	}
	step2 := a.get(path + "?year=2016&finding=3.2%2Flow_satisfaction")
	body := string(step2.body)
	for _, want := range []string{`value="1"`, `value="1.5"`, `value="3"`, "扣分（1 至 3 分，以 0.5 分为单位）", `name="finding" value="3.2/low_satisfaction"`} {
		if !strings.Contains(body, want) {
			t.Errorf("step 2 lacks %q", want)
		}
	}
	id := formEventID(t, step2.body)
	bad := a.post(path, url.Values{"csrf": {a.csrf}, "event_id": {id}, "occurred_on": {"2017-01-10"}, "year": {"2016"}, "finding": {"3.2/low_satisfaction"}, "points": {"9"}, "reason": {"测评"}})
	if bad.status != http.StatusUnprocessableEntity || !strings.Contains(string(bad.body), "不能扣 9 分：该情形扣 1 至 3 分") {
		t.Fatalf("points out of range: %d", bad.status)
	}
	if strings.Contains(string(bad.body), "is not allowed") || strings.Contains(string(bad.body), "low_sat") && strings.Contains(string(bad.body), "has no finding") {
		t.Fatal("English reaches the page")
	}
	wrong := a.post(path, url.Values{"csrf": {a.csrf}, "event_id": {id}, "occurred_on": {"2017-01-10"}, "year": {"2016"}, "finding": {"3.2/low_sat"}, "reason": {"测评"}})
	if wrong.status != http.StatusUnprocessableEntity || !strings.Contains(string(wrong.body), "请从列表中选择") {
		t.Fatalf("an unknown finding: %d", wrong.status)
	}
	ok := a.post(path, url.Values{"csrf": {a.csrf}, "event_id": {id}, "occurred_on": {"2017-01-10"}, "year": {"2016"}, "finding": {"3.2/low_satisfaction"}, "points": {"1.5"}, "reason": {"群众满意度测评偏低"}})
	if ok.status != http.StatusSeeOther {
		t.Fatalf("%d %.300s", ok.status, ok.body)
	}
	sc := e.scorecard("auditor", ownOrg)
	if !strings.Contains(string(mustJSON(t, sc)), "low_satisfaction") {
		t.Fatal("the finding does not count")
	}
}

func TestMonthlyDuesForm(t *testing.T) {
	e := newEnv(t, api.Options{})
	b := e.login("branch")
	path := "/ui/orgs/" + ownOrg + "/dues?month=2016-08"
	page := b.get(path)
	body := string(page.body)
	for _, m := range []string{"m1", "m2", "m3"} {
		if !strings.Contains(body, `name="amount_`+m+`" value="15.00"`) || !strings.Contains(body, `name="pay" value="`+m+`" checked`) {
			t.Fatalf("%s not pre-filled: %.1200s", m, body)
		}
	}
	before := e.journalCount("branch", ownOrg, `"month":"2016-08"`)
	form := url.Values{"csrf": {b.csrf}, "event_id": {formEventID(t, page.body)}, "month": {"2016-08"}, "occurred_on": {"2016-08-10"},
		"pay": {"m1", "m2", "m3"}, "amount_m1": {"15.00"}, "amount_m2": {"15.00"}, "amount_m3": {"15.00"}}
	t.Run("one bad amount: nothing recorded, the row marked", func(t *testing.T) {
		f := url.Values{}
		for k, v := range form {
			f[k] = v
		}
		f.Set("amount_m3", "十五")
		res := b.post(path, f)
		if res.status != http.StatusUnprocessableEntity || !strings.Contains(string(res.body), `id="err-m3"`) {
			t.Fatalf("%d", res.status)
		}
		if n := e.journalCount("branch", ownOrg, `"month":"2016-08"`); n != before {
			t.Fatal("part of the roster was recorded")
		}
	})
	t.Run("the whole roster in one submit", func(t *testing.T) {
		res := b.post(path, form)
		if res.status != http.StatusSeeOther || !strings.Contains(res.header.Get("Location"), "paid=3") {
			t.Fatalf("%d %.300s", res.status, res.body)
		}
		if n := e.journalCount("branch", ownOrg, `"month":"2016-08"`); n != before+3 {
			t.Fatalf("%d payments, want %d", n, before+3)
		}
		roster := string(b.get(res.header.Get("Location")).body)
		if !strings.Contains(roster, "已登记 3 名党员 2016-08 的党费") || strings.Count(roster, "已交足") != 3 {
			t.Fatalf("roster: %.800s", roster)
		}
	})
	t.Run("sent again: nothing more", func(t *testing.T) {
		res := b.post(path, form)
		if res.status != http.StatusSeeOther || !strings.Contains(res.header.Get("Location"), "dup=1") {
			t.Fatalf("%d %s", res.status, res.header.Get("Location"))
		}
		if n := e.journalCount("branch", ownOrg, `"month":"2016-08"`); n != before+3 {
			t.Fatalf("%d payments after a second submit", n)
		}
	})
	t.Run("the roster shows brackets to the branch, not to the auditor", func(t *testing.T) {
		if body := string(b.get("/ui/orgs/" + ownOrg + "/roster?month=2016-08").body); !strings.Contains(body, "月收入3000元及以下：0.5%") || !strings.Contains(body, "3000.00 元") {
			t.Fatal("the branch does not see its brackets")
		}
		body := string(e.login("auditor").get("/ui/orgs/" + ownOrg + "/roster?month=2016-08").body)
		if strings.Contains(body, "0.5%") || strings.Contains(body, "3000.00 元") || !strings.Contains(body, "15.00 元") {
			t.Fatal("the auditor sees incomes, or not the amounts due")
		}
	})
	t.Run("an assessor may not record dues", func(t *testing.T) {
		if res := e.login("assessor").get(path); res.status != http.StatusForbidden {
			t.Fatalf("%d", res.status)
		}
	})
}

func TestTodoAPI(t *testing.T) {
	e := newEnv(t, api.Options{})
	get := func(key, q string) map[string]any {
		t.Helper()
		res := e.do("GET", "/v1/orgs/"+ownOrg+"/todo"+q, key, nil)
		if res.status != http.StatusOK {
			t.Fatalf("%s: %d %s", key, res.status, res.body)
		}
		return res.json(t)
	}
	items := func(m map[string]any) []map[string]any {
		var out []map[string]any
		for _, it := range m["items"].([]any) {
			out = append(out, it.(map[string]any))
		}
		return out
	}
	find := func(m map[string]any, rule string) map[string]any {
		for _, it := range items(m) {
			if it["rule"] == rule {
				return it
			}
		}
		return nil
	}
	l := get("branch", "?as_of=2016-09-13")
	if l["as_of"] != "2016-09-13" || l["rulebook_year"] != 2016.0 {
		t.Fatalf("%v", l)
	}
	dues := find(l, "2.5.late")
	if dues == nil || len(dues["members"].([]any)) != 3 {
		t.Fatalf("dues: %v", dues)
	}
	if m := dues["members"].([]any)[0].(map[string]any); m["monthly_income_fen"] != 300000.0 || m["due_fen"] != 1500.0 {
		t.Fatalf("the branch's member: %v", m)
	}
	if m := find(get("auditor", "?as_of=2016-09-13"), "2.5.late")["members"].([]any)[0].(map[string]any); m["monthly_income_fen"] != nil || m["bracket"] != nil || m["due_fen"] != 1500.0 {
		t.Fatalf("the auditor's: %v", m)
	}
	study := find(l, "5.2.sessions")
	if study == nil || study["have"] != 1.0 || study["need"] != 2.0 || study["type"] != "StudySessionHeld" {
		t.Fatalf("study: %v", study)
	}
	t.Run("it shrinks as the branch records what it names", func(t *testing.T) {
		n := len(items(l))
		e.do("POST", "/v1/orgs/"+ownOrg+"/events", "branch", study2("2016-09-13", "九月第二次学习"))
		after := get("branch", "?as_of=2016-09-13")
		if find(after, "5.2.sessions") != nil || len(items(after)) != n-1 {
			t.Fatalf("%d items, then %d", n, len(items(after)))
		}
	})
	t.Run("another branch's list is refused", func(t *testing.T) {
		if res := e.do("GET", "/v1/orgs/"+otherOrg+"/todo", "branch", nil); res.status != http.StatusForbidden {
			t.Fatalf("%d", res.status)
		}
	})
	t.Run("the home page shows it with links to the forms", func(t *testing.T) {
		body := string(e.login("branch").get("/ui/orgs/" + ownOrg).body)
		for _, want := range []string{`id="todo"`, "待办", "/ui/orgs/" + ownOrg + "/record/MeetingHeld?kind=party_lecture", "/ui/orgs/" + ownOrg + "/dues?month="} {
			if !strings.Contains(body, want) {
				t.Errorf("home lacks %q", want)
			}
		}
	})
}

func study2(on, topic string) map[string]any {
	return map[string]any{"type": "StudySessionHeld", "occurred_on": on, "data": map[string]any{"topic": topic, "attendees": []string{"m1"}, "notes_kept": true}}
}

func TestJournalFiltersPrintAndWorkbook(t *testing.T) {
	e := newEnv(t, api.Options{})
	b := e.login("branch")
	t.Run("by type, month and words", func(t *testing.T) {
		body := string(b.get("/ui/orgs/" + ownOrg + "/journal?year=2016&type=StudySessionHeld&month=2016-03").body)
		if strings.Count(body, `<tr id="ev-`) != 2 || !strings.Contains(body, "第3月第1次政治学习") || strings.Contains(body, "第4月") {
			t.Fatalf("%d rows", strings.Count(body, `<tr id="ev-`))
		}
		body = string(b.get("/ui/orgs/" + ownOrg + "/journal?year=2016&q=" + url.QueryEscape("第12月")).body)
		if strings.Count(body, `<tr id="ev-`) != 2 {
			t.Fatalf("search: %d rows", strings.Count(body, `<tr id="ev-`))
		}
		if res := b.get("/ui/orgs/" + ownOrg + "/journal?month=March"); res.status != http.StatusBadRequest {
			t.Fatalf("a bad month: %d", res.status)
		}
	})
	t.Run("the printable 台账", func(t *testing.T) {
		body := string(b.get("/ui/orgs/" + ownOrg + "/print?year=2016").body)
		for _, want := range []string{"2016 年度党建目标绩效考核台账", "5.2", "政治学习", "台账记录", "第12月第2次政治学习", "@page"} {
			if want == "@page" {
				continue // in the stylesheet
			}
			if !strings.Contains(body, want) {
				t.Errorf("print lacks %q", want)
			}
		}
		css := string(b.get("/static/style.css").body)
		if !strings.Contains(css, "size: A4") || !strings.Contains(css, "@media print") {
			t.Error("no print stylesheet")
		}
	})
	t.Run("the branch downloads its own 台账", func(t *testing.T) {
		res := b.get("/ui/orgs/" + ownOrg + "/xlsx?year=2016")
		if res.status != http.StatusOK || !strings.Contains(res.header.Get("Content-Type"), "spreadsheetml") {
			t.Fatalf("%d %s", res.status, res.header.Get("Content-Type"))
		}
		f, err := excelize.OpenReader(bytes.NewReader(res.body))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		all := strings.Join(f.GetSheetList(), " ")
		if !strings.Contains(all, ownOrg) {
			t.Fatalf("sheets %s", all)
		}
		if res := b.get("/ui/orgs/" + otherOrg + "/xlsx?year=2016"); res.status != http.StatusForbidden {
			t.Fatalf("another branch's: %d", res.status)
		}
	})
}

func TestErrorPagesKeepTheNavigation(t *testing.T) {
	e := newEnv(t, api.Options{})
	b := e.login("branch")
	for _, p := range []string{"/ui/orgs/" + otherOrg, "/ui/nothing-here", "/ui/overview"} {
		res := b.get(p)
		if res.status < 400 || !strings.Contains(string(res.body), `href="/ui/orgs/`+ownOrg+`/journal"`) || !strings.Contains(string(res.body), "退出") {
			t.Errorf("%s: %d without the navigation", p, res.status)
		}
	}
}

var codeRE = regexp.MustCompile(`id="code">(\d{8})<`)
var signinURLRE = regexp.MustCompile(`id="signin-url">[^<]*?/signin\?c=([0-9a-f]+)<`)

func TestSignInWithACode(t *testing.T) {
	e := newEnv(t, api.Options{})
	admin := e.login("admin")
	page := admin.post("/ui/signin-codes", url.Values{"csrf": {admin.csrf}, "token": {e.ids["branch"]}})
	code, c := codeRE.FindSubmatch(page.body), signinURLRE.FindSubmatch(page.body)
	if page.status != http.StatusOK || code == nil || c == nil || !strings.Contains(string(page.body), "data:image/png;base64,") {
		t.Fatalf("%d %.1500s", page.status, page.body)
	}
	if bytes.Contains(page.body, []byte("c="+string(c[1])+string(code[1]))) || bytes.Contains(page.body, []byte("code="+string(code[1]))) {
		t.Fatal("the address carries the code")
	}
	phone := func() *browser {
		b := &browser{e: e, c: newJarClient()}
		return b
	}
	signin := func(b *browser, codeID, digits string) response {
		t.Helper()
		p := b.get("/signin?c=" + codeID)
		m := loginRE.FindSubmatch(p.body)
		if m == nil {
			t.Fatalf("sign-in page: %.300s", p.body)
		}
		return b.post("/signin", url.Values{"login": {string(m[1])}, "c": {codeID}, "code": {digits}})
	}
	p1 := phone()
	if res := signin(p1, string(c[1]), "00000000"); res.status != http.StatusUnauthorized || !strings.Contains(string(res.body), "登录码不正确") {
		t.Fatalf("a wrong code: %d", res.status)
	}
	res := signin(p1, string(c[1]), string(code[1]))
	if res.status != http.StatusSeeOther {
		t.Fatalf("the code: %d %.300s", res.status, res.body)
	}
	home := p1.get("/")
	if home.header.Get("Location") != "/ui/orgs/"+ownOrg {
		t.Fatalf("signed in as %s", home.header.Get("Location"))
	}
	if res := p1.get("/ui/orgs/" + ownOrg); res.status != http.StatusOK || !strings.Contains(string(res.body), "测试 branch") {
		t.Fatalf("the phone's page: %d", res.status)
	}
	t.Run("a code signs in once", func(t *testing.T) {
		if res := signin(phone(), string(c[1]), string(code[1])); res.status != http.StatusUnauthorized {
			t.Fatalf("second use: %d", res.status)
		}
	})
	t.Run("a form posted from the phone", func(t *testing.T) {
		body := p1.get("/ui/orgs/" + ownOrg + "/record/StudySessionHeld").body
		p1.csrf = string(csrfRE.FindSubmatch(body)[1])
		res := p1.post("/ui/orgs/"+ownOrg+"/record/StudySessionHeld", url.Values{"csrf": {p1.csrf}, "event_id": {formEventID(t, body)},
			"occurred_on": {"2016-10-10"}, "topic": {"手机上登记的学习"}, "attendees": {"m1"}})
		if res.status != http.StatusSeeOther {
			t.Fatalf("%d %.300s", res.status, res.body)
		}
	})
	t.Run("the person and the admin see the session; revoking it signs the phone out", func(t *testing.T) {
		list := e.do("GET", "/v1/sessions?token_id="+e.ids["branch"], "admin", nil).json(t)["sessions"].([]any)
		if len(list) != 1 {
			t.Fatalf("%v", list)
		}
		id := list[0].(map[string]any)["session_id"].(string)
		if body := string(e.login("branch").get("/ui/devices").body); !strings.Contains(body, "dev-"+id) {
			t.Fatal("the person does not see the session")
		}
		other := e.login("branch-other")
		if res := other.post("/ui/devices", url.Values{"csrf": {other.csrf}, "session_id": {id}}); res.status != http.StatusNotFound {
			t.Fatalf("another person revokes it: %d", res.status)
		}
		if res := admin.post("/ui/devices", url.Values{"csrf": {admin.csrf}, "session_id": {id}}); res.status != http.StatusSeeOther {
			t.Fatalf("revoke: %d", res.status)
		}
		if res := p1.get("/ui/orgs/" + ownOrg); res.status != http.StatusSeeOther || !strings.HasPrefix(res.header.Get("Location"), "/login") {
			t.Fatalf("after revocation: %d %s", res.status, res.header.Get("Location"))
		}
	})
	t.Run("five wrong entries void a code", func(t *testing.T) {
		r := e.do("POST", "/v1/tokens/"+e.ids["auditor"]+"/signin-codes", "admin", nil)
		if r.status != http.StatusCreated {
			t.Fatalf("%d %s", r.status, r.body)
		}
		j := r.json(t)
		id, digits := j["code_id"].(string), j["code"].(string)
		if !strings.Contains(j["url"].(string), "/signin?c="+id) || strings.Contains(j["url"].(string), digits) {
			t.Fatalf("url %v", j["url"])
		}
		wrong := "00000000"
		if digits == wrong {
			wrong = "11111111"
		}
		for i := 0; i < api.SignInCodeTries; i++ {
			signin(phone(), id, wrong)
		}
		if res := signin(phone(), id, digits); res.status != http.StatusUnauthorized {
			t.Fatalf("a voided code: %d", res.status)
		}
	})
	t.Run("only hashes are stored", func(t *testing.T) {
		exp := string(e.do("GET", "/v1/verify", "admin", nil).body)
		_ = exp
		var all bytes.Buffer
		for ev, err := range e.bk.ReadStream(t.Context(), api.AuthStream, 0) {
			if err != nil {
				t.Fatal(err)
			}
			all.Write(ev.Data)
		}
		if bytes.Contains(all.Bytes(), code[1]) {
			t.Fatal("the code is stored")
		}
	})
}

// newJarClient is a cookie-keeping client that does not follow redirects.
func newJarClient() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
