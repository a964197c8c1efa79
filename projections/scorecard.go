package projections

import "partyledger/domain"

// Scorecard is the score of one organisation for one year, with its whole
// derivation. Marshalled with encoding/json it is the scorecard JSON of
// EVENTS.md, fields in that order; the fields after Items (and after the
// documented ones in each nested type) are additive. Every slice is
// non-nil, so an empty list is [] and never null, and the same inputs give
// the same bytes.
type Scorecard struct {
	Org            string         `json:"org"`
	Year           int            `json:"year"`
	AsOf           domain.Date    `json:"as_of"`    // the D judged (capped at December 31)
	KnownAt        string         `json:"known_at"` // K, UTC, microseconds
	Rulebook       RulebookRef    `json:"rulebook"`
	LedgerPosition uint64         `json:"ledger_position"`
	Online         domain.Points  `json:"online"`
	Group          *domain.Points `json:"group"` // null until a group assessment is recorded
	Final          domain.Points  `json:"final"`
	Provisional    bool           `json:"provisional"`
	TierByScore    string         `json:"tier_by_score"`
	Tier           string         `json:"tier"`
	Vetoes         []Veto         `json:"vetoes"`
	Items          []Item         `json:"items"`

	// Additive.
	Name       string         `json:"name,omitempty"`
	Kind       domain.OrgKind `json:"kind,omitempty"`
	GroupEvent string         `json:"group_event,omitempty"` // the GroupAssessmentRecorded that counts
	// Ignored lists findings that this rulebook cannot score (an item it
	// does not have); findings of a known item are listed in the item.
	Ignored []Note `json:"ignored,omitempty"`
	// Founding is set when the organisation was founded in the assessment
	// year: what was therefore not judged, and how yearly minimums scale.
	Founding *Founding `json:"founding,omitempty"`
	// ParentCode is the organisation's parent (empty: directly under the
	// work committee): rankings cover one level unless asked otherwise.
	ParentCode string `json:"parent_code,omitempty"`
	// Rejected lists the entries of the year an assessor rejected (退回)
	// as known at K, with the reason: they do not count.
	Rejected []Rejection `json:"rejected,omitempty"`
	// Late lists the organisation's own entries of the year, counted as
	// known at K, that were recorded more than the rulebook's
	// late_entry_days after they occurred (补录), with both dates.
	Late []LateEntry `json:"late,omitempty"`
}

// Rejection is an entry an assessor rejected (退回).
type Rejection struct {
	EventID    string      `json:"event_id"`
	OccurredOn domain.Date `json:"occurred_on"`
	Reason     string      `json:"reason"`
	RejectedBy string      `json:"rejected_by"` // the EventRejected's id
	RejectedAt string      `json:"rejected_at"` // its recorded_at
}

// LateEntry is an entry recorded late (补录).
type LateEntry struct {
	EventID    string      `json:"event_id"`
	OccurredOn domain.Date `json:"occurred_on"`
	RecordedAt string      `json:"recorded_at"`
	Days       int         `json:"days"` // recorded this many days after it occurred
}

// Founding says how an organisation founded during the assessment year is
// judged (RUBRIC.md, "Organisations founded mid-year"): months, quarters
// and halves that began before FoundedOn are not judged, and a yearly
// minimum need becomes ⌈need × Months / 12⌉ (Months 0: not judged).
type Founding struct {
	FoundedOn domain.Date `json:"founded_on"`
	Months    int         `json:"months"`
	Reason    string      `json:"reason"`
}

// RulebookRef names the exact rules a scorecard was computed under.
type RulebookRef struct {
	Version string `json:"version"`
	SHA256  string `json:"sha256"`
}

// Veto is a veto that fired, with the events that triggered it.
type Veto struct {
	Code    string   `json:"code"`
	Reason  string   `json:"reason"`
	Events  []string `json:"events"`
	TierMax string   `json:"tier_max"` // additive: the best tier the veto allows
}

// Item is one item's score: its value less its deductions, never below 0.
type Item struct {
	Code       string        `json:"code"`
	Value      domain.Points `json:"value"`
	Score      domain.Points `json:"score"`
	Counts     []Count       `json:"counts"`
	Deductions []Deduction   `json:"deductions"`

	// Additive.
	Title    string        `json:"title,omitempty"`
	Section  string        `json:"section,omitempty"`
	Deducted domain.Points `json:"deducted,omitempty"` // the sum of the deductions, before the cap
	Capped   bool          `json:"capped,omitempty"`   // the deductions exceed the value: score is 0
	Ignored  []Note        `json:"ignored,omitempty"`  // findings not counted, and why
	// Notes explain a judgement that is not the plain rule (a term
	// extended by the work committee), or an event a rule did not count
	// and why (a self-inspection done outside the half it names).
	Notes []Note `json:"notes,omitempty"`
}

// Count is what the ledger holds against what a rule requires, for one
// judged period (or, for a state rule, on D).
type Count struct {
	Rule   string `json:"rule"`
	Label  string `json:"label"`
	Period string `json:"period"`
	Have   int    `json:"have"`
	Need   int    `json:"need"`
}

// Deduction is what one rule (or one finding code) deducts from an item.
type Deduction struct {
	Rule   string        `json:"rule"`
	Points domain.Points `json:"points"`
	Reason string        `json:"reason"`
	Events []string      `json:"events"`
	// Periods judged short (additive): the evidence when there are no
	// events to cite ("2016-03", "2016-Q2", "2016", or D for a state).
	Periods []string `json:"periods,omitempty"`
}

// Note is an event the scorer saw and did not count, with the reason.
type Note struct {
	Rule   string   `json:"rule"`
	Reason string   `json:"reason"`
	Events []string `json:"events"`
}
