package filestore

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"partyledger/ledger"
)

// Format constants; doc.go describes the layout they define.
const (
	segmentMagic      = "PLSEGMNT"
	formatVersion     = formatVersion3 // what new segments are written in
	formatVersion1    = 1              // frames without chunk checksums or trailer; read, never written
	formatVersion2    = 2              // frames as in version 3, no free space after them; read, never written
	formatVersion3    = 3              // version-2 frames, then free space (zeros) to the end of the file
	segmentHeaderSize = 32

	segmentPrefix = "segment-"
	segmentSuffix = ".log"
	tmpSuffix     = ".tmp"
	lockName      = "LOCK"

	frameBodyHeaderSize = 16 // u8 kind, u8 0, u16 0, u32 entries, u64 first position
	frameKindCommit     = 1
	entryHeaderSize     = 4 + 2 + 4 // u32 entry length, u16 stream length, u32 event count
	eventFixedSize      = 16 + 8 + 8 + 4 + 4 + 32 + 32
	eventVarHeaderSize  = 2 + 2 + 2 + 4
)

// MaxFrameBytes is the largest frame body the format admits. A reader
// treats a longer declared length as damage; writers are limited further by
// Options.MaxRecordSize.
const MaxFrameBytes = 256 << 20

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

func segmentName(first uint64) string {
	return fmt.Sprintf("%s%020d%s", segmentPrefix, first, segmentSuffix)
}

// parseSegmentName returns the first position encoded in a segment file
// name, and whether name is a segment name at all.
func parseSegmentName(name string) (uint64, bool) {
	if !strings.HasPrefix(name, segmentPrefix) || !strings.HasSuffix(name, segmentSuffix) {
		return 0, false
	}
	digits := name[len(segmentPrefix) : len(name)-len(segmentSuffix)]
	if len(digits) != 20 {
		return 0, false
	}
	n, err := strconv.ParseUint(digits, 10, 64)
	if err != nil || n == 0 {
		return 0, false
	}
	return n, true
}

func encodeSegmentHeader(first uint64) []byte {
	b := make([]byte, segmentHeaderSize)
	copy(b, segmentMagic)
	binary.LittleEndian.PutUint32(b[8:], formatVersion)
	binary.LittleEndian.PutUint32(b[12:], segmentHeaderSize)
	binary.LittleEndian.PutUint64(b[16:], first)
	// b[24:28] reserved, zero
	binary.LittleEndian.PutUint32(b[28:], crc32.Checksum(b[:28], castagnoli))
	return b
}

// checkSegmentHeader validates a segment header and returns the first
// position and the format version it records.
func checkSegmentHeader(b []byte) (first uint64, version uint32, err error) {
	if len(b) < segmentHeaderSize {
		return 0, 0, errors.New("segment header is short")
	}
	if string(b[:8]) != segmentMagic {
		return 0, 0, errors.New("bad segment magic")
	}
	if got := crc32.Checksum(b[:28], castagnoli); got != binary.LittleEndian.Uint32(b[28:]) {
		return 0, 0, errors.New("segment header checksum mismatch")
	}
	version = binary.LittleEndian.Uint32(b[8:])
	if version < formatVersion1 || version > formatVersion3 {
		return 0, 0, fmt.Errorf("unsupported format version %d", version)
	}
	if n := binary.LittleEndian.Uint32(b[12:]); n != segmentHeaderSize {
		return 0, 0, fmt.Errorf("unsupported segment header size %d", n)
	}
	if binary.LittleEndian.Uint32(b[24:]) != 0 {
		return 0, 0, errors.New("segment header reserved bytes are not zero")
	}
	return binary.LittleEndian.Uint64(b[16:]), version, nil
}

// entrySize is the encoded size of one append entry, so that Append can
// enforce limits before anything is queued.
func entrySize(stream string, events []ledger.Event) int {
	n := entryHeaderSize + len(stream)
	for i := range events {
		e := &events[i]
		n += eventFixedSize + eventVarHeaderSize + len(e.Type) + len(e.OccurredOn) + len(e.RecordedBy) + len(e.Data)
	}
	return n
}

// appendEntry encodes one append (stream and its events) onto buf.
func appendEntry(buf []byte, stream string, events []ledger.Event) []byte {
	start := len(buf)
	buf = binary.LittleEndian.AppendUint32(buf, 0) // entry length, filled below
	buf = binary.LittleEndian.AppendUint16(buf, uint16(len(stream)))
	buf = append(buf, stream...)
	buf = binary.LittleEndian.AppendUint32(buf, uint32(len(events)))
	for i := range events {
		e := &events[i]
		buf = append(buf, e.ID[:]...)
		buf = binary.LittleEndian.AppendUint64(buf, e.Revision)
		buf = binary.LittleEndian.AppendUint64(buf, uint64(e.RecordedAt.Unix()))
		buf = binary.LittleEndian.AppendUint32(buf, uint32(e.RecordedAt.Nanosecond()))
		buf = binary.LittleEndian.AppendUint32(buf, uint32(e.SchemaVersion))
		buf = append(buf, e.PrevHash[:]...)
		buf = append(buf, e.Hash[:]...)
		buf = binary.LittleEndian.AppendUint16(buf, uint16(len(e.Type)))
		buf = append(buf, e.Type...)
		buf = binary.LittleEndian.AppendUint16(buf, uint16(len(e.OccurredOn)))
		buf = append(buf, e.OccurredOn...)
		buf = binary.LittleEndian.AppendUint16(buf, uint16(len(e.RecordedBy)))
		buf = append(buf, e.RecordedBy...)
		buf = binary.LittleEndian.AppendUint32(buf, uint32(len(e.Data)))
		buf = append(buf, e.Data...)
	}
	binary.LittleEndian.PutUint32(buf[start:], uint32(len(buf)-start-4))
	return buf
}

// rawEvent is a decoded event whose variable fields still point into the
// frame body: decoding allocates nothing.
type rawEvent struct {
	position   uint64
	stream     []byte
	id         uuid.UUID
	revision   uint64
	secs       int64
	nanos      uint32
	schema     uint32
	prevHash   ledger.Hash
	hash       ledger.Hash
	typ        []byte
	occurredOn []byte
	recordedBy []byte
	data       []byte
}

// frameDecoder walks the events of one frame body, checking the framing
// of every entry and event as it goes (assert after reading).
type frameDecoder struct {
	body        []byte
	off         int
	entriesLeft uint32
	eventsLeft  uint32
	entryEnd    int
	stream      []byte
	first       uint64
	next        uint64 // position of the next event
}

var errFrameBody = errors.New("malformed frame body")

func (d *frameDecoder) init(body []byte) error {
	if len(body) < frameBodyHeaderSize {
		return errFrameBody
	}
	if body[0] != frameKindCommit {
		return fmt.Errorf("unknown frame kind %d", body[0])
	}
	if body[1] != 0 || body[2] != 0 || body[3] != 0 {
		return errors.New("frame reserved bytes are not zero")
	}
	*d = frameDecoder{
		body:        body,
		off:         frameBodyHeaderSize,
		entriesLeft: binary.LittleEndian.Uint32(body[4:]),
		first:       binary.LittleEndian.Uint64(body[8:]),
	}
	d.next = d.first
	if d.entriesLeft == 0 {
		return errors.New("frame holds no entries")
	}
	if d.first == 0 {
		return errors.New("frame first position is zero")
	}
	return nil
}

// nextEvent decodes the next event into ev. It returns false at the end of
// the frame, after checking that the body was consumed exactly.
func (d *frameDecoder) nextEvent(ev *rawEvent) (bool, error) {
	for d.eventsLeft == 0 {
		if d.entryEnd != 0 && d.off != d.entryEnd {
			return false, fmt.Errorf("entry length disagrees with its events at body offset %d", d.off)
		}
		if d.entriesLeft == 0 {
			if d.off != len(d.body) {
				return false, fmt.Errorf("%d stray bytes after the last entry", len(d.body)-d.off)
			}
			return false, nil
		}
		b := d.body[d.off:]
		if len(b) < entryHeaderSize {
			return false, errFrameBody
		}
		elen := int(binary.LittleEndian.Uint32(b))
		if elen > len(b)-4 {
			return false, fmt.Errorf("entry length %d overruns the frame", elen)
		}
		slen := int(binary.LittleEndian.Uint16(b[4:]))
		if slen == 0 || 6+slen+4 > 4+elen {
			return false, fmt.Errorf("bad stream length %d", slen)
		}
		d.stream = b[6 : 6+slen]
		d.eventsLeft = binary.LittleEndian.Uint32(b[6+slen:])
		if d.eventsLeft == 0 {
			return false, errors.New("entry holds no events")
		}
		d.entryEnd = d.off + 4 + elen
		d.off += 6 + slen + 4
		d.entriesLeft--
	}
	b := d.body[d.off:d.entryEnd]
	if len(b) < eventFixedSize+eventVarHeaderSize {
		return false, errFrameBody
	}
	copy(ev.id[:], b[0:16])
	ev.revision = binary.LittleEndian.Uint64(b[16:])
	ev.secs = int64(binary.LittleEndian.Uint64(b[24:]))
	ev.nanos = binary.LittleEndian.Uint32(b[32:])
	ev.schema = binary.LittleEndian.Uint32(b[36:])
	copy(ev.prevHash[:], b[40:72])
	copy(ev.hash[:], b[72:104])
	if ev.nanos >= 1e9 || ev.nanos%1000 != 0 || ev.schema > math.MaxInt32 {
		// Sub-microsecond digits are never written (checkAppend), so
		// any are damage the hash chain would not see.
		return false, errors.New("recorded_at nanoseconds (finer than a microsecond, or out of range) or schema version out of range")
	}
	p := eventFixedSize
	var ok bool
	if ev.typ, p, ok = field16(b, p); !ok {
		return false, errFrameBody
	}
	if ev.occurredOn, p, ok = field16(b, p); !ok {
		return false, errFrameBody
	}
	if ev.recordedBy, p, ok = field16(b, p); !ok {
		return false, errFrameBody
	}
	if len(b)-p < 4 {
		return false, errFrameBody
	}
	dl := int(binary.LittleEndian.Uint32(b[p:]))
	p += 4
	if dl > len(b)-p {
		return false, errFrameBody
	}
	ev.data = b[p : p+dl : p+dl]
	p += dl
	ev.stream = d.stream
	ev.position = d.next
	d.next++
	d.off += p
	d.eventsLeft--
	return true, nil
}

func field16(b []byte, p int) ([]byte, int, bool) {
	if len(b)-p < 2 {
		return nil, p, false
	}
	n := int(binary.LittleEndian.Uint16(b[p:]))
	p += 2
	if n > len(b)-p {
		return nil, p, false
	}
	return b[p : p+n : p+n], p + n, true
}

// interner turns repeated byte strings (stream names, types, dates,
// principals) into shared Go strings, so that reading a million events does
// not allocate four million strings. It is bounded: past maxInterned
// entries it starts over.
type interner map[string]string

const maxInterned = 4096

func (in *interner) str(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	if *in == nil {
		*in = make(interner, 64)
	}
	if s, ok := (*in)[string(b)]; ok { // no allocation for the lookup
		return s
	}
	if len(*in) >= maxInterned {
		clear(*in)
	}
	s := string(b)
	(*in)[s] = s
	return s
}

// toEvent builds the envelope. Data aliases the read buffer, which is never
// reused; it is capped so an append by the caller cannot reach a neighbour.
func (ev *rawEvent) toEvent(in *interner) ledger.Event {
	var data []byte
	if len(ev.data) > 0 {
		data = ev.data
	}
	return ledger.Event{
		ID:            ev.id,
		Stream:        in.str(ev.stream),
		Type:          in.str(ev.typ),
		SchemaVersion: int(ev.schema),
		Revision:      ev.revision,
		Position:      ledger.Position(ev.position),
		OccurredOn:    in.str(ev.occurredOn),
		RecordedAt:    time.Unix(ev.secs, int64(ev.nanos)).UTC(),
		RecordedBy:    in.str(ev.recordedBy),
		Data:          data,
		PrevHash:      ev.prevHash,
		Hash:          ev.hash,
	}
}
