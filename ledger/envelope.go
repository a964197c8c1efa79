package ledger

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strconv"
	"time"

	"partyledger/domain"
)

// RecordedAtLayout is the one textual form of recorded_at: UTC, microseconds.
const RecordedAtLayout = domain.InstantLayout

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
	var b bytes.Buffer
	b.Grow(len(e.Data) + 256)
	b.WriteString(`{"data":`)
	if len(e.Data) == 0 {
		b.WriteString("null")
	} else {
		b.Write(e.Data)
	}
	b.WriteString(`,"id":"`)
	b.WriteString(e.ID.String())
	b.WriteString(`","occurred_on":`)
	writeString(&b, e.OccurredOn)
	b.WriteString(`,"prev_hash":"`)
	b.WriteString(hex.EncodeToString(e.PrevHash[:]))
	b.WriteString(`","recorded_at":"`)
	b.WriteString(e.RecordedAt.UTC().Format(RecordedAtLayout))
	b.WriteString(`","recorded_by":`)
	writeString(&b, e.RecordedBy)
	b.WriteString(`,"revision":`)
	b.WriteString(strconv.FormatUint(e.Revision, 10))
	b.WriteString(`,"schema_version":`)
	b.WriteString(strconv.Itoa(e.SchemaVersion))
	b.WriteString(`,"stream":`)
	writeString(&b, e.Stream)
	b.WriteString(`,"type":`)
	writeString(&b, e.Type)
	b.WriteByte('}')
	return b.Bytes()
}

// ComputeHash returns SHA-256(e.PrevHash ‖ Canonical(e)).
func ComputeHash(e *Event) Hash {
	h := sha256.New()
	h.Write(e.PrevHash[:])
	h.Write(Canonical(e))
	var out Hash
	h.Sum(out[:0])
	return out
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

func writeString(b *bytes.Buffer, s string) {
	enc := json.NewEncoder(b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)       // a string always encodes
	b.Truncate(b.Len() - 1) // Encode appends '\n'
}

// TruncateTime rounds t down to the precision recorded_at keeps, in UTC.
func TruncateTime(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }
