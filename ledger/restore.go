package ledger

import (
	"context"
	"encoding/binary"
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
//   - no id appears twice;
//   - the ledger holds no event yet.
//
// Restoring into a ledger that already holds exactly these events (same
// ids and hashes) appends nothing and reports them as duplicates, so a
// finished restore can be run again. Anything else is refused as a whole
// with a *RestoreError (ErrRestoreRefused) naming each problem, and nothing
// is appended. A restore that fails part-way (an I/O error, another writer
// appending to one of its streams) leaves what it appended: start again
// from an empty ledger.
//
// Restore holds every event in memory; BeginRestore is the same restore
// fed one event at a time, for logs too large to hold.
func (l *Ledger) Restore(ctx context.Context, events []Event, opts RestoreOptions) ([]Result, error) {
	if len(events) == 0 {
		return nil, nil
	}
	r, err := l.BeginRestore(ctx)
	if err != nil {
		return nil, err
	}
	var problems []RestoreProblem
	for i := range events {
		ps, err := r.Check(ctx, i, &events[i])
		if err != nil {
			return nil, err
		}
		problems = append(problems, ps...)
	}
	problems = append(problems, r.EndCheck()...)
	if len(problems) > 0 {
		return nil, &RestoreError{Problems: problems}
	}
	out := make([]Result, 0, len(events))
	add := func(res []Result) {
		out = append(out, res...)
		if len(res) > 0 && opts.Progress != nil {
			opts.Progress(len(out))
		}
	}
	for i := range events {
		res, err := r.Append(ctx, events[i])
		if err != nil {
			return nil, err
		}
		add(res)
	}
	res, err := r.Flush(ctx)
	if err != nil {
		return nil, err
	}
	add(res)
	return out, nil
}

// Restoring is a restore (see Restore: the same rules) fed one event at a
// time, in two passes over the same events, for logs too large to hold in
// memory: Check every event in order, then EndCheck; only when neither
// reported a problem, Append the same events again in the same order, then
// Flush. Between the passes it keeps compact state only: each stream's
// chain tip, the set of ids seen, and 8 bytes of each event's hash (about
// 50 bytes an event in all), so that Append refuses any event that is not
// the one checked at its place.
//
// A Restoring is used by one goroutine.
type Restoring struct {
	l      *Ledger
	stored bool      // the ledger held events when the restore began
	now    time.Time // the clock when the restore began

	// The first pass.
	tips     chains
	ids      map[uuid.UUID]struct{}
	last     time.Time // the latest recorded_at so far
	sums     []uint64  // the first 8 bytes of each checked event's hash
	missing  int       // stored: events not in the ledger
	first    int       // stored: the index of the first of them
	refused  bool      // a problem was reported
	complete bool      // EndCheck was called

	// The second pass.
	next     int     // the events given to Append so far
	appended int     // the events given to Append before the batch
	batch    []Event // consecutive events of one stream, not yet appended
}

// BeginRestore starts a restore fed one event at a time (Restoring). It
// decides, from the ledger as it is now, whether the events will be judged
// as a restore into an empty ledger or as a no-op over the events it holds.
func (l *Ledger) BeginRestore(ctx context.Context) (*Restoring, error) {
	empty, err := l.empty(ctx)
	if err != nil {
		return nil, err
	}
	r := &Restoring{l: l, stored: !empty, now: l.PeekNow(), first: -1}
	if empty {
		r.tips, r.ids = chains{}, map[uuid.UUID]struct{}{}
	}
	return r, nil
}

// Check checks the next event of the restore, as the events before it
// leave the log, and returns its problems (none: nil). index is what the
// problems report as their Index: the event's place in the caller's input
// (a slice index, a line number). An error is a failure to read the
// ledger, not a problem of the event.
func (r *Restoring) Check(ctx context.Context, index int, e *Event) ([]RestoreProblem, error) {
	if r.complete {
		return nil, errors.New("ledger: restore: Check after EndCheck")
	}
	var problems []RestoreProblem
	bad := func(field, format string, a ...any) {
		problems = append(problems, RestoreProblem{Index: index, Field: field, Reason: fmt.Sprintf(format, a...)})
	}
	if r.stored {
		if err := r.checkStored(ctx, e, bad); err != nil {
			return nil, err
		}
		if r.missing == 1 && r.first < 0 {
			r.first = index
		}
	} else {
		r.checkEmpty(e, bad)
	}
	r.sums = append(r.sums, binary.BigEndian.Uint64(e.Hash[:8]))
	r.refused = r.refused || len(problems) > 0
	return problems, nil
}

// checkEmpty checks an event of a restore into an empty ledger, as part
// of the whole log: every problem, each stream's chain from its start,
// recorded_at in order and not after now.
func (r *Restoring) checkEmpty(e *Event, bad func(field, format string, a ...any)) {
	switch _, seen := r.ids[e.ID]; {
	case e.ID == uuid.Nil:
		bad("id", "missing")
	case seen:
		bad("id", "%s appears twice", e.ID)
	default:
		r.ids[e.ID] = struct{}{}
	}
	if field, reason := checkEnvelope(e); field != "" {
		bad(field, "%s", reason)
	}
	if field, reason := r.tips.follow(e); field == "revision" {
		bad(field, "%s in %s (a restore holds every stream from its revision 0)", reason, e.Stream)
	} else if field != "" {
		bad(field, "%s", reason)
	}
	switch at := e.RecordedAt; {
	case at.IsZero():
		bad("recorded_at", "missing")
	case at.Before(r.last):
		bad("recorded_at", "%s is before %s, an earlier event's: recorded_at never goes backwards",
			at.UTC().Format(RecordedAtLayout), r.last.UTC().Format(RecordedAtLayout))
	case at.After(r.now):
		bad("recorded_at", "%s is after now (%s by the restoring ledger's clock)",
			at.UTC().Format(RecordedAtLayout), r.now.UTC().Format(RecordedAtLayout))
	}
	if e.RecordedAt.After(r.last) {
		r.last = e.RecordedAt
	}
}

// checkStored checks an event of a restore into a ledger that is not
// empty: it must be stored already, as it is.
func (r *Restoring) checkStored(ctx context.Context, e *Event, bad func(field, format string, a ...any)) error {
	stored, err := r.l.LookupID(ctx, e.Stream, e.ID)
	switch {
	case errors.Is(err, ErrEventNotFound):
		r.missing++
	case err != nil:
		return fmt.Errorf("ledger: look up event id %s: %w", e.ID, err)
	case stored.Hash != e.Hash:
		bad("id", "already recorded as a different event")
	}
	return nil
}

// EndCheck ends the first pass and returns the problems only the whole
// restore shows (none: nil). Append may follow only when neither Check
// nor EndCheck reported a problem.
func (r *Restoring) EndCheck() []RestoreProblem {
	r.complete = true
	r.ids = nil // the second pass checks the events against sums
	if r.missing == 0 {
		return nil
	}
	r.refused = true
	return []RestoreProblem{{Index: r.first, Reason: fmt.Sprintf(
		"sealed events (an export) are restored only into an empty ledger, and this one is not: %d of the %d are not in it", r.missing, len(r.sums))}}
}

// ErrRestoreChanged reports an event given to Restoring.Append that is not
// the one checked at its place.
var ErrRestoreChanged = errors.New("ledger: restore: the events changed between the check and the append")

// Append appends the next event, in batches of consecutive events of one
// stream: it returns the results of a batch when it appended one (nil
// otherwise; Flush appends the last). Each event must be the one checked at
// its place (the same hash, recomputed from its content), or Append
// appends nothing more and fails with ErrRestoreChanged. A failure leaves
// what was appended before it: the error says how many events that is.
func (r *Restoring) Append(ctx context.Context, e Event) ([]Result, error) {
	switch {
	case !r.complete:
		return nil, errors.New("ledger: restore: Append before EndCheck")
	case r.refused:
		return nil, ErrRestoreRefused
	case r.next >= len(r.sums):
		return nil, fmt.Errorf("%w: more events than the %d checked", ErrRestoreChanged, len(r.sums))
	}
	if r.stored {
		// Every event is stored as it is: nothing to append.
		stored, err := r.l.LookupID(ctx, e.Stream, e.ID)
		if err != nil {
			return nil, fmt.Errorf("ledger: look up event id %s: %w", e.ID, err)
		}
		if h := stored.Hash; binary.BigEndian.Uint64(h[:8]) != r.sums[r.next] || h != e.Hash {
			return nil, fmt.Errorf("%w: event %d", ErrRestoreChanged, r.next)
		}
		r.next++
		return []Result{ResultOf(&stored, true)}, nil
	}
	if h := ComputeHash(&e); h != e.Hash || binary.BigEndian.Uint64(h[:8]) != r.sums[r.next] {
		return nil, fmt.Errorf("%w: event %d (%d appended before it)", ErrRestoreChanged, r.next, r.appended)
	}
	r.next++
	var res []Result
	if len(r.batch) > 0 && (len(r.batch) >= RestoreBatchEvents || r.batch[0].Stream != e.Stream) {
		var err error
		if res, err = r.Flush(ctx); err != nil {
			return nil, err
		}
	}
	r.batch = append(r.batch, e)
	return res, nil
}

// Flush appends the events Append holds, and returns their results.
func (r *Restoring) Flush(ctx context.Context) ([]Result, error) {
	if len(r.batch) == 0 {
		return nil, nil
	}
	res, err := r.l.restoreBatch(ctx, r.batch)
	if err != nil {
		return nil, fmt.Errorf("ledger: restore: %d of %d events appended before event %d: %w", r.appended, len(r.sums), r.appended, err)
	}
	r.appended += len(r.batch)
	clear(r.batch)
	r.batch = r.batch[:0]
	return res, nil
}

// Appended is the number of events Flush has appended so far.
func (r *Restoring) Appended() int { return r.appended }

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
