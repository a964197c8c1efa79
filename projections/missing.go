package projections

import (
	"fmt"

	"partyledger/domain"
)

// Gap is what a rule still needs in a period that is open at D: the
// period will be judged once it closes, and Have is below Need so far.
type Gap struct {
	Item   string      `json:"item"`
	Rule   string      `json:"rule"`
	Label  string      `json:"label"`
	Period string      `json:"period"`
	Due    domain.Date `json:"due"` // the period's last day
	Have   int         `json:"have"`
	Need   int         `json:"need"`
	// Note (additive) explains a need that is not the rule's plain one (a
	// yearly minimum scaled for an organisation founded in the year) or
	// what the count leaves out (dues paid only in part).
	Note string `json:"note,omitempty"`
}

// Missing lists what the organisation still lacks in the periods that
// contain D and have not closed by it — the current month, quarter, half
// and year — for every counting rule (count, each, leader_count) and for
// this month's dues and this quarter's remittance, and for the discipline
// cases whose handling deadline (4.2) is still ahead. Periods that began
// before an organisation was founded are never owed, and its yearly
// minimums are scaled as in Score. It is the "still to do" list of a
// branch's page; the closed periods are in the Scorecard. The order is
// the rulebook's; errors are Score's.
func Missing(f *Facts, rb *domain.Rulebook, q Query) ([]Gap, error) {
	p, err := planFor(rb)
	if err != nil {
		return nil, err
	}
	v, err := newView(f, p, q)
	if err != nil {
		return nil, err
	}
	gaps := []Gap{}
	for i := range p.items {
		ip := &p.items[i]
		if !ip.it.AppliesTo(v.reg.kind) {
			continue
		}
		for j := range ip.rules {
			rp := &ip.rules[j]
			if !rp.r.AppliesTo(v.reg.kind, v.reg.hasGroups) {
				continue
			}
			for _, g := range v.gaps(rp) {
				g.Item = ip.it.Code
				gaps = append(gaps, g)
			}
		}
	}
	return gaps, nil
}

// open returns the period of kind that contains D when it has not closed.
func (v *view) open(kind string) (period, bool) {
	for _, p := range v.yp.all(kind) {
		if p.start <= v.d && v.d < p.end {
			return p, true
		}
	}
	return period{}, false
}

func (v *view) gaps(rp *rulePlan) []Gap {
	r := rp.r
	switch r.Kind {
	case domain.RuleCount, domain.RuleEach, domain.RuleLeaderCount:
	case domain.RuleDuesLate:
		return v.duesGaps(r)
	case domain.RuleCaseDeadline:
		return v.caseGaps(r)
	default:
		return nil
	}
	p, ok := v.open(r.Period)
	if !ok || v.notJudged(p) {
		return nil
	}
	need := v.needIn(r, r.Period)
	if need <= 0 {
		return nil
	}
	var note string
	if r.Period == domain.PeriodYear && v.founded != 0 {
		note = fmt.Sprintf("本组织 %s 成立，年度要求按 %d 个月折算为 %d 次（原为 %d 次）", v.founded, v.foundedMonths, need, r.NeedFor(v.reg.kind))
	}
	gap := func(label string, have int) Gap {
		return Gap{Rule: r.ID, Label: label, Period: p.label, Due: p.end.date(), Have: have, Need: need, Note: note}
	}
	var out []Gap
	switch r.Kind {
	case domain.RuleCount:
		have := 0
		v.forMatches(rp, r.Period, func(_ *act, n int) {
			if n == p.n {
				have++
			}
		})
		if have < need {
			out = append(out, gap(r.Label, have))
		}
	case domain.RuleEach:
		have := make([]int, len(rp.values))
		v.forMatches(rp, r.Period, func(a *act, n int) {
			for i, c := range rp.values {
				if n == p.n && a.cat == c {
					have[i]++
				}
			}
		})
		for i, val := range r.Values {
			if have[i] < need {
				out = append(out, gap(r.Label+"："+val.Label, have[i]))
			}
		}
	case domain.RuleLeaderCount:
		// Leaders as of D; the requirement is the year's.
		for _, l := range v.leaderTallies(rp) {
			if l.have < need {
				out = append(out, gap(who(l.m, l.s)+"："+r.Label, l.have))
			}
		}
	}
	return out
}

// duesGaps: this month's dues not yet paid by members who owe them on D,
// and this quarter's remittance not yet made.
func (v *view) duesGaps(r *domain.Rule) []Gap {
	sched := v.rb.Dues
	if sched == nil {
		return nil
	}
	var out []Gap
	if p, ok := v.open(domain.PeriodMonth); ok && !v.notJudged(p) {
		// A member counts once paid in full: a part paid now and the rest
		// after the due date would be late (2.5, rev. 2).
		owing, paid, part := 0, 0, 0
		for mi := range v.f.members {
			m := &v.f.members[mi]
			s := v.memberOn(m, v.d)
			want := sched.Expected(s.income)
			if !s.active || want <= 0 {
				continue
			}
			owing++
			var sum domain.Fen
			for _, pay := range m.payments {
				if int(pay.month) == v.year*100+p.n && v.upTo(pay.ev, v.d) {
					sum += pay.amount
				}
			}
			switch {
			case sum >= want:
				paid++
			case sum > 0:
				part++
			}
		}
		if paid < owing {
			due := p.end.addDays(sched.GraceDays)
			g := Gap{Rule: r.ID, Label: "本月足额交纳党费人数", Period: p.label, Due: due.date(), Have: paid, Need: owing}
			if part > 0 {
				g.Note = fmt.Sprintf("其中%d人只交纳了部分党费，须于 %s 前补足，逾期补交按不按时交纳计", part, due)
			}
			out = append(out, g)
		}
	}
	if p, ok := v.open(domain.PeriodQuarter); ok && !v.notJudged(p) {
		done := false
		for _, rm := range v.f.remits {
			done = done || (int(rm.year) == v.year && int(rm.quarter) == p.n && v.upTo(rm.ev, v.d))
		}
		if !done {
			out = append(out, Gap{Rule: r.ID, Label: "本季度上缴党费", Period: p.label, Due: p.end.addDays(sched.RemittanceGraceDays).date(), Have: 0, Need: 1})
		}
	}
	return out
}

// caseGaps: the discipline cases not yet handled whose deadline (4.2, 有案
// 不查) is still ahead of D, each due on its deadline.
func (v *view) caseGaps(r *domain.Rule) []Gap {
	var out []Gap
	for _, m := range v.caseDeadlines(r.CaseDeadlineDays, true) {
		out = append(out, Gap{Rule: r.ID, Label: fmt.Sprintf("案件%s（%s 立案）按期查处", m.c.caseID, v.f.evs[m.c.ev].day),
			Period: fmt.Sprintf("%04d", m.deadline.year()), Due: m.deadline.date(), Have: 0, Need: 1})
	}
	return out
}
