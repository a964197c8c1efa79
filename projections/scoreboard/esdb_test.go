package scoreboard_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"partyledger/domain/democity"
	"partyledger/ledger"
	"partyledger/ledger/books"
	"partyledger/ledger/esdb"
	"partyledger/ledger/esdb/esdbtest"
	"partyledger/ledger/ledgertest"
	"partyledger/projections/scoreboard"
)

// TestLiveFactsSurviveDroppedSubscriptions runs the board's subscription
// against EventStoreDB (the in-process wire-protocol test double, through
// the real client) while the city is being recorded and the server drops
// every subscription again and again: the live facts must end up exactly
// as a fresh catch-up computes them.
func TestLiveFactsSurviveDroppedSubscriptions(t *testing.T) {
	srv := esdbtest.Start(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	st, err := esdb.Open(ctx, srv.URL(), esdb.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	bk := books.New(ledger.New(st, ledger.Options{Clock: ledgertest.NewClock(start).Now}))
	live := scoreboard.New(bk, scoreboard.Options{})
	done := make(chan error, 1)
	go func() { done <- live.Run(ctx) }()

	lines := democity.Generate(5, democity.Options{Orgs: 4})
	stop := make(chan struct{})
	dropped := make(chan int)
	go func() {
		n := 0
		for {
			select {
			case <-stop:
				dropped <- n
				return
			case <-time.After(20 * time.Millisecond):
				n += srv.DropSubscriptions()
			}
		}
	}()
	record(t, bk, lines)
	close(stop)
	if n := <-dropped; n == 0 {
		t.Fatal("no subscription was dropped: the test proves nothing")
	}
	var head ledger.Position
	for e, err := range bk.Events(ctx, 0) {
		if err != nil {
			t.Fatal(err)
		}
		head = e.Position
	}
	deadline := time.Now().Add(30 * time.Second)
	for live.Position() < uint64(head) {
		if time.Now().After(deadline) {
			t.Fatalf("the subscription stopped at %d, head %d", live.Position(), head)
		}
		time.Sleep(10 * time.Millisecond)
	}
	known := start.Add(24 * time.Hour)
	// Score from the subscription's facts only: CatchUp would find nothing.
	fresh := scoreboard.New(bk, scoreboard.Options{})
	want, err := fresh.ScoreAll(ctx, scoreboard.Query{Under: scoreboard.AllOrgs, Year: 2016, KnownAt: known})
	if err != nil {
		t.Fatal(err)
	}
	got, err := live.ScoreAll(ctx, scoreboard.Query{Under: scoreboard.AllOrgs, Year: 2016, KnownAt: known})
	if err != nil {
		t.Fatal(err)
	}
	if marshal(t, got) != marshal(t, want) || len(got) != 4 {
		t.Fatal("live facts after dropped subscriptions differ from a fresh catch-up")
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Run ended with %v", err)
	}
}
