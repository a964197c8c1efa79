package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"partyledger/ledger"
	"partyledger/ledger/books"
	"partyledger/ledger/esdb"
	"partyledger/ledger/esdb/esdbtest"
	"partyledger/projections"
	"partyledger/projections/workers"
)

// running is a long-running command (serve, worker) started by start.
type running struct {
	out, errs *syncBuffer
	match     []string // what the ready pattern matched
	stop      func()   // cancels it (as SIGINT does) and checks it ended cleanly
}

// start runs a command line until its standard output matches ready, and
// returns it running.
func start(t *testing.T, c *testClock, ready *regexp.Regexp, args ...string) running {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r := running{out: &syncBuffer{}, errs: &syncBuffer{}}
	e := &env{stdin: strings.NewReader(""), stdout: r.out, stderr: r.errs, getenv: func(string) string { return "" }, now: c.Now}
	done := make(chan error, 1)
	go func() { done <- e.run(ctx, args) }()
	stopped := false
	r.stop = func() {
		t.Helper()
		if stopped {
			return
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("%v ended with %v\nstderr:\n%s", args, err, r.errs.String())
			}
		case <-time.After(15 * time.Second):
			t.Errorf("%v did not stop", args)
		}
	}
	t.Cleanup(r.stop)
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if r.match = ready.FindStringSubmatch(r.out.String()); r.match != nil {
			return r
		}
		select {
		case err := <-done:
			stopped = true
			t.Fatalf("%v ended before it was ready: %v\nstdout:\n%s\nstderr:\n%s", args, err, r.out.String(), r.errs.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("%v not ready after 20 s:\n%s\nstderr:\n%s", args, r.out.String(), r.errs.String())
		}
	}
}

var (
	servingRE = regexp.MustCompile(`serving on (http://127\.0\.0\.1:\d+)`)
	joinedRE  = regexp.MustCompile(`worker (\S+) joined group`)
)

// waitSnapshots waits until every organisation's snapshot covers its
// stream and the workers' group has nothing left to deliver.
func waitSnapshots(t *testing.T, srv *esdbtest.Server, codes []string) {
	t.Helper()
	ctx := context.Background()
	st, err := esdb.Open(ctx, srv.URL(), esdb.Options{IDs: esdb.IDsPerStream})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		behind := 0
		for _, code := range codes {
			stream := books.OrgStream(code)
			head, err := st.LastEvent(ctx, stream)
			if err != nil {
				t.Fatal(err)
			}
			d, err := st.LastDerived(ctx, workers.SnapshotStream(stream))
			if errors.Is(err, ledger.ErrStreamNotFound) {
				behind++
				continue
			}
			if err != nil {
				t.Fatal(err)
			}
			var m workers.SnapshotMeta
			if err := json.Unmarshal(d.Meta, &m); err != nil {
				t.Fatal(err)
			}
			if m.Revision < head.Revision {
				behind++
			}
		}
		g, _ := srv.Group("$all", workers.DefaultGroup)
		if behind == 0 && g.InFlight == 0 && g.Retrying == 0 && g.Behind == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d organisations without an up-to-date snapshot after 60 s; group %+v", behind, len(codes), g)
		}
	}
}

// workerCall is validCalls' worker: it keeps the snapshots of a ledger on
// the esdb test double, printing its progress, and stops cleanly when
// interrupted; a board over those snapshots then ranks the ledger.
func workerCall(t *testing.T, c *testClock, _ string) {
	srv := esdbtest.Start(t)
	mustOK(t, cli(t, c, "", "--store", srv.URL(), "--ids", "per-stream", "import", "testdata/small.jsonl", "--quiet"))
	w := start(t, c, joinedRE, "--store", srv.URL(), "worker", "--name", "w1", "--linger", "10ms", "--every", "20ms")
	waitSnapshots(t, srv, []string{"LY-0001", "LY-0002"})
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(w.out.String(), "(2 organisations, 19 events folded)"); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no progress printed:\n%s", w.out.String())
		}
	}
	w.stop()
	wantIn(t, w.out.String(), "投影工作进程 w1 已加入组 partyledger-facts", "已写快照", "投影工作进程已停止 / worker stopped")
	r := mustOK(t, cli(t, c, "", "--store", srv.URL(), "--ids", "per-stream", "score", "--all", "--under", "*"))
	wantIn(t, r.stdout, "LY-0001", "LY-0002")
}

// get asks the API for path with a bearer token and returns the status and
// body.
func get(t *testing.T, base, path, token string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", base+path, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// sameCards compares two lists of scorecards apart from their ledger
// positions (which differ between stores) and returns the first
// difference.
func sameCards(t *testing.T, a, b []*projections.Scorecard) string {
	t.Helper()
	if len(a) != len(b) {
		return "lengths differ"
	}
	for i := range a {
		x, y := *a[i], *b[i]
		x.LedgerPosition, y.LedgerPosition = 0, 0
		if marshalJSON(t, &x) != marshalJSON(t, &y) {
			return "rank " + a[i].Org + " / " + b[i].Org
		}
	}
	return ""
}

func marshalJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestWorkersAndServeOnTheServerStore is the national set-up through the
// command line, on the esdb test double: two `worker` commands and a
// `serve --ids per-stream`; a demo city recorded beside them; then the
// API's ranking equals `score --all` on the embedded store for the same
// journal, and so does `score --all --ids per-stream`; the serve node
// read nothing of $all; a token created on the server store opens the
// API, and an event recorded through it is in the organisation's
// scorecard at once and in the ranking once the workers have it.
func TestWorkersAndServeOnTheServerStore(t *testing.T) {
	journal := cityJournal(t, 10)
	known := "2017-03-02T00:00:00Z"
	embedded := t.TempDir()
	mustOK(t, cli(t, newClock(), "", "--data", embedded, "import", journal, "--quiet"))
	wantOut := mustOK(t, cli(t, newClock(), "", "--data", embedded, "score", "--all", "--under", "*", "--json", "--known-at", known)).stdout
	var want []*projections.Scorecard
	if err := json.Unmarshal([]byte(wantOut), &want); err != nil {
		t.Fatal(err)
	}
	var codes []string
	for _, sc := range want {
		codes = append(codes, sc.Org)
	}
	if len(codes) < 10 {
		t.Fatalf("%d organisations ranked on the embedded store", len(codes))
	}

	srv := esdbtest.Start(t)
	store := []string{"--store", srv.URL(), "--ids", "per-stream"}
	// The serve node's clock runs after the import's (newClock), so that
	// "now" there is after every event imported.
	c := &testClock{now: time.Date(2017, 3, 1, 12, 0, 0, 0, time.UTC)}
	admin := strings.TrimSpace(mustOK(t, cli(t, c, "", append(store, "token", "create", "--role", "admin", "--name", "管理员")...)).stdout)
	if !strings.HasPrefix(admin, "plt_") {
		t.Fatalf("token %q", admin)
	}

	before := srv.Counts()
	w1 := start(t, c, joinedRE, "--store", srv.URL(), "worker", "--name", "w1", "--linger", "20ms", "--every", "50ms")
	w2 := start(t, c, joinedRE, "--store", srv.URL(), "worker", "--name", "w2", "--linger", "20ms", "--every", "50ms")
	sv := start(t, c, servingRE, append(store, "serve", "--addr", "127.0.0.1:0")...)
	base := sv.match[1]
	if n := srv.Counts().AllReads - before.AllReads; n != 0 {
		t.Fatalf("starting two workers and a serve node read $all %d times", n)
	}
	wantIn(t, sv.errs.String(), "per-stream ids: scores and rankings from the projection workers' facts snapshots")

	// The city is recorded beside them (another process on the cluster).
	mustOK(t, cli(t, newClock(), "", append(store, "import", journal, "--quiet")...))
	branchCode := codes[len(codes)-1]
	branch := strings.TrimSpace(mustOK(t, cli(t, c, "", append(store, "token", "create", "--role", "branch", "--org", branchCode, "--name", "支部")...)).stdout)
	waitSnapshots(t, srv, codes)

	before = srv.Counts()
	if status, _ := get(t, base, "/v1/scorecards?year=2016&under=*", ""); status != http.StatusUnauthorized {
		t.Fatalf("ranking without a token: %d", status)
	}
	status, body := get(t, base, "/v1/scorecards?year=2016&under=*&known_at="+known, admin)
	if status != http.StatusOK {
		t.Fatalf("ranking with the admin token created on the server store: %d %s", status, body)
	}
	var ranking struct{ Scorecards []*projections.Scorecard }
	if err := json.Unmarshal([]byte(body), &ranking); err != nil {
		t.Fatal(err)
	}
	if d := sameCards(t, ranking.Scorecards, want); d != "" {
		t.Fatalf("the API's ranking over snapshots differs from the embedded store's (%s)", d)
	}
	status, body = get(t, base, "/v1/orgs/"+codes[0]+"/scorecard?year=2016&known_at="+known, admin)
	if status != http.StatusOK {
		t.Fatalf("scorecard: %d %s", status, body)
	}
	var one projections.Scorecard
	if err := json.Unmarshal([]byte(body), &one); err != nil {
		t.Fatal(err)
	}
	if d := sameCards(t, []*projections.Scorecard{&one}, want[:1]); d != "" {
		t.Fatalf("one scorecard over snapshots differs from the embedded store's (%s)", d)
	}
	if status, body = get(t, base, "/v1/orgs", admin); status != http.StatusOK || strings.Count(body, `"code"`) != len(codes) {
		t.Fatalf("organisations listed: %d %s", status, body)
	}
	if n := srv.Counts().AllReads - before.AllReads; n != 0 {
		t.Fatalf("the serve node read $all %d times to answer", n)
	}

	// The command line over the same snapshots agrees too.
	gotOut := mustOK(t, cli(t, newClock(), "", append(store, "score", "--all", "--under", "*", "--json", "--known-at", known)...)).stdout
	var got []*projections.Scorecard
	if err := json.Unmarshal([]byte(gotOut), &got); err != nil {
		t.Fatal(err)
	}
	if d := sameCards(t, got, want); d != "" {
		t.Fatalf("score --all --ids per-stream differs from the embedded store's (%s)", d)
	}

	// Grades are issued over the snapshots too, reading nothing of $all.
	before = srv.Counts()
	r := mustOK(t, cli(t, c, "", append(store, "grade", "issue", "--year", "2016", "--under", "*", "--provisional")...))
	wantIn(t, r.stdout, fmt.Sprintf("评定 %d 个组织", len(codes)))
	if n := srv.Counts().AllReads - before.AllReads; n != 0 {
		t.Fatalf("grade issue --ids per-stream read $all %d times", n)
	}

	// A branch records through the API: its scorecard has the event at
	// once, and the ranking once the workers have folded it.
	cardOf := func(cards []*projections.Scorecard) *projections.Scorecard {
		i := slices.IndexFunc(cards, func(sc *projections.Scorecard) bool { return sc.Org == branchCode })
		if i < 0 {
			t.Fatalf("%s not ranked", branchCode)
		}
		return cards[i]
	}
	oldPos := cardOf(ranking.Scorecards).LedgerPosition
	postEvent(t, base, branch, branchCode, `{"type":"WorkInfoSubmitted","occurred_on":"2016-12-20","data":{"title":"年终工作信息"}}`)
	_, body = get(t, base, "/v1/orgs/"+branchCode+"/scorecard?year=2016", branch)
	one = projections.Scorecard{}
	if err := json.Unmarshal([]byte(body), &one); err != nil {
		t.Fatalf("%v: %s", err, body)
	}
	if one.LedgerPosition <= oldPos {
		t.Fatalf("the scorecard after an append is at position %d, before it %d", one.LedgerPosition, oldPos)
	}
	waitSnapshots(t, srv, codes)
	_, body = get(t, base, "/v1/scorecards?year=2016&under=*&known_at="+one.KnownAt, admin)
	ranking.Scorecards = nil
	if err := json.Unmarshal([]byte(body), &ranking); err != nil {
		t.Fatal(err)
	}
	if marshalJSON(t, cardOf(ranking.Scorecards)) != marshalJSON(t, &one) {
		t.Fatalf("the ranking's scorecard differs from the organisation's own after an append through the API:\n%s\n%s", marshalJSON(t, cardOf(ranking.Scorecards)), marshalJSON(t, &one))
	}

	sv.stop()
	w1.stop()
	w2.stop()
	for _, w := range []running{w1, w2} {
		wantIn(t, w.out.String(), "投影工作进程已停止 / worker stopped")
		out := strings.TrimSpace(w.out.String())
		t.Log(out[strings.LastIndex(out, "\n")+1:]) // how the organisations were shared
	}
	wantIn(t, sv.out.String(), "服务已停止 / stopped")
}

// TestWorkerStopsOnSIGTERM runs `worker` as a process of its own and
// sends it SIGTERM while a city is being recorded: it says it stopped and
// exits 0; what it held unacknowledged goes to the next worker, which
// brings every organisation's snapshot up to date.
func TestWorkerStopsOnSIGTERM(t *testing.T) {
	journal := cityJournal(t, 6)
	srv := esdbtest.Start(t)
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), "PARTYLEDGER_TEST_RUN="+strings.Join([]string{"--store", srv.URL(), "worker", "--name", "sub",
		"--linger", "5ms", "--every", "20ms"}, "\x1f"))
	out, errs := &syncBuffer{}, &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, errs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	waitFor := func(what string) {
		t.Helper()
		for deadline := time.Now().Add(20 * time.Second); !strings.Contains(out.String(), what); time.Sleep(5 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("no %q from the worker:\n%s\nstderr:\n%s", what, out.String(), errs.String())
			}
		}
	}
	waitFor("joined group")
	imported := make(chan result, 1)
	go func() {
		imported <- cli(t, newClock(), "", "--store", srv.URL(), "--ids", "per-stream", "import", journal, "--quiet")
	}()
	waitFor("已写快照")
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("the worker ended with %v after SIGTERM:\n%s\nstderr:\n%s", err, out.String(), errs.String())
	}
	wantIn(t, out.String(), "投影工作进程已停止 / worker stopped")
	mustOK(t, <-imported)
	codes := []string{}
	for l := range strings.SplitSeq(mustRead(t, journal), "\n") {
		var line struct{ Org, Type string }
		if json.Unmarshal([]byte(l), &line) == nil && line.Type == "OrganizationRegistered" {
			codes = append(codes, line.Org)
		}
	}
	start(t, newClock(), joinedRE, "--store", srv.URL(), "worker", "--name", "next", "--linger", "5ms")
	waitSnapshots(t, srv, codes)
	g, _ := srv.Group("$all", workers.DefaultGroup)
	t.Logf("stopped after: %s; then %d organisations covered by the next worker; group %+v", lastLine(out.String()), len(codes), g)
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	return s[strings.LastIndex(s, "\n")+1:]
}
