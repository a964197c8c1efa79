package esdb

import (
	"container/list"
	"context"
	"errors"
	"fmt"
	"sync"

	client "github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/google/uuid"

	"partyledger/ledger"
)

var _ ledger.StreamIDLookup = (*Store)(nil)

// IDScope is where a Store looks for an event id.
type IDScope int

// Scopes of Options.IDs.
const (
	// IDsGlobal keeps an index of every event id in $all: Open reads all
	// of $all, EventByID answers for any id, and an id stored in one
	// stream is refused in every other. The default.
	IDsGlobal IDScope = iota
	// IDsPerStream keeps no global index: Open reads nothing of $all, an
	// append checks its ids against the target stream only, and EventByID
	// returns ledger.ErrNoIDIndex (use EventInStream, which
	// ledger.Ledger.LookupID does). For a ledger whose streams each hold a
	// few hundred events and whose callers always know the stream an id
	// belongs to: the organisation code names it.
	IDsPerStream
)

// String names the scope.
func (sc IDScope) String() string {
	switch sc {
	case IDsGlobal:
		return "global"
	case IDsPerStream:
		return "per-stream"
	}
	return fmt.Sprintf("IDScope(%d)", int(sc))
}

// DefaultStreamIDsMax is the default of Options.StreamIDsMax: about 50 MB
// of cached ids.
const DefaultStreamIDsMax = 1 << 20

// probeStream is read by Open with IDsPerStream to learn that the server
// answers: a ledger stream name that nothing writes (no rulebook has year
// 0), so the read costs one index lookup on the server and no $all read.
const probeStream = "rulebook-0"

// streamIDs caches, for the streams appended to or looked up recently,
// the ids of their events by revision: the duplicate check of
// IDsPerStream. A stream's entry holds every revision below next; it is
// brought up to date by reading the stream from next on, so other
// processes' writes are seen. Entries are dropped least recently used
// first once the cache holds more than max ids.
type streamIDs struct {
	mu   sync.Mutex // guards by, lru and size, not the entries
	by   map[string]*list.Element
	lru  *list.List // of *streamEntry, most recently used first
	size int        // ids held by the entries in by
	max  int
}

type streamEntry struct {
	stream string

	mu      sync.Mutex // held across a read of the stream
	next    uint64     // revisions below next are in ids
	ids     map[uuid.UUID]uint64
	pending map[uuid.UUID]bool // ids of appends in flight in this process
	counted int                // len(ids) as last added to streamIDs.size
}

func newStreamIDs(max int) *streamIDs {
	return &streamIDs{by: map[string]*list.Element{}, lru: list.New(), max: max}
}

// entry returns the stream's entry, created empty when absent, and marks
// it most recently used.
func (c *streamIDs) entry(stream string) *streamEntry {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.by[stream]; ok {
		c.lru.MoveToFront(el)
		return el.Value.(*streamEntry)
	}
	e := &streamEntry{stream: stream, ids: map[uuid.UUID]uint64{}, pending: map[uuid.UUID]bool{}}
	c.by[stream] = c.lru.PushFront(e)
	return e
}

// account records the entry's new size and drops least recently used
// entries beyond the limit; never e itself, nor an entry with an append in
// flight. Caller holds e.mu.
func (c *streamIDs) account(e *streamEntry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.by[e.stream]; ok && el.Value.(*streamEntry) == e {
		c.size += len(e.ids) - e.counted
	}
	e.counted = len(e.ids)
	for el := c.lru.Back(); el != nil && c.size > c.max; {
		prev := el.Prev()
		old := el.Value.(*streamEntry)
		// TryLock: an entry being read or appended to is in use; its
		// counted size is then stale, and it is skipped.
		if old != e && old.mu.TryLock() {
			if len(old.pending) == 0 {
				c.lru.Remove(el)
				delete(c.by, old.stream)
				c.size -= old.counted
			}
			old.mu.Unlock()
		}
		el = prev
	}
}

// catchUpStream reads the stream's events from e.next on into e. A stream
// that does not exist is empty. Caller holds e.mu.
func (s *Store) catchUpStream(ctx context.Context, e *streamEntry) error {
	err := s.readStream(ctx, e.stream, client.ReadStreamOptions{From: client.Revision(e.next), Direction: client.Forwards}, readCountMax,
		func(ev ledger.Event) error {
			if ev.Revision != e.next {
				return fmt.Errorf("esdb: %s: revision %d where %d was due: %w", e.stream, ev.Revision, e.next, ledger.ErrCorrupt)
			}
			if _, dup := e.ids[ev.ID]; !dup { // the first event with an id is the event
				e.ids[ev.ID] = ev.Revision
			}
			e.next++
			return nil
		})
	s.sids.account(e)
	if errors.Is(err, ledger.ErrStreamNotFound) {
		return nil
	}
	return err
}

// reserveInStream refuses ids the stream holds (after reading what it
// does not know yet) or an append in flight in this process carries, and
// marks them in flight. The stream is read up to its end, which covers
// every revision up to expected: if the append succeeds, the stream was
// at expected, so no id it builds on went unchecked.
func (s *Store) reserveInStream(ctx context.Context, stream string, ids []uuid.UUID) error {
	e := s.sids.entry(stream)
	e.mu.Lock()
	defer e.mu.Unlock()
	if err := s.catchUpStream(ctx, e); err != nil {
		return fmt.Errorf("esdb: append to %s: ids of the stream: %w", stream, err)
	}
	for _, id := range ids {
		if _, ok := e.ids[id]; ok || e.pending[id] {
			return fmt.Errorf("esdb: append to %s: event id %s: %w", stream, id, ledger.ErrDuplicateEventID)
		}
	}
	for _, id := range ids {
		e.pending[id] = true
	}
	return nil
}

// releaseInStream ends an append in flight. When it wrote (revisions
// known) right after what the entry holds, the ids are added, which saves
// the next check a read.
func (s *Store) releaseInStream(stream string, expected int64, ids []uuid.UUID, written bool) {
	e := s.sids.entry(stream)
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, id := range ids {
		delete(e.pending, id)
	}
	if written && e.next == eventRevision(expected, 0) {
		for i, id := range ids {
			if _, dup := e.ids[id]; !dup {
				e.ids[id] = eventRevision(expected, i)
			}
		}
		e.next += uint64(len(ids))
		s.sids.account(e)
	}
}

// EventInStream returns the event with id if stream holds it, or
// ledger.ErrEventNotFound (also when the stream does not exist). With
// IDsPerStream it reads the part of the stream it has not seen yet (all of
// it the first time, then only what is new) and the event; with
// IDsGlobal it is EventByID limited to stream. It implements
// ledger.StreamIDLookup.
func (s *Store) EventInStream(ctx context.Context, stream string, id uuid.UUID) (ledger.Event, error) {
	if err := s.check(ctx); err != nil {
		return ledger.Event{}, err
	}
	if _, err := s.serverStream(stream); err != nil {
		return ledger.Event{}, err
	}
	notFound := fmt.Errorf("esdb: event %s in %s: %w", id, stream, ledger.ErrEventNotFound)
	if s.sids == nil {
		ev, err := s.EventByID(ctx, id)
		if err == nil && ev.Stream != stream {
			return ledger.Event{}, notFound
		}
		return ev, err
	}
	e := s.sids.entry(stream)
	e.mu.Lock()
	err := s.catchUpStream(ctx, e)
	rev, ok := e.ids[id]
	e.mu.Unlock()
	switch {
	case err != nil:
		return ledger.Event{}, err
	case !ok:
		return ledger.Event{}, notFound
	}
	var out ledger.Event
	found := false
	err = s.readStream(ctx, stream, client.ReadStreamOptions{From: client.Revision(rev), Direction: client.Forwards}, 1,
		func(ev ledger.Event) error {
			if ev.ID != id || ev.Revision != rev {
				return fmt.Errorf("esdb: %s revision %d holds event %s, not %s: %w", stream, ev.Revision, ev.ID, id, ledger.ErrCorrupt)
			}
			out, found = ev, true
			return nil
		})
	switch {
	case err != nil:
		return ledger.Event{}, err
	case !found:
		return ledger.Event{}, fmt.Errorf("esdb: event %s: gone from %s revision %d: %w", id, stream, rev, ledger.ErrCorrupt)
	}
	return out, nil
}
