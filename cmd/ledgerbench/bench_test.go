package main

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"partyledger/ledger"
	"partyledger/ledger/books"
	"partyledger/ledger/filestore"
)

// dataBytes returns the bytes of the store's segments up to the end of
// their frames (the files are zero-filled beyond).
func dataBytes(t *testing.T, s *filestore.Store) int64 {
	t.Helper()
	u, err := s.Usage()
	if err != nil {
		t.Fatal(err)
	}
	return u.DataBytes
}

// The raw-disk limits write what the store writes: frameBytes must be the
// size of the store's frame for the same append.
func TestFrameBytesIsTheStoresFrame(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := filestore.Open(dir, filestore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	stream := appendStream("append-w08.r0", 3)
	rev := ledger.NoStream
	for _, n := range []int{1, 100} {
		t.Run(fmt.Sprintf("%d events", n), func(t *testing.T) {
			before := dataBytes(t, s)
			if _, err := s.Append(ctx, stream, rev, rawEvents(stream, rev, n)); err != nil {
				t.Fatal(err)
			}
			rev += int64(n)
			if got, want := dataBytes(t, s)-before, int64(frameBytes(stream, n)); got != want {
				t.Errorf("an append of %d events grew the segment by %d bytes, frameBytes says %d", n, got, want)
			}
		})
	}
}

// The read-all limit reads the data of the store's segments, not the
// zeros after their frames.
func TestSegmentDataEndsAtTheFrames(t *testing.T) {
	dir := t.TempDir()
	s, err := filestore.Open(dir, filestore.Options{SegmentSize: 64 << 10})
	if err != nil {
		t.Fatal(err)
	}
	stream := appendStream("append-w01.r0", 0)
	rev := ledger.NoStream
	for range 40 {
		if _, err := s.Append(context.Background(), stream, rev, rawEvents(stream, rev, 5)); err != nil {
			t.Fatal(err)
		}
		rev += 5
	}
	want := dataBytes(t, s)
	u, _ := s.Usage()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	files, lens, err := segmentData(dir)
	if err != nil || len(files) != u.Segments || u.Segments < 2 {
		t.Fatalf("segmentData: %v, %v; the store has %d segments", files, err, u.Segments)
	}
	var got int64
	for _, n := range lens {
		got += n
	}
	if got > want || got < want-7*int64(len(files)) || u.FileBytes <= want {
		t.Fatalf("segmentData counts %d bytes; the frames end after %d in all (files: %d)", got, want, u.FileBytes)
	}
	if n, _, err := rawRead(files, lens); err != nil || n != got {
		t.Fatalf("rawRead read %d bytes, %v; want %d", n, err, got)
	}
}

func TestAppendPayloadIs300Bytes(t *testing.T) {
	if len(appendPayload) != 300 {
		t.Errorf("append payload is %d bytes, want 300", len(appendPayload))
	}
	if _, err := books.Recorded(&ledger.Event{Type: appendType, Data: appendPayload}); err != nil {
		t.Errorf("append payload does not decode as %s: %v", appendType, err)
	}
}

func TestMeasureAppends(t *testing.T) {
	var calls, badRev atomic.Int64
	last := make([]atomic.Int64, 3)
	for i := range last {
		last[i].Store(ledger.NoStream)
	}
	op := func(ctx context.Context, w int, rev int64, n int) error {
		calls.Add(1)
		// Each writer's revisions must follow on from its last append.
		if last[w].Load() != rev {
			badRev.Add(1)
		}
		last[w].Store(rev + int64(n))
		time.Sleep(2 * time.Millisecond)
		return nil
	}
	run, err := measureAppends(context.Background(), 3, 10, 20*time.Millisecond, 200*time.Millisecond, op)
	if err != nil {
		t.Fatal(err)
	}
	if badRev.Load() != 0 {
		t.Errorf("%d appends got a revision that does not continue the writer's stream", badRev.Load())
	}
	if run.Events != 10*run.Ops || run.Lat.N != int(run.Ops) {
		t.Errorf("events %d, ops %d, samples %d: want events = 10 × ops = 10 × samples", run.Events, run.Ops, run.Lat.N)
	}
	if run.Ops >= calls.Load() {
		t.Errorf("all %d calls counted; the warm-up and the appends straddling the end must not be", calls.Load())
	}
	// 3 writers × 200 ms / ≥ 2 ms: at most 300 appends fit.
	if run.Ops > 300 || run.Ops < 30 {
		t.Errorf("%d appends counted in 200 ms of 3 writers sleeping 2 ms each", run.Ops)
	}
	if run.Lat.P50 < 2*time.Millisecond {
		t.Errorf("p50 %v is below the 2 ms each append sleeps", run.Lat.P50)
	}
	if run.Elapsed != 200*time.Millisecond {
		t.Errorf("elapsed %v, want the measured window", run.Elapsed)
	}
}

func TestMeasureAppendsReportsAFailure(t *testing.T) {
	op := func(ctx context.Context, w int, rev int64, n int) error {
		if rev > 5 {
			return &ledger.WrongRevisionError{Stream: "s", Expected: rev, Actual: rev + 1}
		}
		return nil
	}
	if _, err := measureAppends(context.Background(), 2, 1, 0, time.Second, op); err == nil {
		t.Fatal("a failing append was not reported")
	}
}

// Folding with two workers must give the same facts as with one.
func TestReplayWorkersAgree(t *testing.T) {
	ctx := context.Background()
	s, err := filestore.Open(t.TempDir(), filestore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	l := ledger.New(s, ledger.Options{})
	events := 0
	err = cityYear(5, 1, func(lines []cityLine) error {
		events += len(lines)
		_, err := loadLines(ctx, l, lines, 2)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	one, err := replay(ctx, s.ReadAll(ctx, 0), 1)
	if err != nil {
		t.Fatal(err)
	}
	two, err := replay(ctx, s.ReadAll(ctx, 0), 2)
	if err != nil {
		t.Fatal(err)
	}
	if one != two {
		t.Errorf("1 worker folded %+v, 2 workers %+v", one, two)
	}
	if one.events != events || one.orgs != 5 || one.facts == 0 {
		t.Errorf("folded %+v from %d events of 5 organisations", one, events)
	}
}

// A year of more organisations than one demo city holds is several cities
// whose codes do not collide.
func TestCityYearRenamesCodes(t *testing.T) {
	ctx := context.Background()
	s, err := filestore.Open(t.TempDir(), filestore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	saved := cityOrgsMax
	cityOrgsMax = 4
	defer func() { cityOrgsMax = saved }()
	l := ledger.New(s, ledger.Options{})
	cities := 0
	var committee []int // committee lines per city
	err = cityYear(9, 1, func(lines []cityLine) error {
		cities++
		n := 0
		for _, ln := range lines {
			if ln.stream == books.CommitteeStream {
				n++
			}
		}
		committee = append(committee, n)
		_, err := loadLines(ctx, l, lines, 1)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if cities != 3 {
		t.Errorf("9 organisations at 4 a city made %d cities, want 3", cities)
	}
	// The committee schedules once, in the first city's lines.
	if len(committee) != 3 || committee[0] == 0 || committee[1] != 0 || committee[2] != 0 {
		t.Errorf("committee lines per city: %v, want the first city's only", committee)
	}
	got, err := replay(ctx, s.ReadAll(ctx, 0), 1)
	if err != nil {
		t.Fatal(err)
	}
	if got.orgs != 9 {
		t.Errorf("folded %d organisations, want 9", got.orgs)
	}
}

func TestEvaluate(t *testing.T) {
	results := []Result{
		{Workload: "append-w01", System: sysOurs, Unit: unitRate, Value: 3000},
		{Workload: "append-w01", System: sysPG, Unit: unitRate, Value: 1000},
		{Workload: "append-w01", System: sysBolt, Unit: unitRate, Value: 2000},
		{Workload: "score-all-large", System: sysOurs, Unit: unitSeconds, Value: 1.25},
		{Workload: "reopen", System: sysOurs, Unit: unitSeconds, Value: 0.5},
		{Workload: "reopen", System: sysBolt, Unit: unitSeconds, Value: 1},
		{Workload: "tree-update", System: sysOurs, Unit: unitRate, Value: 500_000},
		{Workload: "batch100", System: sysOurs, Unit: unitRate, Value: 200_000},
	}
	ts := evaluate(results, []target{
		{Workload: "append-w01", Against: sysPG, Want: 1.5},
		{Workload: "append-w01", Against: sysBolt, Want: 2},
		{Workload: "append-w01", Against: sysLimit, Want: 0.75},
		{Workload: "score-all-large", Want: 1, Unit: unitSeconds},
		{Workload: "reopen", Against: sysBolt, Want: 2},
		{Workload: "tree-update", Share: "append-w01", Want: 0.05},
		{Workload: "tree-update", Share: "batch100", Want: 0.05},
		{Workload: "tree-update", Share: "append-w64", Want: 0.05},
	})
	want := []struct {
		got    float64
		met    bool
		absent bool
		missed string
	}{
		{3, true, false, ""},
		{1.5, false, false, "25% short (1.50× of 2.00×)"},
		{0, false, true, ""},
		{1.25, false, false, "25% over"},
		{2, true, false, ""},     // times: half the time is twice as fast
		{0.006, true, false, ""}, // the tree's 2 µs an event against 333 µs
		{0.4, false, false, "40.0% of the append's time, not 5%"},
		{0, false, true, ""},
	}
	for i, w := range want {
		g := ts[i]
		if g.Got != w.got || g.Met != w.met || g.Absent != w.absent || g.Missed != w.missed {
			t.Errorf("target %d: got %v met %v absent %v missed %q, want %+v", i, g.Got, g.Met, g.Absent, g.Missed, w)
		}
	}
}

func TestHuman(t *testing.T) {
	for _, tt := range []struct {
		v    float64
		want string
	}{{999, "999"}, {5412, "5.4k"}, {17_250, "17k"}, {2_530_000, "2.53M"}, {1_000_000, "1M"}} {
		if got := human(tt.v); got != tt.want {
			t.Errorf("human(%v) = %q, want %q", tt.v, got, tt.want)
		}
	}
}
