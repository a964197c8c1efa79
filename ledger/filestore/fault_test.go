package filestore_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"

	"partyledger/ledger"
	"partyledger/ledger/filestore"
)

const memDir = "/data"

func memOpts(m *memFS) filestore.Options {
	return filestore.Options{FS: m, SegmentSize: 4096, MaxRecordSize: 8192, BatchBytes: 2048}
}

// TestFaultInjection fails a write, fsync, rename, directory sync or file
// creation at the Nth operation of its kind — once, or persistently (that
// operation and every later one of its kind) — with EIO, ENOSPC or EMFILE
// while eight writers append, and checks the contract: the failing batch's
// callers get the error and no later append is acknowledged (ErrReadOnly
// until reopened) — unless the operation was part of writing a segment
// index, which is not the log: then every append succeeds and the store
// counts the failed index write —, reads go on, a reopen on the same disk with the fault
// still there either works or fails with the fault and changes nothing,
// and after a crash (power loss, torn last write, or process death) a
// reopen holds a consistent prefix containing every acknowledged event and
// takes appends again.
func TestFaultInjection(t *testing.T) {
	faults := []struct {
		kind string
		err  error
		ats  []int
	}{
		{"sync", syscall.EIO, []int{1, 2, 7, 30}},
		{"sync", syscall.ENOSPC, []int{1, 7}}, // delayed allocation: fsync is where a full disk shows
		{"write", syscall.ENOSPC, []int{1, 3, 25}},
		{"write", syscall.EIO, []int{2, 9}},
		{"syncdir", syscall.EIO, []int{1, 2}}, // segment rollover
		{"rename", syscall.EIO, []int{1}},
		{"open", syscall.EMFILE, []int{1}},
	}
	for _, f := range faults {
		for _, at := range f.ats {
			for _, sticky := range []bool{false, true} {
				how := "once"
				if sticky {
					how = "persistently"
				}
				t.Run(fmt.Sprintf("%s fails with %s at %d %s", f.kind, errName(f.err), at, how), func(t *testing.T) {
					runFault(t, f.kind, at, f.err, sticky)
				})
			}
		}
	}
}

func errName(err error) string {
	switch err {
	case syscall.EIO:
		return "EIO"
	case syscall.ENOSPC:
		return "ENOSPC"
	case syscall.EMFILE:
		return "EMFILE"
	}
	return err.Error()
}

func runFault(t *testing.T, kind string, at int, injected error, sticky bool) {
	m := newMemFS()
	s, err := filestore.Open(memDir, memOpts(m))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	// Seed a little history first so there is something before the fault.
	seed := chain("org-seed", nil, 3)
	mustAppend(t, s, "org-seed", ledger.NoStream, seed)
	m.failOn(kind, at, injected, sticky)

	const writers, per = 8, 40
	var (
		mu           sync.Mutex
		acked        = append([]ledger.Event{}, seed...)
		injectedSeen int
		wg           sync.WaitGroup
	)
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			stream := fmt.Sprintf("org-%d", w)
			var last *ledger.Event
			for i := 0; i < per; i++ {
				evs := chain(stream, last, 1+i%2)
				expected := ledger.NoStream
				if last != nil {
					expected = int64(last.Revision)
				}
				_, err := s.Append(context.Background(), stream, expected, evs)
				if err == nil {
					mu.Lock()
					acked = append(acked, evs...)
					mu.Unlock()
					last = &evs[len(evs)-1]
					continue
				}
				switch {
				case errors.Is(err, injected):
					mu.Lock()
					injectedSeen++
					mu.Unlock()
				case errors.Is(err, ledger.ErrReadOnly):
				default:
					t.Errorf("writer %d: %v, want the injected error or ErrReadOnly", w, err)
				}
				// Never retried-and-acknowledged: the store stays read-only.
				_, err = s.Append(context.Background(), stream, expected, chain(stream, last, 1))
				if !errors.Is(err, ledger.ErrReadOnly) {
					t.Errorf("writer %d: append after a failure: %v, want ErrReadOnly", w, err)
				}
				return
			}
		}()
	}
	wg.Wait()
	if !m.hitAny() {
		t.Skipf("the workload did fewer than %d %s operations", at, kind)
	}
	if s.Err() == nil {
		// Only the write of a segment index failed: no append may fail
		// for it, and the store must say that it failed.
		if injectedSeen != 0 || len(acked) != len(seed)+writers*per*3/2 {
			t.Fatalf("the store holds no failure, yet %d callers got the injected error and %d events were acknowledged", injectedSeen, len(acked))
		}
		if s.IndexWriteFailures() == 0 {
			t.Fatal("the fault was hit, the log took every append, and the store reports no failed index write")
		}
		t.Logf("the fault hit an index write: %d index writes failed, %d events acknowledged", s.IndexWriteFailures(), len(acked))
	} else {
		if injectedSeen == 0 {
			t.Fatal("no caller got the injected error")
		}
		if !errors.Is(s.Err(), injected) {
			t.Fatalf("Err() = %v, want the injected error", s.Err())
		}
		t.Logf("%d events acknowledged, %d callers got the injected error", len(acked), injectedSeen)
		if _, err := s.Append(context.Background(), "org-late", ledger.NoStream, chain("org-late", nil, 1)); !errors.Is(err, ledger.ErrReadOnly) {
			t.Fatalf("append after the failure: %v, want ErrReadOnly", err)
		}
	}
	t.Run("reads go on", func(t *testing.T) {
		checkHolds(t, s, acked, true)
	})
	s.Close()
	t.Run("reopen with the fault still there", func(t *testing.T) {
		// The kernel still holds what was written: the store may hold
		// more than was acknowledged (a write whose sync failed), or
		// cut a torn write — if it can.
		before := files(m)
		s2, err := filestore.Open(memDir, memOpts(m))
		if err != nil {
			if !sticky || !errors.Is(err, injected) {
				t.Fatalf("reopen: %v", err)
			}
			if after := files(m); !sameSegmentsAndSideFiles(before, after) {
				t.Fatalf("a failed reopen changed the files")
			}
			if _, _, _, seq := auditMarkBytes(readMem(m, memDir+"/COMMIT")); seq == 0 {
				t.Fatal("after a failed reopen the commit mark has no valid slot")
			}
			t.Logf("reopen fails with the fault, files unchanged: %v", err)
			return
		}
		defer s2.Close()
		checkHolds(t, s2, acked, false)
		if err := s2.VerifyStorage(ctxT(t)); err != nil {
			t.Fatal(err)
		}
		stream := "org-reopened"
		var last *ledger.Event
		for i := range 30 {
			evs := chain(stream, last, 1)
			_, err := s2.Append(context.Background(), stream, int64(i)-1, evs)
			if err == nil {
				last = &evs[0]
				continue
			}
			if !sticky || !errors.Is(err, injected) {
				t.Fatalf("append after reopen: %v", err)
			}
			if _, err := s2.Append(context.Background(), stream, int64(i)-1, evs); !errors.Is(err, ledger.ErrReadOnly) {
				t.Fatalf("append after a failure after reopen: %v, want ErrReadOnly", err)
			}
			t.Logf("reopened; append %d fails with the fault, then ErrReadOnly", i+1)
			return
		}
		t.Logf("reopened; 30 appends")
	})
	half := func(n int) int { return n / 2 }
	for _, mode := range []struct {
		name string
		keep bool
		torn func(int) int
	}{{"after power loss", false, nil}, {"after power loss tearing the last write", false, half}, {"after process crash", true, nil}} {
		t.Run(mode.name, func(t *testing.T) {
			m2 := m.crashTorn(mode.keep, mode.torn)
			s2, err := filestore.Open(memDir, memOpts(m2))
			if err != nil {
				t.Fatalf("reopen: %v", err)
			}
			defer s2.Close()
			checkHolds(t, s2, acked, false)
			if err := s2.VerifyStorage(ctxT(t)); err != nil {
				t.Fatal(err)
			}
			// Writable again, and what it writes survives the next crash.
			e := chain("org-after", nil, 2)
			mustAppend(t, s2, "org-after", ledger.NoStream, e)
			s2.Close()
			s3, err := filestore.Open(memDir, memOpts(m2.crash(false)))
			if err != nil {
				t.Fatalf("second reopen: %v", err)
			}
			defer s3.Close()
			checkHolds(t, s3, append(acked, e...), false)
		})
	}
}

// sameSegmentsAndSideFiles reports whether two listings of files agree on
// everything but *.tmp leftovers, which Open removes, and the commit mark:
// a reopen whose write of it failed may have torn the slot it was
// rewriting — by design, the other slot still holds a mark (the caller
// checks that).
func sameSegmentsAndSideFiles(a, b map[string]string) bool {
	drop := func(m map[string]string) map[string]string {
		out := map[string]string{}
		for n, d := range m {
			if !strings.HasSuffix(n, ".tmp") && !strings.HasSuffix(n, "/COMMIT") {
				out[n] = d
			}
		}
		return out
	}
	return maps.Equal(drop(a), drop(b))
}

// checkHolds checks that s holds every event of acked exactly once (and,
// if exact, nothing else), with intact chains and contiguous positions.
func checkHolds(t *testing.T, s *filestore.Store, acked []ledger.Event, exact bool) {
	t.Helper()
	all := readAll(t, s, 0)
	checkChains(t, all)
	for i, e := range all {
		if e.Position != ledger.Position(i+1) {
			t.Fatalf("event %d at position %d", i, e.Position)
		}
	}
	byID := map[[16]byte]ledger.Event{}
	for _, e := range all {
		if _, dup := byID[e.ID]; dup {
			t.Fatalf("event %s stored twice", e.ID)
		}
		byID[e.ID] = e
	}
	for _, want := range acked {
		got, ok := byID[want.ID]
		if !ok {
			t.Fatalf("acknowledged event %s (stream %s revision %d) is missing", want.ID, want.Stream, want.Revision)
		}
		if d := sameEvent(got, want); d != "" {
			t.Fatalf("event %s: %s", want.ID, d)
		}
	}
	if exact && len(all) != len(acked) {
		t.Fatalf("%d events readable, %d acknowledged", len(all), len(acked))
	}
}

// TestFailedSyncFailsTheWholeBatch lines up several appends behind a sync
// in progress, fails the sync that commits them together, and checks that
// every one of their callers gets the error.
func TestFailedSyncFailsTheWholeBatch(t *testing.T) {
	m := newMemFS()
	s, err := filestore.Open(memDir, filestore.Options{FS: m})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	gate, entered := holdFirstSync(m)
	first := appendAsync(s, "org-first", 1)
	<-entered // the first append's writer is inside its sync
	m.failOn("sync", 2, syscall.EIO, false)

	const n = 10
	errs := queueAppends(s, n, 1)
	close(gate)
	if err := <-first; err != nil {
		t.Fatalf("first append: %v", err)
	}
	for i := 0; i < n; i++ {
		if err := <-errs; !errors.Is(err, syscall.EIO) {
			t.Errorf("append in the failed batch: %v, want EIO", err)
		}
	}
	if _, err := s.Append(context.Background(), "org-x", ledger.NoStream, chain("org-x", nil, 1)); !errors.Is(err, ledger.ErrReadOnly) {
		t.Fatalf("append after the failure: %v, want ErrReadOnly", err)
	}
	if got := readAll(t, s, 0); len(got) != 1 {
		t.Fatalf("%d events readable, want the 1 acknowledged", len(got))
	}
}

// TestFaultDuringRecovery fails each step of a torn-tail cut — saving the
// bytes (sync, rename, directory sync) and zeroing them in the segment
// (the second write): Open must fail with the fault, and a later Open
// must succeed, the torn bytes saved and zeros in their place.
func TestFaultDuringRecovery(t *testing.T) {
	m := newMemFS()
	s, err := filestore.Open(memDir, memOpts(m))
	if err != nil {
		t.Fatal(err)
	}
	acked := chain("org-a", nil, 3)
	mustAppend(t, s, "org-a", ledger.NoStream, acked)
	end := filestore.DataEnd(s)
	s.Close()
	// Tear a write: a frame's first bytes where the frames end, in the
	// free space.
	seg := memDir + "/" + m.segmentNames(memDir)[0]
	f, err := m.OpenFile(seg, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	size, _ := f.Size()
	f.WriteAt([]byte{200, 0, 0, 0, 1, 2, 3, 4, 1, 0}, end)
	f.Close()

	for _, step := range []struct {
		kind string
		at   int
	}{{"sync", 1}, {"syncdir", 1}, {"write", 2}, {"rename", 1}} {
		t.Run(fmt.Sprintf("%s %d fails", step.kind, step.at), func(t *testing.T) {
			flt := m.failOn(step.kind, step.at, syscall.EIO, false)
			if s, err := filestore.Open(memDir, memOpts(m)); err == nil {
				s.Close()
				t.Fatalf("Open succeeded although its %s failed", step.kind)
			} else if !errors.Is(err, syscall.EIO) {
				t.Fatalf("Open: %v, want the injected EIO", err)
			}
			m.mu.Lock()
			flt.at = -1 // spent
			m.mu.Unlock()
		})
	}
	s2, err := filestore.Open(memDir, memOpts(m))
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	checkHolds(t, s2, acked, true)
	if b := readMem(m, seg); int64(len(b)) != size || nonZeroEnd(b) > end {
		t.Fatalf("segment of %d bytes ends its frames at %d, want %d bytes with zeros from %d", len(b), nonZeroEnd(b), size, end)
	}
	if tf, err := s2.TornFiles(); err != nil || len(tf) == 0 || tf[0].Offset != end {
		t.Fatalf("TornFiles = %+v, %v; want the torn bytes from %d", tf, err, end)
	}
}
