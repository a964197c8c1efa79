package main

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"partyledger/cmd/ledgerbench/internal/peers/bolt"
	"partyledger/cmd/ledgerbench/internal/stats"
	"partyledger/ledger"
)

// appendRun is the outcome of one timed append workload.
type appendRun struct {
	Events  int64
	Ops     int64
	Elapsed time.Duration
	Lat     stats.Summary
	samples []time.Duration
}

func (r appendRun) rate() float64 { return stats.Rate(r.Events, r.Elapsed) }

// mergeRuns adds up runs of one workload (the rounds of a system).
func mergeRuns(runs []appendRun) appendRun {
	var out appendRun
	for _, r := range runs {
		out.Events += r.Events
		out.Ops += r.Ops
		out.Elapsed += r.Elapsed
		out.samples = append(out.samples, r.samples...)
	}
	out.Lat = stats.Summarise(out.samples)
	return out
}

// appendOp appends n events to writer w's stream, expecting the stream to
// be at revision rev (ledger.NoStream for a new stream).
type appendOp func(ctx context.Context, w int, rev int64, n int) error

// measureAppends runs writers goroutines that each append perAppend events
// at a time to a stream of their own, back to back, for warm (not
// counted) and then dur. An append counts when it starts and ends within
// the measured window; its latency is from call to durable return.
func measureAppends(ctx context.Context, writers, perAppend int, warm, dur time.Duration, op appendOp) (appendRun, error) {
	var (
		rec    stats.Recorder
		ops    atomic.Int64
		wg     sync.WaitGroup
		mu     sync.Mutex
		firstE error
	)
	start := make(chan struct{})
	var warmEnd, end time.Time
	for w := range writers {
		lane := rec.Lane()
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			rev := ledger.NoStream
			for {
				t0 := time.Now()
				if t0.After(end) || ctx.Err() != nil {
					return
				}
				err := op(ctx, w, rev, perAppend)
				t1 := time.Now()
				if err != nil {
					mu.Lock()
					if firstE == nil {
						firstE = fmt.Errorf("writer %d at revision %d: %w", w, rev, err)
					}
					mu.Unlock()
					return
				}
				rev += int64(perAppend)
				if !t0.Before(warmEnd) && !t1.After(end) {
					lane.Add(t1.Sub(t0))
					ops.Add(1)
				}
			}
		}()
	}
	now := time.Now()
	warmEnd, end = now.Add(warm), now.Add(warm+dur)
	close(start)
	wg.Wait()
	if firstE != nil {
		return appendRun{}, firstE
	}
	if err := ctx.Err(); err != nil {
		return appendRun{}, err
	}
	n := ops.Load()
	samples := rec.Samples()
	return appendRun{Events: n * int64(perAppend), Ops: n, Elapsed: dur, Lat: stats.Summarise(samples), samples: samples}, nil
}

// appendStream names writer w's stream in a workload: the same names in
// every store, so every store writes the same bytes.
func appendStream(workload string, w int) string { return fmt.Sprintf("%s-%02d", workload, w) }

// expect turns a revision into the ledger's expectation.
func expect(rev int64) ledger.Expected {
	if rev == ledger.NoStream {
		return ledger.ExpectNoStream
	}
	return ledger.ExpectRevision(uint64(rev))
}

// ledgerOp appends through a ledger with an exact expected revision: the
// ledger validates, stamps and hashes, the store checks the revision again
// and makes the events durable.
func ledgerOp(l *ledger.Ledger, workload string, writers, perAppend int) appendOp {
	streams := make([]string, writers)
	props := make([][]ledger.Proposed, writers)
	for w := range writers {
		streams[w] = appendStream(workload, w)
		props[w] = proposals(perAppend)
	}
	return func(ctx context.Context, w int, rev int64, n int) error {
		_, err := l.Append(ctx, streams[w], expect(rev), props[w])
		return err
	}
}

// storeOp appends envelopes straight to a store, bypassing the ledger
// (no validation, no hashing): the store's own cost.
func storeOp(s ledger.Store, workload string, writers int) appendOp {
	streams := make([]string, writers)
	for w := range writers {
		streams[w] = appendStream(workload, w)
	}
	return func(ctx context.Context, w int, rev int64, n int) error {
		_, err := s.Append(ctx, streams[w], rev, rawEvents(streams[w], rev, n))
		return err
	}
}

// boltTuning is one setting of bbolt's batching.
type boltTuning struct {
	Size  int
	Delay time.Duration
}

func (t boltTuning) String() string {
	return fmt.Sprintf("MaxBatchSize=%d MaxBatchDelay=%s", t.Size, t.Delay)
}

// boltCandidates are the batch settings tried for writers concurrent
// appenders: a batch the size of the writer count (it commits as soon as
// every writer has joined) with a short and a longer cap on the wait, and
// bbolt's default size with short delays.
func boltCandidates(writers int) []boltTuning {
	if writers == 1 {
		return []boltTuning{{1, 0}}
	}
	return []boltTuning{
		{writers, 200 * time.Microsecond},
		{writers, 2 * time.Millisecond},
		{1000, 50 * time.Microsecond},
		{1000, 500 * time.Microsecond},
	}
}

// tuneBolt runs a short pilot of the workload with each candidate setting
// and leaves the store set to the fastest, which it returns with every
// pilot's rate.
func tuneBolt(ctx context.Context, s *bolt.Store, l *ledger.Ledger, workload string, writers, perAppend int, pilot time.Duration) (boltTuning, map[string]float64, error) {
	cands := boltCandidates(writers)
	rates := map[string]float64{}
	if len(cands) == 1 {
		s.Tune(cands[0].Size, cands[0].Delay)
		return cands[0], rates, nil
	}
	best, bestRate := cands[0], -1.0
	for i, c := range cands {
		s.Tune(c.Size, c.Delay)
		run, err := measureAppends(ctx, writers, perAppend, pilot/5, pilot,
			ledgerOp(l, fmt.Sprintf("pilot%d-%s", i, workload), writers, perAppend))
		if err != nil {
			return best, rates, fmt.Errorf("bbolt pilot %s: %w", c, err)
		}
		rates[c.String()] = run.rate()
		if run.rate() > bestRate {
			best, bestRate = c, run.rate()
		}
	}
	s.Tune(best.Size, best.Delay)
	return best, rates, nil
}
