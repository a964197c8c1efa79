// Package report writes the auditors' exports of an assessment year: an
// XLSX workbook (one sheet of every organisation's result, one sheet per
// organisation with its items, deductions and counts, the journal, and a
// sheet that says what the workbook was computed from), and the same
// tables as CSV. Headers are Chinese; points are numbers with two
// decimals, so a spreadsheet can sum and sort them. The workbook is
// written with github.com/xuri/excelize/v2 and opens in Excel and WPS.
//
// Both the command line and the API use it: Collect gathers a year from
// the ledger, WriteWorkbook and WriteCSV render it.
package report

import (
	"context"
	"encoding/json"
	"fmt"
	"iter"
	"strconv"
	"strings"
	"time"

	"partyledger/domain"
	"partyledger/ledger"
	"partyledger/ledger/scoreboard"
	"partyledger/projections"
)

// Data is what an export holds.
type Data struct {
	Year int
	// Cards are the scorecards of every organisation, in the order the
	// summary lists them (Collect ranks them).
	Cards []*projections.Scorecard
	// Rulebook is the rulebook the cards were scored under (section
	// titles); nil labels sections by number.
	Rulebook *domain.Rulebook
	// Grades are the official grades by organisation code, each list in
	// recorded order; nil leaves the grade columns out.
	Grades map[string][]ledger.Grade
	// Journal yields the events of the journal sheet in recorded order;
	// nil leaves it out. JournalOf gives the events a year's audit needs.
	Journal iter.Seq2[ledger.Event, error]
}

// Collect scores every organisation of q.Year as q says (ranked, as
// `score --all` does) and gathers the grades and the journal of the year.
// The journal is read lazily, when the export is written.
func Collect(ctx context.Context, board *scoreboard.Board, books *ledger.Books, q scoreboard.Query) (*Data, error) {
	cards, err := board.ScoreAll(ctx, q)
	if err != nil {
		return nil, err
	}
	d := &Data{Year: q.Year, Cards: cards}
	version := q.Rulebook
	if len(cards) > 0 {
		version = cards[0].Rulebook.Version
	}
	k := q.KnownAt
	if len(cards) > 0 {
		if t, err := parseKnownAt(cards[0].KnownAt); err == nil {
			k = t
		}
	}
	if k.IsZero() {
		k = books.L.Now()
	}
	if rb, err := books.RulebookAt(ctx, q.Year, k, version); err == nil {
		d.Rulebook = rb
	}
	if d.Grades, err = books.Grades(ctx, q.Year); err != nil {
		return nil, err
	}
	d.Journal = JournalOf(ctx, books.L, q.Year)
	return d, nil
}

// JournalOf yields, in recorded order, every event that a year's audit
// needs: whatever occurred on or before the year's last day (the roster,
// elections and systems of earlier years included), and later events that
// name the year (findings, group assessments, grades, rulebooks).
func JournalOf(ctx context.Context, l *ledger.Ledger, year int) iter.Seq2[ledger.Event, error] {
	end := domain.YearEnd(year).String()
	return func(yield func(ledger.Event, error) bool) {
		for e, err := range l.ReadAll(ctx, 0) {
			if err != nil {
				yield(ledger.Event{}, err)
				return
			}
			if strings.HasPrefix(e.Stream, ledger.PrefixAuth) {
				continue // API tokens are not part of the books
			}
			if (e.OccurredOn != "" && e.OccurredOn <= end && !namesOtherYear(&e, year)) || namesYear(&e, year) {
				if !yield(e, nil) {
					return
				}
			}
		}
	}
}

// yearNamed returns the year an assessment, grade or rulebook event names.
func yearNamed(e *ledger.Event) (int, bool) {
	switch e.Type {
	case domain.TypeFindingRecorded, domain.TypeGroupAssessmentRecorded, domain.TypeGradeIssued, domain.TypeGradeRevised,
		domain.TypeRulebookPublished:
		var v struct {
			Year int `json:"year"`
		}
		if json.Unmarshal(e.Data, &v) == nil {
			return v.Year, true
		}
	}
	return 0, false
}

func namesYear(e *ledger.Event, year int) bool {
	y, ok := yearNamed(e)
	return ok && y == year
}

func namesOtherYear(e *ledger.Event, year int) bool {
	y, ok := yearNamed(e)
	return ok && y != year
}

// Column sets and labels.

var summaryHead = []string{"名次", "组织代码", "组织名称", "类型", "网上考核", "分组考评", "最终得分", "是否暂定", "按分数等次", "等次", "否决"}

var summaryTail = []string{"细则版本", "细则SHA-256", "截至日期", "知悉于(UTC)", "台账位置"}

var gradeHead = []string{"正式等次", "正式得分", "评定细则版本", "评定记录", "评定时间(UTC)"}

var itemsHead = []string{"部分", "项目代码", "项目名称", "分值", "得分", "扣分合计", "是否封顶", "规则", "扣分", "扣分原因", "依据事件", "涉及期间"}

var countsHead = []string{"项目代码", "规则", "计数项", "期间", "实有", "应有", "是否达标"}

var journalHead = []string{"全局位置", "流", "流内版本", "组织代码", "事件类型", "事件名称", "发生日期", "记录时间(UTC)", "记录人", "事件ID", "数据(JSON)", "前一哈希", "哈希"}

// points is a score as a number (two decimals).
type points float64

func pts(p domain.Points) points { return points(float64(p) / 100) }

func yesNo(b bool) string {
	if b {
		return "是"
	}
	return "否"
}

// sections returns the section codes of the rulebook (or of the cards) in
// order, with their column labels.
func (d *Data) sections() (codes, labels []string) {
	if d.Rulebook != nil {
		for _, s := range d.Rulebook.Sections {
			codes = append(codes, s.Code)
			labels = append(labels, fmt.Sprintf("%s %s(%s)", s.Code, s.Title, s.Value))
		}
		return codes, labels
	}
	seen := map[string]bool{}
	for _, sc := range d.Cards {
		for _, it := range sc.Items {
			if !seen[it.Section] {
				seen[it.Section] = true
				codes = append(codes, it.Section)
				labels = append(labels, "第"+it.Section+"部分")
			}
		}
	}
	return codes, labels
}

func (d *Data) summaryHeader() []string {
	_, labels := d.sections()
	h := append(append([]string(nil), summaryHead...), labels...)
	if d.Grades != nil {
		h = append(h, gradeHead...)
	}
	return append(h, summaryTail...)
}

func vetoText(sc *projections.Scorecard) string {
	var parts []string
	for _, v := range sc.Vetoes {
		parts = append(parts, v.Code+" "+v.Reason)
	}
	return strings.Join(parts, "；")
}

// summaryRow is one organisation's row of the summary.
func (d *Data) summaryRow(rank int, sc *projections.Scorecard) []any {
	codes, _ := d.sections()
	var group any = ""
	if sc.Group != nil {
		group = pts(*sc.Group)
	}
	row := []any{rank, sc.Org, sc.Name, sc.Kind.Label(), pts(sc.Online), group, pts(sc.Final), yesNo(sc.Provisional),
		domain.TierLabel(sc.TierByScore), domain.TierLabel(sc.Tier), vetoText(sc)}
	for _, c := range codes {
		var sum domain.Points
		for _, it := range sc.Items {
			if it.Section == c {
				sum += it.Score
			}
		}
		row = append(row, pts(sum))
	}
	if d.Grades != nil {
		if gs := d.Grades[sc.Org]; len(gs) > 0 {
			g := gs[len(gs)-1]
			kind := "评定"
			if g.Revised() {
				kind = "更正：" + g.Reason
			}
			row = append(row, domain.TierLabel(g.Tier), pts(g.Final), g.RulebookVersion, kind, g.RecordedAt.UTC().Format(ledger.RecordedAtLayout))
		} else {
			row = append(row, "未评定", "", "", "", "")
		}
	}
	return append(row, sc.Rulebook.Version, sc.Rulebook.SHA256, sc.AsOf.String(), sc.KnownAt, int64(sc.LedgerPosition))
}

// itemRows are an organisation's items: one row per deduction, one row
// for an item without any.
func itemRows(sc *projections.Scorecard) [][]any {
	var out [][]any
	for _, it := range sc.Items {
		head := []any{it.Section, it.Code, it.Title, pts(it.Value), pts(it.Score), pts(it.Deducted), yesNo(it.Capped)}
		if len(it.Deductions) == 0 {
			out = append(out, append(head, "", "", "", "", ""))
			continue
		}
		for _, dd := range it.Deductions {
			out = append(out, append(append([]any(nil), head...), dd.Rule, pts(dd.Points), dd.Reason,
				strings.Join(dd.Events, " "), strings.Join(dd.Periods, " ")))
		}
	}
	return out
}

func countRows(sc *projections.Scorecard) [][]any {
	var out [][]any
	for _, it := range sc.Items {
		for _, c := range it.Counts {
			out = append(out, []any{it.Code, c.Rule, c.Label, c.Period, c.Have, c.Need, yesNo(c.Have >= c.Need)})
		}
	}
	return out
}

// maxCellRunes is Excel's limit on the text of one cell.
const maxCellRunes = 32767

func clip(s string) string {
	if len(s) <= maxCellRunes {
		return s
	}
	r := []rune(s)
	if len(r) <= maxCellRunes {
		return s
	}
	return string(r[:maxCellRunes-1]) + "…"
}

// journalRow renders one event; codes maps org streams to codes.
func journalRow(e *ledger.Event, codes map[string]string) []any {
	if e.Type == domain.TypeOrganizationRegistered {
		var v struct {
			Code string `json:"code"`
		}
		if json.Unmarshal(e.Data, &v) == nil {
			codes[e.Stream] = v.Code
		}
	}
	return []any{int64(e.Position), e.Stream, int64(e.Revision), codes[e.Stream], e.Type, domain.TypeLabel(e.Type), e.OccurredOn,
		e.RecordedAt.UTC().Format(ledger.RecordedAtLayout), e.RecordedBy, e.ID.String(), clip(string(e.Data)),
		e.PrevHash.String(), e.Hash.String()}
}

// text renders a cell for CSV.
func text(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case points:
		return strconv.FormatFloat(float64(x), 'f', 2, 64)
	case int:
		return strconv.Itoa(x)
	case int64:
		return strconv.FormatInt(x, 10)
	}
	return fmt.Sprint(v)
}

func parseKnownAt(s string) (time.Time, error) { return time.Parse(projections.KnownAtLayout, s) }
