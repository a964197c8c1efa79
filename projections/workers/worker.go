package workers

import (
	"context"
	"errors"
	"fmt"
	"time"

	"partyledger/ledger"
	"partyledger/ledger/books"
	"partyledger/ledger/esdb"
)

// Defaults of Options.
const (
	DefaultGroup      = "partyledger-facts"
	DefaultBuffer     = 256
	DefaultLinger     = 500 * time.Millisecond
	DefaultCoveredMax = 1 << 16
	DefaultKept       = 2
	maxRaces          = 8
	maxRejoinDelay    = 5 * time.Second
)

// Options configure a Worker.
type Options struct {
	// Name identifies the worker in logs and in the snapshots it writes.
	Name string
	// Group is the persistent subscription group. Default DefaultGroup.
	Group string
	// Buffer is how many deliveries the server sends the worker before
	// it acknowledges some. Default DefaultBuffer.
	Buffer int
	// Linger is how long a worker waits after an organisation's first
	// delivery before it folds, so that the events recorded together
	// (a meeting, its attendance, the month's dues) make one snapshot.
	// Default DefaultLinger; keep it well below the group's message
	// timeout.
	Linger time.Duration
	// MinInterval is the least time between two snapshots of one
	// organisation by this worker: deliveries that come sooner wait
	// (unacknowledged) and make one snapshot, so an organisation whose
	// secretary enters one form a minute costs one snapshot per interval,
	// not per form. Default 0 (Linger alone). Keep it below the group's
	// message timeout (EnsureGroup); a worker whose buffer fills folds
	// sooner rather than stall.
	MinInterval time.Duration
	// CoveredMax bounds the organisations whose last snapshot revision the
	// worker remembers, to acknowledge deliveries it covers without a
	// read. Default DefaultCoveredMax.
	CoveredMax int
	// Kept is the $maxCount the worker sets on the snapshot streams it
	// creates: the server keeps that many snapshots of an organisation
	// and scavenging reclaims the others. Default DefaultKept.
	Kept int
	// Log receives what the worker cannot hand back to a caller: failed
	// folds (retried or parked), dropped subscriptions. Default: discarded.
	Log func(format string, args ...any)
	// Written, when set, is told of each snapshot the worker writes, once
	// the deliveries it covers are acknowledged: the organisation's code
	// and stream, the revision the snapshot covers and how many events
	// were folded for it. It runs on the worker's goroutine: keep it short.
	Written func(org, stream string, revision uint64, folded int)
}

// Worker is one projection worker: run as many as the load needs, in as
// many processes; they share the organisations through the group. A
// Worker works on one organisation at a time: call Run once.
type Worker struct {
	st      *esdb.Store
	opts    Options
	covered map[string]uint64    // org stream → revision its last snapshot covers
	written map[string]time.Time // org stream → when this worker last wrote its snapshot
	wrote   *wrote               // what the last refresh wrote; nil when nothing
	// hook, when set by a test, runs at named points of the work on a
	// stream ("folded": before the snapshot is written; "written": after,
	// before the acknowledgement).
	hook func(point, stream string)
}

// EnsureGroup creates the workers' group on st if it does not exist: a
// Pinned persistent subscription to the organisation streams from the
// beginning of $all. messageTimeout (default esdb.DefaultMessageTimeout)
// must exceed the workers' Linger and MinInterval plus a fold: what a
// worker holds longer is sent again. An existing group is left as it is.
func EnsureGroup(ctx context.Context, st *esdb.Store, group string, messageTimeout time.Duration) error {
	if group == "" {
		group = DefaultGroup
	}
	err := st.CreateGroup(ctx, group, esdb.GroupOptions{Prefixes: []string{books.PrefixOrg}, Strategy: esdb.StrategyPinned,
		MessageTimeout: messageTimeout})
	if errors.Is(err, esdb.ErrGroupExists) {
		return nil
	}
	return err
}

// New returns a worker on st (a Store with esdb.IDsPerStream or not: the
// worker reads only streams).
func New(st *esdb.Store, opts Options) *Worker {
	if opts.Group == "" {
		opts.Group = DefaultGroup
	}
	if opts.Buffer <= 0 {
		opts.Buffer = DefaultBuffer
	}
	if opts.Linger < 0 {
		opts.Linger = 0
	} else if opts.Linger == 0 {
		opts.Linger = DefaultLinger
	}
	if opts.CoveredMax <= 0 {
		opts.CoveredMax = DefaultCoveredMax
	}
	if opts.Kept <= 0 {
		opts.Kept = DefaultKept
	}
	if opts.Log == nil {
		opts.Log = func(string, ...any) {}
	}
	return &Worker{st: st, opts: opts, covered: map[string]uint64{}, written: map[string]time.Time{}}
}

// Run joins the group and works until ctx is done, joining again whenever
// the server drops the worker. It returns ctx.Err(), ledger.ErrClosed
// when the Store is closed, or esdb.ErrGroupNotFound.
func (w *Worker) Run(ctx context.Context) error {
	delay := 50 * time.Millisecond
	for {
		c, err := w.st.JoinGroup(ctx, w.opts.Group, w.opts.Buffer)
		if err == nil {
			err = w.consume(ctx, c)
			_ = c.Close()
			delay = 50 * time.Millisecond
		}
		switch {
		case ctx.Err() != nil:
			return ctx.Err()
		case errors.Is(err, ledger.ErrClosed), errors.Is(err, esdb.ErrGroupNotFound):
			return err
		}
		w.opts.Log("workers: %s: %v; joining again in %v", w.opts.Name, err, delay)
		select {
		case <-time.After(delay):
		case <-ctx.Done():
			return ctx.Err()
		}
		delay = min(2*delay, maxRejoinDelay)
	}
}

// batch is what waits for one stream: deliveries since its first.
type batch struct {
	first time.Time
	ds    []esdb.Delivery
}

type next struct {
	d   esdb.Delivery
	err error
}

// consume works on one membership of the group until it ends: deliveries
// wait Linger per stream, then the stream is folded, its snapshot written
// and its deliveries acknowledged. What is pending when it ends is not
// acknowledged: the server sends it again.
func (w *Worker) consume(ctx context.Context, c *esdb.Consumer) error {
	in := make(chan next)
	quit := make(chan struct{})
	defer close(quit)
	go func() {
		for {
			d, err := c.Next()
			select {
			case in <- next{d, err}:
			case <-quit:
				return
			}
			if err != nil {
				return
			}
		}
	}()
	pending := map[string]*batch{}
	held := 0
	for {
		var due <-chan time.Time
		stream, at := w.next(pending)
		if stream != "" {
			wait := time.Until(at)
			if held >= w.opts.Buffer {
				wait = 0 // the server sends no more until some are acknowledged
			}
			due = time.After(max(wait, 0))
		}
		select {
		case n := <-in:
			if n.err != nil {
				return n.err
			}
			if cov, ok := w.covered[n.d.Stream]; ok && cov >= n.d.Revision && pending[n.d.Stream] == nil {
				// Covered by a snapshot this worker wrote or read: the
				// rest of a burst, or a delivery sent again.
				if err := c.Ack(n.d); err != nil {
					return err
				}
				continue
			}
			b := pending[n.d.Stream]
			if b == nil {
				b = &batch{first: time.Now()}
				pending[n.d.Stream] = b
			}
			b.ds = append(b.ds, n.d)
			held++
		case <-due:
			b := pending[stream]
			delete(pending, stream)
			held -= len(b.ds)
			if err := w.settle(ctx, c, stream, b.ds); err != nil {
				return err
			}
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// next returns the pending stream due first, and when: Linger after its
// first delivery, and not before MinInterval after the worker last wrote
// its snapshot. It scans: at most Buffer streams are pending.
func (w *Worker) next(pending map[string]*batch) (string, time.Time) {
	var first string
	var at time.Time
	for stream, b := range pending {
		due := b.first.Add(w.opts.Linger)
		if last, ok := w.written[stream]; ok {
			due = later(due, last.Add(w.opts.MinInterval))
		}
		if first == "" || due.Before(at) || (due.Equal(at) && stream < first) {
			first, at = stream, due
		}
	}
	return first, at
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// settle brings the stream's snapshot up to its deliveries and
// acknowledges them; a failure that may pass sends them back to the
// server for another try, one that will not parks them.
func (w *Worker) settle(ctx context.Context, c *esdb.Consumer, stream string, ds []esdb.Delivery) error {
	var upTo uint64
	for _, d := range ds {
		upTo = max(upTo, d.Revision)
	}
	w.wrote = nil
	err := w.refresh(ctx, stream, upTo)
	switch {
	case ctx.Err() != nil:
		return ctx.Err() // killed: acknowledge nothing
	case err == nil:
		if err := c.Ack(ds...); err != nil {
			return err
		}
		if w.wrote != nil && w.opts.Written != nil {
			w.opts.Written(w.wrote.org, stream, w.wrote.revision, w.wrote.folded)
		}
		return nil
	case transient(err):
		w.opts.Log("workers: %s: %s: %v; retried", w.opts.Name, stream, err)
		return c.Retry(err.Error(), ds...)
	}
	w.opts.Log("workers: %s: %s: %v; parked", w.opts.Name, stream, err)
	return c.Park(err.Error(), ds...)
}

// transient reports a failure that another try may not meet.
func transient(err error) bool {
	return errors.Is(err, esdb.ErrUnavailable) || errors.Is(err, ledger.ErrWrongExpectedRevision) ||
		errors.Is(err, context.DeadlineExceeded)
}

// refresh makes the stream's snapshot cover revision upTo: nothing when
// it does already, else fold on from it and write the next one. Another
// worker writing first is met by the snapshot stream's expected revision:
// then read what it wrote and decide again.
func (w *Worker) refresh(ctx context.Context, stream string, upTo uint64) error {
	if cov, ok := w.covered[stream]; ok && cov >= upTo {
		return nil
	}
	for range maxRaces {
		snap, err := loadSnapshot(ctx, w.st, stream)
		if err != nil {
			return err
		}
		covered := int64(ledger.NoStream)
		if snap.facts != nil {
			covered = int64(snap.meta.Revision)
			if covered >= int64(upTo) {
				w.remember(stream, uint64(covered))
				return nil
			}
		}
		evs, err := readAfter(ctx, w.st, stream, covered)
		if err != nil {
			return err
		}
		f, err := foldOn(stream, snap.facts, covered, evs)
		if err != nil {
			return err
		}
		if f.last < int64(upTo) {
			return fmt.Errorf("workers: %s: delivered revision %d, but the stream ends at %d: %w", stream, upTo, f.last, ledger.ErrCorrupt)
		}
		w.at("folded", stream)
		if snap.rev == ledger.NoStream {
			// Listed before the first snapshot, so that no snapshot is
			// ever missing from the directory; bounded before it too.
			if err := listOrg(ctx, w.st, DirectoryEntry{Org: f.facts.Org(), Stream: stream, Parent: f.parent}); err != nil {
				return err
			}
			if err := w.st.SetDerivedMaxCount(ctx, SnapshotStream(stream), uint64(w.opts.Kept)); err != nil {
				return err
			}
		}
		_, err = writeSnapshot(ctx, w.st, stream, snap.rev, f.facts, f.last, w.opts.Name)
		if errors.Is(err, ledger.ErrWrongExpectedRevision) {
			continue // another worker wrote one meanwhile
		}
		if err != nil {
			return err
		}
		w.at("written", stream)
		w.wrote = &wrote{org: f.facts.Org(), revision: uint64(f.last), folded: len(evs)}
		w.remember(stream, uint64(f.last))
		w.written[stream] = time.Now()
		return nil
	}
	return fmt.Errorf("workers: %s: other workers wrote its snapshot %d times in a row: %w", stream, maxRaces, ledger.ErrWrongExpectedRevision)
}

// wrote is a snapshot a refresh wrote.
type wrote struct {
	org      string
	revision uint64
	folded   int
}

func (w *Worker) remember(stream string, rev uint64) {
	if len(w.covered) >= w.opts.CoveredMax {
		clear(w.covered) // forgetting costs a snapshot read per stream, no more
		clear(w.written)
	}
	w.covered[stream] = rev
}

func (w *Worker) at(point, stream string) {
	if w.hook != nil {
		w.hook(point, stream)
	}
}
