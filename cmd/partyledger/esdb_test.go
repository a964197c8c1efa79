package main

import (
	"encoding/json"
	"path/filepath"
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

// TestCheckpointsOnTheServerStore: the log tree works on the EventStoreDB
// store too (leaves in $all's order, whose positions are not 1, 2, 3, …):
// a checkpoint, more events, and verify --checkpoint proves the log
// extends it; an inclusion proof from prove checks against it with the
// note and tlog packages alone.
func TestCheckpointsOnTheServerStore(t *testing.T) {
	srv := esdbtest.Start(t)
	c := newClock()
	key := filepath.Join(t.TempDir(), "ledger.key")
	run := func(args ...string) result {
		return cli(t, c, "", append([]string{"--store", srv.URL(), "--data", t.TempDir()}, args...)...)
	}
	mustOK(t, run("import", "testdata/small.jsonl", "--quiet"))
	cp := filepath.Join(t.TempDir(), "cp")
	mustOK(t, run("checkpoint", "--out", cp, "--key", key, "--name", "partyledger.test/esdb"))
	mustOK(t, run("record", "--org", "LY-0002", "--type", "StudySessionHeld", "--occurred-on", "2016-04-06",
		"--data", `{"topic":"补充学习","attendees":["m001"],"notes_kept":true}`))
	wantIn(t, mustOK(t, run("verify", "--checkpoint", cp, "--key", key)).stdout,
		"checkpoint "+cp+" OK: partyledger.test/esdb, tree size 20, the log (size 21) extends it")

	var line struct {
		ID   string `json:"id"`
		Hash string `json:"hash"`
	}
	if err := json.Unmarshal([]byte(strings.SplitN(mustOK(t, run("export", "--org", "LY-0002")).stdout, "\n", 2)[0]), &line); err != nil {
		t.Fatal(err)
	}
	proof := mustOK(t, run("prove", "--event", line.ID, "--size", "20")).stdout
	if err := checkInclusionOffline(t, key, cp, line.Hash, []byte(proof)); err != nil {
		t.Fatalf("an inclusion proof on the server store: %v\n%s", err, proof)
	}
}
