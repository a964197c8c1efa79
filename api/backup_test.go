package api_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
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
	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Add(1)
	go func() { // appends during the backup
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			e.do("POST", "/v1/orgs/"+ownOrg+"/events", "branch", map[string]any{"type": "StudySessionHeld", "occurred_on": "2016-08-01",
				"data": map[string]any{"topic": fmt.Sprintf("备份期间 %d", i), "attendees": []string{}, "notes_kept": true}})
		}
	}()
	before := e.do("POST", "/v1/orgs/"+ownOrg+"/events", "branch", map[string]any{"type": "StudySessionHeld", "occurred_on": "2016-08-02",
		"data": map[string]any{"topic": "备份之前", "attendees": []string{}, "notes_kept": true}})
	if before.status != http.StatusCreated {
		t.Fatalf("append: %d %s", before.status, before.body)
	}
	dir := filepath.Join(t.TempDir(), "copy")
	res := e.do("POST", "/v1/backup", "admin", map[string]string{"dir": dir})
	close(stop)
	wg.Wait()
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
	var id struct{ ID string }
	id.ID = before.json(t)["id"].(string)
	found := false
	for ev, err := range l.ReadAll(context.Background(), 0) {
		if err != nil {
			t.Fatal(err)
		}
		found = found || ev.ID.String() == id.ID
	}
	if !found {
		t.Fatal("the event acknowledged before the backup is not in the copy")
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
