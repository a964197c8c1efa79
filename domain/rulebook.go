package domain

import (
	"bytes"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
)

// A Rulebook is one version of the assessment rules, as data: the 2016
// rubric of RUBRIC.md is the JSON document rulebooks/2016.1.json, and a
// correction is a new version published as an event, never an edit in
// place. The Go code knows a closed set of rule kinds (RuleCount,
// RuleEach, …); every number and list a rule judges by is a parameter in
// the document, so changing a number in the JSON changes the score
// without touching Go code.
//
// Schema in brief (field names are the JSON names):
//
//	year, version, title, source, total           the document
//	weights {online_percent, group_percent}       final = online·w₁ + group·w₂
//	tiers [{tier, min}]                           highest first; the last has min 0
//	dues {rates [{up_to_fen?, rate_bp}], dues_grace_days, remittance_grace_days}
//	late_entry_days                               补录: an entry recorded later than this after it occurred
//	sections [{code, title, value}]
//	items [{code, section, title, value, kinds?, content, standard,
//	        rules [Rule], findings [{code, label, points | min+max | all, per_case?}]}]
//	vetoes [{code, kind, reason, tier_max, severity?, impact?, overdue_more_than_years?}]
//
// Points are JSON decimals with at most two decimals (0.5); in Go they are
// integer hundredths (Points). Money is integer fen; rates are basis
// points. See Rule for the parameters of each rule kind.
//
// A Rulebook must not be modified once it has been validated or used:
// projections cache what they derive from it by pointer. Use Clone for a
// copy to edit.
type Rulebook struct {
	Year    int             `json:"year"`
	Version string          `json:"version"`
	Title   string          `json:"title"`
	Source  string          `json:"source,omitempty"`
	Total   Points          `json:"total"`
	Weights Weights         `json:"weights"`
	Tiers   []TierThreshold `json:"tiers"`
	Dues    *DuesSchedule   `json:"dues,omitempty"`
	// LateEntryDays: an organisation's entry recorded more than this many
	// days after its occurred_on is marked 补录 wherever it is shown
	// (GOVERNANCE.md). 0 (absent) means 30, the 2016 value
	// (LateEntryDaysOf). It does not change a score.
	LateEntryDays int           `json:"late_entry_days,omitempty"`
	Sections      []RuleSection `json:"sections"`
	Items         []RuleItem    `json:"items"`
	Vetoes        []VetoRule    `json:"vetoes"`
}

// Weights are the shares of the online score (网上考核) and the group
// assessment (年终分组考评) in the final score, in percent; they sum to 100.
type Weights struct {
	OnlinePercent int `json:"online_percent"`
	GroupPercent  int `json:"group_percent"`
}

// TierThreshold places a final score at or above Min in Tier. The list is
// ordered from the best tier down; the last threshold is 0.
type TierThreshold struct {
	Tier string `json:"tier"`
	Min  Points `json:"min"`
}

// DuesSchedule is the dues rate table and deadlines (2.5 and V3).
type DuesSchedule struct {
	// Rates are income brackets in ascending order: a monthly income up
	// to and including UpToFen pays RateBP basis points of it, rounded
	// down to the fen. The last bracket has no UpToFen.
	Rates []DuesRate `json:"rates"`
	// GraceDays: a month's dues are due by its last day plus this many days.
	GraceDays int `json:"dues_grace_days"`
	// RemittanceGraceDays: a quarter's remittance is due by the quarter's
	// last day plus this many days.
	RemittanceGraceDays int `json:"remittance_grace_days"`
}

// DuesRate is one bracket of the dues rate table.
type DuesRate struct {
	UpToFen *Fen `json:"up_to_fen,omitempty"`
	RateBP  int  `json:"rate_bp"`
}

// RuleSection is one of the five sections (思想建设 …).
type RuleSection struct {
	Code  string `json:"code"`
	Title string `json:"title"`
	Value Points `json:"value"`
}

// RuleItem is one item of the 细则, worth Value points; its rules and
// findings deduct from it, never below 0.
type RuleItem struct {
	Code    string `json:"code"`
	Section string `json:"section"`
	Title   string `json:"title"`
	Value   Points `json:"value"`
	// Kinds the item applies to; empty means every kind. An item that does
	// not apply to a kind scores its full value for it.
	Kinds    []OrgKind     `json:"kinds,omitempty"`
	Content  string        `json:"content,omitempty"`  // 考核内容, as published
	Standard string        `json:"standard,omitempty"` // 评分标准, as published
	Rules    []Rule        `json:"rules,omitempty"`
	Findings []FindingRule `json:"findings,omitempty"`
}

// Rule kinds: the closed set of computations the scorer knows.
const (
	// RuleCount: events matching Match, counted in each closed Period,
	// need Need (NeedByKind overrides per kind); per_miss deducts Points
	// for every missing occurrence, once deducts Points when any period
	// is short.
	RuleCount = "count"
	// RuleEach: for each of Values, events matching Match with that value
	// of Match[0].Field, counted over Period (year or ever), need Need;
	// per_miss deducts Points per missing value, once deducts Points if
	// any value is missing.
	RuleEach = "each"
	// RuleOfficers: Requirements on the offices held on D; the deduction
	// is PointsByMissing[n-1] for n missing requirements (the last entry
	// for more).
	RuleOfficers = "officers"
	// RuleTerm: the term expires term_years after the last election on or
	// before D, or at the until of the latest TermExtensionApproved on or
	// before D when that is later; Points per whole year overdue at D
	// (deduct per_year). With no election on record NoRecordPoints (when
	// given) are deducted once.
	RuleTerm = "term"
	// RuleDuesLate: any month's dues or any quarter's remittance not paid
	// by its due date (see DuesSchedule); Points once a year.
	RuleDuesLate = "dues_late"
	// RuleDuesShort: any closed month paid, but less than the rate table
	// asks; Points once a year.
	RuleDuesShort = "dues_short"
	// RuleCaseDeadline (有案不查): a violation's deadline is its
	// occurred_on plus CaseDeadlineDays; a violation of any year whose
	// deadline falls in the assessment year and on or before D, with no
	// CaseHandled dated on or before the deadline, is a miss; Points once.
	RuleCaseDeadline = "case_deadline"
	// RuleSeriousViolations: violations in the year with Severity or (when
	// given) Impact; Points per distinct person (deduct per_person) or per
	// distinct case and person, 每人次 (deduct per_person_case).
	RuleSeriousViolations = "serious_violations"
	// RuleNotesKept: any study session in the year without notes, or
	// (year closed) no session with notes; Points once.
	RuleNotesKept = "notes_kept"
	// RuleLeaderCount: each member who is a leader on the last day judged
	// needs Need events matching Match in the year in which they take
	// Role; per_miss deducts Points per missing occurrence over all
	// leaders, once deducts Points if any leader is short.
	RuleLeaderCount = "leader_count"
	// RuleAttendance: every RequiredEventScheduled by the work committee
	// that targets the organisation and occurred in the year up to D needs
	// an AttendanceRecorded; Points per miss.
	RuleAttendance = "attendance"
)

// RuleKinds lists every rule kind.
var RuleKinds = []string{RuleCount, RuleEach, RuleOfficers, RuleTerm, RuleDuesLate, RuleDuesShort,
	RuleCaseDeadline, RuleSeriousViolations, RuleNotesKept, RuleLeaderCount, RuleAttendance}

// Deduction modes (Rule.Deduct).
const (
	DeductPerMiss   = "per_miss"
	DeductOnce      = "once"
	DeductPerYear   = "per_year"
	DeductPerPerson = "per_person"
	// DeductPerPersonCase deducts per distinct (case, person): 每人次.
	DeductPerPersonCase = "per_person_case"
)

// Rule periods (Rule.Period). A period requirement is judged only once the
// period has closed by D; PeriodEver is a state judged on D itself.
const (
	PeriodMonth   = "month"
	PeriodQuarter = "quarter"
	PeriodHalf    = "half"
	PeriodYear    = "year"
	PeriodEver    = "ever"
)

// Where an event's period comes from (Rule.PeriodFrom).
const (
	PeriodFromOccurredOn = "occurred_on" // the default
	PeriodFromPayload    = "payload"     // the period the payload names (SelfInspectionCompleted.half)
	// PeriodFromPayloadDated: the period the payload names, and the event
	// counts only when its occurred_on lies inside that period (a
	// self-inspection counts for its half only if done in that half).
	PeriodFromPayloadDated = "payload_dated"
)

// Leader roles in an event (Rule.Role).
const (
	LeaderAsAttendee = "attendee"
	LeaderAsLecturer = "lecturer"
)

// Rule is one computable requirement of an item. Which parameters a kind
// takes is fixed (see the Rule* constants); Validate refuses missing and
// unexpected ones.
type Rule struct {
	ID     string `json:"id"`     // unique in the rulebook: "<item>.<name>"
	Kind   string `json:"kind"`   // one of RuleKinds
	Label  string `json:"label"`  // short Chinese label of what is counted
	Reason string `json:"reason"` // Chinese: the requirement and its deduction
	// Kinds of organisation the rule applies to; empty means every kind.
	Kinds []OrgKind `json:"kinds,omitempty"`
	// RequiresGroups limits the rule to organisations with 党小组 declared.
	RequiresGroups bool `json:"requires_groups,omitempty"`

	Match      []RuleMatch `json:"match,omitempty"`
	Values     []RuleValue `json:"values,omitempty"`
	Period     string      `json:"period,omitempty"`
	PeriodFrom string      `json:"period_from,omitempty"`
	Need       int         `json:"need,omitempty"`
	NeedByKind *KindCounts `json:"need_by_kind,omitempty"`
	Role       string      `json:"role,omitempty"`

	Requirements    []RoleRequirement `json:"requirements,omitempty"`
	PointsByMissing []Points          `json:"points_by_missing,omitempty"`

	CaseDeadlineDays int    `json:"case_deadline_days,omitempty"`
	Severity         string `json:"severity,omitempty"`
	Impact           string `json:"impact,omitempty"`
	// NoRecordPoints (term rules): deducted once when no election is on
	// record by D (换届情况无记录).
	NoRecordPoints Points `json:"no_record_points,omitempty"`

	Deduct string `json:"deduct,omitempty"`
	Points Points `json:"points,omitempty"`
}

// RuleMatch selects events: of Type and, when Field is given, whose
// payload field has one of Values (RuleEach takes the values from the
// rule's Values instead).
type RuleMatch struct {
	Type   string   `json:"type"`
	Field  string   `json:"field,omitempty"`
	Values []string `json:"values,omitempty"`
}

// RuleValue is one required value of a RuleEach rule, with its Chinese label.
type RuleValue struct {
	Value string `json:"value"`
	Label string `json:"label"`
}

// RoleRequirement is met when one of AnyOf is held on D. Kinds limits it
// (empty: every kind).
type RoleRequirement struct {
	AnyOf []string  `json:"any_of"`
	Label string    `json:"label"`
	Kinds []OrgKind `json:"kinds,omitempty"`
}

// KindCounts gives a number per organisation kind; nil means "not given".
type KindCounts struct {
	Committee     *int `json:"committee,omitempty"`
	GeneralBranch *int `json:"general_branch,omitempty"`
	Branch        *int `json:"branch,omitempty"`
}

// Get returns the number for kind, if given.
func (k *KindCounts) Get(kind OrgKind) (int, bool) {
	if k == nil {
		return 0, false
	}
	var p *int
	switch kind {
	case KindCommittee:
		p = k.Committee
	case KindGeneralBranch:
		p = k.GeneralBranch
	case KindBranch:
		p = k.Branch
	}
	if p == nil {
		return 0, false
	}
	return *p, true
}

// FindingRule is a qualitative deduction an assessor may record
// (FindingRecorded): fixed Points, a Min..Max range in steps of 0.5, or
// All (the item's whole value). A finding counts once per year (the latest
// recorded one) unless PerCase, when every recorded finding deducts.
type FindingRule struct {
	Code    string `json:"code"`
	Label   string `json:"label"`
	Points  Points `json:"points,omitempty"`
	Min     Points `json:"min,omitempty"`
	Max     Points `json:"max,omitempty"`
	All     bool   `json:"all,omitempty"`
	PerCase bool   `json:"per_case,omitempty"`
}

// IsRange reports whether the finding takes points from a range.
func (f *FindingRule) IsRange() bool { return f.Min != 0 || f.Max != 0 }

// Veto kinds.
const (
	// VetoViolation fires on a ViolationRecorded in the year with the
	// veto's Severity and Impact.
	VetoViolation = "violation"
	// VetoTermOverdue fires when D is more than OverdueMoreThanYears
	// years after the term's expiry.
	VetoTermOverdue = "term_overdue"
	// VetoDues fires when dues were late or short in the year (the
	// dues_late and dues_short judgements).
	VetoDues = "dues"
)

// VetoKinds lists every veto kind.
var VetoKinds = []string{VetoViolation, VetoTermOverdue, VetoDues}

// VetoRule lowers the tier to at most TierMax when it fires.
type VetoRule struct {
	Code                 string `json:"code"`
	Kind                 string `json:"kind"`
	Reason               string `json:"reason"`
	TierMax              string `json:"tier_max"`
	Severity             string `json:"severity,omitempty"`
	Impact               string `json:"impact,omitempty"`
	OverdueMoreThanYears int    `json:"overdue_more_than_years,omitempty"`
}

//go:embed rulebooks/2016.1.json
var rulebook2016JSON []byte

var builtin2016 = sync.OnceValue(func() *Rulebook {
	rb, err := ParseRulebook(rulebook2016JSON)
	if err != nil {
		panic("domain: the embedded 2016 rulebook is invalid: " + err.Error())
	}
	return rb
})

// Builtin2016 returns the embedded 2016 rulebook, version "2016.1": the
// rulebook in force when none has been published. Every call returns the
// same value, which callers must not modify (Clone it to edit).
func Builtin2016() *Rulebook { return builtin2016() }

// Builtin2016JSON returns the embedded 2016 rulebook document as shipped.
func Builtin2016JSON() []byte { return bytes.Clone(rulebook2016JSON) }

// MaxRulebookBytes bounds a rulebook document.
const MaxRulebookBytes = 1 << 20

// ParseRulebook decodes a rulebook document strictly (unknown fields,
// trailing data and wrong types are errors) and validates it, returning
// every problem at once as field errors with JSON paths.
func ParseRulebook(b []byte) (*Rulebook, error) {
	if len(b) > MaxRulebookBytes {
		return nil, fieldErr("", fmt.Sprintf("rulebook larger than %d bytes", MaxRulebookBytes))
	}
	var rb Rulebook
	if err := StrictUnmarshal(b, &rb); err != nil {
		return nil, err
	}
	if err := rb.Validate(); err != nil {
		return nil, err
	}
	return &rb, nil
}

// rulebookFields is Rulebook without its methods, for the default encoding.
type rulebookFields Rulebook

// MarshalJSON writes the canonical form (see Canonical).
func (rb *Rulebook) MarshalJSON() ([]byte, error) { return rb.Canonical() }

// Canonical returns the canonical encoding of the rulebook: compact JSON,
// object keys in byte order at every level, numbers as Go writes them
// (points with at most two decimals), no HTML escaping, no trailing
// newline. Equal rulebooks have equal canonical bytes, whatever the layout
// of the document they were parsed from.
func (rb *Rulebook) Canonical() ([]byte, error) {
	var raw bytes.Buffer
	enc := json.NewEncoder(&raw)
	enc.SetEscapeHTML(false)
	if err := enc.Encode((*rulebookFields)(rb)); err != nil {
		return nil, fmt.Errorf("domain: encode rulebook: %w", err)
	}
	// Decoding into generic values and encoding again sorts the keys
	// (encoding/json writes map keys in order); UseNumber keeps every
	// number exactly as written.
	dec := json.NewDecoder(&raw)
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("domain: canonical rulebook: %w", err)
	}
	var out bytes.Buffer
	enc = json.NewEncoder(&out)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("domain: canonical rulebook: %w", err)
	}
	return bytes.TrimRight(out.Bytes(), "\n"), nil
}

// SHA256 returns the lower-case hex SHA-256 of the canonical encoding. It
// names the exact rules a score was computed under.
func (rb *Rulebook) SHA256() string {
	b, err := rb.Canonical()
	if err != nil {
		// Only an unencodable value (impossible for these types) fails.
		panic(err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// Clone returns a deep copy, safe to modify.
func (rb *Rulebook) Clone() *Rulebook {
	b, err := json.Marshal((*rulebookFields)(rb))
	if err != nil {
		panic(err)
	}
	var c Rulebook
	if err := json.Unmarshal(b, &c); err != nil {
		panic(err)
	}
	return &c
}

// Item returns the item with code, or nil.
func (rb *Rulebook) Item(code string) *RuleItem {
	for i := range rb.Items {
		if rb.Items[i].Code == code {
			return &rb.Items[i]
		}
	}
	return nil
}

// Finding returns the item's finding with code, or nil.
func (it *RuleItem) Finding(code string) *FindingRule {
	for i := range it.Findings {
		if it.Findings[i].Code == code {
			return &it.Findings[i]
		}
	}
	return nil
}

// AppliesTo reports whether the item applies to an organisation kind.
func (it *RuleItem) AppliesTo(kind OrgKind) bool { return kindIn(it.Kinds, kind) }

// AppliesTo reports whether the rule applies to an organisation of kind,
// with or without 党小组.
func (r *Rule) AppliesTo(kind OrgKind, hasGroups bool) bool {
	return kindIn(r.Kinds, kind) && (!r.RequiresGroups || hasGroups)
}

// AppliesTo reports whether the requirement applies to kind.
func (q *RoleRequirement) AppliesTo(kind OrgKind) bool { return kindIn(q.Kinds, kind) }

func kindIn(kinds []OrgKind, kind OrgKind) bool {
	if len(kinds) == 0 {
		return true
	}
	for _, k := range kinds {
		if k == kind {
			return true
		}
	}
	return false
}

// NeedFor returns how many occurrences the rule requires of kind.
func (r *Rule) NeedFor(kind OrgKind) int {
	if n, ok := r.NeedByKind.Get(kind); ok {
		return n
	}
	return r.Need
}

// PointsForMissing returns the officers deduction for n missing requirements.
func (r *Rule) PointsForMissing(n int) Points {
	if n <= 0 || len(r.PointsByMissing) == 0 {
		return 0
	}
	if n > len(r.PointsByMissing) {
		n = len(r.PointsByMissing)
	}
	return r.PointsByMissing[n-1]
}

// Expected returns the monthly dues for a monthly income: the income times
// its bracket's rate, rounded down to the fen.
func (d *DuesSchedule) Expected(income Fen) Fen {
	if income <= 0 || len(d.Rates) == 0 {
		return 0
	}
	rate := d.Rates[len(d.Rates)-1].RateBP
	for _, r := range d.Rates {
		if r.UpToFen != nil && income <= *r.UpToFen {
			rate = r.RateBP
			break
		}
	}
	return income * Fen(rate) / 10000
}

// Final combines the online and group scores by the weights, rounded to
// hundredths half up, in integer arithmetic.
func (rb *Rulebook) Final(online, group Points) Points {
	sum := int64(online)*int64(rb.Weights.OnlinePercent) + int64(group)*int64(rb.Weights.GroupPercent)
	// Scores are never negative, so adding half and truncating rounds half up.
	return Points((sum + 50) / 100)
}

// TierOf returns the tier of a final score.
func (rb *Rulebook) TierOf(final Points) string {
	for _, t := range rb.Tiers {
		if final >= t.Min {
			return t.Tier
		}
	}
	if n := len(rb.Tiers); n > 0 {
		return rb.Tiers[n-1].Tier
	}
	return ""
}

// TierRank returns the position of tier in the rulebook's tiers (0 is the
// best), or -1 when the tier is unknown.
func (rb *Rulebook) TierRank(tier string) int {
	for i, t := range rb.Tiers {
		if t.Tier == tier {
			return i
		}
	}
	return -1
}

// CheckFinding checks a finding against the rulebook: the item exists and
// has the finding code, and points (nil for a fixed finding given without
// points) are allowed. It returns the points the finding deducts. Errors
// are *FieldError with Field data.item, data.finding or data.points.
func (rb *Rulebook) CheckFinding(item, finding string, points *Points) (Points, error) {
	it := rb.Item(item)
	if it == nil {
		return 0, fieldErr("data.item", fmt.Sprintf("rulebook %s has no item %q", rb.Version, truncate(item, 16)))
	}
	f := it.Finding(finding)
	if f == nil {
		codes := make([]string, len(it.Findings))
		for i := range it.Findings {
			codes[i] = it.Findings[i].Code
		}
		has := "it has no findings"
		if len(codes) > 0 {
			has = "it has " + strings.Join(codes, ", ")
		}
		return 0, fieldErr("data.finding", fmt.Sprintf("item %s has no finding %q; %s", it.Code, truncate(finding, 64), has))
	}
	if f.IsRange() {
		if points == nil {
			return 0, fieldErr("data.points", fmt.Sprintf("required: finding %s of item %s takes %s to %s points in steps of 0.5", f.Code, it.Code, f.Min, f.Max))
		}
		if p := *points; p < f.Min || p > f.Max || p%50 != 0 {
			return 0, fieldErr("data.points", fmt.Sprintf("%s is not allowed: finding %s of item %s takes %s to %s points in steps of 0.5", p, f.Code, it.Code, f.Min, f.Max))
		}
		return *points, nil
	}
	fixed := f.Points
	if f.All {
		fixed = it.Value
	}
	if points != nil && *points != fixed {
		return 0, fieldErr("data.points", fmt.Sprintf("finding %s of item %s is fixed at %s points; omit points or give %s", f.Code, it.Code, fixed, fixed))
	}
	return fixed, nil
}
