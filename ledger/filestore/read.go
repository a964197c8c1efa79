package filestore

import (
	"context"
	"fmt"
	"iter"

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
// needs: a stream's events are usually interleaved with other streams'
// in nearby frames, so one pread serves many of them. Exported to tests
// through export_test.go.
var readAheadBytes int64 = 32 << 10

// readFrame reads and checks the frame at off of segment idx and returns
// its body. With a cursor, the body may be a slice of the cursor's
// read-ahead window; windows are never reused, so a body stays valid.
func (s *Store) readFrame(idx uint32, off int64, c *frameCursor) ([]byte, error) {
	sg, end, err := s.segAt(idx)
	if err != nil {
		return nil, err
	}
	if end-off < frameHeaderSize {
		return nil, &CorruptError{Segment: sg.name, Offset: off, Reason: "indexed frame lies past the committed end"}
	}
	var buf []byte
	bufOff := off
	switch {
	case c != nil && c.win != nil && c.winSeg == idx && off >= c.winOff && off+frameHeaderSize <= c.winOff+int64(len(c.win)):
		buf, bufOff = c.win, c.winOff
	case c != nil && c.readAhead:
		buf = make([]byte, min(max(readAheadBytes, frameHeaderSize), end-off))
		if err := s.pread(sg, buf, off); err != nil {
			return nil, err
		}
		c.win, c.winSeg, c.winOff = buf, idx, off
	default:
		buf = make([]byte, min(4096, end-off))
		if err := s.pread(sg, buf, off); err != nil {
			return nil, err
		}
	}
	at := off - bufOff
	n, _, ok := frameLen(buf[at:])
	total := int64(frameSize(sg.version, n))
	if !ok || off+total > end {
		return nil, &CorruptError{Segment: sg.name, Offset: off, Reason: fmt.Sprintf("frame length %d out of range", n)}
	}
	var frame []byte
	if at+total <= int64(len(buf)) {
		frame = buf[at : at+total : at+total]
	} else {
		// The frame runs past what was read: read it whole, on its own.
		frame = make([]byte, total)
		have := copy(frame, buf[at:])
		if err := s.pread(sg, frame[have:], off+int64(have)); err != nil {
			return nil, err
		}
	}
	body, bad := checkFrame(sg.version, frame)
	if bad != "" {
		return nil, &CorruptError{Segment: sg.name, Offset: off, Reason: bad}
	}
	return body, nil
}

// frameCursor remembers the last frame a point reader decoded, so that
// reading consecutive revisions of a stream appended in one batch reads the
// frame once.
type frameCursor struct {
	valid bool
	l     loc
	dec   frameDecoder
	in    interner

	// readAhead: a stream read, which reads a window past each frame;
	// point reads (EventByID, LastEvent) read only the frame.
	readAhead bool
	// The read-ahead window: bytes of segment winSeg from winOff.
	win    []byte
	winSeg uint32
	winOff int64
}

// eventAt reads the event at committed position p.
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
		body, err := s.readFrame(l.seg, int64(l.off), c)
		if err != nil {
			return ledger.Event{}, err
		}
		if err := c.dec.init(body); err != nil {
			return ledger.Event{}, corrupt(err.Error())
		}
		c.valid, c.l = true, l
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
			return ev.toEvent(&c.in), nil
		}
	}
}

// EventByID implements ledger.Store.
func (s *Store) EventByID(ctx context.Context, id uuid.UUID) (ledger.Event, error) {
	if err := ctx.Err(); err != nil {
		return ledger.Event{}, err
	}
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
	var c frameCursor
	return s.eventAt(p, &c)
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
		c := frameCursor{readAhead: true}
		for i, p := range positions[from:] {
			if i%ctxCheckEvery == ctxCheckEvery-1 {
				if err := ctx.Err(); err != nil {
					yield(ledger.Event{}, err)
					return
				}
			}
			ev, err := s.eventAt(p, &c)
			if err != nil {
				yield(ledger.Event{}, err)
				return
			}
			if !yield(ev, nil) {
				return
			}
		}
	}
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

// readRange yields the events at positions (from, to] in order, reading the
// segments sequentially in chunks. Each chunk is a fresh buffer that the
// yielded events' Data point into, so nothing is copied per event. It
// reports whether yield asked to stop.
func (s *Store) readRange(ctx context.Context, from, to uint64, yield func(ledger.Event, error) bool) (bool, error) {
	next := from + 1
	var (
		in    interner
		dec   frameDecoder
		ev    rawEvent
		count int
	)
	for next <= to {
		if err := ctx.Err(); err != nil {
			return false, err
		}
		s.mu.RLock()
		if s.closed {
			s.mu.RUnlock()
			return false, errClosed
		}
		l := s.locAt(next)
		sg := s.segs[l.seg]
		end := sg.size
		// Read no further than the frame after the one holding `to`, so
		// that a short range costs a short read.
		if to < s.head {
			if nl := s.locAt(to + 1); nl.seg == l.seg && nl != s.locAt(to) {
				end = int64(nl.off)
			}
		}
		s.mu.RUnlock()
		off := int64(l.off)
		buf := make([]byte, min(int64(s.opts.ReadChunkSize), end-off))
		if len(buf) < frameHeaderSize {
			return false, &CorruptError{Segment: sg.name, Offset: off, Reason: "indexed frame lies past the committed end"}
		}
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
		p := 0
		for next <= to && len(buf)-p >= frameHeaderSize {
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
				if p == 0 {
					return false, corrupt(fmt.Sprintf("frame length %d runs past the committed end", n))
				}
				break // the rest comes with the next chunk
			}
			body, bad := checkFrame(sg.version, buf[p:p+total])
			if bad != "" {
				return false, corrupt(bad)
			}
			if err := dec.init(body); err != nil {
				return false, corrupt(err.Error())
			}
			for {
				ok, err := dec.nextEvent(&ev)
				if err != nil {
					return false, corrupt(err.Error())
				}
				if !ok {
					break
				}
				if ev.position < next {
					continue // before from, in the first frame
				}
				if ev.position != next {
					return false, corrupt(fmt.Sprintf("position %d where %d was due", ev.position, next))
				}
				if next > to {
					break
				}
				if !yield(ev.toEvent(&in), nil) {
					return true, nil
				}
				next++
				count++
				if count%ctxCheckEvery == 0 {
					if err := ctx.Err(); err != nil {
						return false, err
					}
				}
			}
			// The chunk never crosses the segment's committed end, so
			// the next segment is found through locAt in the next round.
			p += total
		}
	}
	return false, nil
}
