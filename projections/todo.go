package projections

import (
	"fmt"
	"slices"
	"strings"

	"partyledger/domain"
)

// Kinds of TodoItem.
const (
	TodoRequirement = "requirement"     // a counting rule still short in an open period
	TodoDues        = "dues"            // members who have not paid this month's dues in full
	TodoRemittance  = "remittance"      // this quarter's dues not yet remitted
	TodoCommittee   = "committee_event" // a work-committee event coming up, or one without attendance
	TodoTerm        = "term"            // 换届 due within TermWarnMonths, overdue, or never recorded
	TodoCase        = "case"            // a discipline case whose handling deadline is ahead
)

// Scopes of TodoItem: the period a requirement belongs to, or a date.
const (
	ScopeMonth   = domain.PeriodMonth
	ScopeQuarter = domain.PeriodQuarter
	ScopeHalf    = domain.PeriodHalf
	ScopeYear    = domain.PeriodYear
	ScopeDate    = "date" // a deadline or an event's day
)

// Look-ahead windows of Todo.
const (
	// TermWarnMonths: a term expiring within this many months of D is due.
	TermWarnMonths = 6
	// CommitteeAheadDays: committee events up to this many days after D
	// are listed as coming up.
	CommitteeAheadDays = 60
	// CommitteeBackDays: committee events up to this many days before D
	// without attendance are listed (the branch may still bring the
	// sign-in to the committee); older ones are the scorecard's.
	CommitteeBackDays = 30
)

// TodoItem is one thing an organisation has to do, as of D: what it is,
// how far it has got (Have of Need), by when, and the event type (with
// the payload values) whose entry fulfils it.
type TodoItem struct {
	Kind    string      `json:"kind"`
	Item    string      `json:"item,omitempty"` // the rulebook item ("5.2")
	Rule    string      `json:"rule,omitempty"`
	Label   string      `json:"label"`
	Scope   string      `json:"scope"`
	Period  string      `json:"period,omitempty"` // "2016-09", "2016-Q3", "2016-H2", "2016"
	Due     domain.Date `json:"due"`
	Have    int         `json:"have"`
	Need    int         `json:"need"`
	Overdue bool        `json:"overdue,omitempty"`
	// Type is the event type whose entry fulfils the item, and Fields
	// the payload values it takes ({"kind":"party_lecture"}); empty when
	// nothing the organisation records fulfils it.
	Type   string            `json:"type,omitempty"`
	Fields map[string]string `json:"fields,omitempty"`
	// Members (dues) are the members who still owe this month's dues.
	Members []MemberDues `json:"members,omitempty"`
	Note    string       `json:"note,omitempty"`
}

// TodoList is what an organisation has to do as of D, as known at K,
// under a rulebook (the one of D's year when there is one; the caller
// says which in RulebookYear).
type TodoList struct {
	Org      string      `json:"org"`
	AsOf     domain.Date `json:"as_of"`
	KnownAt  string      `json:"known_at"`
	Rulebook RulebookRef `json:"rulebook"`
	// RulebookYear is the rulebook's year: another than D's when D's year
	// has none yet (the requirements are then the last year's, as a guide).
	RulebookYear int        `json:"rulebook_year"`
	Items        []TodoItem `json:"items"`
}

// MemberDues is one member's dues for one month: the bracket of the rate
// table their income falls in and the amount due, and what was paid for
// the month by D. IncomeFen and RateBP are personal information (only
// the organisation itself and the admin see them).
type MemberDues struct {
	MemberID  string      `json:"member_id"`
	Name      string      `json:"name"`
	Leader    bool        `json:"is_leader"`
	IncomeFen domain.Fen  `json:"monthly_income_fen,omitempty"`
	RateBP    int         `json:"rate_bp,omitempty"`
	Bracket   string      `json:"bracket,omitempty"` // Chinese: "月收入3000元以上至5000元（含）：1%"
	DueFen    domain.Fen  `json:"due_fen"`
	PaidFen   domain.Fen  `json:"paid_fen"`
	Payments  int         `json:"payments"`
	Month     string      `json:"month"`
	DueBy     domain.Date `json:"due_by"`
}

// Todo lists what the organisation has to do as of q.AsOf (D) — the open
// month's, quarter's, half's and year's counting requirements with their
// counts (Missing), who has not paid this month's dues, this quarter's
// remittance, the work committee's events coming up within
// CommitteeAheadDays and recent ones without attendance, the term
// (换届) when it expires within TermWarnMonths or has expired, and the
// discipline cases whose deadline is ahead — each with the event type
// that fulfils it. q.Year is D's year. The rulebook may be of another year
// (a year for which none was published yet is guided by the last one).
// Order: overdue first, then by due date, then the rulebook's order.
func Todo(f *Facts, rb *domain.Rulebook, q Query) (*TodoList, error) {
	if q.AsOf.IsZero() {
		return nil, fmt.Errorf("%w: as_of is required for a to-do list", ErrBadQuery)
	}
	q.Year = q.AsOf.Year
	gaps, err := Missing(f, rb, q)
	if err != nil {
		return nil, err
	}
	p, err := planFor(rb)
	if err != nil {
		return nil, err
	}
	v, err := newView(f, p, q)
	if err != nil {
		return nil, err
	}
	out := &TodoList{Org: f.code, AsOf: q.AsOf, KnownAt: q.KnownAt.UTC().Format(KnownAtLayout),
		Rulebook: RulebookRef{Version: rb.Version, SHA256: p.sha}, RulebookYear: rb.Year, Items: []TodoItem{}}
	for _, g := range gaps {
		if it, ok := v.todoOfGap(g); ok {
			out.Items = append(out.Items, it)
		}
	}
	out.Items = append(out.Items, v.termTodo()...)
	out.Items = append(out.Items, v.committeeTodo()...)
	slices.SortStableFunc(out.Items, func(a, b TodoItem) int {
		if a.Overdue != b.Overdue {
			if a.Overdue {
				return -1
			}
			return 1
		}
		return a.Due.Compare(b.Due)
	})
	return out, nil
}

// ruleOf returns the rule with id in the rulebook, or nil.
func ruleOf(rb *domain.Rulebook, id string) *domain.Rule {
	for i := range rb.Items {
		for j := range rb.Items[i].Rules {
			if rb.Items[i].Rules[j].ID == id {
				return &rb.Items[i].Rules[j]
			}
		}
	}
	return nil
}

// todoOfGap turns a Missing gap into an item with the entry that fills it.
func (v *view) todoOfGap(g Gap) (TodoItem, bool) {
	r := ruleOf(v.rb, g.Rule)
	if r == nil {
		return TodoItem{}, false
	}
	it := TodoItem{Kind: TodoRequirement, Item: g.Item, Rule: g.Rule, Label: g.Label, Scope: r.Period, Period: g.Period,
		Due: g.Due, Have: g.Have, Need: g.Need, Note: g.Note}
	switch r.Kind {
	case domain.RuleDuesLate:
		if strings.Contains(g.Period, "-Q") {
			it.Kind, it.Scope, it.Type = TodoRemittance, ScopeQuarter, domain.TypeDuesRemitted
			it.Fields = map[string]string{"quarter": g.Period}
			return it, true
		}
		it.Kind, it.Scope, it.Type = TodoDues, ScopeMonth, domain.TypeDuesPaid
		it.Fields = map[string]string{"month": g.Period}
		for _, md := range v.monthDues(g.Period) {
			if md.PaidFen < md.DueFen {
				it.Members = append(it.Members, md)
			}
		}
		return it, true
	case domain.RuleCaseDeadline:
		it.Kind, it.Scope, it.Type = TodoCase, ScopeDate, domain.TypeCaseHandled
		return it, true
	}
	if len(r.Match) == 0 {
		return it, true
	}
	m := r.Match[0]
	it.Type = m.Type
	switch {
	case r.Kind == domain.RuleEach:
		// The gap's label ends with the value's label.
		for _, val := range r.Values {
			if strings.HasSuffix(g.Label, "："+val.Label) {
				it.Fields = map[string]string{m.Field: val.Value}
			}
		}
	case m.Field != "" && len(m.Values) > 0:
		it.Fields = map[string]string{m.Field: m.Values[0]}
	}
	if r.PeriodFrom == domain.PeriodFromPayload || r.PeriodFrom == domain.PeriodFromPayloadDated {
		// The payload names the period (SelfInspectionCompleted.half).
		if it.Fields == nil {
			it.Fields = map[string]string{}
		}
		for _, c := range domain.CountableEvents() {
			if c.Type == m.Type && c.PayloadPeriod != "" {
				it.Fields[c.PayloadPeriod] = g.Period
			}
		}
	}
	return it, true
}

// monthDues returns every member's dues for month ("2016-09") as of D:
// the members who belong on the month's last day, or on D while the month
// is open, with the amount due by their income then.
func (v *view) monthDues(month string) []MemberDues {
	sched := v.rb.Dues
	m, err := domain.ParseMonth(month)
	if sched == nil || err != nil {
		return nil
	}
	end := domain.MonthEnd(m.Year, m.Month)
	at := dayOf(end)
	if at > v.d {
		at = v.d
	}
	ym := int32(m.Year*100 + int(m.Month))
	var out []MemberDues
	for mi := range v.f.members {
		mem := &v.f.members[mi]
		s := v.memberOn(mem, at)
		if !s.active {
			continue
		}
		rate, bracket := duesBracket(sched, s.income)
		md := MemberDues{MemberID: mem.id, Name: s.name, Leader: s.leader, IncomeFen: s.income, RateBP: rate, Bracket: bracket,
			DueFen: sched.Expected(s.income), Month: month, DueBy: dayOf(end).addDays(sched.GraceDays).date()}
		if md.Name == "" {
			md.Name = mem.id
		}
		for _, pay := range mem.payments {
			if pay.month == ym && v.upTo(pay.ev, v.d) {
				md.PaidFen += pay.amount
				md.Payments++
			}
		}
		out = append(out, md)
	}
	slices.SortFunc(out, func(a, b MemberDues) int { return strings.Compare(a.MemberID, b.MemberID) })
	return out
}

// duesBracket returns the rate of income's bracket and the bracket in
// Chinese.
func duesBracket(d *domain.DuesSchedule, income domain.Fen) (int, string) {
	if income <= 0 || len(d.Rates) == 0 {
		return 0, "无收入，不交纳"
	}
	var lower domain.Fen
	for _, r := range d.Rates {
		if r.UpToFen != nil && income <= *r.UpToFen {
			if lower == 0 {
				return r.RateBP, fmt.Sprintf("月收入%s及以下：%s", yuanWhole(*r.UpToFen), percent(r.RateBP))
			}
			return r.RateBP, fmt.Sprintf("月收入%s以上至%s（含）：%s", yuanWhole(lower), yuanWhole(*r.UpToFen), percent(r.RateBP))
		}
		if r.UpToFen != nil {
			lower = *r.UpToFen
		}
	}
	last := d.Rates[len(d.Rates)-1]
	return last.RateBP, fmt.Sprintf("月收入%s以上：%s", yuanWhole(lower), percent(last.RateBP))
}

func yuanWhole(f domain.Fen) string {
	if f%100 == 0 {
		return fmt.Sprintf("%d元", f/100)
	}
	return fen(f)
}

func percent(bp int) string {
	s := fmt.Sprintf("%d.%02d", bp/100, bp%100)
	s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	return s + "%"
}

// MonthDues lists every member's dues for a month as of D (q.AsOf): the
// members who belong on the month's last day (on D while the month is
// open), their bracket, the amount due and what was paid for the month by
// D. It is the roster page and the monthly dues form.
func MonthDues(f *Facts, rb *domain.Rulebook, q Query, month string) ([]MemberDues, error) {
	if _, err := domain.ParseMonth(month); err != nil {
		return nil, fmt.Errorf("%w: month: %v", ErrBadQuery, err)
	}
	p, err := planFor(rb)
	if err != nil {
		return nil, err
	}
	v, err := newView(f, p, q)
	if err != nil {
		return nil, err
	}
	return v.monthDues(month), nil
}

// DuesArrear is one member's month not paid in full by D: what was due,
// by when, and what was paid.
type DuesArrear struct {
	MemberID string      `json:"member_id"`
	Name     string      `json:"name"`
	Month    string      `json:"month"`
	DueBy    domain.Date `json:"due_by"`
	DueFen   domain.Fen  `json:"due_fen"`
	PaidFen  domain.Fen  `json:"paid_fen"`
}

// DuesArrears lists, for every month of the year whose due date has come
// by D, each member who owed dues for it and had not paid them in full by
// D — who has not paid for which month — in member, then month order.
// Months before an organisation was founded are not owed.
func DuesArrears(f *Facts, rb *domain.Rulebook, q Query) ([]DuesArrear, error) {
	p, err := planFor(rb)
	if err != nil {
		return nil, err
	}
	v, err := newView(f, p, q)
	if err != nil {
		return nil, err
	}
	out := []DuesArrear{}
	if rb.Dues == nil {
		return out, nil
	}
	for _, per := range v.yp.months {
		if per.end.addDays(rb.Dues.GraceDays) > v.d || v.notJudged(per) {
			continue
		}
		for _, md := range v.monthDues(per.label) {
			if md.DueFen > 0 && md.PaidFen < md.DueFen {
				out = append(out, DuesArrear{MemberID: md.MemberID, Name: md.Name, Month: md.Month, DueBy: md.DueBy, DueFen: md.DueFen, PaidFen: md.PaidFen})
			}
		}
	}
	slices.SortStableFunc(out, func(a, b DuesArrear) int { return strings.Compare(a.MemberID, b.MemberID) })
	return out, nil
}

// termTodo: the term (换届) when it expires within TermWarnMonths of D or
// has expired, or when no election is on record.
func (v *view) termTodo() []TodoItem {
	var r *domain.Rule
	for i := range v.p.items {
		for j := range v.p.items[i].rules {
			if rr := v.p.items[i].rules[j].r; rr.Kind == domain.RuleTerm && v.p.items[i].it.AppliesTo(v.reg.kind) {
				r = rr
			}
		}
	}
	if r == nil {
		return nil
	}
	item := ""
	for i := range v.rb.Items {
		for j := range v.rb.Items[i].Rules {
			if &v.rb.Items[i].Rules[j] == r {
				item = v.rb.Items[i].Code
			}
		}
	}
	t := v.termState()
	it := TodoItem{Kind: TodoTerm, Item: item, Rule: r.ID, Scope: ScopeDate, Need: 1, Type: domain.TypeCommitteeElected}
	if !t.known {
		it.Label, it.Due, it.Overdue = "换届选举（尚无换届记录）", v.d.date(), true
		it.Note = "请登记最近一次换届选举（班子换届）"
		return []TodoItem{it}
	}
	warnOn := v.d.date().Start().AddDate(0, TermWarnMonths, 0)
	warn := dayOf(domain.DateOf(warnOn))
	if t.expiry > warn {
		return nil
	}
	it.Due = t.expiry.date()
	it.Overdue = t.expiry <= v.d
	it.Note = v.expiryText(t)
	if it.Overdue {
		it.Label = fmt.Sprintf("换届选举（任期已于 %s 届满）", t.expiry)
	} else {
		it.Label = fmt.Sprintf("换届选举（任期将于 %s 届满）", t.expiry)
	}
	return []TodoItem{it}
}

// committeeTodo: the work committee's events for the organisation from
// CommitteeBackDays before D (within D's year) up to CommitteeAheadDays
// after it that have no attendance recorded — coming up, or recent and
// not attended.
func (v *view) committeeTodo() []TodoItem {
	s := v.q.Schedule
	if s == nil {
		return nil
	}
	ahead, back := v.d.addDays(CommitteeAheadDays), v.d.addDays(-CommitteeBackDays)
	var out []TodoItem
	seen := map[string]int{}
	for _, i := range s.forOrg(v.f.code) {
		e := &s.entries[i]
		if e.at > v.k || e.day < v.yearStart || e.day < back || e.day > ahead || (v.founded != 0 && e.day < v.founded) {
			continue
		}
		attended := false
		for _, a := range v.f.attended {
			if a.sid == e.sid && v.visible(a.ev) {
				attended = true
			}
		}
		it := TodoItem{Kind: TodoCommittee, Label: e.title, Scope: ScopeDate, Due: e.day.date(), Need: 1, Overdue: e.day < v.d,
			Type: domain.TypeAttendanceRecorded, Fields: map[string]string{"scheduled_event_id": e.sid}}
		if attended {
			it.Have = 1
		}
		switch {
		case it.Overdue:
			it.Note = "工委活动已举行，尚无参加记录（由工委登记签到）"
		case e.day == v.d:
			it.Note = "工委活动今天举行"
		default:
			it.Note = fmt.Sprintf("工委活动将于 %s 举行，请按时参加", e.day)
		}
		if j, ok := seen[e.sid]; ok { // rescheduled: the later entry stands
			out[j] = it
			continue
		}
		seen[e.sid] = len(out)
		out = append(out, it)
	}
	return slices.DeleteFunc(out, func(it TodoItem) bool { return it.Have >= it.Need })
}
