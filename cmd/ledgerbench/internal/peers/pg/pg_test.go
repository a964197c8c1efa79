package pg_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"partyledger/cmd/ledgerbench/internal/peers/pg"
	"partyledger/ledger"
)

var (
	serverOnce sync.Once
	server     *pg.Server
	serverErr  error
	databases  atomic.Int64 // numbers the databases created on server
)

// TestMain stops the shared server however the tests end.
func TestMain(m *testing.M) {
	code := m.Run()
	if server != nil {
		if err := server.Stop(); err != nil {
			println(err.Error())
		}
	}
	os.Exit(code)
}

// open returns a store on a fresh database of a server shared by the
// tests, or skips when PostgreSQL is not installed. The database is named
// after db and numbered: the server lives as long as the test binary, so a
// test run again (go test -count=n) must not meet its earlier database.
func open(t *testing.T, db string) *pg.Store {
	t.Helper()
	if _, err := pg.BinDir(); err != nil {
		t.Skipf("skipped: %v", err)
	}
	serverOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		server, serverErr = pg.Start(ctx, os.TempDir())
	})
	if serverErr != nil {
		t.Fatal(serverErr)
	}
	ctx := context.Background()
	db = fmt.Sprintf("%s_%d", db, databases.Add(1))
	if err := server.CreateDatabase(ctx, db); err != nil {
		t.Fatal(err)
	}
	s, err := pg.Open(ctx, server.ConnString(db), 16)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func propose(n int) []ledger.Proposed {
	out := make([]ledger.Proposed, n)
	for i := range out {
		out[i] = ledger.Proposed{Type: "StudySessionHeld", OccurredOn: "2016-03-08", RecordedBy: "tester",
			Data: []byte(`{"topic":"学习","attendees":["m001"],"notes_kept":true}`)}
	}
	return out
}

func TestWrongExpectedRevisionIsRefused(t *testing.T) {
	ctx := context.Background()
	s := open(t, "wrongrev")
	l := ledger.New(s, ledger.Options{})
	if _, err := l.Append(ctx, "org-a", ledger.ExpectNoStream, propose(2)); err != nil {
		t.Fatal(err)
	}
	t.Run("through the ledger", func(t *testing.T) {
		_, err := l.Append(ctx, "org-a", ledger.ExpectRevision(0), propose(1))
		var wr *ledger.WrongRevisionError
		if !errors.As(err, &wr) {
			t.Fatalf("append at revision 0 of a stream at 1: got %v, want *ledger.WrongRevisionError", err)
		}
	})
	t.Run("in the statement, behind the ledger's back", func(t *testing.T) {
		last, err := s.LastEvent(ctx, "org-a")
		if err != nil {
			t.Fatal(err)
		}
		for _, expected := range []int64{ledger.NoStream, 0, 2} {
			ev := last
			ev.ID[0] ^= 0xff // a new id, so only the revision can refuse it
			ev.Revision = uint64(expected + 1)
			_, err := s.Append(ctx, "org-a", expected, []ledger.Event{ev})
			var wr *ledger.WrongRevisionError
			if !errors.As(err, &wr) || wr.Actual != 1 || wr.Expected != expected {
				t.Errorf("store append expecting %d: got %v, want wrong revision (actual 1)", expected, err)
			}
		}
	})
	t.Run("the refusal wrote nothing and the right revision works", func(t *testing.T) {
		n := 0
		for _, err := range s.ReadStream(ctx, "org-a", 0) {
			if err != nil {
				t.Fatal(err)
			}
			n++
		}
		if n != 2 {
			t.Fatalf("stream holds %d events, want 2", n)
		}
		if _, err := l.Append(ctx, "org-a", ledger.ExpectRevision(1), propose(3)); err != nil {
			t.Fatal(err)
		}
	})
}

func TestConcurrentWritersOneWins(t *testing.T) {
	ctx := context.Background()
	s := open(t, "race")
	l := ledger.New(s, ledger.Options{})
	res, err := l.Append(ctx, "org-b", ledger.ExpectNoStream, propose(1))
	if err != nil {
		t.Fatal(err)
	}
	base, err := s.LastEvent(ctx, "org-b")
	if err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 8)
	for i := range 8 {
		go func() {
			ev := base
			ev.ID[0] ^= byte(i + 1)
			ev.Revision, ev.PrevHash = 1, res[0].Hash
			_, err := s.Append(ctx, "org-b", 0, []ledger.Event{ev})
			errs <- err
		}()
	}
	wins := 0
	for range 8 {
		err := <-errs
		switch {
		case err == nil:
			wins++
		case !errors.Is(err, ledger.ErrWrongExpectedRevision):
			t.Errorf("unexpected error %v", err)
		}
	}
	if wins != 1 {
		t.Errorf("%d appends at revision 0 succeeded, want 1", wins)
	}
}

func TestRoundTrip(t *testing.T) {
	ctx := context.Background()
	s := open(t, "roundtrip")
	l := ledger.New(s, ledger.Options{})
	want, err := l.Append(ctx, "org-c", ledger.ExpectNoStream, propose(3))
	if err != nil {
		t.Fatal(err)
	}
	i := 0
	for e, err := range s.ReadAll(ctx, 0) {
		if err != nil {
			t.Fatal(err)
		}
		// jsonb does not keep the payload's bytes, so the hash cannot be
		// recomputed from what comes back; the envelope must.
		if e.Hash != want[i].Hash || e.Position != want[i].Position || e.Revision != uint64(i) ||
			!e.RecordedAt.Equal(want[i].RecordedAt) || e.OccurredOn != "2016-03-08" || e.RecordedBy != "tester" {
			t.Errorf("event %d does not read back as written: %+v", i, e)
		}
		i++
	}
	if i != 3 {
		t.Fatalf("read %d events, want 3", i)
	}
	for _, header := range []bool{false, true} {
		n, err := s.Scan(ctx, header, func(pos uint64, stream, typ, data []byte) {
			if string(stream) != "org-c" || string(typ) != "StudySessionHeld" || (!header && data[0] != '{') {
				t.Errorf("scan at %d: %q %q %q", pos, stream, typ, data)
			}
		})
		if err != nil || n != 3 {
			t.Fatalf("scan: %d events, %v", n, err)
		}
	}
	if _, err := s.LastEvent(ctx, "org-none"); !errors.Is(err, ledger.ErrStreamNotFound) {
		t.Errorf("last event of a missing stream: %v, want ErrStreamNotFound", err)
	}
	for _, err := range s.ReadStream(ctx, "org-none", 0) {
		if !errors.Is(err, ledger.ErrStreamNotFound) {
			t.Errorf("read of a missing stream: %v, want ErrStreamNotFound", err)
		}
	}
}
