package report_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/xuri/excelize/v2"

	"partyledger/projections/report"
	"partyledger/projections/scoreboard"
)

// TestCollectRankingWritesTheSame: an export from CollectRanking (a row
// per organisation, the scorecards scored again a chunk at a time as they
// are written) is the export from Collect (every scorecard held): every
// CSV table byte for byte, and every sheet of the workbook cell for cell —
// with the rulebook, and without it (sections named from the scorecards).
func TestCollectRankingWritesTheSame(t *testing.T) {
	_, bk := year(t, 16)
	ctx := context.Background()
	board := scoreboard.New(bk, scoreboard.Options{Now: bk.Now})
	for _, under := range []string{"", "LY-0002"} {
		q := scoreboard.Query{Year: 2016, KnownAt: bk.Now(), Under: under}
		full, err := report.Collect(ctx, board, bk, q)
		if err != nil {
			t.Fatal(err)
		}
		slim, err := report.CollectRanking(ctx, board, bk, q)
		if err != nil {
			t.Fatal(err)
		}
		if slim.Cards != nil || slim.Orgs() != len(full.Cards) || len(full.Cards) == 0 || under == "" && len(full.Cards) != 16 {
			t.Fatalf("under %q: %d organisations from CollectRanking (cards %v), %d from Collect", under, slim.Orgs(), slim.Cards != nil, len(full.Cards))
		}
		for _, noRulebook := range []bool{false, true} {
			if noRulebook {
				full.Rulebook, slim.Rulebook = nil, nil
			}
			if noRulebook || under != "" {
				full.Journal, slim.Journal = nil, nil // the same journal; compared once, as it is slow to write
			}
			for _, table := range report.Tables {
				if table == report.TableJournal && full.Journal == nil {
					continue
				}
				var a, b bytes.Buffer
				if err := report.WriteCSV(&a, full, table); err != nil {
					t.Fatal(err)
				}
				if err := report.WriteCSV(&b, slim, table); err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(a.Bytes(), b.Bytes()) || a.Len() < 100 {
					t.Fatalf("under %q, no rulebook %v: table %s differs (%d and %d bytes)", under, noRulebook, table, a.Len(), b.Len())
				}
			}
			a, b := workbook(t, full), workbook(t, slim)
			if len(a) != len(b) || len(a) < 3 {
				t.Fatalf("under %q: %d sheets from Collect, %d from CollectRanking", under, len(a), len(b))
			}
			for i := range a {
				if a[i] != b[i] {
					t.Fatalf("under %q, no rulebook %v: sheet %d differs:\n%.600s\n%.600s", under, noRulebook, i, a[i], b[i])
				}
			}
		}
	}
}

// workbook returns each sheet of d's workbook, its name and cells as text.
func workbook(t *testing.T, d *report.Data) []string {
	t.Helper()
	var buf bytes.Buffer
	if err := report.WriteWorkbook(&buf, d); err != nil {
		t.Fatal(err)
	}
	f, err := excelize.OpenReader(&buf)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	for _, name := range f.GetSheetList() {
		rows, err := f.GetRows(name)
		if err != nil {
			t.Fatal(err)
		}
		var s bytes.Buffer
		s.WriteString(name + "\n")
		for _, r := range rows {
			for _, c := range r {
				s.WriteString(c + "\t")
			}
			s.WriteString("\n")
		}
		out = append(out, s.String())
	}
	return out
}
