package api_test

import (
	"encoding/json"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"

	"partyledger/api"
)

// TestOpenAPIMatchesRouter walks the router: every API route (not the web
// pages) is in /v1/openapi.json with its method and path parameters, and
// the document names no route the router lacks.
func TestOpenAPIMatchesRouter(t *testing.T) {
	e := newEnv(t, api.Options{})
	res := e.do("GET", "/v1/openapi.json", "", nil)
	var doc struct {
		OpenAPI string                                `json:"openapi"`
		Paths   map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(res.body, &doc); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Fatalf("openapi %q", doc.OpenAPI)
	}
	page := map[string]bool{}
	for _, r := range api.Policy {
		if r.Page {
			page[r.Method+" "+r.Pattern] = true
		}
	}
	routed := map[string]bool{}
	paramRE := regexp.MustCompile(`\{([^}]+)\}`)
	err := chi.Walk(e.srv.Routes(), func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		if page[method+" "+route] {
			return nil
		}
		routed[method+" "+route] = true
		raw, ok := doc.Paths[route][strings.ToLower(method)]
		if !ok {
			t.Errorf("%s %s is not in the OpenAPI document", method, route)
			return nil
		}
		var op struct {
			Parameters []struct{ Name, In string } `json:"parameters"`
			Responses  map[string]json.RawMessage  `json:"responses"`
		}
		if err := json.Unmarshal(raw, &op); err != nil {
			t.Fatal(err)
		}
		var want, got []string
		for _, m := range paramRE.FindAllStringSubmatch(route, -1) {
			want = append(want, m[1])
		}
		for _, p := range op.Parameters {
			if p.In == "path" {
				got = append(got, p.Name)
			}
		}
		sort.Strings(want)
		sort.Strings(got)
		if strings.Join(want, ",") != strings.Join(got, ",") {
			t.Errorf("%s %s: path parameters %v in the document, %v in the route", method, route, got, want)
		}
		if len(op.Responses) == 0 {
			t.Errorf("%s %s: no responses", method, route)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for path, ops := range doc.Paths {
		for m := range ops {
			if !routed[strings.ToUpper(m)+" "+path] {
				t.Errorf("the document has %s %s, the router does not", strings.ToUpper(m), path)
			}
		}
	}
}
