package workers_test

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"testing"
	"time"

	"partyledger/domain"
	"partyledger/ledger"
	"partyledger/ledger/books"
	"partyledger/ledger/esdb"
	"partyledger/ledger/esdb/esdbtest"
	"partyledger/projections"
	"partyledger/projections/workers"
)

// oneOrg records the first organisation of a small city and returns its
// stream.
func oneOrg(t *testing.T, srv *esdbtest.Server) (*node, *city, string) {
	t.Helper()
	c := newCity(3)
	n := openNode(t, srv, esdb.IDsPerStream)
	record(t, n.bk, c.first)
	record(t, n.bk, c.byOrg[c.codes[0]])
	return n, c, books.OrgStream(c.codes[0])
}

func snapshots(t *testing.T, st *esdb.Store, stream string) []workers.SnapshotMeta {
	t.Helper()
	var out []workers.SnapshotMeta
	for d, err := range st.ReadDerived(context.Background(), workers.SnapshotStream(stream), 0) {
		if err != nil {
			t.Fatal(err)
		}
		var m workers.SnapshotMeta
		if err := json.Unmarshal(d.Meta, &m); err != nil {
			t.Fatal(err)
		}
		out = append(out, m)
	}
	return out
}

// TestWorkersRaceOnOneStream: workers told at once to bring one stream's
// snapshot up to several revisions write snapshots that each cover more
// than the one before, whatever the interleaving, and no more of them
// than revisions asked for.
func TestWorkersRaceOnOneStream(t *testing.T) {
	srv := esdbtest.Start(t)
	n, _, stream := oneOrg(t, srv)
	last, err := n.st.LastEvent(context.Background(), stream)
	if err != nil {
		t.Fatal(err)
	}
	var ws []*workers.Worker
	for range 6 {
		ws = append(ws, workers.New(openNode(t, srv, esdb.IDsPerStream).st, workers.Options{}))
	}
	var wg sync.WaitGroup
	errs := make(chan error, 3*len(ws))
	for i, w := range ws { // a worker works on one thing at a time
		wg.Go(func() {
			for _, upTo := range []uint64{last.Revision / 3, last.Revision / 2, last.Revision} {
				if err := workers.Refresh(context.Background(), w, stream, upTo-uint64(i%2)); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	metas := snapshots(t, n.st, stream)
	for i, m := range metas {
		if i > 0 && m.Revision <= metas[i-1].Revision {
			t.Fatalf("snapshot %d covers revision %d, after one covering %d", i, m.Revision, metas[i-1].Revision)
		}
	}
	if got := metas[len(metas)-1]; got.Revision != last.Revision || got.Position != uint64(last.Position) || got.Events != int(last.Revision)+1 {
		t.Fatalf("last snapshot %+v, want revision %d at %d", got, last.Revision, last.Position)
	}
	if len(metas) > 6 {
		t.Fatalf("%d snapshots for 6 revisions asked: repeats were written", len(metas))
	}
}

// TestWorkerRefoldsAnotherVersion: a snapshot written by another version
// of the fold is not restored; the worker folds the stream again and
// writes after it.
func TestWorkerRefoldsAnotherVersion(t *testing.T) {
	srv := esdbtest.Start(t)
	n, _, stream := oneOrg(t, srv)
	ctx := context.Background()
	meta, _ := json.Marshal(workers.SnapshotMeta{Stream: stream, Revision: 1_000_000, FactsVersion: 0})
	if _, err := n.st.AppendDerived(ctx, workers.SnapshotStream(stream), ledger.NoStream,
		esdb.Derived{Type: workers.TypeFactsSnapshot, Data: []byte("old"), Meta: meta}); err != nil {
		t.Fatal(err)
	}
	w := workers.New(n.st, workers.Options{})
	if err := workers.Refresh(ctx, w, stream, 0); err != nil {
		t.Fatal(err)
	}
	metas := snapshots(t, n.st, stream)
	if len(metas) != 2 || metas[1].FactsVersion == 0 || metas[1].Events == 0 {
		t.Fatalf("snapshots %+v: want the old one and a fold of this version", metas)
	}
}

// TestWorkerRefusesDamage: a damaged snapshot or a delivery beyond the
// stream's end is a failure another try will not mend (the worker parks
// it), not a reason to overwrite the snapshot.
func TestWorkerRefusesDamage(t *testing.T) {
	srv := esdbtest.Start(t)
	n, _, stream := oneOrg(t, srv)
	ctx := context.Background()
	w := workers.New(n.st, workers.Options{})
	err := workers.Refresh(ctx, w, stream, 1_000_000)
	if !errors.Is(err, ledger.ErrCorrupt) || workers.Transient(err) {
		t.Fatalf("a delivery beyond the stream's end: %v, want a lasting ErrCorrupt", err)
	}
	meta, _ := json.Marshal(workers.SnapshotMeta{Stream: stream, Revision: 3, Events: 4, FactsVersion: projections.FactsSnapshotVersion})
	if _, err := n.st.AppendDerived(ctx, workers.SnapshotStream(stream), ledger.NoStream,
		esdb.Derived{Type: workers.TypeFactsSnapshot, Data: append([]byte("PLF"), append([]byte{byte(projections.FactsSnapshotVersion)}, "garbage"...)...), Meta: meta}); err != nil {
		t.Fatal(err)
	}
	if err := workers.Refresh(ctx, workers.New(n.st, workers.Options{}), stream, 5); !errors.Is(err, ledger.ErrCorrupt) || workers.Transient(err) {
		t.Fatalf("a damaged snapshot: %v, want a lasting ErrCorrupt", err)
	}
	if got := len(snapshots(t, n.st, stream)); got != 1 {
		t.Fatalf("%d snapshots after refusing the damaged one, want it left as the last", got)
	}
}

// TestReaderWithoutSnapshots: an organisation listed but not yet
// snapshotted is left out of a snapshot ranking and folded from its
// stream with CatchUp; Score always folds what follows the snapshot.
func TestReaderWithoutSnapshots(t *testing.T) {
	srv := esdbtest.Start(t)
	n, c, stream := oneOrg(t, srv)
	ctx := context.Background()
	if err := workers.EnsureGroup(ctx, n.st, "", 0); err != nil {
		t.Fatal(err)
	}
	// A worker folds the first revisions only.
	w := workers.New(n.st, workers.Options{})
	if err := workers.Refresh(ctx, w, stream, 5); err != nil {
		t.Fatal(err)
	}
	meta := snapshots(t, n.st, stream)[0]
	r := workers.NewReader(n.st, n.bk, workers.ReaderOptions{})
	cards, err := r.ScoreAll(ctx, year)
	if err != nil || len(cards) != 1 || cards[0].LedgerPosition != meta.Position {
		t.Fatalf("snapshot ranking: %d cards, %v; want one at the snapshot's position %d", len(cards), err, meta.Position)
	}
	last, _ := n.st.LastEvent(ctx, stream)
	caught, err := workers.NewReader(n.st, n.bk, workers.ReaderOptions{CatchUp: true}).ScoreAll(ctx, year)
	if err != nil || len(caught) != 1 || caught[0].LedgerPosition != uint64(last.Position) {
		t.Fatalf("caught-up ranking: %d cards, %v; want one at the stream's last position %d", len(caught), err, last.Position)
	}
	one, err := r.Score(ctx, c.codes[0], year)
	if err != nil || one.LedgerPosition != uint64(last.Position) {
		t.Fatalf("Score: %+v, %v; want the stream's last position", one, err)
	}
	if _, err := r.Score(ctx, "no-such-org", year); err == nil {
		t.Fatal("Score of an unknown organisation succeeded")
	}
}

// TestWorkerMinInterval: lines recorded one at a time, each its own
// append, make one snapshot per MinInterval, not one each — and the last
// snapshot still covers them all.
func TestWorkerMinInterval(t *testing.T) {
	srv := esdbtest.Start(t)
	c := newCity(3)
	n := openNode(t, srv, esdb.IDsPerStream)
	code := c.codes[0]
	lines := c.byOrg[code]
	tail := lines[len(lines)-6:]
	record(t, n.bk, c.first)
	record(t, n.bk, lines[:len(lines)-6])
	ctx := context.Background()
	if err := workers.EnsureGroup(ctx, n.st, "", time.Minute); err != nil {
		t.Fatal(err)
	}
	w := workers.New(openNode(t, srv, esdb.IDsPerStream).st, workers.Options{Linger: 5 * time.Millisecond, MinInterval: 500 * time.Millisecond})
	wctx, stop := context.WithCancel(ctx)
	defer stop()
	go func() { _ = w.Run(wctx) }()
	stream := books.OrgStream(code)
	waitCovered(t, srv, n.st, []string{code})
	before := len(snapshots(t, n.st, stream))
	for _, l := range tail {
		record(t, n.bk, []domain.JournalLine{l})
		time.Sleep(40 * time.Millisecond)
	}
	waitCovered(t, srv, n.st, []string{code})
	if got := len(snapshots(t, n.st, stream)) - before; got > 2 {
		t.Fatalf("%d snapshots for 6 appends within one interval, want at most 2", got)
	}
}

// TestWorkerTellsWhatItWrote: Options.Written hears of every snapshot,
// after its acknowledgement: per organisation the last revision told is
// the stream's head, and the events told folded add up to the stream's
// length — each folded once, from the snapshot before.
func TestWorkerTellsWhatItWrote(t *testing.T) {
	srv := esdbtest.Start(t)
	c := newCity(3)
	n := openNode(t, srv, esdb.IDsPerStream)
	ctx := context.Background()
	if err := workers.EnsureGroup(ctx, n.st, "", 0); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	last, folded, told := map[string]uint64{}, map[string]int{}, 0
	w := workers.New(openNode(t, srv, esdb.IDsPerStream).st, workers.Options{Linger: 5 * time.Millisecond,
		Written: func(org, stream string, rev uint64, n int) {
			mu.Lock()
			defer mu.Unlock()
			if stream != books.OrgStream(org) {
				t.Errorf("told of %s for %s", stream, org)
			}
			last[stream], folded[stream], told = rev, folded[stream]+n, told+1
		}})
	wctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- w.Run(wctx) }()
	record(t, n.bk, c.first)
	for _, code := range c.codes {
		record(t, n.bk, c.byOrg[code])
	}
	waitCovered(t, srv, n.st, c.codes)
	stop()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("the worker ended with %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, code := range c.codes {
		stream := books.OrgStream(code)
		head, err := n.st.LastEvent(ctx, stream)
		if err != nil {
			t.Fatal(err)
		}
		if last[stream] != head.Revision || folded[stream] != int(head.Revision)+1 {
			t.Errorf("%s: told revision %d and %d events folded; the stream ends at %d", code, last[stream], folded[stream], head.Revision)
		}
	}
	t.Logf("told of %d snapshots", told)
}
