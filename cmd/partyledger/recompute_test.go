package main

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"partyledger/projections"
	"partyledger/projections/scoreboard"
)

func scorecards(t testing.TB, out string) map[string]*projections.Scorecard {
	t.Helper()
	var cards []*projections.Scorecard
	if err := json.Unmarshal([]byte(out), &cards); err != nil {
		t.Fatal(err)
	}
	m := map[string]*projections.Scorecard{}
	for _, sc := range cards {
		m[sc.Org] = sc
	}
	return m
}

func itemJSON(t testing.TB, sc *projections.Scorecard, code string) string {
	t.Helper()
	for _, it := range sc.Items {
		if it.Code == code {
			b, _ := json.Marshal([]any{it.Value, it.Score, it.Deductions})
			return string(b)
		}
	}
	return "absent"
}

// TestCorrectionEndToEnd is the work committee's correction on the demo
// city, through the command line: grades issued under the built-in
// rulebook; a corrected 2016.2 published; recompute checked against every
// organisation scored on its own under each version; grade revise writing
// exactly for the organisations that changed (and nothing the second
// time); and the scorecards as known before the correction unchanged,
// byte for byte.
func TestCorrectionEndToEnd(t *testing.T) {
	journal := cityJournal(t, 24)
	dir := t.TempDir()
	c := newClock()
	run := func(args ...string) result { return cli(t, c, "", append([]string{"--data", dir}, args...)...) }
	mustOK(t, run("import", journal, "--quiet"))

	issued := mustOK(t, run("grade", "issue", "--under", "*", "--year", "2016", "--provisional"))
	if !strings.Contains(issued.stdout, "评定 24 个组织，0 个跳过") {
		t.Fatalf("grade issue:\n%s", issued.stdout)
	}
	k0 := c.Now().Format(time.RFC3339Nano)
	before := mustOK(t, run("score", "--all", "--under", "*", "--json", "--known-at", k0)).stdout

	shown := mustOK(t, run("rulebook", "show", "2016.1")).stdout
	p := writeTemp(t, "2016.2.json", corrected2016JSON(t, shown))
	mustOK(t, run("rulebook", "publish", p, "--reason", "5.3 支部党员大会不少于3次；党费1.5%档上限更正为9000元"))

	var rep projections.RecomputeReport
	if err := json.Unmarshal([]byte(mustOK(t, run("recompute", "--year", "2016", "--from", "2016.1", "--to", "2016.2", "--json")).stdout), &rep); err != nil {
		t.Fatal(err)
	}
	// Independently: every organisation under each version.
	old := scorecards(t, mustOK(t, run("score", "--all", "--under", "*", "--json", "--rulebook", "2016.1")).stdout)
	cur := scorecards(t, mustOK(t, run("score", "--all", "--under", "*", "--json", "--rulebook", "2016.2")).stdout)
	if len(old) != 24 || len(cur) != 24 {
		t.Fatalf("%d and %d scorecards", len(old), len(cur))
	}
	var want []string
	moves := map[[2]string]int{}
	for code, a := range old {
		b := cur[code]
		moves[[2]string{a.Tier, b.Tier}]++
		if a.Final != b.Final || a.Tier != b.Tier {
			want = append(want, code)
		}
	}
	slices.Sort(want)
	var got []string
	for _, d := range rep.Changed {
		got = append(got, d.Org)
		a, b := old[d.Org], cur[d.Org]
		if d.Old.Final != a.Final || d.New.Final != b.Final || d.Old.Tier != a.Tier || d.New.Tier != b.Tier {
			t.Errorf("%s: recompute %s %s → %s %s; scores %s %s → %s %s", d.Org, d.Old.Final, d.Old.Tier, d.New.Final, d.New.Tier,
				a.Final, a.Tier, b.Final, b.Tier)
		}
		var items, wantItems []string
		for _, it := range d.Items {
			items = append(items, it.Code)
		}
		for _, it := range b.Items {
			if itemJSON(t, a, it.Code) != itemJSON(t, b, it.Code) {
				wantItems = append(wantItems, it.Code)
			}
		}
		if !slices.Equal(items, wantItems) {
			t.Errorf("%s: items %v, want %v", d.Org, items, wantItems)
		}
	}
	if !slices.Equal(got, want) || len(want) == 0 {
		t.Fatalf("recompute changed %v, want %v", got, want)
	}
	for _, tr := range rep.Transitions {
		if moves[[2]string{tr.From, tr.To}] != tr.Orgs {
			t.Errorf("transition %s→%s: %d, want %d", tr.From, tr.To, tr.Orgs, moves[[2]string{tr.From, tr.To}])
		}
	}
	if rep.TierChanged == 0 {
		t.Error("the correction moved no organisation between tiers")
	}
	t.Logf("%d of 24 changed, %d tier: %+v", rep.GradeChanged, rep.TierChanged, rep.Transitions)

	t.Run("the report in Chinese", func(t *testing.T) {
		out := mustOK(t, run("recompute", "--year", "2016", "--from", "2016.1", "--to", "2016.2")).stdout
		for _, w := range []string{"2016 年度重算：细则 2016.1", "其中等次变化", "先进    → 达标", want[0], "原：", "新："} {
			if !strings.Contains(out, w) {
				t.Errorf("report lacks %q:\n%s", w, out)
			}
		}
	})
	t.Run("unknown version", func(t *testing.T) {
		r := run("recompute", "--year", "2016", "--from", "2016.1", "--to", "2017.1")
		if exitCode(r.err) != 2 || !strings.Contains(r.err.Error(), `--to: no rulebook version "2017.1" for 2016 (versions of 2016: 2016.1, 2016.2)`) {
			t.Fatalf("err %v", r.err)
		}
		if r := run("recompute", "--year", "2016", "--from", "2016.1"); exitCode(r.err) != 2 {
			t.Fatalf("without --to: %v", r.err)
		}
	})

	var revised scoreboard.GradeRun
	if err := json.Unmarshal([]byte(mustOK(t, run("grade", "revise", "--under", "*", "--year", "2016", "--reason", "细则 2016.2 更正", "--provisional", "--json")).stdout), &revised); err != nil {
		t.Fatal(err)
	}
	t.Run("grade revise touches exactly the changed organisations", func(t *testing.T) {
		var orgs []string
		for _, w := range revised.Written {
			orgs = append(orgs, w.Org)
		}
		if !slices.Equal(orgs, want) || revised.Unchanged != 24-len(want) {
			t.Fatalf("revised %v (%d unchanged), want %v", orgs, revised.Unchanged, want)
		}
		var latest []gradeJSON
		if err := json.Unmarshal([]byte(mustOK(t, run("grade", "list", "--year", "2016", "--json")).stdout), &latest); err != nil {
			t.Fatal(err)
		}
		for _, g := range latest {
			changed := slices.Contains(want, g.Org)
			if changed != (g.Type == "GradeRevised") || (changed && (g.RulebookVersion != "2016.2" || g.Final != cur[g.Org].Final)) ||
				(!changed && g.RulebookVersion != "2016.1") {
				t.Errorf("%s: latest grade %+v (changed %v)", g.Org, g, changed)
			}
		}
		h := mustOK(t, run("grade", "history", "--org", want[0], "--year", "2016")).stdout
		for _, w := range []string{"评定等次  2016.1", "更正等次  2016.2", "细则 2016.2 更正", "现行等次："} {
			if !strings.Contains(h, w) {
				t.Errorf("history lacks %q:\n%s", w, h)
			}
		}
	})
	t.Run("a second revise writes nothing and says so", func(t *testing.T) {
		v := eventCount(t, c, dir)
		r := mustOK(t, run("grade", "revise", "--under", "*", "--year", "2016", "--reason", "复核", "--provisional"))
		if !strings.Contains(r.stdout, "等次均无变化，未写入任何事件") {
			t.Fatalf("revise:\n%s", r.stdout)
		}
		if eventCount(t, c, dir) != v {
			t.Fatal("the ledger grew")
		}
	})
	t.Run("known_at before the correction gives the old scorecards byte for byte", func(t *testing.T) {
		if after := mustOK(t, run("score", "--all", "--under", "*", "--json", "--known-at", k0)).stdout; after != before {
			t.Fatal("the scorecards as known before the correction changed")
		}
	})
}
