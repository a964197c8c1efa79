package filestore_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"partyledger/ledger"
	"partyledger/ledger/filestore"
)

func openRO(t *testing.T, dir string) *filestore.Store {
	t.Helper()
	s, err := filestore.OpenReadOnly(dir, filestore.Options{SegmentSize: 4096})
	if err != nil {
		t.Fatalf("OpenReadOnly(%s): %v", dir, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// dirImage returns every file of dir and its bytes.
func dirImage(t *testing.T, dir string) map[string]string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]string{}
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		m[e.Name()] = string(b)
	}
	return m
}

func sameImage(t *testing.T, got, want map[string]string) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("directory holds %d files after the read-only open, %d before", len(got), len(want))
	}
	for n, b := range want {
		if got[n] != b {
			t.Fatalf("%s changed by the read-only open (%d bytes, was %d)", n, len(got[n]), len(b))
		}
	}
}

// A read-only open beside a writer holding the store (the same situation
// as the CLI beside a running server) sees every event committed before it
// opened, refuses appends, and a fresh read-only open sees later ones.
func TestOpenReadOnlyBesideWriter(t *testing.T) {
	dir := t.TempDir()
	// Small segments: the writer rolls over while readers come and go.
	w := open(t, dir, filestore.Options{SegmentSize: 4096})
	if _, err := filestore.Open(dir, filestore.Options{}); !errors.Is(err, filestore.ErrLocked) {
		t.Fatalf("second Open: %v, want ErrLocked", err)
	}
	var last *ledger.Event
	var want []ledger.Event
	add := func(n int) {
		expected := ledger.NoStream
		if last != nil {
			expected = int64(last.Revision)
		}
		evs := chain("org-1", last, n)
		mustAppend(t, w, "org-1", expected, evs)
		last = &evs[len(evs)-1]
		want = append(want, evs...)
	}
	add(3)
	r := openRO(t, dir)
	if got := readAll(t, r, 0); len(got) != 3 {
		t.Fatalf("read-only store sees %d events, want 3", len(got))
	}
	for range 40 {
		add(2)
	}
	if got := readAll(t, r, 0); len(got) != 3 {
		t.Fatalf("open read-only store sees %d events after more appends, want its 3", len(got))
	}
	if _, err := r.Append(ctxT(t), "org-2", ledger.NoStream, chain("org-2", nil, 1)); !errors.Is(err, ledger.ErrReadOnly) {
		t.Fatalf("Append on a read-only store: %v, want ErrReadOnly", err)
	}
	if err := r.VerifyStorage(ctxT(t)); err != nil {
		t.Fatalf("VerifyStorage (read-only): %v", err)
	}
	r2 := openRO(t, dir)
	got := readAll(t, r2, 0)
	if len(got) != len(want) {
		t.Fatalf("fresh read-only open sees %d events, want %d", len(got), len(want))
	}
	for i := range want {
		if d := sameEvent(got[i], want[i]); d != "" {
			t.Fatalf("event %d: %s", i, d)
		}
	}
	if r2.Head() != ledger.Position(len(want)) {
		t.Fatalf("Head %d, want %d", r2.Head(), len(want))
	}
	if err := r2.Close(); err != nil {
		t.Fatal(err)
	}
	// The writer goes on as before.
	add(1)
	if err := w.VerifyStorage(ctxT(t)); err != nil {
		t.Fatalf("writer's VerifyStorage: %v", err)
	}
}

// A read-only open of a directory with a torn tail (or an append in
// flight) reads the complete frames and changes no byte: no cut, no side
// file, no commit mark written, no leftover removed. Open afterwards still
// finds and cuts the tail.
func TestOpenReadOnlyTornTailWritesNothing(t *testing.T) {
	dir := t.TempDir()
	frames, ends, segPath := logWithRecords(t, filestore.OSFS{}, dir, 5)
	if err := os.Truncate(segPath, ends[3]+10); err != nil {
		t.Fatal(err)
	}
	// Without the mark Close wrote (it covers every frame) the tail is
	// past the mark, as after a crash or during an append.
	if err := os.Remove(filepath.Join(dir, "COMMIT")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, filepath.Base(segPath)+".tmp"), []byte("leftover"), 0o644); err != nil {
		t.Fatal(err)
	}
	before := dirImage(t, dir)
	r := openRO(t, dir)
	n := 0
	for _, f := range frames[:4] {
		n += len(f)
	}
	if got := readAll(t, r, 0); len(got) != n {
		t.Fatalf("read-only open sees %d events, want %d", len(got), n)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	sameImage(t, dirImage(t, dir), before)

	s := open(t, dir, filestore.Options{})
	if side, _ := filepath.Glob(segPath + ".torn-*"); len(side) != 1 {
		t.Fatalf("Open after the read-only one: side files %v, want one", side)
	}
	if got := readAll(t, s, 0); len(got) != n {
		t.Fatalf("Open sees %d events, want %d", len(got), n)
	}
}

// Damage before the commit mark is corruption for a read-only open too
// (one that reads the frames: the store has no index files).
func TestOpenReadOnlyCorrupt(t *testing.T) {
	dir := t.TempDir()
	_, ends, segPath := logWithRecords(t, filestore.OSFS{}, dir, 5)
	removeIndexFiles(t, dir)
	flipByte(t, segPath, ends[1]+20)
	before := dirImage(t, dir)
	_, err := filestore.OpenReadOnly(dir, filestore.Options{})
	if !errors.Is(err, ledger.ErrCorrupt) {
		t.Fatalf("OpenReadOnly of a damaged store: %v, want ErrCorrupt", err)
	}
	sameImage(t, dirImage(t, dir), before)
	if _, err := filestore.OpenReadOnly(t.TempDir(), filestore.Options{}); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("OpenReadOnly of an empty directory: %v, want ErrNotExist", err)
	}
}
