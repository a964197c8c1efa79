package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"partyledger/projections"
)

// TestScoreAllJSONUnchanged: score --all --json ranks with rows and writes
// the scorecards a chunk at a time, and prints what it printed when it held
// them all: the JSON array of the ranked scorecards, each the bytes
// score --org --json prints for it, and the ranking's order is the table's.
func TestScoreAllJSONUnchanged(t *testing.T) {
	journal := cityJournal(t, 30)
	dir := t.TempDir()
	c := newClock()
	run := func(args ...string) result { return cli(t, c, "", append([]string{"--data", dir}, args...)...) }
	mustOK(t, run("import", journal, "--quiet"))
	k := c.Now().Format(time.RFC3339Nano)
	for _, under := range []string{"", "*"} {
		all := mustOK(t, run("score", "--all", "--under", under, "--json", "--known-at", k)).stdout
		table := mustOK(t, run("score", "--all", "--under", under, "--known-at", k)).stdout
		var ranked []struct {
			Org string `json:"org"`
		}
		if err := json.Unmarshal([]byte(all), &ranked); err != nil {
			t.Fatal(err)
		}
		if under == "*" && len(ranked) != 30 || len(ranked) == 0 {
			t.Fatalf("under %q: %d scorecards", under, len(ranked))
		}
		var cards []*projections.Scorecard
		last := -1
		for _, r := range ranked {
			one := mustOK(t, run("score", "--org", r.Org, "--json", "--known-at", k)).stdout
			var sc projections.Scorecard
			if err := json.Unmarshal([]byte(one), &sc); err != nil {
				t.Fatal(err)
			}
			cards = append(cards, &sc)
			at := strings.Index(table, " "+r.Org+" ")
			if at <= last {
				t.Fatalf("under %q: %s is not where the table ranks it", under, r.Org)
			}
			last = at
		}
		var want bytes.Buffer
		if err := writeJSON(&want, cards); err != nil {
			t.Fatal(err)
		}
		if all != want.String() {
			t.Fatalf("under %q: score --all --json differs from the scorecards one by one:\n%.400s\nwant\n%.400s", under, all, want.String())
		}
	}
}
