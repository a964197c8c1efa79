package filestore_test

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"partyledger/ledger"
	"partyledger/ledger/filestore"
)

// The independent decoder below reads a data directory using nothing but
// the format described in doc.go — no code of the package. It is what an
// auditor's own verifier would do.

var auditCRC = crc32.MakeTable(0x82F63B78) // CRC-32C, reflected polynomial

// auditFrame checks the frame at off of a segment of format version v, as
// doc.go describes it, and returns its body and where the next frame
// starts, or what is wrong.
func auditFrame(b []byte, off int, v uint32) (body []byte, end int, bad string) {
	le := binary.LittleEndian
	if len(b)-off < 8 {
		return nil, 0, "short frame header"
	}
	l := int(le.Uint32(b[off:]))
	c := le.Uint32(b[off+4:])
	if l < 16 || l > 256<<20 {
		return nil, 0, "length out of range"
	}
	if v == 1 {
		end = off + 8 + l
		if end > len(b) {
			return nil, 0, "frame runs past the end"
		}
		body = b[off+8 : end]
		if crc32.Update(crc32.Checksum(b[off:off+4], auditCRC), auditCRC, body) != c {
			return nil, 0, "crc"
		}
		return body, end, ""
	}
	k := (l + 4095) / 4096
	end = off + 8 + l + 4*k + 8
	if end > len(b) {
		return nil, 0, "frame runs past the end"
	}
	body = b[off+8 : off+8+l]
	table := b[off+8+l : off+8+l+4*k]
	if string(b[end-8:end]) != string(b[off:off+8]) {
		return nil, 0, "trailer differs from header"
	}
	if crc32.Update(crc32.Checksum(b[off:off+4], auditCRC), auditCRC, table) != c {
		return nil, 0, "crc of the chunk table"
	}
	for i := range k {
		chunk := body[4096*i : min(4096*(i+1), l)]
		if crc32.Checksum(chunk, auditCRC) != le.Uint32(table[4*i:]) {
			return nil, 0, fmt.Sprintf("crc of chunk %d", i)
		}
	}
	return body, end, ""
}

// auditMark reads the commit mark of dir as doc.go describes it: the valid
// slot with the higher sequence number. ok is false when there is none.
func auditMark(t *testing.T, dir string) (segment uint64, length int64, head uint64, ok bool) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "COMMIT"))
	if os.IsNotExist(err) {
		return 0, 0, 0, false
	}
	if err != nil {
		t.Fatal(err)
	}
	segment, length, head, seq := auditMarkBytes(b)
	if seq == 0 {
		t.Fatalf("COMMIT holds no valid slot")
	}
	return segment, length, head, true
}

// auditMarkBytes decodes the bytes of a commit mark; seq is 0 when neither
// slot is valid.
func auditMarkBytes(b []byte) (segment uint64, length int64, head, seq uint64) {
	le := binary.LittleEndian
	for _, at := range []int{0, 4096} {
		if len(b) < at+64 {
			continue
		}
		s := b[at : at+64]
		if string(s[:8]) != "PLCOMMIT" || le.Uint32(s[8:]) != 1 || le.Uint32(s[60:]) != crc32.Checksum(s[:60], auditCRC) {
			continue
		}
		if sq := le.Uint64(s[16:]); sq > seq && int(sq%2)*4096 == at {
			seq, segment, length, head = sq, le.Uint64(s[24:]), int64(le.Uint64(s[32:])), le.Uint64(s[40:])
		}
	}
	return segment, length, head, seq
}

// auditDecode decodes every segment of dir (format version 1, 2 or 3) and
// returns its events. It checks the commit mark too: the segment it names
// exists, and its length falls on a frame boundary where the log's last
// position is the one it records.
func auditDecode(t *testing.T, dir string) []ledger.Event {
	t.Helper()
	le := binary.LittleEndian
	segs, err := filepath.Glob(filepath.Join(dir, "segment-????????????????????.log"))
	if err != nil {
		t.Fatal(err)
	}
	markSeg, markLen, markHead, hasMark := auditMark(t, dir)
	markSeen := false
	var out []ledger.Event
	next := uint64(1)
	for _, seg := range segs {
		b, err := os.ReadFile(seg)
		if err != nil {
			t.Fatal(err)
		}
		fail := func(off int, format string, args ...any) {
			t.Helper()
			t.Fatalf("%s at %d: %s", filepath.Base(seg), off, fmt.Sprintf(format, args...))
		}
		v := le.Uint32(b[8:])
		if string(b[:8]) != "PLSEGMNT" || v < 1 || v > 3 || le.Uint32(b[12:]) != 32 ||
			le.Uint32(b[28:]) != crc32.Checksum(b[:28], auditCRC) {
			fail(0, "bad header")
		}
		var p uint64
		fmt.Sscanf(filepath.Base(seg), "segment-%020d.log", &p)
		if le.Uint64(b[16:]) != p || p != next {
			fail(0, "segment starts at %d, want %d", p, next)
		}
		for off := 32; off <= len(b); {
			if hasMark && p == markSeg && off == int(markLen) {
				markSeen = true
				if next-1 != markHead {
					fail(off, "the commit mark records position %d here, the log has %d", markHead, next-1)
				}
			}
			if off == len(b) {
				break
			}
			if v == 3 && allZero(b[off:]) {
				break // free space
			}
			body, end, bad := auditFrame(b, off, v)
			if bad != "" {
				fail(off, "%s", bad)
			}
			if body[0] != 1 || le.Uint64(body[8:]) != next {
				fail(off, "frame header")
			}
			m := int(le.Uint32(body[4:]))
			q := 16
			for range m {
				end := q + 4 + int(le.Uint32(body[q:]))
				q += 4
				sl := int(le.Uint16(body[q:]))
				stream := string(body[q+2 : q+2+sl])
				q += 2 + sl
				n := int(le.Uint32(body[q:]))
				q += 4
				for range n {
					var e ledger.Event
					e.ID = uuid.UUID(body[q : q+16])
					e.Stream = stream
					e.Revision = le.Uint64(body[q+16:])
					e.RecordedAt = time.Unix(int64(le.Uint64(body[q+24:])), int64(le.Uint32(body[q+32:]))).UTC()
					e.SchemaVersion = int(le.Uint32(body[q+36:]))
					copy(e.PrevHash[:], body[q+40:])
					copy(e.Hash[:], body[q+72:])
					q += 104
					str := func() string {
						n := int(le.Uint16(body[q:]))
						s := string(body[q+2 : q+2+n])
						q += 2 + n
						return s
					}
					e.Type, e.OccurredOn, e.RecordedBy = str(), str(), str()
					dl := int(le.Uint32(body[q:]))
					e.Data = body[q+4 : q+4+dl]
					q += 4 + dl
					e.Position = ledger.Position(next)
					next++
					out = append(out, e)
				}
				if q != end {
					fail(off, "entry length")
				}
			}
			if q != len(body) {
				fail(off, "body length")
			}
			off = end
		}
	}
	if hasMark && !markSeen {
		t.Fatalf("the commit mark names segment %d at byte %d: no frame boundary there", markSeg, markLen)
	}
	return out
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// resealFrame recomputes, as doc.go describes them, the checksums of the
// version-2 frame at off of segment bytes b after its body was changed:
// the chunk CRCs, C, and the header and trailer that hold it.
func resealFrame(b []byte, off int64) {
	le := binary.LittleEndian
	l := int(le.Uint32(b[off:]))
	k := (l + 4095) / 4096
	body := b[off+8 : off+8+int64(l)]
	table := b[off+8+int64(l) : off+8+int64(l)+int64(4*k)]
	for i := range k {
		le.PutUint32(table[4*i:], crc32.Checksum(body[4096*i:min(4096*(i+1), l)], auditCRC))
	}
	le.PutUint32(b[off+4:], crc32.Update(crc32.Checksum(b[off:off+4], auditCRC), auditCRC, table))
	copy(b[off+8+int64(l)+int64(4*k):], b[off:off+8])
}

// formatLog appends, to a store with small segments, batches of one to
// three events (recorded_at before 1970 too), single events of many
// streams, and one batch of events whose frame body spans several 4096-byte
// chunks.
func formatLog(t *testing.T, s *filestore.Store) {
	t.Helper()
	var last *ledger.Event
	for i := 0; i < 30; i++ {
		evs := chain("org-a", last, 1+i%3)
		evs[0].RecordedAt = time.Date(1960+i, 1, 2, 3, 4, 5, 123456000, time.UTC)
		evs[0].Hash = ledger.ComputeHash(&evs[0])
		for j := 1; j < len(evs); j++ {
			evs[j].PrevHash = evs[j-1].Hash
			evs[j].Hash = ledger.ComputeHash(&evs[j])
		}
		expected := ledger.NoStream
		if last != nil {
			expected = int64(last.Revision)
		}
		mustAppend(t, s, "org-a", expected, evs)
		last = &evs[len(evs)-1]
		mustAppend(t, s, fmt.Sprintf("org-%d", i), ledger.NoStream, chain(fmt.Sprintf("org-%d", i), nil, 1))
	}
	mustAppend(t, s, "org-big", ledger.NoStream, chainPadded("org-big", nil, 40, 300))
}

func compareDecoded(t *testing.T, s *filestore.Store, dir string) {
	t.Helper()
	want := readAll(t, s, 0)
	got := auditDecode(t, dir)
	if len(got) != len(want) {
		t.Fatalf("independent decoder found %d events, store reads %d", len(got), len(want))
	}
	for i := range got {
		if d := sameEvent(got[i], want[i]); d != "" || got[i].Position != want[i].Position {
			t.Fatalf("event %d: %s (positions %d, %d)", i, d, got[i].Position, want[i].Position)
		}
	}
	checkChains(t, got)
}

// TestFormatAsDocumented decodes a store's files with an independent
// decoder written from doc.go and compares with what the store reads,
// while it is open (the commit mark written by Open and at each new
// segment) and after Close (the mark covering everything).
func TestFormatAsDocumented(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir, filestore.Options{SegmentSize: 4096, MaxRecordSize: 64 << 10, BatchBytes: 32 << 10})
	formatLog(t, s)
	compareDecoded(t, s, dir)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	seg, length, head, ok := auditMark(t, dir)
	segs, _ := filepath.Glob(filepath.Join(dir, "segment-*.log"))
	b, _ := os.ReadFile(segs[len(segs)-1])
	end := int64(32)
	if ends := frameEnds(b); len(ends) > 0 {
		end = ends[len(ends)-1]
	}
	if !allZero(b[end:]) {
		t.Fatalf("the last segment's frames end at %d, then %d bytes that are not all zeros (free space)", end, len(b)-int(end))
	}
	if !ok || filepath.Base(segs[len(segs)-1]) != fmt.Sprintf("segment-%020d.log", seg) || length != end || head != uint64(len(auditDecode(t, dir))) {
		t.Fatalf("after Close the commit mark records segment %d, %d bytes, position %d; want the last segment %s, %d bytes", seg, length, head, filepath.Base(segs[len(segs)-1]), end)
	}
	if m, found, err := filestore.ReadMark(nil, dir); err != nil || !found || m.Segment != seg || m.Length != length || m.Head != head {
		t.Fatalf("ReadMark = %+v, %v, %v; the independent decoder read segment %d, %d bytes, position %d", m, found, err, seg, length, head)
	}
	// Every segment has its index after Close, as doc.go describes it.
	if n := auditIndexes(t, dir); n != len(segs) {
		t.Fatalf("%d index files for %d segments after Close", n, len(segs))
	}
}

// copyDir copies the files of testdata directory src into a new
// temporary directory.
func copyDir(t *testing.T, src string) string {
	t.Helper()
	dst := t.TempDir()
	err := filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, d.Name()), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

// TestReadsVersion1 opens a store written in format version 1 (no chunk
// checksums, no trailer, no commit mark; testdata/v1store, 18 events in
// four segments, written by the code before version 2): every event reads
// back and verifies, the independent decoder agrees, and new frames go to
// a new version-3 segment, after which the store is a valid mix of both.
func TestReadsVersion1(t *testing.T) {
	dir := copyDir(t, "testdata/v1store")
	before, _ := filepath.Glob(filepath.Join(dir, "segment-*.log"))
	s := open(t, dir, filestore.Options{SegmentSize: 1024})
	if got := len(readAll(t, s, 0)); got != 18 {
		t.Fatalf("%d events read from the version-1 store, want 18", got)
	}
	compareDecoded(t, s, dir)
	if _, err := ledger.New(s, ledger.Options{}).Verify(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	last, err := s.LastEvent(ctxT(t), "org-0")
	if err != nil {
		t.Fatal(err)
	}
	mustAppend(t, s, "org-0", int64(last.Revision), chain("org-0", &last, 2))
	s.Close()
	after, _ := filepath.Glob(filepath.Join(dir, "segment-*.log"))
	if len(after) != len(before)+1 || !strings.HasSuffix(after[len(after)-1], "segment-00000000000000000019.log") {
		t.Fatalf("segments %v after an append, want the %d version-1 ones and segment-…19.log", after, len(before))
	}
	for i, seg := range after {
		b, _ := os.ReadFile(seg)
		want := uint32(1)
		if i >= len(before) {
			want = 3
		}
		if v := binary.LittleEndian.Uint32(b[8:]); v != want {
			t.Fatalf("%s has format version %d, want %d", filepath.Base(seg), v, want)
		}
	}
	s2 := open(t, dir, filestore.Options{SegmentSize: 1024})
	if got := len(readAll(t, s2, 0)); got != 20 {
		t.Fatalf("%d events after the append, want 20", got)
	}
	compareDecoded(t, s2, dir)
	if _, err := ledger.New(s2, ledger.Options{}).Verify(ctxT(t)); err != nil {
		t.Fatal(err)
	}
}
