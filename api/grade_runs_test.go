package api_test

import (
	"net/http"
	"testing"

	"partyledger/api"
)

// TestGradeRunsAPI: POST /v1/grades/issue and /v1/grades/revise (admin)
// refuse a bad body field by field and write nothing; a dry run answers
// 200 and writes nothing; the grades are then issued (201), recorded as
// the token's holder.
func TestGradeRunsAPI(t *testing.T) {
	e := newEnv(t, api.Options{})
	grades := func() []any {
		t.Helper()
		return e.do("GET", "/v1/grades?year=2016", "admin", nil).json(t)["grades"].([]any)
	}
	for _, c := range []struct {
		path  string
		body  any
		field string
	}{
		{"/v1/grades/issue", map[string]any{"provisional": true}, "year"},
		{"/v1/grades/issue", map[string]any{"year": 1999}, "year"},
		{"/v1/grades/issue", map[string]any{"year": 2016, "known_at": "yesterday"}, "known_at"},
		{"/v1/grades/issue", map[string]any{"year": 2016, "under": "not a code!"}, "under"},
		{"/v1/grades/issue", map[string]any{"year": 2016, "provisonal": true}, "provisonal"},
		{"/v1/grades/revise", map[string]any{"year": 2016, "provisional": true}, "reason"},
		{"/v1/grades/revise", map[string]any{"year": 2016, "reason": "  "}, "reason"},
	} {
		res := e.do("POST", c.path, "admin", c.body)
		code, field := res.apiErr(t)
		if res.status != http.StatusUnprocessableEntity || code != "invalid" || field != c.field {
			t.Errorf("POST %s %v: %d %s %s, want 422 invalid %s", c.path, c.body, res.status, code, field, c.field)
		}
	}
	if gs := grades(); len(gs) != 0 {
		t.Fatalf("a refused request wrote grades: %v", gs)
	}

	dry := e.do("POST", "/v1/grades/issue", "admin", map[string]any{"year": 2016, "provisional": true, "dry_run": true})
	if dry.status != http.StatusOK || dry.json(t)["dry_run"] != true || len(dry.json(t)["written"].([]any)) != 1 {
		t.Fatalf("dry run: %d %s", dry.status, dry.body)
	}
	if gs := grades(); len(gs) != 0 {
		t.Fatalf("a dry run wrote grades: %v", gs)
	}
	res := e.do("POST", "/v1/grades/issue", "admin", map[string]any{"year": 2016, "provisional": true})
	if res.status != http.StatusCreated || len(res.json(t)["written"].([]any)) != 1 || res.json(t)["dry_run"] == true {
		t.Fatalf("issue: %d %s", res.status, res.body)
	}
	gs := grades()
	if by := "测试 admin (admin " + e.ids["admin"] + ")"; len(gs) != 1 || gs[0].(map[string]any)["recorded_by"] != by {
		t.Fatalf("grades %v, want one recorded by %s", gs, by)
	}
	// Issued once: a second run skips the graded organisation.
	again := e.do("POST", "/v1/grades/issue", "admin", map[string]any{"year": 2016, "provisional": true})
	if again.status != http.StatusCreated || len(again.json(t)["written"].([]any)) != 0 || len(grades()) != 1 {
		t.Fatalf("issue again: %d %s", again.status, again.body)
	}
	rev := e.do("POST", "/v1/grades/revise", "admin", map[string]any{"year": 2016, "provisional": true, "reason": "无更正"})
	if rev.status != http.StatusCreated || len(rev.json(t)["written"].([]any)) != 0 {
		t.Fatalf("revise with nothing changed: %d %s", rev.status, rev.body)
	}
}
