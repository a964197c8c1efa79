package projections_test

import (
	"fmt"
	"runtime"
	"slices"
	"testing"

	"partyledger/domain"
	"partyledger/projections"
)

// correction2016 is a corrected 2016 rulebook: the general-assembly
// minimum of 5.3 lowered from 4 to 3, and the dues veto V3 dropped.
func correction2016(t testing.TB, dropV3 bool) *domain.Rulebook {
	t.Helper()
	rb := domain.Builtin2016().Clone()
	rb.Version = "2016.2"
	for i := range rb.Item("5.3").Rules {
		if r := &rb.Item("5.3").Rules[i]; r.ID == "5.3.general_assembly" {
			r.Need = 3
		}
	}
	if dropV3 {
		rb.Vetoes = slices.DeleteFunc(rb.Vetoes, func(v domain.VetoRule) bool { return v.Code == "V3" })
	}
	if err := rb.Validate(); err != nil {
		t.Fatal(err)
	}
	return rb
}

func scoreUnder(t testing.TB, b *book, rb *domain.Rulebook) *projections.Scorecard {
	t.Helper()
	sc, err := projections.Score(b.facts(t), rb, projections.Query{Year: 2016, KnownAt: testKnownAt, Schedule: b.schedules(t)})
	if err != nil {
		t.Fatal(err)
	}
	return sc
}

func TestDiffScorecards(t *testing.T) {
	b := workedExample(t)
	old := scoreUnder(t, b, domain.Builtin2016())
	t.Run("same rulebook", func(t *testing.T) {
		d := projections.DiffScorecards(old, scoreUnder(t, b, domain.Builtin2016()))
		if d.GradeChanged() || len(d.Items) != 0 {
			t.Fatalf("diff of equal scorecards: %+v", d)
		}
	})
	t.Run("general assembly minimum lowered", func(t *testing.T) {
		nb := correction2016(t, false)
		d := projections.DiffScorecards(old, scoreUnder(t, b, nb))
		if got, want := d.New.Online-d.Old.Online, pts("0.5"); got != want {
			t.Errorf("online moved by %s, want %s", got, want)
		}
		if d.Old.Final != pts("92.75") || d.New.Final != pts("93") || !d.GradeChanged() {
			t.Errorf("final %s → %s", d.Old.Final, d.New.Final)
		}
		if d.Old.Tier != domain.TierCompliant || d.New.Tier != domain.TierCompliant {
			t.Errorf("tier %s → %s: V3 still caps it", d.Old.Tier, d.New.Tier)
		}
		if d.Old.Rulebook.Version != "2016.1" || d.New.Rulebook.Version != "2016.2" || d.New.Rulebook.SHA256 != nb.SHA256() {
			t.Errorf("rulebooks %+v → %+v", d.Old.Rulebook, d.New.Rulebook)
		}
		if len(d.Items) != 1 || d.Items[0].Code != "5.3" {
			t.Fatalf("items %+v", d.Items)
		}
		it := d.Items[0]
		if len(it.Old.Deductions) != 1 || it.Old.Deductions[0].Rule != "5.3.general_assembly" || it.Old.Deductions[0].Reason == "" {
			t.Errorf("old deductions %+v", it.Old.Deductions)
		}
		if len(it.New.Deductions) != 0 || it.New.Score != it.New.Value || it.Old.Score != it.Old.Value-pts("0.5") {
			t.Errorf("new side %+v, old score %s", it.New, it.Old.Score)
		}
	})
	t.Run("veto dropped", func(t *testing.T) {
		d := projections.DiffScorecards(old, scoreUnder(t, b, correction2016(t, true)))
		if d.Old.Tier != domain.TierCompliant || d.New.Tier != domain.TierAdvanced || len(d.New.Vetoes) != 0 || len(d.Old.Vetoes) != 1 {
			t.Fatalf("tier %s → %s, vetoes %v → %v", d.Old.Tier, d.New.Tier, d.Old.Vetoes, d.New.Vetoes)
		}
	})
}

func TestRecomputeAll(t *testing.T) {
	// A small city: perfect books of each kind, the worked example, and
	// variants missing one general assembly or two.
	var books []*book
	for i, kind := range []domain.OrgKind{domain.KindBranch, domain.KindGeneralBranch, domain.KindCommittee} {
		b := perfect(kind, true)
		b.org = fmt.Sprintf("LY-%04d", i+1)
		books = append(books, renamed(b))
	}
	for i := range 4 {
		b := workedExample(t)
		b.org = fmt.Sprintf("LY-%04d", 10+i)
		b.drop(i%3, isMeeting(domain.MeetingGeneralAssembly))
		if i == 3 {
			b.drop(-1, duesOf("m05", "2016-03")) // no late dues: no V3
			b.add("2016-03-20", &domain.DuesPaid{MemberID: "m05", Month: "2016-03", AmountFen: domain.Builtin2016().Dues.Expected(500001)})
		}
		books = append(books, renamed(b))
	}
	facts := make([]*projections.Facts, len(books))
	for i, b := range books {
		facts[i] = b.facts(t)
	}
	q := projections.Query{Year: 2016, KnownAt: testKnownAt, Schedule: books[0].schedules(t)}
	for _, dropV3 := range []bool{false, true} {
		t.Run(fmt.Sprintf("dropV3=%v", dropV3), func(t *testing.T) {
			from, to := domain.Builtin2016(), correction2016(t, dropV3)
			rep, err := projections.RecomputeAll(facts, from, to, q)
			if err != nil {
				t.Fatal(err)
			}
			// Independently: score each under both and compare.
			var changed []string
			moves := map[[2]string]int{}
			tierChanged := 0
			for _, f := range facts {
				a, err := projections.Score(f, from, q)
				if err != nil {
					t.Fatal(err)
				}
				b, err := projections.Score(f, to, q)
				if err != nil {
					t.Fatal(err)
				}
				moves[[2]string{a.Tier, b.Tier}]++
				if a.Final != b.Final || a.Tier != b.Tier {
					changed = append(changed, a.Org)
				}
				if a.Tier != b.Tier {
					tierChanged++
				}
			}
			slices.Sort(changed)
			var got []string
			for _, d := range rep.Changed {
				got = append(got, d.Org)
				if !d.GradeChanged() || len(d.Items) == 0 {
					t.Errorf("%s: listed without a grade change or items: %+v", d.Org, d)
				}
			}
			if !slices.Equal(got, changed) {
				t.Errorf("changed %v, want %v", got, changed)
			}
			if rep.Orgs != len(facts) || rep.GradeChanged != len(changed) || rep.TierChanged != tierChanged {
				t.Errorf("counts %d/%d/%d, want %d/%d/%d", rep.Orgs, rep.GradeChanged, rep.TierChanged, len(facts), len(changed), tierChanged)
			}
			sum := 0
			for _, tr := range rep.Transitions {
				if moves[[2]string{tr.From, tr.To}] != tr.Orgs {
					t.Errorf("transition %s→%s: %d, want %d", tr.From, tr.To, tr.Orgs, moves[[2]string{tr.From, tr.To}])
				}
				sum += tr.Orgs
			}
			if sum != len(facts) || len(rep.Transitions) != len(moves) {
				t.Errorf("transitions %+v, want %v", rep.Transitions, moves)
			}
			if rep.From.Version != "2016.1" || rep.To.Version != "2016.2" || rep.To.SHA256 != to.SHA256() {
				t.Errorf("report rulebooks %+v %+v", rep.From, rep.To)
			}
			if dropV3 && tierChanged == 0 {
				t.Error("dropping V3 moved no organisation between tiers")
			}
		})
	}
}

// renamed gives a book's events the stream and registration of its code.
func renamed(b *book) *book {
	for j := range b.evs {
		if r, ok := b.evs[j].Payload.(*domain.OrganizationRegistered); ok {
			c := *r
			c.Code = b.org
			b.evs[j].Payload = &c
		}
		b.evs[j].Stream = "org-" + b.org
	}
	return b
}

// BenchmarkRecompute scores a 10,000-organisation year under the 2016
// rulebook and a correction of it, from facts already folded (what
// scoreboard.Recompute does once its facts are live: no replay), and
// builds the report.
func BenchmarkRecompute(b *testing.B) {
	fs, sched := cityFacts(b, 10000)
	from, to := domain.Builtin2016(), correction2016(b, true)
	q := projections.Query{Year: 2016, KnownAt: testKnownAt, Schedule: sched}
	runtime.GC() // the garbage of building the facts is not the recompute's
	b.ReportAllocs()
	b.ResetTimer()
	var rep *projections.RecomputeReport
	for b.Loop() {
		var err error
		rep, err = projections.RecomputeAll(fs, from, to, q)
		if err != nil || rep.Orgs != len(fs) {
			b.Fatalf("%v, %d orgs", err, rep.Orgs)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(fs)), "ns/org")
	b.Logf("%d organisations, %d changed, %d changed tier, transitions %+v", rep.Orgs, rep.GradeChanged, rep.TierChanged, rep.Transitions)
}
