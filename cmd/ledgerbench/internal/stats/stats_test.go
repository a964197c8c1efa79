package stats_test

import (
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"partyledger/cmd/ledgerbench/internal/stats"
)

func ms(ns ...int) []time.Duration {
	out := make([]time.Duration, len(ns))
	for i, n := range ns {
		out[i] = time.Duration(n) * time.Millisecond
	}
	return out
}

func TestPercentile(t *testing.T) {
	tests := []struct {
		name    string
		samples []time.Duration
		p       float64
		want    time.Duration
	}{
		{"empty", nil, 50, 0},
		{"one sample", ms(7), 99, 7 * time.Millisecond},
		{"median of ten is the fifth", ms(1, 2, 3, 4, 5, 6, 7, 8, 9, 10), 50, 5 * time.Millisecond},
		{"p99 of ten is the largest", ms(1, 2, 3, 4, 5, 6, 7, 8, 9, 10), 99, 10 * time.Millisecond},
		{"p90 of ten is the ninth", ms(1, 2, 3, 4, 5, 6, 7, 8, 9, 10), 90, 9 * time.Millisecond},
		{"p100 is the maximum", ms(1, 2, 3), 100, 3 * time.Millisecond},
		{"p0 is the minimum", ms(1, 2, 3), 0, time.Millisecond},
		{"median of an odd count", ms(1, 2, 3, 4, 5), 50, 3 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := stats.Percentile(tt.samples, tt.p); got != tt.want {
				t.Errorf("Percentile(%v, %v) = %v, want %v", tt.samples, tt.p, got, tt.want)
			}
		})
	}
}

func TestPercentileOfHundred(t *testing.T) {
	var s []time.Duration
	for i := 1; i <= 100; i++ {
		s = append(s, time.Duration(i))
	}
	for _, p := range []float64{1, 25, 50, 99, 100} {
		if got, want := stats.Percentile(s, p), time.Duration(p); got != want {
			t.Errorf("p%v of 1..100 = %v, want %v", p, got, want)
		}
	}
}

func TestSummariseSortsAndMerges(t *testing.T) {
	var r stats.Recorder
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		lane := r.Lane()
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 1))
			// Each lane adds a shuffled share of 1..1000.
			xs := rng.Perm(250)
			for _, x := range xs {
				lane.Add(time.Duration(x*4 + w + 1))
			}
		}()
	}
	wg.Wait()
	got := r.Summary()
	want := stats.Summary{N: 1000, P50: 500, P99: 990, Max: 1000}
	if got != want {
		t.Errorf("Summary() = %+v, want %+v", got, want)
	}
}

func TestRate(t *testing.T) {
	if got := stats.Rate(500, 250*time.Millisecond); got != 2000 {
		t.Errorf("Rate(500, 250ms) = %v, want 2000", got)
	}
	if got := stats.Rate(5, 0); got != 0 {
		t.Errorf("Rate over zero time = %v, want 0", got)
	}
}
