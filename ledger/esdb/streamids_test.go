package esdb_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/google/uuid"

	"partyledger/ledger"
	"partyledger/ledger/esdb"
	"partyledger/ledger/esdb/esdbtest"
	"partyledger/ledger/ledgertest"
)

var perStream = esdb.Options{IDs: esdb.IDsPerStream}

// TestConformancePerStreamIDs runs the conformance suite against the
// adapter with per-stream ids: every behaviour but those that need an id
// stored in one stream to be refused in another.
func TestConformancePerStreamIDs(t *testing.T) {
	ledgertest.RunConfig(t, ledgertest.Config{StreamScopedIDs: true}, func(t *testing.T) ledger.Store {
		return openStore(t, esdbtest.Start(t).URL(), perStream)
	})
}

// TestOpenReadsNoAll proves with the counting test double that a store
// with per-stream ids reads nothing of $all — not at Open, not to append,
// not to find a duplicate — while the default store reads $all at Open.
func TestOpenReadsNoAll(t *testing.T) {
	srv := esdbtest.Start(t)
	seed := openStore(t, srv.URL(), esdb.Options{})
	c := newChain("org-seed")
	appendN(t, seed, c, 50)

	before := srv.Counts()
	global := openStore(t, srv.URL(), esdb.Options{})
	if got := srv.Counts().AllReads - before.AllReads; got == 0 {
		t.Fatal("the default store opened without reading $all: the counter proves nothing")
	}
	_ = global.Close()

	before = srv.Counts()
	st := openStore(t, srv.URL(), perStream)
	l := ledger.New(st, ledger.Options{Clock: ledgertest.NewClock(clock).Now})
	ps := []ledger.Proposed{{ID: uuid.New(), Type: "StudySessionHeld", OccurredOn: "2016-03-08", RecordedBy: "t", Data: []byte(`{"n":1}`)}}
	first, err := l.Append(ctxT(t), "org-a", ledger.ExpectNoStream, ps)
	if err != nil {
		t.Fatal(err)
	}
	again, err := l.Append(ctxT(t), "org-a", ledger.Any, ps)
	if err != nil || !again[0].Duplicate || again[0].Position != first[0].Position {
		t.Fatalf("re-append of the same id: %+v, %v; want the first result marked duplicate", again, err)
	}
	if _, err := l.Append(ctxT(t), "org-seed", ledger.Any, ps); err != nil {
		t.Fatalf("append to another stream: %v", err)
	}
	if _, err := l.LookupID(ctxT(t), "org-seed", c.next(1)[0].ID); !errors.Is(err, ledger.ErrEventNotFound) {
		t.Fatalf("lookup of an unknown id: %v, want ErrEventNotFound", err)
	}
	if _, err := collect(t, st.ReadStream(ctxT(t), "org-seed", 0)); err != nil {
		t.Fatal(err)
	}
	got := srv.Counts()
	if n := got.AllReads - before.AllReads; n != 0 {
		t.Fatalf("the store with per-stream ids read $all %d times", n)
	}
	if got.StreamReads == before.StreamReads || got.Appends == before.Appends {
		t.Fatalf("counts %+v after %+v: the store did not work", got, before)
	}
}

// TestPerStreamIDsSeeOtherProcesses: two stores (two serve processes)
// append to one stream; each one's duplicate check sees what the other
// wrote since it last looked.
func TestPerStreamIDsSeeOtherProcesses(t *testing.T) {
	srv := esdbtest.Start(t)
	a, b := openStore(t, srv.URL(), perStream), openStore(t, srv.URL(), perStream)
	c := newChain("org-a")
	first := appendN(t, a, c, 3)
	// b caches the stream's ids, then a writes more.
	if _, err := b.EventInStream(ctxT(t), "org-a", first[0].ID); err != nil {
		t.Fatal(err)
	}
	more := appendN(t, a, c, 2)
	got, err := b.EventInStream(ctxT(t), "org-a", more[1].ID)
	if err != nil {
		t.Fatalf("b looks up an id a wrote after b's last look: %v", err)
	}
	sameEvent(t, got, more[1])
	// b appends an id a stored: refused, and the stream is unchanged.
	dup := c.next(1)
	dup[0].ID = more[0].ID
	dup[0].Hash = ledger.ComputeHash(&dup[0])
	if _, err := b.Append(ctxT(t), "org-a", c.head, dup); !errors.Is(err, ledger.ErrDuplicateEventID) {
		t.Fatalf("append of an id the stream holds: %v, want ErrDuplicateEventID", err)
	}
	if n := len(mustCollect(t, b.ReadStream(ctxT(t), "org-a", 0))); n != 5 {
		t.Fatalf("stream holds %d events, want 5", n)
	}
}

// TestPerStreamIDsCacheBound: with a cache far smaller than the ledger,
// streams are dropped from it and read again, and duplicates are still
// found.
func TestPerStreamIDsCacheBound(t *testing.T) {
	srv := esdbtest.Start(t)
	st := openStore(t, srv.URL(), esdb.Options{IDs: esdb.IDsPerStream, StreamIDsMax: 8})
	chains := make([]*chain, 6)
	firsts := make([]ledger.Event, len(chains))
	for i := range chains {
		chains[i] = newChain(fmt.Sprintf("org-%d", i))
		firsts[i] = appendN(t, st, chains[i], 5)[0]
	}
	for i, c := range chains {
		dup := c.next(1)
		dup[0].ID = firsts[i].ID
		dup[0].Hash = ledger.ComputeHash(&dup[0])
		if _, err := st.Append(ctxT(t), c.stream, c.head, dup); !errors.Is(err, ledger.ErrDuplicateEventID) {
			t.Fatalf("%s: append of its first id again: %v, want ErrDuplicateEventID", c.stream, err)
		}
		if _, err := st.EventInStream(ctxT(t), c.stream, firsts[i].ID); err != nil {
			t.Fatalf("%s: %v", c.stream, err)
		}
	}
}

// TestPerStreamIDsScope pins down what per-stream ids cannot do: an id
// stored in one stream is not found in another, so appending it there
// stores it twice. The organisation code names the stream of every entry,
// so a retried entry always goes to the stream where it was stored.
func TestPerStreamIDsScope(t *testing.T) {
	st := openStore(t, esdbtest.Start(t).URL(), perStream)
	l := ledger.New(st, ledger.Options{Clock: ledgertest.NewClock(clock).Now})
	p := []ledger.Proposed{{ID: uuid.New(), Type: "StudySessionHeld", OccurredOn: "2016-03-08", RecordedBy: "t", Data: []byte(`{}`)}}
	if _, err := l.Append(ctxT(t), "org-a", ledger.Any, p); err != nil {
		t.Fatal(err)
	}
	if _, err := st.EventByID(ctxT(t), p[0].ID); !errors.Is(err, ledger.ErrNoIDIndex) {
		t.Fatalf("EventByID: %v, want ErrNoIDIndex", err)
	}
	if _, err := st.EventInStream(ctxT(t), "org-b", p[0].ID); !errors.Is(err, ledger.ErrEventNotFound) {
		t.Fatalf("EventInStream(org-b): %v, want ErrEventNotFound", err)
	}
	res, err := l.Append(ctxT(t), "org-b", ledger.Any, p)
	if err != nil || res[0].Duplicate {
		t.Fatalf("append of org-a's id to org-b: %+v, %v; want it stored (the documented limit)", res, err)
	}
	if _, err := st.EventInStream(ctxT(t), "committee-x", uuid.New()); !errors.Is(err, ledger.ErrEventNotFound) {
		t.Fatalf("EventInStream of a missing stream: %v, want ErrEventNotFound", err)
	}
	if _, err := st.EventInStream(ctxT(t), "$all", uuid.New()); !errors.Is(err, esdb.ErrForeignStream) {
		t.Fatalf("EventInStream($all): %v, want ErrForeignStream", err)
	}
}

// TestPerStreamIDsNeedPositions: a server before 22.6 reports no $all
// position on stream reads, which only the global index can supply.
func TestPerStreamIDsNeedPositions(t *testing.T) {
	srv := esdbtest.Start(t)
	st := openStore(t, srv.URL(), perStream)
	c := newChain("org-a")
	appendN(t, st, c, 1)
	srv.SetLegacyStreamPositions(true)
	if _, err := collect(t, st.ReadStream(ctxT(t), "org-a", 0)); err == nil {
		t.Fatal("read on a legacy server with per-stream ids succeeded without positions")
	}
}
