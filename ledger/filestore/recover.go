package filestore

import (
	"context"
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// scanChunkSize is how much the open-time scan and VerifyStorage read at a
// time.
const scanChunkSize = 4 << 20

// frameReader reads the frames of one segment sequentially through a
// reused buffer. Bodies it returns are valid until the next call.
type frameReader struct {
	size    int64  // bytes of the segment to read
	version uint32 // the segment's format version
	read    func(p []byte, off int64) error
	buf     []byte
	bufOff  int64
}

// bytes returns the segment bytes [off, off+n), reading a new chunk when
// they are not in the buffer.
func (r *frameReader) bytes(off int64, n int) ([]byte, error) {
	if off >= r.bufOff && off+int64(n) <= r.bufOff+int64(len(r.buf)) {
		b := r.buf[off-r.bufOff:]
		return b[:n], nil
	}
	want := int(min(max(int64(scanChunkSize), int64(n)), r.size-off))
	if cap(r.buf) < want {
		r.buf = make([]byte, want)
	}
	r.buf = r.buf[:want]
	if err := r.read(r.buf, off); err != nil {
		r.buf = r.buf[:0]
		return nil, err
	}
	r.bufOff = off
	return r.buf[:n], nil
}

// frame returns the checked body of the frame at off and the offset of
// the frame after it, or why it is bad (bad != "").
func (r *frameReader) frame(off int64) (body []byte, next int64, bad string, err error) {
	if r.size-off < frameHeaderSize {
		return nil, 0, fmt.Sprintf("%d bytes left, too short for a frame header", r.size-off), nil
	}
	hdr, err := r.bytes(off, frameHeaderSize)
	if err != nil {
		return nil, 0, "", err
	}
	n, _, ok := frameLen(hdr)
	if !ok {
		return nil, 0, fmt.Sprintf("frame length %d out of range", n), nil
	}
	total := frameSize(r.version, n)
	if r.size-off < int64(total) {
		return nil, 0, fmt.Sprintf("frame of %d bytes runs past the end of the segment at %d", total, r.size), nil
	}
	b, err := r.bytes(off, total)
	if err != nil {
		return nil, 0, "", err
	}
	body, bad = checkFrame(r.version, b)
	return body, off + int64(total), bad, nil
}

// free reports whether the segment's bytes from off to its end are free
// space (doc.go, "Files"): all zeros, in a segment of a format version
// that has free space. When they are not, but the frame header at off
// reads as zeros, bad says which byte is not zero: no frame starts with
// zeros (L ≥ 16), so this is a bad frame.
func (r *frameReader) free(off int64) (free bool, bad string, err error) {
	if !preallocated(r.version) {
		return false, "", nil
	}
	hdr, err := r.bytes(off, int(min(frameHeaderSize, r.size-off)))
	if err != nil || !isZero(hdr) {
		return false, "", err
	}
	at, err := scanNonZero(r.read, off+int64(len(hdr)), r.size, false)
	switch {
	case err != nil:
		return false, "", err
	case at >= 0:
		return false, fmt.Sprintf("the frame header reads as zeros (free space), but byte %d is not zero", at), nil
	}
	return true, "", nil
}

// recover scans the directory and rebuilds the indexes (see doc.go,
// "Recovery").
func (s *Store) recover() error {
	defer func() { s.scanBuf = nil }()
	segNames, err := s.listSegments()
	if err != nil {
		return err
	}
	if err := s.openMark(); err != nil {
		return err
	}
	if len(segNames) == 0 {
		return s.createFirstSegment()
	}
	markSeen := false
	for i, name := range segNames {
		first, _ := parseSegmentName(name)
		// Sealed segments are never written again; only the last one is
		// opened for writing.
		flag := os.O_RDONLY
		if i == len(segNames)-1 {
			flag = os.O_RDWR
		}
		f, err := s.fs.OpenFile(s.path(name), flag, 0)
		if err != nil {
			return fmt.Errorf("filestore: open segment: %w", err)
		}
		sg := &segment{name: name, first: first, f: f}
		s.segs = append(s.segs, sg)
		if err := s.scanSegment(sg, uint32(i), i == len(segNames)-1); err != nil {
			return err
		}
		markSeen = markSeen || (s.markF != nil && first == s.mark.Segment)
	}
	last := s.segs[len(s.segs)-1]
	if s.markF != nil && !markSeen {
		return &CorruptError{Segment: segmentName(s.mark.Segment), Offset: 0,
			Reason: fmt.Sprintf("the segment is missing, but the commit mark records %d bytes of it as complete, up to position %d (the log now ends in %s at byte %d, position %d)",
				s.mark.Length, s.mark.Head, last.name, last.size, s.head)}
	}
	if err := s.finishIndexes(); err != nil {
		return err
	}
	// What the scan read may be in the page cache only: a process that
	// died between a write and its sync, or between a rename and the
	// directory sync, leaves bytes and names that a reopen sees but a power
	// loss can still take. Make them durable before anything is appended
	// after them — with the cut of a torn tail, if there was one.
	if err := syncFile(syncOpenLastSegment, last.f); err != nil {
		return fmt.Errorf("filestore: open: sync %s: %w", last.name, err)
	}
	if err := s.syncDir(syncOpenDir, s.dir); err != nil {
		return fmt.Errorf("filestore: open: sync directory: %w", err)
	}
	if last.version != formatVersion {
		if err := s.startCurrentSegment(); err != nil {
			return fmt.Errorf("filestore: open: %w", err)
		}
	}
	// Everything is durable now: record how far the log is complete —
	// always, even when the mark already says so: what Open read of it may
	// be in the page cache only, like the segment bytes, and a write
	// leaves both slots valid.
	if err := s.writeMark(); err != nil {
		return fmt.Errorf("filestore: open: %w", err)
	}
	// Last, so that a failed Open changes nothing: the indexes of the
	// segments whose frames were read.
	s.writeOpenIndexes()
	return nil
}

// recoverReadOnly is recover for OpenReadOnly: the same scan and checks,
// with nothing written. The commit mark is read before the segments are
// listed, so that every segment it names (created before the mark was
// written) is in the listing, and every byte it records as complete is in
// the files when they are read.
func (s *Store) recoverReadOnly() error {
	defer func() { s.scanBuf = nil }()
	if err := s.openMark(); err != nil {
		return err
	}
	names, err := s.fs.ReadDir(s.dir)
	if err != nil {
		return fmt.Errorf("filestore: open read-only: list %s: %w", s.dir, err)
	}
	var segNames []string
	for _, n := range names {
		if _, ok := parseSegmentName(n); ok {
			segNames = append(segNames, n)
		}
	}
	if len(segNames) == 0 {
		return fmt.Errorf("filestore: open read-only: no segment in %s: %w", s.dir, fs.ErrNotExist)
	}
	markSeen := false
	for i, name := range segNames {
		first, _ := parseSegmentName(name)
		f, err := s.fs.OpenFile(s.path(name), os.O_RDONLY, 0)
		if err != nil {
			return fmt.Errorf("filestore: open segment: %w", err)
		}
		sg := &segment{name: name, first: first, f: f}
		s.segs = append(s.segs, sg)
		if err := s.scanSegment(sg, uint32(i), i == len(segNames)-1); err != nil {
			return err
		}
		markSeen = markSeen || (s.markF != nil && first == s.mark.Segment)
	}
	if s.markF != nil && !markSeen {
		return &CorruptError{Segment: segmentName(s.mark.Segment), Offset: 0,
			Reason: fmt.Sprintf("the segment is missing, but the commit mark records %d bytes of it as complete, up to position %d", s.mark.Length, s.mark.Head)}
	}
	err = s.finishIndexes()
	s.pendingIndexes = nil // nothing is written
	return err
}

// listSegments returns the names of the segments in the directory, in
// order, after removing leftovers that never got their final name.
func (s *Store) listSegments() ([]string, error) {
	names, err := s.fs.ReadDir(s.dir)
	if err != nil {
		return nil, fmt.Errorf("filestore: open: list %s: %w", s.dir, err)
	}
	var segNames []string
	for _, n := range names {
		if (strings.HasPrefix(n, segmentPrefix) || n == markName+tmpSuffix) && strings.HasSuffix(n, tmpSuffix) {
			// A segment, side file or commit mark that never got its
			// final name. Its removal need not be durable: if it comes
			// back, the next Open removes it again.
			if err := s.fs.Remove(s.path(n)); err != nil {
				return nil, fmt.Errorf("filestore: open: remove leftover %s: %w", n, err)
			}
			continue
		}
		if _, ok := parseSegmentName(n); ok {
			segNames = append(segNames, n)
		}
	}
	return segNames, nil
}

// createFirstSegment starts a store that has no segment: a new one, unless
// a commit mark says it had some.
func (s *Store) createFirstSegment() error {
	if s.markF != nil {
		return &CorruptError{Segment: segmentName(s.mark.Segment), Offset: 0,
			Reason: fmt.Sprintf("the segment is missing (no segment exists), but the commit mark records %d bytes of it as complete, up to position %d", s.mark.Length, s.mark.Head)}
	}
	// The data directory may be new too: make its own name durable
	// before the first segment exists, so that a directory holding
	// segments always has a durable name (a process that died right
	// after MkdirAll leaves no segment, and the next Open syncs).
	if err := s.syncDir(syncParentDir, filepath.Dir(filepath.Clean(s.dir))); err != nil {
		return fmt.Errorf("filestore: open: sync parent directory: %w", err)
	}
	sg, err := s.createSegment(segmentName(1), 1, s.nextSegmentBytes(0))
	if err != nil {
		return fmt.Errorf("filestore: open: %w", err)
	}
	s.segs = append(s.segs, sg)
	if err := s.writeMark(); err != nil {
		return fmt.Errorf("filestore: open: %w", err)
	}
	return nil
}

// openMark opens the commit mark, if the store has one, and reads it. One
// slot may be invalid (a mark write torn by a crash; the next write
// rewrites that slot); none valid is corruption.
func (s *Store) openMark() error {
	flag := os.O_RDWR
	if s.readOnly {
		flag = os.O_RDONLY
	}
	f, err := s.fs.OpenFile(s.path(markName), flag, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("filestore: open: open commit mark: %w", err)
	}
	m, valid, err := readMarkFile(f)
	if err == nil && valid == 0 {
		err = &CorruptError{Segment: markName, Offset: 0, Reason: "neither slot of the commit mark is valid"}
	}
	if err != nil {
		f.Close()
		return err
	}
	s.markF, s.mark = f, m
	return nil
}

// startCurrentSegment makes the last segment one of the current format
// version: a segment of an earlier version is never appended to, so a new
// segment follows it — or, when it holds no frame, replaces it under the
// same name (temporary file and rename: a crash leaves one or the other).
func (s *Store) startCurrentSegment() error {
	last := s.segs[len(s.segs)-1]
	size := s.nextSegmentBytes(last.fileSize)
	if last.size == segmentHeaderSize {
		sg, err := s.createSegment(last.name, last.first, size)
		if err != nil {
			return err
		}
		last.f.Close()
		s.segs[len(s.segs)-1] = sg
		return nil
	}
	sg, err := s.createSegment(segmentName(s.head+1), s.head+1, size)
	if err != nil {
		return err
	}
	s.segs = append(s.segs, sg)
	return nil
}

// scanSegment checks every frame of sg past what its index covers and
// indexes its events, up to the free space that ends a segment of format
// version 3 (or the end of the file). In the last segment a bad frame past
// the commit mark, with no good frame after it, is a torn write and is cut
// off unless it was provably written completely; anywhere else damage is
// an error.
func (s *Store) scanSegment(sg *segment, idx uint32, last bool) error {
	size, err := sg.f.Size()
	if err != nil {
		return fmt.Errorf("filestore: open: size of %s: %w", sg.name, err)
	}
	corrupt := func(off int64, reason string) error {
		return &CorruptError{Segment: sg.name, Offset: off, Reason: reason}
	}
	if size < segmentHeaderSize {
		return corrupt(0, fmt.Sprintf("file is %d bytes, shorter than the segment header", size))
	}
	if size > 1<<32-1 {
		return corrupt(0, fmt.Sprintf("file is %d bytes, more than a segment can hold", size))
	}
	hdr := make([]byte, segmentHeaderSize)
	if _, err := sg.f.ReadAt(hdr, 0); err != nil {
		return fmt.Errorf("filestore: open: read header of %s: %w", sg.name, err)
	}
	first, version, err := checkSegmentHeader(hdr)
	if err != nil {
		return corrupt(0, err.Error())
	}
	sg.version = version
	if first != sg.first {
		return corrupt(0, fmt.Sprintf("header says first position %d, file name says %d", first, sg.first))
	}
	if first != s.head+1 {
		return corrupt(0, fmt.Sprintf("segment starts at position %d, the previous one ends at %d", first, s.head))
	}
	// limit: the bytes of this segment the commit mark records as
	// complete (-1: it says nothing of this segment).
	limit := int64(-1)
	if s.markF != nil && s.mark.Segment == first {
		limit = s.mark.Length
	}
	atLimit := func(off int64) error {
		if off == limit && s.head != s.mark.Head {
			return corrupt(off, fmt.Sprintf("the commit mark records position %d at this offset, the frames before it end at %d", s.mark.Head, s.head))
		}
		return nil
	}
	r := frameReader{size: size, version: version, buf: s.scanBuf, read: func(p []byte, off int64) error {
		_, err := sg.f.ReadAt(p, off)
		return err
	}}
	defer func() { s.scanBuf = r.buf[:0] }() // one buffer for every segment
	fileSize := size
	// A valid index stands for the frames it covers (doc.go, "Indexes"):
	// the scan starts where it ends; otherwise at the first frame.
	ix, off := s.segmentIndex(sg, size, limit)
	for off < size {
		if err := atLimit(off); err != nil {
			return err
		}
		free, bad, err := r.free(off)
		if err != nil {
			return fmt.Errorf("filestore: open: read %s at %d: %w", sg.name, off, err)
		}
		if free {
			size = off // the data end
			break
		}
		var (
			body []byte
			next int64
		)
		if bad == "" {
			body, next, bad, err = r.frame(off)
			if err != nil {
				return fmt.Errorf("filestore: open: read %s at %d: %w", sg.name, off, err)
			}
		}
		if bad != "" {
			if off < limit {
				return corrupt(off, fmt.Sprintf("%s, before the end of what the commit mark records as complete (%d bytes)", bad, limit))
			}
			if !last {
				return corrupt(off, bad)
			}
			if s.readOnly {
				// May be an append in flight: read up to it, judge
				// nothing, cut nothing.
				size = off
				break
			}
			if err := s.tornOrCorrupt(sg, version, off, size, bad); err != nil {
				return err
			}
			if !preallocated(version) {
				fileSize = off // cut by truncation
			}
			size = off
			break
		}
		if off < limit && next > limit {
			return corrupt(off, fmt.Sprintf("frame runs past %d, where the commit mark says complete frames end", limit))
		}
		// A frame whose checks hold but whose content is wrong was
		// written that way or damaged beyond the checks' reach:
		// corruption either way, never a torn write.
		if reason := ix.index(s, body, loc{seg: idx, off: uint32(off)}); reason != "" {
			return corrupt(off, reason)
		}
		off = next
	}
	if err := atLimit(size); err != nil {
		return err
	}
	if size < limit {
		return corrupt(size, fmt.Sprintf("the segment's frames end at %d, but the commit mark records %d bytes of it as complete, up to position %d", size, limit, s.mark.Head))
	}
	sg.size, sg.fileSize = size, fileSize
	return nil
}

// tornOrCorrupt decides about the bad frame at off of the last segment,
// past the commit mark (size: the file's size): when a good frame follows
// it, or when it was provably written completely, it is corruption;
// otherwise it is a torn write, cut off (its bytes saved beside the
// segment).
func (s *Store) tornOrCorrupt(sg *segment, version uint32, off, size int64, bad string) error {
	read := func(p []byte, at int64) error {
		if _, err := sg.f.ReadAt(p, at); err != nil {
			return fmt.Errorf("filestore: open: read tail of %s: %w", sg.name, err)
		}
		return nil
	}
	if !preallocated(version) {
		// The frames run to the end of the file: so does the bad one.
		rest := make([]byte, size-off)
		if err := read(rest, off); err != nil {
			return err
		}
		if err := tornFrame(sg.name, version, rest, off, len(rest), []int{len(rest)}, bad); err != nil {
			return err
		}
		return s.cutTail(sg, version, off, rest)
	}
	// Free space (zeros) follows the frames. The bad frame's bytes end at
	// its last non-zero byte, e: a torn write leaves each of its bytes
	// written or still zero, and no later frame was written.
	e, err := scanNonZero(read, off, size, true)
	if err != nil || e < 0 {
		return err // e < 0: all zeros, free space; nothing to cut
	}
	e++
	// Where the frame may end: where its header says, or just after its
	// trailer, whose length field holds a non-zero byte — so it ends
	// within 8 bytes after e.
	end := min(size, e+frameTrailerSize-1)
	ends := []int64{}
	for x := e; x <= end; x++ {
		ends = append(ends, x)
	}
	hdr := make([]byte, frameHeaderSize)
	if size-off >= frameHeaderSize {
		if err := read(hdr, off); err != nil {
			return err
		}
		if n, _, ok := frameLen(hdr); ok {
			if x := off + int64(frameSize(version, n)); x > end && x <= size {
				ends, end = append(ends, x), x
			}
		}
	}
	rest := make([]byte, end-off)
	if err := read(rest, off); err != nil {
		return err
	}
	cands := make([]int, len(ends))
	for i, x := range ends {
		cands[i] = int(x - off)
	}
	if err := tornFrame(sg.name, version, rest, off, int(e-off), cands, bad); err != nil {
		return err
	}
	return s.cutTail(sg, version, off, rest[:e-off])
}

// tornFrame judges the bad frame at the start of rest, the segment's
// bytes from the file offset base: the bytes a torn write may have
// touched end at rest[:written], and the frame may end at any of the
// offsets in ends (relative to rest), with only zeros after. It returns a
// *CorruptError when a good frame starts within the written bytes (later
// frames are written only after the previous one was synced, so the bad
// one was once durable) or when the frame, taken to end at one of ends,
// was provably written completely and damaged since (completeFrameDamage);
// nil when it may be a torn write.
func tornFrame(name string, version uint32, rest []byte, base int64, written int, ends []int, bad string) error {
	for p := 1; p < written && p+frameHeaderSize <= len(rest); p++ {
		if frameAt(version, rest[p:]) {
			return &CorruptError{Segment: name, Offset: base, Reason: fmt.Sprintf("%s, and a good frame follows at %d", bad, base+int64(p))}
		}
	}
	for _, x := range ends {
		if why := completeFrameDamage(version, rest[:x], base); why != "" {
			return &CorruptError{Segment: name, Offset: base, Reason: bad + "; " + why}
		}
	}
	return nil
}

// cutTail removes a torn final write. Its bytes — from the bad frame's
// offset to the end of the file, or in a segment with free space to its
// last non-zero byte — are first saved beside the segment
// (segment-….log.torn-<offset>-<crc>) so that nothing is destroyed without
// trace; then the segment is truncated at the offset, or in a segment with
// free space the bytes are overwritten with zeros, which makes them free
// space again. recover syncs the segment.
func (s *Store) cutTail(sg *segment, version uint32, off int64, tail []byte) error {
	side := fmt.Sprintf("%s.torn-%d-%08x", sg.name, off, crc32.Checksum(tail, castagnoli))
	if err := s.writeFileAtomic(side, tail, syncTornSideFile, syncTornSideDir); err != nil {
		return fmt.Errorf("filestore: open: save torn tail of %s: %w", sg.name, err)
	}
	if preallocated(version) {
		if _, err := sg.f.WriteAt(make([]byte, len(tail)), off); err != nil {
			return fmt.Errorf("filestore: open: zero the torn tail of %s at %d: %w", sg.name, off, err)
		}
		return nil
	}
	if err := sg.f.Truncate(off); err != nil {
		return fmt.Errorf("filestore: open: truncate torn tail of %s at %d: %w", sg.name, off, err)
	}
	return nil
}

// writeFileAtomic writes a file under name: temp file, sync, rename, sync
// directory, each sync at its named site (a torn tail's side file, an
// index file). A crash leaves the old file, the new one, or a *.tmp that
// Open removes.
func (s *Store) writeFileAtomic(name string, data []byte, fileSite, dirSite syncSite) error {
	tmp := s.path(name + tmpSuffix)
	f, err := s.fs.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.WriteAt(data, 0); err != nil {
		f.Close()
		return fmt.Errorf("write: %w", err)
	}
	if err := syncFile(fileSite, f); err != nil {
		f.Close()
		return fmt.Errorf("sync: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("close: %w", err)
	}
	if err := s.fs.Rename(tmp, s.path(name)); err != nil {
		return fmt.Errorf("rename: %w", err)
	}
	if err := s.syncDir(dirSite, s.dir); err != nil {
		return fmt.Errorf("sync directory: %w", err)
	}
	return nil
}

// VerifyStorage implements ledger.Verifier: it rereads every committed
// byte of every segment and checks headers, frame lengths, checksums, the
// encoding of every event, contiguous positions and per-stream revisions;
// it checks every index file byte for byte against the frames it covers,
// and the store's in-memory indexes against every event (which also
// proves that no id occurs twice). It does not check hash chains (the
// ledger does that) and does not block appends.
func (s *Store) VerifyStorage(ctx context.Context) error {
	s.mu.RLock()
	if s.closed {
		s.mu.RUnlock()
		return errClosed
	}
	type segSnap struct {
		sg   *segment
		size int64
	}
	segs := make([]segSnap, len(s.segs))
	for i, sg := range s.segs {
		segs[i] = segSnap{sg, sg.size}
	}
	s.mu.RUnlock()

	next := uint64(1)
	revs := make(map[string]uint64)
	iv := s.newIndexVerifier()
	var (
		dec frameDecoder
		ev  rawEvent
	)
	for i, ss := range segs {
		sg := ss.sg
		corrupt := func(off int64, reason string) error {
			return &CorruptError{Segment: sg.name, Offset: off, Reason: reason}
		}
		r := frameReader{size: ss.size, read: func(p []byte, off int64) error { return s.pread(sg, p, off) }}
		hdr, err := r.bytes(0, segmentHeaderSize)
		if err != nil {
			return fmt.Errorf("filestore: verify: %w", err)
		}
		first, version, err := checkSegmentHeader(hdr)
		if err != nil {
			return corrupt(0, err.Error())
		}
		if first != next || first != sg.first || version != sg.version {
			return corrupt(0, fmt.Sprintf("segment header says position %d, format version %d; want %d, %d", first, version, next, sg.version))
		}
		r.version = version
		if err := iv.begin(uint32(i), sg, version, ss.size); err != nil {
			return err
		}
		for off := int64(segmentHeaderSize); off < ss.size; {
			if err := ctx.Err(); err != nil {
				return err
			}
			if err := iv.at(off); err != nil {
				return err
			}
			body, nextOff, bad, err := r.frame(off)
			if err != nil {
				return fmt.Errorf("filestore: verify: %w", err)
			}
			if bad != "" {
				return corrupt(off, bad)
			}
			if err := dec.init(body); err != nil {
				return corrupt(off, err.Error())
			}
			if dec.first != next {
				return corrupt(off, fmt.Sprintf("frame starts at position %d, want %d", dec.first, next))
			}
			for {
				ok, err := dec.nextEvent(&ev)
				if err != nil {
					return corrupt(off, err.Error())
				}
				if !ok {
					break
				}
				if want := revs[string(ev.stream)]; ev.revision != want {
					return corrupt(off, fmt.Sprintf("event %s of stream %q has revision %d, want %d", ev.id, ev.stream, ev.revision, want))
				}
				revs[string(ev.stream)] = ev.revision + 1
				if err := iv.event(&ev, off); err != nil {
					return err
				}
				next++
			}
			off = nextOff
		}
		if err := iv.finish(ss.size); err != nil {
			return err
		}
		if i < len(segs)-1 {
			// A sealed segment: nothing writes to it again, so its free
			// space must hold zeros. That of the last segment is the
			// committer's (or, read-only, a writer's beside): past the
			// commit mark, Open judges it by the torn-write rules.
			if err := s.verifyFree(sg, ss.size); err != nil {
				return err
			}
		}
	}
	if s.readOnly {
		// A writer beside this store may be rewriting the mark; Open
		// checked the one it read.
		return nil
	}
	return s.verifyMark()
}

// verifyFree checks that the bytes of the sealed segment sg after its
// frames, which end at from, are free space: zeros in a segment of format
// version 3, none at all before.
func (s *Store) verifyFree(sg *segment, from int64) error {
	s.filesMu.RLock()
	if s.filesClosed {
		s.filesMu.RUnlock()
		return errClosed
	}
	size, err := sg.f.Size()
	s.filesMu.RUnlock()
	if err != nil {
		return fmt.Errorf("filestore: verify: size of %s: %w", sg.name, err)
	}
	if size <= from {
		return nil
	}
	if !preallocated(sg.version) {
		return &CorruptError{Segment: sg.name, Offset: from, Reason: fmt.Sprintf("%d bytes follow the last frame of a sealed segment", size-from)}
	}
	at, err := scanNonZero(func(p []byte, off int64) error { return s.pread(sg, p, off) }, from, size, false)
	if err != nil {
		return fmt.Errorf("filestore: verify: %w", err)
	}
	if at >= 0 {
		return &CorruptError{Segment: sg.name, Offset: from, Reason: fmt.Sprintf("the free space after the frames (zeros to the end of the file at %d) holds a non-zero byte at %d", size, at)}
	}
	return nil
}

// verifyMark checks the commit mark as it is on disk: both slots valid
// (Open leaves them so), the newer one the last written, and no claim
// beyond what the store holds.
func (s *Store) verifyMark() error {
	s.filesMu.RLock()
	defer s.filesMu.RUnlock()
	if s.filesClosed {
		return errClosed
	}
	s.markMu.Lock()
	m, valid, err := readMarkFile(s.markF)
	want := s.mark
	s.markMu.Unlock()
	corrupt := func(reason string) error {
		return &CorruptError{Segment: markName, Offset: 0, Reason: reason}
	}
	switch {
	case err != nil:
		return fmt.Errorf("filestore: verify: %w", err)
	case valid < 2:
		return corrupt(fmt.Sprintf("%d of its 2 slots are valid", valid))
	case m != want:
		return corrupt(fmt.Sprintf("it holds sequence %d (segment %d, %d bytes, position %d), the store last wrote sequence %d", m.Seq, m.Segment, m.Length, m.Head, want.Seq))
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, sg := range s.segs {
		if sg.first == m.Segment && m.Length <= sg.size && m.Head <= s.head {
			return nil
		}
	}
	return corrupt(fmt.Sprintf("it records %d bytes of %s up to position %d, more than the store holds", m.Length, segmentName(m.Segment), m.Head))
}
