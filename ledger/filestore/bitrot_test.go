package filestore_test

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"maps"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"partyledger/ledger"
	"partyledger/ledger/filestore"
)

// rotOpts keep segments small so that the 48 records of rotImage fill
// several of them, sealed ones and the last one.
func rotOpts(m *memFS) filestore.Options {
	return filestore.Options{FS: m, SegmentSize: 2048}
}

// rotFrame is one frame of rotImage, located in its file.
type rotFrame struct {
	seg      string // path of the segment
	off, end int64  // the frame's bytes
	bodyEnd  int64  // where its chunk checksum table starts
	final    bool   // the last frame of the last segment
	first    int    // number of events before the frame
	events   []rotEvent
}

// rotFree is the free space of a segment of rotImage: zeros from the end
// of its frames to the end of the file.
type rotFree struct {
	seg      string
	from, to int64
	last     bool // in the last segment
}

// rotEvent is one event of a frame, with the file offsets of its fields.
type rotEvent struct {
	stream   string
	revision uint64
	position ledger.Position
	fields   map[string][2]int64 // field → [start, end) in the segment file
}

// rotImage writes 48 single-frame appends (one or two events, three
// streams) to a store on the in-memory FS and returns the store's file
// system, its segment paths, its frames and the free space of each
// segment, parsed from the bytes as doc.go describes them. With closed the
// store is closed, so the commit mark covers every frame; without, the
// image is what a killed process leaves, the mark as written when the last
// segment was started.
func rotImage(t testing.TB, closed bool) (*memFS, []string, []rotFrame, []rotFree) {
	t.Helper()
	m := newMemFS()
	s, err := filestore.Open(memDir, rotOpts(m))
	if err != nil {
		t.Fatal(err)
	}
	last := map[string]*ledger.Event{}
	for i := range 48 {
		stream := fmt.Sprintf("org-%d", i%3)
		evs := chain(stream, last[stream], 1+btoi(i%4 == 3))
		expected := ledger.NoStream
		if l := last[stream]; l != nil {
			expected = int64(l.Revision)
		}
		mustAppend(t, s, stream, expected, evs)
		last[stream] = &evs[len(evs)-1]
	}
	if closed {
		s.Close()
		m = m.crash(false) // all synced: the same, with nothing pending
	} else {
		img := m.crash(true)
		s.Close()
		m = img
	}
	var segs []string
	for _, n := range m.segmentNames(memDir) {
		segs = append(segs, memDir+"/"+n)
	}
	if len(segs) < 3 {
		t.Fatalf("%d segments, want 3 or more", len(segs))
	}
	le := binary.LittleEndian
	var frames []rotFrame
	var free []rotFree
	events := 0
	for si, seg := range segs {
		b := readMem(m, seg)
		for off := 32; off <= len(b); {
			if off+8 > len(b) || le.Uint64(b[off:]) == 0 {
				for _, c := range b[off:] {
					if c != 0 {
						t.Fatalf("%s: free space from %d holds a non-zero byte", seg, off)
					}
				}
				if off == len(b) {
					t.Fatalf("%s: no free space after the frames", seg)
				}
				free = append(free, rotFree{seg: seg, from: int64(off), to: int64(len(b)), last: si == len(segs)-1})
				break
			}
			l := int(le.Uint32(b[off:]))
			f := rotFrame{seg: seg, off: int64(off), end: int64(off + 8 + l + 4*((l+4095)/4096) + 8), first: events, bodyEnd: int64(off + 8 + l)}
			body := b[off+8 : off+8+l]
			base := int64(off + 8)
			q := 16
			for range int(le.Uint32(body[4:])) {
				q += 4
				sl := int(le.Uint16(body[q:]))
				stream := string(body[q+2 : q+2+sl])
				q += 2 + sl
				n := int(le.Uint32(body[q:]))
				q += 4
				for range n {
					at := func(from, to int) [2]int64 { return [2]int64{base + int64(from), base + int64(to)} }
					ev := rotEvent{stream: stream, revision: le.Uint64(body[q+16:]), fields: map[string][2]int64{
						"id":             at(q, q+16),
						"recorded_at":    at(q+24, q+32),
						"schema_version": at(q+36, q+40),
						"prev_hash":      at(q+40, q+72),
						"hash":           at(q+72, q+104),
					}}
					q += 104
					for _, name := range []string{"type", "occurred_on", "recorded_by"} {
						n := int(le.Uint16(body[q:]))
						ev.fields[name] = at(q+2, q+2+n)
						q += 2 + n
					}
					dl := int(le.Uint32(body[q:]))
					ev.fields["data"] = at(q+4, q+4+dl)
					q += 4 + dl
					events++
					ev.position = ledger.Position(events)
					f.events = append(f.events, ev)
				}
			}
			frames = append(frames, f)
			off = int(f.end)
		}
	}
	frames[len(frames)-1].final = true
	return m, segs, frames, free
}

// rotBit is one bit of a segment file.
type rotBit struct {
	seg string
	off int64
	bit uint8
}

// rotSample returns the bits TestBitRot flips: every bit of every segment
// header, every frame header (length and CRC) and every frame's chunk
// checksum table and trailer, every bit of the first 8 and the last byte of
// each segment's free space and 1,500 random bits of it, and random bits
// elsewhere (frame body headers, entry headers, events) until there are
// 15,500 — or, with all, every bit of every segment.
func rotSample(m *memFS, segs []string, frames []rotFrame, free []rotFree, all bool) []rotBit {
	var out []rotBit
	bits := func(seg string, from, to int64) {
		for off := from; off < to; off++ {
			for bit := range uint8(8) {
				out = append(out, rotBit{seg, off, bit})
			}
		}
	}
	if all {
		for _, seg := range segs {
			bits(seg, 0, int64(len(readMem(m, seg))))
		}
		return out
	}
	for _, seg := range segs {
		bits(seg, 0, 32)
	}
	for _, f := range frames {
		bits(f.seg, f.off, f.off+8)
		bits(f.seg, f.bodyEnd, f.end)
	}
	for _, fr := range free {
		bits(fr.seg, fr.from, min(fr.from+8, fr.to))
		bits(fr.seg, fr.to-1, fr.to)
	}
	r := rand.New(rand.NewPCG(2016, 3))
	seen := map[rotBit]bool{}
	for _, b := range out {
		seen[b] = true
	}
	for n := 0; n < 1500; {
		fr := free[r.IntN(len(free))]
		b := rotBit{fr.seg, fr.from + r.Int64N(fr.to-fr.from), uint8(r.IntN(8))}
		if !seen[b] {
			seen[b] = true
			out = append(out, b)
			n++
		}
	}
	for len(out) < 15500 {
		f := frames[r.IntN(len(frames))]
		b := rotBit{f.seg, f.off + 8 + r.Int64N(f.bodyEnd-f.off-8), uint8(r.IntN(8))}
		if !seen[b] {
			seen[b] = true
			out = append(out, b)
		}
	}
	return out
}

// where says what a bit of the image is, for the tallies and messages: a
// part of a frame (returned), the free space (returned), or a segment
// header.
func where(b rotBit, frames []rotFrame, free []rotFree) (string, *rotFrame, *rotFree) {
	for i := range frames {
		f := &frames[i]
		if f.seg != b.seg || b.off < f.off || b.off >= f.end {
			continue
		}
		kind := "event"
		switch {
		case b.off < f.off+4:
			kind = "frame length"
		case b.off < f.off+8:
			kind = "frame CRC"
		case b.off < f.off+8+16:
			kind = "frame body header"
		case b.off >= f.end-8:
			kind = "frame trailer"
		case b.off >= f.bodyEnd:
			kind = "chunk checksum table"
		}
		if f.final {
			kind += ", final frame"
		}
		return kind, f, nil
	}
	for i := range free {
		if fr := &free[i]; fr.seg == b.seg && b.off >= fr.from && b.off < fr.to {
			return "free space", nil, fr
		}
	}
	return "segment header", nil, nil
}

func flipMem(m *memFS, b rotBit) {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := m.names[b.seg]
	n.data[b.off] ^= 1 << b.bit
	n.synced = n.data
}

// files returns every file of m and its bytes.
func files(m *memFS) map[string]string {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := map[string]string{}
	for name, n := range m.names {
		out[name] = string(n.data)
	}
	return out
}

// dataFiles is files without the *.tmp leftovers (a next segment's file
// being prepared when the process was killed) that Open removes.
func dataFiles(m *memFS) map[string]string {
	out := files(m)
	for name := range out {
		if strings.HasSuffix(name, ".tmp") {
			delete(out, name)
		}
	}
	return out
}

// TestBitRot flips single bits of a store of 48 records in four or more
// segments — every bit of every segment header, frame header and frame
// trailer (chunk checksum table and the header's copy), bits of the free
// space after each segment's frames (every bit of its first 8 bytes and
// its last byte, 1,500 random ones), and random bits of frame bodies to
// 15,500 flips in all (every bit of every segment, about 130,000, with
// PARTYLEDGER_LONG=1) — and checks that each flip is detected:
//
//   - "on open, closed cleanly": on a copy of the files of a closed store,
//     Open fails with a *CorruptError (ledger.ErrCorrupt) naming the
//     segment and the offset of the frame holding the flip (0 for a
//     segment header; where the free space starts for a flip in that of a
//     sealed segment), and leaves every file as it was: the commit mark
//     written by Close records every frame as complete, so damage anywhere
//     — the final frame included — stops the store; it never cuts a frame.
//   - "on open, process killed": the same on the files a killed process
//     leaves, where the commit mark covers only the segments before the
//     last: the final frame is judged by its own evidence, and a flip in
//     it is corruption too, except in its last 8 bytes (the trailer's copy
//     of the header). Damage there cannot be told from a write cut short
//     in its last bytes: by the documented rule the frame is cut off, its
//     bytes saved in segment-….log.torn-<offset>-<crc>; the test checks
//     the side file holds exactly the cut bytes (up to the last non-zero
//     one) and the segment's bytes from the frame's offset are zeros again.
//   - In both, a flip in the free space of the last segment, past the
//     commit mark, is what a torn write into it may leave (a frame whose
//     other sectors were lost): it is cut the same way, the bytes from
//     the free space's start to the flipped one saved, every frame kept.
//   - "by VerifyStorage": on an open store, the same flip made under it is
//     reported by VerifyStorage as a *CorruptError with the same segment
//     and offset — except in the free space of the last segment, which
//     VerifyStorage leaves to the committer and to Open's torn-write
//     rules (doc.go, "Recovery").
//   - "on open, with indexes": the files of the closed store with their
//     index files. Open reads only what it checks instead of scanning
//     (doc.go, "Indexes"): a flip in a segment header or in the last frame
//     of a segment fails Open as above; any other flip in a frame is not
//     read by Open, which opens from the indexes without reading a frame,
//     and VerifyStorage then reports it with the same segment and offset.
//     (Open reads the free space with or without indexes: the two cases
//     above cover it.)
//
// The first two run without index files: Open then reads every frame.
func TestBitRot(t *testing.T) {
	castagnoli := crc32.MakeTable(crc32.Castagnoli)
	onOpen := func(t *testing.T, closed bool) {
		base, segs, frames, free := rotImage(t, closed)
		dropIndexes(t, base)
		sample := rotSample(base, segs, frames, free, longMode())
		tally := map[string]int{}
		cuts := 0
		for _, b := range sample {
			kind, f, fr := where(b, frames, free)
			if b.seg == segs[len(segs)-1] {
				tally["last segment, "+kind]++
			} else {
				tally["sealed, "+kind]++
			}
			at := int64(0)
			switch {
			case f != nil:
				at = f.off
			case fr != nil:
				at = fr.from
			}
			name := fmt.Sprintf("%s byte %d bit %d (%s)", filepath.Base(b.seg), b.off, b.bit, kind)
			img := base.clone()
			flipMem(img, b)
			damaged := dataFiles(img)
			s, err := filestore.Open(memDir, rotOpts(img))
			torn := (fr != nil && fr.last) || (!closed && f != nil && f.final && b.off >= f.end-8)
			if !torn {
				if err == nil {
					s.Close()
					t.Fatalf("%s: Open succeeded", name)
				}
				var ce *filestore.CorruptError
				if !errors.Is(err, ledger.ErrCorrupt) || !errors.As(err, &ce) || ce.Segment != filepath.Base(b.seg) || ce.Offset != at {
					t.Fatalf("%s: Open: %v; want a *CorruptError in %s at %d", name, err, filepath.Base(b.seg), at)
				}
				if got := dataFiles(img); !maps.Equal(got, damaged) {
					t.Fatalf("%s: the failed Open changed the files: %v", name, slices.Sorted(maps.Keys(got)))
				}
				continue
			}
			// The final frame's last bytes, or the last segment's free
			// space: cut as a torn write, kept.
			if err != nil {
				t.Fatalf("%s: Open: %v", name, err)
			}
			head := s.Head()
			s.Close()
			cuts++
			keep := frames[len(frames)-1]
			wantHead := ledger.Position(keep.first + len(keep.events))
			if f != nil {
				wantHead = ledger.Position(f.first)
			}
			if head != wantHead {
				t.Fatalf("%s: head %d after the cut, want %d", name, head, wantHead)
			}
			seg := damaged[b.seg]
			cut := seg[at:nonZeroEnd([]byte(seg))]
			side := fmt.Sprintf("%s.torn-%d-%08x", b.seg, at, crc32.Checksum([]byte(cut), castagnoli))
			got := files(img)
			if got[side] != cut {
				t.Fatalf("%s: side file %s holds %d bytes, want the %d cut ones", name, filepath.Base(side), len(got[side]), len(cut))
			}
			if len(got[b.seg]) != len(seg) || got[b.seg][:at] != seg[:at] || nonZeroEnd([]byte(got[b.seg])) > at {
				t.Fatalf("%s: segment is %d bytes after the cut, want the first %d unchanged and zeros after, %d in all", name, len(got[b.seg]), at, len(seg))
			}
		}
		var counts []string
		for _, k := range slices.Sorted(maps.Keys(tally)) {
			counts = append(counts, fmt.Sprintf("%s %d", k, tally[k]))
		}
		t.Logf("%d single-bit flips in %d segments, each detected (%d cut as a torn write): %s", len(sample), len(segs), cuts, strings.Join(counts, "; "))
	}
	t.Run("on open, closed cleanly", func(t *testing.T) { onOpen(t, true) })
	t.Run("on open, process killed", func(t *testing.T) { onOpen(t, false) })
	t.Run("on open, with indexes", func(t *testing.T) {
		base, segs, frames, free := rotImage(t, true)
		sample := rotSample(base, segs, frames, free, longMode())
		// dataEnd: where a segment's frames end (its free space starts).
		dataEnd := map[string]int64{}
		for _, fr := range free {
			dataEnd[fr.seg] = fr.from
		}
		atOpen, later := 0, 0
		for _, b := range sample {
			kind, f, fr := where(b, frames, free)
			if fr != nil {
				continue
			}
			at := int64(0)
			if f != nil {
				at = f.off
			}
			name := fmt.Sprintf("%s byte %d bit %d (%s)", filepath.Base(b.seg), b.off, b.bit, kind)
			img := base.clone()
			flipMem(img, b)
			damaged := files(img)
			s, err := filestore.Open(memDir, rotOpts(img))
			var ce *filestore.CorruptError
			if end, ok := dataEnd[b.seg]; f == nil || f.end == end || (!ok && f.end == int64(len(damaged[b.seg]))) {
				// A segment header, or the last frame of a segment: what
				// Open checks before it trusts an index.
				if err == nil {
					s.Close()
					t.Fatalf("%s: Open succeeded", name)
				}
				if !errors.Is(err, ledger.ErrCorrupt) || !errors.As(err, &ce) || ce.Segment != filepath.Base(b.seg) || ce.Offset != at {
					t.Fatalf("%s: Open: %v; want a *CorruptError in %s at %d", name, err, filepath.Base(b.seg), at)
				}
				if got := files(img); !maps.Equal(got, damaged) {
					t.Fatalf("%s: the failed Open changed the files: %v", name, slices.Sorted(maps.Keys(got)))
				}
				atOpen++
				continue
			}
			if err != nil {
				t.Fatalf("%s: Open: %v; the indexes cover the frame, want it opened from them", name, err)
			}
			if st := s.OpenStats(); st.IndexLoaded != len(segs) || st.ScannedBytes != 0 {
				s.Close()
				t.Fatalf("%s: Open read frames: %+v", name, st)
			}
			err = s.VerifyStorage(ctxT(t))
			s.Close()
			if !errors.As(err, &ce) || !errors.Is(err, ledger.ErrCorrupt) || ce.Segment != filepath.Base(b.seg) || ce.Offset != at {
				t.Fatalf("%s: VerifyStorage: %v; want a *CorruptError in %s at %d", name, err, filepath.Base(b.seg), at)
			}
			later++
		}
		t.Logf("%d single-bit flips: %d failed Open, %d were outside what Open reads and VerifyStorage reported each", len(sample), atOpen, later)
		if atOpen == 0 || later == 0 {
			t.Fatal("the sample misses one of the two cases")
		}
	})
	t.Run("by VerifyStorage", func(t *testing.T) {
		base, segs, frames, free := rotImage(t, true)
		sample := rotSample(base, segs, frames, free, longMode())
		img := base.clone()
		s := open(t, memDir, rotOpts(img))
		for _, b := range sample {
			kind, f, fr := where(b, frames, free)
			at := int64(0)
			switch {
			case f != nil:
				at = f.off
			case fr != nil:
				at = fr.from
			}
			flipMem(img, b)
			err := s.VerifyStorage(ctxT(t))
			flipMem(img, b)
			if fr != nil && fr.last {
				if err != nil {
					t.Fatalf("%s byte %d bit %d (%s, last segment): VerifyStorage: %v; want nil", filepath.Base(b.seg), b.off, b.bit, kind, err)
				}
				continue
			}
			var ce *filestore.CorruptError
			if !errors.As(err, &ce) || !errors.Is(err, ledger.ErrCorrupt) || ce.Segment != filepath.Base(b.seg) || ce.Offset != at {
				t.Fatalf("%s byte %d bit %d (%s): VerifyStorage: %v; want a *CorruptError in %s at %d", filepath.Base(b.seg), b.off, b.bit, kind, err, filepath.Base(b.seg), at)
			}
		}
		if err := s.VerifyStorage(ctxT(t)); err != nil {
			t.Fatalf("undamaged store: %v", err)
		}
	})
}

// TestRewriteCaughtByChain rewrites one field of one event, recomputes the
// frame's checksums so that the framing is valid again, and checks that Open
// accepts the store and Ledger.Verify then reports a *ledger.ChainError
// (ErrCorrupt) naming that event's stream, revision and position — for
// every event of rotImage and every field the hash covers: what a
// checksum cannot catch, the hash chain does.
//
// A field is changed by flipping bit 2 of its middle byte; for recorded_at
// that is bit 2 of the third byte of the seconds (a change of days, not of
// nanoseconds: the hash covers recorded_at to the microsecond only, and
// the nanoseconds field is outside this test).
//
// The store has no index files, as if written by someone who rebuilt them:
// with the indexes written by the store, a rewritten id is reported by
// VerifyStorage first, as an index that does not match the log
// (TestIndexForged).
func TestRewriteCaughtByChain(t *testing.T) {
	base, _, frames, _ := rotImage(t, true)
	dropIndexes(t, base)
	fields := []string{"id", "recorded_at", "schema_version", "prev_hash", "hash", "type", "occurred_on", "recorded_by", "data"}
	rewrites := 0
	for _, f := range frames {
		for _, ev := range f.events {
			for _, field := range fields {
				span := ev.fields[field]
				off := (span[0] + span[1]) / 2
				switch field {
				case "recorded_at":
					off = span[0] + 2
				case "schema_version":
					off = span[0]
				}
				img := base.clone()
				img.mu.Lock()
				b := img.names[f.seg].data
				b[off] ^= 1 << 2
				resealFrame(b, f.off)
				img.names[f.seg].synced = b
				img.mu.Unlock()

				s, err := filestore.Open(memDir, rotOpts(img))
				if err != nil {
					t.Fatalf("%s revision %d, %s rewritten with a valid CRC: Open: %v", ev.stream, ev.revision, field, err)
				}
				_, err = ledger.New(s, ledger.Options{}).Verify(ctxT(t))
				s.Close()
				var ce *ledger.ChainError
				if !errors.As(err, &ce) || !errors.Is(err, ledger.ErrCorrupt) {
					t.Fatalf("%s revision %d, %s rewritten with a valid CRC: Verify: %v, want a *ChainError", ev.stream, ev.revision, field, err)
				}
				if ce.Stream != ev.stream || ce.Revision != ev.revision || ce.Position != ev.position {
					t.Fatalf("%s revision %d, %s rewritten: Verify names %s revision %d position %d (%v)", ev.stream, ev.revision, field, ce.Stream, ce.Revision, ce.Position, err)
				}
				if !strings.Contains(err.Error(), ev.stream) {
					t.Fatalf("error %q does not name the stream", err)
				}
				rewrites++
			}
		}
	}
	t.Logf("%d rewrites with valid CRCs, each caught by the hash chain at its event", rewrites)
}
