// Package scoreboard keeps every organisation's facts (projections.Facts)
// current as events are appended, and scores organisations from them.
//
// Scoring the present reads no stream: the facts are folded once, then
// kept up to date by a subscription (Run) and by catching up to the head
// before each score. Scoring as known at a past instant replays only that
// organisation's stream prefix — the events recorded at or before it —
// into fresh facts, so the past is computed from the ledger alone.
//
// The board reads the ledger through Source, an interface of its own over
// events in the form the folds take (domain.Recorded), and records grades
// through GradeRecorder; *books.Books implements both over a real store.
//
// At national scale no node holds every organisation's facts: a board
// given Options.Snapshots holds none, reads no $all and follows nothing.
// It reads each organisation's facts when a call needs them, through
// Snapshots (projections/workers.Reader implements it over the facts
// snapshots that projection workers keep), and answers the same calls
// with the same results (snapshots.go).
package scoreboard

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"partyledger/domain"
	"partyledger/projections"
)

// Source is the ledger as the board reads it, in the form the folds take;
// *books.Books implements it over a real store, tests may use anything.
type Source interface {
	// ReadAll yields every event after position from, in position order.
	// Events outside the books (API tokens) come with a nil Payload.
	ReadAll(ctx context.Context, from uint64) iter.Seq2[domain.Recorded, error]
	// Subscribe is ReadAll that goes on with each new event until ctx ends.
	Subscribe(ctx context.Context, from uint64) iter.Seq2[domain.Recorded, error]
	// ReadOrg yields one organisation's events in recorded order.
	ReadOrg(ctx context.Context, code string) iter.Seq2[domain.Recorded, error]
	// Now is the ledger's clock: the default known_at.
	Now() time.Time
	// Rulebooks returns every version published for year.
	Rulebooks(ctx context.Context, year int) ([]domain.PublishedRulebook, error)
	// RulebookAt returns the version in force at knownAt, or the named one.
	RulebookAt(ctx context.Context, year int, knownAt time.Time, version string) (*domain.Rulebook, error)
	// Grades returns the official grades of year by organisation code.
	Grades(ctx context.Context, year int) (map[string][]domain.Grade, error)
}

// GradeRecorder records official grades through the append path (its
// checks and rights); IssueGrades and ReviseGrades write through it.
type GradeRecorder interface {
	IssueGrade(ctx context.Context, code string, on domain.Date, g *domain.GradeIssued, p domain.Principal) (id string, duplicate bool, err error)
	ReviseGrade(ctx context.Context, prev *domain.Grade, on domain.Date, g *domain.GradeRevised, p domain.Principal) (id string, duplicate bool, err error)
}

// Books is what a board reads from and records grades through.
type Books interface {
	Source
	GradeRecorder
}

// Board holds the live facts of every organisation.
type Board struct {
	books Books
	now   func() time.Time

	foldMu sync.Mutex // serialises folding (catch-up and subscription)

	mu       sync.RWMutex // guards everything below; facts are read under RLock
	pos      uint64
	orgs     map[string]*orgFacts // by code
	byStream map[string]string    // org stream → code
	sched    *projections.Schedule

	// Over snapshots (Options.Snapshots): no live facts, no position
	// folded; sched is replaced, never changed, by refresh.
	snaps Snapshots
	codes []string      // the organisations listed as of the last CatchUp; guarded by mu
	seen  atomic.Uint64 // the highest ledger position among the facts read
}

type orgFacts struct {
	facts *projections.Facts
	last  time.Time // recorded_at of the last event folded
}

// Options configure a Board.
type Options struct {
	// Now is the default known_at. Default time.Now.
	Now func() time.Time
	// Snapshots, when set, makes a board that holds no live facts and
	// reads nothing of $all: every call reads the facts it needs through
	// Snapshots (see the package doc).
	Snapshots Snapshots
}

// basisSetter is implemented by the append path (books.Books): the
// computation official grades and designations are checked against.
type basisSetter interface {
	SetGradeBasis(func(ctx context.Context, code string, year int, version string, knownAt time.Time) (domain.GradeBasis, error))
}

// New returns a board over books; call CatchUp or Run to fill it. When
// books checks grades against a computation (books.Books does), New makes
// the board that computation (GradeBasis).
func New(books Books, opts Options) *Board {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	b := &Board{books: books, now: opts.Now, orgs: map[string]*orgFacts{}, byStream: map[string]string{},
		sched: projections.NewSchedule(), snaps: opts.Snapshots}
	if bs, ok := books.(basisSetter); ok {
		bs.SetGradeBasis(b.GradeBasis)
	}
	return b
}

// GradeBasis is what an official grade of code for year is checked
// against: its scorecard at the year's end under rulebook version ("" the
// one in force), as known at knownAt (zero: now). It reads the ledger and
// takes none of the append path's locks, so the append path may call it
// while it holds them.
func (b *Board) GradeBasis(ctx context.Context, code string, year int, version string, knownAt time.Time) (domain.GradeBasis, error) {
	sc, err := b.Score(ctx, code, Query{Year: year, KnownAt: knownAt, Rulebook: version})
	if err != nil {
		return domain.GradeBasis{}, err
	}
	return domain.GradeBasis{Final: sc.Final, Tier: sc.Tier, Provisional: sc.Provisional}, nil
}

// Designated reports whether the work committee had designated code an
// advanced organisation of year as known at k (zero: by now).
func (b *Board) Designated(code string, year int, k time.Time) bool {
	b.mu.RLock()
	defer b.mu.RUnlock()
	return b.sched.Designated(code, year, k)
}

// Position returns the ledger position the board has folded up to; over
// snapshots, the highest position among the facts it has read.
func (b *Board) Position() uint64 {
	if b.snaps != nil {
		return b.seen.Load()
	}
	b.mu.RLock()
	defer b.mu.RUnlock()
	return b.pos
}

// CatchUp folds every event committed since the last one folded; over
// snapshots, it reads the committee's schedule and the organisations
// listed (Codes) as they are now.
func (b *Board) CatchUp(ctx context.Context) error {
	if b.snaps != nil {
		return b.refresh(ctx, true)
	}
	b.foldMu.Lock()
	defer b.foldMu.Unlock()
	for e, err := range b.books.ReadAll(ctx, b.Position()) {
		if err != nil {
			return fmt.Errorf("scoreboard: catch up: %w", err)
		}
		if err := b.fold(&e); err != nil {
			return err
		}
	}
	return nil
}

// Run follows the ledger with a subscription until ctx is done, folding
// each event as it is committed. It returns ctx.Err() or the failure.
// Over snapshots there is nothing to follow: it waits for ctx.
func (b *Board) Run(ctx context.Context) error {
	if b.snaps != nil {
		<-ctx.Done()
		return ctx.Err()
	}
	for e, err := range b.books.Subscribe(ctx, b.Position()) {
		if err != nil {
			return err
		}
		b.foldMu.Lock()
		if e.Position > b.Position() {
			err = b.fold(&e)
		}
		b.foldMu.Unlock()
		if err != nil {
			return err
		}
	}
	return ctx.Err()
}

// fold applies one event. Caller holds foldMu.
func (b *Board) fold(e *domain.Recorded) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.pos = e.Position
	if e.Payload == nil {
		return nil // not part of the books (API tokens)
	}
	switch kind, _ := domain.StreamKindOf(e.Type); kind {
	case domain.StreamOrg:
		code, ok := b.byStream[e.Stream]
		if !ok {
			reg, isReg := e.Payload.(*domain.OrganizationRegistered)
			if !isReg {
				return fmt.Errorf("scoreboard: %s begins with %s, not a registration", e.Stream, e.Type)
			}
			code = reg.Code
			b.byStream[e.Stream] = code
			b.orgs[code] = &orgFacts{facts: projections.NewFacts(code)}
		}
		o := b.orgs[code]
		if err := o.facts.Apply(*e); err != nil {
			return fmt.Errorf("scoreboard: fold %s: %w", e.ID, err)
		}
		o.last = e.RecordedAt
	case domain.StreamCommittee:
		if err := b.sched.Apply(*e); err != nil {
			return fmt.Errorf("scoreboard: fold %s: %w", e.ID, err)
		}
	}
	return nil
}

// Query selects a scorecard.
type Query struct {
	Year int
	// AsOf is D; zero means the end of the year.
	AsOf domain.Date
	// KnownAt is K; zero means now.
	KnownAt time.Time
	// Rulebook names a version; empty means the one in force at K.
	Rulebook string
	// Under selects whom ScoreAll ranks (GOVERNANCE.md): "" the
	// organisations directly under the work committee (no parent_code),
	// a code the organisations of that organisation's subtree (below it),
	// AllOrgs every organisation.
	Under string
}

// AllOrgs is Query.Under for every organisation.
const AllOrgs = "*"

// Errors of Score.
var (
	ErrUnknownOrg = errors.New("scoreboard: organisation not registered")
)

func (b *Board) resolve(ctx context.Context, q Query) (Query, *domain.Rulebook, error) {
	if q.KnownAt.IsZero() {
		q.KnownAt = b.now()
	}
	q.KnownAt = domain.TruncateInstant(q.KnownAt)
	if q.Year < domain.DateMin.Year || q.Year > domain.DateMax.Year {
		return q, nil, &domain.FieldError{Field: "year", Reason: fmt.Sprintf("want a year within %d..%d", domain.DateMin.Year, domain.DateMax.Year)}
	}
	if q.AsOf.IsZero() {
		q.AsOf = domain.YearEnd(q.Year)
	}
	if q.AsOf.Year < q.Year {
		return q, nil, &domain.FieldError{Field: "as_of", Reason: fmt.Sprintf("%s is before the assessment year %d", q.AsOf, q.Year)}
	}
	rb, err := b.books.RulebookAt(ctx, q.Year, q.KnownAt, q.Rulebook)
	if err != nil {
		return q, nil, err
	}
	return q, rb, nil
}

// Score scores one organisation. The board first catches up with the
// ledger, so an append acknowledged before the call is always counted.
func (b *Board) Score(ctx context.Context, code string, q Query) (*projections.Scorecard, error) {
	if err := b.sync(ctx); err != nil {
		return nil, err
	}
	q, rb, err := b.resolve(ctx, q)
	if err != nil {
		return nil, err
	}
	return b.score(ctx, code, q, rb)
}

func (b *Board) score(ctx context.Context, code string, q Query, rb *domain.Rulebook) (*projections.Scorecard, error) {
	if b.snaps != nil {
		var sc *projections.Scorecard
		err := b.withOrg(ctx, code, func(f *projections.Facts) error {
			var err error
			sc, err = b.scoreFacts(f, q, rb, f.PositionAt(q.KnownAt))
			return err
		})
		return sc, err
	}
	b.mu.RLock()
	o := b.orgs[code]
	if o == nil {
		b.mu.RUnlock()
		return nil, fmt.Errorf("%w: %q", ErrUnknownOrg, code)
	}
	if !q.KnownAt.Before(o.last) {
		defer b.mu.RUnlock()
		return b.scoreFacts(o.facts, q, rb, o.facts.PositionAt(q.KnownAt))
	}
	b.mu.RUnlock()
	facts, pos, err := b.replay(ctx, code, q.KnownAt)
	if err != nil {
		return nil, err
	}
	b.mu.RLock()
	defer b.mu.RUnlock()
	return b.scoreFacts(facts, q, rb, pos)
}

// scoreFacts scores under b.mu held for reading (the schedule is shared).
func (b *Board) scoreFacts(f *projections.Facts, q Query, rb *domain.Rulebook, pos uint64) (*projections.Scorecard, error) {
	sc, err := projections.Score(f, rb, projections.Query{Year: q.Year, AsOf: q.AsOf, KnownAt: q.KnownAt,
		LedgerPosition: pos, Schedule: b.sched})
	if errors.Is(err, projections.ErrNotRegistered) {
		return nil, fmt.Errorf("%w at %s: %q", ErrUnknownOrg, q.KnownAt.Format(domain.InstantLayout), f.Org())
	}
	return sc, err
}

// replay folds the prefix of an organisation's stream recorded at or
// before k into fresh facts. recorded_at strictly increases along a
// stream, so the prefix ends at the first later event.
func (b *Board) replay(ctx context.Context, code string, k time.Time) (*projections.Facts, uint64, error) {
	return b.replayTo(ctx, code, k, noBound)
}

// Codes returns every registered organisation's code, sorted; over
// snapshots, every organisation listed as of the last CatchUp (those a
// worker has written a snapshot of).
func (b *Board) Codes() []string {
	b.mu.RLock()
	defer b.mu.RUnlock()
	if b.snaps != nil {
		return slices.Clone(b.codes)
	}
	out := make([]string, 0, len(b.orgs))
	for c := range b.orgs {
		out = append(out, c)
	}
	sort.Strings(out)
	return out
}

// ScoreAll scores every organisation registered at K and ranks them:
// final score descending, then code. It scores the live facts on every
// CPU: facts filter by recorded_at themselves, so this equals replaying
// each organisation's prefix (a test checks), at a fraction of the cost.
// It holds every scorecard it returns (about 76 KB each: 14 GiB for a
// province's 200,000), and scores every organisation whatever q.Under
// shows; the routes, grading and exports rank with Rank instead, which
// keeps a row per organisation, and take whole scorecards from Cards.
func (b *Board) ScoreAll(ctx context.Context, q Query) ([]*projections.Scorecard, error) {
	if err := b.sync(ctx); err != nil {
		return nil, err
	}
	q, rb, err := b.resolve(ctx, q)
	if err != nil {
		return nil, err
	}
	if b.snaps != nil {
		return b.scoreAllSnapshots(ctx, q, rb)
	}
	b.mu.RLock()
	defer b.mu.RUnlock()
	facts := make([]*projections.Facts, 0, len(b.orgs))
	for _, o := range b.orgs {
		facts = append(facts, o.facts)
	}
	cards, err := projections.ScoreAll(facts, rb, projections.Query{Year: q.Year, AsOf: q.AsOf, KnownAt: q.KnownAt, Schedule: b.sched})
	if err != nil {
		return nil, err
	}
	return Scope(cards, q.Under)
}

// Scope keeps, in their order, the cards under selects (Query.Under).
// A code that names no organisation among the cards (none registered at
// K) is a *domain.FieldError on "under", not an empty ranking.
func Scope(cards []*projections.Scorecard, under string) ([]*projections.Scorecard, error) {
	if under == AllOrgs {
		return cards, nil
	}
	parent := make(map[string]string, len(cards))
	for _, c := range cards {
		parent[c.Org] = c.ParentCode
	}
	in, err := scoper(parent, under)
	if err != nil {
		return nil, err
	}
	out := make([]*projections.Scorecard, 0, len(cards))
	for _, c := range cards {
		if in(c.Org) {
			out = append(out, c)
		}
	}
	return out, nil
}

// Missing lists what an organisation still lacks in the periods open at
// q.AsOf (projections.Missing), from its live facts as known at q.KnownAt.
func (b *Board) Missing(ctx context.Context, code string, q Query) ([]projections.Gap, error) {
	if err := b.sync(ctx); err != nil {
		return nil, err
	}
	q, rb, err := b.resolve(ctx, q)
	if err != nil {
		return nil, err
	}
	var gaps []projections.Gap
	err = b.withOrg(ctx, code, func(f *projections.Facts) error {
		gaps, err = projections.Missing(f, rb, projections.Query{Year: q.Year, AsOf: q.AsOf, KnownAt: q.KnownAt,
			LedgerPosition: f.PositionAt(q.KnownAt), Schedule: b.sched})
		if errors.Is(err, projections.ErrNotRegistered) {
			return fmt.Errorf("%w at %s: %q", ErrUnknownOrg, q.KnownAt.Format(domain.InstantLayout), code)
		}
		return err
	})
	return gaps, err
}

// withOrg runs fn on code's facts under the read lock: the live ones, or
// over snapshots those read for the call. An organisation with no facts
// is ErrUnknownOrg.
func (b *Board) withOrg(ctx context.Context, code string, fn func(*projections.Facts) error) error {
	var f *projections.Facts
	if b.snaps != nil {
		var err error
		if f, err = b.snaps.Facts(ctx, code); err != nil {
			return err
		}
		if f != nil {
			b.note(f)
		}
	}
	b.mu.RLock()
	defer b.mu.RUnlock()
	if b.snaps == nil {
		if o := b.orgs[code]; o != nil {
			f = o.facts
		}
	}
	if f == nil {
		return fmt.Errorf("%w: %q", ErrUnknownOrg, code)
	}
	return fn(f)
}
