package ledger

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
)

// RecordedAtLayout is the one textual form of recorded_at: UTC, microseconds.
const RecordedAtLayout = "2006-01-02T15:04:05.000000Z"

// SchemaVersion is the envelope schema version of every event type today.
const SchemaVersion = 1

// Canonical returns the canonical form of e without its hash and position:
// a compact JSON object whose keys are in byte order —
//
//	{"data":D,"id":"<uuid>","occurred_on":"YYYY-MM-DD","prev_hash":"<64 hex>",
//	 "recorded_at":"<RecordedAtLayout>","recorded_by":"…","revision":N,
//	 "schema_version":N,"stream":"…","type":"…"}
//
// where D is e.Data verbatim (the ledger stores payloads already in
// canonical form: compact, keys sorted) and strings are escaped as Go's
// encoding/json does with HTML escaping off. Positions are left out on
// purpose: they differ between stores and across export and import, the
// chain must not.
func Canonical(e *Event) []byte {
	return AppendCanonical(make([]byte, 0, len(e.Data)+320), e)
}

// AppendCanonical appends Canonical(e) to b. It is the hot path of every
// append (the chain hashes each event), so it builds the bytes directly
// rather than through encoding/json — byte for byte the same (a test
// compares the two on random input).
func AppendCanonical(b []byte, e *Event) []byte {
	b = append(b, `{"data":`...)
	if len(e.Data) == 0 {
		b = append(b, "null"...)
	} else {
		b = append(b, e.Data...)
	}
	b = append(b, `,"id":"`...)
	b = appendUUID(b, e.ID)
	b = append(b, `","occurred_on":`...)
	b = appendJSONString(b, e.OccurredOn)
	b = append(b, `,"prev_hash":"`...)
	var h [64]byte
	hex.Encode(h[:], e.PrevHash[:])
	b = append(b, h[:]...)
	b = append(b, `","recorded_at":"`...)
	b = e.RecordedAt.UTC().AppendFormat(b, RecordedAtLayout)
	b = append(b, `","recorded_by":`...)
	b = appendJSONString(b, e.RecordedBy)
	b = append(b, `,"revision":`...)
	b = strconv.AppendUint(b, e.Revision, 10)
	b = append(b, `,"schema_version":`...)
	b = strconv.AppendInt(b, int64(e.SchemaVersion), 10)
	b = append(b, `,"stream":`...)
	b = appendJSONString(b, e.Stream)
	b = append(b, `,"type":`...)
	b = appendJSONString(b, e.Type)
	return append(b, '}')
}

// ComputeHash returns SHA-256(e.PrevHash ‖ Canonical(e)).
func ComputeHash(e *Event) Hash {
	// An event of ordinary size is encoded on the stack; a larger one
	// grows the buffer onto the heap.
	var stack [1024]byte
	buf := append(stack[:0], e.PrevHash[:]...)
	buf = AppendCanonical(buf, e)
	return sha256.Sum256(buf)
}

// appendJSONString appends s as a JSON string exactly as encoding/json
// (HTML escaping off) writes it. Strings with nothing to escape — the
// usual case — are copied as they are; anything else takes the
// encoder's own path.
func appendJSONString(b []byte, s string) []byte {
	plain := utf8.ValidString(s)
	for i := 0; plain && i < len(s); i++ {
		// '"', '\\', control characters, and the first byte of U+2028
		// and U+2029 (which encoding/json always escapes).
		if c := s[i]; c < 0x20 || c == '"' || c == '\\' || c == 0xE2 {
			plain = false
		}
	}
	if plain {
		b = append(b, '"')
		b = append(b, s...)
		return append(b, '"')
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s) // a string always encodes
	return append(b, bytes.TrimSuffix(buf.Bytes(), []byte("\n"))...)
}

// String returns the hash in lower-case hex.
func (h Hash) String() string { return hex.EncodeToString(h[:]) }

// ParseHash parses 64 hex digits.
func ParseHash(s string) (Hash, error) {
	var h Hash
	if len(s) != 64 {
		return h, errBadHash
	}
	if _, err := hex.Decode(h[:], []byte(s)); err != nil {
		return h, errBadHash
	}
	return h, nil
}

var errBadHash = errors.New("ledger: hash: want 64 hex digits")

// TruncateTime rounds t down to the precision recorded_at keeps, in UTC.
func TruncateTime(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

// appendUUID appends the canonical text of a UUID (8-4-4-4-12 lower-case
// hex) without allocating: the envelope is hashed on every append.
func appendUUID(dst []byte, u uuid.UUID) []byte {
	var b [36]byte
	hex.Encode(b[0:8], u[0:4])
	b[8] = '-'
	hex.Encode(b[9:13], u[4:6])
	b[13] = '-'
	hex.Encode(b[14:18], u[6:8])
	b[18] = '-'
	hex.Encode(b[19:23], u[8:10])
	b[23] = '-'
	hex.Encode(b[24:], u[10:])
	return append(dst, b[:]...)
}
