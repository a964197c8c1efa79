package api_test

import (
	"encoding/hex"
	"encoding/json"
	"net/http"
	"path/filepath"
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
