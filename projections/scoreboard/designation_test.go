package scoreboard_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"partyledger/domain"
	"partyledger/ledger/books"
	"partyledger/projections/scoreboard"
)

// TestGradesNeedDesignation: `grade issue` gives 达标 to an eligible
// organisation the work committee has not designated and 先进 to a
// designated one; a designation of an organisation that is not eligible
// is refused, and so is a grade unlike the computation without a reason.
func TestGradesNeedDesignation(t *testing.T) {
	bk := city(t, 40)
	ctx := context.Background()
	board := scoreboard.New(bk, scoreboard.Options{Now: bk.Now})
	cards, err := board.ScoreAll(ctx, scoreboard.Query{Year: 2016, Under: scoreboard.AllOrgs})
	if err != nil {
		t.Fatal(err)
	}
	var eligible, not []string
	for _, sc := range cards {
		if sc.Tier == domain.TierAdvanced {
			eligible = append(eligible, sc.Org)
		} else {
			not = append(not, sc.Org)
		}
	}
	if len(eligible) < 2 || len(not) == 0 {
		t.Fatalf("the demo city has %d eligible and %d other organisations; want at least 2 and 1", len(eligible), len(not))
	}
	admin := domain.Principal{TokenID: "4123456789abcdef", Role: domain.AccessAdmin, Name: "工委"}
	designate := func(code string) error {
		e, err := domain.ParseJournalLine([]byte(fmt.Sprintf(`{"type":"AdvancedDesignated","occurred_on":"2017-01-31","data":{"year":2016,"codes":[%q],"reason":"工委会议确定"}}`, code)))
		if err != nil {
			t.Fatal(err)
		}
		_, err = bk.RecordAs(ctx, []domain.Entry{e}, admin, books.RecordOptions{})
		return err
	}
	if err := designate(not[0]); err == nil {
		t.Fatalf("%s designated though not eligible", not[0])
	}
	if err := designate(eligible[0]); err != nil {
		t.Fatal(err)
	}
	run, err := board.IssueGrades(ctx, 2016, scoreboard.GradeOptions{Under: scoreboard.AllOrgs, By: "admin", AllowProvisional: true})
	if err != nil {
		t.Fatal(err)
	}
	tiers := map[string]string{}
	for _, w := range run.Written {
		tiers[w.Org] = w.Tier
	}
	if tiers[eligible[0]] != domain.TierAdvanced {
		t.Errorf("the designated %s is graded %s", eligible[0], tiers[eligible[0]])
	}
	for _, code := range eligible[1:] {
		if tiers[code] != domain.TierCompliant {
			t.Errorf("the eligible, undesignated %s is graded %s", code, tiers[code])
		}
	}
	gs, err := bk.OrgGrades(ctx, eligible[1], 2016)
	if err != nil || len(gs) != 1 || gs[0].Tier != domain.TierCompliant || gs[0].OverrideReason != "" {
		t.Fatalf("stored grade %+v %v", gs, err)
	}
	t.Run("a grade unlike the computation needs a reason", func(t *testing.T) {
		prev := gs[0]
		_, _, err := bk.ReviseGrade(ctx, &prev, domain.MustDate("2017-02-01"), &domain.GradeRevised{Year: 2016, RulebookVersion: "2016.1",
			Final: prev.Final - 100, Tier: prev.Tier, Reason: "复核"}, domain.LocalAdmin("admin"))
		var fe *domain.FieldError
		if !errors.As(err, &fe) || fe.Field != "data.override_reason" {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("rankings cover the top level by default", func(t *testing.T) {
		top, err := board.ScoreAll(ctx, scoreboard.Query{Year: 2016})
		if err != nil {
			t.Fatal(err)
		}
		for _, sc := range top {
			if sc.ParentCode != "" {
				t.Fatalf("%s (under %s) ranked at the top level", sc.Org, sc.ParentCode)
			}
		}
		for _, sc := range cards {
			if sc.ParentCode == "" {
				continue
			}
			sub, err := board.ScoreAll(ctx, scoreboard.Query{Year: 2016, Under: sc.ParentCode})
			if err != nil {
				t.Fatal(err)
			}
			found := false
			for _, s := range sub {
				found = found || s.Org == sc.Org
			}
			if !found || len(top)+len(sub) > len(cards) {
				t.Fatalf("%s is not in its parent's subtree ranking", sc.Org)
			}
			return
		}
		t.Log("no organisation of the city has a parent")
	})
}
