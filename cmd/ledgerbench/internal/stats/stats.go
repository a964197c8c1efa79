// Package stats summarises benchmark samples: latency percentiles by the
// nearest-rank method and rates over a measured interval.
package stats

import (
	"math"
	"slices"
	"sync"
	"time"
)

// Percentile returns the p-th percentile (0 < p ≤ 100) of sorted by the
// nearest-rank method: the smallest sample such that at least p percent of
// the samples are at or below it. It returns 0 for no samples. sorted must
// be in ascending order.
func Percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	if p <= 0 {
		return sorted[0]
	}
	if p >= 100 {
		return sorted[len(sorted)-1]
	}
	// The rank is ceil(p/100 · n), 1-based. The small epsilon keeps
	// p = 50, n = 10 at rank 5 despite binary floating point.
	rank := int(math.Ceil(p/100*float64(len(sorted)) - 1e-9))
	rank = max(rank, 1)
	return sorted[rank-1]
}

// Summary describes a set of latency samples.
type Summary struct {
	N   int
	P50 time.Duration
	P99 time.Duration
	Max time.Duration
}

// Summarise sorts samples in place and returns their summary.
func Summarise(samples []time.Duration) Summary {
	slices.Sort(samples)
	s := Summary{N: len(samples)}
	if len(samples) > 0 {
		s.P50 = Percentile(samples, 50)
		s.P99 = Percentile(samples, 99)
		s.Max = samples[len(samples)-1]
	}
	return s
}

// Recorder collects latency samples from many goroutines. Each goroutine
// takes its own Lane, so recording takes no lock.
type Recorder struct {
	mu    sync.Mutex
	lanes []*Lane
}

// Lane is one goroutine's samples.
type Lane struct {
	samples []time.Duration
}

// Lane returns a new lane whose samples the recorder will include.
func (r *Recorder) Lane() *Lane {
	l := &Lane{samples: make([]time.Duration, 0, 4096)}
	r.mu.Lock()
	r.lanes = append(r.lanes, l)
	r.mu.Unlock()
	return l
}

// Add records one sample.
func (l *Lane) Add(d time.Duration) { l.samples = append(l.samples, d) }

// Samples returns every lane's samples in one slice. Call it only after
// the goroutines using the lanes are done.
func (r *Recorder) Samples() []time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	var all []time.Duration
	for _, l := range r.lanes {
		all = append(all, l.samples...)
	}
	return all
}

// Summary merges every lane's samples and summarises them. Call it only
// after the goroutines using the lanes are done.
func (r *Recorder) Summary() Summary { return Summarise(r.Samples()) }

// Rate returns n per second over d, or 0 for a zero interval.
func Rate(n int64, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) / d.Seconds()
}
