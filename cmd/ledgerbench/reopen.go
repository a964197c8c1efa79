package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"partyledger/ledger"
	"partyledger/ledger/filestore"
)

// reopenPayload is a typical event payload (about 230 bytes).
var reopenPayload = []byte(`{"attendees":["m-001","m-002","m-003","m-004","m-005","m-006","m-007","m-008"],"notes_kept":true,"topic":"` +
	strings.Repeat("学习贯彻", 8) + `"}`)

// reopenBig builds a store of cfg.ReopenBigEvents events with the
// embedded store's own Append — 1,000 streams, sealed events appended
// 1,000 at a time by 4 writers — and measures reopening it: the median of
// cfg.ReopenRuns opens, and the heap in use with it open. The store is
// removed afterwards (10M events take about 4 GB).
func (b *bench) reopenBig(ctx context.Context) error {
	n := b.cfg.ReopenBigEvents
	dir := filepath.Join(b.root, "fs-reopen-big")
	defer os.RemoveAll(dir)
	t0 := time.Now()
	if err := fillStore(ctx, dir, n); err != nil {
		return err
	}
	b.logf("reopen store: %s events appended in %.1f s, %d MiB", commas(n), time.Since(t0).Seconds(), dirBytes(dir)>>20)
	var ds []time.Duration
	var heap uint64
	var st filestore.OpenStats
	for range b.cfg.ReopenRuns + 1 { // the first brings the files into the page cache
		runtime.GC()
		var before runtime.MemStats
		runtime.ReadMemStats(&before)
		t0 := time.Now()
		s, err := filestore.Open(dir, filestore.Options{})
		if err != nil {
			return err
		}
		ds = append(ds, time.Since(t0))
		st = s.OpenStats()
		runtime.GC()
		var after runtime.MemStats
		runtime.ReadMemStats(&after)
		heap = after.HeapAlloc - min(before.HeapAlloc, after.HeapAlloc)
		if h := s.Head(); int(h) != n {
			s.Close()
			return fmt.Errorf("reopened store holds %d events, want %d", h, n)
		}
		if err := s.Close(); err != nil {
			return err
		}
	}
	ds = ds[1:]
	slices.Sort(ds)
	med := ds[len(ds)/2]
	b.add(Result{Workload: "reopen-big", System: sysOurs, Unit: unitSeconds, Value: med.Seconds(), Seconds: med.Seconds(), Events: int64(n),
		Detail: fmt.Sprintf("filestore.Open: %d segments' index files loaded, %d bytes of frames read; median of %d; %d MiB of heap with the store open (%.1f MiB per million events)",
			st.IndexLoaded, st.ScannedBytes, len(ds), heap>>20, float64(heap)/(1<<20)/(float64(n)/1e6)),
		Extra: map[string]any{"runs_s": durationsSeconds(ds), "heap_mib": heap >> 20}})
	return nil
}

// fillStore appends n sealed events to a new store in dir: 1,000 streams,
// batches of up to 1,000 events, made on every CPU and appended by 4
// writers so that group commit shares the syncs.
func fillStore(ctx context.Context, dir string, n int) error {
	s, err := filestore.Open(dir, filestore.Options{BatchBytes: 4 << 20})
	if err != nil {
		return err
	}
	const streams, batch = 1000, 1000
	type job struct {
		stream int
		rev    uint64
		n      int
		prev   ledger.Hash
	}
	// Each stream's batches come in order through its own lane, so that
	// its revisions and hash chain stay in order.
	type lane struct {
		mu   sync.Mutex
		prev ledger.Hash
		rev  uint64
	}
	lanes := make([]lane, streams)
	jobs := make(chan job)
	go func() {
		defer close(jobs)
		for k := 0; k*batch < n; k++ {
			select {
			case jobs <- job{stream: k % streams, n: min(batch, n-k*batch)}:
			case <-ctx.Done():
				return
			}
		}
	}()
	var wg sync.WaitGroup
	errs := make(chan error, runtime.NumCPU()+4)
	for range max(runtime.NumCPU(), 4) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				l := &lanes[j.stream]
				l.mu.Lock()
				name := fmt.Sprintf("org-%04d", j.stream)
				evs := make([]ledger.Event, j.n)
				for i := range evs {
					e := &evs[i]
					*e = ledger.Event{ID: uuid.New(), Stream: name, Type: "StudySessionHeld", SchemaVersion: ledger.SchemaVersion,
						Revision: l.rev + uint64(i), OccurredOn: "2016-03-08", RecordedAt: time.Date(2016, 3, 8, 9, 0, 0, 0, time.UTC).Add(time.Duration(l.rev+uint64(i)) * time.Second),
						RecordedBy: "bench", Data: reopenPayload, PrevHash: l.prev}
					e.Hash = ledger.ComputeHash(e)
					l.prev = e.Hash
				}
				_, err := s.Append(ctx, name, int64(l.rev)-1, evs)
				l.rev += uint64(j.n)
				l.mu.Unlock()
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		s.Close()
		return err
	}
	if h := s.Head(); int(h) != n {
		s.Close()
		return fmt.Errorf("filled %d events, want %d", h, n)
	}
	return s.Close()
}
