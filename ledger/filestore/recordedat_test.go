package filestore_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"partyledger/ledger"
	"partyledger/ledger/filestore"
)

// TestRefusesSubMicrosecondRecordedAt: the hash chain covers recorded_at to
// the microsecond, so finer digits must never be stored unprotected.
func TestRefusesSubMicrosecondRecordedAt(t *testing.T) {
	s := open(t, t.TempDir(), filestore.Options{})
	e := sealed("org-a", 0, ledger.Hash{}, `{"n":1}`)
	e.RecordedAt = e.RecordedAt.Truncate(time.Microsecond).Add(500 * time.Nanosecond)
	e.Hash = ledger.ComputeHash(&e)
	if _, err := s.Append(context.Background(), "org-a", ledger.NoStream, []ledger.Event{e}); !errors.Is(err, filestore.ErrInvalidAppend) {
		t.Fatalf("append with a sub-microsecond recorded_at: %v, want ErrInvalidAppend", err)
	}
}
