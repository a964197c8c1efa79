package api_test

import (
	"context"
	"encoding/json"
	"reflect"
	"testing"

	"partyledger/domain"
)

// TestOrgJournalIsTheJournalsLines: an organisation's journal, read from
// its own stream (the workbook a branch downloads, the review page of one
// organisation), is exactly its lines of the whole ledger's journal, in
// the same order, for the year, the year before and after; an unknown
// code has none.
func TestOrgJournalIsTheJournalsLines(t *testing.T) {
	e := newDemoEnv(t, demoAsOf)
	ctx := context.Background()
	for _, year := range []int{2015, 2016, 2017} {
		byOrg := map[string][]domain.JournalLine{}
		for l, err := range e.bk.Journal(ctx, year) {
			if err != nil {
				t.Fatal(err)
			}
			byOrg[l.Org] = append(byOrg[l.Org], l)
		}
		if year == 2016 && len(byOrg) < 50 {
			t.Fatalf("%d organisations with lines in 2016: the demo city proves nothing", len(byOrg))
		}
		checked := 0
		for code, want := range byOrg {
			if code == "" {
				continue // the committee's and the rulebooks' lines
			}
			var got []domain.JournalLine
			for l, err := range e.bk.OrgJournal(ctx, code, year) {
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, l)
			}
			if !reflect.DeepEqual(jsonOf(t, got), jsonOf(t, want)) {
				t.Fatalf("%s %d: %d lines from its stream, %d in the journal", code, year, len(got), len(want))
			}
			checked++
		}
		t.Logf("%d: %d organisations' journals equal", year, checked)
	}
	for l, err := range e.bk.OrgJournal(ctx, "NO-SUCH", 2016) {
		t.Fatalf("an unknown organisation yields %+v, %v", l, err)
	}
}

func jsonOf(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
