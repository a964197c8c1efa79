package api_test

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"partyledger/api"
	"partyledger/domain"
)

// correctedRulebook is 2016.1 with 5.2's monthly minimum lowered to one
// study session, as version 2016.2.
func correctedRulebook(t *testing.T) map[string]any {
	t.Helper()
	var doc map[string]any
	if err := json.Unmarshal(domain.Builtin2016JSON(), &doc); err != nil {
		t.Fatal(err)
	}
	doc["version"] = "2016.2"
	for _, it := range doc["items"].([]any) {
		item := it.(map[string]any)
		if item["code"] != "5.2" {
			continue
		}
		for _, r := range item["rules"].([]any) {
			if rule := r.(map[string]any); rule["id"] == "5.2.sessions" {
				rule["need"] = 1
			}
		}
	}
	return doc
}

func TestRecompute(t *testing.T) {
	e := newEnv(t, api.Options{})
	res := e.do("GET", "/v1/recompute?year=2016", "auditor", nil)
	if res.status != http.StatusOK {
		t.Fatalf("recompute with one version: %d %s", res.status, res.body)
	}
	if got := res.json(t)["grade_changed"]; got != float64(0) {
		t.Fatalf("one version: grade_changed %v, want 0", got)
	}
	pub := e.do("POST", "/v1/rulebooks", "admin", map[string]any{"occurred_on": "2017-01-10",
		"data": map[string]any{"year": 2016, "version": "2016.2", "reason": "每月学习次数更正为1次", "rulebook": correctedRulebook(t)}})
	if pub.status != http.StatusCreated {
		t.Fatalf("publish: %d %s", pub.status, pub.body)
	}
	res = e.do("GET", "/v1/recompute?year=2016&from=2016.1&to=2016.2", "admin", nil)
	if res.status != http.StatusOK {
		t.Fatalf("recompute: %d %s", res.status, res.body)
	}
	var rep struct {
		GradeChanged int `json:"grade_changed"`
		Changed      []struct {
			Org string `json:"org"`
		} `json:"changed"`
	}
	if err := json.Unmarshal(res.body, &rep); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, c := range rep.Changed {
		found = found || c.Org == ownOrg
	}
	if rep.GradeChanged == 0 || !found {
		t.Fatalf("recompute after lowering 5.2: %s", res.body)
	}
	// The own branch's score under each version, independently.
	old := e.do("GET", "/v1/orgs/"+ownOrg+"/scorecard?year=2016&rulebook=2016.1", "auditor", nil).json(t)["online"]
	now := e.do("GET", "/v1/orgs/"+ownOrg+"/scorecard?year=2016&rulebook=2016.2", "auditor", nil).json(t)["online"]
	if old == now {
		t.Fatalf("the corrected rulebook did not change %s's score (%v)", ownOrg, old)
	}
	for _, bad := range []string{"from=1999.9", "to=nope"} {
		res := e.do("GET", "/v1/recompute?year=2016&"+bad, "admin", nil)
		if res.status != http.StatusUnprocessableEntity && res.status != http.StatusBadRequest {
			t.Fatalf("recompute %s: %d %s", bad, res.status, res.body)
		}
		if _, field := res.apiErr(t); field == "" {
			t.Fatalf("recompute %s: no field in %s", bad, res.body)
		}
	}
}

func TestReports(t *testing.T) {
	e := newEnv(t, api.Options{})
	res := e.do("GET", "/v1/reports/2016", "auditor", nil)
	if res.status != http.StatusOK || !strings.Contains(res.header.Get("Content-Disposition"), "partyledger-2016.xlsx") {
		t.Fatalf("xlsx: %d %v %.200s", res.status, res.header, res.body)
	}
	f, err := excelize.OpenReader(bytes.NewReader(res.body))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sheets := strings.Join(f.GetSheetList(), ",")
	if !strings.Contains(sheets, ownOrg) {
		t.Fatalf("workbook sheets %s lack %s", sheets, ownOrg)
	}
	res = e.do("GET", "/v1/reports/2016?format=csv&table=summary", "admin", nil)
	if res.status != http.StatusOK {
		t.Fatalf("csv: %d %s", res.status, res.body)
	}
	rows, err := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(res.body, []byte("\xef\xbb\xbf")))).ReadAll()
	if err != nil || len(rows) != 4 { // header + three organisations
		t.Fatalf("csv summary: %d rows, %v\n%s", len(rows), err, res.body)
	}
	for q, field := range map[string]string{"format=pdf": "format", "format=csv&table=x": "table", "format=xlsx&table=summary": "table"} {
		res := e.do("GET", "/v1/reports/2016?"+q, "admin", nil)
		if _, f := res.apiErr(t); res.status != http.StatusBadRequest || f != field {
			t.Fatalf("%s: %d field %q, want 400 on %s", q, res.status, f, field)
		}
	}
	// From the web pages, with the session cookie.
	b := e.login("auditor")
	if got := b.get("/ui/reports/2016?format=csv&table=journal"); got.status != http.StatusOK || !strings.Contains(got.header.Get("Content-Type"), "text/csv") {
		t.Fatalf("page download: %d %v", got.status, got.header)
	}
	if got := b.get("/ui/overview?year=2016"); !strings.Contains(string(got.body), "/ui/reports/2016?format=xlsx") {
		t.Fatal("the overview page has no export link")
	}
}
