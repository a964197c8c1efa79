// Package democity generates a deterministic demo city: a full 2016 of
// party-building work for a few dozen organisations, as journal lines
// (EVENTS.md) ready to import.
//
// The journal is laid out in recorded order:
//
//  1. every OrganizationRegistered (parents before their children);
//  2. the work committee's RequiredEventScheduled lines (no org), by date;
//  3. each organisation's history and 2016, one organisation after the
//     other, in date order (pre-2016 setup such as elections, members and
//     systems first);
//  4. the assessors' 2017 lines (FindingRecorded, GroupAssessmentRecorded)
//     for year 2016, by date;
//  5. with Options.Appeal, the retraction of one finding after an appeal
//     upheld in March 2017.
//
// City.RecordedAt says when each line was recorded on a simulated clock
// (clock.go): each event a plausible time after it occurred, in CST
// working hours; City.RecordedOrder is the order to append them in on
// that clock, so that a ledger's known_at shows what was known when.
//
// Three organisations show the points RUBRIC.md revision 2 settles: an
// exemplary one founded on 1 July (Org.FoundedOn), an exemplary one whose
// overdue election the work committee approved to be held later
// (Org.TermExtendedUntil), and one with a member who paid a month's dues
// partly late (Org.PartlyLateDues).
//
// Every organisation gets a Profile: Exemplary organisations meet every
// requirement the ledger can judge and get no findings; Average ones miss
// a few; Sloppy ones miss many; Derelict ones miss nearly everything. The
// deliberate misses of each organisation are listed in Org.Misses, and the
// vetoes it should trigger in Org.Vetoes, so that tests and demos can find
// them from the seed with Build.
package democity

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"partyledger/domain"
)

// Year is the assessment year the generator writes.
const Year = 2016

// DefaultOrgs is the number of organisations when Options.Orgs is 0.
const DefaultOrgs = 64

// MinOrgs and MaxOrgs bound Options.Orgs: at least one of each kind, and
// a city of about a million events at most (2,800 organisations: the size
// the replay benchmarks use).
const (
	MinOrgs = 3
	MaxOrgs = 3000
)

// Options tune the generated city.
type Options struct {
	// Orgs is the number of organisations: 0 means DefaultOrgs; other
	// values are clamped to MinOrgs..MaxOrgs.
	Orgs int
	// AllIDs gives every line a deterministic id (its idempotency key), so
	// that importing the journal twice writes nothing new. Without it only
	// the lines a retraction cites carry an id.
	AllIDs bool
	// Appeal adds what happened after the assessment: an appeal upheld in
	// March 2017 (AppealOn) retracts the costliest finding of an
	// organisation directly under the work committee.
	Appeal bool
}

// Profile is how well an organisation keeps its 台账.
type Profile string

// Profiles.
const (
	Exemplary Profile = "exemplary" // meets every ledger rule, no findings
	Average   Profile = "average"   // misses a few requirements
	Sloppy    Profile = "sloppy"    // misses many
	Derelict  Profile = "derelict"  // misses nearly everything
)

// Org describes one generated organisation and what was built into it.
type Org struct {
	Code       string
	Name       string
	Kind       domain.OrgKind
	ParentCode string
	HasGroups  bool
	Profile    Profile
	// Members is the roster size at the end of the year.
	Members int
	// Leaders is the number of 党员领导干部 on the roster.
	Leaders int
	// Misses names the deliberate misses (e.g. "late_dues",
	// "study_short"), sorted; empty for an exemplary organisation.
	Misses []string
	// Vetoes lists the vetoes the year should trigger ("V1", "V2", "V3").
	Vetoes []string
	// Findings is the number of FindingRecorded lines for the year.
	Findings int
	// GroupScore is the last recorded group assessment; HasGroupScore is
	// false when none was recorded (the result stays provisional).
	GroupScore    domain.Points
	HasGroupScore bool
	// Retractions is the number of EventRetracted lines.
	Retractions int
	// FoundedOn is set for the organisation founded during the year
	// (OrganizationRegistered.founded_on): it keeps its 台账 from then on,
	// and the months before are not judged.
	FoundedOn domain.Date
	// TermExtendedUntil is set for the organisation whose term expired
	// before the year but whose election the work committee allowed to be
	// held later (TermExtensionApproved): no term is overdue.
	TermExtendedUntil domain.Date
	// PartlyLateDues: one member paid a month's dues half on time and the
	// rest after the due date (late, RUBRIC.md 2.5); it is among Misses as
	// late_dues.
	PartlyLateDues bool
}

// City is a generated city: its organisations (in code order) and the
// journal.
type City struct {
	Seed  int64
	Orgs  []Org
	Lines []domain.JournalLine
	// RecordedAt is when each line was recorded on the simulated clock
	// (parallel to Lines; kept out of the journal format, whose
	// recorded_at the ledger sets). See RecordedOrder.
	RecordedAt []time.Time
}

// Generate returns the journal of the demo city for seed.
func Generate(seed int64, opts Options) []domain.JournalLine {
	return Build(seed, opts).Lines
}

// Build returns the demo city for seed: the journal and what was built
// into each organisation. The same seed and options give the same city.
func Build(seed int64, opts Options) City {
	c := newCity(seed, opts)
	c.plan()
	return c.generate()
}

// WriteJSONL writes lines as JSONL: one compact JSON object a line, no
// HTML escaping, so Chinese text stays readable.
func WriteJSONL(w io.Writer, lines []domain.JournalLine) error {
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	for i := range lines {
		if err := enc.Encode(&lines[i]); err != nil {
			return fmt.Errorf("democity: line %d: %w", i+1, err)
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("democity: write: %w", err)
	}
	return nil
}
