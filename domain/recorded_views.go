package domain

import (
	"encoding/json"
	"errors"
	"time"
)

// Grade is one official grade of an organisation for a year, as recorded:
// a GradeIssued, or a GradeRevised that replaces the grade before it.
// The append path reads grades from the ledger into this form; the read
// side (rankings, exports) takes it as it is.
type Grade struct {
	Org             string
	Year            int
	Type            string // TypeGradeIssued or TypeGradeRevised
	EventID         string
	Revision        uint64
	Position        uint64
	OccurredOn      string
	RecordedAt      time.Time
	RecordedBy      string
	RulebookVersion string
	Final           Points
	Tier            string
	ScorecardSHA256 string
	Reason          string // GradeRevised only
	// OverrideReason says why the grade differs from the computation
	// (an appeal's outcome, say); empty when it agrees with it.
	OverrideReason string
	// Checkpoint is the log tree the grade was computed at (nil: not
	// anchored, e.g. a grade recorded before anchoring existed).
	Checkpoint *GradeCheckpoint
}

// Revised reports whether the grade replaces an earlier one.
func (g *Grade) Revised() bool { return g.Type == TypeGradeRevised }

// PublishedRulebook is one version recorded in a rulebook stream.
type PublishedRulebook struct {
	Rulebook   *Rulebook
	Reason     string
	EventID    string
	RecordedAt time.Time
	RecordedBy string
	Builtin    bool // not (yet) recorded: the built-in fallback
}

// NamedYear returns the assessment year an event names in its data: the
// findings, group assessments, grades and rulebooks, which are recorded
// after (or before) the year they concern. Other types name none: they
// belong to the year of their occurred_on. This is the one place that
// decides which year an event concerns.
func NamedYear(typ string, data []byte) (int, bool) {
	switch typ {
	case TypeFindingRecorded, TypeGroupAssessmentRecorded, TypeGradeIssued, TypeGradeRevised,
		TypeRulebookPublished, TypeYearClosed, TypeAdvancedDesignated:
		var v struct {
			Year int `json:"year"`
		}
		if json.Unmarshal(data, &v) == nil {
			return v.Year, true
		}
	}
	return 0, false
}

// ConcernsYear reports whether an event concerns year y: it occurred in
// y, or it names y. occurredOn is the event's occurred_on as stored
// (YYYY-MM-DD, or "" for none).
func ConcernsYear(typ, occurredOn string, data []byte, y int) bool {
	if len(occurredOn) >= 5 && occurredOn[4] == '-' && occurredOn[:4] == itoa4(y) {
		return true
	}
	n, ok := NamedYear(typ, data)
	return ok && n == y
}

// InYearJournal reports whether an event belongs in the journal of an
// audit of year y: what concerns y, and whatever earlier events the
// year's state rests on (the roster, elections and systems of earlier
// years) — every event that names no year and occurred on or before the
// year's last day.
func InYearJournal(typ, occurredOn string, data []byte, y int) bool {
	if n, ok := NamedYear(typ, data); ok {
		return n == y
	}
	return occurredOn != "" && occurredOn <= YearEnd(y).String()
}

func itoa4(y int) string {
	b := [4]byte{byte('0' + y/1000%10), byte('0' + y/100%10), byte('0' + y/10%10), byte('0' + y%10)}
	return string(b[:])
}

// ErrGradeExists reports a grade issued twice, or a revision of a grade
// that has already been revised: the grades changed since they were read.
var ErrGradeExists = errors.New("ledger: grade already issued or revised")

// TruncateInstant is an instant as the ledger keeps it: UTC, whole
// microseconds (InstantLayout).
func TruncateInstant(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }
