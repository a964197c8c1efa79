package domain_test

import (
	"errors"
	"strings"
	"testing"

	"partyledger/domain"
)

func TestParseJournalLineAccepts(t *testing.T) {
	lines := []string{
		`{"org":"LY-0001","type":"OrganizationRegistered","occurred_on":"2016-01-04","data":{"code":"LY-0001","name":"市财政局机关党委","kind":"committee","has_groups":false}}`,
		`{"id":"0b5e2c1a-1111-4a2b-8c3d-000000000001","org":"LY-0001","type":"MeetingHeld","occurred_on":"2016-03-08","data":{"kind":"party_lecture","topic":"党课","attendees":["m001","m002"],"lecturer_id":"m001"}}`,
		`{"org":"LY-0001","type":"DuesPaid","occurred_on":"2016-04-03","data":{"member_id":"m001","month":"2016-03","amount_fen":4500}}`,
		`{"org":"LY-0001","type":"FindingRecorded","occurred_on":"2017-01-10","data":{"year":2016,"item":"3.2","finding":"low_satisfaction","points":2.5,"reason":"群众满意率低"}}`,
		`{"type":"RequiredEventScheduled","occurred_on":"2016-05-01","data":{"scheduled_event_id":"s1","kind":"training","title":"党务干部培训","targets":["*"]}}`,
		`{"org":"LY-0001","type":"MemberDetailsChanged","occurred_on":"2016-06-01","data":{"member_id":"m001","monthly_income_fen":520000}}`,
	}
	for _, l := range lines {
		if _, err := domain.ParseJournalLine([]byte(l)); err != nil {
			t.Errorf("ParseJournalLine(%s) = %v, want nil", l, err)
		}
	}
}

func TestParseJournalLineRefuses(t *testing.T) {
	long := strings.Repeat("长", domain.MaxTitleRunes+1)
	cases := []struct {
		name, line, field, reason string
	}{
		{"unknown type", `{"org":"A","type":"PartyHeld","occurred_on":"2016-01-01","data":{}}`, "type", "unknown event type"},
		{"missing type", `{"org":"A","occurred_on":"2016-01-01","data":{}}`, "type", "required"},
		{"unknown field", `{"org":"A","type":"WorkInfoSubmitted","occurred_on":"2016-01-01","data":{"title":"x"},"extra":1}`, "extra", "unknown field"},
		{"unknown data field", `{"org":"A","type":"WorkInfoSubmitted","occurred_on":"2016-01-01","data":{"title":"x","colour":"red"}}`, "data.colour", "unknown field"},
		{"recorded_at given", `{"org":"A","type":"WorkInfoSubmitted","occurred_on":"2016-01-01","recorded_at":"2016-01-01T00:00:00Z","data":{"title":"x"}}`, "recorded_at", "set by the ledger"},
		{"bad date", `{"org":"A","type":"WorkInfoSubmitted","occurred_on":"2016-02-30","data":{"title":"x"}}`, "occurred_on", "not a calendar date"},
		{"date format", `{"org":"A","type":"WorkInfoSubmitted","occurred_on":"2016/02/03","data":{"title":"x"}}`, "occurred_on", "YYYY-MM-DD"},
		{"far future", `{"org":"A","type":"WorkInfoSubmitted","occurred_on":"2999-01-01","data":{"title":"x"}}`, "occurred_on", "outside"},
		{"missing date", `{"org":"A","type":"WorkInfoSubmitted","data":{"title":"x"}}`, "occurred_on", "required"},
		{"missing org", `{"type":"WorkInfoSubmitted","occurred_on":"2016-01-01","data":{"title":"x"}}`, "org", "required"},
		{"org on committee event", `{"org":"A","type":"RequiredEventScheduled","occurred_on":"2016-01-01","data":{"scheduled_event_id":"s","kind":"meeting","title":"t","targets":["*"]}}`, "org", "omit org"},
		{"negative money", `{"org":"A","type":"DuesPaid","occurred_on":"2016-01-01","data":{"member_id":"m","month":"2016-01","amount_fen":-5}}`, "data.amount_fen", "negative"},
		{"float money", `{"org":"A","type":"DuesPaid","occurred_on":"2016-01-01","data":{"member_id":"m","month":"2016-01","amount_fen":5.5}}`, "data.amount_fen", "integer"},
		{"exponent money", `{"org":"A","type":"DuesPaid","occurred_on":"2016-01-01","data":{"member_id":"m","month":"2016-01","amount_fen":1e3}}`, "data.amount_fen", "integer"},
		{"string money", `{"org":"A","type":"DuesPaid","occurred_on":"2016-01-01","data":{"member_id":"m","month":"2016-01","amount_fen":"100"}}`, "data.amount_fen", "integer"},
		{"bad month", `{"org":"A","type":"DuesPaid","occurred_on":"2016-01-01","data":{"member_id":"m","month":"2016-13","amount_fen":100}}`, "data.month", "month"},
		{"title too long", `{"org":"A","type":"WorkInfoSubmitted","occurred_on":"2016-01-01","data":{"title":"` + long + `"}}`, "data.title", "longer than"},
		{"control char", `{"org":"A","type":"WorkInfoSubmitted","occurred_on":"2016-01-01","data":{"title":"a\u0007b"}}`, "data.title", "control character"},
		{"bidi override", `{"org":"A","type":"WorkInfoSubmitted","occurred_on":"2016-01-01","data":{"title":"a\u202eb"}}`, "data.title", "bidirectional"},
		{"blank title", `{"org":"A","type":"WorkInfoSubmitted","occurred_on":"2016-01-01","data":{"title":"   "}}`, "data.title", "blank"},
		{"invalid utf8", "{\"org\":\"A\",\"type\":\"WorkInfoSubmitted\",\"occurred_on\":\"2016-01-01\",\"data\":{\"title\":\"\xff\"}}", "", "invalid UTF-8"},
		{"points three decimals", `{"org":"A","type":"FindingRecorded","occurred_on":"2017-01-01","data":{"year":2016,"item":"3.2","finding":"low_satisfaction","points":1.255,"reason":"r"}}`, "data.points", "two decimals"},
		{"points exponent", `{"org":"A","type":"FindingRecorded","occurred_on":"2017-01-01","data":{"year":2016,"item":"3.2","finding":"low_satisfaction","points":1e0,"reason":"r"}}`, "data.points", "two decimals"},
		{"bad member id", `{"org":"A","type":"MemberTransferredOut","occurred_on":"2016-01-01","data":{"member_id":"a b"}}`, "data.member_id", "letters, digits"},
		{"lecturer on non-lecture", `{"org":"A","type":"MeetingHeld","occurred_on":"2016-01-01","data":{"kind":"group","topic":"t","attendees":[],"lecturer_id":"m"}}`, "data.lecturer_id", "only a party_lecture"},
		{"duplicate attendee", `{"org":"A","type":"MeetingHeld","occurred_on":"2016-01-01","data":{"kind":"group","topic":"t","attendees":["m","m"]}}`, "data.attendees[1]", "twice"},
		{"bad enum", `{"org":"A","type":"MeetingHeld","occurred_on":"2016-01-01","data":{"kind":"party","topic":"t","attendees":[]}}`, "data.kind", "is not one of"},
		{"trailing data", `{"org":"A","type":"WorkInfoSubmitted","occurred_on":"2016-01-01","data":{"title":"x"}} {}`, "", "after the JSON value"},
		{"bad id", `{"id":"nope","org":"A","type":"WorkInfoSubmitted","occurred_on":"2016-01-01","data":{"title":"x"}}`, "id", "UUID"},
		{"code differs from org", `{"org":"A","type":"OrganizationRegistered","occurred_on":"2016-01-01","data":{"code":"B","name":"n","kind":"branch","has_groups":false}}`, "data.code", "differs"},
		{"term out of range", `{"org":"A","type":"CommitteeElected","occurred_on":"2016-01-01","data":{"term_years":9}}`, "data.term_years", "1..5"},
		{"details changed empty", `{"org":"A","type":"MemberDetailsChanged","occurred_on":"2016-01-01","data":{"member_id":"m"}}`, "data", "give is_leader"},
		{"group score too high", `{"org":"A","type":"GroupAssessmentRecorded","occurred_on":"2017-01-01","data":{"year":2016,"score":100.5}}`, "data.score", "0..100"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := domain.ParseJournalLine([]byte(c.line))
			if err == nil {
				t.Fatal("accepted; want an error")
			}
			for _, fe := range domain.FieldErrors(err) {
				if fe.Field == c.field && strings.Contains(fe.Reason, c.reason) {
					return
				}
			}
			t.Fatalf("errors %v; want field %q with reason containing %q", err, c.field, c.reason)
		})
	}
}

func TestParseJournalLineReportsEveryProblem(t *testing.T) {
	_, err := domain.ParseJournalLine([]byte(`{"org":"A","type":"DuesPaid","occurred_on":"2016-02-30","data":{"member_id":"","month":"16-1","amount_fen":0}}`))
	got := map[string]bool{}
	for _, fe := range domain.FieldErrors(err) {
		got[fe.Field] = true
	}
	for _, f := range []string{"occurred_on", "data.member_id", "data.month", "data.amount_fen"} {
		if !got[f] {
			t.Errorf("no problem reported for %s (got %v)", f, err)
		}
	}
	var pe *domain.ProblemsError
	if !errors.As(err, &pe) {
		t.Fatalf("err %T, want *ProblemsError", err)
	}
}

func TestPoints(t *testing.T) {
	for _, c := range []struct {
		in   string
		want domain.Points
		out  string
	}{
		{"2", 200, "2"}, {"2.5", 250, "2.5"}, {"92.75", 9275, "92.75"}, {"0.05", 5, "0.05"}, {"100", 10000, "100"}, {"-1.5", -150, "-1.5"},
	} {
		got, err := domain.ParsePoints(c.in)
		if err != nil || got != c.want || got.String() != c.out {
			t.Errorf("ParsePoints(%q) = %d, %v (%q); want %d (%q)", c.in, got, err, got.String(), c.want, c.out)
		}
	}
	for _, bad := range []string{"", ".5", "1.", "1.234", "1e2", "01", "+1", "1,5", "NaN", "1.5.5"} {
		if _, err := domain.ParsePoints(bad); err == nil {
			t.Errorf("ParsePoints(%q) accepted", bad)
		}
	}
}

func TestDates(t *testing.T) {
	d := domain.MustDate("2016-02-29")
	if d.Quarter() != 1 || d.Half() != 1 || d.AddDays(1).String() != "2016-03-01" {
		t.Fatalf("2016-02-29: quarter %d half %d next %s", d.Quarter(), d.Half(), d.AddDays(1))
	}
	if got := domain.MonthEnd(2016, 2).String(); got != "2016-02-29" {
		t.Fatalf("MonthEnd(2016-02) = %s", got)
	}
	if got := domain.QuarterEnd(2016, 3).String(); got != "2016-09-30" {
		t.Fatalf("QuarterEnd(2016 Q3) = %s", got)
	}
	for _, bad := range []string{"2015-02-29", "2016-00-10", "2016-1-1", "20160101", "1999-12-31"} {
		if _, err := domain.ParseDate(bad); err == nil {
			t.Errorf("ParseDate(%q) accepted", bad)
		}
	}
	// CST: 2016-03-31T16:30Z is already April 1st in Beijing.
	if got := domain.DateOf(domain.MustDate("2016-03-31").Start().Add(24 * 3600e9)).String(); got != "2016-04-01" {
		t.Fatalf("DateOf = %s", got)
	}
}

func TestGradeFields(t *testing.T) {
	ok := `{"org":"A","type":"GradeIssued","occurred_on":"2017-02-01","data":{"year":2016,"rulebook_version":"2016.1","final":92.75,"tier":"compliant","scorecard_sha256":"` + strings.Repeat("0f", 32) + `","scorecard_known_at":"2017-02-01T00:00:00.000000Z"}}`
	if _, err := domain.ParseJournalLine([]byte(ok)); err != nil {
		t.Fatal(err)
	}
	for field, bad := range map[string]string{
		"data.scorecard_sha256":   strings.Replace(ok, strings.Repeat("0f", 32), "XYZ", 1),
		"data.scorecard_known_at": strings.Replace(ok, "2017-02-01T00:00:00.000000Z", "yesterday", 1),
		"data.tier":               strings.Replace(ok, `"compliant"`, `"excellent"`, 1),
	} {
		_, err := domain.ParseJournalLine([]byte(bad))
		if fe := domain.FieldErrors(err); len(fe) != 1 || fe[0].Field != field {
			t.Errorf("%s: got %v", field, err)
		}
	}
}

func TestStrictJSONRefusesLooseKeysAndLoneSurrogates(t *testing.T) {
	for name, c := range map[string]struct{ line, field, reason string }{
		"upper-case key":      {`{"org":"A","Type":"WorkInfoSubmitted","occurred_on":"2016-01-01","data":{"title":"x"}}`, "Type", "lower case"},
		"upper-case data key": {`{"org":"A","type":"WorkInfoSubmitted","occurred_on":"2016-01-01","data":{"TITLE":"x"}}`, "data.TITLE", "lower case"},
		"duplicate key":       {`{"org":"A","type":"WorkInfoSubmitted","type":"DuesPaid","occurred_on":"2016-01-01","data":{"title":"x"}}`, "type", "twice"},
		"duplicate data key":  {`{"org":"A","type":"WorkInfoSubmitted","occurred_on":"2016-01-01","data":{"title":"x","title":"y"}}`, "data.title", "twice"},
		"lone high surrogate": {`{"org":"A","type":"WorkInfoSubmitted","occurred_on":"2016-01-01","data":{"title":"a\ud800b"}}`, "", "surrogate"},
		"lone low surrogate":  {`{"org":"A","type":"WorkInfoSubmitted","occurred_on":"2016-01-01","data":{"title":"\udc00"}}`, "", "surrogate"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := domain.ParseJournalLine([]byte(c.line))
			fe := domain.FieldErrors(err)
			if len(fe) == 0 || !strings.Contains(fe[0].Reason, c.reason) || (c.field != "" && fe[0].Field != c.field) {
				t.Fatalf("got %v; want %q on %q", err, c.reason, c.field)
			}
		})
	}
	// A surrogate pair and escaped backslashes are fine.
	ok := `{"org":"A","type":"WorkInfoSubmitted","occurred_on":"2016-01-01","data":{"title":"\ud83d\ude00 \\u d800 \\\\"}}`
	if _, err := domain.ParseJournalLine([]byte(ok)); err != nil {
		t.Fatal(err)
	}
}
