package offline_test

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

func read(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "testdata", "offline", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// openCheckpoint checks a checkpoint's signature with the ledger's
// verifier key and returns the tree size and root it signs: the note text
// is "<origin>\n<size>\n<base64 root>\n".
func openCheckpoint(msg []byte, vkey string) (origin string, size int64, root tlog.Hash, err error) {
	v, err := note.NewVerifier(vkey)
	if err != nil {
		return "", 0, root, err
	}
	n, err := note.Open(msg, note.VerifierList(v))
	if err != nil {
		return "", 0, root, err
	}
	lines := strings.SplitN(n.Text, "\n", 4)
	if len(lines) != 4 || lines[3] != "" || lines[0] != v.Name() {
		return "", 0, root, fmt.Errorf("not a checkpoint of %s: %q", v.Name(), n.Text)
	}
	if size, err = strconv.ParseInt(lines[1], 10, 64); err != nil {
		return "", 0, root, err
	}
	root, err = tlog.ParseHash(lines[2])
	return lines[0], size, root, err
}

// inclusion is the JSON of an inclusion proof (hashes in standard base64,
// which tlog.Hash decodes).
type inclusion struct {
	EventHash string      `json:"event_hash"`
	Index     int64       `json:"index"`
	Size      int64       `json:"tree_size"`
	Proof     []tlog.Hash `json:"proof"`
}

type consistency struct {
	From  int64       `json:"from"`
	To    int64       `json:"to"`
	Proof []tlog.Hash `json:"proof"`
}

// TestAuditorRecipe: the event is in the log the checkpoint of 100 events
// signs, and the log of 60 events an older checkpoint signed is a prefix
// of it. Changing the event's hash, the proof, or the checkpoint's text
// makes the check fail.
func TestAuditorRecipe(t *testing.T) {
	vkey := strings.TrimSpace(string(read(t, "ledger.pub")))
	origin, size, root, err := openCheckpoint(read(t, "checkpoint-100"), vkey)
	if err != nil {
		t.Fatalf("checkpoint: %v", err)
	}
	var p inclusion
	if err := json.Unmarshal(read(t, "inclusion.json"), &p); err != nil {
		t.Fatal(err)
	}
	if p.Size != size {
		t.Fatalf("the proof is for a tree of %d, the checkpoint signs %d", p.Size, size)
	}
	eventHash, err := hex.DecodeString(p.EventHash)
	if err != nil || len(eventHash) != 32 {
		t.Fatalf("event hash %q", p.EventHash)
	}
	leaf := tlog.RecordHash(eventHash)
	if err := tlog.CheckRecord(p.Proof, size, root, p.Index, leaf); err != nil {
		t.Fatalf("inclusion proof: %v", err)
	}
	t.Logf("event %s… is leaf %d of the %d-event log %s signs", p.EventHash[:12], p.Index, size, origin)

	// What must fail.
	other := append([]byte(nil), eventHash...)
	other[0] ^= 1
	if tlog.CheckRecord(p.Proof, size, root, p.Index, tlog.RecordHash(other)) == nil {
		t.Fatal("another event hash passed")
	}
	if tlog.CheckRecord(p.Proof, size, root, p.Index+1, leaf) == nil {
		t.Fatal("another index passed")
	}
	bad := append(tlog.RecordProof(nil), p.Proof...)
	bad[2][5] ^= 1
	if tlog.CheckRecord(bad, size, root, p.Index, leaf) == nil {
		t.Fatal("a changed proof passed")
	}
	forged := strings.Replace(string(read(t, "checkpoint-100")), "\n100\n", "\n101\n", 1)
	if _, _, _, err := openCheckpoint([]byte(forged), vkey); err == nil {
		t.Fatal("a checkpoint changed after signing was accepted")
	}

	// Consistency: the older checkpoint's tree is a prefix of the newer.
	_, oldSize, oldRoot, err := openCheckpoint(read(t, "checkpoint-60"), vkey)
	if err != nil {
		t.Fatal(err)
	}
	var c consistency
	if err := json.Unmarshal(read(t, "consistency.json"), &c); err != nil {
		t.Fatal(err)
	}
	if c.From != oldSize || c.To != size {
		t.Fatalf("consistency proof from %d to %d, checkpoints of %d and %d", c.From, c.To, oldSize, size)
	}
	if err := tlog.CheckTree(c.Proof, size, root, oldSize, oldRoot); err != nil {
		t.Fatalf("consistency proof: %v", err)
	}
	wrong := oldRoot
	wrong[0] ^= 1
	if tlog.CheckTree(c.Proof, size, root, oldSize, wrong) == nil {
		t.Fatal("consistency with another old root passed")
	}
}
