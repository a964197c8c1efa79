package democity

import (
	"cmp"
	"encoding/json"
	"math/rand/v2"
	"slices"
	"time"

	"partyledger/domain"
)

// The simulated clock of the demo city: when each line was recorded.
//
// The city's 台账 went live in the second half of December 2015: the work
// committee registered every organisation on GoLive, and each
// organisation entered its standing state (elections, roster, officers,
// systems) on a working day of the following fortnight. From 2016 on, an
// organisation records what it does in sessions — a secretary at a desk
// in CST working hours, entering whatever has happened since the last
// session — on fixed days of the week: twice a week for an exemplary
// organisation, once for the others, every other week for a derelict one. A sloppy organisation lets one month pile up and
// back-fills it (补录) after the rulebook's 30 days; a derelict one two.
// The work committee records a scheduled event the morning it takes
// place, before anyone's sign-in. Assessors record findings and group
// within a week of making them, and the group scores (年终分组考评) once
// the group's deliberation is over, in January 2017 (some in February:
// late findings and re-checks after an appeal), so that on 20 January
// some organisations' results are still provisional. With Options.Appeal, an upheld
// appeal retracts one finding in March 2017.
//
// Every instant is deterministic for the seed, never before its line's
// occurred_on, and never before anything the line depends on: an
// organisation's lines are recorded in their journal order, after its
// registration, and a child is registered after its parent.

// GoLive is the day the city's 台账 went live: every organisation
// registered before it is registered in the ledger that day.
var GoLive = domain.Date{Year: Year - 1, Month: time.December, Day: 14}

// AppealOn is the day the upheld appeal of Options.Appeal is recorded.
var AppealOn = domain.Date{Year: Year + 1, Month: time.March, Day: 15}

// streamClock seeds the clock's draws, apart from every other stream.
const streamClock = 0x510e527fade682d1

// orgClock is one organisation's recording sessions.
type orgClock struct {
	r        *rand.Rand
	sev      int
	desk     []time.Weekday // the days of the week it records on
	parity   int            // a derelict one's weeks: ISO week numbers of this parity
	goLive   domain.Date    // the day its standing state was entered
	backfill map[int]bool   // months of 2016 it back-fills
	lastDay  domain.Date
	last     time.Time
}

// Kinds of line, for their delay.
const (
	byOrg      = iota // the organisation's own entry
	byAssessor        // an assessor's finding
	byGroup           // a group assessment's score
	sameDay           // recorded the day it happens (the appeal's decision)
)

// at returns when a line of the organisation of kind that occurred on d
// is recorded.
func (oc *orgClock) at(d domain.Date, kind int) time.Time {
	day := d
	switch {
	case d.Before(GoLive):
		day = oc.goLive
	case kind == sameDay:
	case kind == byGroup:
		// The group's scores are entered once its deliberation is over.
		day = d.AddDays(3 + oc.r.IntN(10))
	case kind == byAssessor:
		day = d.AddDays(oc.r.IntN(6))
	case d.Year == Year && oc.backfill[int(d.Month)]:
		day = domain.MonthEnd(Year, d.Month).AddDays(8 + oc.r.IntN(10))
	default:
		day = oc.deskDay(d)
	}
	day = workday(day)
	if !day.After(oc.lastDay) {
		return oc.last // entered in the same session as the previous line
	}
	oc.lastDay, oc.last = day, officeHours(oc.r, day)
	return oc.last
}

// deskDay returns the first day on or after d that the organisation's
// secretary sits down to the 台账: two days a week for an exemplary
// organisation, one for the others, every other week for a derelict one.
func (oc *orgClock) deskDay(d domain.Date) domain.Date {
	for k := 0; ; k++ {
		x := d.AddDays(k)
		_, week := x.Start().ISOWeek()
		if slices.Contains(oc.desk, x.Start().Weekday()) && (oc.sev < 3 || week%2 == oc.parity) {
			return x
		}
	}
}

// workday returns d, or the Monday after it when it is a weekend.
func workday(d domain.Date) domain.Date {
	switch d.Start().Weekday() {
	case time.Saturday:
		return d.AddDays(2)
	case time.Sunday:
		return d.AddDays(1)
	}
	return d
}

// officeHours returns an instant of day between 09:00 and 17:30 CST, to
// the second.
func officeHours(r *rand.Rand, day domain.Date) time.Time {
	return day.Start().Add(9*time.Hour + time.Duration(r.IntN(510*60))*time.Second)
}

// clock returns the recorded_at of every line (City.RecordedAt).
func (c *city) clock(lines []domain.JournalLine) []time.Time {
	cr := rand.New(rand.NewPCG(uint64(c.seed)^streamClock, 0))
	orgs := map[string]*orgClock{}
	for _, o := range c.orgs {
		oc := &orgClock{r: rand.New(rand.NewPCG(uint64(c.seed)^streamClock, uint64(o.idx)+1)), sev: o.sev, backfill: map[int]bool{}}
		oc.goLive = workday(GoLive.AddDays(1 + oc.r.IntN(14)))
		first := time.Monday + time.Weekday(oc.r.IntN(2))
		oc.desk = []time.Weekday{first, first + 3} // Monday and Thursday, or Tuesday and Friday
		if o.sev >= 1 {
			oc.desk = []time.Weekday{time.Monday + time.Weekday(oc.r.IntN(5))}
		}
		oc.parity = oc.r.IntN(2)
		for range max(0, o.sev-1) {
			oc.backfill[3+oc.r.IntN(7)] = true
		}
		orgs[o.code] = oc
	}
	parents := map[string]string{}
	for _, o := range c.orgs {
		if o.parent != nil {
			parents[o.code] = o.parent.code
		}
	}
	at := make([]time.Time, len(lines))
	regAt := GoLive.Start().Add(9 * time.Hour)
	for i, l := range lines {
		oc := orgs[l.Org]
		on, err := domain.ParseDate(l.OccurredOn)
		if err != nil {
			panic("democity: " + err.Error()) // the generator wrote it
		}
		switch {
		case l.Type == domain.TypeOrganizationRegistered:
			// The committee enters the organisations one after the
			// other; one founded later is registered when it is.
			t := regAt.Add(time.Duration(1+cr.IntN(3)) * time.Minute)
			if on.After(GoLive) {
				t = officeHours(cr, workday(on))
			} else {
				regAt = t
			}
			if p := orgs[parents[l.Org]]; p != nil && !t.After(p.last) {
				t = p.last.Add(time.Minute)
			}
			at[i], oc.last, oc.lastDay = t, t, domain.DateOf(t)
		case oc == nil: // the committee's schedule, the morning of the event
			at[i] = on.Start().Add(8*time.Hour + time.Duration(cr.IntN(45*60))*time.Second)
		default:
			kind := byOrg
			switch {
			case l.Type == domain.TypeGroupAssessmentRecorded:
				kind = byGroup
			case l.Type == domain.TypeEventRetracted && on.Year > Year:
				kind = sameDay
			case l.Type == domain.TypeFindingRecorded || on.Year > Year:
				kind = byAssessor
			}
			at[i] = oc.at(on, kind)
		}
	}
	return at
}

// RecordedOrder returns the indices of the city's lines in the order they
// were recorded on the simulated clock (City.RecordedAt), lines of the
// same instant in journal order: the order an import on that clock
// appends them in.
func (c *City) RecordedOrder() []int {
	idx := make([]int, len(c.Lines))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int { return c.RecordedAt[a].Compare(c.RecordedAt[b]) })
	return idx
}

// appeal retracts one finding of an organisation directly under the work
// committee: an appeal upheld on AppealOn. It returns the line, or false
// when the city has no such finding. The finding is given an id when it
// has none, so the retraction can name it.
func (c *city) appeal(assessed []event) (domain.JournalLine, bool) {
	top := map[string]*orgPlan{}
	for _, o := range c.orgs {
		if o.parent == nil && o.sev < 3 {
			top[o.code] = o
		}
	}
	var cands []int
	for i, e := range assessed {
		if e.line.Type == domain.TypeFindingRecorded && top[e.line.Org] != nil {
			cands = append(cands, i)
		}
	}
	if len(cands) == 0 {
		return domain.JournalLine{}, false
	}
	// The finding that costs most: the appeal worth making.
	slices.SortStableFunc(cands, func(a, b int) int {
		return cmp.Compare(findingPoints(assessed[b].line), findingPoints(assessed[a].line))
	})
	f := &assessed[cands[0]].line
	if f.ID == "" {
		f.ID = newUUID(c.idr)
	}
	o := top[f.Org]
	o.out.Retractions++
	return line(c.id(), f.Org, AppealOn, &domain.EventRetracted{EventID: f.ID,
		Reason: "经申诉复核，该项扣分依据不足，工委决定撤销（考核组复核意见）"}), true
}

// findingPoints returns a finding line's points (0 when the rulebook
// fixes them).
func findingPoints(l domain.JournalLine) domain.Points {
	var f domain.FindingRecorded
	if json.Unmarshal(l.Data, &f) != nil || f.Points == nil {
		return 0
	}
	return *f.Points
}
