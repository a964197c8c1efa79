package workers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/google/uuid"

	"partyledger/domain"
	"partyledger/ledger"
	"partyledger/ledger/books"
	"partyledger/ledger/esdb"
	"partyledger/projections"
)

// Names of the derived streams and their event types. They are persisted:
// never change them.
const (
	// SnapshotPrefix starts the name of every snapshot stream.
	SnapshotPrefix = "snapshot-"
	// DirectoryStream lists the organisations that have a snapshot.
	DirectoryStream = "snapshots-directory"
	// TypeFactsSnapshot is a snapshot event: data is the binary
	// projections.Facts, metadata a SnapshotMeta.
	TypeFactsSnapshot = "FactsSnapshot"
	// TypeOrgListed is a directory event: data is a DirectoryEntry.
	TypeOrgListed = "OrgListed"
)

// nsSnapshot derives the ids of snapshot and directory events, so that a
// re-sent write is the same event (the server's idempotent append).
var nsSnapshot = uuid.MustParse("5d0e2b7c-1f3a-5b8e-9c4d-6a2f8e1b3c77")

// SnapshotStream returns the snapshot stream of an organisation stream.
func SnapshotStream(orgStream string) string { return SnapshotPrefix + orgStream }

// SnapshotMeta is the metadata of a snapshot event (JSON, readable by any
// tool): what the snapshot covers.
type SnapshotMeta struct {
	Org          string `json:"org"`           // the organisation's code
	Stream       string `json:"stream"`        // its ledger stream
	Revision     uint64 `json:"revision"`      // the last revision folded
	Position     uint64 `json:"position"`      // the ledger position of that event
	Events       int    `json:"events"`        // events folded (revision + 1)
	FactsVersion int    `json:"facts_version"` // projections.FactsSnapshotVersion
	Worker       string `json:"worker"`        // who wrote it
}

// DirectoryEntry is one organisation in the directory.
type DirectoryEntry struct {
	Org    string `json:"org"`
	Stream string `json:"stream"`
	Parent string `json:"parent,omitempty"` // the parent organisation's code
}

// snapshot is an organisation's last snapshot as read: facts is nil when
// there is none usable (none written, or written by another version of the
// fold), rev is the snapshot stream's revision (ledger.NoStream when none).
type snapshot struct {
	rev   int64
	meta  SnapshotMeta
	facts *projections.Facts
}

// loadSnapshot reads an organisation's last snapshot.
func loadSnapshot(ctx context.Context, st *esdb.Store, orgStream string) (snapshot, error) {
	d, err := st.LastDerived(ctx, SnapshotStream(orgStream))
	switch {
	case errors.Is(err, ledger.ErrStreamNotFound):
		return snapshot{rev: ledger.NoStream}, nil
	case err != nil:
		return snapshot{}, err
	}
	s := snapshot{rev: int64(d.Revision)}
	if err := json.Unmarshal(d.Meta, &s.meta); err != nil {
		return snapshot{}, fmt.Errorf("workers: %s revision %d: metadata: %v: %w", d.Stream, d.Revision, err, ledger.ErrCorrupt)
	}
	if s.meta.FactsVersion != projections.FactsSnapshotVersion || s.meta.Stream != orgStream {
		return s, nil // another fold's, or misplaced: fold the stream again
	}
	f := projections.NewFacts("")
	switch err := f.UnmarshalBinary(d.Data); {
	case errors.Is(err, projections.ErrSnapshotVersion):
		return s, nil
	case err != nil:
		return snapshot{}, fmt.Errorf("workers: %s revision %d: %w: %w", d.Stream, d.Revision, err, ledger.ErrCorrupt)
	}
	if f.Len() != s.meta.Events || s.meta.Events != int(s.meta.Revision)+1 {
		return snapshot{}, fmt.Errorf("workers: %s revision %d: %d events for revision %d: %w", d.Stream, d.Revision, f.Len(), s.meta.Revision, ledger.ErrCorrupt)
	}
	s.facts = f
	return s, nil
}

// folded is the result of folding an organisation's stream on from a
// snapshot.
type folded struct {
	facts  *projections.Facts
	last   int64 // the last revision folded; ledger.NoStream when none
	parent string
	added  int // events folded beyond the snapshot
}

// readAfter reads the events of orgStream after revision covered
// (ledger.NoStream: all of them); none when the stream does not exist.
func readAfter(ctx context.Context, st *esdb.Store, orgStream string, covered int64) ([]ledger.Event, error) {
	var out []ledger.Event
	for e, err := range st.ReadStream(ctx, orgStream, uint64(covered+1)) {
		switch {
		case errors.Is(err, ledger.ErrStreamNotFound) && covered == ledger.NoStream:
			return nil, nil
		case err != nil:
			return nil, err
		}
		out = append(out, e)
	}
	return out, nil
}

// foldOn folds events, which follow revision covered of orgStream, into
// base, or into new facts when base is nil. base is changed: pass a copy
// when others may read it.
func foldOn(orgStream string, base *projections.Facts, covered int64, events []ledger.Event) (folded, error) {
	out := folded{facts: base, last: covered}
	for i := range events {
		e := &events[i]
		if int64(e.Revision) != out.last+1 {
			return folded{}, fmt.Errorf("workers: %s: revision %d after %d: %w", orgStream, e.Revision, out.last, ledger.ErrCorrupt)
		}
		r, err := books.Recorded(e)
		if err != nil {
			return folded{}, err
		}
		if out.facts == nil {
			reg, ok := r.Payload.(*domain.OrganizationRegistered)
			if !ok {
				return folded{}, fmt.Errorf("workers: %s begins with %s, not a registration: %w", orgStream, e.Type, ledger.ErrCorrupt)
			}
			out.facts, out.parent = projections.NewFacts(reg.Code), reg.ParentCode
		}
		if err := out.facts.Apply(r); err != nil {
			return folded{}, fmt.Errorf("workers: fold %s: %w", orgStream, err)
		}
		out.last = int64(e.Revision)
		out.added++
	}
	return out, nil
}

// writeSnapshot appends the snapshot of f (covering revision last of
// orgStream) at the snapshot stream's expected revision, and returns the
// snapshot stream's new revision. Its id is derived from what it covers,
// so a re-sent write of the same snapshot is the same event.
func writeSnapshot(ctx context.Context, st *esdb.Store, orgStream string, expected int64, f *projections.Facts, last int64, worker string) (uint64, error) {
	data, err := f.MarshalBinary()
	if err != nil {
		return 0, err
	}
	meta, err := json.Marshal(SnapshotMeta{Org: f.Org(), Stream: orgStream, Revision: uint64(last), Position: f.Position(),
		Events: f.Len(), FactsVersion: projections.FactsSnapshotVersion, Worker: worker})
	if err != nil {
		return 0, err
	}
	id := uuid.NewSHA1(nsSnapshot, []byte(orgStream+"@"+strconv.FormatInt(last, 10)+"/v"+strconv.Itoa(projections.FactsSnapshotVersion)))
	return st.AppendDerived(ctx, SnapshotStream(orgStream), expected, esdb.Derived{ID: id, Type: TypeFactsSnapshot, Data: data, Meta: meta})
}

// listOrg adds an organisation to the directory. Appends from several
// workers may race: any revision will do, and readers drop repeats.
func listOrg(ctx context.Context, st *esdb.Store, e DirectoryEntry) error {
	data, err := json.Marshal(e)
	if err != nil {
		return err
	}
	_, err = st.AppendDerived(ctx, DirectoryStream, esdb.AnyRevision, esdb.Derived{
		ID: uuid.NewSHA1(nsSnapshot, []byte("listed:"+e.Stream)), Type: TypeOrgListed, Data: data, Meta: []byte("{}")})
	return err
}
