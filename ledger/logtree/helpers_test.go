package logtree_test

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"
	"golang.org/x/mod/sumdb/tlog"

	"partyledger/ledger"
	"partyledger/ledger/filestore"
	"partyledger/ledger/ledgertest"
	"partyledger/ledger/logtree"
)

var epoch = time.Date(2016, 3, 8, 9, 0, 0, 0, time.UTC)

func ctxT(t testing.TB) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// detID returns the n-th of a fixed sequence of UUIDs.
func detID(n int) uuid.UUID {
	var id uuid.UUID
	binary.BigEndian.PutUint64(id[8:], uint64(n)+1)
	id[6] = 0x40 // version 4, variant bits: a well-formed UUID
	id[8] |= 0x80
	return id
}

// testLedger is a filestore in a temporary directory behind a Ledger with
// a deterministic clock.
type testLedger struct {
	dir   string
	store *filestore.Store
	l     *ledger.Ledger
	ids   int
}

func newTestLedger(t testing.TB, dir string) *testLedger {
	t.Helper()
	s, err := filestore.Open(dir, filestore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return &testLedger{dir: dir, store: s, l: ledger.New(s, ledger.Options{Clock: ledgertest.NewClock(epoch).Now})}
}

// appendN appends n events to stream in one Append (one frame) and
// returns them as stored.
func (tl *testLedger) appendN(t testing.TB, stream string, n int) []ledger.Result {
	t.Helper()
	ps := make([]ledger.Proposed, n)
	for i := range ps {
		tl.ids++
		ps[i] = ledger.Proposed{ID: detID(tl.ids), Type: "StudySessionHeld", OccurredOn: "2016-03-08", RecordedBy: "tester",
			Data: fmt.Appendf(nil, `{"n":%d,"topic":"学习"}`, tl.ids)}
	}
	rs, err := tl.l.Append(ctxT(t), stream, ledger.Any, ps)
	if err != nil {
		t.Fatalf("append %d events to %s: %v", n, stream, err)
	}
	return rs
}

// fill appends events to a few streams, k at a time, until the log holds
// n events.
func (tl *testLedger) fill(t testing.TB, n, k int) {
	t.Helper()
	for i := 0; int(tl.store.Head()) < n; i++ {
		tl.appendN(t, fmt.Sprintf("org-%d", i%5), min(k, n-int(tl.store.Head())))
	}
}

func (tl *testLedger) events(t testing.TB) []ledger.Event {
	t.Helper()
	var out []ledger.Event
	for e, err := range tl.store.ReadAll(ctxT(t), 0) {
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, e)
	}
	return out
}

// refRoot is the RFC 6962 Merkle tree hash of leaves, computed from the
// RFC's definition with crypto/sha256 alone (no tlog): MTH({}) = SHA-256(),
// MTH({d}) = SHA-256(0x00 ‖ d), MTH(D[n]) = SHA-256(0x01 ‖ MTH(D[0:k]) ‖
// MTH(D[k:n])) for the largest power of two k < n.
func refRoot(leaves [][]byte) tlog.Hash {
	switch len(leaves) {
	case 0:
		return sha256.Sum256(nil)
	case 1:
		return sha256.Sum256(append([]byte{0}, leaves[0]...))
	}
	k := 1
	for k*2 < len(leaves) {
		k *= 2
	}
	l, r := refRoot(leaves[:k]), refRoot(leaves[k:])
	return sha256.Sum256(append(append([]byte{1}, l[:]...), r[:]...))
}

func leafData(events []ledger.Event) [][]byte {
	out := make([][]byte, len(events))
	for i := range events {
		out[i] = events[i].Hash[:]
	}
	return out
}

func openTree(t testing.TB, src logtree.Source, opts logtree.Options) *logtree.Tree {
	t.Helper()
	tr, err := logtree.Open(ctxT(t), src, opts)
	if err != nil {
		t.Fatalf("logtree.Open: %v", err)
	}
	t.Cleanup(func() { tr.Close() })
	return tr
}

func newKey(t testing.TB, dir, origin string) *logtree.Key {
	t.Helper()
	k, _, err := logtree.LoadOrCreateKey(dir+"/"+logtree.KeyFileName, origin)
	if err != nil {
		t.Fatal(err)
	}
	return k
}
