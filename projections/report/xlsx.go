package report

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf16"

	"github.com/xuri/excelize/v2"

	"partyledger/domain"
	"partyledger/projections"
)

// Sheet names of the workbook; an organisation's sheet is named
// "代码 名称" (OrgSheetName), within Excel's 31 characters.
const (
	SheetSummary = "汇总"
	SheetAbout   = "说明"
	SheetJournal = "台账"
)

// MaxSheetNameUnits is Excel's limit on a sheet name: 31 UTF-16 code
// units (excelize counts the same way), so a character outside the Basic
// Multilingual Plane counts twice.
const MaxSheetNameUnits = 31

// MaxJournalRows bounds the events on one journal sheet (Excel allows
// 1,048,576 rows); a longer journal continues on 台账2, 台账3, ….
// A variable so tests can shrink it.
var MaxJournalRows = 1_000_000

// An organisation's sheet: row 1 names it with its final score and tier,
// row 2 is the header of the items (first cell ItemsHeader, frozen, filtered
// and repeated on every printed page), then the items, the counts under
// their own header, and under DetailsHeader the scorecard's details as
// label–value rows.
const (
	ItemsHeader   = "部分"
	DetailsHeader = "评分概况"
)

// orgHeaderRows are the rows an organisation's sheet freezes and prints on
// every page: the title and the items header.
const orgHeaderRows = 2

// book is a workbook being written, with its styles.
type book struct {
	f                          *excelize.File
	head, num, wrap, title, kv int
	used                       map[string]bool
}

// WriteWorkbook writes d as an XLSX workbook: 汇总 (every organisation:
// final score, tier, vetoes, section scores, official grade), 说明 (what
// it was computed from), one sheet per organisation (items, deductions
// with their reasons and evidence, counts), and 台账 (the journal).
func WriteWorkbook(w io.Writer, d *Data) (err error) {
	f := excelize.NewFile()
	defer func() {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}()
	b := &book{f: f, used: map[string]bool{}}
	if err := b.styles(); err != nil {
		return err
	}
	if err := f.SetSheetName("Sheet1", SheetSummary); err != nil {
		return err
	}
	b.used[strings.ToUpper(SheetSummary)] = true
	if err := b.summary(d); err != nil {
		return fmt.Errorf("report: sheet %s: %w", SheetSummary, err)
	}
	if err := b.about(d); err != nil {
		return fmt.Errorf("report: sheet %s: %w", SheetAbout, err)
	}
	if err := d.eachCard(true, func(_ int, sc *projections.Scorecard) error {
		if err := b.org(d, sc); err != nil {
			return fmt.Errorf("report: sheet of %s: %w", sc.Org, err)
		}
		return nil
	}); err != nil {
		return err
	}
	if d.Journal != nil {
		if err := b.journal(d); err != nil {
			return fmt.Errorf("report: journal: %w", err)
		}
	}
	f.SetActiveSheet(0)
	if err := f.SetDocProps(&excelize.DocProperties{Title: fmt.Sprintf("%d 年度党建目标绩效考核", d.Year), Creator: "partyledger",
		Language: "zh-CN"}); err != nil {
		return err
	}
	return f.Write(w)
}

func (b *book) styles() error {
	var err error
	border := []excelize.Border{{Type: "bottom", Color: "999999", Style: 1}}
	if b.head, err = b.f.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true},
		Fill:   excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{"E8EEF7"}},
		Border: border, Alignment: &excelize.Alignment{Vertical: "center", WrapText: true}}); err != nil {
		return err
	}
	if b.num, err = b.f.NewStyle(&excelize.Style{NumFmt: 2}); err != nil { // 0.00
		return err
	}
	if b.wrap, err = b.f.NewStyle(&excelize.Style{Alignment: &excelize.Alignment{WrapText: true, Vertical: "top"}}); err != nil {
		return err
	}
	if b.title, err = b.f.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true, Size: 13}}); err != nil {
		return err
	}
	b.kv, err = b.f.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true}, Alignment: &excelize.Alignment{Horizontal: "left"}})
	return err
}

// OrgSheetName is the name of an organisation's sheet before it is made
// unique in its workbook: "代码 名称", with the characters a sheet name
// cannot hold replaced, cut to MaxSheetNameUnits.
func OrgSheetName(code, name string) string { return cleanSheetName(code + " " + name) }

// cleanSheetName replaces the characters Excel refuses in a sheet name
// ([]:*?/\ and the apostrophe, which may not begin or end one and would
// need quoting in every reference) and cuts it to MaxSheetNameUnits.
func cleanSheetName(name string) string {
	name = strings.Map(func(r rune) rune {
		switch r {
		case '[', ']', ':', '*', '?', '/', '\\', '\'':
			return '_'
		}
		return r
	}, name)
	return strings.TrimSpace(cutUnits(name, MaxSheetNameUnits))
}

// cutUnits cuts s to at most n UTF-16 code units, on a rune boundary.
func cutUnits(s string, n int) string {
	units := 0
	for i, r := range s {
		if units += utf16.RuneLen(r); units > n {
			return s[:i]
		}
	}
	return s
}

// sheetName returns a unique valid sheet name for name: cleaned and cut
// (cleanSheetName), and when taken (sheet names are unique regardless of
// case) cut further for a suffix "~2", "~3", ….
func (b *book) sheetName(name string) string {
	clean := cleanSheetName(name)
	out := clean
	for i := 2; b.used[strings.ToUpper(out)]; i++ {
		suffix := "~" + strconv.Itoa(i)
		out = cutUnits(clean, MaxSheetNameUnits-len(suffix)) + suffix
	}
	b.used[strings.ToUpper(out)] = true
	return out
}

// stream opens a sheet for streaming (creating it unless it exists).
func (b *book) stream(name string, widths []float64) (*excelize.StreamWriter, error) {
	if idx, _ := b.f.GetSheetIndex(name); idx < 0 {
		if _, err := b.f.NewSheet(name); err != nil {
			return nil, err
		}
	}
	sw, err := b.f.NewStreamWriter(name)
	if err != nil {
		return nil, err
	}
	for i, wd := range widths {
		if wd > 0 {
			if err := sw.SetColWidth(i+1, i+1, wd); err != nil {
				return nil, err
			}
		}
	}
	return sw, nil
}

// cells converts a row for the stream writer: points get the two-decimal
// style.
func (b *book) cells(row []any, style int) []any {
	out := make([]any, len(row))
	for i, v := range row {
		switch x := v.(type) {
		case points:
			out[i] = excelize.Cell{StyleID: b.num, Value: float64(x)}
		default:
			if style != 0 {
				out[i] = excelize.Cell{StyleID: style, Value: v}
			} else {
				out[i] = v
			}
		}
	}
	return out
}

func (b *book) header(names []string) []any {
	out := make([]any, len(names))
	for i, n := range names {
		out[i] = excelize.Cell{StyleID: b.head, Value: n}
	}
	return out
}

func cell(col, row int) string {
	c, _ := excelize.CoordinatesToCellName(col, row)
	return c
}

// freezeHeader freezes the first rows of a sheet; a stream writer takes
// it before the first row.
func freezeHeader(sw *excelize.StreamWriter, rows int) error {
	return sw.SetPanes(&excelize.Panes{Freeze: true, YSplit: rows, TopLeftCell: cell(1, rows+1), ActivePane: "bottomLeft"})
}

// A4 is the paper size code of A4 in SpreadsheetML (ECMA-376 18.3.1.63).
const A4 = 9

// finish gives a streamed sheet what every sheet of the workbook has —
// an autofilter over its table (filter: the range, header row included),
// its first headerRows repeated on every printed page, A4 landscape — and
// flushes it. The stream writer writes the sheet's settings when it
// flushes, so they are set after the rows and before Flush (the sheet
// cannot be changed afterwards).
func (b *book) finish(sw *excelize.StreamWriter, headerRows int, filter string) error {
	sheet := sw.Sheet
	if err := b.f.AutoFilter(sheet, filter, nil); err != nil {
		return fmt.Errorf("autofilter %s: %w", filter, err)
	}
	orientation, size := "landscape", A4
	if err := b.f.SetPageLayout(sheet, &excelize.PageLayoutOptions{Orientation: &orientation, Size: &size}); err != nil {
		return err
	}
	titles := fmt.Sprintf("'%s'!$1:$%d", sheet, headerRows)
	if err := b.f.SetDefinedName(&excelize.DefinedName{Name: "_xlnm.Print_Titles", RefersTo: titles, Scope: sheet}); err != nil {
		return fmt.Errorf("print titles %s: %w", titles, err)
	}
	return sw.Flush()
}

// span is the range of a table: columns 1..cols, rows first..last.
func span(cols, first, last int) string { return cell(1, first) + ":" + cell(cols, max(first, last)) }

func (b *book) summary(d *Data) error {
	head := d.summaryHeader()
	widths := make([]float64, len(head))
	for i := range widths {
		widths[i] = 11
	}
	widths[1], widths[2], widths[10] = 12, 28, 36
	sw, err := b.stream(SheetSummary, widths)
	if err != nil {
		return err
	}
	if err := freezeHeader(sw, 1); err != nil {
		return err
	}
	if err := sw.SetRow("A1", b.header(head)); err != nil {
		return err
	}
	if err := d.eachCard(false, func(i int, sc *projections.Scorecard) error {
		return sw.SetRow(cell(1, i+2), b.cells(d.summaryRow(i+1, sc), 0))
	}); err != nil {
		return err
	}
	return b.finish(sw, 1, span(len(head), 1, d.Orgs()+1))
}

func (b *book) about(d *Data) error {
	name := b.sheetName(SheetAbout)
	sw, err := b.stream(name, []float64{18, 90})
	if err != nil {
		return err
	}
	if err := freezeHeader(sw, 2); err != nil {
		return err
	}
	rows := [][]any{{excelize.Cell{StyleID: b.title, Value: fmt.Sprintf("%d 年度党建目标绩效考核 审计导出", d.Year)}}, b.header([]string{"项目", "内容"})}
	add := func(k string, v any) { rows = append(rows, []any{excelize.Cell{StyleID: b.kv, Value: k}, v}) }
	add("考核年度", d.Year)
	add("组织数", d.Orgs())
	if rb, asOf, knownAt, ok := d.first(); ok {
		add("细则版本", rb.Version)
		add("细则SHA-256", rb.SHA256)
		add("截至日期", asOf.String())
		add("知悉于(UTC)", knownAt)
	}
	if d.Rulebook != nil {
		add("细则名称", d.Rulebook.Title)
		add("细则来源", d.Rulebook.Source)
	}
	tiers := d.tiers()
	add("等次分布", fmt.Sprintf("先进 %d，达标 %d，未达标 %d", tiers[domain.TierAdvanced], tiers[domain.TierCompliant], tiers[domain.TierNonCompliant]))
	add("工作表", "“汇总”为全部组织的得分、等次、否决和各部分得分；每个组织一张工作表（以“代码 名称”命名），列出各项得分、扣分及原因、依据事件和计数，其下为评分概况；“台账”为本年度考核涉及的全部事件（按记录顺序，含哈希链）")
	add("台账", "“事件类型”“内容”为中文（金额以元计，党员以姓名显示）；记录时间为北京时间；“数据(JSON)”为原始记录（金额以分计），与“前一哈希”“哈希”一起可供核验。")
	add("说明", "得分均为两位小数的数值。同一知悉时点、截至日期与细则版本重新计算，得到相同结果；细则SHA-256标明所用细则的确切内容。各表首行冻结、可筛选，打印时每页重复表头（A4 横向）。")
	for i, r := range rows {
		if err := sw.SetRow(cell(1, i+1), r); err != nil {
			return err
		}
	}
	return b.finish(sw, 2, span(2, 2, len(rows)))
}

// orgTitle is the first row of an organisation's sheet: who, which year,
// and the result, so that the frozen top of the sheet says it all.
func orgTitle(sc *projections.Scorecard) string {
	s := fmt.Sprintf("%s %s（%s） %d 年度：最终得分 %s，%s", sc.Org, sc.Name, sc.Kind.Label(), sc.Year, sc.Final, domain.TierLabel(sc.Tier))
	if sc.Provisional {
		s += "（暂定）"
	}
	if len(sc.Vetoes) > 0 {
		codes := make([]string, len(sc.Vetoes))
		for i, v := range sc.Vetoes {
			codes[i] = v.Code
		}
		s += "，否决 " + strings.Join(codes, "、")
	}
	return s
}

// orgDetails are the label–value rows under DetailsHeader.
func (b *book) orgDetails(d *Data, sc *projections.Scorecard) [][]any {
	var rows [][]any
	kv := func(k string, v any) {
		rows = append(rows, b.cells([]any{excelize.Cell{StyleID: b.kv, Value: k}, v}, 0))
	}
	kv("组织代码", sc.Org)
	kv("组织名称", sc.Name)
	kv("类型", sc.Kind.Label())
	kv("截至日期", sc.AsOf.String())
	kv("知悉于(UTC)", sc.KnownAt)
	kv("细则版本", sc.Rulebook.Version)
	kv("细则SHA-256", sc.Rulebook.SHA256)
	kv("台账位置", int64(sc.LedgerPosition))
	kv("网上考核", pts(sc.Online))
	if sc.Group != nil {
		kv("分组考评", pts(*sc.Group))
	} else {
		kv("分组考评", "未录入")
	}
	kv("最终得分", pts(sc.Final))
	kv("是否暂定", yesNo(sc.Provisional))
	kv("按分数等次", domain.TierLabel(sc.TierByScore))
	kv("等次", domain.TierLabel(sc.Tier))
	for _, v := range sc.Vetoes {
		kv("否决 "+v.Code, fmt.Sprintf("%s（最高%s；事件 %s）", v.Reason, domain.TierLabel(v.TierMax), joinIDs(v.Events)))
	}
	if sc.Founding != nil { // founded in the year: what was not judged, how needs scale
		kv("年内成立", sc.Founding.Reason)
	}
	for _, it := range sc.Items { // judged otherwise than by the plain rule (a term extended)
		for _, n := range it.Notes {
			kv("说明 "+it.Code, fmt.Sprintf("%s（事件 %s）", n.Reason, joinIDs(n.Events)))
		}
	}
	if d.Grades != nil {
		for _, g := range d.Grades[sc.Org] {
			what := "正式等次"
			if g.Revised() {
				what = "更正等次"
			}
			text := fmt.Sprintf("%s %s（细则 %s，北京时间 %s 由 %s 记录", domain.TierLabel(g.Tier), g.Final, g.RulebookVersion,
				g.RecordedAt.In(domain.CST).Format(cstLayout), g.RecordedBy)
			if g.Reason != "" {
				text += "，原因：" + g.Reason
			}
			kv(what, text+"）")
		}
	}
	return rows
}

// org writes an organisation's sheet: the title, the items (frozen,
// filtered header), the counts, the details.
func (b *book) org(d *Data, sc *projections.Scorecard) error {
	name := b.sheetName(OrgSheetName(sc.Org, sc.Name))
	sw, err := b.stream(name, []float64{8, 9, 26, 7, 7, 9, 9, 26, 7, 60, 40, 16})
	if err != nil {
		return err
	}
	if err := freezeHeader(sw, orgHeaderRows); err != nil {
		return err
	}
	rows := [][]any{{excelize.Cell{StyleID: b.title, Value: orgTitle(sc)}}, b.header(itemsHead)}
	for _, r := range itemRows(sc) {
		rows = append(rows, b.cells(r, 0))
	}
	filter := span(len(itemsHead), orgHeaderRows, len(rows))
	if counts := countRows(sc); len(counts) > 0 {
		rows = append(rows, nil, b.header(countsHead))
		for _, r := range counts {
			rows = append(rows, b.cells(r, 0))
		}
	}
	rows = append(rows, nil, []any{excelize.Cell{StyleID: b.title, Value: DetailsHeader}})
	rows = append(rows, b.orgDetails(d, sc)...)
	for i, r := range rows {
		if r == nil {
			continue
		}
		if err := sw.SetRow(cell(1, i+1), r); err != nil {
			return err
		}
	}
	return b.finish(sw, orgHeaderRows, filter)
}

func joinIDs(ids []string) string {
	if len(ids) == 0 {
		return "—"
	}
	s := ""
	for i, id := range ids {
		if i > 0 {
			s += " "
		}
		s += id
	}
	return s
}

// journal writes the journal on 台账 (and 台账2, 台账3, … beyond
// MaxJournalRows events), each part with its header frozen, filtered and
// printed on every page.
func (b *book) journal(d *Data) error {
	widths := []float64{9, 11, 14, 50, 11, 19, 24, 30, 37, 22, 44, 8, 60, 20, 20}
	names := domain.NewMemberNames()
	var sw *excelize.StreamWriter
	row, part := 0, 0
	open := func() error {
		part++
		name := SheetJournal
		if part > 1 {
			name += strconv.Itoa(part)
		}
		var err error
		if sw, err = b.stream(b.sheetName(name), widths); err != nil {
			return err
		}
		if err := freezeHeader(sw, 1); err != nil {
			return err
		}
		row = 1
		return sw.SetRow("A1", b.header(journalHead))
	}
	done := func() error { return b.finish(sw, 1, span(len(journalHead), 1, row)) }
	if err := open(); err != nil {
		return err
	}
	for e, err := range d.Journal {
		if err != nil {
			return err
		}
		if row > MaxJournalRows {
			if err := done(); err != nil {
				return err
			}
			if err := open(); err != nil {
				return err
			}
		}
		row++
		if err := sw.SetRow(cell(1, row), d.journalRow(&e, names)); err != nil {
			return err
		}
	}
	return done()
}
