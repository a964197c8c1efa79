package report

import (
	"fmt"
	"io"
	"sort"
	"strconv"
	"unicode/utf8"

	"github.com/xuri/excelize/v2"

	"partyledger/domain"
	"partyledger/projections"
)

// Sheet names of the workbook; an organisation's sheet is named by its code.
const (
	SheetSummary = "汇总"
	SheetAbout   = "说明"
	SheetJournal = "台账"
)

// MaxJournalRows bounds the events on one journal sheet (Excel allows
// 1,048,576 rows); a longer journal continues on 台账2, 台账3, ….
// A variable so tests can shrink it.
var MaxJournalRows = 1_000_000

// Row of the first item header on an organisation's sheet is found by its
// first cell, ItemsHeader; the rows above it describe the scorecard.
const ItemsHeader = "部分"

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
	b.used[SheetSummary] = true
	if err := b.summary(d); err != nil {
		return fmt.Errorf("report: sheet %s: %w", SheetSummary, err)
	}
	if err := b.about(d); err != nil {
		return fmt.Errorf("report: sheet %s: %w", SheetAbout, err)
	}
	cards := append([]*projections.Scorecard(nil), d.Cards...)
	sort.Slice(cards, func(i, j int) bool { return cards[i].Org < cards[j].Org })
	for _, sc := range cards {
		if err := b.org(d, sc); err != nil {
			return fmt.Errorf("report: sheet of %s: %w", sc.Org, err)
		}
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

// sheetName returns a unique valid sheet name for name (at most 31
// characters, none of []:*?/\).
func (b *book) sheetName(name string) string {
	clean := []rune{}
	for _, r := range name {
		switch r {
		case '[', ']', ':', '*', '?', '/', '\\':
			r = '_'
		}
		clean = append(clean, r)
	}
	if len(clean) > 31 {
		clean = clean[:31]
	}
	out := string(clean)
	for i := 2; b.used[out]; i++ {
		suffix := "~" + strconv.Itoa(i)
		base := clean
		if len(base)+utf8.RuneCountInString(suffix) > 31 {
			base = base[:31-utf8.RuneCountInString(suffix)]
		}
		out = string(base) + suffix
	}
	b.used[out] = true
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

func freezeHeader(sw *excelize.StreamWriter, row int) error {
	return sw.SetPanes(&excelize.Panes{Freeze: true, YSplit: row, TopLeftCell: cell(1, row+1), ActivePane: "bottomLeft"})
}

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
	for i, sc := range d.Cards {
		if err := sw.SetRow(cell(1, i+2), b.cells(d.summaryRow(i+1, sc), 0)); err != nil {
			return err
		}
	}
	return sw.Flush()
}

func (b *book) about(d *Data) error {
	name := b.sheetName(SheetAbout)
	sw, err := b.stream(name, []float64{18, 90})
	if err != nil {
		return err
	}
	rows := [][]any{{excelize.Cell{StyleID: b.title, Value: fmt.Sprintf("%d 年度党建目标绩效考核 审计导出", d.Year)}}, {}}
	add := func(k string, v any) { rows = append(rows, []any{excelize.Cell{StyleID: b.kv, Value: k}, v}) }
	add("考核年度", d.Year)
	add("组织数", len(d.Cards))
	if len(d.Cards) > 0 {
		sc := d.Cards[0]
		add("细则版本", sc.Rulebook.Version)
		add("细则SHA-256", sc.Rulebook.SHA256)
		add("截至日期", sc.AsOf.String())
		add("知悉于(UTC)", sc.KnownAt)
	}
	if d.Rulebook != nil {
		add("细则名称", d.Rulebook.Title)
		add("细则来源", d.Rulebook.Source)
	}
	tiers := map[string]int{}
	for _, sc := range d.Cards {
		tiers[sc.Tier]++
	}
	add("等次分布", fmt.Sprintf("先进 %d，达标 %d，未达标 %d", tiers[domain.TierAdvanced], tiers[domain.TierCompliant], tiers[domain.TierNonCompliant]))
	add("工作表", "“汇总”为全部组织的得分、等次、否决和各部分得分；每个组织一张工作表（以组织代码命名），列出各项得分、扣分及原因、依据事件和计数；“台账”为本年度考核涉及的全部事件（按记录顺序，含哈希链）")
	add("说明", "得分均为两位小数的数值。同一知悉时点、截至日期与细则版本重新计算，得到相同结果；细则SHA-256标明所用细则的确切内容。")
	for i, r := range rows {
		if err := sw.SetRow(cell(1, i+1), r); err != nil {
			return err
		}
	}
	return sw.Flush()
}

func (b *book) org(d *Data, sc *projections.Scorecard) error {
	name := b.sheetName(sc.Org)
	sw, err := b.stream(name, []float64{8, 9, 26, 7, 7, 9, 9, 26, 7, 60, 40, 16})
	if err != nil {
		return err
	}
	var rows [][]any
	kv := func(k string, v any) {
		rows = append(rows, b.cells([]any{excelize.Cell{StyleID: b.kv, Value: k}, v}, 0))
	}
	rows = append(rows, []any{excelize.Cell{StyleID: b.title, Value: fmt.Sprintf("%s %s（%s） %d 年度党建目标绩效考核", sc.Org, sc.Name, sc.Kind.Label(), sc.Year)}})
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
	if d.Grades != nil {
		for _, g := range d.Grades[sc.Org] {
			what := "正式等次"
			if g.Revised() {
				what = "更正等次"
			}
			text := fmt.Sprintf("%s %s（细则 %s，%s 由 %s 记录", domain.TierLabel(g.Tier), g.Final, g.RulebookVersion,
				g.RecordedAt.UTC().Format("2006-01-02 15:04:05"), g.RecordedBy)
			if g.Reason != "" {
				text += "，原因：" + g.Reason
			}
			kv(what, text+"）")
		}
	}
	rows = append(rows, nil, b.header(itemsHead))
	for _, r := range itemRows(sc) {
		rows = append(rows, b.cells(r, 0))
	}
	if counts := countRows(sc); len(counts) > 0 {
		rows = append(rows, nil, b.header(countsHead))
		for _, r := range counts {
			rows = append(rows, b.cells(r, 0))
		}
	}
	for i, r := range rows {
		if r == nil {
			continue
		}
		if err := sw.SetRow(cell(1, i+1), r); err != nil {
			return err
		}
	}
	return sw.Flush()
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

func (b *book) journal(d *Data) error {
	widths := []float64{9, 44, 8, 11, 24, 14, 11, 27, 10, 37, 60, 20, 20, 30}
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
	if err := open(); err != nil {
		return err
	}
	for e, err := range d.Journal {
		if err != nil {
			return err
		}
		if row > MaxJournalRows {
			if err := sw.Flush(); err != nil {
				return err
			}
			if err := open(); err != nil {
				return err
			}
		}
		row++
		if err := sw.SetRow(cell(1, row), d.journalRow(&e)); err != nil {
			return err
		}
	}
	return sw.Flush()
}
