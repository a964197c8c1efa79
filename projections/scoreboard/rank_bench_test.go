package scoreboard_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"partyledger/domain"
	"partyledger/domain/democity"
	"partyledger/projections/scoreboard"
)

// provinceSource is the board's Source over a province of demo cities
// generated as they are read (as cmd/ledgerbench builds a province): cities
// of at most democity.MaxOrgs organisations, the codes of city k renamed
// "Ck-…", the work committee's lines once. It holds no events, so the
// benchmark's heap is the board's. Only the first ReadAll reads anything.
type provinceSource struct {
	orgs  int
	total uint64 // events, once read
}

func (s *provinceSource) ReadAll(_ context.Context, from uint64) iter.Seq2[domain.Recorded, error] {
	return func(yield func(domain.Recorded, error) bool) {
		if s.total > 0 && from >= s.total {
			return
		}
		var pos uint64
		revs := map[string]uint64{}
		for k, left := 0, s.orgs; left > 0; k++ {
			n := min(left, democity.MaxOrgs)
			left -= n
			for _, l := range democity.Generate(int64(2016+k), democity.Options{Orgs: n}) {
				stream := "committee"
				if l.Org != "" {
					stream = "org:" + l.Org
				}
				if stream == "committee" && k > 0 {
					continue // scheduled once for every city
				}
				raw, err := json.Marshal(l)
				if err != nil {
					yield(domain.Recorded{}, err)
					return
				}
				if k > 0 {
					raw = bytes.ReplaceAll(raw, []byte(`"LY-`), fmt.Appendf(nil, `"C%d-`, k))
					stream = "org:" + string(bytes.ReplaceAll([]byte(l.Org), []byte("LY-"), fmt.Appendf(nil, "C%d-", k)))
				}
				e, err := domain.ParseJournalLine(raw)
				if err != nil {
					yield(domain.Recorded{}, err)
					return
				}
				pos++
				r := domain.Recorded{ID: e.ID, Stream: stream, Type: e.Type, Revision: revs[stream], Position: pos,
					OccurredOn: e.OccurredOn, RecordedAt: start.Add(time.Duration(pos) * time.Microsecond), RecordedBy: "bench", Payload: e.Payload}
				revs[stream]++
				if pos > from && !yield(r, nil) {
					return
				}
			}
		}
		s.total = pos
	}
}

func (s *provinceSource) Subscribe(ctx context.Context, from uint64) iter.Seq2[domain.Recorded, error] {
	return s.ReadAll(ctx, from)
}

func (s *provinceSource) ReadOrg(context.Context, string) iter.Seq2[domain.Recorded, error] {
	return func(yield func(domain.Recorded, error) bool) {
		yield(domain.Recorded{}, errors.New("provinceSource: no stream reads"))
	}
}

func (s *provinceSource) Now() time.Time { return start.Add(100 * time.Hour) }

func (s *provinceSource) Rulebooks(context.Context, int) ([]domain.PublishedRulebook, error) {
	return []domain.PublishedRulebook{{Rulebook: domain.Builtin2016(), Builtin: true}}, nil
}

func (s *provinceSource) RulebookAt(context.Context, int, time.Time, string) (*domain.Rulebook, error) {
	return domain.Builtin2016(), nil
}

func (s *provinceSource) Grades(context.Context, int) (map[string][]domain.Grade, error) {
	return nil, nil
}

func (s *provinceSource) IssueGrade(context.Context, string, domain.Date, *domain.GradeIssued, domain.Principal) (string, bool, error) {
	return "", false, errors.New("provinceSource: read only")
}

func (s *provinceSource) ReviseGrade(context.Context, *domain.Grade, domain.Date, *domain.GradeRevised, domain.Principal) (string, bool, error) {
	return "", false, errors.New("provinceSource: read only")
}

// provinces are the boards of the benchmark, folded once per size.
var provinces = struct {
	sync.Mutex
	m map[int]*scoreboard.Board
}{m: map[int]*scoreboard.Board{}}

func province(b *testing.B, orgs int) *scoreboard.Board {
	provinces.Lock()
	defer provinces.Unlock()
	if board := provinces.m[orgs]; board != nil {
		return board
	}
	src := &provinceSource{orgs: orgs}
	board := scoreboard.New(src, scoreboard.Options{Now: src.Now})
	t0 := time.Now()
	if err := board.CatchUp(context.Background()); err != nil {
		b.Fatal(err)
	}
	if got := len(board.Codes()); got != orgs {
		b.Fatalf("folded %d organisations, want %d", got, orgs)
	}
	b.Logf("%d organisations, %d events generated and folded in %.1f s", orgs, board.Position(), time.Since(t0).Seconds())
	provinces.m[orgs] = board
	return board
}

// liveHeap returns the heap in use after full collections.
func liveHeap() int64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc)
}

// livePeak calls fn with the collector set to run at every 10% of
// growth and returns the highest live heap a collection found meanwhile
// (runtime/metrics /gc/heap/live:bytes, sampled every millisecond): the
// peak of what fn kept, not of the garbage the collector had yet to
// reclaim. fn runs at least one collection's worth of allocation.
func livePeak(fn func()) int64 {
	old := debug.SetGCPercent(10)
	defer debug.SetGCPercent(old)
	sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	var peak int64
	read := func() {
		metrics.Read(sample)
		peak = max(peak, int64(sample[0].Value.Uint64()))
	}
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				read()
			}
		}
	}()
	fn()
	close(stop)
	<-done
	runtime.GC() // what fn left live, the result included
	read()
	return peak
}

// BenchmarkRankMemory measures what ranking every organisation of a
// province of demo cities (PARTYLEDGER_BENCH_RANK_ORGS, default 3,000 and
// 20,000) holds in memory: held-B/org is the live heap the result adds per
// organisation (after collection, the result kept), peak-B/org the
// highest live heap above the board's that a collection found while
// ranking (the collector at 10% of growth, so ns/op includes its extra
// work), for
// Board.Rank (a row per organisation, scorecards a chunk at a time) and
// for Board.ScoreAll (every scorecard); then both for the top level only
// (Query.Under ""), which Rank scores alone. The first run of a size generates
// and folds its province (about 7 s per 1,000 organisations here).
//
//	go test ./projections/scoreboard -run XXX -bench RankMemory -benchtime 1x
func BenchmarkRankMemory(b *testing.B) {
	for _, orgs := range benchRankOrgs() {
		for _, how := range []string{"Rank", "ScoreAll", "RankTopLevel", "ScoreAllTopLevel"} {
			b.Run(fmt.Sprintf("orgs=%d/%s", orgs, how), func(b *testing.B) {
				board := province(b, orgs)
				ctx := context.Background()
				q := scoreboard.Query{Year: 2016, Under: scoreboard.AllOrgs}
				top := strings.HasSuffix(how, "TopLevel")
				if top {
					q.Under = ""
				}
				rank := func() (any, int) {
					if strings.HasPrefix(how, "Rank") {
						rk, err := board.Rank(ctx, q)
						if err != nil {
							b.Fatal(err)
						}
						return rk, len(rk.Rows)
					}
					cards, err := board.ScoreAll(ctx, q)
					if err != nil {
						b.Fatal(err)
					}
					return cards, len(cards)
				}
				var held, peak int64
				var n int
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					b.StopTimer()
					base := liveHeap()
					b.StartTimer()
					var result any
					p := livePeak(func() { result, n = rank() })
					b.StopTimer()
					held = max(held, liveHeap()-base)
					peak = max(peak, p-base)
					runtime.KeepAlive(result)
					result = nil
					b.StartTimer()
				}
				if n != orgs && !top || n == 0 || n >= orgs && top {
					b.Fatalf("ranked %d organisations of %d", n, orgs)
				}
				b.ReportMetric(float64(n), "orgs-ranked")
				b.ReportMetric(float64(held)/float64(orgs), "held-B/org")
				b.ReportMetric(float64(peak)/float64(orgs), "peak-B/org")
			})
		}
	}
}

// benchRankOrgs are the sizes BenchmarkRankMemory ranks.
func benchRankOrgs() []int {
	if v, err := strconv.Atoi(os.Getenv("PARTYLEDGER_BENCH_RANK_ORGS")); err == nil && v > 0 {
		return []int{v}
	}
	return []int{3000, 20_000}
}
