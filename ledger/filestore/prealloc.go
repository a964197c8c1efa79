package filestore

import (
	"errors"
	"fmt"
	"os"
	"sync/atomic"
)

// Preallocated segments (doc.go, "Files" and "Write protocol"): a segment
// is a file of zeros, written and synced before the segment gets its
// name, that frames then overwrite from the front. A commit's fdatasync
// thus finds no file size and no block allocation to commit through the
// file system's journal — only the data — as PostgreSQL's WAL segments.
//
// The next segment's file, the spare, is prepared while the active one
// fills: a background goroutine writes it full of zeros under a temporary
// name and syncs it, so that a roll-over only writes the header over the
// first zeros, syncs, renames and syncs the directory.

const (
	// spareName is the temporary name of the spare while it is prepared
	// and until a roll-over renames it into place; a leftover is removed
	// by Open like every other *.tmp.
	spareName = segmentPrefix + "spare" + segmentSuffix + tmpSuffix

	// firstSegmentBytes is the size of a new store's first segment file;
	// each next one doubles the previous one's size up to
	// Options.SegmentSize, so that a small store stays small.
	firstSegmentBytes = 1 << 20

	// zeroChunk is the size of one write of zeros: 2 MiB, the size of a
	// huge page on x86-64 (PMD), written at offsets that are multiples of
	// it. On a file system that caches files in large folios (ext4 and
	// XFS on Linux 6.x), a write of a whole aligned 2 MiB leaves one
	// 2 MiB folio in the page cache, which a read-only mapping then maps
	// with one page-table entry instead of 512; frames later overwrite
	// the zeros in place, in the same folios. See mmap.go, "Huge pages".
	zeroChunk = 2 << 20
	// spareSyncEvery is how many bytes of zeros the background
	// preparation writes between syncs: the writeback is spread over the
	// preparation instead of coming in one burst that commits would queue
	// behind.
	spareSyncEvery = 8 << 20
	// spareAt is the fraction (1/spareAt) of the active segment's space
	// that must be used before its successor is prepared: a process that
	// appends a little and exits does not write a segment's worth of
	// zeros.
	spareAt = 4
)

// prepareAhead: the next segment's file is prepared in the background.
// Only a benchmark turns it off, to show what it saves.
var prepareAhead = true

// preallocated reports whether segments of format version v end in free
// space: zeros from the end of the frames to the end of the file.
func preallocated(v uint32) bool { return v >= formatVersion3 }

// nextSegmentBytes is the file size of the segment after one whose file
// is cur bytes (0: the first segment of a store).
func (s *Store) nextSegmentBytes(cur int64) int64 {
	return min(s.opts.SegmentSize, max(firstSegmentBytes, 2*cur))
}

// spare is a file of zeros, durable or about to be, waiting to become the
// next segment.
type spare struct {
	f    File
	size int64
}

// spareJob is the preparation of a spare in the background.
type spareJob struct {
	size int64
	stop atomic.Bool   // set by Close: give up between writes
	done chan struct{} // closed when sp or err is set
	sp   *spare
	err  error
}

var errSpareStopped = errors.New("preparation stopped")

// prepareSpare writes a new spare of size bytes of zeros under spareName.
// In the background it syncs as it goes and at the end, so that the sync
// that installs it has no data left to write; those syncs are not
// durability points (installSegment's header sync covers every byte of
// the file), so they are not sync sites. stop, when set, ends the
// preparation early.
func (s *Store) prepareSpare(size int64, background bool, stop *atomic.Bool) (*spare, error) {
	f, err := s.fs.OpenFile(s.path(spareName), os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return nil, fmt.Errorf("prepare segment file: %w", err)
	}
	fail := func(step string, err error) (*spare, error) {
		f.Close()
		return nil, fmt.Errorf("prepare segment file: %s: %w", step, err)
	}
	zero := make([]byte, min(size, zeroChunk))
	unsynced := int64(0)
	for off := int64(0); off < size; {
		if stop != nil && stop.Load() {
			return fail("write zeros", errSpareStopped)
		}
		n := min(int64(len(zero)), size-off)
		if _, err := f.WriteAt(zero[:n], off); err != nil {
			return fail(fmt.Sprintf("write zeros at %d", off), err)
		}
		off += n
		unsynced += n
		if background && (unsynced >= spareSyncEvery || off == size) {
			if err := f.Sync(); err != nil {
				return fail("sync zeros", err)
			}
			unsynced = 0
		}
	}
	return &spare{f: f, size: size}, nil
}

// installSegment makes sp the segment that starts at position first, under
// name: its header written over the first zeros and synced (with every
// zero before it), the file renamed, the directory synced. A crash at any
// step leaves either no segment of that name (the spare is a leftover
// *.tmp) or a complete, empty one. On failure sp is closed.
func (s *Store) installSegment(sp *spare, name string, first uint64) (*segment, error) {
	fail := func(step string, err error) (*segment, error) {
		sp.f.Close()
		return nil, fmt.Errorf("create segment %s: %s: %w", name, step, err)
	}
	if _, err := sp.f.WriteAt(encodeSegmentHeader(first), 0); err != nil {
		return fail("write header", err)
	}
	if err := syncFile(syncSegmentHeader, sp.f); err != nil {
		return fail("sync", err)
	}
	if err := s.fs.Rename(s.path(spareName), s.path(name)); err != nil {
		return fail("rename", err)
	}
	if err := s.syncDir(syncSegmentDir, s.dir); err != nil {
		return fail("sync directory", err)
	}
	return &segment{name: name, first: first, version: formatVersion, f: sp.f, size: segmentHeaderSize, fileSize: sp.size}, nil
}

// createSegment makes a new, empty segment of size bytes durable under
// name, preparing its file in the caller's goroutine (Open, and a
// roll-over that found no spare prepared).
func (s *Store) createSegment(name string, first uint64, size int64) (*segment, error) {
	sp, err := s.prepareSpare(size, false, nil)
	if err != nil {
		return nil, fmt.Errorf("create segment %s: %w", name, err)
	}
	return s.installSegment(sp, name, first)
}

// maybePrepareSpare starts preparing the next segment's file in the
// background once the active segment seg is a quarter used. Committer
// only.
func (s *Store) maybePrepareSpare(seg *segment) {
	if !prepareAhead || s.spareJob != nil || seg.fileSize <= segmentHeaderSize ||
		(seg.size-segmentHeaderSize)*spareAt < seg.fileSize-segmentHeaderSize {
		return
	}
	job := &spareJob{size: s.nextSegmentBytes(seg.fileSize), done: make(chan struct{})}
	s.spareJob = job
	go func() {
		defer close(job.done)
		job.sp, job.err = s.prepareSpare(job.size, true, &job.stop)
	}()
}

// rollOver seals the active segment and starts the one beginning at
// position first: the spare prepared in the background (waited for if it
// is not finished), or one prepared now. Committer only.
func (s *Store) rollOver(active *segment, first uint64) (*segment, error) {
	job := s.spareJob
	s.spareJob = nil
	name := segmentName(first)
	if job == nil {
		return s.createSegment(name, first, s.nextSegmentBytes(active.fileSize))
	}
	<-job.done
	if job.err != nil {
		return nil, fmt.Errorf("create segment %s: %w", name, job.err)
	}
	return s.installSegment(job.sp, name, first)
}

// dropSpare stops a preparation in progress and removes the spare, if
// any: Close's part, once the committer has stopped. The removal need not be durable; Open removes a
// leftover.
func (s *Store) dropSpare() {
	job := s.spareJob
	s.spareJob = nil
	if job == nil {
		return
	}
	job.stop.Store(true)
	<-job.done
	if job.sp != nil {
		job.sp.f.Close()
	}
	s.fs.Remove(s.path(spareName)) // best effort: a leftover *.tmp is removed on open
}

// isZero reports whether b holds only zero bytes.
func isZero(b []byte) bool {
	const block = 4096
	var zeros [block]byte
	for len(b) >= block {
		if string(b[:block]) != string(zeros[:]) {
			return false
		}
		b = b[block:]
	}
	return string(b) == string(zeros[:len(b)])
}

// firstNonZero returns the index of the first non-zero byte of b, or -1.
func firstNonZero(b []byte) int {
	const block = 4096
	for i := 0; i < len(b); i += block {
		if c := b[i:min(i+block, len(b))]; !isZero(c) {
			for j, x := range c {
				if x != 0 {
					return i + j
				}
			}
		}
	}
	return -1
}

// lastNonZero returns the index of the last non-zero byte of b, or -1.
func lastNonZero(b []byte) int {
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] != 0 {
			return i
		}
	}
	return -1
}

// zeroScanChunk is how much scanNonZero reads at a time: a buffer that
// stays in the processor's cache, so that checking the free space runs at
// memory speed (several times faster than with a 4 MiB buffer, measured).
const zeroScanChunk = 1 << 20

// scanNonZero returns the offset of the first (or, with last, the last)
// non-zero byte in [from, to) of a file read through read, or -1.
func scanNonZero(read func(p []byte, off int64) error, from, to int64, last bool) (int64, error) {
	buf := make([]byte, min(to-from, zeroScanChunk))
	for n := int64(0); n < to-from; {
		k := min(int64(len(buf)), to-from-n)
		off := from + n // the chunk's file offset
		if last {
			off = to - n - k
		}
		b := buf[:k]
		if err := read(b, off); err != nil {
			return 0, err
		}
		if last {
			if i := lastNonZero(b); i >= 0 {
				return off + int64(i), nil
			}
		} else if i := firstNonZero(b); i >= 0 {
			return off + int64(i), nil
		}
		n += k
	}
	return -1, nil
}

// Usage is how much of the disk a store's segments take.
type Usage struct {
	Segments int
	// DataBytes counts the segment headers and frames: what the log
	// holds, committed.
	DataBytes int64
	// FileBytes counts the segment files' sizes, free space included
	// (segments are zero-filled ahead of the frames; see doc.go, "Files").
	FileBytes int64
}

// Usage reports the bytes of the store's segments.
func (s *Store) Usage() (Usage, error) {
	s.mu.RLock()
	if s.closed {
		s.mu.RUnlock()
		return Usage{}, errClosed
	}
	segs := append([]*segment(nil), s.segs...)
	var u Usage
	for _, sg := range segs {
		u.DataBytes += sg.size
	}
	s.mu.RUnlock()
	u.Segments = len(segs)
	s.filesMu.RLock()
	defer s.filesMu.RUnlock()
	if s.filesClosed {
		return Usage{}, errClosed
	}
	for _, sg := range segs {
		n, err := sg.f.Size()
		if err != nil {
			return Usage{}, fmt.Errorf("filestore: size of %s: %w", sg.name, err)
		}
		u.FileBytes += n
	}
	return u, nil
}
