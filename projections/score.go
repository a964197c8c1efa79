package projections

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"partyledger/domain"
)

// Query says what to score: the assessment Year, as of the date AsOf (D)
// and as known at the instant KnownAt (K).
type Query struct {
	Year int
	// AsOf is D: events with occurred_on after it do not count; periods
	// are judged once closed by it. The zero Date means December 31 of
	// Year, and a later date is taken as December 31.
	AsOf domain.Date
	// KnownAt is K: only events recorded at or before it count, and a
	// retraction counts from its recorded_at on. Required: projections
	// read no clock, so "now" is the caller's to give.
	KnownAt time.Time
	// LedgerPosition is the ledger position the facts were folded up to;
	// it is reported in the scorecard unchanged.
	LedgerPosition uint64
	// Schedule is the work committee's schedule (rule 2.7); nil means no
	// event was scheduled.
	Schedule *Schedule
}

// Errors of Score.
var (
	// ErrNotRegistered: the facts hold no OrganizationRegistered known at K.
	ErrNotRegistered = errors.New("projections: organisation not registered")
	// ErrBadQuery: the query is incomplete or out of range.
	ErrBadQuery = errors.New("projections: bad query")
	// ErrNotFounded: the organisation was founded after D (its
	// founded_on is later than the as_of date, or in a later year): it is
	// not scored at all. The error is a *NotFoundedError.
	ErrNotFounded = errors.New("projections: organisation not founded yet")
)

// NotFoundedError is returned by Score and Missing for an organisation
// whose founded_on is after D (RUBRIC.md: before founded_on the
// organisation is not scored at all). AsOf is the D judged (capped at the
// year's last day). It matches ErrNotFounded with errors.Is.
type NotFoundedError struct {
	Code      string
	FoundedOn domain.Date
	AsOf      domain.Date
}

func (e *NotFoundedError) Error() string {
	return fmt.Sprintf("%s 尚未成立（%s 成立），截至 %s 不评分 / %s is not founded yet: founded on %s, after as_of %s",
		e.Code, e.FoundedOn, e.AsOf, e.Code, e.FoundedOn, e.AsOf)
}

// Unwrap makes errors.Is(err, ErrNotFounded) hold.
func (e *NotFoundedError) Unwrap() error { return ErrNotFounded }

// KnownAtLayout is the form of Scorecard.KnownAt: UTC, microseconds, the
// ledger's recorded_at form.
const KnownAtLayout = domain.InstantLayout

// Score scores one organisation's facts for q.Year under rulebook rb, as
// of q.AsOf and as known at q.KnownAt. It is a pure function: the same
// facts, rulebook and query give the same Scorecard, and json.Marshal of
// it gives the same bytes.
//
// The rulebook must be valid (it is validated once per rulebook and then
// cached by pointer; do not modify a rulebook after use). Score returns
// ErrNotRegistered when the organisation is not registered at K, a
// *NotFoundedError (ErrNotFounded) when it was founded after D,
// ErrBadQuery for a missing KnownAt or a year out of range, and an error
// for an invalid rulebook.
func Score(f *Facts, rb *domain.Rulebook, q Query) (*Scorecard, error) {
	p, err := planFor(rb)
	if err != nil {
		return nil, err
	}
	v, err := newView(f, p, q)
	if err != nil {
		return nil, err
	}
	return v.score(), nil
}

// view is one scoring of one organisation: the facts seen through
// (D, K), with the results several rules share.
type view struct {
	f      *Facts
	p      *plan
	rb     *domain.Rulebook
	q      Query
	year   int
	d      day
	k      int64
	hidden []bool // events retracted as known at K; nil when none
	reg    *registration
	yp     *yearPeriods

	yearStart, yearEnd day
	yearClosed         bool

	// founded is founded_on when it falls in the assessment year (0
	// otherwise): periods that began before it are not judged and yearly
	// minimums scale to the months left (foundedMonths).
	founded       day
	foundedMonths int

	dues *duesResult // memoised by duesState
	term *termResult // memoised by termState

	leaders   []leaderTally // memoised by leadersOn
	leaderPos []int32

	dLabel string    // D as text, memoised by dText
	ever   [1]period // the one period of PeriodEver (judged)

	// Arenas: the counts and deductions of all items share two backing
	// arrays (each item's slices are clipped), which saves most of the
	// allocations of a scorecard.
	counts []Count
	deds   []Deduction
}

func newView(f *Facts, p *plan, q Query) (*view, error) {
	v, err := openView(f, p, q)
	if err != nil {
		return nil, err
	}
	v.counts, v.deds = make([]Count, 0, 128), make([]Deduction, 0, 16)
	return v, nil
}

// openView is newView without the arenas scoring needs: what the query
// sees of the organisation (its registration, founding, retractions).
func openView(f *Facts, p *plan, q Query) (*view, error) {
	if f == nil {
		return nil, fmt.Errorf("%w: no facts", ErrBadQuery)
	}
	if q.Year < domain.DateMin.Year || q.Year > domain.DateMax.Year {
		return nil, fmt.Errorf("%w: year %d is outside %d..%d", ErrBadQuery, q.Year, domain.DateMin.Year, domain.DateMax.Year)
	}
	if q.KnownAt.IsZero() {
		return nil, fmt.Errorf("%w: known_at is required", ErrBadQuery)
	}
	end := domain.YearEnd(q.Year)
	d := q.AsOf
	if d.IsZero() || d.After(end) {
		d = end
	}
	v := &view{f: f, p: p, rb: p.rb, q: q, year: q.Year, d: dayOf(d), k: q.KnownAt.UnixNano(), yp: periodsOf(q.Year)}
	v.yearStart, v.yearEnd = v.yp.year.start, v.yp.year.end
	v.yearClosed = v.d == v.yearEnd
	// A retraction can only cite an earlier event, so walking them from
	// the newest lets a retracted retraction lose its effect first.
	for i := len(f.retracts) - 1; i >= 0; i-- {
		r := f.retracts[i]
		if !v.visible(r.ev) {
			continue
		}
		if v.hidden == nil {
			v.hidden = make([]bool, len(f.evs))
		}
		v.hidden[r.target] = true
	}
	for i := len(f.regs) - 1; i >= 0; i-- {
		if v.visible(f.regs[i].ev) {
			v.reg = &f.regs[i]
			break
		}
	}
	if v.reg == nil {
		return nil, fmt.Errorf("%w: %s as known at %s", ErrNotRegistered, f.code, q.KnownAt.UTC().Format(KnownAtLayout))
	}
	if fo := v.reg.founded; fo != 0 {
		if fo > v.d {
			return nil, &NotFoundedError{Code: f.code, FoundedOn: fo.date(), AsOf: d}
		}
		if fo.year() == v.year {
			v.founded = fo
			// M: the months of the year whose first day is on or after
			// founded_on.
			v.foundedMonths = 12 - fo.month()
			if fo%100 == 1 {
				v.foundedMonths++
			}
		}
	}
	q.AsOf = d
	v.q = q
	return v, nil
}

// dText returns D as text ("2016-12-31"), formatted once a view.
func (v *view) dText() string {
	if v.dLabel == "" {
		v.dLabel = v.d.String()
	}
	return v.dLabel
}

// visible: recorded by K and not retracted as known at K.
func (v *view) visible(ev int32) bool {
	return v.f.evs[ev].at <= v.k && (v.hidden == nil || !v.hidden[ev])
}

// upTo: visible and occurred on or before d.
func (v *view) upTo(ev int32, d day) bool { return v.f.evs[ev].day <= d && v.visible(ev) }

// inYear: visible and occurred in the assessment year, on or before D.
func (v *view) inYear(ev int32) bool {
	on := v.f.evs[ev].day
	return on >= v.yearStart && on <= v.d && v.visible(ev)
}

// ids returns the id texts of evs in recorded order, each once; never nil.
func (v *view) ids(evs []int32) []string {
	slices.Sort(evs)
	evs = slices.Compact(evs)
	out := make([]string, len(evs))
	for i, ev := range evs {
		out[i] = v.f.idText(ev)
	}
	return out
}

func (v *view) score() *Scorecard {
	rb := v.rb
	sc := &Scorecard{
		Org:            v.f.code,
		Year:           v.year,
		AsOf:           v.q.AsOf,
		KnownAt:        v.q.KnownAt.UTC().Format(KnownAtLayout),
		Rulebook:       RulebookRef{Version: rb.Version, SHA256: v.p.sha},
		LedgerPosition: v.q.LedgerPosition,
		Vetoes:         []Veto{},
		Items:          make([]Item, 0, len(v.p.items)),
		Name:           v.reg.name,
		Kind:           v.reg.kind,
		ParentCode:     v.reg.parent,
	}
	if v.founded != 0 {
		sc.Founding = &Founding{FoundedOn: v.founded.date(), Months: v.foundedMonths, Reason: v.foundingReason()}
	}
	findings := v.findingsByItem()
	online := rb.Total
	for i := range v.p.items {
		ip := &v.p.items[i]
		it := ip.it
		nc, nd := len(v.counts), len(v.deds)
		// The item is built in place: a local one would escape to the
		// heap through the rule table's indirect calls, one allocation an
		// item.
		sc.Items = append(sc.Items, Item{Code: it.Code, Value: it.Value, Counts: v.counts[nc:nc], Deductions: v.deds[nd:nd], Title: it.Title, Section: it.Section})
		item := &sc.Items[len(sc.Items)-1]
		if it.AppliesTo(v.reg.kind) {
			for j := range ip.rules {
				if rp := &ip.rules[j]; rp.r.AppliesTo(v.reg.kind, v.reg.hasGroups) {
					v.rule(rp, item)
				}
			}
			v.findings(it, findings[it.Code], item)
		}
		v.counts, item.Counts = claim(v.counts, item.Counts)
		v.deds, item.Deductions = claim(v.deds, item.Deductions)
		for _, d := range item.Deductions {
			item.Deducted += d.Points
		}
		lost := min(item.Deducted, it.Value)
		item.Capped = item.Deducted > it.Value
		item.Score = it.Value - lost
		online -= lost
	}
	for code, fs := range findings {
		if rb.Item(code) == nil {
			evs := make([]int32, len(fs))
			for i, fd := range fs {
				evs[i] = fd.ev
			}
			sc.Ignored = append(sc.Ignored, Note{Rule: code, Reason: fmt.Sprintf("本版细则（%s）没有考核项目 %s，该考核发现不计分", rb.Version, code), Events: v.ids(evs)})
		}
	}
	slices.SortFunc(sc.Ignored, func(a, b Note) int { return strings.Compare(a.Rule, b.Rule) })

	sc.Online = online
	sc.Final = online
	sc.Provisional = true
	for i := len(v.f.groups) - 1; i >= 0; i-- {
		g := &v.f.groups[i]
		if int(g.year) == v.year && v.assessed(g.ev) {
			score := g.score
			sc.Group = &score
			sc.GroupEvent = v.f.idText(g.ev)
			sc.Final = rb.Final(online, score)
			sc.Provisional = false
			break
		}
	}
	sc.Rejected, sc.Late = v.rejected(), v.late()
	sc.TierByScore = rb.TierOf(sc.Final)
	sc.Tier = sc.TierByScore
	for i := range rb.Vetoes {
		vt := &rb.Vetoes[i]
		fired, reason, evs := v.veto(vt)
		if !fired {
			continue
		}
		sc.Vetoes = append(sc.Vetoes, Veto{Code: vt.Code, Reason: reason, Events: v.ids(evs), TierMax: vt.TierMax})
		if rb.TierRank(sc.Tier) < rb.TierRank(vt.TierMax) {
			sc.Tier = vt.TierMax
		}
	}
	return sc
}

// claim takes part, appended to from the end of arena, out of the arena:
// it returns the arena grown by part (unless part outgrew it into an array
// of its own) and part clipped, so that appending to it copies.
func claim[T any](arena, part []T) ([]T, []T) {
	n := len(arena)
	if len(part) > 0 && cap(part) == cap(arena)-n && n+len(part) <= cap(arena) && &arena[:n+1][n] == &part[0] {
		arena = arena[:n+len(part)]
	}
	return arena, slices.Clip(part)
}

// assessed reports whether an assessment event (a finding or a group
// score naming the year) counts at (D, K): known at K, and occurred on or
// before D unless D is the year's last day, when the assessments made
// after the year closed count too.
func (v *view) assessed(ev int32) bool {
	return v.visible(ev) && (v.yearClosed || v.f.evs[ev].day <= v.d)
}

// findingsByItem returns the year's findings that count at (D, K) (see
// assessed), by item code, in recorded order.
func (v *view) findingsByItem() map[string][]*finding {
	var out map[string][]*finding
	for i := range v.f.findings {
		fd := &v.f.findings[i]
		if int(fd.year) != v.year || !v.assessed(fd.ev) {
			continue
		}
		if out == nil {
			out = map[string][]*finding{}
		}
		out[fd.item] = append(out[fd.item], fd)
	}
	return out
}

// findings adds an item's findings: one deduction per finding code, in the
// rulebook's order. A finding the rulebook does not allow is listed in
// Ignored; of a code that is not per case only the latest recorded counts.
func (v *view) findings(it *domain.RuleItem, fs []*finding, item *Item) {
	if len(fs) == 0 {
		return
	}
	type counted struct {
		fd  *finding
		pts domain.Points
	}
	byCode := map[string][]counted{}
	for _, fd := range fs {
		pts, err := v.rb.CheckFinding(fd.item, fd.code, fd.points)
		if err != nil {
			item.Ignored = append(item.Ignored, Note{Rule: it.Code + "." + fd.code,
				Reason: fmt.Sprintf("该考核发现不符合本版细则（%s），不计分：%s", v.rb.Version, findingProblem(err, it, fd)),
				Events: []string{v.f.idText(fd.ev)}})
			continue
		}
		byCode[fd.code] = append(byCode[fd.code], counted{fd, pts})
	}
	for i := range it.Findings {
		fr := &it.Findings[i]
		cs := byCode[fr.Code]
		if len(cs) == 0 {
			continue
		}
		rule := it.Code + "." + fr.Code
		if !fr.PerCase && len(cs) > 1 {
			for _, c := range cs[:len(cs)-1] {
				item.Ignored = append(item.Ignored, Note{Rule: rule, Reason: "同一考核发现以最后记录的一次为准，此条已被取代",
					Events: []string{v.f.idText(c.fd.ev)}})
			}
			cs = cs[len(cs)-1:]
		}
		d := Deduction{Rule: rule}
		reasons := make([]string, 0, len(cs))
		evs := make([]int32, 0, len(cs))
		for _, c := range cs {
			d.Points += c.pts
			reasons = append(reasons, c.fd.reason)
			evs = append(evs, c.fd.ev)
		}
		d.Reason = fmt.Sprintf("考核发现：%s（%s）", fr.Label, strings.Join(reasons, "；"))
		if fr.PerCase && len(cs) > 1 {
			d.Reason = fmt.Sprintf("考核发现：%s，共%d例（%s）", fr.Label, len(cs), strings.Join(reasons, "；"))
		}
		d.Events = v.ids(evs)
		item.Deductions = append(item.Deductions, d)
	}
}

// findingProblem says in Chinese why CheckFinding refused a finding.
func findingProblem(err error, it *domain.RuleItem, fd *finding) string {
	fe := domain.FieldErrors(err)[0]
	switch fe.Field {
	case "data.finding":
		return fmt.Sprintf("考核项目 %s 没有考核发现 %s", it.Code, fd.code)
	case "data.points":
		f := it.Finding(fd.code)
		given := "未给出扣分"
		if fd.points != nil {
			given = "扣" + fd.points.String() + "分"
		}
		if f.IsRange() {
			return fmt.Sprintf("%s，本版细则规定扣%s至%s分（以0.5分为单位）", given, f.Min, f.Max)
		}
		return fmt.Sprintf("%s，本版细则规定固定扣分", given)
	}
	return fe.Reason
}

// veto reports whether a veto fires, why, and on which events.
func (v *view) veto(vt *domain.VetoRule) (bool, string, []int32) {
	switch vt.Kind {
	case domain.VetoViolation:
		var evs []int32
		var cases []string
		for i := range v.f.cases {
			c := &v.f.cases[i]
			if !c.handled && c.severity == vt.Severity && c.impact == vt.Impact && v.inYear(c.ev) {
				evs = append(evs, c.ev)
				cases = append(cases, fmt.Sprintf("案件%s（%s，%s）", c.caseID, c.person, v.f.evs[c.ev].day))
			}
		}
		if len(evs) == 0 {
			return false, "", nil
		}
		return true, vt.Reason + "：" + strings.Join(cases, "、"), evs
	case domain.VetoTermOverdue:
		t := v.termState()
		if !t.known {
			return false, "", nil
		}
		limit := t.expiry.addYears(vt.OverdueMoreThanYears)
		if v.d <= limit {
			return false, "", nil
		}
		evs := []int32{t.ev}
		if t.ext >= 0 {
			evs = append(evs, t.ext)
		}
		return true, fmt.Sprintf("%s：%s，至 %s 超过 %d 年未换届", vt.Reason, v.expiryText(t), v.d, vt.OverdueMoreThanYears), evs
	case domain.VetoDues:
		dr := v.duesState()
		if len(dr.late) == 0 && len(dr.short) == 0 {
			return false, "", nil
		}
		var parts []string
		if len(dr.late) > 0 {
			parts = append(parts, "不按时交纳："+v.duesSummary(dr.late))
		}
		if len(dr.short) > 0 {
			parts = append(parts, "不足额交纳："+v.duesSummary(dr.short))
		}
		return true, vt.Reason + "：" + strings.Join(parts, "；"), append(dr.events(dr.late), dr.events(dr.short)...)
	}
	return false, "", nil
}

// rejected lists the rejections in force at K of entries that occurred in
// the year, in recorded order.
func (v *view) rejected() []Rejection {
	var out []Rejection
	for _, r := range v.f.retracts {
		if !r.reject || !v.visible(r.ev) {
			continue
		}
		if on := v.f.evs[r.target].day; on < v.yearStart || on > v.yearEnd {
			continue
		}
		out = append(out, Rejection{EventID: v.f.idText(r.target), OccurredOn: v.f.evs[r.target].day.date(), Reason: r.reason,
			RejectedBy: v.f.idText(r.ev), RejectedAt: time.Unix(0, v.f.evs[r.ev].at).UTC().Format(KnownAtLayout)})
	}
	return out
}

// late lists the organisation's own entries that count (occurred in the
// year by D, visible at K) and were recorded more than the rulebook's
// late_entry_days after they occurred, in recorded order.
//
// A year imported after the fact has every entry late (hundreds an
// organisation), so this is most of the work of scoring such a year. Two
// passes: the first counts the entries and the length of their texts, the
// second builds them with every id and recorded_at cut from one string,
// written once into a builder of the exact size.
func (v *view) late() []LateEntry {
	days := domain.LateEntryDaysOf(v.rb)
	isLate := func(i int) (int, bool) {
		ev := int32(i)
		if v.f.others[ev] || !v.inYear(ev) {
			return 0, false
		}
		m := &v.f.evs[i]
		n := lateDays(m.day, m.at)
		return n, n > days
	}
	count, size := 0, 0
	var scratch [64]byte
	for i := range v.f.evs {
		if _, ok := isLate(i); ok {
			count++
			size += len(v.lateID(scratch[:0], int32(i))) + len(appendInstant(scratch[:0], v.f.evs[i].at))
		}
	}
	if count == 0 {
		return nil
	}
	var text strings.Builder
	text.Grow(size)
	out := make([]LateEntry, 0, count)
	ends := make([]int32, 0, 2*count) // where each entry's id and recorded_at end in text
	for i := range v.f.evs {
		n, ok := isLate(i)
		if !ok {
			continue
		}
		text.Write(v.lateID(scratch[:0], int32(i)))
		ends = append(ends, int32(text.Len()))
		text.Write(appendInstant(scratch[:0], v.f.evs[i].at))
		ends = append(ends, int32(text.Len()))
		out = append(out, LateEntry{OccurredOn: v.f.evs[i].day.date(), Days: n})
	}
	all := text.String()
	start := int32(0)
	for k := range out {
		out[k].EventID, out[k].RecordedAt = all[start:ends[2*k]], all[ends[2*k]:ends[2*k+1]]
		start = ends[2*k+1]
	}
	return out
}

// lateID appends the text of ev's id to b (idText without its allocation
// for a canonical id).
func (v *view) lateID(b []byte, ev int32) []byte {
	if s, odd := v.f.oddIDs[ev]; odd {
		return append(b, s...)
	}
	return appendUUID(b, v.f.evs[ev].id)
}
