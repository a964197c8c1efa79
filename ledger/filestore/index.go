package filestore

import (
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"math"
	"math/bits"
	"os"
	"slices"
	"unsafe"

	"github.com/google/uuid"
)

// Segment indexes (doc.go, "Indexes"): segment-<P>.idx describes the
// frames of segment-<P>.log from its header to a data end D — where each
// event's frame starts, which stream each event belongs to, and the
// leading bytes of every event id — so that Open can load it instead of
// scanning the frames.
const (
	indexSuffix     = ".idx"
	indexMagic      = "PLSEGIDX"
	indexVersion    = 1
	indexHeaderSize = 64
	idRecordSize    = 12 // the id's first 8 bytes, u32 position − P
)

func indexName(first uint64) string {
	return fmt.Sprintf("%s%020d%s", segmentPrefix, first, indexSuffix)
}

// idKey returns the first 8 bytes of an id as an integer that orders as
// they do: what the index files and the id table hold of an id.
func idKey(id *uuid.UUID) uint64 { return binary.BigEndian.Uint64(id[:8]) }

// segIndex is the content of one index file: the events at positions
// first … first+n-1, in the frames from 32 to dataEnd of the segment.
// Its slices may point into the file's bytes (see decodeIndex).
type segIndex struct {
	first   uint64
	version uint32 // the segment's format version
	dataEnd int64
	n       int
	s0      uint32      // streams with events before first
	names   []string    // streams s0, s0+1, … whose first event is here
	runs    []streamRun // one per stream with events here, by stream number
	runPos  []uint32    // the runs' positions − first, run after run, ascending within a run
	ids     []byte      // n records of idRecordSize, ascending
	offs    []uint32    // frame offset of each event
}

// streamRun is a stream's events in one segment: count positions in
// segIndex.runPos.
type streamRun struct {
	num, count uint32
}

// littleEndian reports whether the machine stores integers as the index
// format does, so that arrays of them are used in place or copied as bytes.
var littleEndian = binary.NativeEndian.Uint16([]byte{1, 0}) == 1

// u32Bytes views a []uint32 as its bytes (native byte order).
func u32Bytes(s []uint32) []byte {
	if len(s) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(s))), 4*len(s))
}

// putU32s writes s into b as little-endian integers.
func putU32s(b []byte, s []uint32) {
	if littleEndian {
		copy(b, u32Bytes(s))
		return
	}
	for i, v := range s {
		binary.LittleEndian.PutUint32(b[4*i:], v)
	}
}

// u32sOf returns the n little-endian integers at the start of b: b itself
// viewed as integers where it can be (b 4-aligned, machine little-endian),
// else a copy.
func u32sOf(b []byte, n int) []uint32 {
	if n == 0 {
		return nil
	}
	if littleEndian && uintptr(unsafe.Pointer(&b[0]))%4 == 0 {
		return unsafe.Slice((*uint32)(unsafe.Pointer(&b[0])), n)
	}
	s := make([]uint32, n)
	for i := range s {
		s[i] = binary.LittleEndian.Uint32(b[4*i:])
	}
	return s
}

// encodeIndex returns the bytes of the index file for x (doc.go,
// "Indexes").
func encodeIndex(x *segIndex) []byte {
	le := binary.LittleEndian
	namesLen := 0
	for _, n := range x.names {
		namesLen += 2 + len(n)
	}
	b := make([]byte, indexHeaderSize+(8+idRecordSize)*x.n+8*len(x.runs)+namesLen)
	copy(b, indexMagic)
	le.PutUint32(b[8:], indexVersion)
	le.PutUint32(b[12:], indexHeaderSize)
	le.PutUint64(b[16:], x.first)
	le.PutUint32(b[24:], x.version)
	le.PutUint64(b[32:], uint64(x.dataEnd))
	le.PutUint32(b[40:], uint32(x.n))
	le.PutUint32(b[44:], x.s0)
	le.PutUint32(b[48:], uint32(len(x.names)))
	le.PutUint32(b[52:], uint32(len(x.runs)))
	p := indexHeaderSize
	putU32s(b[p:], x.offs[:x.n])
	p += 4 * x.n
	putU32s(b[p:], x.runPos)
	p += 4 * x.n
	for _, r := range x.runs {
		le.PutUint32(b[p:], r.num)
		le.PutUint32(b[p+4:], r.count)
		p += 8
	}
	p += copy(b[p:], x.ids)
	for _, n := range x.names {
		le.PutUint16(b[p:], uint16(len(n)))
		p += 2 + copy(b[p+2:], n)
	}
	le.PutUint32(b[56:], crc32.Checksum(b[indexHeaderSize:], castagnoli))
	le.PutUint32(b[60:], crc32.Checksum(b[:60], castagnoli))
	return b
}

// decodeIndex checks the bytes of an index file — header, checksums,
// sizes, the structure of the stream tables — and returns its content, or
// why it is bad. The content's tables point into b. What cannot be checked
// without the segment (that the tables describe its frames) is left to
// useIndex and VerifyStorage.
func decodeIndex(b []byte) (*segIndex, string) {
	le := binary.LittleEndian
	if len(b) < indexHeaderSize {
		return nil, fmt.Sprintf("file is %d bytes, shorter than the index header", len(b))
	}
	switch {
	case string(b[:8]) != indexMagic:
		return nil, "bad magic"
	case le.Uint32(b[60:]) != crc32.Checksum(b[:60], castagnoli):
		return nil, "header checksum mismatch"
	case le.Uint32(b[8:]) != indexVersion:
		return nil, fmt.Sprintf("unsupported index version %d", le.Uint32(b[8:]))
	case le.Uint32(b[12:]) != indexHeaderSize:
		return nil, fmt.Sprintf("unsupported index header size %d", le.Uint32(b[12:]))
	case le.Uint32(b[28:]) != 0:
		return nil, "reserved header bytes are not zero"
	}
	x := &segIndex{
		first:   le.Uint64(b[16:]),
		version: le.Uint32(b[24:]),
		dataEnd: int64(le.Uint64(b[32:])),
		n:       int(le.Uint32(b[40:])),
		s0:      le.Uint32(b[44:]),
	}
	sn, nr := int64(le.Uint32(b[48:])), int64(le.Uint32(b[52:]))
	fixed := indexHeaderSize + (8+idRecordSize)*int64(x.n) + 8*nr
	switch {
	case x.first == 0 || x.first > 1<<idPosBits-1-uint64(x.n):
		return nil, fmt.Sprintf("first position %d out of range", x.first)
	case x.version < formatVersion1 || x.version > formatVersion3:
		return nil, fmt.Sprintf("segment format version %d", x.version)
	case x.dataEnd < segmentHeaderSize || x.dataEnd > 1<<32-1:
		return nil, fmt.Sprintf("data end %d out of range", x.dataEnd)
	case (x.n == 0) != (x.dataEnd == segmentHeaderSize):
		return nil, fmt.Sprintf("%d events in %d bytes", x.n, x.dataEnd)
	case fixed+3*sn > int64(len(b)):
		return nil, fmt.Sprintf("file is %d bytes, too short for %d events, %d runs and %d names", len(b), x.n, nr, sn)
	case uint64(x.s0)+uint64(sn) > math.MaxUint32:
		return nil, "stream numbers out of range"
	case le.Uint32(b[56:]) != crc32.Checksum(b[indexHeaderSize:], castagnoli):
		return nil, "checksum mismatch"
	}
	p := indexHeaderSize
	x.offs = u32sOf(b[p:], x.n)
	p += 4 * x.n
	x.runPos = u32sOf(b[p:], x.n)
	p += 4 * x.n
	x.runs = make([]streamRun, nr)
	var total uint64
	newRuns := int64(0)
	for i := range x.runs {
		r := streamRun{le.Uint32(b[p:]), le.Uint32(b[p+4:])}
		p += 8
		switch {
		case r.count == 0:
			return nil, fmt.Sprintf("run %d is empty", i)
		case i > 0 && r.num <= x.runs[i-1].num:
			return nil, fmt.Sprintf("run %d: stream numbers not ascending", i)
		case uint64(r.num) >= uint64(x.s0)+uint64(sn):
			return nil, fmt.Sprintf("run %d: stream number %d beyond the %d known", i, r.num, uint64(x.s0)+uint64(sn))
		}
		if r.num >= x.s0 {
			newRuns++
		}
		total += uint64(r.count)
		x.runs[i] = r
	}
	if total != uint64(x.n) || newRuns != sn {
		return nil, fmt.Sprintf("the runs hold %d events of %d new streams; want %d and %d", total, newRuns, x.n, sn)
	}
	x.ids = b[p : p+idRecordSize*x.n : p+idRecordSize*x.n]
	p += idRecordSize * x.n
	x.names = make([]string, sn)
	for i := range x.names {
		if len(b)-p < 2 {
			return nil, "name table is short"
		}
		l := int(le.Uint16(b[p:]))
		if l == 0 || len(b)-p-2 < l {
			return nil, fmt.Sprintf("stream name %d: bad length %d", i, l)
		}
		x.names[i] = string(b[p+2 : p+2+l])
		p += 2 + l
	}
	if p != len(b) {
		return nil, fmt.Sprintf("%d stray bytes after the name table", len(b)-p)
	}
	if x.n > 0 && x.offs[0] != segmentHeaderSize {
		return nil, fmt.Sprintf("first frame at %d", x.offs[0])
	}
	return x, ""
}

// own makes x hold copies of whatever it points to in its file's bytes.
func (x *segIndex) own() {
	x.offs = slices.Clone(x.offs)
	x.runPos = slices.Clone(x.runPos)
	x.ids = slices.Clone(x.ids)
}

// key returns record i of the id table: the id's first 8 bytes and its
// position − first.
func (x *segIndex) key(i int) (uint64, uint32) {
	r := x.ids[idRecordSize*i:]
	return binary.BigEndian.Uint64(r), binary.LittleEndian.Uint32(r[8:])
}

// hasID reports whether the id table has a record of key at position
// first+rel.
func (x *segIndex) hasID(key uint64, rel uint32) bool {
	lo, hi := 0, x.n
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if k, r := x.key(m); k < key || (k == key && r < rel) {
			lo = m + 1
		} else {
			hi = m
		}
	}
	if lo == x.n {
		return false
	}
	k, r := x.key(lo)
	return k == key && r == rel
}

// runStarts returns where each run's positions start in runPos (and,
// last, their end).
func (x *segIndex) runStarts() []int {
	starts := make([]int, len(x.runs)+1)
	for i, r := range x.runs {
		starts[i+1] = starts[i] + int(r.count)
	}
	return starts
}

// segBuilder gathers the index of one segment as its events are scanned
// or appended, on top of an index loaded for its first frames (base).
type segBuilder struct {
	first uint64
	s0    uint32
	base  *segIndex // the index of the first frames, or nil
	n     int       // events, base's included
	ids   []idKeyRel
	evs   []runEv  // events after base's, in position order
	names []string // streams first seen after base's events
}

// idKeyRel is an event's id key and position − first.
type idKeyRel struct {
	key uint64
	rel uint32
}

type runEv struct {
	num, rel uint32
}

func newBuilder(first uint64, s0 uint32, base *segIndex) *segBuilder {
	b := &segBuilder{first: first, s0: s0, base: base}
	if base != nil {
		b.n = base.n
	}
	return b
}

// add records the event at pos, of stream number num.
func (b *segBuilder) add(id uuid.UUID, pos uint64, num uint32) {
	rel := uint32(pos - b.first)
	b.ids = append(b.ids, idKeyRel{idKey(&id), rel})
	b.evs = append(b.evs, runEv{num, rel})
	b.n++
}

// addStream records that the stream numbered next has its first event in
// this segment.
func (b *segBuilder) addStream(name string) { b.names = append(b.names, name) }

// index returns the index of the builder's events: the frames of a
// segment of the given format version up to dataEnd, whose frame offsets
// are offs. The builder is left as it was.
func (b *segBuilder) index(version uint32, offs []uint32, dataEnd int64) *segIndex {
	x := &segIndex{first: b.first, version: version, dataEnd: dataEnd, n: b.n, s0: b.s0, offs: offs[:b.n:b.n]}
	var base segIndex
	if b.base != nil {
		base = *b.base
	}
	x.names = append(slices.Clip(base.names), b.names...)

	// Runs: the base's, then the new events grouped by stream (a stable
	// sort keeps each stream's positions ascending), merged by number.
	evs := slices.Clone(b.evs)
	slices.SortStableFunc(evs, func(a, c runEv) int { return cmp.Compare(a.num, c.num) })
	x.runPos = make([]uint32, 0, b.n)
	baseStarts := base.runStarts()
	i, j := 0, 0
	for i < len(base.runs) || j < len(evs) {
		var num uint32
		switch {
		case j == len(evs) || (i < len(base.runs) && base.runs[i].num <= evs[j].num):
			num = base.runs[i].num
		default:
			num = evs[j].num
		}
		start := len(x.runPos)
		if i < len(base.runs) && base.runs[i].num == num {
			x.runPos = append(x.runPos, base.runPos[baseStarts[i]:baseStarts[i+1]]...)
			i++
		}
		for ; j < len(evs) && evs[j].num == num; j++ {
			x.runPos = append(x.runPos, evs[j].rel)
		}
		x.runs = append(x.runs, streamRun{num, uint32(len(x.runPos) - start)})
	}

	// Ids: the base's table merged with the new ids, sorted. A new id's
	// position is after every base one's, so ties go to the base.
	keys := sortIDKeys(b.ids)
	x.ids = make([]byte, 0, idRecordSize*b.n)
	bi := 0 // base records merged
	for _, k := range keys {
		from := bi
		for ; bi < base.n; bi++ {
			if bk, _ := base.key(bi); bk > k.key {
				break
			}
		}
		x.ids = append(x.ids, base.ids[idRecordSize*from:idRecordSize*bi]...)
		x.ids = binary.BigEndian.AppendUint64(x.ids, k.key)
		x.ids = binary.LittleEndian.AppendUint32(x.ids, k.rel)
	}
	x.ids = append(x.ids, base.ids[idRecordSize*bi:]...)
	return x
}

// sortIDKeys returns the keys sorted by key, then position. Ids are
// random, so one distribution pass by their leading bits leaves buckets
// of a few keys to finish by insertion; a large bucket (ids chosen to
// share their leading bits) is sorted as a whole.
func sortIDKeys(ids []idKeyRel) []idKeyRel {
	n := len(ids)
	nbits := uint(min(max(bits.Len(uint(n/4)), 1), 24))
	starts := make([]int, 1<<nbits+1)
	for _, r := range ids {
		starts[r.key>>(64-nbits)+1]++
	}
	for i := range 1 << nbits {
		starts[i+1] += starts[i]
	}
	next := slices.Clone(starts)
	keys := make([]idKeyRel, n)
	for _, r := range ids { // in position order: ties stay so
		b := r.key >> (64 - nbits)
		keys[next[b]] = r
		next[b]++
	}
	less := func(a, c idKeyRel) bool { return a.key < c.key || (a.key == c.key && a.rel < c.rel) }
	for i := range 1 << nbits {
		bucket := keys[starts[i]:starts[i+1]]
		if len(bucket) > sortedBucket {
			slices.SortFunc(bucket, func(a, c idKeyRel) int {
				if a.key != c.key {
					return cmp.Compare(a.key, c.key)
				}
				return cmp.Compare(a.rel, c.rel)
			})
			continue
		}
		for j := 1; j < len(bucket); j++ {
			for k := j; k > 0 && less(bucket[k], bucket[k-1]); k-- {
				bucket[k], bucket[k-1] = bucket[k-1], bucket[k]
			}
		}
	}
	return keys
}

// rebase makes x, an index of every event so far, the builder's base.
func (b *segBuilder) rebase(x *segIndex) {
	b.base, b.ids, b.evs, b.names = x, nil, nil, nil
}

// idTable maps the ids of the events Open found to their positions: a
// bucket of a 2^bits-bucket table per leading id bits, holding for each
// event the next 24 bits of its id (a fingerprint) and its position. A
// lookup gives the positions whose fingerprint matches; the caller reads
// the event to compare the whole id. It is built once, without a map or an
// allocation per event, from the segments' sorted id tables.
type idTable struct {
	bits    uint
	starts  []uint32 // bucket b holds entries[starts[b]:starts[b+1]]
	entries []uint64 // fingerprint<<idPosBits | position
}

const (
	idPosBits = 40
	idFPBits  = 24
	// sortedBucket is the bucket size from which a bucket is sorted and
	// searched by halving; smaller ones are scanned. Ids are random, so
	// buckets hold 4 to 8 entries; a large one means ids chosen to share
	// their leading bits.
	sortedBucket = 32
	// idBlockEntries is how many table entries (8 bytes each) the build
	// fills at a time: few enough to stay in the processor's cache while
	// each segment's records for them are copied in.
	idBlockEntries = 1 << 15
)

// bucketFP splits an id key into bucket and fingerprint.
func (t *idTable) bucketFP(key uint64) (uint64, uint64) {
	return key >> (64 - t.bits), (key << t.bits) >> (64 - idFPBits)
}

// buildIDTable builds the table of the n events whose ids the parts hold.
// The buckets are filled a block at a time, each block from every part's
// records for it — consecutive, the records being sorted — so that the
// table is written where it is in the cache.
func buildIDTable(parts []*segIndex, n int) idTable {
	if n == 0 {
		return idTable{}
	}
	t := idTable{bits: uint(min(max(bits.Len(uint(n/8)), 1), 32))}
	nb := 1 << t.bits
	t.starts = makeLarge[uint32](nb + 1)
	t.entries = makeLarge[uint64](n)
	perBlock := max(nb/max(n/idBlockEntries, 1), 1) // buckets
	cur := make([]int, len(parts))                  // each part's next record
	next := make([]uint32, perBlock)
	for lo := 0; lo < nb; lo += perBlock {
		hi := min(lo+perBlock, nb)
		// A record is taken in the block it is met in: a forged file
		// with unsorted records is indexed wrongly, but never out of
		// bounds (VerifyStorage reports it).
		block := func(key uint64) uint64 { return max(min(key>>(64-t.bits), uint64(hi-1)), uint64(lo)) }
		for pi, x := range parts {
			for i := cur[pi]; i < x.n; i++ {
				k, _ := x.key(i)
				if k>>(64-t.bits) >= uint64(hi) {
					break
				}
				t.starts[block(k)+1]++
			}
		}
		for b := lo; b < hi; b++ {
			t.starts[b+1] += t.starts[b]
		}
		copy(next, t.starts[lo:hi])
		for pi, x := range parts {
			i := cur[pi]
			for ; i < x.n; i++ {
				k, rel := x.key(i)
				if k>>(64-t.bits) >= uint64(hi) {
					break
				}
				b := block(k) - uint64(lo)
				_, fp := t.bucketFP(k)
				t.entries[next[b]] = fp<<idPosBits | (x.first + uint64(rel))
				next[b]++
			}
			cur[pi] = i
		}
	}
	for b := range nb {
		if e := t.entries[t.starts[b]:t.starts[b+1]]; len(e) >= sortedBucket {
			slices.Sort(e)
		}
	}
	return t
}

// sameFingerprints calls fn with every group of two or more positions
// whose entries share bucket and fingerprint: the positions that may hold
// the same id.
func (t *idTable) sameFingerprints(fn func(positions []uint64) error) error {
	var group, small []uint64
	for b := range len(t.starts) - 1 {
		e := t.entries[t.starts[b]:t.starts[b+1]]
		if len(e) < 2 {
			continue
		}
		if len(e) < sortedBucket {
			small = append(small[:0], e...)
			slices.Sort(small)
			e = small
		}
		for i := 0; i < len(e); {
			j := i + 1
			for j < len(e) && e[j]>>idPosBits == e[i]>>idPosBits {
				j++
			}
			if j-i > 1 {
				group = group[:0]
				for _, v := range e[i:j] {
					group = append(group, v&(1<<idPosBits-1))
				}
				if err := fn(group); err != nil {
					return err
				}
			}
			i = j
		}
	}
	return nil
}

// candidates appends to out the positions that may hold id.
func (t *idTable) candidates(id uuid.UUID, out []uint64) []uint64 {
	if len(t.entries) == 0 {
		return out
	}
	b, fp := t.bucketFP(idKey(&id))
	e := t.entries[t.starts[b]:t.starts[b+1]]
	sorted := len(e) >= sortedBucket
	if sorted {
		i, _ := slices.BinarySearch(e, fp<<idPosBits)
		e = e[i:]
	}
	for _, v := range e {
		if v>>idPosBits == fp {
			out = append(out, v&(1<<idPosBits-1))
		} else if sorted {
			break
		}
	}
	return out
}

// loadIndexFile reads and decodes the index file of sg: through a mapping
// of the file where it can (release unmaps it), else into memory. found
// is false when there is none.
func (s *Store) loadIndexFile(sg *segment) (x *segIndex, release func(), found bool, bad string, err error) {
	f, err := s.fs.OpenFile(s.path(indexName(sg.first)), os.O_RDONLY, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, false, "", nil
	}
	if err != nil {
		return nil, nil, true, "", err
	}
	defer f.Close()
	size, err := f.Size()
	if err != nil {
		return nil, nil, true, "", err
	}
	if size > 4<<30 {
		return nil, nil, true, fmt.Sprintf("file is %d bytes, more than an index of a segment can be", size), nil
	}
	b, release, mapped := mapFile(f, size)
	if !mapped {
		b = make([]byte, size)
		if n, err := f.ReadAt(b, 0); err != nil && !(errors.Is(err, io.EOF) && n == len(b)) {
			return nil, nil, true, "", err
		}
	}
	x, bad = decodeIndex(b)
	if bad != "" && release != nil {
		release()
		release = nil
	}
	return x, release, true, bad, nil
}
