package main

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"

	"partyledger/cmd/ledgerbench/internal/peers/bolt"
	"partyledger/ledger"
	"partyledger/ledger/filestore"
)

// readFixture is a read store as ledgerbench's reads phase builds it —
// demo-city events through the ledger, the same events loaded into bbolt —
// plus one 1,000-event stream written one event per commit between other
// streams' commits, as the appends phase builds it, in both stores.
type readFixture struct {
	fs     *filestore.Store
	bolt   *bolt.Store
	events int
}

var (
	fixtureOnce sync.Once
	fixture     readFixture
	fixtureErr  error
	fixtureDir  string
)

const benchStream = "read-stream"

// TestMain removes the read fixture's directory after the benchmarks.
func TestMain(m *testing.M) {
	code := m.Run()
	if fixture.fs != nil {
		fixture.fs.Close()
	}
	if fixture.bolt != nil {
		fixture.bolt.Close()
	}
	if fixtureDir != "" {
		os.RemoveAll(fixtureDir)
	}
	os.Exit(code)
}

// readBench returns the fixture, built once per process.
// PARTYLEDGER_BENCH_READ_EVENTS sets its size (default 200,000; ledgerbench
// reads 1,000,000).
func readBench(b *testing.B) *readFixture {
	b.Helper()
	fixtureOnce.Do(func() {
		n := 200_000
		if v := os.Getenv("PARTYLEDGER_BENCH_READ_EVENTS"); v != "" {
			if n, fixtureErr = strconv.Atoi(v); fixtureErr != nil {
				return
			}
		}
		fixtureErr = buildReadFixture(n)
	})
	if fixtureErr != nil {
		b.Fatal(fixtureErr)
	}
	return &fixture
}

func buildReadFixture(n int) error {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "ledgerbench-reads-")
	if err != nil {
		return err
	}
	fixtureDir = dir
	fs, err := filestore.Open(filepath.Join(dir, "fs"), filestore.Options{})
	if err != nil {
		return err
	}
	l := ledger.New(fs, ledger.Options{})
	total := 0
	for k := 0; total < n; k++ {
		lines, err := cityLines(2016+100+int64(k), 300, k)
		if err != nil {
			return err
		}
		lines = lines[:min(len(lines), n-total)]
		if _, err := loadLines(ctx, l, lines, 2); err != nil {
			return err
		}
		total += len(lines)
	}
	var all []ledger.Event
	for e, err := range fs.ReadAll(ctx, 0) {
		if err != nil {
			return err
		}
		all = append(all, e)
	}
	bs, err := bolt.Open(filepath.Join(dir, "read.db"))
	if err != nil {
		return err
	}
	fixture = readFixture{fs: fs, bolt: bs, events: total}
	if err := bs.Load(all, 10_000); err != nil {
		return err
	}
	bs.Tune(1000, 0)
	if err := buildStream(ctx, l, benchStream, 1000, 1); err != nil {
		return err
	}
	if err := buildStream(ctx, ledger.New(bs, ledger.Options{}), benchStream, 1000, 1); err != nil {
		return err
	}
	return nil
}

// BenchmarkReads measures ledgerbench's three read rows that compare with
// bbolt — read all (no decoding), header-only counts, and one 1,000-event
// stream written one event per commit — for both stores in one process,
// the same functions ledgerbench times.
func BenchmarkReads(b *testing.B) {
	f := readBench(b)
	ctx := context.Background()
	scans := []struct {
		system string
		scan   scanFunc
	}{
		{sysOurs, fileScan(f.fs)},
		{sysBolt, func(ctx context.Context, fn func(stream, typ, data []byte)) (int, error) {
			return f.bolt.Scan(ctx, func(_ uint64, s, t, d []byte) { fn(s, t, d) })
		}},
	}
	// The fixture's read-stream events come after the demo city's.
	want := f.events + 10_000
	for _, sc := range scans {
		b.Run("read-all/"+sc.system, func(b *testing.B) {
			var sink int
			for range b.N {
				n, err := sc.scan(ctx, func(_, _, data []byte) { sink += len(data) })
				if err != nil || n != want {
					b.Fatalf("%d events, %v; want %d", n, err, want)
				}
			}
			b.ReportMetric(float64(want)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
		})
	}
	for _, sc := range []struct {
		system string
		scan   scanFunc
	}{{sysOurs, storeScan(f.fs)}, {sysBolt, storeScan(f.bolt)}} {
		b.Run("read-all-events/"+sc.system, func(b *testing.B) {
			var sink int
			for range b.N {
				n, err := sc.scan(ctx, func(_, _, data []byte) { sink += len(data) })
				if err != nil || n != want {
					b.Fatalf("%d events, %v; want %d", n, err, want)
				}
			}
			b.ReportMetric(float64(want)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
		})
	}
	for _, sc := range scans {
		b.Run("header-counts/"+sc.system, func(b *testing.B) {
			for range b.N {
				h := newHeaderCounts()
				if _, err := sc.scan(ctx, func(stream, typ, _ []byte) { h.add(stream, typ) }); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(want)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
		})
	}
	for _, st := range []struct {
		system string
		s      ledger.Store
	}{{sysOurs, f.fs}, {sysBolt, f.bolt}} {
		b.Run("read-stream/"+st.system, func(b *testing.B) {
			for range b.N {
				if _, err := readStreamRun(ctx, st.s, benchStream, 1000, 1); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(1000*float64(b.N)/b.Elapsed().Seconds(), "events/s")
		})
	}
}
