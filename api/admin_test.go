package api_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"partyledger/api"
	"partyledger/domain"
)

// adminMatrixForm is the form TestRoleMatrix posts to an admin page: one
// the admin's post succeeds with (a dry run where the page has one).
func adminMatrixForm(pattern string, n int64) (url.Values, bool) {
	switch pattern {
	case "/ui/admin/tokens":
		return url.Values{"role": {"auditor"}, "name": {fmt.Sprintf("矩阵 %d", n)}}, true
	case "/ui/admin/tokens/{tokenID}/revoke":
		return url.Values{"reason": {"矩阵吊销"}}, true
	case "/ui/admin/rulebooks":
		doc := rulebookJSON(nil, func(d map[string]any) { d["version"] = fmt.Sprintf("2016.a%d", n) })
		return url.Values{"document": {doc}, "reason": {"矩阵测试"}, "year": {"2016"}}, true
	case "/ui/admin/grades/issue":
		return url.Values{"year": {"2016"}}, true
	case "/ui/admin/grades/revise":
		return url.Values{"year": {"2016"}, "reason": {"矩阵更正"}}, true
	case "/ui/admin/grades/designate":
		return url.Values{"year": {"2016"}, "reason": {"矩阵"}}, true
	}
	return nil, false
}

// rulebookJSON returns the built-in 2016 rulebook as an indented file,
// edited.
func rulebookJSON(t testing.TB, edits ...func(doc map[string]any)) string {
	var doc map[string]any
	if err := json.Unmarshal(domain.Builtin2016JSON(), &doc); err != nil {
		panic(err)
	}
	for _, e := range edits {
		e(doc)
	}
	b, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		panic(err)
	}
	return string(b) + "\n"
}

// correction2016 is the correction the admin tests publish: one study
// session a month instead of two (5.2), and 达标 from 55 instead of 60.
func correction2016(version string) func(doc map[string]any) {
	return func(doc map[string]any) {
		doc["version"] = version
		for _, it := range doc["items"].([]any) {
			rules, _ := it.(map[string]any)["rules"].([]any)
			for _, r := range rules {
				if r := r.(map[string]any); r["id"] == "5.2.sessions" {
					r["need"] = 1
				}
			}
		}
		for _, t := range doc["tiers"].([]any) {
			if t := t.(map[string]any); t["tier"] == "compliant" {
				t["min"] = 55
			}
		}
	}
}

// upload posts a multipart form with one file, as a browser's file input
// sends it.
func (b *browser) upload(path string, fields url.Values, file, name, content string) response {
	b.e.t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for k, vs := range fields {
		for _, v := range vs {
			_ = mw.WriteField(k, v)
		}
	}
	fw, err := mw.CreateFormFile(file, name)
	if err != nil {
		b.e.t.Fatal(err)
	}
	_, _ = io.WriteString(fw, content)
	_ = mw.Close()
	res, err := b.c.Post(b.e.ts.URL+path, mw.FormDataContentType(), &body)
	if err != nil {
		b.e.t.Fatal(err)
	}
	defer res.Body.Close()
	out, _ := io.ReadAll(res.Body)
	return response{status: res.StatusCode, header: res.Header, body: out}
}

func wantBody(t *testing.T, res response, status int, want ...string) {
	t.Helper()
	if res.status != status {
		t.Fatalf("status %d, want %d: %.1500s", res.status, status, res.body)
	}
	for _, w := range want {
		if !strings.Contains(string(res.body), w) {
			t.Errorf("page lacks %q: %.3000s", w, res.body)
		}
	}
}

// TestAdminNav: the admin sees 工委管理 in the navigation, no one else does.
func TestAdminNav(t *testing.T) {
	e := newEnv(t, api.Options{})
	for _, role := range roles {
		b := e.login(role)
		page := b.get("/")
		if loc := page.header.Get("Location"); loc != "" {
			page = b.get(loc)
		}
		if got := strings.Contains(string(page.body), `href="/ui/admin"`); got != (role == "admin") {
			t.Errorf("%s: link to 工委管理 shown %v", role, got)
		}
	}
	wantBody(t, e.login("admin").get("/ui/admin"), http.StatusOK, "访问令牌", "细则版本", "重新计算", "正式等次")
}

var tokenRE = regexp.MustCompile(`id="new-token">(plt_[A-Za-z0-9_-]+)<`)

// TestAdminTokens: a token issued on the page is shown once and works;
// the list shows who issued it and never a secret; revoking it on the
// page ends it at once; the last admin token cannot be revoked.
func TestAdminTokens(t *testing.T) {
	e := newEnv(t, api.Options{})
	b := e.login("admin")
	res := b.post("/ui/admin/tokens", url.Values{"csrf": {b.csrf}, "role": {"branch"}, "org": {ownOrg}, "name": {"新书记"}})
	wantBody(t, res, http.StatusOK, "只显示这一次", "新书记")
	m := tokenRE.FindSubmatch(res.body)
	if m == nil {
		t.Fatalf("no token shown: %.2000s", res.body)
	}
	tok := string(m[1])
	me := e.do("GET", "/v1/me", tok, nil)
	if me.status != http.StatusOK || me.json(t)["org"] != ownOrg {
		t.Fatalf("the new token: %d %s", me.status, me.body)
	}
	id := strings.Split(tok, "_")[1]

	list := b.get("/ui/admin/tokens")
	wantBody(t, list, http.StatusOK, id, "新书记", "测试 admin (admin "+e.ids["admin"]+")")
	if strings.Contains(string(list.body), "plt_") {
		t.Error("the token list shows a token")
	}

	t.Run("refused", func(t *testing.T) {
		res := b.post("/ui/admin/tokens", url.Values{"csrf": {b.csrf}, "role": {"branch"}, "org": {"NOPE-1"}, "name": {"某人"}})
		wantBody(t, res, http.StatusUnprocessableEntity, "未能签发令牌", "组织代码")
		res = b.post("/ui/admin/tokens", url.Values{"role": {"admin"}, "name": {"无防伪令牌"}})
		if res.status != http.StatusForbidden {
			t.Errorf("a post without its CSRF token: %d", res.status)
		}
	})

	res = b.post("/ui/admin/tokens/"+id+"/revoke", url.Values{"csrf": {b.csrf}, "reason": {"离任"}})
	if res.status != http.StatusSeeOther {
		t.Fatalf("revoke: %d %.500s", res.status, res.body)
	}
	wantBody(t, b.get(res.header.Get("Location")), http.StatusOK, "已吊销令牌", "离任")
	if got := e.do("GET", "/v1/me", tok, nil).status; got != http.StatusUnauthorized {
		t.Errorf("the revoked token: %d, want 401", got)
	}

	res = b.post("/ui/admin/tokens/"+e.ids["admin"]+"/revoke", url.Values{"csrf": {b.csrf}, "reason": {"试试"}})
	wantBody(t, res, http.StatusConflict, "最后一个有效的管理员令牌")
	if got := e.do("GET", "/v1/me", "admin", nil).status; got != http.StatusOK {
		t.Errorf("the last admin token after the refused revocation: %d", got)
	}
}

var problemRE = regexp.MustCompile(`第 (\d+) 行(?: 第 \d+ 列)?</span>(?: <code>([^<]*)</code>)?：([^<]*)</li>`)

// TestAdminRulebookPublish: an uploaded file with mistakes is refused,
// every problem listed with the line it is on, nothing published; the
// corrected file is published as the signed-in admin; the diff shows the
// changed values side by side; the download is a file publish takes.
func TestAdminRulebookPublish(t *testing.T) {
	e := newEnv(t, api.Options{})
	b := e.login("admin")
	bad := rulebookJSON(t, correction2016("2016.2"), func(doc map[string]any) {
		doc["total"] = 99
		item := doc["items"].([]any)[3].(map[string]any)
		item["titel"] = item["title"]
		delete(item, "title")
	})
	res := b.upload("/ui/admin/rulebooks", url.Values{"csrf": {b.csrf}, "year": {"2016"}, "reason": {"更正 5.2"}}, "file", "2016.2.json", bad)
	wantBody(t, res, http.StatusUnprocessableEntity, "处问题，细则未发布", "2016.2.json")
	lines := strings.Split(bad, "\n")
	found := map[string]bool{}
	for _, m := range problemRE.FindAllStringSubmatch(string(res.body), -1) {
		var n int
		fmt.Sscan(m[1], &n)
		if n < 1 || n > len(lines) {
			t.Fatalf("problem at line %d of %d: %v", n, len(lines), m)
		}
		switch m[2] {
		case "items[3].titel":
			found["titel"] = strings.Contains(lines[n-1], `"titel"`) && strings.Contains(m[3], "未知字段")
		case "total":
			found["total"] = strings.Contains(lines[n-1], `"total"`)
		}
	}
	if !found["titel"] || !found["total"] {
		t.Fatalf("problems %v in %.3000s", found, res.body)
	}
	if strings.Contains(string(b.get("/ui/admin/rulebooks?year=2016").body), ">2016.2") {
		t.Fatal("the refused version is listed")
	}

	good := rulebookJSON(t, correction2016("2016.2"))
	res = b.upload("/ui/admin/rulebooks", url.Values{"csrf": {b.csrf}, "year": {"2016"}, "reason": {"更正 5.2"}}, "file", "2016.2.json", good)
	if res.status != http.StatusSeeOther {
		t.Fatalf("publish: %d %.2000s", res.status, res.body)
	}
	wantBody(t, b.get(res.header.Get("Location")), http.StatusOK, "已发布细则 2016.2", "更正 5.2", "测试 admin (admin "+e.ids["admin"]+")", "现行")

	again := b.upload("/ui/admin/rulebooks", url.Values{"csrf": {b.csrf}, "year": {"2016"}, "reason": {"再来"}}, "file", "2016.2.json", good)
	wantBody(t, again, http.StatusConflict, "已有版本 2016.2")

	diff := b.get("/ui/admin/rulebooks/diff?year=2016&from=2016.1&to=2016.2")
	wantBody(t, diff, http.StatusOK, "5.2", "rules[5.2.sessions].need", "tiers[compliant].min", `<td class="old"><pre>60</pre></td>`, `<td class="new"><pre>55</pre></td>`)

	file := b.get("/ui/admin/rulebooks/2016/2016.2")
	if file.status != http.StatusOK || !strings.Contains(file.header.Get("Content-Disposition"), "rulebook-2016.2.json") {
		t.Fatalf("download: %d %v", file.status, file.header)
	}
	if rb, err := domain.ParseRulebookFile(file.body); err != nil || rb.Version != "2016.2" {
		t.Fatalf("the download does not parse: %v", err)
	}

	t.Run("pasted", func(t *testing.T) {
		res := b.post("/ui/admin/rulebooks", url.Values{"csrf": {b.csrf}, "year": {"2016"}, "reason": {"粘贴"},
			"document": {rulebookJSON(t, correction2016("2016.3"))}})
		if res.status != http.StatusSeeOther {
			t.Fatalf("publish pasted: %d %.1000s", res.status, res.body)
		}
		res = b.post("/ui/admin/rulebooks", url.Values{"csrf": {b.csrf}, "year": {"2016"}, "reason": {"粘贴"}, "document": {"{\n  \"year\": 2016,\n  oops\n}"}})
		wantBody(t, res, http.StatusUnprocessableEntity, "第 3 行", "JSON 格式错误")
	})
	t.Run("upload_needs_a_session", func(t *testing.T) {
		var body bytes.Buffer
		mw := multipart.NewWriter(&body)
		_ = mw.WriteField("reason", "x")
		_ = mw.Close()
		res := e.do("POST", "/ui/admin/rulebooks", "", body.Bytes(), "Content-Type", mw.FormDataContentType())
		if res.status != http.StatusSeeOther || !strings.HasPrefix(res.header.Get("Location"), "/login") {
			t.Errorf("anonymous upload: %d %v", res.status, res.header)
		}
	})
}

// TestAdminRecompute: after the correction, the recompute page shows who
// moves between which tiers and why, item by item, the two versions side
// by side; and the same between two known_at dates.
func TestAdminRecompute(t *testing.T) {
	e := newEnv(t, api.Options{})
	// The fixture was recorded on 2017-02-01; the correction is published
	// two days later.
	e.clock.Set(time.Date(2017, 2, 3, 10, 0, 0, 0, domain.CST))
	b := e.login("admin")
	res := b.upload("/ui/admin/rulebooks", url.Values{"csrf": {b.csrf}, "year": {"2016"}, "reason": {"更正"}}, "file", "c.json", rulebookJSON(t, correction2016("2016.2")))
	if res.status != http.StatusSeeOther {
		t.Fatalf("publish: %d %.1000s", res.status, res.body)
	}
	page := b.get("/ui/admin/recompute?year=2016&from=2016.1&to=2016.2")
	wantBody(t, page, http.StatusOK, `id="moves"`, "未达标", "达标", `id="changed-`+ownOrg+`"`, "5.2", "政治学习", "细则 2016.1", "细则 2016.2")
	before := string(page.body)
	if !regexp.MustCompile(`(?s)tier-noncompliant">未达标</span></td><td>→</td><td><span class="badge tier-compliant">达标`).MatchString(before) {
		t.Errorf("no move from 未达标 to 达标: %.4000s", before)
	}

	// Known at two dates: on 2017-02-02, 2016.1 was in force.
	known := b.get("/ui/admin/recompute?year=2016&mode=known&known_from=2017-02-02&known_to=2017-02-03")
	wantBody(t, known, http.StatusOK, "2017-02-02 时所知", "2017-02-03 时所知", `id="changed-`+ownOrg+`"`)
	early := b.get("/ui/admin/recompute?year=2016&mode=known&known_from=2017-01-31&known_to=2017-02-03")
	wantBody(t, early, http.StatusOK, "原知悉日期时尚未登记", ownOrg)
	bad := b.get("/ui/admin/recompute?year=2016&from=2016.9&to=2016.2")
	wantBody(t, bad, http.StatusUnprocessableEntity, "无法计算", "原版本", "没有该细则版本")
}

// TestAdminGrades: designation, issue and revision each a check or dry run
// first, recorded as the signed-in admin after confirmation; the history
// shows every grade with its reasons.
func TestAdminGrades(t *testing.T) {
	e := newEnv(t, api.Options{})
	b := e.login("admin")
	by := "测试 admin (admin " + e.ids["admin"] + ")"

	dry := b.post("/ui/admin/grades/issue", url.Values{"csrf": {b.csrf}, "year": {"2016"}})
	wantBody(t, dry, http.StatusOK, "试算：尚未写入", "尚未录入年终分组考评")
	dry = b.post("/ui/admin/grades/issue", url.Values{"csrf": {b.csrf}, "year": {"2016"}, "provisional": {"1"}})
	wantBody(t, dry, http.StatusOK, "试算：尚未写入", `id="confirm-form"`, genOrg)
	if gs := e.do("GET", "/v1/grades?year=2016", "admin", nil).json(t)["grades"].([]any); len(gs) != 0 {
		t.Fatalf("a dry run wrote grades: %v", gs)
	}
	knownAt := regexp.MustCompile(`name="known_at" value="([^"]+)"`).FindSubmatch(dry.body)
	if knownAt == nil {
		t.Fatal("the confirmation lacks the dry run's known_at")
	}
	e.clock.Set(e.clock.Now().Add(time.Hour))
	done := b.post("/ui/admin/grades/issue", url.Values{"csrf": {b.csrf}, "year": {"2016"}, "provisional": {"1"}, "confirm": {"1"}, "known_at": {string(knownAt[1])}})
	wantBody(t, done, http.StatusOK, "已写入台账", "已写入 1 个评定")
	gs := e.do("GET", "/v1/grades?year=2016", "admin", nil).json(t)["grades"].([]any)
	if len(gs) != 1 || gs[0].(map[string]any)["recorded_by"] != by {
		t.Fatalf("grades %v, want one recorded by %s", gs, by)
	}

	// A correction that makes the general branch eligible: designate it,
	// then revise its grade.
	res := b.post("/ui/admin/rulebooks", url.Values{"csrf": {b.csrf}, "year": {"2016"}, "reason": {"放宽"}, "document": {rulebookJSON(t, func(doc map[string]any) {
		doc["version"] = "2016.2"
		doc["tiers"] = []any{map[string]any{"tier": "advanced", "min": 50}, map[string]any{"tier": "compliant", "min": 40}, map[string]any{"tier": "non_compliant", "min": 0}}
		doc["vetoes"] = []any{}
	})}})
	if res.status != http.StatusSeeOther {
		t.Fatalf("publish: %d %.1500s", res.status, res.body)
	}
	wantBody(t, b.get("/ui/admin/grades/designate?year=2016"), http.StatusOK, `name="codes" value="`+genOrg+`"`)
	check := b.post("/ui/admin/grades/designate", url.Values{"csrf": {b.csrf}, "year": {"2016"}, "codes": {genOrg}, "reason": {"工委会议研究确定"}})
	wantBody(t, check, http.StatusOK, `id="designate-preview"`, `id="designate-confirm"`)
	none := b.post("/ui/admin/grades/designate", url.Values{"csrf": {b.csrf}, "year": {"2016"}, "codes": {"T-NOPE"}, "reason": {"不符合"}})
	wantBody(t, none, http.StatusOK, "不能确定")
	res = b.post("/ui/admin/grades/designate", url.Values{"csrf": {b.csrf}, "year": {"2016"}, "codes": {genOrg}, "reason": {"工委会议研究确定"}, "confirm": {"1"}})
	if res.status != http.StatusSeeOther {
		t.Fatalf("designate: %d %.1500s", res.status, res.body)
	}
	wantBody(t, b.get(res.header.Get("Location")), http.StatusOK, "已确定先进：1", "已确定")

	noReason := b.post("/ui/admin/grades/revise", url.Values{"csrf": {b.csrf}, "year": {"2016"}, "provisional": {"1"}})
	wantBody(t, noReason, http.StatusUnprocessableEntity, "未能更正", "更正原因")
	dry = b.post("/ui/admin/grades/revise", url.Values{"csrf": {b.csrf}, "year": {"2016"}, "provisional": {"1"}, "reason": {"细则 2016.2 放宽等次线"}})
	wantBody(t, dry, http.StatusOK, "试算：尚未写入", "细则 2016.1", "先进")
	knownAt = regexp.MustCompile(`name="known_at" value="([^"]+)"`).FindSubmatch(dry.body)
	done = b.post("/ui/admin/grades/revise", url.Values{"csrf": {b.csrf}, "year": {"2016"}, "provisional": {"1"}, "reason": {"细则 2016.2 放宽等次线"},
		"confirm": {"1"}, "known_at": {string(knownAt[1])}})
	wantBody(t, done, http.StatusOK, "已写入 1 个更正")

	hist := b.get("/ui/admin/grades/" + genOrg + "?year=2016")
	wantBody(t, hist, http.StatusOK, "评定", "更正", "细则 2016.2 放宽等次线", by, "已由工委确定")
	if n := strings.Count(string(hist.body), `<tr id="ev-`); n != 2 {
		t.Errorf("%d grades in the history, want 2", n)
	}
	wantBody(t, b.get("/ui/admin/grades/NOPE-9?year=2016"), http.StatusNotFound)
}
