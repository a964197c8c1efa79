package api_test

import (
	"fmt"
	"net/http"
	"testing"

	"partyledger/api"
)

// TestJournalPageRetractions: a journal page reads only as far as it
// must, yet marks a page event retracted by a line far beyond the page,
// and not as known before the retraction was recorded.
func TestJournalPageRetractions(t *testing.T) {
	e := newEnv(t, api.Options{})
	path := "/v1/orgs/" + ownOrg + "/events"
	first := e.do("POST", path, "branch", study("2016-08-01", "将被撤回"))
	if first.status != http.StatusCreated {
		t.Fatalf("%d %s", first.status, first.body)
	}
	id := first.json(t)["id"].(string)
	rev := int(first.json(t)["revision"].(float64))
	for i := range 30 {
		if res := e.do("POST", path, "branch", study("2016-08-02", fmt.Sprintf("填充 %d", i))); res.status != http.StatusCreated {
			t.Fatalf("%d %s", res.status, res.body)
		}
	}
	knownBefore := e.clock.Now().UTC().Format("2006-01-02T15:04:05.000000Z")
	if res := e.do("POST", path, "branch", map[string]any{"type": "EventRetracted", "occurred_on": "2016-08-03", "data": map[string]any{"event_id": id, "reason": "重复登记"}}); res.status != http.StatusCreated {
		t.Fatalf("%d %s", res.status, res.body)
	}
	page := func(q string) (map[string]any, []any) {
		j := e.do("GET", fmt.Sprintf("%s?after=%d&limit=3%s", path, rev-1, q), "branch", nil).json(t)
		return j, j["events"].([]any)
	}
	j, evs := page("")
	if len(evs) != 3 || j["next_after"] == nil {
		t.Fatalf("page: %d events, next_after %v", len(evs), j["next_after"])
	}
	ev := evs[0].(map[string]any)
	r, _ := ev["retracted"].(map[string]any)
	if ev["id"] != id || r == nil || r["reason"] != "重复登记" {
		t.Fatalf("the first event of the page: %v", ev)
	}
	for _, o := range evs[1:] {
		if o.(map[string]any)["retracted"] != nil {
			t.Fatalf("not retracted, shown retracted: %v", o)
		}
	}
	_, evs = page("&known_at=" + knownBefore)
	if len(evs) != 3 || evs[0].(map[string]any)["retracted"] != nil {
		t.Fatalf("as known before the retraction: %v", evs[0])
	}
	// The last page: the retraction itself, nothing after it.
	j = e.do("GET", fmt.Sprintf("%s?after=%d", path, rev+30), "branch", nil).json(t)
	if evs := j["events"].([]any); len(evs) != 1 || evs[0].(map[string]any)["type"] != "EventRetracted" || j["next_after"] != nil {
		t.Fatalf("last page %v", j)
	}
}
