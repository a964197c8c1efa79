package esdbtest_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	client "github.com/EventStore/EventStore-Client-Go/v4/esdb"

	"partyledger/ledger/esdb/esdbtest"
)

// These tests drive the double's persistent subscriptions with the
// official client only.

func createAll(t *testing.T, c *client.Client, group string, strategy client.ConsumerStrategy, timeout time.Duration, retries int32, prefixes ...string) {
	t.Helper()
	set := client.SubscriptionSettingsDefault()
	set.ConsumerStrategyName = strategy
	set.MessageTimeout = int32(timeout / time.Millisecond)
	set.MaxRetryCount = retries
	opts := client.PersistentAllSubscriptionOptions{Settings: &set, StartFrom: client.Start{}}
	if len(prefixes) > 0 {
		opts.Filter = &client.SubscriptionFilter{Type: client.StreamFilterType, Prefixes: prefixes}
	}
	if err := c.CreatePersistentSubscriptionToAll(ctxT(t), group, opts); err != nil {
		t.Fatalf("create %s: %v", group, err)
	}
}

// member is a consumer whose deliveries arrive on a channel.
type member struct {
	sub *client.PersistentSubscription
	got chan *client.EventAppeared
	end chan error
}

func join(t *testing.T, c *client.Client, ctx context.Context, group string, buffer uint32) *member {
	t.Helper()
	sub, err := c.SubscribeToPersistentSubscriptionToAll(ctx, group, client.SubscribeToPersistentSubscriptionOptions{BufferSize: buffer})
	if err != nil {
		t.Fatalf("join %s: %v", group, err)
	}
	m := &member{sub: sub, got: make(chan *client.EventAppeared, 1000), end: make(chan error, 1)}
	go func() {
		for {
			ev := sub.Recv()
			if ev.SubscriptionDropped != nil {
				m.end <- ev.SubscriptionDropped.Error
				return
			}
			if ev.EventAppeared != nil {
				m.got <- ev.EventAppeared
			}
		}
	}()
	t.Cleanup(func() { _ = sub.Close() })
	return m
}

// recv returns the next delivery, failing after a while.
func (m *member) recv(t *testing.T) *client.EventAppeared {
	t.Helper()
	select {
	case ev := <-m.got:
		return ev
	case err := <-m.end:
		t.Fatalf("consumer dropped: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("no delivery within 10 s")
	}
	return nil
}

// quiet fails if anything is delivered within d.
func (m *member) quiet(t *testing.T, d time.Duration) {
	t.Helper()
	select {
	case ev := <-m.got:
		t.Fatalf("unexpected delivery of %s@%d", ev.Event.OriginalEvent().StreamID, ev.Event.OriginalEvent().EventNumber)
	case <-time.After(d):
	}
}

func TestPersistentGroupLifecycle(t *testing.T) {
	srv := esdbtest.Start(t)
	c := newClient(t, srv.URL())
	createAll(t, c, "g", client.ConsumerStrategyPinned, time.Minute, 10, "org-")
	set := client.SubscriptionSettingsDefault()
	err := c.CreatePersistentSubscriptionToAll(ctxT(t), "g", client.PersistentAllSubscriptionOptions{Settings: &set})
	var ce *client.Error
	if !errors.As(err, &ce) || ce.Code() != client.ErrorCodeResourceAlreadyExists {
		t.Fatalf("second create: %v, want ErrorCodeResourceAlreadyExists", err)
	}
	_, err = c.SubscribeToPersistentSubscriptionToAll(ctxT(t), "nope", client.SubscribeToPersistentSubscriptionOptions{})
	if !errors.As(err, &ce) || ce.Code() != client.ErrorCodeResourceNotFound {
		t.Fatalf("join a missing group: %v, want ErrorCodeResourceNotFound", err)
	}
	if info, ok := srv.Group("$all", "g"); !ok || info.Strategy != esdbtest.StrategyPinned {
		t.Fatalf("group info %+v, %v", info, ok)
	}
	if err := c.DeletePersistentSubscriptionToAll(ctxT(t), "g", client.DeletePersistentSubscriptionOptions{}); err != nil {
		t.Fatal(err)
	}
	err = c.DeletePersistentSubscriptionToAll(ctxT(t), "g", client.DeletePersistentSubscriptionOptions{})
	if !errors.As(err, &ce) || ce.Code() != client.ErrorCodeResourceNotFound {
		t.Fatalf("delete a deleted group: %v, want ErrorCodeResourceNotFound", err)
	}
}

// TestPersistentPinned: with every consumer connected, each stream's
// events all go to one consumer, every event once, and the work is shared;
// the filter keeps other streams out.
func TestPersistentPinned(t *testing.T) {
	srv := esdbtest.Start(t)
	c := newClient(t, srv.URL())
	createAll(t, c, "g", client.ConsumerStrategyPinned, time.Minute, 10, "org-")
	ms := []*member{join(t, c, ctxT(t), "g", 50), join(t, c, ctxT(t), "g", 50), join(t, c, ctxT(t), "g", 50)}
	const streams, each = 30, 4
	for i := range streams {
		appendTo(t, c, fmt.Sprintf("org-%d", i), client.Any{}, events("A", "B", "C", "D")...)
		appendTo(t, c, fmt.Sprintf("other-%d", i), client.Any{}, events("X")...)
	}
	owner := map[string]int{}
	counts := make([]int, len(ms))
	for n := 0; n < streams*each; {
		for i, m := range ms {
			select {
			case ev := <-m.got:
				r := ev.Event.OriginalEvent()
				if o, ok := owner[r.StreamID]; ok && o != i {
					t.Fatalf("%s went to consumers %d and %d", r.StreamID, o, i)
				}
				owner[r.StreamID] = i
				counts[i]++
				n++
				if err := m.sub.Ack(ev.Event); err != nil {
					t.Fatal(err)
				}
			case <-time.After(time.Millisecond):
			}
		}
	}
	for _, m := range ms {
		m.quiet(t, 100*time.Millisecond)
	}
	busy := 0
	for _, n := range counts {
		if n > 0 {
			busy++
		}
	}
	if len(owner) != streams || busy < 2 {
		t.Fatalf("%d streams delivered, %d consumers busy (%v); want %d and at least 2", len(owner), busy, counts, streams)
	}
	waitGroup(t, srv, "g", func(g esdbtest.GroupInfo) bool { return g.InFlight == 0 && g.Acked == streams*each })
}

func waitGroup(t *testing.T, srv *esdbtest.Server, group string, ok func(esdbtest.GroupInfo) bool) esdbtest.GroupInfo {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		g, _ := srv.Group("$all", group)
		if ok(g) {
			return g
		}
		if time.Now().After(deadline) {
			t.Fatalf("group state %+v", g)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestPersistentRedeliveryWhenAConsumerLeaves: what a consumer received
// but did not acknowledge goes, when it leaves, to another consumer, with
// the retry count one higher.
func TestPersistentRedeliveryWhenAConsumerLeaves(t *testing.T) {
	srv := esdbtest.Start(t)
	c := newClient(t, srv.URL())
	createAll(t, c, "g", client.ConsumerStrategyPinned, time.Minute, 10, "org-")
	ctxA, killA := context.WithCancel(ctxT(t))
	a := join(t, c, ctxA, "g", 10)
	appendTo(t, c, "org-1", client.Any{}, events("A", "B", "C")...)
	first := a.recv(t)
	if err := a.sub.Ack(first.Event); err != nil {
		t.Fatal(err)
	}
	a.recv(t)
	a.recv(t) // two held without an ack
	b := join(t, c, ctxT(t), "g", 10)
	waitGroup(t, srv, "g", func(g esdbtest.GroupInfo) bool { return g.Consumers == 2 && g.Acked == 1 })
	killA()
	for want := uint64(1); want <= 2; want++ {
		ev := b.recv(t)
		if r := ev.Event.OriginalEvent(); r.EventNumber != want || ev.RetryCount != 1 {
			t.Fatalf("redelivered revision %d with retry count %d, want %d with 1", r.EventNumber, ev.RetryCount, want)
		}
		if err := b.sub.Ack(ev.Event); err != nil {
			t.Fatal(err)
		}
	}
	b.quiet(t, 100*time.Millisecond)
	g := waitGroup(t, srv, "g", func(g esdbtest.GroupInfo) bool { return g.Acked == 3 && g.InFlight == 0 })
	if g.Redelivered != 2 || g.Consumers != 1 {
		t.Fatalf("group %+v: want 2 redelivered, 1 consumer", g)
	}
}

// TestPersistentTimeoutsAndNacks: an event held past the message timeout
// is sent again; a nack with retry sends it again; park sets it aside; an
// event retried more than MaxRetryCount times is parked.
func TestPersistentTimeoutsAndNacks(t *testing.T) {
	srv := esdbtest.Start(t)
	c := newClient(t, srv.URL())
	createAll(t, c, "g", client.ConsumerStrategyRoundRobin, 150*time.Millisecond, 2)
	m := join(t, c, ctxT(t), "g", 10)
	appendTo(t, c, "s-1", client.Any{}, events("A")...)
	ev := m.recv(t)
	again := m.recv(t) // the timeout passed without an ack
	if again.RetryCount != 1 || again.Event.OriginalEvent().EventID != ev.Event.OriginalEvent().EventID {
		t.Fatalf("after the timeout: retry count %d, want the same event with 1", again.RetryCount)
	}
	if err := m.sub.Nack("try again", client.NackActionRetry, again.Event); err != nil {
		t.Fatal(err)
	}
	third := m.recv(t)
	if third.RetryCount != 2 {
		t.Fatalf("after a nack: retry count %d, want 2", third.RetryCount)
	}
	// A third retry exceeds MaxRetryCount 2: parked, not sent.
	if err := m.sub.Nack("again", client.NackActionRetry, third.Event); err != nil {
		t.Fatal(err)
	}
	m.quiet(t, 400*time.Millisecond)
	appendTo(t, c, "s-1", client.Any{}, events("B")...)
	b := m.recv(t)
	if err := m.sub.Nack("bad", client.NackActionPark, b.Event); err != nil {
		t.Fatal(err)
	}
	m.quiet(t, 400*time.Millisecond)
	if g := waitGroup(t, srv, "g", func(g esdbtest.GroupInfo) bool { return g.Parked == 2 }); g.InFlight != 0 || g.Retrying != 0 {
		t.Fatalf("group %+v: want nothing in flight or waiting", g)
	}
	if n := srv.Counts(); n.Nacks != 3 || n.PersistentReads != 1 {
		t.Fatalf("counts %+v: want 3 nacks, 1 persistent read", n)
	}
}

// TestPersistentStreamGroup: a group on one stream, from a revision.
func TestPersistentStreamGroup(t *testing.T) {
	srv := esdbtest.Start(t)
	c := newClient(t, srv.URL())
	appendTo(t, c, "s-1", client.NoStream{}, events("A", "B", "C")...)
	err := c.CreatePersistentSubscription(ctxT(t), "s-1", "g", client.PersistentStreamSubscriptionOptions{StartFrom: client.Revision(1)})
	if err != nil {
		t.Fatal(err)
	}
	sub, err := c.SubscribeToPersistentSubscription(ctxT(t), "s-1", "g", client.SubscribeToPersistentSubscriptionOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	for want := uint64(1); want <= 2; want++ {
		ev := sub.Recv()
		if ev.EventAppeared == nil || ev.EventAppeared.Event.OriginalEvent().EventNumber != want {
			t.Fatalf("got %+v, want revision %d", ev, want)
		}
	}
}

// TestPersistentConsumersDropped: DropSubscriptions and a closed double
// end persistent consumers too.
func TestPersistentConsumersDropped(t *testing.T) {
	srv := esdbtest.Start(t)
	c := newClient(t, srv.URL())
	createAll(t, c, "g", client.ConsumerStrategyPinned, time.Minute, 10)
	m := join(t, c, ctxT(t), "g", 10)
	srv.DropSubscriptions()
	select {
	case err := <-m.end:
		if err == nil {
			t.Fatal("dropped without an error")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the consumer was not dropped")
	}
}
