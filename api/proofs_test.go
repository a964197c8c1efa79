package api_test

import (
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"partyledger/api"
	"partyledger/ledger/logtree"
)

// TestProofRoutes: the signed checkpoint, and inclusion and consistency
// proofs that an auditor checks with the note and tlog packages alone.
func TestProofRoutes(t *testing.T) {
	key, _, err := logtree.LoadOrCreateKey(filepath.Join(t.TempDir(), logtree.KeyFileName), "partyledger.test/city")
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, api.Options{Key: key})

	res := e.do("GET", "/v1/checkpoint", "auditor", nil)
	if res.status != http.StatusOK {
		t.Fatalf("checkpoint: %d %s", res.status, res.body)
	}
	if got := res.header.Get("X-Checkpoint-Verifier"); got != key.VerifierKey() {
		t.Fatalf("X-Checkpoint-Verifier %q, want the ledger's public key %q", got, key.VerifierKey())
	}
	v, err := note.NewVerifier(key.VerifierKey())
	if err != nil {
		t.Fatal(err)
	}
	n, err := note.Open(res.body, note.VerifierList(v))
	if err != nil {
		t.Fatalf("the checkpoint is not signed by the ledger's key: %v\n%s", err, res.body)
	}
	lines := strings.SplitN(n.Text, "\n", 4)
	size, _ := strconv.ParseInt(lines[1], 10, 64)
	root, err := tlog.ParseHash(lines[2])
	if lines[0] != "partyledger.test/city" || size < 2 || err != nil {
		t.Fatalf("checkpoint text %q", n.Text)
	}

	// An event of the fixture, proved in the checkpointed tree.
	var line struct {
		ID string `json:"id"`
	}
	ev := e.do("GET", "/v1/orgs/"+ownOrg+"/events?limit=1", "auditor", nil)
	var page struct {
		Events []json.RawMessage `json:"events"`
	}
	if err := json.Unmarshal(ev.body, &page); err != nil || len(page.Events) == 0 {
		t.Fatalf("events: %v %s", err, ev.body)
	}
	_ = json.Unmarshal(page.Events[0], &line)
	res = e.do("GET", "/v1/proof/inclusion?event="+line.ID+"&size="+lines[1], "branch", nil)
	var inc struct {
		EventHash string      `json:"event_hash"`
		Index     int64       `json:"index"`
		Proof     []tlog.Hash `json:"proof"`
	}
	if err := json.Unmarshal(res.body, &inc); res.status != http.StatusOK || err != nil {
		t.Fatalf("inclusion: %d %s", res.status, res.body)
	}
	h, _ := hex.DecodeString(inc.EventHash)
	if err := tlog.CheckRecord(inc.Proof, size, root, inc.Index, tlog.RecordHash(h)); err != nil {
		t.Fatalf("the inclusion proof does not check against the signed root: %v", err)
	}

	// More events; the old checkpoint is a prefix of the new tree.
	e.record("fixture", `{"org":"`+ownOrg+`","type":"StudySessionHeld","occurred_on":"2016-12-20","data":{"topic":"补充","attendees":["m1"],"notes_kept":true}}`)
	res = e.do("GET", "/v1/proof/consistency?from="+lines[1], "auditor", nil)
	var con struct {
		To     int64       `json:"to"`
		ToRoot tlog.Hash   `json:"to_root"`
		Proof  []tlog.Hash `json:"proof"`
	}
	if err := json.Unmarshal(res.body, &con); res.status != http.StatusOK || err != nil || con.To <= size {
		t.Fatalf("consistency: %d %s", res.status, res.body)
	}
	if err := tlog.CheckTree(con.Proof, con.To, con.ToRoot, size, root); err != nil {
		t.Fatalf("the consistency proof does not check: %v", err)
	}

	for _, tc := range []struct {
		path  string
		want  int
		field string
	}{
		{"/v1/proof/inclusion?event=nope", http.StatusUnprocessableEntity, "event"},
		{"/v1/proof/inclusion?event=00000000-0000-4000-8000-000000000000", http.StatusNotFound, "event"},
		{"/v1/proof/inclusion?event=" + line.ID + "&size=999999", http.StatusUnprocessableEntity, "size"},
		{"/v1/proof/consistency", http.StatusUnprocessableEntity, "from"},
		{"/v1/proof/consistency?from=-1", http.StatusUnprocessableEntity, "from"},
	} {
		res := e.do("GET", tc.path, "auditor", nil)
		if res.status != tc.want {
			t.Errorf("%s: %d, want %d: %s", tc.path, res.status, tc.want, res.body)
			continue
		}
		if _, field := res.apiErr(t); field != tc.field {
			t.Errorf("%s: field %q, want %q", tc.path, field, tc.field)
		}
	}
	if res := newEnv(t, api.Options{}).do("GET", "/v1/checkpoint", "auditor", nil); res.status != http.StatusServiceUnavailable {
		t.Errorf("a server without a tree: %d, want 503", res.status)
	}
}

// TestGradesAnchoredToTheTree: grades issued through the admin pages of a
// server that keeps the log tree carry the tree they were computed at —
// the size and root of the checkpoint the server signs just before — and
// the auditors' CSV prints it.
func TestGradesAnchoredToTheTree(t *testing.T) {
	key, _, err := logtree.LoadOrCreateKey(filepath.Join(t.TempDir(), logtree.KeyFileName), "partyledger.test/city")
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, api.Options{Key: key})
	res := e.do("GET", "/v1/checkpoint", "auditor", nil)
	lines := strings.SplitN(string(res.body), "\n", 4)
	if res.status != http.StatusOK || len(lines) < 3 {
		t.Fatalf("checkpoint: %d %s", res.status, res.body)
	}
	anchor := lines[1] + " 个事件，根 " + lines[2]

	b := e.login("admin")
	dry := b.post("/ui/admin/grades/issue", url.Values{"csrf": {b.csrf}, "year": {"2016"}, "provisional": {"1"}})
	knownAt := regexp.MustCompile(`name="known_at" value="([^"]+)"`).FindSubmatch(dry.body)
	if knownAt == nil {
		t.Fatalf("dry run: %d %.800s", dry.status, dry.body)
	}
	done := b.post("/ui/admin/grades/issue", url.Values{"csrf": {b.csrf}, "year": {"2016"}, "provisional": {"1"}, "confirm": {"1"}, "known_at": {string(knownAt[1])}})
	wantBody(t, done, http.StatusOK, "已写入台账")

	csv := string(e.do("GET", "/v1/reports/2016?format=csv", "auditor", nil).body)
	if !strings.Contains(csv, "评定时账本检查点") || !strings.Contains(csv, anchor) {
		t.Fatalf("the report does not name the grades' log tree %q:\n%s", anchor, csv)
	}
}
