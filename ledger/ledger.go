// Package ledger is the event store of partyledger: a concrete Ledger that
// validates envelopes, stamps recorded_at from an injected clock, enforces
// expected revisions and idempotency by event id, and seals every event
// into its stream's SHA-256 hash chain — over a small Store interface that
// each backend implements (ledger/filestore, the embedded default;
// ledger/esdb, EventStoreDB/KurrentDB).
//
// The Ledger knows nothing of party work, and imports no package of the
// project: the domain-aware append path on top is ledger/books, which
// validates payloads against each organisation's state before anything is
// appended. Events sealed elsewhere (an export) enter only through Restore
// (restore.go), into an empty ledger.
package ledger

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"iter"
	"sync"
	"time"

	"github.com/google/uuid"
)

// Limits on one append. MaxBatchEvents is also the bound of one API
// request and one import batch (the append path and the API take it from
// here). MaxDataLen bounds the data of any event a client of the store
// appends (EventStoreDB's own cap is 1 MiB); the payloads of party work
// are bounded tighter by domain.MaxDataBytes, which ledger/books checks
// is within it.
const (
	MaxBatchEvents   = 1_000
	MaxStreamNameLen = 200
	MaxTypeLen       = 100
	MaxRecordedByLen = 200
	MaxDataLen       = 1 << 20
)

// Expected is the revision an append expects its stream to be at.
type Expected struct {
	kind expKind
	rev  uint64
}

type expKind uint8

const (
	expAny expKind = iota
	expNoStream
	expExact
)

// Any accepts whatever revision the stream is at (the ledger still sends
// the store an exact revision, retrying if another writer got there first).
var Any = Expected{kind: expAny}

// ExpectNoStream requires that the stream does not exist yet.
var ExpectNoStream = Expected{kind: expNoStream}

// ExpectRevision requires that the stream's last event has revision rev.
func ExpectRevision(rev uint64) Expected { return Expected{kind: expExact, rev: rev} }

// String describes the expectation.
func (e Expected) String() string {
	switch e.kind {
	case expNoStream:
		return "no stream"
	case expExact:
		return fmt.Sprintf("revision %d", e.rev)
	}
	return "any"
}

// Matches reports whether a stream whose last revision is head (NoStream
// when it does not exist) meets the expectation.
func (e Expected) Matches(head int64) bool {
	switch e.kind {
	case expNoStream:
		return head == NoStream
	case expExact:
		return head == int64(e.rev)
	}
	return true
}

// Int64 is the expected revision as the error types report it (NoStream,
// or an exact revision; Any reports NoStream too).
func (e Expected) Int64() int64 {
	switch e.kind {
	case expNoStream:
		return NoStream
	case expExact:
		return int64(e.rev)
	}
	return NoStream
}

// Proposed is an event a caller asks the ledger to append.
type Proposed struct {
	ID         uuid.UUID // zero: the ledger assigns a random one (no idempotency)
	Type       string
	OccurredOn string // YYYY-MM-DD or empty
	RecordedBy string
	Data       []byte // compact JSON
}

// Result is what an append acknowledges for one event.
type Result struct {
	ID         uuid.UUID
	Stream     string
	Revision   uint64
	Position   Position
	RecordedAt time.Time
	Hash       Hash
	// Duplicate is true when the event was already stored with the same
	// content: nothing was written and the fields are the first result.
	Duplicate bool
}

// ResultOf returns the acknowledgement of a stored event.
func ResultOf(e *Event, dup bool) Result {
	return Result{ID: e.ID, Stream: e.Stream, Revision: e.Revision, Position: e.Position,
		RecordedAt: e.RecordedAt, Hash: e.Hash, Duplicate: dup}
}

// Options configure a Ledger.
type Options struct {
	// Clock stamps recorded_at. Default time.Now. The ledger never lets
	// recorded_at go backwards: a clock that does is overridden by the last
	// stamp plus one microsecond.
	Clock func() time.Time
	// MaxRetries bounds retries of an Any append that lost a race with
	// another process (in-process appends to one stream are serialised and
	// never race). Default 16.
	MaxRetries int
}

// Ledger is the concrete event store users hold.
type Ledger struct {
	store Store
	clock func() time.Time
	tries int

	clockMu sync.Mutex
	last    time.Time

	// orderMu is held from an append's stamps until a Sequenced store has
	// queued it, so that positions follow recorded_at.
	orderMu sync.Mutex

	mu      sync.Mutex
	streams map[string]*streamState
}

type streamState struct {
	mu    sync.Mutex // held across an append to the stream
	known bool       // head/hash below are current
	head  int64
	hash  Hash
}

// New returns a Ledger over store. The Ledger does not own the store's
// lifetime beyond Close, which closes it.
func New(store Store, opts Options) *Ledger {
	if opts.Clock == nil {
		opts.Clock = time.Now
	}
	if opts.MaxRetries <= 0 {
		opts.MaxRetries = 16
	}
	return &Ledger{store: store, clock: opts.Clock, tries: opts.MaxRetries, streams: map[string]*streamState{}}
}

// Store returns the underlying store.
func (l *Ledger) Store() Store { return l.store }

// Close closes the store.
func (l *Ledger) Close() error { return l.store.Close() }

// Now returns the next recorded_at stamp: the clock's time truncated to
// microseconds, strictly after the previous stamp.
func (l *Ledger) Now() time.Time {
	l.clockMu.Lock()
	defer l.clockMu.Unlock()
	t := TruncateTime(l.clock())
	if !t.After(l.last) {
		t = l.last.Add(time.Microsecond)
	}
	l.last = t
	return t
}

// observe makes the clock never stamp before t (a stored recorded_at).
func (l *Ledger) observe(t time.Time) {
	l.clockMu.Lock()
	if t.After(l.last) {
		l.last = t
	}
	l.clockMu.Unlock()
}

func (l *Ledger) stream(name string) *streamState {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := l.streams[name]
	if s == nil {
		s = &streamState{}
		l.streams[name] = s
	}
	return s
}

// refresh loads the stream's head from the store. Caller holds s.mu.
func (l *Ledger) refresh(ctx context.Context, name string, s *streamState) error {
	last, err := l.store.LastEvent(ctx, name)
	switch {
	case errors.Is(err, ErrStreamNotFound):
		s.head, s.hash, s.known = NoStream, Hash{}, true
		return nil
	case err != nil:
		return fmt.Errorf("ledger: read head of %s: %w", name, err)
	}
	s.head, s.hash, s.known = int64(last.Revision), last.Hash, true
	l.observe(last.RecordedAt)
	return nil
}

// Head returns the revision of the stream's last event (NoStream when it
// has none).
func (l *Ledger) Head(ctx context.Context, stream string) (int64, error) {
	s := l.stream(stream)
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.known {
		if err := l.refresh(ctx, stream, s); err != nil {
			return 0, err
		}
	}
	return s.head, nil
}

func checkProposed(stream string, events []Proposed) error {
	switch {
	case stream == "" || len(stream) > MaxStreamNameLen:
		return fmt.Errorf("ledger: stream name must be 1..%d bytes", MaxStreamNameLen)
	case len(events) == 0:
		return errors.New("ledger: append of no events")
	case len(events) > MaxBatchEvents:
		return fmt.Errorf("ledger: append of %d events; at most %d in one batch", len(events), MaxBatchEvents)
	}
	seen := make(map[uuid.UUID]bool, len(events))
	for i, e := range events {
		switch {
		case e.Type == "" || len(e.Type) > MaxTypeLen:
			return fmt.Errorf("ledger: event %d: type must be 1..%d bytes", i, MaxTypeLen)
		case len(e.RecordedBy) > MaxRecordedByLen:
			return fmt.Errorf("ledger: event %d: recorded_by longer than %d bytes", i, MaxRecordedByLen)
		case len(e.Data) > MaxDataLen:
			return fmt.Errorf("ledger: event %d: data larger than %d bytes", i, MaxDataLen)
		case e.ID != uuid.Nil && seen[e.ID]:
			return fmt.Errorf("ledger: event %d: id %s appears twice in one append: %w", i, e.ID, ErrIDConflict)
		}
		seen[e.ID] = true
	}
	return nil
}

// SameContent reports whether a stored event is the one proposed: the
// same stream, type, occurred_on and data. recorded_by is not compared,
// so that another user re-running the same import is still idempotent.
func SameContent(stored *Event, stream string, p *Proposed) bool {
	return stored.Stream == stream && stored.Type == p.Type && stored.OccurredOn == p.OccurredOn &&
		bytes.Equal(stored.Data, p.Data)
}

// IDConflictError is the typed form of ErrIDConflict.
type IDConflictError struct {
	ID     uuid.UUID
	Stream string // where the id is stored
	Reason string
}

func (e *IDConflictError) Error() string {
	return fmt.Sprintf("ledger: event id %s reused with different content (stored in %s: %s)", e.ID, e.Stream, e.Reason)
}

// Unwrap lets errors.Is(err, ErrIDConflict) match.
func (e *IDConflictError) Unwrap() error { return ErrIDConflict }

// duplicates looks up the proposed ids. It returns the stored events when
// every proposed event is already stored with the same content, nil when
// none is stored, and an error otherwise.
func (l *Ledger) duplicates(ctx context.Context, stream string, events []Proposed) ([]Event, error) {
	var found []Event
	missing := 0
	for i := range events {
		p := &events[i]
		if p.ID == uuid.Nil {
			missing++
			continue
		}
		stored, err := l.LookupID(ctx, stream, p.ID)
		switch {
		case errors.Is(err, ErrEventNotFound):
			missing++
			continue
		case err != nil:
			return nil, fmt.Errorf("ledger: look up event id %s: %w", p.ID, err)
		}
		if !SameContent(&stored, stream, p) {
			return nil, &IDConflictError{ID: p.ID, Stream: stored.Stream, Reason: DescribeDiff(&stored, stream, p)}
		}
		found = append(found, stored)
	}
	switch {
	case len(found) == 0:
		return nil, nil
	case missing > 0:
		return nil, &IDConflictError{ID: found[0].ID, Stream: found[0].Stream,
			Reason: "the batch mixes events already recorded with new ones"}
	}
	return found, nil
}

func DescribeDiff(stored *Event, stream string, p *Proposed) string {
	switch {
	case stored.Stream != stream:
		return "another stream"
	case stored.Type != p.Type:
		return "type " + stored.Type
	case stored.OccurredOn != p.OccurredOn:
		return "occurred_on " + stored.OccurredOn
	}
	return "other data"
}

// Append appends events to stream atomically if the stream is at the
// expected revision, and returns once they are durable.
//
// Events whose ids are all stored already with the same content are not
// written again: Append returns their first results with Duplicate set.
// Errors: *WrongRevisionError, *IDConflictError, ErrReadOnly, ErrClosed,
// context errors, and I/O failures from the store.
func (l *Ledger) Append(ctx context.Context, stream string, expected Expected, events []Proposed) ([]Result, error) {
	if err := checkProposed(stream, events); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s := l.stream(stream)
	s.mu.Lock()
	defer s.mu.Unlock()
	for try := 0; ; try++ {
		if dups, err := l.duplicates(ctx, stream, events); err != nil {
			return nil, err
		} else if dups != nil {
			out := make([]Result, len(dups))
			for i := range dups {
				out[i] = ResultOf(&dups[i], true)
			}
			return out, nil
		}
		if !s.known {
			if err := l.refresh(ctx, stream, s); err != nil {
				return nil, err
			}
		}
		if !expected.Matches(s.head) {
			return nil, &WrongRevisionError{Stream: stream, Expected: expected.Int64(), Actual: s.head}
		}
		sealed, positions, err := l.sealAndAppend(ctx, stream, s, events)
		switch {
		case err == nil:
			return l.acknowledged(s, sealed, positions)
		case errors.Is(err, ErrWrongExpectedRevision), errors.Is(err, ErrDuplicateEventID):
			// Another process wrote to the stream, or stored one of the
			// ids in between: reload and decide again.
			s.known = false
			if try+1 >= l.tries {
				return nil, fmt.Errorf("ledger: append to %s: gave up after %d races: %w", stream, l.tries, err)
			}
			if errors.Is(err, ErrWrongExpectedRevision) && expected.kind != expAny {
				if rerr := l.refresh(ctx, stream, s); rerr != nil {
					return nil, rerr
				}
				if !expected.Matches(s.head) {
					return nil, &WrongRevisionError{Stream: stream, Expected: expected.Int64(), Actual: s.head}
				}
			}
			continue
		default:
			// The outcome is unknown (an I/O error may have come after the
			// write): forget the cached head so the next append rereads it.
			s.known = false
			return nil, err
		}
	}
}

// sealAndAppend seals events at the stream's head and appends them. With
// a Sequenced store the stamps are taken and the append queued under
// orderMu, so that the store's commit order is the stamps' order. Caller
// holds s.mu.
func (l *Ledger) sealAndAppend(ctx context.Context, stream string, s *streamState, events []Proposed) ([]Event, []Position, error) {
	sq, ok := l.store.(Sequenced)
	if !ok {
		sealed := l.seal(stream, s, events)
		positions, err := l.store.Append(ctx, stream, s.head, sealed)
		return sealed, positions, err
	}
	l.orderMu.Lock()
	locked := true
	unlock := func() {
		if locked {
			locked = false
			l.orderMu.Unlock()
		}
	}
	defer unlock() // a store that failed to call queued (or panicked)
	sealed := l.seal(stream, s, events)
	positions, err := sq.AppendQueued(ctx, stream, s.head, sealed, unlock)
	return sealed, positions, err
}

// acknowledged takes the positions a store gave appended events: it
// returns their results and moves the stream's head to the last of them
// (and the clock past their stamps). Caller holds s.mu.
func (l *Ledger) acknowledged(s *streamState, events []Event, positions []Position) ([]Result, error) {
	if len(positions) != len(events) {
		s.known = false
		return nil, fmt.Errorf("ledger: store acknowledged %d positions for %d events", len(positions), len(events))
	}
	out := make([]Result, len(events))
	for i := range events {
		events[i].Position = positions[i]
		out[i] = ResultOf(&events[i], false)
	}
	last := &events[len(events)-1]
	l.observe(last.RecordedAt)
	s.head, s.hash, s.known = int64(last.Revision), last.Hash, true
	return out, nil
}

// seal builds the envelopes of events at the stream's head. Caller holds s.mu.
func (l *Ledger) seal(stream string, s *streamState, events []Proposed) []Event {
	out := make([]Event, len(events))
	prev := s.hash
	rev := uint64(s.head + 1)
	for i, p := range events {
		id := p.ID
		if id == uuid.Nil {
			id = uuid.New()
		}
		e := Event{
			ID: id, Stream: stream, Type: p.Type, SchemaVersion: SchemaVersion,
			Revision: rev + uint64(i), OccurredOn: p.OccurredOn, RecordedAt: l.Now(),
			RecordedBy: p.RecordedBy, Data: p.Data, PrevHash: prev,
		}
		e.Hash = ComputeHash(&e)
		prev = e.Hash
		out[i] = e
	}
	return out
}

// ReadStream yields the events of stream from revision from on.
func (l *Ledger) ReadStream(ctx context.Context, stream string, from uint64) iter.Seq2[Event, error] {
	return l.store.ReadStream(ctx, stream, from)
}

// ReadAll yields every event after position from, in global order.
func (l *Ledger) ReadAll(ctx context.Context, from Position) iter.Seq2[Event, error] {
	return l.store.ReadAll(ctx, from)
}

// Subscribe yields every event after from, then each new one as it is
// committed, until ctx is done.
func (l *Ledger) Subscribe(ctx context.Context, from Position) iter.Seq2[Event, error] {
	return l.store.Subscribe(ctx, from)
}

// EventByID returns a stored event or ErrEventNotFound (ErrNoIDIndex from
// a store without an index of every id: use LookupID).
func (l *Ledger) EventByID(ctx context.Context, id uuid.UUID) (Event, error) {
	return l.store.EventByID(ctx, id)
}

// LastEvent returns the last event of a stream or ErrStreamNotFound.
func (l *Ledger) LastEvent(ctx context.Context, stream string) (Event, error) {
	return l.store.LastEvent(ctx, stream)
}

// PeekNow reads the clock without taking a stamp: the instant the next
// append would at least be stamped with (the domain checks judge "today"
// by it).
func (l *Ledger) PeekNow() time.Time {
	l.clockMu.Lock()
	defer l.clockMu.Unlock()
	t := TruncateTime(l.clock())
	if t.Before(l.last) {
		return l.last
	}
	return t
}

// Retries is how often a checked append is retried after another writer
// moved the stream (Options.MaxRetries).
func (l *Ledger) Retries() int { return l.tries }
