package api_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"partyledger/api"
	"partyledger/domain"
)

// TestPublishRulebookNamesLines: a refused rulebook is reported problem by
// problem, each with its line within data.rulebook as sent (the parser the
// CLI's rulebook publish uses), and nothing is published.
func TestPublishRulebookNamesLines(t *testing.T) {
	e := newEnv(t, api.Options{})
	var doc map[string]any
	if err := json.Unmarshal(domain.Builtin2016JSON(), &doc); err != nil {
		t.Fatal(err)
	}
	doc["version"] = "2016.2"
	doc["total"] = 99
	item := doc["items"].([]any)[0].(map[string]any)
	item["titel"] = item["title"]
	delete(item, "title")
	rb, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	body := `{"occurred_on":"2017-01-15","data":{"year":2016,"version":"2016.2","reason":"更正","rulebook":` + string(rb) + `}}`
	res := e.do("POST", "/v1/rulebooks", "admin", body)
	if code, _ := res.apiErr(t); res.status != 422 || code != "invalid" {
		t.Fatalf("%d %.300s", res.status, res.body)
	}
	var out struct {
		Error struct {
			Details []struct{ Field, Message string }
		}
	}
	if err := json.Unmarshal(res.body, &out); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(rb), "\n")
	found := map[string]bool{}
	for _, d := range out.Error.Details {
		var n int
		if _, err := fmt.Sscanf(d.Message, "line %d", &n); err != nil || n < 1 || n > len(lines) {
			t.Fatalf("problem without its line: %+v", d)
		}
		switch d.Field {
		case "data.rulebook.items[0].titel":
			found[d.Field] = strings.Contains(lines[n-1], `"titel"`) && strings.Contains(d.Message, "unknown field")
		case "data.rulebook.total":
			found[d.Field] = strings.Contains(lines[n-1], `"total"`) && strings.Contains(d.Message, "is 99 but the items add up to 100")
		}
	}
	if !found["data.rulebook.items[0].titel"] || !found["data.rulebook.total"] {
		t.Fatalf("details %+v", out.Error.Details)
	}
	vs := e.do("GET", "/v1/rulebooks/2016", "admin", nil).json(t)["versions"].([]any)
	for _, v := range vs {
		if v.(map[string]any)["version"] == "2016.2" {
			t.Fatal("the refused version was published")
		}
	}
}
