package scoreboard

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"partyledger/domain"
	"partyledger/projections"
)

// Row is one organisation of a ranking: what a ranking, the overview,
// grading and an export's summary read of its scorecard, without the items
// and their derivations. A scorecard holds about 76 KB in memory, a row
// about 200 bytes, so a ranking of a province's 200,000 organisations
// holds tens of megabytes instead of 14 GiB. The fields are the
// scorecard's, under the same names.
type Row struct {
	Org            string
	Name           string
	Kind           domain.OrgKind
	ParentCode     string
	Year           int
	Online         domain.Points
	Group          *domain.Points // nil until a group assessment is recorded
	Final          domain.Points
	Provisional    bool
	TierByScore    string
	Tier           string
	Vetoes         []projections.Veto
	LedgerPosition uint64
}

// RowOf returns a scorecard's row. It shares no memory with the card
// but the strings, so a row keeps nothing of the card alive.
func RowOf(sc *projections.Scorecard) Row {
	r := Row{Org: sc.Org, Name: sc.Name, Kind: sc.Kind, ParentCode: sc.ParentCode, Year: sc.Year, Online: sc.Online,
		Final: sc.Final, Provisional: sc.Provisional, TierByScore: sc.TierByScore, Tier: sc.Tier,
		Vetoes: slices.Clone(sc.Vetoes), LedgerPosition: sc.LedgerPosition}
	if sc.Group != nil {
		g := *sc.Group
		r.Group = &g
	}
	return r
}

// sameRow reports whether two rows say the same.
func sameRow(a, b *Row) bool {
	if a.Org != b.Org || a.Name != b.Name || a.Kind != b.Kind || a.ParentCode != b.ParentCode || a.Year != b.Year ||
		a.Online != b.Online || a.Final != b.Final || a.Provisional != b.Provisional || a.TierByScore != b.TierByScore ||
		a.Tier != b.Tier || a.LedgerPosition != b.LedgerPosition || (a.Group == nil) != (b.Group == nil) ||
		(a.Group != nil && *a.Group != *b.Group) || len(a.Vetoes) != len(b.Vetoes) {
		return false
	}
	for i := range a.Vetoes {
		va, vb := &a.Vetoes[i], &b.Vetoes[i]
		if va.Code != vb.Code || va.Reason != vb.Reason || va.TierMax != vb.TierMax || !slices.Equal(va.Events, vb.Events) {
			return false
		}
	}
	return true
}

// Ranking is what Rank returns: the organisations in scope ranked as
// ScoreAll ranks them, one Row each, and what they were scored with, so
// that Cards can score any of them again exactly so.
type Ranking struct {
	// Query is the query as resolved: KnownAt and AsOf set, Under as
	// asked.
	Query Query
	// Rulebook is the version scored under, as the scorecards name it.
	Rulebook projections.RulebookRef
	// AsOf and KnownAt are D and K as the scorecards state them.
	AsOf    domain.Date
	KnownAt string
	// Rows are the organisations in scope registered at K (and founded
	// by D), ranked: final score descending, then code.
	Rows []Row

	rb    *domain.Rulebook
	sched *projections.Schedule // over snapshots: the schedule ranked with
}

// ErrRankingChanged reports that an organisation, scored again for its
// scorecard (Cards), no longer says what its row in the ranking says: the
// ledger changed under the ranking in a way it cannot reproduce (the
// committee's schedule as known at K). Rank again.
var ErrRankingChanged = errors.New("scoreboard: the ledger changed under the ranking; rank again")

// cardChunk bounds the scorecards that Rank and Cards hold at once (each
// about 76 KB): enough for every CPU to score 64 at a time, four times
// over, and never fewer than 512.
func cardChunk() int {
	if testChunk > 0 {
		return testChunk
	}
	return max(512, 4*64*runtime.GOMAXPROCS(0))
}

// testChunk, when set, is cardChunk (tests cross chunks with a small city).
var testChunk int

// scored counts the organisations Rank has scored (tests check that a
// level is scored alone).
var scored atomic.Int64

// Rank scores the organisations q.Under selects, as ScoreAll does, and
// ranks them, keeping one Row per organisation instead of its scorecard:
// its memory grows by a row per organisation, and its scorecards are
// scored a chunk at a time (cardChunk) and dropped. Rows equal the rows of
// ScoreAll's scorecards, in the same order (a test checks). A ranking of
// one level ("" or a code) scores only the organisations of that level;
// over snapshots, where the board learns an organisation's parent only
// from its facts, it scores every organisation and keeps the level.
// Cards gives the whole scorecards of a ranking, a chunk at a time.
func (b *Board) Rank(ctx context.Context, q Query) (*Ranking, error) {
	if err := b.sync(ctx); err != nil {
		return nil, err
	}
	q, rb, err := b.resolve(ctx, q)
	if err != nil {
		return nil, err
	}
	asOf := q.AsOf
	if end := domain.YearEnd(q.Year); asOf.After(end) {
		asOf = end
	}
	r := &Ranking{Query: q, Rulebook: projections.RulebookRef{Version: rb.Version, SHA256: rb.SHA256()}, AsOf: asOf,
		KnownAt: q.KnownAt.UTC().Format(projections.KnownAtLayout), rb: rb}
	if b.snaps != nil {
		r.sched = b.schedule()
		r.Rows, err = b.rankSnapshots(ctx, r)
	} else {
		r.Rows, err = b.rankLive(r)
	}
	if err != nil {
		return nil, err
	}
	slices.SortFunc(r.Rows, func(a, b Row) int {
		if c := cmp.Compare(b.Final, a.Final); c != 0 {
			return c
		}
		return cmp.Compare(a.Org, b.Org)
	})
	if b.snaps != nil {
		if r.Rows, err = scopeRows(r.Rows, q.Under); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// query is the projections' query of r (schedule is the board's).
func (r *Ranking) query(sched *projections.Schedule) projections.Query {
	return projections.Query{Year: r.Query.Year, AsOf: r.Query.AsOf, KnownAt: r.Query.KnownAt, Schedule: sched}
}

// rankLive ranks the live facts under the read lock (folding waits, as
// for ScoreAll), scoring only the organisations in scope.
func (b *Board) rankLive(r *Ranking) ([]Row, error) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	pq := r.query(b.sched)
	facts := make([]*projections.Facts, 0, len(b.orgs))
	for _, o := range b.orgs {
		facts = append(facts, o.facts)
	}
	if r.Query.Under != AllOrgs {
		var err error
		if facts, err = inScope(facts, pq, r.Query.Under); err != nil {
			return nil, err
		}
	}
	rows := make([]Row, 0, len(facts))
	n := cardChunk()
	for lo := 0; lo < len(facts); lo += n {
		part := facts[lo:min(lo+n, len(facts))]
		scored.Add(int64(len(part)))
		cards, err := projections.ScoreAll(part, r.rb, pq)
		if err != nil {
			return nil, err
		}
		for _, c := range cards {
			rows = append(rows, RowOf(c))
		}
	}
	return rows, nil
}

// rankSnapshots ranks over snapshots, a chunk of facts at a time.
func (b *Board) rankSnapshots(ctx context.Context, r *Ranking) ([]Row, error) {
	pq := r.query(r.sched)
	var rows []Row
	n := cardChunk()
	err := b.snaps.EachFacts(ctx, func(chunk []*projections.Facts) error {
		b.note(chunk...)
		for lo := 0; lo < len(chunk); lo += n {
			part := chunk[lo:min(lo+n, len(chunk))]
			scored.Add(int64(len(part)))
			cards, err := projections.ScoreAll(part, r.rb, pq)
			if err != nil {
				return err
			}
			for _, c := range cards {
				rows = append(rows, RowOf(c))
			}
		}
		return nil
	})
	return rows, err
}

// inScope keeps, in their order, the facts of the organisations that
// Scope would keep of their scorecards: those registered at K, founded by
// D, and in the scope under selects, judged by the parent each scorecard
// would name (projections.ParentAt), without scoring any.
func inScope(facts []*projections.Facts, pq projections.Query, under string) ([]*projections.Facts, error) {
	parent := make(map[string]string, len(facts))
	for _, f := range facts {
		p, err := projections.ParentAt(f, pq)
		switch {
		case errors.Is(err, projections.ErrNotRegistered), errors.Is(err, projections.ErrNotFounded):
			continue
		case err != nil:
			return nil, err
		}
		parent[f.Org()] = p
	}
	in, err := scoper(parent, under)
	if err != nil {
		return nil, err
	}
	out := make([]*projections.Facts, 0, len(facts))
	for _, f := range facts {
		if _, ok := parent[f.Org()]; ok && in(f.Org()) {
			out = append(out, f)
		}
	}
	return out, nil
}

// scoper returns Scope's rule (Query.Under) over the parents of every
// organisation ranked: whether the organisation code is in the scope. A
// code that names none of them (none registered at K) is a
// *domain.FieldError on "under", not an empty ranking.
func scoper(parent map[string]string, under string) (func(code string) bool, error) {
	switch under {
	case AllOrgs:
		return func(string) bool { return true }, nil
	case "":
		return func(code string) bool { return parent[code] == "" }, nil
	}
	if _, ok := parent[under]; !ok {
		return nil, &domain.FieldError{Field: "under", Reason: fmt.Sprintf("organisation %q is not registered", under)}
	}
	return func(code string) bool {
		for i := 0; i < len(parent) && code != ""; i++ { // bounded: a cycle cannot loop
			code = parent[code]
			if code == under {
				return true
			}
		}
		return false
	}, nil
}

// scopeRows is Scope over rows.
func scopeRows(rows []Row, under string) ([]Row, error) {
	if under == AllOrgs {
		return rows, nil
	}
	parent := make(map[string]string, len(rows))
	for i := range rows {
		parent[rows[i].Org] = rows[i].ParentCode
	}
	in, err := scoper(parent, under)
	if err != nil {
		return nil, err
	}
	out := make([]Row, 0, len(rows))
	for _, r := range rows {
		if in(r.Org) {
			out = append(out, r)
		}
	}
	return out, nil
}

// Cards scores again the organisations of rows (rows of r: all, some, in
// any order), exactly as r ranked them, and calls fn with each one's
// scorecard in the order of rows. It holds one chunk of scorecards at a
// time (cardChunk), so a caller that needs whole scorecards — a JSON
// array, an export's sheets — never holds every one; fn may keep a card,
// but keeping them all is what this avoids. It stops at fn's first error
// and returns it.
//
// Each scorecard says what its row says. An organisation whose events
// recorded by K were folded (or written to its snapshot) only after the
// ranking — an append in flight when it began — is scored from its stream
// up to the ledger position its row names, which is what the ranking saw;
// a scorecard that still differs from its row is ErrRankingChanged.
func (b *Board) Cards(ctx context.Context, r *Ranking, rows []Row, fn func(*projections.Scorecard) error) error {
	n := cardChunk()
	for lo := 0; lo < len(rows); lo += n {
		if err := ctx.Err(); err != nil {
			return err
		}
		part := rows[lo:min(lo+n, len(rows))]
		cards, err := b.cardsOf(ctx, r, part)
		if err != nil {
			return err
		}
		for i, sc := range cards {
			cards[i] = nil // let each card go once fn is done with it
			if err := fn(sc); err != nil {
				return err
			}
		}
	}
	return nil
}

// cardsOf scores the organisations of rows, in their order, as r did.
func (b *Board) cardsOf(ctx context.Context, r *Ranking, rows []Row) ([]*projections.Scorecard, error) {
	k := r.Query.KnownAt
	facts := make([]*projections.Facts, len(rows))
	if b.snaps != nil {
		if err := b.readFacts(ctx, rows, facts); err != nil {
			return nil, err
		}
	}
	cards := make([]*projections.Scorecard, len(rows))
	var stale []int // rows whose facts changed as known at K since the ranking
	err := func() error {
		b.mu.RLock()
		defer b.mu.RUnlock()
		var current []*projections.Facts
		for i := range rows {
			if b.snaps == nil {
				if o := b.orgs[rows[i].Org]; o != nil {
					facts[i] = o.facts
				}
			}
			switch {
			case facts[i] == nil:
				return fmt.Errorf("%w: %s has no facts now", ErrRankingChanged, rows[i].Org)
			case facts[i].PositionAt(k) != rows[i].LedgerPosition:
				stale = append(stale, i)
			default:
				current = append(current, facts[i])
			}
		}
		scored, err := b.scoreFor(r, current)
		if err != nil {
			return err
		}
		for i := range rows {
			if c := scored[rows[i].Org]; c != nil {
				cards[i] = c
			}
		}
		return nil
	}()
	if err != nil {
		return nil, err
	}
	for _, i := range stale {
		f, _, err := b.replayTo(ctx, rows[i].Org, k, rows[i].LedgerPosition)
		if err != nil {
			return nil, err
		}
		b.mu.RLock()
		scored, err := b.scoreFor(r, []*projections.Facts{f})
		b.mu.RUnlock()
		if err != nil {
			return nil, err
		}
		cards[i] = scored[rows[i].Org]
	}
	for i := range rows {
		if cards[i] == nil {
			return nil, fmt.Errorf("%w: %s is no longer scored as known at %s", ErrRankingChanged, rows[i].Org, r.KnownAt)
		}
		if got := RowOf(cards[i]); !sameRow(&got, &rows[i]) {
			return nil, fmt.Errorf("%w: %s ranked with final %s (%s), scored again %s (%s)", ErrRankingChanged, rows[i].Org,
				rows[i].Final, rows[i].Tier, got.Final, got.Tier)
		}
	}
	return cards, nil
}

// scoreFor scores facts as r did, by organisation code, each card with its
// ledger position; the caller holds b.mu for reading (the live schedule).
func (b *Board) scoreFor(r *Ranking, facts []*projections.Facts) (map[string]*projections.Scorecard, error) {
	sched := r.sched
	if b.snaps == nil {
		sched = b.sched
	}
	pq := r.query(sched)
	cards, err := projections.ScoreAll(facts, r.rb, pq)
	if err != nil {
		return nil, err
	}
	out := make(map[string]*projections.Scorecard, len(cards))
	for _, c := range cards {
		out[c.Org] = c
	}
	return out, nil
}

// readFacts reads the facts of rows over snapshots, gradeReads at a time.
func (b *Board) readFacts(ctx context.Context, rows []Row, facts []*projections.Facts) error {
	errs := make([]error, len(rows))
	sem := make(chan struct{}, gradeReads)
	var wg sync.WaitGroup
	for i := range rows {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			facts[i], errs[i] = b.snaps.Facts(ctx, rows[i].Org)
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			return err
		}
		if facts[i] != nil {
			b.note(facts[i])
		}
	}
	return nil
}

// replayTo folds the prefix of an organisation's stream recorded at or
// before k and at or below ledger position pos into fresh facts; replay
// is replayTo with no bound on the position.
func (b *Board) replayTo(ctx context.Context, code string, k time.Time, pos uint64) (*projections.Facts, uint64, error) {
	f := projections.NewFacts(code)
	var last uint64
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for e, err := range b.books.ReadOrg(ctx, code) {
		if err != nil {
			return nil, 0, fmt.Errorf("scoreboard: replay %s: %w", code, err)
		}
		if e.RecordedAt.After(k) || e.Position > pos {
			break
		}
		if err := f.Apply(e); err != nil {
			return nil, 0, fmt.Errorf("scoreboard: replay %s: %w", e.ID, err)
		}
		last = e.Position
	}
	return f, last, nil
}

// noBound is replayTo's position bound for none.
const noBound = math.MaxUint64
