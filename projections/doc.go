// Package projections folds ledger events into scores: pure functions of
// (events or facts, rulebook, dates), with no I/O, no clock and no
// context. It imports only partyledger/domain and the standard library.
//
// # Two steps
//
// Events → facts. A Facts holds what one organisation's stream says, rule
// by rule independent and compact (about 100 bytes an event), so it can be
// kept live for every organisation and scored at any date, as known at any
// instant, under any rulebook:
//
//	f := projections.NewFacts("LY-0001") // the OrganizationRegistered code
//	for each event of stream org-<uuid>, in recorded (revision) order {
//		if err := f.Apply(rec); err != nil { … } // rec is a domain.Recorded
//	}
//
// Apply refuses, and leaves f unchanged, for an event it cannot read: an
// unknown payload type, an event of another organisation or of a
// committee or rulebook stream (ErrWrongStream), a retraction of an event
// it has not seen. Each fact keeps its event id, occurred_on and
// recorded_at; a retraction (EventRetracted) is kept too and takes effect
// in every score whose known_at is at or after its recorded_at.
//
// The work committee's stream is folded once, for everyone, into a
// Schedule (rule 2.7, attendance):
//
//	s := projections.NewSchedule()
//	for each RequiredEventScheduled of the committee-<uuid> stream { s.Apply(rec) }
//
// Facts → scorecard. Score judges the facts for one year under one
// rulebook:
//
//	sc, err := projections.Score(f, rb, projections.Query{
//		Year:           2016,
//		AsOf:           domain.MustDate("2016-12-31"), // D; zero means the year's end
//		KnownAt:        now,                            // K; required: the package reads no clock
//		LedgerPosition: f.PositionAt(now),              // reported as is
//		Schedule:       s,
//	})
//	b, _ := json.Marshal(sc) // the scorecard JSON of EVENTS.md, byte-stable
//
// Only events with occurred_on ≤ D and recorded_at ≤ K count;
// FindingRecorded and GroupAssessmentRecorded count for the year they
// name, from their recorded_at on, when occurred_on ≤ D or D is the
// year's last day (so the year-end view includes the assessments made
// after the year closed). A period requirement is judged only once its
// period has closed by D (yearly ones when D is December 31); state rules
// (officers, term, dues account, systems) are judged on D. An
// organisation founded in the year (founded_on) is not judged for the
// periods that began before it, its yearly minimums scale to the months
// left, and before founded_on it is not scored at all (ErrNotFounded). The rulebook in force at K is the caller's to choose (the ledger's
// Books.RulebookAt); Score validates it once and caches its digest by
// pointer, so a rulebook must not be modified after use.
//
// ScoreAll scores many organisations with one query and ranks them (final
// descending, then code), on every CPU; Missing lists what an organisation
// still lacks in the periods open at D (this month, quarter, half, year).
//
// # Concurrency
//
// Score, ScoreAll and Missing only read the facts and the schedule; they
// may run concurrently with each other, but not with Apply on the same
// Facts or Schedule — the caller serialises writers (a sync.RWMutex is
// enough).
//
// # Arithmetic
//
// Points are integer hundredths (domain.Points) and money integer fen
// throughout; the final score is rounded half up in integer arithmetic
// (domain.Rulebook.Final). Nothing is a float, nothing iterates a map in
// an order that shows, and the same inputs give the same bytes.
package projections
