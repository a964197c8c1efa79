package projections_test

import (
	"bytes"
	"encoding/json"
	"slices"
	"testing"

	"partyledger/domain"
	"partyledger/projections"
)

func TestMissing(t *testing.T) {
	b := perfect(domain.KindBranch, true)
	b.drop(-1, after("2016-07-06", anyEvent)) // one July session (07-05) held so far
	q := projections.Query{Year: 2016, AsOf: domain.MustDate("2016-07-06"), KnownAt: testKnownAt, Schedule: b.schedules(t)}
	gaps, err := projections.Missing(b.facts(t), domain.Builtin2016(), q)
	if err != nil {
		t.Fatal(err)
	}
	byRule := map[string][]projections.Gap{}
	for _, g := range gaps {
		byRule[g.Rule] = append(byRule[g.Rule], g)
	}
	t.Run("this month's study sessions", func(t *testing.T) {
		want := []projections.Gap{{Item: "5.2", Rule: "5.2.sessions", Label: "政治学习", Period: "2016-07", Due: domain.MustDate("2016-07-31"), Have: 1, Need: 2}}
		if got := byRule["5.2.sessions"]; !slices.Equal(got, want) {
			t.Errorf("got %+v, want %+v", got, want)
		}
	})
	t.Run("this quarter's party lecture", func(t *testing.T) {
		if got := byRule["5.3.party_lecture"]; len(got) != 1 || got[0].Period != "2016-Q3" || got[0].Have != 0 {
			t.Errorf("got %+v", got)
		}
	})
	t.Run("the year's general assemblies", func(t *testing.T) {
		if got := byRule["5.3.general_assembly"]; len(got) != 1 || got[0].Period != "2016" || got[0].Have != 2 || got[0].Need != 4 {
			t.Errorf("got %+v", got)
		}
	})
	t.Run("this half's self inspection", func(t *testing.T) {
		if got := byRule["2.6.self_inspection"]; len(got) != 1 || got[0].Period != "2016-H2" {
			t.Errorf("got %+v", got)
		}
	})
	t.Run("this month's dues and this quarter's remittance", func(t *testing.T) {
		got := byRule["2.5.late"]
		if len(got) != 2 || got[0].Period != "2016-07" || got[0].Have != 0 || got[0].Need != 12 || got[1].Period != "2016-Q3" {
			t.Errorf("got %+v", got)
		}
	})
	t.Run("leaders' yearly activities", func(t *testing.T) {
		if got := byRule["5.4.activities"]; len(got) != 0 {
			t.Errorf("leaders have 6+ activities by July, got %+v", got)
		}
		if got := byRule["5.3.leader_lecture"]; len(got) != 0 {
			t.Errorf("both leaders lectured by July, got %+v", got)
		}
	})
	t.Run("nothing is missing once everything is closed", func(t *testing.T) {
		q := projections.Query{Year: 2016, KnownAt: testKnownAt}
		gaps, err := projections.Missing(perfect(domain.KindBranch, true).facts(t), domain.Builtin2016(), q)
		if err != nil || len(gaps) != 0 {
			t.Errorf("gaps = %+v, err %v", gaps, err)
		}
	})
}

func TestScoreAll(t *testing.T) {
	var facts []*projections.Facts
	for i, edit := range []func(b *book){
		nil,
		dropAll(isType(domain.TypeResearchReportSubmitted)),
		nil,
		dropAll(isType(domain.TypeIntegrityActivityHeld)),
	} {
		b := perfect(domain.KindBranch, true)
		code := []string{"LY-0004", "LY-0003", "LY-0002", "LY-0001"}[i]
		b.org = code
		for j := range b.evs {
			if r, ok := b.evs[j].Payload.(*domain.OrganizationRegistered); ok {
				c := *r
				c.Code = code
				b.evs[j].Payload = &c
			}
			b.evs[j].Stream = "org-" + code
		}
		if edit != nil {
			edit(b)
		}
		facts = append(facts, b.facts(t))
	}
	facts = append(facts, projections.NewFacts("LY-0009")) // never registered
	cards, err := projections.ScoreAll(facts, domain.Builtin2016(), projections.Query{Year: 2016, KnownAt: testKnownAt})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range cards {
		got = append(got, c.Org+" "+c.Final.String())
	}
	want := []string{"LY-0002 100", "LY-0004 100", "LY-0003 99", "LY-0001 97"}
	if !slices.Equal(got, want) {
		t.Errorf("ranking = %v, want %v", got, want)
	}
}

// TestRulebookIsData changes numbers in the rulebook document and sees
// the score follow, with no change to Go code.
func TestRulebookIsData(t *testing.T) {
	edit := func(t *testing.T, from, to string) *domain.Rulebook {
		t.Helper()
		doc := domain.Builtin2016JSON()
		if bytes.Count(doc, []byte(from)) != 1 {
			t.Fatalf("%q is not once in the document", from)
		}
		doc = bytes.Replace(doc, []byte(from), []byte(to), 1)
		rb, err := domain.ParseRulebook(doc)
		if err != nil {
			t.Fatal(err)
		}
		return rb
	}
	score := func(t *testing.T, rb *domain.Rulebook) *projections.Scorecard {
		t.Helper()
		b := workedExample(t)
		sc, err := projections.Score(b.facts(t), rb, projections.Query{Year: 2016, KnownAt: testKnownAt, Schedule: b.schedules(t)})
		if err != nil {
			t.Fatal(err)
		}
		return sc
	}
	t.Run("three general assemblies are enough", func(t *testing.T) {
		rb := edit(t, "\"values\": [\"general_assembly\"]}],\n         \"period\": \"year\", \"need\": 4,",
			"\"values\": [\"general_assembly\"]}],\n         \"period\": \"year\", \"need\": 3,")
		sc := score(t, rb)
		if sc.Online != pts("94") {
			t.Errorf("online = %s, want 94", sc.Online)
		}
		if sc.Rulebook.SHA256 == domain.Builtin2016().SHA256() {
			t.Error("the digest did not change with the document")
		}
	})
	t.Run("a grace period for dues", func(t *testing.T) {
		rb := edit(t, `"dues_grace_days": 0`, `"dues_grace_days": 5`)
		sc := score(t, rb)
		if sc.Online != pts("95.5") || len(sc.Vetoes) != 0 || sc.Tier != domain.TierAdvanced {
			t.Errorf("online %s vetoes %v tier %s, want 95.5, none, advanced", sc.Online, vetoCodes(sc), sc.Tier)
		}
	})
	t.Run("a heavier penalty for late dues", func(t *testing.T) {
		rb := edit(t, `"deduct": "once", "points": 2},
        {"id": "2.5.short"`, `"deduct": "once", "points": 3},
        {"id": "2.5.short"`)
		if sc := score(t, rb); sc.Online != pts("92.5") {
			t.Errorf("online = %s, want 92.5", sc.Online)
		}
	})
	t.Run("other weights", func(t *testing.T) {
		rb := edit(t, `{"online_percent": 50, "group_percent": 50}`, `{"online_percent": 70, "group_percent": 30}`)
		if sc := score(t, rb); sc.Final != pts("93.05") {
			t.Errorf("final = %s, want 93.05", sc.Final)
		}
	})
	t.Run("another tier threshold", func(t *testing.T) {
		rb := edit(t, `{"tier": "advanced", "min": 90}`, `{"tier": "advanced", "min": 95}`)
		if sc := score(t, rb); sc.TierByScore != domain.TierCompliant {
			t.Errorf("tier_by_score = %s, want compliant", sc.TierByScore)
		}
	})
	t.Run("no longer a veto", func(t *testing.T) {
		rb := edit(t, `"kind": "dues", "reason": "党费没有按时、足额缴纳的，不得评为先进党组织",
     "tier_max": "compliant"`, `"kind": "dues", "reason": "党费没有按时、足额缴纳的，不得评为先进党组织",
     "tier_max": "advanced"`)
		if sc := score(t, rb); sc.Tier != domain.TierAdvanced {
			t.Errorf("tier = %s, want advanced", sc.Tier)
		}
	})
}

func TestDeterminism(t *testing.T) {
	var first []byte
	for i := 0; i < 5; i++ {
		b := workedExample(t)
		b.finding("3.4", "discipline_breach", "")
		b.finding("3.4", "discipline_breach", "")
		b.add("2016-03-01", &domain.ViolationRecorded{CaseID: "c1", Person: "甲", Severity: domain.SeveritySerious, Impact: domain.ImpactSevere, Summary: "s"})
		b.add("2016-03-01", &domain.ViolationRecorded{CaseID: "c2", Person: "乙", Severity: domain.SeveritySerious, Impact: domain.ImpactNormal, Summary: "s"})
		cards, err := projections.ScoreAll([]*projections.Facts{b.facts(t)}, domain.Builtin2016(),
			projections.Query{Year: 2016, KnownAt: testKnownAt, Schedule: b.schedules(t)})
		if err != nil {
			t.Fatal(err)
		}
		raw, err := json.Marshal(cards[0])
		if err != nil {
			t.Fatal(err)
		}
		if first == nil {
			first = raw
			continue
		}
		if !bytes.Equal(first, raw) {
			t.Fatalf("run %d differs", i)
		}
	}
}

func TestPositionAt(t *testing.T) {
	b := perfect(domain.KindBranch, true)
	f := b.facts(t)
	if got, want := f.PositionAt(testKnownAt), uint64(f.Len()); got != want || f.Position() != want {
		t.Errorf("PositionAt(K) = %d, Position = %d, want %d", got, f.Position(), want)
	}
	if got := f.PositionAt(at("2014-12-31")); got != 0 {
		t.Errorf("PositionAt before the first event = %d, want 0", got)
	}
	// The events recorded by the evening of 2015-01-01 come first.
	n := uint64(0)
	for _, r := range b.evs {
		if !r.RecordedAt.After(at("2015-01-01")) {
			n++
		}
	}
	if got := f.PositionAt(at("2015-01-01")); got != n {
		t.Errorf("PositionAt(2015-01-01) = %d, want %d", got, n)
	}
}
