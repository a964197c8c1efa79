package workers_test

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"testing"
	"time"

	"partyledger/domain"
	"partyledger/domain/democity"
	"partyledger/ledger"
	"partyledger/ledger/books"
	"partyledger/ledger/esdb"
	"partyledger/ledger/esdb/esdbtest"
	"partyledger/ledger/filestore"
	"partyledger/ledger/ledgertest"
	"partyledger/projections"
	"partyledger/projections/scoreboard"
	"partyledger/projections/workers"
)

var (
	start = time.Date(2017, 3, 1, 0, 0, 0, 0, time.UTC)
	// known is after everything either store records: both rank the
	// same events, whatever their recorded_at.
	known = time.Date(2018, 1, 1, 0, 0, 0, 0, time.UTC)
	year  = scoreboard.Query{Year: democity.Year, KnownAt: known}
)

// node is one process on the server: its own store and books.
type node struct {
	st *esdb.Store
	bk *books.Books
}

func openNode(t testing.TB, srv *esdbtest.Server, ids esdb.IDScope) *node {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	st, err := esdb.Open(ctx, srv.URL(), esdb.Options{IDs: ids})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return &node{st: st, bk: books.New(ledger.New(st, ledger.Options{Clock: ledgertest.NewClock(start).Now}))}
}

// record appends journal lines through the validated path, one batch per
// run of lines of one organisation.
func record(t testing.TB, bk *books.Books, lines []domain.JournalLine) {
	t.Helper()
	var batch []domain.Entry
	flush := func() {
		if len(batch) == 0 {
			return
		}
		if _, err := bk.Record(context.Background(), batch, "test", books.RecordOptions{}); err != nil {
			t.Error(err)
		}
		batch = batch[:0]
	}
	for _, l := range lines {
		raw, _ := json.Marshal(l)
		e, err := domain.ParseJournalLine(raw)
		if err != nil {
			t.Fatal(err)
		}
		if len(batch) > 0 && (batch[0].Org != e.Org || len(batch) >= 200) {
			flush()
		}
		batch = append(batch, e)
	}
	flush()
}

// city is a demo city's journal in the parts the test records: what one
// process records first (registrations and the committee's schedule),
// each organisation's lines, and the lines of one organisation held back
// to record after the workers restart.
type city struct {
	first []domain.JournalLine
	byOrg map[string][]domain.JournalLine
	codes []string
	late  []domain.JournalLine
}

func newCity(orgs int) *city {
	c := &city{byOrg: map[string][]domain.JournalLine{}}
	for _, l := range democity.Generate(11, democity.Options{Orgs: orgs, AllIDs: true}) {
		if l.Org == "" || l.Type == domain.TypeOrganizationRegistered {
			c.first = append(c.first, l)
			continue
		}
		if c.byOrg[l.Org] == nil {
			c.codes = append(c.codes, l.Org)
		}
		c.byOrg[l.Org] = append(c.byOrg[l.Org], l)
	}
	// The last organisation's assessors' lines (of 2017) come late.
	last := c.codes[len(c.codes)-1]
	lines := c.byOrg[last]
	for i, l := range lines {
		if l.OccurredOn >= "2017" {
			c.byOrg[last], c.late = lines[:i:i], lines[i:]
			break
		}
	}
	return c
}

// embedded records the same journal into the embedded store and returns
// its scoreboard's rankings before and after the late lines.
func (c *city) embedded(t testing.TB) (before, after string) {
	t.Helper()
	st, err := filestore.Open(t.TempDir(), filestore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	bk := books.New(ledger.New(st, ledger.Options{Clock: ledgertest.NewClock(start).Now}))
	record(t, bk, c.first)
	for _, code := range c.codes {
		record(t, bk, c.byOrg[code])
	}
	board := scoreboard.New(bk, scoreboard.Options{})
	before = ranking(t, board.ScoreAll, true)
	record(t, bk, c.late)
	after = ranking(t, board.ScoreAll, true)
	return before, after
}

// ranking returns the rankings as JSON; without positions when the stores
// differ (their positions do).
func ranking(t testing.TB, scoreAll func(context.Context, scoreboard.Query) ([]*projections.Scorecard, error), dropPositions bool) string {
	t.Helper()
	cards, err := scoreAll(context.Background(), year)
	if err != nil {
		t.Fatal(err)
	}
	if len(cards) == 0 {
		t.Fatal("no scorecards")
	}
	for _, c := range cards {
		if dropPositions {
			// The stores differ: so do positions, and recorded_at (the
			// clocks), which the 补录 list shows.
			c.LedgerPosition = 0
			c.Late = nil
		} else if c.LedgerPosition == 0 {
			t.Fatalf("%s: scorecard without a ledger position", c.Org)
		}
	}
	b, err := json.Marshal(cards)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// runWorker runs a worker until its context ends and reports how it ended.
func runWorker(t testing.TB, st *esdb.Store, name string, hook func(point, stream string)) (cancel func(), done <-chan error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	w := workers.New(st, workers.Options{Name: name, Buffer: 64, Linger: 20 * time.Millisecond, Log: t.Logf})
	if hook != nil {
		workers.SetHook(w, hook)
	}
	ch := make(chan error, 1)
	go func() { ch <- w.Run(ctx) }()
	t.Cleanup(cancel)
	return cancel, ch
}

// waitCovered waits until every organisation's snapshot covers its
// stream, and the group has nothing left to deliver.
func waitCovered(t testing.TB, srv *esdbtest.Server, st *esdb.Store, codes []string) time.Duration {
	t.Helper()
	began := time.Now()
	deadline := began.Add(60 * time.Second)
	ctx := context.Background()
	for {
		behind := 0
		for _, code := range codes {
			stream := books.OrgStream(code)
			last, err := st.LastEvent(ctx, stream)
			if err != nil {
				t.Fatal(err)
			}
			d, err := st.LastDerived(ctx, workers.SnapshotStream(stream))
			if errors.Is(err, ledger.ErrStreamNotFound) {
				behind++
				continue
			}
			if err != nil {
				t.Fatal(err)
			}
			var m workers.SnapshotMeta
			if err := json.Unmarshal(d.Meta, &m); err != nil {
				t.Fatal(err)
			}
			if m.Revision < last.Revision {
				behind++
			}
		}
		g, _ := srv.Group("$all", workers.DefaultGroup)
		if behind == 0 && g.InFlight == 0 && g.Retrying == 0 && g.Behind == 0 {
			return time.Since(began)
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d organisations behind after 60 s; group %+v", behind, g)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestWorkersSurviveAKill is the national set-up in one process: two
// serve nodes with per-stream ids record a demo city concurrently while
// projection workers on a Pinned persistent subscription keep facts
// snapshots; one worker is killed after writing a snapshot and before
// acknowledging it, another joins late. Then rankings from the snapshots —
// on each serve node and on a fresh one — equal the scoreboard's over the
// embedded store for the same journal, and the scoreboard's on the same
// server exactly. Last, every worker stops, an organisation records more,
// and a restarted worker brings its snapshot up to date.
func TestWorkersSurviveAKill(t *testing.T) {
	c := newCity(8)
	wantBefore, wantAfter := c.embedded(t)

	srv := esdbtest.Start(t)
	a, b := openNode(t, srv, esdb.IDsPerStream), openNode(t, srv, esdb.IDsPerStream)
	if err := workers.EnsureGroup(context.Background(), a.st, "", 0); err != nil {
		t.Fatal(err)
	}
	if err := workers.EnsureGroup(context.Background(), b.st, "", 0); err != nil {
		t.Fatalf("a second EnsureGroup: %v", err)
	}

	// One victim is killed after writing its third snapshot, before
	// acknowledging it; the other after folding its fifth organisation,
	// before writing the snapshot.
	v1 := startVictim(t, srv, "victim-1", "written", 3)
	v2 := startVictim(t, srv, "victim-2", "folded", 5)
	stop2, done2 := runWorker(t, openNode(t, srv, esdb.IDsPerStream).st, "w2", nil)

	record(t, a.bk, c.first)
	var wg sync.WaitGroup
	for i, n := range []*node{a, b} {
		wg.Go(func() {
			for j, code := range c.codes {
				if j%2 == i {
					record(t, n.bk, c.byOrg[code])
				}
			}
		})
	}
	held := []string{v1.kill(t), v2.kill(t)}
	stop3, done3 := runWorker(t, openNode(t, srv, esdb.IDsPerStream).st, "w3", nil)
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	took := waitCovered(t, srv, a.st, c.codes)
	g, _ := srv.Group("$all", workers.DefaultGroup)
	t.Logf("covered %v after the last append; group %+v; victims killed holding %v", took.Round(time.Millisecond), g, held)
	if g.Redelivered < 2 {
		t.Fatalf("%d events delivered again: the kills proved nothing", g.Redelivered)
	}

	fresh := openNode(t, srv, esdb.IDsPerStream)
	global := openNode(t, srv, esdb.IDsGlobal)
	onServer := ranking(t, scoreboard.New(global.bk, scoreboard.Options{}).ScoreAll, false)
	for name, r := range map[string]*workers.Reader{
		"node a, snapshots":     workers.NewReader(a.st, a.bk, workers.ReaderOptions{}),
		"node b, caught up":     workers.NewReader(b.st, b.bk, workers.ReaderOptions{CatchUp: true}),
		"fresh node, snapshots": workers.NewReader(fresh.st, fresh.bk, workers.ReaderOptions{}),
	} {
		if got := ranking(t, r.ScoreAll, false); got != onServer {
			t.Errorf("%s: rankings differ from the scoreboard's on the same server", name)
		}
		if got := ranking(t, r.ScoreAll, true); got != wantBefore {
			t.Errorf("%s: rankings differ from the embedded store's", name)
		}
	}

	// Every worker stops; an organisation records more; a new worker
	// resumes from the group's place and the snapshot.
	stop2()
	stop3()
	for _, d := range []<-chan error{done2, done3} {
		if err := <-d; !errors.Is(err, context.Canceled) {
			t.Fatalf("a worker ended with %v", err)
		}
	}
	record(t, b.bk, c.late)
	began := time.Now()
	runWorker(t, openNode(t, srv, esdb.IDsPerStream).st, "restarted", nil)
	waitCovered(t, srv, a.st, c.codes)
	t.Logf("a restarted worker covered %d late events in %v", len(c.late), time.Since(began).Round(time.Millisecond))
	reader := workers.NewReader(a.st, a.bk, workers.ReaderOptions{})
	if got := ranking(t, reader.ScoreAll, true); got != wantAfter {
		t.Fatal("after the restart: rankings differ from the embedded store's")
	}
	board := scoreboard.New(global.bk, scoreboard.Options{})
	for _, code := range c.codes {
		want, err := board.Score(context.Background(), code, year)
		if err != nil {
			t.Fatal(err)
		}
		got, err := workers.NewReader(b.st, b.bk, workers.ReaderOptions{}).Score(context.Background(), code, year)
		if err != nil {
			t.Fatal(err)
		}
		if g, w := marshal(t, got), marshal(t, want); g != w {
			t.Fatalf("%s: Score differs from the scoreboard's", code)
		}
	}
}

// victim is a worker that blocks at the n-th time it reaches point, until
// it is killed.
type victim struct {
	reached chan string
	kill    func(t testing.TB) string // waits for the point, kills, returns the stream
}

func startVictim(t testing.TB, srv *esdbtest.Server, name, point string, n int) victim {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	v := victim{reached: make(chan string, 1)}
	count := 0
	hook := func(p, stream string) {
		if p != point {
			return
		}
		if count++; count == n {
			v.reached <- stream
			<-ctx.Done()
		}
	}
	stop, done := runWorker(t, openNode(t, srv, esdb.IDsPerStream).st, name, hook)
	v.kill = func(t testing.TB) string {
		t.Helper()
		var stream string
		select {
		case stream = <-v.reached:
		case <-time.After(60 * time.Second):
			t.Fatalf("%s never reached %q %d times", name, point, n)
		}
		cancel()
		stop()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Fatalf("%s ended with %v", name, err)
		}
		return stream
	}
	return v
}

func marshal(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
