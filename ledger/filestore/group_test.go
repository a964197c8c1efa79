package filestore_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"partyledger/ledger"
	"partyledger/ledger/filestore"
)

// TestLoneWriterCommitsInline checks that an append to an idle store is
// written and synced by its caller's goroutine, with no hand-over to the
// committer goroutine and back, and that appends arriving during that
// commit are committed by the committer goroutine, together.
func TestLoneWriterCommitsInline(t *testing.T) {
	m := newMemFS()
	var mu sync.Mutex
	var stacks []string
	opts := groupOpts(m)
	opts.SyncObserver = func(time.Duration) {
		buf := make([]byte, 16<<10)
		mu.Lock()
		stacks = append(stacks, string(buf[:runtime.Stack(buf, false)]))
		mu.Unlock()
	}
	s := open(t, memDir, opts)
	for i := range 3 {
		mustAppend(t, s, "org-lone", int64(i)-1, chainFrom(t, s, "org-lone", 1))
	}
	mu.Lock()
	for i, st := range stacks {
		if !strings.Contains(st, "TestLoneWriterCommitsInline") {
			t.Errorf("sync %d of a lone writer ran on another goroutine:\n%s", i, st)
		}
	}
	stacks = nil
	mu.Unlock()

	// Hold the next inline commit in its sync; appends arriving meanwhile
	// wait, and the committer goroutine commits them as one frame.
	gate, entered := holdFirstSync(m)
	first := appendAsync(s, "org-first", 1)
	<-entered
	const n = 8
	errs := queueAppends(s, n, 1)
	close(gate)
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	for range n {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(stacks) != 2 {
		t.Fatalf("%d syncs for the held append and the %d behind it, want 2 (theirs shared)", len(stacks), n)
	}
	if !strings.Contains(stacks[1], "(*Store).run") {
		t.Errorf("the batch behind an inline commit was not synced by the committer goroutine:\n%s", stacks[1])
	}
	if got := len(readAll(t, s, 0)); got != 3+1+n {
		t.Fatalf("%d events readable, want %d", got, 3+1+n)
	}
}

// holdFirstSync makes the next Sync of m wait until gate is closed; entered
// is closed when it starts waiting.
func holdFirstSync(m *memFS) (gate, entered chan struct{}) {
	gate, entered = make(chan struct{}), make(chan struct{})
	var once sync.Once
	m.mu.Lock()
	m.onSync = func() {
		once.Do(func() {
			close(entered)
			<-gate
		})
	}
	m.mu.Unlock()
	return gate, entered
}

// appendAsync appends n events to a new stream in the background; the
// channel gets its error.
func appendAsync(s *filestore.Store, stream string, n int) <-chan error {
	done := make(chan error, 1)
	go func() {
		_, err := s.Append(context.Background(), stream, ledger.NoStream, chain(stream, nil, n))
		done <- err
	}()
	return done
}

// queueAppends starts appends of per events to each of the new streams
// org-0 … org-(n-1) behind a commit held in its sync, and returns once all
// of them wait in the queue; the channel gets their errors.
func queueAppends(s *filestore.Store, n, per int) <-chan error {
	errs := make(chan error, n)
	for i := range n {
		go func() { errs <- <-appendAsync(s, fmt.Sprintf("org-%d", i), per) }()
	}
	for filestore.QueueLen(s) < n {
		runtime.Gosched()
	}
	return errs
}

// chainFrom returns n sealed events continuing stream as stored in s.
func chainFrom(t *testing.T, s *filestore.Store, stream string, n int) []ledger.Event {
	t.Helper()
	last, err := s.LastEvent(context.Background(), stream)
	switch {
	case errors.Is(err, ledger.ErrStreamNotFound):
		return chain(stream, nil, n)
	case err != nil:
		t.Fatal(err)
	}
	return chain(stream, &last, n)
}

// TestQueueLengthHoldsBackWriters fills the queue behind a commit held in
// its sync: the next writer waits for room, gives up with its context
// (nothing written), and gets in once the queue drains.
func TestQueueLengthHoldsBackWriters(t *testing.T) {
	m := newMemFS()
	opts := groupOpts(m)
	opts.QueueLength = 2
	s := open(t, memDir, opts)
	gate, entered := holdFirstSync(m)
	first := appendAsync(s, "org-first", 1)
	<-entered
	queued := queueAppends(s, 2, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := s.Append(ctx, "org-late", ledger.NoStream, chain("org-late", nil, 1)); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("append to a full queue: %v, want its context's deadline", err)
	}
	if got := filestore.QueueLen(s); got != 2 {
		t.Fatalf("queue holds %d appends, want the 2 that fit", got)
	}
	late := appendAsync(s, "org-3", 1)
	select {
	case err := <-late:
		t.Fatalf("append to a full queue returned before the queue drained: %v", err)
	case <-time.After(20 * time.Millisecond):
	}
	close(gate)
	for _, err := range []error{<-first, <-queued, <-queued, <-late} {
		if err != nil {
			t.Fatal(err)
		}
	}
	all := readAll(t, s, 0)
	if len(all) != 4 {
		t.Fatalf("%d events, want 4", len(all))
	}
	for _, e := range all {
		if e.Stream == "org-late" {
			t.Fatal("the append that gave up waiting for room was written")
		}
	}
}

// TestCloseCompletesQueuedAppends starts Close while a writer commits
// inline with appends queued behind it: Close waits for that commit, the
// queued appends are committed, and appends after Close started fail.
func TestCloseCompletesQueuedAppends(t *testing.T) {
	m := newMemFS()
	s := open(t, memDir, groupOpts(m))
	gate, entered := holdFirstSync(m)
	first := appendAsync(s, "org-first", 1)
	<-entered
	const n = 5
	errs := queueAppends(s, n, 2)
	closed := make(chan error, 1)
	go func() { closed <- s.Close() }()
	deadline := time.Now().Add(5 * time.Second)
	for {
		// An append that queues before Close starts waits behind the held
		// commit; its short context makes it give up, never written.
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Millisecond)
		_, err := s.Append(ctx, "org-after", ledger.NoStream, chain("org-after", nil, 1))
		cancel()
		if errors.Is(err, ledger.ErrClosed) {
			break
		}
		if !errors.Is(err, context.DeadlineExceeded) || time.Now().After(deadline) {
			t.Fatalf("append after Close started: %v, want ErrClosed", err)
		}
		time.Sleep(time.Millisecond)
	}
	select {
	case err := <-closed:
		t.Fatalf("Close returned (%v) while a commit was held in its sync", err)
	case <-time.After(20 * time.Millisecond):
	}
	close(gate)
	if err := <-closed; err != nil {
		t.Fatal(err)
	}
	if err := <-first; err != nil {
		t.Fatalf("append committing when Close started: %v", err)
	}
	for range n {
		if err := <-errs; err != nil {
			t.Fatalf("append queued before Close: %v", err)
		}
	}
	s2, err := filestore.Open(memDir, groupOpts(m))
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if got := len(readAll(t, s2, 0)); got != 1+2*n {
		t.Fatalf("%d events after reopening, want %d", got, 1+2*n)
	}
}

// TestCommitterYieldsToAnsweredWriters checks the committer's yield before
// a batch on one processor: runnable writers get to queue their appends
// first, up to the size of the previous batch; with nobody runnable the
// committer goes on at once. The scheduler now and then runs the yielding
// goroutine again first (its fairness check of the global queue, one
// schedule in 61), so each case gets a few tries and must succeed in one.
func TestCommitterYieldsToAnsweredWriters(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	for _, c := range []struct{ want, writers int }{{4, 4}, {3, 6}} {
		best := 0
		for range 5 {
			best = max(best, filestore.LetWritersQueue(c.want, c.writers))
		}
		if best < c.want {
			t.Errorf("%d of %d runnable writers queued before a batch wanting %d, want at least %d", best, c.writers, c.want, c.want)
		}
	}
	start := time.Now()
	if got := filestore.LetWritersQueue(64, 0); got != 0 {
		t.Errorf("%d appends queued with no writer", got)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("the committer waited %v with nobody to yield to", d)
	}
}

// TestPanicInInlineCommitFailsTheStore panics inside a writer's inline
// commit (as a bug would; net/http recovers a handler's panic and goes
// on): the panic reaches the writer, the store turns read-only, and later
// appends are refused instead of waiting for an owner that is gone.
func TestPanicInInlineCommitFailsTheStore(t *testing.T) {
	m := newMemFS()
	s, err := filestore.Open(memDir, groupOpts(m))
	if err != nil {
		t.Fatal(err)
	}
	closed := make(chan error, 1)
	defer func() {
		go func() { closed <- s.Close() }()
		select {
		case <-closed:
		case <-time.After(10 * time.Second):
			t.Error("Close hangs after a panicked commit")
		}
	}()
	m.mu.Lock()
	m.onSync = func() { panic("injected") }
	m.mu.Unlock()
	func() {
		defer func() {
			if p := recover(); p != "injected" {
				t.Fatalf("recovered %v, want the injected panic", p)
			}
		}()
		s.Append(context.Background(), "org-a", ledger.NoStream, chain("org-a", nil, 1))
	}()
	m.mu.Lock()
	m.onSync = nil
	m.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := s.Append(ctx, "org-b", ledger.NoStream, chain("org-b", nil, 1)); !errors.Is(err, ledger.ErrReadOnly) {
		t.Fatalf("append after a panicked commit: %v, want ErrReadOnly", err)
	}
}

// TestInlineCommitAnswersDespiteContext cancels a writer's context while
// it commits its own append inline: the append is committed, and Append
// says so rather than report the context's error.
func TestInlineCommitAnswersDespiteContext(t *testing.T) {
	m := newMemFS()
	s := open(t, memDir, groupOpts(m))
	for i := range 20 {
		stream := fmt.Sprintf("org-%d", i)
		gate, entered := holdFirstSync(m)
		ctx, cancel := context.WithCancel(context.Background())
		type result struct {
			ps  []ledger.Position
			err error
		}
		done := make(chan result, 1)
		go func() {
			ps, err := s.Append(ctx, stream, ledger.NoStream, chain(stream, nil, 1))
			done <- result{ps, err}
		}()
		<-entered
		cancel()
		close(gate)
		r := <-done
		if r.err != nil || len(r.ps) != 1 {
			t.Fatalf("append %d, committed inline while its context ended: %v, %v; want its position", i, r.ps, r.err)
		}
	}
	if got := len(readAll(t, s, 0)); got != 20 {
		t.Fatalf("%d events, want 20", got)
	}
}

// groupOpts are the options of the group-commit tests: default segments,
// so that no roll-over (and no index written in the background) syncs
// while a test holds a commit's sync.
func groupOpts(m *memFS) filestore.Options { return filestore.Options{FS: m} }
