package esdb

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	client "github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/google/uuid"

	"partyledger/ledger"
)

// Persistent subscriptions: the server, not the client, keeps a group's
// place in $all and shares its events among the group's consumers — the
// engine's own way to spread a projection over several workers, each
// stateless. With the Pinned strategy the server hashes each event's
// stream name to one of 1,024 buckets and gives each bucket to one
// consumer, so one organisation's events usually go to one worker; when
// consumers join or leave, buckets move and what was not acknowledged is
// sent again, to whichever consumer then holds the bucket. Consumers must
// therefore tolerate an event delivered twice, late, or to another
// consumer than its stream's earlier events (projections/workers does).

// Errors of persistent subscription groups.
var (
	// ErrGroupExists reports a group that exists already.
	ErrGroupExists = errors.New("esdb: persistent subscription group exists")
	// ErrGroupNotFound reports a group that does not exist.
	ErrGroupNotFound = errors.New("esdb: persistent subscription group not found")
)

// Consumer strategies of GroupOptions.Strategy, as the server names them.
const (
	StrategyPinned     = string(client.ConsumerStrategyPinned)
	StrategyRoundRobin = string(client.ConsumerStrategyRoundRobin)
)

// Defaults of GroupOptions.
const (
	DefaultMessageTimeout = 30 * time.Second
	DefaultMaxRetryCount  = 10
)

// GroupOptions configure a persistent subscription group on $all.
type GroupOptions struct {
	// Prefixes are the ledger stream prefixes whose events the group
	// delivers (the server filters). Default: every ledger stream.
	Prefixes []string
	// Strategy is StrategyPinned (the default) or StrategyRoundRobin.
	Strategy string
	// MessageTimeout is how long a consumer may hold an event without
	// acknowledging it before the server sends it again. Default 30 s.
	MessageTimeout time.Duration
	// MaxRetryCount is how often the server sends an event again before
	// it parks it. Default 10.
	MaxRetryCount int
	// From is the position after which the group starts: 0 for the
	// beginning of $all.
	From ledger.Position
}

// CreateGroup creates the persistent subscription group name (prefixed
// with the namespace) on $all. Errors: ErrGroupExists, ErrForeignStream
// for a prefix outside the ledger's, and the server's.
func (s *Store) CreateGroup(ctx context.Context, name string, opts GroupOptions) error {
	if err := s.check(ctx); err != nil {
		return err
	}
	if name == "" || strings.HasPrefix(name, "$") {
		return fmt.Errorf("esdb: group name %q: want a name not starting with '$'", name)
	}
	if len(opts.Prefixes) == 0 {
		opts.Prefixes = StreamPrefixes
	}
	var prefixes []string
	for _, p := range opts.Prefixes {
		if _, err := s.serverStream(p); err != nil {
			return err
		}
		prefixes = append(prefixes, s.opts.Namespace+p)
	}
	set := client.SubscriptionSettingsDefault()
	set.ConsumerStrategyName = client.ConsumerStrategyPinned
	switch opts.Strategy {
	case "", StrategyPinned:
	case StrategyRoundRobin:
		set.ConsumerStrategyName = client.ConsumerStrategyRoundRobin
	default:
		return fmt.Errorf("esdb: consumer strategy %q: want %s or %s", opts.Strategy, StrategyPinned, StrategyRoundRobin)
	}
	if opts.MessageTimeout <= 0 {
		opts.MessageTimeout = DefaultMessageTimeout
	}
	if opts.MaxRetryCount <= 0 {
		opts.MaxRetryCount = DefaultMaxRetryCount
	}
	set.MessageTimeout = int32(opts.MessageTimeout / time.Millisecond)
	set.MaxRetryCount = int32(opts.MaxRetryCount)
	what := "create persistent subscription group " + name
	opctx, done := s.opContext(ctx)
	defer done()
	err := s.use(func(c *client.Client) error {
		return c.CreatePersistentSubscriptionToAll(opctx, s.opts.Namespace+name, client.PersistentAllSubscriptionOptions{
			Settings:  &set,
			StartFrom: allPosition(uint64(opts.From)),
			Filter:    &client.SubscriptionFilter{Type: client.StreamFilterType, Prefixes: prefixes},
		})
	})
	if hasCode(err, client.ErrorCodeResourceAlreadyExists) {
		return fmt.Errorf("esdb: %s: %w", what, ErrGroupExists)
	}
	if err != nil {
		return s.fail(ctx, err, what)
	}
	return nil
}

// DeleteGroup deletes a group; its consumers are dropped. Errors:
// ErrGroupNotFound and the server's.
func (s *Store) DeleteGroup(ctx context.Context, name string) error {
	if err := s.check(ctx); err != nil {
		return err
	}
	what := "delete persistent subscription group " + name
	opctx, done := s.opContext(ctx)
	defer done()
	err := s.use(func(c *client.Client) error {
		return c.DeletePersistentSubscriptionToAll(opctx, s.opts.Namespace+name, client.DeletePersistentSubscriptionOptions{})
	})
	if hasCode(err, client.ErrorCodeResourceNotFound) {
		return fmt.Errorf("esdb: %s: %w", what, ErrGroupNotFound)
	}
	if err != nil {
		return s.fail(ctx, err, what)
	}
	return nil
}

func hasCode(err error, code client.ErrorCode) bool {
	var ce *client.Error
	return errors.As(err, &ce) && ce.Code() == code
}

// Delivery is an event a group sent to a consumer: where it is, not what
// it says (a consumer that needs the events reads the stream).
type Delivery struct {
	ID       uuid.UUID
	Stream   string // the ledger's name
	Revision uint64
	Position ledger.Position
	Type     string
	// Retries is how often the server sent it before (0 the first time).
	Retries int

	ev *client.ResolvedEvent
}

// Consumer is one member of a persistent subscription group. Its methods
// may be called from different goroutines, but Next from one at a time.
type Consumer struct {
	s      *Store
	sub    *client.PersistentSubscription
	ctx    context.Context
	cancel context.CancelFunc
}

// JoinGroup connects a consumer to the group, which sends it up to buffer
// events at a time without acknowledgement. The consumer lasts until
// ctx is done, Close, or the server drops it. Errors: ErrGroupNotFound,
// ErrUnavailable, ledger.ErrClosed.
func (s *Store) JoinGroup(ctx context.Context, name string, buffer int) (*Consumer, error) {
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	if buffer <= 0 {
		return nil, fmt.Errorf("esdb: join %s: buffer %d: want at least 1", name, buffer)
	}
	what := "join persistent subscription group " + name
	opctx, done := s.opContext(ctx)
	var sub *client.PersistentSubscription
	err := s.use(func(c *client.Client) (err error) {
		sub, err = c.SubscribeToPersistentSubscriptionToAll(opctx, s.opts.Namespace+name,
			client.SubscribeToPersistentSubscriptionOptions{BufferSize: uint32(buffer)})
		return err
	})
	switch {
	case hasCode(err, client.ErrorCodeResourceNotFound):
		done()
		return nil, fmt.Errorf("esdb: %s: %w", what, ErrGroupNotFound)
	case err != nil:
		done()
		return nil, s.fail(ctx, err, what)
	}
	return &Consumer{s: s, sub: sub, ctx: ctx, cancel: done}, nil
}

// Next waits for the next delivery. It ends with ctx.Err() when the
// consumer's context is done, ledger.ErrClosed when the Store is closed,
// and otherwise with the server's reason for dropping the consumer
// (ErrUnavailable when the connection failed): join again. Events of
// streams that are not the ledger's (the server's filter is by prefix) are
// acknowledged and skipped.
func (c *Consumer) Next() (Delivery, error) {
	for {
		ev := c.sub.Recv()
		if d := ev.SubscriptionDropped; d != nil {
			err := d.Error
			if err == nil {
				err = errors.New("esdb: persistent subscription dropped")
			}
			return Delivery{}, c.s.fail(c.ctx, err, "persistent subscription")
		}
		if ev.EventAppeared == nil {
			continue
		}
		r := ev.EventAppeared.Event.OriginalEvent()
		stream, ok := c.s.ledgerStream(r.StreamID)
		if !ok {
			if err := c.sub.Ack(ev.EventAppeared.Event); err != nil {
				return Delivery{}, c.s.fail(c.ctx, err, "acknowledge")
			}
			continue
		}
		return Delivery{ID: r.EventID, Stream: stream, Revision: r.EventNumber, Position: ledger.Position(r.Position.Commit),
			Type: r.EventType, Retries: ev.EventAppeared.RetryCount, ev: ev.EventAppeared.Event}, nil
	}
}

// Ack acknowledges deliveries: the server will not send them again.
func (c *Consumer) Ack(ds ...Delivery) error {
	return c.settle(ds, func(evs []*client.ResolvedEvent) error { return c.sub.Ack(evs...) })
}

// Retry asks the server to send deliveries again (to whichever consumer
// then holds their streams), after a failure that may pass.
func (c *Consumer) Retry(reason string, ds ...Delivery) error {
	return c.settle(ds, func(evs []*client.ResolvedEvent) error {
		return c.sub.Nack(reason, client.NackActionRetry, evs...)
	})
}

// Park asks the server to set deliveries aside (its parked-message
// stream), after a failure that will not pass by itself.
func (c *Consumer) Park(reason string, ds ...Delivery) error {
	return c.settle(ds, func(evs []*client.ResolvedEvent) error {
		return c.sub.Nack(reason, client.NackActionPark, evs...)
	})
}

func (c *Consumer) settle(ds []Delivery, f func([]*client.ResolvedEvent) error) error {
	if len(ds) == 0 {
		return nil
	}
	evs := make([]*client.ResolvedEvent, len(ds))
	for i := range ds {
		if ds[i].ev == nil {
			return errors.New("esdb: settle a delivery that no consumer received")
		}
		evs[i] = ds[i].ev
	}
	if err := f(evs); err != nil {
		return c.s.fail(c.ctx, err, "settle deliveries")
	}
	return nil
}

// Close leaves the group: what the consumer has not acknowledged goes to
// the other consumers. Close is idempotent.
func (c *Consumer) Close() error {
	err := c.sub.Close()
	c.cancel()
	return err
}
