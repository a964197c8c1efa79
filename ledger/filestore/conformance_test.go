package filestore_test

import (
	"testing"

	"partyledger/ledger"
	"partyledger/ledger/filestore"
	"partyledger/ledger/ledgertest"
)

// TestConformance runs the contract suite every ledger.Store passes, on a
// fresh store in a temporary directory per behaviour, with small segments
// so that rollover is exercised too.
func TestConformance(t *testing.T) {
	ledgertest.Run(t, func(t *testing.T) ledger.Store {
		s, err := filestore.Open(t.TempDir(), filestore.Options{SegmentSize: 16 << 10})
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}
