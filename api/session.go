package api

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
	"unicode"
)

// Cookie names.
const (
	sessionCookie = "pl_session"
	loginCookie   = "pl_login" // the login form's double-submit CSRF token
)

// maxSessions bounds the session table; past it, the oldest are dropped.
const maxSessions = 10_000

// session is a signed-in browser: the token it signed in with (by id, so
// revoking the token ends the session) and its CSRF token.
type session struct {
	tokenID string
	csrf    string
	expires time.Time
	// device is the id of a device session (signed in with a one-time
	// code, kept in the ledger: devices.go); "" for a session started
	// with a token, kept in memory.
	device string
}

// sessions is the server-side session table, keyed by the SHA-256 of the
// cookie value (a stolen table does not give usable cookies).
type sessions struct {
	ttl time.Duration
	now func() time.Time

	mu sync.Mutex
	m  map[[32]byte]*session
}

func newSessions(ttl time.Duration, now func() time.Time) *sessions {
	return &sessions{ttl: ttl, now: now, m: map[[32]byte]*session{}}
}

func randomToken() string {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// create starts a session and returns its cookie value.
func (ss *sessions) create(tokenID string) (string, *session) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	now := ss.now()
	if len(ss.m) >= maxSessions {
		var oldestK [32]byte
		var oldest time.Time
		for k, s := range ss.m {
			if s.expires.Before(now) {
				delete(ss.m, k)
				continue
			}
			if oldest.IsZero() || s.expires.Before(oldest) {
				oldest, oldestK = s.expires, k
			}
		}
		if len(ss.m) >= maxSessions {
			delete(ss.m, oldestK)
		}
	}
	id := randomToken()
	s := &session{tokenID: tokenID, csrf: randomToken(), expires: now.Add(ss.ttl)}
	ss.m[sha256.Sum256([]byte(id))] = s
	return id, s
}

func (ss *sessions) get(id string) *session {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	k := sha256.Sum256([]byte(id))
	s := ss.m[k]
	if s != nil && !ss.now().Before(s.expires) {
		delete(ss.m, k)
		return nil
	}
	return s
}

func (ss *sessions) delete(id string) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	delete(ss.m, sha256.Sum256([]byte(id)))
}

// sessionPrincipal returns the principal of the request's session cookie.
func (s *Server) sessionPrincipal(r *http.Request) (Principal, *session, error) {
	c, err := r.Cookie(sessionCookie)
	if err != nil || c.Value == "" {
		return Principal{}, nil, errNoSession
	}
	if strings.HasPrefix(c.Value, deviceCookiePrefix) {
		p, ds, err := s.tokens.DeviceSession(r.Context(), c.Value)
		if err != nil {
			return Principal{}, nil, err
		}
		// The CSRF token of a device session is derived from its cookie,
		// so it survives a restart like the session itself; it reveals
		// nothing of the cookie.
		sum := sha256.Sum256([]byte("partyledger csrf\x00" + c.Value))
		return p, &session{tokenID: p.TokenID, csrf: base64.RawURLEncoding.EncodeToString(sum[:]), expires: ds.ExpiresAt, device: ds.ID}, nil
	}
	sess := s.sessions.get(c.Value)
	if sess == nil {
		return Principal{}, nil, ErrBadToken
	}
	p, err := s.tokens.Principal(r.Context(), sess.tokenID)
	if err != nil {
		s.sessions.delete(c.Value)
		return Principal{}, nil, err
	}
	return p, sess, nil
}

func sessionOf(r *http.Request) *session {
	s, _ := r.Context().Value(keySession).(*session)
	return s
}

func (s *Server) setCookie(w http.ResponseWriter, name, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: value, Path: "/", MaxAge: maxAge, HttpOnly: true,
		Secure: s.opts.SecureCookies, SameSite: http.SameSiteStrictMode})
}

func (s *Server) clearSessionCookie(w http.ResponseWriter) { s.setCookie(w, sessionCookie, "", -1) }

// redirectToLogin sends a browser without a valid session to sign in,
// coming back to the page it asked for.
func (s *Server) redirectToLogin(w http.ResponseWriter, r *http.Request) {
	next := "/"
	if r.Method == http.MethodGet {
		next = r.URL.RequestURI()
	}
	http.Redirect(w, r, "/login?next="+url.QueryEscape(next), http.StatusSeeOther)
}

// checkCSRF checks a page post: its form field csrf must be the session's
// token, and a cross-origin Origin header is refused outright.
func (s *Server) checkCSRF(r *http.Request, sess *session) error {
	if o := r.Header.Get("Origin"); o != "" && o != "null" {
		u, err := url.Parse(o)
		if err != nil || u.Host != r.Host {
			return &statusError{status: http.StatusForbidden, code: codeCSRF, msg: "cross-origin form post refused"}
		}
	}
	if err := r.ParseForm(); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return err
		}
		return errBadRequest("", "malformed form")
	}
	got := r.PostFormValue("csrf")
	if sess == nil || got == "" || subtle.ConstantTimeCompare([]byte(got), []byte(sess.csrf)) != 1 {
		return &statusError{status: http.StatusForbidden, code: codeCSRF, field: "csrf", msg: "missing or wrong CSRF token: reload the page and try again"}
	}
	return nil
}

// safeNext keeps a post-login redirect on this site: a path that starts
// with one slash, with no whitespace, control character or backslash
// anywhere (browsers drop tabs and newlines from a URL and read a
// backslash as a slash, so "/\t/evil.example/" would leave the site) and
// no scheme or host once parsed.
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") {
		return "/"
	}
	for _, r := range next {
		if r < 0x20 || r == 0x7f || r == '\\' || unicode.IsSpace(r) {
			return "/"
		}
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.Opaque != "" || u.User != nil {
		return "/"
	}
	return next
}
