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
	"fmt"
	"iter"
	"slices"
	"strconv"
	"strings"
	"time"

	"partyledger/domain"
	"partyledger/projections"
	"partyledger/projections/scoreboard"
)

// Data is what an export holds.
type Data struct {
	Year int
	// Cards are the scorecards of every organisation, in the order the
	// summary lists them (Collect ranks them). Data from CollectRanking
	// has none: it holds a row per organisation instead, and its
	// scorecards are scored again, a chunk at a time, as they are written.
	Cards []*projections.Scorecard
	// Rulebook is the rulebook the cards were scored under (section
	// titles); nil labels sections by number.
	Rulebook *domain.Rulebook
	// Grades are the official grades by organisation code, each list in
	// recorded order; nil leaves the grade columns out.
	Grades map[string][]domain.Grade
	// Journal yields the events of the journal sheet in recorded order, in
	// export form; nil leaves it out. Source.Journal gives the events a
	// year's audit needs.
	Journal iter.Seq2[domain.JournalLine, error]

	// From CollectRanking: the ranking, and the board and context that
	// score its scorecards again (Cards is nil).
	ranked *scoreboard.Ranking
	board  *scoreboard.Board
	ctx    context.Context
	// sections, once computed from the scorecards (no rulebook).
	secCodes, secLabels []string
}

// Source is what an export reads beside the scores; *books.Books
// implements it over a real store.
type Source interface {
	// Now is the ledger's clock: the default known_at.
	Now() time.Time
	// RulebookAt returns the version in force at knownAt, or the named one.
	RulebookAt(ctx context.Context, year int, knownAt time.Time, version string) (*domain.Rulebook, error)
	// Grades returns the official grades of year by organisation code.
	Grades(ctx context.Context, year int) (map[string][]domain.Grade, error)
	// Journal yields, in recorded order, the events an audit of year
	// needs (domain.InYearJournal), in export form.
	Journal(ctx context.Context, year int) iter.Seq2[domain.JournalLine, error]
}

// Collect scores every organisation of q.Year as q says (ranked, as
// `score --all` does) and gathers the grades and the journal of the year.
// The journal is read lazily, when the export is written. It holds every
// scorecard (about 76 KB each); CollectRanking writes the same export
// without.
func Collect(ctx context.Context, board *scoreboard.Board, src Source, q scoreboard.Query) (*Data, error) {
	if q.Under == "" {
		q.Under = scoreboard.AllOrgs // an export covers every organisation unless asked otherwise
	}
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
	if err := d.gather(ctx, src, version, k); err != nil {
		return nil, err
	}
	return d, nil
}

// gather adds to d the rulebook of the scorecards (version as known at k;
// now when k is zero), the year's grades and its journal (read when the
// export is written).
func (d *Data) gather(ctx context.Context, src Source, version string, k time.Time) error {
	if k.IsZero() {
		k = src.Now()
	}
	if rb, err := src.RulebookAt(ctx, d.Year, k, version); err == nil {
		d.Rulebook = rb
	}
	var err error
	if d.Grades, err = src.Grades(ctx, d.Year); err != nil {
		return err
	}
	d.Journal = src.Journal(ctx, d.Year)
	return nil
}

// CollectRanking gathers what Collect gathers, but holds a row per
// organisation (scoreboard.Board.Rank) instead of its scorecard (about
// 76 KB in memory: 14 GiB for a province): the writers score the
// scorecards again, a chunk at a time (scoreboard.Board.Cards), as they
// write the summary, the items and counts, and the organisations' sheets,
// and write the same bytes as from Collect's (a test checks). ctx is kept
// for that scoring, as for reading the journal.
func CollectRanking(ctx context.Context, board *scoreboard.Board, src Source, q scoreboard.Query) (*Data, error) {
	if q.Under == "" {
		q.Under = scoreboard.AllOrgs // an export covers every organisation unless asked otherwise
	}
	rk, err := board.Rank(ctx, q)
	if err != nil {
		return nil, err
	}
	d := &Data{Year: q.Year, ranked: rk, board: board, ctx: ctx}
	// The rulebook as Collect finds it: the scorecards' version, as known
	// at their K.
	version, k := q.Rulebook, q.KnownAt
	if len(rk.Rows) > 0 {
		version, k = rk.Rulebook.Version, rk.Query.KnownAt
	}
	if err := d.gather(ctx, src, version, k); err != nil {
		return nil, err
	}
	return d, nil
}

// Orgs returns the number of organisations the export covers.
func (d *Data) Orgs() int {
	if d.ranked != nil {
		return len(d.ranked.Rows)
	}
	return len(d.Cards)
}

// eachCard calls fn with each organisation's scorecard and its index in
// the ranking order (byCode: in code order), until fn's first error.
func (d *Data) eachCard(byCode bool, fn func(i int, sc *projections.Scorecard) error) error {
	if d.ranked == nil {
		cards := d.Cards
		if byCode {
			cards = slices.Clone(cards)
			slices.SortFunc(cards, func(a, b *projections.Scorecard) int { return strings.Compare(a.Org, b.Org) })
		}
		for i, sc := range cards {
			if err := fn(i, sc); err != nil {
				return err
			}
		}
		return nil
	}
	rows := d.ranked.Rows
	if byCode {
		rows = slices.Clone(rows)
		slices.SortFunc(rows, func(a, b scoreboard.Row) int { return strings.Compare(a.Org, b.Org) })
	}
	i := 0
	return d.board.Cards(d.ctx, d.ranked, rows, func(sc *projections.Scorecard) error {
		err := fn(i, sc)
		i++
		return err
	})
}

// first returns what the first scorecard says of how all were scored:
// the rulebook, D and K; ok is false when there is none.
func (d *Data) first() (rb projections.RulebookRef, asOf domain.Date, knownAt string, ok bool) {
	switch {
	case d.ranked != nil && len(d.ranked.Rows) > 0:
		return d.ranked.Rulebook, d.ranked.AsOf, d.ranked.KnownAt, true
	case d.ranked == nil && len(d.Cards) > 0:
		return d.Cards[0].Rulebook, d.Cards[0].AsOf, d.Cards[0].KnownAt, true
	}
	return rb, asOf, knownAt, false
}

// tiers counts the organisations by tier.
func (d *Data) tiers() map[string]int {
	out := map[string]int{}
	if d.ranked != nil {
		for i := range d.ranked.Rows {
			out[d.ranked.Rows[i].Tier]++
		}
		return out
	}
	for _, sc := range d.Cards {
		out[sc.Tier]++
	}
	return out
}

// Column sets and labels.

var summaryHead = []string{"名次", "组织代码", "组织名称", "类型", "网上考核", "分组考评", "最终得分", "是否暂定", "按分数等次", "等次", "否决"}

var summaryTail = []string{"细则版本", "细则SHA-256", "截至日期", "知悉于(UTC)", "台账位置"}

var gradeHead = []string{"正式等次", "正式得分", "评定细则版本", "评定记录", "评定时间(北京时间)", "与计算结果", "改定理由", "评定时账本检查点"}

var itemsHead = []string{"部分", "项目代码", "项目名称", "分值", "得分", "扣分合计", "是否封顶", "规则", "扣分", "扣分原因", "依据事件", "涉及期间"}

var countsHead = []string{"项目代码", "规则", "计数项", "期间", "实有", "应有", "是否达标"}

// journalHead are the journal's columns: what people read first (the
// Chinese type and content, dates, CST times, who recorded it, whether it
// was back-filled: 补录), then what
// a machine or a verifier needs (the type name, stream, revision, the
// data as stored, in fen), the hashes last.
var journalHead = []string{"全局位置", "组织代码", "事件类型", "内容", "发生日期", "记录时间(北京时间)", "记录人", "补录", "事件ID",
	"类型代码", "流", "流内版本", "数据(JSON)", "前一哈希", "哈希"}

// cstLayout is how times are shown to people: China Standard Time, to the
// second (the journal's recorded_at, grade times).
const cstLayout = "2006-01-02 15:04:05"

// cst renders a ledger instant (domain.InstantLayout, UTC) in CST; text it
// cannot parse is shown as it is.
func cst(instant string) string {
	t, err := time.Parse(domain.InstantLayout, instant)
	if err != nil {
		return instant
	}
	return t.In(domain.CST).Format(cstLayout)
}

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
	if d.ranked != nil && d.secCodes != nil {
		return d.secCodes, d.secLabels
	}
	seen := map[string]bool{}
	_ = d.eachCard(false, func(_ int, sc *projections.Scorecard) error {
		for _, it := range sc.Items {
			if !seen[it.Section] {
				seen[it.Section] = true
				codes = append(codes, it.Section)
				labels = append(labels, "第"+it.Section+"部分")
			}
		}
		return nil
	})
	if d.ranked != nil {
		// Scored once, not for every row; a failure to score shows in
		// the writer's own pass over the scorecards.
		if codes == nil {
			codes = []string{} // computed, and none
		}
		d.secCodes, d.secLabels = codes, labels
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
			row = append(row, domain.TierLabel(g.Tier), pts(g.Final), g.RulebookVersion, kind, g.RecordedAt.In(domain.CST).Format(cstLayout),
				gradeCheck(&g, sc), g.OverrideReason, checkpointText(g.Checkpoint))
		} else {
			row = append(row, "未评定")
			for range gradeHead[1:] {
				row = append(row, "")
			}
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

// gradeCheck says whether an official grade agrees with the scorecard it
// is shown beside: the same final score, and the scorecard's tier (an
// eligible organisation graded 达标 agrees: 先进 needs a designation).
func gradeCheck(g *domain.Grade, sc *projections.Scorecard) string {
	if g.Final == sc.Final && (g.Tier == sc.Tier || (sc.Tier == domain.TierAdvanced && g.Tier == domain.TierCompliant)) {
		return "一致"
	}
	if g.OverrideReason == "" {
		return fmt.Sprintf("不一致（计算 %s 分 %s），无改定理由", sc.Final, domain.TierLabel(sc.Tier))
	}
	return fmt.Sprintf("不一致（计算 %s 分 %s），已说明改定理由", sc.Final, domain.TierLabel(sc.Tier))
}

// lateText is the 补录 cell of a journal row: an organisation's own entry
// recorded more than days after it occurred, with both dates.
func lateText(e *domain.JournalLine, days int) string {
	on, err := domain.ParseDate(e.OccurredOn)
	if err != nil {
		return ""
	}
	at, err := parseKnownAt(e.RecordedAt)
	if err != nil || !domain.IsLateEntry(e.Type, on, at, days) {
		return ""
	}
	return fmt.Sprintf("补录：发生 %s，登记 %s，晚 %d 天", on, domain.DateOf(at), domain.LateDays(on, at))
}

// journalRow renders one event of the journal (journalHead). names has
// learnt the members of every MemberJoined before e: the journal is read
// in recorded order, so a member's name is known by the time it is used.
func (d *Data) journalRow(e *domain.JournalLine, names *domain.MemberNames) []any {
	names.Learn(e.Org, e.Type, e.Data)
	late := lateText(e, domain.LateEntryDaysOf(d.Rulebook))
	var rev, pos int64
	if e.Revision != nil {
		rev = int64(*e.Revision)
	}
	if e.Position != nil {
		pos = int64(*e.Position)
	}
	return []any{pos, e.Org, domain.TypeLabel(e.Type), domain.Summary(e.Type, e.Data, names.Of(e.Org)), e.OccurredOn,
		cst(e.RecordedAt), e.RecordedBy, late, e.ID, e.Type, e.Stream, rev, clip(string(e.Data)), e.PrevHash, e.Hash}
}

// text renders a cell for CSV. A text cell that a spreadsheet would
// take for a formula (=, +, -, @, or a tab or carriage return before
// one) is prefixed with an apostrophe, so that opening an export never
// runs what a recorded title says (CSV injection); numbers are written as
// they are.
func text(v any) string {
	switch x := v.(type) {
	case string:
		if x != "" && strings.ContainsRune("=+-@\t\r", rune(x[0])) {
			return "'" + x
		}
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

// checkpointText shows the log tree a grade was computed at: a signed
// checkpoint of that size and root proves what the grade rests on.
func checkpointText(c *domain.GradeCheckpoint) string {
	if c == nil {
		return ""
	}
	return fmt.Sprintf("%d 个事件，根 %s", c.Size, c.Root)
}
