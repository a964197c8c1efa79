package ledger_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/google/uuid"

	"partyledger/ledger"
	"partyledger/ledger/filestore"
)

func openLedger(t *testing.T) *ledger.Ledger {
	t.Helper()
	st, err := filestore.Open(t.TempDir(), filestore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	l := ledger.New(st, ledger.Options{})
	t.Cleanup(func() { l.Close() })
	return l
}

func count(t *testing.T, l *ledger.Ledger) int {
	t.Helper()
	n := 0
	for _, err := range l.ReadAll(context.Background(), 0) {
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	return n
}

// TestRestoringAppendsOnlyWhatItChecked: the second pass of a restore fed
// one event at a time appends an event only when it is the one checked at
// its place; an event sealed correctly but not checked, or one more than
// were checked, stops it with nothing more appended.
func TestRestoringAppendsOnlyWhatItChecked(t *testing.T) {
	ctx := context.Background()
	src := openLedger(t)
	for i, stream := range []string{"org-a", "org-b", "org-a"} {
		var batch []ledger.Proposed
		for k := range 3 {
			batch = append(batch, ledger.Proposed{ID: uuid.New(), Type: "Noted", RecordedBy: "t", Data: []byte(fmt.Sprintf(`{"n":%d}`, 10*i+k))})
		}
		if _, err := src.Append(ctx, stream, ledger.Any, batch); err != nil {
			t.Fatal(err)
		}
	}
	var evs []ledger.Event
	for e, err := range src.ReadAll(ctx, 0) {
		if err != nil {
			t.Fatal(err)
		}
		evs = append(evs, e)
	}

	begin := func(t *testing.T, dst *ledger.Ledger) *ledger.Restoring {
		t.Helper()
		r, err := dst.BeginRestore(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := r.Append(ctx, evs[0]); err == nil {
			t.Fatal("Append before the check accepted")
		}
		for i := range evs {
			if ps, err := r.Check(ctx, i, &evs[i]); err != nil || len(ps) > 0 {
				t.Fatalf("check event %d: %v %v", i, ps, err)
			}
		}
		if ps := r.EndCheck(); len(ps) > 0 {
			t.Fatal(ps)
		}
		return r
	}

	t.Run("an event that is not the one checked", func(t *testing.T) {
		dst := openLedger(t)
		r := begin(t, dst)
		for i := range 4 {
			if _, err := r.Append(ctx, evs[i]); err != nil {
				t.Fatal(err)
			}
		}
		forged := evs[4]
		forged.RecordedBy = "mallory"
		forged.Hash = ledger.ComputeHash(&forged) // sealed correctly, but not what was checked
		if _, err := r.Append(ctx, forged); !errors.Is(err, ledger.ErrRestoreChanged) {
			t.Fatalf("Append of an event not checked: %v, want ErrRestoreChanged", err)
		}
		if _, err := r.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		if n := count(t, dst); n != 4 {
			t.Fatalf("%d events restored, want the 4 before the forged one", n)
		}
	})
	t.Run("more events than were checked", func(t *testing.T) {
		dst := openLedger(t)
		r := begin(t, dst)
		for i := range evs {
			if _, err := r.Append(ctx, evs[i]); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := r.Append(ctx, evs[0]); !errors.Is(err, ledger.ErrRestoreChanged) {
			t.Fatalf("Append past the events checked: %v, want ErrRestoreChanged", err)
		}
		if _, err := r.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		if n := count(t, dst); n != len(evs) {
			t.Fatalf("%d events restored, want %d", n, len(evs))
		}
	})
	t.Run("after a problem nothing is appended", func(t *testing.T) {
		dst := openLedger(t)
		r, err := dst.BeginRestore(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for i := range evs {
			if _, err := r.Check(ctx, i, &evs[i]); err != nil {
				t.Fatal(err)
			}
		}
		// The first event again: its id twice, its stream's chain broken.
		ps, err := r.Check(ctx, len(evs), &evs[0])
		if err != nil || len(ps) == 0 {
			t.Fatalf("an id checked twice: %v %v", ps, err)
		}
		r.EndCheck()
		if _, err := r.Append(ctx, evs[0]); !errors.Is(err, ledger.ErrRestoreRefused) {
			t.Fatalf("Append after a problem: %v, want ErrRestoreRefused", err)
		}
		if n := count(t, dst); n != 0 {
			t.Fatalf("%d events appended after a problem", n)
		}
	})
}
