package ledger

import (
	"context"
	"errors"
	"iter"
	"strconv"
	"time"

	"github.com/google/uuid"
)

// Sentinel errors that callers branch on. Stores wrap them with %w; callers
// test with errors.Is.
var (
	// ErrWrongExpectedRevision reports that a stream's current revision did
	// not match the revision the append expected. Stores return a
	// *WrongRevisionError that wraps it.
	ErrWrongExpectedRevision = errors.New("ledger: wrong expected revision")
	// ErrStreamNotFound reports a read of a stream that holds no events.
	ErrStreamNotFound = errors.New("ledger: stream not found")
	// ErrEventNotFound reports a lookup of an event id the store does not hold.
	ErrEventNotFound = errors.New("ledger: event not found")
	// ErrDuplicateEventID reports an append carrying an event id that the
	// store already holds (in any stream).
	ErrDuplicateEventID = errors.New("ledger: duplicate event id")
	// ErrIDConflict reports an event id reused with different content.
	ErrIDConflict = errors.New("ledger: event id reused with different content")
	// ErrReadOnly reports a store that refuses writes until it is reopened,
	// after a failed write or sync.
	ErrReadOnly = errors.New("ledger: store refuses writes until reopened")
	// ErrCorrupt reports damaged stored data (bad checksum, broken hash chain).
	ErrCorrupt = errors.New("ledger: corrupt data")
	// ErrClosed reports use of a closed store or ledger.
	ErrClosed = errors.New("ledger: closed")
)

// WrongRevisionError is the typed form of ErrWrongExpectedRevision.
type WrongRevisionError struct {
	Stream   string
	Expected int64 // NoStream (-1) or the expected revision of the last event
	Actual   int64 // NoStream (-1) when the stream does not exist
}

func (e *WrongRevisionError) Error() string {
	return "ledger: wrong expected revision on " + e.Stream + ": expected " +
		revString(e.Expected) + ", actual " + revString(e.Actual)
}

// Unwrap lets errors.Is(err, ErrWrongExpectedRevision) match.
func (e *WrongRevisionError) Unwrap() error { return ErrWrongExpectedRevision }

// NoStream is the revision of a stream that holds no events. Revisions are
// 0-based: the first event of a stream has revision 0.
const NoStream int64 = -1

// Position is an event's place in the global order of a store. It is
// opaque and strictly increasing in commit order, but not necessarily
// contiguous (a server store may use byte offsets). Position 0 is "before
// the first event": ReadAll and Subscribe from 0 start at the beginning.
type Position uint64

// Hash is a SHA-256 digest in the per-stream hash chain.
type Hash [32]byte

// Event is the envelope of one stored event. Every field is set by the
// Ledger before the event reaches a Store, except Position, which the Store
// assigns.
type Event struct {
	ID            uuid.UUID
	Stream        string
	Type          string
	SchemaVersion int
	Revision      uint64 // 0-based position within Stream
	Position      Position
	OccurredOn    string    // YYYY-MM-DD, China Standard Time; may be empty for non-activity events
	RecordedAt    time.Time // set by the ledger's clock, UTC, microsecond precision
	RecordedBy    string
	Data          []byte // the payload: compact canonical JSON
	PrevHash      Hash   // zero for revision 0
	Hash          Hash   // SHA-256(PrevHash ‖ canonical envelope without hash)
}

// Store is the small interface every backend implements. Stores do no
// validation of payloads and compute no hashes; they persist sealed
// envelopes atomically, in order, durably, and read them back.
//
// Every method takes a context; iterators yield (event, nil) and end either
// normally or with exactly one (zero Event, non-nil error) pair. An iterator
// never turns an error into a normal end.
type Store interface {
	// Append appends events (all to stream, with consecutive revisions
	// starting at expected+1) atomically, after checking that the stream's
	// last revision is expected (NoStream when it must not exist). It
	// returns only once the events are durable, with one Position per event.
	// Errors: *WrongRevisionError (ErrWrongExpectedRevision),
	// ErrDuplicateEventID when any id is already stored, ErrReadOnly,
	// ErrClosed, or a wrapped I/O error (after which the store is read-only).
	Append(ctx context.Context, stream string, expected int64, events []Event) ([]Position, error)

	// ReadStream yields the events of stream with Revision >= from, in
	// revision order. A stream with no events yields ErrStreamNotFound.
	ReadStream(ctx context.Context, stream string, from uint64) iter.Seq2[Event, error]

	// LastEvent returns the last event of stream, or ErrStreamNotFound.
	LastEvent(ctx context.Context, stream string) (Event, error)

	// ReadAll yields every event with Position > from in global order and
	// ends when it reaches the events committed when it was called.
	ReadAll(ctx context.Context, from Position) iter.Seq2[Event, error]

	// Subscribe yields every event with Position > from in global order:
	// first the history, then each event as it is committed. It ends only
	// with an error: ctx.Err() when ctx is done, ErrClosed when the store
	// is closed, or a failure.
	Subscribe(ctx context.Context, from Position) iter.Seq2[Event, error]

	// EventByID returns the stored event with id, or ErrEventNotFound;
	// ErrNoIDIndex from a store that indexes ids per stream only (it then
	// implements StreamIDLookup).
	EventByID(ctx context.Context, id uuid.UUID) (Event, error)

	// Close releases the store. Appends in flight either complete or fail.
	Close() error
}

// Sequenced is a Store that commits appends in the order they were
// queued (the embedded store's group commit). AppendQueued is Append that
// calls queued exactly once: as soon as the append has its place in that
// order, or when it fails before taking one. The ledger stamps recorded_at
// and queues under one lock, releasing it in queued, so that recorded_at
// never goes backwards in position order however many writers append at
// once — what a restore of the ledger's own export requires. A store
// without it (EventStoreDB's server orders appends from many clients) keeps
// recorded_at in order within each stream only.
type Sequenced interface {
	AppendQueued(ctx context.Context, stream string, expected int64, events []Event, queued func()) ([]Position, error)
}

// Verifier is implemented by stores that can check their own storage
// (record checksums, framing) independently of the hash chains.
type Verifier interface {
	// VerifyStorage checks every stored record and returns nil or an error
	// wrapping ErrCorrupt that names the location of the first bad record.
	VerifyStorage(ctx context.Context) error
}

func revString(r int64) string {
	if r == NoStream {
		return "no stream"
	}
	return strconv.FormatInt(r, 10)
}
