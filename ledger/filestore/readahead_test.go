package filestore_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"partyledger/ledger"
	"partyledger/ledger/filestore"
)

// TestReadStreamReadAhead reads interleaved streams — one event per
// commit, frames of mixed sizes, some larger than the read-ahead window —
// with windows from smaller than a frame header to larger than the file,
// and checks every event against what was appended. The windows are
// pread's: mapping is off.
func TestReadStreamReadAhead(t *testing.T) {
	defer filestore.SetMapsForTest(false)()
	ctx := context.Background()
	s := open(t, t.TempDir(), filestore.Options{})
	streams := []string{"org-a", "org-b", "org-c"}
	want := map[string][]ledger.Event{}
	prev := map[string]ledger.Hash{}
	for i := 0; i < 300; i++ {
		st := streams[i%len(streams)]
		payload := fmt.Sprintf(`{"n":%d,"pad":"%s"}`, i, strings.Repeat("x", (i*37)%900))
		e := sealed(st, uint64(len(want[st])), prev[st], payload)
		exp := int64(len(want[st])) - 1
		if _, err := s.Append(ctx, st, exp, []ledger.Event{e}); err != nil {
			t.Fatal(err)
		}
		prev[st] = e.Hash
		want[st] = append(want[st], e)
	}
	for _, window := range []int64{1, 64, 700, 4096, 32 << 10, 1 << 24} {
		t.Run(fmt.Sprint(window), func(t *testing.T) {
			defer filestore.SetReadAhead(window)()
			for _, st := range streams {
				i := 0
				for e, err := range s.ReadStream(ctx, st, 0) {
					if err != nil {
						t.Fatal(err)
					}
					w := want[st][i]
					if e.ID != w.ID || e.Hash != w.Hash || string(e.Data) != string(w.Data) || e.Revision != uint64(i) {
						t.Fatalf("%s revision %d: got %s %q, want %s %q", st, i, e.ID, e.Data, w.ID, w.Data)
					}
					i++
				}
				if i != len(want[st]) {
					t.Fatalf("%s: read %d events, want %d", st, i, len(want[st]))
				}
			}
		})
	}
}

// BenchmarkReadStreamInterleaved reads one 1,000-event stream written one
// event per commit between nine other streams' events (the layout of live
// logging): from the segment's mapping, and with pread and read-ahead
// windows of two sizes, the case read-ahead is for.
func BenchmarkReadStreamInterleaved(b *testing.B) {
	ctx := context.Background()
	dir := b.TempDir()
	s := open(b, dir, filestore.Options{})
	var events []ledger.Event
	for i := 0; i < 10_000; i++ {
		st := fmt.Sprintf("org-%d", i%10)
		e := sealed(st, uint64(i/10), ledger.Hash{}, `{"topic":"学习","attendees":["m001","m002","m003"],"notes_kept":true}`)
		events = append(events, e)
	}
	// Append in rounds of ten concurrent writers would batch them into one
	// frame; one at a time keeps one event per frame.
	for i, e := range events {
		if _, err := s.Append(ctx, e.Stream, int64(i/10)-1, []ledger.Event{e}); err != nil {
			b.Fatal(err)
		}
	}
	s.Close()
	read := func(b *testing.B, s *filestore.Store) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			n := 0
			for _, err := range s.ReadStream(ctx, "org-3", 0) {
				if err != nil {
					b.Fatal(err)
				}
				n++
			}
			if n != 1000 {
				b.Fatalf("read %d events", n)
			}
		}
		b.ReportMetric(float64(1000*b.N)/b.Elapsed().Seconds(), "events/s")
	}
	b.Run("mapped", func(b *testing.B) {
		s := open(b, dir, filestore.Options{})
		defer s.Close()
		read(b, s)
	})
	for _, window := range []int64{4096, 32 << 10} {
		b.Run(fmt.Sprint("pread-", window), func(b *testing.B) {
			defer filestore.SetMapsForTest(false)()
			defer filestore.SetReadAhead(window)()
			s := open(b, dir, filestore.Options{})
			defer s.Close()
			read(b, s)
		})
	}
}
