package filestore_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/google/uuid"

	"partyledger/ledger"
	"partyledger/ledger/filestore"
)

// dropIndexes removes the index files of the store in memDir of m,
// durably: what a store written before indexes existed looks like.
func dropIndexes(t testing.TB, m *memFS) {
	t.Helper()
	names, _ := m.ReadDir(memDir)
	for _, n := range names {
		if strings.HasSuffix(n, ".idx") {
			if err := m.Remove(memDir + "/" + n); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := m.SyncDir(memDir); err != nil {
		t.Fatal(err)
	}
}

// removeIndexFiles removes the index files of the store in dir.
func removeIndexFiles(t testing.TB, dir string) {
	t.Helper()
	idx, _ := filepath.Glob(filepath.Join(dir, "segment-*.idx"))
	for _, p := range idx {
		if err := os.Remove(p); err != nil {
			t.Fatal(err)
		}
	}
}

// memIndexes returns the paths of the index files in memDir of m.
func memIndexes(m *memFS) []string {
	names, _ := m.ReadDir(memDir)
	var out []string
	for _, n := range names {
		if strings.HasSuffix(n, ".idx") {
			out = append(out, memDir+"/"+n)
		}
	}
	return out
}

// setMem replaces the bytes of a file of m, durably.
func setMem(m *memFS, name string, b []byte) {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := m.names[name]
	if n == nil {
		n = &memNode{}
		m.names[name] = n
		m.durable[name] = n
	}
	n.data = slices.Clone(b)
	n.synced = n.data
}

// captureLog returns a logger that keeps what is logged, and a function
// returning it.
func captureLog() (*slog.Logger, func() string) {
	var mu sync.Mutex
	var buf bytes.Buffer
	w := writerFunc(func(p []byte) (int, error) {
		mu.Lock()
		defer mu.Unlock()
		return buf.Write(p)
	})
	return slog.New(slog.NewTextHandler(w, nil)), func() string {
		mu.Lock()
		defer mu.Unlock()
		return buf.String()
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// The independent decoder of index files below reads them using nothing
// but doc.go ("Indexes"), like auditDecode for segments.

type auditIndex struct {
	first   uint64
	version uint32
	dataEnd int64
	s0      uint32
	offs    []uint32
	runPos  []uint32
	runs    [][2]uint32 // stream number, count
	ids     []byte      // 12-byte records
	names   []string
}

// auditIndexBytes decodes an index file, or says what is wrong with it.
func auditIndexBytes(b []byte) (*auditIndex, string) {
	le := binary.LittleEndian
	if len(b) < 64 || string(b[:8]) != "PLSEGIDX" || le.Uint32(b[8:]) != 1 || le.Uint32(b[12:]) != 64 || le.Uint32(b[28:]) != 0 {
		return nil, "bad header"
	}
	if le.Uint32(b[60:]) != crc32.Checksum(b[:60], auditCRC) || le.Uint32(b[56:]) != crc32.Checksum(b[64:], auditCRC) {
		return nil, "bad checksum"
	}
	x := &auditIndex{first: le.Uint64(b[16:]), version: le.Uint32(b[24:]), dataEnd: int64(le.Uint64(b[32:])), s0: le.Uint32(b[44:])}
	n, sn, r := int(le.Uint32(b[40:])), int(le.Uint32(b[48:])), int(le.Uint32(b[52:]))
	if len(b) < 64+20*n+8*r+3*sn {
		return nil, "short"
	}
	p := 64
	for range n {
		x.offs = append(x.offs, le.Uint32(b[p:]))
		p += 4
	}
	for range n {
		x.runPos = append(x.runPos, le.Uint32(b[p:]))
		p += 4
	}
	for range r {
		x.runs = append(x.runs, [2]uint32{le.Uint32(b[p:]), le.Uint32(b[p+4:])})
		p += 8
	}
	x.ids = b[p : p+12*n]
	p += 12 * n
	for range sn {
		l := int(le.Uint16(b[p:]))
		x.names = append(x.names, string(b[p+2:p+2+l]))
		p += 2 + l
	}
	if p != len(b) {
		return nil, "stray bytes"
	}
	return x, ""
}

// resealIndex recomputes the checksums of an index file, as doc.go
// describes them, after its bytes were changed.
func resealIndex(b []byte) {
	le := binary.LittleEndian
	le.PutUint32(b[56:], crc32.Checksum(b[64:], auditCRC))
	le.PutUint32(b[60:], crc32.Checksum(b[:60], auditCRC))
}

// auditIndexes checks every index file of dir against the segments, as
// doc.go describes both: each covers its segment's frames from the first
// to its data end, and its tables say exactly where each event's frame
// starts, which stream and revision it is, and what its id is. It returns
// how many index files there are.
func auditIndexes(t *testing.T, dir string) int {
	t.Helper()
	le := binary.LittleEndian
	segs, _ := filepath.Glob(filepath.Join(dir, "segment-????????????????????.log"))
	type streamInfo struct {
		num  uint32
		revs uint64
	}
	streams := map[string]*streamInfo{}
	var order []string
	count := 0
	for _, seg := range segs {
		b, err := os.ReadFile(seg)
		if err != nil {
			t.Fatal(err)
		}
		v := le.Uint32(b[8:])
		first := le.Uint64(b[16:])
		// Walk the frames, noting for each event its frame, stream,
		// revision and id; compare at the index's data end.
		type ev struct {
			off    uint32
			stream string
			rev    uint64
			id     [16]byte
		}
		var evs []ev
		s0 := uint32(len(order))
		ib, err := os.ReadFile(strings.TrimSuffix(seg, ".log") + ".idx")
		var x *auditIndex
		if err == nil {
			var bad string
			if x, bad = auditIndexBytes(ib); bad != "" {
				t.Fatalf("%s: %s", filepath.Base(seg), bad)
			}
			count++
		}
		compare := func(off int) {
			if x == nil || int64(off) != x.dataEnd {
				return
			}
			name := filepath.Base(seg)
			if x.first != first || x.version != v || x.s0 != s0 || len(x.offs) != len(evs) {
				t.Fatalf("%s index: first %d version %d S0 %d N %d; the segment: %d, %d, %d, %d", name, x.first, x.version, x.s0, len(x.offs), first, v, s0, len(evs))
			}
			var runs [][2]uint32
			var runPos []uint32
			var names []string
			for _, st := range order[s0:] {
				names = append(names, st)
			}
			byNum := map[uint32][]uint32{}
			var ids [][12]byte
			for i, e := range evs {
				if x.offs[i] != e.off {
					t.Fatalf("%s index: position %d in the frame at %d, the index says %d", name, first+uint64(i), e.off, x.offs[i])
				}
				num := streams[e.stream].num
				byNum[num] = append(byNum[num], uint32(i))
				var r [12]byte
				copy(r[:], e.id[:8])
				le.PutUint32(r[8:], uint32(i))
				ids = append(ids, r)
			}
			for _, num := range slices.Sorted(func(yield func(uint32) bool) {
				for k := range byNum {
					if !yield(k) {
						return
					}
				}
			}) {
				runs = append(runs, [2]uint32{num, uint32(len(byNum[num]))})
				runPos = append(runPos, byNum[num]...)
			}
			slices.SortFunc(ids, func(a, b [12]byte) int {
				if c := bytes.Compare(a[:8], b[:8]); c != 0 {
					return c
				}
				return int(le.Uint32(a[8:])) - int(le.Uint32(b[8:]))
			})
			if !slices.Equal(runs, x.runs) || !slices.Equal(runPos, x.runPos) || !slices.Equal(names, x.names) {
				t.Fatalf("%s index: runs %v, positions %v, names %q; the frames: %v, %v, %q", name, x.runs, x.runPos, x.names, runs, runPos, names)
			}
			if !bytes.Equal(slices.Concat(func() [][]byte {
				var out [][]byte
				for _, r := range ids {
					out = append(out, r[:])
				}
				return out
			}()...), x.ids) {
				t.Fatalf("%s index: the id table differs from the frames' ids", name)
			}
			x = nil
		}
		for off := 32; ; {
			compare(off)
			if off >= len(b) || (v == 3 && allZero(b[off:])) {
				break // the end of the file, or the free space after the frames
			}
			body, end, bad := auditFrame(b, off, v)
			if bad != "" {
				t.Fatalf("%s at %d: %s", filepath.Base(seg), off, bad)
			}
			q := 16
			for range int(le.Uint32(body[4:])) {
				q += 4
				sl := int(le.Uint16(body[q:]))
				stream := string(body[q+2 : q+2+sl])
				q += 2 + sl
				n := int(le.Uint32(body[q:]))
				q += 4
				for range n {
					var e ev
					e.off, e.stream = uint32(off), stream
					copy(e.id[:], body[q:q+16])
					e.rev = le.Uint64(body[q+16:])
					q += 104
					for range 3 {
						q += 2 + int(le.Uint16(body[q:]))
					}
					q += 4 + int(le.Uint32(body[q:]))
					st := streams[stream]
					if st == nil {
						st = &streamInfo{num: uint32(len(order))}
						streams[stream] = st
						order = append(order, stream)
					}
					if e.rev != st.revs {
						t.Fatalf("%s: stream %s revision %d, want %d", filepath.Base(seg), stream, e.rev, st.revs)
					}
					st.revs++
					evs = append(evs, e)
				}
			}
			off = end
		}
		if x != nil {
			t.Fatalf("%s index: data end %d is not the end of a frame", filepath.Base(seg), x.dataEnd)
		}
	}
	return count
}

// indexLog appends records single-frame appends (one event, every fourth
// two; three streams) to s, continuing the streams' chains in last, and
// returns the events in position order.
func indexLog(t testing.TB, s *filestore.Store, records int, last map[string]*ledger.Event) []ledger.Event {
	t.Helper()
	var out []ledger.Event
	for i := range records {
		stream := fmt.Sprintf("org-%d", i%3)
		evs := chain(stream, last[stream], 1+btoi(i%4 == 3))
		expected := ledger.NoStream
		if l := last[stream]; l != nil {
			expected = int64(l.Revision)
		}
		mustAppend(t, s, stream, expected, evs)
		last[stream] = &evs[len(evs)-1]
		out = append(out, evs...)
	}
	return out
}

// checkServes checks that s holds exactly want, in order, and serves it
// through every read: ReadAll, ReadStream and LastEvent of each stream,
// EventByID of each event, Subscribe from the start.
func checkServes(t *testing.T, s *filestore.Store, want []ledger.Event) {
	t.Helper()
	all := readAll(t, s, 0)
	if len(all) != len(want) {
		t.Fatalf("%d events, want %d", len(all), len(want))
	}
	byStream := map[string][]ledger.Event{}
	for i, e := range all {
		if d := sameEvent(e, want[i]); d != "" || e.Position != ledger.Position(i+1) {
			t.Fatalf("position %d: %s (position %d)", i+1, d, e.Position)
		}
		byStream[e.Stream] = append(byStream[e.Stream], e)
		got, err := s.EventByID(ctxT(t), e.ID)
		if err != nil || got.Position != e.Position {
			t.Fatalf("EventByID(%s) = position %d, %v; want %d", e.ID, got.Position, err, e.Position)
		}
	}
	for stream, evs := range byStream {
		got, err := readStream(t, s, stream, 0)
		if err != nil || len(got) != len(evs) {
			t.Fatalf("ReadStream(%s) = %d events, %v; want %d", stream, len(got), err, len(evs))
		}
		for i := range got {
			if got[i].Position != evs[i].Position || got[i].Revision != uint64(i) {
				t.Fatalf("ReadStream(%s)[%d] at position %d revision %d, want %d, %d", stream, i, got[i].Position, got[i].Revision, evs[i].Position, i)
			}
		}
		if le, err := s.LastEvent(ctxT(t), stream); err != nil || le.Position != evs[len(evs)-1].Position {
			t.Fatalf("LastEvent(%s) = position %d, %v; want %d", stream, le.Position, err, evs[len(evs)-1].Position)
		}
	}
	if _, err := s.EventByID(ctxT(t), uuid.New()); !errors.Is(err, ledger.ErrEventNotFound) {
		t.Fatalf("EventByID of an unknown id: %v, want ErrEventNotFound", err)
	}
	ctx, cancel := context.WithCancel(ctxT(t))
	defer cancel()
	n := 0
	for e, err := range s.Subscribe(ctx, 0) {
		if err != nil {
			t.Fatalf("Subscribe: %v", err)
		}
		if e.ID != want[n].ID {
			t.Fatalf("Subscribe: event %d is %s, want %s", n, e.ID, want[n].ID)
		}
		if n++; n == len(want) {
			break
		}
	}
}

// TestIndexWrittenAndUsed checks that a segment's index is written when
// the segment is sealed (a read-only open beside the writer uses it) and
// the last segment's at Close, and that a reopen takes every event from
// the index files without reading a frame — and then serves every read,
// refuses stale expected revisions and duplicate ids from every segment,
// and takes appends.
func TestIndexWrittenAndUsed(t *testing.T) {
	dir := t.TempDir()
	opts := filestore.Options{SegmentSize: 2048}
	s := open(t, dir, opts)
	last := map[string]*ledger.Event{}
	want := indexLog(t, s, 40, last)
	filestore.WaitSealedIndexes(s) // written beside the appends
	segs, _ := filepath.Glob(filepath.Join(dir, "segment-*.log"))
	idx, _ := filepath.Glob(filepath.Join(dir, "segment-*.idx"))
	if len(segs) < 4 || len(idx) != len(segs)-1 {
		t.Fatalf("%d segments and %d index files while open; want 4 or more, each sealed one indexed", len(segs), len(idx))
	}
	ro, err := filestore.OpenReadOnly(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	if st := ro.OpenStats(); st.IndexLoaded != len(segs)-1 || st.IndexMissing != 1 || st.IndexWritten != 0 {
		t.Fatalf("read-only open beside the writer: %+v; want the %d sealed segments' indexes loaded", st, len(segs)-1)
	}
	checkServes(t, ro, want)
	ro.Close()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if n := auditIndexes(t, dir); n != len(segs) {
		t.Fatalf("%d index files after Close, want %d", n, len(segs))
	}

	s = open(t, dir, opts)
	if st := s.OpenStats(); st.Segments != len(segs) || st.IndexLoaded != len(segs) || st.ScannedBytes != 0 || st.ScannedEvents != 0 || st.IndexWritten != 0 {
		t.Fatalf("reopen: %+v; want every segment from its index, no frame read", st)
	}
	checkServes(t, s, want)
	if err := s.VerifyStorage(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	// Expected revisions come from the loaded streams.
	var we *ledger.WrongRevisionError
	if _, err := s.Append(ctxT(t), "org-1", int64(last["org-1"].Revision)-1, chain("org-1", last["org-1"], 1)); !errors.As(err, &we) || we.Actual != int64(last["org-1"].Revision) {
		t.Fatalf("append with a stale expected revision: %v, want a WrongRevisionError with the actual revision %d", err, last["org-1"].Revision)
	}
	// Duplicate ids: an id of each segment, alone or in a batch.
	for i := 0; i < len(want); i += 7 {
		e := chain("org-new", nil, 2)
		e[1].ID = want[i].ID
		e[1].Hash = ledger.ComputeHash(&e[1])
		if _, err := s.Append(ctxT(t), "org-new", ledger.NoStream, e); !errors.Is(err, ledger.ErrDuplicateEventID) {
			t.Fatalf("append of the id at position %d: %v, want ErrDuplicateEventID", want[i].Position, err)
		}
	}
	more := indexLog(t, s, 12, last)
	want = append(want, more...)
	dup := chain("org-0", last["org-0"], 1)
	dup[0].ID = more[len(more)-1].ID
	if _, err := s.Append(ctxT(t), "org-0", int64(last["org-0"].Revision), dup); !errors.Is(err, ledger.ErrDuplicateEventID) {
		t.Fatalf("append of an id appended since the reopen: %v, want ErrDuplicateEventID", err)
	}
	checkServes(t, s, want)
	s.Close()
	s = open(t, dir, opts)
	if st := s.OpenStats(); st.IndexLoaded != st.Segments || st.ScannedBytes != 0 {
		t.Fatalf("second reopen: %+v", st)
	}
	checkServes(t, s, want)
	auditIndexes(t, dir)
}

// TestIndexTailAfterCrash: after a crash, Open takes what the index files
// cover from them and reads only the frames written since (the tail of
// the last segment), checking them — ids too, against the whole store.
func TestIndexTailAfterCrash(t *testing.T) {
	m := newMemFS()
	opts := filestore.Options{FS: m}
	s := open(t, memDir, opts)
	last := map[string]*ledger.Event{}
	want := indexLog(t, s, 30, last)
	s.Close()
	s = open(t, memDir, opts)
	tail := indexLog(t, s, 5, last)
	want = append(want, tail...)
	img := m.crash(true) // the process dies: no Close
	s.Close()

	s2 := open(t, memDir, filestore.Options{FS: img})
	st := s2.OpenStats()
	if st.IndexLoaded != st.Segments || st.ScannedEvents != len(tail) || st.ScannedBytes == 0 || st.IndexWritten != 1 {
		t.Fatalf("open after the crash: %+v; want every index loaded and only the %d events since read", st, len(tail))
	}
	checkServes(t, s2, want)
	e := chain("org-x", nil, 1)
	e[0].ID = tail[0].ID
	if _, err := s2.Append(ctxT(t), "org-x", ledger.NoStream, e); !errors.Is(err, ledger.ErrDuplicateEventID) {
		t.Fatalf("append of an id read from the tail: %v, want ErrDuplicateEventID", err)
	}
	s2.Close()

	// A tail whose frame repeats an id of a frame the index covers is
	// corruption, found although that frame is not read.
	img2 := img.clone()
	seg := memDir + "/" + img2.segmentNames(memDir)[len(img2.segmentNames(memDir))-1]
	b := slices.Clone(readMem(img2, seg))
	at := bytes.Index(b, tail[len(tail)-1].ID[:])
	copy(b[at:], want[0].ID[:])
	frameOff := lastFrameOffset(b)
	resealFrame(b, frameOff)
	setMem(img2, seg, b)
	_, err := filestore.Open(memDir, filestore.Options{FS: img2})
	var ce *filestore.CorruptError
	if !errors.As(err, &ce) || ce.Segment != filepath.Base(seg) || ce.Offset != frameOff || !strings.Contains(err.Error(), "stored twice") {
		t.Fatalf("open of a tail repeating an indexed id: %v; want a *CorruptError at %s %d naming the id stored twice", err, filepath.Base(seg), frameOff)
	}
}

// lastFrameOffset returns where the last frame (format version 2 or 3) of
// segment bytes b starts.
func lastFrameOffset(b []byte) int64 {
	le := binary.LittleEndian
	off, prev := 32, 32
	for off+8 <= len(b) {
		l := int(le.Uint32(b[off:]))
		if l == 0 {
			break // the free space after the frames
		}
		prev = off
		off += 8 + l + 4*((l+4095)/4096) + 8
	}
	return int64(prev)
}

// indexedImage returns the files of a closed store of several segments,
// each with its index, and the events it holds.
func indexedImage(t *testing.T) (*memFS, []ledger.Event) {
	t.Helper()
	m := newMemFS()
	s := open(t, memDir, filestore.Options{FS: m, SegmentSize: 2048})
	want := indexLog(t, s, 40, map[string]*ledger.Event{})
	s.Close()
	img := m.crash(false)
	if n := len(memIndexes(img)); n < 4 || n != len(img.segmentNames(memDir)) {
		t.Fatalf("%d index files for %d segments", n, len(img.segmentNames(memDir)))
	}
	return img, want
}

// TestIndexRejected damages index files in every way Open can see —
// missing, empty, cut short, any single bit flipped, stale (from an older
// state of the segment, from another store, of another segment), claiming
// more than the segment holds, naming a wrong last frame — and checks that
// Open reports each bad one loudly (OpenStats, an error-level log line),
// opens the store from the log exactly as it is, rewrites the index, and
// that the next Open uses it.
func TestIndexRejected(t *testing.T) {
	base, want := indexedImage(t)
	idx := memIndexes(base)
	sealed, lastIdx := idx[0], idx[len(idx)-1]
	le := binary.LittleEndian
	// The index of the same segment of another store: same name, same
	// layout, other events.
	other := func() []byte {
		m := newMemFS()
		s := open(t, memDir, filestore.Options{FS: m, SegmentSize: 2048})
		indexLog(t, s, 40, map[string]*ledger.Event{})
		s.Close()
		return slices.Clone(readMem(m.crash(false), sealed))
	}()
	cases := []struct {
		name     string
		file     string
		damage   func(b []byte) []byte // nil: remove the file
		rejected bool                  // a bad file (else: missing)
	}{
		{"missing", sealed, nil, false},
		{"empty", sealed, func([]byte) []byte { return nil }, true},
		{"cut short", sealed, func(b []byte) []byte { return b[:len(b)/2] }, true},
		{"cut to its header", lastIdx, func(b []byte) []byte { return b[:64] }, true},
		{"from another store", sealed, func([]byte) []byte { return other }, true},
		{"of another segment", sealed, func([]byte) []byte { return readMem(base, idx[1]) }, true},
		{"claims more bytes", lastIdx, func(b []byte) []byte {
			le.PutUint64(b[32:], le.Uint64(b[32:])+1000)
			resealIndex(b)
			return b
		}, true},
		{"an id of the last frame moved", sealed, func(b []byte) []byte {
			x, _ := auditIndexBytes(b)
			n := len(x.offs)
			p := 64 + 8*n + 8*len(x.runs)
			for i := range n { // the record of the last event: point it elsewhere
				if int(le.Uint32(b[p+12*i+8:])) == n-1 {
					le.PutUint32(b[p+12*i+8:], 0)
				} else if le.Uint32(b[p+12*i+8:]) == 0 {
					le.PutUint32(b[p+12*i+8:], uint32(n-1))
				}
			}
			resealIndex(b)
			return b
		}, true},
		{"stream count wrong", idx[1], func(b []byte) []byte {
			le.PutUint32(b[44:], le.Uint32(b[44:])+1)
			resealIndex(b)
			return b
		}, true},
		{"last frame offset wrong", sealed, func(b []byte) []byte {
			x, _ := auditIndexBytes(b)
			le.PutUint32(b[64+4*(len(x.offs)-1):], x.offs[0])
			resealIndex(b)
			return b
		}, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			img := base.clone()
			if c.damage == nil {
				if err := img.Remove(c.file); err != nil {
					t.Fatal(err)
				}
				img.SyncDir(memDir)
			} else {
				setMem(img, c.file, c.damage(slices.Clone(readMem(img, c.file))))
			}
			log, logged := captureLog()
			s, err := filestore.Open(memDir, filestore.Options{FS: img, SegmentSize: 2048, Logger: log})
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			st := s.OpenStats()
			name := filepath.Base(c.file)
			if c.rejected {
				if len(st.IndexRejected) != 1 || !strings.HasPrefix(st.IndexRejected[0], name+": ") {
					t.Fatalf("OpenStats %+v: want %s rejected", st, name)
				}
				if l := logged(); !strings.Contains(l, "level=ERROR") || !strings.Contains(l, name) {
					t.Fatalf("logged %q: want an error naming %s", l, name)
				}
			} else if st.IndexMissing != 1 || len(st.IndexRejected) != 0 {
				t.Fatalf("OpenStats %+v: want one index missing", st)
			}
			if st.IndexLoaded != st.Segments-1 || st.IndexWritten != 1 || st.ScannedEvents == 0 {
				t.Fatalf("OpenStats %+v: want the others loaded, this segment read and its index written", st)
			}
			checkServes(t, s, want)
			if err := s.VerifyStorage(ctxT(t)); err != nil {
				t.Fatal(err)
			}
			s.Close()
			s = open(t, memDir, filestore.Options{FS: img.crash(false), SegmentSize: 2048})
			if st := s.OpenStats(); st.IndexLoaded != st.Segments || st.ScannedBytes != 0 {
				t.Fatalf("the next Open: %+v; want the rewritten index used", st)
			}
		})
	}
	t.Run("stale, from an older state", func(t *testing.T) {
		// The last segment's index as the first Close left it, after
		// more frames were appended and the segment was sealed: the
		// index covers its first frames, Open reads the rest.
		m := newMemFS()
		opts := filestore.Options{FS: m, SegmentSize: 2048}
		s := open(t, memDir, opts)
		last := map[string]*ledger.Event{}
		want := indexLog(t, s, 13, last)
		s.Close()
		first := memIndexes(m)[len(memIndexes(m))-1]
		stale := slices.Clone(readMem(m, first))
		s = open(t, memDir, opts)
		want = append(want, indexLog(t, s, 20, last)...)
		s.Close()
		img := m.crash(false)
		if len(memIndexes(img)) < 3 || memIndexes(img)[len(memIndexes(img))-1] == first {
			t.Fatal("the segment was not sealed")
		}
		setMem(img, first, stale)
		s = open(t, memDir, filestore.Options{FS: img, SegmentSize: 2048})
		st := s.OpenStats()
		if st.IndexLoaded != st.Segments || len(st.IndexRejected) != 0 || st.ScannedEvents == 0 || st.IndexWritten != 1 {
			t.Fatalf("OpenStats %+v: want the stale index used for its frames, the rest read, the index rewritten", st)
		}
		checkServes(t, s, want)
		if err := s.VerifyStorage(ctxT(t)); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("every bit", func(t *testing.T) {
		flips := 0
		for _, f := range idx {
			n := len(readMem(base, f))
			for off := range n {
				for bit := range uint8(8) {
					if !longMode() && off >= 64 && (off+int(bit))%13 != 0 {
						continue // the header whole, a sample of the rest
					}
					img := base.clone()
					flipMem(img, rotBit{f, int64(off), bit})
					log, _ := captureLog()
					s, err := filestore.Open(memDir, filestore.Options{FS: img, SegmentSize: 2048, Logger: log})
					if err != nil {
						t.Fatalf("%s byte %d bit %d: Open: %v", filepath.Base(f), off, bit, err)
					}
					st := s.OpenStats()
					head := s.Head()
					s.Close()
					if len(st.IndexRejected) != 1 || head != ledger.Position(len(want)) {
						t.Fatalf("%s byte %d bit %d: %+v, head %d; want it rejected and %d events", filepath.Base(f), off, bit, st, head, len(want))
					}
					flips++
				}
			}
		}
		t.Logf("%d single-bit flips in %d index files, each rejected", flips, len(idx))
	})
}

// TestIndexForged changes index files and recomputes their checksums, so
// that only their content is wrong where Open does not look (doc.go,
// "Indexes"): Open uses them, and VerifyStorage reports each, naming the
// file. A rewritten log under a true index is reported too.
func TestIndexForged(t *testing.T) {
	base, want := indexedImage(t)
	idx := memIndexes(base)
	le := binary.LittleEndian
	forge := func(f func(b []byte, x *auditIndex)) func([]byte) []byte {
		return func(b []byte) []byte {
			x, bad := auditIndexBytes(b)
			if bad != "" {
				t.Fatal(bad)
			}
			f(b, x)
			resealIndex(b)
			return b
		}
	}
	idsAt := func(x *auditIndex) int { return 64 + 8*len(x.offs) + 8*len(x.runs) }
	cases := []struct {
		name   string
		damage func([]byte) []byte
	}{
		{"an id pointing to the wrong position", forge(func(b []byte, x *auditIndex) {
			p := idsAt(x)
			for i := range len(x.offs) { // swap the positions of the events 0 and 1
				switch le.Uint32(b[p+12*i+8:]) {
				case 0:
					le.PutUint32(b[p+12*i+8:], 1)
				case 1:
					le.PutUint32(b[p+12*i+8:], 0)
				}
			}
		})},
		{"an id changed", forge(func(b []byte, x *auditIndex) {
			p := idsAt(x)
			for i := range len(x.offs) {
				if le.Uint32(b[p+12*i+8:]) == 0 {
					b[p+12*i+7] ^= 1
				}
			}
		})},
		{"a frame offset wrong", forge(func(b []byte, x *auditIndex) {
			le.PutUint32(b[64+4:], x.offs[0]+8)
		})},
		{"an event moved to another stream", forge(func(b []byte, x *auditIndex) {
			// The first two runs exchange their first positions.
			p := 64 + 4*len(x.offs)
			a, c := p, p+4*int(x.runs[0][1])
			b[a], b[c] = b[c], b[a]
		})},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			img := base.clone()
			f := idx[0]
			setMem(img, f, c.damage(slices.Clone(readMem(img, f))))
			s := open(t, memDir, filestore.Options{FS: img, SegmentSize: 2048})
			if st := s.OpenStats(); st.IndexLoaded != st.Segments {
				t.Fatalf("OpenStats %+v: want the forged index used (Open does not read what it forged)", st)
			}
			err := s.VerifyStorage(ctxT(t))
			var ce *filestore.CorruptError
			if !errors.As(err, &ce) || !errors.Is(err, ledger.ErrCorrupt) || ce.Segment != filepath.Base(f) {
				t.Fatalf("VerifyStorage: %v; want a *CorruptError naming %s", err, filepath.Base(f))
			}
			if _, err := ledger.New(s, ledger.Options{}).Verify(ctxT(t)); !errors.As(err, &ce) || ce.Segment != filepath.Base(f) {
				t.Fatalf("Ledger.Verify: %v; want the *CorruptError naming %s", err, filepath.Base(f))
			}
			s.Close()
			// The remedy VerifyStorage names: remove the file.
			img.Remove(f)
			s = open(t, memDir, filestore.Options{FS: img, SegmentSize: 2048})
			checkServes(t, s, want)
			if err := s.VerifyStorage(ctxT(t)); err != nil {
				t.Fatalf("after removing the index: %v", err)
			}
		})
	}
	t.Run("forged under an open store", func(t *testing.T) {
		// The store loaded the true index; the file is forged after:
		// VerifyStorage compares the file with the frames.
		img := base.clone()
		s := open(t, memDir, filestore.Options{FS: img, SegmentSize: 2048})
		setMem(img, idx[0], cases[0].damage(slices.Clone(readMem(img, idx[0]))))
		err := s.VerifyStorage(ctxT(t))
		var ce *filestore.CorruptError
		if !errors.As(err, &ce) || ce.Segment != filepath.Base(idx[0]) || !strings.Contains(err.Error(), "does not match the frames") {
			t.Fatalf("VerifyStorage: %v; want the file reported as not matching the frames", err)
		}
	})
	t.Run("loaded forged, file restored", func(t *testing.T) {
		// The store loaded a forged index; the true file is back:
		// VerifyStorage checks what the store holds against the frames.
		img := base.clone()
		good := slices.Clone(readMem(img, idx[0]))
		setMem(img, idx[0], cases[0].damage(slices.Clone(good)))
		s := open(t, memDir, filestore.Options{FS: img, SegmentSize: 2048})
		setMem(img, idx[0], good)
		err := s.VerifyStorage(ctxT(t))
		var ce *filestore.CorruptError
		if !errors.As(err, &ce) || ce.Segment != filepath.Base(idx[0]) || !strings.Contains(err.Error(), "disagrees with the log") {
			t.Fatalf("VerifyStorage: %v; want the store's index reported as disagreeing with the log", err)
		}
	})
	t.Run("every bit, under an open store", func(t *testing.T) {
		img := base.clone()
		s := open(t, memDir, filestore.Options{FS: img, SegmentSize: 2048})
		flips := 0
		for _, f := range idx {
			for off := range len(readMem(img, f)) {
				for bit := range uint8(8) {
					if !longMode() && off >= 64 && (off+int(bit))%13 != 0 {
						continue
					}
					b := rotBit{f, int64(off), bit}
					flipMem(img, b)
					err := s.VerifyStorage(ctxT(t))
					flipMem(img, b)
					var ce *filestore.CorruptError
					if !errors.As(err, &ce) || ce.Segment != filepath.Base(f) {
						t.Fatalf("%s byte %d bit %d: VerifyStorage: %v; want a *CorruptError naming the file", filepath.Base(f), off, bit, err)
					}
					flips++
				}
			}
		}
		if err := s.VerifyStorage(ctxT(t)); err != nil {
			t.Fatal(err)
		}
		t.Logf("%d single-bit flips in %d index files, each reported by VerifyStorage", flips, len(idx))
	})
	t.Run("a rewritten log under a true index", func(t *testing.T) {
		// An event's id rewritten in a sealed segment, the frame's
		// checksums recomputed: Open does not read the frame; the index
		// no longer matches it, and VerifyStorage says so.
		img := base.clone()
		seg := memDir + "/" + img.segmentNames(memDir)[0]
		b := slices.Clone(readMem(img, seg))
		at := bytes.Index(b, want[0].ID[:])
		b[at+3] ^= 4
		resealFrame(b, 32)
		setMem(img, seg, b)
		s := open(t, memDir, filestore.Options{FS: img, SegmentSize: 2048})
		err := s.VerifyStorage(ctxT(t))
		var ce *filestore.CorruptError
		if !errors.As(err, &ce) || ce.Segment != filepath.Base(idx[0]) {
			t.Fatalf("VerifyStorage: %v; want a *CorruptError naming %s", err, filepath.Base(idx[0]))
		}
	})
}

// TestIndexDamagedFrame: a frame damaged under a valid index is not read
// by Open; reading it reports the damage, and so does VerifyStorage.
func TestIndexDamagedFrame(t *testing.T) {
	dir := t.TempDir()
	_, ends, segPath := logWithRecords(t, filestore.OSFS{}, dir, 10)
	flipByte(t, segPath, ends[4]+50)
	s := open(t, dir, filestore.Options{})
	if st := s.OpenStats(); st.IndexLoaded != 1 || st.ScannedBytes != 0 {
		t.Fatalf("OpenStats %+v: want the index used", st)
	}
	wantCorrupt(t, s.VerifyStorage(ctxT(t)), filepath.Base(segPath), ends[4])
	var readErr error
	for _, err := range s.ReadAll(ctxT(t), 0) {
		readErr = err
	}
	wantCorrupt(t, readErr, filepath.Base(segPath), ends[4])
}

// TestIndexAndTheCommitMark: an index that disagrees with the commit mark
// is not used, so that it cannot hide what the mark says: here the mark
// records a position at its offset that the log does not have there, and
// Open fails as it does without index files.
func TestIndexAndTheCommitMark(t *testing.T) {
	m := newMemFS()
	opts := filestore.Options{FS: m}
	s := open(t, memDir, opts)
	last := map[string]*ledger.Event{}
	indexLog(t, s, 5, last)
	s.Close()
	mark := slices.Clone(readMem(m, memDir+"/COMMIT"))
	s = open(t, memDir, opts)
	indexLog(t, s, 5, last)
	s.Close()
	// The mark of the first Close: older than the index, and true.
	img := m.crash(false)
	setMem(img, memDir+"/COMMIT", mark)
	s = open(t, memDir, filestore.Options{FS: img})
	if st := s.OpenStats(); st.IndexLoaded != 1 || st.ScannedBytes != 0 {
		t.Fatalf("with an older, true mark: %+v; want the index used", st)
	}
	s.Close()
	// The same mark, recording one position more at its offset.
	le := binary.LittleEndian
	for _, at := range []int{0, 4096} {
		slot := mark[at : at+64]
		le.PutUint64(slot[40:], le.Uint64(slot[40:])+1)
		le.PutUint32(slot[60:], crc32.Checksum(slot[:60], auditCRC))
	}
	img = m.crash(false)
	setMem(img, memDir+"/COMMIT", mark)
	_, err := filestore.Open(memDir, filestore.Options{FS: img})
	var ce *filestore.CorruptError
	if !errors.As(err, &ce) {
		t.Fatalf("Open with a mark the log contradicts: %v; want a *CorruptError", err)
	}
}

// TestIndexWriteFails: an index file that cannot be written costs no
// append and no Open: the failure is logged and counted, and the next
// Open reads the segment's frames instead.
func TestIndexWriteFails(t *testing.T) {
	m := newMemFS()
	log, logged := captureLog()
	opts := filestore.Options{FS: m, Logger: log}
	s := open(t, memDir, opts)
	want := indexLog(t, s, 6, map[string]*ledger.Event{})
	m.failOn("rename", 1, syscall.EIO, false) // Close's index
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if s.IndexWriteFailures() != 1 || !strings.Contains(logged(), "level=ERROR") {
		t.Fatalf("%d index write failures, logged %q; want 1, at error level", s.IndexWriteFailures(), logged())
	}
	s = open(t, memDir, filestore.Options{FS: m})
	if st := s.OpenStats(); st.IndexMissing != 1 || st.IndexWritten != 1 {
		t.Fatalf("OpenStats %+v: want the segment read and its index written", st)
	}
	checkServes(t, s, want)
}

// TestIndexCrashDuringWrite cuts the power at every operation of Close —
// the commit mark, then the index file: its creation, write, sync,
// rename, directory sync — and checks that the store then opens, whatever
// the power loss kept, with every event.
func TestIndexCrashDuringWrite(t *testing.T) {
	base := newMemFS()
	opts := filestore.Options{FS: base, SegmentSize: 2048}
	s := open(t, memDir, opts)
	last := map[string]*ledger.Event{}
	want := indexLog(t, s, 30, last)
	s.Close()
	base = base.crash(false)
	r := rand.New(rand.NewPCG(16, 3))
	outcomes := map[string]int{}
	for n := 1; n <= 12; n++ {
		for try := range 8 {
			m := base.clone()
			s := open(t, memDir, filestore.Options{FS: m, SegmentSize: 2048})
			l2 := map[string]*ledger.Event{}
			for k, v := range last {
				l2[k] = v
			}
			more := indexLog(t, s, 3, l2)
			m.cutPowerAt(n, "")
			s.Close()
			img := m.crash(true)
			if try > 0 {
				img, _ = m.powerLoss(r)
			}
			s2, err := filestore.Open(memDir, filestore.Options{FS: img, SegmentSize: 2048})
			if err != nil {
				t.Fatalf("power cut at operation %d of Close: Open: %v", n, err)
			}
			st := s2.OpenStats()
			switch {
			case len(st.IndexRejected) > 0:
				outcomes["rejected"]++
			case st.ScannedBytes > 0:
				outcomes["frames read"]++
			default:
				outcomes["index used"]++
			}
			checkServes(t, s2, append(slices.Clone(want), more...))
			s2.Close()
		}
	}
	t.Logf("outcomes: %v", outcomes)
	if outcomes["index used"] == 0 || outcomes["frames read"] == 0 {
		t.Fatalf("the cuts never fell before, or never after, the index was written: %v", outcomes)
	}
}

// TestIndexLegacyStore: a store written before index files existed (the
// version-1 store of testdata, and one whose index files are removed)
// opens by reading every frame, gets its index files, and the next Open
// uses them.
func TestIndexLegacyStore(t *testing.T) {
	for _, src := range []string{"testdata/v1store", ""} {
		t.Run(fmt.Sprintf("%q", src), func(t *testing.T) {
			var dir string
			var want []ledger.Event
			if src != "" {
				dir = copyDir(t, src)
				s := open(t, dir, filestore.Options{SegmentSize: 1024})
				want = readAll(t, s, 0)
				s.Close()
				removeIndexFiles(t, dir)
			} else {
				dir = t.TempDir()
				s := open(t, dir, filestore.Options{SegmentSize: 1024})
				want = indexLog(t, s, 20, map[string]*ledger.Event{})
				s.Close()
				removeIndexFiles(t, dir)
			}
			segs, _ := filepath.Glob(filepath.Join(dir, "segment-*.log"))
			s := open(t, dir, filestore.Options{SegmentSize: 1024})
			if st := s.OpenStats(); st.IndexMissing != len(segs) || st.IndexWritten != len(segs) || st.IndexLoaded != 0 {
				t.Fatalf("first Open: %+v; want %d segments read and indexed", st, len(segs))
			}
			checkServes(t, s, want)
			s.Close()
			if n := auditIndexes(t, dir); n != len(segs) {
				t.Fatalf("%d index files for %d segments", n, len(segs))
			}
			s = open(t, dir, filestore.Options{SegmentSize: 1024})
			if st := s.OpenStats(); st.IndexLoaded != len(segs) || st.ScannedBytes != 0 {
				t.Fatalf("second Open: %+v", st)
			}
			checkServes(t, s, want)
			if err := s.VerifyStorage(ctxT(t)); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestDuplicateIDInTheLog: a log that holds an id twice (an id rewritten,
// the frame's checksums recomputed) fails Open when Open reads the frames,
// within a segment or across segments.
func TestDuplicateIDInTheLog(t *testing.T) {
	base, want := indexedImage(t)
	dropIndexes(t, base)
	segNames := base.segmentNames(memDir)
	for _, c := range []struct {
		name     string
		from, to int // positions (1-based): the id of from is written over to's
	}{{"within a segment", 1, 2}, {"across segments", 1, len(want)}} {
		t.Run(c.name, func(t *testing.T) {
			img := base.clone()
			var seg string
			var b []byte
			for _, n := range segNames {
				bb := readMem(img, memDir+"/"+n)
				if bytes.Contains(bb, want[c.to-1].ID[:]) {
					seg, b = memDir+"/"+n, slices.Clone(bb)
				}
			}
			at := bytes.Index(b, want[c.to-1].ID[:])
			copy(b[at:], want[c.from-1].ID[:])
			frame := int64(32)
			for off := int64(32); off < int64(at); {
				frame = off
				l := int64(binary.LittleEndian.Uint32(b[off:]))
				off += 8 + l + 4*((l+4095)/4096) + 8
			}
			resealFrame(b, frame)
			setMem(img, seg, b)
			_, err := filestore.Open(memDir, filestore.Options{FS: img, SegmentSize: 2048})
			var ce *filestore.CorruptError
			if !errors.As(err, &ce) || ce.Segment != filepath.Base(seg) || ce.Offset != frame || !strings.Contains(err.Error(), "stored twice") {
				t.Fatalf("Open: %v; want a *CorruptError at %s %d: stored twice", err, filepath.Base(seg), frame)
			}
		})
	}
}
