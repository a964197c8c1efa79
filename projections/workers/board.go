package workers

import (
	"context"
	"slices"

	"partyledger/ledger/books"
	"partyledger/projections"
	"partyledger/projections/scoreboard"
)

// The Reader is what a scoreboard over snapshots reads
// (scoreboard.Options.Snapshots): a serve node then answers every call of
// the API — scorecards, rankings, recomputation, grades — from the
// snapshots and each stream's events after them, holding only the
// Reader's cache.
var _ scoreboard.Snapshots = (*Reader)(nil)

// Facts returns an organisation's facts up to the last event of its
// stream: its cached or snapshotted facts folded on with what follows
// them (nil when the stream has no events). They are never changed
// afterwards.
func (r *Reader) Facts(ctx context.Context, code string) (*projections.Facts, error) {
	return r.current(ctx, books.OrgStream(code))
}

// EachFacts calls fn with the facts of every organisation in the
// directory, up to the last event of each stream, a chunk at a time.
func (r *Reader) EachFacts(ctx context.Context, fn func(chunk []*projections.Facts) error) error {
	return r.eachFacts(ctx, true, fn)
}

// Codes returns the codes of the organisations in the directory (those a
// worker has written a snapshot of), sorted.
func (r *Reader) Codes(ctx context.Context) ([]string, error) {
	entries, err := r.directory(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]string, len(entries))
	for i, e := range entries {
		out[i] = e.Org
	}
	slices.Sort(out)
	return out, nil
}

// Schedule returns the work committee's schedule as of its last event;
// it is never changed afterwards.
func (r *Reader) Schedule(ctx context.Context) (*projections.Schedule, error) {
	return r.schedule(ctx)
}
