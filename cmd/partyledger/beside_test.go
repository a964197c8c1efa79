package main

import (
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/google/uuid"

	"partyledger/domain"
)

// postEvent appends one journal line through a running server's API and
// returns the event id it got.
func postEvent(t *testing.T, base, token, org, line string) {
	t.Helper()
	req, _ := http.NewRequest("POST", base+"/v1/orgs/"+org+"/events", strings.NewReader(line))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated && resp.StatusCode != http.StatusOK {
		t.Fatalf("POST events: %d", resp.StatusCode)
	}
}

func branchToken(t *testing.T, c *testClock, dir, org string) string {
	t.Helper()
	r := mustOK(t, cli(t, c, "", "--data", dir, "token", "create", "--role", "branch", "--org", org, "--name", "支部"))
	return strings.TrimSpace(r.stdout)
}

// The read commands work beside a running server (the store opened
// read-only) and see an event appended through its API just before; the
// write commands refuse, saying how to write through the server.
func TestReadCommandsBesideServe(t *testing.T) {
	dir := t.TempDir()
	c := newClock()
	mustOK(t, cli(t, c, "", "--data", dir, "import", "testdata/small.jsonl", "--quiet"))
	tok := branchToken(t, c, dir, "LY-0002")
	base, stop := startServe(t, dir, c)
	defer stop()
	postEvent(t, base, tok, "LY-0002", `{"id":"7d1c1b7e-5a77-4c1e-9d52-0b0bb0e5a001","type":"StudySessionHeld","occurred_on":"2016-04-05","data":{"topic":"旁路学习","attendees":["m001"],"notes_kept":true}}`)

	v := mustOK(t, cli(t, c, "", "--data", dir, "verify"))
	wantIn(t, v.stdout, "校验通过", " 22 个事件") // 20 imported, the token, the API's event
	wantIn(t, v.stderr, "read-only")
	wantIn(t, mustOK(t, cli(t, c, "", "--data", dir, "export", "--all")).stdout, "7d1c1b7e-5a77-4c1e-9d52-0b0bb0e5a001", "旁路学习")
	wantIn(t, mustOK(t, cli(t, c, "", "--data", dir, "score", "--all")).stdout, "LY-0001", "共 1 个组织")
	wantIn(t, mustOK(t, cli(t, c, "", "--data", dir, "replay", "--org", "LY-0002")).stdout, "旁路学习")

	r := cli(t, c, "", "--data", dir, "record", "--org", "LY-0002", "--type", "StudySessionHeld",
		"--occurred-on", "2016-04-06", "--data", `{"topic":"学习","attendees":["m001"],"notes_kept":true}`)
	if r.err == nil || !strings.Contains(r.err.Error(), "is held by a running server; give --server URL and --token (or PARTYLEDGER_SERVER, PARTYLEDGER_TOKEN) to record through its API") {
		t.Fatalf("record on a held store: %v", r.err)
	}
}

// record and import write through a running server's API with --server
// and --token (or the environment); the API's refusals are printed as
// field: reason, exit 1.
func TestWriteThroughServer(t *testing.T) {
	dir := t.TempDir()
	c := newClock()
	mustOK(t, cli(t, c, "", "--data", dir, "import", "testdata/small.jsonl", "--quiet"))
	tok := branchToken(t, c, dir, "LY-0002")
	base, stop := startServe(t, dir, c)
	defer stop()

	r := mustOK(t, cli(t, c, "", "--data", dir, "--server", base, "--token", tok, "record", "--org", "LY-0002", "--type", "StudySessionHeld",
		"--occurred-on", "2016-04-05", "--id", "7d1c1b7e-5a77-4c1e-9d52-0b0bb0e5a002", "--data", `{"topic":"远程学习","attendees":["m001"],"notes_kept":true}`))
	wantIn(t, r.stdout, "id=7d1c1b7e-5a77-4c1e-9d52-0b0bb0e5a002 revision=17 ", "duplicate=false")

	// The environment gives them too; a second record of the id is a duplicate.
	var out, errb strings.Builder
	e := &env{stdin: strings.NewReader(""), stdout: &out, stderr: &errb, now: c.Now, getenv: func(k string) string {
		return map[string]string{"PARTYLEDGER_SERVER": base, "PARTYLEDGER_TOKEN": tok}[k]
	}}
	if err := e.run(t.Context(), []string{"record", "--org", "LY-0002", "--type", "StudySessionHeld", "--occurred-on", "2016-04-05",
		"--id", "7d1c1b7e-5a77-4c1e-9d52-0b0bb0e5a002", "--data", `{"topic":"远程学习","attendees":["m001"],"notes_kept":true}`}); err != nil {
		t.Fatalf("record with PARTYLEDGER_SERVER: %v\n%s", err, errb.String())
	}
	wantIn(t, out.String(), "duplicate=true")

	// Another organisation's event: refused by the server, said as field: reason.
	r = cli(t, c, "", "--server", base, "--token", tok, "record", "--org", "LY-0001", "--type", "StudySessionHeld",
		"--occurred-on", "2016-04-05", "--data", `{"topic":"越权","attendees":["m001"],"notes_kept":true}`)
	if exitCode(r.err) != 1 || !strings.Contains(r.stderr, ": ") {
		t.Fatalf("record for another organisation: %v\n%s", r.err, r.stderr)
	}
	if r := cli(t, c, "", "--server", base, "record", "--org", "LY-0002", "--type", "StudySessionHeld",
		"--occurred-on", "2016-04-05", "--data", `{"topic":"x","attendees":["m001"],"notes_kept":true}`); exitCode(r.err) != 2 || !strings.Contains(r.err.Error(), "--token") {
		t.Fatalf("--server without --token: %v", r.err)
	}

	journal := writeTemp(t, "j.jsonl", `{"org":"LY-0002","type":"StudySessionHeld","occurred_on":"2016-05-05","data":{"topic":"五月","attendees":["m001"],"notes_kept":true}}
{"org":"LY-0002","type":"StudySessionHeld","occurred_on":"2016-06-05","data":{"topic":"六月","attendees":["m001"],"notes_kept":true}}
`)
	r = mustOK(t, cli(t, c, "", "--data", dir, "--server", base, "--token", tok, "import", journal, "--quiet"))
	wantIn(t, r.stdout, "2 个新事件 new, 0 个已存在")
	r = mustOK(t, cli(t, c, "", "--data", dir, "--server", base, "--token", tok, "import", journal, "--quiet"))
	wantIn(t, r.stdout, "0 个新事件 new, 2 个已存在")
	wantIn(t, mustOK(t, cli(t, c, "", "--data", dir, "export", "--all")).stdout, "远程学习", "五月", "六月")
}

// backup beside a running server, while events are appended through its
// API: the copy opens, verifies, and holds every event acknowledged before
// the backup began — the load's too, not only those before it started.
func TestBackupBesideServe(t *testing.T) {
	dir := t.TempDir()
	c := newClock()
	mustOK(t, cli(t, c, "", "--data", dir, "import", "testdata/small.jsonl", "--quiet"))
	tok := branchToken(t, c, dir, "LY-0002")
	base, stop := startServe(t, dir, c)
	defer stop()
	line := func(i int) (string, string) {
		id := uuid.NewSHA1(uuid.NameSpaceOID, []byte(strconv.Itoa(i))).String()
		return id, fmt.Sprintf(`{"id":"%s","type":"StudySessionHeld","occurred_on":"2016-04-05","data":{"topic":"学习 %d","attendees":["m001"],"notes_kept":true}}`, id, i)
	}
	var (
		mu    sync.Mutex
		acked []string // ids the server answered 201 for, in order
	)
	ackedNow := func() []string {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(acked)
	}
	done, warm := make(chan struct{}), make(chan struct{})
	loadErr := make(chan error, 1)
	go func() { // the load: appends through the API until the backup is done
		defer close(loadErr)
		// At most 150: the server allows one token bursts of 200 requests
		// (429 beyond), and a refused append is no load.
		for i := 0; i < 150; i++ {
			select {
			case <-done:
				return
			default:
			}
			id, body := line(i)
			req, _ := http.NewRequest("POST", base+"/v1/orgs/LY-0002/events", strings.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+tok)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				loadErr <- err
				return
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusCreated {
				loadErr <- fmt.Errorf("append %d: %d", i, resp.StatusCode)
				return
			}
			mu.Lock()
			acked = append(acked, id)
			mu.Unlock()
			if i == 19 {
				close(warm) // the load is on
			}
		}
	}()
	select {
	case <-warm:
	case err := <-loadErr:
		t.Fatalf("the load stopped: %v", err)
	}
	before := ackedNow() // every append acknowledged before the backup begins
	out := filepath.Join(t.TempDir(), "copy")
	r := cli(t, c, "", "--data", dir, "backup", "--out", out)
	close(done)
	if err := <-loadErr; err != nil {
		t.Fatal(err)
	}
	mustOK(t, r)
	wantIn(t, r.stdout, "backup written and verified")
	wantIn(t, mustOK(t, cli(t, c, "", "--data", out, "verify")).stdout, "校验通过")
	exp := mustOK(t, cli(t, c, "", "--data", out, "export", "--all")).stdout
	for _, id := range before {
		if !strings.Contains(exp, `"id":"`+id+`"`) {
			t.Fatalf("event %s, acknowledged before the backup began, is not in the copy (%d acknowledged before it)", id, len(before))
		}
	}
	if n := strings.Count(exp, "\n"); n < 21+len(before) { // 20 imported, the token, the load
		t.Fatalf("the copy holds %d events, fewer than the %d acknowledged before the backup", n, 21+len(before))
	}
}

// token create and revoke work beside a running server through its API
// with an admin token; the server refuses to revoke the last admin.
func TestTokensThroughServer(t *testing.T) {
	dir := t.TempDir()
	c := newClock()
	mustOK(t, cli(t, c, "", "--data", dir, "import", "testdata/small.jsonl", "--quiet"))
	r := mustOK(t, cli(t, c, "", "--data", dir, "token", "create", "--role", "admin", "--name", "管理员"))
	admin := strings.TrimSpace(r.stdout)
	adminID := regexp.MustCompile(`token_id=(\S+)`).FindStringSubmatch(r.stderr)[1]
	base, stop := startServe(t, dir, c)
	defer stop()

	if r := cli(t, c, "", "--data", dir, "token", "create", "--role", "auditor", "--name", "审计"); r.err == nil ||
		!strings.Contains(r.err.Error(), "held by a running server") {
		t.Fatalf("token create on a held store without --server: %v", r.err)
	}
	r = mustOK(t, cli(t, c, "", "--server", base, "--token", admin, "token", "create", "--role", "auditor", "--name", "审计"))
	if !strings.HasPrefix(strings.TrimSpace(r.stdout), "plt_") {
		t.Fatalf("token create through the API: %q", r.stdout)
	}
	id := regexp.MustCompile(`token_id=(\S+)`).FindStringSubmatch(r.stderr)[1]
	wantIn(t, mustOK(t, cli(t, c, "", "--server", base, "--token", admin, "token", "revoke", id, "--reason", "调离")).stdout, "已吊销 / revoked "+id)
	r = cli(t, c, "", "--server", base, "--token", admin, "token", "revoke", adminID, "--reason", "最后一个")
	if exitCode(r.err) != 1 || !strings.Contains(r.stderr, "last valid admin token") {
		t.Fatalf("revoking the last admin through the API: %v\n%s", r.err, r.stderr)
	}
	wantIn(t, mustOK(t, cli(t, c, "", "--data", dir, "token", "list")).stdout, "审计", "已吊销 revoked")
}

// grade issue and revise, rulebook publish, record of a committee event
// and token code write through a running server's API with --server and
// an admin token, recorded as the token's holder; without --server they
// refuse on the held store, saying how.
func TestGradesAndRulebooksThroughServer(t *testing.T) {
	dir := t.TempDir()
	c := newClock()
	mustOK(t, cli(t, c, "", "--data", dir, "import", "testdata/small.jsonl", "--quiet"))
	shown := mustOK(t, cli(t, c, "", "--data", dir, "rulebook", "show", "2016.1")).stdout
	r := mustOK(t, cli(t, c, "", "--data", dir, "token", "create", "--role", "admin", "--name", "管理员"))
	admin := strings.TrimSpace(r.stdout)
	by := "管理员 (admin " + regexp.MustCompile(`token_id=(\S+)`).FindStringSubmatch(r.stderr)[1] + ")"
	base, stop := startServe(t, dir, c)
	defer stop()
	remote := func(args ...string) result {
		return cli(t, c, "", append([]string{"--data", dir, "--server", base, "--token", admin}, args...)...)
	}
	local := func(args ...string) result { return cli(t, c, "", append([]string{"--data", dir}, args...)...) }

	for _, args := range [][]string{{"grade", "issue", "--year", "2016"}, {"grade", "revise", "--year", "2016", "--reason", "x"}} {
		if r := local(args...); r.err == nil || !strings.Contains(r.err.Error(), "held by a running server; give --server URL") {
			t.Fatalf("%v on a held store without --server: %v", args, r.err)
		}
	}

	// Grades: a dry run writes nothing; then they are issued.
	dry := mustOK(t, remote("grade", "issue", "--year", "2016", "--provisional", "--dry-run"))
	wantIn(t, dry.stdout, "正式等次拟评定", "拟评定 1 个组织", "LY-0001")
	wantIn(t, mustOK(t, local("grade", "list", "--year", "2016")).stdout, "尚未评定")
	if r := remote("grade", "issue", "--year", "2016"); exitCode(r.err) != 0 || !strings.Contains(r.stdout, "0 graded, 1 skipped") {
		t.Fatalf("issue without --provisional: %v\n%s%s", r.err, r.stdout, r.stderr)
	}
	wantIn(t, mustOK(t, remote("grade", "issue", "--year", "2016", "--provisional")).stdout, "评定 1 个组织", "未达标")
	wantIn(t, mustOK(t, local("grade", "history", "--org", "LY-0001", "--year", "2016")).stdout, by, "未达标")

	// A correction: refused with its lines before anything is sent, then
	// published; the same version again is the server's conflict.
	bad := writeTemp(t, "2016.2-draft.json", corrected2016JSON(t, shown, func(doc, _ map[string]any) {
		item := doc["items"].([]any)[0].(map[string]any)
		item["titel"] = item["title"]
		delete(item, "title")
	}))
	if r := remote("rulebook", "publish", bad, "--reason", "更正"); exitCode(r.err) != 1 || !regexp.MustCompile(`2016\.2-draft\.json:\d+: items\[0\]\.titel: unknown field`).MatchString(r.stderr) {
		t.Fatalf("a rulebook with a mistake: %v\n%s", r.err, r.stderr)
	}
	good := writeTemp(t, "2016.2.json", corrected2016JSON(t, shown, func(doc, _ map[string]any) {
		doc["tiers"] = []any{map[string]any{"tier": "advanced", "min": 40}, map[string]any{"tier": "compliant", "min": 30}, map[string]any{"tier": "non_compliant", "min": 0}}
		doc["vetoes"] = []any{}
	}))
	wantIn(t, mustOK(t, remote("rulebook", "publish", good, "--reason", "放宽等次线")).stdout, "已发布细则 2016.2（2016 年度）")
	wantIn(t, mustOK(t, local("rulebook", "list", "--year", "2016")).stdout, "2016.2", by, "放宽等次线")
	if r := remote("rulebook", "publish", good, "--reason", "再次"); exitCode(r.err) != 1 || !strings.Contains(r.stderr, "2016.2.json: data.version: ") ||
		!strings.Contains(r.stderr, "already published") {
		t.Fatalf("the same version again: %v\n%s", r.err, r.stderr)
	}

	// 确定先进 (a committee event through record), then the revision.
	wantIn(t, mustOK(t, remote("record", "--type", "AdvancedDesignated", "--occurred-on", "2017-03-01",
		"--data", `{"year":2016,"codes":["LY-0001"],"reason":"工委会研究确定"}`)).stdout, "duplicate=false")
	wantIn(t, mustOK(t, remote("grade", "revise", "--year", "2016", "--provisional", "--reason", "细则 2016.2 放宽等次线")).stdout,
		"更正 1 个组织的等次", "未达标（细则 2016.1）→", "先进（细则 2016.2）")
	wantIn(t, mustOK(t, local("grade", "history", "--org", "LY-0001", "--year", "2016")).stdout, "细则 2016.2 放宽等次线", "先进")

	// A one-time sign-in code for a new branch token, with the server's link.
	r = mustOK(t, remote("token", "create", "--role", "branch", "--org", "LY-0002", "--name", "支部书记"))
	id := regexp.MustCompile(`token_id=(\S+)`).FindStringSubmatch(r.stderr)[1]
	r = mustOK(t, remote("token", "code", id))
	if !regexp.MustCompile(`^\d+\n$`).MatchString(r.stdout) || !strings.Contains(r.stderr, base+"/signin?c=") {
		t.Fatalf("token code through the API:\n%s%s", r.stdout, r.stderr)
	}
}

// remoteArgs are command lines of every command that writes the ledger,
// by its path: with --server they must write through the API only.
func remoteArgs(t *testing.T) map[string][]string {
	rulebook := writeTemp(t, "2016.2.json", corrected2016JSON(t, string(domain.Builtin2016JSON())))
	return map[string][]string{
		"record": {"record", "--org", "LY-0002", "--type", "StudySessionHeld", "--occurred-on", "2016-04-05",
			"--data", `{"topic":"学习","attendees":["m001"],"notes_kept":true}`},
		"import":           {"import", writeTemp(t, "j.jsonl", `{"org":"LY-0002","type":"StudySessionHeld","occurred_on":"2016-05-05","data":{"topic":"五月","attendees":["m001"],"notes_kept":true}}`+"\n")},
		"token create":     {"token", "create", "--role", "auditor", "--name", "审计"},
		"token revoke":     {"token", "revoke", "0123456789abcdef"},
		"token code":       {"token", "code", "0123456789abcdef"},
		"grade issue":      {"grade", "issue", "--year", "2016"},
		"grade revise":     {"grade", "revise", "--year", "2016", "--reason", "更正"},
		"rulebook publish": {"rulebook", "publish", rulebook, "--reason", "更正"},
	}
}

// Every write command given --server talks to that server and nothing
// else: with the server unreachable it fails, and no local store is
// created or written (it used to be, for grade, rulebook publish and
// token code, in --data or ./partyledger-data).
func TestWriteCommandsNeverWriteLocallyWithServer(t *testing.T) {
	args := remoteArgs(t)
	var walk func(path string, c *command)
	seen := map[string]bool{}
	walk = func(path string, c *command) {
		for _, s := range c.subs {
			walk(strings.TrimPrefix(path+" "+s.name, " "), s)
		}
		if c.remote {
			seen[path] = true
			if args[path] == nil {
				t.Errorf("%s writes through --server but has no command line here", path)
			}
		}
	}
	walk("", commands())
	c := newClock()
	for path, a := range args {
		t.Run(path, func(t *testing.T) {
			if !seen[path] {
				t.Fatalf("%s is not marked as writing through --server", path)
			}
			dir := filepath.Join(t.TempDir(), "data")
			r := cli(t, c, "", append([]string{"--data", dir, "--server", "http://127.0.0.1:1", "--token", "plt_x"}, a...)...)
			if r.err == nil || !strings.Contains(r.err.Error()+r.stderr, "127.0.0.1:1") {
				t.Errorf("with an unreachable server: %v\n%s%s", r.err, r.stdout, r.stderr)
			}
			if _, err := os.Stat(dir); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("%s was created (%v): the command wrote a local store", dir, err)
			}
		})
	}
}
