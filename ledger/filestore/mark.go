package filestore

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// The commit mark (doc.go, "Commit mark"): a durable record of how far the
// log is known to be complete, so that recovery never takes acknowledged
// bytes for a torn write.
const (
	markName     = "COMMIT"
	markMagic    = "PLCOMMIT"
	markVersion  = 1
	markSlotSize = 64
	// markSlot1 is where the second slot starts: a page away from the
	// first, so that one torn page write can damage at most one slot.
	markSlot1    = 4096
	markFileSize = markSlot1 + markSlotSize
)

// Mark is the content of one slot of the commit mark: segment
// segment-<Segment>.log holds at least Length bytes of complete frames, the
// log up to there ends at position Head, and every segment before it is
// complete.
type Mark struct {
	Seq     uint64 // written at every update, one more than the previous
	Segment uint64 // first position of the marked segment (its file name)
	Length  int64  // bytes of the segment known complete, ≥ 32
	Head    uint64 // position of the last event in those bytes; 0 when none
}

func encodeMark(m Mark) []byte {
	le := binary.LittleEndian
	b := make([]byte, markSlotSize)
	copy(b, markMagic)
	le.PutUint32(b[8:], markVersion)
	le.PutUint64(b[16:], m.Seq)
	le.PutUint64(b[24:], m.Segment)
	le.PutUint64(b[32:], uint64(m.Length))
	le.PutUint64(b[40:], m.Head)
	le.PutUint32(b[60:], crc32.Checksum(b[:60], castagnoli))
	return b
}

// decodeMark returns the mark in a slot, or false when the slot does not
// hold a valid one.
func decodeMark(b []byte) (Mark, bool) {
	le := binary.LittleEndian
	if len(b) < markSlotSize || string(b[:8]) != markMagic || le.Uint32(b[8:]) != markVersion ||
		le.Uint32(b[60:]) != crc32.Checksum(b[:60], castagnoli) {
		return Mark{}, false
	}
	for _, c := range b[12:16] {
		if c != 0 {
			return Mark{}, false
		}
	}
	for _, c := range b[48:60] {
		if c != 0 {
			return Mark{}, false
		}
	}
	m := Mark{Seq: le.Uint64(b[16:]), Segment: le.Uint64(b[24:]), Length: int64(le.Uint64(b[32:])), Head: le.Uint64(b[40:])}
	if m.Seq == 0 || m.Segment == 0 || m.Length < segmentHeaderSize || m.Length > 1<<32-1 || m.Head < m.Segment-1 {
		return Mark{}, false
	}
	return m, true
}

// markSlotOffset is where the slot of sequence number seq lies.
func markSlotOffset(seq uint64) int64 {
	if seq%2 == 1 {
		return markSlot1
	}
	return 0
}

// readMarkFile reads the commit mark from f. It returns the newest valid
// slot and how many slots are valid (0, 1 or 2).
func readMarkFile(f File) (Mark, int, error) {
	b := make([]byte, markFileSize)
	n, err := f.ReadAt(b, 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return Mark{}, 0, fmt.Errorf("read commit mark: %w", err)
	}
	b = b[:n] // a short file is judged by the slots it holds
	var best Mark
	valid := 0
	for _, off := range []int{0, markSlot1} {
		if len(b) < off+markSlotSize {
			continue
		}
		if m, ok := decodeMark(b[off : off+markSlotSize]); ok && markSlotOffset(m.Seq) == int64(off) {
			valid++
			if m.Seq > best.Seq {
				best = m
			}
		}
	}
	return best, valid, nil
}

// ReadMark reads the commit mark of the store in dir through fsys (nil:
// the operating system's). found is false when the store has none (a
// store written before the mark existed, or one that never finished its
// first Open). A mark file with no valid slot is a *CorruptError.
func ReadMark(fsys FS, dir string) (m Mark, found bool, err error) {
	if fsys == nil {
		fsys = OSFS{}
	}
	f, err := fsys.OpenFile(filepath.Join(dir, markName), os.O_RDONLY, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return Mark{}, false, nil
	}
	if err != nil {
		return Mark{}, false, fmt.Errorf("filestore: open commit mark: %w", err)
	}
	defer f.Close()
	m, valid, err := readMarkFile(f)
	if err != nil {
		return Mark{}, false, err
	}
	if valid == 0 {
		return Mark{}, false, &CorruptError{Segment: markName, Offset: 0, Reason: "neither slot of the commit mark is valid"}
	}
	return m, true, nil
}

// writeMark records that the log is complete up to the end of the last
// segment as committed now. It is called only when everything it covers
// is durable: after Open has synced what it read, after a new segment was
// created, and at Close. The first call creates the mark file.
func (s *Store) writeMark() error {
	last := s.segs[len(s.segs)-1]
	m := Mark{Seq: s.mark.Seq + 1, Segment: last.first, Length: last.size, Head: s.head}
	s.markMu.Lock()
	defer s.markMu.Unlock()
	if s.markF == nil {
		return s.createMark(m)
	}
	if _, err := s.markF.WriteAt(encodeMark(m), markSlotOffset(m.Seq)); err != nil {
		return fmt.Errorf("write commit mark: %w", err)
	}
	if err := syncFile(syncMark, s.markF); err != nil {
		return fmt.Errorf("sync commit mark: %w", err)
	}
	s.mark = m
	return nil
}

// createMark makes the mark file durable under its name, both slots
// holding m (sequence numbers m.Seq and m.Seq+1): written to a temporary
// file, synced, renamed, directory synced. A crash leaves no mark or a
// whole one.
func (s *Store) createMark(m Mark) error {
	tmp := s.path(markName + tmpSuffix)
	f, err := s.fs.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return fmt.Errorf("create commit mark: %w", err)
	}
	fail := func(step string, err error) error {
		f.Close()
		return fmt.Errorf("create commit mark: %s: %w", step, err)
	}
	b := make([]byte, markFileSize)
	m2 := m
	m2.Seq++
	copy(b[markSlotOffset(m.Seq):], encodeMark(m))
	copy(b[markSlotOffset(m2.Seq):], encodeMark(m2))
	if _, err := f.WriteAt(b, 0); err != nil {
		return fail("write", err)
	}
	if err := syncFile(syncMarkCreate, f); err != nil {
		return fail("sync", err)
	}
	if err := s.fs.Rename(tmp, s.path(markName)); err != nil {
		return fail("rename", err)
	}
	if err := s.syncDir(syncMarkDir, s.dir); err != nil {
		return fail("sync directory", err)
	}
	s.markF, s.mark = f, m2
	return nil
}
