package filestore_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"partyledger/ledger"
	"partyledger/ledger/filestore"
)

func TestRoundTrip(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir, filestore.Options{})
	a := chain("org-a", nil, 3)
	b := chain("org-b", nil, 1)
	if got := mustAppend(t, s, "org-a", ledger.NoStream, a); got[0] != 1 || got[2] != 3 {
		t.Fatalf("positions %v, want 1..3", got)
	}
	if got := mustAppend(t, s, "org-b", ledger.NoStream, b); got[0] != 4 {
		t.Fatalf("position %v, want 4", got)
	}
	a2 := chain("org-a", &a[2], 2)
	mustAppend(t, s, "org-a", 2, a2)
	want := append(append(append([]ledger.Event{}, a...), b...), a2...)

	check := func(t *testing.T, s *filestore.Store) {
		t.Helper()
		all := readAll(t, s, 0)
		if len(all) != len(want) {
			t.Fatalf("ReadAll: %d events, want %d", len(all), len(want))
		}
		for i, e := range all {
			if d := sameEvent(e, want[i]); d != "" {
				t.Fatalf("ReadAll[%d]: %s", i, d)
			}
			if e.Position != ledger.Position(i+1) {
				t.Fatalf("ReadAll[%d].Position = %d", i, e.Position)
			}
		}
		checkChains(t, all)
		if got := readAll(t, s, 4); len(got) != 2 || got[0].Position != 5 {
			t.Fatalf("ReadAll(from 4) = %d events starting %v", len(got), got)
		}
		sa, err := readStream(t, s, "org-a", 0)
		if err != nil || len(sa) != 5 {
			t.Fatalf("ReadStream(org-a) = %d events, %v", len(sa), err)
		}
		for i, e := range sa {
			if e.Revision != uint64(i) {
				t.Fatalf("ReadStream(org-a)[%d].Revision = %d", i, e.Revision)
			}
		}
		if sa, _ := readStream(t, s, "org-a", 3); len(sa) != 2 || sa[0].Revision != 3 {
			t.Fatalf("ReadStream(org-a, 3) = %v", sa)
		}
		if sa, err := readStream(t, s, "org-a", 9); len(sa) != 0 || err != nil {
			t.Fatalf("ReadStream(org-a, 9) = %v, %v; want nothing", sa, err)
		}
		last, err := s.LastEvent(ctxT(t), "org-a")
		if err != nil || last.ID != a2[1].ID || last.Position != 6 {
			t.Fatalf("LastEvent = %v, %v", last, err)
		}
		e, err := s.EventByID(ctxT(t), b[0].ID)
		if err != nil || sameEvent(e, b[0]) != "" || e.Position != 4 {
			t.Fatalf("EventByID = %v, %v", e, err)
		}
		if s.Head() != 6 {
			t.Fatalf("Head = %d", s.Head())
		}
		if err := s.VerifyStorage(ctxT(t)); err != nil {
			t.Fatalf("VerifyStorage: %v", err)
		}
	}
	t.Run("before reopen", func(t *testing.T) { check(t, s) })
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	t.Run("after reopen", func(t *testing.T) {
		s := open(t, dir, filestore.Options{})
		check(t, s)
		mustAppend(t, s, "org-b", 0, chain("org-b", &b[0], 1))
	})
}

func TestNotFound(t *testing.T) {
	s := open(t, t.TempDir(), filestore.Options{})
	mustAppend(t, s, "org-a", ledger.NoStream, chain("org-a", nil, 1))
	t.Run("ReadStream", func(t *testing.T) {
		if _, err := readStream(t, s, "org-x", 0); !errors.Is(err, ledger.ErrStreamNotFound) {
			t.Fatalf("err = %v, want ErrStreamNotFound", err)
		}
	})
	t.Run("LastEvent", func(t *testing.T) {
		if _, err := s.LastEvent(ctxT(t), "org-x"); !errors.Is(err, ledger.ErrStreamNotFound) {
			t.Fatalf("err = %v, want ErrStreamNotFound", err)
		}
	})
	t.Run("EventByID", func(t *testing.T) {
		if _, err := s.EventByID(ctxT(t), uuid.New()); !errors.Is(err, ledger.ErrEventNotFound) {
			t.Fatalf("err = %v, want ErrEventNotFound", err)
		}
	})
	t.Run("empty store", func(t *testing.T) {
		s := open(t, t.TempDir(), filestore.Options{})
		if got := readAll(t, s, 0); len(got) != 0 {
			t.Fatalf("ReadAll of an empty store: %d events", len(got))
		}
	})
}

func TestWrongRevision(t *testing.T) {
	s := open(t, t.TempDir(), filestore.Options{})
	first := chain("org-a", nil, 2)
	mustAppend(t, s, "org-a", ledger.NoStream, first)
	cases := []struct {
		name     string
		stream   string
		expected int64
		actual   int64
		events   []ledger.Event
	}{
		{"stream exists, expected none", "org-a", ledger.NoStream, 1, chain("org-a", nil, 1)},
		{"stale revision", "org-a", 0, 1, chain("org-a", &first[0], 1)},
		{"future revision", "org-a", 5, 1, []ledger.Event{sealed("org-a", 6, first[1].Hash, `{}`)}},
		{"missing stream, expected a revision", "org-b", 0, ledger.NoStream, []ledger.Event{sealed("org-b", 1, ledger.Hash{1}, `{}`)}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := s.Append(ctxT(t), c.stream, c.expected, c.events)
			var wr *ledger.WrongRevisionError
			if !errors.As(err, &wr) || !errors.Is(err, ledger.ErrWrongExpectedRevision) {
				t.Fatalf("err = %v, want *WrongRevisionError", err)
			}
			if wr.Stream != c.stream || wr.Expected != c.expected || wr.Actual != c.actual {
				t.Fatalf("got %+v, want stream %s expected %d actual %d", wr, c.stream, c.expected, c.actual)
			}
		})
	}
	t.Run("nothing was written", func(t *testing.T) {
		if got := readAll(t, s, 0); len(got) != 2 {
			t.Fatalf("%d events stored, want 2", len(got))
		}
	})
	t.Run("empty append checks the revision only", func(t *testing.T) {
		if ps, err := s.Append(ctxT(t), "org-a", 1, nil); err != nil || len(ps) != 0 {
			t.Fatalf("Append(no events) = %v, %v", ps, err)
		}
		if _, err := s.Append(ctxT(t), "org-a", 0, nil); !errors.Is(err, ledger.ErrWrongExpectedRevision) {
			t.Fatalf("Append(no events, stale) = %v", err)
		}
	})
}

func TestDuplicateID(t *testing.T) {
	s := open(t, t.TempDir(), filestore.Options{})
	a := chain("org-a", nil, 1)
	mustAppend(t, s, "org-a", ledger.NoStream, a)
	t.Run("id stored in another stream", func(t *testing.T) {
		e := chain("org-b", nil, 1)
		e[0].ID = a[0].ID
		if _, err := s.Append(ctxT(t), "org-b", ledger.NoStream, e); !errors.Is(err, ledger.ErrDuplicateEventID) {
			t.Fatalf("err = %v, want ErrDuplicateEventID", err)
		}
	})
	t.Run("id twice in the batch", func(t *testing.T) {
		e := chain("org-a", &a[0], 2)
		e[1].ID = e[0].ID
		if _, err := s.Append(ctxT(t), "org-a", 0, e); !errors.Is(err, ledger.ErrDuplicateEventID) {
			t.Fatalf("err = %v, want ErrDuplicateEventID", err)
		}
	})
	t.Run("id twice in a large batch", func(t *testing.T) {
		e := chain("org-a", &a[0], 40)
		e[33].ID = e[7].ID
		if _, err := s.Append(ctxT(t), "org-a", 0, e); !errors.Is(err, ledger.ErrDuplicateEventID) {
			t.Fatalf("err = %v, want ErrDuplicateEventID", err)
		}
	})
	t.Run("id appended earlier in the same group commit", func(t *testing.T) {
		// Two appends race with the same id: exactly one wins.
		e1, e2 := chain("org-c", nil, 1), chain("org-d", nil, 1)
		e2[0].ID = e1[0].ID
		errs := make(chan error, 2)
		go func() { _, err := s.Append(ctxT(t), "org-c", ledger.NoStream, e1); errs <- err }()
		go func() { _, err := s.Append(ctxT(t), "org-d", ledger.NoStream, e2); errs <- err }()
		err1, err2 := <-errs, <-errs
		if (err1 == nil) == (err2 == nil) {
			t.Fatalf("errors %v and %v: want exactly one success", err1, err2)
		}
		if err := errors.Join(err1, err2); !errors.Is(err, ledger.ErrDuplicateEventID) {
			t.Fatalf("loser got %v, want ErrDuplicateEventID", err)
		}
	})
	t.Run("nothing was written", func(t *testing.T) {
		if got := readAll(t, s, 0); len(got) != 2 {
			t.Fatalf("%d events stored, want 2 (org-a's first and the race winner)", len(got))
		}
		if _, err := readStream(t, s, "org-b", 0); !errors.Is(err, ledger.ErrStreamNotFound) {
			t.Fatalf("org-b: %v, want not found", err)
		}
	})
}

func TestInvalidAppend(t *testing.T) {
	s := open(t, t.TempDir(), filestore.Options{MaxNameBytes: 16, MaxEventsPerAppend: 3, MaxRecordSize: 4096, BatchBytes: 1024})
	cases := []struct {
		name     string
		stream   string
		expected int64
		events   func() []ledger.Event
	}{
		{"revisions do not follow expected", "org-a", ledger.NoStream, func() []ledger.Event { return []ledger.Event{sealed("org-a", 1, ledger.Hash{}, `{}`)} }},
		{"revision gap inside the batch", "org-a", ledger.NoStream, func() []ledger.Event {
			e := chain("org-a", nil, 2)
			e[1].Revision = 5
			return e
		}},
		{"event for another stream", "org-a", ledger.NoStream, func() []ledger.Event { return chain("org-b", nil, 1) }},
		{"empty stream name", "", ledger.NoStream, func() []ledger.Event { return nil }},
		{"expected below NoStream", "org-a", -2, func() []ledger.Event { return nil }},
		{"stream name too long", strings.Repeat("x", 17), ledger.NoStream, func() []ledger.Event { return nil }},
		{"type too long", "org-a", ledger.NoStream, func() []ledger.Event {
			e := chain("org-a", nil, 1)
			e[0].Type = strings.Repeat("T", 17)
			return e
		}},
		{"too many events", "org-a", ledger.NoStream, func() []ledger.Event { return chain("org-a", nil, 4) }},
		{"record too large", "org-a", ledger.NoStream, func() []ledger.Event {
			e := chain("org-a", nil, 1)
			e[0].Data = []byte(`"` + strings.Repeat("x", 5000) + `"`)
			return e
		}},
		{"negative schema version", "org-a", ledger.NoStream, func() []ledger.Event {
			e := chain("org-a", nil, 1)
			e[0].SchemaVersion = -1
			return e
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := s.Append(ctxT(t), c.stream, c.expected, c.events())
			if !errors.Is(err, filestore.ErrInvalidAppend) {
				t.Fatalf("err = %v, want ErrInvalidAppend", err)
			}
		})
	}
	if s.Head() != 0 {
		t.Fatalf("head %d after rejected appends", s.Head())
	}
	if err := s.Err(); err != nil {
		t.Fatalf("store turned read-only after rejected appends: %v", err)
	}
}

func TestBadOptions(t *testing.T) {
	for _, o := range []filestore.Options{
		{SegmentSize: 10},
		{MaxRecordSize: 10},
		{MaxRecordSize: 1 << 20, BatchBytes: 2 << 20},
		{MaxNameBytes: 70000},
		{ReadChunkSize: 10},
	} {
		if _, err := filestore.Open(t.TempDir(), o); !errors.Is(err, filestore.ErrBadOptions) {
			t.Errorf("Open(%+v) = %v, want ErrBadOptions", o, err)
		}
	}
}

func TestLocked(t *testing.T) {
	dir := t.TempDir()
	open(t, dir, filestore.Options{})
	if s, err := filestore.Open(dir, filestore.Options{}); !errors.Is(err, filestore.ErrLocked) {
		if s != nil {
			s.Close()
		}
		t.Fatalf("second Open = %v, want ErrLocked", err)
	}
}

func TestSegmentRollover(t *testing.T) {
	dir := t.TempDir()
	opts := filestore.Options{SegmentSize: 2048, MaxRecordSize: 4096, BatchBytes: 1024}
	s := open(t, dir, opts)
	var want []ledger.Event
	var last *ledger.Event
	for i := 0; i < 60; i++ {
		n := 1 + i%3
		evs := chain("org-a", last, n)
		mustAppend(t, s, "org-a", int64(len(want))-1, evs)
		want = append(want, evs...)
		last = &want[len(want)-1]
	}
	names, _ := os.ReadDir(dir)
	segs := 0
	for _, n := range names {
		if strings.HasSuffix(n.Name(), ".log") {
			segs++
		}
	}
	if segs < 5 {
		t.Fatalf("%d segments, want several", segs)
	}
	check := func(t *testing.T, s *filestore.Store) {
		t.Helper()
		all := readAll(t, s, 0)
		if len(all) != len(want) {
			t.Fatalf("%d events, want %d", len(all), len(want))
		}
		for i := range all {
			if d := sameEvent(all[i], want[i]); d != "" {
				t.Fatalf("event %d: %s", i, d)
			}
		}
		checkChains(t, all)
		for _, from := range []ledger.Position{0, 1, 17, 50, ledger.Position(len(want) - 1)} {
			if got := readAll(t, s, from); len(got) != len(want)-int(from) {
				t.Fatalf("ReadAll(%d): %d events", from, len(got))
			}
		}
		st, err := readStream(t, s, "org-a", 0)
		if err != nil || len(st) != len(want) {
			t.Fatalf("ReadStream: %d, %v", len(st), err)
		}
		if err := s.VerifyStorage(ctxT(t)); err != nil {
			t.Fatal(err)
		}
	}
	t.Run("live", func(t *testing.T) { check(t, s) })
	s.Close()
	t.Run("reopened", func(t *testing.T) { check(t, open(t, dir, opts)) })
	t.Run("small read chunks", func(t *testing.T) {
		o := opts
		o.ReadChunkSize = 4096
		o.MaxRecordSize = 16 << 10
		dir2 := t.TempDir()
		s := open(t, dir2, o)
		big := chain("org-b", nil, 1)
		big[0].Data = []byte(`"` + strings.Repeat("大", 1500) + `"`) // one frame larger than a chunk
		big[0].Hash = ledger.ComputeHash(&big[0])
		mustAppend(t, s, "org-b", ledger.NoStream, big)
		mustAppend(t, s, "org-b", 0, chain("org-b", &big[0], 2))
		if got := readAll(t, s, 0); len(got) != 3 || sameEvent(got[0], big[0]) != "" {
			t.Fatalf("ReadAll: %d events", len(got))
		}
	})
}

func TestConcurrentAppends(t *testing.T) {
	dir := t.TempDir()
	opts := filestore.Options{SegmentSize: 64 << 10, BatchBytes: 8 << 10}
	s := open(t, dir, opts)
	const writers, per = 16, 40
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	acked := make([][]ledger.Event, writers)
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			stream := fmt.Sprintf("org-%02d", w)
			var last *ledger.Event
			for i := 0; i < per; i++ {
				evs := chain(stream, last, 1+i%2)
				expected := ledger.NoStream
				if last != nil {
					expected = int64(last.Revision)
				}
				ps, err := s.Append(context.Background(), stream, expected, evs)
				if err != nil {
					errs <- fmt.Errorf("writer %d append %d: %w", w, i, err)
					return
				}
				for j := 1; j < len(ps); j++ {
					if ps[j] != ps[j-1]+1 {
						errs <- fmt.Errorf("writer %d: positions %v not contiguous", w, ps)
						return
					}
				}
				acked[w] = append(acked[w], evs...)
				last = &acked[w][len(acked[w])-1]
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	check := func(t *testing.T, s *filestore.Store) {
		all := readAll(t, s, 0)
		if len(all) != writers*per*3/2 {
			t.Fatalf("%d events, want %d", len(all), writers*per*3/2)
		}
		checkChains(t, all)
		for w := range acked {
			got, err := readStream(t, s, fmt.Sprintf("org-%02d", w), 0)
			if err != nil || len(got) != len(acked[w]) {
				t.Fatalf("writer %d: %d events, %v", w, len(got), err)
			}
			for i := range got {
				if d := sameEvent(got[i], acked[w][i]); d != "" {
					t.Fatalf("writer %d event %d: %s", w, i, d)
				}
			}
		}
	}
	t.Run("live", func(t *testing.T) { check(t, s) })
	s.Close()
	t.Run("reopened", func(t *testing.T) { check(t, open(t, dir, opts)) })
}

// TestReadAllEndsAtCallTime checks that ReadAll stops at the head it saw
// when called, even when appends land before or during the iteration.
func TestReadAllEndsAtCallTime(t *testing.T) {
	s := open(t, t.TempDir(), filestore.Options{})
	var last *ledger.Event
	for i := 0; i < 20; i++ {
		evs := chain("org-a", last, 1+i%2)
		mustAppend(t, s, "org-a", func() int64 {
			if last == nil {
				return ledger.NoStream
			}
			return int64(last.Revision)
		}(), evs)
		last = &evs[len(evs)-1]
	}
	head := s.Head()
	for _, from := range []ledger.Position{0, 5, head - 1, head} {
		seq := s.ReadAll(ctxT(t), from)
		evs := chain("org-b-"+fmt.Sprint(from), nil, 3)
		mustAppend(t, s, evs[0].Stream, ledger.NoStream, evs)
		n := 0
		for e, err := range seq {
			if err != nil {
				t.Fatal(err)
			}
			if e.Position > head {
				t.Fatalf("ReadAll(%d) yielded position %d past the head %d it was called at", from, e.Position, head)
			}
			n++
		}
		if n != int(head-from) {
			t.Fatalf("ReadAll(%d): %d events, want %d", from, n, head-from)
		}
		head = s.Head()
	}
}

// Options.SyncObserver hears of every commit's fdatasync, once per
// commit, with its duration; a refused append syncs nothing.
func TestSyncObserver(t *testing.T) {
	var mu sync.Mutex
	var syncs []time.Duration
	s := open(t, t.TempDir(), filestore.Options{SyncObserver: func(d time.Duration) {
		mu.Lock()
		syncs = append(syncs, d)
		mu.Unlock()
	}})
	count := func() int {
		mu.Lock()
		defer mu.Unlock()
		return len(syncs)
	}
	before := count() // Open's own syncs are not commits
	a := chain("org-a", nil, 3)
	mustAppend(t, s, "org-a", ledger.NoStream, a[:1])
	mustAppend(t, s, "org-a", 0, a[1:])
	if got := count() - before; got != 2 {
		t.Fatalf("%d syncs observed for 2 sequential appends, want 2", got)
	}
	if _, err := s.Append(ctxT(t), "org-a", 0, chain("org-a", &a[2], 1)); !errors.Is(err, ledger.ErrWrongExpectedRevision) {
		t.Fatalf("append at a wrong revision: %v", err)
	}
	if got := count() - before; got != 2 {
		t.Fatalf("%d syncs observed after a refused append, want still 2", got)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, d := range syncs {
		if d <= 0 {
			t.Errorf("sync of %v", d)
		}
	}
}
