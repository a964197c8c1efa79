package api_test

import (
	"net/http"
	"strconv"
	"strings"
	"testing"

	"partyledger/api"
)

// hostileDupID is an event the ledger holds before the hostile inputs
// arrive; one of them reuses its id with other content.
const hostileDupID = "5d1f3a2e-8c4b-4e6f-9a1b-2c3d4e5f6a7b"

// hostileAssessmentID is an assessor's event the branch may not retract.
const hostileAssessmentID = "7c2e4b1a-3d5f-4a6b-8c9d-0e1f2a3b4c5d"

// ledgerCount is the ledger's event count (GET /v1/verify, every stream)
// and the own organisation's revision.
func ledgerCount(t testing.TB, e *env) (events, ownRevision float64) {
	t.Helper()
	v := e.do("GET", "/v1/verify", "auditor", nil)
	if v.status != http.StatusOK || v.json(t)["ok"] != true {
		t.Fatalf("verify: %d %s", v.status, v.body)
	}
	o := e.do("GET", "/v1/orgs/"+ownOrg, "auditor", nil)
	if o.status != http.StatusOK {
		t.Fatalf("org: %d %s", o.status, o.body)
	}
	return v.json(t)["events"].(float64), o.json(t)["revision"].(float64)
}

// TestAPIRefusesHostileInput is cmd/partyledger's TestImportRefusesHostileInput
// through POST /v1/orgs/{code}/events: every hostile body is answered with
// its specific status, error code, field and reason, and the ledger — every
// stream, not only the organisation's — is unchanged.
func TestAPIRefusesHostileInput(t *testing.T) {
	// Four reads of the ledger per case: more than the default burst.
	e := newEnv(t, api.Options{RequestsPerSecond: 1000, Burst: 10_000})
	e.record("fixture", `{"id":"`+hostileDupID+`","org":"`+ownOrg+`","type":"StudySessionHeld","occurred_on":"2016-01-12","data":{"topic":"原来的主题","attendees":["m1"],"notes_kept":true}}`)
	e.record("测试 assessor (assessor x)", `{"id":"`+hostileAssessmentID+`","org":"`+ownOrg+`","type":"GroupAssessmentRecorded","occurred_on":"2017-01-20","data":{"year":2016,"score":91}}`)
	path := "/v1/orgs/" + ownOrg + "/events"

	work := func(title string) string {
		return `{"type":"WorkInfoSubmitted","occurred_on":"2016-03-01","data":{"title":"` + title + `"}}`
	}
	dues := func(amount string) string {
		return `{"type":"DuesPaid","occurred_on":"2016-03-01","data":{"member_id":"m1","month":"2016-02","amount_fen":` + amount + `}}`
	}
	finding := func(data string) string {
		return `{"type":"FindingRecorded","occurred_on":"2017-01-10","data":{"year":2016,"item":"3.5",` + data + `}}`
	}
	onDate := func(on string) string {
		return `{"type":"WorkInfoSubmitted","occurred_on":"` + on + `","data":{"title":"x"}}`
	}
	huge := strings.Repeat("长", 400_000)  // 1.2 MB of title: over the 1 MiB body limit
	large := strings.Repeat("长", 100_000) // 300 KB: within the body limit, over a journal line's

	cases := []struct {
		name   string
		key    string // the token; "" means branch
		body   any
		status int
		code   string
		field  string
		reason string // a part of the message
	}{
		// Bytes that are not text, or not JSON.
		{"invalid UTF-8 in a value", "", []byte(work("\xc3\x28")), 400, "bad_request", "", "not valid UTF-8"},
		{"invalid UTF-8 in a key", "", []byte("{\"type\":\"WorkInfoSubmitted\",\"occurred_on\":\"2016-03-01\",\"data\":{\"ti\xfftle\":\"x\"}}"), 400, "bad_request", "", "not valid UTF-8"},
		{"overlong UTF-8 encoding of '/'", "", []byte(work("\xc0\xaf")), 400, "bad_request", "", "not valid UTF-8"},
		{"UTF-16 surrogate as raw bytes", "", []byte(work("\xed\xa0\x80")), 400, "bad_request", "", "not valid UTF-8"},
		{"a lone high surrogate escaped", "", work(`\ud800`), 422, "invalid", "", `lone UTF-16 surrogate escape \ud800`},
		{"a lone low surrogate escaped", "", work(`a\uDC00b`), 422, "invalid", "", `lone UTF-16 surrogate escape \udc00`},
		{"a high surrogate before a letter", "", work(`\ud83d\u0041`), 422, "invalid", "", "lone UTF-16 surrogate"},
		{"two high surrogates", "", work(`\ud83d\ud83d\ude00`), 422, "invalid", "", "lone UTF-16 surrogate"},
		{"a raw control byte inside a string", "", []byte(work("a\x01b")), 400, "bad_request", "", "not well-formed JSON"},
		{"truncated JSON", "", `{"type":"WorkInfoSubmitted","occurred_on":"2016-03-01","data":{"title":"x"`, 400, "bad_request", "", "not well-formed JSON"},
		{"two JSON values", "", work("x") + work("y"), 400, "bad_request", "", "not well-formed JSON"},
		{"nesting 20,000 deep", "", strings.Repeat("[", 20000) + strings.Repeat("]", 20000), 400, "bad_request", "", "not well-formed JSON"},
		{"empty body", "", "", 400, "bad_request", "", "empty request body"},
		{"a JSON string", "", `"StudySessionHeld"`, 400, "bad_request", "", "want a JSON object"},
		{"null", "", `null`, 400, "bad_request", "", "want a JSON object"},
		{"a batch holding a number", "", `[` + work("x") + `,5]`, 400, "bad_request", "[1]", "want a JSON object"},

		// Text.
		{"control character", "", work(`a\u0000b`), 422, "invalid", "data.title", "control character U+0000"},
		{"escape character", "", work(`\u001b[31mred`), 422, "invalid", "data.title", "control character U+001B"},
		{"newline in a one-line field", "", work(`a\nb`), 422, "invalid", "data.title", "control character U+000A"},
		{"bidi override", "", work(`\u202etxt.exe`), 422, "invalid", "data.title", "bidirectional control character U+202E"},
		{"bidi isolate", "", work(`a\u2066b`), 422, "invalid", "data.title", "bidirectional control character U+2066"},
		{"blank title", "", work(`\u3000 `), 422, "invalid", "data.title", "must not be blank"},
		{"1 MB title", "", work(huge), 413, "too_large", "", "larger than 1048576 bytes"},
		{"300 KB title", "", work(large), 422, "invalid", "line", "longer than 262144 bytes"},
		{"201-character title", "", work(strings.Repeat("长", 201)), 422, "invalid", "data.title", "longer than 200 characters (201)"},

		// Money.
		{"negative money", "", dues("-100"), 422, "invalid", "data.amount_fen", "must not be negative"},
		{"float money", "", dues("97.5"), 422, "invalid", "data.amount_fen", "want an integer"},
		{"exponent money", "", dues("9.75e3"), 422, "invalid", "data.amount_fen", "want an integer"},
		{"integral exponent money", "", dues("1e3"), 422, "invalid", "data.amount_fen", "want an integer"},
		{"huge money", "", dues("99999999999999999999"), 422, "invalid", "data.amount_fen", "want an integer"},
		{"money as a string", "", dues(`"100"`), 422, "invalid", "data.amount_fen", "want"},
		{"money null", "", dues(`null`), 422, "invalid", "data.amount_fen", ""},

		// Dates.
		{"impossible date", "", onDate("2016-02-30"), 422, "invalid", "occurred_on", `"2016-02-30" is not a calendar date`},
		{"29 February of a common year", "", onDate("2015-02-29"), 422, "invalid", "occurred_on", "not a calendar date"},
		{"far future", "", onDate("2099-01-01"), 422, "invalid", "occurred_on", "2099-01-01 is in the future"},
		{"year 9999", "", onDate("9999-12-31"), 422, "invalid", "occurred_on", ""},
		{"five-digit year", "", onDate("10000-01-01"), 422, "invalid", "occurred_on", ""},
		{"a timestamp, not a date", "", onDate("2016-03-01T00:00:00Z"), 422, "invalid", "occurred_on", ""},
		{"impossible month", "", `{"type":"DuesPaid","occurred_on":"2016-03-01","data":{"member_id":"m1","month":"2016-13","amount_fen":100}}`, 422, "invalid", "data.month", ""},

		// Types and fields.
		{"unknown type", "", `{"type":"MeetingCancelled","occurred_on":"2016-03-01","data":{}}`, 422, "invalid", "type", `unknown event type "MeetingCancelled"`},
		{"type in other case", "", `{"type":"studysessionheld","occurred_on":"2016-03-01","data":{}}`, 422, "invalid", "type", "unknown event type"},
		{"type not a string", "", `{"type":7,"occurred_on":"2016-03-01","data":{}}`, 422, "invalid", "type", ""},
		{"no type", "", `{"occurred_on":"2016-03-01","data":{"title":"x"}}`, 422, "invalid", "type", "required"},
		{"a committee event", "", `{"type":"RequiredEventScheduled","occurred_on":"2016-03-01","data":{}}`, 422, "invalid", "type", "not an organisation's event"},
		{"a token event", "", `{"type":"TokenIssued","occurred_on":"2016-03-01","data":{}}`, 422, "invalid", "type", "not an organisation's event"},
		{"a type the role may not append, its key in capitals", "", `{"TYPE":"FindingRecorded","occurred_on":"2017-01-10","data":{"year":2016,"item":"3.5","finding":"perfunctory","points":1,"reason":"r"}}`, 422, "invalid", "TYPE", "field names are lower case"},
		{"a key given twice", "", `{"type":"WorkInfoSubmitted","occurred_on":"2016-03-01","data":{"title":"x","title":"y"}}`, 422, "invalid", "data.title", "field given twice"},
		{"retracting an assessor's event", "", `{"type":"EventRetracted","occurred_on":"2017-01-21","data":{"event_id":"` + hostileAssessmentID + `","reason":"r"}}`, 403, "forbidden", "data.event_id", "EventRetracted of a GroupAssessmentRecorded"},
		{"retracting an assessor's event, its key in capitals", "", `{"type":"EventRetracted","occurred_on":"2017-01-21","data":{"EVENT_ID":"` + hostileAssessmentID + `","reason":"r"}}`, 422, "invalid", "data.EVENT_ID", "field names are lower case"},
		{"retracting an assessor's event behind one's own", "", `{"type":"EventRetracted","occurred_on":"2017-01-21","data":{"event_id":"` + hostileDupID + `","Event_Id":"` + hostileAssessmentID + `","reason":"r"}}`, 422, "invalid", "data.Event_Id", "field names are lower case"},
		{"a type the role may not append", "", finding(`"finding":"perfunctory","points":1,"reason":"r"`), 403, "forbidden", "type", "may not append FindingRecorded"},

		// Who records what (GOVERNANCE.md): refused 403 before or in the
		// append path, judged on the stored event.
		{"a violation recorded by the branch", "", `{"type":"ViolationRecorded","occurred_on":"2016-05-01","data":{"case_id":"C-9","person":"m1","severity":"serious","impact":"severe","summary":"s"}}`, 403, "forbidden", "type", "may not append ViolationRecorded"},
		{"a case handled by the branch", "", `{"type":"CaseHandled","occurred_on":"2016-05-01","data":{"case_id":"C-9","outcome":"结案"}}`, 403, "forbidden", "type", "may not append CaseHandled"},
		{"attendance of the committee's event by the branch", "", `{"type":"AttendanceRecorded","occurred_on":"2016-05-01","data":{"scheduled_event_id":"s1"}}`, 403, "forbidden", "type", "may not append AttendanceRecorded"},
		{"a rejection by the branch", "", `{"type":"EventRejected","occurred_on":"2017-01-21","data":{"event_id":"` + hostileDupID + `","reason":"r"}}`, 403, "forbidden", "type", "may not append EventRejected"},
		{"a grade by the branch", "", `{"type":"GradeIssued","occurred_on":"2017-01-21","data":{"year":2016,"rulebook_version":"2016.1","final":100,"tier":"advanced"}}`, 403, "forbidden", "type", "may not append GradeIssued"},
		{"retracting what the committee recorded for the branch", "", `{"type":"EventRetracted","occurred_on":"2017-01-21","data":{"event_id":"` + hostileDupID + `","reason":"r"}}`, 403, "forbidden", "data.event_id", "recorded by the admin role"},
		{"retracting an assessor's event in a batch behind one's own", "", `[` + work("x") + `,{"type":"EventRetracted","occurred_on":"2017-01-21","data":{"event_id":"` + hostileAssessmentID + `","reason":"r"}}]`, 403, "forbidden", "[1].data.event_id", "EventRetracted of a GroupAssessmentRecorded"},
		{"a grade unlike the computation", "admin", `{"type":"GradeIssued","occurred_on":"2017-01-21","data":{"year":2016,"rulebook_version":"2016.1","final":12,"tier":"non_compliant"}}`, 422, "invalid", "data.override_reason", "differs from the computation"},
		{"先进 without a designation", "admin", `{"type":"GradeIssued","occurred_on":"2017-01-21","data":{"year":2016,"rulebook_version":"2016.1","final":12,"tier":"advanced","override_reason":"o"}}`, 422, "invalid", "data.tier", "designated"},
		{"a grade under an unknown rulebook", "admin", `{"type":"GradeIssued","occurred_on":"2017-01-21","data":{"year":2016,"rulebook_version":"9.9","final":12,"tier":"non_compliant","override_reason":"o"}}`, 422, "invalid", "data.rulebook_version", "9.9"},
		{"a rejection of an assessor's event", "assessor", `{"type":"EventRejected","occurred_on":"2017-01-21","data":{"event_id":"` + hostileAssessmentID + `","reason":"r"}}`, 422, "invalid", "data.event_id", "only the organisation's own entries"},
		{"a rejection without a reason", "assessor", `{"type":"EventRejected","occurred_on":"2017-01-21","data":{"event_id":"` + hostileDupID + `"}}`, 422, "invalid", "data.reason", "required"},
		{"unknown field", "", `{"type":"WorkInfoSubmitted","occurred_on":"2016-03-01","data":{"title":"x","author":"me"}}`, 422, "invalid", "data.author", "unknown field"},
		{"unknown top-level field", "", `{"type":"WorkInfoSubmitted","occurred_on":"2016-03-01","approved":true,"data":{"title":"x"}}`, 422, "invalid", "approved", "unknown field"},
		{"data not an object", "", `{"type":"WorkInfoSubmitted","occurred_on":"2016-03-01","data":["x"]}`, 422, "invalid", "data", ""},
		{"id not a UUID", "", `{"id":"1 OR 1=1","type":"WorkInfoSubmitted","occurred_on":"2016-03-01","data":{"title":"x"}}`, 422, "invalid", "id", "want a UUID"},

		// What the ledger sets, or the URL.
		{"recorded_by forged", "", `{"type":"WorkInfoSubmitted","occurred_on":"2016-03-01","recorded_by":"书记","data":{"title":"x"}}`, 422, "invalid", "recorded_by", "set by the ledger"},
		{"recorded_by forged in a batch", "", `[` + work("x") + `,{"type":"WorkInfoSubmitted","occurred_on":"2016-03-01","recorded_by":"书记","data":{"title":"y"}}]`, 422, "invalid", "[1].recorded_by", "set by the ledger"},
		{"recorded_at forged", "", `{"type":"WorkInfoSubmitted","occurred_on":"2016-03-01","recorded_at":"2016-03-01T00:00:00Z","data":{"title":"x"}}`, 422, "invalid", "recorded_at", "set by the ledger"},
		{"hash forged", "", `{"type":"WorkInfoSubmitted","occurred_on":"2016-03-01","hash":"00","data":{"title":"x"}}`, 422, "invalid", "hash", "set by the ledger"},
		{"org in the body", "", `{"org":"` + otherOrg + `","type":"WorkInfoSubmitted","occurred_on":"2016-03-01","data":{"title":"x"}}`, 422, "invalid", "org", "given by the URL"},

		// State: what the organisation lacks.
		{"member the organisation lacks", "", `{"type":"DuesPaid","occurred_on":"2016-03-01","data":{"member_id":"m404","month":"2016-02","amount_fen":100}}`, 422, "invalid", "data.member_id", `member "m404" does not belong to ` + ownOrg},
		{"another organisation's member", "", `{"type":"StudySessionHeld","occurred_on":"2016-03-01","data":{"topic":"t","attendees":["m1","n1"],"notes_kept":true}}`, 422, "invalid", "data.attendees[1]", `"n1"`},
		{"case the organisation lacks", "assessor", `{"type":"CaseHandled","occurred_on":"2016-03-01","data":{"case_id":"C-404","outcome":"结案"}}`, 422, "invalid", "data.case_id", `no case "C-404" in ` + ownOrg},
		{"retraction of an event it lacks", "", `{"type":"EventRetracted","occurred_on":"2016-03-01","data":{"event_id":"00000000-0000-4000-8000-000000000000","reason":"r"}}`, 422, "invalid", "data.event_id", ""},

		// Findings (an assessor's).
		{"points out of range", "assessor", finding(`"finding":"perfunctory","points":4,"reason":"r"`), 422, "invalid", "data.points", ""},
		{"negative points", "assessor", finding(`"finding":"perfunctory","points":-1,"reason":"r"`), 422, "invalid", "data.points", ""},
		{"points not a half step", "assessor", finding(`"finding":"perfunctory","points":1.25,"reason":"r"`), 422, "invalid", "data.points", ""},
		{"points with an exponent", "assessor", finding(`"finding":"perfunctory","points":1e400,"reason":"r"`), 422, "invalid", "data.points", "1e400"},
		{"finding the item lacks", "assessor", finding(`"finding":"disunity","reason":"r"`), 422, "invalid", "data.finding", ""},

		// Ids.
		{"duplicate id, other content", "", `{"id":"` + hostileDupID + `","type":"StudySessionHeld","occurred_on":"2016-01-12","data":{"topic":"改过的主题","attendees":["m1"],"notes_kept":true}}`, 409, "id_conflict", "id", "other content"},
		{"duplicate id, upper case, other content", "", `{"id":"` + strings.ToUpper(hostileDupID) + `","type":"StudySessionHeld","occurred_on":"2016-01-12","data":{"topic":"改过的主题","attendees":["m1"],"notes_kept":true}}`, 409, "id_conflict", "id", "other content"},
		{"one id twice in a batch, other content", "", `[{"id":"0b7f2c64-1d2e-4f5a-9b8c-7d6e5f4a3b21","type":"WorkInfoSubmitted","occurred_on":"2016-03-01","data":{"title":"a"}},{"id":"0b7f2c64-1d2e-4f5a-9b8c-7d6e5f4a3b21","type":"WorkInfoSubmitted","occurred_on":"2016-03-01","data":{"title":"b"}}]`, 422, "invalid", "[1].id", ""},
		{"a good line then a bad one", "", `[` + work("好的") + `,` + work(`\u202e`) + `]`, 422, "invalid", "[1].data.title", "bidirectional"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			key := c.key
			if key == "" {
				key = "branch"
			}
			beforeEvents, beforeRev := ledgerCount(t, e)
			res := e.do("POST", path, key, c.body)
			code, field := res.apiErr(t)
			msg, _ := res.json(t)["error"].(map[string]any)["message"].(string)
			if res.status != c.status || code != c.code || field != c.field || msg == "" || !strings.Contains(msg, c.reason) {
				t.Fatalf("got %d %s %q %q,\nwant %d %s %q containing %q", res.status, code, field, msg, c.status, c.code, c.field, c.reason)
			}
			if events, rev := ledgerCount(t, e); events != beforeEvents || rev != beforeRev {
				t.Fatalf("the ledger changed: %v events at revision %v, was %v at %v", events, rev, beforeEvents, beforeRev)
			}
		})
	}
	t.Run("look-alikes of the refused go in unchanged", func(t *testing.T) {
		// An escaped backslash before "ud800" is text, and a surrogate
		// pair is one character: both are stored as sent.
		res := e.do("POST", path, "branch", `[`+work(`\\ud800`)+`,`+work(`\ud83d\ude00`)+`]`)
		if res.status != http.StatusCreated {
			t.Fatalf("%d %s", res.status, res.body)
		}
		_, rev := ledgerCount(t, e)
		evs := e.do("GET", path+"?after="+strconv.Itoa(int(rev)-2), "branch", nil).json(t)["events"].([]any)
		for i, want := range []string{`\ud800`, "😀"} {
			if got := evs[i].(map[string]any)["data"].(map[string]any)["title"]; got != want {
				t.Errorf("title %d: %q, want %q", i, got, want)
			}
		}
	})
	t.Run("a good line still goes in", func(t *testing.T) {
		// The table is not refusing everything: the same route takes a
		// valid line, and the count moves by exactly one.
		beforeEvents, beforeRev := ledgerCount(t, e)
		res := e.do("POST", path, "branch", work("正常的标题"))
		if res.status != http.StatusCreated {
			t.Fatalf("%d %s", res.status, res.body)
		}
		events, rev := ledgerCount(t, e)
		if events != beforeEvents+1 || rev != beforeRev+1 {
			t.Fatalf("%v events at revision %v, want %v at %v", events, rev, beforeEvents+1, beforeRev+1)
		}
		if got := e.do("GET", path+"?after="+strconv.Itoa(int(beforeRev)), "branch", nil).json(t)["events"].([]any)[0].(map[string]any)["recorded_by"]; !strings.HasPrefix(got.(string), "测试 branch (branch ") {
			t.Fatalf("recorded_by %v", got)
		}
	})
}
