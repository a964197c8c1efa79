// Package esdb is the ledger.Store of partyledger on an EventStoreDB or
// KurrentDB server (or cluster), over the official gRPC client
// github.com/EventStore/EventStore-Client-Go/v4.
//
// How the ledger maps onto the server:
//
//   - Streams: a ledger stream is the server stream of the same name —
//     org-<uuid>, committee-<uuid>, rulebook-<year>, and auth-… (the API's
//     tokens, hash-chained like the rest) — prefixed with
//     Options.Namespace when one is set. Names outside those prefixes are
//     refused (ErrForeignStream): $all reads and subscriptions are filtered
//     to them, so events elsewhere would be invisible to the ledger.
//   - Events: the ledger's event id is the server's event id, so the
//     server's own idempotency applies; the type is the server's event type;
//     the payload is the event data verbatim, as application/json; the other
//     envelope fields (occurred_on, recorded_at, recorded_by, prev_hash,
//     hash, schema_version) are the event metadata, a JSON object, so other
//     tools can read both.
//   - Revisions are the server's stream revisions (both 0-based). Every
//     append sends an explicit expected revision — NoStream{} or
//     StreamRevision{} — never the client's default Any{}.
//   - Positions are $all commit positions. Every write made through gRPC
//     is a single implicit transaction whose events each have commit
//     position == prepare position == their own log position: unique per
//     event and strictly increasing in commit order. Positions are not
//     contiguous (they are byte offsets). Servers since 22.6 also report
//     them on stream reads; for older servers the Store takes them from its
//     id index (below).
//   - Event ids: the server cannot look an event up by id. The Store keeps
//     an in-memory index from event id to $all position, loaded by Open from
//     a full read of $all and brought up to date by a read from its last
//     position before every use (EventByID, the duplicate check of Append),
//     so it also sees what other processes wrote. It costs one small $all
//     read per use and about 50 bytes of memory per ledger event (50 MB per
//     million events); Open reads all of $all once. Beyond some tens of
//     millions of events, use IDsPerStream.
//   - Event ids at national scale (Options.IDs = IDsPerStream): no global
//     index, and Open reads nothing of $all. An append checks its ids
//     against the target stream — which the organisation code names —
//     read once and then from where it was last read, cached per stream
//     (Options.StreamIDsMax ids, least recently used dropped first).
//     EventInStream answers for an id and its stream; EventByID, which
//     has no stream, returns ledger.ErrNoIDIndex, and ledger.Ledger's
//     LookupID asks EventInStream instead. What it cannot do: refuse an
//     id already stored in another stream (the append stores it again
//     there), or find an event by id alone (an API route that takes only
//     an id must also take the organisation). The server must report $all
//     positions on stream reads (22.6 or later).
//
// Appends check ids themselves (ErrDuplicateEventID) rather than rely on
// the server's deduplication, which is best-effort (a cache) and answers a
// re-sent append with success while writing nothing: the Store detects
// that too, from the revision the server reports and a read-back of the
// written events, which also yields each event's position.
//
// ReadAll reads $all unfiltered and keeps the ledger's streams on the
// client: version 4.2.0 of the client sends no filter on reads, only on
// subscriptions. Subscribe is a catch-up subscription to $all with a
// server-side prefix filter; when the server drops it, the Store
// resubscribes from the last position it delivered, so the consumer sees
// every event once, in order. The consumer's own checkpoint is the
// position of the last event it processed, passed to Subscribe on restart.
//
// Errors are translated where the client returns them, with errors.As on
// *esdb.Error (the client's FromError reports ok only for a nil error):
// end of stream, stream not found (reported on the first Recv), wrong
// expected version and connection failure (ErrUnavailable) are told apart.
//
// Tests run the ledger's conformance suite (ledger/ledgertest) against the
// Store on the wire-protocol test double in ledger/esdb/esdbtest on every
// go test, and against a real server when KURRENTDB_URL is set, e.g. a
// single insecure node started with
//
//	docker run --rm -p 2113:2113 kurrentplatform/kurrentdb:latest --insecure
//	KURRENTDB_URL='esdb://127.0.0.1:2113?tls=false' go test ./ledger/esdb/
//
// (each test store then lives in a namespace of its own).
package esdb

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	client "github.com/EventStore/EventStore-Client-Go/v4/esdb"

	"partyledger/ledger"
)

var _ ledger.Store = (*Store)(nil)

// Errors of this package, besides the ledger's sentinels.
var (
	// ErrUnavailable reports that the server could not be reached or the
	// connection failed during a call; the outcome of an append that fails
	// with it is unknown.
	ErrUnavailable = errors.New("esdb: server unavailable")
	// ErrForeignStream reports a stream name outside the ledger's prefixes.
	ErrForeignStream = errors.New("esdb: stream is not a ledger stream (org-, committee-, rulebook-, auth-)")
)

// StreamPrefixes are the prefixes of the ledger's stream names: the books'
// (org-, committee-, rulebook-) and the API tokens' (auth-), as
// ledger/books lists them.
var StreamPrefixes = []string{"org-", "committee-", "rulebook-", "auth-"}

// Defaults of Options.
const (
	DefaultMaxAppendSize  = 1 << 20 // the server's default MaxAppendSize
	DefaultPageSize       = 1000
	DefaultReconnectMax   = 30
	DefaultReconnectDelay = 50 * time.Millisecond
	maxReconnectDelay     = 2 * time.Second
	maxNamespaceLen       = 100
)

// Options configure a Store. The zero value is ready to use.
type Options struct {
	// Namespace prefixes every server stream name, so that several ledgers
	// (or test runs) can share one database. It must not start with '$'.
	Namespace string
	// Log receives the client library's log lines. Default: discarded
	// (the client's own default prints to standard output).
	Log func(format string, args ...any)
	// MaxAppendSize is the server's limit on the bytes (data plus metadata)
	// of one append; larger appends are refused before anything is sent.
	MaxAppendSize int
	// PageSize is the number of events asked for by each $all read.
	// At least 2.
	PageSize int
	// ReconnectMax bounds the consecutive failed attempts to restore a
	// dropped subscription before Subscribe ends with the error.
	ReconnectMax int
	// ReconnectDelay is the wait before the first attempt to restore a
	// dropped subscription, doubled on each further failure up to 2 s.
	ReconnectDelay time.Duration
	// IDs is where the Store looks for an event id: IDsGlobal (an index
	// of every id, loaded from all of $all at Open) or IDsPerStream (the
	// target stream only; Open reads nothing of $all).
	IDs IDScope
	// StreamIDsMax bounds the ids IDsPerStream keeps cached, about 50
	// bytes each. Default DefaultStreamIDsMax.
	StreamIDsMax int
}

func (o *Options) setDefaults() error {
	if o.MaxAppendSize <= 0 {
		o.MaxAppendSize = DefaultMaxAppendSize
	}
	if o.PageSize == 0 {
		o.PageSize = DefaultPageSize
	}
	if o.ReconnectMax <= 0 {
		o.ReconnectMax = DefaultReconnectMax
	}
	if o.ReconnectDelay <= 0 {
		o.ReconnectDelay = DefaultReconnectDelay
	}
	if o.StreamIDsMax <= 0 {
		o.StreamIDsMax = DefaultStreamIDsMax
	}
	switch {
	case o.IDs != IDsGlobal && o.IDs != IDsPerStream:
		return fmt.Errorf("esdb: id scope %v: want IDsGlobal or IDsPerStream", o.IDs)
	case o.PageSize < 2:
		return fmt.Errorf("esdb: page size %d: want at least 2", o.PageSize)
	case strings.HasPrefix(o.Namespace, "$"):
		return fmt.Errorf("esdb: namespace %q: must not start with '$' (system streams)", o.Namespace)
	case len(o.Namespace) > maxNamespaceLen:
		return fmt.Errorf("esdb: namespace longer than %d bytes", maxNamespaceLen)
	}
	return nil
}

// Store is a ledger.Store on an EventStoreDB/KurrentDB server. It is safe
// for concurrent use.
type Store struct {
	conf     client.Configuration // to replace a client that gave up connecting
	opts     Options
	prefixes []string // StreamPrefixes with the namespace

	// gate is held shared around every client call that may use the
	// client's connection state machine, and exclusively to close or
	// replace the client: the client panics on a call after its Close.
	gate   sync.RWMutex
	client *client.Client

	closed atomic.Bool
	ctx    context.Context // done when the Store is closed
	cancel context.CancelFunc

	idx  index      // IDsGlobal
	sids *streamIDs // IDsPerStream; nil otherwise

	// beforeAppend, when set by a test, runs between the duplicate check
	// of an append and its call to the server: the window in which another
	// process may store the same ids.
	beforeAppend func()
}

// Open connects to the server at url (esdb://host:2113?tls=false, or any
// connection string the client accepts) and, with IDsGlobal, loads the id
// index from $all; with IDsPerStream it reads one missing stream instead.
// The error wraps ErrUnavailable when the server cannot be reached.
//
// Connecting does not follow ctx: the client tries maxDiscoverAttempts
// times (10 by default, about a second when the connection is refused,
// longer when packets are dropped) before it gives up.
func Open(ctx context.Context, url string, opts Options) (*Store, error) {
	if err := opts.setDefaults(); err != nil {
		return nil, err
	}
	conf, err := client.ParseConnectionString(url)
	if err != nil {
		return nil, fmt.Errorf("esdb: connection string: %w", err)
	}
	logf := opts.Log
	conf.Logger = func(level client.LogLevel, format string, args ...any) {
		if logf != nil {
			logf("esdb client: "+level+": "+format, args...)
		}
	}
	c, err := client.NewClient(conf)
	if err != nil {
		return nil, fmt.Errorf("esdb: client: %w", err)
	}
	s := &Store{conf: *conf, opts: opts, client: c, idx: newIndex()}
	for _, p := range StreamPrefixes {
		s.prefixes = append(s.prefixes, opts.Namespace+p)
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	load := s.catchUp
	if opts.IDs == IDsPerStream {
		s.sids = newStreamIDs(opts.StreamIDsMax)
		load = s.probe
	}
	if err := load(ctx); err != nil {
		_ = s.Close()
		return nil, fmt.Errorf("esdb: open %s: %w", conf.Address, err)
	}
	return s, nil
}

// probe makes one small read, to learn that the server answers.
func (s *Store) probe(ctx context.Context) error {
	_, err := s.LastEvent(ctx, probeStream)
	if errors.Is(err, ledger.ErrStreamNotFound) {
		return nil
	}
	return err
}

// Close cancels every call in flight, ends subscriptions with
// ledger.ErrClosed and closes the connection. An append in flight either
// returns its result or fails with ledger.ErrClosed, its outcome on the
// server unknown. Close is idempotent.
func (s *Store) Close() error {
	if !s.closed.CompareAndSwap(false, true) {
		return nil
	}
	s.cancel() // first: calls outside the gate then fail as cancelled
	s.gate.Lock()
	defer s.gate.Unlock()
	return s.client.Close()
}

// use runs f with the current client, with Close held off until f returns.
// f must not block beyond its context, which Close cancels.
func (s *Store) use(f func(c *client.Client) error) error {
	s.gate.RLock()
	if s.closed.Load() {
		s.gate.RUnlock()
		return ledger.ErrClosed
	}
	c := s.client
	err := f(c)
	s.gate.RUnlock()
	var ce *client.Error
	if errors.As(err, &ce) && ce.Code() == client.ErrorCodeConnectionClosed {
		s.renew(c)
	}
	return err
}

// renew replaces a client that gave up: after a failed discovery the
// client closes itself for good and answers every later call with
// ErrorCodeConnectionClosed. Its connection goroutine has exited, so the
// dead client is dropped, not closed (closing it could make a concurrent
// error report of the client panic).
func (s *Store) renew(dead *client.Client) {
	s.gate.Lock()
	defer s.gate.Unlock()
	if s.closed.Load() || s.client != dead {
		return
	}
	fresh, err := client.NewClient(&s.conf)
	if err != nil {
		return // the configuration was valid at Open; nothing better to do
	}
	s.client = fresh
}

// opContext returns a context for one operation: done when ctx is, or when
// the Store is closed.
func (s *Store) opContext(ctx context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(s.ctx, cancel)
	return ctx, func() { stop(); cancel() }
}

// check reports a closed Store or a done context before any work.
func (s *Store) check(ctx context.Context) error {
	if s.closed.Load() {
		return ledger.ErrClosed
	}
	return ctx.Err()
}
