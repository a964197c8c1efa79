package filestore

import (
	"fmt"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"unsafe"
)

// Segments are read through read-only shared mappings of their files where
// the file system allows it (OSFS on Linux; see mmap_linux.go): a read is
// then a look at memory the page cache already holds, with no system call
// and no copy. Other file systems, other platforms and segments whose
// mapping failed are read with pread as before.
//
// Lifetime. A mapping is created on the first read of its segment and
// unmapped only after Close, once no reader uses it: readers pin the store
// (pin/unpin) while they touch mapped bytes, Close marks the mappings for
// release, and whichever comes last — Close or the last unpin — unmaps
// them. A pin is a counter, not a lock: Close never waits for a reader,
// and a reader pinned before Close keeps every mapping valid until it
// unpins. Nothing a caller keeps points into a mapping: events returned by
// ReadAll, ReadStream, Subscribe, EventByID and LastEvent get their payload
// copied out; only Scan hands out views of mapped bytes, valid during its
// callback, which runs pinned.
//
// Extent. Only committed bytes — below segment.size, never the file size,
// which may be larger (zeros written ahead) — are ever read; a sealed
// segment is mapped to the end of its file, free space included. The active
// segment is mapped with room for its growth (up to SegmentSize plus one
// largest frame); committed bytes are never rewritten, and the pages past
// the end of the file are never touched, so the mapping stays valid as the
// segment grows and when it is sealed. Only a torn tail is ever cut from a
// segment, and only by Open, before anything is mapped.
//
// Faults. A page the kernel cannot supply (the file cut short behind the
// store's back, a failing device) raises SIGBUS on access. Readers of
// mapped bytes run with debug.SetPanicOnFault and turn such a fault into a
// *CorruptError naming the segment and offset instead of a crash.
//
// Huge pages. A mapping is advised MADV_HUGEPAGE, and spares are written
// in aligned 2 MiB writes (prealloc.go), so that where the file system
// caches a file in large folios (ext4 and XFS on Linux 6.x) each 2 MiB of
// a segment is one folio that the kernel maps with a single PMD entry
// (FilePmdMapped in /proc/<pid>/smaps); the advice also makes a page-cache
// miss under the mapping read a whole 2 MiB folio rather than ramp up
// from small ones. One entry per 2 MiB instead of 512 matters beyond TLB
// reach: whatever clears the accessed bits of a process's page-table
// entries — the kernel's access sampling (DAMON), reclaim's aging,
// working-set estimation — makes the next access to each of them set the
// bit again, which on some virtual machines traps to the hypervisor.
// Measured on a Firecracker guest running DAMON (paddr, 500 ms samples):
// a folio mapped by 4 KiB entries was sampled as a whole, so 1 MiB folios
// (1 MiB zero writes, before) lost the bits of 256 entries per sample, and
// after 1–3 s without a read each 4 KiB page of a segment cost 2–10 µs on
// its next touch (no page fault counted); the same bytes mapped by PMD
// entries cost 20–50 ns a page. A kernel or file system without large
// folios maps 4 KiB pages as before: the advice changes no result.
//
// Checks. A frame read from a mapping is checked as a pread frame is (CRCs,
// chunk CRCs, structure), except that each segment keeps a watermark of the
// bytes from its start whose frames a read has already checked in this
// process; frames below it skip the CRCs (never the structural checks). See
// doc.go, "Reads".

// mapping is a read-only shared mapping of the bytes [0, len(b)) of a
// segment file.
type mapping struct {
	b []byte
}

// segMap is a segment's mapping state.
type segMap struct {
	m      atomic.Pointer[mapping] // nil until mapped
	failed atomic.Bool             // the file cannot be mapped: read with pread
	// verified: the frames that end at or below it, from the first frame
	// on, were checked (CRCs included) by a read of the mapping in this
	// process. Reads advance it one frame at a time, from where it is.
	verified atomic.Int64
}

// mapper is implemented by files that can be mapped read-only (osFile on
// Linux).
type mapper interface {
	mapReadOnly(length int64) ([]byte, error)
}

// readMaps is the store's side of the mappings' lifetime.
type readMaps struct {
	pins     atomic.Int64
	release  atomic.Bool // Close ran: unmap when the last pin goes
	mu       sync.Mutex  // held to create a mapping and to unmap them all
	unmapped bool        // guarded by mu
}

// mapsEnabled turns mapping off for segments not mapped yet (tests
// compare mapped reads with pread reads). Set only while no store reads.
var mapsEnabled = true

// pin keeps every mapping of the store valid until the matching unpin. It
// fails once the store's files are closed.
func (s *Store) pin() bool {
	s.filesMu.RLock()
	ok := !s.filesClosed
	if ok {
		s.maps.pins.Add(1)
	}
	s.filesMu.RUnlock()
	return ok
}

// unpin ends a pin; the last one after Close unmaps.
func (s *Store) unpin() {
	if s.maps.pins.Add(-1) == 0 && s.maps.release.Load() {
		s.unmapIdle()
	}
}

// releaseMaps is called by closeFiles, holding filesMu exclusively: no pin
// can start any more. It unmaps now if no reader is pinned, or leaves it
// to the last unpin.
func (s *Store) releaseMaps() {
	s.maps.release.Store(true)
	if s.maps.pins.Load() == 0 {
		s.unmapIdle()
	}
}

// unmapIdle unmaps every mapping, once, if no reader is pinned. Both the
// last unpin and Close may call it; the counter and the flag are atomic,
// so at least one of them sees the other's change.
func (s *Store) unmapIdle() {
	s.maps.mu.Lock()
	defer s.maps.mu.Unlock()
	if s.maps.unmapped || s.maps.pins.Load() != 0 {
		return
	}
	s.maps.unmapped = true
	// The committer has stopped and Close holds no lock a reader needs
	// here; segs only ever grows, under mu.
	s.mu.RLock()
	segs := s.segs
	s.mu.RUnlock()
	for _, sg := range segs {
		if m := sg.mm.m.Swap(nil); m != nil {
			unmap(m.b) // nothing to do about a failure: the address space stays taken
		}
	}
}

// mapped returns the mapping of segment idx if it holds the bytes up to
// end, mapping the segment on first use; nil means: read with pread. The
// caller must be pinned.
func (s *Store) mapped(sg *segment, end int64) []byte {
	if m := sg.mm.m.Load(); m != nil {
		if int64(len(m.b)) >= end {
			return m.b
		}
		return nil
	}
	if !mapsEnabled || sg.mm.failed.Load() {
		return nil
	}
	return s.mapSegment(sg, end)
}

// mapSegment creates sg's mapping. A sealed segment (or any segment of a
// read-only store, which never grows) is mapped up to its committed end;
// the active one with room to grow to the largest size a segment reaches.
func (s *Store) mapSegment(sg *segment, end int64) []byte {
	mp, ok := sg.f.(mapper)
	if !ok || unsafe.Sizeof(uintptr(0)) < 8 {
		// Not an OS file, or a 32-bit address space that segments would
		// exhaust.
		sg.mm.failed.Store(true)
		return nil
	}
	s.maps.mu.Lock()
	defer s.maps.mu.Unlock()
	if m := sg.mm.m.Load(); m != nil || s.maps.unmapped {
		if m != nil && int64(len(m.b)) >= end {
			return m.b
		}
		return nil
	}
	s.mu.RLock()
	size, fileSize := sg.size, sg.fileSize
	last := sg == s.segs[len(s.segs)-1]
	active := !s.readOnly && last
	s.mu.RUnlock()
	length := size
	switch {
	case active:
		length = max(size, s.opts.SegmentSize) + int64(frameSize(formatVersion, s.opts.MaxRecordSize))
	case !last && fileSize > size:
		// A sealed segment: the whole file, free space included (never
		// read), so that its last 2 MiB can be mapped by a huge page
		// too (see "Huge pages"). Its size no longer changes.
		length = fileSize
	}
	if length < end {
		return nil
	}
	b, err := mp.mapReadOnly(length)
	if err != nil {
		sg.mm.failed.Store(true)
		return nil
	}
	sg.mm.verified.CompareAndSwap(0, segmentHeaderSize)
	sg.mm.m.Store(&mapping{b: b})
	return b
}

// faultGuard turns a fault on a mapped page in the calling goroutine into
// a *CorruptError stored in *err. Use as
//
//	defer s.faultGuard(debug.SetPanicOnFault(true), &err)
//
// Any other panic goes on.
func (s *Store) faultGuard(prev bool, err *error) {
	r := recover()
	debug.SetPanicOnFault(prev)
	if r == nil {
		return
	}
	if fe, ok := r.(interface{ Addr() uintptr }); ok {
		if sg, off := s.mappedAt(fe.Addr()); sg != nil {
			*err = &CorruptError{Segment: sg.name, Offset: off,
				Reason: fmt.Sprintf("the mapped file cannot be read here (%v): it was cut short behind the store's back, or the device failed", r)}
			return
		}
	}
	panic(r)
}

// mappedAt finds the segment whose mapping holds addr.
func (s *Store) mappedAt(addr uintptr) (*segment, int64) {
	s.mu.RLock()
	segs := s.segs
	s.mu.RUnlock()
	for _, sg := range segs {
		m := sg.mm.m.Load()
		if m == nil || len(m.b) == 0 {
			continue
		}
		base := uintptr(unsafe.Pointer(unsafe.SliceData(m.b)))
		if addr >= base && addr < base+uintptr(len(m.b)) {
			return sg, int64(addr - base)
		}
	}
	return nil, 0
}

// arena hands out copies of payloads from shared blocks, so that events
// read from a mapping own their bytes without an allocation each. A block
// is never reused: an event keeps its block alive, as it kept its read
// buffer before. Blocks grow from arenaMin to arenaMax.
type arena struct {
	buf  []byte
	next int
}

const (
	arenaMin = 4 << 10
	arenaMax = 256 << 10
)

func (a *arena) copy(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	if cap(a.buf)-len(a.buf) < len(b) {
		a.next = min(max(a.next*2, arenaMin), arenaMax)
		a.buf = make([]byte, 0, max(a.next, len(b)))
	}
	start := len(a.buf)
	a.buf = append(a.buf, b...)
	return a.buf[start:len(a.buf):len(a.buf)]
}
