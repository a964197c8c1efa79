package filestore_test

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"partyledger/ledger"
	"partyledger/ledger/filestore"
)

// Tests of preallocated segments (doc.go, "Files", "Write protocol",
// "Recovery"): segment files of zeros that frames overwrite, free space
// after the frames, torn writes into it.

// segFiles returns the segment files of dir on the operating system's FS,
// in order.
func segFiles(t *testing.T, dir string) []string {
	t.Helper()
	segs, err := filepath.Glob(filepath.Join(dir, "segment-????????????????????.log"))
	if err != nil {
		t.Fatal(err)
	}
	return segs
}

// TestSegmentsArePreallocated checks the layout a store leaves on disk: its
// first segment file is 1 MiB of zeros before anything is appended; each
// next one is twice the size of the one before, up to SegmentSize; every
// segment's frames are followed by zeros to the end of its file; no spare
// is left after Close; the commit mark records the data end, not the file
// size; and Usage counts both.
func TestSegmentsArePreallocated(t *testing.T) {
	dir := t.TempDir()
	opts := filestore.Options{SegmentSize: 4 << 20, BatchBytes: 256 << 10}
	s := open(t, dir, opts)
	first := segFiles(t, dir)
	if len(first) != 1 {
		t.Fatalf("segments %v, want one", first)
	}
	b, _ := os.ReadFile(first[0])
	if len(b) != 1<<20 || nonZeroEnd(b) > 32 {
		t.Fatalf("a new store's segment is %d bytes, non-zero up to %d; want 1 MiB of zeros after the 32-byte header", len(b), nonZeroEnd(b))
	}
	// About 9 MiB in 100-event appends: segments of 1, 2, 4 and 4 MiB.
	var last *ledger.Event
	n := 0
	for filestore.DataEnd(s) < 2<<20 || len(segFiles(t, dir)) < 4 {
		evs := chainPadded("org-a", last, 100, 700)
		mustAppend(t, s, "org-a", int64(n)-1, evs)
		last = &evs[len(evs)-1]
		n += len(evs)
	}
	u, err := s.Usage()
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	if left, _ := filepath.Glob(filepath.Join(dir, "*.tmp")); len(left) != 0 {
		t.Fatalf("files left after Close: %v", left)
	}
	segs := segFiles(t, dir)
	var data, files int64
	for i, seg := range segs {
		b, _ := os.ReadFile(seg)
		want := min(int64(1<<20)<<i, 4<<20)
		ends := frameEnds(b)
		end := ends[len(ends)-1]
		if int64(len(b)) != want || nonZeroEnd(b) > end || end >= int64(len(b)) {
			t.Fatalf("%s: %d bytes, frames to %d, non-zero bytes to %d; want %d bytes, zeros after the frames", filepath.Base(seg), len(b), end, nonZeroEnd(b), want)
		}
		if v := binary.LittleEndian.Uint32(b[8:]); v != 3 {
			t.Fatalf("%s: format version %d, want 3", filepath.Base(seg), v)
		}
		data += end
		files += int64(len(b))
		if i == len(segs)-1 {
			m, ok, err := filestore.ReadMark(nil, dir)
			if err != nil || !ok || m.Length != end || m.Head != uint64(n) {
				t.Fatalf("commit mark %+v, %v, %v; want %d bytes (the data end), position %d", m, ok, err, end, n)
			}
		}
	}
	if u.Segments != len(segs) || u.DataBytes != data || u.FileBytes != files {
		t.Fatalf("Usage = %+v; want %d segments, %d data bytes, %d file bytes", u, len(segs), data, files)
	}
	// The zeros were written, not left as holes: every block of every
	// segment is allocated (a sparse file would be allocated, and its
	// size change journaled, by the commits that fill it).
	for _, seg := range segs {
		fi, err := os.Stat(seg)
		if err != nil {
			t.Fatal(err)
		}
		if n, ok := allocatedBytes(fi); ok && n < fi.Size() {
			t.Fatalf("%s: %d of its %d bytes allocated: a sparse file, not zero-filled", filepath.Base(seg), n, fi.Size())
		}
	}
	s2 := open(t, dir, opts)
	if got := readAll(t, s2, 0); len(got) != n {
		t.Fatalf("%d events after reopen, want %d", len(got), n)
	}
	if err := s2.VerifyStorage(ctxT(t)); err != nil {
		t.Fatal(err)
	}
}

// TestSegmentsAreWrittenZeros checks on the in-memory FS, which records
// it, that no segment file was ever made longer without its bytes being
// written — created by Truncate, or written past its end — while a store
// rolls over through segments prepared in the background and at once.
func TestSegmentsAreWrittenZeros(t *testing.T) {
	m := newMemFS()
	s, err := filestore.Open(memDir, filestore.Options{FS: m, SegmentSize: 16 << 10})
	if err != nil {
		t.Fatal(err)
	}
	var last *ledger.Event
	for i := range 200 {
		evs := chainPadded("org-a", last, 1, 200)
		mustAppend(t, s, "org-a", int64(i)-1, evs)
		last = &evs[0]
	}
	s.Close()
	names := m.segmentNames(memDir)
	if len(names) < 4 {
		t.Fatalf("%d segments, want several", len(names))
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, n := range names {
		node := m.names[memDir+"/"+n]
		if node.holes || len(node.data) != 16<<10 {
			t.Fatalf("%s: %d bytes, holes %v; want 16 KiB of written bytes", n, len(node.data), node.holes)
		}
	}
}

// TestSparePreparedAhead: once a quarter of the active segment's space is
// used, the next segment's file is prepared in the background — written
// in full and synced under segment-spare.log.tmp — and the roll-over
// installs that very file.
func TestSparePreparedAhead(t *testing.T) {
	m := newMemFS()
	s, err := filestore.Open(memDir, filestore.Options{FS: m, SegmentSize: 64 << 10})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	spare := memDir + "/segment-spare.log.tmp"
	node := func() *memNode {
		m.mu.Lock()
		defer m.mu.Unlock()
		return m.names[spare]
	}
	var last *ledger.Event
	n := 0
	add := func() {
		evs := chainPadded("org-a", last, 1, 300)
		mustAppend(t, s, "org-a", int64(n)-1, evs)
		last = &evs[0]
		n++
	}
	for filestore.DataEnd(s) < 20<<10 { // a quarter, and an append after
		add()
	}
	var prepared *memNode
	for range 1000 {
		if sp := node(); sp != nil {
			m.mu.Lock()
			ready := len(sp.synced) == 64<<10 && string(sp.data) == string(sp.synced)
			m.mu.Unlock()
			if ready {
				prepared = sp
				break
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	if prepared == nil {
		t.Fatal("no spare of 64 KiB prepared and synced after a quarter of the segment was used")
	}
	for len(m.segmentNames(memDir)) < 2 {
		add()
	}
	name := memDir + "/" + m.segmentNames(memDir)[1]
	m.mu.Lock()
	installed := m.names[name]
	m.mu.Unlock()
	if installed != prepared || node() != nil {
		t.Fatal("the roll-over did not install the prepared spare")
	}
}

// freeImage is a store on the in-memory FS whose last frame is a large one
// (about 6.5 KiB: 14 sectors) at D..E of its only segment, in 64 KiB of
// file, and whose commit mark records D: the image of a process that wrote
// the frame and died. It returns the file system, the segment's path, D,
// E, and the number of events before the frame.
func freeImage(t *testing.T) (m *memFS, seg string, d, e int64, before int) {
	return freeImageWhere(t, nil)
}

// freeImageWhere is freeImage with a last frame for which want (when not
// nil) holds: tried with one event id after another until one does.
func freeImageWhere(t *testing.T, want func(frame []byte) bool) (m *memFS, seg string, d, e int64, before int) {
	t.Helper()
	for try := 0; try < 5000; try++ {
		opts := filestore.Options{SegmentSize: 64 << 10}
		m = newMemFS()
		opts.FS = m
		s, err := filestore.Open(memDir, opts)
		if err != nil {
			t.Fatal(err)
		}
		small := chain("org-small", nil, 5)
		for i := range small {
			mustAppend(t, s, "org-small", int64(i)-1, small[i:i+1])
		}
		d = filestore.DataEnd(s)
		s.Close()
		mark := string(readMem(m, memDir+"/COMMIT"))
		if s, err = filestore.Open(memDir, opts); err != nil {
			t.Fatal(err)
		}
		mustAppend(t, s, "org-big", ledger.NoStream, chainPadded("org-big", nil, 12, 400))
		e = filestore.DataEnd(s)
		s.Close()
		writeFileFS(t, m, memDir+"/COMMIT", []byte(mark))
		seg = memDir + "/segment-00000000000000000001.log"
		if e-d < 6000 || int64(len(readMem(m, seg))) != 64<<10 {
			t.Fatalf("frame %d..%d in a file of %d bytes", d, e, len(readMem(m, seg)))
		}
		if want == nil || want(readMem(m, seg)[d:e]) {
			return m.crash(true), seg, d, e, len(small)
		}
	}
	t.Fatal("no frame found as wanted")
	return
}

// checkCut opens the store on m, whose segment seg has its frames up to d
// and damaged bytes after them (the file as damaged: image), and checks
// that Open cut exactly those: head wantHead, the bytes from d to the last
// non-zero one saved in the side file named for them, zeros in their
// place, the file's size unchanged; that the store then takes an append,
// verifies, and reopens with everything.
func checkCut(t *testing.T, m *memFS, seg string, image []byte, d int64, wantHead int, how string) {
	t.Helper()
	s, err := filestore.Open(memDir, filestore.Options{FS: m, SegmentSize: 64 << 10})
	if err != nil {
		t.Fatalf("%s: Open: %v", how, err)
	}
	defer s.Close()
	if s.Head() != ledger.Position(wantHead) {
		t.Fatalf("%s: head %d, want %d", how, s.Head(), wantHead)
	}
	got := readMem(m, seg)
	if len(got) != len(image) || string(got[:d]) != string(image[:d]) || nonZeroEnd(got) > d {
		t.Fatalf("%s: segment is %d bytes, non-zero to %d; want the first %d as they were, zeros after, %d bytes", how, len(got), nonZeroEnd(got), d, len(image))
	}
	tf, err := s.TornFiles()
	if err != nil {
		t.Fatal(err)
	}
	if cut := image[d:max(d, nonZeroEnd(image))]; len(cut) > 0 {
		name := fmt.Sprintf("%s.torn-%d-%08x", filepath.Base(seg), d, crc32.Checksum(cut, crc32.MakeTable(crc32.Castagnoli)))
		if len(tf) != 1 || tf[0].Name != name || tf[0].Bytes != int64(len(cut)) || !tf[0].Intact {
			t.Fatalf("%s: TornFiles = %+v; want %s, %d bytes", how, tf, name, len(cut))
		}
		if side := readMem(m, memDir+"/"+name); string(side) != string(cut) {
			t.Fatalf("%s: side file holds %d bytes, want the %d cut", how, len(side), len(cut))
		}
	} else if len(tf) != 0 {
		t.Fatalf("%s: TornFiles = %+v for nothing but zeros", how, tf)
	}
	mustAppend(t, s, "org-after", ledger.NoStream, chain("org-after", nil, 2))
	if err := s.VerifyStorage(ctxT(t)); err != nil {
		t.Fatalf("%s: VerifyStorage: %v", how, err)
	}
	s.Close()
	s2, err := filestore.Open(memDir, filestore.Options{FS: m})
	if err != nil {
		t.Fatalf("%s: reopen: %v", how, err)
	}
	defer s2.Close()
	if s2.Head() != ledger.Position(wantHead+2) {
		t.Fatalf("%s: head %d after the append and reopen, want %d", how, s2.Head(), wantHead+2)
	}
}

// setFile replaces the bytes of the file name on m (synced).
func setFile(m *memFS, name string, b []byte) {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := m.names[name]
	n.data = slices.Clone(b)
	n.synced = slices.Clone(b)
}

// TestTornWriteIntoFreeSpace tears the final frame of freeImage — written
// into the segment's free space, past the commit mark — in the ways a
// crash can, and checks that Open cuts exactly that frame (checkCut):
//
//   - cut short: its first k bytes written, the zeros that were there
//     after them (k = 1 … its length - 1, among them a frame that is only
//     its 8-byte header);
//   - sectors read as zeros: each 512-byte sector of it written or still
//     zero, every combination of the first 3 and last 3 sectors with the
//     middle ones written, lost, or random (400 combinations);
//   - all written: the frame is whole and kept; none written: free space,
//     nothing cut.
func TestTornWriteIntoFreeSpace(t *testing.T) {
	base, seg, d, e, before := freeImage(t)
	whole := readMem(base, seg)
	try := func(how string, image []byte) {
		t.Helper()
		m := base.clone()
		setFile(m, seg, image)
		want := before
		if string(image) == string(whole) {
			want = before + 12
		}
		if string(image[d:e]) == string(whole[d:e]) && want == before {
			t.Fatalf("%s: not torn", how)
		}
		checkCut(t, m, seg, image, map[bool]int64{true: e, false: d}[want > before], want, how)
	}
	zeroed := func() []byte {
		b := slices.Clone(whole)
		clear(b[d:e])
		return b
	}
	try("whole", whole)
	try("nothing written", zeroed())
	ks := []int64{1, 4, 7, 8, 9, 100, 512, 513, e - d - 9, e - d - 8, e - d - 1}
	for k := int64(16); k < e-d; k += 97 {
		ks = append(ks, k)
	}
	for _, k := range ks {
		b := zeroed()
		copy(b[d:d+k], whole[d:d+k])
		how := fmt.Sprintf("first %d of %d bytes written", k, e-d)
		if k == 8 {
			how = "only the frame header written"
		}
		try(how, b)
	}
	// Sectors of the file the frame touches.
	var secs []int64
	for s := d / 512 * 512; s < e; s += 512 {
		secs = append(secs, s)
	}
	r := rand.New(rand.NewPCG(16, 1))
	for mask := range 64 {
		for _, middle := range []string{"written", "lost", "random"} {
			b := slices.Clone(whole)
			kept := make([]bool, len(secs))
			for i := range secs {
				switch {
				case i < 3:
					kept[i] = mask&(1<<i) != 0
				case i >= len(secs)-3:
					kept[i] = mask&(1<<(3+i-(len(secs)-3))) != 0
				case middle == "random":
					kept[i] = r.IntN(2) == 0
				default:
					kept[i] = middle == "written"
				}
				if !kept[i] {
					clear(b[max(secs[i], d):min(secs[i]+512, e)])
				}
			}
			if string(b) == string(whole) {
				continue // tried above
			}
			try(fmt.Sprintf("sectors kept %v", kept), b)
		}
	}
}

// TestFreeSpaceDamage: what a crash cannot leave in the free space of the
// last segment, past the commit mark. A valid frame after a bad one (here
// after zeros, or after a torn frame) proves the bad one was once durable:
// Open fails with a *CorruptError at the data end and changes nothing. A
// lone non-zero byte far into the free space (a flipped bit; a torn write
// whose other sectors were lost looks the same) is cut, its bytes saved,
// every frame kept.
func TestFreeSpaceDamage(t *testing.T) {
	base, seg, d, e, before := freeImage(t)
	whole := readMem(base, seg)
	frame := whole[d:e]
	for _, c := range []struct {
		name string
		at   int64 // where the copy of the frame goes
		torn int64 // bytes of the frame left at d
	}{{"a valid frame after zeros", d + 8192, 0}, {"a valid frame after a torn one", d + 8192, 100}, {"a valid frame right after the free space starts", d + 1, 0}} {
		t.Run(c.name, func(t *testing.T) {
			b := slices.Clone(whole)
			clear(b[d:])
			copy(b[d:], frame[:c.torn])
			copy(b[c.at:], frame)
			m := base.clone()
			setFile(m, seg, b)
			damaged := dataFiles(m)
			_, err := filestore.Open(memDir, filestore.Options{FS: m})
			var ce *filestore.CorruptError
			if !errors.As(err, &ce) || !errors.Is(err, ledger.ErrCorrupt) || ce.Segment != filepath.Base(seg) || ce.Offset != d ||
				!strings.Contains(err.Error(), fmt.Sprintf("a good frame follows at %d", c.at)) {
				t.Fatalf("Open: %v; want a *CorruptError at %d naming the frame at %d", err, d, c.at)
			}
			if got := dataFiles(m); len(got) != len(damaged) || got[seg] != damaged[seg] {
				t.Fatal("the failed Open changed the files")
			}
		})
	}
	// A complete frame damaged since it was written, past the mark: its
	// extent is vouched for by its header (with its table) when its
	// trailer is gone, or by its trailer when its header is: damage that
	// no lost sector explains is corruption.
	for _, c := range []struct {
		name string
		hurt func(b []byte)
	}{
		{"a complete frame with a damaged chunk, its trailer zeroed", func(b []byte) {
			b[d+100] ^= 1
			clear(b[e-8 : e])
		}},
		{"a complete frame with a damaged chunk, its header zeroed", func(b []byte) {
			b[d+100] ^= 1
			clear(b[d : d+8])
		}},
		{"a complete frame with its header zeroed", func(b []byte) {
			clear(b[d : d+8])
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			b := slices.Clone(whole)
			c.hurt(b)
			m := base.clone()
			setFile(m, seg, b)
			_, err := filestore.Open(memDir, filestore.Options{FS: m})
			var ce *filestore.CorruptError
			if !errors.As(err, &ce) || ce.Segment != filepath.Base(seg) || ce.Offset != d || !strings.Contains(err.Error(), "the frame is complete") {
				t.Fatalf("Open: %v; want a *CorruptError at %d saying the frame is complete", err, d)
			}
		})
	}
	t.Run("a complete frame ending in zero bytes, its header zeroed", func(t *testing.T) {
		// Its trailer's last bytes (the top bytes of C) are zeros, so its
		// bytes seem to end before it does: its end is still found, 8
		// bytes or fewer after them, where its trailer fits.
		base, seg, d, e, _ := freeImageWhere(t, func(f []byte) bool { return f[len(f)-1] == 0 })
		b := slices.Clone(readMem(base, seg))
		clear(b[d : d+8])
		m := base.clone()
		setFile(m, seg, b)
		_, err := filestore.Open(memDir, filestore.Options{FS: m})
		var ce *filestore.CorruptError
		if !errors.As(err, &ce) || ce.Offset != d || !strings.Contains(err.Error(), "the frame is complete") {
			t.Fatalf("Open of a frame %d..%d with its header zeroed: %v; want a *CorruptError at %d saying the frame is complete", d, e, err, d)
		}
	})
	t.Run("a non-zero byte far into the free space", func(t *testing.T) {
		for _, at := range []int64{e, e + 1000, int64(len(whole)) - 1} {
			b := slices.Clone(whole)
			b[at] = 0x40
			m := base.clone()
			setFile(m, seg, b)
			checkCut(t, m, seg, b, e, before+12, fmt.Sprintf("byte %d set", at))
		}
	})
}

// TestReopenManyTimes opens a store on disk, appends a few events of
// random sizes, closes it, and again, 60 times, across roll-overs of 4 KiB
// segments and of segments large enough that a spare is prepared and
// dropped by Close: every reopen finds every event, verifies, has cut
// nothing, and leaves no *.tmp behind; every segment ends in free space
// and the commit mark records the data end.
func TestReopenManyTimes(t *testing.T) {
	for _, size := range []int64{4 << 10, 64 << 10} {
		t.Run(fmt.Sprintf("segments of %d bytes", size), func(t *testing.T) {
			dir := t.TempDir()
			opts := filestore.Options{SegmentSize: size}
			r := rand.New(rand.NewPCG(uint64(size), 2))
			var want []uuid.UUID
			last := map[string]*ledger.Event{}
			for cycle := range 60 {
				s := open(t, dir, opts)
				if got := readAll(t, s, 0); len(got) != len(want) {
					t.Fatalf("cycle %d: %d events after reopen, want %d", cycle, len(got), len(want))
				} else {
					for i := range got {
						if got[i].ID != want[i] {
							t.Fatalf("cycle %d: event %d is %s, want %s", cycle, i+1, got[i].ID, want[i])
						}
					}
				}
				if cycle%10 == 0 {
					if err := s.VerifyStorage(ctxT(t)); err != nil {
						t.Fatalf("cycle %d: %v", cycle, err)
					}
				}
				for range 1 + r.IntN(8) {
					stream := fmt.Sprintf("org-%d", r.IntN(3))
					evs := chainPadded(stream, last[stream], 1+r.IntN(3), r.IntN(600))
					expected := ledger.NoStream
					if l := last[stream]; l != nil {
						expected = int64(l.Revision)
					}
					mustAppend(t, s, stream, expected, evs)
					last[stream] = &evs[len(evs)-1]
					for _, e := range evs {
						want = append(want, e.ID)
					}
				}
				if err := s.Close(); err != nil {
					t.Fatalf("cycle %d: Close: %v", cycle, err)
				}
				if left, _ := filepath.Glob(filepath.Join(dir, "*.tmp")); len(left) != 0 {
					t.Fatalf("cycle %d: left after Close: %v", cycle, left)
				}
				if tf, err := filestore.TornFiles(dir); err != nil || len(tf) != 0 {
					t.Fatalf("cycle %d: TornFiles = %v, %v", cycle, tf, err)
				}
			}
			segs := segFiles(t, dir)
			if len(segs) < 3 {
				t.Fatalf("%d segments, want several", len(segs))
			}
			for _, seg := range segs {
				b, _ := os.ReadFile(seg)
				ends := frameEnds(b)
				if len(ends) == 0 || nonZeroEnd(b) > ends[len(ends)-1] {
					t.Fatalf("%s: frames %v, non-zero bytes to %d of %d", filepath.Base(seg), ends, nonZeroEnd(b), len(b))
				}
			}
		})
	}
}

// TestOpenReadOnlyBesideAppends opens the store read-only again and again
// while eight goroutines append to it and it rolls over to new segments
// (4 KiB): every read-only open succeeds, sees every event acknowledged
// before it began, a prefix of the log without gaps, and verifies (the
// free space of each sealed segment read as such); the writer's store
// verifies at the end.
func TestOpenReadOnlyBesideAppends(t *testing.T) {
	dir := t.TempDir()
	w := open(t, dir, filestore.Options{SegmentSize: 4 << 10})
	var (
		mu    sync.Mutex
		acked = map[uuid.UUID]bool{}
		stop  atomic.Bool
		wg    sync.WaitGroup
	)
	errs := make(chan error, 8)
	done := make(chan struct{})
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			stream := fmt.Sprintf("org-%d", g)
			var last *ledger.Event
			for i := 0; !stop.Load() && i < 200; i++ {
				evs := chain(stream, last, 1+i%2)
				expected := ledger.NoStream
				if last != nil {
					expected = int64(last.Revision)
				}
				if _, err := w.Append(context.Background(), stream, expected, evs); err != nil {
					errs <- err
					return
				}
				last = &evs[len(evs)-1]
				mu.Lock()
				for _, e := range evs {
					acked[e.ID] = true
				}
				mu.Unlock()
			}
		}()
	}
	go func() {
		wg.Wait()
		close(done)
	}()
	reads := 0
	for finished := false; !finished; reads++ {
		select {
		case <-done:
			finished = true // one more read of the whole log
		default:
		}
		mu.Lock()
		before := make([]uuid.UUID, 0, len(acked))
		for id := range acked {
			before = append(before, id)
		}
		mu.Unlock()
		r, err := filestore.OpenReadOnly(dir, filestore.Options{})
		if err != nil {
			stop.Store(true)
			t.Fatalf("read-only open %d beside the writer: %v", reads, err)
		}
		got := readAll(t, r, 0)
		seen := map[uuid.UUID]bool{}
		for i, e := range got {
			if e.Position != ledger.Position(i+1) {
				t.Fatalf("read-only open %d: event %d at position %d", reads, i+1, e.Position)
			}
			seen[e.ID] = true
		}
		for _, id := range before {
			if !seen[id] {
				t.Fatalf("read-only open %d: event %s, acknowledged before it opened, is not seen (%d events)", reads, id, len(got))
			}
		}
		if err := r.VerifyStorage(ctxT(t)); err != nil {
			t.Fatalf("read-only open %d: VerifyStorage: %v", reads, err)
		}
		r.Close()
	}
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if err := w.VerifyStorage(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	if segs := len(segFiles(t, dir)); reads < 5 || segs < 10 {
		t.Fatalf("%d read-only opens beside the writer while it wrote %d segments; want more of both", reads, segs)
	}
	t.Logf("%d read-only opens beside the writer, %d segments, %d events", reads, len(segFiles(t, dir)), len(acked))
}

// TestPowerLossAtEveryOp cuts the power at every operation, one after the
// other (the 1st, the 2nd, …), of a store that is opened and then appended
// to by one writer through a dozen roll-overs of 1 KiB segments —
// creating the first segment, preparing spares in the background,
// installing them, writing frames into their free space, writing the
// commit mark — and checks each image as TestPowerLoss does (plCheck):
// after the process died, and after four power losses of different kinds.
func TestPowerLossAtEveryOp(t *testing.T) {
	ops := 320
	if testing.Short() {
		ops = 80
	}
	var st plStats
	cuts := 0
	for n := 1; n <= ops; n++ {
		fsys := newMemFS()
		fsys.cutPowerAt(n, "")
		acked := map[ledger.Position]uuid.UUID{}
		var marked *uint64
		s, err := filestore.Open(memDir, plOpts(fsys))
		if err == nil {
			h := uint64(s.Head())
			marked = &h
			werr := plAppend(s, uint64(n), 0, 1, acked, &st)
			s.Close()
			if werr != nil {
				t.Fatalf("power cut at op %d: %v", n, werr)
			}
		} else if !errors.Is(err, errPowerLost) {
			t.Fatalf("power cut at op %d: open: %v", n, err)
		}
		written, err := plRead(fsys.crash(true))
		if err != nil {
			t.Fatalf("power cut at op %d: the image a process crash leaves: %v", n, err)
		}
		if _, _, err := plCheck(fsys.crash(true), written, acked, nil, map[string]string{}, marked); err != nil {
			t.Fatalf("power cut at op %d, process crash: %v", n, err)
		}
		for seed := range uint64(4) {
			img, how := fsys.powerLoss(rand.New(rand.NewPCG(uint64(n), seed)))
			_, cut, err := plCheck(img.clone(), written, acked, nil, map[string]string{}, marked)
			if err != nil {
				t.Fatalf("power cut at op %d, power lost (%s): %v", n, how, err)
			}
			cuts += len(cut)
		}
	}
	t.Logf("power cut at each of the first %d operations; %d events acknowledged in all, %d torn tails cut", ops, st.acked, cuts)
}

// TestVersion2Store opens a store written in format version 2, before
// segments were preallocated (testdata/v2store: 27 events in nine
// segments whose frames run to the end of the file, closed cleanly):
// every event reads back and verifies, the independent decoder agrees, the
// old segments are left byte for byte as they were, and new frames go to a
// new, preallocated version-3 segment.
func TestVersion2Store(t *testing.T) {
	dir := copyDir(t, "testdata/v2store")
	before := map[string]string{}
	for _, seg := range segFiles(t, dir) {
		b, _ := os.ReadFile(seg)
		if binary.LittleEndian.Uint32(b[8:]) != 2 {
			t.Fatalf("%s is not a version-2 segment", seg)
		}
		before[seg] = string(b)
	}
	s := open(t, dir, filestore.Options{SegmentSize: 1024})
	if got := len(readAll(t, s, 0)); got != 27 {
		t.Fatalf("%d events read from the version-2 store, want 27", got)
	}
	compareDecoded(t, s, dir)
	if _, err := ledger.New(s, ledger.Options{}).Verify(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	last, err := s.LastEvent(ctxT(t), "org-2")
	if err != nil {
		t.Fatal(err)
	}
	mustAppend(t, s, "org-2", int64(last.Revision), chain("org-2", &last, 2))
	s.Close()
	segs := segFiles(t, dir)
	if len(segs) != len(before)+1 {
		t.Fatalf("segments %v, want the %d version-2 ones and a new one", segs, len(before))
	}
	for _, seg := range segs[:len(before)] {
		if b, _ := os.ReadFile(seg); string(b) != before[seg] {
			t.Fatalf("%s changed", filepath.Base(seg))
		}
	}
	b, _ := os.ReadFile(segs[len(segs)-1])
	if v := binary.LittleEndian.Uint32(b[8:]); v != 3 || len(b) != 1024 || !strings.HasSuffix(segs[len(segs)-1], fmt.Sprintf("%020d.log", 28)) {
		t.Fatalf("new segment %s: version %d, %d bytes; want version 3, 1024 bytes, starting at 28", filepath.Base(segs[len(segs)-1]), v, len(b))
	}
	s2 := open(t, dir, filestore.Options{SegmentSize: 1024})
	if got := len(readAll(t, s2, 0)); got != 29 {
		t.Fatalf("%d events after the append, want 29", got)
	}
	compareDecoded(t, s2, dir)
	if err := s2.VerifyStorage(ctxT(t)); err != nil {
		t.Fatal(err)
	}
}

// TestSpareLeftovers: a spare left by a process that died while preparing
// it (segment-spare.log.tmp, zeros or partly written) is removed by Open,
// ignored by OpenReadOnly, and never taken for a segment.
func TestSpareLeftovers(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir, filestore.Options{SegmentSize: 64 << 10})
	mustAppend(t, s, "org-a", ledger.NoStream, chain("org-a", nil, 3))
	s.Close()
	spare := filepath.Join(dir, "segment-spare.log.tmp")
	if err := os.WriteFile(spare, make([]byte, 5000), 0o644); err != nil {
		t.Fatal(err)
	}
	r, err := filestore.OpenReadOnly(dir, filestore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, r, 0); len(got) != 3 {
		t.Fatalf("read-only: %d events", len(got))
	}
	r.Close()
	if _, err := os.Stat(spare); err != nil {
		t.Fatalf("the read-only open removed the spare: %v", err)
	}
	s2 := open(t, dir, filestore.Options{SegmentSize: 64 << 10})
	if _, err := os.Stat(spare); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("Open left the spare: %v", err)
	}
	if got := readAll(t, s2, 0); len(got) != 3 {
		t.Fatalf("%d events", len(got))
	}
}
