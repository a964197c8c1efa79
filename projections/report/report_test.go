package report_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/xuri/excelize/v2"

	"partyledger/domain"
	"partyledger/domain/democity"
	"partyledger/ledger"
	"partyledger/ledger/books"
	"partyledger/ledger/filestore"
	"partyledger/ledger/ledgertest"
	"partyledger/projections"
	"partyledger/projections/report"
	"partyledger/projections/scoreboard"
)

// year builds a demo city of n organisations in a fresh store, issues the
// grades and collects the export.
func year(t *testing.T, n int) (*report.Data, *books.Books) {
	t.Helper()
	st, err := filestore.Open(t.TempDir(), filestore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	bk := books.New(ledger.New(st, ledger.Options{Clock: ledgertest.NewClock(time.Date(2017, 3, 1, 0, 0, 0, 0, time.UTC)).Now}))
	ctx := context.Background()
	var batch []domain.Entry
	flush := func() {
		if len(batch) > 0 {
			if _, err := bk.Record(ctx, batch, "test", books.RecordOptions{}); err != nil {
				t.Fatal(err)
			}
			batch = batch[:0]
		}
	}
	for _, l := range democity.Generate(5, democity.Options{Orgs: n}) {
		raw, _ := json.Marshal(l)
		e, err := domain.ParseJournalLine(raw)
		if err != nil {
			t.Fatal(err)
		}
		if len(batch) > 0 && batch[0].Org != e.Org {
			flush()
		}
		batch = append(batch, e)
	}
	flush()
	board := scoreboard.New(bk, scoreboard.Options{Now: bk.Now})
	if _, err := board.IssueGrades(ctx, 2016, scoreboard.GradeOptions{By: "admin", AllowProvisional: true, Under: scoreboard.AllOrgs}); err != nil {
		t.Fatal(err)
	}
	d, err := report.Collect(ctx, board, bk, scoreboard.Query{Year: 2016})
	if err != nil {
		t.Fatal(err)
	}
	return d, bk
}

func journalEvents(t *testing.T, d *report.Data) []domain.JournalLine {
	t.Helper()
	var out []domain.JournalLine
	for e, err := range d.Journal {
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, e)
	}
	return out
}

func two(p domain.Points) string { return fmt.Sprintf("%.2f", float64(p)/100) }

func TestWorkbook(t *testing.T) {
	d, _ := year(t, 8)
	events := journalEvents(t, d)
	var buf bytes.Buffer
	if err := report.WriteWorkbook(&buf, d); err != nil {
		t.Fatal(err)
	}
	f, err := excelize.OpenReader(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatalf("the workbook does not open: %v", err)
	}
	defer f.Close()
	get := func(sheet, c string) string {
		t.Helper()
		v, err := f.GetCellValue(sheet, c)
		if err != nil {
			t.Fatalf("%s!%s: %v", sheet, c, err)
		}
		return v
	}

	t.Run("sheets", func(t *testing.T) {
		want := []string{report.SheetSummary, report.SheetAbout}
		cards := slices.Clone(d.Cards)
		slices.SortFunc(cards, func(a, b *projections.Scorecard) int { return strings.Compare(a.Org, b.Org) })
		for _, sc := range cards {
			// Organisation sheets are named "代码 名称", within 31 characters.
			name := report.OrgSheetName(sc.Org, sc.Name)
			if !strings.HasPrefix(name, sc.Org+" ") || utf8.RuneCountInString(name) > 31 {
				t.Errorf("%s %s: sheet %q", sc.Org, sc.Name, name)
			}
			want = append(want, name)
		}
		want = append(want, report.SheetJournal)
		if got := f.GetSheetList(); !slices.Equal(got, want) {
			t.Fatalf("sheets %v, want %v", got, want)
		}
	})
	t.Run("every sheet filters, freezes its header and prints it on every page, A4 landscape", func(t *testing.T) {
		checkSheetSetup(t, f, buf.Bytes())
	})
	t.Run("summary", func(t *testing.T) {
		rows, err := f.GetRows(report.SheetSummary)
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) != len(d.Cards)+1 {
			t.Fatalf("%d rows, want %d", len(rows), len(d.Cards)+1)
		}
		head := rows[0]
		col := func(name string) int {
			i := slices.Index(head, name)
			if i < 0 {
				t.Fatalf("no column %q in %v", name, head)
			}
			return i
		}
		for _, h := range []string{"名次", "组织代码", "组织名称", "类型", "网上考核", "分组考评", "最终得分", "等次", "否决",
			"1 思想建设(20)", "5 制度建设(25)", "正式等次", "细则版本", "细则SHA-256"} {
			col(h)
		}
		for i, sc := range d.Cards {
			r := rows[i+1]
			if r[col("名次")] != strconv.Itoa(i+1) || r[col("组织代码")] != sc.Org || r[col("组织名称")] != sc.Name ||
				r[col("最终得分")] != two(sc.Final) || r[col("网上考核")] != two(sc.Online) ||
				r[col("等次")] != domain.TierLabel(sc.Tier) || r[col("细则版本")] != "2016.1" || r[col("正式等次")] != domain.TierLabel(official(sc.Tier)) {
				t.Errorf("row %d: %v\nscorecard %s %s %s %s", i+2, r, sc.Org, sc.Name, sc.Final, sc.Tier)
			}
			var sec1 domain.Points
			for _, it := range sc.Items {
				if it.Section == "1" {
					sec1 += it.Score
				}
			}
			if r[col("1 思想建设(20)")] != two(sec1) {
				t.Errorf("%s: section 1 %s, want %s", sc.Org, r[col("1 思想建设(20)")], two(sec1))
			}
			for _, v := range sc.Vetoes {
				if !strings.Contains(r[col("否决")], v.Code) {
					t.Errorf("%s: vetoes %q lack %s", sc.Org, r[col("否决")], v.Code)
				}
			}
		}
		// Points are numbers, not text: a spreadsheet can sum them.
		c := fmt.Sprintf("%c2", 'A'+col("最终得分"))
		if typ, err := f.GetCellType(report.SheetSummary, c); err != nil || typ == excelize.CellTypeSharedString || typ == excelize.CellTypeInlineString {
			t.Errorf("%s is of type %v (%v), want a number", c, typ, err)
		}
		raw, _ := f.GetCellValue(report.SheetSummary, c, excelize.Options{RawCellValue: true})
		if v, err := strconv.ParseFloat(raw, 64); err != nil || fmt.Sprintf("%.2f", v) != two(d.Cards[0].Final) {
			t.Errorf("raw %s = %q, want %s", c, raw, d.Cards[0].Final)
		}
	})
	t.Run("one sheet per organisation", func(t *testing.T) {
		for _, sc := range d.Cards {
			rows, err := f.GetRows(report.OrgSheetName(sc.Org, sc.Name))
			if err != nil {
				t.Fatal(err)
			}
			// Row 1 says who and the result; row 2 is the items header
			// (the frozen rows); the details are under their own header.
			if title := rows[0][0]; !strings.HasPrefix(title, sc.Org+" "+sc.Name) || !strings.Contains(title, "最终得分 "+sc.Final.String()) ||
				!strings.Contains(title, domain.TierLabel(sc.Tier)) {
				t.Errorf("%s: title %q", sc.Org, title)
			}
			kv := map[string]string{}
			hdr, details := -1, -1
			for i, r := range rows {
				if len(r) >= 2 && details >= 0 {
					kv[r[0]] = r[1]
				}
				if len(r) > 0 && r[0] == report.ItemsHeader && hdr < 0 {
					hdr = i
				}
				if len(r) > 0 && r[0] == report.DetailsHeader {
					details = i
				}
			}
			if kv["组织代码"] != sc.Org || kv["最终得分"] != two(sc.Final) || kv["等次"] != domain.TierLabel(sc.Tier) ||
				kv["细则SHA-256"] != sc.Rulebook.SHA256 || kv["知悉于(UTC)"] != sc.KnownAt {
				t.Errorf("%s: details %v", sc.Org, kv)
			}
			if hdr != 1 || rows[hdr][1] != "项目代码" || rows[hdr][9] != "扣分原因" {
				t.Fatalf("%s: the items header is not row 2", sc.Org)
			}
			// Every deduction, in order, with its reason.
			var want []string
			for _, it := range sc.Items {
				if len(it.Deductions) == 0 {
					want = append(want, it.Code+"||"+two(it.Score))
				}
				for _, dd := range it.Deductions {
					want = append(want, it.Code+"|"+dd.Rule+"|"+two(it.Score)+"|"+two(dd.Points)+"|"+dd.Reason)
				}
			}
			var got []string
			for _, r := range rows[hdr+1 : hdr+1+len(want)] {
				for len(r) < 10 {
					r = append(r, "")
				}
				if r[7] == "" {
					got = append(got, r[1]+"||"+r[4])
				} else {
					got = append(got, r[1]+"|"+r[7]+"|"+r[4]+"|"+r[8]+"|"+r[9])
				}
			}
			if !slices.Equal(got, want) {
				t.Errorf("%s: items\n%v\nwant\n%v", sc.Org, got, want)
			}
		}
	})
	t.Run("journal", func(t *testing.T) {
		rows, err := f.GetRows(report.SheetJournal)
		if err != nil {
			t.Fatal(err)
		}
		checkJournal(t, rows, events)
		// The journal holds the year's assessments and grades, and the
		// built-in rulebook's publication.
		types := map[string]int{}
		for _, e := range events {
			types[e.Type]++
		}
		if types[domain.TypeGradeIssued] != len(d.Cards) || types[domain.TypeRulebookPublished] != 1 || types[domain.TypeGroupAssessmentRecorded] == 0 {
			t.Errorf("journal types %v", types)
		}
	})
	t.Run("about", func(t *testing.T) {
		if v := get(report.SheetAbout, "B5"); v != "2016.1" {
			rows, _ := f.GetRows(report.SheetAbout)
			t.Errorf("about B5 %q: %v", v, rows)
		}
	})
}

func TestWorkbookSplitsALongJournal(t *testing.T) {
	d, _ := year(t, 3)
	events := journalEvents(t, d)
	defer func(n int) { report.MaxJournalRows = n }(report.MaxJournalRows)
	report.MaxJournalRows = 400
	var buf bytes.Buffer
	if err := report.WriteWorkbook(&buf, d); err != nil {
		t.Fatal(err)
	}
	f, err := excelize.OpenReader(&buf)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	total, parts := 0, 0
	for _, name := range f.GetSheetList() {
		if !strings.HasPrefix(name, report.SheetJournal) {
			continue
		}
		parts++
		rows, _ := f.GetRows(name)
		if len(rows)-1 > 400 {
			t.Errorf("%s: %d events", name, len(rows)-1)
		}
		total += len(rows) - 1
	}
	if want := (len(events) + 399) / 400; total != len(events) || parts != want {
		t.Fatalf("%d events on %d sheets, want %d on %d", total, parts, len(events), want)
	}
}

func readCSV(t *testing.T, d *report.Data, table string) [][]string {
	t.Helper()
	var buf bytes.Buffer
	if err := report.WriteCSV(&buf, d, table); err != nil {
		t.Fatal(err)
	}
	b := buf.Bytes()
	if !bytes.HasPrefix(b, []byte("\ufeff")) {
		t.Fatal("no byte order mark")
	}
	recs, err := csv.NewReader(bytes.NewReader(b[3:])).ReadAll()
	if err != nil {
		t.Fatalf("%s: %v", table, err)
	}
	return recs
}

func TestCSV(t *testing.T) {
	d, _ := year(t, 6)
	t.Run("summary", func(t *testing.T) {
		recs := readCSV(t, d, report.TableSummary)
		if len(recs) != len(d.Cards)+1 || recs[0][1] != "组织代码" || recs[0][6] != "最终得分" {
			t.Fatalf("%d records, header %v", len(recs), recs[0])
		}
		for i, sc := range d.Cards {
			if recs[i+1][1] != sc.Org || recs[i+1][6] != two(sc.Final) || recs[i+1][9] != domain.TierLabel(sc.Tier) {
				t.Errorf("record %d: %v", i+1, recs[i+1])
			}
		}
	})
	t.Run("items", func(t *testing.T) {
		recs := readCSV(t, d, report.TableItems)
		n := 0
		for _, sc := range d.Cards {
			for _, it := range sc.Items {
				n += max(1, len(it.Deductions))
			}
		}
		if len(recs) != n+1 || recs[0][0] != "组织代码" || recs[0][11] != "扣分原因" {
			t.Fatalf("%d records, want %d; header %v", len(recs), n+1, recs[0])
		}
		var sum domain.Points
		for _, r := range recs[1:] {
			if r[9] != "" && r[0] == d.Cards[0].Org {
				p, err := domain.ParsePoints(r[10])
				if err != nil {
					t.Fatal(err)
				}
				sum += p
			}
		}
		var want domain.Points
		for _, it := range d.Cards[0].Items {
			want += it.Deducted
		}
		if sum != want {
			t.Errorf("%s: deductions in the CSV add up to %s, the scorecard to %s", d.Cards[0].Org, sum, want)
		}
	})
	t.Run("counts and journal", func(t *testing.T) {
		if recs := readCSV(t, d, report.TableCounts); len(recs) < len(d.Cards) || recs[0][6] != "实有" {
			t.Fatalf("counts: %d records, header %v", len(recs), recs[0])
		}
		checkJournal(t, readCSV(t, d, report.TableJournal), journalEvents(t, d))
	})
	t.Run("unknown table", func(t *testing.T) {
		if err := report.WriteCSV(new(bytes.Buffer), d, "orgs"); err == nil {
			t.Fatal("accepted")
		}
	})
}

// official is the grade IssueGrades gives a scorecard's tier when no
// organisation was designated 先进: an eligible one is graded 达标.
func official(tier string) string {
	if tier == domain.TierAdvanced {
		return domain.TierCompliant
	}
	return tier
}
