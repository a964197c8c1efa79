package filestore_test

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"partyledger/ledger"
	"partyledger/ledger/filestore"
)

// mmapLog writes a store of several segments to dir and returns every
// event in position order: single-event commits of interleaved streams,
// batches, and frames larger than a 4 KiB chunk (and than a segment).
func mmapLog(t *testing.T, dir string, opts filestore.Options) []ledger.Event {
	t.Helper()
	s := open(t, dir, opts)
	streams := []string{"org-a", "org-b", "org-c", "committee"}
	last := map[string]*ledger.Event{}
	var all []ledger.Event
	add := func(stream string, evs []ledger.Event) {
		exp := ledger.NoStream
		if l := last[stream]; l != nil {
			exp = int64(l.Revision)
		}
		ps := mustAppend(t, s, stream, exp, evs)
		for i := range evs {
			evs[i].Position = ps[i]
		}
		all = append(all, evs...)
		last[stream] = &evs[len(evs)-1]
	}
	for i := 0; i < 400; i++ {
		st := streams[i%len(streams)]
		switch {
		case i%50 == 7:
			add(st, chain(st, last[st], 40))
		case i%90 == 11:
			// A payload of 20 KiB: a frame of several chunks, larger
			// than ReadChunkSize in the tests that shrink it.
			e := sealed(st, nextRev(last[st]), prevHash(last[st]), `{"pad":"`+strings.Repeat("x", 20<<10)+`"}`)
			add(st, []ledger.Event{e})
		default:
			add(st, chain(st, last[st], 1))
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	return all
}

func nextRev(e *ledger.Event) uint64 {
	if e == nil {
		return 0
	}
	return e.Revision + 1
}

func prevHash(e *ledger.Event) ledger.Hash {
	if e == nil {
		return ledger.Hash{}
	}
	return e.Hash
}

// readEverything reads s through every read path and returns what each
// returned, keyed by path.
func readEverything(t *testing.T, s *filestore.Store, want []ledger.Event) map[string][]ledger.Event {
	t.Helper()
	ctx := ctxT(t)
	out := map[string][]ledger.Event{}
	head := ledger.Position(len(want))
	for _, from := range []ledger.Position{0, 1, head / 3, head / 2, head - 1} {
		out[fmt.Sprint("ReadAll from ", from)] = readAll(t, s, from)
		var scanned []ledger.Event
		err := s.Scan(ctx, from, func(v *filestore.EventView) error {
			e := v.Event()
			if e.Position != v.Position() || e.Stream != string(v.Stream()) || e.Type != string(v.Type()) || string(e.Data) != string(v.Data()) {
				return fmt.Errorf("view of position %d disagrees with its event", v.Position())
			}
			scanned = append(scanned, e)
			return nil
		})
		if err != nil {
			t.Fatalf("Scan from %d: %v", from, err)
		}
		out[fmt.Sprint("Scan from ", from)] = scanned
	}
	streams := map[string]int{}
	for _, e := range want {
		streams[e.Stream]++
	}
	for st, n := range streams {
		for _, from := range []uint64{0, uint64(n) / 2} {
			evs, err := readStream(t, s, st, from)
			if err != nil {
				t.Fatalf("ReadStream(%s, %d): %v", st, from, err)
			}
			out[fmt.Sprintf("ReadStream(%s, %d)", st, from)] = evs
		}
		e, err := s.LastEvent(ctx, st)
		if err != nil {
			t.Fatalf("LastEvent(%s): %v", st, err)
		}
		out["LastEvent "+st] = []ledger.Event{e}
	}
	var byID []ledger.Event
	for _, w := range want {
		e, err := s.EventByID(ctx, w.ID)
		if err != nil {
			t.Fatalf("EventByID(%s): %v", w.ID, err)
		}
		byID = append(byID, e)
	}
	out["EventByID"] = byID
	sctx, cancel := context.WithCancel(ctx)
	var sub []ledger.Event
	for e, err := range s.Subscribe(sctx, 0) {
		if err != nil {
			t.Fatalf("Subscribe: %v", err)
		}
		sub = append(sub, e)
		if e.Position == head {
			cancel()
			break
		}
	}
	cancel()
	out["Subscribe"] = sub
	return out
}

// TestMappedReadsEqualPread reads a store of several segments through its
// mappings and, reopened with mapping off, with pread, by every read
// path, and checks that both return exactly the events appended — and
// that the events read through mappings stay intact after Close unmapped
// them (they own their payloads).
func TestMappedReadsEqualPread(t *testing.T) {
	for _, chunk := range []int{0, 4096} {
		t.Run(fmt.Sprintf("ReadChunkSize %d", chunk), func(t *testing.T) {
			dir := t.TempDir()
			opts := filestore.Options{SegmentSize: 64 << 10, ReadChunkSize: chunk}
			want := mmapLog(t, dir, opts)

			restore := filestore.SetMapsForTest(false)
			sp, err := filestore.Open(dir, opts)
			if err != nil {
				t.Fatal(err)
			}
			viaPread := readEverything(t, sp, want)
			if n := filestore.MappedSegments(sp); n != 0 {
				t.Fatalf("mapping off: %d segments mapped", n)
			}
			sp.Close()
			restore()

			sm, err := filestore.Open(dir, opts)
			if err != nil {
				t.Fatal(err)
			}
			segs := filestore.Segments(sm)
			if len(segs) < 4 {
				t.Fatalf("%d segments; the test wants several", len(segs))
			}
			viaMaps := readEverything(t, sm, want)
			if n := filestore.MappedSegments(sm); n != len(segs) {
				t.Fatalf("%d of %d segments mapped after reading them all", n, len(segs))
			}
			if err := sm.Close(); err != nil {
				t.Fatal(err)
			}
			if n := filestore.MappedSegments(sm); n != 0 {
				t.Fatalf("%d segments still mapped after Close", n)
			}
			// The mapped events are read after the unmap: a payload
			// aliasing a mapping would fault here.
			if len(viaMaps) != len(viaPread) {
				t.Fatalf("%d read paths mapped, %d with pread", len(viaMaps), len(viaPread))
			}
			for path, got := range viaMaps {
				ref := viaPread[path]
				if len(got) != len(ref) {
					t.Fatalf("%s: %d events mapped, %d with pread", path, len(got), len(ref))
				}
				for i := range got {
					if d := sameEvent(got[i], ref[i]); d != "" || got[i].Position != ref[i].Position {
						t.Fatalf("%s, event %d: mapped read differs from pread: %s (positions %d, %d)", path, i, d, got[i].Position, ref[i].Position)
					}
				}
			}
			for i, e := range viaMaps["ReadAll from 0"] {
				if d := sameEvent(e, want[i]); d != "" || e.Position != want[i].Position {
					t.Fatalf("position %d: %s", i+1, d)
				}
			}
			checkChains(t, viaMaps["ReadAll from 0"])
		})
	}
}

// frameOffsets returns the offsets of the version-2 frames of a segment
// file, and the end of the last.
func frameOffsets(t *testing.T, path string) []int64 {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var offs []int64
	off := int64(32)
	for off+8 <= int64(len(b)) {
		n := int64(binary.LittleEndian.Uint32(b[off:]))
		if n == 0 {
			break // the free space: zeros to the end of the file
		}
		offs = append(offs, off)
		off += 8 + n + 4*((n+4095)/4096) + 8
	}
	return append(offs, off)
}

func flipBit(t *testing.T, path string, off int64) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b := make([]byte, 1)
	if _, err := f.ReadAt(b, off); err != nil {
		t.Fatal(err)
	}
	b[0] ^= 0x10
	if _, err := f.WriteAt(b, off); err != nil {
		t.Fatal(err)
	}
}

func wantCorruptAt(t *testing.T, what string, err error, seg string, off int64) {
	t.Helper()
	var ce *filestore.CorruptError
	if !errors.As(err, &ce) || !errors.Is(err, ledger.ErrCorrupt) || ce.Segment != seg || ce.Offset != off {
		t.Fatalf("%s: %v; want a *CorruptError in %s at %d", what, err, seg, off)
	}
}

// TestMappedBitFlip flips one bit of a sealed segment under an open store
// — in a frame's body, its chunk checksum table, its trailer — and checks
// that every read path reading it from the mapping reports a
// *CorruptError naming the segment and the frame, as VerifyStorage does;
// and that a flip after the frame was read once, which a read no longer
// checks (doc.go, "Reads"), is still found by VerifyStorage.
func TestMappedBitFlip(t *testing.T) {
	dir := t.TempDir()
	opts := filestore.Options{SegmentSize: 64 << 10}
	want := mmapLog(t, dir, opts)
	s := open(t, dir, opts)
	segs := filestore.Segments(s)
	s.Close()
	if len(segs) < 3 {
		t.Fatalf("%d segments, want at least 3", len(segs))
	}
	seg := segs[1] // sealed, not the first
	path := filepath.Join(dir, seg)
	offs := frameOffsets(t, path)
	frame, end := offs[len(offs)/2], offs[len(offs)/2+1]
	hdr := make([]byte, 24)
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	f.ReadAt(hdr, frame)
	f.Close()
	bodyLen := int64(binary.LittleEndian.Uint32(hdr))
	first := binary.LittleEndian.Uint64(hdr[16:])
	victim := want[first-1]
	ctx := ctxT(t)
	for _, at := range []struct {
		part string
		off  int64
	}{{"body", frame + 8 + bodyLen/2}, {"chunk checksum table", frame + 8 + bodyLen}, {"trailer", end - 3}} {
		t.Run(at.part, func(t *testing.T) {
			s := open(t, dir, opts)
			flipBit(t, path, at.off)
			defer flipBit(t, path, at.off)
			var err error
			for _, e := range s.ReadAll(ctx, 0) {
				if err = e; err != nil {
					break
				}
			}
			wantCorruptAt(t, "ReadAll", err, seg, frame)
			if filestore.MappedSegments(s) == 0 {
				t.Fatal("nothing mapped: the test did not read through a mapping")
			}
			wantCorruptAt(t, "Scan", s.Scan(ctx, 0, func(*filestore.EventView) error { return nil }), seg, frame)
			_, err = readStream(t, s, victim.Stream, 0)
			wantCorruptAt(t, "ReadStream", err, seg, frame)
			_, err = s.EventByID(ctx, victim.ID)
			wantCorruptAt(t, "EventByID", err, seg, frame)
			wantCorruptAt(t, "VerifyStorage", s.VerifyStorage(ctx), seg, frame)
		})
	}
	t.Run("after the frame was read", func(t *testing.T) {
		s := open(t, dir, opts)
		if got := readAll(t, s, 0); len(got) != len(want) {
			t.Fatalf("read %d events, want %d", len(got), len(want))
		}
		off := frame + 8 + bodyLen/2
		flipBit(t, path, off)
		defer flipBit(t, path, off)
		wantCorruptAt(t, "VerifyStorage", s.VerifyStorage(ctx), seg, frame)
	})
}

// TestCloseWhileReading closes the store while goroutines read it through
// every path, with mapped bytes in use: each reader must finish with every
// event or end with ledger.ErrClosed — never another error, never a fault
// — and the mappings must be gone once the last reader is. Run it with
// -race.
func TestCloseWhileReading(t *testing.T) {
	dir := t.TempDir()
	opts := filestore.Options{SegmentSize: 64 << 10}
	want := mmapLog(t, dir, opts)
	for round := 0; round < 5; round++ {
		s, err := filestore.Open(dir, opts)
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		var (
			wg      sync.WaitGroup
			started sync.WaitGroup
			mu      sync.Mutex
			fails   []string
		)
		fail := func(format string, args ...any) {
			mu.Lock()
			fails = append(fails, fmt.Sprintf(format, args...))
			mu.Unlock()
		}
		// ok accepts completion (err nil and n the full count) or
		// ErrClosed.
		ok := func(path string, n, full int, err error) bool {
			switch {
			case err == nil && n == full:
				return true
			case errors.Is(err, ledger.ErrClosed):
				return false
			default:
				fail("%s: %d of %d events, %v", path, n, full, err)
				return false
			}
		}
		readers := []func(first func()){
			func(first func()) {
				for {
					n := 0
					var err error
					for e, rerr := range s.ReadAll(ctx, 0) {
						if err = rerr; err != nil {
							break
						}
						if string(e.Data) != string(want[n].Data) {
							fail("ReadAll: position %d differs", e.Position)
						}
						n++
						first()
					}
					if !ok("ReadAll", n, len(want), err) {
						return
					}
				}
			},
			func(first func()) {
				for {
					n, sum := 0, 0
					err := s.Scan(ctx, 0, func(v *filestore.EventView) error {
						for _, c := range v.Data() {
							sum += int(c)
						}
						n++
						first()
						return nil
					})
					if !ok("Scan", n, len(want), err) {
						return
					}
				}
			},
			func(first func()) {
				for {
					n := 0
					var err error
					for _, rerr := range s.ReadStream(ctx, "org-b", 0) {
						if err = rerr; err != nil {
							break
						}
						n++
						first()
					}
					full := 0
					for _, e := range want {
						if e.Stream == "org-b" {
							full++
						}
					}
					if !ok("ReadStream", n, full, err) {
						return
					}
				}
			},
			func(first func()) {
				for i := 0; ; i = (i + 7919) % len(want) {
					e, err := s.EventByID(ctx, want[i].ID)
					first()
					if !ok("EventByID", 1, 1, err) {
						return
					}
					if string(e.Data) != string(want[i].Data) {
						fail("EventByID: %s differs", want[i].ID)
					}
				}
			},
		}
		for _, r := range readers {
			for range 2 {
				wg.Add(1)
				started.Add(1)
				go func() {
					defer wg.Done()
					var once sync.Once
					r(func() { once.Do(started.Done) })
				}()
			}
		}
		started.Wait()
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		wg.Wait()
		if len(fails) > 0 {
			t.Fatalf("round %d: %s", round, strings.Join(fails, "; "))
		}
		if n := filestore.MappedSegments(s); n != 0 {
			t.Fatalf("round %d: %d segments still mapped after Close and the last reader", round, n)
		}
	}
}

// TestCloseInsideScan closes the store from inside a Scan callback and
// goes on reading the view's mapped bytes: the mapping must outlive the
// callback (a fault otherwise), Scan must then end with ErrClosed, and the
// mappings must be gone after it returns.
func TestCloseInsideScan(t *testing.T) {
	dir := t.TempDir()
	opts := filestore.Options{SegmentSize: 64 << 10}
	want := mmapLog(t, dir, opts)
	s, err := filestore.Open(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	err = s.Scan(ctxT(t), 0, func(v *filestore.EventView) error {
		if n == 10 {
			if filestore.MappedSegments(s) == 0 {
				t.Error("Scan is not reading a mapping")
			}
			if err := s.Close(); err != nil {
				return err
			}
			if got := filestore.MappedSegments(s); got == 0 {
				t.Error("Close unmapped under a running Scan")
			}
		}
		if string(v.Data()) != string(want[n].Data) || string(v.Stream()) != want[n].Stream {
			return fmt.Errorf("position %d differs", v.Position())
		}
		n++
		return nil
	})
	if !errors.Is(err, ledger.ErrClosed) || n <= 10 || n == len(want) {
		t.Fatalf("Scan after %d of %d events: %v; want ledger.ErrClosed after the 11th", n, len(want), err)
	}
	if got := filestore.MappedSegments(s); got != 0 {
		t.Fatalf("%d segments still mapped after Scan returned", got)
	}
}

// TestReadersAcrossRollOver follows the log while it grows: a subscription
// and a stream read are inside the active segment, mapped, when appends
// seal it and start new ones. Both must see every event, in order.
func TestReadersAcrossRollOver(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir, filestore.Options{SegmentSize: 16 << 10})
	ctx := ctxT(t)
	var all []ledger.Event
	var last *ledger.Event
	appendOne := func() {
		e := chain("org-a", last, 1)
		ps := mustAppend(t, s, "org-a", int64(len(all))-1, e)
		e[0].Position = ps[0]
		all = append(all, e[0])
		last = &all[len(all)-1]
	}
	for range 10 {
		appendOne()
	}
	sub := subscribe(ctx, s, 0)
	for i := range 10 {
		if r := next(t, sub); r.err != nil || r.ev.ID != all[i].ID {
			t.Fatalf("subscription, event %d: %v", i, r.err)
		}
	}
	if filestore.MappedSegments(s) != 1 || len(filestore.Segments(s)) != 1 {
		t.Fatalf("%d of %d segments mapped; want the one active segment, mapped", filestore.MappedSegments(s), len(filestore.Segments(s)))
	}
	// A stream read, paused inside the active segment while it is sealed.
	n := 0
	for e, err := range s.ReadStream(ctx, "org-a", 0) {
		if err != nil {
			t.Fatal(err)
		}
		if d := sameEvent(e, all[n]); d != "" {
			t.Fatalf("stream read, revision %d: %s", n, d)
		}
		n++
		if n == 5 {
			for len(filestore.Segments(s)) < 3 {
				appendOne()
			}
		}
	}
	if n != 10 {
		t.Fatalf("stream read yielded %d events, want the 10 there when it started", n)
	}
	for i := 10; i < len(all); i++ {
		r := next(t, sub)
		if r.err != nil {
			t.Fatalf("subscription, event %d: %v", i, r.err)
		}
		if d := sameEvent(r.ev, all[i]); d != "" || r.ev.Position != all[i].Position {
			t.Fatalf("subscription, event %d: %s", i, d)
		}
	}
	got, err := readStream(t, s, "org-a", 0)
	if err != nil || len(got) != len(all) {
		t.Fatalf("stream after roll-over: %d events, %v; want %d", len(got), err, len(all))
	}
	if m, segs := filestore.MappedSegments(s), len(filestore.Segments(s)); m != segs {
		t.Fatalf("%d of %d segments mapped after reading all", m, segs)
	}
}

// TestPreadFallbackFS reads a store on the tests' in-memory FS, whose
// files cannot be mapped: every read goes through pread, and works.
func TestPreadFallbackFS(t *testing.T) {
	fsys := newMemFS()
	opts := filestore.Options{FS: fsys, SegmentSize: 4096}
	s := open(t, memDir, opts)
	var all []ledger.Event
	var last *ledger.Event
	for i := range 60 {
		e := chain("org-a", last, 1+i%3)
		mustAppend(t, s, "org-a", int64(len(all))-1, e)
		all = append(all, e...)
		last = &all[len(all)-1]
	}
	if len(filestore.Segments(s)) < 3 {
		t.Fatal("want several segments")
	}
	got := readAll(t, s, 0)
	stream, err := readStream(t, s, "org-a", 0)
	if err != nil || len(got) != len(all) || len(stream) != len(all) {
		t.Fatalf("read %d and %d events (%v), want %d", len(got), len(stream), err, len(all))
	}
	for i := range all {
		if d := sameEvent(got[i], all[i]); d != "" {
			t.Fatalf("event %d: %s", i, d)
		}
		if d := sameEvent(stream[i], all[i]); d != "" {
			t.Fatalf("stream event %d: %s", i, d)
		}
	}
	if n := filestore.MappedSegments(s); n != 0 {
		t.Fatalf("%d segments of an in-memory FS mapped", n)
	}
}

// TestSegmentCutUnderMapping cuts a mapped sealed segment short behind the
// store's back (the store itself never does): reading the lost pages
// raises SIGBUS, which every read path must report as a *CorruptError
// naming the segment instead of crashing.
func TestSegmentCutUnderMapping(t *testing.T) {
	dir := t.TempDir()
	opts := filestore.Options{SegmentSize: 64 << 10}
	want := mmapLog(t, dir, opts)
	s := open(t, dir, opts)
	ctx := ctxT(t)
	if got := readAll(t, s, 0); len(got) != len(want) {
		t.Fatalf("read %d events, want %d", len(got), len(want))
	}
	segs := filestore.Segments(s)
	if filestore.MappedSegments(s) != len(segs) {
		t.Skip("segments are not mapped on this platform")
	}
	seg := segs[1]
	if err := os.Truncate(filepath.Join(dir, seg), 8192); err != nil {
		t.Fatal(err)
	}
	// The last event of the segment, past the cut.
	var victim ledger.Event
	for _, e := range want {
		if len(segs) > 2 && e.Position >= ledger.Position(firstPosition(segs[2])) {
			break
		}
		if e.Position >= ledger.Position(firstPosition(seg)) {
			victim = e
		}
	}
	isCut := func(what string, err error) {
		t.Helper()
		var ce *filestore.CorruptError
		if !errors.As(err, &ce) || ce.Segment != seg || ce.Offset < 8192 || !strings.Contains(err.Error(), "cut short") {
			t.Fatalf("%s: %v; want a *CorruptError in %s past byte 8192", what, err, seg)
		}
	}
	var err error
	for _, e := range s.ReadAll(ctx, 0) {
		if err = e; err != nil {
			break
		}
	}
	isCut("ReadAll", err)
	isCut("Scan", s.Scan(ctx, 0, func(*filestore.EventView) error { return nil }))
	_, err = readStream(t, s, victim.Stream, 0)
	isCut("ReadStream", err)
	_, err = s.EventByID(ctx, victim.ID)
	isCut("EventByID", err)
}

func firstPosition(segment string) uint64 {
	var p uint64
	fmt.Sscanf(strings.TrimPrefix(segment, "segment-"), "%d", &p)
	return p
}
