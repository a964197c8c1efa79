package domain

import (
	"fmt"
	"strings"
)

// Limits on a rulebook document.
const (
	MaxRulebookItems       = 200
	MaxRulesPerItem        = 50
	MaxFindingsPerItem     = 50
	MaxRuleValues          = 100
	MaxCaseDeadlineDays    = 3650
	MaxGraceDays           = 366
	MaxNeed                = 1000
	MaxOverdueYearsInVetos = 50
	MaxLateEntryDays       = 366
)

// Validate reports every problem of the rulebook at once: a *FieldError
// for one, a *ProblemsError for several, each naming a JSON path
// ("items[4].rules[1].need") and a reason.
func (rb *Rulebook) Validate() error {
	if rb == nil {
		return fieldErr("", "no rulebook")
	}
	v := rbValidator{rb: rb, ruleIDs: map[string]string{}}
	v.document()
	return v.p.Err()
}

type rbValidator struct {
	rb      *Rulebook
	p       Problems
	ruleIDs map[string]string // rule or finding id → its path
}

func (v *rbValidator) add(field, format string, args ...any) {
	v.p.Add(field, fmt.Sprintf(format, args...))
}

func (v *rbValidator) text(field, s string, required bool, maxRunes int) {
	checkText(&v.p, field, s, required, maxRunes)
}

func (v *rbValidator) document() {
	rb := v.rb
	checkYear(&v.p, "year", rb.Year)
	v.text("version", rb.Version, true, MaxNameRunes)
	v.text("title", rb.Title, true, MaxTitleRunes)
	v.text("source", rb.Source, false, MaxTitleRunes)
	if rb.Total <= 0 || rb.Total > PointsOf(1000) {
		v.add("total", "want a positive number of points, at most 1000")
	}
	w := rb.Weights
	if w.OnlinePercent < 0 || w.OnlinePercent > 100 {
		v.add("weights.online_percent", "want 0..100")
	}
	if w.GroupPercent < 0 || w.GroupPercent > 100 {
		v.add("weights.group_percent", "want 0..100")
	}
	if w.OnlinePercent+w.GroupPercent != 100 {
		v.add("weights", "online_percent and group_percent must add up to 100, not %d", w.OnlinePercent+w.GroupPercent)
	}
	v.tiers()
	v.dues()
	if rb.LateEntryDays < 0 || rb.LateEntryDays > MaxLateEntryDays {
		v.add("late_entry_days", "want 0..%d (0: mark no entry 补录)", MaxLateEntryDays)
	}
	v.sections()
	if len(rb.Items) == 0 {
		v.add("items", "required: at least one item")
	}
	if len(rb.Items) > MaxRulebookItems {
		v.add("items", "more than %d items", MaxRulebookItems)
	}
	var sum Points
	seen := map[string]int{}
	for i := range rb.Items {
		sum += rb.Items[i].Value
		v.item(fmt.Sprintf("items[%d]", i), &rb.Items[i], seen, i)
	}
	if len(rb.Items) > 0 && sum != rb.Total {
		v.add("total", "is %s but the items add up to %s", rb.Total, sum)
	}
	v.vetoes()
}

func (v *rbValidator) tiers() {
	rb := v.rb
	if len(rb.Tiers) == 0 {
		v.add("tiers", "required: the tiers from the best down, the last with min 0")
		return
	}
	seen := map[string]bool{}
	for i, t := range rb.Tiers {
		f := fmt.Sprintf("tiers[%d]", i)
		checkEnum(&v.p, f+".tier", t.Tier, tiers...)
		if seen[t.Tier] {
			v.add(f+".tier", "tier %q listed twice", t.Tier)
		}
		seen[t.Tier] = true
		if t.Min < 0 || t.Min > rb.Total {
			v.add(f+".min", "want 0..total (%s)", rb.Total)
		}
		if i > 0 && t.Min >= rb.Tiers[i-1].Min {
			v.add(f+".min", "must be lower than the previous tier's min (%s)", rb.Tiers[i-1].Min)
		}
	}
	if last := rb.Tiers[len(rb.Tiers)-1]; last.Min != 0 {
		v.add(fmt.Sprintf("tiers[%d].min", len(rb.Tiers)-1), "the last tier must start at 0, so every score has a tier")
	}
}

func (v *rbValidator) dues() {
	d := v.rb.Dues
	if d == nil {
		return
	}
	if len(d.Rates) == 0 {
		v.add("dues.rates", "required: at least one bracket")
	}
	var prev Fen
	for i, r := range d.Rates {
		f := fmt.Sprintf("dues.rates[%d]", i)
		if r.RateBP < 0 || r.RateBP > 10000 {
			v.add(f+".rate_bp", "want 0..10000 basis points")
		}
		last := i == len(d.Rates)-1
		switch {
		case last && r.UpToFen != nil:
			v.add(f+".up_to_fen", "the last bracket has no upper bound; omit up_to_fen")
		case !last && r.UpToFen == nil:
			v.add(f+".up_to_fen", "required on every bracket but the last")
		case r.UpToFen != nil && *r.UpToFen <= prev:
			v.add(f+".up_to_fen", "brackets must ascend: %d is not above %d", *r.UpToFen, prev)
		}
		if r.UpToFen != nil {
			prev = *r.UpToFen
		}
	}
	if d.GraceDays < 0 || d.GraceDays > MaxGraceDays {
		v.add("dues.dues_grace_days", "want 0..%d", MaxGraceDays)
	}
	if d.RemittanceGraceDays < 0 || d.RemittanceGraceDays > MaxGraceDays {
		v.add("dues.remittance_grace_days", "want 0..%d", MaxGraceDays)
	}
}

func (v *rbValidator) sections() {
	rb := v.rb
	if len(rb.Sections) == 0 {
		v.add("sections", "required: at least one section")
	}
	seen := map[string]bool{}
	for i, s := range rb.Sections {
		f := fmt.Sprintf("sections[%d]", i)
		if s.Code == "" || strings.Trim(s.Code, "0123456789") != "" || len(s.Code) > 2 {
			v.add(f+".code", "want a section number like 3")
		} else if seen[s.Code] {
			v.add(f+".code", "section %s listed twice", s.Code)
		}
		seen[s.Code] = true
		v.text(f+".title", s.Title, true, MaxTitleRunes)
		if s.Value <= 0 {
			v.add(f+".value", "want a positive number of points")
		}
		var sum Points
		n := 0
		for _, it := range rb.Items {
			if it.Section == s.Code {
				sum += it.Value
				n++
			}
		}
		switch {
		case n == 0:
			v.add(f, "section %s has no items", s.Code)
		case sum != s.Value:
			v.add(f+".value", "is %s but the items of section %s add up to %s", s.Value, s.Code, sum)
		}
	}
}

func (v *rbValidator) kinds(field string, kinds []OrgKind) {
	seen := map[OrgKind]bool{}
	for i, k := range kinds {
		f := fmt.Sprintf("%s[%d]", field, i)
		checkEnum(&v.p, f, string(k), string(KindCommittee), string(KindGeneralBranch), string(KindBranch))
		if seen[k] {
			v.add(f, "kind %q listed twice", k)
		}
		seen[k] = true
	}
}

func (v *rbValidator) item(f string, it *RuleItem, seen map[string]int, idx int) {
	if r := ItemCodeProblem(it.Code); r != "" {
		v.p.Add(f+".code", r)
	} else {
		if j, dup := seen[it.Code]; dup {
			v.add(f+".code", "item %s is also items[%d]", it.Code, j)
		}
		seen[it.Code] = idx
		if sec, _, _ := strings.Cut(it.Code, "."); sec != it.Section {
			v.add(f+".section", "item %s must be in section %s, not %q", it.Code, sec, it.Section)
		}
	}
	found := false
	for _, s := range v.rb.Sections {
		found = found || s.Code == it.Section
	}
	if !found {
		v.add(f+".section", "no section %q", truncate(it.Section, 8))
	}
	v.text(f+".title", it.Title, true, MaxTitleRunes)
	v.text(f+".content", it.Content, false, MaxSummaryRunes)
	v.text(f+".standard", it.Standard, false, MaxSummaryRunes)
	if it.Value <= 0 {
		v.add(f+".value", "want a positive number of points")
	}
	v.kinds(f+".kinds", it.Kinds)
	if len(it.Rules) == 0 && len(it.Findings) == 0 {
		v.add(f, "item %s has no rules and no findings: nothing could ever deduct from it", it.Code)
	}
	if len(it.Rules) > MaxRulesPerItem {
		v.add(f+".rules", "more than %d rules", MaxRulesPerItem)
	}
	if len(it.Findings) > MaxFindingsPerItem {
		v.add(f+".findings", "more than %d findings", MaxFindingsPerItem)
	}
	for i := range it.Rules {
		v.rule(fmt.Sprintf("%s.rules[%d]", f, i), it, &it.Rules[i])
	}
	codes := map[string]bool{}
	for i := range it.Findings {
		v.finding(fmt.Sprintf("%s.findings[%d]", f, i), it, &it.Findings[i], codes)
	}
}

// claim registers a rule id (or the id "<item>.<finding>" of a finding) so
// that every deduction names exactly one rule.
func (v *rbValidator) claim(field, id string) {
	if prev, dup := v.ruleIDs[id]; dup {
		v.add(field, "id %q is also used by %s", id, prev)
		return
	}
	v.ruleIDs[id] = field
}

func (v *rbValidator) finding(f string, it *RuleItem, fr *FindingRule, codes map[string]bool) {
	if r := IDProblem(fr.Code); r != "" {
		v.p.Add(f+".code", r)
	} else {
		if codes[fr.Code] {
			v.add(f+".code", "finding %q listed twice in item %s", fr.Code, it.Code)
		}
		codes[fr.Code] = true
		v.claim(f+".code", it.Code+"."+fr.Code)
	}
	v.text(f+".label", fr.Label, true, MaxTitleRunes)
	forms := 0
	if fr.Points != 0 {
		forms++
	}
	if fr.IsRange() {
		forms++
	}
	if fr.All {
		forms++
	}
	switch {
	case forms == 0:
		v.add(f, "give fixed points, a range min..max, or all")
		return
	case forms > 1:
		v.add(f, "give only one of points, min..max and all")
		return
	}
	step := func(field string, p Points) {
		switch {
		case p <= 0:
			v.add(field, "want a positive number of points")
		case p%50 != 0:
			v.add(field, "%s is not a multiple of 0.5", p)
		case p > it.Value:
			v.add(field, "%s is more than the item's value %s", p, it.Value)
		}
	}
	switch {
	case fr.IsRange():
		step(f+".min", fr.Min)
		step(f+".max", fr.Max)
		if fr.Min >= fr.Max {
			v.add(f+".max", "must be above min (%s)", fr.Min)
		}
	case fr.Points != 0:
		step(f+".points", fr.Points)
	}
}

// ruleParams names the parameters each rule kind takes beyond id, kind,
// label, reason, kinds and requires_groups.
var ruleParams = map[string][]string{
	RuleCount:             {"match", "period", "period_from", "need", "need_by_kind", "deduct", "points"},
	RuleEach:              {"match", "values", "period", "need", "deduct", "points"},
	RuleOfficers:          {"requirements", "points_by_missing"},
	RuleTerm:              {"deduct", "points", "no_record_points"},
	RuleDuesLate:          {"deduct", "points"},
	RuleDuesShort:         {"deduct", "points"},
	RuleCaseDeadline:      {"case_deadline_days", "deduct", "points"},
	RuleSeriousViolations: {"severity", "impact", "deduct", "points"},
	RuleNotesKept:         {"deduct", "points"},
	RuleLeaderCount:       {"match", "period", "role", "need", "deduct", "points"},
	RuleAttendance:        {"deduct", "points"},
}

// ruleDeducts names the deduction modes each kind allows.
var ruleDeducts = map[string][]string{
	RuleCount:             {DeductPerMiss, DeductOnce},
	RuleEach:              {DeductPerMiss, DeductOnce},
	RuleTerm:              {DeductPerYear},
	RuleDuesLate:          {DeductOnce},
	RuleDuesShort:         {DeductOnce},
	RuleCaseDeadline:      {DeductOnce},
	RuleSeriousViolations: {DeductPerPerson, DeductPerPersonCase},
	RuleNotesKept:         {DeductOnce},
	RuleLeaderCount:       {DeductPerMiss, DeductOnce},
	RuleAttendance:        {DeductPerMiss},
}

// given returns the names of the kind-specific parameters r sets.
func (r *Rule) given() []string {
	var out []string
	add := func(name string, set bool) {
		if set {
			out = append(out, name)
		}
	}
	add("match", len(r.Match) > 0)
	add("values", len(r.Values) > 0)
	add("period", r.Period != "")
	add("period_from", r.PeriodFrom != "")
	add("need", r.Need != 0)
	add("need_by_kind", r.NeedByKind != nil)
	add("role", r.Role != "")
	add("requirements", len(r.Requirements) > 0)
	add("points_by_missing", len(r.PointsByMissing) > 0)
	add("case_deadline_days", r.CaseDeadlineDays != 0)
	add("severity", r.Severity != "")
	add("impact", r.Impact != "")
	add("no_record_points", r.NoRecordPoints != 0)
	add("deduct", r.Deduct != "")
	add("points", r.Points != 0)
	return out
}

func rbContains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func (v *rbValidator) rule(f string, it *RuleItem, r *Rule) {
	name, ok := strings.CutPrefix(r.ID, it.Code+".")
	switch {
	case r.ID == "":
		v.add(f+".id", "required, like %s.name", it.Code)
	case !ok || IDProblem(name) != "":
		v.add(f+".id", "want %s.<name> (letters, digits, '-', '_'), not %q", it.Code, truncate(r.ID, 64))
	default:
		v.claim(f+".id", r.ID)
	}
	v.text(f+".label", r.Label, true, MaxTitleRunes)
	v.text(f+".reason", r.Reason, true, MaxSummaryRunes)
	v.kinds(f+".kinds", r.Kinds)
	params, known := ruleParams[r.Kind]
	if !known {
		checkEnum(&v.p, f+".kind", r.Kind, RuleKinds...)
		return
	}
	for _, g := range r.given() {
		if !rbContains(params, g) {
			v.add(f+"."+g, "not a parameter of a %s rule", r.Kind)
		}
	}
	if modes := ruleDeducts[r.Kind]; modes != nil {
		checkEnum(&v.p, f+".deduct", r.Deduct, modes...)
		switch {
		case r.Points <= 0:
			v.add(f+".points", "want a positive number of points")
		case r.Points > it.Value:
			v.add(f+".points", "%s is more than the item's value %s", r.Points, it.Value)
		}
	}
	switch r.Kind {
	case RuleCount:
		v.match(f, r, false)
		checkEnum(&v.p, f+".period", r.Period, PeriodMonth, PeriodQuarter, PeriodHalf, PeriodYear, PeriodEver)
		v.periodFrom(f, r)
		v.need(f, r)
	case RuleEach:
		v.match(f, r, true)
		checkEnum(&v.p, f+".period", r.Period, PeriodMonth, PeriodQuarter, PeriodHalf, PeriodYear, PeriodEver)
		v.need(f, r)
	case RuleLeaderCount:
		v.match(f, r, false)
		checkEnum(&v.p, f+".period", r.Period, PeriodYear)
		checkEnum(&v.p, f+".role", r.Role, LeaderAsAttendee, LeaderAsLecturer)
		for i, m := range r.Match {
			c, _ := Countable(m.Type)
			if c.Type == "" {
				continue
			}
			if (r.Role == LeaderAsAttendee && !c.Attendees) || (r.Role == LeaderAsLecturer && !c.Lecturer) {
				v.add(fmt.Sprintf("%s.match[%d].type", f, i), "a %s names no %s", m.Type, r.Role)
			}
		}
		v.need(f, r)
	case RuleOfficers:
		v.officers(f, it, r)
	case RuleCaseDeadline:
		if r.CaseDeadlineDays < 1 || r.CaseDeadlineDays > MaxCaseDeadlineDays {
			v.add(f+".case_deadline_days", "want 1..%d days", MaxCaseDeadlineDays)
		}
	case RuleSeriousViolations:
		if r.Severity == "" && r.Impact == "" {
			v.add(f+".severity", "required: the severity (or the impact, or both) of the violations that deduct")
		}
		if r.Severity != "" {
			checkEnum(&v.p, f+".severity", r.Severity, SeverityOrdinary, SeveritySerious)
		}
		if r.Impact != "" {
			checkEnum(&v.p, f+".impact", r.Impact, ImpactNormal, ImpactSevere)
		}
	case RuleTerm:
		switch p := r.NoRecordPoints; {
		case p < 0:
			v.add(f+".no_record_points", "want a positive number of points")
		case p > it.Value:
			v.add(f+".no_record_points", "%s is more than the item's value %s", p, it.Value)
		}
	case RuleDuesLate, RuleDuesShort:
		if v.rb.Dues == nil {
			v.add(f, "a %s rule needs the rulebook's dues schedule (dues)", r.Kind)
		}
	}
}

// match checks a rule's event selection; for RuleEach the one match names
// a field whose values are the rule's values.
func (v *rbValidator) match(f string, r *Rule, each bool) {
	if len(r.Match) == 0 {
		v.add(f+".match", "required: the events to count")
	}
	if each && len(r.Match) > 1 {
		v.add(f+".match", "an each rule matches one event type")
	}
	for i, m := range r.Match {
		mf := fmt.Sprintf("%s.match[%d]", f, i)
		c, ok := Countable(m.Type)
		if !ok {
			v.add(mf+".type", "%q is not an event type rules can count", truncate(m.Type, 64))
			continue
		}
		switch {
		case m.Field == "" && each:
			v.add(mf+".field", "required: the field whose values the rule lists (%s has %s)", m.Type, rbOrNone(c.Field))
		case m.Field == "" && len(m.Values) > 0:
			v.add(mf+".field", "required with values")
		case m.Field != "" && m.Field != c.Field:
			v.add(mf+".field", "%s has no field %q to match (it has %s)", m.Type, truncate(m.Field, 32), rbOrNone(c.Field))
		case m.Field != "" && !each && len(m.Values) == 0:
			v.add(mf+".values", "required with field")
		}
		if each && len(m.Values) > 0 {
			v.add(mf+".values", "an each rule lists its values in values, not in match")
		}
		v.values(mf+".values", c, m.Values)
	}
	if each {
		if len(r.Values) == 0 {
			v.add(f+".values", "required: the values each needing events")
		}
		if len(r.Values) > MaxRuleValues {
			v.add(f+".values", "more than %d values", MaxRuleValues)
		}
		var c CountableEvent
		if len(r.Match) == 1 {
			c, _ = Countable(r.Match[0].Type)
		}
		vals := make([]string, len(r.Values))
		for i, rv := range r.Values {
			vals[i] = rv.Value
			v.text(fmt.Sprintf("%s.values[%d].label", f, i), rv.Label, true, MaxTitleRunes)
		}
		if c.Field != "" {
			v.values(f+".values", c, vals)
		}
	}
}

func rbOrNone(field string) string {
	if field == "" {
		return "none"
	}
	return field
}

func (v *rbValidator) values(f string, c CountableEvent, vals []string) {
	seen := map[string]bool{}
	for i, x := range vals {
		if c.ValueIndex(x) < 0 {
			v.add(fmt.Sprintf("%s[%d]", f, i), "%q is not one of %s", truncate(x, 40), strings.Join(c.Values, ", "))
		}
		if seen[x] {
			v.add(fmt.Sprintf("%s[%d]", f, i), "%q listed twice", truncate(x, 40))
		}
		seen[x] = true
	}
}

func (v *rbValidator) periodFrom(f string, r *Rule) {
	switch r.PeriodFrom {
	case "", PeriodFromOccurredOn:
	case PeriodFromPayload, PeriodFromPayloadDated:
		for i, m := range r.Match {
			c, ok := Countable(m.Type)
			if ok && c.PayloadPeriod != r.Period {
				v.add(fmt.Sprintf("%s.match[%d].type", f, i), "a %s names no %s in its payload", m.Type, r.Period)
			}
		}
	default:
		checkEnum(&v.p, f+".period_from", r.PeriodFrom, PeriodFromOccurredOn, PeriodFromPayload, PeriodFromPayloadDated)
	}
}

func (v *rbValidator) need(f string, r *Rule) {
	if r.Need < 0 || r.Need > MaxNeed {
		v.add(f+".need", "want 1..%d", MaxNeed)
	}
	if r.Need == 0 && r.NeedByKind == nil {
		v.add(f+".need", "required: how many are needed (at least 1)")
	}
	if k := r.NeedByKind; k != nil {
		for _, kv := range []struct {
			name string
			n    *int
		}{{"committee", k.Committee}, {"general_branch", k.GeneralBranch}, {"branch", k.Branch}} {
			if kv.n != nil && (*kv.n < 0 || *kv.n > MaxNeed) {
				v.add(f+".need_by_kind."+kv.name, "want 0..%d", MaxNeed)
			}
		}
	}
}

func (v *rbValidator) officers(f string, it *RuleItem, r *Rule) {
	if len(r.Requirements) == 0 {
		v.add(f+".requirements", "required: the offices that must be held")
	}
	for i, q := range r.Requirements {
		qf := fmt.Sprintf("%s.requirements[%d]", f, i)
		if len(q.AnyOf) == 0 {
			v.add(qf+".any_of", "required: one or more roles")
		}
		for j, role := range q.AnyOf {
			checkEnum(&v.p, fmt.Sprintf("%s.any_of[%d]", qf, j), role, officerRoles...)
		}
		v.text(qf+".label", q.Label, true, MaxTitleRunes)
		v.kinds(qf+".kinds", q.Kinds)
	}
	if len(r.PointsByMissing) == 0 {
		v.add(f+".points_by_missing", "required: the points for 1, 2, … missing requirements")
	}
	for i, p := range r.PointsByMissing {
		pf := fmt.Sprintf("%s.points_by_missing[%d]", f, i)
		switch {
		case p <= 0:
			v.add(pf, "want a positive number of points")
		case p > it.Value:
			v.add(pf, "%s is more than the item's value %s", p, it.Value)
		case i > 0 && p < r.PointsByMissing[i-1]:
			v.add(pf, "must not be less than for fewer missing (%s)", r.PointsByMissing[i-1])
		}
	}
}

func (v *rbValidator) vetoes() {
	seen := map[string]bool{}
	for i, vt := range v.rb.Vetoes {
		f := fmt.Sprintf("vetoes[%d]", i)
		if r := IDProblem(vt.Code); r != "" {
			v.p.Add(f+".code", r)
		} else if seen[vt.Code] {
			v.add(f+".code", "veto %s listed twice", vt.Code)
		}
		seen[vt.Code] = true
		v.text(f+".reason", vt.Reason, true, MaxSummaryRunes)
		if v.rb.TierRank(vt.TierMax) < 0 {
			v.add(f+".tier_max", "%q is not one of the rulebook's tiers", truncate(vt.TierMax, 32))
		}
		var params []string
		switch vt.Kind {
		case VetoViolation:
			params = []string{"severity", "impact"}
			checkEnum(&v.p, f+".severity", vt.Severity, SeverityOrdinary, SeveritySerious)
			checkEnum(&v.p, f+".impact", vt.Impact, ImpactNormal, ImpactSevere)
		case VetoTermOverdue:
			params = []string{"overdue_more_than_years"}
			if vt.OverdueMoreThanYears < 0 || vt.OverdueMoreThanYears > MaxOverdueYearsInVetos {
				v.add(f+".overdue_more_than_years", "want 0..%d", MaxOverdueYearsInVetos)
			}
		case VetoDues:
			if v.rb.Dues == nil {
				v.add(f, "a dues veto needs the rulebook's dues schedule (dues)")
			}
		default:
			checkEnum(&v.p, f+".kind", vt.Kind, VetoKinds...)
			continue
		}
		for _, g := range []struct {
			name string
			set  bool
		}{{"severity", vt.Severity != ""}, {"impact", vt.Impact != ""}, {"overdue_more_than_years", vt.OverdueMoreThanYears != 0}} {
			if g.set && !rbContains(params, g.name) {
				v.add(f+"."+g.name, "not a parameter of a %s veto", vt.Kind)
			}
		}
	}
}
