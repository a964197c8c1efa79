package projections

import (
	"cmp"
	"errors"
	"slices"

	"partyledger/domain"
)

// ScoreAll scores every organisation's facts with the same rulebook and
// query and returns the scorecards ranked: by final score, highest first,
// then by organisation code. Organisations not registered as known at
// q.KnownAt are left out; any other error stops it. The rulebook's digest
// and plan are computed once for all.
func ScoreAll(facts []*Facts, rb *domain.Rulebook, q Query) ([]*Scorecard, error) {
	p, err := planFor(rb)
	if err != nil {
		return nil, err
	}
	out := make([]*Scorecard, 0, len(facts))
	for _, f := range facts {
		v, err := newView(f, p, q)
		if errors.Is(err, ErrNotRegistered) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, v.score())
	}
	slices.SortFunc(out, func(a, b *Scorecard) int {
		if c := cmp.Compare(b.Final, a.Final); c != 0 {
			return c
		}
		return cmp.Compare(a.Org, b.Org)
	})
	return out, nil
}
