package workers

import (
	"container/list"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"partyledger/domain"
	"partyledger/ledger"
	"partyledger/ledger/books"
	"partyledger/ledger/esdb"
	"partyledger/projections"
	"partyledger/projections/scoreboard"
)

// Query selects scorecards, as scoreboard.Query does.
type Query = scoreboard.Query

// Rules resolves the rulebook of a query; *books.Books implements it (it
// reads the year's rulebook stream only).
type Rules interface {
	RulebookAt(ctx context.Context, year int, knownAt time.Time, version string) (*domain.Rulebook, error)
}

// Defaults of ReaderOptions.
const (
	DefaultCacheOrgs = 4096
	DefaultParallel  = 16
	rankChunk        = 1024
)

// ReaderOptions configure a Reader.
type ReaderOptions struct {
	// Now is the default known_at. Default time.Now.
	Now func() time.Time
	// CatchUp makes ScoreAll fold, for each organisation, the events its
	// snapshot does not cover yet (one stream read each) and score those
	// without a snapshot from their streams: exact as of the call, at the
	// cost of a read per organisation. Without it ScoreAll ranks the
	// snapshots as the workers left them (each scorecard's
	// ledger_position says how far it goes).
	CatchUp bool
	// CacheOrgs bounds the organisations whose facts the reader keeps,
	// keyed by the revisions they cover. Default DefaultCacheOrgs.
	CacheOrgs int
	// Parallel bounds the reads in flight. Default DefaultParallel.
	Parallel int
}

// Reader scores organisations on a stateless serve node: one
// organisation from its snapshot and the events after it, any number from
// their snapshots. It holds only a cache; every node reading the same
// server gives the same answers.
type Reader struct {
	st    *esdb.Store
	rules Rules
	opts  ReaderOptions

	mu    sync.Mutex
	lru   *list.List // of *cached, most recently used first
	byOrg map[string]*list.Element
	dir   directory
	sched scheduleCache
}

// cached is an organisation's facts: those of its last snapshot read, and
// (when a Score folded on) those up to a later revision. Facts are never
// changed once cached: folding on works on a copy.
type cached struct {
	stream    string
	snapRev   int64 // snapshot stream revision read; ledger.NoStream when none
	snapFacts *projections.Facts
	rev       int64 // org stream revision facts cover
	facts     *projections.Facts
}

type directory struct {
	next    uint64 // directory revisions below next are read
	entries []DirectoryEntry
	seen    map[string]bool
}

type scheduleCache struct {
	next  uint64 // committee revisions below next are folded
	sched *projections.Schedule
	recs  []domain.Recorded // folded, to build the next schedule from
}

// NewReader returns a reader of st's snapshots.
func NewReader(st *esdb.Store, rules Rules, opts ReaderOptions) *Reader {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.CacheOrgs <= 0 {
		opts.CacheOrgs = DefaultCacheOrgs
	}
	if opts.Parallel <= 0 {
		opts.Parallel = DefaultParallel
	}
	return &Reader{st: st, rules: rules, opts: opts, lru: list.New(), byOrg: map[string]*list.Element{},
		dir: directory{seen: map[string]bool{}}, sched: scheduleCache{sched: projections.NewSchedule()}}
}

// resolve fills in a query's defaults, as the scoreboard does.
func (r *Reader) resolve(ctx context.Context, q Query) (Query, *domain.Rulebook, error) {
	if q.KnownAt.IsZero() {
		q.KnownAt = r.opts.Now()
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
	rb, err := r.rules.RulebookAt(ctx, q.Year, q.KnownAt, q.Rulebook)
	return q, rb, err
}

// Score scores one organisation from its stream as it is now: its cached
// or snapshotted facts, and the events after them (a few hundred reads
// at most when it has no snapshot yet). Errors: scoreboard.ErrUnknownOrg.
func (r *Reader) Score(ctx context.Context, code string, q Query) (*projections.Scorecard, error) {
	q, rb, err := r.resolve(ctx, q)
	if err != nil {
		return nil, err
	}
	sched, err := r.schedule(ctx)
	if err != nil {
		return nil, err
	}
	f, err := r.current(ctx, books.OrgStream(code))
	if err != nil {
		return nil, err
	}
	if f == nil {
		return nil, fmt.Errorf("%w: %q", scoreboard.ErrUnknownOrg, code)
	}
	sc, err := projections.Score(f, rb, projections.Query{Year: q.Year, AsOf: q.AsOf, KnownAt: q.KnownAt,
		LedgerPosition: f.PositionAt(q.KnownAt), Schedule: sched})
	if errors.Is(err, projections.ErrNotRegistered) {
		return nil, fmt.Errorf("%w at %s: %q", scoreboard.ErrUnknownOrg, q.KnownAt.Format(domain.InstantLayout), code)
	}
	return sc, err
}

// ScoreAll scores every organisation in the directory that is registered
// at K and ranks them as the scoreboard does (final score descending,
// then code), from their snapshots (and, with CatchUp, the events after
// them). It scores a chunk of organisations at a time, so its memory does
// not grow with the country.
func (r *Reader) ScoreAll(ctx context.Context, q Query) ([]*projections.Scorecard, error) {
	q, rb, err := r.resolve(ctx, q)
	if err != nil {
		return nil, err
	}
	sched, err := r.schedule(ctx)
	if err != nil {
		return nil, err
	}
	var out []*projections.Scorecard
	err = r.eachFacts(ctx, r.opts.CatchUp, func(facts []*projections.Facts) error {
		cards, err := projections.ScoreAll(facts, rb, projections.Query{Year: q.Year, AsOf: q.AsOf, KnownAt: q.KnownAt, Schedule: sched})
		if err != nil {
			return err
		}
		out = append(out, cards...)
		return nil
	})
	if err != nil {
		return nil, err
	}
	projections.SortRanked(out)
	return scoreboard.Scope(out, q.Under) // whom the ranking covers, as the scoreboard's
}

// eachFacts calls fn with the facts of the organisations in the
// directory, a chunk at a time: up to each stream's last event when exact
// (CatchUp), else as their snapshots left them.
func (r *Reader) eachFacts(ctx context.Context, exact bool, fn func([]*projections.Facts) error) error {
	entries, err := r.directory(ctx)
	if err != nil {
		return err
	}
	for lo := 0; lo < len(entries); lo += rankChunk {
		facts, err := r.factsOf(ctx, entries[lo:min(lo+rankChunk, len(entries))], exact)
		if err != nil {
			return err
		}
		if err := fn(facts); err != nil {
			return err
		}
	}
	return nil
}

// factsOf returns the facts of the organisations of a chunk that have
// any, reading up to Parallel at a time.
func (r *Reader) factsOf(ctx context.Context, chunk []DirectoryEntry, exact bool) ([]*projections.Facts, error) {
	facts := make([]*projections.Facts, len(chunk))
	errs := make([]error, len(chunk))
	sem := make(chan struct{}, r.opts.Parallel)
	var wg sync.WaitGroup
	for i, e := range chunk {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			if exact {
				facts[i], errs[i] = r.current(ctx, e.Stream)
			} else {
				facts[i], errs[i] = r.snapshotted(ctx, e.Stream)
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return slices.DeleteFunc(facts, func(f *projections.Facts) bool { return f == nil }), nil
}

// snapshotted returns the facts of an organisation's last snapshot (nil
// when it has none yet), decoding it only when it is not the one cached.
func (r *Reader) snapshotted(ctx context.Context, stream string) (*projections.Facts, error) {
	snapRev, err := r.snapshotRevision(ctx, stream)
	if err != nil {
		return nil, err
	}
	if c := r.get(stream); c != nil && c.snapRev == snapRev {
		return c.snapFacts, nil
	}
	snap, err := loadSnapshot(ctx, r.st, stream)
	if err != nil {
		return nil, err
	}
	if snap.facts == nil {
		return nil, nil
	}
	r.put(&cached{stream: stream, snapRev: snap.rev, snapFacts: snap.facts, rev: int64(snap.meta.Revision), facts: snap.facts})
	return snap.facts, nil
}

// snapshotRevision returns the revision of the snapshot stream's last
// event (ledger.NoStream when none). It reads the event: the client has no
// cheaper call for a stream's head.
func (r *Reader) snapshotRevision(ctx context.Context, stream string) (int64, error) {
	d, err := r.st.LastDerived(ctx, SnapshotStream(stream))
	switch {
	case errors.Is(err, ledger.ErrStreamNotFound):
		return ledger.NoStream, nil
	case err != nil:
		return 0, err
	}
	return int64(d.Revision), nil
}

// current returns an organisation's facts up to its stream's last event:
// the cached ones (or its snapshot's) folded on with what follows them.
// It returns nil for a stream with no events.
func (r *Reader) current(ctx context.Context, stream string) (*projections.Facts, error) {
	c := r.get(stream)
	if c == nil {
		snap, err := loadSnapshot(ctx, r.st, stream)
		if err != nil {
			return nil, err
		}
		c = &cached{stream: stream, snapRev: snap.rev, snapFacts: snap.facts, rev: ledger.NoStream, facts: snap.facts}
		if snap.facts != nil {
			c.rev = int64(snap.meta.Revision)
		}
	}
	evs, err := readAfter(ctx, r.st, stream, c.rev)
	if err != nil {
		return nil, err
	}
	if len(evs) == 0 {
		r.put(c)
		return c.facts, nil
	}
	var base *projections.Facts
	if c.facts != nil {
		// Fold on a copy: others may be scoring the cached facts.
		b, err := c.facts.MarshalBinary()
		if err != nil {
			return nil, err
		}
		base = projections.NewFacts("")
		if err := base.UnmarshalBinary(b); err != nil {
			return nil, err
		}
	}
	f, err := foldOn(stream, base, c.rev, evs)
	if err != nil {
		return nil, err
	}
	r.put(&cached{stream: stream, snapRev: c.snapRev, snapFacts: c.snapFacts, rev: f.last, facts: f.facts})
	return f.facts, nil
}

func (r *Reader) get(stream string) *cached {
	r.mu.Lock()
	defer r.mu.Unlock()
	if el, ok := r.byOrg[stream]; ok {
		r.lru.MoveToFront(el)
		return el.Value.(*cached)
	}
	return nil
}

// put caches c unless what is cached covers more.
func (r *Reader) put(c *cached) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if el, ok := r.byOrg[c.stream]; ok {
		old := el.Value.(*cached)
		if old.rev > c.rev || (old.rev == c.rev && old.snapRev >= c.snapRev) {
			r.lru.MoveToFront(el)
			return
		}
		el.Value = c
		r.lru.MoveToFront(el)
		return
	}
	r.byOrg[c.stream] = r.lru.PushFront(c)
	for r.lru.Len() > r.opts.CacheOrgs {
		old := r.lru.Remove(r.lru.Back()).(*cached)
		delete(r.byOrg, old.stream)
	}
}

// directory returns every organisation listed, reading what was listed
// since the last call.
func (r *Reader) directory(ctx context.Context) ([]DirectoryEntry, error) {
	r.mu.Lock()
	from := r.dir.next
	r.mu.Unlock()
	var got []DirectoryEntry
	next := from
	for d, err := range r.st.ReadDerived(ctx, DirectoryStream, from) {
		if errors.Is(err, ledger.ErrStreamNotFound) {
			break
		}
		if err != nil {
			return nil, err
		}
		var e DirectoryEntry
		if err := json.Unmarshal(d.Data, &e); err != nil || e.Stream == "" {
			return nil, fmt.Errorf("workers: %s revision %d: %v: %w", DirectoryStream, d.Revision, err, ledger.ErrCorrupt)
		}
		got = append(got, e)
		next = d.Revision + 1
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.dir.next == from { // else another call read it meanwhile
		for _, e := range got {
			if !r.dir.seen[e.Stream] {
				r.dir.seen[e.Stream] = true
				r.dir.entries = append(r.dir.entries, e)
			}
		}
		r.dir.next = next
	}
	return slices.Clone(r.dir.entries), nil
}

// schedule returns the work committee's schedule as of its last event.
// A schedule is never changed once returned: new events build a new one.
func (r *Reader) schedule(ctx context.Context) (*projections.Schedule, error) {
	r.mu.Lock()
	from, recs := r.sched.next, slices.Clone(r.sched.recs)
	r.mu.Unlock()
	added := 0
	for e, err := range r.st.ReadStream(ctx, books.CommitteeStream, from) {
		if errors.Is(err, ledger.ErrStreamNotFound) {
			break
		}
		if err != nil {
			return nil, err
		}
		rec, err := books.Recorded(&e)
		if err != nil {
			return nil, err
		}
		recs = append(recs, rec)
		added++
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if added == 0 || r.sched.next != from {
		return r.sched.sched, nil
	}
	s := projections.NewSchedule()
	for _, rec := range recs {
		if err := s.Apply(rec); err != nil {
			return nil, fmt.Errorf("workers: committee schedule: %w", err)
		}
	}
	r.sched = scheduleCache{next: from + uint64(added), sched: s, recs: recs}
	return s, nil
}
