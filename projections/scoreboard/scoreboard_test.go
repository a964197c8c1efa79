package scoreboard_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"strconv"
	"testing"
	"time"

	"partyledger/domain"
	"partyledger/domain/democity"
	"partyledger/ledger"
	"partyledger/ledger/books"
	"partyledger/ledger/filestore"
	"partyledger/ledger/ledgertest"
	"partyledger/projections"
	"partyledger/projections/scoreboard"
)

var start = time.Date(2017, 3, 1, 0, 0, 0, 0, time.UTC)

// city imports a demo city into a fresh embedded store with a test clock
// (one millisecond per event, from start).
func city(tb testing.TB, orgs int) *books.Books {
	tb.Helper()
	st, err := filestore.Open(tb.TempDir(), filestore.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	bk := books.New(ledger.New(st, ledger.Options{Clock: ledgertest.NewClock(start).Now}))
	record(tb, bk, democity.Generate(11, democity.Options{Orgs: orgs}))
	return bk
}

// record appends journal lines through the validated path, one batch per
// run of lines of the same stream.
func record(tb testing.TB, bk *books.Books, lines []domain.JournalLine) {
	tb.Helper()
	ctx := context.Background()
	var batch []domain.Entry
	flush := func() {
		if len(batch) == 0 {
			return
		}
		if _, err := bk.Record(ctx, batch, "test", books.RecordOptions{}); err != nil {
			tb.Fatal(err)
		}
		batch = batch[:0]
	}
	for _, l := range lines {
		raw, _ := json.Marshal(l)
		e, err := domain.ParseJournalLine(raw)
		if err != nil {
			tb.Fatal(err)
		}
		if len(batch) > 0 && (batch[0].Org != e.Org || len(batch) >= 500) {
			flush()
		}
		batch = append(batch, e)
	}
	flush()
}

func marshal(tb testing.TB, v any) string {
	tb.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		tb.Fatal(err)
	}
	return string(b)
}

// TestLiveFactsEqualReplay checks the two ways of scoring against each
// other: the live facts (folded once, kept current) and a replay of the
// organisation's stream prefix, at K after everything and at past K.
func TestLiveFactsEqualReplay(t *testing.T) {
	bk := city(t, 6)
	ctx := context.Background()
	board := scoreboard.New(bk, scoreboard.Options{Now: func() time.Time { return start.Add(time.Hour) }})
	cards, err := board.ScoreAll(ctx, scoreboard.Query{Under: scoreboard.AllOrgs, Year: 2016})
	if err != nil {
		t.Fatal(err)
	}
	if len(cards) != 6 {
		t.Fatalf("%d scorecards, want 6", len(cards))
	}
	for _, k := range []time.Duration{time.Hour, 2 * time.Second, 500 * time.Millisecond} {
		K := start.Add(k)
		for _, code := range board.Codes() {
			live, err := board.Score(ctx, code, scoreboard.Query{Year: 2016, KnownAt: K})
			if errors.Is(err, scoreboard.ErrUnknownOrg) {
				continue // registered later than K
			}
			if err != nil {
				t.Fatal(err)
			}
			// An independent fold of the whole stream, scored at K by the
			// projections alone (they filter by recorded_at).
			f := projections.NewFacts(code)
			for e, err := range bk.ReadStream(ctx, books.OrgStream(code), 0) {
				if err != nil {
					t.Fatal(err)
				}
				r, err := books.Recorded(&e)
				if err != nil {
					t.Fatal(err)
				}
				if err := f.Apply(r); err != nil {
					t.Fatal(err)
				}
			}
			sched := projections.NewSchedule()
			for e, err := range bk.ReadStream(ctx, books.CommitteeStream, 0) {
				if err != nil {
					t.Fatal(err)
				}
				r, _ := books.Recorded(&e)
				if err := sched.Apply(r); err != nil {
					t.Fatal(err)
				}
			}
			rb, _ := bk.RulebookAt(ctx, 2016, K, "")
			want, err := projections.Score(f, rb, projections.Query{Year: 2016, KnownAt: ledger.TruncateTime(K),
				LedgerPosition: live.LedgerPosition, Schedule: sched})
			if err != nil {
				t.Fatal(err)
			}
			if marshal(t, live) != marshal(t, want) {
				t.Fatalf("%s at K=+%v: board and an independent fold differ", code, k)
			}
		}
		// ScoreAll (live facts on every CPU) equals scoring each one.
		all, err := board.ScoreAll(ctx, scoreboard.Query{Under: scoreboard.AllOrgs, Year: 2016, KnownAt: K})
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range all {
			one, err := board.Score(ctx, c.Org, scoreboard.Query{Year: 2016, KnownAt: K})
			if err != nil {
				t.Fatal(err)
			}
			if marshal(t, one) != marshal(t, c) {
				t.Fatalf("%s at K=+%v: ScoreAll and Score differ", c.Org, k)
			}
		}
	}
}

func TestRunFollowsAppends(t *testing.T) {
	bk := city(t, 3)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	board := scoreboard.New(bk, scoreboard.Options{})
	done := make(chan error, 1)
	go func() { done <- board.Run(ctx) }()
	code := board.Codes()
	for len(code) == 0 {
		time.Sleep(10 * time.Millisecond)
		code = board.Codes()
	}
	line := `{"org":"` + code[0] + `","type":"WorkInfoSubmitted","occurred_on":"2016-12-01","data":{"title":"新信息"}}`
	e, err := domain.ParseJournalLine([]byte(line))
	if err != nil {
		t.Fatal(err)
	}
	res, err := bk.Record(ctx, []domain.Entry{e}, "t", books.RecordOptions{})
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for board.Position() < uint64(res[0].Position) {
		if time.Now().After(deadline) {
			t.Fatalf("board at %d, never reached the append at %d", board.Position(), res[0].Position)
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Run ended with %v", err)
	}
}

func TestScoreErrors(t *testing.T) {
	bk := city(t, 3)
	ctx := context.Background()
	board := scoreboard.New(bk, scoreboard.Options{})
	if _, err := board.Score(ctx, "LY-9999", scoreboard.Query{Year: 2016}); !errors.Is(err, scoreboard.ErrUnknownOrg) {
		t.Fatalf("unknown org: %v", err)
	}
	if _, err := board.Score(ctx, board.Codes()[0], scoreboard.Query{Year: 2016, Rulebook: "1999.1"}); err == nil {
		t.Fatal("unknown rulebook version accepted")
	}
	if _, err := board.Score(ctx, board.Codes()[0], scoreboard.Query{Year: 2016, AsOf: domain.MustDate("2015-06-30")}); err == nil {
		t.Fatal("as_of before the year accepted")
	}
	// Before the organisation was registered, it is unknown.
	if _, err := board.Score(ctx, board.Codes()[0], scoreboard.Query{Year: 2016, KnownAt: start.Add(-time.Hour)}); !errors.Is(err, scoreboard.ErrUnknownOrg) {
		t.Fatalf("score before registration: %v", err)
	}
}

// BenchmarkReplayAndFold reads every event of a store, decodes it and folds
// it into facts: what a fresh process does once. The store holds the demo
// city at PARTYLEDGER_BENCH_ORGS organisations (default 400, ≈150k events;
// 2,600 gives ≈1M).
func BenchmarkReplayAndFold(b *testing.B) {
	orgs := 400
	if v, err := strconv.Atoi(os.Getenv("PARTYLEDGER_BENCH_ORGS")); err == nil {
		orgs = v
	}
	bk := city(b, orgs)
	ctx := context.Background()
	var events int
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		board := scoreboard.New(bk, scoreboard.Options{})
		if err := board.CatchUp(ctx); err != nil {
			b.Fatal(err)
		}
		events = int(board.Position())
	}
	b.ReportMetric(float64(events)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(float64(events), "events")
}
