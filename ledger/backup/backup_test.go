package backup_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"partyledger/ledger"
	"partyledger/ledger/backup"
	"partyledger/ledger/filestore"
)

// A backup taken while appends go on opens, verifies, and holds every
// event acknowledged before it began (and no event it did not read).
func TestBackupUnderLoad(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	st, err := filestore.Open(t.TempDir(), filestore.Options{SegmentSize: 64 << 10})
	if err != nil {
		t.Fatal(err)
	}
	src := ledger.New(st, ledger.Options{})
	defer src.Close()

	var (
		mu    sync.Mutex
		acked = map[uuid.UUID]bool{}
		stop  atomic.Bool
		wg    sync.WaitGroup
		nacks atomic.Int64
	)
	appendOne := func(w, i int) error {
		res, err := src.Append(ctx, fmt.Sprintf("org-%d", w), ledger.Any, []ledger.Proposed{{
			Type: "StudySessionHeld", OccurredOn: "2016-03-08", RecordedBy: "load",
			Data: fmt.Appendf(nil, `{"writer":%d,"n":%d}`, w, i)}})
		if err != nil {
			return err
		}
		mu.Lock()
		acked[res[0].ID] = true
		mu.Unlock()
		nacks.Add(1)
		return nil
	}
	for i := range 200 {
		if err := appendOne(0, i); err != nil {
			t.Fatal(err)
		}
	}
	errs := make(chan error, 4)
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; !stop.Load(); i++ {
				if err := appendOne(w, i); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	for nacks.Load() < 400 { // the load is on
		time.Sleep(time.Millisecond)
	}
	// Every event acknowledged before the backup begins.
	mu.Lock()
	before := make([]uuid.UUID, 0, len(acked))
	for id := range acked {
		before = append(before, id)
	}
	mu.Unlock()
	out := filepath.Join(t.TempDir(), "copy")
	rep, err := backup.Write(ctx, src.ReadAll(ctx, 0), out)
	if err != nil {
		t.Fatal(err)
	}
	for nacks.Load() < int64(rep.Events)+200 { // appends went on after it
		time.Sleep(time.Millisecond)
	}
	stop.Store(true)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if rep.Events < len(before) || uint64(rep.Events) != rep.Verify.Events {
		t.Fatalf("backup of %d events (verified %d), %d acknowledged before it", rep.Events, rep.Verify.Events, len(before))
	}

	// Restore is opening the copy.
	cst, err := filestore.Open(out, filestore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	cp := ledger.New(cst, ledger.Options{})
	defer cp.Close()
	vr, err := cp.Verify(ctx)
	if err != nil {
		t.Fatalf("verify the copy: %v", err)
	}
	if int(vr.Events) != rep.Events || vr.LastPosition != rep.LastPosition {
		t.Fatalf("copy: %d events to %d, report says %d to %d", vr.Events, vr.LastPosition, rep.Events, rep.LastPosition)
	}
	for _, id := range before {
		if _, err := cp.EventByID(ctx, id); err != nil {
			t.Fatalf("event %s, acknowledged before the backup began, is not in the copy: %v", id, err)
		}
	}
	// Same envelope, event by event, as the source at those positions.
	var want []ledger.Event
	for ev, err := range src.ReadAll(ctx, 0) {
		if err != nil {
			t.Fatal(err)
		}
		if ev.Position > rep.LastPosition {
			break
		}
		want = append(want, ev)
	}
	i := 0
	for ev, err := range cp.ReadAll(ctx, 0) {
		if err != nil {
			t.Fatal(err)
		}
		if ev.ID != want[i].ID || ev.Hash != want[i].Hash || ev.Position != want[i].Position {
			t.Fatalf("copy event %d differs from the source's", i)
		}
		i++
	}
}

func TestBackupRefusesNonEmptyTarget(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "x"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	var none func(func(ledger.Event, error) bool)
	none = func(func(ledger.Event, error) bool) {}
	if _, err := backup.Write(context.Background(), none, dir); !errors.Is(err, backup.ErrTargetNotEmpty) {
		t.Fatalf("backup into a non-empty directory: %v", err)
	}
}
