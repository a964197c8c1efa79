package esdb_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	client "github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/google/uuid"

	"partyledger/ledger"
	"partyledger/ledger/esdb"
	"partyledger/ledger/esdb/esdbtest"
)

func TestRoundTrip(t *testing.T) {
	f := newFixture(t)
	c := newChain("org-" + uuid.NewString())
	want := appendN(t, f.store, c, 3)
	want = append(want, appendN(t, f.store, c, 1)...)

	t.Run("read stream", func(t *testing.T) {
		got := mustCollect(t, f.store.ReadStream(ctxT(t), c.stream, 0))
		if len(got) != len(want) {
			t.Fatalf("read %d events, want %d", len(got), len(want))
		}
		for i := range got {
			sameEvent(t, got[i], want[i])
		}
	})
	t.Run("read stream from a revision", func(t *testing.T) {
		got := mustCollect(t, f.store.ReadStream(ctxT(t), c.stream, 2))
		if len(got) != 2 || got[0].Revision != 2 {
			t.Fatalf("read from 2: %d events starting %+v; want revisions 2, 3", len(got), got)
		}
		if got := mustCollect(t, f.store.ReadStream(ctxT(t), c.stream, 4)); len(got) != 0 {
			t.Fatalf("read past the end: %d events, want none", len(got))
		}
	})
	t.Run("last event", func(t *testing.T) {
		got, err := f.store.LastEvent(ctxT(t), c.stream)
		if err != nil {
			t.Fatal(err)
		}
		sameEvent(t, got, want[3])
	})
	t.Run("event by id", func(t *testing.T) {
		for _, w := range want {
			got, err := f.store.EventByID(ctxT(t), w.ID)
			if err != nil {
				t.Fatalf("EventByID(%s): %v", w.ID, err)
			}
			sameEvent(t, got, w)
		}
		if _, err := f.store.EventByID(ctxT(t), uuid.New()); !errors.Is(err, ledger.ErrEventNotFound) {
			t.Fatalf("EventByID(unknown) err = %v, want ErrEventNotFound", err)
		}
	})
	t.Run("hash chain still verifies", func(t *testing.T) {
		for _, e := range mustCollect(t, f.store.ReadStream(ctxT(t), c.stream, 0)) {
			if ledger.ComputeHash(&e) != e.Hash {
				t.Fatalf("revision %d: hash does not recompute after the round trip", e.Revision)
			}
		}
	})
}

// TestServerLayout checks what other tools see on the server: the ledger's
// event id, type, JSON payload verbatim, and the envelope in the metadata.
func TestServerLayout(t *testing.T) {
	f := newFixture(t)
	c := newChain("rulebook-2016")
	e := appendN(t, f.store, c, 1)[0]
	rs, err := rawClient(t, f.srv.URL()).ReadStream(ctxT(t), "rulebook-2016", client.ReadStreamOptions{}, 10)
	if err != nil {
		t.Fatal(err)
	}
	defer rs.Close()
	got, err := rs.Recv()
	if err != nil {
		t.Fatal(err)
	}
	r := got.OriginalEvent()
	if r.EventID != e.ID || r.EventType != e.Type || r.ContentType != "application/json" || string(r.Data) != string(e.Data) || r.EventNumber != 0 {
		t.Fatalf("server holds %+v; want id %s, type %s, application/json, data %s", r, e.ID, e.Type, e.Data)
	}
	var meta map[string]any
	if err := json.Unmarshal(r.UserMetadata, &meta); err != nil {
		t.Fatalf("metadata is not JSON: %v: %s", err, r.UserMetadata)
	}
	want := map[string]any{
		"occurred_on": "2016-03-08", "recorded_at": e.RecordedAt.Format(ledger.RecordedAtLayout),
		"recorded_by": e.RecordedBy, "prev_hash": e.PrevHash.String(), "hash": e.Hash.String(),
		"schema_version": float64(1),
	}
	if len(meta) != len(want) {
		t.Fatalf("metadata %v, want the keys of %v", meta, want)
	}
	for k, v := range want {
		if meta[k] != v {
			t.Fatalf("metadata[%q] = %v, want %v", k, meta[k], v)
		}
	}
}

func TestRefusedBeforeWriting(t *testing.T) {
	f := newFixture(t)
	c := newChain("org-a")
	evs := c.next(1)
	cases := map[string]struct {
		stream   string
		expected int64
		events   func() []ledger.Event
	}{
		"foreign stream":            {"accounts-1", ledger.NoStream, func() []ledger.Event { e := evs[0]; e.Stream = "accounts-1"; return []ledger.Event{e} }},
		"system stream":             {"$org-a", ledger.NoStream, func() []ledger.Event { e := evs[0]; e.Stream = "$org-a"; return []ledger.Event{e} }},
		"no events":                 {"org-a", ledger.NoStream, func() []ledger.Event { return nil }},
		"expected below -1":         {"org-a", -2, func() []ledger.Event { return evs }},
		"sealed for another stream": {"org-b", ledger.NoStream, func() []ledger.Event { return evs }},
		"nil id":                    {"org-a", ledger.NoStream, func() []ledger.Event { e := evs[0]; e.ID = uuid.Nil; return []ledger.Event{e} }},
		"recorded_at below a microsecond": {"org-a", ledger.NoStream, func() []ledger.Event {
			e := evs[0]
			e.RecordedAt = e.RecordedAt.Add(time.Nanosecond)
			return []ledger.Event{e}
		}},
		"recorded_at not UTC": {"org-a", ledger.NoStream, func() []ledger.Event {
			e := evs[0]
			e.RecordedAt = e.RecordedAt.In(time.FixedZone("CST", 8*3600))
			return []ledger.Event{e}
		}},
		"same id twice": {"org-a", ledger.NoStream, func() []ledger.Event {
			two := c.next(2)
			two[1].ID = two[0].ID
			return two
		}},
		"revisions not from expected+1, stream at expected": {"org-a", ledger.NoStream, func() []ledger.Event {
			e := evs[0]
			e.Revision = 5
			return []ledger.Event{e}
		}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if _, err := f.store.Append(ctxT(t), tc.stream, tc.expected, tc.events()); err == nil {
				t.Fatal("append succeeded")
			}
		})
	}
	t.Run("larger than the server's maximum append size", func(t *testing.T) {
		st := openStore(t, f.srv.URL(), esdb.Options{MaxAppendSize: 1000})
		big := c.next(1)
		big[0].Data = []byte(`"` + strings.Repeat("x", 1000) + `"`)
		big[0].Hash = ledger.ComputeHash(&big[0])
		_, err := st.Append(ctxT(t), "org-a", ledger.NoStream, big)
		if err == nil || !strings.Contains(err.Error(), "maximum append size") {
			t.Fatalf("err = %v, want the maximum append size named", err)
		}
	})
	if n := f.srv.Len(); n != 0 {
		t.Fatalf("the server holds %d events after refused appends, want 0", n)
	}
	if _, err := collect(t, f.store.ReadStream(ctxT(t), "accounts-1", 0)); !errors.Is(err, esdb.ErrForeignStream) {
		t.Fatalf("read of a foreign stream: err = %v, want ErrForeignStream", err)
	}
}

func TestWrongExpectedRevision(t *testing.T) {
	f := newFixture(t)
	c := newChain("org-a")
	appendN(t, f.store, c, 3) // head at 2
	cases := []struct {
		name     string
		stream   string
		expected int64
		actual   int64
	}{
		{"no stream on an existing stream", "org-a", ledger.NoStream, 2},
		{"behind", "org-a", 1, 2},
		{"ahead", "org-a", 7, 2},
		{"a revision on a missing stream", "org-b", 0, ledger.NoStream},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := c.next(1)[0]
			e.Stream, e.Revision = tc.stream, uint64(tc.expected+1)
			e.Hash = ledger.ComputeHash(&e)
			_, err := f.store.Append(ctxT(t), tc.stream, tc.expected, []ledger.Event{e})
			wantWrongRevision(t, err, tc.actual)
		})
	}
	if n := f.srv.Len(); n != 3 {
		t.Fatalf("the server holds %d events, want 3", n)
	}
	t.Run("right revision after a conflict", func(t *testing.T) {
		appendN(t, f.store, c, 1)
	})
}

func TestStreamNotFound(t *testing.T) {
	f := newFixture(t)
	appendN(t, f.store, newChain("org-present"), 1)
	for _, stream := range []string{"org-missing", "committee-missing", "rulebook-1999"} {
		if _, err := collect(t, f.store.ReadStream(ctxT(t), stream, 0)); !errors.Is(err, ledger.ErrStreamNotFound) {
			t.Fatalf("ReadStream(%s) err = %v, want ErrStreamNotFound", stream, err)
		}
		if _, err := collect(t, f.store.ReadStream(ctxT(t), stream, 3)); !errors.Is(err, ledger.ErrStreamNotFound) {
			t.Fatalf("ReadStream(%s, 3) err = %v, want ErrStreamNotFound", stream, err)
		}
		if _, err := f.store.LastEvent(ctxT(t), stream); !errors.Is(err, ledger.ErrStreamNotFound) {
			t.Fatalf("LastEvent(%s) err = %v, want ErrStreamNotFound", stream, err)
		}
	}
}

func TestDuplicateEventID(t *testing.T) {
	f := newFixture(t)
	a := newChain("org-a")
	stored := appendN(t, f.store, a, 2)

	t.Run("in another stream", func(t *testing.T) {
		b := newChain("org-b")
		e := b.next(1)[0]
		e.ID = stored[0].ID
		e.Hash = ledger.ComputeHash(&e)
		if _, err := f.store.Append(ctxT(t), "org-b", ledger.NoStream, []ledger.Event{e}); !errors.Is(err, ledger.ErrDuplicateEventID) {
			t.Fatalf("err = %v, want ErrDuplicateEventID", err)
		}
		if _, err := collect(t, f.store.ReadStream(ctxT(t), "org-b", 0)); !errors.Is(err, ledger.ErrStreamNotFound) {
			t.Fatalf("org-b after the refused append: err = %v, want ErrStreamNotFound", err)
		}
	})
	t.Run("re-sent with the same expected revision", func(t *testing.T) {
		// The server alone would accept this as an idempotent replay.
		if _, err := f.store.Append(ctxT(t), "org-a", ledger.NoStream, stored); !errors.Is(err, ledger.ErrDuplicateEventID) {
			t.Fatalf("err = %v, want ErrDuplicateEventID", err)
		}
	})
	t.Run("written by another process", func(t *testing.T) {
		other := openStore(t, f.srv.URL(), esdb.Options{})
		c := newChain("committee-x")
		evs := appendN(t, other, c, 1)
		got, err := f.store.EventByID(ctxT(t), evs[0].ID)
		if err != nil {
			t.Fatalf("EventByID of an event another process wrote: %v", err)
		}
		sameEvent(t, got, evs[0])
		dup := newChain("org-c").next(1)
		dup[0].ID = evs[0].ID
		if _, err := f.store.Append(ctxT(t), "org-c", ledger.NoStream, dup); !errors.Is(err, ledger.ErrDuplicateEventID) {
			t.Fatalf("err = %v, want ErrDuplicateEventID", err)
		}
	})
	if n := f.srv.Len(); n != 3 {
		t.Fatalf("the server holds %d events, want 3", n)
	}
}

// TestIdempotentReplayRace covers the window between the Store's duplicate
// check and its append, in which another process stores the same ids at
// the same revisions: the server then answers the append with success and
// writes nothing.
func TestIdempotentReplayRace(t *testing.T) {
	t.Run("sealed differently by the other writer", func(t *testing.T) {
		f := newFixture(t)
		other := openStore(t, f.srv.URL(), esdb.Options{})
		c := newChain("org-a")
		mine := c.next(2)
		theirs := append([]ledger.Event(nil), mine...)
		for i := range theirs { // the same ids, recorded at another time
			theirs[i].RecordedAt = theirs[i].RecordedAt.Add(time.Hour)
			if i > 0 {
				theirs[i].PrevHash = theirs[i-1].Hash
			}
			theirs[i].Hash = ledger.ComputeHash(&theirs[i])
		}
		esdb.SetBeforeAppend(f.store, func() {
			if _, err := other.Append(ctxT(t), "org-a", ledger.NoStream, theirs); err != nil {
				t.Errorf("the other writer's append: %v", err)
			}
		})
		_, err := f.store.Append(ctxT(t), "org-a", ledger.NoStream, mine)
		if !errors.Is(err, ledger.ErrDuplicateEventID) {
			t.Fatalf("err = %v, want ErrDuplicateEventID", err)
		}
		if n := f.srv.Len(); n != 2 {
			t.Fatalf("the server holds %d events, want the other writer's 2", n)
		}
		got, err := f.store.EventByID(ctxT(t), mine[0].ID)
		if err != nil || got.Hash != theirs[0].Hash {
			t.Fatalf("EventByID after the race = %+v, %v; want the other writer's event", got, err)
		}
	})
	t.Run("sealed identically by the other writer", func(t *testing.T) {
		f := newFixture(t)
		other := openStore(t, f.srv.URL(), esdb.Options{})
		c := newChain("org-a")
		evs := c.next(2)
		var theirs []ledger.Position
		esdb.SetBeforeAppend(f.store, func() {
			var err error
			if theirs, err = other.Append(ctxT(t), "org-a", ledger.NoStream, evs); err != nil {
				t.Errorf("the other writer's append: %v", err)
			}
		})
		pos, err := f.store.Append(ctxT(t), "org-a", ledger.NoStream, evs)
		if err != nil {
			t.Fatalf("append of events stored byte for byte by another writer: %v", err)
		}
		if len(pos) != 2 || pos[0] != theirs[0] || pos[1] != theirs[1] {
			t.Fatalf("positions %v, want the stored ones %v", pos, theirs)
		}
		if n := f.srv.Len(); n != 2 {
			t.Fatalf("the server holds %d events, want 2: the replay wrote nothing", n)
		}
	})
}

func TestGlobalOrderAndPositions(t *testing.T) {
	f := newFixture(t)
	raw := rawClient(t, f.srv.URL())
	foreign := func(stream string) {
		t.Helper()
		if _, err := raw.AppendToStream(ctxT(t), stream, client.AppendToStreamOptions{ExpectedRevision: client.Any{}},
			client.EventData{EventType: "Other", ContentType: client.ContentTypeJson, Data: []byte(`{}`)}); err != nil {
			t.Fatalf("append to %s: %v", stream, err)
		}
	}
	chains := []*chain{newChain("org-1"), newChain("committee-1"), newChain("rulebook-2016")}
	var want []ledger.Event
	foreign("accounts-1") // before any ledger event
	for i := 0; i < 9; i++ {
		want = append(want, appendN(t, f.store, chains[i%3], 1+i%2)...)
		if i%4 == 0 {
			foreign("$stats-node") // interleaved, and last
		}
	}
	all := mustCollect(t, f.store.ReadAll(ctxT(t), 0))
	if len(all) != len(want) {
		t.Fatalf("ReadAll: %d events, want the %d ledger events", len(all), len(want))
	}
	for i, e := range all {
		sameEvent(t, e, want[i])
		if i > 0 && e.Position <= all[i-1].Position {
			t.Fatalf("positions not increasing: %d after %d", e.Position, all[i-1].Position)
		}
		if i > 0 && e.Position == all[i-1].Position+1 {
			t.Fatalf("positions %d, %d are contiguous: the test double should leave gaps", all[i-1].Position, e.Position)
		}
	}
	t.Run("from a position is exclusive", func(t *testing.T) {
		for _, k := range []int{0, 4, len(all) - 2, len(all) - 1} {
			got := mustCollect(t, f.store.ReadAll(ctxT(t), all[k].Position))
			if len(got) != len(all)-k-1 || (len(got) > 0 && got[0].ID != all[k+1].ID) {
				t.Fatalf("ReadAll after %d: %d events; want the %d after it", all[k].Position, len(got), len(all)-k-1)
			}
		}
	})
	t.Run("pages", func(t *testing.T) {
		small := openStore(t, f.srv.URL(), esdb.Options{PageSize: 2})
		got := mustCollect(t, small.ReadAll(ctxT(t), 0))
		if len(got) != len(all) {
			t.Fatalf("ReadAll in pages of 2: %d events, want %d", len(got), len(all))
		}
		got = mustCollect(t, small.ReadAll(ctxT(t), all[3].Position))
		if len(got) != len(all)-4 || got[0].ID != all[4].ID {
			t.Fatalf("ReadAll in pages of 2 after event 3: %d events, want %d", len(got), len(all)-4)
		}
	})
	t.Run("stops at the events committed when called", func(t *testing.T) {
		n := 0
		for _, err := range f.store.ReadAll(ctxT(t), 0) {
			if err != nil {
				t.Fatal(err)
			}
			if n == 0 {
				appendN(t, f.store, chains[0], 1)
			}
			n++
		}
		if n != len(all) {
			t.Fatalf("ReadAll yielded %d events, want the %d committed when it was called", n, len(all))
		}
	})
}

func TestNamespaces(t *testing.T) {
	srv := esdbtest.Start(t)
	a := openStore(t, srv.URL(), esdb.Options{Namespace: "tenant-a."})
	b := openStore(t, srv.URL(), esdb.Options{Namespace: "tenant-b."})
	ea := appendN(t, a, newChain("org-1"), 2)
	eb := appendN(t, b, newChain("org-1"), 1)
	if got := mustCollect(t, a.ReadAll(ctxT(t), 0)); len(got) != 2 || got[0].Stream != "org-1" {
		t.Fatalf("tenant a reads %+v, want its 2 events in org-1", got)
	}
	if got := mustCollect(t, b.ReadStream(ctxT(t), "org-1", 0)); len(got) != 1 || got[0].ID != eb[0].ID {
		t.Fatalf("tenant b reads %+v, want its 1 event", got)
	}
	if _, err := b.EventByID(ctxT(t), ea[0].ID); !errors.Is(err, ledger.ErrEventNotFound) {
		t.Fatalf("tenant b finds tenant a's event: err = %v", err)
	}
	if _, err := esdb.Open(ctxT(t), srv.URL(), esdb.Options{Namespace: "$sys"}); err == nil {
		t.Fatal("a namespace of system streams was accepted")
	}
}

// subscription runs Subscribe in a goroutine and hands over what it yields.
type subscription struct {
	events chan ledger.Event
	done   chan error
	cancel context.CancelFunc
}

func subscribe(t testing.TB, st *esdb.Store, from ledger.Position) *subscription {
	t.Helper()
	ctx, cancel := context.WithCancel(ctxT(t))
	s := &subscription{events: make(chan ledger.Event), done: make(chan error, 1), cancel: cancel}
	go func() {
		for e, err := range st.Subscribe(ctx, from) {
			if err != nil {
				s.done <- err
				return
			}
			select {
			case s.events <- e:
			case <-ctx.Done():
				s.done <- ctx.Err()
				return
			}
		}
		s.done <- errors.New("subscription ended without an error")
	}()
	t.Cleanup(cancel)
	return s
}

// expect receives the next events and fails unless they are want, in order.
func (s *subscription) expect(t testing.TB, want ...ledger.Event) {
	t.Helper()
	for i, w := range want {
		select {
		case e := <-s.events:
			sameEvent(t, e, w)
		case err := <-s.done:
			t.Fatalf("subscription ended before event %d of %d: %v", i, len(want), err)
		case <-time.After(10 * time.Second):
			t.Fatalf("subscription delivered nothing for event %d of %d (%s)", i, len(want), w.ID)
		}
	}
}

// quiet fails if the subscription delivers anything within d.
func (s *subscription) quiet(t testing.TB, d time.Duration) {
	t.Helper()
	select {
	case e := <-s.events:
		t.Fatalf("unexpected event %s (%s revision %d)", e.ID, e.Stream, e.Revision)
	case err := <-s.done:
		t.Fatalf("subscription ended: %v", err)
	case <-time.After(d):
	}
}

func (s *subscription) end(t testing.TB) error {
	t.Helper()
	select {
	case err := <-s.done:
		return err
	case <-time.After(10 * time.Second):
		t.Fatal("subscription did not end")
		return nil
	}
}

func TestSubscribeHistoryThenLive(t *testing.T) {
	f := newFixture(t)
	raw := rawClient(t, f.srv.URL())
	a, b := newChain("org-a"), newChain("committee-b")
	history := appendN(t, f.store, a, 3)
	sub := subscribe(t, f.store, 0)
	sub.expect(t, history...)
	sub.quiet(t, 50*time.Millisecond)

	live := appendN(t, f.store, b, 2)
	if _, err := raw.AppendToStream(ctxT(t), "accounts-1", client.AppendToStreamOptions{ExpectedRevision: client.NoStream{}},
		client.EventData{EventType: "Other", ContentType: client.ContentTypeJson, Data: []byte(`{}`)}); err != nil {
		t.Fatal(err)
	}
	live = append(live, appendN(t, f.store, a, 1)...)
	sub.expect(t, live...)
	sub.quiet(t, 50*time.Millisecond)

	t.Run("from a position", func(t *testing.T) {
		from := subscribe(t, f.store, history[1].Position)
		from.expect(t, append(history[2:], live...)...)
		from.quiet(t, 20*time.Millisecond)
	})
	t.Run("from the head", func(t *testing.T) {
		head := subscribe(t, f.store, live[len(live)-1].Position)
		head.quiet(t, 50*time.Millisecond)
		next := appendN(t, f.store, b, 1)
		head.expect(t, next...)
		sub.expect(t, next...)
	})
	for _, s := range f.srv.Subscriptions() {
		if s.Stream != "" || !s.Filtered {
			t.Fatalf("subscription request %+v: want a filtered subscription to $all", s)
		}
	}
	sub.cancel()
	if err := sub.end(t); !errors.Is(err, context.Canceled) {
		t.Fatalf("subscription ended with %v, want context.Canceled", err)
	}
}

// TestSubscribeReconnects drops the subscription on the server, in the
// middle of the history and while live, and checks that every event
// arrives exactly once, in order.
func TestSubscribeReconnects(t *testing.T) {
	f := newFixture(t)
	a, b := newChain("org-a"), newChain("org-b")
	// Enough history that the server blocks on flow control while the
	// consumer is still reading it: the drop then lands in the middle.
	var history []ledger.Event
	for i := 0; i < 20; i++ {
		history = append(history, appendN(t, f.store, a, 100)...)
	}
	sub := subscribe(t, f.store, 0)
	sub.expect(t, history[:10]...)
	if n := f.srv.DropSubscriptions(); n != 1 {
		t.Fatalf("dropped %d subscriptions, want 1", n)
	}
	sub.expect(t, history[10:]...)

	live := appendN(t, f.store, b, 2)
	sub.expect(t, live...)
	f.srv.DropSubscriptions()
	// Written while the subscription is being restored.
	more := appendN(t, f.store, a, 3)
	sub.expect(t, more...)
	f.srv.DropSubscriptions()
	f.srv.DropSubscriptions()
	last := appendN(t, f.store, b, 1)
	sub.expect(t, last...)
	sub.quiet(t, 100*time.Millisecond)

	reqs := f.srv.Subscriptions()
	if len(reqs) < 3 {
		t.Fatalf("%d subscription requests, want the first and at least 2 after drops: %+v", len(reqs), reqs)
	}
	if !reqs[0].FromStart {
		t.Fatalf("first request %+v, want from the start", reqs[0])
	}
	mid := reqs[1]
	if mid.FromStart || mid.FromEnd || mid.From <= uint64(history[9].Position) || mid.From >= uint64(history[len(history)-1].Position) {
		t.Fatalf("request after the first drop %+v: want a position inside the history (after %d, before %d)",
			mid, history[9].Position, history[len(history)-1].Position)
	}
	sub.cancel()
	if err := sub.end(t); !errors.Is(err, context.Canceled) {
		t.Fatalf("subscription ended with %v, want context.Canceled", err)
	}
}

// TestSubscribeGivesUp checks that a subscription whose server is gone
// ends with ErrUnavailable after ReconnectMax attempts.
func TestSubscribeGivesUp(t *testing.T) {
	srv := esdbtest.Start(t)
	st := openStore(t, srv.URL(), esdb.Options{ReconnectMax: 3, ReconnectDelay: time.Millisecond})
	ev := appendN(t, st, newChain("org-a"), 1)
	sub := subscribe(t, st, 0)
	sub.expect(t, ev...)
	srv.Close()
	if err := sub.end(t); !errors.Is(err, esdb.ErrUnavailable) {
		t.Fatalf("subscription ended with %v, want ErrUnavailable", err)
	}
}

func TestCancellationAndClose(t *testing.T) {
	f := newFixture(t)
	c := newChain("org-a")
	appendN(t, f.store, c, 2)
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := f.store.Append(canceled, "org-a", c.head, c.next(1)); !errors.Is(err, context.Canceled) {
		t.Fatalf("append: err = %v, want context.Canceled", err)
	}
	if _, err := collect(t, f.store.ReadStream(canceled, "org-a", 0)); !errors.Is(err, context.Canceled) {
		t.Fatalf("read stream: err = %v, want context.Canceled", err)
	}
	if _, err := collect(t, f.store.ReadAll(canceled, 0)); !errors.Is(err, context.Canceled) {
		t.Fatalf("read all: err = %v, want context.Canceled", err)
	}
	if _, err := f.store.EventByID(canceled, uuid.New()); !errors.Is(err, context.Canceled) {
		t.Fatalf("event by id: err = %v, want context.Canceled", err)
	}
	if _, err := collect(t, f.store.Subscribe(canceled, 0)); !errors.Is(err, context.Canceled) {
		t.Fatalf("subscribe: err = %v, want context.Canceled", err)
	}
	t.Run("deadline during a live subscription", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		_, err := collect(t, f.store.Subscribe(ctx, 0))
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("subscribe: err = %v, want context.DeadlineExceeded", err)
		}
	})
	t.Run("close ends subscriptions and refuses calls", func(t *testing.T) {
		st := openStore(t, f.srv.URL(), esdb.Options{})
		sub := subscribe(t, st, 0)
		first := mustCollect(t, st.ReadAll(ctxT(t), 0))
		sub.expect(t, first...)
		var wg sync.WaitGroup
		wg.Add(1)
		go func() { defer wg.Done(); _ = st.Close() }()
		if err := sub.end(t); !errors.Is(err, ledger.ErrClosed) {
			t.Fatalf("subscription ended with %v, want ErrClosed", err)
		}
		wg.Wait()
		if _, err := st.Append(ctxT(t), "org-a", c.head, c.next(1)); !errors.Is(err, ledger.ErrClosed) {
			t.Fatalf("append after close: err = %v, want ErrClosed", err)
		}
		if _, err := st.LastEvent(ctxT(t), "org-a"); !errors.Is(err, ledger.ErrClosed) {
			t.Fatalf("last event after close: err = %v, want ErrClosed", err)
		}
		if err := st.Close(); err != nil {
			t.Fatalf("second close: %v", err)
		}
	})
	if n := f.srv.Len(); n != 2 {
		t.Fatalf("the server holds %d events, want 2", n)
	}
}

func TestConnectionFailure(t *testing.T) {
	t.Run("nothing listening at open", func(t *testing.T) {
		srv := esdbtest.Start(t)
		url := srv.URL()
		srv.Close()
		_, err := esdb.Open(ctxT(t), url, esdb.Options{})
		if !errors.Is(err, esdb.ErrUnavailable) {
			t.Fatalf("open: err = %v, want ErrUnavailable", err)
		}
	})
	t.Run("server gone after open", func(t *testing.T) {
		f := newFixture(t)
		c := newChain("org-a")
		appendN(t, f.store, c, 1)
		f.srv.Close()
		if _, err := f.store.Append(ctxT(t), "org-a", c.head, c.next(1)); !errors.Is(err, esdb.ErrUnavailable) {
			t.Fatalf("append: err = %v, want ErrUnavailable", err)
		}
		if _, err := f.store.LastEvent(ctxT(t), "org-a"); !errors.Is(err, esdb.ErrUnavailable) {
			t.Fatalf("last event: err = %v, want ErrUnavailable", err)
		}
		if _, err := collect(t, f.store.ReadAll(ctxT(t), 0)); !errors.Is(err, esdb.ErrUnavailable) {
			t.Fatalf("read all: err = %v, want ErrUnavailable", err)
		}
	})
	t.Run("bad connection string", func(t *testing.T) {
		if _, err := esdb.Open(ctxT(t), "http://[::1", esdb.Options{}); err == nil {
			t.Fatal("open succeeded")
		}
	})
}

// TestErrorTranslation provokes each kind of client error through the real
// client on the test double and checks how the adapter classifies it.
func TestErrorTranslation(t *testing.T) {
	srv := esdbtest.Start(t)
	// The discovery that follows the server's end is set explicitly rather
	// than left to the client's defaults (10 attempts 100 ms apart): each
	// attempt is one ServerFeatures call, which a refused connection fails
	// at once, and GossipTimeout (in seconds) only bounds a call that
	// hangs; at 60 s no slow machine turns the failure into a deadline.
	raw := rawClient(t, srv.URL(), func(c *client.Configuration) {
		c.MaxDiscoverAttempts = 3
		c.DiscoveryInterval = 10 // ms
		c.GossipTimeout = 60     // s
	})
	data := client.EventData{EventType: "T", ContentType: client.ContentTypeJson, Data: []byte(`{}`)}
	if _, err := raw.AppendToStream(ctxT(t), "org-a", client.AppendToStreamOptions{ExpectedRevision: client.NoStream{}}, data); err != nil {
		t.Fatal(err)
	}
	recv := func(rs *client.ReadStream, err error) error {
		if err != nil {
			return err
		}
		defer rs.Close()
		_, err = rs.Recv()
		return err
	}
	_, wrongVersion := raw.AppendToStream(ctxT(t), "org-a", client.AppendToStreamOptions{ExpectedRevision: client.NoStream{}}, data)
	notFound := recv(raw.ReadStream(ctxT(t), "org-missing", client.ReadStreamOptions{}, 1))
	end := func() error {
		rs, err := raw.ReadStream(ctxT(t), "org-a", client.ReadStreamOptions{}, 1)
		if err != nil {
			return err
		}
		defer rs.Close()
		if _, err := rs.Recv(); err != nil {
			return err
		}
		_, err = rs.Recv()
		return err
	}()
	canceledCtx, cancel := context.WithCancel(context.Background())
	cancel()
	canceled := recv(raw.ReadStream(canceledCtx, "org-a", client.ReadStreamOptions{}, 1))
	srv.SetMaxAppendSize(1)
	_, refused := raw.AppendToStream(ctxT(t), "org-a", client.AppendToStreamOptions{ExpectedRevision: client.Any{}}, data)
	srv.Close()
	appendAny := func() error {
		_, err := raw.AppendToStream(ctxT(t), "org-a", client.AppendToStreamOptions{ExpectedRevision: client.Any{}}, data)
		return err
	}
	// The first call after the server's end fails on the connection the
	// client holds, in one of two ways, depending on whether gRPC has
	// noticed the connection's end when the call starts: Unavailable (the
	// client then schedules a new discovery), or io.EOF from sending on a
	// stream the dying transport has already ended (the client wraps it as
	// ErrorCodeUnknown and schedules nothing, so the next call fails on the
	// dead connection once more, with Unavailable). Both are translated:
	// this call here, the io.EOF form also below ("send on a broken call").
	unavailable := appendAny()
	// Then a call rediscovers the server, fails, and closes the client for
	// good: every later call reports the closed connection. Call until it
	// does, rather than count on how many calls that takes; the call just
	// before the first ErrorCodeConnectionClosed ran the failed discovery.
	connectionClosed := func(err error) bool {
		var ce *client.Error
		return errors.As(err, &ce) && ce.Code() == client.ErrorCodeConnectionClosed
	}
	if connectionClosed(unavailable) {
		t.Fatalf("first call after the server's end: %v, want a failure of that call, not a closed client", unavailable)
	}
	var failed []error
	closedClient := appendAny()
	for !connectionClosed(closedClient) {
		if closedClient == nil {
			t.Fatal("an append succeeded after the server's end")
		}
		failed = append(failed, closedClient)
		if len(failed) == 4 {
			t.Fatalf("the client is still not closed after %d more failed calls: %v", len(failed), failed)
		}
		closedClient = appendAny()
	}
	if len(failed) == 0 {
		t.Fatalf("the client closed without a failed discovery: %v", closedClient)
	}
	discovery, deadAgain := failed[len(failed)-1], failed[:len(failed)-1]
	if !strings.Contains(discovery.Error(), "maximum discovery attempt count reached") {
		t.Fatalf("call before the client closed: %v, want the failed discovery", discovery)
	}
	// The form of the first call's failure when a send meets a stream the
	// transport has already ended, built as the client builds it.
	sendEOF, _ := client.FromError(io.EOF)
	brokenSend := fmt.Errorf("could not send append request header. Reason: %w", sendEOF)

	type errorCase struct {
		name string
		err  error
		kind string
	}
	cases := []errorCase{
		{"wrong expected version", wrongVersion, "wrong expected version"},
		{"stream not found on the first Recv", notFound, "stream not found"},
		{"end of stream", end, "end of stream"},
		{"cancelled call", canceled, "canceled"},
		{"maximum append size", refused, "other"},
		{"server gone", unavailable, "unavailable"},
		{"send on a broken call", brokenSend, "unavailable"},
	}
	for i, err := range deadAgain {
		cases = append(cases, errorCase{fmt.Sprintf("server gone, call %d on the dead connection", i+2), err, "unavailable"})
	}
	cases = append(cases, []errorCase{
		{"discovery failed", discovery, "unavailable"},
		{"client closed for good", closedClient, "unavailable"},
		{"nil", nil, "none"},
		{"wrapped EOF", errors.Join(errors.New("x"), io.EOF), "end of stream"},
		{"context deadline", context.DeadlineExceeded, "canceled"},
		{"plain error", errors.New("boom"), "other"},
	}...)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := esdb.Kind(tc.err); got != tc.kind {
				t.Fatalf("Kind(%v) = %q, want %q", tc.err, got, tc.kind)
			}
			if ok := func() bool { _, ok := client.FromError(tc.err); return ok }(); ok != (tc.err == nil) {
				t.Fatalf("FromError(%v) ok = %v: the client's contract changed", tc.err, ok)
			}
		})
	}
	t.Run("actual revision in the client's text", func(t *testing.T) {
		if got, ok := esdb.ActualRevision(wrongVersion.Error()); !ok || got != 0 {
			t.Fatalf("ActualRevision(%q) = %d, %v; want 0", wrongVersion, got, ok)
		}
	})
	t.Run("retryable drops", func(t *testing.T) {
		for err, want := range map[error]bool{unavailable: true, brokenSend: true, discovery: true, wrongVersion: false, notFound: false, refused: false, ledger.ErrCorrupt: false} {
			if got := esdb.Retryable(err); got != want {
				t.Fatalf("Retryable(%v) = %v, want %v", err, got, want)
			}
		}
	})
}

// TestAuthStreams: the API's token streams (auth-…) are ledger streams on
// the server too — appended with their hash chain, read back, in $all
// reads and verified — as on the embedded store.
func TestAuthStreams(t *testing.T) {
	f := newFixture(t)
	c := newChain("auth-tokens")
	want := appendN(t, f.store, c, 3)
	got := mustCollect(t, f.store.ReadStream(ctxT(t), "auth-tokens", 0))
	if len(got) != 3 {
		t.Fatalf("read %d events of auth-tokens, want 3", len(got))
	}
	for i := range got {
		sameEvent(t, got[i], want[i])
	}
	all := mustCollect(t, f.store.ReadAll(ctxT(t), 0))
	if len(all) != 3 || all[2].Stream != "auth-tokens" {
		t.Fatalf("$all read %d events, want the 3 of auth-tokens", len(all))
	}
	rep, err := ledger.New(f.store, ledger.Options{}).Verify(ctxT(t))
	if err != nil || rep.Events != 3 {
		t.Fatalf("verify: %+v, %v", rep, err)
	}
}
