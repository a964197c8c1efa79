package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"partyledger/api"
	"partyledger/domain"
	"partyledger/ledger"
	"partyledger/ledger/books"
	"partyledger/ledger/filestore"
	"partyledger/ledger/ledgertest"
	"partyledger/ledger/logtree"
	"partyledger/projections/scoreboard"
)

// Organisation codes of the fixture.
const (
	ownOrg   = "T-OWN"   // the branch token's organisation
	otherOrg = "T-OTHER" // another branch
	genOrg   = "T-GEN"   // their general branch
)

// env is a server on loopback over a fresh embedded store, with one token
// per role (two branches: own and other).
type env struct {
	t      testing.TB
	bk     *books.Books
	board  *scoreboard.Board
	srv    *api.Server
	ts     *httptest.Server
	clock  *ledgertest.Clock
	logs   *syncBuffer
	tokens map[string]string // "admin", "assessor", "auditor", "branch" (own), "branch-other"
	ids    map[string]string // the same keys → token ids
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// roles are the principals every matrix walks.
var roles = []string{"branch", "assessor", "auditor", "admin"}

func newEnv(t testing.TB, opts api.Options) *env {
	t.Helper()
	if opts.StoreSync == nil {
		opts.StoreSync = api.NewStoreSyncMetric()
	}
	st, err := filestore.Open(t.TempDir(), filestore.Options{SyncObserver: opts.StoreSync.Observe})
	if err != nil {
		t.Fatal(err)
	}
	clock := ledgertest.NewClock(time.Date(2017, 2, 1, 0, 0, 0, 0, domain.CST))
	bk := books.New(ledger.New(st, ledger.Options{Clock: clock.Now}))
	e := &env{t: t, bk: bk, clock: clock, logs: &syncBuffer{}, tokens: map[string]string{}, ids: map[string]string{}}
	e.record("fixture", fixture()...)
	e.board = scoreboard.New(bk, scoreboard.Options{Now: clock.Now})
	if opts.Now == nil {
		opts.Now = clock.Now
	}
	opts.Logger = slog.New(slog.NewTextHandler(e.logs, nil))
	if opts.Key != nil && opts.Tree == nil { // a test of the proof routes: the tree over this ledger
		tree, err := bk.Tree(context.Background(), logtree.Options{})
		if err != nil {
			t.Fatal(err)
		}
		opts.Tree = tree
	}
	e.srv = api.New(bk, e.board, opts)
	e.ts = httptest.NewServer(e.srv.Handler())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = e.board.Run(ctx) }()
	t.Cleanup(func() {
		e.ts.Close()
		cancel()
		<-done
		st.Close()
	})
	for _, g := range []struct{ key, role, org string }{
		{"admin", "admin", ""}, {"assessor", "assessor", ""}, {"auditor", "auditor", ""},
		{"branch", "branch", ownOrg}, {"branch-other", "branch", otherOrg},
	} {
		r, _ := domain.ParseAccessRole(g.role)
		tok, info, err := e.srv.Tokens().Issue(context.Background(), r, g.org, "测试 "+g.key, "test")
		if err != nil {
			t.Fatal(err)
		}
		e.tokens[g.key], e.ids[g.key] = tok, info.ID
	}
	return e
}

// record appends journal lines (with org) directly through the bk.
func (e *env) record(by string, lines ...string) {
	e.t.Helper()
	for _, l := range lines {
		ent, err := domain.ParseJournalLine([]byte(l))
		if err != nil {
			e.t.Fatalf("%s: %v", l, err)
		}
		if _, err := e.bk.Record(context.Background(), []domain.Entry{ent}, by, books.RecordOptions{}); err != nil {
			e.t.Fatalf("%s: %v", l, err)
		}
	}
}

// fixture: a general branch with two branches. The own branch holds two
// study sessions a month in 2016 except June (one), so recording one more
// in June raises its score.
func fixture() []string {
	reg := func(code, name, kind, parent string) string {
		p := ""
		if parent != "" {
			p = `,"parent_code":"` + parent + `"`
		}
		return fmt.Sprintf(`{"org":%q,"type":"OrganizationRegistered","occurred_on":"2015-12-01","data":{"code":%q,"name":%q,"kind":%q%s,"has_groups":false}}`, code, code, name, kind, p)
	}
	join := func(org, id, name string) string {
		return fmt.Sprintf(`{"org":%q,"type":"MemberJoined","occurred_on":"2015-12-02","data":{"member_id":%q,"name":%q,"is_leader":false,"monthly_income_fen":300000}}`, org, id, name)
	}
	out := []string{
		reg(genOrg, "机关第一党总支", "general_branch", ""),
		reg(ownOrg, "机关第一党支部", "branch", genOrg),
		reg(otherOrg, "机关第二党支部", "branch", genOrg),
		join(ownOrg, "m1", "张伟"), join(ownOrg, "m2", "李娜"), join(ownOrg, "m3", "王芳"),
		join(otherOrg, "n1", "刘洋"),
	}
	for m := 1; m <= 12; m++ {
		n := 2
		if m == 6 {
			n = 1
		}
		for i := 1; i <= n; i++ {
			out = append(out, fmt.Sprintf(`{"org":%q,"type":"StudySessionHeld","occurred_on":"2016-%02d-%02d","data":{"topic":"第%d月第%d次政治学习","attendees":["m1","m2","m3"],"notes_kept":true}}`,
				ownOrg, m, 5+i*7, m, i))
		}
	}
	out = append(out, fmt.Sprintf(`{"org":%q,"type":"MeetingHeld","occurred_on":"2016-03-08","data":{"kind":"general_assembly","topic":"党员大会","attendees":["n1"]}}`, otherOrg))
	return out
}

// response is a decoded answer.
type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) json(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("status %d: body is not a JSON object: %v: %s", r.status, err, r.body)
	}
	return m
}

// apiErr returns the error body's code and field.
func (r response) apiErr(t testing.TB) (code, field string) {
	t.Helper()
	m := r.json(t)
	e, ok := m["error"].(map[string]any)
	if !ok {
		t.Fatalf("status %d: no error object: %s", r.status, r.body)
	}
	for _, k := range []string{"code", "message", "field"} {
		if _, ok := e[k]; !ok {
			t.Fatalf("error body lacks %q: %s", k, r.body)
		}
	}
	return e["code"].(string), e["field"].(string)
}

// do sends a request with the token of role key ("" for none).
func (e *env) do(method, path, key string, body any, hdr ...string) response {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, e.ts.URL+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if key != "" {
		tok := e.tokens[key]
		if tok == "" {
			tok = key // a literal token
		}
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := noRedirect.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return response{status: res.StatusCode, header: res.Header, body: b}
}

var noRedirect = &http.Client{Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// browser is a cookie-keeping client signed in to the web pages.
type browser struct {
	e    *env
	c    *http.Client
	csrf string
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)
var loginRE = regexp.MustCompile(`name="login" value="([^"]+)"`)

// login signs in with the token of key and returns the browser.
func (e *env) login(key string) *browser {
	e.t.Helper()
	jar, _ := cookiejar.New(nil)
	b := &browser{e: e, c: &http.Client{Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	page := b.get("/login")
	m := loginRE.FindSubmatch(page.body)
	if m == nil {
		e.t.Fatalf("login page without its form token: %s", page.body)
	}
	res := b.post("/login", url.Values{"token": {e.tokens[key]}, "login": {string(m[1])}, "next": {"/"}})
	if res.status != http.StatusSeeOther {
		e.t.Fatalf("login as %s: status %d: %s", key, res.status, res.body)
	}
	home := b.get("/")
	loc := home.header.Get("Location")
	page = b.get(loc)
	if page.status != http.StatusOK {
		e.t.Fatalf("after login, %s: %d", loc, page.status)
	}
	cm := csrfRE.FindSubmatch(page.body)
	if cm == nil {
		e.t.Fatalf("no csrf field on %s", loc)
	}
	b.csrf = string(cm[1])
	return b
}

func (b *browser) get(path string) response {
	b.e.t.Helper()
	res, err := b.c.Get(b.e.ts.URL + path)
	if err != nil {
		b.e.t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return response{status: res.StatusCode, header: res.Header, body: body}
}

func (b *browser) post(path string, form url.Values) response {
	b.e.t.Helper()
	res, err := b.c.PostForm(b.e.ts.URL+path, form)
	if err != nil {
		b.e.t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return response{status: res.StatusCode, header: res.Header, body: body}
}

// scorecard returns an organisation's scorecard JSON as key sees it.
func (e *env) scorecard(key, code string) map[string]any {
	e.t.Helper()
	res := e.do("GET", "/v1/orgs/"+code+"/scorecard?year=2016", key, nil)
	if res.status != http.StatusOK {
		e.t.Fatalf("scorecard: %d %s", res.status, res.body)
	}
	return res.json(e.t)
}
