package filestore

import (
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// tornMarker separates a segment's name from the offset and CRC in the
// name of a side file of cut bytes.
const tornMarker = ".torn-"

// TornFile describes a side file: bytes that Open cut off the end of the
// last segment as a torn write and saved beside it (doc.go, "Recovery").
// A torn write was never acknowledged, so a side file holds no event an
// Append returned — unless the rule that told it from damage was wrong (a
// change confined to the last 8 bytes of a final frame past the commit
// mark is taken for a torn write). An operator should look at every one.
type TornFile struct {
	Name    string // the side file's name in the data directory
	Segment string // the segment the bytes were cut from
	Offset  int64  // where in the segment they began
	Bytes   int64  // how many bytes were cut
	Intact  bool   // the bytes still match the CRC in the file's name
	// Events counts the events whose bytes are all there and well framed,
	// whether or not their checksums hold; Frames counts the frames among
	// the bytes whose checksums all hold (a complete frame cut because
	// only its trailer was damaged is not one).
	Events int
	Frames int
}

// TornFiles lists the side files of cut bytes in the data directory dir,
// in name order, and decodes what it can of each. It reads through the
// operating system; the store need not be open.
func TornFiles(dir string) ([]TornFile, error) { return tornFiles(OSFS{}, dir) }

// TornFiles lists the side files of cut bytes in the store's directory
// (see the package function TornFiles).
func (s *Store) TornFiles() ([]TornFile, error) { return tornFiles(s.fs, s.dir) }

func tornFiles(fsys FS, dir string) ([]TornFile, error) {
	names, err := fsys.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("filestore: torn files: list %s: %w", dir, err)
	}
	var out []TornFile
	for _, name := range names {
		seg, rest, ok := strings.Cut(name, tornMarker)
		if _, isSeg := parseSegmentName(seg); !ok || !isSeg || strings.HasSuffix(name, tmpSuffix) {
			continue
		}
		tf := TornFile{Name: name, Segment: seg}
		offText, crcText, _ := strings.Cut(rest, "-")
		tf.Offset, _ = strconv.ParseInt(offText, 10, 64)
		want, crcErr := strconv.ParseUint(crcText, 16, 32)
		b, err := readWhole(fsys, filepath.Join(dir, name))
		if err != nil {
			return nil, fmt.Errorf("filestore: torn files: read %s: %w", name, err)
		}
		tf.Bytes = int64(len(b))
		tf.Intact = crcErr == nil && len(crcText) == 8 && crc32.Checksum(b, castagnoli) == uint32(want)
		tf.Frames, tf.Events = countEvents(segmentVersion(fsys, filepath.Join(dir, seg)), b)
		out = append(out, tf)
	}
	return out, nil
}

// segmentVersion returns the format version in the header of the segment
// at path, or the current version when it cannot be read.
func segmentVersion(fsys FS, path string) uint32 {
	f, err := fsys.OpenFile(path, os.O_RDONLY, 0)
	if err != nil {
		return formatVersion
	}
	defer f.Close()
	hdr := make([]byte, segmentHeaderSize)
	if _, err := f.ReadAt(hdr, 0); err != nil {
		return formatVersion
	}
	if _, v, err := checkSegmentHeader(hdr); err == nil {
		return v
	}
	return formatVersion
}

func readWhole(fsys FS, path string) ([]byte, error) {
	f, err := fsys.OpenFile(path, os.O_RDONLY, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	size, err := f.Size()
	if err != nil {
		return nil, err
	}
	if size > 1<<31 {
		// A tail is cut from one segment: at most SegmentSize (1 GiB)
		// plus one frame.
		return nil, fmt.Errorf("%d bytes, more than a torn tail can hold", size)
	}
	b := make([]byte, size)
	if n, err := f.ReadAt(b, 0); err != nil && !(errors.Is(err, io.EOF) && n == len(b)) {
		return nil, err
	}
	return b, nil
}
