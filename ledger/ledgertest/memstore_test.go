package ledgertest_test

import (
	"context"
	"iter"
	"sync"
	"testing"

	"github.com/google/uuid"

	"partyledger/ledger"
	"partyledger/ledger/ledgertest"
)

// memStore is the smallest correct Store: it checks the suite itself, so
// that a failure on a real store points at the store, not the suite.
type memStore struct {
	mu      sync.Mutex
	cond    *sync.Cond
	all     []ledger.Event
	streams map[string][]int
	ids     map[uuid.UUID]int
	closed  bool
}

func newMem() *memStore {
	m := &memStore{streams: map[string][]int{}, ids: map[uuid.UUID]int{}}
	m.cond = sync.NewCond(&m.mu)
	return m
}

func (m *memStore) Append(ctx context.Context, stream string, expected int64, events []ledger.Event) ([]ledger.Position, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	head := int64(len(m.streams[stream])) - 1
	if head != expected {
		return nil, &ledger.WrongRevisionError{Stream: stream, Expected: expected, Actual: head}
	}
	for _, e := range events {
		if _, ok := m.ids[e.ID]; ok {
			return nil, ledger.ErrDuplicateEventID
		}
	}
	out := make([]ledger.Position, len(events))
	for i, e := range events {
		e.Position = ledger.Position(len(m.all) + 1)
		m.ids[e.ID] = len(m.all)
		m.streams[stream] = append(m.streams[stream], len(m.all))
		m.all = append(m.all, e)
		out[i] = e.Position
	}
	m.cond.Broadcast()
	return out, nil
}

func (m *memStore) ReadStream(ctx context.Context, stream string, from uint64) iter.Seq2[ledger.Event, error] {
	return func(yield func(ledger.Event, error) bool) {
		if err := ctx.Err(); err != nil {
			yield(ledger.Event{}, err)
			return
		}
		m.mu.Lock()
		idx := append([]int(nil), m.streams[stream]...)
		m.mu.Unlock()
		if len(idx) == 0 {
			yield(ledger.Event{}, ledger.ErrStreamNotFound)
			return
		}
		for _, i := range idx[min(int(from), len(idx)):] {
			m.mu.Lock()
			e := m.all[i]
			m.mu.Unlock()
			if !yield(e, nil) {
				return
			}
		}
	}
}

func (m *memStore) LastEvent(ctx context.Context, stream string) (ledger.Event, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	idx := m.streams[stream]
	if len(idx) == 0 {
		return ledger.Event{}, ledger.ErrStreamNotFound
	}
	return m.all[idx[len(idx)-1]], nil
}

func (m *memStore) ReadAll(ctx context.Context, from ledger.Position) iter.Seq2[ledger.Event, error] {
	return func(yield func(ledger.Event, error) bool) {
		if err := ctx.Err(); err != nil {
			yield(ledger.Event{}, err)
			return
		}
		m.mu.Lock()
		evs := append([]ledger.Event(nil), m.all[min(int(from), len(m.all)):]...)
		m.mu.Unlock()
		for _, e := range evs {
			if !yield(e, nil) {
				return
			}
		}
	}
}

func (m *memStore) Subscribe(ctx context.Context, from ledger.Position) iter.Seq2[ledger.Event, error] {
	return func(yield func(ledger.Event, error) bool) {
		stop := context.AfterFunc(ctx, func() { m.mu.Lock(); m.cond.Broadcast(); m.mu.Unlock() })
		defer stop()
		next := int(from)
		for {
			m.mu.Lock()
			for next >= len(m.all) && ctx.Err() == nil && !m.closed {
				m.cond.Wait()
			}
			if err := ctx.Err(); err != nil {
				m.mu.Unlock()
				yield(ledger.Event{}, err)
				return
			}
			if m.closed {
				m.mu.Unlock()
				yield(ledger.Event{}, ledger.ErrClosed)
				return
			}
			e := m.all[next]
			m.mu.Unlock()
			next++
			if !yield(e, nil) {
				return
			}
		}
	}
}

func (m *memStore) EventByID(ctx context.Context, id uuid.UUID) (ledger.Event, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	i, ok := m.ids[id]
	if !ok {
		return ledger.Event{}, ledger.ErrEventNotFound
	}
	return m.all[i], nil
}

func (m *memStore) Close() error {
	m.mu.Lock()
	m.closed = true
	m.cond.Broadcast()
	m.mu.Unlock()
	return nil
}

func TestSuiteOnReferenceStore(t *testing.T) {
	ledgertest.Run(t, func(t *testing.T) ledger.Store { return newMem() })
}
