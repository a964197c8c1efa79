package ledger

import (
	"context"
	"errors"
	"fmt"
)

// VerifyReport summarises a successful verification.
type VerifyReport struct {
	Events       uint64
	Streams      int
	LastPosition Position
	// StorageChecked is true when the store also checked its own records
	// (checksums, framing) — see Verifier.
	StorageChecked bool
}

// ChainError names the first event whose hash chain does not hold.
type ChainError struct {
	Stream   string
	Revision uint64
	ID       string
	Position Position
	Reason   string
}

func (e *ChainError) Error() string {
	return fmt.Sprintf("ledger: hash chain broken at %s revision %d (event %s, position %d): %s",
		e.Stream, e.Revision, e.ID, e.Position, e.Reason)
}

// Unwrap lets errors.Is(err, ErrCorrupt) match.
func (e *ChainError) Unwrap() error { return ErrCorrupt }

// Verify recomputes every stream's hash chain over the whole ledger in
// global order — each revision follows the previous one with no gap, each
// prev_hash is the previous event's hash, and each hash recomputes from
// the event's content — after the store has checked its own records when
// it can. It returns the first problem as a *ChainError (or the store's
// error), wrapping ErrCorrupt.
func (l *Ledger) Verify(ctx context.Context) (VerifyReport, error) {
	var rep VerifyReport
	if v, ok := l.store.(Verifier); ok {
		if err := v.VerifyStorage(ctx); err != nil {
			return rep, err
		}
		rep.StorageChecked = true
	}
	tips := chains{}
	var lastPos Position
	for e, err := range l.store.ReadAll(ctx, 0) {
		if err != nil {
			return rep, fmt.Errorf("ledger: verify: read all: %w", err)
		}
		fail := func(reason string) error {
			return &ChainError{Stream: e.Stream, Revision: e.Revision, ID: e.ID.String(), Position: e.Position, Reason: reason}
		}
		if rep.Events > 0 && e.Position <= lastPos {
			return rep, fail(fmt.Sprintf("position %d does not follow %d", e.Position, lastPos))
		}
		lastPos = e.Position
		if field, reason := tips.follow(&e); field != "" {
			return rep, fail(field + " " + reason)
		}
		rep.Events++
	}
	if err := ctx.Err(); err != nil {
		return rep, err
	}
	rep.Streams = len(tips)
	rep.LastPosition = lastPos
	return rep, nil
}

// chains follows every stream's hash chain through events in order: the
// one check of a chain, for Verify and for Restore.
type chains map[string]*chainTip

type chainTip struct {
	next uint64 // the revision due
	hash Hash   // the hash of the event before it
}

// follow checks that e continues its stream's chain — its revision is the
// one due, its prev_hash the hash of the event before it, its hash
// recomputes from its content — and moves the chain on to e. It returns
// the envelope field at fault and why, or "" when e continues the chain.
func (c chains) follow(e *Event) (field, reason string) {
	t := c[e.Stream]
	if t == nil {
		t = &chainTip{}
		c[e.Stream] = t
	}
	defer func() { t.next, t.hash = e.Revision+1, e.Hash }()
	switch {
	case e.Revision != t.next:
		return "revision", fmt.Sprintf("%d where %d was due", e.Revision, t.next)
	case e.PrevHash != t.hash:
		return "prev_hash", "is not the previous event's hash"
	case ComputeHash(e) != e.Hash:
		return "hash", "does not match the event's content"
	}
	return "", ""
}

// IsCorrupt reports whether err reports damaged data.
func IsCorrupt(err error) bool { return errors.Is(err, ErrCorrupt) }
