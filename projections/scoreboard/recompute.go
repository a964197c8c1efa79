package scoreboard

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"partyledger/domain"
	"partyledger/projections"
)

// Recompute scores every organisation registered at q.KnownAt under the
// rulebook versions from and to (q.Rulebook is ignored) and reports whose
// final score or tier changes, by which items and why, and how many moved
// between which tiers. An empty from or to means the version in force at
// q.KnownAt. An unknown version is a *domain.FieldError naming it.
//
// Organisations whose facts are live (K at or after their last event:
// the usual case, "now") are scored from those facts, on every CPU,
// without reading the ledger; only a K in the past replays stream
// prefixes, as Score does.
func (b *Board) Recompute(ctx context.Context, q Query, from, to string) (*projections.RecomputeReport, error) {
	if err := b.sync(ctx); err != nil {
		return nil, err
	}
	q.Rulebook = ""
	q, _, err := b.resolve(ctx, q)
	if err != nil {
		return nil, err
	}
	rbFrom, err := b.version(ctx, q, from, "from")
	if err != nil {
		return nil, err
	}
	rbTo, err := b.version(ctx, q, to, "to")
	if err != nil {
		return nil, err
	}
	if b.snaps != nil {
		return b.recomputeSnapshots(ctx, q, rbFrom, rbTo)
	}
	var facts []*projections.Facts
	var past []string
	b.mu.RLock()
	for _, code := range b.codesLocked() {
		o := b.orgs[code]
		if q.KnownAt.Before(o.last) {
			past = append(past, code)
			continue
		}
		facts = append(facts, o.facts)
	}
	b.mu.RUnlock()
	for _, code := range past {
		f, _, err := b.replay(ctx, code, q.KnownAt)
		if err != nil {
			return nil, err
		}
		facts = append(facts, f)
	}
	// Folding takes the write lock: the live facts and the schedule stay
	// still while they are scored.
	b.mu.RLock()
	defer b.mu.RUnlock()
	return projections.RecomputeAll(facts, rbFrom, rbTo, projections.Query{Year: q.Year, AsOf: q.AsOf, KnownAt: q.KnownAt,
		Schedule: b.sched})
}

// version resolves a rulebook version of q.Year ("" is the one in force
// at q.KnownAt); side names the flag or field in errors.
func (b *Board) version(ctx context.Context, q Query, version, side string) (*domain.Rulebook, error) {
	rb, err := b.books.RulebookAt(ctx, q.Year, q.KnownAt, version)
	if err != nil {
		var list []string
		if all, lerr := b.books.Rulebooks(ctx, q.Year); lerr == nil {
			for _, p := range all {
				list = append(list, p.Rulebook.Version)
			}
		}
		return nil, &domain.FieldError{Field: side, Reason: fmt.Sprintf("%s (versions of %d: %s)", reasonOf(err), q.Year, strings.Join(list, ", "))}
	}
	return rb, nil
}

func reasonOf(err error) string {
	if fes := domain.FieldErrors(err); len(fes) == 1 {
		return fes[0].Reason
	}
	return err.Error()
}

// codesLocked returns the codes of every organisation, sorted; the caller
// holds b.mu.
func (b *Board) codesLocked() []string {
	out := make([]string, 0, len(b.orgs))
	for c := range b.orgs {
		out = append(out, c)
	}
	sort.Strings(out)
	return out
}
