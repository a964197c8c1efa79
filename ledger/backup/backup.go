// Package backup writes a consistent copy of a ledger into a new embedded
// store (ledger/filestore) while the source goes on taking appends.
//
// The copy holds exactly the events the source had committed when the
// backup began: a store's ReadAll ends at the events committed when it was
// called, so every event acknowledged before then is in the copy and none
// after. The events are restored into the new store as they are (ids,
// recorded_at, recorded_by, hashes), the store is
// closed and opened again, and the copy is verified (checksums, hash
// chains, and event by event against what was read) before Write reports
// success. To restore, open the copy: point --data (or serve) at it.
package backup

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"iter"
	"os"
	"time"

	"partyledger/ledger"
	"partyledger/ledger/filestore"
)

// Report says what a backup wrote.
type Report struct {
	Dir          string
	Events       int             // events copied (all the source had committed when the backup began)
	LastPosition ledger.Position // the source's position of the last event copied (0 when none)
	Verify       ledger.VerifyReport
	Took         time.Duration
}

// ErrTargetNotEmpty reports a backup directory that already holds files.
var ErrTargetNotEmpty = errors.New("backup: the target directory exists and is not empty")

// Write copies the events src yields (a ledger's ReadAll from position 0:
// every event, in position order, up to the head when it was called) into
// a new filestore in dir, which must not exist or be empty, then reopens
// and verifies the copy. It holds the events in memory while it copies.
// On failure the partial copy is left in dir for inspection; it is not a
// backup.
func Write(ctx context.Context, src iter.Seq2[ledger.Event, error], dir string) (Report, error) {
	start := time.Now()
	rep := Report{Dir: dir}
	if err := checkEmpty(dir); err != nil {
		return rep, err
	}
	var events []ledger.Event
	latest := time.Now()
	for ev, err := range src {
		if err != nil {
			return rep, fmt.Errorf("backup: read the source: %w", err)
		}
		// The events' data may point into a shared read buffer: keep a copy.
		ev.Data = append([]byte(nil), ev.Data...)
		events = append(events, ev)
		if ev.RecordedAt.After(latest) {
			latest = ev.RecordedAt
		}
	}
	if n := len(events); n > 0 {
		rep.LastPosition = events[n-1].Position
	}
	st, err := filestore.Open(dir, filestore.Options{})
	if err != nil {
		return rep, fmt.Errorf("backup: create the store in %s: %w", dir, err)
	}
	if err := copyEvents(ctx, st, events); err != nil {
		st.Close()
		return rep, err
	}
	if err := st.Close(); err != nil {
		return rep, fmt.Errorf("backup: close the copy: %w", err)
	}
	clock := func() time.Time { return latest }
	vr, err := verify(ctx, dir, events, clock)
	rep.Verify = vr
	if err != nil {
		return rep, err
	}
	rep.Events = len(events)
	rep.Took = time.Since(start)
	return rep, nil
}

// copyEvents appends the sealed events to the new store exactly as they
// are, in the source's order, each run of one stream's events as one
// append. Not ledger.Ledger.Restore: a log written by concurrent appenders
// can hold events whose recorded_at is slightly earlier than an event
// before it (stamped before, committed after), which Restore refuses; a
// backup copies the log as it is, and verify checks its chains after.
func copyEvents(ctx context.Context, st ledger.Store, events []ledger.Event) error {
	for i := 0; i < len(events); {
		j := i + 1
		for j < len(events) && j-i < ledger.MaxBatchEvents && events[j].Stream == events[i].Stream {
			j++
		}
		expected := int64(events[i].Revision) - 1 // ledger.NoStream (-1) for revision 0
		if _, err := st.Append(ctx, events[i].Stream, expected, events[i:j]); err != nil {
			return fmt.Errorf("backup: write the copy: %d of %d events written before event %d (%s): %w", i, len(events), i+1, events[i].ID, err)
		}
		i = j
	}
	return nil
}

// verify opens the copy as a restore would, checks its storage and hash
// chains, and compares it event by event with what was read.
func verify(ctx context.Context, dir string, want []ledger.Event, clock func() time.Time) (ledger.VerifyReport, error) {
	st, err := filestore.Open(dir, filestore.Options{})
	if err != nil {
		return ledger.VerifyReport{}, fmt.Errorf("backup: reopen the copy: %w", err)
	}
	l := ledger.New(st, ledger.Options{Clock: clock})
	defer l.Close()
	vr, err := l.Verify(ctx)
	if err != nil {
		return vr, fmt.Errorf("backup: verify the copy: %w", err)
	}
	i := 0
	for ev, err := range l.ReadAll(ctx, 0) {
		if err != nil {
			return vr, fmt.Errorf("backup: read the copy: %w", err)
		}
		if i >= len(want) {
			return vr, fmt.Errorf("backup: the copy holds more events than the %d copied", len(want))
		}
		w := &want[i]
		if ev.ID != w.ID || ev.Hash != w.Hash || ev.Stream != w.Stream || ev.Revision != w.Revision || !ev.RecordedAt.Equal(w.RecordedAt) {
			return vr, fmt.Errorf("backup: event %d of the copy (%s) differs from the source's (%s)", i+1, ev.ID, w.ID)
		}
		i++
	}
	if i != len(want) {
		return vr, fmt.Errorf("backup: the copy holds %d events, %d were copied", i, len(want))
	}
	return vr, nil
}

func checkEmpty(dir string) error {
	ents, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case err != nil:
		return fmt.Errorf("backup: %w", err)
	case len(ents) > 0:
		return fmt.Errorf("%w: %s", ErrTargetNotEmpty, dir)
	}
	return nil
}
