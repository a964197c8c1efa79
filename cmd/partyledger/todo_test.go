package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"partyledger/projections"
)

// runRoot runs a command line against root (todo is not yet in the
// command tree of commands(); this runs it the way dispatch does).
func runRoot(t *testing.T, clock *testClock, root *command, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	e := &env{stdin: strings.NewReader(""), stdout: &out, stderr: &errb, getenv: func(string) string { return "" }, now: clock.Now,
		data: "./partyledger-data", flush: func() error { return nil }}
	err := dispatch(context.Background(), e, root, args)
	if e.bk != nil {
		if cerr := e.bk.Close(); cerr != nil && err == nil {
			err = cerr
		}
	}
	return result{out.String(), errb.String(), err}
}

func TestTodoCommand(t *testing.T) {
	dir := t.TempDir()
	c := newClock()
	mustOK(t, cli(t, c, "", "--data", dir, "import", "testdata/small.jsonl", "--quiet"))
	root := &command{name: "partyledger", subs: []*command{todoCommand()}}
	t.Run("a table in Chinese", func(t *testing.T) {
		r := mustOK(t, runRoot(t, c, root, "--data", dir, "todo", "--org", "LY-0002", "--as-of", "2016-02-10"))
		wantIn(t, r.stdout, "LY-0002 市财政局第一党支部 待办（截至 2016-02-10，细则 2016.1）", "5.2 政治学习", "0/2", "2016-02-29",
			"StudySessionHeld", "5.3 党课", "kind=party_lecture", "换届选举（尚无换届记录）", "未交：")
	})
	t.Run("JSON is the API's list", func(t *testing.T) {
		r := mustOK(t, runRoot(t, c, root, "--data", dir, "todo", "--org", "LY-0002", "--as-of", "2016-02-10", "--json"))
		var l projections.TodoList
		if err := json.Unmarshal([]byte(r.stdout), &l); err != nil {
			t.Fatal(err)
		}
		if l.Org != "LY-0002" || l.AsOf.String() != "2016-02-10" || len(l.Items) == 0 {
			t.Fatalf("%+v", l)
		}
	})
	t.Run("refusals", func(t *testing.T) {
		if r := runRoot(t, c, root, "--data", dir, "todo"); codeOf(r.err) != 2 {
			t.Errorf("without --org: %v", r.err)
		}
		if r := runRoot(t, c, root, "--data", dir, "todo", "--org", "LY-9999"); r.err == nil {
			t.Error("an unknown organisation")
		}
		if r := runRoot(t, c, root, "--data", dir, "todo", "--org", "LY-0002", "--as-of", "2016-13-01"); codeOf(r.err) != 2 {
			t.Errorf("a bad date: %v", r.err)
		}
	})
}

func TestTokenCodeCommand(t *testing.T) {
	dir := t.TempDir()
	c := newClock()
	mustOK(t, cli(t, c, "", "--data", dir, "import", "testdata/small.jsonl", "--quiet"))
	r := mustOK(t, cli(t, c, "", "--data", dir, "token", "create", "--role", "branch", "--org", "LY-0002", "--name", "王书记"))
	id := strings.TrimPrefix(strings.Fields(r.stderr[strings.Index(r.stderr, "token_id="):])[0], "token_id=")
	root := &command{name: "partyledger", subs: []*command{{name: "token", subs: []*command{tokenCodeCommand()}}}}
	r = mustOK(t, runRoot(t, c, root, "--data", dir, "token", "code", id, "--url", "https://dangjian.example.cn"))
	code := strings.TrimSpace(r.stdout)
	if len(code) != 8 || strings.Trim(code, "0123456789") != "" {
		t.Fatalf("code %q", code)
	}
	wantIn(t, r.stderr, "为 王书记 发放一次性登录码", "https://dangjian.example.cn/signin?c=")
	if strings.Contains(r.stderr, code) {
		t.Fatal("the code is on standard error with the address")
	}
	if r := runRoot(t, c, root, "--data", dir, "token", "code", "0123456789abcdef"); r.err == nil {
		t.Fatal("an unknown token")
	}
	if r := runRoot(t, c, root, "--data", dir, "token", "code", id, "--url", "ftp://x"); codeOf(r.err) != 2 {
		t.Fatalf("a bad url: %v", r.err)
	}
}
