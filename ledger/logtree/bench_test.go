package logtree_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"partyledger/ledger"
	"partyledger/ledger/filestore"
	"partyledger/ledger/logtree"
)

func TestMain(m *testing.M) {
	code := m.Run()
	if benchDir != "" {
		os.RemoveAll(benchDir)
	}
	os.Exit(code)
}

// benchEvents is the size of the benchmarks' log:
// PARTYLEDGER_BENCH_TREE_EVENTS, default one million.
func benchEvents(b *testing.B) int {
	if v := os.Getenv("PARTYLEDGER_BENCH_TREE_EVENTS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			b.Fatalf("PARTYLEDGER_BENCH_TREE_EVENTS=%q: want a positive integer", v)
		}
		return n
	}
	return 1_000_000
}

var (
	benchOnce sync.Once
	benchDir  string // a filestore of benchEvents events and its hash file
	benchIDs  []uuid.UUID
	benchErr  error
)

// benchPayload is a typical ~230-byte event payload.
var benchPayload = []byte(`{"attendees":["m-001","m-002","m-003","m-004","m-005","m-006","m-007","m-008"],"notes_kept":true,"topic":"` +
	strings.Repeat("学习贯彻", 8) + `"}`)

// benchLog builds, once per process, a filestore of n events in 1000
// streams (appended 100 at a time by 8 writers) and its tree's hash file,
// and reports how long the hash file took to build from the log.
// openBenchLog opens the benchmark log (benchLog) until the benchmark ends.
func openBenchLog(b *testing.B) (string, *filestore.Store) {
	dir := benchLog(b)
	s, err := filestore.Open(dir, filestore.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	return dir, s
}

func benchLog(b *testing.B) string {
	n := benchEvents(b)
	benchOnce.Do(func() {
		benchDir, benchErr = os.MkdirTemp("", "logtree-bench-")
		if benchErr != nil {
			return
		}
		s, err := filestore.Open(benchDir, filestore.Options{})
		if err != nil {
			benchErr = err
			return
		}
		const streams, batch, writers = 1000, 100, 8
		var wg sync.WaitGroup
		errs := make([]error, writers)
		for w := range writers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				prev := map[string]ledger.Hash{}
				for k := w; k*batch < n; k += writers {
					stream := fmt.Sprintf("org-%d", k%streams)
					rev := uint64(k / streams * batch)
					evs := make([]ledger.Event, min(batch, n-k*batch))
					for i := range evs {
						e := &evs[i]
						*e = ledger.Event{ID: uuid.New(), Stream: stream, Type: "MeetingHeld", SchemaVersion: 1,
							Revision: rev + uint64(i), OccurredOn: "2016-03-08", RecordedAt: ledger.TruncateTime(time.Now()),
							RecordedBy: "bench", Data: benchPayload, PrevHash: prev[stream]}
						e.Hash = ledger.ComputeHash(e)
						prev[stream] = e.Hash
					}
					if _, err := s.Append(context.Background(), stream, int64(rev)-1, evs); err != nil {
						errs[w] = err
						return
					}
				}
			}()
		}
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				benchErr = err
				return
			}
		}
		for e, err := range s.ReadAll(context.Background(), 0) {
			if err != nil {
				benchErr = err
				return
			}
			benchIDs = append(benchIDs, e.ID)
		}
		start := time.Now()
		tr, err := logtree.Open(context.Background(), s, logtree.Options{HashFile: filepath.Join(benchDir, logtree.HashFileName)})
		if err != nil {
			benchErr = err
			return
		}
		fmt.Fprintf(os.Stderr, "logtree bench: hash file of %d events built from the log in %v\n", tr.Size(), time.Since(start).Round(time.Millisecond))
		tr.Close()
		_, _, benchErr = logtree.LoadOrCreateKey(filepath.Join(benchDir, "keys", logtree.KeyFileName), "bench.example")
		if benchErr == nil {
			benchErr = s.Close()
		}
		// Let the kernel write back what was just written, so that the
		// measurements do not share the disk with that writeback.
		exec.Command("sync").Run()
	})
	if benchErr != nil {
		b.Fatal(benchErr)
	}
	return benchDir
}

// BenchmarkCheckpointCold measures a checkpoint of the whole log from a
// cold process: "tree" opens the tree from its hash file over an open
// store, loads the key, computes the root and signs; "store+tree" opens
// the filestore too (its full scan included). The log has a million
// events unless PARTYLEDGER_BENCH_TREE_EVENTS says otherwise.
func BenchmarkCheckpointCold(b *testing.B) {
	dir := benchLog(b)
	keyPath := filepath.Join(dir, "keys", logtree.KeyFileName)
	checkpoint := func(b *testing.B, s *filestore.Store) {
		tr, err := logtree.Open(context.Background(), s, logtree.Options{HashFile: filepath.Join(dir, logtree.HashFileName)})
		if err != nil {
			b.Fatal(err)
		}
		key, err := logtree.LoadKey(keyPath)
		if err != nil {
			b.Fatal(err)
		}
		cp, err := tr.Checkpoint(context.Background(), key)
		if err != nil || cp.Size != int64(len(benchIDs)) {
			b.Fatalf("checkpoint %+v, %v", cp, err)
		}
		tr.Close()
	}
	b.Run("tree", func(b *testing.B) {
		s, err := filestore.Open(dir, filestore.Options{})
		if err != nil {
			b.Fatal(err)
		}
		defer s.Close()
		b.ResetTimer()
		for b.Loop() {
			checkpoint(b, s)
		}
		b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/checkpoint")
	})
	b.Run("store+tree", func(b *testing.B) {
		for b.Loop() {
			s, err := filestore.Open(dir, filestore.Options{})
			if err != nil {
				b.Fatal(err)
			}
			checkpoint(b, s)
			s.Close()
		}
		b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/checkpoint")
	})
}

// BenchmarkProofs measures an inclusion proof of a random event (looked up
// by id) and a consistency proof from a random size, in the tree of the
// whole log.
func BenchmarkProofs(b *testing.B) {
	dir, s := openBenchLog(b)
	tr, err := logtree.Open(context.Background(), s, logtree.Options{HashFile: filepath.Join(dir, logtree.HashFileName)})
	if err != nil {
		b.Fatal(err)
	}
	defer tr.Close()
	n := tr.Size()
	r := rand.New(rand.NewPCG(1, 2))
	b.Run("inclusion", func(b *testing.B) {
		for b.Loop() {
			if _, err := tr.InclusionProof(context.Background(), benchIDs[r.IntN(len(benchIDs))], n); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("consistency", func(b *testing.B) {
		for b.Loop() {
			if _, err := tr.ConsistencyProof(context.Background(), 1+r.Int64N(n), n); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkUpdate measures what ledgerbench's tree-update row measures:
// the tree opened with an empty hash file over the benchmark log (a
// million events unless PARTYLEDGER_BENCH_TREE_EVENTS says otherwise),
// every event read and added as a leaf, its hashes written. "hash only"
// is the hashing alone (leaf and interior hashes, in memory, from the
// event hashes read beforehand): the part of Update that is the tree's.
func BenchmarkUpdate(b *testing.B) {
	_, s := openBenchLog(b)
	n := int64(len(benchIDs))
	b.Run("hash file", func(b *testing.B) {
		path := filepath.Join(b.TempDir(), logtree.HashFileName)
		b.ReportAllocs()
		for b.Loop() {
			os.Remove(path)
			tr, err := logtree.Open(context.Background(), s, logtree.Options{HashFile: path})
			if err != nil {
				b.Fatal(err)
			}
			if tr.Size() != n {
				b.Fatalf("%d leaves, want %d", tr.Size(), n)
			}
			tr.Close()
		}
		b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
	})
	b.Run("read only", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var k int64
			for _, err := range s.ReadAll(context.Background(), 0) {
				if err != nil {
					b.Fatal(err)
				}
				k++
			}
			if k != n {
				b.Fatalf("read %d events, want %d", k, n)
			}
		}
		b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
	})
}
