package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"partyledger/domain/democity"
)

// TestMain lets a test re-run this binary as the partyledger command, so a
// test can SIGKILL a real import in the middle, or SIGTERM a worker (the
// signals main stops on end the context, as in main).
func TestMain(m *testing.M) {
	if args := os.Getenv("PARTYLEDGER_TEST_RUN"); args != "" {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		err := Run(ctx, strings.Split(args, "\x1f"), os.Stdin, os.Stdout, os.Stderr)
		stop()
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func cityJournal(t testing.TB, orgs int) string {
	t.Helper()
	var b bytes.Buffer
	if err := democity.WriteJSONL(&b, democity.Generate(7, democity.Options{Orgs: orgs})); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "city.jsonl")
	if err := os.WriteFile(p, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

var positionField = regexp.MustCompile(`"ledger_position":\d+`)

// content drops what legitimately differs between two ledgers holding the
// same events: their positions.
func content(s string) string { return positionField.ReplaceAllString(s, `"ledger_position":0`) }

func TestScorecardsAreReproducible(t *testing.T) {
	journal := cityJournal(t, 12)
	dir := t.TempDir()
	c := newClock()
	mustOK(t, cli(t, c, "", "--data", dir, "import", journal, "--quiet"))
	// K: after everything; and K in the past, in the middle of the import
	// (the clock gives each event its own millisecond from 2017-03-01T01:00:00.001Z).
	future := "2017-03-02T00:00:00Z"
	past := "2017-03-01T01:00:03Z"
	score := func(dir, known string) string {
		t.Helper()
		return mustOK(t, cli(t, newClock(), "", "--data", dir, "score", "--all", "--under", "*", "--json", "--known-at", known)).stdout
	}
	a, b := score(dir, future), score(dir, future) // the second opens the store anew
	if a != b {
		t.Fatal("two scorings of the same ledger differ")
	}
	p1, p2 := score(dir, past), score(dir, past)
	if p1 != p2 || p1 == a {
		t.Fatalf("scoring at a past known_at: stable %v, differs from the present %v", p1 == p2, p1 != a)
	}
	one := mustOK(t, cli(t, newClock(), "", "--data", dir, "score", "--org", "LY-0003", "--json", "--known-at", past, "--as-of", "2016-07-31")).stdout
	if one != mustOK(t, cli(t, newClock(), "", "--data", dir, "score", "--org", "LY-0003", "--json", "--known-at", past, "--as-of", "2016-07-31")).stdout {
		t.Fatal("one organisation at a past known_at and as_of differs between runs")
	}

	// Export, import into a fresh ledger: the same scorecards, byte for
	// byte but for positions.
	exp := mustOK(t, cli(t, c, "", "--data", dir, "export", "--all")).stdout
	dir2 := t.TempDir()
	mustOK(t, cli(t, c, exp, "--data", dir2, "import", "-", "--quiet")) // restored after the export: c goes on
	if got := score(dir2, future); content(got) != content(a) {
		t.Fatal("scorecards differ after export and import into a fresh ledger")
	}
	if got := score(dir2, past); content(got) != content(p1) {
		t.Fatal("past scorecards differ after export and import into a fresh ledger")
	}
	var cards []scorecardJSON
	if err := json.Unmarshal([]byte(a), &cards); err != nil || len(cards) != 12 {
		t.Fatalf("score --all --json: %d cards, %v", len(cards), err)
	}
}

func TestInterruptedImportCompletesWhenRunAgain(t *testing.T) {
	journal := cityJournal(t, 8)
	dir := t.TempDir()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	killed := 0
	for cycle := 0; cycle < 6; cycle++ {
		cmd := exec.Command(exe, "-test.run=^$")
		cmd.Env = append(os.Environ(), "PARTYLEDGER_TEST_RUN="+strings.Join([]string{"--data", dir, "import", journal, "--quiet"}, "\x1f"))
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		if cycle%2 == 1 {
			// While it appends: once the store has grown (the import
			// checks the whole file first, writing nothing).
			waitForGrowth(dir, exited)
			time.Sleep(time.Duration(rng.IntN(50)) * time.Millisecond)
		} else {
			time.Sleep(time.Duration(20+rng.IntN(200)) * time.Millisecond)
		}
		_ = cmd.Process.Signal(syscall.SIGKILL)
		err := <-exited
		if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			killed++
		} else if err != nil {
			t.Fatalf("cycle %d: import failed on its own: %v\n%s", cycle, err, stderr.String())
		}
	}
	t.Logf("%d of 6 imports killed mid-way", killed)
	lines := strings.Count(mustRead(t, journal), "\n")
	r := mustOK(t, cli(t, newClock(), "", "--data", dir, "import", journal, "--quiet"))
	var added, present int
	if _, err := fmt.Sscanf(r.stdout, "导入完成 / imported: %d 个新事件 new, %d 个已存在", &added, &present); err != nil {
		t.Fatalf("summary %q: %v", r.stdout, err)
	}
	if added+present != lines {
		t.Fatalf("after the final run: %d new + %d present, want %d lines in all", added, present, lines)
	}
	t.Logf("the killed imports wrote %d of the %d lines", present, lines)
	if present == 0 {
		t.Fatal("no import was killed while it appended")
	}
	v := mustOK(t, cli(t, newClock(), "", "--data", dir, "verify")).stdout
	if !strings.Contains(v, fmt.Sprintf(" %d 个事件", lines)) {
		t.Fatalf("verify: %s; want %d events", v, lines)
	}
	again := mustOK(t, cli(t, newClock(), "", "--data", dir, "import", journal, "--quiet")).stdout
	if !strings.Contains(again, " 0 个新事件") {
		t.Fatalf("a further import wrote: %s", again)
	}
}

// waitForGrowth waits until the files under dir grow, or until the
// process writing them exits (its error is put back into exited).
func waitForGrowth(dir string, exited chan error) {
	size := func() (n int64) {
		filepath.Walk(dir, func(_ string, fi os.FileInfo, err error) error {
			if err == nil && !fi.IsDir() {
				n += fi.Size()
			}
			return nil
		})
		return n
	}
	for start := size(); size() == start; {
		select {
		case err := <-exited:
			exited <- err
			return
		case <-time.After(2 * time.Millisecond):
		}
	}
}

func mustRead(t testing.TB, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
