package scoreboard

import (
	"context"
	"fmt"
	"sync"

	"partyledger/domain"
	"partyledger/projections"
)

// Snapshots is where a board that holds no live facts (Options.Snapshots)
// reads them: projections/workers.Reader implements it over the facts
// snapshots that projection workers keep on a KurrentDB cluster. Facts it
// returns are never changed afterwards (the board scores them without a
// lock of the Snapshots'), and every call reads the ledger as it is when
// called: an event acknowledged before it is counted.
type Snapshots interface {
	// Facts returns an organisation's facts up to the last event of its
	// stream (nil when the stream has no events).
	Facts(ctx context.Context, code string) (*projections.Facts, error)
	// EachFacts calls fn with the facts of every organisation listed, up
	// to the last event of each stream, a chunk at a time, so that the
	// memory of a ranking does not grow with the country; it stops at
	// fn's first error and returns it.
	EachFacts(ctx context.Context, fn func(chunk []*projections.Facts) error) error
	// Codes returns the codes of the organisations listed, sorted.
	Codes(ctx context.Context) ([]string, error)
	// Schedule returns the work committee's schedule as of its last event.
	Schedule(ctx context.Context) (*projections.Schedule, error)
}

// sync is what every read of the board does first: over the ledger, fold
// what was committed since (CatchUp); over snapshots, read the committee's
// schedule as it is now.
func (b *Board) sync(ctx context.Context) error {
	if b.snaps != nil {
		return b.refresh(ctx, false)
	}
	return b.CatchUp(ctx)
}

// refresh reads the committee's schedule from the snapshots and, with
// codes, the organisations listed.
func (b *Board) refresh(ctx context.Context, codes bool) error {
	sched, err := b.snaps.Schedule(ctx)
	if err != nil {
		return fmt.Errorf("scoreboard: the committee's schedule: %w", err)
	}
	var list []string
	if codes {
		if list, err = b.snaps.Codes(ctx); err != nil {
			return fmt.Errorf("scoreboard: the organisations listed: %w", err)
		}
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.sched = sched
	if codes {
		b.codes = list
	}
	return nil
}

// note records the ledger positions the facts read cover (Position).
func (b *Board) note(fs ...*projections.Facts) {
	for _, f := range fs {
		for p := f.Position(); ; {
			old := b.seen.Load()
			if p <= old || b.seen.CompareAndSwap(old, p) {
				break
			}
		}
	}
}

// schedule returns the schedule the last sync read; over snapshots it is
// replaced, never changed, so it may be used without the lock.
func (b *Board) schedule() *projections.Schedule {
	b.mu.RLock()
	defer b.mu.RUnlock()
	return b.sched
}

// scoreAllSnapshots is ScoreAll over snapshots: the organisations listed,
// scored a chunk at a time and ranked as ScoreAll ranks.
func (b *Board) scoreAllSnapshots(ctx context.Context, q Query, rb *domain.Rulebook) ([]*projections.Scorecard, error) {
	sched := b.schedule()
	var out []*projections.Scorecard
	err := b.snaps.EachFacts(ctx, func(chunk []*projections.Facts) error {
		b.note(chunk...)
		cards, err := projections.ScoreAll(chunk, rb, projections.Query{Year: q.Year, AsOf: q.AsOf, KnownAt: q.KnownAt, Schedule: sched})
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
	return Scope(out, q.Under)
}

// recomputeSnapshots is Recompute over snapshots: each chunk scored under
// both versions, the report accumulated one organisation at a time.
func (b *Board) recomputeSnapshots(ctx context.Context, q Query, from, to *domain.Rulebook) (*projections.RecomputeReport, error) {
	pq := projections.Query{Year: q.Year, AsOf: q.AsOf, KnownAt: q.KnownAt, Schedule: b.schedule()}
	rc := projections.NewRecomputation(from, to, pq)
	err := b.snaps.EachFacts(ctx, func(chunk []*projections.Facts) error {
		b.note(chunk...)
		olds, err := projections.ScoreAll(chunk, from, pq)
		if err != nil {
			return err
		}
		news, err := projections.ScoreAll(chunk, to, pq)
		if err != nil {
			return err
		}
		byOrg := make(map[string]*projections.Scorecard, len(news))
		for _, c := range news {
			byOrg[c.Org] = c
		}
		for _, old := range olds {
			if c := byOrg[old.Org]; c != nil {
				rc.Add(old, c)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return rc.Report(to), nil
}

// orgGrades is implemented by a Source that reads one organisation's
// grades from its own stream (books.Books does).
type orgGrades interface {
	OrgGrades(ctx context.Context, code string, year int) ([]domain.Grade, error)
}

// gradeReads bounds the organisations whose grades are read at once.
const gradeReads = 16

// grades returns the grades of year of the organisations scored: over the
// ledger, from one pass over it (Source.Grades); over snapshots, from each
// organisation's own stream when the Source can read it so, since a board
// over snapshots reads nothing of $all.
func (b *Board) grades(ctx context.Context, year int, codes []string) (map[string][]domain.Grade, error) {
	og, ok := b.books.(orgGrades)
	if b.snaps == nil || !ok {
		return b.books.Grades(ctx, year)
	}
	out := make([][]domain.Grade, len(codes))
	errs := make([]error, len(codes))
	sem := make(chan struct{}, gradeReads)
	var wg sync.WaitGroup
	for i, code := range codes {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			out[i], errs[i] = og.OrgGrades(ctx, code, year)
		})
	}
	wg.Wait()
	m := make(map[string][]domain.Grade, len(codes))
	for i, code := range codes {
		if errs[i] != nil {
			return nil, errs[i]
		}
		if len(out[i]) > 0 {
			m[code] = out[i]
		}
	}
	return m, nil
}
