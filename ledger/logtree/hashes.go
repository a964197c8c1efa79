package logtree

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"

	"golang.org/x/mod/sumdb/tlog"
)

// hashStore holds the tree's stored hashes (tlog.StoredHashIndex order),
// in memory or in a hash file.
type hashStore interface {
	// count is the number of hashes stored.
	count() int64
	// read returns the hashes at the given indexes, all below count.
	read(indexes []int64) ([]tlog.Hash, error)
	// append stores hs at indexes count(), count()+1, ….
	append(hs []tlog.Hash) error
	close() error
}

// memHashes keeps every hash in memory.
type memHashes struct{ hs []tlog.Hash }

func (m *memHashes) count() int64 { return int64(len(m.hs)) }

func (m *memHashes) read(indexes []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(indexes))
	for i, x := range indexes {
		if x < 0 || x >= int64(len(m.hs)) {
			return nil, fmt.Errorf("logtree: hash %d of %d stored", x, len(m.hs))
		}
		out[i] = m.hs[x]
	}
	return out, nil
}

func (m *memHashes) append(hs []tlog.Hash) error {
	m.hs = append(m.hs, hs...)
	return nil
}

func (m *memHashes) close() error { return nil }

// The hash file (doc.go, "Hash file").
const (
	hashFileMagic      = "PLTHASH1"
	hashFileHeaderSize = 16
	hashRecordSize     = tlog.HashSize + 4
	hashScanChunk      = 1 << 16 // records read at a time when the file is checked
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

func hashFileHeader() []byte {
	b := make([]byte, hashFileHeaderSize)
	copy(b, hashFileMagic)
	binary.LittleEndian.PutUint32(b[8:], hashRecordSize)
	binary.LittleEndian.PutUint32(b[12:], crc32.Checksum(b[:12], castagnoli))
	return b
}

// recordCRC is the checksum of stored hash i: CRC-32C of i (8 bytes,
// little-endian) followed by the hash, so that a record in the wrong place
// fails too. It assembles the 40 bytes in scratch: crc32 keeps what it is
// given on the heap, so a buffer of its own would be an allocation a
// record.
func recordCRC(scratch []byte, i int64, h []byte) uint32 {
	b := binary.LittleEndian.AppendUint64(scratch[:0], uint64(i))
	return crc32.Checksum(append(b, h...), castagnoli)
}

// newCRCScratch returns a scratch buffer for recordCRC.
func newCRCScratch() []byte { return make([]byte, 0, 8+tlog.HashSize) }

// fileHashes keeps the hashes in a file, read with pread. The file is
// derived data: it is never synced, and openHashFile keeps only its longest
// prefix of valid records.
type fileHashes struct {
	f       *os.File
	n       int64
	buf     []byte // append's records, kept for its capacity
	scratch []byte // append's recordCRC scratch
}

// openHashFile opens (creating if needed) the hash file at path and returns
// it with n, the number of its valid records; anything after them — a
// record torn by a crash, damage — is truncated, to be recomputed from the
// log. A file that is not a hash file at all is an error: it is not ours to
// overwrite.
func openHashFile(path string) (*fileHashes, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("logtree: open hash file: %w", err)
	}
	fail := func(step string, err error) (*fileHashes, error) {
		f.Close()
		return nil, fmt.Errorf("logtree: hash file %s: %s: %w", path, step, err)
	}
	fi, err := f.Stat()
	if err != nil {
		return fail("stat", err)
	}
	want := hashFileHeader()
	hdr := make([]byte, hashFileHeaderSize)
	n, err := f.ReadAt(hdr, 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return fail("read header", err)
	}
	if string(hdr[:n]) != string(want[:n]) {
		return fail("check header", errors.New("not a partyledger log tree hash file (bad magic, record size or checksum)"))
	}
	if n < hashFileHeaderSize {
		// New, or created by a process that died before its header
		// was complete.
		if _, err := f.WriteAt(want, 0); err != nil {
			return fail("write header", err)
		}
		return &fileHashes{f: f}, nil
	}
	h := &fileHashes{f: f}
	valid, err := h.scan(fi.Size())
	if err != nil {
		return fail("read", err)
	}
	h.n = valid
	if end := hashFileHeaderSize + valid*hashRecordSize; end != fi.Size() {
		if err := f.Truncate(end); err != nil {
			return fail("truncate", err)
		}
	}
	return h, nil
}

// scan returns the number of valid records at the start of a file of size
// bytes.
func (h *fileHashes) scan(size int64) (int64, error) {
	total := (size - hashFileHeaderSize) / hashRecordSize
	buf := make([]byte, hashScanChunk*hashRecordSize)
	scratch := newCRCScratch()
	for i := int64(0); i < total; {
		n := min(total-i, hashScanChunk)
		b := buf[:n*hashRecordSize]
		if _, err := h.f.ReadAt(b, hashFileHeaderSize+i*hashRecordSize); err != nil {
			return 0, err
		}
		for j := int64(0); j < n; j++ {
			r := b[j*hashRecordSize : (j+1)*hashRecordSize]
			if binary.LittleEndian.Uint32(r[tlog.HashSize:]) != recordCRC(scratch, i+j, r[:tlog.HashSize]) {
				return i + j, nil
			}
		}
		i += n
	}
	return total, nil
}

func (h *fileHashes) count() int64 { return h.n }

// truncate keeps the first n records (n ≤ count).
func (h *fileHashes) truncate(n int64) error {
	if err := h.f.Truncate(hashFileHeaderSize + n*hashRecordSize); err != nil {
		return fmt.Errorf("logtree: truncate hash file: %w", err)
	}
	h.n = n
	return nil
}

func (h *fileHashes) read(indexes []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(indexes))
	var r [hashRecordSize]byte
	scratch := newCRCScratch()
	for i, x := range indexes {
		if x < 0 || x >= h.n {
			return nil, fmt.Errorf("logtree: hash %d of %d stored", x, h.n)
		}
		if _, err := h.f.ReadAt(r[:], hashFileHeaderSize+x*hashRecordSize); err != nil {
			return nil, fmt.Errorf("logtree: read hash file: %w", err)
		}
		if binary.LittleEndian.Uint32(r[tlog.HashSize:]) != recordCRC(scratch, x, r[:tlog.HashSize]) {
			return nil, fmt.Errorf("logtree: hash file record %d fails its checksum (delete the file to rebuild it from the log): %w", x, ErrHashFile)
		}
		copy(out[i][:], r[:tlog.HashSize])
	}
	return out, nil
}

func (h *fileHashes) append(hs []tlog.Hash) error {
	if need := len(hs) * hashRecordSize; cap(h.buf) < need {
		h.buf = make([]byte, 0, need)
	}
	if h.scratch == nil {
		h.scratch = newCRCScratch()
	}
	b := h.buf[:0]
	for i := range hs {
		b = append(b, hs[i][:]...)
		b = binary.LittleEndian.AppendUint32(b, recordCRC(h.scratch, h.n+int64(i), hs[i][:]))
	}
	h.buf = b
	if _, err := h.f.WriteAt(b, hashFileHeaderSize+h.n*hashRecordSize); err != nil {
		return fmt.Errorf("logtree: write hash file: %w", err)
	}
	h.n += int64(len(hs))
	return nil
}

func (h *fileHashes) close() error { return h.f.Close() }
