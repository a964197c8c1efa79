package report_test

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"iter"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf16"

	"github.com/xuri/excelize/v2"

	"partyledger/domain"
	"partyledger/projections"
	"partyledger/projections/report"
)

// wantJournalHead is the journal's header as the issue asks for it: the
// Chinese type and content first, times in CST, the data as stored and
// the hashes last.
var wantJournalHead = []string{"全局位置", "组织代码", "事件类型", "内容", "发生日期", "记录时间(北京时间)", "记录人", "补录", "事件ID",
	"类型代码", "流", "流内版本", "数据(JSON)", "前一哈希", "哈希"}

// duesContent is how a dues payment reads: a member's name, the month and
// the amount in yuan.
var duesContent = regexp.MustCompile(`^\p{Han}+ \d{4}-\d{2} 党费 \d+\.\d{2} 元$`)

// checkJournal checks the journal's rows (of the 台账 sheet or the CSV)
// against the events they show.
func checkJournal(t *testing.T, rows [][]string, events []domain.JournalLine) {
	t.Helper()
	if len(rows) != len(events)+1 {
		t.Fatalf("%d rows, want %d", len(rows), len(events)+1)
	}
	if !slices.Equal(rows[0], wantJournalHead) {
		t.Fatalf("header %v\nwant %v", rows[0], wantJournalHead)
	}
	members := map[string]string{} // org/member id → name
	dues := 0
	for i, e := range events {
		r := rows[i+1]
		for len(r) < len(wantJournalHead) {
			r = append(r, "")
		}
		at, err := time.Parse(domain.InstantLayout, e.RecordedAt)
		if err != nil {
			t.Fatal(err)
		}
		if r[0] != strconv.FormatUint(*e.Position, 10) || r[1] != e.Org || r[2] != domain.TypeLabel(e.Type) || r[2] == e.Type ||
			r[4] != e.OccurredOn || r[5] != at.In(domain.CST).Format("2006-01-02 15:04:05") || r[6] != e.RecordedBy ||
			(r[7] != "" && !strings.HasPrefix(r[7], "补录：")) ||
			r[8] != e.ID || r[9] != e.Type || r[10] != e.Stream || r[11] != strconv.FormatUint(*e.Revision, 10) ||
			r[12] != string(e.Data) || r[13] != e.PrevHash || r[14] != e.Hash {
			t.Fatalf("row %d: %q\nevent %+v", i+2, r, e)
		}
		content := r[3]
		if content == "" || strings.ContainsAny(content, `{}"`) || strings.Contains(content, "_id") || strings.Contains(content, "_fen") {
			t.Errorf("row %d (%s): content %q", i+2, e.Type, content)
		}
		switch e.Type {
		case domain.TypeMemberJoined:
			var m domain.MemberJoined
			_ = json.Unmarshal(e.Data, &m)
			members[e.Org+"/"+m.MemberID] = m.Name
		case domain.TypeDuesPaid:
			dues++
			var p domain.DuesPaid
			_ = json.Unmarshal(e.Data, &p)
			name := members[e.Org+"/"+p.MemberID]
			if want := name + " " + p.Month + " 党费 " + domain.Yuan(p.AmountFen); name == "" || content != want || !duesContent.MatchString(content) {
				t.Fatalf("row %d: dues %s read %q, want %q", i+2, e.Data, content, want)
			}
		}
	}
	if dues == 0 {
		t.Fatal("no dues payment in the journal")
	}
}

// checkSheetSetup checks every sheet of a workbook: frozen header rows, the
// same rows printed on every page, an autofilter from the last of them,
// A4 landscape.
func checkSheetSetup(t *testing.T, f *excelize.File, raw []byte) {
	t.Helper()
	names := map[string]string{} // name@scope → refers to
	for _, dn := range f.GetDefinedName() {
		names[dn.Name+"@"+dn.Scope] = dn.RefersTo
	}
	sheets := f.GetSheetList()
	for _, sheet := range sheets {
		panes, err := f.GetPanes(sheet)
		if err != nil || !panes.Freeze || panes.YSplit < 1 || panes.XSplit != 0 {
			t.Errorf("%s: panes %+v (%v), want frozen header rows", sheet, panes, err)
			continue
		}
		if got, want := names["_xlnm.Print_Titles@"+sheet], fmt.Sprintf("'%s'!$1:$%d", sheet, panes.YSplit); got != want {
			t.Errorf("%s: print titles %q, want %q", sheet, got, want)
		}
		if got, want := names["_xlnm._FilterDatabase@"+sheet], fmt.Sprintf("'%s'!$A$%d:", sheet, panes.YSplit); !strings.HasPrefix(got, want) {
			t.Errorf("%s: autofilter %q, want it from the header %s…", sheet, got, want)
		}
		lay, err := f.GetPageLayout(sheet)
		if err != nil || lay.Orientation == nil || *lay.Orientation != "landscape" || lay.Size == nil || *lay.Size != 9 {
			t.Errorf("%s: page layout %v %v (%v), want A4 (9) landscape", sheet, lay.Size, lay.Orientation, err)
		}
	}
	// The defined name is not the filter: each worksheet has its element.
	zr, err := zip.NewReader(bytes.NewReader(raw), int64(len(raw)))
	if err != nil {
		t.Fatal(err)
	}
	filters := 0
	for _, zf := range zr.File {
		if !strings.HasPrefix(zf.Name, "xl/worksheets/sheet") {
			continue
		}
		rc, err := zf.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(rc)
		rc.Close()
		if bytes.Contains(b, []byte("<autoFilter ref=")) {
			filters++
		}
	}
	if filters != len(sheets) {
		t.Errorf("%d worksheets with an autofilter, want all %d", filters, len(sheets))
	}
}

func TestOrgSheetName(t *testing.T) {
	for _, c := range []struct{ code, name, want string }{
		{"LY-0034", "市人力资源和社会保障局机关第二党支部", "LY-0034 市人力资源和社会保障局机关第二党支部"},
		{"LY-0001", strings.Repeat("很长的组织名称", 6), "LY-0001 " + strings.Repeat("很长的组织名称", 4)[:23*3]},
		{"A_B", "x:y/z[1]*?'", "A_B x_y_z_1____"},
		{"LY-1", strings.Repeat("𠀀", 20), "LY-1 " + strings.Repeat("𠀀", 13)}, // two UTF-16 units each: 5 + 26 = 31
	} {
		got := report.OrgSheetName(c.code, c.name)
		if got != c.want {
			t.Errorf("OrgSheetName(%q, %q) = %q, want %q", c.code, c.name, got, c.want)
		}
		if n := len(utf16.Encode([]rune(got))); n > report.MaxSheetNameUnits {
			t.Errorf("%q: %d UTF-16 units", got, n)
		}
	}
}

// TestWorkbookSheetNamesAreUniqueAndValid gives organisations names that
// collide once cut to 31 characters, and characters Excel refuses.
func TestWorkbookSheetNamesAreUniqueAndValid(t *testing.T) {
	d, _ := year(t, 3)
	long := strings.Repeat("X", 31)
	var cards []*projections.Scorecard
	for i, name := range []string{"甲", "乙", "丙"} {
		sc := *d.Cards[i]
		sc.Org, sc.Name = long+strconv.Itoa(i), name // 32 characters: the code alone is cut
		cards = append(cards, &sc)
	}
	extra := *d.Cards[0]
	extra.Org, extra.Name = "LY-9", "𠀀"+strings.Repeat("党", 40)+"/[]"
	cards = append(cards, &extra)
	var buf bytes.Buffer
	if err := report.WriteWorkbook(&buf, &report.Data{Year: d.Year, Cards: cards, Rulebook: d.Rulebook}); err != nil {
		t.Fatal(err)
	}
	f, err := excelize.OpenReader(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got := f.GetSheetList()
	// In code order; the three that collide numbered in that order.
	want := []string{report.SheetSummary, report.SheetAbout, report.OrgSheetName("LY-9", extra.Name), long, long[:29] + "~2", long[:29] + "~3"}
	if !slices.Equal(got, want) {
		t.Fatalf("sheets %q\nwant %q", got, want)
	}
	for _, name := range got {
		if n := len(utf16.Encode([]rune(name))); n > report.MaxSheetNameUnits {
			t.Errorf("%q: %d UTF-16 units", name, n)
		}
	}
	checkSheetSetup(t, f, buf.Bytes())
}

// lines yields journal lines as a Source would.
func lines(ls ...domain.JournalLine) iter.Seq2[domain.JournalLine, error] {
	return func(yield func(domain.JournalLine, error) bool) {
		for _, l := range ls {
			if !yield(l, nil) {
				return
			}
		}
	}
}

// TestCSVNeutralisesFormulas: text that a spreadsheet would run as a
// formula (a name or title beginning with =, +, -, @) is written as text,
// with an apostrophe; numbers stay numbers.
func TestCSVNeutralisesFormulas(t *testing.T) {
	d, _ := year(t, 2)
	evil := *d.Cards[0]
	evil.Name = `=HYPERLINK("http://example.com","点击")`
	line := func(pos uint64, typ, data string) domain.JournalLine {
		rev := pos - 1
		return domain.JournalLine{ID: fmt.Sprintf("00000000-0000-4000-8000-%012d", pos), Org: evil.Org, Type: typ, OccurredOn: "2016-03-05",
			Data: json.RawMessage(data), Stream: "org-x", Revision: &rev, Position: &pos, RecordedAt: "2016-03-05T01:02:03.000000Z",
			RecordedBy: "-1+1", PrevHash: "00", Hash: "ab"}
	}
	bad := &report.Data{Year: d.Year, Cards: []*projections.Scorecard{&evil}, Rulebook: d.Rulebook, Journal: lines(
		line(1, domain.TypeMemberJoined, `{"member_id":"m1","name":"@SUM(1+1)","is_leader":false,"monthly_income_fen":100}`),
		line(2, domain.TypeDuesPaid, `{"member_id":"m1","month":"2016-03","amount_fen":100}`),
		line(3, domain.TypeViolationRecorded, `{"case_id":"c1","person":"+cmd","severity":"ordinary","impact":"normal","summary":"x"}`),
	)}
	summary := readCSV(t, bad, report.TableSummary)
	if got := summary[1][2]; got != "'"+evil.Name {
		t.Errorf("organisation name %q, want it prefixed with an apostrophe", got)
	}
	if got := summary[1][6]; got != two(evil.Final) {
		t.Errorf("final score %q: a number must stay a number", got)
	}
	journal := readCSV(t, bad, report.TableJournal)
	want := map[int]string{1: "'@SUM(1+1)（m1）加入", 2: "'@SUM(1+1) 2016-03 党费 1.00 元", 3: "案件 c1：+cmd，一般违纪，影响一般；x"}
	for row, content := range want {
		if got := journal[row][3]; got != content {
			t.Errorf("journal row %d: content %q, want %q", row, got, content)
		}
		if got := journal[row][6]; got != "'-1+1" {
			t.Errorf("journal row %d: recorded by %q, want it neutralised", row, got)
		}
		if got := journal[row][5]; got != "2016-03-05 09:02:03" {
			t.Errorf("journal row %d: recorded at %q, want CST", row, got)
		}
	}
	for _, table := range [][][]string{summary, journal, readCSV(t, bad, report.TableItems), readCSV(t, bad, report.TableCounts)} {
		for _, rec := range table {
			for _, c := range rec {
				if c != "" && strings.ContainsRune("=+-@\t\r", rune(c[0])) {
					t.Errorf("cell %q begins like a formula", c)
				}
			}
		}
	}
}

// TestOrgSheetShowsRevision2Reasons: an organisation's sheet says, beside
// its deductions, how RUBRIC.md revision 2 judged it — the founding in the
// year, and an item judged otherwise than by its plain rule (a term the
// work committee extended).
func TestOrgSheetShowsRevision2Reasons(t *testing.T) {
	d, _ := year(t, 2)
	sc := d.Cards[0]
	sc.Founding = &projections.Founding{FoundedOn: domain.MustDate("2016-10-01"), Months: 3,
		Reason: "本组织 2016-10-01 成立，此前月份不考核，年度要求按 3 个月折算"}
	for i := range sc.Items {
		if sc.Items[i].Code == "2.2" {
			sc.Items[i].Notes = []projections.Note{{Rule: "2.2.term", Reason: "经上级批准延期换届至 2017-06-30，至 2016-12-31 未超届",
				Events: []string{"00000000-0000-4000-8000-000000000001"}}}
		}
	}
	var buf bytes.Buffer
	if err := report.WriteWorkbook(&buf, d); err != nil {
		t.Fatal(err)
	}
	f, err := excelize.OpenReader(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := f.GetRows(report.OrgSheetName(sc.Org, sc.Name))
	if err != nil {
		t.Fatal(err)
	}
	kv := map[string]string{}
	details := false
	for _, r := range rows {
		if len(r) > 0 && r[0] == report.DetailsHeader {
			details = true
		}
		if details && len(r) >= 2 {
			kv[r[0]] = r[1]
		}
	}
	if got, want := kv["年内成立"], sc.Founding.Reason; got != want {
		t.Errorf("年内成立 %q, want %q", got, want)
	}
	if got, want := kv["说明 2.2"], "经上级批准延期换届至 2017-06-30，至 2016-12-31 未超届（事件 00000000"; !strings.HasPrefix(got, want) {
		t.Errorf("说明 2.2 %q, want it to start %q", got, want)
	}
}
