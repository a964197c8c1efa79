package filestore_test

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/uuid"

	"partyledger/ledger"
	"partyledger/ledger/filestore"
)

// auditDecode reads a data directory using nothing but the format
// described in doc.go — no code of the package — and returns its events.
// It is what an auditor's independent verifier would do.
func auditDecode(t *testing.T, dir string) []ledger.Event {
	t.Helper()
	crc := crc32.MakeTable(0x82F63B78) // CRC-32C, reflected polynomial
	le := binary.LittleEndian
	segs, err := filepath.Glob(filepath.Join(dir, "segment-????????????????????.log"))
	if err != nil {
		t.Fatal(err)
	}
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
		if string(b[:8]) != "PLSEGMNT" || le.Uint32(b[8:]) != 1 || le.Uint32(b[12:]) != 32 ||
			le.Uint32(b[28:]) != crc32.Checksum(b[:28], crc) {
			fail(0, "bad header")
		}
		var p uint64
		fmt.Sscanf(filepath.Base(seg), "segment-%020d.log", &p)
		if le.Uint64(b[16:]) != p || p != next {
			fail(0, "segment starts at %d, want %d", p, next)
		}
		for off := 32; off < len(b); {
			l := int(le.Uint32(b[off:]))
			body := b[off+8 : off+8+l]
			if crc32.Update(crc32.Checksum(b[off:off+4], crc), crc, body) != le.Uint32(b[off+4:]) {
				fail(off, "crc")
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
			off += 8 + l
		}
	}
	return out
}

// TestFormatAsDocumented decodes a store's files with an independent
// decoder written from doc.go and compares with what the store reads.
func TestFormatAsDocumented(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir, filestore.Options{SegmentSize: 4096})
	var last *ledger.Event
	for i := 0; i < 30; i++ {
		evs := chain("org-a", last, 1+i%3)
		evs[0].RecordedAt = time.Date(1960+i, 1, 2, 3, 4, 5, 123456000, time.UTC) // before 1970 too
		evs[0].Hash = ledger.ComputeHash(&evs[0])
		for j := 1; j < len(evs); j++ {
			evs[j].PrevHash = evs[j-1].Hash
			evs[j].Hash = ledger.ComputeHash(&evs[j])
		}
		mustAppend(t, s, "org-a", func() int64 {
			if last == nil {
				return ledger.NoStream
			}
			return int64(last.Revision)
		}(), evs)
		last = &evs[len(evs)-1]
		mustAppend(t, s, fmt.Sprintf("org-%d", i), ledger.NoStream, chain(fmt.Sprintf("org-%d", i), nil, 1))
	}
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
