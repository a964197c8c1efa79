package scoreboard_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"partyledger/domain"
	"partyledger/ledger/books"
	"partyledger/projections"
	"partyledger/projections/scoreboard"
)

// rowsOf returns the rows of scorecards.
func rowsOf(cards []*projections.Scorecard) []scoreboard.Row {
	out := make([]scoreboard.Row, len(cards))
	for i, c := range cards {
		out[i] = scoreboard.RowOf(c)
	}
	return out
}

// allCards returns every scorecard of a ranking, through Cards.
func allCards(t *testing.T, board *scoreboard.Board, rk *scoreboard.Ranking, rows []scoreboard.Row) []*projections.Scorecard {
	t.Helper()
	out := []*projections.Scorecard{}
	if err := board.Cards(context.Background(), rk, rows, func(sc *projections.Scorecard) error {
		out = append(out, sc)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestRankEqualsScoreAll: the slim ranking (Rank: a row per organisation,
// scorecards a chunk at a time, one level scored alone) is ScoreAll's
// ranking, row for row and in the same order, and Cards gives back
// ScoreAll's scorecards byte for byte — on the demo city, live and over
// snapshots, in every scope, at K now and in the past (when some
// organisations are not registered yet), at year end and mid-year, across
// many chunks.
func TestRankEqualsScoreAll(t *testing.T) {
	defer scoreboard.SetCardChunk(7)()
	bk := city(t, 60)
	ctx := context.Background()
	live := scoreboard.New(bk, scoreboard.Options{Now: bk.Now})
	if err := live.CatchUp(ctx); err != nil {
		t.Fatal(err)
	}
	snaps := &foldSnapshots{bk: bk, codes: live.Codes()}
	over := scoreboard.New(noAll{bk, t}, scoreboard.Options{Now: bk.Now, Snapshots: snaps})
	if err := over.CatchUp(ctx); err != nil {
		t.Fatal(err)
	}
	all, err := live.ScoreAll(ctx, scoreboard.Query{Year: 2016, Under: scoreboard.AllOrgs})
	if err != nil {
		t.Fatal(err)
	}
	// Scopes: the top level, every organisation, each organisation that
	// has others under it, one that has none, and an unknown code.
	unders := []string{"", scoreboard.AllOrgs}
	parents := map[string]bool{}
	for _, c := range all {
		parents[c.ParentCode] = true
	}
	delete(parents, "")
	// Three of them, those with grandchildren first.
	var picked []string
	for _, deep := range []bool{true, false} {
		for _, c := range all {
			if c.ParentCode != "" && parents[c.Org] == deep && !slices.Contains(picked, c.ParentCode) && len(picked) < 3 {
				picked = append(picked, c.ParentCode)
			}
		}
	}
	unders = append(unders, picked...)
	for _, c := range all {
		if !parents[c.Org] {
			unders = append(unders, c.Org)
			break
		}
	}
	// A code that names no organisation is refused, not an empty ranking.
	var fe *domain.FieldError
	if _, err := live.Rank(ctx, scoreboard.Query{Year: 2016, Under: "LY-9999"}); !errors.As(err, &fe) || fe.Field != "under" {
		t.Fatalf("under an unknown code: %v, want a FieldError on under", err)
	}
	if _, err := live.ScoreAll(ctx, scoreboard.Query{Year: 2016, Under: "LY-9999"}); !errors.As(err, &fe) || fe.Field != "under" {
		t.Fatalf("ScoreAll under an unknown code: %v, want a FieldError on under", err)
	}
	if len(parents) < 3 {
		t.Fatalf("the city has %d organisations with others under them: the scopes prove little", len(parents))
	}

	// An independent reading of the scopes at K now: an organisation is
	// under a code when that code is among its ancestors.
	parentOf := map[string]string{}
	for _, c := range all {
		parentOf[c.Org] = c.ParentCode
	}
	grandchildren := 0
	for _, under := range unders[2:] {
		var want []string
		for _, c := range all {
			for p := c.ParentCode; p != ""; p = parentOf[p] {
				if p == under {
					want = append(want, c.Org)
					if c.ParentCode != under {
						grandchildren++
					}
					break
				}
			}
		}
		rk, err := live.Rank(ctx, scoreboard.Query{Year: 2016, Under: under})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, r := range rk.Rows {
			got = append(got, r.Org)
		}
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Fatalf("under %s: %v, want %v", under, got, want)
		}
	}
	if grandchildren == 0 {
		t.Fatal("no scope reaches two levels down: the test proves little")
	}

	half := start.Add(time.Duration(lastPosition(t, bk)/2) * time.Millisecond) // about half the city recorded
	partial, levels := false, 0
	for _, k := range []time.Time{{}, half} {
		for _, asOf := range []domain.Date{{}, domain.MustDate("2016-06-30")} {
			for _, under := range unders {
				q := scoreboard.Query{Year: 2016, KnownAt: k, AsOf: asOf, Under: under}
				if k.IsZero() {
					q.KnownAt = bk.Now() // the same K for both calls
				}
				boards := map[string]*scoreboard.Board{"live": live, "over snapshots": over}
				if !asOf.IsZero() {
					delete(boards, "over snapshots") // slow (it folds each organisation for every call), and D is not its concern
				}
				for name, board := range boards {
					want, err := board.ScoreAll(ctx, q)
					if err != nil {
						t.Fatal(err)
					}
					rk, err := board.Rank(ctx, q)
					if err != nil {
						t.Fatal(err)
					}
					if got, want := marshal(t, rk.Rows), marshal(t, rowsOf(want)); got != want {
						t.Fatalf("%s, K %v, D %v, under %q: Rank\n%s\nScoreAll\n%s", name, k, asOf, under, got, want)
					}
					if got := allCards(t, board, rk, rk.Rows); marshal(t, got) != marshal(t, want) {
						t.Fatalf("%s, K %v, D %v, under %q: Cards and ScoreAll's scorecards differ", name, k, asOf, under)
					}
					if len(want) > 0 && (rk.KnownAt != want[0].KnownAt || rk.AsOf != want[0].AsOf || rk.Rulebook != want[0].Rulebook) {
						t.Fatalf("ranking of %s, %v, %+v; scorecards of %s, %v, %+v", rk.KnownAt, rk.AsOf, rk.Rulebook,
							want[0].KnownAt, want[0].AsOf, want[0].Rulebook)
					}
					if under == scoreboard.AllOrgs && len(want) < len(all) {
						partial = true
					}
					if under != scoreboard.AllOrgs && len(want) > 0 && len(want) < len(all) {
						levels++
					}
				}
			}
		}
	}
	if !partial || levels < 4 {
		t.Fatalf("no K with organisations not registered yet (%v), or %d scopes of a level: the test proves little", partial, levels)
	}

	// Some rows, in another order: Cards follows the rows.
	rk, err := live.Rank(ctx, scoreboard.Query{Year: 2016, KnownAt: bk.Now(), Under: scoreboard.AllOrgs})
	if err != nil {
		t.Fatal(err)
	}
	some := slices.Clone(rk.Rows[:20])
	slices.Reverse(some)
	got := allCards(t, live, rk, some)
	for i := range some {
		if got[i].Org != some[i].Org {
			t.Fatalf("card %d is %s, want %s", i, got[i].Org, some[i].Org)
		}
	}
}

// TestRankScoresOneLevel: a ranking of one level scores the organisations
// of that level only; over snapshots, where parents are known only from
// the facts, every organisation.
func TestRankScoresOneLevel(t *testing.T) {
	bk := city(t, 40)
	ctx := context.Background()
	live := scoreboard.New(bk, scoreboard.Options{Now: bk.Now})
	rk, err := live.Rank(ctx, scoreboard.Query{Year: 2016})
	if err != nil {
		t.Fatal(err)
	}
	before := scoreboard.Scored()
	if rk, err = live.Rank(ctx, scoreboard.Query{Year: 2016}); err != nil {
		t.Fatal(err)
	}
	if n := scoreboard.Scored() - before; n != int64(len(rk.Rows)) || n == 0 || n >= 40 {
		t.Fatalf("the top level of %d organisations scored %d of 40", len(rk.Rows), n)
	}
	before = scoreboard.Scored()
	if _, err = live.Rank(ctx, scoreboard.Query{Year: 2016, Under: scoreboard.AllOrgs}); err != nil {
		t.Fatal(err)
	}
	if n := scoreboard.Scored() - before; n != 40 {
		t.Fatalf("every organisation: scored %d of 40", n)
	}
}

// TestCardsAfterAnAppendInFlight: an event recorded before K but folded
// only after the ranking (an append in flight when it began; here K is
// set ahead of the clock) does not change the scorecards Cards gives: the
// organisation is scored from its stream as far as the ranking saw it,
// live and over snapshots. A change the ranking cannot reproduce — the
// committee's schedule — is ErrRankingChanged, never a scorecard that
// contradicts its rank.
func TestCardsAfterAnAppendInFlight(t *testing.T) {
	defer scoreboard.SetCardChunk(3)()
	bk := city(t, 12)
	ctx := context.Background()
	live := scoreboard.New(bk, scoreboard.Options{Now: bk.Now})
	if err := live.CatchUp(ctx); err != nil {
		t.Fatal(err)
	}
	over := scoreboard.New(noAll{bk, t}, scoreboard.Options{Now: bk.Now, Snapshots: &foldSnapshots{bk: bk, codes: live.Codes()}})
	if err := over.CatchUp(ctx); err != nil {
		t.Fatal(err)
	}
	q := scoreboard.Query{Year: 2016, KnownAt: bk.Now().Add(time.Hour), Under: scoreboard.AllOrgs}
	boards := []*scoreboard.Board{live, over}
	var rks []*scoreboard.Ranking
	var wants [][]*projections.Scorecard
	for _, board := range boards {
		want, err := board.ScoreAll(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		rk, err := board.Rank(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		rks, wants = append(rks, rk), append(wants, want)
	}
	code := rks[0].Rows[5].Org
	e, err := domain.ParseJournalLine([]byte(`{"org":"` + code + `","type":"WorkInfoSubmitted","occurred_on":"2016-12-01","data":{"title":"新信息"}}`))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bk.Record(ctx, []domain.Entry{e}, "t", books.RecordOptions{}); err != nil {
		t.Fatal(err)
	}
	for i, board := range boards {
		if err := board.CatchUp(ctx); err != nil {
			t.Fatal(err)
		}
		now, err := board.Score(ctx, code, q)
		if err != nil {
			t.Fatal(err)
		}
		if now.LedgerPosition == rks[i].Rows[5].LedgerPosition {
			t.Fatalf("%s: the append is not known at K: the test proves nothing", code)
		}
		if got := allCards(t, board, rks[i], rks[i].Rows); marshal(t, got) != marshal(t, wants[i]) {
			t.Fatalf("board %d: the scorecards after the append differ from the ranking's", i)
		}
	}

	sched, err := domain.ParseJournalLine([]byte(`{"type":"RequiredEventScheduled","occurred_on":"2016-08-01","data":{"scheduled_event_id":"S2016-99","kind":"training","title":"培训","targets":["*"]}}`))
	if err != nil {
		t.Fatal(err)
	}
	admin := domain.Principal{TokenID: "4123456789abcdef", Role: domain.AccessAdmin, Name: "工委"}
	if _, err := bk.RecordAs(ctx, []domain.Entry{sched}, admin, books.RecordOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := live.CatchUp(ctx); err != nil {
		t.Fatal(err)
	}
	err = live.Cards(ctx, rks[0], rks[0].Rows, func(*projections.Scorecard) error { return nil })
	if !errors.Is(err, scoreboard.ErrRankingChanged) {
		t.Fatalf("a training scheduled for everyone under the ranking: %v", err)
	}
}
