package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// testClock is a deterministic clock: one millisecond per reading.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(time.Millisecond)
	return c.now
}

type result struct {
	stdout, stderr string
	err            error
}

// cli runs the command line against a data directory with a test clock.
func cli(t testing.TB, clock *testClock, stdin string, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	e := &env{stdin: strings.NewReader(stdin), stdout: &out, stderr: &errb,
		getenv: func(string) string { return "" }, now: clock.Now}
	err := e.run(context.Background(), args)
	return result{out.String(), errb.String(), err}
}

func newClock() *testClock {
	return &testClock{now: time.Date(2017, 3, 1, 1, 0, 0, 0, time.UTC)}
}

func mustOK(t testing.TB, r result) result {
	t.Helper()
	if r.err != nil {
		t.Fatalf("command failed: %v\nstdout:\n%s\nstderr:\n%s", r.err, r.stdout, r.stderr)
	}
	return r
}

func exitCode(err error) int {
	var ee exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	if err != nil {
		return 1
	}
	return 0
}

// countEvents returns verify's summary up to its timing: the number of
// events and streams and the last position.
func countEvents(t testing.TB, clock *testClock, dir string) string {
	t.Helper()
	r := mustOK(t, cli(t, clock, "", "--data", dir, "verify"))
	summary, _, _ := strings.Cut(r.stdout, " verified in")
	return summary
}

func TestImportReplayExportVerify(t *testing.T) {
	dir := t.TempDir()
	c := newClock()
	r := mustOK(t, cli(t, c, "", "--data", dir, "import", "testdata/small.jsonl", "--quiet"))
	if !strings.Contains(r.stdout, "20 个新事件 new, 0 个已存在") {
		t.Fatalf("first import: %s", r.stdout)
	}
	r = mustOK(t, cli(t, c, "", "--data", dir, "import", "testdata/small.jsonl"))
	if !strings.Contains(r.stdout, "0 个新事件 new, 20 个已存在") {
		t.Fatalf("second import wrote something: %s", r.stdout)
	}
	if v := countEvents(t, c, dir); !strings.Contains(v, "20 个事件 events") {
		t.Fatalf("verify after two imports: %s", v)
	}

	t.Run("replay table", func(t *testing.T) {
		r := mustOK(t, cli(t, c, "", "--data", dir, "replay", "--org", "LY-0002", "--year", "2016"))
		for _, want := range []string{"政治学习", "党员加入", "【已撤回：日期录错，改为1月13日】", "考核发现", "import"} {
			if !strings.Contains(r.stdout, want) {
				t.Errorf("replay lacks %q:\n%s", want, r.stdout)
			}
		}
	})
	t.Run("replay json", func(t *testing.T) {
		r := mustOK(t, cli(t, c, "", "--data", dir, "replay", "--org", "LY-0002", "--json"))
		lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
		if len(lines) != 17 {
			t.Fatalf("replay --json: %d lines, want 17", len(lines))
		}
		var first map[string]any
		if err := json.Unmarshal([]byte(lines[0]), &first); err != nil {
			t.Fatal(err)
		}
		for _, k := range []string{"id", "org", "type", "occurred_on", "data", "stream", "revision", "position", "recorded_at", "recorded_by", "schema_version", "prev_hash", "hash"} {
			if _, ok := first[k]; !ok {
				t.Errorf("replay --json line lacks %q: %s", k, lines[0])
			}
		}
	})
	t.Run("unknown org", func(t *testing.T) {
		r := cli(t, c, "", "--data", dir, "replay", "--org", "LY-9999")
		if r.err == nil || !strings.Contains(r.err.Error(), "not registered") {
			t.Fatalf("replay of an unknown org: %v", r.err)
		}
	})
	t.Run("export then import into an empty ledger", func(t *testing.T) {
		exp := mustOK(t, cli(t, c, "", "--data", dir, "export", "--all"))
		dir2 := t.TempDir()
		// A restore runs after the export (c goes on from it): a sealed
		// line whose recorded_at is after the restoring clock is refused.
		mustOK(t, cli(t, c, exp.stdout, "--data", dir2, "import", "-"))
		exp2 := mustOK(t, cli(t, c, "", "--data", dir2, "export", "--all"))
		if exp.stdout != exp2.stdout {
			t.Fatalf("export of the re-imported ledger differs:\n%s\n---\n%s", exp.stdout, exp2.stdout)
		}
		// And importing the export again writes nothing.
		r := mustOK(t, cli(t, newClock(), exp.stdout, "--data", dir2, "import", "-"))
		if !strings.Contains(r.stdout, "0 个新事件") {
			t.Fatalf("re-import of an export: %s", r.stdout)
		}
	})
	t.Run("export of one org and year", func(t *testing.T) {
		exp := mustOK(t, cli(t, c, "", "--data", dir, "export", "--org", "LY-0001", "--year", "2016"))
		if n := strings.Count(exp.stdout, "\n"); n != 2 {
			t.Fatalf("export --org LY-0001: %d lines, want 2:\n%s", n, exp.stdout)
		}
		dir2 := t.TempDir()
		mustOK(t, cli(t, c, exp.stdout, "--data", dir2, "import", "-"))
	})
	t.Run("tampered export line", func(t *testing.T) {
		exp := mustOK(t, cli(t, c, "", "--data", dir, "export", "--org", "LY-0002"))
		bad := strings.Replace(exp.stdout, "诫勉谈话", "无事", 1)
		dir2 := t.TempDir()
		r := cli(t, newClock(), bad, "--data", dir2, "import", "-")
		if exitCode(r.err) != 1 || !strings.Contains(r.stderr, ": hash: does not match") {
			t.Fatalf("import of a tampered export: err %v, stderr:\n%s", r.err, r.stderr)
		}
	})
}

func TestImportRefusesBadLinesAndAppendsNothing(t *testing.T) {
	dir := t.TempDir()
	c := newClock()
	r := cli(t, c, "", "--data", dir, "import", "testdata/bad.jsonl")
	if exitCode(r.err) != 1 {
		t.Fatalf("exit code %d (%v), want 1", exitCode(r.err), r.err)
	}
	for _, want := range []string{
		"line 2: occurred_on: \"2016-02-30\" is not a calendar date",
		"line 3: data.member_id: member \"m009\" does not belong to LY-0001",
		"line 5: data.amount_fen: must not be negative",
		"line 6: type: unknown event type \"PartyHeld\"",
		"line 7: recorded_at: set by the ledger",
		"line 8: org: organisation \"LY-0009\" is not registered",
		"line 9: line: malformed JSON",
	} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
		}
	}
	if strings.Contains(r.stderr, "line 1:") || strings.Contains(r.stderr, "line 4:") {
		t.Errorf("good or blank lines reported:\n%s", r.stderr)
	}
	if v := countEvents(t, c, dir); !strings.Contains(v, " 0 个事件") {
		t.Fatalf("ledger not empty after a refused import: %s", v)
	}
}

func TestImportStatefulChecksInFileOrder(t *testing.T) {
	dir := t.TempDir()
	c := newClock()
	journal := strings.Join([]string{
		`{"org":"LY-0001","type":"OrganizationRegistered","occurred_on":"2016-01-04","data":{"code":"LY-0001","name":"一支部","kind":"branch","has_groups":false}}`,
		`{"org":"LY-0001","type":"StudySessionHeld","occurred_on":"2016-01-12","data":{"topic":"学习","attendees":["m001"],"notes_kept":true}}`,
		`{"org":"LY-0001","type":"MemberJoined","occurred_on":"2016-01-04","data":{"member_id":"m001","name":"张伟","is_leader":false,"monthly_income_fen":300000}}`,
		`{"org":"LY-0001","type":"StudySessionHeld","occurred_on":"2016-01-13","data":{"topic":"学习","attendees":["m001"],"notes_kept":true}}`,
	}, "\n")
	r := cli(t, c, journal, "--data", dir, "import", "-")
	if exitCode(r.err) != 1 || !strings.Contains(r.stderr, `line 2: data.attendees[0]: member "m001" does not belong`) || strings.Contains(r.stderr, "line 4") {
		t.Fatalf("err %v stderr:\n%s", r.err, r.stderr)
	}
}

func TestVerifyDetectsTampering(t *testing.T) {
	dir := t.TempDir()
	c := newClock()
	mustOK(t, cli(t, c, "", "--data", dir, "import", "testdata/small.jsonl"))
	// Flip one byte inside the first payload in the largest file of the
	// store: damage before the tail must stop the store, never be cut off.
	var biggest string
	var size int64
	filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() && fi.Size() > size {
			biggest, size = p, fi.Size()
		}
		return nil
	})
	b, err := os.ReadFile(biggest)
	if err != nil {
		t.Fatal(err)
	}
	i := bytes.Index(b, []byte("市财政局机关党委"))
	if i < 0 {
		t.Fatalf("payload not found in %s", biggest)
	}
	b[i] ^= 0x01
	if err := os.WriteFile(biggest, b, 0o644); err != nil {
		t.Fatal(err)
	}
	r := cli(t, c, "", "--data", dir, "verify")
	if r.err == nil || !strings.Contains(r.err.Error(), "corrupt") {
		t.Fatalf("verify of a tampered store: err %v\n%s", r.err, r.stdout)
	}
	after, _ := os.ReadFile(biggest)
	if len(after) != len(b) {
		t.Fatalf("the damaged file was truncated from %d to %d bytes", len(b), len(after))
	}
}
