package filestore_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"partyledger/ledger"
	"partyledger/ledger/filestore"
)

// TestConcurrentAppendsStampInPositionOrder: many writers append to their
// own streams through one ledger at once; recorded_at must not go
// backwards in position order, or the ledger's own export could not be
// restored (a restore refuses a recorded_at before an earlier event's).
// The ledger stamps and queues an append under one lock, and the store
// commits in the order appends were queued.
func TestConcurrentAppendsStampInPositionOrder(t *testing.T) {
	ctx := context.Background()
	s := open(t, t.TempDir(), filestore.Options{})
	l := ledger.New(s, ledger.Options{})
	const writers, appends = 48, 150
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			stream := fmt.Sprintf("org-w%02d", w)
			for i := range appends {
				_, err := l.Append(ctx, stream, ledger.Any, []ledger.Proposed{{Type: "Note", OccurredOn: "2016-01-04", Data: []byte(fmt.Sprintf(`{"n":%d}`, i))}})
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	var prev ledger.Event
	n, back := 0, 0
	for e, err := range s.ReadAll(ctx, 0) {
		if err != nil {
			t.Fatal(err)
		}
		if n > 0 && e.RecordedAt.Before(prev.RecordedAt) {
			if back == 0 {
				t.Errorf("position %d (%s) recorded at %s, before position %d (%s) at %s", e.Position, e.Stream, e.RecordedAt.Format(ledger.RecordedAtLayout),
					prev.Position, prev.Stream, prev.RecordedAt.Format(ledger.RecordedAtLayout))
			}
			back++
		}
		prev = e
		n++
	}
	if n != writers*appends {
		t.Fatalf("%d events, want %d", n, writers*appends)
	}
	if back > 0 {
		t.Errorf("%d of %d events recorded before the event at the position before theirs", back, n)
	}
}
