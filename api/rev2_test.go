package api_test

import (
	"net/http"
	"strings"
	"testing"

	"partyledger/api"
)

// newOrg is a branch founded on 2016-10-01 (RUBRIC.md revision 2).
const newOrg = "T-NEW"

func withFounded(t *testing.T) *env {
	t.Helper()
	e := newEnv(t, api.Options{})
	e.record("fixture",
		`{"org":"T-NEW","type":"OrganizationRegistered","occurred_on":"2016-10-01","data":{"code":"T-NEW","name":"新成立党支部","kind":"branch","has_groups":false,"founded_on":"2016-10-01"}}`,
		`{"org":"T-NEW","type":"MemberJoined","occurred_on":"2016-10-01","data":{"member_id":"x1","name":"赵强","is_leader":false,"monthly_income_fen":300000}}`)
	return e
}

func TestNotFoundedYet(t *testing.T) {
	e := withFounded(t)
	t.Run("a scorecard before founded_on is a 422 on as_of", func(t *testing.T) {
		res := e.do("GET", "/v1/orgs/"+newOrg+"/scorecard?year=2016&as_of=2016-09-30", "auditor", nil)
		code, field := res.apiErr(t)
		if res.status != http.StatusUnprocessableEntity || code != "invalid" || field != "as_of" {
			t.Fatalf("%d %s", res.status, res.body)
		}
		msg := res.json(t)["error"].(map[string]any)["message"].(string)
		for _, s := range []string{"尚未成立", "not founded yet", "2016-10-01", "2016-09-30"} {
			if !strings.Contains(msg, s) {
				t.Errorf("message %q lacks %q", msg, s)
			}
		}
	})
	t.Run("on founded_on it is scored", func(t *testing.T) {
		res := e.do("GET", "/v1/orgs/"+newOrg+"/scorecard?year=2016&as_of=2016-10-01", "auditor", nil)
		if res.status != http.StatusOK {
			t.Fatalf("%d %s", res.status, res.body)
		}
		if f, ok := res.json(t)["founding"].(map[string]any); !ok || f["months"] != float64(3) {
			t.Errorf("founding %v", res.json(t)["founding"])
		}
	})
	t.Run("missing before founded_on is a 422 on as_of too", func(t *testing.T) {
		res := e.do("GET", "/v1/orgs/"+newOrg+"/missing?year=2016&as_of=2016-09-30", "auditor", nil)
		if _, field := res.apiErr(t); res.status != http.StatusUnprocessableEntity || field != "as_of" {
			t.Fatalf("%d %s", res.status, res.body)
		}
	})
	t.Run("the ranking leaves it out before founded_on", func(t *testing.T) {
		has := func(asOf string) bool {
			j := e.do("GET", "/v1/scorecards?year=2016&as_of="+asOf, "assessor", nil).json(t)
			for _, c := range j["scorecards"].([]any) {
				if c.(map[string]any)["org"] == newOrg {
					return true
				}
			}
			return false
		}
		if has("2016-09-30") || !has("2016-12-31") {
			t.Error("the organisation is ranked before it was founded, or not after")
		}
	})
	t.Run("the scorecard page says so", func(t *testing.T) {
		a := e.login("auditor")
		res := a.get("/ui/orgs/" + newOrg + "?year=2016&as_of=2016-09-30")
		if res.status != http.StatusUnprocessableEntity || !strings.Contains(string(res.body), "尚未成立") {
			t.Fatalf("%d %s", res.status, res.body)
		}
		res = a.get("/ui/orgs/" + newOrg + "?year=2016")
		if res.status != http.StatusOK || !strings.Contains(string(res.body), "本组织 2016-10-01 成立，此前月份不考核，年度要求按 3 个月折算") {
			t.Fatalf("%d: the page does not say how the founding is judged", res.status)
		}
		res = a.get("/ui/orgs/" + newOrg + "/print?year=2016")
		if res.status != http.StatusOK || !strings.Contains(string(res.body), `<p id="founding">本组织 2016-10-01 成立，此前月份不考核，年度要求按 3 个月折算`) {
			t.Fatalf("%d: the print page does not say how the founding is judged", res.status)
		}
	})
}

func TestTimelineStopsAtAsOf(t *testing.T) {
	e := withFounded(t)
	months := func(code, query string) []string {
		j := e.do("GET", "/v1/orgs/"+code+"/scorecard/timeline?year=2016"+query, "auditor", nil).json(t)
		var out []string
		for _, p := range j["points"].([]any) {
			out = append(out, p.(map[string]any)["month"].(string))
		}
		return out
	}
	if got := months(ownOrg, "&as_of=2016-03-31"); strings.Join(got, ",") != "2016-01,2016-02,2016-03" {
		t.Errorf("as of 03-31: %v", got)
	}
	if got := months(ownOrg, "&as_of=2016-04-30"); len(got) != 4 {
		t.Errorf("as of 04-30: %v", got)
	}
	if got := months(ownOrg, "&as_of=2016-04-29"); len(got) != 3 {
		t.Errorf("as of 04-29: %v", got)
	}
	if got := months(ownOrg, ""); len(got) != 12 {
		t.Errorf("no as_of: %v", got)
	}
	if got := months(newOrg, ""); strings.Join(got, ",") != "2016-10,2016-11,2016-12" {
		t.Errorf("founded 2016-10-01: %v", got)
	}
	t.Run("the page's chart has a dot per month up to D", func(t *testing.T) {
		a := e.login("auditor")
		body := string(a.get("/ui/orgs/" + ownOrg + "?year=2016&as_of=2016-03-31").body)
		if n := strings.Count(body, "月末："); n != 3 {
			t.Errorf("%d dots, want 3", n)
		}
	})
}

func TestTermExtensionIsTheCommittees(t *testing.T) {
	e := newEnv(t, api.Options{})
	ext := map[string]any{"type": "TermExtensionApproved", "occurred_on": "2016-05-05",
		"data": map[string]any{"until": "2017-06-30", "reason": "机构改革，经市直工委批准延期换届"}}
	if res := e.do("POST", "/v1/orgs/"+ownOrg+"/events", "branch", ext); res.status != http.StatusForbidden {
		t.Fatalf("branch: %d %s", res.status, res.body)
	}
	if res := e.do("POST", "/v1/orgs/"+ownOrg+"/events", "admin", ext); res.status != http.StatusCreated {
		t.Fatalf("admin: %d %s", res.status, res.body)
	}
}
