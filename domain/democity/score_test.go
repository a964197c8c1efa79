package democity_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"partyledger/domain"
	"partyledger/domain/democity"
	"partyledger/projections"
)

// scoreCity folds the journal as if it had been imported in one go on
// 2017-03-01 (one line a millisecond, in journal order) and scores every
// organisation for the year as known after the import.
func scoreCity(t testing.TB, c democity.City) map[string]*projections.Scorecard {
	t.Helper()
	base := time.Date(democity.Year+1, 3, 1, 0, 0, 0, 0, domain.CST)
	facts := map[string]*projections.Facts{}
	var order []*projections.Facts
	sched := projections.NewSchedule()
	for i, l := range c.Lines {
		e, err := parseLine(l)
		if err != nil {
			t.Fatalf("line %d: %v", i+1, err)
		}
		id := e.ID
		if id == "" {
			id = fmt.Sprintf("00000000-0000-4000-8000-%012d", i+1)
		}
		r := domain.Recorded{
			ID: id, Type: e.Type, Position: uint64(i + 1), OccurredOn: e.OccurredOn,
			RecordedAt: base.Add(time.Duration(i) * time.Millisecond), RecordedBy: "demo", Payload: e.Payload,
		}
		if e.Org == "" {
			if err := sched.Apply(r); err != nil {
				t.Fatalf("line %d: %v", i+1, err)
			}
			continue
		}
		f := facts[e.Org]
		if f == nil {
			f = projections.NewFacts(e.Org)
			facts[e.Org] = f
			order = append(order, f)
		}
		r.Revision = uint64(f.Len())
		if err := f.Apply(r); err != nil {
			t.Fatalf("line %d: %v", i+1, err)
		}
	}
	cards, err := projections.ScoreAll(order, domain.Builtin2016(), projections.Query{
		Year:     democity.Year,
		KnownAt:  base.Add(time.Duration(len(c.Lines)+1) * time.Millisecond),
		Schedule: sched,
	})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*projections.Scorecard{}
	for _, sc := range cards {
		out[sc.Org] = sc
	}
	return out
}

func TestScores(t *testing.T) {
	city := democity.Build(seed, democity.Options{})
	cards := scoreCity(t, city)
	if len(cards) != len(city.Orgs) {
		t.Fatalf("%d scorecards for %d organisations", len(cards), len(city.Orgs))
	}

	t.Run("exemplary_full_marks", func(t *testing.T) {
		for _, o := range city.Orgs {
			sc := cards[o.Code]
			if o.Profile != democity.Exemplary {
				continue
			}
			if sc.Online != domain.PointsOf(100) || sc.Tier != domain.TierAdvanced {
				t.Errorf("%s: online %s, tier %s, want 100 and advanced", o.Code, sc.Online, sc.Tier)
				for _, it := range sc.Items {
					for _, d := range it.Deductions {
						t.Logf("  %s %s −%s %s", it.Code, d.Rule, d.Points, d.Reason)
					}
				}
			}
		}
	})

	t.Run("vetoes_as_declared", func(t *testing.T) {
		for _, o := range city.Orgs {
			var got []string
			for _, v := range cards[o.Code].Vetoes {
				got = append(got, v.Code)
			}
			slices.Sort(got)
			if !slices.Equal(got, o.Vetoes) {
				t.Errorf("%s: vetoes %v, declared %v", o.Code, got, o.Vetoes)
			}
		}
	})

	t.Run("revision_2_shown", func(t *testing.T) {
		var founded, extended, partly int
		for _, o := range city.Orgs {
			sc := cards[o.Code]
			// The ranking covers the organisations directly under the work
			// committee: each revision-2 case is one of them.
			if (!o.FoundedOn.IsZero() || !o.TermExtendedUntil.IsZero() || o.PartlyLateDues) && o.ParentCode != "" {
				t.Errorf("%s shows revision 2 but is under %s: the ranking leaves it out", o.Code, o.ParentCode)
			}
			if !o.FoundedOn.IsZero() {
				founded++
				if sc.Founding == nil || sc.Founding.FoundedOn != o.FoundedOn || sc.Founding.Months != 6 {
					t.Errorf("%s: founding %+v, want 2016-07-01 and 6 months", o.Code, sc.Founding)
				}
				for _, it := range sc.Items {
					for _, c := range it.Counts {
						if strings.HasPrefix(c.Period, "2016-0") && c.Period < "2016-07" || c.Period == "2016-Q1" || c.Period == "2016-Q2" || c.Period == "2016-H1" {
							t.Errorf("%s: %s judged for %s, before the founding", o.Code, c.Rule, c.Period)
						}
					}
				}
			}
			if !o.TermExtendedUntil.IsZero() {
				extended++
				var notes []string
				for _, it := range sc.Items {
					if it.Code == "2.2" {
						for _, n := range it.Notes {
							notes = append(notes, n.Reason)
						}
						if len(it.Deductions) != 0 {
							t.Errorf("%s: 2.2 deductions %+v despite the extension", o.Code, it.Deductions)
						}
					}
				}
				if len(notes) != 1 || !strings.Contains(notes[0], "经上级批准延期换届至 "+o.TermExtendedUntil.String()) {
					t.Errorf("%s: 2.2 notes %v", o.Code, notes)
				}
			}
			if o.PartlyLateDues {
				partly++
				found := false
				for _, it := range sc.Items {
					for _, d := range it.Deductions {
						found = found || d.Rule == "2.5.late" && strings.Contains(d.Reason, "部分逾期补交")
					}
				}
				if !found || !slices.Contains(o.Vetoes, "V3") {
					t.Errorf("%s: no partly late dues in 2.5.late, or no V3 (%v)", o.Code, o.Vetoes)
				}
			}
		}
		if founded != 1 || extended != 1 || partly != 1 {
			t.Errorf("%d founded mid-year, %d with a term extension, %d partly late payers; want one each", founded, extended, partly)
		}
	})

	t.Run("provisional_as_declared", func(t *testing.T) {
		for _, o := range city.Orgs {
			sc := cards[o.Code]
			if sc.Provisional == o.HasGroupScore {
				t.Errorf("%s: provisional %v with group score recorded %v", o.Code, sc.Provisional, o.HasGroupScore)
			}
			if o.HasGroupScore && (sc.Group == nil || *sc.Group != o.GroupScore) {
				t.Errorf("%s: group %v, want %s", o.Code, sc.Group, o.GroupScore)
			}
		}
	})

	t.Run("tiers_spread", func(t *testing.T) {
		tiers := map[string]int{}
		byScore := map[string]int{}
		mean := map[democity.Profile][2]int64{}
		for _, o := range city.Orgs {
			sc := cards[o.Code]
			tiers[sc.Tier]++
			byScore[sc.TierByScore]++
			m := mean[o.Profile]
			mean[o.Profile] = [2]int64{m[0] + int64(sc.Online), m[1] + 1}
		}
		t.Logf("tiers %v; by score %v", tiers, byScore)
		for _, tier := range []string{domain.TierAdvanced, domain.TierCompliant, domain.TierNonCompliant} {
			if tiers[tier] == 0 {
				t.Errorf("no organisation is %s", tier)
			}
		}
		if byScore[domain.TierNonCompliant] == 0 {
			t.Error("no organisation is non_compliant by score alone")
		}
		avg := func(p democity.Profile) int64 { return mean[p][0] / max(mean[p][1], 1) }
		t.Logf("mean online: exemplary %s, average %s, sloppy %s, derelict %s",
			domain.Points(avg(democity.Exemplary)), domain.Points(avg(democity.Average)),
			domain.Points(avg(democity.Sloppy)), domain.Points(avg(democity.Derelict)))
		if !(avg(democity.Exemplary) > avg(democity.Average) && avg(democity.Average) > avg(democity.Sloppy) && avg(democity.Sloppy) > avg(democity.Derelict)) {
			t.Error("mean online scores should fall from exemplary to derelict")
		}
	})
}

func parseLine(l domain.JournalLine) (domain.Entry, error) {
	b, err := jsonMarshal(l)
	if err != nil {
		return domain.Entry{}, err
	}
	return domain.ParseJournalLine(b)
}
