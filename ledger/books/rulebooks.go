package books

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/google/uuid"

	"partyledger/domain"
	"partyledger/ledger"
)

// The built-in rulebook's publication: the same event whoever records it,
// so that processes publishing it concurrently record it once (its id is
// derived from the year and version, and its content is fixed).
const (
	// BuiltinReason is the reason of the built-in rulebook's publication.
	BuiltinReason = "内置细则：洛市直发〔2016〕6号《2016年市直机关党建目标绩效考核细则》，首次使用时自动登记"
	// BuiltinPublisher is the recorded_by of that publication.
	BuiltinPublisher = "partyledger"
)

// BuiltinPublishedOn is the occurred_on of the built-in rulebook's
// publication: the date the 2016 document was issued.
var BuiltinPublishedOn = domain.Date{Year: 2016, Month: 2, Day: 29}

// ErrRulebookPublished reports a publication of a version that the year's
// stream (or the built-in rulebook) already has. The error is a
// *RulebookPublishedError.
var ErrRulebookPublished = errors.New("ledger: rulebook version already published")

// RulebookPublishedError is the typed form of ErrRulebookPublished.
type RulebookPublishedError struct {
	Year    int
	Version string
	Builtin bool // the version is the built-in rulebook's
}

func (e *RulebookPublishedError) Error() string {
	what := "is already published"
	if e.Builtin {
		what = "is the built-in rulebook"
	}
	return fmt.Sprintf("ledger: rulebook version %q of %d %s; a correction is a new version", e.Version, e.Year, what)
}

// Unwrap lets errors.Is(err, ErrRulebookPublished) match.
func (e *RulebookPublishedError) Unwrap() error { return ErrRulebookPublished }

// RulebookEventID is the id of the publication of version of year's
// rulebook: one version is published at most once, whoever publishes it.
func RulebookEventID(year int, version string) uuid.UUID {
	return DerivedID("rulebook\x00" + strconv.Itoa(year) + "\x00" + version)
}

// builtinEntry is the publication of the built-in rulebook.
func builtinEntry() domain.Entry {
	bi := domain.Builtin2016()
	return domain.Entry{ID: RulebookEventID(bi.Year, bi.Version).String(), Type: domain.TypeRulebookPublished,
		OccurredOn: BuiltinPublishedOn,
		Payload:    &domain.RulebookPublished{Year: bi.Year, Version: bi.Version, Reason: BuiltinReason, Rulebook: bi}}
}

// EnsureBuiltin records the built-in rulebook (2016.1) in its year's
// stream on first use: when that stream is still empty. Publishing
// another version of the year (PublishRulebook, or a RulebookPublished
// recorded by Record) and issuing grades call it, so the stream always
// begins with the version every earlier score was computed under, and the
// ledger alone reproduces them. It does nothing for other years, or when
// the stream already has events (the built-in one then stays the fallback
// for instants before the first of them, as RulebookAt says).
//
// Scoring semantics do not depend on when this happens: at any known_at
// before the publication no version is recorded, so the built-in one is in
// force — the same document.
func (b *Books) EnsureBuiltin(ctx context.Context, year int) error {
	if domain.Builtin2016().Year != year {
		return nil
	}
	stream := RulebookStream(year)
	// Ask the store itself, not a cached head: another process may have
	// published since this one last looked.
	empty := func() (bool, error) {
		_, err := b.l.LastEvent(ctx, stream)
		if errors.Is(err, ledger.ErrStreamNotFound) {
			return true, nil
		}
		return false, err
	}
	if ok, err := empty(); !ok || err != nil {
		return err
	}
	exp := ledger.ExpectNoStream
	_, err := b.Record(ctx, []domain.Entry{builtinEntry()}, BuiltinPublisher, RecordOptions{Expected: &exp})
	if err != nil {
		// Lost a race: whatever another process recorded first is fine.
		if ok, err2 := empty(); err2 == nil && !ok {
			return nil
		}
		return fmt.Errorf("ledger: publish the built-in rulebook: %w", err)
	}
	return nil
}

// ensureBuiltinBefore is Record's hook for rulebook streams: before any
// other version of the built-in rulebook's year is recorded, the built-in
// one is.
func (b *Books) ensureBuiltinBefore(ctx context.Context, entries []domain.Entry) error {
	bi := builtinEntry()
	for i := range entries {
		rp, ok := entries[i].Payload.(*domain.RulebookPublished)
		if ok && entries[i].ID != bi.ID {
			return b.EnsureBuiltin(ctx, rp.Year)
		}
	}
	return nil
}

// PublishRulebook appends a RulebookPublished carrying the whole document
// to the rulebook stream of its year. The rulebook is validated first: a
// *domain.FieldError or *domain.ProblemsError lists every problem and
// nothing is appended. A version the year already has (recorded, or the
// built-in one) is refused with a *RulebookPublishedError. The first
// publication of the built-in rulebook's year records the built-in
// rulebook before it (EnsureBuiltin). The version is in force for every
// known_at at or after the returned RecordedAt.
func (b *Books) PublishRulebook(ctx context.Context, rb *domain.Rulebook, reason, by string) (ledger.Result, error) {
	if rb == nil {
		return ledger.Result{}, &domain.FieldError{Field: "rulebook", Reason: "required"}
	}
	p := &domain.RulebookPublished{Year: rb.Year, Version: rb.Version, Reason: reason, Rulebook: rb}
	if err := p.Validate(); err != nil {
		return ledger.Result{}, err
	}
	if bi := domain.Builtin2016(); bi.Year == rb.Year && bi.Version == rb.Version {
		return ledger.Result{}, &RulebookPublishedError{Year: rb.Year, Version: rb.Version, Builtin: true}
	}
	if err := b.EnsureBuiltin(ctx, rb.Year); err != nil {
		return ledger.Result{}, err
	}
	entry := domain.Entry{ID: RulebookEventID(rb.Year, rb.Version).String(), Type: domain.TypeRulebookPublished,
		OccurredOn: domain.DateOf(b.l.PeekNow()), Payload: p}
	for try := 0; ; try++ {
		all, err := b.Rulebooks(ctx, rb.Year)
		if err != nil {
			return ledger.Result{}, err
		}
		recorded := 0
		for _, v := range all {
			if v.Builtin {
				continue
			}
			if v.Rulebook.Version == rb.Version {
				return ledger.Result{}, &RulebookPublishedError{Year: rb.Year, Version: rb.Version}
			}
			recorded++
		}
		// Every event of a rulebook stream is a version, so the stream's
		// revision is the number of versions less one.
		exp := ledger.ExpectNoStream
		if recorded > 0 {
			exp = ledger.ExpectRevision(uint64(recorded - 1))
		}
		res, err := b.Record(ctx, []domain.Entry{entry}, by, RecordOptions{Expected: &exp})
		var wr *ledger.WrongRevisionError
		switch {
		case errors.As(err, &wr) && try < b.l.Retries():
			continue // another version was published meanwhile: check again
		case err != nil:
			// The same version may have been published by another process
			// since it was looked up (Record then refuses it as a
			// duplicate version or a reused id).
			if all, rerr := b.Rulebooks(ctx, rb.Year); rerr == nil {
				for _, v := range all {
					if !v.Builtin && v.Rulebook.Version == rb.Version {
						return ledger.Result{}, &RulebookPublishedError{Year: rb.Year, Version: rb.Version}
					}
				}
			}
			return ledger.Result{}, err
		}
		if res[0].Duplicate {
			// Published meanwhile, with the same content, by another process.
			return ledger.Result{}, &RulebookPublishedError{Year: rb.Year, Version: rb.Version}
		}
		return res[0], nil
	}
}
