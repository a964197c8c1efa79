package esdb_test

import (
	"context"
	"errors"
	"testing"
	"time"

	client "github.com/EventStore/EventStore-Client-Go/v4/esdb"

	"partyledger/ledger"
	"partyledger/ledger/esdb"
	"partyledger/ledger/esdb/esdbtest"
)

// next returns a consumer's next delivery, failing after a while.
func next(t *testing.T, c *esdb.Consumer) esdb.Delivery {
	t.Helper()
	type res struct {
		d   esdb.Delivery
		err error
	}
	ch := make(chan res, 1)
	go func() {
		d, err := c.Next()
		ch <- res{d, err}
	}()
	select {
	case r := <-ch:
		if r.err != nil {
			t.Fatalf("next delivery: %v", r.err)
		}
		return r.d
	case <-time.After(10 * time.Second):
		t.Fatal("no delivery within 10 s")
	}
	return esdb.Delivery{}
}

// TestGroupsOnLedgerStreams: a Pinned group on the organisation streams
// delivers their events by ledger name (namespace removed) and no other
// stream's; a retried delivery comes back with its retry count; what a
// consumer that leaves did not acknowledge goes to another.
func TestGroupsOnLedgerStreams(t *testing.T) {
	srv := esdbtest.Start(t)
	st := openStore(t, srv.URL(), esdb.Options{Namespace: "ns.", IDs: esdb.IDsPerStream})
	ctx := ctxT(t)
	opts := esdb.GroupOptions{Prefixes: []string{"org-"}, MessageTimeout: time.Minute}
	if err := st.CreateGroup(ctx, "facts", opts); err != nil {
		t.Fatal(err)
	}
	if err := st.CreateGroup(ctx, "facts", opts); !errors.Is(err, esdb.ErrGroupExists) {
		t.Fatalf("second create: %v, want ErrGroupExists", err)
	}
	if err := st.CreateGroup(ctx, "x", esdb.GroupOptions{Prefixes: []string{"snapshot-"}}); !errors.Is(err, esdb.ErrForeignStream) {
		t.Fatalf("group on a foreign prefix: %v, want ErrForeignStream", err)
	}
	if _, err := st.JoinGroup(ctx, "nope", 10); !errors.Is(err, esdb.ErrGroupNotFound) {
		t.Fatalf("join a missing group: %v, want ErrGroupNotFound", err)
	}
	ctxA, killA := context.WithCancel(ctx)
	a, err := st.JoinGroup(ctxA, "facts", 10)
	if err != nil {
		t.Fatal(err)
	}
	appendN(t, st, newChain("committee-1"), 1)
	evs := appendN(t, st, newChain("org-1"), 3)
	d := next(t, a)
	if d.Stream != "org-1" || d.Revision != 0 || d.ID != evs[0].ID || d.Position != evs[0].Position || d.Retries != 0 {
		t.Fatalf("delivery %+v, want org-1 revision 0 (%s at %d)", d, evs[0].ID, evs[0].Position)
	}
	if err := a.Retry("not yet", d); err != nil {
		t.Fatal(err)
	}
	// Revisions 1 and 2 may come before revision 0 again: ack all but 2.
	var held esdb.Delivery
	for got := map[uint64]bool{}; len(got) < 3; {
		e := next(t, a)
		if e.Revision == 0 && e.Retries != 1 {
			t.Fatalf("retried delivery has %d retries, want 1", e.Retries)
		}
		got[e.Revision] = true
		if e.Revision == 2 {
			held = e
			continue
		}
		if err := a.Ack(e); err != nil {
			t.Fatal(err)
		}
	}
	b, err := st.JoinGroup(ctx, "facts", 10)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	deadline := time.Now().Add(10 * time.Second)
	for g, _ := srv.Group("$all", "ns.facts"); g.Consumers != 2 || g.Acked != 2; g, _ = srv.Group("$all", "ns.facts") {
		if time.Now().After(deadline) {
			t.Fatalf("group %+v: want b joined and 2 acks", g)
		}
		time.Sleep(5 * time.Millisecond)
	}
	killA() // a leaves holding revision 2 unacknowledged
	e := next(t, b)
	if e.Stream != "org-1" || e.Revision != 2 || e.ID != held.ID || e.Retries != 1 {
		t.Fatalf("b got %+v, want org-1 revision 2 with retry count 1", e)
	}
	if err := b.Ack(e); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Next(); !errors.Is(err, context.Canceled) {
		t.Fatalf("a after its context ended: %v, want context.Canceled", err)
	}
	if err := st.DeleteGroup(ctx, "facts"); err != nil {
		t.Fatal(err)
	}
	if err := st.DeleteGroup(ctx, "facts"); !errors.Is(err, esdb.ErrGroupNotFound) {
		t.Fatalf("delete a deleted group: %v, want ErrGroupNotFound", err)
	}
}

// TestDerivedStreams: snapshot-like streams beside the ledger's, with
// expected revisions, and invisible to the ledger's reads.
func TestDerivedStreams(t *testing.T) {
	srv := esdbtest.Start(t)
	st := openStore(t, srv.URL(), esdb.Options{})
	ctx := ctxT(t)
	for _, bad := range []string{"org-1", "rulebook-2016", "$all", ""} {
		if _, err := st.AppendDerived(ctx, bad, ledger.NoStream, esdb.Derived{Type: "X", Data: []byte{1}}); err == nil {
			t.Errorf("derived append to %q succeeded", bad)
		}
	}
	if _, err := st.LastDerived(ctx, "snapshot-1"); !errors.Is(err, ledger.ErrStreamNotFound) {
		t.Fatalf("last of a missing stream: %v, want ErrStreamNotFound", err)
	}
	rev, err := st.AppendDerived(ctx, "snapshot-1", ledger.NoStream, esdb.Derived{Type: "FactsSnapshot", Data: []byte{1, 2}, Meta: []byte(`{"r":1}`)})
	if err != nil || rev != 0 {
		t.Fatalf("first append: %d, %v", rev, err)
	}
	_, err = st.AppendDerived(ctx, "snapshot-1", ledger.NoStream, esdb.Derived{Type: "FactsSnapshot", Data: []byte{3}})
	wantWrongRevision(t, err, 0)
	if rev, err = st.AppendDerived(ctx, "snapshot-1", 0, esdb.Derived{Type: "FactsSnapshot", Data: []byte{3}}); err != nil || rev != 1 {
		t.Fatalf("second append: %d, %v", rev, err)
	}
	if rev, err = st.AppendDerived(ctx, "snapshot-1", esdb.AnyRevision, esdb.Derived{Type: "FactsSnapshot", Data: []byte{4}}); err != nil || rev != 2 {
		t.Fatalf("append with any revision: %d, %v", rev, err)
	}
	last, err := st.LastDerived(ctx, "snapshot-1")
	if err != nil || last.Revision != 2 || string(last.Data) != "\x04" || last.Type != "FactsSnapshot" || last.Position == 0 {
		t.Fatalf("last: %+v, %v", last, err)
	}
	var n int
	for d, err := range st.ReadDerived(ctx, "snapshot-1", 1) {
		if err != nil {
			t.Fatal(err)
		}
		if d.Revision != uint64(n+1) {
			t.Fatalf("read revision %d, want %d", d.Revision, n+1)
		}
		n++
	}
	if n != 2 {
		t.Fatalf("read %d events from revision 1, want 2", n)
	}
	if err := st.SetDerivedMaxCount(ctx, "snapshot-1", 2); err != nil {
		t.Fatal(err)
	}
	meta, err := rawClient(t, srv.URL()).GetStreamMetadata(ctx, "snapshot-1", client.ReadStreamOptions{})
	if err != nil || meta.MaxCount() == nil || *meta.MaxCount() != 2 {
		t.Fatalf("stream metadata %+v, %v; want $maxCount 2", meta, err)
	}
	if all := mustCollect(t, st.ReadAll(ctx, 0)); len(all) != 0 {
		t.Fatalf("ReadAll shows %d derived events", len(all))
	}
}
