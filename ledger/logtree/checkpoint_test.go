package logtree_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"partyledger/ledger"
	"partyledger/ledger/filestore"
	"partyledger/ledger/logtree"
)

// fork copies the log of tl into a new store, event by event, with the
// event at index k rewritten (its payload changed) and its stream's hash
// chain recomputed from there on: a log whose every frame checksum, hash
// chain and Ledger.Verify holds, differing from the original in one event.
func fork(t *testing.T, tl *testLedger, k int) *testLedger {
	t.Helper()
	out := newTestLedger(t, t.TempDir())
	prev := map[string]ledger.Hash{}
	for i, e := range tl.events(t) {
		if i == k {
			e.Data = []byte(`{"n":0,"topic":"改写"}`)
		}
		if i >= k {
			e.PrevHash = prev[e.Stream]
			e.Hash = ledger.ComputeHash(&e)
		}
		prev[e.Stream] = e.Hash
		e.Position = 0
		if _, err := out.store.Append(ctxT(t), e.Stream, int64(e.Revision)-1, []ledger.Event{e}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := ledger.New(out.store, ledger.Options{}).Verify(ctxT(t)); err != nil {
		t.Fatalf("the forked log does not verify: %v", err)
	}
	return out
}

// segmentOf returns the path of the only segment in dir.
func segmentOf(t *testing.T, dir string) string {
	t.Helper()
	segs, _ := filepath.Glob(filepath.Join(dir, "segment-*.log"))
	if len(segs) != 1 {
		t.Fatalf("segments %v, want one", segs)
	}
	return segs[0]
}

// TestCheckpointVerify is the acceptance test: a checkpoint, more
// appends, and the checkpoint still verifies; the last frame removed from
// the segment (with the commit mark that would otherwise refuse the cut,
// and any side file) and a checkpoint that covered it fails with "the log
// no longer contains the checkpointed tree", while an earlier one still
// verifies; one event rewritten with a recomputed hash chain and valid
// checksums fails too; so does another key, another origin or a changed
// note.
func TestCheckpointVerify(t *testing.T) {
	ctx := ctxT(t)
	dir := t.TempDir()
	tl := newTestLedger(t, dir)
	tl.fill(t, 40, 4)
	key := newKey(t, t.TempDir(), "partyledger.example/branch-7")
	hashFile := filepath.Join(dir, logtree.HashFileName)
	tr, err := logtree.Open(ctx, tl.store, logtree.Options{HashFile: hashFile})
	if err != nil {
		t.Fatal(err)
	}
	cp40, err := tr.Checkpoint(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	if want := refRoot(leafData(tl.events(t))); cp40.Size != 40 || cp40.Root != want || cp40.Origin != key.Name() {
		t.Fatalf("checkpoint %+v, want size 40 root %s", cp40, want)
	}
	if !strings.HasPrefix(string(cp40.Note), "partyledger.example/branch-7\n40\n"+cp40.Root.String()+"\n\n— partyledger.example/branch-7 ") {
		t.Fatalf("checkpoint note:\n%s", cp40.Note)
	}
	seg := segmentOf(t, dir)
	// Where the frames end (the segment is zero-filled after them), in
	// its only segment.
	u, err := tl.store.Usage()
	if err != nil || u.Segments != 1 {
		t.Fatalf("Usage = %+v, %v; want one segment", u, err)
	}
	lastFrame := u.DataBytes
	tl.appendN(t, "org-9", 20) // one frame of 20 events
	cp60, err := tr.Checkpoint(ctx, key)
	if err != nil || cp60.Size != 60 {
		t.Fatalf("second checkpoint: %+v, %v", cp60, err)
	}
	tl.appendN(t, "org-9", 1)
	tr.Close()

	pub, err := note.NewVerifier(key.VerifierKey())
	if err != nil {
		t.Fatal(err)
	}
	for _, cp := range []logtree.Checkpoint{cp40, cp60} {
		rep, err := logtree.VerifyCheckpoint(ctx, tl.store, cp.Note, pub)
		if err != nil {
			t.Fatalf("checkpoint of %d after more appends: %v", cp.Size, err)
		}
		if rep.Consistency.From != cp.Size || rep.Consistency.To != 61 || rep.Checkpoint.Root != cp.Root {
			t.Fatalf("report %+v", rep)
		}
	}

	t.Run("bad checkpoints", func(t *testing.T) {
		other := newKey(t, t.TempDir(), "partyledger.example/branch-8")
		if _, err := logtree.VerifyCheckpoint(ctx, tl.store, cp40.Note, other.Verifier()); !errors.Is(err, logtree.ErrBadCheckpoint) {
			t.Fatalf("another ledger's key: %v, want ErrBadCheckpoint", err)
		}
		changed := bytes.Replace(cp40.Note, []byte("\n40\n"), []byte("\n39\n"), 1)
		if _, err := logtree.VerifyCheckpoint(ctx, tl.store, changed, pub); !errors.Is(err, logtree.ErrBadCheckpoint) {
			t.Fatalf("size changed after signing: %v, want ErrBadCheckpoint", err)
		}
		if _, err := logtree.VerifyCheckpoint(ctx, tl.store, []byte("not a note"), pub); !errors.Is(err, logtree.ErrBadCheckpoint) {
			t.Fatalf("garbage: %v, want ErrBadCheckpoint", err)
		}
	})

	t.Run("rewritten event", func(t *testing.T) {
		forked := fork(t, tl, 25)
		for _, cp := range []logtree.Checkpoint{cp40, cp60} {
			_, err := logtree.VerifyCheckpoint(ctx, forked.store, cp.Note, pub)
			var ce *logtree.CheckpointError
			if !errors.As(err, &ce) || !errors.Is(err, logtree.ErrNotContained) || !errors.Is(err, ledger.ErrCorrupt) || ce.Checkpoint.Size != cp.Size {
				t.Fatalf("checkpoint of %d over a log rewritten at event 26: %v, want a *CheckpointError", cp.Size, err)
			}
			if !strings.Contains(err.Error(), "no longer contains the checkpointed tree") || !strings.Contains(err.Error(), "rewritten") {
				t.Fatalf("error %q does not say so", err)
			}
		}
		// An event after the checkpoint rewritten: the checkpoint still holds.
		if _, err := logtree.VerifyCheckpoint(ctx, fork(t, tl, 50).store, cp40.Note, pub); err != nil {
			t.Fatalf("checkpoint of 40, event 51 rewritten: %v", err)
		}
	})

	t.Run("last frame removed", func(t *testing.T) {
		if err := tl.store.Close(); err != nil {
			t.Fatal(err)
		}
		// Remove the frames of the last two appends (21 events): the log
		// ends at 40 again. The segment is preallocated: removed frames
		// are zeros to the end of the file, as free space is. Its index
		// file names them: remove it too.
		fi, err := os.Stat(seg)
		if err != nil {
			t.Fatal(err)
		}
		f, err := os.OpenFile(seg, os.O_RDWR, 0)
		if err != nil {
			t.Fatal(err)
		}
		_, err = f.WriteAt(make([]byte, fi.Size()-lastFrame), lastFrame)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			t.Fatal(err)
		}
		if err := os.Remove(strings.TrimSuffix(seg, ".log") + ".idx"); err != nil {
			t.Fatal(err)
		}
		// With the commit mark Close wrote, the store itself refuses.
		if _, err := filestore.Open(dir, filestore.Options{}); !errors.Is(err, ledger.ErrCorrupt) {
			t.Fatalf("Open of a segment cut below the commit mark: %v, want ErrCorrupt", err)
		}
		// Whoever cut the segment may remove the mark and side files too.
		os.Remove(filepath.Join(dir, "COMMIT"))
		sides, _ := filepath.Glob(seg + ".torn-*")
		for _, s := range sides {
			os.Remove(s)
		}
		s, err := filestore.Open(dir, filestore.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		if _, err := ledger.New(s, ledger.Options{}).Verify(ctx); err != nil {
			t.Fatalf("the cut log still verifies its hash chains, as it should: %v", err)
		}
		if _, err := logtree.VerifyCheckpoint(ctx, s, cp40.Note, pub); err != nil {
			t.Fatalf("checkpoint of 40 over the first 40 events: %v", err)
		}
		_, err = logtree.VerifyCheckpoint(ctx, s, cp60.Note, pub)
		var ce *logtree.CheckpointError
		if !errors.As(err, &ce) || !errors.Is(err, logtree.ErrNotContained) || ce.LogSize != 40 {
			t.Fatalf("checkpoint of 60 over 40 events: %v, want a *CheckpointError", err)
		}
		if !strings.Contains(err.Error(), "no longer contains the checkpointed tree") || !strings.Contains(err.Error(), "truncated") {
			t.Fatalf("error %q does not say so", err)
		}
		// The hash file still holds 61 leaves: the tree refuses to go on.
		if _, err := logtree.Open(ctx, s, logtree.Options{HashFile: hashFile}); !errors.Is(err, logtree.ErrDiverged) {
			t.Fatalf("tree over a log shorter than its hash file: %v, want ErrDiverged", err)
		}
	})
}

// TestKeyFile: a key is created on first use with mode 0600 and read
// back after; it refuses another name, a file others may read, and a
// verifier line that is not the signer's.
func TestKeyFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "keys", logtree.KeyFileName)
	k, created, err := logtree.LoadOrCreateKey(path, "ledger.example")
	if err != nil || !created || k.Path() != path || k.Name() != "ledger.example" {
		t.Fatalf("first use: %v, created %v, %v", k, created, err)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %v, %v; want 0600", fi.Mode(), err)
	}
	if !strings.HasPrefix(k.VerifierKey(), "ledger.example+") {
		t.Fatalf("verifier key %q", k.VerifierKey())
	}
	k2, created, err := logtree.LoadOrCreateKey(path, "ledger.example")
	if err != nil || created || k2.VerifierKey() != k.VerifierKey() {
		t.Fatalf("second use: created %v, %v, same key %v", created, err, k2 != nil && k2.VerifierKey() == k.VerifierKey())
	}
	if _, _, err := logtree.LoadOrCreateKey(path, "another.example"); err == nil {
		t.Fatal("the key was taken for another ledger's name")
	}
	for _, bad := range []string{"", "has space", "a+b", "tab\there", "nl\nx"} {
		if _, _, err := logtree.LoadOrCreateKey(filepath.Join(dir, "x.key"), bad); err == nil {
			t.Fatalf("origin %q accepted", bad)
		}
	}
	os.Chmod(path, 0o644)
	if _, err := logtree.LoadKey(path); err == nil || !strings.Contains(err.Error(), "0600") {
		t.Fatalf("a key others may read: %v", err)
	}
	os.Chmod(path, 0o600)
	other := newKey(t, t.TempDir(), "ledger.example")
	b, _ := os.ReadFile(path)
	lines := strings.Split(string(b), "\n")
	os.WriteFile(path, []byte(lines[0]+"\n"+other.VerifierKey()+"\n"), 0o600)
	if _, err := logtree.LoadKey(path); err == nil {
		t.Fatal("a key file whose verifier line is another key's was accepted")
	}
}

// TestEmptyLog: a checkpoint of an empty log (size 0, the hash of the
// empty string) verifies against every later log.
func TestEmptyLog(t *testing.T) {
	ctx := ctxT(t)
	tl := newTestLedger(t, t.TempDir())
	tr := openTree(t, tl.store, logtree.Options{})
	key := newKey(t, t.TempDir(), "empty.example")
	cp, err := tr.Checkpoint(ctx, key)
	if err != nil || cp.Size != 0 || cp.Root != refRoot(nil) {
		t.Fatalf("checkpoint of an empty log: %+v, %v", cp, err)
	}
	tl.fill(t, 3, 1)
	rep, err := logtree.VerifyCheckpoint(ctx, tl.store, cp.Note, key.Verifier())
	if err != nil || rep.Consistency.To != 3 {
		t.Fatalf("empty checkpoint after 3 events: %+v, %v", rep, err)
	}
	var h tlog.Hash
	if rep.Consistency.FromRoot == h {
		t.Fatal("no root for the empty tree")
	}
}
