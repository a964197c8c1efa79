package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"partyledger/api"
	"partyledger/domain"
)

func study(on, topic string) map[string]any {
	return map[string]any{"type": "StudySessionHeld", "occurred_on": on,
		"data": map[string]any{"topic": topic, "attendees": []string{"m1"}, "notes_kept": true}}
}

func TestAppend(t *testing.T) {
	e := newEnv(t, api.Options{})
	path := "/v1/orgs/" + ownOrg + "/events"

	t.Run("one event: 201 with id, revision, position, recorded_at, hash; recorded_by is the principal", func(t *testing.T) {
		res := e.do("POST", path, "branch", study("2016-06-21", "补学"))
		if res.status != http.StatusCreated {
			t.Fatalf("status %d: %s", res.status, res.body)
		}
		m := res.json(t)
		for _, k := range []string{"id", "revision", "position", "recorded_at", "hash"} {
			if _, ok := m[k]; !ok {
				t.Errorf("no %s in %s", k, res.body)
			}
		}
		j := e.do("GET", path+fmt.Sprintf("?after=%d", int(m["revision"].(float64))-1), "branch", nil).json(t)
		ev := j["events"].([]any)[0].(map[string]any)
		if ev["id"] != m["id"] || !strings.HasPrefix(ev["recorded_by"].(string), "测试 branch (branch ") {
			t.Fatalf("journal has %v", ev)
		}
	})
	t.Run("recorded_by in the body is refused", func(t *testing.T) {
		b := study("2016-06-21", "x")
		b["recorded_by"] = "someone else"
		res := e.do("POST", path, "branch", b)
		if code, field := res.apiErr(t); res.status != 422 || code != "invalid" || field != "recorded_by" {
			t.Fatalf("%d %s %s", res.status, code, field)
		}
	})
	t.Run("org in the body is refused", func(t *testing.T) {
		b := study("2016-06-21", "x")
		b["org"] = otherOrg
		res := e.do("POST", path, "branch", b)
		if _, field := res.apiErr(t); res.status != 422 || field != "org" {
			t.Fatalf("%d %s", res.status, res.body)
		}
	})
	t.Run("batch is atomic and ordered", func(t *testing.T) {
		res := e.do("POST", path, "branch", []any{study("2016-07-01", "a"), study("2016-07-02", "b")})
		if res.status != http.StatusCreated {
			t.Fatalf("status %d: %s", res.status, res.body)
		}
		evs := res.json(t)["events"].([]any)
		r0, r1 := evs[0].(map[string]any)["revision"].(float64), evs[1].(map[string]any)["revision"].(float64)
		if r1 != r0+1 {
			t.Fatalf("revisions %v %v", r0, r1)
		}
		head := e.do("GET", "/v1/orgs/"+ownOrg, "branch", nil).json(t)["revision"]
		bad := study("2016-07-03", "c")
		bad["data"].(map[string]any)["attendees"] = []string{"nobody"}
		res = e.do("POST", path, "branch", []any{study("2016-07-03", "ok"), bad})
		if code, field := res.apiErr(t); res.status != 422 || code != "invalid" || field != "[1].data.attendees[0]" {
			t.Fatalf("%d %s %s: %s", res.status, code, field, res.body)
		}
		if got := e.do("GET", "/v1/orgs/"+ownOrg, "branch", nil).json(t)["revision"]; got != head {
			t.Fatalf("a refused batch changed the journal: revision %v → %v", head, got)
		}
	})
	t.Run("idempotent id: same content answers the first result and writes nothing", func(t *testing.T) {
		b := study("2016-08-01", "幂等")
		b["id"] = "0b7f2c64-1d2e-4f5a-9b8c-7d6e5f4a3b21"
		first := e.do("POST", path, "branch", b)
		again := e.do("POST", path, "branch", b)
		if first.status != 201 || again.status != 200 {
			t.Fatalf("statuses %d %d", first.status, again.status)
		}
		f, a := first.json(t), again.json(t)
		if f["revision"] != a["revision"] || f["hash"] != a["hash"] || a["duplicate"] != true {
			t.Fatalf("first %v, again %v", f, a)
		}
		b["data"].(map[string]any)["topic"] = "改了内容"
		res := e.do("POST", path, "branch", b)
		if code, field := res.apiErr(t); res.status != 409 || code != "id_conflict" || field != "id" {
			t.Fatalf("%d %s %s", res.status, code, field)
		}
	})
	t.Run("If-Match", func(t *testing.T) {
		org := e.do("GET", "/v1/orgs/"+ownOrg, "branch", nil)
		etag := org.header.Get("ETag")
		rev := int(org.json(t)["revision"].(float64))
		if etag != fmt.Sprintf(`"%d"`, rev) {
			t.Fatalf("ETag %q, revision %d", etag, rev)
		}
		res := e.do("POST", path, "branch", study("2016-08-02", "条件"), "If-Match", fmt.Sprint(rev-1))
		if code, field := res.apiErr(t); res.status != 409 || code != "wrong_revision" || field != "If-Match" {
			t.Fatalf("%d %s %s", res.status, code, field)
		}
		if res := e.do("POST", path, "branch", study("2016-08-02", "条件"), "If-Match", etag); res.status != 201 {
			t.Fatalf("matching If-Match: %d %s", res.status, res.body)
		}
		res = e.do("POST", path, "branch", study("2016-08-02", "条件"), "If-Match", "abc")
		if _, field := res.apiErr(t); res.status != 400 || field != "If-Match" {
			t.Fatalf("%d %s", res.status, res.body)
		}
	})
	t.Run("unknown organisation is 404", func(t *testing.T) {
		res := e.do("POST", "/v1/orgs/NOPE/events", "assessor", map[string]any{"type": "GroupAssessmentRecorded", "occurred_on": "2017-01-20", "data": map[string]any{"year": 2016, "score": 90}})
		if code, _ := res.apiErr(t); res.status != 404 || code != "not_found" {
			t.Fatalf("%d %s", res.status, res.body)
		}
	})
	t.Run("a retraction is allowed to whoever may append the retracted type", func(t *testing.T) {
		f := e.do("POST", path, "assessor", map[string]any{"type": "GroupAssessmentRecorded", "occurred_on": "2017-01-20", "data": map[string]any{"year": 2016, "score": 91}})
		if f.status != 201 {
			t.Fatalf("%d %s", f.status, f.body)
		}
		id := f.json(t)["id"].(string)
		retract := map[string]any{"type": "EventRetracted", "occurred_on": "2017-01-21", "data": map[string]any{"event_id": id, "reason": "录错了"}}
		res := e.do("POST", path, "branch", retract)
		if _, field := res.apiErr(t); res.status != 403 || field != "data.event_id" {
			t.Fatalf("branch retracting an assessment: %d %s", res.status, res.body)
		}
		if res := e.do("POST", path, "assessor", retract); res.status != 201 {
			t.Fatalf("assessor retracting its assessment: %d %s", res.status, res.body)
		}
		j := e.do("GET", path+"?year=2016&limit=1000", "auditor", nil).json(t)
		found := false
		for _, ev := range j["events"].([]any) {
			m := ev.(map[string]any)
			if m["id"] == id {
				r, _ := m["retracted"].(map[string]any)
				found = r != nil && r["reason"] == "录错了"
			}
		}
		if !found {
			t.Fatal("the journal does not show the retraction with its reason")
		}
	})
}

func TestBadInput(t *testing.T) {
	e := newEnv(t, api.Options{MaxBodyBytes: 4096})
	path := "/v1/orgs/" + ownOrg + "/events"
	cases := []struct {
		name   string
		body   any
		status int
		code   string
		field  string
	}{
		{"invalid UTF-8", []byte("{\"type\":\"StudySessionHeld\",\"occurred_on\":\"2016-05-05\",\"data\":{\"topic\":\"\xff\xfe\",\"attendees\":[],\"notes_kept\":true}}"), 400, "bad_request", ""},
		{"malformed JSON", `{"type":`, 400, "bad_request", ""},
		{"empty body", ``, 400, "bad_request", ""},
		{"not an object", `"hello"`, 400, "bad_request", ""},
		{"unknown field", `{"type":"StudySessionHeld","occurred_on":"2016-05-05","data":{"topic":"t","attendees":[],"notes_kept":true},"extra":1}`, 422, "invalid", "extra"},
		{"unknown data field", `{"type":"StudySessionHeld","occurred_on":"2016-05-05","data":{"topic":"t","attendees":[],"notes_kept":true,"x":1}}`, 422, "invalid", "data.x"},
		{"unknown type", `{"type":"PartyHeld","occurred_on":"2016-05-05","data":{}}`, 422, "invalid", "type"},
		{"bad date", `{"type":"StudySessionHeld","occurred_on":"2016-02-30","data":{"topic":"t","attendees":[],"notes_kept":true}}`, 422, "invalid", "occurred_on"},
		{"future date", `{"type":"StudySessionHeld","occurred_on":"2030-01-01","data":{"topic":"t","attendees":[],"notes_kept":true}}`, 422, "invalid", "occurred_on"},
		{"member not of the organisation", `{"type":"StudySessionHeld","occurred_on":"2016-05-05","data":{"topic":"t","attendees":["n1"],"notes_kept":true}}`, 422, "invalid", "data.attendees[0]"},
		{"negative money", `{"type":"DuesPaid","occurred_on":"2016-05-05","data":{"member_id":"m1","month":"2016-05","amount_fen":-5}}`, 422, "invalid", "data.amount_fen"},
		{"non-integer money", `{"type":"DuesPaid","occurred_on":"2016-05-05","data":{"member_id":"m1","month":"2016-05","amount_fen":1.5}}`, 422, "invalid", "data.amount_fen"},
		{"committee event on an organisation", `{"type":"RequiredEventScheduled","occurred_on":"2016-05-05","data":{}}`, 422, "invalid", "type"},
		{"too large", `{"type":"StudySessionHeld","occurred_on":"2016-05-05","data":{"topic":"` + strings.Repeat("长", 3000) + `","attendees":[],"notes_kept":true}}`, 413, "too_large", ""},
		{"empty batch", `[]`, 422, "invalid", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := e.do("POST", path, "branch", c.body)
			code, field := res.apiErr(t)
			if res.status != c.status || code != c.code || field != c.field {
				t.Fatalf("got %d %s %q, want %d %s %q: %s", res.status, code, field, c.status, c.code, c.field, res.body)
			}
		})
	}
	t.Run("the ledger is unchanged", func(t *testing.T) {
		j := e.do("GET", path+"?year=2016&limit=1000", "branch", nil).json(t)
		if n := len(j["events"].([]any)); n != 23 {
			t.Fatalf("%d events of 2016, want the fixture's 23", n)
		}
	})
	t.Run("bad query parameters are 400 naming the parameter", func(t *testing.T) {
		for _, q := range []struct{ path, field string }{
			{"/v1/orgs/" + ownOrg + "/scorecard?year=abc", "year"},
			{"/v1/orgs/" + ownOrg + "/scorecard?as_of=2016-13-01", "as_of"},
			{"/v1/orgs/" + ownOrg + "/scorecard?known_at=yesterday", "known_at"},
			// The zero instant would read as "now", and instants from 2262
			// on overflow the folds' nanoseconds: refused, not misread.
			{"/v1/orgs/" + ownOrg + "/scorecard?known_at=0001-01-01T00:00:00Z", "known_at"},
			{"/v1/orgs/" + ownOrg + "/scorecard?known_at=2262-04-12T00:00:00Z", "known_at"},
			{"/v1/orgs/" + ownOrg + "/scorecard?known_at=9999-12-31T23:59:59Z", "known_at"},
			{"/v1/orgs/" + ownOrg + "/scorecard?known_at=1999-12-31T15:59:59Z", "known_at"},
			{"/v1/orgs/" + ownOrg + "/events?known_at=0001-01-01T00:00:00Z", "known_at"},
			{"/v1/orgs/" + ownOrg + "/missing?known_at=3000-01-01T00:00:00Z", "known_at"},
			{"/v1/scorecards?known_at=0001-01-01T00:00:00Z", "known_at"},
			{"/v1/reports/2016?format=csv&known_at=2262-04-12T00:00:00Z", "known_at"},
			{"/v1/scorecards?under=../x", "under"},
			{"/v1/orgs/" + ownOrg + "/events?limit=0", "limit"},
			{"/v1/orgs/" + ownOrg + "/events?after=x", "after"},
			{"/v1/scorecards?tier=gold", "tier"},
			{"/v1/scorecards?kind=club", "kind"},
		} {
			res := e.do("GET", q.path, "auditor", nil)
			if code, field := res.apiErr(t); res.status != 400 || code != "bad_request" || field != q.field {
				t.Errorf("%s: %d %s %s", q.path, res.status, code, field)
			}
		}
	})
	t.Run("an unknown rulebook version is 422", func(t *testing.T) {
		res := e.do("GET", "/v1/orgs/"+ownOrg+"/scorecard?rulebook=1999.9", "auditor", nil)
		if _, field := res.apiErr(t); res.status != 422 || field != "rulebook" {
			t.Fatalf("%d %s", res.status, res.body)
		}
	})
	t.Run("unknown route and method", func(t *testing.T) {
		if res := e.do("GET", "/v1/nothing", "auditor", nil); res.status != 404 {
			t.Fatalf("%d", res.status)
		}
		res := e.do("PUT", "/v1/orgs", "admin", "{}")
		if code, _ := res.apiErr(t); res.status != 405 || code != "method_not_allowed" {
			t.Fatalf("%d %s", res.status, res.body)
		}
	})
}

func TestScorecards(t *testing.T) {
	e := newEnv(t, api.Options{})
	before := e.scorecard("branch", ownOrg)
	for _, k := range []string{"org", "year", "as_of", "known_at", "rulebook", "ledger_position", "online", "group", "final", "provisional", "tier_by_score", "tier", "vetoes", "items"} {
		if _, ok := before[k]; !ok {
			t.Errorf("scorecard lacks %s", k)
		}
	}
	t.Run("an append is visible in the next read", func(t *testing.T) {
		if res := e.do("POST", "/v1/orgs/"+ownOrg+"/events", "branch", study("2016-06-25", "六月补学")); res.status != 201 {
			t.Fatal(res.status)
		}
		after := e.scorecard("branch", ownOrg)
		if after["online"].(float64) <= before["online"].(float64) {
			t.Fatalf("online %v → %v: the second June session did not count", before["online"], after["online"])
		}
	})
	t.Run("as known at the past", func(t *testing.T) {
		old := e.do("GET", "/v1/orgs/"+ownOrg+"/scorecard?year=2016&known_at="+before["known_at"].(string), "auditor", nil).json(t)
		if old["online"] != before["online"] {
			t.Fatalf("as known before the append: %v, want %v", old["online"], before["online"])
		}
	})
	t.Run("as of a date", func(t *testing.T) {
		sc := e.do("GET", "/v1/orgs/"+ownOrg+"/scorecard?year=2016&as_of=2016-03-31", "auditor", nil).json(t)
		if sc["as_of"] != "2016-03-31" {
			t.Fatalf("as_of %v", sc["as_of"])
		}
	})
	t.Run("timeline: one point per closed month", func(t *testing.T) {
		j := e.do("GET", "/v1/orgs/"+ownOrg+"/scorecard/timeline?year=2016", "branch", nil).json(t)
		pts := j["points"].([]any)
		if len(pts) != 12 || pts[11].(map[string]any)["as_of"] != "2016-12-31" {
			t.Fatalf("timeline %v", j)
		}
		j = e.do("GET", "/v1/orgs/"+ownOrg+"/scorecard/timeline?year=2017", "branch", nil).json(t)
		if pts := j["points"]; pts == nil || len(pts.([]any)) != 0 {
			// 2017 has no rulebook: a 422 is also acceptable, not a 500.
			if _, ok := j["error"]; !ok {
				t.Fatalf("2017 timeline on 2017-02-01: %v", j)
			}
		}
	})
	t.Run("missing: the open month and quarter", func(t *testing.T) {
		j := e.do("GET", "/v1/orgs/"+ownOrg+"/missing?year=2016&as_of=2016-06-10", "branch", nil).json(t)
		if j["as_of"] != "2016-06-10" {
			t.Fatalf("%v", j)
		}
		found := false
		for _, g := range j["missing"].([]any) {
			m := g.(map[string]any)
			if m["item"] == "5.2" && m["period"] != "" {
				found = true
			}
		}
		if !found {
			t.Fatalf("June's study sessions are not missing on June 10: %v", j["missing"])
		}
	})
	t.Run("all, ranked and filtered", func(t *testing.T) {
		// By default the ranking covers the organisations directly under
		// the work committee; under= a subtree; under=* everyone.
		top := e.do("GET", "/v1/scorecards?year=2016", "assessor", nil).json(t)["scorecards"].([]any)
		if len(top) != 1 || top[0].(map[string]any)["org"] != genOrg {
			t.Fatalf("top level: %v", top)
		}
		sub := e.do("GET", "/v1/scorecards?year=2016&under="+genOrg, "assessor", nil).json(t)["scorecards"].([]any)
		if len(sub) != 2 || sub[0].(map[string]any)["parent_code"] != genOrg {
			t.Fatalf("under %s: %v", genOrg, sub)
		}
		if res := e.do("GET", "/v1/scorecards?year=2016&under=a%20b", "assessor", nil); res.status != 400 {
			t.Fatalf("bad under: %d", res.status)
		}
		// A code no organisation has is not an empty ranking.
		res := e.do("GET", "/v1/scorecards?year=2016&under=T-NONE", "assessor", nil)
		if code, field := res.apiErr(t); res.status != 422 || code != "invalid" || field != "under" {
			t.Fatalf("under an unknown code: %d %s", res.status, res.body)
		}
		j := e.do("GET", "/v1/scorecards?year=2016&under=*", "assessor", nil).json(t)
		cards := j["scorecards"].([]any)
		if len(cards) != 3 {
			t.Fatalf("%d scorecards", len(cards))
		}
		for i := 1; i < len(cards); i++ {
			if cards[i-1].(map[string]any)["final"].(float64) < cards[i].(map[string]any)["final"].(float64) {
				t.Fatal("not ranked by final score")
			}
		}
		j = e.do("GET", "/v1/scorecards?year=2016&kind=general_branch", "assessor", nil).json(t)
		if cards := j["scorecards"].([]any); len(cards) != 1 || cards[0].(map[string]any)["org"] != genOrg {
			t.Fatalf("kind filter: %v", cards)
		}
	})
	t.Run("unknown organisation", func(t *testing.T) {
		res := e.do("GET", "/v1/orgs/NOPE/scorecard", "auditor", nil)
		if code, _ := res.apiErr(t); res.status != 404 || code != "not_found" {
			t.Fatalf("%d %s", res.status, res.body)
		}
	})
}

func TestJournalPaging(t *testing.T) {
	e := newEnv(t, api.Options{})
	var ids []string
	after := -1
	for {
		j := e.do("GET", fmt.Sprintf("/v1/orgs/%s/events?year=2016&limit=5&after=%d", ownOrg, after), "branch", nil).json(t)
		for _, ev := range j["events"].([]any) {
			ids = append(ids, ev.(map[string]any)["id"].(string))
		}
		if j["next_after"] == nil {
			break
		}
		after = int(j["next_after"].(float64))
	}
	if len(ids) != 23 {
		t.Fatalf("%d events paged, want 23", len(ids))
	}
	all := e.do("GET", "/v1/orgs/"+ownOrg+"/events", "branch", nil).json(t)["events"].([]any)
	if len(all) != 27 { // and the registration and three members, before 2016
		t.Fatalf("%d events in all, want 27", len(all))
	}
	if all[0].(map[string]any)["type"] != "OrganizationRegistered" || all[0].(map[string]any)["hash"] == "" {
		t.Fatalf("first event %v", all[0])
	}
	none := e.do("GET", "/v1/orgs/"+ownOrg+"/events?known_at=2017-01-31", "branch", nil).json(t)["events"].([]any)
	if len(none) != 0 {
		t.Fatalf("known on 2017-01-31 (before anything was recorded): %d events", len(none))
	}
}

func TestAdmin(t *testing.T) {
	e := newEnv(t, api.Options{})
	t.Run("register an organisation", func(t *testing.T) {
		body := map[string]any{"occurred_on": "2016-01-04", "data": map[string]any{"code": "T-NEW", "name": "新支部", "kind": "branch", "parent_code": genOrg, "has_groups": false}}
		res := e.do("POST", "/v1/orgs", "admin", body)
		if res.status != 201 {
			t.Fatalf("%d %s", res.status, res.body)
		}
		res = e.do("POST", "/v1/orgs", "admin", body)
		if code, field := res.apiErr(t); res.status != 409 || code != "conflict" || field != "data.code" {
			t.Fatalf("again: %d %s", res.status, res.body)
		}
		body["data"].(map[string]any)["code"] = "T-NEW2"
		body["data"].(map[string]any)["parent_code"] = "NOPE"
		res = e.do("POST", "/v1/orgs", "admin", body)
		if _, field := res.apiErr(t); res.status != 422 || field != "data.parent_code" {
			t.Fatalf("bad parent: %d %s", res.status, res.body)
		}
		list := e.do("GET", "/v1/orgs", "auditor", nil).json(t)["orgs"].([]any)
		if len(list) != 4 {
			t.Fatalf("%d orgs", len(list))
		}
	})
	t.Run("schedule a required event; the organisation sees it", func(t *testing.T) {
		res := e.do("POST", "/v1/schedule", "admin", map[string]any{"occurred_on": "2016-03-01", "data": map[string]any{"scheduled_event_id": "tr-1", "kind": "training", "title": "党务培训", "targets": []string{ownOrg}}})
		if res.status != 201 {
			t.Fatalf("%d %s", res.status, res.body)
		}
		d := e.do("GET", "/v1/orgs/"+ownOrg, "branch", nil).json(t)
		if s := d["scheduled"].([]any); len(s) != 1 || s[0].(map[string]any)["scheduled_event_id"] != "tr-1" {
			t.Fatalf("scheduled %v", d["scheduled"])
		}
		if s := e.do("GET", "/v1/orgs/"+otherOrg, "auditor", nil).json(t)["scheduled"].([]any); len(s) != 0 {
			t.Fatalf("the other organisation is not targeted: %v", s)
		}
		if n := len(e.do("GET", "/v1/schedule", "auditor", nil).json(t)["scheduled"].([]any)); n != 1 {
			t.Fatalf("schedule has %d", n)
		}
	})
	t.Run("publish a rulebook; list and read versions", func(t *testing.T) {
		var doc map[string]any
		_ = json.Unmarshal(domain.Builtin2016JSON(), &doc)
		doc["version"] = "2016.2"
		res := e.do("POST", "/v1/rulebooks", "admin", map[string]any{"occurred_on": "2017-01-15", "data": map[string]any{"year": 2016, "version": "2016.2", "reason": "更正", "rulebook": doc}})
		if res.status != 201 {
			t.Fatalf("%d %.300s", res.status, res.body)
		}
		again := e.do("POST", "/v1/rulebooks", "admin", map[string]any{"occurred_on": "2017-01-15", "data": map[string]any{"year": 2016, "version": "2016.2", "reason": "再次", "rulebook": doc}})
		if code, _ := again.apiErr(t); again.status != 409 || code != "conflict" {
			t.Fatalf("publishing a version twice: %d %s", again.status, again.body)
		}
		if res := e.do("POST", "/v1/rulebooks", "admin", map[string]any{"type": "MeetingHeld", "occurred_on": "2017-01-15", "data": map[string]any{}}); res.status != 422 {
			t.Fatalf("another type on /v1/rulebooks: %d", res.status)
		}
		vs := e.do("GET", "/v1/rulebooks/2016", "auditor", nil).json(t)["versions"].([]any)
		if len(vs) == 0 || vs[len(vs)-1].(map[string]any)["version"] != "2016.2" {
			t.Fatalf("versions %v", vs)
		}
		if res := e.do("GET", "/v1/rulebooks/2016/2016.1", "assessor", nil); res.status != 200 {
			t.Fatalf("built-in version: %d", res.status)
		}
		if res := e.do("GET", "/v1/rulebooks/2016/9.9", "assessor", nil); res.status != 404 {
			t.Fatalf("unknown version: %d", res.status)
		}
		if sc := e.scorecard("auditor", ownOrg); sc["rulebook"].(map[string]any)["version"] != "2016.2" {
			t.Fatalf("the scorecard uses %v", sc["rulebook"])
		}
	})
	t.Run("issue a grade; grades list it", func(t *testing.T) {
		grade := map[string]any{"year": 2016, "rulebook_version": "2016.2", "final": 88.5, "tier": "compliant"}
		res := e.do("POST", "/v1/orgs/"+ownOrg+"/events", "admin", map[string]any{"type": "GradeIssued", "occurred_on": "2017-01-30", "data": grade})
		if code, field := res.apiErr(t); res.status != 422 || field != "data.override_reason" {
			t.Fatalf("a grade unlike the computation without a reason: %d %s %s", res.status, code, res.body)
		}
		grade["override_reason"] = "申诉复核结果"
		res = e.do("POST", "/v1/orgs/"+ownOrg+"/events", "admin", map[string]any{"type": "GradeIssued", "occurred_on": "2017-01-30", "data": grade})
		if res.status != 201 {
			t.Fatalf("%d %s", res.status, res.body)
		}
		g := e.do("GET", "/v1/grades?year=2016", "auditor", nil).json(t)["grades"].([]any)
		if len(g) != 1 || g[0].(map[string]any)["final"] != 88.5 || g[0].(map[string]any)["override_reason"] != "申诉复核结果" {
			t.Fatalf("grades %v", g)
		}
	})
	t.Run("verify", func(t *testing.T) {
		v := e.do("GET", "/v1/verify", "auditor", nil).json(t)
		if v["ok"] != true || v["events"].(float64) < 30 {
			t.Fatalf("verify %v", v)
		}
	})
}

func TestTokens(t *testing.T) {
	e := newEnv(t, api.Options{})
	t.Run("issue: shown once, only the hash stored", func(t *testing.T) {
		res := e.do("POST", "/v1/tokens", "admin", map[string]string{"role": "branch", "org": otherOrg, "name": "二支部书记"})
		if res.status != 201 {
			t.Fatalf("%d %s", res.status, res.body)
		}
		m := res.json(t)
		tok := m["token"].(string)
		if !strings.HasPrefix(tok, "plt_") {
			t.Fatalf("token %q", tok)
		}
		list := e.do("GET", "/v1/tokens", "auditor", nil)
		// The secret is the last 43 characters (base64url: it may hold "_").
		if bytes.Contains(list.body, []byte(tok)) || bytes.Contains(list.body, []byte(tok[len(tok)-43:])) {
			t.Fatal("the token list shows a secret")
		}
		// The ledger holds the token's SHA-256 and never the token.
		for ev, err := range e.bk.Events(context.Background(), 0) {
			if err != nil {
				t.Fatal(err)
			}
			if bytes.Contains(ev.Data, []byte(tok)) {
				t.Fatalf("event %s holds the token", ev.ID)
			}
		}
		if me := e.do("GET", "/v1/me", tok, nil).json(t); me["org"] != otherOrg || me["role"] != "branch" {
			t.Fatalf("me %v", me)
		}
		id := m["token_id"].(string)
		res = e.do("DELETE", "/v1/tokens/"+id+"?reason=离任", "admin", nil)
		if res.status != 200 || res.json(t)["revoked"] != true {
			t.Fatalf("revoke: %d %s", res.status, res.body)
		}
		if res := e.do("GET", "/v1/me", tok, nil); res.status != 401 {
			t.Fatalf("a revoked token: %d", res.status)
		}
		if res := e.do("DELETE", "/v1/tokens/"+id, "admin", nil); res.status != 200 {
			t.Fatalf("revoking twice: %d", res.status)
		}
		if res := e.do("DELETE", "/v1/tokens/0123456789abcdef", "admin", nil); res.status != 404 {
			t.Fatalf("unknown token: %d", res.status)
		}
	})
	t.Run("bad requests", func(t *testing.T) {
		for _, c := range []struct {
			body  string
			field string
		}{
			{`{"role":"king","name":"x"}`, "role"},
			{`{"role":"branch","name":"x"}`, "org"},
			{`{"role":"branch","org":"NOPE","name":"x"}`, "org"},
			{`{"role":"auditor","org":"` + ownOrg + `","name":"x"}`, "org"},
			{`{"role":"auditor","name":""}`, "name"},
			{`{"role":"auditor","name":"x","admin":true}`, "admin"},
		} {
			res := e.do("POST", "/v1/tokens", "admin", c.body)
			if code, field := res.apiErr(t); res.status != 422 || code != "invalid" || field != c.field {
				t.Errorf("%s: %d %s %s", c.body, res.status, code, field)
			}
		}
	})
	t.Run("bad credentials are 401 with the one error shape", func(t *testing.T) {
		admin := e.tokens["admin"]
		last := "Q" // a different last character, whatever the token's is
		if strings.HasSuffix(admin, last) {
			last = "R"
		}
		for _, tok := range []string{"nonsense", "plt_0123456789abcdef_" + strings.Repeat("A", 43), admin + "x", admin[:len(admin)-1] + last} {
			res := e.do("GET", "/v1/me", tok, nil)
			if code, _ := res.apiErr(t); res.status != 401 || code != "unauthorized" || res.header.Get("WWW-Authenticate") == "" {
				t.Errorf("%q: %d %s", tok, res.status, res.body)
			}
		}
		res := e.do("GET", "/v1/me", "", nil, "Authorization", "Basic YWRtaW46YWRtaW4=")
		if res.status != 401 {
			t.Errorf("basic auth: %d", res.status)
		}
	})
}

func TestRateLimits(t *testing.T) {
	t.Run("per principal", func(t *testing.T) {
		e := newEnv(t, api.Options{RequestsPerSecond: 0.001, Burst: 3})
		for i := 0; i < 3; i++ {
			if res := e.do("GET", "/v1/me", "auditor", nil); res.status != 200 {
				t.Fatalf("request %d: %d", i, res.status)
			}
		}
		res := e.do("GET", "/v1/me", "auditor", nil)
		if code, _ := res.apiErr(t); res.status != 429 || code != "rate_limited" || res.header.Get("Retry-After") == "" {
			t.Fatalf("%d %s", res.status, res.body)
		}
		if res := e.do("GET", "/v1/me", "admin", nil); res.status != 200 {
			t.Fatalf("another principal is limited too: %d", res.status)
		}
	})
	t.Run("failed authentication per client IP", func(t *testing.T) {
		e := newEnv(t, api.Options{AuthFailuresPerMinute: 0.01, AuthFailureBurst: 2})
		for i := 0; i < 2; i++ {
			if res := e.do("GET", "/v1/me", "plt_0123456789abcdef_"+strings.Repeat("A", 43), nil); res.status != 401 {
				t.Fatalf("attempt %d: %d", i, res.status)
			}
		}
		// Blocked now: guessing has stopped…
		res := e.do("GET", "/v1/me", "plt_0123456789abcdef_"+strings.Repeat("C", 43), nil)
		if code, _ := res.apiErr(t); res.status != 429 || code != "rate_limited" {
			t.Fatalf("%d %s", res.status, res.body)
		}
		// …but a valid token from the same address is not refused for
		// the failures of others behind it.
		if res := e.do("GET", "/v1/me", "admin", nil); res.status != 200 {
			t.Fatalf("a valid token after others' failures: %d %s", res.status, res.body)
		}
	})
}

func TestInternalErrorsAreNotLeaked(t *testing.T) {
	e := newEnv(t, api.Options{})
	if err := e.bk.Close(); err != nil {
		t.Fatal(err)
	}
	res := e.do("GET", "/v1/orgs/"+ownOrg+"/events", "auditor", nil)
	code, _ := res.apiErr(t)
	if res.status < 500 || strings.Contains(string(res.body), "ledger:") || strings.Contains(string(res.body), "filestore") {
		t.Fatalf("%d %s", res.status, res.body)
	}
	if code != "internal" && code != "unavailable" {
		t.Fatalf("code %s", code)
	}
	// The access log names every request id; the failure has a line of its own.
	logged := func() bool {
		for _, l := range strings.Split(e.logs.String(), "\n") {
			if strings.Contains(l, `msg="request failed"`) && strings.Contains(l, res.header.Get("X-Request-ID")) {
				return true
			}
		}
		return false
	}
	deadline := time.Now().Add(time.Second)
	for !logged() && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if !logged() {
		t.Fatalf("the failure is not logged with its request id:\n%s", e.logs.String())
	}
}

func TestHealthAndOpenAPI(t *testing.T) {
	e := newEnv(t, api.Options{})
	if res := e.do("GET", "/healthz", "", nil); res.status != 200 || res.json(t)["status"] != "ok" {
		t.Fatalf("%d %s", res.status, res.body)
	}
	res := e.do("GET", "/v1/openapi.json", "", nil)
	if res.status != 200 {
		t.Fatal(res.status)
	}
}
