// Package bolt is the bbolt benchmark peer: a ledger.Store over one
// go.etcd.io/bbolt file, laid out as a user of bbolt would lay out an event
// log — every event under its global position in one bucket, and a bucket
// per stream mapping revisions to positions.
//
// Appends go through db.Batch, so that concurrent appends share one
// transaction and its fsyncs; the batch size and delay are tuned by the
// caller (Tune), since bbolt's default delay of 10 ms caps a lone writer at
// about 100 commits a second. Durability is bbolt's default: every
// committed transaction is fdatasynced (NoSync is false).
//
// The store is for benchmarking: Subscribe is not supported and
// EventByID scans every event (there is no id index, as in the layout the
// benchmark compares against), so callers let the ledger assign ids.
package bolt

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"iter"
	"time"

	"github.com/google/uuid"
	bolt "go.etcd.io/bbolt"

	"partyledger/ledger"
)

var _ ledger.Store = (*Store)(nil)

var (
	bucketEvents  = []byte("events")
	bucketStreams = []byte("streams")
)

// ErrUnsupported is returned by the methods this benchmark peer leaves out.
var ErrUnsupported = errors.New("bolt: not supported by the benchmark peer")

// readChunk bounds the events one read transaction copies out, so that a
// long read does not pin the whole file in one transaction.
const readChunk = 1024

// Store is a ledger.Store over a bbolt file.
type Store struct {
	db *bolt.DB
}

// Open opens or creates the bbolt file at path. The options are those a
// tuned deployment would pick: the free list is not synced (it is rebuilt
// on open, as etcd does) and the initial mmap is large enough that growth
// does not remap during a benchmark. Neither changes durability.
func Open(path string) (*Store, error) {
	db, err := bolt.Open(path, 0o600, &bolt.Options{
		Timeout:         time.Second,
		NoFreelistSync:  true,
		FreelistType:    bolt.FreelistMapType,
		InitialMmapSize: 2 << 30,
	})
	if err != nil {
		return nil, fmt.Errorf("bolt: open %s: %w", path, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		if _, err := tx.CreateBucketIfNotExists(bucketEvents); err != nil {
			return err
		}
		_, err := tx.CreateBucketIfNotExists(bucketStreams)
		return err
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("bolt: create buckets: %w", err)
	}
	return &Store{db: db}, nil
}

// Tune sets the batch size (appends per transaction at most) and the delay
// a batch waits for more appends before it commits.
func (s *Store) Tune(maxSize int, maxDelay time.Duration) {
	s.db.MaxBatchSize = maxSize
	s.db.MaxBatchDelay = maxDelay
}

// DB returns the underlying database.
func (s *Store) DB() *bolt.DB { return s.db }

// Close closes the file.
func (s *Store) Close() error { return s.db.Close() }

func key(n uint64) []byte { return binary.BigEndian.AppendUint64(make([]byte, 0, 8), n) }

// lastRevision returns the last revision of a stream bucket (NoStream for
// none).
func lastRevision(sb *bolt.Bucket) int64 {
	if sb == nil {
		return ledger.NoStream
	}
	k, _ := sb.Cursor().Last()
	if k == nil {
		return ledger.NoStream
	}
	return int64(binary.BigEndian.Uint64(k))
}

// Append implements ledger.Store: within one batched transaction it checks
// the stream's last revision against expected and stores the events.
func (s *Store) Append(ctx context.Context, stream string, expected int64, events []ledger.Event) ([]ledger.Position, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if len(events) == 0 || stream == "" {
		return nil, errors.New("bolt: append of no events or to no stream")
	}
	var (
		positions []ledger.Position
		refused   error
	)
	err := s.db.Batch(func(tx *bolt.Tx) error {
		// Batch may run this more than once: start from scratch each time.
		positions, refused = nil, nil
		streams := tx.Bucket(bucketStreams)
		sb := streams.Bucket([]byte(stream))
		if cur := lastRevision(sb); cur != expected {
			// Refusing is not a failure of the batch: returning an error
			// would roll back the other appends sharing the transaction.
			refused = &ledger.WrongRevisionError{Stream: stream, Expected: expected, Actual: cur}
			return nil
		}
		if sb == nil {
			var err error
			if sb, err = streams.CreateBucket([]byte(stream)); err != nil {
				return err
			}
		}
		evb := tx.Bucket(bucketEvents)
		positions = make([]ledger.Position, len(events))
		for i := range events {
			e := &events[i]
			if e.Stream != stream || e.Revision != uint64(expected+1)+uint64(i) {
				refused = fmt.Errorf("bolt: event %d: stream %q revision %d does not continue %q at %d", i, e.Stream, e.Revision, stream, expected)
				return nil
			}
			p, err := evb.NextSequence()
			if err != nil {
				return err
			}
			if err := evb.Put(key(p), Encode(nil, e)); err != nil {
				return err
			}
			if err := sb.Put(key(e.Revision), key(p)); err != nil {
				return err
			}
			positions[i] = ledger.Position(p)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("bolt: append to %s: %w", stream, err)
	}
	if refused != nil {
		return nil, refused
	}
	return positions, nil
}

// Load stores sealed events as they are (positions included) in
// transactions of up to batch events: the untimed set-up of the read
// benchmarks. Events must be in position order and continue the store.
func (s *Store) Load(events []ledger.Event, batch int) error {
	for len(events) > 0 {
		n := min(batch, len(events))
		chunk := events[:n]
		events = events[n:]
		err := s.db.Update(func(tx *bolt.Tx) error {
			evb := tx.Bucket(bucketEvents)
			streams := tx.Bucket(bucketStreams)
			for i := range chunk {
				e := &chunk[i]
				if err := evb.Put(key(uint64(e.Position)), Encode(nil, e)); err != nil {
					return err
				}
				sb, err := streams.CreateBucketIfNotExists([]byte(e.Stream))
				if err != nil {
					return err
				}
				if err := sb.Put(key(e.Revision), key(uint64(e.Position))); err != nil {
					return err
				}
			}
			return evb.SetSequence(uint64(chunk[len(chunk)-1].Position))
		})
		if err != nil {
			return fmt.Errorf("bolt: load: %w", err)
		}
	}
	return nil
}

// ReadStream implements ledger.Store, reading readChunk events per
// transaction.
func (s *Store) ReadStream(ctx context.Context, stream string, from uint64) iter.Seq2[ledger.Event, error] {
	return func(yield func(ledger.Event, error) bool) {
		next := from
		first := true
		for {
			if err := ctx.Err(); err != nil {
				yield(ledger.Event{}, err)
				return
			}
			var chunk []ledger.Event
			missing := false
			err := s.db.View(func(tx *bolt.Tx) error {
				sb := tx.Bucket(bucketStreams).Bucket([]byte(stream))
				if sb == nil {
					missing = true
					return nil
				}
				evb := tx.Bucket(bucketEvents)
				in := Interner{}
				c := sb.Cursor()
				for k, v := c.Seek(key(next)); k != nil && len(chunk) < readChunk; k, v = c.Next() {
					raw := evb.Get(v)
					if raw == nil {
						return fmt.Errorf("stream %s revision %d: position %d has no event: %w", stream, binary.BigEndian.Uint64(k), binary.BigEndian.Uint64(v), ledger.ErrCorrupt)
					}
					e, err := Decode(raw, true, in)
					if err != nil {
						return err
					}
					e.Position = ledger.Position(binary.BigEndian.Uint64(v))
					chunk = append(chunk, e)
				}
				return nil
			})
			switch {
			case err != nil:
				yield(ledger.Event{}, fmt.Errorf("bolt: read %s: %w", stream, err))
				return
			case missing && first:
				yield(ledger.Event{}, fmt.Errorf("bolt: stream %q: %w", stream, ledger.ErrStreamNotFound))
				return
			}
			first = false
			for _, e := range chunk {
				if !yield(e, nil) {
					return
				}
			}
			if len(chunk) < readChunk {
				return
			}
			next = chunk[len(chunk)-1].Revision + 1
		}
	}
}

// LastEvent implements ledger.Store.
func (s *Store) LastEvent(ctx context.Context, stream string) (ledger.Event, error) {
	if err := ctx.Err(); err != nil {
		return ledger.Event{}, err
	}
	var e ledger.Event
	found := false
	err := s.db.View(func(tx *bolt.Tx) error {
		sb := tx.Bucket(bucketStreams).Bucket([]byte(stream))
		if sb == nil {
			return nil
		}
		k, v := sb.Cursor().Last()
		if k == nil {
			return nil
		}
		raw := tx.Bucket(bucketEvents).Get(v)
		if raw == nil {
			return fmt.Errorf("position %d has no event: %w", binary.BigEndian.Uint64(v), ledger.ErrCorrupt)
		}
		var err error
		e, err = Decode(raw, true, nil)
		e.Position = ledger.Position(binary.BigEndian.Uint64(v))
		found = true
		return err
	})
	if err != nil {
		return ledger.Event{}, fmt.Errorf("bolt: last event of %s: %w", stream, err)
	}
	if !found {
		return ledger.Event{}, fmt.Errorf("bolt: stream %q: %w", stream, ledger.ErrStreamNotFound)
	}
	return e, nil
}

// ReadAll implements ledger.Store: every event after from, copied out of
// the file readChunk at a time.
func (s *Store) ReadAll(ctx context.Context, from ledger.Position) iter.Seq2[ledger.Event, error] {
	return func(yield func(ledger.Event, error) bool) {
		var head uint64
		if err := s.db.View(func(tx *bolt.Tx) error {
			head = tx.Bucket(bucketEvents).Sequence()
			return nil
		}); err != nil {
			yield(ledger.Event{}, err)
			return
		}
		next := uint64(from) + 1
		in := Interner{}
		for next <= head {
			if err := ctx.Err(); err != nil {
				yield(ledger.Event{}, err)
				return
			}
			chunk := make([]ledger.Event, 0, readChunk)
			err := s.db.View(func(tx *bolt.Tx) error {
				c := tx.Bucket(bucketEvents).Cursor()
				for k, v := c.Seek(key(next)); k != nil && len(chunk) < readChunk; k, v = c.Next() {
					p := binary.BigEndian.Uint64(k)
					if p > head {
						break
					}
					e, err := Decode(v, true, in)
					if err != nil {
						return fmt.Errorf("position %d: %w", p, err)
					}
					e.Position = ledger.Position(p)
					chunk = append(chunk, e)
				}
				return nil
			})
			if err != nil {
				yield(ledger.Event{}, fmt.Errorf("bolt: read all: %w", err))
				return
			}
			if len(chunk) == 0 {
				return
			}
			for _, e := range chunk {
				if !yield(e, nil) {
					return
				}
			}
			next = uint64(chunk[len(chunk)-1].Position) + 1
		}
	}
}

// Scan calls fn for every event in position order inside one read
// transaction, with the stream, type and payload still pointing into the
// mapped file (valid only during the call): reading without decoding or
// copying, the fastest way bbolt offers.
func (s *Store) Scan(ctx context.Context, fn func(pos uint64, stream, typ, data []byte)) (int, error) {
	n := 0
	err := s.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketEvents).Cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			if n%4096 == 0 {
				if err := ctx.Err(); err != nil {
					return err
				}
			}
			stream, typ, data, _, err := Header(v)
			if err != nil {
				return fmt.Errorf("position %d: %w", binary.BigEndian.Uint64(k), err)
			}
			fn(binary.BigEndian.Uint64(k), stream, typ, data)
			n++
		}
		return nil
	})
	if err != nil {
		return n, fmt.Errorf("bolt: scan: %w", err)
	}
	return n, nil
}

// Subscribe is not supported by the benchmark peer.
func (s *Store) Subscribe(ctx context.Context, from ledger.Position) iter.Seq2[ledger.Event, error] {
	return func(yield func(ledger.Event, error) bool) { yield(ledger.Event{}, ErrUnsupported) }
}

// EventByID scans every event: the layout has no id index.
func (s *Store) EventByID(ctx context.Context, id uuid.UUID) (ledger.Event, error) {
	for e, err := range s.ReadAll(ctx, 0) {
		if err != nil {
			return ledger.Event{}, err
		}
		if e.ID == id {
			return e, nil
		}
	}
	return ledger.Event{}, fmt.Errorf("bolt: event %s: %w", id, ledger.ErrEventNotFound)
}
