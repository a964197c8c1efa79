//go:build linux

package filestore

import (
	"syscall"
	"unsafe"
)

// mapFile maps the first size bytes of f read-only, when f is a file of
// the operating system: Open reads index files through the mapping,
// without copying them into memory of its own. ok is false when f cannot
// be mapped; the caller reads it instead.
func mapFile(f File, size int64) (b []byte, unmap func(), ok bool) {
	of, isOS := f.(osFile)
	if !isOS || size <= 0 || size > 1<<40 {
		return nil, nil, false
	}
	b, err := syscall.Mmap(int(of.f.Fd()), 0, int(size), syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		return nil, nil, false
	}
	syscall.Madvise(b, syscall.MADV_WILLNEED) // read ahead: every byte is read
	return b, func() { syscall.Munmap(b) }, true
}

// makeLarge returns a zeroed slice of n integers for an index of Open,
// advising the kernel to back it with huge pages: Open fills such arrays
// of tens of megabytes once, and on virtual machines a first touch of
// each 4 KiB page can cost tens of microseconds. Only whole 2 MiB pages
// inside the slice are advised; the advice is a hint, and an error
// changes nothing.
func makeLarge[T uint32 | uint64](n int) []T {
	s := make([]T, n)
	const huge = 2 << 20
	size := uintptr(n) * unsafe.Sizeof(T(0))
	if size < 2*huge {
		return s
	}
	base := unsafe.Pointer(unsafe.SliceData(s))
	p := uintptr(base)
	from, to := (p+huge-1)&^(huge-1), (p+size)&^(huge-1)
	syscall.Madvise(unsafe.Slice((*byte)(unsafe.Add(base, from-p)), to-from), syscall.MADV_HUGEPAGE)
	return s
}
