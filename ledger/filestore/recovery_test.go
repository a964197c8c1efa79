package filestore_test

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"partyledger/ledger"
	"partyledger/ledger/filestore"
)

// logWithRecords writes records single-frame appends (mostly one event,
// every fifth two) to a fresh store in dir on fsys, in one segment of 16
// KiB, and returns the events of each frame and where the segment's frames
// end after each one: the frame boundaries. Zeros (free space) follow the
// frames to the end of the file.
func logWithRecords(t *testing.T, fsys filestore.FS, dir string, records int) (frames [][]ledger.Event, ends []int64, segPath string) {
	t.Helper()
	s, err := filestore.Open(dir, filestore.Options{FS: fsys, SegmentSize: 16 << 10})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	names, _ := fsys.ReadDir(dir)
	for _, n := range names {
		if strings.HasSuffix(n, ".log") {
			segPath = filepath.Join(dir, n)
		}
	}
	last := map[string]*ledger.Event{}
	for i := 0; i < records; i++ {
		stream := fmt.Sprintf("org-%d", i%3)
		evs := chain(stream, last[stream], 1+btoi(i%5 == 4))
		expected := ledger.NoStream
		if l := last[stream]; l != nil {
			expected = int64(l.Revision)
		}
		mustAppend(t, s, stream, expected, evs)
		last[stream] = &evs[len(evs)-1]
		frames = append(frames, evs)
		ends = append(ends, filestore.DataEnd(s))
	}
	return frames, ends, segPath
}

// frameEnds returns where the frames of the segment bytes b (format
// version 2 or 3) end, one after the other, read by their lengths up to
// the free space or the end of b.
func frameEnds(b []byte) []int64 {
	var out []int64
	for off := 32; off+8 <= len(b); {
		l := int(binary.LittleEndian.Uint32(b[off:]))
		if l == 0 {
			break
		}
		off += 8 + l + 4*((l+4095)/4096) + 8
		out = append(out, int64(off))
	}
	return out
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

func readFileFS(t *testing.T, fsys filestore.FS, name string) []byte {
	t.Helper()
	f, err := fsys.OpenFile(name, os.O_RDONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	size, _ := f.Size()
	b := make([]byte, size)
	if _, err := f.ReadAt(b, 0); err != nil {
		t.Fatal(err)
	}
	return b
}

func writeFileFS(t *testing.T, fsys filestore.FS, name string, data []byte) {
	t.Helper()
	f, err := fsys.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt(data, 0); err != nil {
		t.Fatal(err)
	}
	f.Close()
}

// checkTornAt damages the log image (the segment file: frames, then zeros)
// from cut on (how, see below), opens it, and checks that it recovers
// exactly: the head is the last event of the last frame that ends at or
// before the first damaged byte; the segment is byte for byte the image up
// to that frame's end, followed by zeros to the damaged file's end (the cut
// bytes are free space again); and the cut bytes — from that frame's end
// to the last non-zero byte — are in the side file named for them. With
// full it also reads every event back, and checks that the store takes an
// append and verifies.
//
// how: "truncated", the file ends at cut (a write that extended the file,
// cut short); "zeroed", zeros from cut on (a write into the free space cut
// short: what it did not write still reads as the zeros that were there);
// "garbage", random bytes from cut to the end of the frames, zeros after.
func checkTornAt(t *testing.T, fsys filestore.FS, dir, segPath string, image []byte, cut int64, how string, frames [][]ledger.Event, ends []int64, full bool) {
	t.Helper()
	var damaged []byte
	switch how {
	case "truncated":
		damaged = image[:cut]
	case "zeroed":
		damaged = append(append([]byte{}, image[:cut]...), make([]byte, int64(len(image))-cut)...)
	case "garbage":
		damaged = append([]byte{}, image...)
		r := rand.New(rand.NewPCG(uint64(cut), 7))
		for i := cut; i < ends[len(ends)-1]; i++ {
			damaged[i] = byte(r.Uint32())
		}
	}
	names, _ := fsys.ReadDir(dir)
	for _, n := range names {
		fsys.Remove(filepath.Join(dir, n))
	}
	writeFileFS(t, fsys, segPath, damaged)
	s, err := filestore.Open(dir, filestore.Options{FS: fsys, SegmentSize: 16 << 10})
	if err != nil {
		t.Fatalf("cut at %d (%s): Open: %v", cut, how, err)
	}
	defer s.Close()
	// Zeros or garbage that happen to equal the bytes they replace (the
	// last byte of a frame, a CRC byte, may be zero) damage nothing: the
	// damage starts at the first byte that differs.
	eff := cut
	for eff < int64(len(image)) && eff < int64(len(damaged)) && damaged[eff] == image[eff] {
		eff++
	}
	var want []ledger.Event
	var keep int64 // where the recovered segment's frames end
	for i, end := range ends {
		if end <= eff {
			want = append(want, frames[i]...)
			keep = end
		}
	}
	if keep == 0 {
		t.Fatalf("cut at %d: before the first frame tested", cut)
	}
	if s.Head() != ledger.Position(len(want)) {
		t.Fatalf("cut at %d (%s): head %d, want %d", cut, how, s.Head(), len(want))
	}
	// (The kept frames may themselves end in a zero byte — a trailer's
	// CRC byte —, so their end is at or after the last non-zero byte.)
	if got := readFileFS(t, fsys, segPath); len(got) != len(damaged) || string(got[:keep]) != string(image[:keep]) || nonZeroEnd(got) > keep {
		t.Fatalf("cut at %d (%s): segment is %d bytes, its frames end at %d; want the first %d of the image, zeros after, %d bytes in all", cut, how, len(got), nonZeroEnd(got), keep, len(damaged))
	}
	sides, _ := fsys.ReadDir(dir)
	var side []string
	for _, n := range sides {
		if strings.Contains(n, ".torn-") {
			side = append(side, n)
		}
	}
	if tail := damaged[keep:max(keep, nonZeroEnd(damaged))]; len(tail) > 0 {
		name := fmt.Sprintf("%s.torn-%d-%08x", filepath.Base(segPath), keep, crc32.Checksum(tail, crc32.MakeTable(crc32.Castagnoli)))
		if len(side) != 1 || side[0] != name {
			t.Fatalf("cut at %d (%s): side files %v, want %s", cut, how, side, name)
		}
		if got := readFileFS(t, fsys, filepath.Join(dir, name)); string(got) != string(tail) {
			t.Fatalf("cut at %d (%s): side file holds %d bytes, want the %d cut", cut, how, len(got), len(tail))
		}
	} else if len(side) != 0 {
		t.Fatalf("cut at %d (%s): side files %v for nothing but zeros", cut, how, side)
	}
	if !full {
		return
	}
	got := readAll(t, s, 0)
	if len(got) != len(want) {
		t.Fatalf("cut at %d (%s): %d events, want %d", cut, how, len(got), len(want))
	}
	for i := range got {
		if got[i].ID != want[i].ID {
			t.Fatalf("cut at %d (%s): event %d is %s, want %s", cut, how, i, got[i].ID, want[i].ID)
		}
	}
	mustAppend(t, s, "org-after", ledger.NoStream, chain("org-after", nil, 1))
	if err := s.VerifyStorage(ctxT(t)); err != nil {
		t.Fatalf("cut at %d (%s): VerifyStorage after append: %v", cut, how, err)
	}
}

// TestTornTail cuts the log at every byte offset inside its last frames
// and reopens: the store must hold exactly the complete frames before the
// cut, byte for byte, with the cut bytes in a side file and zeros in their
// place (checkTornAt), and accept appends afterwards (checked at every 7th
// offset). On the in-memory FS (no fsync cost) it covers the last 32
// frames (6 with -short), with the tail truncated, zeroed (a frame cut
// short followed by the free space's zeros), or overwritten with garbage;
// on the real file system the last 3, truncated or zeroed.
func TestTornTail(t *testing.T) {
	run := func(t *testing.T, fsys filestore.FS, dir string, records, last int, hows []string, appendEvery int64) {
		frames, ends, segPath := logWithRecords(t, fsys, dir, records)
		image := readFileFS(t, fsys, segPath)
		if nonZeroEnd(image) > ends[len(ends)-1] || len(image) != 16<<10 {
			t.Fatalf("segment is %d bytes ending in %d zeros, last frame ends at %d", len(image), int64(len(image))-nonZeroEnd(image), ends[len(ends)-1])
		}
		from := ends[records-last-1]
		for _, how := range hows {
			t.Run(how, func(t *testing.T) {
				for cut := from; cut < ends[len(ends)-1]; cut++ {
					checkTornAt(t, fsys, dir, segPath, image, cut, how, frames, ends, (cut-from)%appendEvery == 0)
				}
			})
		}
	}
	t.Run("os, last 3 frames", func(t *testing.T) {
		run(t, filestore.OSFS{}, t.TempDir(), 10, 3, []string{"zeroed", "truncated"}, 7)
	})
	t.Run("memfs, last 32 frames", func(t *testing.T) {
		last := 32
		if testing.Short() {
			last = 6
		}
		run(t, newMemFS(), memDir, 40, last, []string{"zeroed", "truncated", "garbage"}, 7)
	})
	t.Run("torn bytes are kept beside the segment", func(t *testing.T) {
		dir := t.TempDir()
		frames, ends, segPath := logWithRecords(t, filestore.OSFS{}, dir, 5)
		image, _ := os.ReadFile(segPath)
		cut := ends[3] + 10
		zeroFrom(t, segPath, cut)
		// The commit mark written by Close records every frame as
		// complete, and would rightly refuse the cut (TestCorruption);
		// without it the tail is judged by the frames alone, as after a
		// crash.
		if err := os.Remove(filepath.Join(dir, "COMMIT")); err != nil {
			t.Fatal(err)
		}
		s := open(t, dir, filestore.Options{})
		if got := readAll(t, s, 0); len(got) != len(frames[0])+len(frames[1])+len(frames[2])+len(frames[3]) {
			t.Fatalf("%d events", len(got))
		}
		side, _ := filepath.Glob(segPath + ".torn-*")
		if len(side) != 1 {
			t.Fatalf("side files %v, want one", side)
		}
		b, _ := os.ReadFile(side[0])
		if string(b) != string(image[ends[3]:nonZeroEnd(image[:cut])]) {
			t.Fatalf("side file holds %d bytes, want the %d torn ones", len(b), nonZeroEnd(image[:cut])-ends[3])
		}
		if got, _ := os.ReadFile(segPath); len(got) != len(image) || nonZeroEnd(got) > ends[3] {
			t.Fatalf("segment is %d bytes with frames to %d, want %d with zeros from %d", len(got), nonZeroEnd(got), len(image), ends[3])
		}
	})
}

func flipByte(t *testing.T, path string, off int64) {
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
	b[0] ^= 0x20
	if _, err := f.WriteAt(b, off); err != nil {
		t.Fatal(err)
	}
}

func wantCorrupt(t *testing.T, err error, segment string, offset int64) {
	t.Helper()
	var ce *filestore.CorruptError
	if !errors.Is(err, ledger.ErrCorrupt) || !errors.As(err, &ce) {
		t.Fatalf("err = %v, want a *CorruptError (ErrCorrupt)", err)
	}
	if ce.Segment != segment || (offset >= 0 && ce.Offset != offset) {
		t.Fatalf("corruption reported in %s at %d, want %s at %d (%v)", ce.Segment, ce.Offset, segment, offset, err)
	}
	if !strings.Contains(err.Error(), segment) || !strings.Contains(err.Error(), fmt.Sprint(ce.Offset)) {
		t.Fatalf("error %q does not name the segment and offset", err)
	}
}

// TestCorruption damages committed data before the tail: Open must fail
// with ErrCorrupt naming the file and offset, and leave the files as they
// were.
func TestCorruption(t *testing.T) {
	t.Run("flipped byte in an early frame", func(t *testing.T) {
		// Without its index Open reads every frame; with it, the frame
		// is checked when read and by VerifyStorage (TestIndexDamagedFrame).
		dir := t.TempDir()
		_, ends, segPath := logWithRecords(t, filestore.OSFS{}, dir, 10)
		removeIndexFiles(t, dir)
		for _, off := range []int64{ends[1], ends[1] + 3, ends[1] + 6, ends[1] + 40, ends[2] - 1} {
			flipByte(t, segPath, off)
			before, _ := os.ReadFile(segPath)
			_, err := filestore.Open(dir, filestore.Options{})
			wantCorrupt(t, err, filepath.Base(segPath), ends[1])
			if after, _ := os.ReadFile(segPath); string(after) != string(before) {
				t.Fatalf("a failed Open changed the segment")
			}
			flipByte(t, segPath, off) // restore
		}
		s := open(t, dir, filestore.Options{})
		if err := s.VerifyStorage(ctxT(t)); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("bad segment header", func(t *testing.T) {
		dir := t.TempDir()
		_, _, segPath := logWithRecords(t, filestore.OSFS{}, dir, 3)
		flipByte(t, segPath, 2)
		_, err := filestore.Open(dir, filestore.Options{})
		wantCorrupt(t, err, filepath.Base(segPath), 0)
	})

	multi := func(t *testing.T) (string, []string) {
		dir := t.TempDir()
		s := open(t, dir, filestore.Options{SegmentSize: 1024})
		var last *ledger.Event
		for i := 0; i < 30; i++ {
			evs := chain("org-a", last, 1)
			mustAppend(t, s, "org-a", int64(i)-1, evs)
			last = &evs[0]
		}
		s.Close()
		segs, _ := filepath.Glob(filepath.Join(dir, "segment-*.log"))
		if len(segs) < 3 {
			t.Fatalf("%d segments, want 3 or more", len(segs))
		}
		return dir, segs
	}
	t.Run("damaged last frame of a sealed segment", func(t *testing.T) {
		dir, segs := multi(t)
		before, _ := os.ReadFile(segs[0])
		ends := frameEnds(before)
		flipByte(t, segs[0], ends[len(ends)-1]-1)
		_, err := filestore.Open(dir, filestore.Options{})
		wantCorrupt(t, err, filepath.Base(segs[0]), -1)
		if after, _ := os.ReadFile(segs[0]); len(after) != len(before) {
			t.Fatal("sealed segment was truncated")
		}
	})
	t.Run("non-zero byte in the free space of a sealed segment", func(t *testing.T) {
		dir, segs := multi(t)
		b, _ := os.ReadFile(segs[1])
		ends := frameEnds(b)
		end := ends[len(ends)-1]
		if int64(len(b)) <= end {
			t.Fatalf("%s has no free space", segs[1])
		}
		for _, off := range []int64{end, int64(len(b)) - 1} {
			flipByte(t, segs[1], off)
			_, err := filestore.Open(dir, filestore.Options{})
			wantCorrupt(t, err, filepath.Base(segs[1]), end)
			flipByte(t, segs[1], off)
		}
	})
	t.Run("truncated sealed segment", func(t *testing.T) {
		dir, segs := multi(t)
		b, _ := os.ReadFile(segs[1])
		ends := frameEnds(b)
		os.Truncate(segs[1], ends[len(ends)-1]-5)
		_, err := filestore.Open(dir, filestore.Options{})
		wantCorrupt(t, err, filepath.Base(segs[1]), -1)
	})
	t.Run("sealed segment zeroed from a frame on", func(t *testing.T) {
		// Zeros where frames were read as free space: the segment's
		// frames end early, and the next segment does not follow.
		dir, segs := multi(t)
		b, _ := os.ReadFile(segs[1])
		ends := frameEnds(b)
		zeroFrom(t, segs[1], ends[0])
		_, err := filestore.Open(dir, filestore.Options{})
		wantCorrupt(t, err, filepath.Base(segs[2]), 0)
	})
	t.Run("missing segment", func(t *testing.T) {
		dir, segs := multi(t)
		os.Remove(segs[1])
		_, err := filestore.Open(dir, filestore.Options{})
		wantCorrupt(t, err, filepath.Base(segs[2]), 0)
	})
	t.Run("VerifyStorage finds damage after open", func(t *testing.T) {
		dir := t.TempDir()
		_, ends, segPath := logWithRecords(t, filestore.OSFS{}, dir, 10)
		s := open(t, dir, filestore.Options{})
		if err := s.VerifyStorage(ctxT(t)); err != nil {
			t.Fatal(err)
		}
		flipByte(t, segPath, ends[4]+50)
		wantCorrupt(t, s.VerifyStorage(ctxT(t)), filepath.Base(segPath), ends[4])
		var readErr error
		for _, err := range s.ReadAll(ctxT(t), 0) {
			readErr = err
		}
		wantCorrupt(t, readErr, filepath.Base(segPath), ends[4])
	})
	t.Run("damaged final frame of a closed store", func(t *testing.T) {
		// Close recorded every frame as complete in the commit mark:
		// damage anywhere in the final frame, its last byte included, is
		// corruption.
		dir := t.TempDir()
		_, ends, segPath := logWithRecords(t, filestore.OSFS{}, dir, 4)
		for _, off := range []int64{ends[2], ends[2] + 3, ends[2] + 40, ends[3] - 9, ends[3] - 1} {
			flipByte(t, segPath, off)
			_, err := filestore.Open(dir, filestore.Options{})
			wantCorrupt(t, err, filepath.Base(segPath), ends[2])
			if side, _ := filepath.Glob(segPath + ".torn-*"); len(side) != 0 {
				t.Fatalf("side files %v", side)
			}
			flipByte(t, segPath, off)
		}
	})
	t.Run("damaged final frame past the commit mark", func(t *testing.T) {
		// Without the mark, the final frame is judged by its own
		// evidence: its header and trailer vouch for its extent, so damage
		// inside it is corruption — except in the trailer's copy of the
		// header (its last 8 bytes), which cannot be told from a write cut
		// short there: that is cut off, and kept beside the segment.
		dir := t.TempDir()
		frames, ends, segPath := logWithRecords(t, filestore.OSFS{}, dir, 4)
		if err := os.Remove(filepath.Join(dir, "COMMIT")); err != nil {
			t.Fatal(err)
		}
		for _, off := range []int64{ends[2], ends[2] + 5, ends[2] + 40, ends[3] - 12, ends[3] - 9} {
			flipByte(t, segPath, off)
			_, err := filestore.Open(dir, filestore.Options{})
			wantCorrupt(t, err, filepath.Base(segPath), ends[2])
			flipByte(t, segPath, off)
		}
		flipByte(t, segPath, ends[3]-1)
		s := open(t, dir, filestore.Options{})
		if got := readAll(t, s, 0); len(got) != len(frames[0])+len(frames[1])+len(frames[2]) {
			t.Fatalf("%d events", len(got))
		}
		if side, _ := filepath.Glob(segPath + ".torn-*"); len(side) != 1 {
			t.Fatalf("side files %v", side)
		}
	})
	t.Run("truncated below the commit mark", func(t *testing.T) {
		// Cutting whole frames off the end leaves a valid-looking log;
		// the mark Close wrote says it was longer.
		dir := t.TempDir()
		_, ends, segPath := logWithRecords(t, filestore.OSFS{}, dir, 6)
		image, _ := os.ReadFile(segPath)
		for _, zero := range []bool{true, false} {
			for _, cut := range []int64{ends[4], ends[4] + 10, ends[2]} {
				if zero {
					// Zeros where frames were, before the mark: they
					// are not free space.
					zeroFrom(t, segPath, cut)
				} else if err := os.Truncate(segPath, cut); err != nil {
					t.Fatal(err)
				}
				_, err := filestore.Open(dir, filestore.Options{})
				at := cut
				if cut != ends[4] && cut != ends[2] {
					at = ends[4] // the cut-short frame, before the mark
				}
				wantCorrupt(t, err, filepath.Base(segPath), at)
				if err := os.WriteFile(segPath, image, 0o644); err != nil {
					t.Fatal(err)
				}
			}
		}
	})
	t.Run("last segment removed", func(t *testing.T) {
		dir, segs := multi(t)
		os.Remove(segs[len(segs)-1])
		_, err := filestore.Open(dir, filestore.Options{})
		wantCorrupt(t, err, filepath.Base(segs[len(segs)-1]), 0)
	})
	t.Run("commit mark with no valid slot", func(t *testing.T) {
		dir, _ := multi(t)
		if err := os.WriteFile(filepath.Join(dir, "COMMIT"), make([]byte, 4160), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := filestore.Open(dir, filestore.Options{})
		wantCorrupt(t, err, "COMMIT", 0)
	})
}
