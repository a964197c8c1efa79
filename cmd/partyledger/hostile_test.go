package main

import (
	"strings"
	"testing"
)

// TestImportRefusesHostileInput feeds import one hostile line at a time,
// after a valid prelude, and checks the specific error and that nothing
// was appended.
func TestImportRefusesHostileInput(t *testing.T) {
	dir := t.TempDir()
	c := newClock()
	mustOK(t, cli(t, c, "", "--data", dir, "import", "testdata/small.jsonl", "--quiet"))
	before := countEvents(t, c, dir)
	huge := strings.Repeat("长", 400_000) // 1.2 MB of title
	cases := []struct {
		name, line, want string
	}{
		{"invalid UTF-8", "{\"org\":\"LY-0002\",\"type\":\"WorkInfoSubmitted\",\"occurred_on\":\"2016-03-01\",\"data\":{\"title\":\"\xc3\x28\"}}", "line 1: line: invalid UTF-8"},
		{"control character", `{"org":"LY-0002","type":"WorkInfoSubmitted","occurred_on":"2016-03-01","data":{"title":"a\u0000b"}}`, "line 1: data.title: control character U+0000"},
		{"bidi override", `{"org":"LY-0002","type":"WorkInfoSubmitted","occurred_on":"2016-03-01","data":{"title":"\u202etxt.exe"}}`, "line 1: data.title: bidirectional control character U+202E"},
		{"1 MB title", `{"org":"LY-0002","type":"WorkInfoSubmitted","occurred_on":"2016-03-01","data":{"title":"` + huge + `"}}`, "line 1: line: longer than 262144 bytes"},
		{"long title", `{"org":"LY-0002","type":"WorkInfoSubmitted","occurred_on":"2016-03-01","data":{"title":"` + strings.Repeat("长", 201) + `"}}`, "line 1: data.title: longer than 200 characters (201)"},
		{"negative money", `{"org":"LY-0002","type":"DuesPaid","occurred_on":"2016-03-01","data":{"member_id":"m001","month":"2016-02","amount_fen":-100}}`, "line 1: data.amount_fen: must not be negative"},
		{"float money", `{"org":"LY-0002","type":"DuesPaid","occurred_on":"2016-03-01","data":{"member_id":"m001","month":"2016-02","amount_fen":97.5}}`, "line 1: data.amount_fen: want an integer"},
		{"exponent money", `{"org":"LY-0002","type":"DuesPaid","occurred_on":"2016-03-01","data":{"member_id":"m001","month":"2016-02","amount_fen":9.75e3}}`, "line 1: data.amount_fen: want an integer"},
		{"huge money", `{"org":"LY-0002","type":"DuesPaid","occurred_on":"2016-03-01","data":{"member_id":"m001","month":"2016-02","amount_fen":99999999999999999999}}`, "line 1: data.amount_fen: want an integer"},
		{"impossible date", `{"org":"LY-0002","type":"WorkInfoSubmitted","occurred_on":"2016-02-30","data":{"title":"x"}}`, `line 1: occurred_on: "2016-02-30" is not a calendar date`},
		{"far future", `{"org":"LY-0002","type":"WorkInfoSubmitted","occurred_on":"2099-01-01","data":{"title":"x"}}`, "line 1: occurred_on: 2099-01-01 is in the future"},
		{"unknown type", `{"org":"LY-0002","type":"MeetingCancelled","occurred_on":"2016-03-01","data":{}}`, `line 1: type: unknown event type "MeetingCancelled"`},
		{"unknown field", `{"org":"LY-0002","type":"WorkInfoSubmitted","occurred_on":"2016-03-01","data":{"title":"x","author":"me"}}`, "line 1: data.author: unknown field"},
		{"recorded_by forged", `{"org":"LY-0002","type":"WorkInfoSubmitted","occurred_on":"2016-03-01","recorded_by":"书记","data":{"title":"x"}}`, "line 1: recorded_by: set by the ledger"},
		{"member the org lacks", `{"org":"LY-0002","type":"DuesPaid","occurred_on":"2016-03-01","data":{"member_id":"m404","month":"2016-02","amount_fen":100}}`, `line 1: data.member_id: member "m404" does not belong to LY-0002`},
		{"case the org lacks", `{"org":"LY-0002","type":"CaseHandled","occurred_on":"2016-03-01","data":{"case_id":"C-404","outcome":"结案"}}`, `line 1: data.case_id: no case "C-404" in LY-0002`},
		{"points out of range", `{"org":"LY-0002","type":"FindingRecorded","occurred_on":"2017-01-10","data":{"year":2016,"item":"3.5","finding":"perfunctory","points":4,"reason":"r"}}`, "line 1: data.points:"},
		{"points not a half step", `{"org":"LY-0002","type":"FindingRecorded","occurred_on":"2017-01-10","data":{"year":2016,"item":"3.5","finding":"perfunctory","points":1.25,"reason":"r"}}`, "line 1: data.points:"},
		{"finding the item lacks", `{"org":"LY-0002","type":"FindingRecorded","occurred_on":"2017-01-10","data":{"year":2016,"item":"3.5","finding":"disunity","reason":"r"}}`, "line 1: data.finding:"},
		{"duplicate id other content", `{"id":"5d1f3a2e-8c4b-4e6f-9a1b-2c3d4e5f6a7b","org":"LY-0002","type":"StudySessionHeld","occurred_on":"2016-01-12","data":{"topic":"改过的主题","attendees":["m001"],"notes_kept":true}}`, "line 1: id: already recorded with other content"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := cli(t, c, tc.line+"\n", "--data", dir, "import", "-")
			if exitCode(r.err) != 1 {
				t.Fatalf("exit %d (%v), want 1; stderr:\n%s", exitCode(r.err), r.err, r.stderr)
			}
			if !strings.Contains(r.stderr, tc.want) {
				t.Fatalf("stderr:\n%s\nwant it to contain %q", r.stderr, tc.want)
			}
			if after := countEvents(t, c, dir); after != before {
				t.Fatalf("the ledger changed:\n%s\n%s", before, after)
			}
		})
	}
}
