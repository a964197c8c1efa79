package projections

import (
	"cmp"
	"errors"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"

	"partyledger/domain"
)

// ScoreAll scores every organisation's facts with the same rulebook and
// query and returns the scorecards ranked: by final score, highest first,
// then by organisation code. Organisations not registered as known at
// q.KnownAt, and those not founded yet at D (ErrNotFounded), are left out; any other error stops it (the error of the
// first such organisation in facts is returned). Each scorecard's
// LedgerPosition is its facts' position as known at q.KnownAt
// (Facts.PositionAt); q.LedgerPosition is not used. The rulebook's digest and
// plan are computed once for all, and the organisations are scored on
// every CPU; the result does not depend on how the work was shared.
func ScoreAll(facts []*Facts, rb *domain.Rulebook, q Query) ([]*Scorecard, error) {
	p, err := planFor(rb)
	if err != nil {
		return nil, err
	}
	cards := make([]*Scorecard, len(facts))
	errs := make([]error, len(facts))
	const chunk = 64
	var next atomic.Int64
	var wg sync.WaitGroup
	workers := min(runtime.GOMAXPROCS(0), (len(facts)+chunk-1)/chunk)
	for range workers {
		wg.Go(func() {
			for {
				lo := int(next.Add(chunk)) - chunk
				if lo >= len(facts) {
					return
				}
				for i := lo; i < min(lo+chunk, len(facts)); i++ {
					v, err := newView(facts[i], p, q)
					if err != nil {
						errs[i] = err
						continue
					}
					cards[i] = v.score()
					cards[i].LedgerPosition = facts[i].PositionAt(q.KnownAt)
				}
			}
		})
	}
	wg.Wait()
	out := make([]*Scorecard, 0, len(facts))
	for i, c := range cards {
		switch {
		case errors.Is(errs[i], ErrNotRegistered), errors.Is(errs[i], ErrNotFounded):
		case errs[i] != nil:
			return nil, errs[i]
		default:
			out = append(out, c)
		}
	}
	SortRanked(out)
	return out, nil
}

// SortRanked sorts scorecards in ranking order: by final score, highest
// first, then by organisation code (ScoreAll's order, also for cards
// scored a chunk at a time).
func SortRanked(cards []*Scorecard) {
	slices.SortFunc(cards, func(a, b *Scorecard) int {
		if c := cmp.Compare(b.Final, a.Final); c != 0 {
			return c
		}
		return cmp.Compare(a.Org, b.Org)
	})
}

// ParentAt returns the parent code (empty: directly under the work
// committee) that the organisation's scorecard under q would name, without
// scoring it, or the error Score would return before scoring
// (ErrNotRegistered as known at q.KnownAt, a *NotFoundedError at D,
// ErrBadQuery). A ranking of one level (scoreboard.Query.Under) uses it
// to score only the organisations it shows; the schedule and the
// rulebook are not read.
func ParentAt(f *Facts, q Query) (string, error) {
	v, err := openView(f, &plan{}, q)
	if err != nil {
		return "", err
	}
	return v.reg.parent, nil
}
