package filestore

import (
	"context"
	"fmt"
	"iter"
	"runtime/debug"
	"time"

	"github.com/google/uuid"

	"partyledger/ledger"
)

// ctxCheckEvery is how many events an iterator yields between looks at its
// context; a look costs little, but not nothing at millions of events a
// second.
const ctxCheckEvery = 256

// pread reads exactly len(p) bytes at off of sg, keeping the file open for
// the duration (Close waits for it).
func (s *Store) pread(sg *segment, p []byte, off int64) error {
	s.filesMu.RLock()
	defer s.filesMu.RUnlock()
	if s.filesClosed {
		return errClosed
	}
	if _, err := sg.f.ReadAt(p, off); err != nil {
		return fmt.Errorf("filestore: read %s at %d: %w", sg.name, off, err)
	}
	return nil
}

// segAt returns segment idx and its committed size.
func (s *Store) segAt(idx uint32) (*segment, int64, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return nil, 0, errClosed
	}
	sg := s.segs[idx]
	return sg, sg.size, nil
}

// readAheadBytes is how much a stream read reads past the frame it
// needs when it reads with pread: a stream's events are usually
// interleaved with other streams' in nearby frames, so one pread serves
// many of them. Exported to tests through export_test.go.
var readAheadBytes int64 = 32 << 10

// readFrame reads and checks the frame at off of segment idx and returns
// its body, and whether the body lies in the segment's mapping (the caller
// is pinned; bytes from a mapping must be copied before they leave it).
// Read with pread, with a cursor, the body may be a slice of the cursor's
// read-ahead window; windows are never reused, so a body stays valid.
func (s *Store) readFrame(idx uint32, off int64, c *frameCursor) (body []byte, mapped bool, err error) {
	sg, end, err := s.segAt(idx)
	if err != nil {
		return nil, false, err
	}
	if end-off < frameHeaderSize {
		return nil, false, &CorruptError{Segment: sg.name, Offset: off, Reason: "indexed frame lies past the committed end"}
	}
	if m := s.mapped(sg, end); m != nil {
		n, _, ok := frameLen(m[off:])
		total := int64(frameSize(sg.version, n))
		if !ok || off+total > end {
			return nil, false, &CorruptError{Segment: sg.name, Offset: off, Reason: fmt.Sprintf("frame length %d out of range", n)}
		}
		body, err := checkMapped(sg, m, off, n, total)
		return body, true, err
	}
	var buf []byte
	bufOff := off
	switch {
	case c != nil && c.win != nil && c.winSeg == idx && off >= c.winOff && off+frameHeaderSize <= c.winOff+int64(len(c.win)):
		buf, bufOff = c.win, c.winOff
	case c != nil && c.readAhead:
		buf = make([]byte, min(max(readAheadBytes, frameHeaderSize), end-off))
		if err := s.pread(sg, buf, off); err != nil {
			return nil, false, err
		}
		c.win, c.winSeg, c.winOff = buf, idx, off
	default:
		buf = make([]byte, min(4096, end-off))
		if err := s.pread(sg, buf, off); err != nil {
			return nil, false, err
		}
	}
	at := off - bufOff
	n, _, ok := frameLen(buf[at:])
	total := int64(frameSize(sg.version, n))
	if !ok || off+total > end {
		return nil, false, &CorruptError{Segment: sg.name, Offset: off, Reason: fmt.Sprintf("frame length %d out of range", n)}
	}
	var frame []byte
	if at+total <= int64(len(buf)) {
		frame = buf[at : at+total : at+total]
	} else {
		// The frame runs past what was read: read it whole, on its own.
		frame = make([]byte, total)
		have := copy(frame, buf[at:])
		if err := s.pread(sg, frame[have:], off+int64(have)); err != nil {
			return nil, false, err
		}
	}
	body, bad := checkFrame(sg.version, frame)
	if bad != "" {
		return nil, false, &CorruptError{Segment: sg.name, Offset: off, Reason: bad}
	}
	return body, false, nil
}

// checkMapped checks the frame of body length n and total bytes at off of
// sg's mapping m, unless a read already checked it (see segMap.verified),
// and returns its body.
func checkMapped(sg *segment, m []byte, off int64, n int, total int64) ([]byte, error) {
	frame := m[off : off+total : off+total]
	if off+total <= sg.mm.verified.Load() {
		return frame[frameHeaderSize : frameHeaderSize+n : frameHeaderSize+n], nil
	}
	body, bad := checkFrame(sg.version, frame)
	if bad != "" {
		return nil, &CorruptError{Segment: sg.name, Offset: off, Reason: bad}
	}
	sg.mm.verified.CompareAndSwap(off, off+total)
	return body, nil
}

// frameCursor remembers the last frame a point reader decoded, so that
// reading consecutive revisions of a stream appended in one batch reads the
// frame once.
type frameCursor struct {
	valid  bool
	l      loc
	dec    frameDecoder
	in     interner
	mapped bool  // dec's body lies in a mapping: copy payloads out
	arena  arena // where they are copied to

	// readAhead: a stream read, which reads a window past each frame
	// with pread; point reads (EventByID, LastEvent) read only the frame.
	readAhead bool
	// The read-ahead window: bytes of segment winSeg from winOff.
	win    []byte
	winSeg uint32
	winOff int64
}

// eventAt reads the event at committed position p. The caller is pinned
// (a cursor's frame may lie in a mapping) and guards against faults.
func (s *Store) eventAt(p uint64, c *frameCursor) (ledger.Event, error) {
	s.mu.RLock()
	if s.closed {
		s.mu.RUnlock()
		return ledger.Event{}, errClosed
	}
	if p == 0 || p > s.head {
		s.mu.RUnlock()
		return ledger.Event{}, fmt.Errorf("filestore: position %d beyond head: %w", p, ledger.ErrEventNotFound)
	}
	l := s.locAt(p)
	name := s.segs[l.seg].name
	s.mu.RUnlock()
	corrupt := func(reason string) error {
		c.valid = false
		return &CorruptError{Segment: name, Offset: int64(l.off), Reason: reason}
	}
	if !c.valid || c.l != l || c.dec.next > p {
		body, mapped, err := s.readFrame(l.seg, int64(l.off), c)
		if err != nil {
			c.valid = false
			return ledger.Event{}, err
		}
		if err := c.dec.init(body); err != nil {
			return ledger.Event{}, corrupt(err.Error())
		}
		c.valid, c.l, c.mapped = true, l, mapped
	}
	var ev rawEvent
	for {
		ok, err := c.dec.nextEvent(&ev)
		if err != nil {
			return ledger.Event{}, corrupt(err.Error())
		}
		if !ok || ev.position > p {
			return ledger.Event{}, corrupt(fmt.Sprintf("position %d is not in the frame indexed for it", p))
		}
		if ev.position == p {
			if c.mapped {
				ev.data = c.arena.copy(ev.data)
			}
			return ev.toEvent(&c.in), nil
		}
	}
}

// pointRead reads the event at p with a cursor of its own, pinned.
func (s *Store) pointRead(p uint64) (ev ledger.Event, err error) {
	if !s.pin() {
		return ledger.Event{}, errClosed
	}
	defer s.unpin()
	defer s.faultGuard(debug.SetPanicOnFault(true), &err)
	var c frameCursor
	return s.eventAt(p, &c)
}

// EventByID implements ledger.Store.
func (s *Store) EventByID(ctx context.Context, id uuid.UUID) (ev ledger.Event, err error) {
	if err := ctx.Err(); err != nil {
		return ledger.Event{}, err
	}
	if !s.pin() {
		return ledger.Event{}, errClosed
	}
	defer s.unpin()
	defer s.faultGuard(debug.SetPanicOnFault(true), &err)
	return s.eventByID(id)
}

// LastEvent implements ledger.Store.
func (s *Store) LastEvent(ctx context.Context, stream string) (ledger.Event, error) {
	if err := ctx.Err(); err != nil {
		return ledger.Event{}, err
	}
	s.mu.RLock()
	st := s.streams[stream]
	closed := s.closed
	var p uint64
	if st != nil {
		p = st.positions[len(st.positions)-1]
	}
	s.mu.RUnlock()
	if closed {
		return ledger.Event{}, errClosed
	}
	if st == nil {
		return ledger.Event{}, fmt.Errorf("filestore: stream %q: %w", stream, ledger.ErrStreamNotFound)
	}
	return s.pointRead(p)
}

// ReadStream implements ledger.Store. It reads the stream as it is when the
// iteration starts.
func (s *Store) ReadStream(ctx context.Context, stream string, from uint64) iter.Seq2[ledger.Event, error] {
	return func(yield func(ledger.Event, error) bool) {
		if err := ctx.Err(); err != nil {
			yield(ledger.Event{}, err)
			return
		}
		s.mu.RLock()
		st := s.streams[stream]
		closed := s.closed
		var positions []uint64
		if st != nil {
			positions = st.positions // a snapshot: only ever appended to
		}
		s.mu.RUnlock()
		if closed {
			yield(ledger.Event{}, errClosed)
			return
		}
		if st == nil {
			yield(ledger.Event{}, fmt.Errorf("filestore: stream %q: %w", stream, ledger.ErrStreamNotFound))
			return
		}
		if from >= uint64(len(positions)) {
			return
		}
		if err := s.readPositions(ctx, positions[from:], yield); err != nil {
			yield(ledger.Event{}, err)
		}
	}
}

// readPositions yields the events at positions, pinned throughout. An
// error is returned, not yielded.
func (s *Store) readPositions(ctx context.Context, positions []uint64, yield func(ledger.Event, error) bool) (err error) {
	if !s.pin() {
		return errClosed
	}
	defer s.unpin()
	defer s.faultGuard(debug.SetPanicOnFault(true), &err)
	c := frameCursor{readAhead: true}
	for i, p := range positions {
		if i%ctxCheckEvery == ctxCheckEvery-1 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		ev, err := s.eventAt(p, &c)
		if err != nil {
			return err
		}
		if !yield(ev, nil) {
			return nil
		}
	}
	return nil
}

// ReadAll implements ledger.Store. The end is the head when ReadAll is
// called.
func (s *Store) ReadAll(ctx context.Context, from ledger.Position) iter.Seq2[ledger.Event, error] {
	s.mu.RLock()
	head := s.head
	s.mu.RUnlock()
	return func(yield func(ledger.Event, error) bool) {
		if _, err := s.readRange(ctx, uint64(from), head, yield); err != nil {
			yield(ledger.Event{}, err)
		}
	}
}

// Subscribe implements ledger.Store.
func (s *Store) Subscribe(ctx context.Context, from ledger.Position) iter.Seq2[ledger.Event, error] {
	return func(yield func(ledger.Event, error) bool) {
		pos := uint64(from)
		yieldPos := func(ev ledger.Event, err error) bool {
			pos = uint64(ev.Position)
			return yield(ev, err)
		}
		for {
			s.mu.RLock()
			head, notify, closed := s.head, s.notify, s.closed
			s.mu.RUnlock()
			if closed {
				yield(ledger.Event{}, errClosed)
				return
			}
			if head > pos {
				stopped, err := s.readRange(ctx, pos, head, yieldPos)
				if err != nil {
					yield(ledger.Event{}, err)
					return
				}
				if stopped {
					return
				}
				continue
			}
			select {
			case <-ctx.Done():
				yield(ledger.Event{}, ctx.Err())
				return
			case <-s.closing:
				yield(ledger.Event{}, errClosed)
				return
			case <-notify:
			}
		}
	}
}

// readRange yields the events at positions (from, to] in order. Read with
// pread, each chunk is a fresh buffer that the yielded events' Data point
// into; read from a mapping, payloads are copied out to an arena. It
// reports whether yield asked to stop.
func (s *Store) readRange(ctx context.Context, from, to uint64, yield func(ledger.Event, error) bool) (bool, error) {
	var (
		in interner
		a  arena
	)
	return s.walk(ctx, from, to, func(v *EventView, mapped bool) bool {
		if mapped {
			v.ev.data = a.copy(v.ev.data)
		}
		return yield(v.ev.toEvent(&in), nil)
	})
}

// walker is the state of one sequential read (walk).
type walker struct {
	s     *Store
	ctx   context.Context
	next  uint64 // position to yield next
	to    uint64
	fn    func(v *EventView, mapped bool) bool
	dec   frameDecoder
	view  EventView
	count int
}

// walk calls fn for the events at positions (from, to] in order, reading
// the segments sequentially, each from its mapping or in chunks with
// pread. mapped tells fn whether the view's bytes lie in a mapping, valid
// only during the call. It reports whether fn asked to stop.
func (s *Store) walk(ctx context.Context, from, to uint64, fn func(v *EventView, mapped bool) bool) (bool, error) {
	w := walker{s: s, ctx: ctx, next: from + 1, to: to, fn: fn}
	for w.next <= to {
		if err := ctx.Err(); err != nil {
			return false, err
		}
		if stopped, err := w.chunk(); stopped || err != nil {
			return stopped, err
		}
	}
	return false, nil
}

// chunk reads from the frame holding w.next on: the rest of its segment
// (up to ReadChunkSize) from the mapping, or ReadChunkSize with pread.
func (w *walker) chunk() (stopped bool, err error) {
	s := w.s
	s.mu.RLock()
	if s.closed {
		s.mu.RUnlock()
		return false, errClosed
	}
	l := s.locAt(w.next)
	sg := s.segs[l.seg]
	end := sg.size
	// Read no further than the frame after the one holding `to`, so
	// that a short range costs a short read.
	if w.to < s.head {
		if nl := s.locAt(w.to + 1); nl.seg == l.seg && nl != s.locAt(w.to) {
			end = int64(nl.off)
		}
	}
	s.mu.RUnlock()
	off := int64(l.off)
	if end-off < frameHeaderSize {
		return false, &CorruptError{Segment: sg.name, Offset: off, Reason: "indexed frame lies past the committed end"}
	}
	if !s.pin() {
		return false, errClosed
	}
	defer s.unpin()
	defer s.faultGuard(debug.SetPanicOnFault(true), &err)
	chunkEnd := min(end, off+int64(s.opts.ReadChunkSize))
	var buf []byte
	m := s.mapped(sg, end)
	if m != nil {
		// The chunk ends at the first frame boundary at or past
		// ReadChunkSize (or at end), so that no frame is read twice.
		buf = m[off:end:end]
	} else {
		buf = make([]byte, chunkEnd-off)
		if err := s.pread(sg, buf, off); err != nil {
			return false, err
		}
		if n, _, ok := frameLen(buf); ok && frameSize(sg.version, n) > len(buf) && off+int64(frameSize(sg.version, n)) <= end {
			// A frame larger than a chunk gets a buffer of its own.
			nb := make([]byte, frameSize(sg.version, n))
			copy(nb, buf)
			if err := s.pread(sg, nb[len(buf):], off+int64(len(buf))); err != nil {
				return false, err
			}
			buf = nb
		}
	}
	limit := chunkEnd - off // mapped: frames starting at or past it wait for the next chunk
	p := 0
	for w.next <= w.to && len(buf)-p >= frameHeaderSize && (p == 0 || int64(p) < limit || m == nil) {
		foff := off + int64(p)
		corrupt := func(reason string) error {
			return &CorruptError{Segment: sg.name, Offset: foff, Reason: reason}
		}
		n, _, ok := frameLen(buf[p:])
		if !ok {
			return false, corrupt(fmt.Sprintf("frame length %d out of range", n))
		}
		total := frameSize(sg.version, n)
		if len(buf)-p < total {
			if p == 0 || m != nil {
				return false, corrupt(fmt.Sprintf("frame length %d runs past the committed end", n))
			}
			break // the rest comes with the next chunk
		}
		var body []byte
		if m != nil {
			if body, err = checkMapped(sg, m, foff, n, int64(total)); err != nil {
				return false, err
			}
		} else {
			var bad string
			if body, bad = checkFrame(sg.version, buf[p:p+total]); bad != "" {
				return false, corrupt(bad)
			}
		}
		if err := w.dec.init(body); err != nil {
			return false, corrupt(err.Error())
		}
		ev := &w.view.ev
		for {
			ok, err := w.dec.nextEvent(ev)
			if err != nil {
				return false, corrupt(err.Error())
			}
			if !ok {
				break
			}
			if ev.position < w.next {
				continue // before from, in the first frame
			}
			if ev.position != w.next {
				return false, corrupt(fmt.Sprintf("position %d where %d was due", ev.position, w.next))
			}
			if w.next > w.to {
				break
			}
			if !w.fn(&w.view, m != nil) {
				return true, nil
			}
			w.next++
			w.count++
			if w.count%ctxCheckEvery == 0 {
				if err := w.ctx.Err(); err != nil {
					return false, err
				}
			}
		}
		// The chunk never crosses the segment's committed end, so the
		// next segment is found through locAt in the next round.
		p += total
	}
	return false, nil
}

// EventView is an event as Scan hands it to its callback: its byte fields
// point into the store's memory — the segment's read-only mapping, or a
// read buffer — and are valid only until the callback returns. Nothing is
// copied or converted until asked for.
type EventView struct {
	ev rawEvent
}

// Position returns the event's global position.
func (v *EventView) Position() ledger.Position { return ledger.Position(v.ev.position) }

// Stream returns the stream name's bytes, valid during the callback.
func (v *EventView) Stream() []byte { return v.ev.stream }

// Type returns the event type's bytes, valid during the callback.
func (v *EventView) Type() []byte { return v.ev.typ }

// Data returns the payload's bytes, valid during the callback.
func (v *EventView) Data() []byte { return v.ev.data }

// Event returns the whole envelope, its strings and payload copied: it
// stays valid after the callback.
func (v *EventView) Event() ledger.Event {
	ev := &v.ev
	var data []byte
	if len(ev.data) > 0 {
		data = append([]byte(nil), ev.data...)
	}
	return ledger.Event{
		ID:            ev.id,
		Stream:        string(ev.stream),
		Type:          string(ev.typ),
		SchemaVersion: int(ev.schema),
		Revision:      ev.revision,
		Position:      ledger.Position(ev.position),
		OccurredOn:    string(ev.occurredOn),
		RecordedAt:    time.Unix(ev.secs, int64(ev.nanos)).UTC(),
		RecordedBy:    string(ev.recordedBy),
		Data:          data,
		PrevHash:      ev.prevHash,
		Hash:          ev.hash,
	}
}

// Scan calls fn for every event after position from, up to the head when
// Scan is called, in order: the fastest way to read the log when the
// envelope is not needed whole (counting by type or stream, say, or
// hashing payloads). Every check a read makes is made (see doc.go,
// "Reads"). The view's bytes are valid only during fn, which must not
// keep them; Event copies an event out. Scan stops at the first error fn
// returns and returns it; damage is a *CorruptError, and a store closed
// meanwhile ends it with ledger.ErrClosed.
func (s *Store) Scan(ctx context.Context, from ledger.Position, fn func(v *EventView) error) error {
	s.mu.RLock()
	head := s.head
	s.mu.RUnlock()
	var ferr error
	_, err := s.walk(ctx, uint64(from), head, func(v *EventView, _ bool) bool {
		ferr = fn(v)
		return ferr == nil
	})
	if ferr != nil {
		return ferr
	}
	return err
}
