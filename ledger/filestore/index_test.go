package filestore_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// dropIndexes removes the index files of the store in memDir of m,
// durably: what a store written before indexes existed looks like.
func dropIndexes(t testing.TB, m *memFS) {
	t.Helper()
	names, _ := m.ReadDir(memDir)
	for _, n := range names {
		if strings.HasSuffix(n, ".idx") {
			if err := m.Remove(memDir + "/" + n); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := m.SyncDir(memDir); err != nil {
		t.Fatal(err)
	}
}

// removeIndexFiles removes the index files of the store in dir.
func removeIndexFiles(t testing.TB, dir string) {
	t.Helper()
	idx, _ := filepath.Glob(filepath.Join(dir, "segment-*.idx"))
	for _, p := range idx {
		if err := os.Remove(p); err != nil {
			t.Fatal(err)
		}
	}
}
