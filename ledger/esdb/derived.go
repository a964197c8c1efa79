package esdb

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"strings"

	client "github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/google/uuid"

	"partyledger/ledger"
)

// Derived streams hold what the read side derives from the ledger and
// writes back to the same server — facts snapshots and their directory
// (projections/workers) — so that any node reads them instead of
// folding the ledger. They are not ledger streams: no hash chain, no
// envelope, never in ReadAll or Subscribe, and they can be deleted and
// derived again. Their names must not start with a ledger prefix or '$'.

// AnyRevision is the expected revision of a derived append that takes the
// stream as it is (a directory that only ever grows). Ledger appends never
// use it.
const AnyRevision int64 = -2

// Derived is an event of a derived stream.
type Derived struct {
	ID       uuid.UUID
	Stream   string
	Revision uint64
	Position ledger.Position
	Type     string
	Data     []byte // application/octet-stream
	Meta     []byte // a JSON object
}

// derivedStream returns the server's name of a derived stream.
func (s *Store) derivedStream(stream string) (string, error) {
	if stream == "" || len(stream) > ledger.MaxStreamNameLen || strings.HasPrefix(stream, "$") {
		return "", fmt.Errorf("esdb: derived stream %q: want 1..%d bytes, not starting with '$'", stream, ledger.MaxStreamNameLen)
	}
	if _, err := s.serverStream(stream); err == nil {
		return "", fmt.Errorf("esdb: derived stream %q has a ledger stream's prefix", stream)
	}
	return s.opts.Namespace + stream, nil
}

// AppendDerived appends one event to a derived stream if the stream is at
// expected (ledger.NoStream, a revision, or AnyRevision), and returns its
// revision. The id makes a re-sent append idempotent on the server (best
// effort); a zero id gets a random one. Errors: *ledger.WrongRevisionError,
// ErrUnavailable, ledger.ErrClosed, context errors.
func (s *Store) AppendDerived(ctx context.Context, stream string, expected int64, ev Derived) (uint64, error) {
	name, err := s.derivedStream(stream)
	if err != nil {
		return 0, err
	}
	var exp client.ExpectedRevision = client.Any{}
	if expected != AnyRevision {
		if exp, err = expectedRevision(expected); err != nil {
			return 0, err
		}
	}
	if ev.Type == "" || len(ev.Data)+len(ev.Meta) > s.opts.MaxAppendSize {
		return 0, fmt.Errorf("esdb: append to %s: want a type and at most %d bytes", stream, s.opts.MaxAppendSize)
	}
	if ev.ID == uuid.Nil {
		ev.ID = uuid.New()
	}
	if err := s.check(ctx); err != nil {
		return 0, err
	}
	data := client.EventData{EventID: ev.ID, EventType: ev.Type, ContentType: client.ContentTypeBinary, Data: ev.Data, Metadata: ev.Meta}
	var wr *client.WriteResult
	opctx, done := s.opContext(ctx)
	err = s.use(func(c *client.Client) (err error) {
		wr, err = c.AppendToStream(opctx, name, client.AppendToStreamOptions{ExpectedRevision: exp}, data)
		return err
	})
	done()
	if err != nil {
		if classify(err) == kindWrongVersion && s.check(ctx) == nil {
			actual, ok := actualRevision(err.Error())
			if !ok {
				last, lerr := s.LastDerived(ctx, stream)
				switch {
				case errors.Is(lerr, ledger.ErrStreamNotFound):
					actual = ledger.NoStream
				case lerr != nil:
					return 0, fmt.Errorf("esdb: append to %s: %w (reading the actual revision failed: %v)", stream, ledger.ErrWrongExpectedRevision, lerr)
				default:
					actual = int64(last.Revision)
				}
			}
			return 0, &ledger.WrongRevisionError{Stream: stream, Expected: expected, Actual: actual}
		}
		return 0, s.fail(ctx, err, "append to "+stream)
	}
	return wr.NextExpectedVersion, nil
}

// SetDerivedMaxCount sets a derived stream's $maxCount: the server keeps
// its last max events and scavenging reclaims the older ones (revisions
// go on counting, so expected revisions still hold). The test double
// stores the metadata but does not enforce it.
func (s *Store) SetDerivedMaxCount(ctx context.Context, stream string, max uint64) error {
	name, err := s.derivedStream(stream)
	if err != nil {
		return err
	}
	if err := s.check(ctx); err != nil {
		return err
	}
	var meta client.StreamMetadata
	meta.SetMaxCount(max)
	opctx, done := s.opContext(ctx)
	defer done()
	err = s.use(func(c *client.Client) error {
		_, err := c.SetStreamMetadata(opctx, name, client.AppendToStreamOptions{ExpectedRevision: client.Any{}}, meta)
		return err
	})
	if err != nil {
		return s.fail(ctx, err, "set the metadata of "+stream)
	}
	return nil
}

// LastDerived returns the last event of a derived stream, or
// ledger.ErrStreamNotFound.
func (s *Store) LastDerived(ctx context.Context, stream string) (Derived, error) {
	var last Derived
	found := false
	err := s.readDerived(ctx, stream, client.ReadStreamOptions{From: client.End{}, Direction: client.Backwards}, 1,
		func(d Derived) error { last, found = d, true; return nil })
	switch {
	case err != nil:
		return Derived{}, err
	case !found:
		return Derived{}, fmt.Errorf("esdb: last event of %s: %w", stream, ledger.ErrStreamNotFound)
	}
	return last, nil
}

// ReadDerived yields the events of a derived stream from revision from
// on; ledger.ErrStreamNotFound when it does not exist.
func (s *Store) ReadDerived(ctx context.Context, stream string, from uint64) iter.Seq2[Derived, error] {
	return func(yield func(Derived, error) bool) {
		err := s.readDerived(ctx, stream, client.ReadStreamOptions{From: client.Revision(from), Direction: client.Forwards}, readCountMax,
			func(d Derived) error {
				if !yield(d, nil) {
					return errStop
				}
				return nil
			})
		if err != nil && !errors.Is(err, errStop) {
			yield(Derived{}, err)
		}
	}
}

func (s *Store) readDerived(ctx context.Context, stream string, opts client.ReadStreamOptions, count uint64, fn func(Derived) error) error {
	name, err := s.derivedStream(stream)
	if err != nil {
		return err
	}
	if err := s.check(ctx); err != nil {
		return err
	}
	return s.readServerStream(ctx, name, "read "+stream, opts, count, func(r *client.RecordedEvent) error {
		d := Derived{ID: r.EventID, Stream: stream, Revision: r.EventNumber, Type: r.EventType, Data: r.Data, Meta: r.UserMetadata}
		if r.Position.Commit != noPosition {
			d.Position = ledger.Position(r.Position.Commit)
		}
		return fn(d)
	})
}
