package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"

	"partyledger/api"
	"partyledger/ledger"
	"partyledger/ledger/filestore"
)

// POST /v1/backup (admin) writes a copy while appends go on; the copy
// opens, verifies and holds every event acknowledged before the request.
func TestBackupRoute(t *testing.T) {
	e := newEnv(t, api.Options{})
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		acked    []string // ids of the load's appends answered 201, in order
		bad      error
		warmOnce sync.Once
	)
	stop, warm := make(chan struct{}), make(chan struct{})
	wg.Add(1)
	go func() { // appends during the backup
		defer wg.Done()
		// At most 150: a token may burst 200 requests (429 beyond).
		for i := 0; i < 150; i++ {
			select {
			case <-stop:
				return
			default:
			}
			res := e.do("POST", "/v1/orgs/"+ownOrg+"/events", "branch", map[string]any{"type": "StudySessionHeld", "occurred_on": "2016-08-01",
				"data": map[string]any{"topic": fmt.Sprintf("备份期间 %d", i), "attendees": []string{}, "notes_kept": true}})
			var ack struct{ ID string }
			mu.Lock()
			if err := json.Unmarshal(res.body, &ack); res.status != http.StatusCreated || err != nil || ack.ID == "" {
				bad = fmt.Errorf("append %d: %d %s", i, res.status, res.body)
			} else {
				acked = append(acked, ack.ID)
			}
			mu.Unlock()
			if bad != nil || i == 9 {
				warmOnce.Do(func() { close(warm) }) // the load is on (or failed)
			}
			if bad != nil {
				return
			}
		}
	}()
	<-warm
	mu.Lock()
	before := slices.Clone(acked) // every append acknowledged before the backup begins
	mu.Unlock()
	dir := filepath.Join(t.TempDir(), "copy")
	res := e.do("POST", "/v1/backup", "admin", map[string]string{"dir": dir})
	close(stop)
	wg.Wait()
	if bad != nil {
		t.Fatal(bad)
	}
	if res.status != http.StatusCreated {
		t.Fatalf("backup: %d %s", res.status, res.body)
	}
	got := res.json(t)
	st, err := filestore.Open(dir, filestore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	l := ledger.New(st, ledger.Options{})
	defer l.Close()
	vr, err := l.Verify(context.Background())
	if err != nil {
		t.Fatalf("verify the copy: %v", err)
	}
	if float64(vr.Events) != got["events"].(float64) {
		t.Fatalf("copy holds %d events, the answer says %v", vr.Events, got["events"])
	}
	copied := map[string]bool{}
	for ev, err := range l.ReadAll(context.Background(), 0) {
		if err != nil {
			t.Fatal(err)
		}
		copied[ev.ID.String()] = true
	}
	if len(before) < 10 {
		t.Fatalf("%d appends acknowledged before the backup, want at least 10", len(before))
	}
	for _, id := range before {
		if !copied[id] {
			t.Fatalf("event %s, acknowledged before the backup began, is not in the copy", id)
		}
	}

	if res := e.do("POST", "/v1/backup", "admin", map[string]string{"dir": dir}); res.status != http.StatusUnprocessableEntity {
		t.Fatalf("backup into a non-empty directory: %d %s", res.status, res.body)
	}
	if res := e.do("POST", "/v1/backup", "admin", map[string]string{"dir": "relative/dir"}); res.status != http.StatusUnprocessableEntity {
		t.Fatalf("backup into a relative path: %d %s", res.status, res.body)
	}
	if _, err := os.Stat(filepath.Join("relative")); err == nil {
		t.Fatal("a relative path was written")
	}
	if res := e.do("POST", "/v1/backup", "auditor", map[string]string{"dir": filepath.Join(t.TempDir(), "x")}); res.status != http.StatusForbidden {
		t.Fatalf("backup as auditor: %d", res.status)
	}
}
