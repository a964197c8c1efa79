package bolt

import (
	"encoding/binary"
	"errors"
	"time"

	"partyledger/ledger"
)

// The value of an event, all integers little-endian:
//
//	2+n stream
//	2+n type
//	4+n data
//	16  id
//	8   revision
//	8   recorded_at, nanoseconds since 1970 (signed)
//	4   schema version
//	32  prev_hash
//	32  hash
//	2+n occurred_on
//	2+n recorded_by
//
// Stream, type and data come first so that a header-only reader stops
// early. The position is the key.

var errShort = errors.New("bolt: event value is malformed")

// Encode appends the value of e to buf.
func Encode(buf []byte, e *ledger.Event) []byte {
	buf = put16(buf, e.Stream)
	buf = put16(buf, e.Type)
	buf = binary.LittleEndian.AppendUint32(buf, uint32(len(e.Data)))
	buf = append(buf, e.Data...)
	buf = append(buf, e.ID[:]...)
	buf = binary.LittleEndian.AppendUint64(buf, e.Revision)
	buf = binary.LittleEndian.AppendUint64(buf, uint64(e.RecordedAt.UnixNano()))
	buf = binary.LittleEndian.AppendUint32(buf, uint32(e.SchemaVersion))
	buf = append(buf, e.PrevHash[:]...)
	buf = append(buf, e.Hash[:]...)
	buf = put16(buf, e.OccurredOn)
	buf = put16(buf, e.RecordedBy)
	return buf
}

func put16(buf []byte, s string) []byte {
	buf = binary.LittleEndian.AppendUint16(buf, uint16(len(s)))
	return append(buf, s...)
}

func get16(b []byte) ([]byte, []byte, bool) {
	if len(b) < 2 {
		return nil, nil, false
	}
	n := int(binary.LittleEndian.Uint16(b))
	if len(b)-2 < n {
		return nil, nil, false
	}
	return b[2 : 2+n], b[2+n:], true
}

// Header returns the stream, type and payload of a value without decoding
// the rest; the slices point into v.
func Header(v []byte) (stream, typ, data, rest []byte, err error) {
	var ok bool
	if stream, v, ok = get16(v); !ok {
		return nil, nil, nil, nil, errShort
	}
	if typ, v, ok = get16(v); !ok {
		return nil, nil, nil, nil, errShort
	}
	if len(v) < 4 {
		return nil, nil, nil, nil, errShort
	}
	n := int(binary.LittleEndian.Uint32(v))
	v = v[4:]
	if len(v) < n {
		return nil, nil, nil, nil, errShort
	}
	return stream, typ, v[:n:n], v[n:], nil
}

// Interner shares the strings of repeated stream names and types across
// decoded events, as the embedded store's reader does, so that the peer is
// not charged an allocation per name. Nil interns nothing.
type Interner map[string]string

func (in Interner) str(b []byte) string {
	if in == nil {
		return string(b)
	}
	if s, ok := in[string(b)]; ok {
		return s
	}
	if len(in) >= 4096 {
		clear(in)
	}
	s := string(b)
	in[s] = s
	return s
}

// Decode decodes a value (without its position). With copyData the
// payload is copied, as it must be when the value lives in the mapped file.
func Decode(v []byte, copyData bool, in Interner) (ledger.Event, error) {
	stream, typ, data, v, err := Header(v)
	if err != nil {
		return ledger.Event{}, err
	}
	if len(v) < 16+8+8+4+32+32 {
		return ledger.Event{}, errShort
	}
	e := ledger.Event{Stream: in.str(stream), Type: in.str(typ)}
	if copyData {
		e.Data = append([]byte(nil), data...)
	} else {
		e.Data = data
	}
	copy(e.ID[:], v)
	e.Revision = binary.LittleEndian.Uint64(v[16:])
	e.RecordedAt = time.Unix(0, int64(binary.LittleEndian.Uint64(v[24:]))).UTC()
	e.SchemaVersion = int(binary.LittleEndian.Uint32(v[32:]))
	copy(e.PrevHash[:], v[36:68])
	copy(e.Hash[:], v[68:100])
	v = v[100:]
	occ, v, ok := get16(v)
	if !ok {
		return ledger.Event{}, errShort
	}
	by, v, ok := get16(v)
	if !ok || len(v) != 0 {
		return ledger.Event{}, errShort
	}
	e.OccurredOn, e.RecordedBy = in.str(occ), in.str(by)
	return e, nil
}
