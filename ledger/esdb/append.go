package esdb

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	client "github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/google/uuid"

	"partyledger/ledger"
)

// Append appends events, sealed by the Ledger, to stream atomically if the
// stream's last revision is expected (ledger.NoStream when it must not
// exist), and returns each event's $all position. The server acknowledges
// a write once it is durable (fsynced on a single node, on a quorum in a
// cluster).
//
// Errors: *ledger.WrongRevisionError, ledger.ErrDuplicateEventID,
// ledger.ErrClosed, ErrForeignStream, context errors, and ErrUnavailable
// or a server error, after which the outcome is unknown: the Ledger
// rereads the stream. The Store itself never turns read-only: the server
// is the source of truth.
func (s *Store) Append(ctx context.Context, stream string, expected int64, events []ledger.Event) ([]ledger.Position, error) {
	name, err := s.serverStream(stream)
	if err != nil {
		return nil, err
	}
	exp, err := expectedRevision(expected)
	if err != nil {
		return nil, err
	}
	if len(events) == 0 {
		return nil, fmt.Errorf("esdb: append to %s of no events", stream)
	}
	// Assert before writing: what is sent must read back as it was sealed.
	data := make([]client.EventData, len(events))
	ids := make([]uuid.UUID, len(events))
	seen := make(map[uuid.UUID]bool, len(events))
	size := 0
	for i := range events {
		e := &events[i]
		switch {
		case e.Stream != stream:
			return nil, fmt.Errorf("esdb: append to %s: event %d is sealed for %s", stream, i, e.Stream)
		case e.Revision != eventRevision(expected, i):
			// Never written: the server would store it at another revision
			// than the one its hash covers. But a stale expected revision
			// is the likelier cause, and the caller can act on that.
			bad := fmt.Errorf("esdb: append to %s at %d: event %d has revision %d, want %d", stream, expected, i, e.Revision, eventRevision(expected, i))
			return nil, s.staleOr(ctx, stream, expected, bad)
		case e.ID == uuid.Nil:
			return nil, fmt.Errorf("esdb: append to %s: event %d has no id", stream, i)
		case seen[e.ID]:
			return nil, fmt.Errorf("esdb: append to %s: id %s twice in one append: %w", stream, e.ID, ledger.ErrDuplicateEventID)
		}
		seen[e.ID] = true
		if data[i], err = encode(e); err != nil {
			return nil, err
		}
		ids[i] = e.ID
		size += len(data[i].Data) + len(data[i].Metadata)
	}
	if size > s.opts.MaxAppendSize {
		return nil, fmt.Errorf("esdb: append of %d events (%d bytes) to %s exceeds the server's maximum append size of %d bytes", len(events), size, stream, s.opts.MaxAppendSize)
	}
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	if err := s.reserve(ctx, stream, ids); err != nil {
		return nil, err
	}
	var positions []ledger.Position
	defer func() { s.release(stream, expected, ids, positions) }()
	if s.beforeAppend != nil {
		s.beforeAppend()
	}

	var wr *client.WriteResult
	opctx, done := s.opContext(ctx)
	err = s.use(func(c *client.Client) (err error) {
		wr, err = c.AppendToStream(opctx, name, client.AppendToStreamOptions{ExpectedRevision: exp}, data...)
		return err
	})
	done()
	if err != nil {
		if classify(err) == kindWrongVersion && s.check(ctx) == nil {
			return nil, s.wrongRevision(ctx, stream, expected, err)
		}
		return nil, s.fail(ctx, err, fmt.Sprintf("append %d events to %s", len(events), stream))
	}
	last := eventRevision(expected, len(events)-1)
	if wr.NextExpectedVersion != last {
		return nil, fmt.Errorf("esdb: append to %s: the server reports revision %d, not %d: it replayed an earlier append of these ids: %w",
			stream, wr.NextExpectedVersion, last, ledger.ErrDuplicateEventID)
	}
	got, err := s.readBack(ctx, stream, expected, events)
	if err != nil {
		return nil, err
	}
	positions = got
	return positions, nil
}

// reserve refuses ids the index knows (after bringing it up to date) or an
// append in flight in this process carries, and marks them in flight.
// With IDsPerStream the stream's ids stand in for the index.
func (s *Store) reserve(ctx context.Context, stream string, ids []uuid.UUID) error {
	if s.sids != nil {
		return s.reserveInStream(ctx, stream, ids)
	}
	s.idx.mu.Lock()
	defer s.idx.mu.Unlock()
	if err := s.catchUpLocked(ctx); err != nil {
		return fmt.Errorf("esdb: append to %s: %w", stream, err)
	}
	for _, id := range ids {
		if _, ok := s.idx.ids[id]; ok || s.idx.pending[id] {
			return fmt.Errorf("esdb: append to %s: event id %s: %w", stream, id, ledger.ErrDuplicateEventID)
		}
	}
	for _, id := range ids {
		s.idx.pending[id] = true
	}
	return nil
}

// release ends an append in flight; positions are those of the written
// events, or nil when nothing is known to be written (a later catch-up
// finds whatever was).
func (s *Store) release(stream string, expected int64, ids []uuid.UUID, positions []ledger.Position) {
	if s.sids != nil {
		s.releaseInStream(stream, expected, ids, positions != nil)
		return
	}
	s.idx.mu.Lock()
	defer s.idx.mu.Unlock()
	for i, id := range ids {
		delete(s.idx.pending, id)
		if positions != nil {
			if _, ok := s.idx.ids[id]; !ok {
				s.idx.ids[id] = uint64(positions[i])
			}
		}
	}
}

// readBack reads the events just written, to learn their positions (the
// server reports one position per append) and to make sure they are the
// ones sent: the server answers an append whose ids it already holds at
// those revisions with success and writes nothing, so if another writer
// stored the same ids first, what reads back is not what was sealed here.
func (s *Store) readBack(ctx context.Context, stream string, expected int64, events []ledger.Event) ([]ledger.Position, error) {
	out := make([]ledger.Position, 0, len(events))
	err := s.readStream(ctx, stream, client.ReadStreamOptions{From: client.Revision(eventRevision(expected, 0)), Direction: client.Forwards}, uint64(len(events)),
		func(got ledger.Event) error {
			want := &events[len(out)]
			if !sameSealed(&got, want) {
				return fmt.Errorf("esdb: append to %s: revision %d holds event %s as sealed by another writer: %w", stream, got.Revision, got.ID, ledger.ErrDuplicateEventID)
			}
			if len(out) > 0 && got.Position <= out[len(out)-1] {
				return positionsNotIncreasing(uint64(got.Position), uint64(out[len(out)-1]))
			}
			out = append(out, got.Position)
			return nil
		})
	switch {
	case errors.Is(err, ledger.ErrDuplicateEventID) || errors.Is(err, ledger.ErrCorrupt):
		return nil, err
	case err != nil:
		return nil, fmt.Errorf("esdb: appended to %s, but reading the events back failed: %w", stream, err)
	case len(out) != len(events):
		return nil, fmt.Errorf("esdb: appended %d events to %s, read back %d: %w", len(events), stream, len(out), ledger.ErrCorrupt)
	}
	return out, nil
}

// sameSealed reports whether two envelopes are the same sealed event.
func sameSealed(a, b *ledger.Event) bool {
	return a.ID == b.ID && a.Stream == b.Stream && a.Type == b.Type && a.SchemaVersion == b.SchemaVersion &&
		a.Revision == b.Revision && a.OccurredOn == b.OccurredOn && a.RecordedAt.Equal(b.RecordedAt) &&
		a.RecordedBy == b.RecordedBy && bytes.Equal(a.Data, b.Data) && a.PrevHash == b.PrevHash && a.Hash == b.Hash
}

// staleOr returns a *ledger.WrongRevisionError when the stream is not at
// expected, and err otherwise.
func (s *Store) staleOr(ctx context.Context, stream string, expected int64, err error) error {
	actual, herr := s.headRevision(ctx, stream)
	if herr != nil || actual == expected {
		return err
	}
	return &ledger.WrongRevisionError{Stream: stream, Expected: expected, Actual: actual}
}

// headRevision returns the revision of the stream's last event, or
// ledger.NoStream.
func (s *Store) headRevision(ctx context.Context, stream string) (int64, error) {
	last, err := s.LastEvent(ctx, stream)
	switch {
	case errors.Is(err, ledger.ErrStreamNotFound):
		return ledger.NoStream, nil
	case err != nil:
		return 0, err
	}
	return int64(last.Revision), nil
}

// wrongRevision builds the conflict error. The server's reply carries the
// actual revision, which the client keeps only in its error text; when
// that text does not parse, the Store reads the stream's head instead.
func (s *Store) wrongRevision(ctx context.Context, stream string, expected int64, err error) error {
	actual, ok := actualRevision(err.Error())
	if !ok {
		var herr error
		if actual, herr = s.headRevision(ctx, stream); herr != nil {
			return fmt.Errorf("esdb: append to %s: %w (expected %d; reading the actual revision failed: %v)",
				stream, ledger.ErrWrongExpectedRevision, expected, herr)
		}
	}
	return &ledger.WrongRevisionError{Stream: stream, Expected: expected, Actual: actual}
}
