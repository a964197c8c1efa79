package books

import (
	"context"
	"fmt"
	"iter"
	"strings"

	"github.com/google/uuid"

	"golang.org/x/mod/sumdb/note"
	"partyledger/domain"
	"partyledger/ledger"
	"partyledger/ledger/logtree"
)

// The envelope reads below hand out stored events as they are (hashes,
// recorded_at, recorded_by): exports, journals and verification need the
// envelope, not only the payload. Writes of party work go through Record
// and its checks; only the API's token stream (AppendAuth) and a restore
// into an empty ledger (Restore) write otherwise.

// Events yields every stored event after position from, in position order.
func (b *Books) Events(ctx context.Context, from ledger.Position) iter.Seq2[ledger.Event, error] {
	return b.l.ReadAll(ctx, from)
}

// ReadStream yields the events of one stream from revision from on
// (ledger.ErrStreamNotFound, as the first error, when it does not exist).
func (b *Books) ReadStream(ctx context.Context, stream string, from uint64) iter.Seq2[ledger.Event, error] {
	return b.l.ReadStream(ctx, stream, from)
}

// EventByID returns the stored event with id, or ledger.ErrEventNotFound.
func (b *Books) EventByID(ctx context.Context, id uuid.UUID) (ledger.Event, error) {
	return b.l.EventByID(ctx, id)
}

// Head returns a stream's last revision (ledger.NoStream when none).
func (b *Books) Head(ctx context.Context, stream string) (int64, error) { return b.l.Head(ctx, stream) }

// Verify recomputes every hash chain and the store's own checksums.
func (b *Books) Verify(ctx context.Context) (ledger.VerifyReport, error) { return b.l.Verify(ctx) }

// Close closes the ledger's store.
func (b *Books) Close() error { return b.l.Close() }

// AppendAuth appends to one of the API's token streams (PrefixAuth): they
// hold token hashes, not party work, so no check of the books applies.
func (b *Books) AppendAuth(ctx context.Context, stream string, expected ledger.Expected, events []ledger.Proposed) ([]ledger.Result, error) {
	if !strings.HasPrefix(stream, PrefixAuth) {
		return nil, fmt.Errorf("ledger: AppendAuth to %s: not a token stream", stream)
	}
	return b.l.Append(ctx, stream, expected, events)
}

// LastEvent returns the last event of a stream or ledger.ErrStreamNotFound.
func (b *Books) LastEvent(ctx context.Context, stream string) (ledger.Event, error) {
	return b.l.LastEvent(ctx, stream)
}

// Restore appends sealed events (an export) exactly as they were stored,
// into an empty ledger only: see ledger.Ledger.Restore.
func (b *Books) Restore(ctx context.Context, events []ledger.Event, opts ledger.RestoreOptions) ([]ledger.Result, error) {
	return b.l.Restore(ctx, events, opts)
}

// Tree opens the Merkle tree over the whole log (ledger/logtree): signed
// checkpoints and inclusion and consistency proofs of every event,
// whatever its stream.
func (b *Books) Tree(ctx context.Context, opts logtree.Options) (*logtree.Tree, error) {
	return logtree.Open(ctx, b.l, opts)
}

// Anchor returns what grades anchor to (scoreboard.GradeOptions.Anchor):
// the log tree as it is now, its size and root, which a signed checkpoint
// of that size proves.
func Anchor(t *logtree.Tree) func(ctx context.Context) (*domain.GradeCheckpoint, error) {
	return func(ctx context.Context) (*domain.GradeCheckpoint, error) {
		root, size, err := t.Root(ctx, 0)
		if err != nil {
			return nil, err
		}
		return &domain.GradeCheckpoint{Size: size, Root: root.String()}, nil
	}
}

// VerifyCheckpoint proves the log as stored extends a signed checkpoint,
// rebuilding the tree from the log itself (no kept hashes are trusted):
// logtree.VerifyCheckpoint.
func (b *Books) VerifyCheckpoint(ctx context.Context, msg []byte, verifier note.Verifier) (logtree.CheckpointReport, error) {
	return logtree.VerifyCheckpoint(ctx, b.l, msg, verifier)
}

// BeginRestore starts a restore of sealed events fed one at a time: see
// ledger.Ledger.BeginRestore.
func (b *Books) BeginRestore(ctx context.Context) (*ledger.Restoring, error) {
	return b.l.BeginRestore(ctx)
}
