package main

import (
	"net/http"
	"strings"
	"testing"
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
