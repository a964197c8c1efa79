package offline_test

import (
	"bytes"
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

// README begin: the Go example of the README's "Tamper evidence" section,
// which TestREADMEExample checks is this text.

// checkInclusion checks offline that the event whose hash is eventHash
// (64 hex digits: the "hash" field of the event in an export or the API)
// is in the log that a signed checkpoint commits to.
func checkInclusion(ledgerPubKey string, checkpoint []byte, eventHash string, proofJSON []byte) error {
	v, err := note.NewVerifier(ledgerPubKey) // "<name>+<key hash>+<base64>"
	if err != nil {
		return err
	}
	n, err := note.Open(checkpoint, note.VerifierList(v))
	if err != nil {
		return err // not signed by the ledger's key, or changed since
	}
	lines := strings.SplitN(n.Text, "\n", 4) // origin, tree size, root hash
	if len(lines) != 4 || lines[0] != v.Name() {
		return fmt.Errorf("not a checkpoint of %s", v.Name())
	}
	size, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil {
		return err
	}
	root, err := tlog.ParseHash(lines[2])
	if err != nil {
		return err
	}
	// From partyledger prove --event ID --size N, or
	// GET /v1/proof/inclusion?event=ID&size=N (N: the checkpoint's size).
	var p struct {
		Index int64       `json:"index"`
		Size  int64       `json:"tree_size"`
		Proof []tlog.Hash `json:"proof"`
	}
	if err := json.Unmarshal(proofJSON, &p); err != nil {
		return err
	}
	if p.Size != size {
		return fmt.Errorf("a proof for a tree of %d events; the checkpoint signs %d", p.Size, size)
	}
	h, err := hex.DecodeString(eventHash)
	if err != nil {
		return err
	}
	return tlog.CheckRecord(p.Proof, size, root, p.Index, tlog.RecordHash(h)) // nil: the event is in the signed log
}

// README end

// Example checks the fixtures' inclusion proof against their checkpoint of
// 100 events with checkInclusion, the README's example.
func Example() {
	dir := filepath.Join("..", "testdata", "offline")
	pub, _ := os.ReadFile(filepath.Join(dir, "ledger.pub"))
	checkpoint, _ := os.ReadFile(filepath.Join(dir, "checkpoint-100"))
	proof, _ := os.ReadFile(filepath.Join(dir, "inclusion.json"))
	const eventHash = "050e4d8300cf61c19460e574e6f2fb364adde6b5e3020abe777045c2366d1ccc" // event 42's
	fmt.Println(checkInclusion(strings.TrimSpace(string(pub)), checkpoint, eventHash, proof))
	other := "150e4d8300cf61c19460e574e6f2fb364adde6b5e3020abe777045c2366d1ccc"
	fmt.Println(checkInclusion(strings.TrimSpace(string(pub)), checkpoint, other, proof) != nil)
	forged := bytes.Replace(checkpoint, []byte("\n100\n"), []byte("\n101\n"), 1)
	fmt.Println(checkInclusion(strings.TrimSpace(string(pub)), forged, eventHash, proof) != nil)
	// Output:
	// <nil>
	// true
	// true
}

// TestREADMEExample: the README's Go example of an offline check is
// checkInclusion above, line for line, so that it compiles and works.
func TestREADMEExample(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join("..", "..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	sec := string(readme)
	i := strings.Index(sec, "\n## Tamper evidence\n")
	if i < 0 {
		t.Fatal("README has no Tamper evidence section")
	}
	sec = sec[i+1:]
	if j := strings.Index(sec[1:], "\n## "); j >= 0 {
		sec = sec[:j+1]
	}
	start := strings.Index(sec, "```go\n")
	if start < 0 {
		t.Fatal("the Tamper evidence section has no Go example")
	}
	block := sec[start+len("```go\n"):]
	block = block[:strings.Index(block, "```")]

	src, err := os.ReadFile("example_test.go")
	if err != nil {
		t.Fatal(err)
	}
	code := string(src)
	code = code[strings.Index(code, "// README begin"):strings.Index(code, "// README end")]
	code = code[strings.Index(code, "\n\n")+2:] // after the marker's comment
	if strings.TrimSpace(block) != strings.TrimSpace(code) {
		t.Errorf("the README's Go example is not checkInclusion of example_test.go; README:\n%s\nexample_test.go:\n%s", block, code)
	}
}
