package scoreboard_test

import (
	"context"
	"errors"
	"iter"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"partyledger/domain"
	"partyledger/ledger/books"
	"partyledger/projections"
	"partyledger/projections/scoreboard"
)

// noAll is the books with every read of the whole ledger refused: a board
// over snapshots must answer without them.
type noAll struct {
	*books.Books
	t testing.TB
}

func (n noAll) ReadAll(context.Context, uint64) iter.Seq2[domain.Recorded, error] {
	n.t.Error("a board over snapshots read the whole ledger (ReadAll)")
	return func(func(domain.Recorded, error) bool) {}
}

func (n noAll) Subscribe(context.Context, uint64) iter.Seq2[domain.Recorded, error] {
	n.t.Error("a board over snapshots subscribed to the whole ledger")
	return func(func(domain.Recorded, error) bool) {}
}

func (n noAll) Grades(context.Context, int) (map[string][]domain.Grade, error) {
	n.t.Error("a board over snapshots read every grade from the whole ledger")
	return nil, errors.New("no $all")
}

// foldSnapshots is scoreboard.Snapshots the simplest way: every call
// folds the streams again from the books (projections/workers.Reader is
// the real one, tested against the esdb double). Chunks are small, so
// rankings cross several.
type foldSnapshots struct {
	bk    *books.Books
	codes []string
	calls atomic.Int64
}

func (s *foldSnapshots) Facts(ctx context.Context, code string) (*projections.Facts, error) {
	s.calls.Add(1)
	var f *projections.Facts
	for r, err := range s.bk.ReadOrg(ctx, code) {
		if err != nil {
			return nil, err
		}
		if f == nil {
			f = projections.NewFacts(code)
		}
		if err := f.Apply(r); err != nil {
			return nil, err
		}
	}
	return f, nil
}

func (s *foldSnapshots) EachFacts(ctx context.Context, fn func([]*projections.Facts) error) error {
	var chunk []*projections.Facts
	for i, code := range s.codes {
		f, err := s.Facts(ctx, code)
		if err != nil {
			return err
		}
		chunk = append(chunk, f)
		if len(chunk) == 5 || i == len(s.codes)-1 {
			if err := fn(chunk); err != nil {
				return err
			}
			chunk = nil
		}
	}
	return nil
}

func (s *foldSnapshots) Codes(context.Context) ([]string, error) { return slices.Clone(s.codes), nil }

func (s *foldSnapshots) Schedule(ctx context.Context) (*projections.Schedule, error) {
	sched := projections.NewSchedule()
	for e, err := range s.bk.ReadStream(ctx, books.CommitteeStream, 0) {
		if err != nil {
			return sched, nil // no committee events yet
		}
		r, err := books.Recorded(&e)
		if err != nil {
			return nil, err
		}
		if err := sched.Apply(r); err != nil {
			return nil, err
		}
	}
	return sched, nil
}

// TestBoardOverSnapshots: a board that holds no live facts, reading them
// through Snapshots, answers every call the API makes as the board over
// the whole ledger does — scorecards at K now and in the past, rankings
// in every scope, what is missing, the to-do list, dues, recomputation
// and grades — and never reads the whole ledger.
func TestBoardOverSnapshots(t *testing.T) {
	bk := city(t, 12)
	ctx := context.Background()
	live := scoreboard.New(bk, scoreboard.Options{Now: bk.Now})
	if err := live.CatchUp(ctx); err != nil {
		t.Fatal(err)
	}
	snaps := &foldSnapshots{bk: bk, codes: live.Codes()}
	// Created last, the board over snapshots is the computation grades are
	// checked against (books.SetGradeBasis).
	board := scoreboard.New(noAll{bk, t}, scoreboard.Options{Now: bk.Now, Snapshots: snaps})
	if err := board.CatchUp(ctx); err != nil {
		t.Fatal(err)
	}
	if got, want := board.Codes(), live.Codes(); !slices.Equal(got, want) || len(got) != 12 {
		t.Fatalf("codes %v, want %v", got, want)
	}
	same := func(what string, a, b any, aerr, berr error) {
		t.Helper()
		if (aerr == nil) != (berr == nil) || (aerr != nil && aerr.Error() != berr.Error()) {
			t.Fatalf("%s: errors differ: over snapshots %v, live %v", what, aerr, berr)
		}
		if aerr == nil && marshal(t, a) != marshal(t, b) {
			t.Fatalf("%s: over snapshots and live differ:\n%s\n%s", what, marshal(t, a), marshal(t, b))
		}
	}
	known := 0
	for _, k := range []time.Duration{time.Hour, 2 * time.Second, 500 * time.Millisecond} {
		K := start.Add(k)
		for _, code := range live.Codes() {
			q := scoreboard.Query{Year: 2016, KnownAt: K}
			a, aerr := board.Score(ctx, code, q)
			b, berr := live.Score(ctx, code, q)
			same("score "+code, a, b, aerr, berr)
			if aerr == nil {
				known++
			}
			ma, aerr := board.Missing(ctx, code, q)
			mb, berr := live.Missing(ctx, code, q)
			same("missing "+code, ma, mb, aerr, berr)
		}
		for _, under := range []string{"", scoreboard.AllOrgs, live.Codes()[0], "LY-9999"} {
			q := scoreboard.Query{Year: 2016, KnownAt: K, Under: under}
			a, aerr := board.ScoreAll(ctx, q)
			b, berr := live.ScoreAll(ctx, q)
			same("ranking under "+under, a, b, aerr, berr)
		}
	}
	if known < 12 {
		t.Fatalf("%d scorecards known: the past K proved nothing", known)
	}
	if _, err := board.Score(ctx, "LY-9999", scoreboard.Query{Year: 2016}); !errors.Is(err, scoreboard.ErrUnknownOrg) {
		t.Fatalf("an unknown organisation: %v", err)
	}
	K := bk.Now() // after every event: the defaults ("now") would differ by the clock's tick
	for _, code := range live.Codes()[:3] {
		a, aerr := board.Todo(ctx, code, domain.Date{Year: 2016, Month: 6, Day: 15}, K)
		b, berr := live.Todo(ctx, code, domain.Date{Year: 2016, Month: 6, Day: 15}, K)
		same("todo "+code, a, b, aerr, berr)
		da, aerr := board.MonthDues(ctx, code, scoreboard.Query{Year: 2016, KnownAt: K}, "2016-05")
		db, berr := live.MonthDues(ctx, code, scoreboard.Query{Year: 2016, KnownAt: K}, "2016-05")
		same("dues "+code, da, db, aerr, berr)
		ra, aerr := board.DuesArrears(ctx, code, scoreboard.Query{Year: 2016, KnownAt: K})
		rb, berr := live.DuesArrears(ctx, code, scoreboard.Query{Year: 2016, KnownAt: K})
		same("arrears "+code, ra, rb, aerr, berr)
	}

	// Grades issued over snapshots are what the live board would issue,
	// and pass the append path's check against the computation.
	gopts := scoreboard.GradeOptions{Under: scoreboard.AllOrgs, By: "admin", AllowProvisional: true}
	dry := gopts
	dry.DryRun, dry.KnownAt = true, K
	a, aerr := board.IssueGrades(ctx, 2016, dry)
	b, berr := live.IssueGrades(ctx, 2016, dry)
	same("grade issue --dry-run", a, b, aerr, berr)
	issued, err := board.IssueGrades(ctx, 2016, gopts)
	if err != nil || len(issued.Written) != 12 {
		t.Fatalf("issued %+v, %v", issued, err)
	}
	if again, err := board.IssueGrades(ctx, 2016, gopts); err != nil || len(again.Written) != 0 || len(again.Skipped) != 12 {
		t.Fatalf("issuing again over snapshots: %+v, %v", again, err)
	}

	// A correction: recomputation and revision agree too.
	if _, err := bk.PublishRulebook(ctx, corrected2016(t), "更正", "admin"); err != nil {
		t.Fatal(err)
	}
	K = bk.Now()
	q := scoreboard.Query{Year: 2016, KnownAt: K}
	ra, aerr := board.Recompute(ctx, q, "2016.1", "2016.2")
	rb, berr := live.Recompute(ctx, q, "2016.1", "2016.2")
	same("recompute", ra, rb, aerr, berr)
	if aerr != nil || ra.Orgs != 12 || ra.GradeChanged == 0 {
		t.Fatalf("recompute over snapshots: %+v, %v (nothing changed: the test proves nothing)", ra, aerr)
	}
	ropts := gopts
	ropts.Reason, ropts.DryRun, ropts.KnownAt = "细则 2016.2 更正", true, K
	a, aerr = board.ReviseGrades(ctx, 2016, ropts)
	b, berr = live.ReviseGrades(ctx, 2016, ropts)
	same("grade revise --dry-run", a, b, aerr, berr)
	if len(a.Written) != ra.GradeChanged {
		t.Fatalf("revise would write %d, recompute changed %d", len(a.Written), ra.GradeChanged)
	}
	if board.Position() == 0 || snaps.calls.Load() == 0 {
		t.Fatalf("position %d after %d reads of facts", board.Position(), snaps.calls.Load())
	}
}
