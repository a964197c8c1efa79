package api_test

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"net/netip"
	"partyledger/api"
	"partyledger/domain"
	"partyledger/ledger"
	"partyledger/ledger/books"
	"partyledger/ledger/filestore"
	"partyledger/projections/scoreboard"
)

// scrape reads /metrics as key and parses it.
func scrape(t *testing.T, e *env, key string) map[string]*dto.MetricFamily {
	t.Helper()
	res := e.do("GET", "/metrics", key, nil)
	if res.status != http.StatusOK || !strings.HasPrefix(res.header.Get("Content-Type"), "text/plain") {
		t.Fatalf("GET /metrics: %d %s: %.300s", res.status, res.header.Get("Content-Type"), res.body)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(bytes.NewReader(res.body))
	if err != nil {
		t.Fatalf("not the Prometheus text format: %v\n%s", err, res.body)
	}
	return fams
}

// series returns the metrics of family name whose labels include want.
func series(fams map[string]*dto.MetricFamily, name string, want map[string]string) []*dto.Metric {
	var out []*dto.Metric
	f := fams[name]
	if f == nil {
		return nil
	}
next:
	for _, m := range f.Metric {
		labels := map[string]string{}
		for _, l := range m.Label {
			labels[l.GetName()] = l.GetValue()
		}
		for k, v := range want {
			if labels[k] != v {
				continue next
			}
		}
		out = append(out, m)
	}
	return out
}

func value(m *dto.Metric) float64 {
	switch {
	case m.Counter != nil:
		return m.Counter.GetValue()
	case m.Gauge != nil:
		return m.Gauge.GetValue()
	case m.Histogram != nil:
		return float64(m.Histogram.GetSampleCount())
	}
	return -1
}

// TestMetrics sends a few requests to a server on loopback and scrapes
// /metrics: every series is there, labelled by route pattern, with the
// values the requests imply.
func TestMetrics(t *testing.T) {
	e := newEnv(t, api.Options{})
	if res := e.do("GET", "/v1/orgs/"+ownOrg+"/scorecard?year=2016", "branch", nil); res.status != 200 {
		t.Fatalf("scorecard: %d %s", res.status, res.body)
	}
	for range 2 {
		res := e.do("POST", "/v1/orgs/"+ownOrg+"/events", "branch",
			map[string]any{"type": "StudySessionHeld", "occurred_on": "2016-08-20", "data": map[string]any{"topic": "指标测试", "attendees": []string{"m1"}, "notes_kept": true}})
		if res.status != http.StatusCreated {
			t.Fatalf("append: %d %s", res.status, res.body)
		}
	}
	if res := e.do("POST", "/v1/orgs/"+ownOrg+"/events", "branch",
		map[string]any{"type": "DuesPaid", "occurred_on": "2016-08-20", "data": map[string]any{"member_id": "nobody", "month": "2016-08", "amount_fen": 100}}); res.status != 422 {
		t.Fatalf("a refused append: %d %s", res.status, res.body)
	}
	e.do("GET", "/v1/no/such/"+otherOrg+"?token=x", "", nil)
	e.do("GET", "/v1/orgs/"+otherOrg, "branch", nil) // 403
	if err := e.board.CatchUp(context.Background()); err != nil {
		t.Fatal(err)
	}

	fams := scrape(t, e, "auditor")
	t.Run("requests by route pattern and status", func(t *testing.T) {
		for _, c := range []struct {
			method, route, status string
			min                   float64
		}{
			{"GET", "/v1/orgs/{code}/scorecard", "200", 1},
			{"POST", "/v1/orgs/{code}/events", "201", 2},
			{"POST", "/v1/orgs/{code}/events", "422", 1},
			{"GET", "/v1/orgs/{code}", "403", 1},
			{"GET", "unmatched", "404", 1},
		} {
			ms := series(fams, api.MetricRequests, map[string]string{"method": c.method, "route": c.route, "status": c.status})
			if len(ms) != 1 || value(ms[0]) < c.min {
				t.Errorf("%s %s %s: %v, want a count ≥ %v", c.method, c.route, c.status, ms, c.min)
			}
		}
		ms := series(fams, api.MetricRequestDuration, map[string]string{"method": "POST", "route": "/v1/orgs/{code}/events"})
		if len(ms) != 1 || value(ms[0]) != 3 || ms[0].Histogram.GetSampleSum() <= 0 {
			t.Errorf("latency of the appends: %v", ms)
		}
		// Never a raw path, an organisation's code or a query.
		for _, name := range []string{api.MetricRequests, api.MetricRequestDuration} {
			for _, m := range fams[name].Metric {
				for _, l := range m.Label {
					if strings.Contains(l.GetValue(), ownOrg) || strings.Contains(l.GetValue(), otherOrg) || strings.Contains(l.GetValue(), "?") {
						t.Errorf("%s has the label %s=%q", name, l.GetName(), l.GetValue())
					}
				}
			}
		}
	})
	t.Run("appends", func(t *testing.T) {
		if ms := series(fams, api.MetricAppendDuration, map[string]string{"outcome": "ok"}); len(ms) != 1 || value(ms[0]) != 2 {
			t.Errorf("append latency, ok: %v", ms)
		}
		if ms := series(fams, api.MetricAppendDuration, map[string]string{"outcome": "refused"}); len(ms) != 1 || value(ms[0]) != 1 {
			t.Errorf("append latency, refused: %v", ms)
		}
		if ms := series(fams, api.MetricAppended, map[string]string{"type": "StudySessionHeld"}); len(ms) != 1 || value(ms[0]) < 2 {
			t.Errorf("appended StudySessionHeld: %v", ms)
		}
		if ms := series(fams, api.MetricAppended, map[string]string{"type": "DuesPaid"}); len(ms) != 0 {
			t.Errorf("a refused append counted: %v", ms)
		}
		// The store's commit syncs: at least one for each of the two
		// appends (the fixture's and the tokens' too), each taking time.
		if ms := series(fams, api.MetricStoreSync, nil); len(ms) != 1 || value(ms[0]) < 2 || ms[0].Histogram.GetSampleSum() <= 0 {
			t.Errorf("store syncs: %v", ms)
		}
	})
	t.Run("the ledger and the scoreboard", func(t *testing.T) {
		var n, last float64
		for ev, err := range e.bk.Events(context.Background(), 0) {
			if err != nil {
				t.Fatal(err)
			}
			n, last = n+1, float64(ev.Position)
		}
		got := func(name string) float64 {
			ms := series(fams, name, nil)
			if len(ms) != 1 {
				t.Fatalf("%s: %v", name, ms)
			}
			return value(ms[0])
		}
		if got(api.MetricLedgerEvents) != n || got(api.MetricLedgerHead) != last || got(api.MetricBoardPosition) != last || got(api.MetricSubscriptionLag) != 0 {
			t.Errorf("events %v head %v board %v lag %v; the ledger holds %v events up to %v", got(api.MetricLedgerEvents), got(api.MetricLedgerHead),
				got(api.MetricBoardPosition), got(api.MetricSubscriptionLag), n, last)
		}
		if fams["go_goroutines"] == nil || fams["process_resident_memory_bytes"] == nil {
			t.Error("no Go runtime or process metrics")
		}
	})
	t.Run("the scoreboard's lag", func(t *testing.T) {
		// A board that has not followed the ledger lags by every event,
		// and by none once it has caught up.
		st, err := filestore.Open(t.TempDir(), filestore.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		bk := books.New(ledger.New(st, ledger.Options{Clock: e.clock.Now}))
		for _, l := range fixture()[:5] {
			ent, err := domain.ParseJournalLine([]byte(l))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := bk.Record(context.Background(), []domain.Entry{ent}, "test", books.RecordOptions{}); err != nil {
				t.Fatal(err)
			}
		}
		board := scoreboard.New(bk, scoreboard.Options{Now: e.clock.Now})
		srv := api.New(bk, board, api.Options{Now: e.clock.Now, Logger: slog.New(slog.DiscardHandler)})
		read := func() (events, lag float64) {
			rec := httptest.NewRecorder()
			srv.MetricsHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
			p := expfmt.NewTextParser(model.UTF8Validation)
			fams, err := p.TextToMetricFamilies(rec.Body)
			if err != nil {
				t.Fatal(err)
			}
			return value(series(fams, api.MetricLedgerEvents, nil)[0]), value(series(fams, api.MetricSubscriptionLag, nil)[0])
		}
		if events, lag := read(); events != 5 || lag != 5 {
			t.Errorf("before the board folds: %v events, lag %v; want 5 and 5", events, lag)
		}
		if err := board.CatchUp(context.Background()); err != nil {
			t.Fatal(err)
		}
		if events, lag := read(); events != 5 || lag != 0 {
			t.Errorf("after: %v events, lag %v; want 5 and 0", events, lag)
		}
	})
	t.Run("who may scrape", func(t *testing.T) {
		for key, want := range map[string]int{"": 401, "branch": 403, "assessor": 403, "auditor": 200, "admin": 200} {
			if res := e.do("GET", "/metrics", key, nil); res.status != want {
				t.Errorf("as %q: %d, want %d", key, res.status, want)
			}
		}
		// The handler for a listener of its own asks for nothing.
		rec := httptest.NewRecorder()
		e.srv.MetricsHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
		if rec.Code != 200 || !strings.Contains(rec.Body.String(), api.MetricRequests) {
			t.Errorf("MetricsHandler: %d %.200s", rec.Code, rec.Body.String())
		}
	})
}

// accessLine is one access-log line of the text handler.
var accessLine = regexp.MustCompile(`(?m)^time=\S+ level=INFO msg=request .*$`)

// TestAccessLog checks that every request gives one structured line with
// its route, status, size, duration and principal, and that no line holds
// a token — not from the Authorization header, not from the sign-in form.
func TestAccessLog(t *testing.T) {
	e := newEnv(t, api.Options{})
	before := len(accessLine.FindAllString(e.logs.String(), -1))
	var ids []string // the API calls' request ids
	for _, res := range []response{
		e.do("GET", "/v1/orgs/"+ownOrg+"/scorecard?year=2016", "branch", nil),
		e.do("GET", "/v1/me", e.tokens["admin"]+"x", nil), // a wrong token: 401
		e.do("GET", "/healthz", "", nil),
	} {
		ids = append(ids, res.header.Get("X-Request-ID"))
	}
	b := e.login("assessor") // a form post carrying the token, and pages
	b.get("/ui/overview")
	// A line is written once its request is answered: wait for them (the
	// bound only matters when they never come).
	deadline := time.Now().Add(10 * time.Second)
	var lines []string
	for time.Now().Before(deadline) {
		if lines = accessLine.FindAllString(e.logs.String(), -1); len(lines)-before >= 8 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	// One line per request: exactly one names each API call's request id.
	for _, id := range ids {
		if n := strings.Count(e.logs.String(), " request_id="+id+" "); id == "" || n != 1 {
			t.Errorf("request %q: %d access lines, want 1", id, n)
		}
	}
	// 3 API calls; the login: GET /login, POST /login, GET /, the home
	// page it redirects to; then the overview: 8 at least.
	if len(lines)-before < 8 {
		t.Fatalf("%d access lines for 8 requests:\n%s", len(lines)-before, e.logs.String())
	}
	want := []*regexp.Regexp{
		regexp.MustCompile(`method=GET route=/v1/orgs/\{code\}/scorecard status=200 bytes=[1-9]\d* duration_ms=[\d.]+ request_id=[0-9a-f]{16} remote=127\.0\.0\.1 token_id=` +
			e.ids["branch"] + ` role=branch org=` + ownOrg),
		regexp.MustCompile(`method=GET route=/v1/me status=401 `),
		regexp.MustCompile(`method=GET route=/healthz status=200 `),
		regexp.MustCompile(`method=POST route=/login status=303 `),
		regexp.MustCompile(`method=GET route=/ui/overview status=200 .* token_id=` + e.ids["assessor"] + ` role=assessor`),
	}
	all := strings.Join(lines, "\n")
	for _, re := range want {
		if !re.MatchString(all) {
			t.Errorf("no access line like %s in\n%s", re, all)
		}
	}
	for key, tok := range e.tokens {
		_, secret, _ := strings.Cut(strings.TrimPrefix(tok, "plt_"), "_")
		if strings.Contains(e.logs.String(), secret) {
			t.Errorf("the log holds the secret of the %s token", key)
		}
	}
}

// TestTrustedProxies: the address a request is limited and logged by is
// the client a trusted proxy names in X-Forwarded-For — and the peer
// itself for anyone else, whatever it forwards.
func TestTrustedProxies(t *testing.T) {
	remoteOf := func(e *env, xff string) string {
		t.Helper()
		before := len(accessLine.FindAllString(e.logs.String(), -1))
		e.do("GET", "/healthz", "", nil, "X-Forwarded-For", xff)
		deadline := time.Now().Add(2 * time.Second)
		for time.Now().Before(deadline) {
			if lines := accessLine.FindAllString(e.logs.String(), -1); len(lines) > before {
				m := regexp.MustCompile(`remote=(\S+)`).FindStringSubmatch(lines[len(lines)-1])
				if m != nil {
					return m[1]
				}
			}
			time.Sleep(10 * time.Millisecond)
		}
		t.Fatalf("no access line:\n%s", e.logs.String())
		return ""
	}
	t.Run("no trusted proxy: the peer", func(t *testing.T) {
		e := newEnv(t, api.Options{})
		if got := remoteOf(e, "203.0.113.7"); got != "127.0.0.1" {
			t.Fatalf("remote %s, want the peer 127.0.0.1", got)
		}
	})
	t.Run("behind a trusted proxy: the client it names", func(t *testing.T) {
		e := newEnv(t, api.Options{TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}})
		for xff, want := range map[string]string{
			"203.0.113.7":               "203.0.113.7",
			"198.51.100.1, 203.0.113.7": "203.0.113.7", // the rightmost hop not a trusted proxy
			"203.0.113.7, 127.0.0.2":    "203.0.113.7", // through two trusted proxies
			"not-an-address":            "127.0.0.1",   // a garbled header: the proxy itself
			"":                          "127.0.0.1",
		} {
			if got := remoteOf(e, xff); got != want {
				t.Errorf("X-Forwarded-For %q: remote %s, want %s", xff, got, want)
			}
		}
	})
}
