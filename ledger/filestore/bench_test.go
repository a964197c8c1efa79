package filestore_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"partyledger/ledger"
	"partyledger/ledger/filestore"
)

// benchPayload is a typical ~230-byte event payload.
var benchPayload = `{"attendees":["m-001","m-002","m-003","m-004","m-005","m-006","m-007","m-008"],"notes_kept":true,"topic":"` +
	strings.Repeat("学习贯彻", 8) + `"}`

// benchEvents returns n sealed events of one stream continuing at rev.
func benchEvents(stream string, rev uint64, n int) []ledger.Event {
	out := make([]ledger.Event, n)
	var prev ledger.Hash
	for i := range out {
		out[i] = sealed(stream, rev+uint64(i), prev, benchPayload)
		prev = out[i].Hash
	}
	return out
}

func envInt(b *testing.B, name string, def int) int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		b.Fatalf("%s=%q: want a positive integer", name, v)
	}
	return n
}

// BenchmarkAppend measures durable single-event appends with 1, 8 and 64
// concurrent writers, each writing its own stream; every append waits for
// its fdatasync.
func BenchmarkAppend(b *testing.B) {
	for _, writers := range []int{1, 8, 64} {
		b.Run(fmt.Sprintf("writers=%d", writers), func(b *testing.B) {
			s, err := filestore.Open(b.TempDir(), filestore.Options{})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			// Writer w appends share(w) events; the shares add up to b.N.
			share := func(w int) int { return b.N/writers + btoi(w < b.N%writers) }
			events := make([][]ledger.Event, writers)
			for w := range events {
				events[w] = benchEvents(fmt.Sprintf("org-%d", w), 0, share(w))
			}
			var wg sync.WaitGroup
			b.ResetTimer()
			for w := 0; w < writers; w++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					stream := fmt.Sprintf("org-%d", w)
					for i := range share(w) {
						if _, err := s.Append(context.Background(), stream, int64(i)-1, events[w][i:i+1]); err != nil {
							b.Error(err)
							return
						}
					}
				}()
			}
			wg.Wait()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
		})
	}
}

// BenchmarkAppendBatch100 measures durable appends of 100 events at a
// time from one writer.
func BenchmarkAppendBatch100(b *testing.B) {
	s, err := filestore.Open(b.TempDir(), filestore.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	events := benchEvents("org-batch", 0, 100*b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := s.Append(context.Background(), "org-batch", int64(100*i)-1, events[100*i:100*i+100]); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(100*b.N)/b.Elapsed().Seconds(), "events/s")
}

// populated caches stores built for the read benchmarks, by event count.
var populated sync.Map // int → string (directory)

// populate returns the directory of a store holding n events in 1000
// streams, appended 100 at a time by 8 writers. It is built once per
// process, in a directory TestMain removes at exit — or, when
// PARTYLEDGER_BENCH_DIR is set, once in that directory (as events-<n>),
// kept for later runs: a 10M-event store takes a few minutes to build.
func populate(b *testing.B, n int) string {
	b.Helper()
	if dir, ok := populated.Load(n); ok {
		return dir.(string)
	}
	var dir string
	if cache := os.Getenv("PARTYLEDGER_BENCH_DIR"); cache != "" {
		dir = filepath.Join(cache, fmt.Sprintf("events-%d", n))
		if _, err := os.Stat(filepath.Join(dir, "complete")); err == nil {
			return dir
		}
		if err := os.RemoveAll(dir); err != nil {
			b.Fatal(err)
		}
		defer func() {
			if !b.Failed() {
				os.WriteFile(filepath.Join(dir, "complete"), nil, 0o644)
			}
		}()
	} else {
		var err error
		if dir, err = os.MkdirTemp("", "filestore-bench-"); err != nil {
			b.Fatal(err)
		}
		defer populated.Store(n, dir)
	}
	t0 := time.Now()
	s, err := filestore.Open(dir, filestore.Options{})
	if err != nil {
		b.Fatal(err)
	}
	// Batch k goes to stream k mod 1000; writer w takes the batches
	// k ≡ w (mod 8), so each stream has one writer and its revisions stay
	// in order.
	const streams, batch, writers = 1000, 100, 8
	var wg sync.WaitGroup
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := w; k*batch < n; k += writers {
				stream := fmt.Sprintf("org-%d", k%streams)
				rev := k / streams * batch
				evs := benchEvents(stream, uint64(rev), min(batch, n-k*batch))
				if _, err := s.Append(context.Background(), stream, int64(rev)-1, evs); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if got := s.Head(); int(got) != n {
		b.Fatalf("populated %d events, want %d", got, n)
	}
	if err := s.Close(); err != nil {
		b.Fatal(err)
	}
	b.Logf("populated %d events in %v", n, time.Since(t0).Round(time.Second))
	return dir
}

// BenchmarkReadAll reads every event of a populated store (no JSON
// decoding). PARTYLEDGER_BENCH_READ_EVENTS sets the size (default 200000).
func BenchmarkReadAll(b *testing.B) {
	n := envInt(b, "PARTYLEDGER_BENCH_READ_EVENTS", 200_000)
	dir := populate(b, n)
	s, err := filestore.Open(dir, filestore.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	b.ResetTimer()
	var bytes int64
	for i := 0; i < b.N; i++ {
		count := 0
		for e, err := range s.ReadAll(ctx, 0) {
			if err != nil {
				b.Fatal(err)
			}
			bytes += int64(len(e.Data))
			count++
		}
		if count != n {
			b.Fatalf("read %d events, want %d", count, n)
		}
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkReopen opens and closes a populated store:
//
//   - indexes: Open as it is, from the segments' index files (the frames
//     are not read, but for the last frame of each segment);
//   - scan: OpenReadOnly with the index files moved aside, which reads and
//     checks every frame, as Open did before index files existed (and does
//     for a segment without a valid one), and writes nothing.
//
// It reports the time per open, the heap in use with the store open, and
// that per million events. PARTYLEDGER_BENCH_REOPEN_EVENTS sets the size
// (default 100000; the README's runs use 1000000 and 10000000, with
// PARTYLEDGER_BENCH_DIR to keep the stores between runs).
func BenchmarkReopen(b *testing.B) {
	n := envInt(b, "PARTYLEDGER_BENCH_REOPEN_EVENTS", 100_000)
	dir := populate(b, n)
	// Bring the index files up to date (a cached store may predate them)
	// and the files into the page cache.
	s, err := filestore.Open(dir, filestore.Options{})
	if err != nil {
		b.Fatal(err)
	}
	if err := s.Close(); err != nil {
		b.Fatal(err)
	}
	open := func(b *testing.B, open func() (*filestore.Store, error)) {
		var heap uint64
		for i := 0; i < b.N; i++ {
			s, err := open()
			if err != nil {
				b.Fatal(err)
			}
			if i == b.N-1 {
				b.StopTimer()
				if h := s.Head(); int(h) != n {
					b.Fatalf("head %d, want %d", h, n)
				}
				runtime.GC()
				var ms runtime.MemStats
				runtime.ReadMemStats(&ms)
				heap = ms.HeapAlloc
				b.StartTimer()
			}
			if err := s.Close(); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "events/s")
		b.ReportMetric(float64(heap)/(1<<20), "MiB-heap")
		b.ReportMetric(float64(heap)/(1<<20)/(float64(n)/1e6), "MiB-heap/M-events")
		b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/open")
	}
	b.Run("indexes", func(b *testing.B) {
		open(b, func() (*filestore.Store, error) {
			s, err := filestore.Open(dir, filestore.Options{})
			if err == nil {
				if st := s.OpenStats(); st.IndexLoaded != st.Segments || st.ScannedBytes != 0 {
					b.Fatalf("Open read frames: %+v", st)
				}
			}
			return s, err
		})
		var idx int64
		files, _ := filepath.Glob(filepath.Join(dir, "segment-*.idx"))
		for _, f := range files {
			if fi, err := os.Stat(f); err == nil {
				idx += fi.Size()
			}
		}
		b.ReportMetric(float64(idx)/float64(n), "index-bytes/event")
	})
	b.Run("scan", func(b *testing.B) {
		aside := filepath.Join(dir, "indexes-aside")
		if err := os.MkdirAll(aside, 0o755); err != nil {
			b.Fatal(err)
		}
		files, _ := filepath.Glob(filepath.Join(dir, "segment-*.idx"))
		for _, f := range files {
			if err := os.Rename(f, filepath.Join(aside, filepath.Base(f))); err != nil {
				b.Fatal(err)
			}
		}
		defer func() {
			for _, f := range files {
				if err := os.Rename(filepath.Join(aside, filepath.Base(f)), f); err != nil {
					b.Fatal(err)
				}
			}
			os.Remove(aside)
		}()
		open(b, func() (*filestore.Store, error) {
			s, err := filestore.OpenReadOnly(dir, filestore.Options{})
			if err == nil {
				if st := s.OpenStats(); st.IndexLoaded != 0 {
					b.Fatalf("read-only open found index files: %+v", st)
				}
			}
			return s, err
		})
	})
}

// BenchmarkIDLookup measures the duplicate-id check of every appended
// event on a reopened store (PARTYLEDGER_BENCH_REOPEN_EVENTS events, its
// ids in the id table built at Open): for a new id (the common case) and
// for a stored one (which reads the event to compare the whole id); and,
// for comparison, a lookup in a Go map of as many ids, which the store
// kept before index files.
func BenchmarkIDLookup(b *testing.B) {
	n := envInt(b, "PARTYLEDGER_BENCH_REOPEN_EVENTS", 100_000)
	dir := populate(b, n)
	s, err := filestore.Open(dir, filestore.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	stored := make([][16]byte, 0, 4096)
	for e, err := range s.ReadAll(context.Background(), ledger.Position(max(n-4096, 0))) {
		if err != nil {
			b.Fatal(err)
		}
		stored = append(stored, e.ID)
	}
	fresh := make([][16]byte, 1<<16)
	for i := range fresh {
		fresh[i] = uuid.New()
	}
	b.Run("new-id", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if filestore.IDStored(s, fresh[i%len(fresh)]) {
				b.Fatal("a new id is stored")
			}
		}
	})
	b.Run("stored-id", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if !filestore.IDStored(s, stored[i%len(stored)]) {
				b.Fatal("a stored id is not found")
			}
		}
	})
	b.Run("go-map", func(b *testing.B) {
		m := make(map[uuid.UUID]uint64, n)
		for i := range n {
			m[uuid.New()] = uint64(i)
		}
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if _, ok := m[fresh[i%len(fresh)]]; ok {
				b.Fatal("a new id is stored")
			}
		}
	})
}

// BenchmarkRawFdatasync is the floor the store is measured against: the
// same file system, 256-byte appends, one WriteAt and one fdatasync per
// append (writers=1), or a bare channel committer that batches whatever
// queued up during the previous fdatasync (writers=8, 64).
func BenchmarkRawFdatasync(b *testing.B) {
	for _, writers := range []int{1, 8, 64} {
		b.Run(fmt.Sprintf("writers=%d", writers), func(b *testing.B) {
			f, err := filestore.OSFS{}.OpenFile(filepath.Join(b.TempDir(), "raw"), os.O_RDWR|os.O_CREATE, 0o644)
			if err != nil {
				b.Fatal(err)
			}
			defer f.Close()
			rec := make([]byte, 256)
			var off int64
			if writers == 1 {
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					if _, err := f.WriteAt(rec, off); err != nil {
						b.Fatal(err)
					}
					off += int64(len(rec))
					if err := f.Sync(); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
				return
			}
			reqs := make(chan chan error, 1024)
			go func() {
				var buf []byte
				var batch []chan error
				for r := range reqs {
					batch = append(batch[:0], r)
				drain:
					for {
						select {
						case r2, ok := <-reqs:
							if !ok {
								break drain
							}
							batch = append(batch, r2)
						default:
							break drain
						}
					}
					buf = buf[:0]
					for range batch {
						buf = append(buf, rec...)
					}
					_, err := f.WriteAt(buf, off)
					off += int64(len(buf))
					if err == nil {
						err = f.Sync()
					}
					for _, r := range batch {
						r <- err
					}
				}
			}()
			var remaining atomic.Int64
			remaining.Store(int64(b.N))
			var wg sync.WaitGroup
			b.ResetTimer()
			for w := 0; w < writers; w++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					done := make(chan error, 1)
					for remaining.Add(-1) >= 0 {
						reqs <- done
						if err := <-done; err != nil {
							b.Error(err)
							return
						}
					}
				}()
			}
			wg.Wait()
			b.StopTimer()
			close(reqs)
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
		})
	}
}

// BenchmarkRollover measures append latency across segment roll-overs:
// 8 writers append single events to a store with 8 MiB segments (1, 2 and
// 4 MiB at first), and the report gives the latency of every append (p50,
// p99, max) and of the appends during which a new segment was started
// (roll-p50, roll-max). With spare=later the next segment's file is not
// prepared in the background but at the roll-over, which shows what the
// background preparation saves.
func BenchmarkRollover(b *testing.B) {
	for _, ahead := range []bool{true, false} {
		name := "spare=ahead"
		if !ahead {
			name = "spare=later"
		}
		b.Run(name, func(b *testing.B) {
			restore := filestore.PrepareAheadForTest(ahead)
			defer restore()
			s, err := filestore.Open(b.TempDir(), filestore.Options{SegmentSize: 8 << 20})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			const writers = 8
			share := func(w int) int { return b.N/writers + btoi(w < b.N%writers) }
			events := make([][]ledger.Event, writers)
			for w := range events {
				events[w] = benchEvents(fmt.Sprintf("org-%d", w), 0, share(w))
			}
			lat := make([][]time.Duration, writers)
			roll := make([][]time.Duration, writers)
			var wg sync.WaitGroup
			b.ResetTimer()
			for w := 0; w < writers; w++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					stream := fmt.Sprintf("org-%d", w)
					for i := range share(w) {
						segs := filestore.SegmentCount(s)
						t0 := time.Now()
						if _, err := s.Append(context.Background(), stream, int64(i)-1, events[w][i:i+1]); err != nil {
							b.Error(err)
							return
						}
						d := time.Since(t0)
						lat[w] = append(lat[w], d)
						if filestore.SegmentCount(s) != segs {
							roll[w] = append(roll[w], d)
						}
					}
				}()
			}
			wg.Wait()
			b.StopTimer()
			all, rolls := slices.Concat(lat...), slices.Concat(roll...)
			slices.Sort(all)
			slices.Sort(rolls)
			q := func(ds []time.Duration, f float64) float64 {
				if len(ds) == 0 {
					return 0
				}
				return float64(ds[min(len(ds)-1, int(f*float64(len(ds))))].Microseconds()) / 1000
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
			b.ReportMetric(q(all, 0.5), "p50-ms")
			b.ReportMetric(q(all, 0.99), "p99-ms")
			b.ReportMetric(q(all, 1), "max-ms")
			b.ReportMetric(float64(filestore.SegmentCount(s)-1), "rollovers")
			b.ReportMetric(q(rolls, 0.5), "roll-p50-ms")
			b.ReportMetric(q(rolls, 1), "roll-max-ms")
		})
	}
}
