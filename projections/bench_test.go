package projections_test

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	"partyledger/domain"
	"partyledger/domain/democity"
	"partyledger/projections"
)

// synthBook returns organisation i of a synthetic city: a perfect book of
// a kind chosen by i, with about 3% of its events lost and a finding now
// and then, so that scoring has deductions to explain.
func synthBook(i int) *book {
	rng := rand.New(rand.NewPCG(uint64(i), 2016))
	kinds := []domain.OrgKind{domain.KindBranch, domain.KindBranch, domain.KindGeneralBranch, domain.KindCommittee}
	b := perfect(kinds[i%len(kinds)], i%5 != 0)
	code := fmt.Sprintf("LY-%05d", i)
	b.org = code
	for j := range b.evs {
		if r, ok := b.evs[j].Payload.(*domain.OrganizationRegistered); ok {
			c := *r
			c.Code = code
			b.evs[j].Payload = &c
		}
		b.evs[j].Stream = "org-" + code
		b.evs[j].ID = fmt.Sprintf("%08x-0000-4000-8000-%012x", i, j)
	}
	b.drop(-1, func(r domain.Recorded) bool { return r.Type != domain.TypeOrganizationRegistered && rng.IntN(100) < 3 })
	if rng.IntN(4) == 0 {
		b.finding("3.2", "low_satisfaction", "1.5")
	}
	if rng.IntN(2) == 0 {
		b.addAt("2017-01-15", at("2017-01-15"), &domain.GroupAssessmentRecorded{Year: 2016, Score: domain.Points(8000 + rng.IntN(2000))})
	}
	return b
}

// city caches the facts of synthetic cities across benchmarks.
var city = struct {
	sync.Mutex
	facts map[int][]*projections.Facts
	sched *projections.Schedule
}{facts: map[int][]*projections.Facts{}}

func cityFacts(b *testing.B, n int) ([]*projections.Facts, *projections.Schedule) {
	b.Helper()
	city.Lock()
	defer city.Unlock()
	if fs, ok := city.facts[n]; ok {
		return fs, city.sched
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	fs := make([]*projections.Facts, n)
	for i := range fs {
		bk := synthBook(i)
		fs[i] = bk.facts(b)
		if city.sched == nil {
			city.sched = bk.schedules(b)
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	events := 0
	for _, f := range fs {
		events += f.Len()
	}
	b.Logf("%d organisations, %d events, facts ≈ %d bytes per organisation (%d per event)", n, events,
		int64(after.HeapAlloc-before.HeapAlloc)/int64(n), int64(after.HeapAlloc-before.HeapAlloc)/int64(events))
	city.facts[n] = fs
	return fs, city.sched
}

func BenchmarkScoreAll(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			fs, sched := cityFacts(b, n)
			rb := domain.Builtin2016()
			q := projections.Query{Year: 2016, KnownAt: testKnownAt, Schedule: sched}
			b.ReportAllocs()
			b.ResetTimer()
			cpu0 := cpuTime(b)
			for b.Loop() {
				cards, err := projections.ScoreAll(fs, rb, q)
				if err != nil || len(cards) != n {
					b.Fatalf("%d cards, %v", len(cards), err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/org")
			b.ReportMetric(float64(cpuTime(b)-cpu0)/1e6/float64(b.N), "cpu-ms/op")
		})
	}
}

func BenchmarkScoreAndMarshal(b *testing.B) {
	fs, sched := cityFacts(b, 1000)
	rb := domain.Builtin2016()
	q := projections.Query{Year: 2016, KnownAt: testKnownAt, Schedule: sched}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		sc, err := projections.Score(fs[i%len(fs)], rb, q)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := json.Marshal(sc); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkFold folds one million pre-decoded events into facts.
func BenchmarkFold(b *testing.B) {
	const total = 1_000_000
	var streams [][]domain.Recorded
	n := 0
	for i := 0; n < total; i++ {
		bk := synthBook(i)
		evs := slices.Clone(bk.evs)
		slices.SortStableFunc(evs, func(x, y domain.Recorded) int { return x.RecordedAt.Compare(y.RecordedAt) })
		if n+len(evs) > total {
			evs = evs[:total-n]
		}
		streams = append(streams, evs)
		n += len(evs)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		for _, evs := range streams {
			f := projections.NewFacts(evs[0].Payload.(*domain.OrganizationRegistered).Code)
			for _, r := range evs {
				if err := f.Apply(r); err != nil {
					b.Fatal(err)
				}
			}
		}
	}
	b.ReportMetric(float64(total)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkScoreAllDemoCity scores a demo city of 1,000 organisations
// imported after the fact (every entry 补录, as cmd/ledgerbench's years
// are): the scorecards ledgerbench's score-all rows build.
func BenchmarkScoreAllDemoCity(b *testing.B) {
	c := foldDemoCity(b, 2016, 1000)
	fs := make([]*projections.Facts, len(c.codes))
	for i, code := range c.codes {
		fs[i] = c.facts[code]
	}
	rb := domain.Builtin2016()
	q := projections.Query{Year: democity.Year, KnownAt: c.known, Schedule: c.sched}
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cpuTime(b)
	for b.Loop() {
		if _, err := projections.ScoreAll(fs, rb, q); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(fs)), "ns/org")
	b.ReportMetric(float64(cpuTime(b)-cpu0)/1e6/float64(b.N), "cpu-ms/op")
}

// cpuTime returns the CPU time (user and system, every thread, the
// garbage collector's included) the process has used: on a shared machine
// a steadier measure of the work done than the elapsed time.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
