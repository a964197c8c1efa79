package domain_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"

	"partyledger/domain"
)

// FuzzParseJournalLine: any input is either refused with field-level
// reasons, or accepted as an entry whose canonical form parses back to the
// same entry.
func FuzzParseJournalLine(f *testing.F) {
	for _, s := range []string{
		regLine, joinM1, joinM2, violation, transferM2,
		`{"org":"A","type":"DuesPaid","occurred_on":"2016-01-20","data":{"member_id":"m","month":"2016-01","amount_fen":1500}}`,
		`{"org":"A","type":"FindingRecorded","occurred_on":"2017-01-01","data":{"year":2016,"item":"3.2","finding":"low_satisfaction","points":2.5,"reason":"r"}}`,
		`{"type":"RequiredEventScheduled","occurred_on":"2016-05-01","data":{"scheduled_event_id":"s1","kind":"training","title":"培训","targets":["*"]}}`,
		`{"org":"A","type":"MeetingHeld","occurred_on":"2016-01-01","data":{"kind":"party_lecture","topic":"t","attendees":["a"],"lecturer_id":"a"}}`,
		`{}`, `[]`, `null`, `{"org":"A","type":"WorkInfoSubmitted","occurred_on":"2016-02-30","data":{"title":"\u202e"}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := domain.ParseJournalLine(b)
		if err != nil {
			for _, fe := range domain.FieldErrors(err) {
				if fe.Reason == "" {
					t.Fatalf("a problem without a reason: %#v (input %q)", fe, b)
				}
			}
			return
		}
		if e.Payload == nil || e.OccurredOn.IsZero() || !domain.KnownType(e.Type) {
			t.Fatalf("accepted an incomplete entry %+v from %q", e, b)
		}
		data, err := domain.CanonicalJSON(e.Payload)
		if err != nil {
			t.Fatal(err)
		}
		line, _ := json.Marshal(domain.JournalLine{ID: e.ID, Org: e.Org, Type: e.Type, OccurredOn: e.OccurredOn.String(), Data: data})
		e2, err := domain.ParseJournalLine(line)
		if err != nil {
			t.Fatalf("the canonical form of an accepted line is refused: %v\n%s", err, line)
		}
		data2, _ := domain.CanonicalJSON(e2.Payload)
		if !bytes.Equal(data, data2) || e2.OccurredOn != e.OccurredOn || e2.Org != e.Org || e2.ID != e.ID {
			t.Fatalf("round trip changed the entry:\n%s\n%s", data, data2)
		}
	})
}

// FuzzParseRulebook: any document is either refused with reasons or
// accepted as a valid rulebook whose canonical form is stable.
func FuzzParseRulebook(f *testing.F) {
	f.Add(domain.Builtin2016JSON())
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"year":2016,"version":"x"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		rb, err := domain.ParseRulebook(b)
		if err != nil {
			for _, fe := range domain.FieldErrors(err) {
				if fe.Reason == "" {
					t.Fatalf("a problem without a reason: %#v", fe)
				}
			}
			return
		}
		if err := rb.Validate(); err != nil {
			t.Fatalf("ParseRulebook accepted an invalid rulebook: %v", err)
		}
		c1, err := rb.Canonical()
		if err != nil {
			t.Fatal(err)
		}
		rb2, err := domain.ParseRulebook(c1)
		if err != nil {
			t.Fatalf("the canonical form is refused: %v", err)
		}
		c2, _ := rb2.Canonical()
		if !bytes.Equal(c1, c2) || rb.SHA256() != rb2.SHA256() {
			t.Fatal("canonical form not stable")
		}
	})
}

// FuzzParseRulebookFile: any document is either refused with problems
// that each name a line inside it and a reason, or accepted as what
// ParseRulebook accepts from the same bytes.
func FuzzParseRulebookFile(f *testing.F) {
	f.Add(domain.Builtin2016JSON())
	f.Add([]byte(`{}`))
	f.Add([]byte("{\n  \"year\": 2016,\n  \"version\": \"2016.2\"\n  \"title\": \"x\"\n}\n"))
	f.Add([]byte("{\n  \"year\": \"2016\",\n  \"titel\": 1,\n  \"items\": [{\"code\": 5}]\n}"))
	f.Add([]byte("{\"year\": 2016, \"version\": \"\xc3\x28\"}"))
	f.Fuzz(func(t *testing.T, b []byte) {
		rb, err := domain.ParseRulebookFile(b)
		if err != nil {
			var fe *domain.RulebookFileError
			if !errors.As(err, &fe) || len(fe.Problems) == 0 {
				t.Fatalf("refused without its problems: %v", err)
			}
			lines := bytes.Count(b, []byte("\n")) + 1
			for _, p := range fe.Problems {
				if p.Reason == "" || p.Line < 1 || p.Line > lines || p.Col < 0 {
					t.Fatalf("a problem without a place in the document or a reason: %+v (%d lines)", p, lines)
				}
			}
			if n := len(domain.FieldErrors(err)); n != len(fe.Problems) {
				t.Fatalf("%d field errors for %d problems", n, len(fe.Problems))
			}
			return
		}
		rb2, err := domain.ParseRulebook(b)
		if err != nil {
			t.Fatalf("ParseRulebookFile accepted what ParseRulebook refuses: %v", err)
		}
		if rb.SHA256() != rb2.SHA256() {
			t.Fatal("ParseRulebookFile and ParseRulebook read different rulebooks")
		}
	})
}
