package filestore_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"partyledger/ledger"
	"partyledger/ledger/filestore"
)

// largeCommit appends 255 events in one Append — one frame of about 85
// KiB, the whole import of a journal — after a few single events, and
// returns the events and the frame's offset and end in the segment.
func largeCommit(t *testing.T, s *filestore.Store) (events []ledger.Event, off, end int64) {
	t.Helper()
	small := chain("org-small", nil, 3)
	for i := range small {
		mustAppend(t, s, "org-small", int64(i)-1, small[i:i+1])
	}
	off = filestore.DataEnd(s)
	events = chainPadded("org-import", nil, 255, 200)
	mustAppend(t, s, "org-import", ledger.NoStream, events)
	end = filestore.DataEnd(s)
	if end-off < 64<<10 {
		t.Fatalf("the commit's frame is %d bytes, want a large one", end-off)
	}
	return events, off, end
}

// nonZeroEnd returns the offset just past the last non-zero byte of b
// (0 when there is none): where the bytes a torn-tail cut saves end, in a
// segment followed by free space.
func nonZeroEnd(b []byte) int64 {
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] != 0 {
			return int64(i + 1)
		}
	}
	return 0
}

// TestFlipInLargeFinalFrame is the case: one large commit (255
// events in one frame), one byte flipped in its middle. Open must fail
// with ErrCorrupt naming the segment and the frame's offset, change no
// file and cut nothing — both after a clean Close (the commit mark covers
// the frame) and when the process was killed before Close (the mark does
// not: the frame's own chunk checksums and trailer show it was complete).
// A sweep over the frame's bytes checks the same for every 37th byte,
// every byte of its header, chunk checksum table and trailer; the one
// exception when killed is the trailer's last 8 bytes (the copy of the
// header), cut as a torn write into a side file that TornFiles reports
// with all 255 events.
func TestFlipInLargeFinalFrame(t *testing.T) {
	t.Run("closed cleanly, on disk", func(t *testing.T) {
		dir := t.TempDir()
		s := open(t, dir, filestore.Options{})
		seg := filepath.Join(dir, "segment-00000000000000000001.log")
		_, off, end := largeCommit(t, s)
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		// Close wrote the segment's index file, covering the frame: Open
		// must still read and check the frame (the last one the index
		// names), not take its events from the index.
		if fi, err := os.Stat(filepath.Join(dir, "segment-00000000000000000001.idx")); err != nil || fi.Size() == 0 {
			t.Fatalf("no index file after Close: %v", err)
		}
		mid := (off + end) / 2
		before, _ := os.ReadFile(seg)
		flipAll(t, seg, mid)
		_, err := filestore.Open(dir, filestore.Options{})
		wantCorrupt(t, err, filepath.Base(seg), off)
		after, _ := os.ReadFile(seg)
		if len(after) != len(before) {
			t.Fatalf("the failed Open changed the segment: %d bytes, was %d", len(after), len(before))
		}
		if tf, err := filestore.TornFiles(dir); err != nil || len(tf) != 0 {
			t.Fatalf("TornFiles = %v, %v; want none", tf, err)
		}
	})
	for _, closed := range []bool{true, false} {
		name := "killed before Close"
		if closed {
			name = "closed cleanly"
		}
		t.Run(name+", every 37th byte", func(t *testing.T) {
			m := newMemFS()
			s, err := filestore.Open(memDir, filestore.Options{FS: m, SegmentSize: 128 << 10})
			if err != nil {
				t.Fatal(err)
			}
			seg := memDir + "/segment-00000000000000000001.log"
			_, off, end := largeCommit(t, s)
			var base *memFS
			if closed {
				s.Close()
				base = m.crash(false)
			} else {
				base = m.crash(true)
				s.Close()
			}
			tableAt := off + 8 + int64(le32(readMem(base, seg)[off:])) // after the body
			var offsets []int64
			for p := off; p < end; p++ {
				if p < off+8 || p >= tableAt || (p-off)%37 == 0 {
					offsets = append(offsets, p)
				}
			}
			cuts := 0
			for _, p := range offsets {
				img := base.clone()
				flipMem(img, rotBit{seg, p, 5})
				// The bytes a cut would save run to the flipped frame's
				// last non-zero byte (free space follows): the flip
				// itself may have made that byte zero, or a zero one not.
				cut := nonZeroEnd(readMem(img, seg)[:end]) - off
				s, err := filestore.Open(memDir, filestore.Options{FS: img, SegmentSize: 128 << 10})
				if closed || p < end-8 {
					if err == nil {
						s.Close()
						t.Fatalf("flip at %d (frame %d..%d): Open succeeded", p, off, end)
					}
					var ce *filestore.CorruptError
					if !errors.As(err, &ce) || !errors.Is(err, ledger.ErrCorrupt) || ce.Segment != filepath.Base(seg) || ce.Offset != off {
						t.Fatalf("flip at %d: Open: %v; want a *CorruptError at %d", p, err, off)
					}
					continue
				}
				if err != nil {
					t.Fatalf("flip at %d, in the trailer's copy of the header: Open: %v", p, err)
				}
				head := s.Head()
				tf, terr := s.TornFiles()
				s.Close()
				if head != 3 {
					t.Fatalf("flip at %d: head %d after the cut, want 3", p, head)
				}
				want := fmt.Sprintf("segment-00000000000000000001.log.torn-%d-", off)
				if terr != nil || len(tf) != 1 || !strings.HasPrefix(tf[0].Name, want) || tf[0].Offset != off ||
					tf[0].Bytes != cut || !tf[0].Intact || tf[0].Events != 255 || tf[0].Frames != 0 {
					t.Fatalf("flip at %d: TornFiles = %+v, %v; want one file %s… of %d bytes holding 255 events", p, tf, terr, want, cut)
				}
				if b := readMem(img, seg); nonZeroEnd(b) > off || int64(len(b)) != int64(len(readMem(base, seg))) {
					t.Fatalf("flip at %d: after the cut the segment's bytes end at %d (file of %d bytes), want %d followed by zeros", p, nonZeroEnd(b), len(b), off)
				}
				cuts++
			}
			t.Logf("%d flips in a frame of %d bytes, %d cut as torn", len(offsets), end-off, cuts)
		})
	}
}

// TestFlipInLargeFrameUnderIndex: the large commit is not the last frame
// and the segment's index file covers it, so Open may take its events
// from the index without reading it. A byte flipped in its middle must
// then fail the verification (VerifyStorage, as partyledger verify runs it)
// and every read of those events with ErrCorrupt naming the segment and
// the frame's offset — never pass unnoticed, and never cost an event.
func TestFlipInLargeFrameUnderIndex(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir, filestore.Options{})
	seg := filepath.Join(dir, "segment-00000000000000000001.log")
	_, off, end := largeCommit(t, s)
	after := chain("org-after", nil, 1)
	mustAppend(t, s, "org-after", ledger.NoStream, after)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(filepath.Join(dir, "segment-00000000000000000001.idx")); err != nil || fi.Size() == 0 {
		t.Fatalf("no index file after Close: %v", err)
	}
	flipAll(t, seg, (off+end)/2)

	s, err := filestore.Open(dir, filestore.Options{})
	if err != nil {
		// Open may find it too; then it must say where.
		wantCorrupt(t, err, filepath.Base(seg), off)
		return
	}
	defer s.Close()
	if h := s.Head(); h != 3+255+1 {
		t.Fatalf("head %d, want %d: events were cut", h, 3+255+1)
	}
	if tf, err := s.TornFiles(); err != nil || len(tf) != 0 {
		t.Fatalf("TornFiles = %v, %v; want none", tf, err)
	}
	wantCorrupt(t, s.VerifyStorage(ctxT(t)), filepath.Base(seg), off)
	_, err = ledger.New(s, ledger.Options{}).Verify(ctxT(t))
	wantCorrupt(t, err, filepath.Base(seg), off)
	var read error
	for _, err := range s.ReadStream(ctxT(t), "org-import", 0) {
		if err != nil {
			read = err
			break
		}
	}
	wantCorrupt(t, read, filepath.Base(seg), off)
	// The events after it are still there.
	if e, err := s.EventByID(ctxT(t), after[0].ID); err != nil || e.Position != 259 {
		t.Fatalf("the event after the damaged frame: %+v, %v", e, err)
	}
}

// zeroFrom overwrites the file at path with zeros from off to its end.
func zeroFrom(t *testing.T, path string, off int64) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteAt(make([]byte, fi.Size()-off), off); err != nil {
		t.Fatal(err)
	}
}

func le32(b []byte) uint32 {
	return uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 | uint32(b[3])<<24
}

// flipAll inverts every bit of the byte at off of the file at path.
func flipAll(t *testing.T, path string, off int64) {
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
	b[0] ^= 0xFF
	if _, err := f.WriteAt(b, off); err != nil {
		t.Fatal(err)
	}
}

// TestTornFiles checks the report of side files: a write torn part way
// through a frame of three events (two whole ones survive in the cut
// bytes), and a store with none.
func TestTornFiles(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir, filestore.Options{})
	mustAppend(t, s, "org-a", ledger.NoStream, chain("org-a", nil, 1))
	seg := filepath.Join(dir, "segment-00000000000000000001.log")
	off := filestore.DataEnd(s)
	evs := chainPadded("org-b", nil, 3, 100)
	mustAppend(t, s, "org-b", ledger.NoStream, evs)
	end := filestore.DataEnd(s)
	s.Close()
	if tf, err := filestore.TornFiles(dir); err != nil || len(tf) != 0 {
		t.Fatalf("TornFiles = %v, %v; want none", tf, err)
	}
	// Keep the frame up to the middle of its last event, zeros after: a
	// write cut short, after a crash that left no commit mark covering it.
	cut := end - 8 - 4 - 60
	zeroFrom(t, seg, cut)
	os.Remove(filepath.Join(dir, "COMMIT"))
	s2 := open(t, dir, filestore.Options{})
	if s2.Head() != 1 {
		t.Fatalf("head %d after the cut, want 1", s2.Head())
	}
	tf, err := s2.TornFiles()
	if err != nil || len(tf) != 1 {
		t.Fatalf("TornFiles = %v, %v; want one", tf, err)
	}
	got := tf[0]
	if got.Segment != filepath.Base(seg) || got.Offset != off || got.Bytes != cut-off || !got.Intact || got.Events != 2 || got.Frames != 0 {
		t.Fatalf("TornFiles: %+v; want %s at %d, %d bytes, intact, 2 events, 0 frames", got, filepath.Base(seg), off, cut-off)
	}
	pkg, err := filestore.TornFiles(dir)
	if err != nil || len(pkg) != 1 || pkg[0] != got {
		t.Fatalf("filestore.TornFiles = %+v, %v; the store's method said %+v", pkg, err, got)
	}
	// A side file whose bytes changed is reported as not intact.
	if err := os.WriteFile(filepath.Join(dir, got.Name), []byte("changed"), 0o644); err != nil {
		t.Fatal(err)
	}
	if tf, _ := filestore.TornFiles(dir); len(tf) != 1 || tf[0].Intact || tf[0].Events != 0 {
		t.Fatalf("after changing the side file: %+v; want it reported as not intact", tf)
	}
}
