package filestore_test

import (
	"context"
	"errors"
	"fmt"
	"hash/crc32"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"partyledger/ledger"
	"partyledger/ledger/filestore"
)

// plOpts are limits small enough that a few dozen appends fill several
// segments, so that power losses land around every step of a rollover.
func plOpts(m *memFS) filestore.Options {
	return filestore.Options{FS: m, SegmentSize: 1024, MaxRecordSize: 8192, BatchBytes: 1536}
}

// plScenarios is how many seeded scenarios TestPowerLoss runs:
// PARTYLEDGER_POWERLOSS_SCENARIOS if set, else 10,000 with
// PARTYLEDGER_LONG=1, else 1,000.
func plScenarios(t *testing.T) int {
	if v := os.Getenv("PARTYLEDGER_POWERLOSS_SCENARIOS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			t.Fatalf("PARTYLEDGER_POWERLOSS_SCENARIOS=%q: want a positive integer", v)
		}
		return n
	}
	if longMode() {
		return 10000
	}
	return 1000
}

// longMode reports whether PARTYLEDGER_LONG=1 asks for the long versions of
// the reliability tests.
func longMode() bool { return os.Getenv("PARTYLEDGER_LONG") == "1" }

// TestPowerLoss runs 1,000 seeded scenarios (10,000 with PARTYLEDGER_LONG=1)
// of crashes on the in-memory FS. A scenario has two to six rounds. Each
// round opens the store left by the previous crash (so recovery itself may
// be interrupted) and lets one to six goroutines append chained events
// until a crash at a random operation (half the time: at the next file or
// directory sync from there) — every file-system change from then on fails
// and has no effect. Two crashes in three are power losses: what the disk
// may hold afterwards is built by memFS.powerLoss (every unsynced write
// dropped, or some kept in part or in whole; unsynced directory changes
// kept up to a random point), and the next round starts from it. One in
// three kills only the process: the next round starts on the same machine,
// whose page cache still holds what was not synced, for a later power loss
// to take. After every crash, a copy of what a reopen would find is
// reopened and must
//
//   - open without error;
//   - hold, position by position, a prefix of what had been written in
//     commit order (read back from the image a process crash would leave);
//   - hold every event ever acknowledged, at the position Append returned;
//   - hold everything the reopen after the last power loss held;
//   - pass Ledger.Verify (storage checks, then every hash chain recomputed);
//   - keep every torn tail cut after a power loss in a side file whose
//     bytes match the CRC in its name;
//   - have found, before it opened, a commit mark recording at least the
//     position the last successful Open recorded (Open marks what it
//     found complete): a mark whose write returned survives;
//   - have written the index of every segment whose frames it read, so
//     that after a power loss right after it (every unsynced write and
//     directory change lost) the store opens from its index files without
//     reading a frame.
//
// A failure names the seed; PARTYLEDGER_POWERLOSS_SEED=<seed> reruns that
// one scenario (its goroutines interleave differently each run).
func TestPowerLoss(t *testing.T) {
	seeds := make([]uint64, 0, 1000)
	if v := os.Getenv("PARTYLEDGER_POWERLOSS_SEED"); v != "" {
		seed, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			t.Fatalf("PARTYLEDGER_POWERLOSS_SEED=%q: %v", v, err)
		}
		seeds = append(seeds, seed)
	} else {
		for i := range plScenarios(t) {
			seeds = append(seeds, uint64(i+1))
		}
	}
	start := time.Now()
	var st plStats
	for _, seed := range seeds {
		if err := runPowerLoss(seed, &st); err != nil {
			t.Fatalf("scenario seed %d: %v", seed, err)
		}
	}
	t.Logf("%d scenarios, %d crashes (%d during Open; %d of the process only, the power lost later), %d events acknowledged, %d torn tails cut, in %v",
		len(seeds), st.crashes, st.duringOpen, st.processCrashes, st.acked, st.cuts, time.Since(start).Round(time.Millisecond))
}

// TestPowerLossNeedsEveryFsync removes one sync call site of the store at
// a time (filestore.SkipSyncForTest) and runs the scenarios of
// TestPowerLoss until one fails: for every site, some scenario must fail,
// which shows that the harness would notice that fsync missing.
//
// The default run stops at the first failing scenario of a site; with
// PARTYLEDGER_LONG=1 it runs all of them and reports how many fail.
func TestPowerLossNeedsEveryFsync(t *testing.T) {
	// Scenarios tried per site. The rarest to catch (the directory sync
	// after saving a torn tail) fail about one scenario in 150, so 3,000
	// leave no real chance of a miss; the default run stops at the first.
	const budget = 3000
	for _, site := range filestore.SyncSites() {
		t.Run(site, func(t *testing.T) {
			restore := filestore.SkipSyncForTest(site)
			defer restore()
			var st plStats
			failed := 0
			for seed := uint64(1); seed <= budget; seed++ {
				err := runPowerLoss(seed, &st)
				if err == nil {
					continue
				}
				if failed++; failed == 1 {
					t.Logf("without the %s sync, scenario seed %d fails: %v", site, seed, err)
				}
				if !longMode() {
					return // one failure is the proof; the long mode counts them all
				}
			}
			if failed == 0 {
				t.Fatalf("without the %s sync, all %d scenarios pass: the power-loss test cannot see it missing", site, budget)
			}
			t.Logf("without the %s sync, %d of %d scenarios fail", site, failed, budget)
		})
	}
}

type plStats struct {
	crashes, processCrashes, duringOpen, acked, cuts int
}

// runPowerLoss runs one scenario (see TestPowerLoss) and returns the first
// broken promise, or nil.
func runPowerLoss(seed uint64, st *plStats) error {
	r := rand.New(rand.NewPCG(seed, 0x5eed))
	fsys := newMemFS()
	acked := map[ledger.Position]uuid.UUID{} // every acknowledgement so far
	var held []uuid.UUID                     // what the previous reopen held
	sides := map[string]string{}             // side files seen so far → their bytes
	var marked *uint64                       // the head the last successful Open marked
	rounds := 2 + r.IntN(5)
	for round := range rounds {
		// Half the crashes strike as a file or directory sync is about to
		// start, when the most is unsynced.
		fsys.cutPowerAt(1+r.IntN(60), [...]string{"", "", "sync", "syncdir"}[r.IntN(4)])
		s, err := filestore.Open(memDir, plOpts(fsys))
		if err != nil {
			if !errors.Is(err, errPowerLost) {
				return fmt.Errorf("round %d: open: %v", round, err)
			}
			st.duringOpen++
		} else {
			h := uint64(s.Head())
			marked = &h
			werr := plAppend(s, seed, round, r.IntN(6)+1, acked, st)
			s.Close()
			if werr != nil {
				return fmt.Errorf("round %d: %v", round, werr)
			}
		}
		st.crashes++
		written, err := plRead(fsys.crash(true))
		if err != nil {
			return fmt.Errorf("round %d: the image a process crash leaves: %v", round, err)
		}
		if r.IntN(3) == 0 {
			// Only the process died: the next round starts on the same
			// machine, whose page cache still holds what was not synced
			// — for a later power loss to take.
			if _, _, err := plCheck(fsys.crash(true), written, acked, held, sides, marked); err != nil {
				return fmt.Errorf("round %d, process crash: %v", round, err)
			}
			fsys.restorePower()
			st.processCrashes++
			continue
		}
		img, how := fsys.powerLoss(r)
		ids, cut, err := plCheck(img.clone(), written, acked, held, sides, marked)
		if err != nil {
			return fmt.Errorf("round %d, power lost (%s): %v", round, how, err)
		}
		// After a power loss all that is left is durable: from now on it
		// must stay.
		held = ids
		for n, b := range cut {
			if _, ok := sides[n]; !ok {
				sides[n] = b
				st.cuts++
			}
		}
		fsys = img
	}
	return nil
}

// plAppend runs writers goroutines that append chained events of their own
// streams until the store fails, and records every acknowledged event.
func plAppend(s *filestore.Store, seed uint64, round, writers int, acked map[ledger.Position]uuid.UUID, st *plStats) error {
	var (
		mu   sync.Mutex
		errs []error
		wg   sync.WaitGroup
	)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := plWriter(s, rand.New(rand.NewPCG(seed, uint64(round<<8|w))), w, func(ps []ledger.Position, evs []ledger.Event) {
				mu.Lock()
				defer mu.Unlock()
				for i, p := range ps {
					acked[p] = evs[i].ID
				}
				st.acked += len(evs)
			})
			if err != nil {
				mu.Lock()
				errs = append(errs, fmt.Errorf("writer %d: %w", w, err))
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// plWriter appends one to three events at a time, alternating between two
// streams of its own, until an append fails with the power loss or
// ErrReadOnly; any other failure is returned.
func plWriter(s *filestore.Store, r *rand.Rand, w int, ack func([]ledger.Position, []ledger.Event)) error {
	ctx := context.Background()
	last := map[string]*ledger.Event{}
	for i := 0; i < 1000; i++ {
		stream := fmt.Sprintf("w%d-s%d", w, i%2)
		if _, seen := last[stream]; !seen {
			e, err := s.LastEvent(ctx, stream)
			switch {
			case err == nil:
				last[stream] = &e
			case errors.Is(err, ledger.ErrStreamNotFound):
				last[stream] = nil
			default:
				return fmt.Errorf("last event of %s: %w", stream, err)
			}
		}
		evs := chainPadded(stream, last[stream], 1+r.IntN(3), r.IntN(300))
		expected := ledger.NoStream
		if l := last[stream]; l != nil {
			expected = int64(l.Revision)
		}
		ps, err := s.Append(ctx, stream, expected, evs)
		switch {
		case err == nil:
			ack(ps, evs)
			last[stream] = &evs[len(evs)-1]
		case errors.Is(err, errPowerLost) || errors.Is(err, ledger.ErrReadOnly):
			return nil
		default:
			return fmt.Errorf("append to %s: %w", stream, err)
		}
	}
	return errors.New("the power was never cut")
}

// chainPadded is chain with pad bytes of padding in each payload, so that
// frames come in many sizes.
func chainPadded(stream string, last *ledger.Event, n, pad int) []ledger.Event {
	var rev uint64
	var prev ledger.Hash
	if last != nil {
		rev, prev = last.Revision+1, last.Hash
	}
	out := make([]ledger.Event, n)
	for i := range out {
		out[i] = sealed(stream, rev, prev, fmt.Sprintf(`{"n":%d,"pad":"%s"}`, rev, strings.Repeat("x", pad)))
		prev = out[i].Hash
		rev++
	}
	return out
}

// plRead opens the store on fsys and returns the ids of its events in
// position order.
func plRead(fsys *memFS) ([]uuid.UUID, error) {
	s, err := filestore.Open(memDir, plOpts(fsys))
	if err != nil {
		return nil, err
	}
	defer s.Close()
	var ids []uuid.UUID
	for e, err := range s.ReadAll(context.Background(), 0) {
		if err != nil {
			return nil, err
		}
		ids = append(ids, e.ID)
	}
	return ids, nil
}

// plCheck reopens the image of a crash and checks every promise (see
// TestPowerLoss). It returns the ids the store holds and its side files.
func plCheck(img *memFS, written []uuid.UUID, acked map[ledger.Position]uuid.UUID, held []uuid.UUID, sides map[string]string, marked *uint64) (ids []uuid.UUID, now map[string]string, err error) {
	m, found, err := filestore.ReadMark(img, memDir)
	switch {
	case err != nil:
		return nil, nil, fmt.Errorf("read the commit mark: %v", err)
	case marked != nil && !found:
		return nil, nil, fmt.Errorf("no commit mark, though an Open recorded position %d in it", *marked)
	case marked != nil && m.Head < *marked:
		return nil, nil, fmt.Errorf("the commit mark records position %d, an Open recorded %d in it", m.Head, *marked)
	}
	s, err := filestore.Open(memDir, plOpts(img))
	if err != nil {
		return nil, nil, fmt.Errorf("reopen: %v", err)
	}
	defer s.Close()
	for e, err := range s.ReadAll(context.Background(), 0) {
		if err != nil {
			return nil, nil, fmt.Errorf("read: %v", err)
		}
		ids = append(ids, e.ID)
	}
	if len(ids) > len(written) {
		return nil, nil, fmt.Errorf("%d events after reopen, only %d were ever written", len(ids), len(written))
	}
	for i, id := range ids {
		if id != written[i] {
			return nil, nil, fmt.Errorf("not a prefix of what was written: position %d holds %s, %s was written there", i+1, id, written[i])
		}
	}
	for p, id := range acked {
		if int(p) > len(ids) || ids[p-1] != id {
			return nil, nil, fmt.Errorf("acknowledged event %s at position %d is lost (%d events after reopen)", id, p, len(ids))
		}
	}
	if len(ids) < len(held) {
		return nil, nil, fmt.Errorf("%d events after reopen, the previous reopen held %d", len(ids), len(held))
	}
	for i, id := range held {
		if ids[i] != id {
			return nil, nil, fmt.Errorf("position %d holds %s, the previous reopen held %s there", i+1, ids[i], id)
		}
	}
	if _, err := ledger.New(s, ledger.Options{}).Verify(context.Background()); err != nil {
		return nil, nil, fmt.Errorf("verify: %v", err)
	}
	names, _ := img.ReadDir(memDir)
	now = map[string]string{}
	for _, n := range names {
		i := strings.Index(n, ".torn-")
		if i < 0 {
			continue
		}
		var off int64
		var sum uint32
		if _, err := fmt.Sscanf(n[i:], ".torn-%d-%08x", &off, &sum); err != nil {
			return nil, nil, fmt.Errorf("side file %s: bad name", n)
		}
		b := readMem(img, memDir+"/"+n)
		if got := crc32.Checksum(b, crc32.MakeTable(crc32.Castagnoli)); got != sum || len(b) == 0 {
			return nil, nil, fmt.Errorf("side file %s holds %d bytes with CRC %08x: the torn bytes it saved are lost", n, len(b), got)
		}
		now[n] = string(b)
	}
	for n, b := range sides {
		if now[n] != b {
			return nil, nil, fmt.Errorf("side file %s, saved by an earlier reopen, is gone or changed", n)
		}
	}
	s.Close()
	s2, err := filestore.Open(memDir, plOpts(img.crash(false)))
	if err != nil {
		return nil, nil, fmt.Errorf("reopen after a power loss right after Open: %v", err)
	}
	defer s2.Close()
	if st := s2.OpenStats(); st.IndexLoaded != st.Segments || st.ScannedBytes != 0 || len(st.IndexRejected) != 0 {
		return nil, nil, fmt.Errorf("after a power loss right after Open, a reopen did not find every segment's index: %+v", st)
	}
	return ids, now, nil
}

func readMem(m *memFS, name string) []byte {
	m.mu.Lock()
	defer m.mu.Unlock()
	if n := m.names[name]; n != nil {
		return n.data
	}
	return nil
}
