package main

import (
	"bytes"
	"context"
	"fmt"
	"iter"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
	"unsafe"

	"partyledger/cmd/ledgerbench/internal/stats"
	"partyledger/domain"
	"partyledger/ledger"
	"partyledger/ledger/books"
	"partyledger/ledger/filestore"
	"partyledger/projections"
)

// streamGap is how many events of other streams are committed between two
// events of the stream that is read back.
const streamGap = 9

// buildStream appends n events to stream through l, perAppend at a time,
// each append followed by an append of streamGap events to another stream:
// an organisation's stream as it grows over a year (one commit per event)
// or as an import writes it (many events per commit), interleaved with
// everybody else's.
func buildStream(ctx context.Context, l *ledger.Ledger, stream string, n, perAppend int) error {
	some, gap := proposals(perAppend), proposals(streamGap)
	for rev := ledger.NoStream; rev < int64(n)-1; rev += int64(perAppend) {
		if _, err := l.Append(ctx, stream, expect(rev), some[:min(perAppend, n-1-int(rev))]); err != nil {
			return fmt.Errorf("build %s: %w", stream, err)
		}
		if _, err := l.Append(ctx, stream+"-others", ledger.Any, gap); err != nil {
			return fmt.Errorf("build %s: %w", stream, err)
		}
	}
	return nil
}

// readStreamRun reads stream through the store reads times and returns
// the latency of each whole read. Every read must yield want events.
func readStreamRun(ctx context.Context, s ledger.Store, stream string, want, reads int) (appendRun, error) {
	var rec stats.Recorder
	lane := rec.Lane()
	var total time.Duration
	for i := 0; i < reads; i++ {
		t0 := time.Now()
		n := 0
		for e, err := range s.ReadStream(ctx, stream, 0) {
			if err != nil {
				return appendRun{}, err
			}
			if e.Revision != uint64(n) {
				return appendRun{}, fmt.Errorf("read %s: revision %d at index %d", stream, e.Revision, n)
			}
			n++
		}
		d := time.Since(t0)
		if n != want {
			return appendRun{}, fmt.Errorf("read %s: %d events, want %d", stream, n, want)
		}
		lane.Add(d)
		total += d
	}
	samples := rec.Samples()
	return appendRun{Events: int64(want * reads), Ops: int64(reads), Elapsed: total, Lat: stats.Summarise(samples), samples: samples}, nil
}

// scanFunc reads every event of a store in order, handing fn the stream,
// type and payload bytes without decoding the payload.
type scanFunc func(ctx context.Context, fn func(stream, typ, data []byte)) (int, error)

// storeScan is scanFunc over a ledger.Store's ReadAll: the envelope
// decoded from the binary record, the payload untouched.
func storeScan(s ledger.Store) scanFunc {
	return func(ctx context.Context, fn func(stream, typ, data []byte)) (int, error) {
		n := 0
		for e, err := range s.ReadAll(ctx, 0) {
			if err != nil {
				return n, err
			}
			fn(unsafeBytes(e.Stream), unsafeBytes(e.Type), e.Data)
			n++
		}
		return n, nil
	}
}

// fileScan is scanFunc over the embedded store's Scan: stream, type and
// payload in place (in the segment's read-only mapping), valid during the
// call — what bbolt's Scan hands over from its mapped file.
func fileScan(s *filestore.Store) scanFunc {
	return func(ctx context.Context, fn func(stream, typ, data []byte)) (int, error) {
		n := 0
		err := s.Scan(ctx, 0, func(v *filestore.EventView) error {
			fn(v.Stream(), v.Type(), v.Data())
			n++
			return nil
		})
		return n, err
	}
}

// unsafeBytes lets a string be passed, without a copy, where bytes are
// only read.
func unsafeBytes(s string) []byte { return unsafe.Slice(unsafe.StringData(s), len(s)) }

// headerCounts counts events by type and by stream, reading only the
// envelope.
// Counters are pointers so that counting an existing key is a lookup,
// which converts the bytes to a string key without allocating.
type headerCounts struct {
	types   map[string]*int
	streams map[string]*int
	orgs    int
	events  int
}

func newHeaderCounts() *headerCounts {
	return &headerCounts{types: map[string]*int{}, streams: map[string]*int{}}
}

func (h *headerCounts) add(stream, typ []byte) {
	h.events++
	if c := h.types[string(typ)]; c != nil {
		*c++
	} else {
		h.types[string(typ)] = ptr(1)
	}
	if c := h.streams[string(stream)]; c != nil {
		*c++
		return
	}
	h.streams[string(stream)] = ptr(1)
	if bytes.HasPrefix(stream, []byte(books.PrefixOrg)) {
		h.orgs++
	}
}

func ptr(n int) *int { return &n }

// roundRobin runs every function runs times, one after the other in
// turn, and returns each one's times; alternating spreads the machine's
// slow spells over all of them.
func roundRobin(runs int, fns []func() error) ([][]time.Duration, error) {
	out := make([][]time.Duration, len(fns))
	for range runs {
		for i, f := range fns {
			// Each run starts on a collected heap whose free memory is
			// back with the OS, so that neither collecting the garbage
			// of the system run before it nor the runtime's background
			// return of that memory falls into its time.
			debug.FreeOSMemory()
			t0 := time.Now()
			if err := f(); err != nil {
				return nil, err
			}
			out[i] = append(out[i], time.Since(t0))
		}
	}
	return out, nil
}

// bestOf runs f runs times and returns the shortest time and the first
// run's time (the coldest).
func bestOf(runs int, f func() error) (best, first time.Duration, err error) {
	for i := range runs {
		t0 := time.Now()
		if err := f(); err != nil {
			return 0, 0, err
		}
		d := time.Since(t0)
		if i == 0 {
			first = d
		}
		if i == 0 || d < best {
			best = d
		}
	}
	return best, first, nil
}

// folder folds events into facts the way the scoreboard does: an
// organisation's facts from its stream, the committee's schedule from its.
type folder struct {
	orgs   map[string]*projections.Facts // by stream
	sched  *projections.Schedule
	events int
}

func newFolder() *folder {
	return &folder{orgs: map[string]*projections.Facts{}, sched: projections.NewSchedule()}
}

func (f *folder) fold(e *ledger.Event) error {
	f.events++
	switch {
	case strings.HasPrefix(e.Stream, books.PrefixOrg):
		r, err := books.Recorded(e)
		if err != nil {
			return err
		}
		facts := f.orgs[e.Stream]
		if facts == nil {
			reg, ok := r.Payload.(*domain.OrganizationRegistered)
			if !ok {
				return fmt.Errorf("%s begins with %s, not a registration", e.Stream, e.Type)
			}
			facts = projections.NewFacts(reg.Code)
			f.orgs[e.Stream] = facts
		}
		return facts.Apply(r)
	case e.Stream == books.CommitteeStream:
		r, err := books.Recorded(e)
		if err != nil {
			return err
		}
		return f.sched.Apply(r)
	}
	return nil
}

// replayResult sums up a replay.
type replayResult struct {
	events, orgs, facts int // facts: events held by all the facts
}

// replay reads seq and folds every event into facts. With one worker the
// reading goroutine decodes and folds; with more, it hands events in
// chunks to workers that each own the streams shard assigns them, so each
// stream is still folded in order.
func replay(ctx context.Context, seq iter.Seq2[ledger.Event, error], workers int) (replayResult, error) {
	if workers <= 1 {
		f := newFolder()
		for e, err := range seq {
			if err != nil {
				return replayResult{}, err
			}
			if err := f.fold(&e); err != nil {
				return replayResult{}, err
			}
		}
		return summarise(f), nil
	}
	const chunk = 512
	chans := make([]chan []ledger.Event, workers)
	folders := make([]*folder, workers)
	errs := make([]error, workers)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	for w := range workers {
		chans[w] = make(chan []ledger.Event, 8)
		folders[w] = newFolder()
		wg.Add(1)
		go func() {
			defer wg.Done()
			for evs := range chans[w] {
				if errs[w] != nil {
					continue // drain
				}
				for i := range evs {
					if err := folders[w].fold(&evs[i]); err != nil {
						errs[w] = err
						cancel()
						break
					}
				}
			}
		}()
	}
	bufs := make([][]ledger.Event, workers)
	var rerr error
	for e, err := range seq {
		if err != nil {
			rerr = err
			break
		}
		w := shard(e.Stream, workers)
		if bufs[w] == nil {
			bufs[w] = make([]ledger.Event, 0, chunk)
		}
		bufs[w] = append(bufs[w], e)
		if len(bufs[w]) == chunk {
			chans[w] <- bufs[w]
			bufs[w] = nil
		}
	}
	for w := range workers {
		if len(bufs[w]) > 0 {
			chans[w] <- bufs[w]
		}
		close(chans[w])
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return replayResult{}, err
		}
	}
	if rerr != nil {
		return replayResult{}, rerr
	}
	var out replayResult
	for _, f := range folders {
		r := summarise(f)
		out.events += r.events
		out.orgs += r.orgs
		out.facts += r.facts
	}
	return out, nil
}

func summarise(f *folder) replayResult {
	r := replayResult{events: f.events, orgs: len(f.orgs), facts: f.sched.Len()}
	for _, facts := range f.orgs {
		r.facts += facts.Len()
	}
	return r
}

// faultCount is how many page faults the process took: minor (the page
// was in memory) and major (it had to be read from the disk).
type faultCount struct {
	Minor int64 `json:"minor"`
	Major int64 `json:"major"`
}

// pageFaults reads the process's page fault counters (zero where the
// platform has none).
func pageFaults() faultCount {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return faultCount{}
	}
	return faultCount{Minor: int64(ru.Minflt), Major: int64(ru.Majflt)}
}

func (f faultCount) minus(g faultCount) faultCount {
	return faultCount{Minor: f.Minor - g.Minor, Major: f.Major - g.Major}
}

// mappedKiB is how much of the files a system reads through mappings is
// resident in this process, and how much of that is mapped by huge (PMD)
// page-table entries: one entry per 2 MiB instead of 512. Where the
// kernel clears accessed bits behind the process's back (this machine's
// DAMON sampling) and the hypervisor traps setting them again, each 4 KiB
// entry costs microseconds on the next touch; the embedded store's
// segments are mapped with huge pages for that reason (ledger/filestore,
// mmap.go "Huge pages"), bbolt's file is not.
type mappedKiB struct {
	Rss    int64 `json:"rss_kib"`
	PmdMap int64 `json:"pmd_mapped_kib"`
}

// mappedFiles sums /proc/self/smaps over the mappings of files whose path
// contains sub (zero where there is no smaps). Read after a run, never
// before: walking the page tables must not warm them for the run.
func mappedFiles(sub string) mappedKiB {
	var m mappedKiB
	b, err := os.ReadFile("/proc/self/smaps")
	if err != nil {
		return m
	}
	in := false
	for _, ln := range strings.Split(string(b), "\n") {
		fields := strings.Fields(ln)
		if len(fields) == 0 {
			continue
		}
		if !strings.HasSuffix(fields[0], ":") {
			in = len(fields) >= 6 && strings.Contains(fields[5], sub)
			continue
		}
		if !in || len(fields) < 2 {
			continue
		}
		v, _ := strconv.ParseInt(fields[1], 10, 64)
		switch fields[0] {
		case "Rss:":
			m.Rss += v
		case "FilePmdMapped:":
			m.PmdMap += v
		}
	}
	return m
}
