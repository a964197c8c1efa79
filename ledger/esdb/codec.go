package esdb

import (
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"

	client "github.com/EventStore/EventStore-Client-Go/v4/esdb"

	"partyledger/ledger"
)

// Revisions. The ledger and the server both number a stream's events from
// 0; they differ in how "no stream" is written: the ledger's expected
// revision is an int64 with ledger.NoStream (-1), the client's is a
// NoStream{} or StreamRevision{} value, and the client reports the actual
// revision of a conflict as text, "no_stream" or a decimal. These helpers
// are the one place where one becomes the other.

// expectedRevision converts the ledger's expected revision into the
// client's explicit form. It never returns client.Any{}: every ledger
// write states what it expects.
func expectedRevision(expected int64) (client.ExpectedRevision, error) {
	switch {
	case expected == ledger.NoStream:
		return client.NoStream{}, nil
	case expected >= 0:
		return client.StreamRevision{Value: uint64(expected)}, nil
	}
	return nil, fmt.Errorf("esdb: expected revision %d: want %d (no stream) or a revision >= 0", expected, ledger.NoStream)
}

// eventRevision is the revision of the i-th event of an append that
// expects the stream at expected.
func eventRevision(expected int64, i int) uint64 { return uint64(expected + 1 + int64(i)) }

// parseRevision converts a revision as the client reports it in a
// conflict ("no_stream" or a decimal revision) into the ledger's form.
func parseRevision(s string) (int64, error) {
	if s == "no_stream" {
		return ledger.NoStream, nil
	}
	r, err := strconv.ParseUint(s, 10, 63)
	if err != nil {
		return 0, fmt.Errorf("esdb: revision %q: %w", s, err)
	}
	return int64(r), nil
}

// wrongVersionText matches the client's (v4.2.0) text of a wrong expected
// version: the server's reply carries the actual revision, and the client
// keeps it only in this message.
var wrongVersionText = regexp.MustCompile(`expecting '([^']*)' but got '([^']*)'`)

// actualRevision extracts the actual revision from the client's error
// text of a wrong expected version.
func actualRevision(msg string) (int64, bool) {
	m := wrongVersionText.FindStringSubmatch(msg)
	if m == nil {
		return 0, false
	}
	r, err := parseRevision(m[2])
	return r, err == nil
}

// allPosition converts a ledger position into a start on $all: 0 is the
// beginning; any other is the event's commit position, which equals its
// prepare position (see the package doc).
func allPosition(p uint64) client.AllPosition {
	if p == 0 {
		return client.Start{}
	}
	return client.Position{Commit: p, Prepare: p}
}

// noPosition is what the client reports for an event read from a stream
// on a server before 22.6, which does not know the event's $all position.
const noPosition = math.MaxUint64

// serverStream returns the server's name of a ledger stream.
func (s *Store) serverStream(stream string) (string, error) {
	for _, p := range StreamPrefixes {
		if strings.HasPrefix(stream, p) {
			return s.opts.Namespace + stream, nil
		}
	}
	return "", fmt.Errorf("%w: %q", ErrForeignStream, stream)
}

// ledgerStream returns the ledger's name of a server stream, and whether
// the stream belongs to the ledger at all.
func (s *Store) ledgerStream(name string) (string, bool) {
	for _, p := range s.prefixes {
		if strings.HasPrefix(name, p) {
			return name[len(s.opts.Namespace):], true
		}
	}
	return "", false
}

// envelope is the event metadata: every envelope field that is not the
// server's own (id, stream, type, revision, position, data).
type envelope struct {
	OccurredOn    string `json:"occurred_on"`
	RecordedAt    string `json:"recorded_at"`
	RecordedBy    string `json:"recorded_by"`
	PrevHash      string `json:"prev_hash"`
	Hash          string `json:"hash"`
	SchemaVersion int    `json:"schema_version"`
}

// encode returns the server's form of a sealed event. It refuses what
// would not read back exactly.
func encode(e *ledger.Event) (client.EventData, error) {
	if e.RecordedAt.Location() != time.UTC || !e.RecordedAt.Equal(ledger.TruncateTime(e.RecordedAt)) {
		return client.EventData{}, fmt.Errorf("esdb: event %s: recorded_at %s is not UTC to the microsecond", e.ID, e.RecordedAt)
	}
	if e.Type == "" {
		return client.EventData{}, fmt.Errorf("esdb: event %s: empty type", e.ID)
	}
	meta, err := json.Marshal(envelope{
		OccurredOn:    e.OccurredOn,
		RecordedAt:    e.RecordedAt.Format(ledger.RecordedAtLayout),
		RecordedBy:    e.RecordedBy,
		PrevHash:      e.PrevHash.String(),
		Hash:          e.Hash.String(),
		SchemaVersion: e.SchemaVersion,
	})
	if err != nil {
		return client.EventData{}, fmt.Errorf("esdb: event %s: metadata: %w", e.ID, err)
	}
	return client.EventData{
		EventID:     e.ID,
		EventType:   e.Type,
		ContentType: client.ContentTypeJson,
		Data:        e.Data,
		Metadata:    meta,
	}, nil
}

// decode returns the ledger's form of an event read from the server. Its
// Position is 0 when the server did not report one.
func (s *Store) decode(r *client.RecordedEvent) (ledger.Event, error) {
	stream, ok := s.ledgerStream(r.StreamID)
	if !ok {
		return ledger.Event{}, fmt.Errorf("esdb: event %s is in %q, not a ledger stream: %w", r.EventID, r.StreamID, ledger.ErrCorrupt)
	}
	bad := func(what string, err error) (ledger.Event, error) {
		return ledger.Event{}, fmt.Errorf("esdb: event %s (%s revision %d): %s: %v: %w", r.EventID, stream, r.EventNumber, what, err, ledger.ErrCorrupt)
	}
	var m envelope
	if err := json.Unmarshal(r.UserMetadata, &m); err != nil {
		return bad("metadata", err)
	}
	at, err := time.Parse(ledger.RecordedAtLayout, m.RecordedAt)
	if err != nil {
		return bad("recorded_at", err)
	}
	prev, err := ledger.ParseHash(m.PrevHash)
	if err != nil {
		return bad("prev_hash", err)
	}
	hash, err := ledger.ParseHash(m.Hash)
	if err != nil {
		return bad("hash", err)
	}
	if m.SchemaVersion < 1 {
		return bad("schema_version", fmt.Errorf("%d", m.SchemaVersion))
	}
	e := ledger.Event{
		ID:            r.EventID,
		Stream:        stream,
		Type:          r.EventType,
		SchemaVersion: m.SchemaVersion,
		Revision:      r.EventNumber,
		OccurredOn:    m.OccurredOn,
		RecordedAt:    at.UTC(),
		RecordedBy:    m.RecordedBy,
		Data:          r.Data,
		PrevHash:      prev,
		Hash:          hash,
	}
	if p := r.Position.Commit; p != noPosition {
		e.Position = ledger.Position(p)
	}
	return e, nil
}
