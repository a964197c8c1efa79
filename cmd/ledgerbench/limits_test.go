package main

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestZeroAlongStaysBehindTheLoop checks the zero-filling reference: zeros
// are written only as far as the loop has written records, in whole
// 2 MiB writes, and the file is removed when the loop ends.
func TestZeroAlongStaysBehindTheLoop(t *testing.T) {
	path := filepath.Join(t.TempDir(), "zeros")
	p := newZeroPacer()
	stop := make(chan struct{})
	errc := make(chan error, 1)
	go func() { errc <- zeroAlong(path, p, stop) }()
	size := func() int64 {
		fi, err := os.Stat(path)
		if err != nil {
			return -1
		}
		return fi.Size()
	}
	time.Sleep(20 * time.Millisecond)
	if got := size(); got != 0 {
		t.Fatalf("zeros file is %d bytes before the loop wrote anything, want 0", got)
	}
	p.add(3 << 20)
	p.add(4 << 20) // 7 MiB: room for three 2 MiB writes, not four
	deadline := time.Now().Add(10 * time.Second)
	for size() < 6<<20 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(20 * time.Millisecond)
	if got := size(); got != 6<<20 {
		t.Fatalf("zeros file is %d bytes with the loop at 7 MiB, want %d", got, 6<<20)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for i, c := range b {
		if c != 0 {
			t.Fatalf("byte %d is %#x, want zeros", i, c)
		}
	}
	close(stop)
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("zeros file left behind: %v", err)
	}
}
