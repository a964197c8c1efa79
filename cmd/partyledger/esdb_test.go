package main

import (
	"strings"
	"testing"

	"partyledger/ledger/esdb/esdbtest"
)

// TestServerStoreGivesTheSameScorecards imports the demo city into an
// EventStoreDB store (the in-process wire-protocol test double, spoken to
// by the real client) and into the embedded store, and compares every
// scorecard: the same events must give the same scores on either store.
func TestServerStoreGivesTheSameScorecards(t *testing.T) {
	journal := cityJournal(t, 10)
	srv := esdbtest.Start(t)
	embedded := t.TempDir()
	mustOK(t, cli(t, newClock(), "", "--data", embedded, "import", journal, "--quiet"))
	mustOK(t, cli(t, newClock(), "", "--store", srv.URL(), "import", journal, "--quiet"))
	known := "2017-03-02T00:00:00Z"
	a := mustOK(t, cli(t, newClock(), "", "--data", embedded, "score", "--all", "--json", "--known-at", known)).stdout
	b := mustOK(t, cli(t, newClock(), "", "--store", srv.URL(), "score", "--all", "--json", "--known-at", known)).stdout
	if content(a) != content(b) {
		t.Fatal("scorecards on the server store differ from the embedded store's")
	}
	past := "2017-03-01T01:00:02Z"
	a = mustOK(t, cli(t, newClock(), "", "--data", embedded, "score", "--all", "--json", "--known-at", past)).stdout
	b = mustOK(t, cli(t, newClock(), "", "--store", srv.URL(), "score", "--all", "--json", "--known-at", past)).stdout
	if content(a) != content(b) {
		t.Fatal("past scorecards on the server store differ from the embedded store's")
	}
	v := mustOK(t, cli(t, newClock(), "", "--store", srv.URL(), "verify")).stdout
	t.Log(v)
	// Importing again writes nothing on the server either.
	r := mustOK(t, cli(t, newClock(), "", "--store", srv.URL(), "import", journal, "--quiet")).stdout
	if !strings.Contains(r, " 0 个新事件") {
		t.Fatalf("second import on the server store: %s", r)
	}
}
