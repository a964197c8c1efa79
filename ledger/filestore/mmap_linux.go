//go:build linux

package filestore

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// mapReadOnly maps the first length bytes of the file read-only and shared:
// the pages are the page cache's, so the mapping sees what is written to
// the file later, within length. Pages past the end of the file must not be
// touched (SIGBUS); the store reads only committed bytes.
func (o osFile) mapReadOnly(length int64) ([]byte, error) {
	if length <= 0 || int64(int(length)) != length {
		return nil, fmt.Errorf("mmap %s: length %d", o.f.Name(), length)
	}
	rc, err := o.f.SyscallConn()
	if err != nil {
		return nil, err
	}
	var (
		b    []byte
		merr error
	)
	// Control holds the descriptor open for the call, so a concurrent
	// Close cannot hand its number to another file meanwhile.
	if err := rc.Control(func(fd uintptr) {
		b, merr = unix.Mmap(int(fd), 0, int(length), unix.PROT_READ, unix.MAP_SHARED)
	}); err != nil {
		return nil, err
	}
	if merr != nil {
		return nil, fmt.Errorf("mmap %s: %w", o.f.Name(), merr)
	}
	// Ask for huge-page mappings (see mmap.go, "Huge pages"). Advice
	// only: a kernel without transparent huge pages refuses it (EINVAL)
	// and the mapping works as before.
	_ = unix.Madvise(b, unix.MADV_HUGEPAGE)
	return b, nil
}

func unmap(b []byte) error { return unix.Munmap(b) }
