package domain

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// JournalLine is one line of the JSONL journal (EVENTS.md): the form of
// import, export and the API's append body. Export also fills the
// envelope fields the ledger sets; import refuses them.
type JournalLine struct {
	ID         string          `json:"id,omitempty"`
	Org        string          `json:"org,omitempty"`
	Type       string          `json:"type"`
	OccurredOn string          `json:"occurred_on"`
	Data       json.RawMessage `json:"data"`

	// Set by the ledger; present only in exports.
	Stream        string  `json:"stream,omitempty"`
	Revision      *uint64 `json:"revision,omitempty"`
	Position      *uint64 `json:"position,omitempty"`
	RecordedAt    string  `json:"recorded_at,omitempty"`
	RecordedBy    string  `json:"recorded_by,omitempty"`
	SchemaVersion int     `json:"schema_version,omitempty"`
	PrevHash      string  `json:"prev_hash,omitempty"`
	Hash          string  `json:"hash,omitempty"`
}

// Entry is a validated request to record one event: what a journal line,
// an API body or a CLI command becomes before it reaches the ledger.
type Entry struct {
	ID         string // optional UUID; the idempotency key
	Org        string // organisation code; empty for committee and rulebook events
	Type       string
	OccurredOn Date
	Payload    Payload
}

// MaxLineBytes bounds one journal line.
const MaxLineBytes = 256 << 10

// ParseJournalLine decodes and validates one import line on its own (no
// state): strict JSON, a known type, a real date, a valid payload, and
// none of the fields only the ledger sets. It returns every problem.
func ParseJournalLine(b []byte) (Entry, error) {
	b = bytes.TrimSpace(b)
	if len(b) > MaxLineBytes {
		return Entry{}, fieldErr("line", fmt.Sprintf("longer than %d bytes", MaxLineBytes))
	}
	var l JournalLine
	if err := StrictUnmarshal(b, &l); err != nil {
		return Entry{}, err
	}
	var p Problems
	if l.RecordedAt != "" {
		p.Add("recorded_at", "set by the ledger; an import line must not carry it")
	}
	if l.RecordedBy != "" {
		p.Add("recorded_by", "set by the ledger from the authenticated user; must not be given")
	}
	for _, f := range []struct {
		name  string
		given bool
	}{{"stream", l.Stream != ""}, {"revision", l.Revision != nil}, {"position", l.Position != nil},
		{"schema_version", l.SchemaVersion != 0}, {"prev_hash", l.PrevHash != ""}, {"hash", l.Hash != ""}} {
		if f.given {
			p.Add(f.name, "set by the ledger; an import line must not carry it")
		}
	}
	e, err := l.entry()
	for _, fe := range FieldErrors(err) {
		p = append(p, fe)
	}
	return e, p.Err()
}

// Entry converts a journal line (import or export form) to an entry,
// validating everything that needs no state.
func (l *JournalLine) entry() (Entry, error) {
	var p Problems
	e := Entry{ID: l.ID, Org: l.Org, Type: l.Type}
	if l.ID != "" && !isUUID(l.ID) {
		p.Add("id", "want a UUID")
	}
	kind, known := StreamKindOf(l.Type)
	switch {
	case l.Type == "":
		p.Add("type", "required")
	case !known:
		p.Add("type", fmt.Sprintf("unknown event type %q", truncate(l.Type, 64)))
	}
	if known {
		switch {
		case kind == StreamOrg && l.Org == "":
			p.Add("org", "required for "+l.Type)
		case kind != StreamOrg && l.Org != "":
			p.Add("org", l.Type+" belongs to no organisation; omit org")
		case l.Org != "":
			if r := OrgCodeProblem(l.Org); r != "" {
				p.Add("org", r)
			}
		}
	}
	if l.OccurredOn == "" {
		p.Add("occurred_on", "required (YYYY-MM-DD)")
	} else if d, err := ParseDate(l.OccurredOn); err != nil {
		p.Add("occurred_on", err.Error())
	} else {
		e.OccurredOn = d
	}
	if known {
		pl, err := DecodePayload(l.Type, l.Data)
		if err != nil {
			p = append(p, FieldErrors(err)...)
		} else {
			e.Payload = pl
			if reg, ok := pl.(*OrganizationRegistered); ok && l.Org != "" && reg.Code != l.Org {
				p.Add("data.code", fmt.Sprintf("differs from org %q", l.Org))
			}
		}
	}
	return e, p.Err()
}

// ParseExportLine decodes a line in export form (envelope fields allowed)
// into an entry, validating like ParseJournalLine. The envelope fields are
// returned in the line for the caller to use or ignore.
func ParseExportLine(b []byte) (Entry, JournalLine, error) {
	var l JournalLine
	if err := StrictUnmarshal(bytes.TrimSpace(b), &l); err != nil {
		return Entry{}, l, err
	}
	e, err := l.entry()
	return e, l, err
}

// CanonicalJSON encodes a payload in the ledger's canonical form: compact,
// keys in struct order (which is fixed per type), no HTML escaping.
func CanonicalJSON(p Payload) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(p); err != nil {
		return nil, err
	}
	return bytes.TrimRight(b.Bytes(), "\n"), nil
}
