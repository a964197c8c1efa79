package scoreboard

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"partyledger/domain"
	"partyledger/projections"
)

// ScorecardSHA256 returns the lower-case hex SHA-256 of a scorecard's
// JSON: the bytes `partyledger score --json` prints for it (encoding/json,
// no HTML escaping), without the final newline. A grade records it, so
// the scorecard behind a grade can be recomputed and compared.
func ScorecardSHA256(sc *projections.Scorecard) (string, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(sc); err != nil {
		return "", fmt.Errorf("scoreboard: encode the scorecard of %s: %w", sc.Org, err)
	}
	sum := sha256.Sum256(bytes.TrimSuffix(buf.Bytes(), []byte("\n")))
	return hex.EncodeToString(sum[:]), nil
}

// GradeOptions tune IssueGrades and ReviseGrades.
type GradeOptions struct {
	// By names the local administrator (domain.LocalAdmin) the grade
	// events are recorded as, unless As is set.
	By string
	// As, when its role is set, is the principal the grade events are
	// recorded as (an admin token signed in to the web pages); By is then
	// ignored.
	As domain.Principal
	// Reason of a revision (required by ReviseGrades): the correction
	// it follows.
	Reason string
	// KnownAt is the instant the grades are computed as known at; zero
	// means now (a ledger stamp, so every grade event is recorded after it).
	KnownAt time.Time
	// Rulebook names a version; empty means the one in force at KnownAt.
	Rulebook string
	// AllowProvisional grades organisations that have no group
	// assessment yet (their final score is the online score).
	AllowProvisional bool
	// DryRun computes everything and writes nothing.
	DryRun bool
	// Under selects whom to grade, as Query.Under: by default the
	// organisations directly under the work committee.
	Under string
	// Anchor, when set, gives the log tree the grades are computed at
	// (ledger/logtree: size and root); every grade event carries it, so a
	// signed checkpoint of that size proves what the grade rests on.
	Anchor func(ctx context.Context) (*domain.GradeCheckpoint, error)
}

// principal is who the grade events are recorded as.
func (o GradeOptions) principal() domain.Principal {
	if o.As.Role != "" {
		return o.As
	}
	return domain.LocalAdmin(o.By)
}

// GradeRun is the outcome of IssueGrades or ReviseGrades.
type GradeRun struct {
	Year     int                     `json:"year"`
	KnownAt  string                  `json:"known_at"`
	Rulebook projections.RulebookRef `json:"rulebook"`
	DryRun   bool                    `json:"dry_run,omitempty"`
	// Orgs is the number of organisations scored.
	Orgs int `json:"orgs"`
	// Written are the grades recorded (or, in a dry run, to record).
	Written []GradeOutcome `json:"written"`
	// Unchanged counts the organisations whose latest grade still holds.
	Unchanged int `json:"unchanged"`
	// Skipped are the organisations left alone, each with the reason.
	Skipped []GradeSkip `json:"skipped"`
	// Checkpoint is the log tree the grades were computed at (when
	// GradeOptions.Anchor was given and something was written).
	Checkpoint *domain.GradeCheckpoint `json:"checkpoint,omitempty"`

	k time.Time // KnownAt
}

// GradeOutcome is one grade written.
type GradeOutcome struct {
	Org             string         `json:"org"`
	Name            string         `json:"name,omitempty"`
	Final           domain.Points  `json:"final"`
	Tier            string         `json:"tier"`
	ScorecardSHA256 string         `json:"scorecard_sha256"`
	EventID         string         `json:"event_id,omitempty"`
	Previous        *GradeSnapshot `json:"previous,omitempty"` // the grade a revision replaces
	// Diff explains a revision: the scorecard under the previous grade's
	// rulebook against the new one, both as known at KnownAt.
	Diff *projections.ScorecardDiff `json:"diff,omitempty"`
}

// GradeSnapshot is what a grade said.
type GradeSnapshot struct {
	EventID         string        `json:"event_id"`
	Type            string        `json:"type"`
	RulebookVersion string        `json:"rulebook_version"`
	Final           domain.Points `json:"final"`
	Tier            string        `json:"tier"`
	RecordedAt      string        `json:"recorded_at"`
}

// GradeSkip is an organisation not graded, and why (in Chinese).
type GradeSkip struct {
	Org    string `json:"org"`
	Reason string `json:"reason"`
}

func snapshotOf(g *domain.Grade) *GradeSnapshot {
	return &GradeSnapshot{EventID: g.EventID, Type: g.Type, RulebookVersion: g.RulebookVersion, Final: g.Final, Tier: g.Tier,
		RecordedAt: g.RecordedAt.UTC().Format(domain.InstantLayout)}
}

// gradeScores ranks the organisations to grade at year end as the options
// say, in code order, with the grades recorded so far. It keeps a row per
// organisation; the scorecards of those a run writes are scored again, a
// chunk at a time (gradeChunks).
func (b *Board) gradeScores(ctx context.Context, year int, opts GradeOptions) (*GradeRun, *Ranking, []Row, map[string][]domain.Grade, error) {
	// The built-in rulebook is recorded with the first grade that names
	// it (books.Books.IssueGrade), not here: a dry run or a revision
	// with nothing to revise writes nothing.
	k := opts.KnownAt
	if k.IsZero() {
		k = b.books.Now()
	}
	rk, err := b.Rank(ctx, Query{Year: year, KnownAt: k, Rulebook: opts.Rulebook, Under: opts.Under})
	if err != nil {
		return nil, nil, nil, nil, err
	}
	rows := slices.Clone(rk.Rows)
	slices.SortFunc(rows, func(a, b Row) int { return cmp.Compare(a.Org, b.Org) })
	codes := make([]string, len(rows))
	for i := range rows {
		codes[i] = rows[i].Org
	}
	grades, err := b.grades(ctx, year, codes)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	rb, err := b.books.RulebookAt(ctx, year, k, opts.Rulebook)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	run := &GradeRun{Year: year, KnownAt: domain.TruncateInstant(k).Format(projections.KnownAtLayout),
		Rulebook: projections.RulebookRef{Version: rb.Version, SHA256: rb.SHA256()}, DryRun: opts.DryRun, Orgs: len(rows),
		Written: []GradeOutcome{}, Skipped: []GradeSkip{}, k: domain.TruncateInstant(k)}
	return run, rk, rows, grades, nil
}

// gradeChunks calls fn with rows a chunk at a time (cardChunk), in order,
// each chunk with the scorecards (by code) of the rows need selects.
func (b *Board) gradeChunks(ctx context.Context, rk *Ranking, rows []Row, need func(*Row) bool,
	fn func(part []Row, cards map[string]*projections.Scorecard) error) error {
	n := cardChunk()
	for lo := 0; lo < len(rows); lo += n {
		part := rows[lo:min(lo+n, len(rows))]
		var sel []Row
		for i := range part {
			if need(&part[i]) {
				sel = append(sel, part[i])
			}
		}
		cards := make(map[string]*projections.Scorecard, len(sel))
		if err := b.Cards(ctx, rk, sel, func(sc *projections.Scorecard) error {
			cards[sc.Org] = sc
			return nil
		}); err != nil {
			return err
		}
		if err := fn(part, cards); err != nil {
			return err
		}
	}
	return nil
}

const provisionalSkip = "尚未录入年终分组考评，得分为暂定（可用 --provisional 仍予评定）"

// IssueGrades records a GradeIssued for every organisation registered at
// KnownAt that has no grade for year yet: its final score and tier at
// year end, the rulebook version and the SHA-256 of the scorecard.
// Organisations already graded are skipped (a grade changes only by
// ReviseGrades), and so are provisional ones unless AllowProvisional.
// The first grade recorded publishes the built-in rulebook when the
// year's rulebook stream is empty, so the version every grade names is in
// the ledger.
func (b *Board) IssueGrades(ctx context.Context, year int, opts GradeOptions) (*GradeRun, error) {
	run, rk, rows, grades, err := b.gradeScores(ctx, year, opts)
	if err != nil {
		return nil, err
	}
	if err := run.anchor(ctx, opts); err != nil {
		return nil, err
	}
	on := domain.DateOf(run.k)
	writes := func(r *Row) bool { return len(grades[r.Org]) == 0 && (!r.Provisional || opts.AllowProvisional) }
	err = b.gradeChunks(ctx, rk, rows, writes, func(part []Row, cards map[string]*projections.Scorecard) error {
		for i := range part {
			row := &part[i]
			switch {
			case len(grades[row.Org]) > 0:
				g := grades[row.Org][len(grades[row.Org])-1]
				run.Skipped = append(run.Skipped, GradeSkip{row.Org, fmt.Sprintf("已评定（%s %s，细则 %s）；更正请用 grade revise",
					g.Final, domain.TierLabel(g.Tier), g.RulebookVersion)})
				continue
			case row.Provisional && !opts.AllowProvisional:
				run.Skipped = append(run.Skipped, GradeSkip{row.Org, provisionalSkip})
				continue
			}
			sc := cards[row.Org]
			sum, err := ScorecardSHA256(sc)
			if err != nil {
				return err
			}
			tier := b.officialTier(row)
			out := GradeOutcome{Org: sc.Org, Name: sc.Name, Final: sc.Final, Tier: tier, ScorecardSHA256: sum}
			if !opts.DryRun {
				id, dup, err := b.books.IssueGrade(ctx, sc.Org, on, &domain.GradeIssued{Year: year, RulebookVersion: sc.Rulebook.Version,
					Final: sc.Final, Tier: tier, ScorecardSHA256: sum, ScorecardKnownAt: sc.KnownAt, Checkpoint: run.Checkpoint}, opts.principal())
				switch {
				case errors.Is(err, domain.ErrGradeExists) || err == nil && dup:
					// Issued meanwhile by another process.
					run.Skipped = append(run.Skipped, GradeSkip{sc.Org, "已由他人同时评定"})
					continue
				case err != nil:
					return &writeError{fmt.Errorf("scoreboard: grade of %s: %w", sc.Org, err)}
				}
				out.EventID = id
			}
			run.Written = append(run.Written, out)
		}
		return nil
	})
	return run.result(err)
}

// writeError is a failure to record a grade: the run so far is returned
// with it (what was written stays written).
type writeError struct{ err error }

func (e *writeError) Error() string { return e.err.Error() }
func (e *writeError) Unwrap() error { return e.err }

// result is what IssueGrades and ReviseGrades return: the run, with the
// error that stopped it; a run stopped before it wrote is not returned.
func (run *GradeRun) result(err error) (*GradeRun, error) {
	var we *writeError
	switch {
	case err == nil:
		return run, nil
	case errors.As(err, &we):
		return run, we.err
	}
	return nil, err
}

// officialTier is the grade a scorecard gives (domain.ExpectedTier): its
// tier, but 达标 for an eligible organisation the work committee has not
// designated. The designations are the committee's decisions as they
// stand when the grade is recorded (what the append path checks), not as
// known at the scorecard's known_at.
func (b *Board) officialTier(r *Row) string {
	return domain.ExpectedTier(domain.GradeBasis{Final: r.Final, Tier: r.Tier}, b.Designated(r.Org, r.Year, time.Time{}))
}

// ErrNoReason reports a revision without a reason.
var ErrNoReason = &domain.FieldError{Field: "reason", Reason: "required: why the grades are revised (the rulebook correction)"}

// ReviseGrades records a GradeRevised for exactly the organisations whose
// final score or tier at year end, as known at KnownAt under the rulebook
// in force (or named), differs from their latest grade; each outcome
// carries the diff that explains it. Organisations never graded are
// skipped (IssueGrades grades them). When nothing changed nothing is
// written.
func (b *Board) ReviseGrades(ctx context.Context, year int, opts GradeOptions) (*GradeRun, error) {
	if opts.Reason == "" {
		return nil, ErrNoReason
	}
	// Check the reason before anything is scored or written (the other
	// fields of this probe are valid placeholders).
	probe := domain.GradeRevised{Year: year, RulebookVersion: "-", Tier: domain.TierCompliant, Reason: opts.Reason}
	for _, fe := range domain.FieldErrors(probe.Validate()) {
		if fe.Field == "reason" {
			return nil, fe
		}
	}
	run, rk, rows, grades, err := b.gradeScores(ctx, year, opts)
	if err != nil {
		return nil, err
	}
	if err := run.anchor(ctx, opts); err != nil {
		return nil, err
	}
	k, on := run.k, domain.DateOf(run.k)
	rulebooks := map[string]*domain.Rulebook{}
	// changed is the grade an organisation's row revises, nil when none.
	changed := func(r *Row) *domain.Grade {
		gs := grades[r.Org]
		if len(gs) == 0 || (r.Provisional && !opts.AllowProvisional) {
			return nil
		}
		prev := &gs[len(gs)-1]
		if prev.Final == r.Final && prev.Tier == b.officialTier(r) {
			return nil
		}
		return prev
	}
	err = b.gradeChunks(ctx, rk, rows, func(r *Row) bool { return changed(r) != nil }, func(part []Row, cards map[string]*projections.Scorecard) error {
		for i := range part {
			row := &part[i]
			gs := grades[row.Org]
			switch {
			case len(gs) == 0:
				run.Skipped = append(run.Skipped, GradeSkip{row.Org, "尚未评定；请先 grade issue"})
				continue
			case row.Provisional && !opts.AllowProvisional:
				run.Skipped = append(run.Skipped, GradeSkip{row.Org, provisionalSkip})
				continue
			}
			prev := gs[len(gs)-1]
			tier := b.officialTier(row)
			if prev.Final == row.Final && prev.Tier == tier {
				run.Unchanged++
				continue
			}
			sc := cards[row.Org]
			if sc == nil {
				// Designated meanwhile: not among the rows scored again.
				return fmt.Errorf("%w: %s's official tier changed while it was graded", ErrRankingChanged, row.Org)
			}
			sum, err := ScorecardSHA256(sc)
			if err != nil {
				return err
			}
			out := GradeOutcome{Org: sc.Org, Name: sc.Name, Final: sc.Final, Tier: tier, ScorecardSHA256: sum, Previous: snapshotOf(&prev)}
			if d, err := b.explain(ctx, sc, prev.RulebookVersion, k, rulebooks); err == nil {
				out.Diff = d
			}
			if !opts.DryRun {
				id, dup, err := b.books.ReviseGrade(ctx, &prev, on, &domain.GradeRevised{Year: year, RulebookVersion: sc.Rulebook.Version,
					Final: sc.Final, Tier: tier, ScorecardSHA256: sum, ScorecardKnownAt: sc.KnownAt, Reason: opts.Reason, Checkpoint: run.Checkpoint}, opts.principal())
				switch {
				case errors.Is(err, domain.ErrGradeExists) || err == nil && dup:
					run.Skipped = append(run.Skipped, GradeSkip{sc.Org, "已由他人同时更正"})
					continue
				case err != nil:
					return &writeError{fmt.Errorf("scoreboard: revise the grade of %s: %w", sc.Org, err)}
				}
				out.EventID = id
			}
			run.Written = append(run.Written, out)
		}
		return nil
	})
	return run.result(err)
}

// explain scores an organisation under the version of its previous grade,
// as known at k, and diffs that against its new scorecard.
func (b *Board) explain(ctx context.Context, sc *projections.Scorecard, version string, k time.Time, cache map[string]*domain.Rulebook) (*projections.ScorecardDiff, error) {
	rb := cache[version]
	if rb == nil {
		var err error
		if rb, err = b.books.RulebookAt(ctx, sc.Year, k, version); err != nil {
			return nil, err
		}
		cache[version] = rb
	}
	q := Query{Year: sc.Year, KnownAt: k, AsOf: domain.YearEnd(sc.Year)}
	old, err := b.score(ctx, sc.Org, q, rb)
	if err != nil {
		return nil, err
	}
	return projections.DiffScorecards(old, sc), nil
}

// anchor takes the log tree the grades are computed at, once a run and
// only when something is to be written.
func (run *GradeRun) anchor(ctx context.Context, opts GradeOptions) error {
	if opts.Anchor == nil || opts.DryRun {
		return nil
	}
	cp, err := opts.Anchor(ctx)
	if err != nil {
		return fmt.Errorf("scoreboard: the log checkpoint grades are anchored to: %w", err)
	}
	run.Checkpoint = cp
	return nil
}
