package esdb_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/google/uuid"

	"partyledger/ledger"
	"partyledger/ledger/esdb"
	"partyledger/ledger/esdb/esdbtest"
	"partyledger/ledger/ledgertest"
)

// TestConformance runs the ledger's conformance suite against the adapter
// on the wire-protocol test double: the real client, real gRPC.
func TestConformance(t *testing.T) {
	ledgertest.Run(t, func(t *testing.T) ledger.Store {
		return openStore(t, esdbtest.Start(t).URL(), esdb.Options{})
	})
}

// TestConformanceLegacyServer runs the suite against the test double
// answering like a server before 22.6, whose stream reads carry no $all
// positions: the adapter takes them from its id index.
func TestConformanceLegacyServer(t *testing.T) {
	ledgertest.Run(t, func(t *testing.T) ledger.Store {
		srv := esdbtest.Start(t)
		srv.SetLegacyStreamPositions(true)
		return openStore(t, srv.URL(), esdb.Options{})
	})
}

// TestConformanceServer runs the suite against a real EventStoreDB or
// KurrentDB server named by KURRENTDB_URL, each store in a namespace of
// its own so that every run starts empty.
func TestConformanceServer(t *testing.T) {
	url := os.Getenv("KURRENTDB_URL")
	if url == "" {
		t.Skip("KURRENTDB_URL is not set: skipping the conformance suite against a real server " +
			"(e.g. KURRENTDB_URL='esdb://127.0.0.1:2113?tls=false'); it ran against the test double above")
	}
	ledgertest.Run(t, func(t *testing.T) ledger.Store {
		ns := "t" + uuid.NewString()[:8] + "."
		return openStore(t, url, esdb.Options{Namespace: ns})
	})
}

func openStore(t testing.TB, url string, opts esdb.Options) *esdb.Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, err := esdb.Open(ctx, url, opts)
	if err != nil {
		t.Fatalf("open %s: %v", url, err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st
}
