// Package api serves the ledger over HTTP: a JSON API under /v1
// (go-chi/chi/v5) with bearer-token roles, and server-rendered web pages
// in Simplified Chinese for branches, assessors, auditors and the work
// committee. Who may call what is the one table Policy; errors become
// statuses in one function, classify.
package api

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"net/netip"
	"partyledger/domain"
	"partyledger/ledger/books"
	"partyledger/ledger/logtree"
	"partyledger/projections/scoreboard"
)

// Options configure a Server. The zero value is usable.
type Options struct {
	// Tokens checks bearer tokens; default NewTokens(books).
	Tokens *Tokens
	// Logger receives internal errors and panics; default slog.Default().
	Logger *slog.Logger
	// Now is the clock of the defaults ("today", known_at); default time.Now.
	Now func() time.Time
	// Year is the assessment year pages show by default; default the
	// built-in rulebook's year.
	Year int
	// MaxBodyBytes bounds a request body (413 beyond); default 1 MiB.
	MaxBodyBytes int64
	// RequestsPerSecond and Burst bound each principal's requests (429
	// beyond); default 20/s with bursts of 200.
	RequestsPerSecond float64
	Burst             int
	// AuthFailuresPerMinute and AuthFailureBurst bound failed sign-ins and
	// bad tokens per client IP (429 beyond); default 10 a minute, burst 10.
	AuthFailuresPerMinute float64
	AuthFailureBurst      int
	// SessionTTL is how long a web session lasts; default 12 hours.
	SessionTTL time.Duration
	// SecureCookies sets the Secure flag on the session and sign-in
	// cookies. serve turns it on when it serves TLS or sits behind a
	// trusted (TLS-terminating) proxy; plain http on loopback leaves it
	// off, or the browser would drop the cookies.
	SecureCookies bool
	// TrustedProxies are the reverse proxies whose X-Forwarded-For is
	// believed: a request from one of them is limited and logged by the
	// address the proxy names (the rightmost address of the header that
	// is not itself a trusted proxy). Requests from anywhere else are
	// judged by their peer address, whatever they forward.
	TrustedProxies []netip.Prefix
	// Tree is the Merkle tree over the log and Key the ledger's
	// checkpoint key (ledger/logtree): with them the server signs
	// checkpoints and gives proofs; without, those routes answer 503.
	Tree *logtree.Tree
	Key  *logtree.Key
	// StoreSync is the histogram the embedded store reports its commit
	// syncs to (its Observe as filestore.Options.SyncObserver), exposed at
	// /metrics; nil: an empty one.
	StoreSync *StoreSyncMetric
}

// Server is the HTTP face of the ledger. It owns the chi router.
type Server struct {
	books  *books.Books
	board  *scoreboard.Board
	tokens *Tokens
	log    *slog.Logger
	now    func() time.Time
	opts   Options

	router   chi.Router
	perUser  *limiter
	authFail *limiter
	sessions *sessions
	pages    *pages
	metrics  *metrics
}

// New returns a server over books and board.
func New(books *books.Books, board *scoreboard.Board, opts Options) *Server {
	if opts.Tokens == nil {
		opts.Tokens = NewTokens(books)
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Year == 0 {
		opts.Year = domain.Builtin2016().Year
	}
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = 1 << 20
	}
	if opts.RequestsPerSecond <= 0 {
		opts.RequestsPerSecond = 20
	}
	if opts.Burst <= 0 {
		opts.Burst = 200
	}
	if opts.AuthFailuresPerMinute <= 0 {
		opts.AuthFailuresPerMinute = 10
	}
	if opts.AuthFailureBurst <= 0 {
		opts.AuthFailureBurst = 10
	}
	if opts.SessionTTL <= 0 {
		opts.SessionTTL = 12 * time.Hour
	}
	s := &Server{books: books, board: board, tokens: opts.Tokens, log: opts.Logger, now: opts.Now, opts: opts,
		perUser:  newLimiter(opts.RequestsPerSecond, opts.Burst, opts.Now),
		authFail: newLimiter(opts.AuthFailuresPerMinute/60, opts.AuthFailureBurst, opts.Now),
		sessions: newSessions(opts.SessionTTL, opts.Now),
		pages:    loadPages(),
		metrics:  newMetrics(board.Position(), opts.StoreSync),
	}
	s.routes()
	return s
}

// Handler returns the server's HTTP handler.
func (s *Server) Handler() http.Handler { return s.router }

// Routes returns the router, for walking its routes (chi.Walk).
func (s *Server) Routes() chi.Routes { return s.router }

// Tokens returns the server's token store.
func (s *Server) Tokens() *Tokens { return s.tokens }

// NewHTTPServer returns an http.Server for h with timeouts and header
// limits set, so that slow or oversized clients cannot hold it.
func NewHTTPServer(addr string, h http.Handler) *http.Server {
	return &http.Server{
		Addr:              addr,
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      2 * time.Minute,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
	}
}

func (s *Server) routes() {
	r := chi.NewRouter()
	r.Use(s.observe, s.recoverer, securityHeaders)
	r.NotFound(func(w http.ResponseWriter, r *http.Request) {
		if isAPIPath(r.URL.Path) {
			s.writeError(w, r, errNotFound("no route %s %s", r.Method, r.URL.Path))
			return
		}
		s.pageError(w, r, errNotFound("page not found"))
	})
	r.MethodNotAllowed(func(w http.ResponseWriter, r *http.Request) {
		err := &statusError{status: http.StatusMethodNotAllowed, code: codeMethod, msg: "method " + r.Method + " not allowed here"}
		if isAPIPath(r.URL.Path) {
			s.writeError(w, r, err)
			return
		}
		s.pageError(w, r, err)
	})
	s.router = r

	s.handle("GET", "/healthz", s.handleHealth)
	s.handle("GET", "/metrics", s.handleMetrics)
	s.handle("GET", "/v1/openapi.json", s.handleOpenAPI)
	s.handle("GET", "/v1/me", s.handleMe)
	s.handle("GET", "/v1/orgs", s.handleListOrgs)
	s.handle("POST", "/v1/orgs", s.handleRegisterOrg)
	s.handle("GET", "/v1/orgs/{code}", s.handleGetOrg)
	s.handle("GET", "/v1/orgs/{code}/events", s.handleListEvents)
	s.handle("POST", "/v1/orgs/{code}/events", s.handleAppendEvents)
	s.handle("GET", "/v1/orgs/{code}/scorecard", s.handleScorecard)
	s.handle("GET", "/v1/orgs/{code}/scorecard/timeline", s.handleTimeline)
	s.handle("GET", "/v1/orgs/{code}/missing", s.handleMissing)
	s.handle("GET", "/v1/orgs/{code}/todo", s.handleTodo)
	s.handle("GET", "/v1/scorecards", s.handleScorecards)
	s.handle("GET", "/v1/grades", s.handleGrades)
	s.handle("POST", "/v1/grades/issue", s.handleIssueGrades)
	s.handle("POST", "/v1/grades/revise", s.handleReviseGrades)
	s.handle("GET", "/v1/schedule", s.handleSchedule)
	s.handle("POST", "/v1/schedule", s.handleScheduleEvent)
	s.handle("POST", "/v1/committee/events", s.handleCommitteeEvent)
	s.handle("GET", "/v1/rulebooks/{year}", s.handleRulebooks)
	s.handle("GET", "/v1/rulebooks/{year}/{version}", s.handleRulebook)
	s.handle("POST", "/v1/rulebooks", s.handlePublishRulebook)
	s.handle("GET", "/v1/verify", s.handleVerify)
	s.handle("GET", "/v1/checkpoint", s.handleCheckpoint)
	s.handle("GET", "/v1/proof/inclusion", s.handleInclusionProof)
	s.handle("GET", "/v1/proof/consistency", s.handleConsistencyProof)
	s.handle("GET", "/v1/recompute", s.handleRecompute)
	s.handle("GET", "/v1/reports/{year}", s.handleReport)
	s.handle("GET", "/v1/tokens", s.handleListTokens)
	s.handle("POST", "/v1/tokens", s.handleIssueToken)
	s.handle("DELETE", "/v1/tokens/{tokenID}", s.handleRevokeToken)
	s.handle("POST", "/v1/backup", s.handleBackup)
	s.handle("POST", "/v1/tokens/{tokenID}/signin-codes", s.handleIssueSigninCode)
	s.handle("GET", "/v1/sessions", s.handleListSessions)
	s.handle("DELETE", "/v1/sessions/{sessionID}", s.handleRevokeSession)

	s.handle("GET", "/static/*", s.handleStatic)
	s.handle("GET", "/login", s.handleLoginPage)
	s.handle("POST", "/login", s.handleLogin)
	s.handle("POST", "/logout", s.handleLogout)
	s.handle("GET", "/signin", s.handleSigninPage)
	s.handle("POST", "/signin", s.handleSignin)
	s.handle("GET", "/ui/devices", s.handleDevicesPage)
	s.handle("POST", "/ui/devices", s.handleDevicesPost)
	s.handle("GET", "/ui/signin-codes", s.handleSigninCodesPage)
	s.handle("POST", "/ui/signin-codes", s.handleSigninCodesPost)
	s.handle("GET", "/", s.handleHome)
	s.handle("GET", "/ui/overview", s.handleOverviewPage)
	s.handle("GET", "/ui/reports/{year}", s.handleReportPage)
	s.handle("GET", "/ui/orgs/{code}", s.handleScorecardPage)
	s.handle("GET", "/ui/orgs/{code}/journal", s.handleJournalPage)
	s.handle("GET", "/ui/orgs/{code}/record", s.handleRecordIndexPage)
	s.handle("GET", "/ui/orgs/{code}/record/{type}", s.handleRecordFormPage)
	s.handle("POST", "/ui/orgs/{code}/record/{type}", s.handleRecordPost)
	s.handle("GET", "/ui/orgs/{code}/roster", s.handleRosterPage)
	s.handle("GET", "/ui/orgs/{code}/dues", s.handleDuesPage)
	s.handle("POST", "/ui/orgs/{code}/dues", s.handleDuesPost)
	s.handle("GET", "/ui/orgs/{code}/print", s.handlePrintPage)
	s.handle("GET", "/ui/orgs/{code}/xlsx", s.handleOrgWorkbook)
	s.handle("GET", "/ui/review", s.handleReviewPage)
	s.handle("POST", "/ui/review", s.handleReviewPost)

	// 工委管理 (admin.go, admin_rulebooks.go, admin_grades.go).
	s.handle("GET", "/ui/admin", s.handleAdminIndex)
	s.handle("GET", "/ui/admin/tokens", s.handleAdminTokens)
	s.handle("POST", "/ui/admin/tokens", s.handleAdminIssueToken)
	s.handle("POST", "/ui/admin/tokens/{tokenID}/revoke", s.handleAdminRevokeToken)
	s.handle("GET", "/ui/admin/rulebooks", s.handleAdminRulebooks)
	s.handleUpload("POST", "/ui/admin/rulebooks", s.handleAdminPublishRulebook)
	s.handle("GET", "/ui/admin/rulebooks/diff", s.handleAdminRulebookDiff)
	s.handle("GET", "/ui/admin/rulebooks/{year}/{version}", s.handleAdminRulebookFile)
	s.handle("GET", "/ui/admin/recompute", s.handleAdminRecompute)
	s.handle("GET", "/ui/admin/grades", s.handleAdminGrades)
	s.handle("POST", "/ui/admin/grades/issue", s.handleAdminIssueGrades)
	s.handle("POST", "/ui/admin/grades/revise", s.handleAdminReviseGrades)
	s.handle("GET", "/ui/admin/grades/designate", s.handleAdminDesignate)
	s.handle("POST", "/ui/admin/grades/designate", s.handleAdminDesignatePost)
	s.handle("GET", "/ui/admin/grades/{code}", s.handleAdminGradeHistory)
}

func isAPIPath(p string) bool { return strings.HasPrefix(p, "/v1/") || p == "/v1" || p == "/healthz" }

// handle registers a route behind the guard of its policy rule. A route
// without a rule is a programming error.
func (s *Server) handle(method, pattern string, h http.HandlerFunc) {
	rule := ruleFor(method, pattern)
	if rule == nil {
		panic(fmt.Sprintf("api: route %s %s has no policy rule", method, pattern))
	}
	s.router.Method(method, pattern, s.guard(rule, h))
}

type ctxKey int

const (
	keyPrincipal ctxKey = iota
	keyRequestID
	keySession
)

func principalOf(r *http.Request) Principal {
	p, _ := r.Context().Value(keyPrincipal).(Principal)
	return p
}

func requestID(r *http.Request) string {
	id, _ := r.Context().Value(keyRequestID).(string)
	return id
}

// guard authenticates, rate-limits and authorises a request by its rule,
// limits its body, and checks the CSRF token of page posts.
func (s *Server) guard(rule *Rule, next http.HandlerFunc) http.HandlerFunc {
	fail := func(w http.ResponseWriter, r *http.Request, err error) {
		if rule.Page {
			s.pageError(w, r, err)
			return
		}
		s.writeError(w, r, err)
	}
	return func(w http.ResponseWriter, r *http.Request) {
		if r.Body != nil {
			r.Body = http.MaxBytesReader(w, r.Body, s.opts.MaxBodyBytes)
		}
		if rule.Public {
			next(w, r)
			return
		}
		// Failed authentication is limited per client address; a valid
		// token is never refused for the failures of others behind the
		// same address. While an address is over its limit, its tokens
		// are checked against the tokens already known (no re-read of
		// the token stream), and every failure is answered 429.
		ip := s.clientIP(r)
		blocked, retry := s.authFail.blocked(ip)
		var p Principal
		var err error
		var sess *session
		if rule.Page {
			p, sess, err = s.sessionPrincipal(r)
			if err != nil {
				if err == errNoSession {
					s.redirectToLogin(w, r)
					return
				}
				if blocked {
					fail(w, r, errRateLimited(retry))
					return
				}
				s.authFail.allow(ip)
				s.clearSessionCookie(w)
				s.redirectToLogin(w, r)
				return
			}
		} else {
			p, err = s.bearerPrincipal(r, !blocked)
			if err != nil {
				if blocked {
					fail(w, r, errRateLimited(retry))
					return
				}
				if err != errNoCredentials {
					s.authFail.allow(ip)
				}
				w.Header().Set("WWW-Authenticate", `Bearer realm="partyledger"`)
				fail(w, r, errUnauthorized(authMessage(err)))
				return
			}
		}
		noteAccess(r, p)
		if ok, retry := s.perUser.allow(p.TokenID); !ok {
			fail(w, r, errRateLimited(retry))
			return
		}
		switch rule.For(p.Role) {
		case Deny:
			fail(w, r, errForbidden("role %s may not %s %s", p.Role, r.Method, rule.Pattern))
			return
		case OwnOrg:
			if code := chi.URLParam(r, "code"); code == "" || code != p.Org {
				fail(w, r, errForbidden("a branch token reaches only its own organisation (%s)", p.Org))
				return
			}
		}
		ctx := context.WithValue(r.Context(), keyPrincipal, p)
		if sess != nil {
			ctx = context.WithValue(ctx, keySession, sess)
		}
		r = r.WithContext(ctx)
		if rule.Page && r.Method == http.MethodPost {
			if err := s.checkCSRF(r, sess); err != nil {
				fail(w, r, err)
				return
			}
		}
		next(w, r)
	}
}

var (
	errNoCredentials = errors.New("api: no credentials")
	errNoSession     = errors.New("api: no session")
)

func authMessage(err error) string {
	if err == errNoCredentials {
		return "authentication required: send Authorization: Bearer <token>"
	}
	return "invalid or revoked token"
}

// bearerPrincipal authenticates the Authorization header; fresh allows a
// re-read of the token stream for an id not yet known.
func (s *Server) bearerPrincipal(r *http.Request, fresh bool) (Principal, error) {
	h := r.Header.Get("Authorization")
	if h == "" {
		return Principal{}, errNoCredentials
	}
	scheme, tok, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || len(tok) > 256 {
		return Principal{}, ErrBadToken
	}
	return s.tokens.authenticate(r.Context(), strings.TrimSpace(tok), fresh)
}

// clientIP is the address a request is limited and logged by: the peer,
// or — when the peer is a trusted proxy (Options.TrustedProxies) — the
// client it names in X-Forwarded-For.
func (s *Server) clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	if len(s.opts.TrustedProxies) == 0 || !s.trusted(host) {
		return host
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		hop := strings.TrimSpace(hops[i])
		if _, err := netip.ParseAddr(hop); err != nil {
			return host // a forged or garbled header: judge the proxy itself
		}
		if !s.trusted(hop) {
			return hop
		}
	}
	return host
}

// trusted reports whether addr is one of the trusted proxies.
func (s *Server) trusted(addr string) bool {
	a, err := netip.ParseAddr(addr)
	if err != nil {
		return false
	}
	a = a.Unmap()
	for _, p := range s.opts.TrustedProxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// recoverer gives each request an id and turns a panic into a logged 500.
func (s *Server) recoverer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var b [8]byte
		_, _ = rand.Read(b[:])
		id := hex.EncodeToString(b[:])
		w.Header().Set("X-Request-ID", id)
		r = r.WithContext(context.WithValue(r.Context(), keyRequestID, id))
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.log.Error("panic", "request_id", id, "method", r.Method, "path", r.URL.Path, "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
				s.writeError(w, r, fmt.Errorf("panic: %v", v))
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// securityHeaders are sent with every response. The pages load nothing
// from elsewhere (the machines are offline) and use no inline script.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'none'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
		next.ServeHTTP(w, r)
	})
}

// writeJSON writes v as JSON with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}
