package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/go-chi/chi/v5"

	"partyledger/api"
	"partyledger/domain"
	"partyledger/ledger/logtree"
	"path/filepath"
)

// TestPolicyCoversRouter walks the router: every route has exactly one
// policy rule, every rule has a route, and OwnOrg is only used where the
// route names an organisation.
func TestPolicyCoversRouter(t *testing.T) {
	e := newEnv(t, api.Options{})
	routes := map[string]bool{}
	err := chi.Walk(e.srv.Routes(), func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		key := method + " " + route
		routes[key] = true
		n := 0
		for _, r := range api.Policy {
			if r.Method == method && r.Pattern == route {
				n++
			}
		}
		if n != 1 {
			t.Errorf("route %s has %d policy rules, want 1", key, n)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range api.Policy {
		if !routes[r.Method+" "+r.Pattern] {
			t.Errorf("policy rule %s %s has no route", r.Method, r.Pattern)
		}
		for _, role := range domain.AccessRoles {
			if r.For(role) == api.OwnOrg && !strings.Contains(r.Pattern, "{code}") {
				t.Errorf("%s %s: OwnOrg for %s on a route without {code}", r.Method, r.Pattern, role)
			}
		}
		if r.Public && (r.Branch != api.Deny || r.Assessor != api.Deny || r.Auditor != api.Deny || r.Admin != api.Deny) {
			t.Errorf("%s %s: a public rule names roles", r.Method, r.Pattern)
		}
	}
}

var seq atomic.Int64

// matrixCall builds the request of one route for one role and target
// organisation: a path with its parameters filled and a body that the
// role, when allowed, would have accepted.
func matrixCall(t *testing.T, e *env, r api.Rule, role, org string) (path string, body any, form url.Values) {
	n := seq.Add(1)
	path = r.Pattern
	path = strings.ReplaceAll(path, "{code}", org)
	path = strings.ReplaceAll(path, "{year}", "2016")
	path = strings.ReplaceAll(path, "{version}", "2016.1")
	path = strings.ReplaceAll(path, "/static/*", "/static/style.css")
	if strings.Contains(path, "{tokenID}") {
		// A fresh token to revoke, so that the matrix revokes nothing it uses.
		res := e.do("POST", "/v1/tokens", "admin", map[string]string{"role": "auditor", "name": fmt.Sprintf("matrix %d", n)})
		if res.status != http.StatusCreated {
			t.Fatalf("issue: %d %s", res.status, res.body)
		}
		path = strings.ReplaceAll(path, "{tokenID}", res.json(t)["token_id"].(string))
	}
	if strings.Contains(path, "{sessionID}") {
		path = strings.ReplaceAll(path, "{sessionID}", deviceSession(t, e, "auditor"))
	}
	formType := map[string]string{"branch": domain.TypeStudySessionHeld, "assessor": domain.TypeGroupAssessmentRecorded,
		"admin": domain.TypeGradeIssued, "auditor": domain.TypeStudySessionHeld, "": domain.TypeStudySessionHeld}[role]
	path = strings.ReplaceAll(path, "{type}", formType)
	switch r.Pattern {
	case "/v1/proof/inclusion":
		var page struct {
			Events []struct {
				ID string `json:"id"`
			} `json:"events"`
		}
		if err := json.Unmarshal(e.do("GET", "/v1/orgs/"+ownOrg+"/events?limit=1", "admin", nil).body, &page); err != nil || len(page.Events) == 0 {
			t.Fatalf("an event to prove: %v", err)
		}
		return path + "?event=" + page.Events[0].ID, nil, nil
	case "/v1/proof/consistency":
		return path + "?from=1", nil, nil
	}
	if r.Method != "POST" {
		return path, nil, nil
	}
	switch r.Pattern {
	case "/v1/orgs":
		code := fmt.Sprintf("M-%d", n)
		return path, map[string]any{"occurred_on": "2016-01-04", "data": map[string]any{"code": code, "name": "矩阵测试支部", "kind": "branch", "has_groups": false}}, nil
	case "/v1/orgs/{code}/events":
		switch role {
		case "assessor":
			return path, map[string]any{"type": "GroupAssessmentRecorded", "occurred_on": "2017-01-20", "data": map[string]any{"year": 2016, "score": 90}}, nil
		case "admin":
			return path, map[string]any{"type": "GradeIssued", "occurred_on": "2017-01-25", "data": map[string]any{"year": 2016, "rulebook_version": "2016.1", "final": 80, "tier": "compliant", "override_reason": "矩阵测试"}}, nil
		}
		return path, map[string]any{"type": "StudySessionHeld", "occurred_on": "2016-07-20", "data": map[string]any{"topic": "矩阵学习", "attendees": []string{}, "notes_kept": true}}, nil
	case "/v1/committee/events":
		return path, map[string]any{"type": "RequiredEventScheduled", "occurred_on": "2016-02-01", "data": map[string]any{"scheduled_event_id": fmt.Sprintf("c-%d", n), "kind": "meeting", "title": "工委会议", "targets": []string{"*"}}}, nil
	case "/ui/review":
		// A fresh entry of the branch to reject.
		res := e.do("POST", "/v1/orgs/"+ownOrg+"/events", "branch", map[string]any{"type": "StudySessionHeld", "occurred_on": "2016-08-01", "data": map[string]any{"topic": fmt.Sprintf("待审 %d", n), "attendees": []string{}, "notes_kept": true}})
		if res.status != http.StatusCreated {
			t.Fatalf("entry to review: %d %s", res.status, res.body)
		}
		return path, nil, url.Values{"org": {ownOrg}, "event_id": {res.json(t)["id"].(string)}, "reason": {"矩阵退回"}, "year": {"2016"}}
	case "/v1/schedule":
		return path, map[string]any{"occurred_on": "2016-02-01", "data": map[string]any{"scheduled_event_id": fmt.Sprintf("s-%d", n), "kind": "training", "title": "培训", "targets": []string{"*"}}}, nil
	case "/v1/rulebooks":
		var doc map[string]any
		if err := json.Unmarshal(domain.Builtin2016JSON(), &doc); err != nil {
			t.Fatal(err)
		}
		v := fmt.Sprintf("2016.m%d", n)
		doc["version"] = v
		return path, map[string]any{"occurred_on": "2017-01-10", "data": map[string]any{"year": 2016, "version": v, "reason": "矩阵测试", "rulebook": doc}}, nil
	case "/v1/tokens":
		return path, map[string]string{"role": "auditor", "name": fmt.Sprintf("matrix %d", n)}, nil
	case "/v1/grades/issue":
		return path, map[string]any{"year": 2016, "provisional": true, "dry_run": true}, nil
	case "/v1/grades/revise":
		return path, map[string]any{"year": 2016, "provisional": true, "dry_run": true, "reason": "矩阵测试"}, nil
	case "/v1/backup":
		return path, map[string]string{"dir": filepath.Join(t.TempDir(), "backup")}, nil
	case "/ui/orgs/{code}/record/{type}":
		switch formType {
		case domain.TypeGroupAssessmentRecorded:
			return path, nil, url.Values{"occurred_on": {"2017-01-20"}, "year": {"2016"}, "score": {"88"}}
		case domain.TypeGradeIssued:
			return path, nil, url.Values{"occurred_on": {"2017-01-25"}, "year": {"2016"}, "rulebook_version": {"2016.1"}, "final": {"80"}, "tier": {"compliant"}, "override_reason": {"矩阵测试"}}
		}
		return path, nil, url.Values{"occurred_on": {"2016-07-21"}, "topic": {"表单学习"}, "notes_kept": {"true"}, "attendees": {memberOf[org]}}
	case "/logout", "/login", "/signin":
		return path, nil, url.Values{}
	case "/ui/orgs/{code}/dues":
		m := memberOf[org]
		return path, nil, url.Values{"month": {"2016-07"}, "occurred_on": {"2016-07-21"}, "pay": {m}, "amount_" + m: {"15.00"}, "confirm": {"1"}}
	case "/ui/devices":
		return path, nil, url.Values{"session_id": {deviceSession(t, e, orDefault(role, "auditor"))}}
	case "/ui/signin-codes":
		return path, nil, url.Values{"token": {e.ids["auditor"]}}
	case "/v1/tokens/{tokenID}/signin-codes":
		return path, nil, nil
	}
	if form, ok := adminMatrixForm(r.Pattern, n); ok {
		return path, nil, form
	}
	t.Fatalf("no matrix body for POST %s", r.Pattern)
	return
}

// TestRoleMatrix sends every route as every role (and as nobody), to the
// principal's own organisation and to another, and checks each answer
// against the policy table: refusals are 401/403 (or a redirect to sign
// in, for pages), and everything allowed succeeds.
func TestRoleMatrix(t *testing.T) {
	key, _, err := logtree.LoadOrCreateKey(filepath.Join(t.TempDir(), logtree.KeyFileName), "partyledger.test/matrix")
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, api.Options{Key: key}) // with the log tree: the proof routes answer
	browsers := map[string]*browser{}
	for _, role := range roles {
		browsers[role] = e.login(role)
	}
	// The routes come from the router, so that a route added later is
	// sent too; each is judged by its policy rule.
	var walked []api.Rule
	err = chi.Walk(e.srv.Routes(), func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		for _, r := range api.Policy {
			if r.Method == method && r.Pattern == route {
				walked = append(walked, r)
				return nil
			}
		}
		t.Errorf("route %s %s has no policy rule", method, route)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(walked) != len(api.Policy) {
		t.Errorf("walked %d routes, the policy has %d rules", len(walked), len(api.Policy))
	}
	for _, r := range walked {
		orgs := []string{ownOrg}
		if strings.Contains(r.Pattern, "{code}") {
			orgs = append(orgs, otherOrg)
		}
		for _, org := range orgs {
			target := "own"
			if org != ownOrg {
				target = "other"
			}
			for _, role := range append([]string{""}, roles...) {
				name := fmt.Sprintf("%s %s/%s/%s", r.Method, r.Pattern, orDefault(role, "anonymous"), target)
				t.Run(name, func(t *testing.T) {
					path, body, form := matrixCall(t, e, r, role, org)
					var res response
					switch {
					case r.Page && role != "":
						b := browsers[role]
						if r.Method == "POST" {
							form.Set("csrf", b.csrf)
							if r.Pattern == "/login" {
								form = url.Values{}
							}
							res = b.post(path, form)
							if r.Pattern == "/logout" && res.status == http.StatusSeeOther {
								browsers[role] = e.login(role) // signed out: sign in again
							}
						} else {
							res = b.get(path)
						}
					case r.Page:
						if r.Method == "POST" {
							res = e.do("POST", path, "", form.Encode(), "Content-Type", "application/x-www-form-urlencoded")
						} else {
							res = e.do("GET", path, "", nil)
						}
					default:
						res = e.do(r.Method, path, role, body)
					}
					want := expected(r, role, org)
					checkMatrix(t, r, role, want, res)
				})
			}
		}
	}
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

type outcome int

const (
	allowed outcome = iota
	unauthenticated
	forbidden
)

func expected(r api.Rule, role, org string) outcome {
	switch {
	case r.Public:
		return allowed
	case role == "":
		return unauthenticated
	}
	ar, _ := domain.ParseAccessRole(role)
	switch r.For(ar) {
	case api.Deny:
		return forbidden
	case api.OwnOrg:
		if org != ownOrg { // the branch token is bound to ownOrg
			return forbidden
		}
	}
	return allowed
}

func checkMatrix(t *testing.T, r api.Rule, role string, want outcome, res response) {
	t.Helper()
	switch want {
	case unauthenticated:
		if r.Page {
			if res.status != http.StatusSeeOther || !strings.HasPrefix(res.header.Get("Location"), "/login") {
				t.Fatalf("got %d (Location %q), want 303 to /login", res.status, res.header.Get("Location"))
			}
			return
		}
		if res.status != http.StatusUnauthorized {
			t.Fatalf("got %d, want 401: %s", res.status, res.body)
		}
		if code, _ := res.apiErr(t); code != "unauthorized" {
			t.Fatalf("code %q, want unauthorized", code)
		}
	case forbidden:
		if res.status != http.StatusForbidden {
			t.Fatalf("got %d, want 403: %.300s", res.status, res.body)
		}
		if r.Page {
			if !strings.Contains(string(res.body), "无权访问") {
				t.Fatalf("403 page without its message: %.300s", res.body)
			}
			return
		}
		if code, _ := res.apiErr(t); code != "forbidden" {
			t.Fatalf("code %q, want forbidden", code)
		}
	case allowed:
		if (r.Pattern == "/login" || r.Pattern == "/signin") && r.Method == "POST" {
			// Public, but refused without the login form's token: the
			// CSRF check, not the policy.
			if res.status != http.StatusForbidden {
				t.Fatalf("POST /login without its form token: %d", res.status)
			}
			return
		}
		if res.status >= 400 {
			t.Fatalf("got %d, want success: %.400s", res.status, res.body)
		}
		if res.status == http.StatusSeeOther && strings.HasPrefix(res.header.Get("Location"), "/login") && r.Pattern != "/logout" {
			t.Fatalf("allowed page redirected to sign in")
		}
	}
}

// TestAppendTypeMatrix checks, for every role and every event type, that
// POST /v1/orgs/{code}/events refuses (403, field type) exactly the types
// AppendAllowed refuses — before any validation of the data.
func TestAppendTypeMatrix(t *testing.T) {
	e := newEnv(t, api.Options{})
	for _, role := range []string{"branch", "assessor", "admin"} {
		ar, _ := domain.ParseAccessRole(role)
		for _, typ := range domain.Types() {
			t.Run(role+"/"+typ, func(t *testing.T) {
				res := e.do("POST", "/v1/orgs/"+ownOrg+"/events", role, map[string]any{"type": typ, "occurred_on": "2016-05-05", "data": map[string]any{}})
				k, _ := domain.StreamKindOf(typ)
				switch {
				case k != domain.StreamOrg:
					if res.status != http.StatusUnprocessableEntity {
						t.Fatalf("%s is no organisation event: got %d, want 422: %s", typ, res.status, res.body)
					}
				case api.AppendAllowed(ar, typ, ""):
					if res.status == http.StatusForbidden {
						t.Fatalf("allowed type refused: %s", res.body)
					}
				default:
					if res.status != http.StatusForbidden {
						t.Fatalf("got %d, want 403: %s", res.status, res.body)
					}
					if code, field := res.apiErr(t); code != "forbidden" || field != "type" {
						t.Fatalf("error %s/%s, want forbidden/type", code, field)
					}
				}
			})
		}
	}
	t.Run("auditor writes nothing", func(t *testing.T) {
		for _, typ := range domain.Types() {
			res := e.do("POST", "/v1/orgs/"+ownOrg+"/events", "auditor", map[string]any{"type": typ, "occurred_on": "2016-05-05", "data": map[string]any{}})
			if res.status != http.StatusForbidden {
				t.Fatalf("%s: got %d, want 403", typ, res.status)
			}
		}
	})
	t.Run("branch lists", func(t *testing.T) {
		got := api.AppendableTypes(domain.AccessBranch)
		for _, no := range []string{domain.TypeFindingRecorded, domain.TypeGroupAssessmentRecorded, domain.TypeGradeIssued, domain.TypeGradeRevised, domain.TypeOrganizationRegistered, domain.TypeRequiredEventScheduled, domain.TypeRulebookPublished, domain.TypeTokenIssued} {
			if slices.Contains(got, no) {
				t.Errorf("branch may append %s", no)
			}
		}
		if !slices.Contains(got, domain.TypeStudySessionHeld) || !slices.Contains(got, domain.TypeEventRetracted) {
			t.Errorf("branch lacks activity types: %v", got)
		}
	})
}

// deviceSession starts a device session of key's token (a sign-in code
// issued and used) and returns its id.
func deviceSession(t *testing.T, e *env, key string) string {
	t.Helper()
	code, err := e.srv.Tokens().IssueSignInCode(context.Background(), e.ids[key], "test")
	if err != nil {
		t.Fatal(err)
	}
	_, ds, err := e.srv.Tokens().SignIn(context.Background(), code.CodeID, code.Code, "测试设备")
	if err != nil {
		t.Fatal(err)
	}
	return ds.ID
}
