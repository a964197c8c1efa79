package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	"partyledger/cmd/ledgerbench/internal/stats"
	"partyledger/ledger"
	"partyledger/ledger/books"
	"partyledger/ledger/filestore"
	"partyledger/projections/scoreboard"
)

// year is a store holding a generated year of organisations, with a
// scoreboard whose facts are current.
type year struct {
	orgs   int
	events int
	store  *filestore.Store
	board  *scoreboard.Board
	spans  map[string]*streamSpan // by stream
	load   time.Duration          // appending the journal through the ledger
	fold   time.Duration          // folding the facts (CatchUp)
}

// buildYear generates a year of orgs organisations into a new store in
// dir, through the ledger (validation of envelopes, hashing), and folds a
// scoreboard over it.
func buildYear(ctx context.Context, dir string, orgs int, seed int64) (*year, error) {
	fs, err := filestore.Open(dir, filestore.Options{})
	if err != nil {
		return nil, err
	}
	l := ledger.New(fs, ledger.Options{})
	y := &year{orgs: orgs, store: fs, spans: map[string]*streamSpan{}}
	t0 := time.Now()
	err = cityYear(orgs, seed, func(lines []cityLine) error {
		spans, err := loadLines(ctx, l, lines, 2)
		for k, v := range spans {
			y.spans[k] = v
			y.events += v.events
		}
		return err
	})
	if err != nil {
		fs.Close()
		return nil, err
	}
	y.load = time.Since(t0)
	y.board = scoreboard.New(books.New(l), scoreboard.Options{})
	t0 = time.Now()
	if err := y.board.CatchUp(ctx); err != nil {
		fs.Close()
		return nil, err
	}
	y.fold = time.Since(t0)
	if got := len(y.board.Codes()); got != orgs {
		fs.Close()
		return nil, fmt.Errorf("year of %d organisations folded %d", orgs, got)
	}
	return y, nil
}

// scoreAll scores every organisation runs times from the live facts and
// returns every run's time, sorted.
func (y *year) scoreAll(ctx context.Context, runs int) ([]time.Duration, error) {
	var out []time.Duration
	for range runs {
		t0 := time.Now()
		cards, err := y.board.ScoreAll(ctx, scoreboard.Query{Year: 2016, Under: scoreboard.AllOrgs})
		d := time.Since(t0)
		if err != nil {
			return nil, err
		}
		if len(cards) != y.orgs {
			return nil, fmt.Errorf("scored %d organisations, want %d", len(cards), y.orgs)
		}
		out = append(out, d)
	}
	slices.Sort(out)
	return out, nil
}

// scorePast scores samples organisations, each at a random instant before
// its last event was recorded, so the board replays a prefix of its
// stream; it returns the latencies.
func (y *year) scorePast(ctx context.Context, samples int, seed uint64) (stats.Summary, error) {
	codes := y.board.Codes()
	rng := rand.New(rand.NewPCG(seed, 7))
	var rec stats.Recorder
	lane := rec.Lane()
	for i := 0; i < samples; {
		code := codes[rng.IntN(len(codes))]
		sp := y.spans[books.OrgStream(code)]
		if sp == nil || !sp.last.After(sp.first) {
			continue
		}
		k := sp.first.Add(time.Duration(rng.Int64N(int64(sp.last.Sub(sp.first)))))
		t0 := time.Now()
		card, err := y.board.Score(ctx, code, scoreboard.Query{Year: 2016, KnownAt: k})
		d := time.Since(t0)
		if err != nil {
			return stats.Summary{}, fmt.Errorf("score %s at %s: %w", code, k.Format(ledger.RecordedAtLayout), err)
		}
		if card == nil {
			return stats.Summary{}, fmt.Errorf("score %s: no scorecard", code)
		}
		lane.Add(d)
		i++
	}
	return rec.Summary(), nil
}
