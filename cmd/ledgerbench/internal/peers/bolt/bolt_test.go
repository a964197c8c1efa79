package bolt_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"partyledger/cmd/ledgerbench/internal/peers/bolt"
	"partyledger/ledger"
)

func open(t *testing.T) *bolt.Store {
	t.Helper()
	s, err := bolt.Open(filepath.Join(t.TempDir(), "bench.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	s.Tune(8, 100*time.Microsecond)
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
	s := open(t)
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
	t.Run("at the store, behind the ledger's back", func(t *testing.T) {
		// A second ledger over the same store has a stale view: the store
		// itself must refuse.
		last, err := s.LastEvent(ctx, "org-a")
		if err != nil {
			t.Fatal(err)
		}
		for _, expected := range []int64{ledger.NoStream, 0, 2} {
			ev := last
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
		if _, err := l.Append(ctx, "org-a", ledger.ExpectRevision(1), propose(1)); err != nil {
			t.Fatal(err)
		}
	})
}

func TestConcurrentWritersOneWins(t *testing.T) {
	ctx := context.Background()
	s := open(t)
	l := ledger.New(s, ledger.Options{})
	res, err := l.Append(ctx, "org-b", ledger.ExpectNoStream, propose(1))
	if err != nil {
		t.Fatal(err)
	}
	base, _ := s.LastEvent(ctx, "org-b")
	// Eight appends all expecting revision 0 share batches: exactly one
	// may win.
	errs := make(chan error, 8)
	for range 8 {
		go func() {
			ev := base
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
	s := open(t)
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
		if e.Hash != want[i].Hash || e.Position != want[i].Position || ledger.ComputeHash(&e) != e.Hash {
			t.Errorf("event %d does not read back as written", i)
		}
		i++
	}
	if i != 3 {
		t.Fatalf("read %d events, want 3", i)
	}
	n, err := s.Scan(ctx, func(pos uint64, stream, typ, data []byte) {
		if string(stream) != "org-c" || string(typ) != "StudySessionHeld" || len(data) == 0 {
			t.Errorf("scan at %d: %q %q %q", pos, stream, typ, data)
		}
	})
	if err != nil || n != 3 {
		t.Fatalf("scan: %d events, %v", n, err)
	}
	if _, err := s.LastEvent(ctx, "org-none"); !errors.Is(err, ledger.ErrStreamNotFound) {
		t.Errorf("last event of a missing stream: %v, want ErrStreamNotFound", err)
	}
}
