package filestore_test

import (
	"context"
	"errors"
	"testing"

	"partyledger/ledger"
	"partyledger/ledger/filestore"
)

type subResult struct {
	ev  ledger.Event
	err error
}

// subscribe runs a subscription in a goroutine and hands over what it
// yields.
func subscribe(ctx context.Context, s ledger.Store, from ledger.Position) <-chan subResult {
	out := make(chan subResult, 100)
	go func() {
		defer close(out)
		for e, err := range s.Subscribe(ctx, from) {
			out <- subResult{e, err}
			if err != nil {
				return
			}
		}
	}()
	return out
}

func next(t *testing.T, ch <-chan subResult) subResult {
	t.Helper()
	r, ok := <-ch
	if !ok {
		t.Fatal("subscription ended without an error")
	}
	return r
}

func TestSubscribe(t *testing.T) {
	s := open(t, t.TempDir(), filestore.Options{})
	a := chain("org-a", nil, 5)
	mustAppend(t, s, "org-a", ledger.NoStream, a[:3])

	t.Run("catch-up then live, then cancel", func(t *testing.T) {
		ctx, cancel := context.WithCancel(ctxT(t))
		ch := subscribe(ctx, s, 0)
		for i := 0; i < 3; i++ {
			r := next(t, ch)
			if r.err != nil || r.ev.ID != a[i].ID {
				t.Fatalf("history %d: %v, %v", i, r.ev.ID, r.err)
			}
		}
		mustAppend(t, s, "org-a", 2, a[3:4])
		if r := next(t, ch); r.err != nil || r.ev.ID != a[3].ID || r.ev.Position != 4 {
			t.Fatalf("live: %+v", r)
		}
		cancel()
		if r := next(t, ch); !errors.Is(r.err, context.Canceled) {
			t.Fatalf("after cancel: %v, want context.Canceled", r.err)
		}
	})
	t.Run("from a position", func(t *testing.T) {
		ctx, cancel := context.WithCancel(ctxT(t))
		defer cancel()
		for e, err := range s.Subscribe(ctx, 2) {
			if err != nil || e.Position != 3 {
				t.Fatalf("first event %d, %v; want position 3", e.Position, err)
			}
			break // stopping early ends the iterator cleanly
		}
	})
	t.Run("close ends subscriptions", func(t *testing.T) {
		ch := subscribe(ctxT(t), s, 4)
		mustAppend(t, s, "org-a", 3, a[4:5])
		if r := next(t, ch); r.err != nil || r.ev.ID != a[4].ID {
			t.Fatalf("live: %+v", r)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		if r := next(t, ch); !errors.Is(r.err, ledger.ErrClosed) {
			t.Fatalf("after Close: %v, want ErrClosed", r.err)
		}
	})
}

func TestCancellation(t *testing.T) {
	s := open(t, t.TempDir(), filestore.Options{})
	a := chain("org-a", nil, 600)
	mustAppend(t, s, "org-a", ledger.NoStream, a)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	t.Run("Append", func(t *testing.T) {
		if _, err := s.Append(ctx, "org-b", ledger.NoStream, chain("org-b", nil, 1)); !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v", err)
		}
		if _, err := readStream(t, s, "org-b", 0); !errors.Is(err, ledger.ErrStreamNotFound) {
			t.Fatalf("cancelled append was written: %v", err)
		}
	})
	t.Run("reads", func(t *testing.T) {
		for name, seq := range map[string]func(func(ledger.Event, error) bool){
			"ReadAll":    s.ReadAll(ctx, 0),
			"ReadStream": s.ReadStream(ctx, "org-a", 0),
			"Subscribe":  s.Subscribe(ctx, 0),
		} {
			n := 0
			var last error
			for _, err := range seq {
				n++
				last = err
			}
			if n != 1 || !errors.Is(last, context.Canceled) {
				t.Errorf("%s: %d results, last error %v; want one context.Canceled", name, n, last)
			}
		}
		if _, err := s.EventByID(ctx, a[0].ID); !errors.Is(err, context.Canceled) {
			t.Errorf("EventByID: %v", err)
		}
		if _, err := s.LastEvent(ctx, "org-a"); !errors.Is(err, context.Canceled) {
			t.Errorf("LastEvent: %v", err)
		}
	})
	t.Run("cancel during a long read", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		n := 0
		var last error
		for _, err := range s.ReadAll(ctx, 0) {
			if err != nil {
				last = err
				break
			}
			n++
			if n == 10 {
				cancel()
			}
		}
		if !errors.Is(last, context.Canceled) || n >= len(a) {
			t.Fatalf("read %d events, ended with %v; want cancellation before the end", n, last)
		}
	})
}

func TestClose(t *testing.T) {
	s, err := filestore.Open(t.TempDir(), filestore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	a := chain("org-a", nil, 1)
	mustAppend(t, s, "org-a", ledger.NoStream, a)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	ctx := ctxT(t)
	if _, err := s.Append(ctx, "org-a", 0, chain("org-a", &a[0], 1)); !errors.Is(err, ledger.ErrClosed) {
		t.Errorf("Append after Close: %v", err)
	}
	if _, err := s.EventByID(ctx, a[0].ID); !errors.Is(err, ledger.ErrClosed) {
		t.Errorf("EventByID after Close: %v", err)
	}
	if _, err := s.LastEvent(ctx, "org-a"); !errors.Is(err, ledger.ErrClosed) {
		t.Errorf("LastEvent after Close: %v", err)
	}
	for _, err := range s.ReadAll(ctx, 0) {
		if !errors.Is(err, ledger.ErrClosed) {
			t.Errorf("ReadAll after Close: %v", err)
		}
	}
	for _, err := range s.ReadStream(ctx, "org-a", 0) {
		if !errors.Is(err, ledger.ErrClosed) {
			t.Errorf("ReadStream after Close: %v", err)
		}
	}
	if err := s.VerifyStorage(ctx); !errors.Is(err, ledger.ErrClosed) {
		t.Errorf("VerifyStorage after Close: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestCloseWithAppendsInFlight(t *testing.T) {
	dir := t.TempDir()
	s, err := filestore.Open(dir, filestore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	const writers = 8
	type result struct {
		ev  []ledger.Event
		err error
		end bool // the writer stopped
	}
	results := make(chan result, writers*51)
	start := make(chan struct{})
	for w := 0; w < writers; w++ {
		go func() {
			defer func() { results <- result{end: true} }()
			<-start
			stream := "org-" + string(rune('a'+w))
			var last *ledger.Event
			for i := 0; i < 50; i++ {
				evs := chain(stream, last, 1)
				_, err := s.Append(context.Background(), stream, int64(i)-1, evs)
				results <- result{ev: evs, err: err}
				if err != nil {
					return
				}
				last = &evs[0]
			}
		}()
	}
	close(start)
	// Wait for some appends to complete, then close under their feet.
	for i := 0; i < 20; i++ {
		if r := <-results; r.err != nil {
			t.Fatalf("append before Close: %v", r.err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	var acked []ledger.Event
	done := 0
	for done < writers {
		r := <-results
		switch {
		case r.end:
			done++
		case r.err == nil:
			acked = append(acked, r.ev...)
		case errors.Is(r.err, ledger.ErrClosed):
		default:
			t.Fatalf("append during Close: %v, want success or ErrClosed", r.err)
		}
	}
	s2 := open(t, dir, filestore.Options{})
	for _, e := range acked {
		if _, err := s2.EventByID(ctxT(t), e.ID); err != nil {
			t.Fatalf("acknowledged event %s lost: %v", e.ID, err)
		}
	}
}
