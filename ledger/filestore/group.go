package filestore

import (
	"context"
	"fmt"
	"runtime"
	"time"
)

// Group commit (doc.go, "Guarantees"). Appends queue in s.waiting, in the
// order in which they are to be committed. One committer at a time checks,
// writes and syncs a batch: a writer that finds the store idle commits its
// own append inline, on its own goroutine; appends that arrive while a
// commit is in progress wait, and the committer goroutine takes all of
// them as the next batch, and the next, until none waits. A lone writer
// thus pays one write and one fdatasync and no hand-over between
// goroutines; concurrent writers share each sync.
//
// The commit state (the active segment, the frame buffer, the pending
// maps) belongs to whoever is the owner; ownership changes hands only
// under qmu, so each owner sees everything the previous one wrote.

// commitOwner is who commits now.
type commitOwner uint8

const (
	ownerNone      commitOwner = iota // idle: s.waiting is empty (only an owner hands over with an empty queue)
	ownerWriter                       // a writer commits its own append (commitInline)
	ownerCommitter                    // the committer goroutine (run)
)

// enqueue queues req for commit. It reports inline when the store was idle
// and req's writer now owns the commit (and must call commitInline). It
// waits while QueueLength appends wait already, and fails without queuing
// when ctx ends first or Close has started.
func (s *Store) enqueue(ctx context.Context, req *appendReq) (inline bool, err error) {
	s.qmu.Lock()
	for !s.stopping && len(s.waiting) >= s.opts.QueueLength {
		if s.room == nil {
			s.room = make(chan struct{})
		}
		room := s.room
		s.qmu.Unlock()
		select {
		case <-room:
		case <-s.closing:
			return false, errClosed
		case <-ctx.Done():
			return false, ctx.Err()
		}
		s.qmu.Lock()
	}
	defer s.qmu.Unlock()
	switch {
	case s.stopping:
		return false, errClosed
	case s.owner == ownerNone:
		s.owner = ownerWriter
		return true, nil
	}
	s.waiting = append(s.waiting, req)
	return false, nil
}

// commitInline commits the append of the writer that owns the commit,
// then hands the appends that queued meanwhile to the committer goroutine.
func (s *Store) commitInline(req *appendReq) {
	defer s.handOver()
	s.batch = append(s.batch[:0], req)
	s.commit(s.batch)
	s.batch[0] = nil
}

// handOver ends an inline commit: the appends that queued meanwhile go to
// the committer goroutine, or the store is idle again. A panic in the
// commit (a bug; net/http would recover it and go on) makes the store
// read-only first, so that the appends behind it are answered rather than
// left waiting for an owner that is gone.
func (s *Store) handOver() {
	if p := recover(); p != nil {
		err := fmt.Errorf("internal error: panic while committing: %v", p)
		s.fail(err)
		defer panic(p)
	}
	s.qmu.Lock()
	if len(s.waiting) > 0 {
		s.owner = ownerCommitter
		s.signal()
	} else {
		s.owner = ownerNone
		if s.stopping {
			s.signal() // Close waits for the committer, which waits for this
		}
	}
	s.qmu.Unlock()
}

// signal wakes the committer goroutine (a signal already pending will do).
func (s *Store) signal() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// run is the committer goroutine. It commits the batches a writer handed
// over, and once Close has started, the appends queued before, then stops
// when no writer is committing.
func (s *Store) run() {
	defer close(s.done)
	closing := s.closing
	for {
		select {
		case <-s.wake:
		case <-closing:
			closing = nil // from now on a writer's signal ends the wait
		}
		s.qmu.Lock()
		own := s.owner == ownerCommitter
		s.qmu.Unlock()
		if own {
			s.drain()
		}
		s.qmu.Lock()
		stop := s.stopping && s.owner == ownerNone
		s.qmu.Unlock()
		if stop {
			return
		}
	}
}

// Before each batch after the first, the committer yields the processor to
// the writers it has just answered, so that those that append again join
// the batch rather than wait a whole sync for the next one (on two cores,
// 8 writers put 5 appends in a batch without this, 6–7 with it). It yields
// only while that helps: while fewer appends wait than the previous batch
// held and the queue grew since the last yield, at most yieldRounds times
// and for at most yieldFor. There is still no timer: a committer with
// nobody to yield to goes on at once.
const (
	yieldRounds = 8
	yieldFor    = 100 * time.Microsecond
)

// drain commits the waiting appends, a batch of at most BatchBytes (or one
// larger append) per frame, until none waits; then the store is idle.
func (s *Store) drain() {
	last := 0 // appends in the previous batch
	for {
		if last > 1 {
			s.letWritersQueue(last)
		}
		s.qmu.Lock()
		if len(s.waiting) == 0 {
			s.owner = ownerNone
			s.qmu.Unlock()
			return
		}
		n, bytes := 1, s.waiting[0].size
		for n < len(s.waiting) && bytes+s.waiting[n].size <= s.opts.BatchBytes {
			bytes += s.waiting[n].size
			n++
		}
		last = n
		s.batch = append(s.batch[:0], s.waiting[:n]...)
		rest := copy(s.waiting, s.waiting[n:])
		clear(s.waiting[rest:])
		s.waiting = s.waiting[:rest]
		if s.room != nil {
			close(s.room)
			s.room = nil
		}
		s.qmu.Unlock()
		s.commit(s.batch)
		clear(s.batch) // drop references for the garbage collector
	}
}

// letWritersQueue yields the processor while the queue grows towards want
// appends (see yieldRounds).
func (s *Store) letWritersQueue(want int) {
	var start time.Time
	n := s.queueLen()
	for i := 0; i < yieldRounds && n < want; i++ {
		if i == 0 {
			start = time.Now()
		} else if time.Since(start) > yieldFor {
			return
		}
		runtime.Gosched()
		m := s.queueLen()
		if m == n {
			return // nobody queued meanwhile
		}
		n = m
	}
}

// queueLen is how many appends wait for a commit.
func (s *Store) queueLen() int {
	s.qmu.Lock()
	defer s.qmu.Unlock()
	return len(s.waiting)
}
