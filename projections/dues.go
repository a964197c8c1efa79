package projections

import (
	"fmt"
	"slices"
	"strings"

	"partyledger/domain"
)

// duesResult is the dues judgement of the year at D (2.5 and V3), shared
// by the dues_late and dues_short rules and the dues veto.
type duesResult struct {
	months []duesMonth
	remits []duesQuarter
	late   []duesIssue
	short  []duesIssue
}

type duesMonth struct {
	label  string
	owing  int // members who owe dues for the month
	onTime int // of them, not late: paid in full by the due date, or part by then and no more
	full   int // of them, paid in total at least the expected amount by D
}

type duesQuarter struct {
	label string
	ok    bool
}

// duesIssue is one late or short month of one member, or one late
// remittance. A reason spells out only the first few issues
// (maxIssuesInReason), so a member's issue keeps what its text needs and
// is put into words (text) only when a reason shows it: a year of unpaid
// dues has hundreds.
type duesIssue struct {
	period string // "2016-03" or "2016-Q1"
	what   string // the text, Chinese: a remittance's from the start, a member's once issueText made it
	evs    []int32

	kind             issueKind
	m                *member
	name             string // the member's name on the month's last day
	due, firstLate   day
	want, byDue, byD domain.Fen
}

// issueKind says which text a member's duesIssue has.
type issueKind uint8

const (
	issueRemit      issueKind = iota // what is the text
	issueUnpaid                      // late: nothing paid by D
	issuePartlyLate                  // late: part paid by the due date, the rest after
	issueLate                        // late: paid after the due date
	issueShort                       // short: less than expected paid by D
)

// issueText returns the issue in Chinese, for a reason: formatted on the
// first call (a rule's reason and the veto's show the same issues) and
// kept in what.
func (v *view) issueText(is *duesIssue) string {
	if is.what != "" {
		return is.what
	}
	name := who(is.m, memberAt{name: is.name})
	switch is.kind {
	case issueUnpaid:
		is.what = fmt.Sprintf("%s %s 党费截至 %s 未交纳", name, is.period, v.d)
	case issuePartlyLate:
		is.what = fmt.Sprintf("%s %s 党费部分逾期补交：应于 %s 前交纳%s，按时交纳%s，%s 起补交%s",
			name, is.period, is.due, fen(is.want), fen(is.byDue), is.firstLate, fen(is.byD-is.byDue))
	case issueLate:
		is.what = fmt.Sprintf("%s %s 党费应于 %s 前交纳，%s 才交纳", name, is.period, is.due, is.firstLate)
	default:
		is.what = fmt.Sprintf("%s %s 党费应交%s，截至 %s 实交%s", name, is.period, fen(is.want), v.d, fen(is.byD))
	}
	return is.what
}

// maxIssuesInReason bounds how many issues a reason spells out.
const maxIssuesInReason = 5

func (v *view) duesSummary(issues []duesIssue) string {
	parts := make([]string, 0, maxIssuesInReason)
	for i := range issues {
		if i == maxIssuesInReason {
			break
		}
		parts = append(parts, v.issueText(&issues[i]))
	}
	s := strings.Join(parts, "；")
	if len(issues) > maxIssuesInReason {
		s += fmt.Sprintf("等，共%d项", len(issues))
	}
	return s
}

func (dr *duesResult) events(issues []duesIssue) []int32 {
	var out []int32
	for _, is := range issues {
		out = append(out, is.evs...)
	}
	return out
}

func fen(f domain.Fen) string { return fmt.Sprintf("%d.%02d元", f/100, f%100) }

// duesState judges the dues of the year at D (RUBRIC.md 2.5, rev. 2):
// every member owes, for each month at whose last day they belong to the
// organisation, the amount the rate table gives for their income in force
// that day. A month is judged once its due date (last day +
// dues_grace_days) is at or before D, and not when it began before the
// organisation was founded. With byDue what was paid for it by the due
// date and byD what was paid by D: late when byDue is below the expected
// amount and either byD exceeds byDue (the rest came after the due date)
// or nothing was paid at all; short when byD is below the expected
// amount. So nothing paid is late and short, half on time and half after
// is late. Each quarter's remittance is due by its last day (+
// remittance_grace_days); a judged quarter without one by then is late.
func (v *view) duesState() *duesResult {
	if v.dues != nil {
		return v.dues
	}
	dr := &duesResult{}
	v.dues = dr
	sched := v.rb.Dues
	if sched == nil {
		return dr
	}
	var due [13]day // by month
	var judgedBuf [12]period
	judged := judgedBuf[:0]
	for _, p := range v.yp.months {
		due[p.n] = p.end.addDays(sched.GraceDays)
		if due[p.n] <= v.d && !v.notJudged(p) {
			judged = append(judged, p)
		}
	}
	if len(judged) > 0 {
		dr.months = make([]duesMonth, len(judged))
		for i, p := range judged {
			dr.months[i].label = p.label
		}
		for mi := range v.f.members {
			v.memberDues(&v.f.members[mi], judged, &due, dr)
		}
	}
	for _, p := range v.yp.quarters {
		due := p.end.addDays(sched.RemittanceGraceDays)
		if due > v.d {
			break
		}
		if v.notJudged(p) {
			continue
		}
		ok := false
		var late []int32
		for _, r := range v.f.remits {
			if int(r.year) != v.year || int(r.quarter) != p.n || !v.upTo(r.ev, v.d) {
				continue
			}
			if v.f.evs[r.ev].day <= due {
				ok = true
			} else {
				late = append(late, r.ev)
			}
		}
		dr.remits = append(dr.remits, duesQuarter{label: p.label, ok: ok})
		switch {
		case ok:
		case len(late) > 0:
			dr.late = append(dr.late, duesIssue{period: p.label, what: fmt.Sprintf("%s 党费应于 %s 前上缴，%s 才上缴", p.label, due, v.f.evs[late[0]].day), evs: late})
		default:
			dr.late = append(dr.late, duesIssue{period: p.label, what: fmt.Sprintf("%s 党费截至 %s 未上缴", p.label, v.d)})
		}
	}
	return dr
}

// monthPaid is what one member paid for one month.
type monthPaid struct {
	byDue, byD domain.Fen
	firstLate  day // the first payment after the due date (0: none)
}

// memberDues judges one member's judged months into dr.
func (v *view) memberDues(m *member, judged []period, due *[13]day, dr *duesResult) {
	if len(m.roster) == 0 {
		return
	}
	var sums [13]monthPaid
	for _, p := range m.payments {
		if int(p.month/100) != v.year || !v.upTo(p.ev, v.d) {
			continue
		}
		mo := int(p.month % 100)
		a := &sums[mo]
		on := v.f.evs[p.ev].day
		a.byD += p.amount
		if on <= due[mo] {
			a.byDue += p.amount
		} else if a.firstLate == 0 || on < a.firstLate {
			a.firstLate = on
		}
	}
	paymentsOf := func(month int) []int32 {
		var evs []int32
		for _, p := range m.payments {
			if int(p.month) == v.year*100+month && v.upTo(p.ev, v.d) {
				evs = append(evs, p.ev)
			}
		}
		return evs
	}
	w := v.walk(m)
	for i, p := range judged {
		s := w.to(p.end)
		if !s.active {
			continue
		}
		want := v.rb.Dues.Expected(s.income)
		if want <= 0 {
			continue // nothing is owed on no income
		}
		a := sums[p.n]
		late := a.byDue < want && (a.byD > a.byDue || a.byD == 0)
		short := a.byD < want
		row := &dr.months[i]
		row.owing++
		if !late {
			row.onTime++
		}
		if !short {
			row.full++
		}
		if !late && !short {
			continue
		}
		is := duesIssue{period: p.label, m: m, name: s.name, due: due[p.n], firstLate: a.firstLate, want: want, byDue: a.byDue, byD: a.byD}
		switch {
		case late && a.byD == 0:
			is.kind = issueUnpaid
			dr.late = append(dr.late, is)
		case late && a.byDue > 0:
			is.kind, is.evs = issuePartlyLate, paymentsOf(p.n)
			dr.late = append(dr.late, is)
		case late:
			is.kind, is.evs = issueLate, paymentsOf(p.n)
			dr.late = append(dr.late, is)
		}
		if short {
			if is.evs == nil {
				is.evs = paymentsOf(p.n)
			}
			is.kind = issueShort
			dr.short = append(dr.short, is)
		}
	}
}

func (v *view) duesLateRule(r *domain.Rule, item *Item) {
	dr := v.duesState()
	for _, m := range dr.months {
		item.Counts = append(item.Counts, Count{Rule: r.ID, Label: "按时交纳党费人数", Period: m.label, Have: m.onTime, Need: m.owing})
	}
	for _, q := range dr.remits {
		h := 0
		if q.ok {
			h = 1
		}
		item.Counts = append(item.Counts, Count{Rule: r.ID, Label: "按季度上缴党费", Period: q.label, Have: h, Need: 1})
	}
	if len(dr.late) > 0 {
		item.Deductions = append(item.Deductions, Deduction{Rule: r.ID, Points: r.Points,
			Reason: r.Reason + "：" + v.duesSummary(dr.late), Events: v.ids(dr.events(dr.late)), Periods: issuePeriods(dr.late)})
	}
}

func (v *view) duesShortRule(r *domain.Rule, item *Item) {
	dr := v.duesState()
	for _, m := range dr.months {
		item.Counts = append(item.Counts, Count{Rule: r.ID, Label: "足额交纳党费人数", Period: m.label, Have: m.full, Need: m.owing})
	}
	if len(dr.short) > 0 {
		item.Deductions = append(item.Deductions, Deduction{Rule: r.ID, Points: r.Points,
			Reason: r.Reason + "：" + v.duesSummary(dr.short), Events: v.ids(dr.events(dr.short)), Periods: issuePeriods(dr.short)})
	}
}

// issuePeriods returns the periods the issues name, each once, in order.
func issuePeriods(issues []duesIssue) []string {
	out := make([]string, 0, len(issues))
	for _, is := range issues {
		out = append(out, is.period)
	}
	slices.Sort(out)
	return slices.Compact(out)
}
