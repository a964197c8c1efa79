package logtree_test

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/uuid"
	"golang.org/x/mod/sumdb/tlog"

	"partyledger/ledger"
	"partyledger/ledger/logtree"
)

// TestTreeIsRFC6962 builds trees over a log of 70 events, in memory and
// with a hash file, and checks every root against the RFC 6962 definition
// computed with crypto/sha256 alone, every inclusion proof with
// tlog.CheckRecord and every consistency proof with tlog.CheckTree.
func TestTreeIsRFC6962(t *testing.T) {
	tl := newTestLedger(t, t.TempDir())
	tl.fill(t, 70, 3)
	events := tl.events(t)
	leaves := leafData(events)
	for _, mode := range []string{"memory", "hash file"} {
		t.Run(mode, func(t *testing.T) {
			var opts logtree.Options
			if mode == "hash file" {
				opts.HashFile = filepath.Join(t.TempDir(), logtree.HashFileName)
			}
			tr := openTree(t, tl.store, opts)
			if tr.Size() != 70 {
				t.Fatalf("size %d, want 70", tr.Size())
			}
			ctx := ctxT(t)
			roots := make([]tlog.Hash, len(events)+1)
			for n := 1; n <= len(events); n++ {
				root, size, err := tr.Root(ctx, int64(n))
				if err != nil || size != int64(n) {
					t.Fatalf("Root(%d) = %v, %d, %v", n, root, size, err)
				}
				if want := refRoot(leaves[:n]); root != want {
					t.Fatalf("root of %d leaves %s, RFC 6962 says %s", n, root, want)
				}
				roots[n] = root
			}
			for size := 1; size <= len(events); size += 7 {
				for i, e := range events[:size] {
					p, err := tr.InclusionProof(ctx, e.ID, int64(size))
					if err != nil {
						t.Fatal(err)
					}
					if p.Index != int64(i) || p.Size != int64(size) || p.Root != roots[size] || p.LeafHash != logtree.LeafHash(&e) || p.EventHash != e.Hash.String() {
						t.Fatalf("proof of %s in %d: %+v", e.ID, size, p)
					}
					if err := tlog.CheckRecord(p.Proof, int64(size), roots[size], int64(i), tlog.RecordHash(e.Hash[:])); err != nil {
						t.Fatalf("inclusion of leaf %d in %d: %v", i, size, err)
					}
				}
				for from := 1; from <= size; from++ {
					c, err := tr.ConsistencyProof(ctx, int64(from), int64(size))
					if err != nil {
						t.Fatal(err)
					}
					if c.FromRoot != roots[from] || c.ToRoot != roots[size] {
						t.Fatalf("consistency %d→%d: roots %s, %s", from, size, c.FromRoot, c.ToRoot)
					}
					if err := tlog.CheckTree(c.Proof, int64(size), roots[size], int64(from), roots[from]); err != nil {
						t.Fatalf("consistency %d→%d: %v", from, size, err)
					}
				}
			}
			if root, size, err := tr.Root(ctx, 0); err != nil || size != 70 || root != roots[70] {
				t.Fatalf("Root(0) = %s, %d, %v; want the current tree", root, size, err)
			}
			if c, err := tr.ConsistencyProof(ctx, 0, 0); err != nil || c.To != 70 || len(c.Proof) != 0 {
				t.Fatalf("ConsistencyProof(0, 0) = %+v, %v", c, err)
			}
		})
	}
}

// TestProofErrors: an unknown event, an event after the requested size,
// a size beyond the log, and a range backwards.
func TestProofErrors(t *testing.T) {
	tl := newTestLedger(t, t.TempDir())
	tl.fill(t, 10, 2)
	tr := openTree(t, tl.store, logtree.Options{})
	ctx := ctxT(t)
	if _, err := tr.InclusionProof(ctx, uuid.New(), 0); !errors.Is(err, ledger.ErrEventNotFound) {
		t.Fatalf("unknown event: %v, want ErrEventNotFound", err)
	}
	events := tl.events(t)
	if _, err := tr.InclusionProof(ctx, events[7].ID, 5); !errors.Is(err, logtree.ErrNotInTree) {
		t.Fatalf("event 8 in a tree of 5: %v, want ErrNotInTree", err)
	}
	if _, _, err := tr.Root(ctx, 11); !errors.Is(err, logtree.ErrNotInTree) {
		t.Fatalf("root of 11 of 10: %v, want ErrNotInTree", err)
	}
	if _, err := tr.ConsistencyProof(ctx, 6, 5); !errors.Is(err, logtree.ErrNotInTree) {
		t.Fatalf("consistency 6→5: %v, want ErrNotInTree", err)
	}
	// An event appended after the tree was opened is found: a proof
	// request brings the tree up to date.
	rs := tl.appendN(t, "org-new", 1)
	p, err := tr.InclusionProof(ctx, rs[0].ID, 0)
	if err != nil || p.Index != 10 || p.Size != 11 {
		t.Fatalf("proof of a new event: %+v, %v", p, err)
	}
}

// countingSource counts the events it yields.
type countingSource struct {
	logtree.Source
	n int
}

func (c *countingSource) ReadAll(ctx context.Context, from ledger.Position) iter.Seq2[ledger.Event, error] {
	return func(yield func(ledger.Event, error) bool) {
		for e, err := range c.Source.ReadAll(ctx, from) {
			c.n++
			if !yield(e, err) {
				return
			}
		}
	}
}

// TestHashFile: a tree reopened with its hash file reads only the events
// after it (and the last one it holds, to check it); a torn or damaged
// file is cut back to its valid whole trees and completed from the log; a
// file that is not a hash file is left alone.
func TestHashFile(t *testing.T) {
	dir := t.TempDir()
	tl := newTestLedger(t, dir)
	tl.fill(t, 300, 7)
	path := filepath.Join(dir, logtree.HashFileName)
	ctx := ctxT(t)
	tr, err := logtree.Open(ctx, tl.store, logtree.Options{HashFile: path})
	if err != nil {
		t.Fatal(err)
	}
	tr.Close()
	tl.fill(t, 320, 7)
	src := &countingSource{Source: tl.store}
	tr = openTree(t, src, logtree.Options{HashFile: path})
	if src.n != 1+20 {
		t.Fatalf("reopening read %d events, want 21 (the last leaf's, then the 20 new)", src.n)
	}
	want := refRoot(leafData(tl.events(t)))
	if root, _, _ := tr.Root(ctx, 0); root != want {
		t.Fatalf("root %s, want %s", root, want)
	}
	tr.Close()

	fi, _ := os.Stat(path)
	good, _ := os.ReadFile(path)
	for _, damage := range []struct {
		name string
		do   func()
	}{
		{"torn in a record", func() { os.Truncate(path, fi.Size()-50) }},
		{"torn in a leaf's hashes", func() { os.Truncate(path, fi.Size()-36) }},
		{"zeroed sector", func() {
			b := append([]byte(nil), good...)
			clear(b[4096:4608])
			os.WriteFile(path, b, 0o644)
		}},
		{"flipped bit", func() {
			b := append([]byte(nil), good...)
			b[len(b)/2] ^= 4
			os.WriteFile(path, b, 0o644)
		}},
		{"gone", func() { os.Remove(path) }},
	} {
		t.Run(damage.name, func(t *testing.T) {
			damage.do()
			tr, err := logtree.Open(ctx, tl.store, logtree.Options{HashFile: path})
			if err != nil {
				t.Fatal(err)
			}
			defer tr.Close()
			if root, size, _ := tr.Root(ctx, 0); root != want || size != 320 {
				t.Fatalf("root %s of %d, want %s of 320", root, size, want)
			}
			if err := tr.Check(ctx); err != nil {
				t.Fatal(err)
			}
			if b, _ := os.ReadFile(path); string(b) != string(good) {
				t.Fatalf("the rebuilt hash file (%d bytes) differs from the original (%d)", len(b), len(good))
			}
		})
	}
	t.Run("not a hash file", func(t *testing.T) {
		other := filepath.Join(t.TempDir(), "notes.txt")
		os.WriteFile(other, []byte("my notes, not hashes\n"), 0o644)
		if _, err := logtree.Open(ctx, tl.store, logtree.Options{HashFile: other}); err == nil {
			t.Fatal("Open took over a file that is not a hash file")
		}
		if b, _ := os.ReadFile(other); string(b) != "my notes, not hashes\n" {
			t.Fatal("the file was changed")
		}
	})
}

// TestHashFileDiverged: a hash file with more leaves than the log, or
// whose last leaf is not the log's event there, fails Open with
// ErrDiverged (ledger.ErrCorrupt) rather than be silently rebuilt: events
// were removed or rewritten. Check finds a rewrite in the middle, which
// Open's look at the last leaf cannot.
func TestHashFileDiverged(t *testing.T) {
	ctx := ctxT(t)
	a := newTestLedger(t, t.TempDir())
	a.fill(t, 50, 5)
	path := filepath.Join(t.TempDir(), logtree.HashFileName)
	tr, err := logtree.Open(ctx, a.store, logtree.Options{HashFile: path})
	if err != nil {
		t.Fatal(err)
	}
	tr.Close()

	shorter := newTestLedger(t, t.TempDir())
	shorter.fill(t, 45, 5) // the same first 45 events: ids, clock and data are deterministic
	if _, err := logtree.Open(ctx, shorter.store, logtree.Options{HashFile: path}); !errors.Is(err, logtree.ErrDiverged) || !errors.Is(err, ledger.ErrCorrupt) {
		t.Fatalf("hash file of 50 leaves over a log of 45: %v, want ErrDiverged", err)
	}
	other := newTestLedger(t, t.TempDir())
	other.fill(t, 44, 5)
	other.appendN(t, "org-other", 6)
	if _, err := logtree.Open(ctx, other.store, logtree.Options{HashFile: path}); !errors.Is(err, logtree.ErrDiverged) {
		t.Fatalf("hash file over a log whose event 50 differs: %v, want ErrDiverged", err)
	}
	// The same last event, an earlier one rewritten: Open cannot see it,
	// Check does, and names the leaf.
	// (Event 13 is in org-2; the last event, in org-4, keeps its hash.)
	forked := fork(t, a, 12)
	tr2 := openTree(t, forked.store, logtree.Options{HashFile: path})
	err = tr2.Check(ctx)
	if !errors.Is(err, logtree.ErrDiverged) || !strings.Contains(err.Error(), "leaf 12 (the event at position 13)") {
		t.Fatalf("Check over a log rewritten at leaf 12: %v, want ErrDiverged naming it", err)
	}
}

// memSource is a log held in memory whose positions are not contiguous
// (10, 20, 30, …), as a server store's may be.
type memSource struct{ events []ledger.Event }

func (m *memSource) ReadAll(ctx context.Context, from ledger.Position) iter.Seq2[ledger.Event, error] {
	return func(yield func(ledger.Event, error) bool) {
		for _, e := range m.events {
			if e.Position > from && !yield(e, nil) {
				return
			}
		}
	}
}

func (m *memSource) EventByID(ctx context.Context, id uuid.UUID) (ledger.Event, error) {
	for _, e := range m.events {
		if e.ID == id {
			return e, nil
		}
	}
	return ledger.Event{}, ledger.ErrEventNotFound
}

// TestSparsePositions: in memory, the tree works over any increasing
// positions; a hash file, which maps leaf i to position i+1, refuses them.
func TestSparsePositions(t *testing.T) {
	tl := newTestLedger(t, t.TempDir())
	tl.fill(t, 12, 2)
	events := tl.events(t)
	for i := range events {
		events[i].Position = ledger.Position(10 * (i + 1))
	}
	src := &memSource{events: events}
	tr := openTree(t, src, logtree.Options{})
	root, _, _ := tr.Root(ctxT(t), 0)
	if want := refRoot(leafData(events)); root != want {
		t.Fatalf("root %s, want %s", root, want)
	}
	p, err := tr.InclusionProof(ctxT(t), events[9].ID, 0)
	if err != nil || p.Index != 9 || tlog.CheckRecord(p.Proof, 12, root, 9, p.LeafHash) != nil {
		t.Fatalf("proof of the event at position 100: %+v, %v", p, err)
	}
	if _, err := logtree.Open(ctxT(t), src, logtree.Options{HashFile: filepath.Join(t.TempDir(), "h")}); err == nil {
		t.Fatal("a hash file over positions 10, 20, …: Open succeeded")
	}
}

// TestStoredHashes: the hash file holds, record by record, the stored
// hashes tlog computes (tlog.StoredHashesForRecordHash over
// tlog.RecordHash of each event hash), however the tree grew: reopened
// from its file at sizes with every pattern of low bits (so that the
// right edge is read back), updated a few events or many at a time.
func TestStoredHashes(t *testing.T) {
	dir := t.TempDir()
	tl := newTestLedger(t, dir)
	path := filepath.Join(dir, logtree.HashFileName)
	ctx := ctxT(t)
	var tr *logtree.Tree
	for i, n := range []int{1, 2, 3, 4, 7, 8, 9, 15, 16, 17, 31, 33, 64, 100, 127, 128, 129, 255, 300, 511, 513, 700} {
		tl.fill(t, n, 1+i%9)
		if i%3 == 0 && tr != nil {
			if _, err := tr.Update(ctx); err != nil { // grow the open tree
				t.Fatal(err)
			}
			continue
		}
		if tr != nil {
			tr.Close()
		}
		var err error
		if tr, err = logtree.Open(ctx, tl.store, logtree.Options{HashFile: path}); err != nil { // grow from the file
			t.Fatal(err)
		}
	}
	defer tr.Close()
	evs := tl.events(t)
	var want []tlog.Hash
	r := tlog.HashReaderFunc(func(idx []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(idx))
		for i, x := range idx {
			out[i] = want[x]
		}
		return out, nil
	})
	for i := range evs {
		if got, ref := logtree.LeafHash(&evs[i]), tlog.RecordHash(evs[i].Hash[:]); got != ref {
			t.Fatalf("LeafHash of event %d = %s, tlog.RecordHash = %s", i, got, ref)
		}
		hs, err := tlog.StoredHashesForRecordHash(int64(i), tlog.RecordHash(evs[i].Hash[:]), r)
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, hs...)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	const header, record = 16, tlog.HashSize + 4
	if got := (len(b) - header) / record; got != len(want) || (len(b)-header)%record != 0 {
		t.Fatalf("hash file of %d bytes: %d records, want %d", len(b), got, len(want))
	}
	for i, h := range want {
		if got := b[header+i*record : header+i*record+tlog.HashSize]; string(got) != string(h[:]) {
			level, k := tlog.SplitStoredHashIndex(int64(i))
			t.Fatalf("stored hash %d (level %d, index %d) = %x, want %x", i, level, k, got, h[:])
		}
	}
	if root, _, _ := tr.Root(ctx, 0); root != refRoot(leafData(evs)) {
		t.Fatal("root differs from the RFC 6962 reference")
	}
}

// failingSource fails its read after yielding after events.
type failingSource struct {
	logtree.Source
	after int
}

func (f *failingSource) ReadAll(ctx context.Context, from ledger.Position) iter.Seq2[ledger.Event, error] {
	return func(yield func(ledger.Event, error) bool) {
		k := 0
		for e, err := range f.Source.ReadAll(ctx, from) {
			if k == f.after {
				yield(ledger.Event{}, errors.New("injected read error"))
				return
			}
			k++
			if !yield(e, err) {
				return
			}
		}
	}
}

// TestUpdateAfterAFailedRead: an update whose read fails part-way keeps
// the leaves it added, hashes and all, and the next update goes on from
// them to the same tree as one that never failed.
func TestUpdateAfterAFailedRead(t *testing.T) {
	for _, file := range []bool{false, true} {
		t.Run(fmt.Sprintf("hash file %v", file), func(t *testing.T) {
			dir := t.TempDir()
			tl := newTestLedger(t, dir)
			tl.fill(t, 10, 3)
			src := &failingSource{Source: tl.store, after: -1}
			opts := logtree.Options{}
			if file {
				opts.HashFile = filepath.Join(dir, logtree.HashFileName)
			}
			tr := openTree(t, src, opts)
			tl.fill(t, 50, 3)
			src.after = 17
			if _, err := tr.Update(ctxT(t)); err == nil {
				t.Fatal("Update hid a failed read")
			}
			if got := tr.Size(); got != 27 {
				t.Fatalf("after the failed read the tree has %d leaves, want 27", got)
			}
			src.after = -1
			if n, err := tr.Update(ctxT(t)); err != nil || n != 50 {
				t.Fatalf("Update = %d, %v; want 50", n, err)
			}
			if root, _, err := tr.Root(ctxT(t), 0); err != nil || root != refRoot(leafData(tl.events(t))) {
				t.Fatalf("root %s, %v: not the RFC 6962 root of the log", root, err)
			}
			if err := tr.Check(ctxT(t)); err != nil {
				t.Fatal(err)
			}
		})
	}
}
