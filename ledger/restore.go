package ledger

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
)

// ErrRestoreRefused reports a restore that was refused as a whole: nothing
// was appended. The *RestoreError that wraps it lists why.
var ErrRestoreRefused = errors.New("ledger: restore refused")

// RestoreProblem is why one of the events given to Restore is refused.
type RestoreProblem struct {
	Index  int    // into the events given to Restore
	Field  string // the envelope field at fault ("hash", "recorded_at"…); empty for the event as a whole
	Reason string
}

// RestoreError lists every problem of a refused restore.
type RestoreError struct {
	Problems []RestoreProblem
}

func (e *RestoreError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "ledger: restore refused, nothing appended: %d problem(s)", len(e.Problems))
	for i, p := range e.Problems {
		if i == 3 {
			b.WriteString("; …")
			break
		}
		fmt.Fprintf(&b, "; event %d: ", p.Index)
		if p.Field != "" {
			b.WriteString(p.Field + ": ")
		}
		b.WriteString(p.Reason)
	}
	return b.String()
}

// Unwrap lets errors.Is(err, ErrRestoreRefused) match.
func (e *RestoreError) Unwrap() error { return ErrRestoreRefused }

// RestoreOptions configure Restore.
type RestoreOptions struct {
	// Progress, when set, is called with the number of events done after
	// each append.
	Progress func(done int)
}

// RestoreBatchEvents bounds the events of one append during a restore
// (well under the 1 MiB that EventStoreDB takes in one append). A
// variable so that tests can shrink it.
var RestoreBatchEvents = 500

// Restore appends events that were sealed elsewhere (an export of another
// ledger) exactly as they are — ids, recorded_at, recorded_by and hashes
// kept — in the order given, which becomes their order here. It is the one
// place that decides whether sealed events may enter a ledger, and
// accepts them only as a restore of a whole log into an empty ledger:
//
//   - every stream's chain starts at revision 0 with a zero prev_hash and
//     continues without a gap, each prev_hash the hash before it, each hash
//     recomputing from its event's content;
//   - recorded_at never decreases in the order given and is not after now
//     by this ledger's clock;
//   - the envelope is within the limits of an append, with this ledger's
//     schema version;
//   - the ledger holds no event yet.
//
// Restoring into a ledger that already holds exactly these events (same
// ids and hashes) appends nothing and reports them as duplicates, so a
// finished restore can be run again. Anything else is refused as a whole
// with a *RestoreError (ErrRestoreRefused) naming each problem, and nothing
// is appended. A restore that fails part-way (an I/O error, another writer
// appending to one of its streams) leaves what it appended: start again
// from an empty ledger.
func (l *Ledger) Restore(ctx context.Context, events []Event, opts RestoreOptions) ([]Result, error) {
	if len(events) == 0 {
		return nil, nil
	}
	empty, err := l.empty(ctx)
	if err != nil {
		return nil, err
	}
	if !empty {
		return l.restoreStored(ctx, events)
	}
	if problems := checkRestore(events, l.PeekNow()); len(problems) > 0 {
		return nil, &RestoreError{Problems: problems}
	}
	out := make([]Result, 0, len(events))
	for i := 0; i < len(events); {
		j := i + 1
		for j < len(events) && j-i < RestoreBatchEvents && events[j].Stream == events[i].Stream {
			j++
		}
		res, err := l.restoreBatch(ctx, events[i:j])
		if err != nil {
			return nil, fmt.Errorf("ledger: restore: %d of %d events appended before event %d: %w", i, len(events), i, err)
		}
		out = append(out, res...)
		i = j
		if opts.Progress != nil {
			opts.Progress(i)
		}
	}
	return out, nil
}

// empty reports whether the ledger holds no event.
func (l *Ledger) empty(ctx context.Context) (bool, error) {
	for _, err := range l.store.ReadAll(ctx, 0) {
		if err != nil {
			return false, fmt.Errorf("ledger: restore: read the ledger: %w", err)
		}
		return false, nil
	}
	return true, nil
}

// checkRestore checks sealed events on their own, as a whole log: every
// problem, each stream's chain from its start, recorded_at in order and
// not after now.
func checkRestore(events []Event, now time.Time) []RestoreProblem {
	tips := chains{}
	ids := make(map[uuid.UUID]bool, len(events))
	var problems []RestoreProblem
	var last time.Time
	for i := range events {
		e := &events[i]
		bad := func(field, format string, a ...any) {
			problems = append(problems, RestoreProblem{Index: i, Field: field, Reason: fmt.Sprintf(format, a...)})
		}
		switch {
		case e.ID == uuid.Nil:
			bad("id", "missing")
		case ids[e.ID]:
			bad("id", "%s appears twice", e.ID)
		}
		ids[e.ID] = true
		if field, reason := checkEnvelope(e); field != "" {
			bad(field, "%s", reason)
		}
		if field, reason := tips.follow(e); field == "revision" {
			bad(field, "%s in %s (a restore holds every stream from its revision 0)", reason, e.Stream)
		} else if field != "" {
			bad(field, "%s", reason)
		}
		switch at := e.RecordedAt; {
		case at.IsZero():
			bad("recorded_at", "missing")
		case at.Before(last):
			bad("recorded_at", "%s is before %s, an earlier event's: recorded_at never goes backwards",
				at.UTC().Format(RecordedAtLayout), last.UTC().Format(RecordedAtLayout))
		case at.After(now):
			bad("recorded_at", "%s is after now (%s by the restoring ledger's clock)",
				at.UTC().Format(RecordedAtLayout), now.UTC().Format(RecordedAtLayout))
		}
		if e.RecordedAt.After(last) {
			last = e.RecordedAt
		}
	}
	return problems
}

// checkEnvelope holds a sealed event to the limits of an append: it
// returns the envelope field at fault and why, or "".
func checkEnvelope(e *Event) (field, reason string) {
	switch {
	case e.Stream == "" || len(e.Stream) > MaxStreamNameLen:
		return "stream", fmt.Sprintf("must be 1..%d bytes", MaxStreamNameLen)
	case e.Type == "" || len(e.Type) > MaxTypeLen:
		return "type", fmt.Sprintf("must be 1..%d bytes", MaxTypeLen)
	case len(e.RecordedBy) > MaxRecordedByLen:
		return "recorded_by", fmt.Sprintf("longer than %d bytes", MaxRecordedByLen)
	case len(e.Data) > MaxDataLen:
		return "data", fmt.Sprintf("larger than %d bytes", MaxDataLen)
	case e.SchemaVersion != SchemaVersion:
		return "schema_version", fmt.Sprintf("want %d", SchemaVersion)
	}
	return "", ""
}

// restoreStored answers a restore into a ledger that is not empty: a no-op
// when every event is stored already as it is, refused otherwise.
func (l *Ledger) restoreStored(ctx context.Context, events []Event) ([]Result, error) {
	out := make([]Result, 0, len(events))
	var problems []RestoreProblem
	missing, first := 0, -1
	for i := range events {
		stored, err := l.LookupID(ctx, events[i].Stream, events[i].ID)
		switch {
		case errors.Is(err, ErrEventNotFound):
			if first < 0 {
				first = i
			}
			missing++
			continue
		case err != nil:
			return nil, fmt.Errorf("ledger: look up event id %s: %w", events[i].ID, err)
		case stored.Hash != events[i].Hash:
			problems = append(problems, RestoreProblem{Index: i, Field: "id", Reason: "already recorded as a different event"})
			continue
		}
		out = append(out, ResultOf(&stored, true))
	}
	if missing > 0 {
		problems = append(problems, RestoreProblem{Index: first, Reason: fmt.Sprintf(
			"sealed events (an export) are restored only into an empty ledger, and this one is not: %d of the %d are not in it", missing, len(events))})
	}
	if len(problems) > 0 {
		return nil, &RestoreError{Problems: problems}
	}
	return out, nil
}

// restoreBatch appends consecutive checked events of one stream, at the
// revision they carry: a stream another writer has moved meanwhile makes
// it fail with *WrongRevisionError.
func (l *Ledger) restoreBatch(ctx context.Context, batch []Event) ([]Result, error) {
	stream := batch[0].Stream
	s := l.stream(stream)
	s.mu.Lock()
	defer s.mu.Unlock()
	expected := int64(batch[0].Revision) - 1 // NoStream for revision 0
	todo := append([]Event(nil), batch...)
	positions, err := l.store.Append(ctx, stream, expected, todo)
	if err != nil {
		s.known = false
		return nil, err
	}
	return l.acknowledged(s, todo, positions)
}
