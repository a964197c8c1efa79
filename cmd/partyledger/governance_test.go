package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestYearCloseOnTheCommandLine: the close (封账) refuses the
// organisation's own entries of that year through record and import as it
// does through the API — the local admin included — with the close named
// and the entry's field, and import appends nothing.
func TestYearCloseOnTheCommandLine(t *testing.T) {
	dir := t.TempDir()
	c := newClock()
	run := func(args ...string) result { return cli(t, c, "", append([]string{"--data", dir}, args...)...) }
	mustOK(t, run("import", cityJournal(t, 4), "--quiet"))
	out := mustOK(t, run("record", "--type", "YearClosed", "--occurred-on", "2017-02-20", "--data", `{"year":2016,"reason":"2016年度考核结束封账"}`)).stdout
	m := regexp.MustCompile(`id=(\S+)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("record YearClosed: %s", out)
	}
	closed := "occurred_on: 2016 is closed (封账: YearClosed " + m[1] + " of 2017-02-20"
	events := eventCount(t, c, dir)

	r := run("record", "--org", "LY-0001", "--type", "WorkInfoSubmitted", "--occurred-on", "2016-12-30", "--data", `{"title":"补录的信息"}`)
	if exitCode(r.err) != 1 || !strings.HasPrefix(r.stderr, closed) {
		t.Fatalf("record of 2016 after the close: %v\n%s", r.err, r.stderr)
	}

	journal := filepath.Join(t.TempDir(), "late.jsonl")
	lines := `{"org":"LY-0001","type":"WorkInfoSubmitted","occurred_on":"2017-02-10","data":{"title":"今年的信息"}}` + "\n" +
		`{"org":"LY-0001","type":"WorkInfoSubmitted","occurred_on":"2016-12-30","data":{"title":"补录的信息"}}` + "\n"
	if err := os.WriteFile(journal, []byte(lines), 0o644); err != nil {
		t.Fatal(err)
	}
	r = run("import", journal)
	if exitCode(r.err) != 1 || !strings.Contains(r.stderr, "line 2: "+closed) || strings.Contains(r.stderr, "line 1:") {
		t.Fatalf("import of 2016 after the close: %v\n%s", r.err, r.stderr)
	}
	if n := eventCount(t, c, dir); n != events {
		t.Fatalf("%d events after the refusals, %d before", n, events)
	}
	mustOK(t, run("record", "--org", "LY-0001", "--type", "WorkInfoSubmitted", "--occurred-on", "2017-02-10", "--data", `{"title":"今年的信息"}`))
}

// TestKnownAtOutOfRange: --known-at outside the dates the ledger takes is
// refused as the API refuses known_at, not read as "now" (the zero
// instant) or as "not registered" (from 2262 on, past the nanoseconds the
// folds compare).
func TestKnownAtOutOfRange(t *testing.T) {
	dir := t.TempDir()
	c := newClock()
	run := func(args ...string) result { return cli(t, c, "", append([]string{"--data", dir}, args...)...) }
	mustOK(t, run("import", cityJournal(t, 2), "--quiet"))
	for _, k := range []string{"0001-01-01T00:00:00Z", "1999-12-31T15:59:59Z", "2262-04-12T00:00:00Z", "2100-01-01T00:00:00+08:00"} {
		for _, args := range [][]string{
			{"score", "--org", "LY-0001"},
			{"score", "--all"},
			{"grade", "issue", "--year", "2016", "--dry-run"},
			{"export", "--year", "2016", "--format", "csv"},
			{"recompute", "--year", "2016", "--from", "2016.1", "--to", "2016.1"},
		} {
			r := run(append(args, "--known-at", k)...)
			if exitCode(r.err) != 2 || !strings.Contains(r.err.Error(), "--known-at: want an instant within 2000-01-01..2099-12-31") {
				t.Errorf("%s --known-at %s: %v\n%s", strings.Join(args, " "), k, r.err, r.stdout)
			}
		}
	}
	mustOK(t, run("score", "--org", "LY-0001", "--known-at", "2099-12-31T15:59:59Z"))
}

// TestUnderAnUnknownCode: score --all and grade issue under a code that no
// organisation has are refused, naming it — not an empty ranking, nor
// "0 graded".
func TestUnderAnUnknownCode(t *testing.T) {
	dir := t.TempDir()
	c := newClock()
	run := func(args ...string) result { return cli(t, c, "", append([]string{"--data", dir}, args...)...) }
	mustOK(t, run("import", cityJournal(t, 2), "--quiet"))
	for _, args := range [][]string{{"score", "--all"}, {"grade", "issue", "--year", "2016", "--dry-run"}} {
		r := run(append(args, "--under", "LY-9999")...)
		if exitCode(r.err) != 1 || !strings.Contains(r.stderr+r.err.Error(), `under: organisation "LY-9999" is not registered`) {
			t.Errorf("%s --under LY-9999: %v\nstdout %s\nstderr %s", strings.Join(args, " "), r.err, r.stdout, r.stderr)
		}
	}
	mustOK(t, run("score", "--all", "--under", "LY-0001"))
}

// TestScoreShowsRejectionsAndLateEntries: score's table lists the entries
// an assessor rejected (退回, with the reason) and the late ones (补录,
// with both dates), as the scorecard page does.
func TestScoreShowsRejectionsAndLateEntries(t *testing.T) {
	dir := t.TempDir()
	c := newClock() // 2017-03-01
	run := func(args ...string) result { return cli(t, c, "", append([]string{"--data", dir}, args...)...) }
	mustOK(t, run("import", cityJournal(t, 2), "--quiet"))
	id := func(r result) string {
		t.Helper()
		m := regexp.MustCompile(`id=(\S+)`).FindStringSubmatch(r.stdout)
		if m == nil {
			t.Fatalf("no id: %s", r.stdout)
		}
		return m[1]
	}
	late := id(mustOK(t, run("record", "--org", "LY-0001", "--type", "WorkInfoSubmitted", "--occurred-on", "2016-11-02", "--data", `{"title":"补登的信息"}`)))
	rejected := id(mustOK(t, run("record", "--org", "LY-0001", "--type", "WorkInfoSubmitted", "--occurred-on", "2016-12-28", "--data", `{"title":"待审的信息"}`)))
	mustOK(t, run("record", "--org", "LY-0001", "--type", "EventRejected", "--occurred-on", "2017-03-01",
		"--data", `{"event_id":"`+rejected+`","reason":"信息未报送，不予认可"}`))
	out := mustOK(t, run("score", "--org", "LY-0001")).stdout
	for _, want := range []string{
		"被退回的登记（1 条", "退回 " + rejected[:8] + "  发生于 2016-12-28，退回于 2017-03-01  原因：信息未报送，不予认可",
		"补录 " + late[:8] + "  发生于 2016-11-02，登记于 2017-03-01，晚 119 天",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("score lacks %q:\n%s", want, out)
		}
	}
}
