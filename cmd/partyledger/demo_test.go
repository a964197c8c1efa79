package main

import (
	"regexp"
	"strings"
	"testing"
)

// TestDemoShowsTime: the demo city is recorded on a simulated clock, so
// the README's --known-at example ranks the organisations as they stood on
// 20 January 2017 — not empty, and not the ranking known now; the journal
// shows 2016 entries recorded in 2016; a second run into the same
// directory writes nothing; the chains verify.
func TestDemoShowsTime(t *testing.T) {
	c := newClock()
	dir := t.TempDir()
	r := mustOK(t, cli(t, c, "", "demo", "--orgs", "16", "--quiet", "--data", dir))
	wantIn(t, r.stdout, dir+"（保留 / kept）", "模拟时钟 / simulated clock: 登记于 2015-12-14",
		"score --all --known-at 2017-01-20T00:00:00+08:00")

	now := mustOK(t, cli(t, c, "", "--data", dir, "score", "--all")).stdout
	then := mustOK(t, cli(t, c, "", "--data", dir, "score", "--all", "--known-at", "2017-01-20T00:00:00+08:00")).stdout
	ranked := regexp.MustCompile(`共 (\d+) 个组织`)
	m := ranked.FindStringSubmatch(then)
	if m == nil || m[1] == "0" {
		t.Fatalf("known at 2017-01-20: no organisation ranked:\n%s", then)
	}
	if then == now {
		t.Errorf("the ranking known at 2017-01-20 is the one known now:\n%s", now)
	}
	if !strings.Contains(then, "（暂定）") {
		t.Errorf("on 2017-01-20 some group scores were not yet recorded; want a provisional score:\n%s", then)
	}

	journal := mustOK(t, cli(t, c, "", "--data", dir, "replay", "--org", "LY-0002", "--year", "2016")).stdout
	if !regexp.MustCompile(`\n\d+ +2016-0[3-9]-\d\d \d\d:\d\d:\d\d +2016-`).MatchString(journal) {
		t.Errorf("no 2016 entry recorded in 2016 in the journal:\n%.2000s", journal)
	}

	again := mustOK(t, cli(t, c, "", "demo", "--orgs", "16", "--quiet", "--data", dir))
	wantIn(t, again.stdout, " 0 个新事件 new")
	wantIn(t, mustOK(t, cli(t, c, "", "--data", dir, "verify")).stdout, "校验通过")
}
