package esdb

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"math"
	"sync"

	client "github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/google/uuid"

	"partyledger/ledger"
)

// readCountMax is the count of a read that wants every event: the largest
// count every server version takes (the wire type is uint64, some servers
// convert it to int64).
const readCountMax = math.MaxInt64

// errStop ends a read early without an error: the consumer stopped.
var errStop = errors.New("esdb: stop")

// index maps the ids of the ledger's events to their $all positions; see
// the package doc for why and what it costs.
type index struct {
	mu      sync.Mutex // held across a catch-up, which reads the server
	started bool       // last is the position of an event
	last    uint64     // $all position of the last event read, of any stream
	ids     map[uuid.UUID]uint64
	pending map[uuid.UUID]bool // ids of appends in flight in this process
}

func newIndex() index {
	return index{ids: map[uuid.UUID]uint64{}, pending: map[uuid.UUID]bool{}}
}

// catchUp brings the index up to the events committed when it is called.
func (s *Store) catchUp(ctx context.Context) error {
	s.idx.mu.Lock()
	defer s.idx.mu.Unlock()
	return s.catchUpLocked(ctx)
}

// catchUpLocked reads $all from the index's last position to the end.
// Caller holds s.idx.mu.
func (s *Store) catchUpLocked(ctx context.Context) error {
	for {
		n, err := s.readAllPage(ctx, s.idx.last, func(r *client.RecordedEvent) error {
			pos := r.Position.Commit
			if s.idx.started && pos <= s.idx.last {
				if pos < s.idx.last {
					return positionsNotIncreasing(pos, s.idx.last)
				}
				return nil // the read starts at the last event read, inclusive
			}
			s.idx.started, s.idx.last = true, pos
			if _, ok := s.ledgerStream(r.StreamID); ok {
				// The first event stored with an id is the event; a later
				// one with the same id (another process raced us, or wrote
				// outside the ledger) is not.
				if _, dup := s.idx.ids[r.EventID]; !dup {
					s.idx.ids[r.EventID] = pos
				}
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("update the id index: %w", err)
		}
		if n < s.opts.PageSize {
			return nil
		}
	}
}

func positionsNotIncreasing(got, after uint64) error {
	return fmt.Errorf("esdb: $all position %d after %d: positions not increasing: %w", got, after, ledger.ErrCorrupt)
}

// lookup returns the $all position of the event with id, after bringing
// the index up to date.
func (s *Store) lookup(ctx context.Context, id uuid.UUID) (uint64, bool, error) {
	s.idx.mu.Lock()
	defer s.idx.mu.Unlock()
	if err := s.catchUpLocked(ctx); err != nil {
		return 0, false, err
	}
	p, ok := s.idx.ids[id]
	return p, ok, nil
}

// positionOf returns the $all position of the event with id, reading the
// server only when the index does not know the id yet.
func (s *Store) positionOf(ctx context.Context, id uuid.UUID) (uint64, bool, error) {
	s.idx.mu.Lock()
	defer s.idx.mu.Unlock()
	if p, ok := s.idx.ids[id]; ok {
		return p, true, nil
	}
	if err := s.catchUpLocked(ctx); err != nil {
		return 0, false, err
	}
	p, ok := s.idx.ids[id]
	return p, ok, nil
}

// readAllPage reads up to PageSize events of $all forwards from position
// from (inclusive: a server starts a forward read at the event at from),
// and calls fn for each. It returns how many events the server sent.
func (s *Store) readAllPage(ctx context.Context, from uint64, fn func(r *client.RecordedEvent) error) (int, error) {
	return s.readAll(ctx, client.ReadAllOptions{From: allPosition(from), Direction: client.Forwards}, uint64(s.opts.PageSize), fn)
}

// readAll runs one $all read and calls fn for each event.
func (s *Store) readAll(ctx context.Context, opts client.ReadAllOptions, count uint64, fn func(r *client.RecordedEvent) error) (int, error) {
	what := "read $all"
	opctx, done := s.opContext(ctx)
	defer done()
	var rs *client.ReadStream
	err := s.use(func(c *client.Client) (err error) {
		rs, err = c.ReadAll(opctx, opts, count)
		return err
	})
	if err != nil {
		return 0, s.fail(ctx, err, what)
	}
	defer rs.Close()
	n := 0
	for {
		ev, err := rs.Recv()
		switch classify(err) {
		case kindNone:
		case kindEnd:
			return n, nil
		default:
			return n, s.fail(ctx, err, what)
		}
		n++
		r := ev.OriginalEvent()
		if r.Position.Commit == noPosition {
			return n, fmt.Errorf("esdb: event %s read from $all without a position: %w", r.EventID, ledger.ErrCorrupt)
		}
		if err := fn(r); err != nil {
			return n, err
		}
	}
}

// head returns the $all position of the last event of the server, of any
// stream, or 0 when it holds none.
func (s *Store) head(ctx context.Context) (uint64, error) {
	var last uint64
	_, err := s.readAll(ctx, client.ReadAllOptions{From: client.End{}, Direction: client.Backwards}, 1, func(r *client.RecordedEvent) error {
		last = r.Position.Commit
		return nil
	})
	return last, err
}

// ReadAll yields every ledger event with Position > from in global order,
// up to the last event of $all when it is called.
func (s *Store) ReadAll(ctx context.Context, from ledger.Position) iter.Seq2[ledger.Event, error] {
	return func(yield func(ledger.Event, error) bool) {
		if err := s.check(ctx); err != nil {
			yield(ledger.Event{}, err)
			return
		}
		head, err := s.head(ctx)
		if err != nil {
			yield(ledger.Event{}, err)
			return
		}
		last, started := uint64(from), from != 0
		for head > 0 && (!started || last < head) {
			n, err := s.readAllPage(ctx, last, func(r *client.RecordedEvent) error {
				pos := r.Position.Commit
				if started && pos <= last {
					if pos < last {
						return positionsNotIncreasing(pos, last)
					}
					return nil // the page starts at the last event, inclusive
				}
				if pos > head {
					return errStop // committed after the call
				}
				started, last = true, pos
				if _, ok := s.ledgerStream(r.StreamID); !ok {
					return nil
				}
				e, err := s.decode(r)
				if err != nil {
					return err
				}
				if !yield(e, nil) {
					return errStop
				}
				return nil
			})
			switch {
			case errors.Is(err, errStop):
				return
			case err != nil:
				yield(ledger.Event{}, err)
				return
			case n < s.opts.PageSize:
				return // the end of $all
			}
		}
	}
}

// ReadStream yields the events of stream with Revision >= from.
func (s *Store) ReadStream(ctx context.Context, stream string, from uint64) iter.Seq2[ledger.Event, error] {
	return func(yield func(ledger.Event, error) bool) {
		if err := s.check(ctx); err != nil {
			yield(ledger.Event{}, err)
			return
		}
		next := from
		err := s.readStream(ctx, stream, client.ReadStreamOptions{From: client.Revision(from), Direction: client.Forwards}, readCountMax,
			func(e ledger.Event) error {
				if e.Revision != next {
					return fmt.Errorf("esdb: %s: revision %d where %d was due: %w", stream, e.Revision, next, ledger.ErrCorrupt)
				}
				next++
				if !yield(e, nil) {
					return errStop
				}
				return nil
			})
		if err != nil && !errors.Is(err, errStop) {
			yield(ledger.Event{}, err)
		}
	}
}

// LastEvent returns the last event of stream, or ledger.ErrStreamNotFound.
func (s *Store) LastEvent(ctx context.Context, stream string) (ledger.Event, error) {
	if err := s.check(ctx); err != nil {
		return ledger.Event{}, err
	}
	var last ledger.Event
	found := false
	err := s.readStream(ctx, stream, client.ReadStreamOptions{From: client.End{}, Direction: client.Backwards}, 1,
		func(e ledger.Event) error {
			last, found = e, true
			return nil
		})
	switch {
	case err != nil:
		return ledger.Event{}, err
	case !found: // a stream whose events are all gone reads as empty
		return ledger.Event{}, fmt.Errorf("esdb: last event of %s: %w", stream, ledger.ErrStreamNotFound)
	}
	return last, nil
}

// readStream runs one stream read and calls fn for each event, with its
// position filled in. A missing stream is ledger.ErrStreamNotFound, which
// the client reports on the first Recv.
func (s *Store) readStream(ctx context.Context, stream string, opts client.ReadStreamOptions, count uint64, fn func(e ledger.Event) error) error {
	name, err := s.serverStream(stream)
	if err != nil {
		return err
	}
	what := "read " + stream
	return s.readServerStream(ctx, name, what, opts, count, func(r *client.RecordedEvent) error {
		e, err := s.decode(r)
		if err != nil {
			return err
		}
		if e.Position == 0 {
			if s.sids != nil {
				return fmt.Errorf("esdb: %s: the server reports no $all positions on stream reads (a server before 22.6); "+
					"per-stream ids need 22.6 or later", what)
			}
			// A server before 22.6: the position comes from the index.
			p, ok, err := s.positionOf(ctx, e.ID)
			if err != nil {
				return err
			}
			if !ok {
				return fmt.Errorf("esdb: %s revision %d: event %s is not in $all: %w", stream, e.Revision, e.ID, ledger.ErrCorrupt)
			}
			e.Position = ledger.Position(p)
		}
		return fn(e)
	})
}

// readServerStream runs one read of the server's stream name and calls fn
// with each recorded event of it (what names the read in errors). A
// missing stream is ledger.ErrStreamNotFound, which the client reports on
// the first Recv; an event of another stream is ErrCorrupt.
func (s *Store) readServerStream(ctx context.Context, name, what string, opts client.ReadStreamOptions, count uint64, fn func(r *client.RecordedEvent) error) error {
	opctx, done := s.opContext(ctx)
	defer done()
	var rs *client.ReadStream
	err := s.use(func(c *client.Client) (err error) {
		rs, err = c.ReadStream(opctx, name, opts, count)
		return err
	})
	if err != nil {
		return s.fail(ctx, err, what)
	}
	defer rs.Close()
	for {
		ev, err := rs.Recv()
		switch classify(err) {
		case kindNone:
		case kindEnd:
			return nil
		default:
			return s.fail(ctx, err, what)
		}
		r := ev.OriginalEvent()
		if r.StreamID != name {
			return fmt.Errorf("esdb: %s: read an event of %q: %w", what, r.StreamID, ledger.ErrCorrupt)
		}
		if err := fn(r); err != nil {
			return err
		}
	}
}

// EventByID returns the stored event with id, or ledger.ErrEventNotFound;
// with IDsPerStream, ledger.ErrNoIDIndex (see EventInStream).
func (s *Store) EventByID(ctx context.Context, id uuid.UUID) (ledger.Event, error) {
	if err := s.check(ctx); err != nil {
		return ledger.Event{}, err
	}
	if s.sids != nil {
		return ledger.Event{}, fmt.Errorf("esdb: event %s: ids are kept per stream: %w", id, ledger.ErrNoIDIndex)
	}
	pos, ok, err := s.lookup(ctx, id)
	if err != nil {
		return ledger.Event{}, err
	}
	if !ok {
		return ledger.Event{}, fmt.Errorf("esdb: event %s: %w", id, ledger.ErrEventNotFound)
	}
	var out ledger.Event
	found := false
	_, err = s.readAll(ctx, client.ReadAllOptions{From: allPosition(pos), Direction: client.Forwards}, 1, func(r *client.RecordedEvent) error {
		if r.EventID != id || r.Position.Commit != pos {
			return fmt.Errorf("esdb: event %s: $all position %d holds event %s at %d: %w", id, pos, r.EventID, r.Position.Commit, ledger.ErrCorrupt)
		}
		e, err := s.decode(r)
		out, found = e, err == nil
		return err
	})
	switch {
	case err != nil:
		return ledger.Event{}, err
	case !found:
		return ledger.Event{}, fmt.Errorf("esdb: event %s: gone from $all position %d: %w", id, pos, ledger.ErrCorrupt)
	}
	return out, nil
}
