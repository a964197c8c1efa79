package scoreboard

import (
	"context"
	"errors"
	"fmt"
	"time"

	"partyledger/domain"
	"partyledger/projections"
)

// guideYears bounds how far back Todo looks for a rulebook when D's year
// has none.
const guideYears = 20

// Todo lists what the organisation has to do as of asOf (zero: today by
// the board's clock), as known at knownAt (zero: now): projections.Todo
// over the live facts and the committee's schedule, under the rulebook of
// asOf's year in force at knownAt — or, when that year has none yet, the
// latest earlier year's, as a guide (TodoList.RulebookYear says which).
func (b *Board) Todo(ctx context.Context, code string, asOf domain.Date, knownAt time.Time) (*projections.TodoList, error) {
	if err := b.sync(ctx); err != nil {
		return nil, err
	}
	if knownAt.IsZero() {
		knownAt = b.now()
	}
	knownAt = domain.TruncateInstant(knownAt)
	if asOf.IsZero() {
		asOf = domain.DateOf(knownAt)
	}
	rb, err := b.guideRulebook(ctx, asOf.Year, knownAt)
	if err != nil {
		return nil, err
	}
	var list *projections.TodoList
	err = b.withOrg(ctx, code, func(f *projections.Facts) error {
		list, err = projections.Todo(f, rb, projections.Query{Year: asOf.Year, AsOf: asOf, KnownAt: knownAt,
			LedgerPosition: f.PositionAt(knownAt), Schedule: b.sched})
		if errors.Is(err, projections.ErrNotRegistered) {
			return fmt.Errorf("%w at %s: %q", ErrUnknownOrg, knownAt.Format(domain.InstantLayout), code)
		}
		return err
	})
	return list, err
}

// guideRulebook returns the rulebook of year in force at k or, when the
// year has none, the latest earlier year's.
func (b *Board) guideRulebook(ctx context.Context, year int, k time.Time) (*domain.Rulebook, error) {
	var first error
	for y := year; y >= year-guideYears && y >= domain.DateMin.Year; y-- {
		rb, err := b.books.RulebookAt(ctx, y, k, "")
		if err == nil {
			return rb, nil
		}
		var fe *domain.FieldError
		if !errors.As(err, &fe) {
			return nil, err // a failure, not "no rulebook for the year"
		}
		if first == nil {
			first = err
		}
	}
	return nil, first
}

// MonthDues lists every member's dues for month as of q.AsOf (zero: today
// within q.Year, else the year's end): projections.MonthDues under the
// rulebook of q.Year in force at q.KnownAt (or the latest earlier year's).
func (b *Board) MonthDues(ctx context.Context, code string, q Query, month string) ([]projections.MemberDues, error) {
	var out []projections.MemberDues
	err := b.withFacts(ctx, code, &q, func(f *projections.Facts, rb *domain.Rulebook, pq projections.Query) error {
		var err error
		out, err = projections.MonthDues(f, rb, pq, month)
		return err
	})
	return out, err
}

// DuesArrears lists who has not paid in full for which month of q.Year by
// q.AsOf (projections.DuesArrears).
func (b *Board) DuesArrears(ctx context.Context, code string, q Query) ([]projections.DuesArrear, error) {
	var out []projections.DuesArrear
	err := b.withFacts(ctx, code, &q, func(f *projections.Facts, rb *domain.Rulebook, pq projections.Query) error {
		var err error
		out, err = projections.DuesArrears(f, rb, pq)
		return err
	})
	return out, err
}

// withFacts runs fn on code's live facts under the board's read lock,
// with q resolved (K now by default, D today within the year or the
// year's end) and the rulebook of the year (or a guide).
func (b *Board) withFacts(ctx context.Context, code string, q *Query, fn func(*projections.Facts, *domain.Rulebook, projections.Query) error) error {
	if err := b.sync(ctx); err != nil {
		return err
	}
	if q.KnownAt.IsZero() {
		q.KnownAt = b.now()
	}
	q.KnownAt = domain.TruncateInstant(q.KnownAt)
	if q.AsOf.IsZero() {
		q.AsOf = domain.YearEnd(q.Year)
		if today := domain.DateOf(q.KnownAt); today.Year == q.Year {
			q.AsOf = today
		}
	}
	var rb *domain.Rulebook
	var err error
	if q.Rulebook != "" {
		rb, err = b.books.RulebookAt(ctx, q.Year, q.KnownAt, q.Rulebook)
	} else {
		rb, err = b.guideRulebook(ctx, q.Year, q.KnownAt)
	}
	if err != nil {
		return err
	}
	return b.withOrg(ctx, code, func(f *projections.Facts) error {
		err := fn(f, rb, projections.Query{Year: q.Year, AsOf: q.AsOf, KnownAt: q.KnownAt,
			LedgerPosition: f.PositionAt(q.KnownAt), Schedule: b.sched})
		if errors.Is(err, projections.ErrNotRegistered) {
			return fmt.Errorf("%w at %s: %q", ErrUnknownOrg, q.KnownAt.Format(domain.InstantLayout), code)
		}
		return err
	})
}
