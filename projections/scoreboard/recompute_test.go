package scoreboard_test

import (
	"context"

	"errors"
	"slices"
	"testing"
	"time"

	"partyledger/domain"
	"partyledger/ledger"
	"partyledger/ledger/books"
	"partyledger/projections"
	"partyledger/projections/scoreboard"
)

// corrected2016 is the kind of correction the work committee publishes:
// 5.3's general-assembly minimum lowered from 4 to 3, and the 1.5% dues
// bracket ending at 9000 yuan instead of 10000 (incomes above pay 2%).
func corrected2016(t testing.TB) *domain.Rulebook {
	t.Helper()
	rb := domain.Builtin2016().Clone()
	rb.Version = "2016.2"
	for i := range rb.Item("5.3").Rules {
		if r := &rb.Item("5.3").Rules[i]; r.ID == "5.3.general_assembly" {
			r.Need = 3
		}
	}
	upTo := domain.Fen(900000)
	rb.Dues.Rates[2].UpToFen = &upTo
	if err := rb.Validate(); err != nil {
		t.Fatal(err)
	}
	return rb
}

func deductionsJSON(t testing.TB, it *projections.Item) string {
	t.Helper()
	if it == nil {
		return "absent"
	}
	return marshal(t, struct {
		V, S domain.Points
		D    []projections.Deduction
	}{it.Value, it.Score, it.Deductions})
}

func itemOf(sc *projections.Scorecard, code string) *projections.Item {
	for i := range sc.Items {
		if sc.Items[i].Code == code {
			return &sc.Items[i]
		}
	}
	return nil
}

// TestCorrectionRecomputeAndRevise is the rulebook correction end to end
// on the demo city: grades issued under 2016.1, a corrected 2016.2
// published, the recompute diff checked against scores computed on their
// own under each version, grades revised for exactly the organisations
// that changed, and the past still reproducible byte for byte.
func TestCorrectionRecomputeAndRevise(t *testing.T) {
	bk := city(t, 40)
	ctx := context.Background()
	board := scoreboard.New(bk, scoreboard.Options{Now: bk.Now})

	issued, err := board.IssueGrades(ctx, 2016, scoreboard.GradeOptions{Under: scoreboard.AllOrgs, By: "admin", AllowProvisional: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(issued.Written) != 40 || issued.Rulebook.Version != "2016.1" || issued.Rulebook.SHA256 != domain.Builtin2016().SHA256() {
		t.Fatalf("issued %d grades under %+v; skipped %v", len(issued.Written), issued.Rulebook, issued.Skipped)
	}
	t.Run("issuing again writes nothing", func(t *testing.T) {
		again, err := board.IssueGrades(ctx, 2016, scoreboard.GradeOptions{Under: scoreboard.AllOrgs, By: "admin", AllowProvisional: true})
		if err != nil || len(again.Written) != 0 || len(again.Skipped) != 40 {
			t.Fatalf("%+v %v", again, err)
		}
	})
	t.Run("the grade names its scorecard", func(t *testing.T) {
		g := issued.Written[3]
		k, _ := timeOf(issued.KnownAt)
		sc, err := board.Score(ctx, g.Org, scoreboard.Query{Year: 2016, KnownAt: k})
		if err != nil {
			t.Fatal(err)
		}
		if sum, _ := scoreboard.ScorecardSHA256(sc); sum != g.ScorecardSHA256 {
			t.Fatalf("the scorecard at the grade's known_at hashes to %s, the grade says %s", sum, g.ScorecardSHA256)
		}
	})

	// The past as it stands before the correction.
	k0 := bk.Now()
	before, err := board.ScoreAll(ctx, scoreboard.Query{Under: scoreboard.AllOrgs, Year: 2016, KnownAt: k0})
	if err != nil {
		t.Fatal(err)
	}
	beforeJSON := marshal(t, before)

	nb := corrected2016(t)
	if _, err := bk.PublishRulebook(ctx, nb, "5.3 支部党员大会每年不少于3次；党费1.5%档上限更正为9000元", "admin"); err != nil {
		t.Fatal(err)
	}
	k1 := bk.Now()
	rep, err := board.Recompute(ctx, scoreboard.Query{Year: 2016, KnownAt: k1}, "2016.1", "2016.2")
	if err != nil {
		t.Fatal(err)
	}

	// Independently: every organisation scored under each version.
	var want []string
	moves := map[[2]string]int{}
	for _, code := range board.Codes() {
		a, err := board.Score(ctx, code, scoreboard.Query{Year: 2016, KnownAt: k1, Rulebook: "2016.1"})
		if err != nil {
			t.Fatal(err)
		}
		b, err := board.Score(ctx, code, scoreboard.Query{Year: 2016, KnownAt: k1, Rulebook: "2016.2"})
		if err != nil {
			t.Fatal(err)
		}
		moves[[2]string{a.Tier, b.Tier}]++
		if a.Final == b.Final && a.Tier == b.Tier {
			continue
		}
		want = append(want, code)
		i := slices.IndexFunc(rep.Changed, func(d *projections.ScorecardDiff) bool { return d.Org == code })
		if i < 0 {
			t.Errorf("%s: %s %s → %s %s, not in the recompute", code, a.Final, a.Tier, b.Final, b.Tier)
			continue
		}
		d := rep.Changed[i]
		if d.Old.Final != a.Final || d.New.Final != b.Final || d.Old.Tier != a.Tier || d.New.Tier != b.Tier {
			t.Errorf("%s: recompute says %s %s → %s %s, scoring says %s %s → %s %s", code,
				d.Old.Final, d.Old.Tier, d.New.Final, d.New.Tier, a.Final, a.Tier, b.Final, b.Tier)
		}
		var wantItems, gotItems []string
		for _, it := range b.Items {
			if deductionsJSON(t, itemOf(a, it.Code)) != deductionsJSON(t, &it) {
				wantItems = append(wantItems, it.Code)
			}
		}
		for _, c := range d.Items {
			gotItems = append(gotItems, c.Code)
			if c.Old == nil || c.New == nil || marshal(t, c.Old.Deductions) != marshal(t, itemOf(a, c.Code).Deductions) ||
				marshal(t, c.New.Deductions) != marshal(t, itemOf(b, c.Code).Deductions) {
				t.Errorf("%s item %s: deductions in the diff differ from the scorecards", code, c.Code)
			}
		}
		if !slices.Equal(gotItems, wantItems) {
			t.Errorf("%s: items %v, want %v", code, gotItems, wantItems)
		}
		for _, c := range d.Items {
			if c.Code != "5.3" && c.Code != "2.5" {
				t.Errorf("%s: item %s changed, but the correction touches only 5.3 and the dues", code, c.Code)
			}
		}
	}
	var got []string
	for _, d := range rep.Changed {
		got = append(got, d.Org)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("recompute changed %v, want %v", got, want)
	}
	if len(want) == 0 {
		t.Fatal("the correction changed no organisation: the test proves nothing")
	}
	for _, tr := range rep.Transitions {
		if moves[[2]string{tr.From, tr.To}] != tr.Orgs {
			t.Errorf("transition %s→%s: %d, want %d", tr.From, tr.To, tr.Orgs, moves[[2]string{tr.From, tr.To}])
		}
	}
	if rep.Orgs != 40 || rep.GradeChanged != len(want) || rep.From.Version != "2016.1" || rep.To.SHA256 != nb.SHA256() {
		t.Errorf("report %d orgs, %d changed, %+v → %+v", rep.Orgs, rep.GradeChanged, rep.From, rep.To)
	}
	t.Logf("%d of %d organisations changed, %d tier; transitions %+v", rep.GradeChanged, rep.Orgs, rep.TierChanged, rep.Transitions)

	t.Run("recompute at K before the correction names it too", func(t *testing.T) {
		r0, err := board.Recompute(ctx, scoreboard.Query{Year: 2016, KnownAt: k0}, "2016.1", "2016.2")
		if err != nil || r0.GradeChanged != rep.GradeChanged {
			t.Fatalf("%v: %d changed at k0, %d at k1", err, r0.GradeChanged, rep.GradeChanged)
		}
	})
	t.Run("unknown version", func(t *testing.T) {
		_, err := board.Recompute(ctx, scoreboard.Query{Year: 2016}, "2016.1", "2016.9")
		var fe *domain.FieldError
		if !errors.As(err, &fe) || fe.Field != "to" {
			t.Fatalf("err = %v", err)
		}
	})

	revised, err := board.ReviseGrades(ctx, 2016, scoreboard.GradeOptions{Under: scoreboard.AllOrgs, By: "admin", Reason: "细则 2016.2 更正", AllowProvisional: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Run("revise touches exactly the changed organisations", func(t *testing.T) {
		var orgs []string
		for _, w := range revised.Written {
			orgs = append(orgs, w.Org)
			if w.Previous == nil || w.Previous.RulebookVersion != "2016.1" || w.Diff == nil || len(w.Diff.Items) == 0 {
				t.Errorf("%s: revision without its previous grade or reasons: %+v", w.Org, w)
			}
		}
		if !slices.Equal(orgs, want) || revised.Unchanged != 40-len(want) || revised.Rulebook.Version != "2016.2" {
			t.Fatalf("revised %v (unchanged %d), want %v", orgs, revised.Unchanged, want)
		}
		all, err := bk.Grades(ctx, 2016)
		if err != nil {
			t.Fatal(err)
		}
		for _, code := range board.Codes() {
			gs := all[code]
			n := 1
			if slices.Contains(want, code) {
				n = 2
			}
			if len(gs) != n || gs[0].Type != domain.TypeGradeIssued || (n == 2 && (gs[1].Type != domain.TypeGradeRevised || gs[1].Reason != "细则 2016.2 更正")) {
				t.Errorf("%s: grades %+v", code, gs)
			}
		}
	})
	t.Run("nothing changed: nothing written", func(t *testing.T) {
		head := lastPosition(t, bk)
		again, err := board.ReviseGrades(ctx, 2016, scoreboard.GradeOptions{Under: scoreboard.AllOrgs, By: "admin", Reason: "再次核对", AllowProvisional: true})
		if err != nil || len(again.Written) != 0 || again.Unchanged != 40 {
			t.Fatalf("%+v %v", again, err)
		}
		if lastPosition(t, bk) != head {
			t.Fatal("a revision without changes appended events")
		}
		if _, err := board.ReviseGrades(ctx, 2016, scoreboard.GradeOptions{Under: scoreboard.AllOrgs, By: "admin"}); !errors.Is(err, scoreboard.ErrNoReason) {
			t.Fatalf("revision without a reason: %v", err)
		}
	})
	t.Run("the past is reproduced byte for byte", func(t *testing.T) {
		after, err := board.ScoreAll(ctx, scoreboard.Query{Under: scoreboard.AllOrgs, Year: 2016, KnownAt: k0})
		if err != nil {
			t.Fatal(err)
		}
		if marshal(t, after) != beforeJSON {
			t.Fatal("scoring at a known_at before the correction no longer gives the old scorecards")
		}
		// And a fresh board (a new process) agrees.
		fresh, err := scoreboard.New(bk, scoreboard.Options{}).ScoreAll(ctx, scoreboard.Query{Under: scoreboard.AllOrgs, Year: 2016, KnownAt: k0})
		if err != nil || marshal(t, fresh) != beforeJSON {
			t.Fatalf("a fresh board differs (%v)", err)
		}
	})
}

func lastPosition(t testing.TB, bk *books.Books) ledger.Position {
	t.Helper()
	var last ledger.Position
	for e, err := range bk.Events(context.Background(), 0) {
		if err != nil {
			t.Fatal(err)
		}
		last = e.Position
	}
	return last
}

func timeOf(s string) (t time.Time, err error) { return time.Parse(projections.KnownAtLayout, s) }
