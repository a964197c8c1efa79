package main

import (
	"encoding/json"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"partyledger/projections/scoreboard"
)

func TestGradeCommands(t *testing.T) {
	journal := cityJournal(t, 8)
	dir := t.TempDir()
	c := newClock()
	run := func(args ...string) result { return cli(t, c, "", append([]string{"--data", dir}, args...)...) }
	mustOK(t, run("import", journal, "--quiet"))
	events := eventCount(t, c, dir)

	t.Run("usage", func(t *testing.T) {
		if r := run("grade", "revise", "--under", "*", "--year", "2016"); exitCode(r.err) != 2 || !strings.Contains(r.err.Error(), "--reason is required") {
			t.Fatalf("revise without a reason: %v", r.err)
		}
		if r := run("grade", "history", "--year", "2016"); exitCode(r.err) != 2 {
			t.Fatalf("history without --org: %v", r.err)
		}
		if r := run("grade", "frobnicate"); exitCode(r.err) != 2 {
			t.Fatalf("unknown subcommand: %v", r.err)
		}
		if r := run("grade", "history", "--org", "LY-9999", "--year", "2016"); r.err == nil || !strings.Contains(r.err.Error(), "not registered") {
			t.Fatalf("history of an unknown org: %v", r.err)
		}
	})
	t.Run("before any grade", func(t *testing.T) {
		r := mustOK(t, run("grade", "revise", "--under", "*", "--year", "2016", "--reason", "更正", "--provisional"))
		if !strings.Contains(r.stdout, "未写入任何事件") || !strings.Contains(r.stdout, "尚未评定；请先 grade issue") {
			t.Fatalf("revise before issue:\n%s", r.stdout)
		}
		if h := mustOK(t, run("grade", "history", "--org", "LY-0001", "--year", "2016")).stdout; !strings.Contains(h, "尚无正式等次") {
			t.Fatalf("history:\n%s", h)
		}
		if l := mustOK(t, run("grade", "list", "--year", "2016")).stdout; !strings.Contains(l, "尚未评定") {
			t.Fatalf("list:\n%s", l)
		}
	})
	t.Run("dry run writes nothing", func(t *testing.T) {
		r := mustOK(t, run("grade", "issue", "--under", "*", "--year", "2016", "--dry-run", "--provisional"))
		if !strings.Contains(r.stdout, "拟评定 8 个组织") {
			t.Fatalf("dry run:\n%s", r.stdout)
		}
		// Neither it nor the revision above wrote anything, not even the
		// built-in rulebook's publication.
		if n := eventCount(t, c, dir); n != events {
			t.Fatalf("%d events, %d before", n, events)
		}
	})

	var run1 scoreboard.GradeRun
	if err := json.Unmarshal([]byte(mustOK(t, run("grade", "issue", "--under", "*", "--year", "2016", "--json")).stdout), &run1); err != nil {
		t.Fatal(err)
	}
	t.Run("provisional scores wait for --provisional", func(t *testing.T) {
		provisional := 0
		for _, s := range run1.Skipped {
			if strings.Contains(s.Reason, "暂定") {
				provisional++
			}
		}
		if len(run1.Written)+provisional != 8 {
			t.Fatalf("written %d, provisional skipped %d", len(run1.Written), provisional)
		}
		r := mustOK(t, run("grade", "issue", "--under", "*", "--year", "2016", "--provisional"))
		if !strings.Contains(r.stdout, "已评定（") {
			t.Fatalf("second issue:\n%s", r.stdout)
		}
	})
	t.Run("the built-in rulebook was recorded on first use", func(t *testing.T) {
		out := mustOK(t, run("rulebook", "list")).stdout
		if !strings.Contains(out, "2016.1  现行  ") || strings.Contains(out, "尚未登记") {
			t.Fatalf("list:\n%s", out)
		}
	})
	t.Run("history", func(t *testing.T) {
		var gs []gradeJSON
		code := run1.Written[0].Org
		if err := json.Unmarshal([]byte(mustOK(t, run("grade", "history", "--org", code, "--year", "2016", "--json")).stdout), &gs); err != nil {
			t.Fatal(err)
		}
		if len(gs) != 1 || gs[0].Type != "GradeIssued" || gs[0].RulebookVersion != "2016.1" ||
			gs[0].ScorecardSHA256 != run1.Written[0].ScorecardSHA256 || gs[0].Final != run1.Written[0].Final {
			t.Fatalf("history %+v, issued %+v", gs, run1.Written[0])
		}
	})
	t.Run("a grade that differs from the computation needs and shows its override reason", func(t *testing.T) {
		w := run1.Written[0]
		revise := func(override string) result {
			data := map[string]any{"year": 2016, "rulebook_version": "2016.1", "final": 12, "tier": w.Tier,
				"reason": "申诉复核", "scorecard_sha256": w.ScorecardSHA256}
			if override != "" {
				data["override_reason"] = override
			}
			b, _ := json.Marshal(data)
			return run("record", "--org", w.Org, "--type", "GradeRevised", "--occurred-on", "2017-02-28", "--data", string(b))
		}
		if r := revise(""); exitCode(r.err) != 1 || !strings.Contains(r.stderr, "data.override_reason: required") {
			t.Fatalf("without an override reason: %v\n%s", r.err, r.stderr)
		}
		const why = "申诉结果：复核后改定"
		mustOK(t, revise(why))
		h := mustOK(t, run("grade", "history", "--org", w.Org, "--year", "2016")).stdout
		if !strings.Contains(h, "改定理由") || !strings.Contains(h, "现行等次：12 ") || !strings.Contains(h, "改定理由："+why) {
			t.Fatalf("history does not show the override reason:\n%s", h)
		}
		var gs []gradeJSON
		if err := json.Unmarshal([]byte(mustOK(t, run("grade", "history", "--org", w.Org, "--year", "2016", "--json")).stdout), &gs); err != nil {
			t.Fatal(err)
		}
		if len(gs) != 2 || gs[0].OverrideReason != "" || gs[1].OverrideReason != why {
			t.Fatalf("history JSON %+v", gs)
		}
		l := mustOK(t, run("grade", "list", "--year", "2016")).stdout
		if !strings.Contains(l, "改定理由") || !strings.Contains(l, why) {
			t.Fatalf("list does not show the override reason:\n%s", l)
		}
		var latest []gradeJSON
		if err := json.Unmarshal([]byte(mustOK(t, run("grade", "list", "--year", "2016", "--json")).stdout), &latest); err != nil {
			t.Fatal(err)
		}
		for _, g := range latest {
			if (g.Org == w.Org) != (g.OverrideReason == why) {
				t.Fatalf("list JSON %+v", g)
			}
		}
	})
}

var verifiedEvents = regexp.MustCompile(`(\d+) 个事件 events`)

// eventCount returns the number of events verify reports.
func eventCount(t testing.TB, c *testClock, dir string) int {
	t.Helper()
	m := verifiedEvents.FindStringSubmatch(countEvents(t, c, dir))
	if m == nil {
		t.Fatal("verify printed no event count")
	}
	n, _ := strconv.Atoi(m[1])
	return n
}
