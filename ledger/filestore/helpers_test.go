package filestore_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"

	"partyledger/ledger"
	"partyledger/ledger/filestore"
)

var epoch = time.Date(2016, 3, 8, 9, 0, 0, 0, time.UTC)

// sealed returns a sealed event for stream at rev, chained to prev.
func sealed(stream string, rev uint64, prev ledger.Hash, payload string) ledger.Event {
	e := ledger.Event{
		ID:            uuid.New(),
		Stream:        stream,
		Type:          "StudySessionHeld",
		SchemaVersion: ledger.SchemaVersion,
		Revision:      rev,
		OccurredOn:    "2016-03-08",
		RecordedAt:    ledger.TruncateTime(epoch.Add(time.Duration(rev) * time.Second)),
		RecordedBy:    "tester",
		Data:          []byte(payload),
		PrevHash:      prev,
	}
	if rev == 0 {
		e.PrevHash = ledger.Hash{}
	}
	e.Hash = ledger.ComputeHash(&e)
	return e
}

// chain returns n sealed events continuing a stream whose last event is
// last (nil for a new stream).
func chain(stream string, last *ledger.Event, n int) []ledger.Event {
	var rev uint64
	var prev ledger.Hash
	if last != nil {
		rev, prev = last.Revision+1, last.Hash
	}
	out := make([]ledger.Event, n)
	for i := range out {
		out[i] = sealed(stream, rev, prev, fmt.Sprintf(`{"topic":"学习 %d","n":%d}`, rev, rev))
		prev = out[i].Hash
		rev++
	}
	return out
}

func ctxT(t testing.TB) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func open(t testing.TB, dir string, opts filestore.Options) *filestore.Store {
	t.Helper()
	s, err := filestore.Open(dir, opts)
	if err != nil {
		t.Fatalf("Open(%s): %v", dir, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func mustAppend(t testing.TB, s ledger.Store, stream string, expected int64, events []ledger.Event) []ledger.Position {
	t.Helper()
	ps, err := s.Append(ctxT(t), stream, expected, events)
	if err != nil {
		t.Fatalf("Append(%s, %d, %d events): %v", stream, expected, len(events), err)
	}
	if len(ps) != len(events) {
		t.Fatalf("Append returned %d positions for %d events", len(ps), len(events))
	}
	return ps
}

func readAll(t testing.TB, s ledger.Store, from ledger.Position) []ledger.Event {
	t.Helper()
	var out []ledger.Event
	for e, err := range s.ReadAll(ctxT(t), from) {
		if err != nil {
			t.Fatalf("ReadAll: %v", err)
		}
		out = append(out, e)
	}
	return out
}

func readStream(t testing.TB, s ledger.Store, stream string, from uint64) ([]ledger.Event, error) {
	t.Helper()
	var out []ledger.Event
	for e, err := range s.ReadStream(ctxT(t), stream, from) {
		if err != nil {
			return out, err
		}
		out = append(out, e)
	}
	return out, nil
}

// sameEvent reports how got differs from want (Position aside), or "".
func sameEvent(got, want ledger.Event) string {
	switch {
	case got.ID != want.ID:
		return fmt.Sprintf("id %s, want %s", got.ID, want.ID)
	case got.Stream != want.Stream || got.Type != want.Type || got.SchemaVersion != want.SchemaVersion:
		return fmt.Sprintf("header %q/%q/%d, want %q/%q/%d", got.Stream, got.Type, got.SchemaVersion, want.Stream, want.Type, want.SchemaVersion)
	case got.Revision != want.Revision:
		return fmt.Sprintf("revision %d, want %d", got.Revision, want.Revision)
	case got.OccurredOn != want.OccurredOn || got.RecordedBy != want.RecordedBy:
		return fmt.Sprintf("occurred_on/recorded_by %q/%q, want %q/%q", got.OccurredOn, got.RecordedBy, want.OccurredOn, want.RecordedBy)
	case !got.RecordedAt.Equal(want.RecordedAt) || got.RecordedAt.Location() != time.UTC:
		return fmt.Sprintf("recorded_at %v, want %v in UTC", got.RecordedAt, want.RecordedAt)
	case string(got.Data) != string(want.Data):
		return fmt.Sprintf("data %q, want %q", got.Data, want.Data)
	case got.PrevHash != want.PrevHash || got.Hash != want.Hash:
		return "hashes differ"
	}
	return ""
}

// checkChains recomputes every hash and checks that revisions run 0.. with
// no gap in every stream, and positions increase.
func checkChains(t testing.TB, events []ledger.Event) {
	t.Helper()
	last := map[string]ledger.Event{}
	var pos ledger.Position
	for _, e := range events {
		if e.Position <= pos {
			t.Fatalf("position %d after %d", e.Position, pos)
		}
		pos = e.Position
		prev, ok := last[e.Stream]
		switch {
		case !ok && e.Revision != 0:
			t.Fatalf("stream %s starts at revision %d", e.Stream, e.Revision)
		case ok && e.Revision != prev.Revision+1:
			t.Fatalf("stream %s: revision %d after %d", e.Stream, e.Revision, prev.Revision)
		case ok && e.PrevHash != prev.Hash:
			t.Fatalf("stream %s revision %d: prev_hash does not chain", e.Stream, e.Revision)
		}
		if got := ledger.ComputeHash(&e); got != e.Hash {
			t.Fatalf("stream %s revision %d: hash %s, recomputed %s", e.Stream, e.Revision, e.Hash, got)
		}
		last[e.Stream] = e
	}
}
