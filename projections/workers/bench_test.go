package workers_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"partyledger/ledger/books"
	"partyledger/ledger/esdb"
	"partyledger/ledger/esdb/esdbtest"
	"partyledger/projections/scoreboard"
	"partyledger/projections/workers"
)

// The figures of README "Scaling" that are measured rather than
// estimated come from these benchmarks, against the in-process test
// double (real client, real gRPC over loopback, an in-memory server):
//
//	go test ./projections/workers -run XXX -bench . -benchtime 1x   (catch-up)
//	go test ./projections/workers -run XXX -bench 'Score|Rank'      (reads)
//
// They measure the application's side — decoding, folding, snapshot
// codec, round trips — not KurrentDB's disk.

// benchCity records a demo city of orgs organisations into a fresh
// double through one node with per-stream ids.
func benchCity(b *testing.B, orgs int) (*esdbtest.Server, *node, *city, int) {
	b.Helper()
	srv := esdbtest.Start(b)
	n := openNode(b, srv, esdb.IDsPerStream)
	c := newCity(orgs)
	began := time.Now()
	record(b, n.bk, c.first)
	events := len(c.first)
	for _, code := range c.codes {
		record(b, n.bk, c.byOrg[code])
		events += len(c.byOrg[code])
	}
	b.Logf("recorded %d events of %d organisations through books with per-stream ids in %v (%.0f events/s)",
		events, orgs, time.Since(began).Round(time.Millisecond), float64(events)/time.Since(began).Seconds())
	return srv, n, c, events
}

// BenchmarkWorkersCatchUp: workers started on a recorded city fold every
// organisation and write its snapshot; reports events and snapshots a
// second for 1, 2 and 4 workers.
func BenchmarkWorkersCatchUp(b *testing.B) {
	for _, nw := range []int{1, 2, 4} {
		b.Run(fmt.Sprintf("workers=%d", nw), func(b *testing.B) {
			for b.Loop() {
				srv, n, c, events := benchCity(b, 40)
				if err := workers.EnsureGroup(context.Background(), n.st, "", 0); err != nil {
					b.Fatal(err)
				}
				began := time.Now()
				for i := range nw {
					runWorker(b, openNode(b, srv, esdb.IDsPerStream).st, fmt.Sprint("w", i), nil)
				}
				waitCovered(b, srv, n.st, c.codes)
				took := time.Since(began)
				b.ReportMetric(float64(events)/took.Seconds(), "events/s")
				b.ReportMetric(float64(len(c.codes))/took.Seconds(), "orgs/s")
			}
		})
	}
}

// BenchmarkScoreOnDemand: one organisation's scorecard on a serve node —
// folded from its whole stream, from its snapshot (nothing after it), and
// from the cache (one read finds nothing new).
func BenchmarkScoreOnDemand(b *testing.B) {
	srv, n, c, _ := benchCity(b, 8)
	code := c.codes[0]
	b.Run("stream", func(b *testing.B) {
		for b.Loop() {
			r := workers.NewReader(n.st, n.bk, workers.ReaderOptions{})
			if _, err := r.Score(context.Background(), code, year); err != nil {
				b.Fatal(err)
			}
		}
	})
	w := workers.New(n.st, workers.Options{})
	last, _ := n.st.LastEvent(context.Background(), books.OrgStream(code))
	if err := workers.Refresh(context.Background(), w, books.OrgStream(code), last.Revision); err != nil {
		b.Fatal(err)
	}
	b.Run("snapshot", func(b *testing.B) {
		for b.Loop() {
			r := workers.NewReader(n.st, n.bk, workers.ReaderOptions{})
			if _, err := r.Score(context.Background(), code, year); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("cached", func(b *testing.B) {
		r := workers.NewReader(n.st, n.bk, workers.ReaderOptions{})
		for b.Loop() {
			if _, err := r.Score(context.Background(), code, year); err != nil {
				b.Fatal(err)
			}
		}
	})
	_ = srv
}

// BenchmarkRankFromSnapshots: ScoreAll of a city from its snapshots on a
// node that has none cached (every snapshot read and decoded) and on one
// that has them all (one read each finds the same revision); reports the
// cost per organisation. The "board" cases are what a serve node with
// --ids per-stream does: a scoreboard over the Reader, exact (each
// stream read after its snapshot or cached facts) rather than as the
// workers left the snapshots.
func BenchmarkRankFromSnapshots(b *testing.B) {
	srv, n, c, _ := benchCity(b, 40)
	if err := workers.EnsureGroup(context.Background(), n.st, "", 0); err != nil {
		b.Fatal(err)
	}
	runWorker(b, openNode(b, srv, esdb.IDsPerStream).st, "w", nil)
	waitCovered(b, srv, n.st, c.codes)
	per := func(b *testing.B) {
		b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*len(c.codes)), "µs/org")
	}
	b.Run("cold", func(b *testing.B) {
		for b.Loop() {
			r := workers.NewReader(n.st, n.bk, workers.ReaderOptions{})
			if _, err := r.ScoreAll(context.Background(), year); err != nil {
				b.Fatal(err)
			}
		}
		per(b)
	})
	b.Run("cached", func(b *testing.B) {
		r := workers.NewReader(n.st, n.bk, workers.ReaderOptions{})
		for b.Loop() {
			if _, err := r.ScoreAll(context.Background(), year); err != nil {
				b.Fatal(err)
			}
		}
		per(b)
	})
	board := func(r *workers.Reader) *scoreboard.Board {
		return scoreboard.New(n.bk, scoreboard.Options{Snapshots: r})
	}
	b.Run("board, cold", func(b *testing.B) {
		for b.Loop() {
			if _, err := board(workers.NewReader(n.st, n.bk, workers.ReaderOptions{})).ScoreAll(context.Background(), year); err != nil {
				b.Fatal(err)
			}
		}
		per(b)
	})
	b.Run("board, cached", func(b *testing.B) {
		bd := board(workers.NewReader(n.st, n.bk, workers.ReaderOptions{}))
		for b.Loop() {
			if _, err := bd.ScoreAll(context.Background(), year); err != nil {
				b.Fatal(err)
			}
		}
		per(b)
	})
}
