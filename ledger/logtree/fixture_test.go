package logtree_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/mod/sumdb/note"

	"partyledger/ledger/logtree"
)

var update = flag.Bool("update", false, "rewrite testdata/offline from what the package produces")

// seedReader yields the same bytes every time: a deterministic key.
type seedReader struct{ b byte }

func (r *seedReader) Read(p []byte) (int, error) {
	for i := range p {
		r.b = r.b*31 + 7
		p[i] = r.b
	}
	return len(p), nil
}

// TestOfflineFixture produces, from a deterministic log of 100 events and
// a deterministic key, what an auditor is given — the ledger's verifier
// key, a checkpoint of 60 events and one of 100, an inclusion proof of an
// event in the second and a consistency proof from the first to the
// second — and checks it is byte for byte testdata/offline, which package
// offline's test verifies with golang.org/x/mod alone. With -update it
// rewrites the files.
func TestOfflineFixture(t *testing.T) {
	ctx := ctxT(t)
	skey, vkey, err := note.GenerateKey(&seedReader{}, "partyledger.example/branch-7")
	if err != nil {
		t.Fatal(err)
	}
	keyPath := filepath.Join(t.TempDir(), logtree.KeyFileName)
	if err := os.WriteFile(keyPath, []byte(skey+"\n"+vkey+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	key, err := logtree.LoadKey(keyPath)
	if err != nil {
		t.Fatal(err)
	}
	tl := newTestLedger(t, t.TempDir())
	tl.fill(t, 60, 4)
	tr := openTree(t, tl.store, logtree.Options{})
	old, err := tr.Checkpoint(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	tl.fill(t, 100, 3)
	cur, err := tr.Checkpoint(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	events := tl.events(t)
	incl, err := tr.InclusionProof(ctx, events[41].ID, cur.Size)
	if err != nil {
		t.Fatal(err)
	}
	cons, err := tr.ConsistencyProof(ctx, old.Size, cur.Size)
	if err != nil {
		t.Fatal(err)
	}
	js := func(v any) []byte {
		b, err := json.MarshalIndent(v, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		return append(b, '\n')
	}
	files := map[string][]byte{
		"ledger.pub":       []byte(key.VerifierKey() + "\n"),
		"checkpoint-60":    old.Note,
		"checkpoint-100":   cur.Note,
		"inclusion.json":   js(incl),
		"consistency.json": js(cons),
	}
	for name, want := range files {
		path := filepath.Join("testdata", "offline", name)
		if *update {
			if err := os.WriteFile(path, want, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (run with -update to create it)", err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from what the package produces now:\n%s\nwant:\n%s", path, got, want)
		}
	}
}
