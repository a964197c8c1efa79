package projections

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"partyledger/domain"
)

// Schedule is the fold of the work committee's stream: every
// RequiredEventScheduled with its event id, occurred_on and recorded_at.
// One Schedule serves every organisation: give it to Score in
// Query.Schedule, and rule 2.7 judges the scheduled events that target the
// organisation (by code, or "*") against its AttendanceRecorded events.
//
// Build it with NewSchedule and Apply, in recorded order. Like Facts, it
// must not be applied to while it is being read.
type Schedule struct {
	entries []scheduled
	byOrg   map[string][]int32 // org code → entries naming it
	all     []int32            // entries targeting "*"

	designations []designation // AdvancedDesignated, in recorded order
}

// designation is one AdvancedDesignated of the committee stream.
type designation struct {
	at    int64 // recorded_at, Unix nanoseconds
	year  int
	codes []string
}

type scheduled struct {
	id    eventID
	odd   string // the id when it is not a canonical UUID
	at    int64
	day   day
	sid   string
	title string
}

// NewSchedule returns an empty schedule.
func NewSchedule() *Schedule { return &Schedule{byOrg: map[string][]int32{}} }

// Len returns the number of scheduled events applied.
func (s *Schedule) Len() int { return len(s.entries) }

// Apply folds the next event of the committee stream: a
// RequiredEventScheduled, an AdvancedDesignated (Designated), or a
// YearClosed (which no score depends on); anything else is an error
// (ErrWrongStream for an organisation's or rulebook's event), and changes
// nothing.
func (s *Schedule) Apply(r domain.Recorded) error {
	switch d := r.Payload.(type) {
	case *domain.YearClosed:
		return nil // the append path's rule; no score depends on it
	case *domain.AdvancedDesignated:
		s.designations = append(s.designations, designation{at: r.RecordedAt.UnixNano(), year: d.Year, codes: d.Codes})
		return nil
	}
	p, ok := r.Payload.(*domain.RequiredEventScheduled)
	switch {
	case r.Payload == nil:
		return errors.New("projections: schedule: event without payload")
	case !ok:
		return fmt.Errorf("projections: schedule: %w: a %s is not a committee event", ErrWrongStream, r.Type)
	case r.OccurredOn.IsZero():
		return errors.New("projections: schedule: no occurred_on")
	}
	e := scheduled{at: r.RecordedAt.UnixNano(), day: dayOf(r.OccurredOn), sid: p.ScheduledEventID, title: p.Title}
	if id, ok := parseEventID(r.ID); ok {
		e.id = id
	} else {
		e.odd = r.ID
	}
	i := int32(len(s.entries))
	s.entries = append(s.entries, e)
	for _, code := range p.Targets {
		if code == domain.TargetsAll {
			s.all = append(s.all, i)
			continue
		}
		if l := s.byOrg[code]; len(l) > 0 && l[len(l)-1] == i {
			continue // the same code listed twice
		}
		s.byOrg[code] = append(s.byOrg[code], i)
	}
	return nil
}

func (e *scheduled) idText() string {
	if e.odd != "" {
		return e.odd
	}
	return e.id.String()
}

// Designated reports whether the work committee had designated code an
// advanced organisation (先进) of year as known at k (zero: by every
// designation applied).
func (s *Schedule) Designated(code string, year int, k time.Time) bool {
	if s == nil {
		return false
	}
	for _, d := range s.designations {
		if d.year == year && (k.IsZero() || d.at <= k.UnixNano()) && slices.Contains(d.codes, code) {
			return true
		}
	}
	return false
}

// forOrg returns the entries targeting code, in recorded order, each once.
func (s *Schedule) forOrg(code string) []int32 {
	if s == nil {
		return nil
	}
	a, b := s.all, s.byOrg[code]
	out := make([]int32, 0, len(a)+len(b))
	for len(a) > 0 || len(b) > 0 {
		switch {
		case len(b) == 0 || (len(a) > 0 && a[0] < b[0]):
			out = append(out, a[0])
			a = a[1:]
		case len(a) == 0 || b[0] < a[0]:
			out = append(out, b[0])
			b = b[1:]
		default: // both name it ("*" and the code)
			out = append(out, a[0])
			a, b = a[1:], b[1:]
		}
	}
	return out
}
