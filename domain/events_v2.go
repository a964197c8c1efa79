package domain

import "fmt"

// Event types of catalog v2 (GOVERNANCE.md): the assessor's review and the
// work committee's year close and designation of advanced organisations.
const (
	TypeEventRejected      = "EventRejected"
	TypeYearClosed         = "YearClosed"
	TypeAdvancedDesignated = "AdvancedDesignated"
)

// EventRejected is an assessor's 退回 (网上考核 review) of an entry the
// organisation recorded itself: the entry stops counting from the
// rejection's recorded_at on, exactly like a retraction, and is shown as
// 退回 with the reason so that the branch can record a corrected one. A
// retraction of the rejection makes the entry count again.
type EventRejected struct {
	EventID string `json:"event_id"`
	Reason  string `json:"reason"`
}

// YearClosed (封账) closes an assessment year in the committee stream: from
// its recorded_at on, an organisation's own entries that occurred in Year
// are refused.
type YearClosed struct {
	Year   int    `json:"year"`
	Reason string `json:"reason"`
}

// AdvancedDesignated is the work committee's designation of advanced (先进)
// organisations of Year, in the committee stream: each code must be
// eligible (its scorecard's tier advanced) when it is recorded. Only a
// designated organisation's official grade may be 先进.
type AdvancedDesignated struct {
	Year   int      `json:"year"`
	Codes  []string `json:"codes"`
	Reason string   `json:"reason"`
}

func (*EventRejected) EventType() string      { return TypeEventRejected }
func (*EventRejected) isPayload()             {}
func (*YearClosed) EventType() string         { return TypeYearClosed }
func (*YearClosed) isPayload()                {}
func (*AdvancedDesignated) EventType() string { return TypeAdvancedDesignated }
func (*AdvancedDesignated) isPayload()        {}

func (e *EventRejected) Validate() error {
	var p Problems
	if !isUUID(e.EventID) {
		p.Add("event_id", "want an event id (UUID)")
	}
	checkText(&p, "reason", e.Reason, true, MaxSummaryRunes)
	return p.Err()
}

func (e *YearClosed) Validate() error {
	var p Problems
	checkYear(&p, "year", e.Year)
	checkText(&p, "reason", e.Reason, true, MaxSummaryRunes)
	return p.Err()
}

func (e *AdvancedDesignated) Validate() error {
	var p Problems
	checkYear(&p, "year", e.Year)
	switch {
	case len(e.Codes) == 0:
		p.Add("codes", "required: the organisations designated")
	case len(e.Codes) > MaxTargets:
		p.Add("codes", fmt.Sprintf("more than %d entries", MaxTargets))
	}
	seen := map[string]bool{}
	for i, c := range e.Codes {
		field := fmt.Sprintf("codes[%d]", i)
		if r := OrgCodeProblem(c); r != "" {
			p.Add(field, r)
			continue
		}
		if seen[c] {
			p.Add(field, fmt.Sprintf("organisation %q listed twice", c))
		}
		seen[c] = true
	}
	checkText(&p, "reason", e.Reason, true, MaxSummaryRunes)
	return p.Err()
}
