// Package ledgertest is the conformance suite every ledger.Store runs: one
// named-behaviour test per property the Ledger relies on, driven through a
// real ledger.Ledger over the store under test.
//
//	func TestConformance(t *testing.T) {
//		ledgertest.Run(t, func(t *testing.T) ledger.Store { return openMyStore(t) })
//	}
//
// open must return a fresh, empty store for each call; the suite closes it.
// A store that keeps event ids per stream only runs RunConfig with
// Config.StreamScopedIDs.
package ledgertest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"partyledger/ledger"
)

// Clock is a deterministic test clock: each call returns the next
// millisecond after Start.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// NewClock returns a clock starting at start.
func NewClock(start time.Time) *Clock { return &Clock{now: start} }

// Now advances the clock by one millisecond and returns it.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(time.Millisecond)
	return c.now
}

// Set moves the clock (backwards too — the ledger must not follow).
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	c.now = t
	c.mu.Unlock()
}

var epoch = time.Date(2017, 1, 2, 3, 4, 5, 0, time.UTC)

type harness struct {
	t     *testing.T
	conf  Config
	open  func(t *testing.T) ledger.Store
	store ledger.Store
	l     *ledger.Ledger
	clock *Clock
}

func newHarness(t *testing.T, conf Config, open func(t *testing.T) ledger.Store) *harness {
	t.Helper()
	st := open(t)
	c := NewClock(epoch)
	h := &harness{t: t, conf: conf, open: open, store: st, clock: c, l: ledger.New(st, ledger.Options{Clock: c.Now})}
	t.Cleanup(func() { _ = st.Close() })
	return h
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// proposal returns a distinct event with a fresh id.
func proposal(n int) ledger.Proposed {
	return ledger.Proposed{
		ID: uuid.New(), Type: "StudySessionHeld", OccurredOn: "2016-03-08", RecordedBy: "tester",
		Data: []byte(fmt.Sprintf(`{"topic":"第%d次学习","attendees":[],"notes_kept":true}`, n)),
	}
}

func proposals(from, n int) []ledger.Proposed {
	out := make([]ledger.Proposed, n)
	for i := range out {
		out[i] = proposal(from + i)
	}
	return out
}

func (h *harness) append(stream string, exp ledger.Expected, ps []ledger.Proposed) []ledger.Result {
	h.t.Helper()
	res, err := h.l.Append(ctxT(h.t), stream, exp, ps)
	if err != nil {
		h.t.Fatalf("append %d events to %s: %v", len(ps), stream, err)
	}
	return res
}

func collect(t *testing.T, seq func(func(ledger.Event, error) bool)) ([]ledger.Event, error) {
	t.Helper()
	var out []ledger.Event
	for e, err := range seq {
		if err != nil {
			return out, err
		}
		out = append(out, e)
	}
	return out, nil
}

func (h *harness) readStream(stream string) []ledger.Event {
	h.t.Helper()
	evs, err := collect(h.t, h.l.ReadStream(ctxT(h.t), stream, 0))
	if err != nil {
		h.t.Fatalf("read %s: %v", stream, err)
	}
	return evs
}

func (h *harness) readAll() []ledger.Event {
	h.t.Helper()
	evs, err := collect(h.t, h.l.ReadAll(ctxT(h.t), 0))
	if err != nil {
		h.t.Fatalf("read all: %v", err)
	}
	return evs
}

func sameEvent(t *testing.T, got, want ledger.Event) {
	t.Helper()
	if got.ID != want.ID || got.Stream != want.Stream || got.Type != want.Type ||
		got.SchemaVersion != want.SchemaVersion || got.Revision != want.Revision ||
		got.Position != want.Position || got.OccurredOn != want.OccurredOn ||
		!got.RecordedAt.Equal(want.RecordedAt) || got.RecordedBy != want.RecordedBy ||
		string(got.Data) != string(want.Data) || got.PrevHash != want.PrevHash || got.Hash != want.Hash {
		t.Fatalf("event differs:\n got %+v\nwant %+v", got, want)
	}
}

// byID looks a stored event up by id as the ledger's duplicate check
// does: by id alone, or, for a store with per-stream ids, in stream (after
// checking that the id alone gets ledger.ErrNoIDIndex).
func (h *harness) byID(stream string, id uuid.UUID) (ledger.Event, error) {
	h.t.Helper()
	if !h.conf.StreamScopedIDs {
		return h.l.EventByID(ctxT(h.t), id)
	}
	if _, err := h.store.EventByID(ctxT(h.t), id); !errors.Is(err, ledger.ErrNoIDIndex) {
		h.t.Fatalf("EventByID on a store with per-stream ids: err = %v, want ErrNoIDIndex", err)
	}
	return h.l.LookupID(ctxT(h.t), stream, id)
}

// Config describes the store under test.
type Config struct {
	// StreamScopedIDs: the store keeps event ids per stream (EventByID
	// returns ledger.ErrNoIDIndex; it implements ledger.StreamIDLookup).
	// Lookups then name the stream, and the behaviours that need an id
	// stored in one stream to be refused in another are skipped.
	StreamScopedIDs bool
}

// Run runs every behaviour against stores made by open.
func Run(t *testing.T, open func(t *testing.T) ledger.Store) { RunConfig(t, Config{}, open) }

// RunConfig runs every behaviour that applies to a store described by conf.
func RunConfig(t *testing.T, conf Config, open func(t *testing.T) ledger.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, h *harness)
	}{
		{"RoundTrip", testRoundTrip},
		{"StreamNotFound", testStreamNotFound},
		{"WrongExpectedRevision", testWrongExpectedRevision},
		{"IdempotentSameContent", testIdempotentSameContent},
		{"IdempotentDifferentContent", testIdempotentDifferentContent},
		{"StoreRefusesDuplicateID", testStoreRefusesDuplicateID},
		{"ConcurrentAppendsOneStream", testConcurrentOneStream},
		{"ConcurrentAppendsManyStreams", testConcurrentManyStreams},
		{"GlobalOrder", testGlobalOrder},
		{"ReadAllFromPosition", testReadAllFrom},
		{"HashChain", testHashChain},
		{"ClockNeverGoesBackwards", testClockMonotonic},
		{"SubscribeCatchUpThenLive", testSubscribe},
		{"Cancellation", testCancellation},
		{"Restore", testRestore},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, newHarness(t, conf, open)) })
	}
}

func testRoundTrip(t *testing.T, h *harness) {
	ps := proposals(0, 3)
	res := h.append("org-a", ledger.ExpectNoStream, ps)
	if len(res) != 3 {
		t.Fatalf("got %d results, want 3", len(res))
	}
	evs := h.readStream("org-a")
	if len(evs) != 3 {
		t.Fatalf("read %d events, want 3", len(evs))
	}
	for i, e := range evs {
		p := ps[i]
		if e.ID != p.ID || e.Type != p.Type || e.OccurredOn != p.OccurredOn || e.RecordedBy != p.RecordedBy ||
			string(e.Data) != string(p.Data) || e.Stream != "org-a" || e.Revision != uint64(i) ||
			e.SchemaVersion != ledger.SchemaVersion {
			t.Fatalf("event %d: got %+v, proposed %+v", i, e, p)
		}
		r := res[i]
		if r.ID != e.ID || r.Revision != e.Revision || r.Position != e.Position || !r.RecordedAt.Equal(e.RecordedAt) || r.Hash != e.Hash || r.Duplicate {
			t.Fatalf("result %d = %+v does not match stored %+v", i, r, e)
		}
		if e.RecordedAt.Location() != time.UTC || !e.RecordedAt.Equal(e.RecordedAt.Truncate(time.Microsecond)) {
			t.Fatalf("recorded_at %v: want UTC with microsecond precision", e.RecordedAt)
		}
		byID, err := h.byID("org-a", e.ID)
		if err != nil {
			t.Fatalf("EventByID(%s): %v", e.ID, err)
		}
		sameEvent(t, byID, e)
	}
	last, err := h.l.LastEvent(ctxT(t), "org-a")
	if err != nil {
		t.Fatalf("LastEvent: %v", err)
	}
	sameEvent(t, last, evs[2])
	from1, err := collect(t, h.l.ReadStream(ctxT(t), "org-a", 1))
	if err != nil || len(from1) != 2 || from1[0].Revision != 1 {
		t.Fatalf("ReadStream from 1: %d events, err %v; want revisions 1, 2", len(from1), err)
	}
	if _, err := h.byID("org-a", uuid.New()); !errors.Is(err, ledger.ErrEventNotFound) {
		t.Fatalf("EventByID(unknown) err = %v, want ErrEventNotFound", err)
	}
}

func testStreamNotFound(t *testing.T, h *harness) {
	_, err := collect(t, h.l.ReadStream(ctxT(t), "org-missing", 0))
	if !errors.Is(err, ledger.ErrStreamNotFound) {
		t.Fatalf("ReadStream(missing) err = %v, want ErrStreamNotFound", err)
	}
	if _, err := h.l.LastEvent(ctxT(t), "org-missing"); !errors.Is(err, ledger.ErrStreamNotFound) {
		t.Fatalf("LastEvent(missing) err = %v, want ErrStreamNotFound", err)
	}
}

func testWrongExpectedRevision(t *testing.T, h *harness) {
	h.append("org-a", ledger.ExpectNoStream, proposals(0, 3))
	cases := []struct {
		name   string
		stream string
		exp    ledger.Expected
		actual int64
	}{
		{"exact too high", "org-a", ledger.ExpectRevision(5), 2},
		{"exact too low", "org-a", ledger.ExpectRevision(1), 2},
		{"no stream on existing", "org-a", ledger.ExpectNoStream, 2},
		{"exact on missing", "org-b", ledger.ExpectRevision(0), ledger.NoStream},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := h.l.Append(ctxT(t), c.stream, c.exp, proposals(100, 1))
			var wr *ledger.WrongRevisionError
			if !errors.As(err, &wr) || !errors.Is(err, ledger.ErrWrongExpectedRevision) {
				t.Fatalf("err = %v, want *WrongRevisionError", err)
			}
			if wr.Actual != c.actual {
				t.Fatalf("actual = %d, want %d", wr.Actual, c.actual)
			}
		})
	}
	// The store itself checks, for writers in other processes.
	for _, exp := range []int64{ledger.NoStream, 0, 1, 3} {
		next := sealedNext(t, h, "org-a")
		_, err := h.store.Append(ctxT(t), "org-a", exp, next)
		var wr *ledger.WrongRevisionError
		if !errors.As(err, &wr) || wr.Actual != 2 {
			t.Fatalf("store append expecting %d on a stream at 2: err = %v, want *WrongRevisionError with actual 2", exp, err)
		}
	}
	if n := len(h.readAll()); n != 3 {
		t.Fatalf("ledger holds %d events after refused appends, want 3", n)
	}
	h.append("org-a", ledger.ExpectRevision(2), proposals(200, 1))
	h.append("org-b", ledger.ExpectNoStream, proposals(300, 1))
	h.append("org-b", ledger.Any, proposals(400, 1))
}

func testIdempotentSameContent(t *testing.T, h *harness) {
	ps := proposals(0, 2)
	first := h.append("org-a", ledger.ExpectNoStream, ps)
	// A retry may carry a stale expected revision: the ids decide.
	again := h.append("org-a", ledger.ExpectNoStream, ps)
	for i := range first {
		f, a := first[i], again[i]
		if !a.Duplicate || a.ID != f.ID || a.Revision != f.Revision || a.Position != f.Position || !a.RecordedAt.Equal(f.RecordedAt) || a.Hash != f.Hash {
			t.Fatalf("retry result %d = %+v, want first result %+v marked duplicate", i, a, f)
		}
	}
	other := ps[0]
	other.RecordedBy = "someone-else"
	h.append("org-a", ledger.Any, []ledger.Proposed{other})
	if n := len(h.readAll()); n != 2 {
		t.Fatalf("ledger holds %d events, want 2 (nothing written by retries)", n)
	}
}

func testIdempotentDifferentContent(t *testing.T, h *harness) {
	ps := proposals(0, 1)
	h.append("org-a", ledger.ExpectNoStream, ps)
	changes := map[string]func(p *ledger.Proposed) string{
		"data": func(p *ledger.Proposed) string {
			p.Data = []byte(`{"topic":"改","attendees":[],"notes_kept":true}`)
			return "org-a"
		},
		"type":        func(p *ledger.Proposed) string { p.Type = "MeetingHeld"; return "org-a" },
		"occurred_on": func(p *ledger.Proposed) string { p.OccurredOn = "2016-03-09"; return "org-a" },
		"stream":      func(p *ledger.Proposed) string { return "org-b" },
	}
	for name, change := range changes {
		t.Run(name, func(t *testing.T) {
			if name == "stream" && h.conf.StreamScopedIDs {
				t.Skip("per-stream ids: an id is checked in its target stream only")
			}
			p := ps[0]
			stream := change(&p)
			_, err := h.l.Append(ctxT(t), stream, ledger.Any, []ledger.Proposed{p})
			if !errors.Is(err, ledger.ErrIDConflict) {
				t.Fatalf("err = %v, want ErrIDConflict", err)
			}
		})
	}
	t.Run("batch mixing old and new", func(t *testing.T) {
		_, err := h.l.Append(ctxT(t), "org-a", ledger.Any, []ledger.Proposed{ps[0], proposal(9)})
		if !errors.Is(err, ledger.ErrIDConflict) {
			t.Fatalf("err = %v, want ErrIDConflict", err)
		}
	})
	t.Run("same id twice in one batch", func(t *testing.T) {
		p := proposal(10)
		_, err := h.l.Append(ctxT(t), "org-a", ledger.Any, []ledger.Proposed{p, p})
		if !errors.Is(err, ledger.ErrIDConflict) {
			t.Fatalf("err = %v, want ErrIDConflict", err)
		}
	})
	if n := len(h.readAll()); n != 1 {
		t.Fatalf("ledger holds %d events, want 1", n)
	}
}

func testStoreRefusesDuplicateID(t *testing.T, h *harness) {
	res := h.append("org-a", ledger.ExpectNoStream, proposals(0, 1))
	stored, err := h.byID("org-a", res[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	if h.conf.StreamScopedIDs {
		// The same id again in its own stream, at the next revision.
		dup := stored
		dup.Revision, dup.PrevHash, dup.Position = 1, stored.Hash, 0
		dup.Hash = ledger.ComputeHash(&dup)
		_, err = h.store.Append(ctxT(t), "org-a", 0, []ledger.Event{dup})
		if !errors.Is(err, ledger.ErrDuplicateEventID) {
			t.Fatalf("store append of an id stored in the stream: err = %v, want ErrDuplicateEventID", err)
		}
		if n := len(h.readStream("org-a")); n != 1 {
			t.Fatalf("org-a holds %d events after a refused append, want 1", n)
		}
		return
	}
	dup := stored
	dup.Stream, dup.Revision, dup.PrevHash, dup.Position = "org-b", 0, ledger.Hash{}, 0
	dup.Hash = ledger.ComputeHash(&dup)
	_, err = h.store.Append(ctxT(t), "org-b", ledger.NoStream, []ledger.Event{dup})
	if !errors.Is(err, ledger.ErrDuplicateEventID) {
		t.Fatalf("store append of a stored id: err = %v, want ErrDuplicateEventID", err)
	}
	if _, err := collect(t, h.store.ReadStream(ctxT(t), "org-b", 0)); !errors.Is(err, ledger.ErrStreamNotFound) {
		t.Fatalf("org-b after refused append: err = %v, want ErrStreamNotFound", err)
	}
}

func testConcurrentOneStream(t *testing.T, h *harness) {
	const writers, each = 8, 25
	var mu sync.Mutex
	acked := map[uuid.UUID]bool{}
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < each; i++ {
				res, err := h.l.Append(ctxT(t), "org-hot", ledger.Any, proposals(w*1000+i, 1))
				if err != nil {
					errs <- err
					return
				}
				mu.Lock()
				acked[res[0].ID] = true
				mu.Unlock()
			}
		}(w)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("concurrent append: %v", err)
	}
	evs := h.readStream("org-hot")
	if len(evs) != writers*each {
		t.Fatalf("stream holds %d events, want %d", len(evs), writers*each)
	}
	for i, e := range evs {
		if e.Revision != uint64(i) {
			t.Fatalf("event %d has revision %d: gap or reorder", i, e.Revision)
		}
		if !acked[e.ID] {
			t.Fatalf("event %s stored but never acknowledged", e.ID)
		}
		delete(acked, e.ID)
	}
	if len(acked) != 0 {
		t.Fatalf("%d acknowledged events missing", len(acked))
	}
}

func testConcurrentManyStreams(t *testing.T, h *harness) {
	const writers, each = 8, 20
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			stream := fmt.Sprintf("org-%d", w)
			for i := 0; i < each; i++ {
				exp := ledger.ExpectRevision(uint64(i - 1))
				if i == 0 {
					exp = ledger.ExpectNoStream
				}
				if _, err := h.l.Append(ctxT(t), stream, exp, proposals(w*1000+i, 1)); err != nil {
					errs <- err
					return
				}
			}
		}(w)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("concurrent append: %v", err)
	}
	all := h.readAll()
	if len(all) != writers*each {
		t.Fatalf("read all: %d events, want %d", len(all), writers*each)
	}
	next := map[string]uint64{}
	for _, e := range all {
		if e.Revision != next[e.Stream] {
			t.Fatalf("%s: revision %d in global order where %d was due", e.Stream, e.Revision, next[e.Stream])
		}
		next[e.Stream]++
	}
}

func testGlobalOrder(t *testing.T, h *harness) {
	var want []ledger.Result
	for i := 0; i < 10; i++ {
		stream := fmt.Sprintf("org-%d", i%3)
		want = append(want, h.append(stream, ledger.Any, proposals(i*10, 1+i%2))...)
	}
	all := h.readAll()
	if len(all) != len(want) {
		t.Fatalf("read all: %d events, want %d", len(all), len(want))
	}
	for i, e := range all {
		if e.ID != want[i].ID || e.Position != want[i].Position {
			t.Fatalf("global event %d = %s@%d, want %s@%d (commit order)", i, e.ID, e.Position, want[i].ID, want[i].Position)
		}
		if i > 0 && e.Position <= all[i-1].Position {
			t.Fatalf("positions not increasing: %d after %d", e.Position, all[i-1].Position)
		}
	}
}

func testReadAllFrom(t *testing.T, h *harness) {
	res := h.append("org-a", ledger.Any, proposals(0, 5))
	got, err := collect(t, h.l.ReadAll(ctxT(t), res[1].Position))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || got[0].ID != res[2].ID {
		t.Fatalf("ReadAll after position %d: %d events starting %v; want the 3 after it (exclusive)", res[1].Position, len(got), got)
	}
	got, err = collect(t, h.l.ReadAll(ctxT(t), res[4].Position))
	if err != nil || len(got) != 0 {
		t.Fatalf("ReadAll from the head: %d events, err %v; want none", len(got), err)
	}
}

func testHashChain(t *testing.T, h *harness) {
	h.append("org-a", ledger.ExpectNoStream, proposals(0, 3))
	h.append("org-b", ledger.ExpectNoStream, proposals(10, 2))
	h.append("org-a", ledger.ExpectRevision(2), proposals(20, 2))
	evs := h.readStream("org-a")
	var prev ledger.Hash
	for _, e := range evs {
		if e.PrevHash != prev {
			t.Fatalf("revision %d: prev_hash %s, want %s", e.Revision, e.PrevHash, prev)
		}
		if got := ledger.ComputeHash(&e); got != e.Hash {
			t.Fatalf("revision %d: stored hash %s, recomputed %s", e.Revision, e.Hash, got)
		}
		prev = e.Hash
	}
	rep, err := h.l.Verify(ctxT(t))
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if rep.Events != 7 || rep.Streams != 2 {
		t.Fatalf("Verify report %+v, want 7 events in 2 streams", rep)
	}
	// The chain covers every envelope field: a change to any breaks it.
	e := evs[1]
	for name, mutate := range map[string]func(e *ledger.Event){
		"data":        func(e *ledger.Event) { e.Data = []byte(`{}`) },
		"recorded_by": func(e *ledger.Event) { e.RecordedBy = "mallory" },
		"recorded_at": func(e *ledger.Event) { e.RecordedAt = e.RecordedAt.Add(time.Second) },
		"occurred_on": func(e *ledger.Event) { e.OccurredOn = "2016-01-01" },
		"revision":    func(e *ledger.Event) { e.Revision++ },
		"prev_hash":   func(e *ledger.Event) { e.PrevHash[0] ^= 1 },
		"type":        func(e *ledger.Event) { e.Type = "MeetingHeld" },
		"stream":      func(e *ledger.Event) { e.Stream = "org-z" },
		"id":          func(e *ledger.Event) { e.ID = uuid.New() },
	} {
		c := e
		mutate(&c)
		if ledger.ComputeHash(&c) == e.Hash {
			t.Errorf("changing %s leaves the hash unchanged", name)
		}
	}
}

func testClockMonotonic(t *testing.T, h *harness) {
	r1 := h.append("org-a", ledger.Any, proposals(0, 1))
	h.clock.Set(epoch.Add(-time.Hour))
	r2 := h.append("org-a", ledger.Any, proposals(1, 2))
	if !r2[0].RecordedAt.After(r1[0].RecordedAt) || !r2[1].RecordedAt.After(r2[0].RecordedAt) {
		t.Fatalf("recorded_at went backwards or stood still: %v then %v, %v", r1[0].RecordedAt, r2[0].RecordedAt, r2[1].RecordedAt)
	}
}

func testSubscribe(t *testing.T, h *harness) {
	first := h.append("org-a", ledger.Any, proposals(0, 5))
	ctx, cancel := context.WithCancel(ctxT(t))
	defer cancel()
	got := make(chan ledger.Event, 100)
	done := make(chan error, 1)
	go func() {
		for e, err := range h.l.Subscribe(ctx, 0) {
			if err != nil {
				done <- err
				return
			}
			got <- e
		}
		done <- errors.New("subscription ended without an error")
	}()
	recv := func(want ledger.Result) {
		t.Helper()
		select {
		case e := <-got:
			if e.ID != want.ID || e.Position != want.Position {
				t.Fatalf("subscription delivered %s@%d, want %s@%d", e.ID, e.Position, want.ID, want.Position)
			}
		case err := <-done:
			t.Fatalf("subscription ended: %v", err)
		case <-time.After(20 * time.Second):
			t.Fatalf("subscription delivered nothing for %s", want.ID)
		}
	}
	for _, r := range first {
		recv(r)
	}
	live := h.append("org-b", ledger.Any, proposals(10, 2))
	live = append(live, h.append("org-a", ledger.Any, proposals(20, 1))...)
	for _, r := range live {
		recv(r)
	}
	select {
	case e := <-got:
		t.Fatalf("unexpected extra event %s", e.ID)
	case <-time.After(50 * time.Millisecond):
	}
	// From a position: only what follows it.
	ctx2, cancel2 := context.WithCancel(ctxT(t))
	defer cancel2()
	for e, err := range h.l.Subscribe(ctx2, first[3].Position) {
		if err != nil {
			t.Fatalf("subscribe from position: %v", err)
		}
		if e.ID != first[4].ID {
			t.Fatalf("subscribe after position %d started at %s, want %s", first[3].Position, e.ID, first[4].ID)
		}
		break
	}
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("subscription ended with %v, want context.Canceled", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("subscription did not end after cancel")
	}
}

func testCancellation(t *testing.T, h *harness) {
	h.append("org-a", ledger.Any, proposals(0, 3))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := h.l.Append(ctx, "org-a", ledger.Any, proposals(10, 1)); !errors.Is(err, context.Canceled) {
		t.Fatalf("append with a cancelled context: err = %v, want context.Canceled", err)
	}
	if _, err := h.store.Append(ctx, "org-a", 2, sealedNext(t, h, "org-a")); !errors.Is(err, context.Canceled) {
		t.Fatalf("store append with a cancelled context: err = %v, want context.Canceled", err)
	}
	if _, err := collect(t, h.l.ReadAll(ctx, 0)); !errors.Is(err, context.Canceled) {
		t.Fatalf("read all with a cancelled context: err = %v, want context.Canceled", err)
	}
	if _, err := collect(t, h.l.ReadStream(ctx, "org-a", 0)); !errors.Is(err, context.Canceled) {
		t.Fatalf("read stream with a cancelled context: err = %v, want context.Canceled", err)
	}
	if n := len(h.readAll()); n != 3 {
		t.Fatalf("ledger holds %d events, want 3", n)
	}
}

// sealedNext builds a valid next event for stream, for direct store calls.
func sealedNext(t *testing.T, h *harness, stream string) []ledger.Event {
	t.Helper()
	last, err := h.store.LastEvent(ctxT(t), stream)
	if err != nil {
		t.Fatal(err)
	}
	p := proposal(999)
	e := ledger.Event{ID: p.ID, Stream: stream, Type: p.Type, SchemaVersion: 1, Revision: last.Revision + 1,
		OccurredOn: p.OccurredOn, RecordedAt: last.RecordedAt.Add(time.Millisecond), RecordedBy: p.RecordedBy,
		Data: p.Data, PrevHash: last.Hash}
	e.Hash = ledger.ComputeHash(&e)
	return []ledger.Event{e}
}

func testRestore(t *testing.T, h *harness) {
	h.append("org-a", ledger.ExpectNoStream, proposals(0, 3))
	h.append("org-b", ledger.ExpectNoStream, proposals(3, 2))
	evs := h.readAll()
	later := h.clock.Now().Add(time.Second)
	// fresh returns an empty ledger whose clock is after every event of h.
	fresh := func() *harness {
		dst := newHarness(t, h.conf, h.open)
		dst.clock.Set(later)
		return dst
	}
	refused := func(t *testing.T, l *ledger.Ledger, evs []ledger.Event, field string) {
		t.Helper()
		_, err := l.Restore(ctxT(t), evs, ledger.RestoreOptions{})
		var re *ledger.RestoreError
		if !errors.Is(err, ledger.ErrRestoreRefused) || !errors.As(err, &re) {
			t.Fatalf("restore: err = %v, want a *RestoreError", err)
		}
		for _, p := range re.Problems {
			if p.Field == field && p.Reason != "" {
				return
			}
		}
		t.Fatalf("restore refused, but not for %q: %+v", field, re.Problems)
	}

	dst := fresh()
	var done []int
	if _, err := dst.l.Restore(ctxT(t), evs, ledger.RestoreOptions{Progress: func(n int) { done = append(done, n) }}); err != nil {
		t.Fatalf("restore into a fresh store: %v", err)
	}
	if len(done) == 0 || done[len(done)-1] != len(evs) {
		t.Fatalf("progress %v for %d events", done, len(evs))
	}
	t.Run("the same events, byte for byte, in the same order", func(t *testing.T) {
		got := dst.readAll()
		if len(got) != len(evs) {
			t.Fatalf("%d events restored, want %d", len(got), len(evs))
		}
		for i, e := range got {
			e.Position = evs[i].Position
			sameEvent(t, e, evs[i])
		}
		if _, err := dst.l.Verify(ctxT(t)); err != nil {
			t.Fatalf("verify after restore: %v", err)
		}
	})
	t.Run("restoring what is stored is a no-op", func(t *testing.T) {
		for _, part := range [][]ledger.Event{evs, evs[1:]} {
			res, err := dst.l.Restore(ctxT(t), part, ledger.RestoreOptions{})
			if err != nil {
				t.Fatalf("restore of stored events: %v", err)
			}
			for _, r := range res {
				if !r.Duplicate {
					t.Fatalf("restore of a stored event wrote it again: %+v", r)
				}
			}
		}
	})
	t.Run("into a ledger that is not empty: refused, nothing appended", func(t *testing.T) {
		// The next event of a chain, sealed correctly: the forged
		// continuation a restore must never let in.
		refused(t, h.l, sealedNext(t, h, "org-a"), "")
		refused(t, dst.l, append(append([]ledger.Event(nil), evs...), sealedNext(t, h, "org-a")...), "")
		other := sealedNext(t, h, "org-a")
		other[0].ID = evs[0].ID
		other[0].Hash = ledger.ComputeHash(&other[0])
		refused(t, h.l, other, "id")
		if n := len(h.readAll()); n != len(evs) {
			t.Fatalf("the ledger holds %d events, want %d", n, len(evs))
		}
	})
	t.Run("into an empty ledger: every chain whole, recorded_at in order and not ahead", func(t *testing.T) {
		tampered := append([]ledger.Event(nil), evs...)
		tampered[1].RecordedBy = "mallory"
		refused(t, fresh().l, tampered, "hash")
		refused(t, fresh().l, evs[1:], "revision") // org-a does not start at revision 0
		swapped := append([]ledger.Event(nil), evs...)
		swapped[1], swapped[2] = swapped[2], swapped[1]
		refused(t, fresh().l, swapped, "revision")
		back := append([]ledger.Event(nil), evs...)
		back[4].RecordedAt = back[0].RecordedAt.Add(-time.Millisecond)
		back[4].Hash = ledger.ComputeHash(&back[4])
		refused(t, fresh().l, back, "recorded_at")
		early := newHarness(t, h.conf, h.open) // its clock is before every event of h
		refused(t, early.l, evs, "recorded_at")
		if n := len(early.readAll()); n != 0 {
			t.Fatalf("a refused restore appended %d events", n)
		}
	})
}
