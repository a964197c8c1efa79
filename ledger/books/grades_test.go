package books_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"partyledger/domain"
	"partyledger/ledger/books"
)

// basisByVersion is a grade basis that computes, for every organisation,
// the final score of its table by rulebook version (compliant).
func basisByVersion(finals map[string]domain.Points) books.GradeBasisFunc {
	return func(_ context.Context, _ string, _ int, version string, _ time.Time) (domain.GradeBasis, error) {
		f, ok := finals[version]
		if !ok {
			return domain.GradeBasis{}, &domain.FieldError{Field: "rulebook", Reason: "no version " + version}
		}
		return domain.GradeBasis{Final: f, Tier: domain.TierCompliant}, nil
	}
}

func TestGrades(t *testing.T) {
	ctx := context.Background()
	shared := sharedStore(t)
	basis := basisByVersion(map[string]domain.Points{"2016.1": 9275, "2016.2": 9300})
	bk := func() *books.Books {
		b := shared()
		b.SetGradeBasis(basis)
		return b
	}
	b := bk()
	reg2 := `{"org":"LY-0002","type":"OrganizationRegistered","occurred_on":"2016-01-04","data":{"code":"LY-0002","name":"二支部","kind":"branch","has_groups":false}}`
	if _, err := b.Record(ctx, parse(t, reg), "t", books.RecordOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Record(ctx, parse(t, reg2), "t", books.RecordOptions{}); err != nil {
		t.Fatal(err)
	}
	on := domain.MustDate("2017-02-01")
	issued := &domain.GradeIssued{Year: 2016, RulebookVersion: "2016.1", Final: 9275, Tier: domain.TierCompliant, ScorecardSHA256: strings.Repeat("ab", 32)}

	t.Run("issue publishes the built-in rulebook first", func(t *testing.T) {
		id, dup, err := b.IssueGrade(ctx, "LY-0001", on, issued, domain.LocalAdmin("admin"))
		if err != nil || dup || id != books.GradeIssuedID("LY-0001", 2016).String() {
			t.Fatalf("%s %v %v", id, dup, err)
		}
		gs, err := b.OrgGrades(ctx, "LY-0001", 2016)
		if err != nil || len(gs) != 1 {
			t.Fatalf("grades %+v %v", gs, err)
		}
		all, err := b.Rulebooks(ctx, 2016)
		if err != nil || len(all) != 1 || all[0].Builtin || !all[0].RecordedAt.Before(gs[0].RecordedAt) {
			t.Fatalf("rulebooks %+v %v", all, err)
		}
	})
	t.Run("issued once", func(t *testing.T) {
		_, dup, err := bk().IssueGrade(ctx, "LY-0001", on, issued, domain.LocalAdmin("admin"))
		if err != nil || !dup {
			t.Fatalf("same grade again: %v %v", dup, err)
		}
		other := *issued
		other.Final = 9300
		if _, _, err := bk().IssueGrade(ctx, "LY-0001", on, &other, domain.LocalAdmin("admin")); !errors.Is(err, books.ErrGradeExists) {
			t.Fatalf("another grade: err = %v", err)
		}
	})
	t.Run("invalid grade", func(t *testing.T) {
		bad := *issued
		bad.Tier = "gold"
		if _, _, err := b.IssueGrade(ctx, "LY-0002", on, &bad, domain.LocalAdmin("admin")); err == nil {
			t.Fatal("accepted")
		}
		if _, _, err := b.IssueGrade(ctx, "LY-0009", on, issued, domain.LocalAdmin("admin")); err == nil {
			t.Fatal("grade of an unregistered organisation accepted")
		}
	})
	t.Run("revise", func(t *testing.T) {
		gs, err := b.OrgGrades(ctx, "LY-0001", 2016)
		if err != nil || len(gs) != 1 || gs[0].Revised() || gs[0].Final != 9275 || gs[0].RecordedBy != "admin" {
			t.Fatalf("grades %+v %v", gs, err)
		}
		rev := &domain.GradeRevised{Year: 2016, RulebookVersion: "2016.2", Final: 9300, Tier: domain.TierCompliant, Reason: "细则更正"}
		if _, _, err := b.ReviseGrade(ctx, &gs[0], on, rev, domain.LocalAdmin("admin")); err != nil {
			t.Fatal(err)
		}
		// A second revision of the same grade (a stale reader) is refused.
		stale := *rev
		stale.Final = 9400
		stale.OverrideReason = "申诉结果：复核后 94 分"
		if _, _, err := bk().ReviseGrade(ctx, &gs[0], on, &stale, domain.LocalAdmin("admin")); !errors.Is(err, books.ErrGradeExists) {
			t.Fatalf("second revision of one grade: err = %v", err)
		}
		gs, _ = b.OrgGrades(ctx, "LY-0001", 2016)
		if len(gs) != 2 || !gs[1].Revised() || gs[1].Reason != "细则更正" || gs[1].RulebookVersion != "2016.2" {
			t.Fatalf("grades %+v", gs)
		}
		if _, _, err := b.ReviseGrade(ctx, &gs[1], on, &stale, domain.LocalAdmin("admin")); err != nil {
			t.Fatalf("revising the latest grade: %v", err)
		}
	})
	t.Run("every organisation in one pass", func(t *testing.T) {
		all, err := bk().Grades(ctx, 2016)
		if err != nil || len(all) != 1 || len(all["LY-0001"]) != 3 || all["LY-0001"][2].Final != 9400 {
			t.Fatalf("%+v %v", all, err)
		}
		if none, err := b.Grades(ctx, 2015); err != nil || len(none) != 0 {
			t.Fatalf("2015: %+v %v", none, err)
		}
		if gs, err := b.OrgGrades(ctx, "LY-0404", 2016); err != nil || len(gs) != 0 {
			t.Fatalf("unknown org: %+v %v", gs, err)
		}
	})
}
