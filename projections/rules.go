package projections

import (
	"fmt"
	"slices"
	"strings"

	"partyledger/domain"
)

// ruleKinds maps every rule kind of the rulebook (domain.RuleKinds) to
// its evaluation: adding a kind is one row here, and a test checks the
// table against domain.RuleKinds both ways.
var ruleKinds = map[string]func(v *view, rp *rulePlan, item *Item){
	domain.RuleCount:             (*view).countRule,
	domain.RuleEach:              (*view).eachRule,
	domain.RuleOfficers:          func(v *view, rp *rulePlan, item *Item) { v.officersRule(rp.r, item) },
	domain.RuleTerm:              func(v *view, rp *rulePlan, item *Item) { v.termRule(rp.r, item) },
	domain.RuleDuesLate:          func(v *view, rp *rulePlan, item *Item) { v.duesLateRule(rp.r, item) },
	domain.RuleDuesShort:         func(v *view, rp *rulePlan, item *Item) { v.duesShortRule(rp.r, item) },
	domain.RuleCaseDeadline:      func(v *view, rp *rulePlan, item *Item) { v.caseDeadlineRule(rp.r, item) },
	domain.RuleSeriousViolations: func(v *view, rp *rulePlan, item *Item) { v.seriousRule(rp.r, item) },
	domain.RuleNotesKept:         func(v *view, rp *rulePlan, item *Item) { v.notesRule(rp.r, item) },
	domain.RuleLeaderCount:       (*view).leaderRule,
	domain.RuleAttendance:        func(v *view, rp *rulePlan, item *Item) { v.attendanceRule(rp.r, item) },
}

// rule evaluates one rule that applies to the organisation, adding its
// counts and, when it deducts, its one deduction to item. A validated
// rulebook names only kinds of the table.
func (v *view) rule(rp *rulePlan, item *Item) {
	ruleKinds[rp.r.Kind](v, rp, item)
}

// judged returns the periods of kind a rule is judged for at D: those
// closed by D and, for an organisation founded in the year, begun on or
// after founded_on (the year itself is judged with a scaled need, see
// yearNeed); for PeriodEver one state "period" labelled with D.
func (v *view) judged(kind string) []period {
	if kind == domain.PeriodEver {
		v.ever[0] = period{label: v.dText(), end: v.d}
		return v.ever[:]
	}
	all := v.yp.all(kind)
	n := 0
	for n < len(all) && all[n].end <= v.d {
		n++
	}
	lo := 0
	for lo < n && v.notJudged(all[lo]) {
		lo++
	}
	return all[lo:n]
}

// notJudged reports whether a month, quarter or half began before the
// organisation was founded (in the assessment year): it is not judged.
func (v *view) notJudged(p period) bool { return v.founded != 0 && p.n > 0 && p.start < v.founded }

// yearNeed returns a yearly minimum for the organisation: need itself, or
// in the year it was founded ⌈need × M / 12⌉ for the M months whose first
// day is on or after founded_on (0 when M is 0: not judged).
func (v *view) yearNeed(need int) int {
	if v.founded == 0 || need <= 0 {
		return need
	}
	return (need*v.foundedMonths + 11) / 12
}

// needIn returns what a counting rule needs in each judged period of kind.
func (v *view) needIn(r *domain.Rule, kind string) int {
	need := r.NeedFor(v.reg.kind)
	if kind == domain.PeriodYear {
		return v.yearNeed(need)
	}
	return need
}

// foundingReason explains, in Chinese, how an organisation founded in the
// assessment year is judged.
func (v *view) foundingReason() string {
	if v.founded == 0 {
		return ""
	}
	if v.foundedMonths == 0 {
		return fmt.Sprintf("本组织 %s 成立，此前月份不考核，本年度没有完整月份，年度要求不考核", v.founded)
	}
	return fmt.Sprintf("本组织 %s 成立，此前月份不考核，年度要求按 %d 个月折算", v.founded, v.foundedMonths)
}

// foundingNote is the note a counting rule's reason carries in the year
// the organisation was founded: "" otherwise, or when nothing changed.
func (v *view) foundingNote(r *domain.Rule, kind string) string {
	if v.founded == 0 {
		return ""
	}
	switch kind {
	case domain.PeriodYear:
		need := r.NeedFor(v.reg.kind)
		return fmt.Sprintf("（本组织 %s 成立，此前月份不考核，年度要求按 %d 个月折算为 %d 次，原为 %d 次）", v.founded, v.foundedMonths, v.yearNeed(need), need)
	case domain.PeriodMonth, domain.PeriodQuarter, domain.PeriodHalf:
		for _, p := range v.yp.all(kind) {
			if v.notJudged(p) && p.end <= v.d {
				return fmt.Sprintf("（本组织 %s 成立，此前开始的%s不考核）", v.founded, periodNoun(kind))
			}
		}
	}
	return ""
}

func periodNoun(kind string) string {
	switch kind {
	case domain.PeriodMonth:
		return "月份"
	case domain.PeriodQuarter:
		return "季度"
	case domain.PeriodHalf:
		return "半年"
	}
	return "期间"
}

// forMatches calls fn for every act a rule's matches select that occurred
// by D and is known at K, with the number of the period of kind it
// belongs to (see index); acts outside the year are skipped unless kind
// is PeriodEver. A payload period (SelfInspectionCompleted) replaces
// occurred_on when the rule says so; with payload_dated the act counts
// only when it occurred inside the period its payload names.
func (v *view) forMatches(rp *rulePlan, kind string, fn func(a *act, n int)) {
	dated := rp.r.PeriodFrom == domain.PeriodFromPayloadDated
	payload := dated || rp.r.PeriodFrom == domain.PeriodFromPayload
	for _, m := range rp.match {
		acts := v.f.acts[m.ti]
		for i := range acts {
			a := &acts[i]
			if !m.ok(a) || !v.upTo(a.ev, v.d) {
				continue
			}
			switch {
			case kind == domain.PeriodEver:
				fn(a, 0)
			case payload:
				on := v.f.evs[a.ev].day
				if int(a.pyear) == v.year && (!dated || on.year() == v.year && index(kind, on) == int(a.cat)) {
					fn(a, int(a.cat))
				}
			default:
				if on := v.f.evs[a.ev].day; on >= v.yearStart {
					fn(a, index(kind, on))
				}
			}
		}
	}
}

func (v *view) deduct(r *domain.Rule, misses int) domain.Points {
	if misses <= 0 {
		return 0
	}
	if r.Deduct == domain.DeductOnce {
		return r.Points
	}
	return r.Points * domain.Points(misses)
}

func (v *view) countRule(rp *rulePlan, item *Item) {
	r := rp.r
	need := v.needIn(r, r.Period)
	periods := v.judged(r.Period)
	if need <= 0 || len(periods) == 0 {
		return
	}
	var have [13]int
	v.forMatches(rp, r.Period, func(_ *act, n int) { have[n]++ })
	if r.PeriodFrom == domain.PeriodFromPayloadDated {
		v.misdated(rp, periods, item)
	}
	misses := 0
	var short []string
	var shortN [13]bool
	for _, p := range periods {
		h := have[p.n]
		item.Counts = append(item.Counts, Count{Rule: r.ID, Label: r.Label, Period: p.label, Have: h, Need: need})
		if h < need {
			misses += need - h
			shortN[p.n] = true
			short = append(short, p.label)
		}
	}
	pts := v.deduct(r, misses)
	if pts == 0 {
		return
	}
	var evs []int32
	v.forMatches(rp, r.Period, func(a *act, n int) {
		if shortN[n] {
			evs = append(evs, a.ev)
		}
	})
	details := make([]string, 0, len(short))
	for _, p := range periods {
		if shortN[p.n] {
			details = append(details, fmt.Sprintf("%s %s%d次（应不少于%d次）", periodWord(r.Period, p.label), r.Label, have[p.n], need))
		}
	}
	item.Deductions = append(item.Deductions, Deduction{Rule: r.ID, Points: pts,
		Reason:  fmt.Sprintf("%s：%s，共少%d次%s", r.Reason, strings.Join(details, "；"), misses, v.foundingNote(r, r.Period)),
		Events:  v.ids(evs),
		Periods: short})
}

// misdated notes the acts a payload_dated rule does not count: they name
// a judged period of the year but did not occur inside it (a
// self-inspection for the second half done in March).
func (v *view) misdated(rp *rulePlan, periods []period, item *Item) {
	for _, m := range rp.match {
		acts := v.f.acts[m.ti]
		for i := range acts {
			a := &acts[i]
			on := v.f.evs[a.ev].day
			if !m.ok(a) || !v.upTo(a.ev, v.d) || int(a.pyear) != v.year || on.year() == v.year && index(rp.r.Period, on) == int(a.cat) {
				continue
			}
			for _, p := range periods {
				if p.n == int(a.cat) {
					item.Notes = append(item.Notes, Note{Rule: rp.r.ID, Events: v.ids([]int32{a.ev}),
						Reason: fmt.Sprintf("%s的%s于 %s 完成，不在该%s内，不计", p.label, rp.r.Label, on, periodNoun(rp.r.Period))})
				}
			}
		}
	}
}

// periodWord names a judged period in a reason.
func periodWord(kind, label string) string {
	if kind == domain.PeriodEver {
		return "截至" + label
	}
	return label
}

func (v *view) eachRule(rp *rulePlan, item *Item) {
	r := rp.r
	need := v.needIn(r, r.Period)
	periods := v.judged(r.Period)
	if need <= 0 || len(periods) == 0 {
		return
	}
	// have[period][value], in one array (on the stack for up to 8 values).
	nv := len(rp.values)
	var small [13 * 8]int
	flat := small[:]
	if 13*nv > len(small) {
		flat = make([]int, 13*nv)
	}
	have := func(n int) []int { return flat[n*nv : (n+1)*nv] }
	v.forMatches(rp, r.Period, func(a *act, n int) {
		for i, c := range rp.values {
			if a.cat == c {
				have(n)[i]++
			}
		}
	})
	misses := 0
	var details, short []string
	for _, p := range periods {
		var missing []string
		for i, val := range r.Values {
			h := have(p.n)[i]
			item.Counts = append(item.Counts, Count{Rule: r.ID, Label: rp.labels[i], Period: p.label, Have: h, Need: need})
			if h < need {
				misses++
				missing = append(missing, val.Label)
			}
		}
		if len(missing) > 0 {
			short = append(short, p.label)
			details = append(details, fmt.Sprintf("%s 缺%s", periodWord(r.Period, p.label), strings.Join(missing, "、")))
		}
	}
	if pts := v.deduct(r, misses); pts > 0 {
		item.Deductions = append(item.Deductions, Deduction{Rule: r.ID, Points: pts,
			Reason: fmt.Sprintf("%s：%s%s", r.Reason, strings.Join(details, "；"), v.foundingNote(r, r.Period)), Events: []string{}, Periods: short})
	}
}

// memberAt is a member's roster state on a day.
type memberAt struct {
	active   bool
	leader   bool
	income   domain.Fen
	name     string
	leaderEv int32 // the event that made the member a leader
	endEv    int32 // the transfer that ended membership, -1 for none
}

// memberOn folds a member's roster events known at K up to day at.
func (v *view) memberOn(m *member, at day) memberAt {
	w := v.walk(m)
	return w.to(at)
}

// rosterWalker folds one member's roster forward in time: to may be
// called with later and later days, each roster event applied once.
type rosterWalker struct {
	v *view
	m *member
	i int
	s memberAt
}

func (v *view) walk(m *member) rosterWalker {
	return rosterWalker{v: v, m: m, s: memberAt{leaderEv: -1, endEv: -1}}
}

// to returns the member's state on day at (not before the last call's).
func (w *rosterWalker) to(at day) memberAt {
	for ; w.i < len(w.m.roster); w.i++ {
		re := w.m.roster[w.i]
		if w.v.f.evs[re.ev].day > at {
			break
		}
		if !w.v.visible(re.ev) {
			continue
		}
		s := &w.s
		switch re.op {
		case opJoin:
			*s = memberAt{active: true, leader: re.leader == 1, income: re.income, name: re.name, leaderEv: -1, endEv: -1}
		case opTransfer:
			s.active = false
			s.endEv = re.ev
			continue
		}
		if re.leader >= 0 {
			was := s.leader
			s.leader = re.leader == 1
			if s.leader && (!was || re.op == opJoin) {
				s.leaderEv = re.ev
			}
		}
		if re.income >= 0 {
			s.income = re.income
		}
	}
	return w.s
}

// who names a member in a reason: the name given when joining, and the id.
func who(m *member, s memberAt) string {
	if s.name == "" {
		return m.id
	}
	return s.name + "（" + m.id + "）"
}

// officesOn returns which roles are held on D, and for each role not
// held, the event that last ended it (-1 for none).
func (v *view) officesOn() (held [4]bool, ended [4]int32) {
	type key struct {
		role   uint8
		member int32
	}
	state := map[key]officeEvent{}
	for _, oe := range v.f.offices {
		if v.f.evs[oe.ev].day > v.d {
			break
		}
		if v.visible(oe.ev) {
			state[key{oe.role, oe.member}] = oe
		}
	}
	ended = [4]int32{-1, -1, -1, -1}
	for k, oe := range state {
		switch {
		case !oe.appoint:
			ended[k.role] = max(ended[k.role], oe.ev)
		default:
			// A member who transferred out holds no office.
			if s := v.memberOn(&v.f.members[k.member], v.d); s.endEv >= 0 && !s.active && v.f.evs[s.endEv].day >= v.f.evs[oe.ev].day {
				ended[k.role] = max(ended[k.role], s.endEv)
				continue
			}
			held[k.role] = true
		}
	}
	return held, ended
}

func (v *view) officersRule(r *domain.Rule, item *Item) {
	held, ended := v.officesOn()
	var missing []string
	var evs []int32
	for i := range r.Requirements {
		q := &r.Requirements[i]
		if !q.AppliesTo(v.reg.kind) {
			continue
		}
		ok := false
		for _, role := range q.AnyOf {
			if ri := roleIndex(role); ri >= 0 && held[ri] {
				ok = true
			}
		}
		h := 0
		if ok {
			h = 1
		}
		item.Counts = append(item.Counts, Count{Rule: r.ID, Label: q.Label, Period: v.dText(), Have: h, Need: 1})
		if !ok {
			missing = append(missing, q.Label)
			for _, role := range q.AnyOf {
				if ri := roleIndex(role); ri >= 0 && ended[ri] >= 0 {
					evs = append(evs, ended[ri])
				}
			}
		}
	}
	if pts := r.PointsForMissing(len(missing)); pts > 0 {
		item.Deductions = append(item.Deductions, Deduction{Rule: r.ID, Points: pts,
			Reason: fmt.Sprintf("%s：%s 缺%s", r.Reason, v.d, strings.Join(missing, "、")), Events: v.ids(evs), Periods: []string{v.dText()}})
	}
}

// termResult is the state of the term on D.
type termResult struct {
	known   bool // an election is on record
	ev      int32
	elected day
	years   int
	expiry  day   // the election's expiry, or the approved extension's until when later
	overdue int   // whole years from expiry to D
	ext     int32 // the TermExtensionApproved that set expiry, -1 for none
	// lastExt is the latest extension on or before D whether it moved the
	// expiry or not (-1 for none).
	lastExt int32
}

func (v *view) termState() *termResult {
	if v.term != nil {
		return v.term
	}
	t := &termResult{ext: -1, lastExt: -1}
	for _, e := range v.f.elections {
		on := v.f.evs[e.ev].day
		if on <= v.d && v.visible(e.ev) && (!t.known || on >= t.elected) {
			t.known, t.ev, t.elected, t.years = true, e.ev, on, int(e.termYears)
		}
	}
	// The latest approved extension: by occurred_on, then recorded order.
	for i := range v.f.extends {
		x := &v.f.extends[i]
		if v.upTo(x.ev, v.d) && (t.lastExt < 0 || v.f.evs[x.ev].day >= v.f.evs[t.lastExt].day) {
			t.lastExt = x.ev
		}
	}
	if t.known {
		t.expiry = t.elected.addYears(t.years)
		if t.lastExt >= 0 {
			if until := v.extensionUntil(t.lastExt); until > t.expiry {
				t.expiry, t.ext = until, t.lastExt
			}
		}
		for t.overdue < 100 && t.expiry.addYears(t.overdue+1) <= v.d {
			t.overdue++
		}
	}
	v.term = t
	return t
}

// extensionUntil returns the until of the TermExtensionApproved ev.
func (v *view) extensionUntil(ev int32) day {
	for _, x := range v.f.extends {
		if x.ev == ev {
			return x.until
		}
	}
	return 0
}

// expiryText says how the term's expiry came about, in Chinese.
func (v *view) expiryText(t *termResult) string {
	s := fmt.Sprintf("%s 换届，任期%d年，%s 届满", t.elected, t.years, t.elected.addYears(t.years))
	if t.ext >= 0 {
		s += fmt.Sprintf("，经上级批准延期换届至 %s", t.expiry)
	}
	return s
}

func (v *view) termRule(r *domain.Rule, item *Item) {
	t := v.termState()
	switch {
	case !t.known && r.NoRecordPoints > 0:
		evs := []int32{}
		if t.lastExt >= 0 {
			evs = append(evs, t.lastExt)
		}
		item.Deductions = append(item.Deductions, Deduction{Rule: r.ID, Points: r.NoRecordPoints,
			Reason: fmt.Sprintf("%s：换届情况无记录（截至 %s 没有换届选举记录）", r.Reason, v.d), Events: v.ids(evs), Periods: []string{v.dText()}})
	case !t.known:
	case t.overdue >= 1:
		evs := []int32{t.ev}
		if t.ext >= 0 {
			evs = append(evs, t.ext)
		}
		item.Deductions = append(item.Deductions, Deduction{Rule: r.ID, Points: r.Points * domain.Points(t.overdue),
			Reason: fmt.Sprintf("%s：%s，至 %s 超届%d年", r.Reason, v.expiryText(t), v.d, t.overdue),
			Events: v.ids(evs)})
	case t.ext >= 0:
		item.Notes = append(item.Notes, Note{Rule: r.ID, Reason: fmt.Sprintf("%s，至 %s 未超届", v.expiryText(t), v.d),
			Events: v.ids([]int32{t.ev, t.ext})})
	}
}

// violations calls fn for every ViolationRecorded in the year by D.
func (v *view) violations(fn func(c *caseEvent)) {
	for i := range v.f.cases {
		if c := &v.f.cases[i]; !c.handled && v.inYear(c.ev) {
			fn(c)
		}
	}
}

// caseMiss is a violation whose deadline fell by D without a handling.
type caseMiss struct {
	c        *caseEvent
	deadline day
	handled  int32 // the CaseHandled, when it came after the deadline; -1 for none
}

// caseDeadlines returns the violations of any year known at K whose
// deadline (occurred_on + days) falls in the assessment year and on or
// before D and that have no CaseHandled dated on or before the deadline
// (有案不查); and, when open is true instead, those whose deadline is
// still ahead of D and that are not handled yet.
func (v *view) caseDeadlines(days int, open bool) []caseMiss {
	var out []caseMiss
	for i := range v.f.cases {
		c := &v.f.cases[i]
		if c.handled || !v.upTo(c.ev, v.d) {
			continue
		}
		deadline := v.f.evs[c.ev].day.addDays(days)
		if open != (deadline > v.d) || !open && deadline < v.yearStart {
			continue
		}
		handled := int32(-1)
		for j := range v.f.cases {
			h := &v.f.cases[j]
			if h.handled && h.caseID == c.caseID && v.upTo(h.ev, v.d) && (handled < 0 || v.f.evs[h.ev].day < v.f.evs[handled].day) {
				handled = h.ev
			}
		}
		switch {
		case handled >= 0 && v.f.evs[handled].day <= deadline:
		case open && handled >= 0:
		default:
			out = append(out, caseMiss{c: c, deadline: deadline, handled: handled})
		}
	}
	return out
}

func (v *view) caseDeadlineRule(r *domain.Rule, item *Item) {
	var evs []int32
	var details []string
	for _, m := range v.caseDeadlines(r.CaseDeadlineDays, false) {
		on := v.f.evs[m.c.ev].day
		evs = append(evs, m.c.ev)
		if m.handled >= 0 {
			evs = append(evs, m.handled)
			details = append(details, fmt.Sprintf("案件%s %s 立案，%s 才查处（期限 %s）", m.c.caseID, on, v.f.evs[m.handled].day, m.deadline))
			continue
		}
		details = append(details, fmt.Sprintf("案件%s %s 立案，期限 %s 届满仍未查处", m.c.caseID, on, m.deadline))
	}
	if len(details) > 0 {
		item.Deductions = append(item.Deductions, Deduction{Rule: r.ID, Points: r.Points,
			Reason: r.Reason + "：" + strings.Join(details, "；"), Events: v.ids(evs)})
	}
}

// violationWords names what makes a violation count for a serious rule.
func violationWords(c *caseEvent, r *domain.Rule) string {
	var w []string
	if r.Severity != "" && c.severity == r.Severity {
		w = append(w, map[string]string{domain.SeveritySerious: "严重违法违纪", domain.SeverityOrdinary: "一般违纪"}[c.severity])
	}
	if r.Impact != "" && c.impact == r.Impact {
		w = append(w, map[string]string{domain.ImpactSevere: "造成严重影响", domain.ImpactNormal: "影响一般"}[c.impact])
	}
	return strings.Join(w, "、")
}

func (v *view) seriousRule(r *domain.Rule, item *Item) {
	var evs []int32
	var details []string
	seen := map[[2]string]bool{}
	perCase := r.Deduct == domain.DeductPerPersonCase
	v.violations(func(c *caseEvent) {
		words := violationWords(c, r)
		if words == "" {
			return
		}
		evs = append(evs, c.ev)
		k := [2]string{c.person, ""}
		if perCase {
			k[1] = c.caseID
		}
		if seen[k] {
			return
		}
		seen[k] = true
		if perCase {
			details = append(details, fmt.Sprintf("%s（案件%s，%s）", c.person, c.caseID, words))
		} else {
			details = append(details, c.person)
		}
	})
	if len(details) == 0 {
		return
	}
	unit := "人"
	if perCase {
		unit = "人次"
	}
	item.Deductions = append(item.Deductions, Deduction{Rule: r.ID, Points: r.Points * domain.Points(len(details)),
		Reason: fmt.Sprintf("%s：%s，共%d%s", r.Reason, strings.Join(details, "、"), len(details), unit), Events: v.ids(evs)})
}

func (v *view) notesRule(r *domain.Rule, item *Item) {
	acts := v.f.acts[countableIndex[domain.TypeStudySessionHeld]]
	var without []int32
	withNotes := 0
	for i := range acts {
		a := &acts[i]
		if !v.inYear(a.ev) {
			continue
		}
		if a.notes {
			withNotes++
		} else {
			without = append(without, a.ev)
		}
	}
	var reason string
	switch {
	case len(without) > 0:
		reason = fmt.Sprintf("%s：%d次政治学习无学习笔记", r.Reason, len(without))
	case v.yearClosed && withNotes == 0 && v.yearNeed(1) > 0:
		reason = fmt.Sprintf("%s：%d 年没有记有学习笔记的政治学习", r.Reason, v.year)
	default:
		return
	}
	d := Deduction{Rule: r.ID, Points: r.Points, Reason: reason, Events: v.ids(without)}
	if len(without) == 0 {
		d.Periods = []string{v.yp.year.label}
	}
	item.Deductions = append(item.Deductions, d)
}

// leaderRule judges each member who is a leader on D (the last day
// judged) over the year; a yearly requirement, judged once the year has
// closed.
func (v *view) leaderRule(rp *rulePlan, item *Item) {
	r := rp.r
	need := v.needIn(r, domain.PeriodYear)
	if !v.yearClosed || need <= 0 {
		return
	}
	leaders := v.leaderTallies(rp)
	if len(leaders) == 0 {
		return
	}
	misses := 0
	var details []string
	var evs []int32
	for _, l := range leaders {
		item.Counts = append(item.Counts, Count{Rule: r.ID, Label: who(l.m, l.s) + "：" + r.Label, Period: v.yp.year.label, Have: l.have, Need: need})
		if l.have < need {
			misses += need - l.have
			details = append(details, fmt.Sprintf("%s %d次（应不少于%d次）", who(l.m, l.s), l.have, need))
			if l.s.leaderEv >= 0 {
				evs = append(evs, l.s.leaderEv)
			}
		}
	}
	if pts := v.deduct(r, misses); pts > 0 {
		item.Deductions = append(item.Deductions, Deduction{Rule: r.ID, Points: pts,
			Reason: fmt.Sprintf("%s：%s%s", r.Reason, strings.Join(details, "；"), v.foundingNote(r, domain.PeriodYear)), Events: v.ids(evs), Periods: []string{v.yp.year.label}})
	}
}

// leaderTally is what one leader on D did in the year toward a leader rule.
type leaderTally struct {
	m    *member
	s    memberAt
	have int
}

// leadersOn returns the members who are leaders on D, and for every member
// index its position among them (-1 for none); memoised.
func (v *view) leadersOn() ([]leaderTally, []int32) {
	if v.leaderPos != nil {
		return v.leaders, v.leaderPos
	}
	v.leaderPos = make([]int32, len(v.f.members))
	for i := range v.f.members {
		v.leaderPos[i] = -1
		m := &v.f.members[i]
		if s := v.memberOn(m, v.d); s.active && s.leader {
			v.leaderPos[i] = int32(len(v.leaders))
			v.leaders = append(v.leaders, leaderTally{m: m, s: s})
		}
	}
	return v.leaders, v.leaderPos
}

// leaderTallies counts, for each member who is a leader on D, the events
// of the year up to D that a leader rule selects and in which they take
// the rule's role.
func (v *view) leaderTallies(rp *rulePlan) []leaderTally {
	base, pos := v.leadersOn()
	if len(base) == 0 {
		return nil
	}
	leaders := slices.Clone(base)
	v.forMatches(rp, domain.PeriodYear, func(a *act, _ int) {
		if rp.r.Role == domain.LeaderAsLecturer {
			if a.lecturer >= 0 && pos[a.lecturer] >= 0 {
				leaders[pos[a.lecturer]].have++
			}
			return
		}
		for _, p := range v.f.people[a.pOff : a.pOff+a.pLen] {
			if j := pos[p]; j >= 0 {
				leaders[j].have++
			}
		}
	})
	return leaders
}

// scheduledFor returns the committee's scheduled events for the
// organisation known at K that occurred in the year by D, each
// scheduled_event_id once (the latest recorded definition).
func (v *view) scheduledFor() []*scheduled {
	s := v.q.Schedule
	idx := s.forOrg(v.f.code)
	var out []*scheduled
	for _, i := range idx {
		e := &s.entries[i]
		if e.at > v.k || e.day < v.yearStart || e.day > v.d || e.day < v.founded {
			continue
		}
		replaced := false
		for j, o := range out {
			if o.sid == e.sid {
				out[j], replaced = e, true
			}
		}
		if !replaced {
			out = append(out, e)
		}
	}
	return out
}

func (v *view) attendanceRule(r *domain.Rule, item *Item) {
	sched := v.scheduledFor()
	if len(sched) == 0 {
		return
	}
	var ids []string
	var missed []string
	have := 0
	for _, e := range sched {
		ok := false
		for _, a := range v.f.attended {
			if a.sid == e.sid && v.upTo(a.ev, v.d) {
				ok = true
				break
			}
		}
		if ok {
			have++
			continue
		}
		ids = append(ids, e.idText())
		missed = append(missed, fmt.Sprintf("%s %s（%s）", e.day, e.title, e.sid))
	}
	item.Counts = append(item.Counts, Count{Rule: r.ID, Label: r.Label, Period: v.yp.year.label, Have: have, Need: len(sched)})
	if len(missed) > 0 {
		item.Deductions = append(item.Deductions, Deduction{Rule: r.ID, Points: r.Points * domain.Points(len(missed)),
			Reason: fmt.Sprintf("%s：未参加%s，共%d次", r.Reason, strings.Join(missed, "、"), len(missed)), Events: ids})
	}
}
