package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"regexp"
	"strings"
	"testing"

	"partyledger/domain"
	"path/filepath"
)

// validCalls holds one valid invocation of every leaf command, by its path
// below partyledger. Each runs against dir, a ledger holding
// testdata/small.jsonl, and checks what the command did.
var validCalls = map[string]func(t *testing.T, c *testClock, dir string){
	"demo": func(t *testing.T, c *testClock, _ string) {
		r := mustOK(t, cli(t, c, "", "demo", "--orgs", "4", "--quiet", "--data", t.TempDir()))
		wantIn(t, r.stdout, "示范城市 / demo city", "个组织：先进")
	},
	"import": func(t *testing.T, c *testClock, _ string) {
		r := mustOK(t, cli(t, c, "", "--data", t.TempDir(), "import", "testdata/small.jsonl", "--quiet"))
		wantIn(t, r.stdout, "20 个新事件 new")
	},
	"record": func(t *testing.T, c *testClock, dir string) {
		r := mustOK(t, cli(t, c, "", "--data", dir, "record", "--org", "LY-0002", "--type", "StudySessionHeld",
			"--occurred-on", "2016-04-05", "--data", `{"topic":"学习","attendees":["m001"],"notes_kept":true}`))
		wantIn(t, r.stdout, "revision=17 ", "duplicate=false")
		wantIn(t, countEvents(t, c, dir), " 21 个事件")
	},
	"replay": func(t *testing.T, c *testClock, dir string) {
		wantIn(t, mustOK(t, cli(t, c, "", "--data", dir, "replay", "--org", "LY-0002")).stdout, "党员加入")
	},
	"export": func(t *testing.T, c *testClock, dir string) {
		wantIn(t, mustOK(t, cli(t, c, "", "--data", dir, "export", "--all")).stdout, `"hash"`)
	},
	"verify": func(t *testing.T, c *testClock, dir string) {
		wantIn(t, mustOK(t, cli(t, c, "", "--data", dir, "verify")).stdout, "校验通过", " 20 个事件")
	},
	"backup": func(t *testing.T, c *testClock, dir string) {
		out := filepath.Join(t.TempDir(), "copy")
		wantIn(t, mustOK(t, cli(t, c, "", "--data", dir, "backup", "--out", out)).stdout, "backup written and verified", " 20 个事件")
		wantIn(t, countEvents(t, c, out), " 20 个事件")
		if r := cli(t, c, "", "--data", dir, "backup", "--out", out); exitCode(r.err) != 2 {
			t.Fatalf("backup into a non-empty directory: %v", r.err)
		}
	},
	"checkpoint": func(t *testing.T, c *testClock, dir string) {
		out := filepath.Join(t.TempDir(), "cp")
		r := mustOK(t, cli(t, c, "", "--data", dir, "checkpoint", "--out", out))
		wantIn(t, r.stdout, "\n20\n")
		wantIn(t, mustOK(t, cli(t, c, "", "--data", dir, "verify", "--checkpoint", out)).stdout, "检查点相符")
	},
	"prove": func(t *testing.T, c *testClock, dir string) {
		var line struct{ ID string }
		first := strings.SplitN(mustOK(t, cli(t, c, "", "--data", dir, "export", "--all")).stdout, "\n", 2)[0]
		if err := json.Unmarshal([]byte(first), &line); err != nil {
			t.Fatal(err)
		}
		wantIn(t, mustOK(t, cli(t, c, "", "--data", dir, "prove", "--event", line.ID)).stdout, `"proof"`, `"tree_size"`)
	},
	"todo": func(t *testing.T, c *testClock, dir string) {
		wantIn(t, mustOK(t, cli(t, c, "", "--data", dir, "todo", "--org", "LY-0002", "--as-of", "2016-06-15")).stdout, "LY-0002")
	},
	"score": func(t *testing.T, c *testClock, dir string) {
		wantIn(t, mustOK(t, cli(t, c, "", "--data", dir, "score", "--org", "LY-0002")).stdout, "LY-0002 市财政局第一党支部")
	},
	"rulebook publish": func(t *testing.T, c *testClock, dir string) {
		p := writeTemp(t, "2016.2.json", corrected2016JSON(t, string(domain.Builtin2016JSON())))
		r := mustOK(t, cli(t, c, "", "--data", dir, "rulebook", "publish", p, "--reason", "更正"))
		wantIn(t, r.stdout, "已发布细则 2016.2")
	},
	"rulebook list": func(t *testing.T, c *testClock, dir string) {
		wantIn(t, mustOK(t, cli(t, c, "", "--data", dir, "rulebook", "list")).stdout, "2016.1  现行")
	},
	"rulebook show": func(t *testing.T, c *testClock, dir string) {
		r := mustOK(t, cli(t, c, "", "--data", dir, "rulebook", "show", "2016.1"))
		if _, err := domain.ParseRulebook([]byte(r.stdout)); err != nil {
			t.Fatal(err)
		}
	},
	"rulebook diff": func(t *testing.T, c *testClock, dir string) {
		wantIn(t, mustOK(t, cli(t, c, "", "--data", dir, "rulebook", "diff", "2016.1", "2016.1")).stdout, "两个版本的内容相同")
	},
	"recompute": func(t *testing.T, c *testClock, dir string) {
		r := mustOK(t, cli(t, c, "", "--data", dir, "recompute", "--year", "2016", "--from", "2016.1", "--to", "2016.1"))
		wantIn(t, r.stdout, "2016 年度重算", "变化 0 个")
	},
	"grade issue": func(t *testing.T, c *testClock, dir string) {
		wantIn(t, mustOK(t, cli(t, c, "", "--data", dir, "grade", "issue", "--under", "*", "--year", "2016", "--provisional")).stdout, "评定 2 个组织")
	},
	"grade revise": func(t *testing.T, c *testClock, dir string) {
		r := mustOK(t, cli(t, c, "", "--data", dir, "grade", "revise", "--under", "*", "--year", "2016", "--reason", "更正", "--provisional"))
		wantIn(t, r.stdout, "未写入任何事件")
	},
	"grade history": func(t *testing.T, c *testClock, dir string) {
		r := mustOK(t, cli(t, c, "", "--data", dir, "grade", "history", "--org", "LY-0002", "--year", "2016"))
		wantIn(t, r.stdout, "尚无正式等次")
	},
	"grade list": func(t *testing.T, c *testClock, dir string) {
		wantIn(t, mustOK(t, cli(t, c, "", "--data", dir, "grade", "list", "--year", "2016")).stdout, "尚未评定")
	},
	"serve": func(t *testing.T, c *testClock, dir string) {
		_, stop := startServe(t, dir, c) // serve, stopped by cancelling its context once it listens
		stop()
	},
	"worker": workerCall, // on the esdb test double (worker_test.go)
	"token create": func(t *testing.T, c *testClock, dir string) {
		r := mustOK(t, cli(t, c, "", "--data", dir, "token", "create", "--role", "auditor", "--name", "审计"))
		wantIn(t, r.stdout, "plt_")
	},
	"token list": func(t *testing.T, c *testClock, dir string) {
		wantIn(t, mustOK(t, cli(t, c, "", "--data", dir, "token", "list")).stdout, "TOKEN_ID")
	},
	"token code": func(t *testing.T, c *testClock, dir string) {
		r := mustOK(t, cli(t, c, "", "--data", dir, "token", "create", "--role", "auditor", "--name", "审计"))
		id := regexp.MustCompile(`token_id=(\S+)`).FindStringSubmatch(r.stderr)
		if id == nil {
			t.Fatalf("no token id in %q", r.stderr)
		}
		code := mustOK(t, cli(t, c, "", "--data", dir, "token", "code", id[1]))
		wantIn(t, code.stderr, "/signin?c=")
	},
	"token revoke": func(t *testing.T, c *testClock, dir string) {
		r := mustOK(t, cli(t, c, "", "--data", dir, "token", "create", "--role", "auditor", "--name", "审计"))
		id := regexp.MustCompile(`token_id=(\S+)`).FindStringSubmatch(r.stderr)
		if id == nil {
			t.Fatalf("no token id in %q", r.stderr)
		}
		wantIn(t, mustOK(t, cli(t, c, "", "--data", dir, "token", "revoke", id[1], "--reason", "调离")).stdout, "已吊销 / revoked "+id[1])
	},
}

func wantIn(t testing.TB, got string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(got, w) {
			t.Errorf("output lacks %q:\n%s", w, got)
		}
	}
}

// TestEveryCommand walks the command tree itself, so a command added
// without a test fails here: every command and group answers -h with its
// usage and exit 0, every group without a subcommand exits 2, and every
// leaf runs once, validly, against a small ledger.
func TestEveryCommand(t *testing.T) {
	seeded := t.TempDir()
	c := newClock()
	mustOK(t, cli(t, c, "", "--data", seeded, "import", "testdata/small.jsonl", "--quiet"))
	journal := mustOK(t, cli(t, c, "", "--data", seeded, "export", "--all")).stdout
	seen := map[string]bool{}
	var walk func(cmd *command, path []string)
	walk = func(cmd *command, path []string) {
		name := strings.Join(append([]string{"partyledger"}, path...), " ")
		t.Run(strings.Join(append(path, "-h"), " "), func(t *testing.T) {
			r := cli(t, newClock(), "", append(path, "-h")...)
			if r.err != nil || !strings.Contains(r.stderr, "用法 / usage: "+name+" ") {
				t.Fatalf("err %v; stderr:\n%s", r.err, r.stderr)
			}
			if cmd.run != nil && cmd.flags != nil && !strings.Contains(r.stderr, "参数 / flags:") {
				t.Fatalf("no flags in the help:\n%s", r.stderr)
			}
		})
		if cmd.run == nil {
			if len(path) > 0 {
				t.Run(strings.Join(path, " ")+" without a command", func(t *testing.T) {
					if r := cli(t, newClock(), "", path...); codeOf(r.err) != 2 || !strings.Contains(r.stderr, "命令 / commands:") {
						t.Fatalf("err %v; stderr:\n%s", r.err, r.stderr)
					}
				})
			}
			for _, s := range cmd.subs {
				walk(s, append(path[:len(path):len(path)], s.name))
			}
			return
		}
		key := strings.Join(path, " ")
		seen[key] = true
		call, ok := validCalls[key]
		if !ok {
			t.Errorf("%s has no valid invocation in validCalls", name)
			return
		}
		t.Run(key, func(t *testing.T) {
			dir := t.TempDir() // a restore of the seeded ledger: each call its own
			mustOK(t, cli(t, c, journal, "--data", dir, "import", "-", "--quiet"))
			call(t, c, dir)
		})
	}
	walk(commands(), nil)
	for key := range validCalls {
		if !seen[key] {
			t.Errorf("validCalls has %q, which is not a command", key)
		}
	}
}

// TestRecordDataIsTheEventsJSON: record's --data is its event's JSON
// (it once clashed with the global --data DIR and panicked); the data
// directory goes before the command, or comes from PARTYLEDGER_DATA.
func TestRecordDataIsTheEventsJSON(t *testing.T) {
	dir := t.TempDir()
	c := newClock()
	mustOK(t, cli(t, c, "", "--data", dir, "import", "testdata/small.jsonl", "--quiet"))
	data, _ := json.Marshal(map[string]any{"topic": "学习", "attendees": []string{"m001"}, "notes_kept": true})
	r := mustOK(t, cli(t, c, "", "--data", dir, "record", "--org", "LY-0002", "--type", "StudySessionHeld", "--occurred-on", "2016-04-05", "--data", string(data)))
	wantIn(t, r.stdout, "duplicate=false")
	replay := mustOK(t, cli(t, c, "", "--data", dir, "replay", "--org", "LY-0002", "--json")).stdout
	wantIn(t, replay, `"data":{"topic":"学习","attendees":["m001"],"notes_kept":true}`)
	if r := cli(t, c, "", "--data", dir, "record", "--org", "LY-0002", "--type", "StudySessionHeld", "--occurred-on", "2016-04-05", "--data", "{"); codeOf(r.err) != 2 {
		t.Fatalf("--data that is not JSON: %v", r.err)
	}
}

// TestFlagsBeforeTheSubcommand: a group finds its subcommand after flags
// and their values, and hands them on.
func TestFlagsBeforeTheSubcommand(t *testing.T) {
	dir := t.TempDir()
	c := newClock()
	mustOK(t, cli(t, c, "", "--data", dir, "import", "testdata/small.jsonl", "--quiet"))
	wantIn(t, mustOK(t, cli(t, c, "", "--data", dir, "token", "--role", "auditor", "--name", "审计", "create")).stdout, "plt_")
	wantIn(t, mustOK(t, cli(t, c, "", "--data", dir, "rulebook", "--year", "2016", "list")).stdout, "2016 年度细则版本")
	wantIn(t, mustOK(t, cli(t, c, "", "grade", "--data", dir, "--year", "2016", "list", "--json")).stdout, "[]")
	if r := cli(t, c, "", "--data", dir, "grade", "--year", "2016"); codeOf(r.err) != 2 {
		t.Fatalf("a group without its subcommand: %v", r.err)
	}
	if r := cli(t, c, "", "--data", dir, "help", "grade", "list"); r.err != nil || !strings.Contains(r.stderr, "用法 / usage: partyledger grade list ") {
		t.Fatalf("help grade list: %v\n%s", r.err, r.stderr)
	}
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

// TestOutputErrorsAreReported: a command whose output cannot be written
// fails, with the reason, instead of exiting 0.
func TestOutputErrorsAreReported(t *testing.T) {
	dir := t.TempDir()
	c := newClock()
	mustOK(t, cli(t, c, "", "--data", dir, "import", "testdata/small.jsonl", "--quiet"))
	for _, args := range [][]string{{"export", "--all"}, {"verify"}, {"score", "--all", "--under", "*", "--json"}} {
		var errb bytes.Buffer
		e := &env{stdin: strings.NewReader(""), stdout: failingWriter{}, stderr: &errb, getenv: func(string) string { return "" }, now: c.Now}
		err := e.run(context.Background(), append([]string{"--data", dir}, args...))
		if codeOf(err) != 1 || !strings.Contains(err.Error(), "write standard output: disk full") {
			t.Errorf("%v: err %v", args, err)
		}
	}
}
