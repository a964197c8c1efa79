package filestore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"partyledger/ledger"
)

var (
	_ ledger.Store    = (*Store)(nil)
	_ ledger.Verifier = (*Store)(nil)
)

// Errors of this package; ledger's sentinels cover everything else.
var (
	// ErrInvalidAppend reports an Append whose arguments break the Store
	// contract (revisions not expected+1…, stream mismatch, a limit
	// exceeded). Nothing is written.
	ErrInvalidAppend = errors.New("filestore: invalid append")
	// ErrLocked reports a data directory that another store has open.
	ErrLocked = errors.New("filestore: data directory is locked by another store")
	// ErrBadOptions reports Options that cannot work together.
	ErrBadOptions = errors.New("filestore: bad options")
)

// CorruptError names the place of damaged stored data. It wraps
// ledger.ErrCorrupt.
type CorruptError struct {
	Segment string // file name of the segment (or COMMIT, the commit mark), without directory
	Offset  int64  // byte offset of the bad frame (or header, or end) in the file
	Reason  string
}

func (e *CorruptError) Error() string {
	return fmt.Sprintf("filestore: corrupt data in %s at byte offset %d: %s", e.Segment, e.Offset, e.Reason)
}

// Unwrap lets errors.Is(err, ledger.ErrCorrupt) match.
func (e *CorruptError) Unwrap() error { return ledger.ErrCorrupt }

// Options tune a Store. The zero value of each field means its default;
// limits are exported so tests can shrink them.
type Options struct {
	// FS is the file system the store goes through. Default: OSFS.
	FS FS
	// SegmentSize is the size of a segment file. A segment is created
	// full of zeros (doc.go, "Files") — a store's first one at 1 MiB or
	// SegmentSize if smaller, each next one twice the previous one's size
	// up to SegmentSize — and sealed when the next frame would not fit in
	// it (a frame larger than a segment's space still gets a segment of
	// its own, which it extends). Default 64 MiB, at most 1 GiB.
	SegmentSize int64
	// MaxRecordSize bounds a frame body on write; one Append must fit in
	// it. Default 8 MiB, at most MaxFrameBytes.
	MaxRecordSize int
	// BatchBytes is where group commit stops adding appends to a frame;
	// the rest wait for the next sync. Default 512 KiB, at most
	// MaxRecordSize-16.
	BatchBytes int
	// MaxEventsPerAppend bounds the events of one Append. Default 10000.
	MaxEventsPerAppend int
	// MaxNameBytes bounds the stream name, type, occurred_on and
	// recorded_by of an event. Default 1024, at most 65535.
	MaxNameBytes int
	// QueueLength bounds the appends waiting for the committer; callers
	// beyond it block (or give up with their context). Default 4096.
	QueueLength int
	// ReadChunkSize is how much ReadAll and Subscribe read per call.
	// Default 1 MiB.
	ReadChunkSize int
	// Logger receives what the store reports without failing: an index
	// file rejected at Open, an index that could not be written. Default
	// slog.Default().
	Logger *slog.Logger
	// SyncObserver, when set, is called by the committer after each
	// commit's fdatasync of the active segment — one per group commit,
	// however many appends it carries — with how long the sync took: the
	// disk's share of an append's latency (the server's
	// partyledger_store_sync_duration_seconds). It runs on the commit
	// path, so it must be quick, and it must not call the store.
	SyncObserver func(time.Duration)
}

func (o Options) withDefaults() (Options, error) {
	if o.FS == nil {
		o.FS = OSFS{}
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	if o.SegmentSize == 0 {
		o.SegmentSize = 64 << 20
	}
	def(&o.MaxRecordSize, 8<<20)
	def(&o.BatchBytes, 512<<10)
	def(&o.MaxEventsPerAppend, 10000)
	def(&o.MaxNameBytes, 1024)
	def(&o.QueueLength, 4096)
	def(&o.ReadChunkSize, 1<<20)
	switch {
	case o.SegmentSize < segmentHeaderSize+frameHeaderSize || o.SegmentSize > 1<<30:
		return o, fmt.Errorf("%w: SegmentSize %d outside [%d, 1 GiB]", ErrBadOptions, o.SegmentSize, segmentHeaderSize+frameHeaderSize)
	case o.MaxRecordSize < frameBodyHeaderSize+entryHeaderSize+eventFixedSize || o.MaxRecordSize > MaxFrameBytes:
		return o, fmt.Errorf("%w: MaxRecordSize %d out of range", ErrBadOptions, o.MaxRecordSize)
	case o.BatchBytes < 1 || o.BatchBytes > o.MaxRecordSize-frameBodyHeaderSize:
		// A frame is its header plus at most BatchBytes of appends (or
		// one larger append), so it never exceeds MaxRecordSize.
		return o, fmt.Errorf("%w: BatchBytes %d outside [1, MaxRecordSize-%d]", ErrBadOptions, o.BatchBytes, frameBodyHeaderSize)
	case o.MaxEventsPerAppend < 1:
		return o, fmt.Errorf("%w: MaxEventsPerAppend %d", ErrBadOptions, o.MaxEventsPerAppend)
	case o.MaxNameBytes < 1 || o.MaxNameBytes > math.MaxUint16:
		return o, fmt.Errorf("%w: MaxNameBytes %d outside [1, 65535]", ErrBadOptions, o.MaxNameBytes)
	case o.QueueLength < 1:
		return o, fmt.Errorf("%w: QueueLength %d", ErrBadOptions, o.QueueLength)
	case o.ReadChunkSize < 4096:
		return o, fmt.Errorf("%w: ReadChunkSize %d below 4096", ErrBadOptions, o.ReadChunkSize)
	}
	return o, nil
}

// Store is the embedded append-only segment log. See the package
// documentation for its format and guarantees.
type Store struct {
	dir  string
	fs   FS
	opts Options
	lock io.Closer // nil when opened read-only

	// readOnly: opened by OpenReadOnly; nothing is written, no lock held.
	readOnly bool

	// The group commit's queue (group.go). qmu guards waiting, owner,
	// stopping and room.
	qmu      sync.Mutex
	waiting  []*appendReq  // appends queued for the next commit, in commit order
	owner    commitOwner   // who commits now: nobody, a writer itself, or the committer
	stopping bool          // Close has started: nothing more is queued
	room     chan struct{} // closed when waiting gets shorter than QueueLength; nil unless a writer waits for it
	wake     chan struct{} // capacity 1: the committer goroutine has work (or Close finished waiting for a writer)
	batch    []*appendReq  // the batch being committed; owner's only

	closing   chan struct{} // closed when Close starts
	done      chan struct{} // closed when the committer has stopped
	closeOnce sync.Once
	closeErr  error

	failed atomic.Pointer[error] // the write or sync failure that made the store read-only

	// filesMu keeps files open while a read is in progress: readers hold
	// it shared around each pread, Close holds it exclusively to close.
	filesMu     sync.RWMutex
	filesClosed bool
	maps        readMaps // the segments' read-only mappings (mmap.go)

	// mu guards the committed state below. Only the committer changes it,
	// so the committer reads it without locking. (Here and below, "the
	// committer" is whoever owns the commit, group.go: a writer committing
	// its own append or the committer goroutine, one at a time.)
	mu      sync.RWMutex
	segs    []*segment              // with the frame of each of their events
	head    uint64                  // last committed position; 0 when empty
	idTab   idTable                 // event id → position, for the events Open found
	ids     map[uuid.UUID]uint64    // event id → position, for the events appended since
	streams map[string]*streamState // stream → revision → position
	notify  chan struct{}           // closed and replaced at every commit
	closed  bool

	streamList []*streamState // streams by number: in order of their first event; guarded by mu

	// The commit mark: its file (nil until created) and the last mark
	// written or read. Used by Open, the committer and Close, one at a time.
	markMu sync.Mutex // held across a write or read of the mark file
	markF  File
	mark   Mark

	// scanBuf is the buffer Open reads segments through, kept from one
	// segment to the next.
	scanBuf []byte

	// Committer-only state (Close uses spareJob once the committer has
	// stopped).
	spareJob       *spareJob // the next segment's file being prepared, or nil
	buf            []byte
	pendingStreams map[string]int64
	pendingIDs     map[uuid.UUID]struct{}
	idCursor       frameCursor // for reading events whose id matches a fingerprint

	// Segment indexes (index.go): the active segment's, as it grows
	// (committer, then Close), and how far its file covers it.
	act        *segBuilder
	actIndexed indexCover
	sealed     chan sealedIndex // to the writer of sealed segments' indexes
	sealedDone chan struct{}

	opening        *openState     // during Open only
	indexMaps      []func()       // unmap the index files segment.offs point into; at Close
	pendingIndexes []pendingIndex // written at the end of Open
	openStats      OpenStats
	indexFailures  atomic.Int64
}

type segment struct {
	name    string // base name
	first   uint64
	version uint32 // format version of its header and frames
	f       File
	size    int64    // committed bytes: the end of the frames (the data end); guarded by Store.mu
	offs    []uint32 // position-first → offset of the frame holding it; guarded by Store.mu
	// fileSize is the size of the file: the data end and the free space
	// (zeros) after it. Written by Open and the committer (under Store.mu
	// once readers may map the segment); read by the committer, or under
	// Store.mu.
	fileSize int64
	// mm is the segment's read-only mapping (mmap.go).
	mm segMap
}

// loc is where the frame holding a position starts. uint32 offsets suffice
// because SegmentSize+MaxRecordSize stays below 4 GiB.
type loc struct {
	seg uint32
	off uint32
}

type streamState struct {
	positions []uint64 // revision → position; only ever appended to
	num       uint32   // the stream's number in the segment indexes
}

type appendReq struct {
	ctx      context.Context
	stream   string
	expected int64
	events   []ledger.Event
	size     int // encoded entry size
	done     chan appendResult

	// set by the committer
	positions []ledger.Position
	err       error
}

type appendResult struct {
	positions []ledger.Position
	err       error
}

// Open opens (creating if needed) the store in dir. It loads each
// segment's index file where it is valid and scans the frames it does not
// cover (all of a segment without one), checking every scanned frame; a
// torn final frame — one past the commit mark that a crash can have left
// so — is cut off (its bytes saved beside the segment), any other damage
// fails Open with a *CorruptError. It ends by writing the commit mark,
// then the index files of the segments it scanned.
func Open(dir string, opts Options) (*Store, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	s := newStore(dir, opts)
	if err := s.fs.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("filestore: open: create directory: %w", err)
	}
	lk, err := s.fs.Lock(filepath.Join(dir, lockName))
	if err != nil {
		return nil, fmt.Errorf("filestore: open %s: %w", dir, err)
	}
	s.lock = lk
	if err := s.recover(); err != nil {
		s.closeFiles()
		lk.Close()
		return nil, err
	}
	go s.run()
	return s, nil
}

// OpenReadOnly opens the store in dir for reading only, beside a writer
// that may hold it open (another process, or Open in this one). It takes
// no lock and writes nothing: no tail is cut, no commit mark written, no
// leftover removed. It reads every complete, valid frame; a bad frame at
// the end of the last segment past the commit mark, with nothing valid
// read after it, is ignored rather than judged — it may be an append in
// flight (Open, later, decides whether it is torn). Damage anywhere else is
// a *CorruptError, as for Open. The store sees the events committed when
// it was opened, no later ones (open again to see more); Append fails with
// ledger.ErrReadOnly; VerifyStorage checks the frames read but not the
// commit mark on disk (a writer may be rewriting it). A directory without
// a segment fails with an error wrapping fs.ErrNotExist.
func OpenReadOnly(dir string, opts Options) (*Store, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	s := newStore(dir, opts)
	s.readOnly = true
	if err := s.recoverReadOnly(); err != nil {
		s.closeFiles()
		return nil, err
	}
	go s.run()
	return s, nil
}

func newStore(dir string, opts Options) *Store {
	return &Store{
		dir:            dir,
		fs:             opts.FS,
		opts:           opts,
		wake:           make(chan struct{}, 1),
		closing:        make(chan struct{}),
		done:           make(chan struct{}),
		ids:            make(map[uuid.UUID]uint64),
		streams:        make(map[string]*streamState),
		notify:         make(chan struct{}),
		pendingStreams: make(map[string]int64),
		pendingIDs:     make(map[uuid.UUID]struct{}),
	}
}

func (s *Store) path(name string) string { return filepath.Join(s.dir, name) }

func (s *Store) closeFiles() {
	s.filesMu.Lock()
	defer s.filesMu.Unlock()
	if s.filesClosed {
		return
	}
	s.filesClosed = true
	s.releaseMaps()
	if s.opening != nil { // an Open that failed
		s.opening.release()
	}
	// Readers check closed, set before, under mu: none reads an offset now.
	for _, unmap := range s.indexMaps {
		unmap()
	}
	for _, sg := range s.segs {
		sg.f.Close()
	}
	if s.markF != nil {
		s.markF.Close()
	}
}

// Close stops accepting appends, lets the ones already queued complete or
// fail, records in the commit mark that everything committed is complete
// and writes the index of the last segment (unless a failed write made the
// store read-only), ends subscriptions with ledger.ErrClosed and releases
// the files.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		s.qmu.Lock()
		s.stopping = true
		s.qmu.Unlock()
		close(s.closing)
		<-s.done
		s.waitSealedIndexes()
		s.dropSpare()
		var markErr error
		if !s.readOnly && s.Err() == nil && s.markStale() {
			if err := s.writeMark(); err != nil {
				markErr = fmt.Errorf("filestore: close: %w", err)
			}
		}
		if !s.readOnly && s.Err() == nil && markErr == nil {
			s.closeIndex()
		}
		s.mu.Lock()
		s.closed = true
		s.mu.Unlock()
		s.closeFiles()
		var lockErr error
		if s.lock != nil {
			lockErr = s.lock.Close()
		}
		s.closeErr = errors.Join(markErr, lockErr)
	})
	return s.closeErr
}

// markStale reports whether the commit mark covers less than is committed.
// Only the committer's owner (Open, the committer, Close after it) calls it.
func (s *Store) markStale() bool {
	last := s.segs[len(s.segs)-1]
	return s.markF == nil || s.mark.Segment != last.first || s.mark.Length != last.size || s.mark.Head != s.head
}

// Dir returns the data directory.
func (s *Store) Dir() string { return s.dir }

// Head returns the position of the last committed event (0 when empty).
func (s *Store) Head() ledger.Position {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return ledger.Position(s.head)
}

// Err returns the write or sync failure that made the store read-only, or
// nil while it accepts writes.
func (s *Store) Err() error {
	if p := s.failed.Load(); p != nil {
		return *p
	}
	return nil
}

func (s *Store) readOnlyErr() error {
	if s.readOnly {
		return fmt.Errorf("filestore: append: %w (opened read-only)", ledger.ErrReadOnly)
	}
	if p := s.failed.Load(); p != nil {
		return fmt.Errorf("filestore: append: %w (after: %v)", ledger.ErrReadOnly, *p)
	}
	return nil
}

var errClosed = fmt.Errorf("filestore: %w", ledger.ErrClosed)

// Append implements ledger.Store. It returns once the events are durable
// (written and fdatasynced together with whatever else the committer
// gathered meanwhile). When ctx ends while the append is being written, Append
// returns ctx.Err() and the append may or may not have been committed.
func (s *Store) Append(ctx context.Context, stream string, expected int64, events []ledger.Event) ([]ledger.Position, error) {
	return s.AppendQueued(ctx, stream, expected, events, nil)
}

// The ledger stamps and queues appends to this store under one lock
// (positions follow recorded_at) only because it is a ledger.Sequenced.
var _ ledger.Sequenced = (*Store)(nil)

// AppendQueued is Append that calls queued (when not nil) exactly once:
// when the append is in the committer's queue, whose order is the commit
// order, or when it fails before (ledger.Sequenced).
func (s *Store) AppendQueued(ctx context.Context, stream string, expected int64, events []ledger.Event, queued func()) ([]ledger.Position, error) {
	if queued != nil {
		once := queued
		queued = func() {
			if once != nil {
				f := once
				once = nil
				f()
			}
		}
		defer queued()
	} else {
		queued = func() {}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	size, err := s.checkAppend(stream, expected, events)
	if err != nil {
		return nil, err
	}
	select {
	case <-s.closing:
		return nil, errClosed
	default:
	}
	if err := s.readOnlyErr(); err != nil {
		return nil, err
	}
	req := &appendReq{ctx: ctx, stream: stream, expected: expected, events: events, size: size, done: make(chan appendResult, 1)}
	inline, err := s.enqueue(ctx, req)
	if err != nil {
		return nil, err
	}
	queued()
	if inline {
		// The store was idle: this writer commits its append itself, with
		// no hand-over to the committer goroutine and back.
		s.commitInline(req)
	}
	var r appendResult
	if done := ctx.Done(); done == nil || inline {
		r = <-req.done // inline: answered already, whatever ctx says now
	} else {
		select {
		case r = <-req.done:
		case <-done:
			return nil, ctx.Err()
		}
	}
	return r.positions, r.err
}

// checkAppend enforces everything about an append that does not depend on
// the store's state, and returns the encoded entry size.
func (s *Store) checkAppend(stream string, expected int64, events []ledger.Event) (int, error) {
	bad := func(format string, args ...any) (int, error) {
		return 0, fmt.Errorf("%w: %s", ErrInvalidAppend, fmt.Sprintf(format, args...))
	}
	if stream == "" {
		return bad("empty stream name")
	}
	if len(stream) > s.opts.MaxNameBytes {
		return bad("stream name is %d bytes, limit %d", len(stream), s.opts.MaxNameBytes)
	}
	if expected < ledger.NoStream {
		return bad("expected revision %d (want NoStream or a revision)", expected)
	}
	if len(events) > s.opts.MaxEventsPerAppend {
		return bad("%d events, limit %d", len(events), s.opts.MaxEventsPerAppend)
	}
	// Small batches (the common case: one event) compare ids pairwise
	// instead of allocating a set.
	var seen map[uuid.UUID]struct{}
	if len(events) > 16 {
		seen = make(map[uuid.UUID]struct{}, len(events))
	}
	for i := range events {
		e := &events[i]
		if e.Stream != stream {
			return bad("event %d is for stream %q, appending to %q", i, e.Stream, stream)
		}
		// That the first revision is expected+1 is checked by the
		// committer after the expected revision itself, so that a stale
		// writer gets a *WrongRevisionError rather than this.
		if i > 0 && e.Revision != events[0].Revision+uint64(i) {
			return bad("event %d has revision %d, want %d (revisions must be consecutive)", i, e.Revision, events[0].Revision+uint64(i))
		}
		if e.SchemaVersion < 0 || e.SchemaVersion > math.MaxInt32 {
			return bad("event %d: schema version %d out of range", i, e.SchemaVersion)
		}
		// The hash chain covers recorded_at to the microsecond; finer
		// digits would be stored but unprotected, so none are accepted.
		if e.RecordedAt.Nanosecond()%1000 != 0 {
			return bad("event %d: recorded_at %s is finer than a microsecond", i, e.RecordedAt.Format(time.RFC3339Nano))
		}
		for _, f := range [...]struct{ name, v string }{{"type", e.Type}, {"occurred_on", e.OccurredOn}, {"recorded_by", e.RecordedBy}} {
			if len(f.v) > s.opts.MaxNameBytes {
				return bad("event %d: %s is %d bytes, limit %d", i, f.name, len(f.v), s.opts.MaxNameBytes)
			}
		}
		dup := false
		if seen != nil {
			_, dup = seen[e.ID]
			seen[e.ID] = struct{}{}
		} else {
			for j := range i {
				dup = dup || events[j].ID == e.ID
			}
		}
		if dup {
			return 0, fmt.Errorf("filestore: append: event %d: id %s appears twice in the batch: %w", i, e.ID, ledger.ErrDuplicateEventID)
		}
	}
	size := entrySize(stream, events)
	if size > s.opts.MaxRecordSize-frameBodyHeaderSize {
		return bad("append encodes to %d bytes, limit %d", size, s.opts.MaxRecordSize-frameBodyHeaderSize)
	}
	return size, nil
}

func reply(r *appendReq, positions []ledger.Position, err error) {
	r.done <- appendResult{positions: positions, err: err}
}

// lastRevision returns a stream's last revision counting the appends
// accepted earlier in the batch being built.
func (s *Store) lastRevision(stream string) int64 {
	if r, ok := s.pendingStreams[stream]; ok {
		return r
	}
	if st := s.streams[stream]; st != nil {
		return int64(len(st.positions)) - 1
	}
	return ledger.NoStream
}

// commit builds one frame from batch, writes and syncs it, and only then
// publishes it to readers and answers the callers. Appends rejected because
// of the store's state (wrong revision, duplicate id) are answered after the
// sync too, since their answer depends on appends in the same batch.
func (s *Store) commit(batch []*appendReq) {
	if err := s.readOnlyErr(); err != nil {
		for _, r := range batch {
			reply(r, nil, err)
		}
		return
	}
	clear(s.pendingStreams)
	clear(s.pendingIDs)
	next := s.head + 1
	s.buf = beginFrame(s.buf[:0])
	var entries uint32
	waiting := batch[:0:0]
	var accepted []*appendReq
	for _, r := range batch {
		if err := r.ctx.Err(); err != nil {
			reply(r, nil, err) // never written
			continue
		}
		waiting = append(waiting, r)
		r.err, r.positions = nil, nil
		if cur := s.lastRevision(r.stream); cur != r.expected {
			r.err = &ledger.WrongRevisionError{Stream: r.stream, Expected: r.expected, Actual: cur}
			continue
		}
		if len(r.events) > 0 && r.events[0].Revision != uint64(r.expected+1) {
			r.err = fmt.Errorf("%w: first event has revision %d, want %d (expected revision %d + 1)", ErrInvalidAppend, r.events[0].Revision, r.expected+1, r.expected)
			continue
		}
		for _, e := range r.events {
			_, pending := s.pendingIDs[e.ID]
			stored, err := s.idStored(e.ID, &s.idCursor)
			if err != nil {
				r.err = fmt.Errorf("filestore: append: check id %s: %w", e.ID, err)
				break
			}
			if pending || stored {
				r.err = fmt.Errorf("filestore: append: id %s: %w", e.ID, ledger.ErrDuplicateEventID)
				break
			}
		}
		if r.err != nil || len(r.events) == 0 {
			continue
		}
		for _, e := range r.events {
			s.pendingIDs[e.ID] = struct{}{}
		}
		s.pendingStreams[r.stream] = r.expected + int64(len(r.events))
		r.positions = make([]ledger.Position, len(r.events))
		for i := range r.events {
			r.positions[i] = ledger.Position(next)
			next++
		}
		accepted = append(accepted, r)
		s.buf = appendEntry(s.buf, r.stream, r.events)
		entries++
	}
	if entries > 0 {
		if err := s.writeFrame(entries, accepted); err != nil {
			s.fail(err)
			err = fmt.Errorf("filestore: append: %w", err)
			for _, r := range waiting {
				reply(r, nil, err)
			}
			return
		}
	}
	for _, r := range waiting {
		if r.err != nil {
			reply(r, nil, r.err)
		} else {
			reply(r, r.positions, nil)
		}
	}
}

// fail makes the store read-only. A failed write or fsync is never retried:
// after a failed fsync the kernel may have dropped the dirty pages and
// reported the error once, so only a reopen (which rereads the file) can
// tell what is durable.
func (s *Store) fail(err error) {
	s.failed.CompareAndSwap(nil, &err)
}

// writeFrame writes the frame in s.buf to the active segment (rolling over
// first if it would not fit), syncs it and publishes the accepted appends.
func (s *Store) writeFrame(entries uint32, accepted []*appendReq) error {
	first := s.head + 1
	if body := len(s.buf) - frameHeaderSize; body > s.opts.MaxRecordSize {
		// Assert before writing: Append and the batching bound this.
		return fmt.Errorf("internal error: frame body of %d bytes exceeds MaxRecordSize %d", body, s.opts.MaxRecordSize)
	}
	s.buf = finishFrame(s.buf, 0, entries, first)
	seg := s.segs[len(s.segs)-1]
	if seg.size > segmentHeaderSize && seg.size+int64(len(s.buf)) > seg.fileSize {
		// The frame does not fit in the active segment's free space.
		// The active segment was synced by the previous commit, so it is
		// complete before the next one exists.
		ns, err := s.rollOver(seg, first)
		if err != nil {
			return fmt.Errorf("roll over: %w", err)
		}
		s.mu.Lock()
		s.segs = append(s.segs, ns)
		s.mu.Unlock()
		seg = ns
		// The sealed segment is complete and the new one exists: say so
		// durably, so that neither can be lost without Open noticing.
		if err := s.writeMark(); err != nil {
			return fmt.Errorf("roll over: %w", err)
		}
		s.sealIndex(s.segs[len(s.segs)-2])
	}
	s.maybePrepareSpare(seg)
	off := seg.size
	if _, err := seg.f.WriteAt(s.buf, off); err != nil {
		return fmt.Errorf("write %s at %d: %w", seg.name, off, err)
	}
	// A frame larger than the segment's space (the segment's first)
	// extends the file. Readers read fileSize under s.mu (mapSegment), so
	// it changes only under it.
	if end := off + int64(len(s.buf)); end > seg.fileSize {
		s.mu.Lock()
		seg.fileSize = end
		s.mu.Unlock()
	}
	synced := time.Now()
	if err := syncFile(syncFrame, seg.f); err != nil {
		return fmt.Errorf("sync %s: %w", seg.name, err)
	}
	if s.opts.SyncObserver != nil {
		s.opts.SyncObserver(time.Since(synced))
	}
	s.publish(accepted, uint32(len(s.segs)-1), off, int64(len(s.buf)))
	return nil
}

// publish adds the accepted appends of the current batch to the indexes
// and wakes subscribers.
func (s *Store) publish(accepted []*appendReq, segIdx uint32, off int64, n int64) {
	sg := s.segs[segIdx]
	b := s.activeBuilder()
	s.mu.Lock()
	for _, r := range accepted {
		st := s.streams[r.stream]
		if st == nil {
			st = &streamState{num: uint32(len(s.streamList))}
			s.streams[r.stream] = st
			s.streamList = append(s.streamList, st)
			b.addStream(r.stream)
		}
		for i := range r.events {
			p := uint64(r.positions[i])
			st.positions = append(st.positions, p)
			s.ids[r.events[i].ID] = p
			sg.offs = append(sg.offs, uint32(off))
			b.add(r.events[i].ID, p, st.num)
			s.head = p
		}
	}
	s.segs[segIdx].size = off + n
	close(s.notify)
	s.notify = make(chan struct{})
	s.mu.Unlock()
}
