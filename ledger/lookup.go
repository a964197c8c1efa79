package ledger

import (
	"context"
	"errors"

	"github.com/google/uuid"
)

// ErrNoIDIndex reports a lookup by event id alone in a store that keeps no
// index of every id (ledger/esdb with per-stream ids, at national scale):
// such a store answers only for the stream an id is expected in, through
// StreamIDLookup, and Ledger.LookupID uses that.
var ErrNoIDIndex = errors.New("ledger: the store keeps no index of every event id; look the id up in its stream")

// StreamIDLookup is implemented by stores that can look an event id up in
// one stream without a global index. A store whose EventByID returns
// ErrNoIDIndex must implement it.
type StreamIDLookup interface {
	// EventInStream returns the event with id if stream holds it, and
	// ErrEventNotFound otherwise (also when the stream does not exist),
	// whatever other streams hold.
	EventInStream(ctx context.Context, stream string, id uuid.UUID) (Event, error)
}

// LookupID returns the stored event with id, as the duplicate check of an
// append to stream sees it: from the store's index of every id when it
// has one (the event may then be in any stream, which the caller reports
// as a conflict), and otherwise from stream alone — an id stored in
// another stream is then not found, and appending it to stream stores it
// a second time (see ledger/esdb, Options.IDs). Errors: ErrEventNotFound,
// or the store's.
func (l *Ledger) LookupID(ctx context.Context, stream string, id uuid.UUID) (Event, error) {
	e, err := l.store.EventByID(ctx, id)
	if !errors.Is(err, ErrNoIDIndex) {
		return e, err
	}
	sl, ok := l.store.(StreamIDLookup)
	if !ok {
		return Event{}, err
	}
	return sl.EventInStream(ctx, stream, id)
}
