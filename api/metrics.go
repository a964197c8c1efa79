package api

import (
	"context"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"partyledger/domain"
	"partyledger/ledger"
	"partyledger/ledger/books"
)

// Metric names, in the Prometheus text format at GET /metrics. They are
// part of what operators build dashboards and alerts on: names and
// labels only grow.
const (
	MetricRequests        = "partyledger_http_requests_total"
	MetricRequestDuration = "partyledger_http_request_duration_seconds"
	MetricAppendDuration  = "partyledger_append_duration_seconds"
	MetricAppended        = "partyledger_events_appended_total"
	MetricLedgerEvents    = "partyledger_ledger_events"
	MetricLedgerHead      = "partyledger_ledger_head_position"
	MetricBoardPosition   = "partyledger_scoreboard_position"
	MetricSubscriptionLag = "partyledger_subscription_lag_events"
	MetricStoreSync       = "partyledger_store_sync_duration_seconds"
)

// StoreSyncMetric is the histogram of the embedded store's commit syncs
// (MetricStoreSync). It is made before the store is opened — its Observe
// is the store's filestore.Options.SyncObserver — and handed to the
// server in Options.StoreSync, which exposes it.
type StoreSyncMetric struct{ h prometheus.Histogram }

// syncBuckets span an fdatasync on a fast SSD (tens of microseconds) to
// a disk in trouble (seconds).
var syncBuckets = []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5}

// NewStoreSyncMetric returns an empty histogram of store syncs.
func NewStoreSyncMetric() *StoreSyncMetric {
	return &StoreSyncMetric{h: prometheus.NewHistogram(prometheus.HistogramOpts{Name: MetricStoreSync,
		Help: "Time of the embedded store's fdatasync after each commit (one per group commit, shared by every append in it): " +
			"the disk's share of an append's latency. No samples on a server store (EventStoreDB/KurrentDB).",
		Buckets: syncBuckets})}
}

// Observe records one sync that took d.
func (m *StoreSyncMetric) Observe(d time.Duration) { m.h.Observe(d.Seconds()) }

// routeUnmatched is the route label of a request no route matched: the
// raw path is never a label (it would let any client create series, and
// it may carry an organisation's code).
const routeUnmatched = "unmatched"

// metrics are a Server's own: a registry per server (not the global
// default), so tests can run many servers in one process.
type metrics struct {
	reg            *prometheus.Registry
	requests       *prometheus.CounterVec
	duration       *prometheus.HistogramVec
	appendDuration *prometheus.HistogramVec
	appended       *prometheus.CounterVec
	events         prometheus.Gauge
	head           prometheus.Gauge
	board          prometheus.Gauge
	lag            prometheus.Gauge

	// The ledger is followed at each scrape (follow), from where the last
	// scrape stopped: mu serialises scrapes.
	mu       sync.Mutex
	read     uint64 // position read up to
	count    uint64 // events at or before read
	baseline uint64 // events after it were appended while this server ran
}

// latencyBuckets span a cached read (about a millisecond) to a slow
// export (seconds).
var latencyBuckets = []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}

func newMetrics(baseline uint64, syncs *StoreSyncMetric) *metrics {
	m := &metrics{reg: prometheus.NewRegistry(), baseline: baseline}
	if syncs == nil {
		syncs = NewStoreSyncMetric()
	}
	m.requests = prometheus.NewCounterVec(prometheus.CounterOpts{Name: MetricRequests,
		Help: "HTTP requests answered, by method, route pattern (never the raw path) and status."}, []string{"method", "route", "status"})
	m.duration = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: MetricRequestDuration,
		Help: "Time to answer an HTTP request, by method and route pattern.", Buckets: latencyBuckets}, []string{"method", "route"})
	m.appendDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: MetricAppendDuration,
		Help: "Time of one append through the append path (books.Record: the state checks under the append lock, hashing, " +
			"and the store's durable write — fdatasync for the embedded store), by outcome (ok, refused, failed).",
		Buckets: latencyBuckets}, []string{"outcome"})
	m.appended = prometheus.NewCounterVec(prometheus.CounterOpts{Name: MetricAppended,
		Help: "Events committed to the ledger while this server ran, by event type (by any writer: read back from the ledger at each scrape)."},
		[]string{"type"})
	m.events = prometheus.NewGauge(prometheus.GaugeOpts{Name: MetricLedgerEvents, Help: "Events in the ledger (every stream)."})
	m.head = prometheus.NewGauge(prometheus.GaugeOpts{Name: MetricLedgerHead, Help: "Position of the ledger's last event."})
	m.board = prometheus.NewGauge(prometheus.GaugeOpts{Name: MetricBoardPosition,
		Help: "Ledger position the scoreboard's subscription has folded up to."})
	m.lag = prometheus.NewGauge(prometheus.GaugeOpts{Name: MetricSubscriptionLag,
		Help: "Events committed to the ledger that the scoreboard has not folded yet (head minus folded, in events)."})
	m.reg.MustRegister(m.requests, m.duration, m.appendDuration, m.appended, m.events, m.head, m.board, m.lag, syncs.h,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// follow reads the ledger from where the last scrape stopped (from the
// beginning the first time) and sets the ledger gauges. A scrape costs
// the events committed since the previous one, or the scoreboard's lag if
// that is longer.
func (m *metrics) follow(ctx context.Context, bk *books.Books, folded uint64) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	var lag uint64
	for e, err := range bk.Events(ctx, ledger.Position(min(folded, m.read))) {
		if err != nil {
			return err
		}
		p := uint64(e.Position)
		if p > m.read {
			m.read = p
			m.count++
			if p > m.baseline {
				m.appended.WithLabelValues(e.Type).Inc()
			}
		}
		if p > folded {
			lag++
		}
	}
	m.events.Set(float64(m.count))
	m.head.Set(float64(max(m.read, folded)))
	m.board.Set(float64(folded))
	m.lag.Set(float64(lag))
	return nil
}

// handleMetrics answers GET /metrics: the Prometheus text format (see
// the Metric names). The ledger gauges are brought up to date first.
func (s *Server) handleMetrics(w http.ResponseWriter, r *http.Request) {
	s.metricsHandler().ServeHTTP(w, r)
}

// MetricsHandler returns the /metrics handler without authentication, for
// a listener of its own that only the monitoring network reaches (serve
// --metrics-addr); on the main listener /metrics needs an auditor or
// admin token (Policy).
func (s *Server) MetricsHandler() http.Handler { return s.metricsHandler() }

func (s *Server) metricsHandler() http.Handler {
	h := promhttp.HandlerFor(s.metrics.reg, promhttp.HandlerOpts{ErrorLog: slogPrinter{s}})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 30*time.Second)
		defer cancel()
		if err := s.metrics.follow(ctx, s.books, s.board.Position()); err != nil {
			// The other series still answer; the ledger gauges keep their
			// last values.
			s.log.Error("metrics: read the ledger", "err", err)
		}
		h.ServeHTTP(w, r)
	})
}

type slogPrinter struct{ s *Server }

func (p slogPrinter) Println(v ...any) { p.s.log.Error("metrics", "err", v) }

// appendTimed appends entries through the append path and times it
// (MetricAppendDuration): every append route calls it.
func (s *Server) appendTimed(ctx context.Context, entries []domain.Entry, p Principal, opts books.RecordOptions) ([]ledger.Result, error) {
	start := time.Now()
	res, err := s.books.RecordAs(ctx, entries, p, opts)
	outcome := "ok"
	if err != nil {
		outcome = "failed"
		if _, _, internal := classify(err); !internal {
			outcome = "refused"
		}
	}
	s.metrics.appendDuration.WithLabelValues(outcome).Observe(time.Since(start).Seconds())
	return res, err
}

// accessInfo is filled in as a request goes through the server, for its
// access-log line: the guard notes the principal.
type accessInfo struct {
	principal *Principal
}

const keyAccess ctxKey = 100

// noteAccess records the authenticated principal of r for the access log.
func noteAccess(r *http.Request, p Principal) {
	if ai, ok := r.Context().Value(keyAccess).(*accessInfo); ok {
		ai.principal = &p
	}
}

// observe is the outermost middleware: it counts and times every request
// by its route pattern and writes one access-log line for it. The line
// names the principal by token id and role; the token itself, the query
// and the body are never logged.
func (s *Server) observe(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		ai := &accessInfo{}
		r = r.WithContext(context.WithValue(r.Context(), keyAccess, ai))
		ww := middleware.NewWrapResponseWriter(w, r.ProtoMajor)
		defer func() {
			status := ww.Status()
			if status == 0 {
				status = http.StatusOK
			}
			route := routeUnmatched
			if rc := chi.RouteContext(r.Context()); rc != nil && rc.RoutePattern() != "" {
				route = rc.RoutePattern()
			}
			d := time.Since(start)
			s.metrics.requests.WithLabelValues(r.Method, route, strconv.Itoa(status)).Inc()
			s.metrics.duration.WithLabelValues(r.Method, route).Observe(d.Seconds())
			attrs := []any{"method", r.Method, "route", route, "status", status, "bytes", ww.BytesWritten(),
				"duration_ms", float64(d.Microseconds()) / 1000, "request_id", w.Header().Get("X-Request-ID"), "remote", s.clientIP(r)}
			if p := ai.principal; p != nil {
				attrs = append(attrs, "token_id", p.TokenID, "role", string(p.Role))
				if p.Org != "" {
					attrs = append(attrs, "org", p.Org)
				}
			}
			s.log.Info("request", attrs...)
		}()
		next.ServeHTTP(ww, r)
	})
}
