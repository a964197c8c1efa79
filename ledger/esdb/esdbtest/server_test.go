package esdbtest_test

import (
	"context"
	"errors"
	"io"
	"math"
	"strings"
	"testing"
	"time"

	client "github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/google/uuid"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"partyledger/ledger/esdb/esdbtest"
)

// These tests drive the test double with the official client only, to
// pin down the server behaviours the adapter relies on.

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func newClient(t *testing.T, url string) *client.Client {
	t.Helper()
	conf, err := client.ParseConnectionString(url)
	if err != nil {
		t.Fatal(err)
	}
	conf.Logger = client.NoopLogging()
	c, err := client.NewClient(conf)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func events(types ...string) []client.EventData {
	out := make([]client.EventData, len(types))
	for i, typ := range types {
		out[i] = client.EventData{EventID: uuid.New(), EventType: typ, ContentType: client.ContentTypeJson,
			Data: []byte(`{"n":` + string(rune('0'+i)) + `}`), Metadata: []byte(`{"m":1}`)}
	}
	return out
}

func appendTo(t *testing.T, c *client.Client, stream string, exp client.ExpectedRevision, evs ...client.EventData) *client.WriteResult {
	t.Helper()
	wr, err := c.AppendToStream(ctxT(t), stream, client.AppendToStreamOptions{ExpectedRevision: exp}, evs...)
	if err != nil {
		t.Fatalf("append to %s: %v", stream, err)
	}
	return wr
}

func readAll(rs *client.ReadStream, err error) ([]*client.RecordedEvent, error) {
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	var out []*client.RecordedEvent
	for {
		ev, err := rs.Recv()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, ev.OriginalEvent())
	}
}

// mustRead returns a function that reads a whole ReadStream, so that a
// read call's two results can be passed straight to it.
func mustRead(t *testing.T) func(rs *client.ReadStream, err error) []*client.RecordedEvent {
	return func(rs *client.ReadStream, err error) []*client.RecordedEvent {
		t.Helper()
		out, err := readAll(rs, err)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
}

func TestAppendRevisionsAndConflicts(t *testing.T) {
	srv := esdbtest.Start(t)
	c := newClient(t, srv.URL())
	first := events("A", "B")
	wr := appendTo(t, c, "s-1", client.NoStream{}, first...)
	if wr.NextExpectedVersion != 1 || wr.CommitPosition == 0 || wr.CommitPosition != wr.PreparePosition {
		t.Fatalf("first append: %+v; want revision 1 and a position", wr)
	}
	second := events("C")
	if wr := appendTo(t, c, "s-1", client.StreamRevision{Value: 1}, second...); wr.NextExpectedVersion != 2 {
		t.Fatalf("second append: revision %d, want 2", wr.NextExpectedVersion)
	}
	conflicts := []struct {
		name string
		exp  client.ExpectedRevision
		text string
	}{
		{"no stream on existing", client.NoStream{}, "expecting 'no_stream' but got '2'"},
		{"behind with new ids", client.StreamRevision{Value: 0}, "expecting '0' but got '2'"},
		{"ahead", client.StreamRevision{Value: 5}, "expecting '5' but got '2'"},
	}
	for _, tc := range conflicts {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.AppendToStream(ctxT(t), "s-1", client.AppendToStreamOptions{ExpectedRevision: tc.exp}, events("X")...)
			var ce *client.Error
			if !errors.As(err, &ce) || ce.Code() != client.ErrorCodeWrongExpectedVersion || !strings.Contains(err.Error(), tc.text) {
				t.Fatalf("err = %v, want a wrong expected version with %q", err, tc.text)
			}
		})
	}
	t.Run("missing stream", func(t *testing.T) {
		_, err := c.AppendToStream(ctxT(t), "s-2", client.AppendToStreamOptions{ExpectedRevision: client.StreamRevision{Value: 0}}, events("X")...)
		if err == nil || !strings.Contains(err.Error(), "but got 'no_stream'") {
			t.Fatalf("err = %v, want the actual revision no_stream", err)
		}
	})
	t.Run("idempotent re-append", func(t *testing.T) {
		wr := appendTo(t, c, "s-1", client.NoStream{}, first...)
		if wr.NextExpectedVersion != 1 {
			t.Fatalf("replay: revision %d, want 1 (the original's)", wr.NextExpectedVersion)
		}
		if wr := appendTo(t, c, "s-1", client.Any{}, second...); wr.NextExpectedVersion != 2 {
			t.Fatalf("replay with Any: revision %d, want 2", wr.NextExpectedVersion)
		}
		_, err := c.AppendToStream(ctxT(t), "s-1", client.AppendToStreamOptions{ExpectedRevision: client.NoStream{}},
			first[0], events("Y")[0])
		if err == nil {
			t.Fatal("partial replay succeeded, want a wrong expected version")
		}
		if n := srv.Len(); n != 3 {
			t.Fatalf("the test double holds %d events, want 3", n)
		}
	})
	t.Run("maximum append size", func(t *testing.T) {
		srv.SetMaxAppendSize(10)
		defer srv.SetMaxAppendSize(esdbtest.DefaultMaxAppendSize)
		_, err := c.AppendToStream(ctxT(t), "s-3", client.AppendToStreamOptions{ExpectedRevision: client.NoStream{}}, events("X", "Y")...)
		if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "Maximum Append Size of 10") {
			t.Fatalf("err = %v, want the maximum append size refused", err)
		}
	})
}

func TestReads(t *testing.T) {
	srv := esdbtest.Start(t)
	c := newClient(t, srv.URL())
	appendTo(t, c, "s-1", client.NoStream{}, events("A", "B")...)
	appendTo(t, c, "s-2", client.NoStream{}, events("C")...)
	appendTo(t, c, "s-1", client.StreamRevision{Value: 1}, events("D")...)

	all := mustRead(t)(c.ReadAll(ctxT(t), client.ReadAllOptions{}, 100))
	if len(all) != 4 {
		t.Fatalf("$all: %d events, want 4", len(all))
	}
	for i, e := range all {
		if e.Position.Commit != e.Position.Prepare || (i > 0 && e.Position.Commit <= all[i-1].Position.Commit) {
			t.Fatalf("$all positions %+v: want commit == prepare, increasing", e.Position)
		}
	}
	t.Run("$all forwards from a position is inclusive", func(t *testing.T) {
		got := mustRead(t)(c.ReadAll(ctxT(t), client.ReadAllOptions{From: all[1].Position}, 100))
		if len(got) != 3 || got[0].EventID != all[1].EventID {
			t.Fatalf("from %v: %d events, want 3 starting at it", all[1].Position, len(got))
		}
	})
	t.Run("$all backwards from a position is exclusive", func(t *testing.T) {
		got := mustRead(t)(c.ReadAll(ctxT(t), client.ReadAllOptions{From: all[2].Position, Direction: client.Backwards}, 100))
		if len(got) != 2 || got[0].EventID != all[1].EventID {
			t.Fatalf("backwards from %v: %d events, want events 1 and 0", all[2].Position, len(got))
		}
		got = mustRead(t)(c.ReadAll(ctxT(t), client.ReadAllOptions{From: client.End{}, Direction: client.Backwards}, 1))
		if len(got) != 1 || got[0].EventID != all[3].EventID {
			t.Fatalf("backwards from the end: want the last event")
		}
	})
	t.Run("stream reads", func(t *testing.T) {
		got := mustRead(t)(c.ReadStream(ctxT(t), "s-1", client.ReadStreamOptions{From: client.Revision(1)}, 100))
		if len(got) != 2 || got[0].EventNumber != 1 || got[1].EventType != "D" || got[1].Position != all[3].Position {
			t.Fatalf("s-1 from 1: %+v", got)
		}
		if string(got[1].UserMetadata) != `{"m":1}` || got[1].ContentType != "application/json" || got[1].CreatedDate.IsZero() {
			t.Fatalf("event fields lost: %+v", got[1])
		}
		got = mustRead(t)(c.ReadStream(ctxT(t), "s-1", client.ReadStreamOptions{From: client.End{}, Direction: client.Backwards}, 1))
		if len(got) != 1 || got[0].EventNumber != 2 {
			t.Fatalf("s-1 backwards from the end: %+v", got)
		}
	})
	t.Run("stream not found on the first Recv", func(t *testing.T) {
		rs, err := c.ReadStream(ctxT(t), "s-missing", client.ReadStreamOptions{}, 10)
		if err != nil {
			t.Fatalf("the client reports a missing stream on Recv, not on ReadStream: %v", err)
		}
		_, err = readAll(rs, nil)
		var ce *client.Error
		if !errors.As(err, &ce) || ce.Code() != client.ErrorCodeResourceNotFound {
			t.Fatalf("err = %v, want ErrorCodeResourceNotFound", err)
		}
	})
	t.Run("legacy stream positions", func(t *testing.T) {
		srv.SetLegacyStreamPositions(true)
		defer srv.SetLegacyStreamPositions(false)
		got := mustRead(t)(c.ReadStream(ctxT(t), "s-2", client.ReadStreamOptions{}, 10))
		if got[0].Position.Commit != math.MaxUint64 {
			t.Fatalf("legacy stream read position %+v, want none", got[0].Position)
		}
		got = mustRead(t)(c.ReadAll(ctxT(t), client.ReadAllOptions{}, 10))
		if got[2].Position != all[2].Position {
			t.Fatalf("legacy $all read position %+v, want %+v", got[2].Position, all[2].Position)
		}
	})
}

func TestSubscriptions(t *testing.T) {
	srv := esdbtest.Start(t)
	c := newClient(t, srv.URL())
	appendTo(t, c, "org-1", client.NoStream{}, events("A")...)
	for i := 0; i < 40; i++ {
		appendTo(t, c, "other-1", client.Any{}, events("N")...)
	}
	appendTo(t, c, "org-1", client.StreamRevision{Value: 0}, events("B")...)

	sub, err := c.SubscribeToAll(ctxT(t), client.SubscribeToAllOptions{
		From:   client.Start{},
		Filter: &client.SubscriptionFilter{Type: client.StreamFilterType, Prefixes: []string{"org-"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	var got []string
	checkpoints, caughtUp := 0, false
	for len(got) < 3 {
		ev := sub.Recv()
		switch {
		case ev.EventAppeared != nil:
			if !caughtUp && len(got) == 2 {
				t.Fatal("live event before caught_up")
			}
			got = append(got, ev.EventAppeared.OriginalEvent().EventType)
		case ev.CheckPointReached != nil:
			checkpoints++
		case ev.CaughtUp != nil:
			caughtUp = true
			appendTo(t, c, "org-2", client.NoStream{}, events("C")...)
		case ev.SubscriptionDropped != nil:
			t.Fatalf("dropped: %v", ev.SubscriptionDropped.Error)
		}
	}
	if strings.Join(got, "") != "ABC" || checkpoints == 0 {
		t.Fatalf("delivered %v with %d checkpoints; want A, B (history), C (live) and a checkpoint over the filtered-out events", got, checkpoints)
	}
	if n := srv.DropSubscriptions(); n != 1 {
		t.Fatalf("dropped %d subscriptions, want 1", n)
	}
	for {
		ev := sub.Recv()
		if ev.SubscriptionDropped != nil {
			if status.Code(ev.SubscriptionDropped.Error) != codes.Unavailable {
				t.Fatalf("drop reason %v, want codes.Unavailable", ev.SubscriptionDropped.Error)
			}
			break
		}
	}
	reqs := srv.Subscriptions()
	if len(reqs) != 1 || !reqs[0].FromStart || !reqs[0].Filtered || reqs[0].Stream != "" {
		t.Fatalf("subscription requests %+v", reqs)
	}

	t.Run("from a position is exclusive", func(t *testing.T) {
		all := mustRead(t)(c.ReadAll(ctxT(t), client.ReadAllOptions{}, 100))
		sub, err := c.SubscribeToAll(ctxT(t), client.SubscribeToAllOptions{From: all[len(all)-2].Position})
		if err != nil {
			t.Fatal(err)
		}
		defer sub.Close()
		for {
			ev := sub.Recv()
			if ev.EventAppeared != nil {
				if ev.EventAppeared.OriginalEvent().EventID != all[len(all)-1].EventID {
					t.Fatalf("first event after %v is not the last one", all[len(all)-2].Position)
				}
				return
			}
			if ev.SubscriptionDropped != nil {
				t.Fatal(ev.SubscriptionDropped.Error)
			}
		}
	})
}

func TestDiscovery(t *testing.T) {
	srv := esdbtest.Start(t)
	c := newClient(t, "esdb+discover://"+srv.Addr()+"?tls=false")
	appendTo(t, c, "s-1", client.NoStream{}, events("A")...)
	if srv.Len() != 1 {
		t.Fatal("the append through gossip discovery did not reach the test double")
	}
}
