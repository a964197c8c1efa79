package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"partyledger/api"
	"partyledger/domain"
	"partyledger/ledger"
)

// fuzzTarget is one route under fuzzing: an in-process server (started
// once per fuzzing process) and the ledger's last position, which nothing
// but an accepted request may move.
type fuzzTarget struct {
	e    *env
	path string
	last ledger.Position
	c    *http.Client
}

func newFuzzTarget(f *testing.F, path string) *fuzzTarget {
	f.Helper()
	e := newEnv(f, api.Options{RequestsPerSecond: 1e9, Burst: 1 << 30})
	ft := &fuzzTarget{e: e, path: path, c: &http.Client{Timeout: 30 * time.Second}}
	ft.last, _ = ft.newEvents(f)
	return ft
}

// newEvents returns the ledger's last position and the events appended
// (to any stream) since the last call.
func (ft *fuzzTarget) newEvents(t testing.TB) (ledger.Position, []ledger.Event) {
	t.Helper()
	pos := ft.last
	var evs []ledger.Event
	for ev, err := range ft.e.bk.Events(context.Background(), ft.last) {
		if err != nil {
			t.Fatal(err)
		}
		pos, evs = ev.Position, append(evs, ev)
	}
	return pos, evs
}

// checkRights asserts GOVERNANCE.md on what an accepted request stored:
// every event is of a type the role may record, recorded_by reads back as
// that role, and a retraction by a branch withdraws only what a branch
// recorded.
func (ft *fuzzTarget) checkRights(t *testing.T, key string, evs []ledger.Event) {
	role, _ := domain.ParseAccessRole(strings.TrimSuffix(key, "-other"))
	for _, ev := range evs {
		if !domain.MayRecord(role, ev.Type) {
			t.Fatalf("%s stored a %s", key, ev.Type)
		}
		if got := domain.RecorderRole(ev.RecordedBy); got != role {
			t.Fatalf("%s stored recorded_by %q (%s)", key, ev.RecordedBy, got)
		}
		if ev.Type != domain.TypeEventRetracted || role != domain.AccessBranch {
			continue
		}
		var d domain.EventRetracted
		if err := json.Unmarshal(ev.Data, &d); err != nil {
			t.Fatal(err)
		}
		id, err := uuid.Parse(d.EventID)
		if err != nil {
			t.Fatal(err)
		}
		target, err := ft.e.bk.EventByID(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if r := domain.RecorderRole(target.RecordedBy); r != domain.AccessBranch || target.Stream != ev.Stream {
			t.Fatalf("a branch retracted a %s recorded by %s (%s)", target.Type, r, target.RecordedBy)
		}
	}
}

// fuzzRoles maps the fuzzer's role byte to a token.
var fuzzRoles = []string{"branch", "assessor", "admin", "auditor", "branch-other"}

// statusCodes is which error codes each 4xx status may carry.
var statusCodes = map[int][]string{
	400: {"bad_request"},
	403: {"forbidden", "year_closed"},
	404: {"not_found"},
	409: {"id_conflict", "wrong_revision", "conflict"},
	413: {"too_large"},
	422: {"invalid"},
}

// check sends body as role and asserts: no 5xx; a refusal is the one
// error shape with a known code for its status, a message, and a field
// when the body was a decodable JSON object; a refusal stores nothing;
// an acceptance stores exactly what it reports.
func (ft *fuzzTarget) check(t *testing.T, role uint8, body []byte) {
	key := fuzzRoles[int(role)%len(fuzzRoles)]
	req, err := http.NewRequest("POST", ft.e.ts.URL+ft.path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+ft.e.tokens[key])
	req.Header.Set("Content-Type", "application/json")
	res, err := ft.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	pos, evs := ft.newEvents(t)
	ft.last = pos
	added := len(evs)
	switch st := res.StatusCode; {
	case st >= 500:
		t.Fatalf("%s: %d %s", key, st, got)
	case st == 200 || st == 201:
		var one struct{ Duplicate bool }
		var many struct{ Events []struct{ Duplicate bool } }
		want := 0
		if bytes.HasPrefix(bytes.TrimSpace(body), []byte("[")) {
			if err := json.Unmarshal(got, &many); err != nil || len(many.Events) == 0 {
				t.Fatalf("%d with a body that is no batch result: %s", st, got)
			}
			for _, ev := range many.Events {
				if !ev.Duplicate {
					want++
				}
			}
		} else {
			if err := json.Unmarshal(got, &one); err != nil {
				t.Fatalf("%d with a body that is no result: %s", st, got)
			}
			if !one.Duplicate {
				want = 1
			}
		}
		if (st == 201) != (want > 0) || added != want {
			t.Fatalf("%s: %d reporting %d new events; the ledger has %d new: %s", key, st, want, added, got)
		}
		ft.checkRights(t, key, evs)
	case st >= 400:
		if added != 0 {
			t.Fatalf("%s: refused (%d) but %d events were stored: %s", key, st, added, got)
		}
		code, field, msg := errorShape(t, st, got)
		if !decodableObject(body) {
			return
		}
		if field == "" && !fieldless(st, code, msg, body) {
			t.Fatalf("%s: %d %s without a field for a JSON object: %q", key, st, code, msg)
		}
	default:
		t.Fatalf("%s: unexpected status %d: %s", key, st, got)
	}
}

// errorShape decodes the one error shape strictly and checks that its
// code goes with status and that it has a message.
func errorShape(t *testing.T, status int, b []byte) (code, field, msg string) {
	t.Helper()
	var body struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
			Field   string `json:"field"`
			Details []struct {
				Field   string `json:"field"`
				Message string `json:"message"`
			} `json:"details"`
		} `json:"error"`
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&body); err != nil {
		t.Fatalf("%d: not the error shape (%v): %s", status, err, b)
	}
	e := body.Error
	ok := false
	for _, c := range statusCodes[status] {
		ok = ok || c == e.Code
	}
	if !ok {
		t.Fatalf("%d with code %q: %s", status, e.Code, b)
	}
	if strings.TrimSpace(e.Message) == "" {
		t.Fatalf("%d without a message: %s", status, b)
	}
	for _, d := range e.Details {
		if d.Message == "" {
			t.Fatalf("a detail without a message: %s", b)
		}
	}
	if len(e.Details) == 1 {
		t.Fatalf("details with one entry (the error itself is it): %s", b)
	}
	return e.Code, e.Field, e.Message
}

// decodableObject reports whether body is one JSON object (in valid
// UTF-8).
func decodableObject(body []byte) bool {
	var m map[string]json.RawMessage
	return utf8.Valid(body) && json.Unmarshal(body, &m) == nil && m != nil
}

// fieldless reports refusals that concern the whole line, not a field.
func fieldless(status int, code, msg string, body []byte) bool {
	switch {
	case status == 422 && (msg == "unknown field" || msg == "field given twice") && bytes.Contains(body, []byte(`""`)):
		return true // the field is named "" (a key "" somewhere)
	case status == 422 && strings.Contains(msg, "lone UTF-16 surrogate escape"):
		return true // the message names the byte
	case status == 413:
		return true
	case status == 403 && (strings.Contains(msg, "may not POST") || strings.Contains(msg, "reaches only its own")):
		return true // the route's policy: the body is not read
	case status == 422 && strings.Contains(msg, "line longer than"):
		return true
	}
	return false
}

// appendSeeds are realistic bodies of POST /v1/orgs/{code}/events (role
// byte: 0 branch, 1 assessor, 2 admin), and a few hostile ones.
var appendSeeds = []struct {
	role uint8
	body string
}{
	{0, `{"type":"StudySessionHeld","occurred_on":"2016-06-20","data":{"topic":"党章","attendees":["m1","m2"],"notes_kept":true}}`},
	{0, `{"id":"0b7f2c64-1d2e-4f5a-9b8c-7d6e5f4a3b21","type":"WorkInfoSubmitted","occurred_on":"2016-03-01","data":{"title":"信息报送"}}`},
	{0, `{"type":"DuesPaid","occurred_on":"2016-03-01","data":{"member_id":"m1","month":"2016-02","amount_fen":300}}`},
	{0, `{"type":"MeetingHeld","occurred_on":"2016-03-08","data":{"kind":"general_assembly","topic":"党员大会","attendees":["m1","m2","m3"]}}`},
	{0, `[{"type":"StudySessionHeld","occurred_on":"2016-07-01","data":{"topic":"a","attendees":[],"notes_kept":true}},{"type":"StudySessionHeld","occurred_on":"2016-07-02","data":{"topic":"b","attendees":["m3"],"notes_kept":false}}]`},
	{0, `{"type":"MemberJoined","occurred_on":"2016-04-01","data":{"member_id":"m9","name":"赵六","is_leader":false,"monthly_income_fen":500000}}`},
	{0, `{"type":"EventRetracted","occurred_on":"2016-12-01","data":{"event_id":"0b7f2c64-1d2e-4f5a-9b8c-7d6e5f4a3b21","reason":"录错了"}}`},
	{1, `{"type":"FindingRecorded","occurred_on":"2017-01-10","data":{"year":2016,"item":"3.5","finding":"perfunctory","points":1,"reason":"记录不全"}}`},
	{1, `{"type":"GroupAssessmentRecorded","occurred_on":"2017-01-20","data":{"year":2016,"score":90.5}}`},
	{2, `{"type":"GradeIssued","occurred_on":"2017-01-25","data":{"year":2016,"rulebook_version":"2016.1","final":80,"tier":"compliant"}}`},
	{2, `{"type":"GradeIssued","occurred_on":"2017-01-25","data":{"year":2016,"rulebook_version":"2016.1","final":12,"tier":"advanced","override_reason":"申诉"}}`},
	{0, `{"type":"ViolationRecorded","occurred_on":"2016-05-01","data":{"case_id":"C-1","person":"m1","severity":"serious","impact":"severe","summary":"严重"}}`},
	{1, `{"type":"ViolationRecorded","occurred_on":"2016-05-01","data":{"case_id":"C-1","person":"m1","severity":"serious","impact":"severe","summary":"严重"}}`},
	{0, `{"type":"CaseHandled","occurred_on":"2016-06-01","data":{"case_id":"C-1","outcome":"结案"}}`},
	{0, `{"type":"AttendanceRecorded","occurred_on":"2016-06-01","data":{"scheduled_event_id":"s1"}}`},
	{1, `{"type":"EventRejected","occurred_on":"2017-01-10","data":{"event_id":"0b7f2c64-1d2e-4f5a-9b8c-7d6e5f4a3b21","reason":"不全"}}`},
	{0, `[{"type":"WorkInfoSubmitted","occurred_on":"2016-03-01","data":{"title":"a"}},{"type":"EventRetracted","occurred_on":"2016-12-01","data":{"event_id":"0b7f2c64-1d2e-4f5a-9b8c-7d6e5f4a3b21","reason":"r"}}]`},
	{4, `{"type":"StudySessionHeld","occurred_on":"2016-06-20","data":{"topic":"他人","attendees":[],"notes_kept":true}}`},
	{0, `{"type":"WorkInfoSubmitted","occurred_on":"2016-02-30","recorded_by":"书记","data":{"title":"a\u202eb","x":1}}`},
	{0, `{"TYPE":"FindingRecorded","occurred_on":"2017-01-10","data":{"year":2016,"item":"3.5","finding":"perfunctory","points":1,"reason":"r"}}`},
	{0, `{"type":"DuesPaid","occurred_on":"2016-03-01","data":{"member_id":"m404","month":"2016-13","amount_fen":9.75e3}}`},
	{0, "{\"type\":\"WorkInfoSubmitted\",\"occurred_on\":\"2016-03-01\",\"data\":{\"title\":\"\xc3\x28\\ud800\"}}"},
	{0, `[]`},
}

// FuzzAppendBody feeds POST /v1/orgs/{code}/events arbitrary bodies as
// each role. See fuzzTarget.check for what every answer must satisfy.
//
//	go test ./api -run '^$' -fuzz FuzzAppendBody -fuzztime 60s
func FuzzAppendBody(f *testing.F) {
	for _, s := range appendSeeds {
		f.Add(s.role, []byte(s.body))
	}
	ft := newFuzzTarget(f, "/v1/orgs/"+ownOrg+"/events")
	f.Fuzz(func(t *testing.T, role uint8, body []byte) { ft.check(t, role, body) })
}

// FuzzRegisterBody feeds POST /v1/orgs (register an organisation, the
// admin's) arbitrary bodies; the other roles must be refused with 403
// before anything is read.
//
//	go test ./api -run '^$' -fuzz FuzzRegisterBody -fuzztime 60s
func FuzzRegisterBody(f *testing.F) {
	for _, s := range []string{
		`{"occurred_on":"2016-01-04","data":{"code":"T-NEW","name":"新支部","kind":"branch","parent_code":"T-GEN","has_groups":false}}`,
		`{"type":"OrganizationRegistered","occurred_on":"2016-01-04","data":{"code":"T-GEN2","name":"总支","kind":"general_branch","has_groups":true}}`,
		`{"id":"3f1e2d3c-4b5a-4697-8877-665544332211","occurred_on":"2016-01-04","data":{"code":"T-ID","name":"有编号的支部","kind":"branch","parent_code":"T-GEN","has_groups":false}}`,
		`{"type":"MeetingHeld","occurred_on":"2016-01-04","data":{"code":"X"}}`,
		`{"occurred_on":"2016-01-04","data":{"code":"t own","name":"\u0000","kind":"club","parent_code":"NOPE"}}`,
		`[{"occurred_on":"2016-01-04","data":{"code":"T-A","name":"a","kind":"branch","has_groups":false}}]`,
	} {
		f.Add(uint8(2), []byte(s))
	}
	f.Add(uint8(0), []byte(`{"occurred_on":"2016-01-04","data":{"code":"T-B","name":"b","kind":"branch","has_groups":false}}`))
	ft := newFuzzTarget(f, "/v1/orgs")
	f.Fuzz(func(t *testing.T, role uint8, body []byte) { ft.check(t, role, body) })
}

// FuzzCommitteeBody feeds POST /v1/committee/events (the work committee's
// YearClosed, AdvancedDesignated, RequiredEventScheduled) arbitrary
// bodies as each role: only the admin's may be stored.
//
//	go test ./api -run '^$' -fuzz FuzzCommitteeBody -fuzztime 60s
func FuzzCommitteeBody(f *testing.F) {
	for _, s := range []struct {
		role uint8
		body string
	}{
		{2, `{"type":"YearClosed","occurred_on":"2017-01-31","data":{"year":2016,"reason":"封账"}}`},
		{2, `{"type":"AdvancedDesignated","occurred_on":"2017-01-31","data":{"year":2016,"codes":["T-OWN"],"reason":"先进"}}`},
		{2, `{"type":"AdvancedDesignated","occurred_on":"2017-01-31","data":{"year":2016,"codes":["T-OWN","T-OWN","NOPE"],"reason":""}}`},
		{2, `{"type":"RequiredEventScheduled","occurred_on":"2016-02-01","data":{"scheduled_event_id":"s1","kind":"training","title":"培训","targets":["*"]}}`},
		{2, `{"type":"StudySessionHeld","occurred_on":"2016-02-01","data":{}}`},
		{0, `{"type":"YearClosed","occurred_on":"2017-01-31","data":{"year":2016,"reason":"封账"}}`},
		{1, `{"type":"AdvancedDesignated","occurred_on":"2017-01-31","data":{"year":2016,"codes":["T-OWN"],"reason":"先进"}}`},
	} {
		f.Add(s.role, []byte(s.body))
	}
	ft := newFuzzTarget(f, "/v1/committee/events")
	f.Fuzz(func(t *testing.T, role uint8, body []byte) { ft.check(t, role, body) })
}
