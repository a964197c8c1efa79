package esdb_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	client "github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/google/uuid"

	"partyledger/ledger"
	"partyledger/ledger/esdb"
	"partyledger/ledger/esdb/esdbtest"
)

// ctxT returns a context that ends with the test, or after 20 s.
func ctxT(t testing.TB) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// fixture is a test double with an adapter on it.
type fixture struct {
	srv   *esdbtest.Server
	store *esdb.Store
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	srv := esdbtest.Start(t)
	return &fixture{srv: srv, store: openStore(t, srv.URL(), esdb.Options{})}
}

// rawClient is the official client on the test double, used as "another
// tool" that reads or writes the server directly. configure, if given,
// adjusts the parsed configuration.
func rawClient(t testing.TB, url string, configure ...func(*client.Configuration)) *client.Client {
	t.Helper()
	conf, err := client.ParseConnectionString(url)
	if err != nil {
		t.Fatal(err)
	}
	conf.Logger = client.NoopLogging()
	for _, f := range configure {
		f(conf)
	}
	c, err := client.NewClient(conf)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

var clock = time.Date(2016, 3, 8, 1, 2, 3, 456789000, time.UTC)

// chain seals events for one stream as the Ledger does: consecutive
// revisions, each hash over the previous one.
type chain struct {
	stream string
	head   int64
	hash   ledger.Hash
	n      int
}

func newChain(stream string) *chain { return &chain{stream: stream, head: ledger.NoStream} }

// next seals n events after the chain's head without advancing it.
func (c *chain) next(n int) []ledger.Event {
	out := make([]ledger.Event, n)
	prev := c.hash
	for i := range out {
		c.n++
		e := ledger.Event{
			ID: uuid.New(), Stream: c.stream, Type: "StudySessionHeld", SchemaVersion: ledger.SchemaVersion,
			Revision: uint64(c.head + 1 + int64(i)), OccurredOn: "2016-03-08",
			RecordedAt: clock.Add(time.Duration(c.n) * time.Millisecond), RecordedBy: "测试员 <tester>",
			Data:     []byte(fmt.Sprintf(`{"notes_kept":true,"topic":"第%d次学习 \u003c\u0026\u003e"}`, c.n)),
			PrevHash: prev,
		}
		e.Hash = ledger.ComputeHash(&e)
		prev = e.Hash
		out[i] = e
	}
	return out
}

// commit advances the chain past events returned by next.
func (c *chain) commit(evs []ledger.Event) {
	last := evs[len(evs)-1]
	c.head, c.hash = int64(last.Revision), last.Hash
}

// appendN seals and appends n events to the chain's stream.
func appendN(t testing.TB, st *esdb.Store, c *chain, n int) []ledger.Event {
	t.Helper()
	evs := c.next(n)
	pos, err := st.Append(ctxT(t), c.stream, c.head, evs)
	if err != nil {
		t.Fatalf("append %d events to %s at %d: %v", n, c.stream, c.head, err)
	}
	if len(pos) != n {
		t.Fatalf("append returned %d positions for %d events", len(pos), n)
	}
	for i := range evs {
		evs[i].Position = pos[i]
	}
	c.commit(evs)
	return evs
}

func collect(t testing.TB, seq func(func(ledger.Event, error) bool)) ([]ledger.Event, error) {
	t.Helper()
	var out []ledger.Event
	for e, err := range seq {
		if err != nil {
			return out, err
		}
		out = append(out, e)
	}
	return out, nil
}

func mustCollect(t testing.TB, seq func(func(ledger.Event, error) bool)) []ledger.Event {
	t.Helper()
	evs, err := collect(t, seq)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	return evs
}

// sameEvent fails unless got is want, field by field.
func sameEvent(t testing.TB, got, want ledger.Event) {
	t.Helper()
	if got.ID != want.ID || got.Stream != want.Stream || got.Type != want.Type ||
		got.SchemaVersion != want.SchemaVersion || got.Revision != want.Revision ||
		got.Position != want.Position || got.OccurredOn != want.OccurredOn ||
		!got.RecordedAt.Equal(want.RecordedAt) || got.RecordedAt.Location() != time.UTC ||
		got.RecordedBy != want.RecordedBy || string(got.Data) != string(want.Data) ||
		got.PrevHash != want.PrevHash || got.Hash != want.Hash {
		t.Fatalf("event differs:\n got %+v\nwant %+v", got, want)
	}
}

func wantWrongRevision(t testing.TB, err error, actual int64) {
	t.Helper()
	var wr *ledger.WrongRevisionError
	if !errors.As(err, &wr) || !errors.Is(err, ledger.ErrWrongExpectedRevision) {
		t.Fatalf("err = %v, want *ledger.WrongRevisionError", err)
	}
	if wr.Actual != actual {
		t.Fatalf("actual revision = %d, want %d (err %v)", wr.Actual, actual, err)
	}
}
