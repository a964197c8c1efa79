package democity_test

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"partyledger/domain"
	"partyledger/domain/democity"
)

// TestRecordedAt checks the simulated clock: every line recorded after it
// occurred, in CST working hours (the committee's schedule from 08:00),
// after everything it depends on, the assessors in early 2017 and the
// appeal in March 2017; the same seed gives the same instants.
func TestRecordedAt(t *testing.T) {
	city := democity.Build(seed, democity.Options{AllIDs: true, Appeal: true})
	if len(city.RecordedAt) != len(city.Lines) {
		t.Fatalf("%d instants for %d lines", len(city.RecordedAt), len(city.Lines))
	}
	again := democity.Build(seed, democity.Options{AllIDs: true, Appeal: true})
	for i := range city.RecordedAt {
		if !city.RecordedAt[i].Equal(again.RecordedAt[i]) {
			t.Fatalf("line %d: recorded at %s, then %s", i+1, city.RecordedAt[i], again.RecordedAt[i])
		}
	}
	plain := democity.Build(seed, democity.Options{AllIDs: true})
	if len(plain.Lines) != len(city.Lines)-1 {
		t.Errorf("Appeal adds %d lines, want 1", len(city.Lines)-len(plain.Lines))
	}

	registered := map[string]time.Time{}
	last := map[string]time.Time{}
	scheduled := map[string]time.Time{}
	var parents = map[string]string{}
	for _, o := range city.Orgs {
		parents[o.Code] = o.ParentCode
	}
	late, jan, appeals := 0, 0, 0
	for i, l := range city.Lines {
		at := city.RecordedAt[i].In(domain.CST)
		on := domain.MustDate(l.OccurredOn)
		if domain.DateOf(at).Before(on) {
			t.Errorf("line %d (%s): recorded %s before it occurred on %s", i+1, l.Type, at, on)
		}
		if h := at.Hour(); h < 8 || h > 17 || h == 17 && at.Minute() > 30 {
			t.Errorf("line %d (%s): recorded at %s, outside office hours", i+1, l.Type, at)
		}
		if l.Org == "" {
			var p domain.RequiredEventScheduled
			if err := json.Unmarshal(l.Data, &p); err != nil {
				t.Fatal(err)
			}
			scheduled[p.ScheduledEventID] = at
			continue
		}
		if at.Before(last[l.Org]) {
			t.Errorf("line %d (%s of %s): recorded %s, before the organisation's previous line (%s)", i+1, l.Type, l.Org, at, last[l.Org])
		}
		last[l.Org] = at
		switch l.Type {
		case domain.TypeOrganizationRegistered:
			registered[l.Org] = at
			if p := parents[l.Org]; p != "" && !at.After(registered[p]) {
				t.Errorf("line %d: %s registered at %s, its parent %s at %s", i+1, l.Org, at, p, registered[p])
			}
		case domain.TypeAttendanceRecorded:
			var p domain.AttendanceRecorded
			if err := json.Unmarshal(l.Data, &p); err != nil {
				t.Fatal(err)
			}
			if s, ok := scheduled[p.ScheduledEventID]; !ok || !at.After(s) {
				t.Errorf("line %d: attendance of %s recorded at %s, the event scheduled at %s", i+1, p.ScheduledEventID, at, s)
			}
		case domain.TypeFindingRecorded, domain.TypeGroupAssessmentRecorded:
			if at.Year() != democity.Year+1 || at.Month() > time.February {
				t.Errorf("line %d: %s recorded %s, want January or February %d", i+1, l.Type, at, democity.Year+1)
			}
			if at.Month() == time.January {
				jan++
			}
		case domain.TypeEventRetracted:
			if on.Year > democity.Year {
				appeals++
				if at.Year() != democity.Year+1 || at.Month() != time.March {
					t.Errorf("line %d: the appeal recorded %s, want March %d", i+1, at, democity.Year+1)
				}
			}
		}
		if _, ok := registered[l.Org]; !ok {
			t.Errorf("line %d: %s recorded before its organisation %s is registered", i+1, l.Type, l.Org)
		}
		if on.Year == democity.Year && at.Sub(on.Start()) > 31*24*time.Hour {
			late++
		}
	}
	if appeals != 1 {
		t.Errorf("%d retractions after the year, want the one appeal", appeals)
	}
	if jan == 0 {
		t.Error("no assessment recorded in January")
	}
	if late == 0 {
		t.Error("no back-filled (补录) entry: sloppy organisations should back-fill a month")
	}

	t.Run("recorded_order", func(t *testing.T) {
		order := city.RecordedOrder()
		if len(order) != len(city.Lines) {
			t.Fatalf("%d indices for %d lines", len(order), len(city.Lines))
		}
		seen := make([]bool, len(order))
		for k, i := range order {
			seen[i] = true
			if k > 0 && city.RecordedAt[i].Before(city.RecordedAt[order[k-1]]) {
				t.Fatalf("position %d: line %d recorded before line %d", k, i+1, order[k-1]+1)
			}
		}
		for i, ok := range seen {
			if !ok {
				t.Fatalf("line %d missing from the order", i+1)
			}
		}
	})

	t.Run("appeal_only_adds_its_line", func(t *testing.T) {
		// With every id drawn already, the appeal changes nothing else.
		if !bytes.Equal(jsonl(t, plain.Lines), jsonl(t, city.Lines[:len(plain.Lines)])) {
			t.Error("the journal with Appeal differs before its last line")
		}
	})
}
