package esdb

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"time"

	client "github.com/EventStore/EventStore-Client-Go/v4/esdb"

	"partyledger/ledger"
)

// cursor is the place of a subscription in $all: the position of the last
// event delivered, or "before everything".
type cursor struct {
	pos ledger.Position
	set bool // pos is the position of an event
}

// Subscribe yields every ledger event with Position > from in global
// order: first the history, then each event as it is committed. It is a
// catch-up subscription to $all, filtered on the server to the ledger's
// stream prefixes. The client library never resubscribes by itself: when
// the server or the connection drops the subscription, Subscribe
// subscribes again from the last position it delivered, skipping anything
// at or before it, so no event is lost or repeated. It gives up after
// Options.ReconnectMax consecutive failures.
//
// It ends only with an error: ctx.Err() when ctx is done,
// ledger.ErrClosed when the Store is closed, or a failure.
func (s *Store) Subscribe(ctx context.Context, from ledger.Position) iter.Seq2[ledger.Event, error] {
	return func(yield func(ledger.Event, error) bool) {
		at := cursor{pos: from, set: from != 0}
		failures := 0
		delay := s.opts.ReconnectDelay
		for {
			if err := s.check(ctx); err != nil {
				yield(ledger.Event{}, err)
				return
			}
			progressed, err := s.subscribeOnce(ctx, &at, yield)
			switch {
			case errors.Is(err, errStop):
				return
			case s.closed.Load():
				yield(ledger.Event{}, fmt.Errorf("esdb: subscription to $all: %w", ledger.ErrClosed))
				return
			case ctx.Err() != nil:
				yield(ledger.Event{}, ctx.Err())
				return
			case !retryable(err):
				yield(ledger.Event{}, s.fail(ctx, err, "subscription to $all"))
				return
			}
			if progressed {
				failures, delay = 0, s.opts.ReconnectDelay
			}
			failures++
			if failures > s.opts.ReconnectMax {
				yield(ledger.Event{}, s.fail(ctx, err, fmt.Sprintf("subscription to $all: dropped %d times in a row", failures)))
				return
			}
			if !s.sleep(ctx, delay) {
				continue // the next check reports why
			}
			delay = min(2*delay, maxReconnectDelay)
		}
	}
}

// subscribeOnce runs one subscription from at until it drops, and reports
// whether the server sent anything (a subscription that confirms and then
// drops is not progress). It returns errStop when the consumer stopped.
func (s *Store) subscribeOnce(ctx context.Context, at *cursor, yield func(ledger.Event, error) bool) (bool, error) {
	opctx, done := s.opContext(ctx)
	defer done()
	start := client.AllPosition(client.Start{})
	if at.set {
		start = allPosition(uint64(at.pos))
	}
	var sub *client.Subscription
	err := s.use(func(c *client.Client) (err error) {
		sub, err = c.SubscribeToAll(opctx, client.SubscribeToAllOptions{
			From:   start,
			Filter: &client.SubscriptionFilter{Type: client.StreamFilterType, Prefixes: s.prefixes},
		})
		return err
	})
	if err != nil {
		return false, err
	}
	defer sub.Close()
	progressed := false
	var session cursor // within one subscription, positions must increase
	for {
		ev := sub.Recv()
		switch {
		case ev.SubscriptionDropped != nil:
			err := ev.SubscriptionDropped.Error
			if err == nil {
				err = errors.New("esdb: subscription dropped")
			}
			return progressed, err
		case ev.EventAppeared != nil:
			progressed = true
			r := ev.EventAppeared.OriginalEvent()
			pos := ledger.Position(r.Position.Commit)
			if r.Position.Commit == noPosition {
				return progressed, fmt.Errorf("esdb: event %s delivered without a position: %w", r.EventID, ledger.ErrCorrupt)
			}
			switch {
			case session.set && pos == session.pos:
				continue // the same event again (a server's catch-up-to-live handover)
			case session.set && pos < session.pos:
				return progressed, positionsNotIncreasing(uint64(pos), uint64(session.pos))
			}
			session = cursor{pos: pos, set: true}
			if at.set && pos <= at.pos {
				continue // delivered before the subscription was restored
			}
			if _, ok := s.ledgerStream(r.StreamID); !ok {
				continue // the server's filter is by prefix; this is belt and braces
			}
			e, err := s.decode(r)
			if err != nil {
				return progressed, err
			}
			*at = cursor{pos: pos, set: true}
			if !yield(e, nil) {
				return progressed, errStop
			}
		default:
			// Checkpoints, caught-up and fell-behind notices: the server
			// is alive. A checkpoint is not a safe place to resume from
			// (servers differ on whether the event at it was delivered),
			// so the cursor stays at the last event delivered.
			progressed = true
		}
	}
}

// sleep waits d, or until ctx is done or the Store is closed; it reports
// whether it waited the whole time.
func (s *Store) sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
	case <-s.ctx.Done():
	}
	return false
}
