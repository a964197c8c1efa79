package api

import (
	"encoding/base64"
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
	qrcode "github.com/skip2/go-qrcode"

	"partyledger/domain"
)

// The pages and routes of signing in on a phone (devices.go has the
// mechanism): /signin takes a one-time code, /ui/devices lists and
// revokes device sessions, /ui/signin-codes issues codes (admin).

type signinPage struct {
	base
	CodeID string
	Login  string // double-submit CSRF token
	Error  string
}

// handleSigninPage answers GET /signin?c=CODEID: the form that takes the
// eight digits of a one-time sign-in code (the QR code the admin shows
// opens it with the code's id).
func (s *Server) handleSigninPage(w http.ResponseWriter, r *http.Request) {
	tok := randomToken()
	s.setCookie(w, loginCookie, tok, 3600)
	c := r.URL.Query().Get("c")
	if domain.TokenIDProblem(c) != "" {
		c = ""
	}
	s.render(w, r, http.StatusOK, "signin", signinPage{base: s.base(r, "手机登录"), CodeID: c, Login: tok})
}

// handleSignin answers POST /signin (c, code): checks the form's
// double-submit token, then the code (failures are limited per client
// address and per code: five wrong entries void it), and starts a device
// session of the code's person: a 30-day cookie.
func (s *Server) handleSignin(w http.ResponseWriter, r *http.Request) {
	ip := s.clientIP(r)
	blocked, retry := s.authFail.blocked(ip)
	if err := r.ParseForm(); err != nil {
		s.pageError(w, r, errBadRequest("", "malformed form"))
		return
	}
	c, err := r.Cookie(loginCookie)
	if err != nil || c.Value == "" || !constantEqual(c.Value, r.PostFormValue("login")) {
		s.pageError(w, r, &statusError{status: http.StatusForbidden, code: codeCSRF, msg: "sign-in form expired"})
		return
	}
	if blocked {
		s.pageError(w, r, errRateLimited(retry))
		return
	}
	codeID := strings.TrimSpace(r.PostFormValue("c"))
	digits := strings.Map(func(r rune) rune {
		if r == ' ' || r == '-' {
			return -1
		}
		return r
	}, r.PostFormValue("code"))
	cookie, _, err := s.tokens.SignIn(r.Context(), codeID, digits, deviceOf(r))
	if err != nil {
		if !errors.Is(err, ErrBadCode) {
			s.pageError(w, r, err)
			return
		}
		s.authFail.allow(ip)
		tok := randomToken()
		s.setCookie(w, loginCookie, tok, 3600)
		s.render(w, r, http.StatusUnauthorized, "signin", signinPage{base: s.base(r, "手机登录"), CodeID: codeID, Login: tok,
			Error: "登录码不正确、已使用或已过期。请核对后重试；连续输错五次，登录码作废，请向工委重新申请。"})
		return
	}
	s.setCookie(w, sessionCookie, cookie, int(DeviceSessionTTL.Seconds()))
	s.setCookie(w, loginCookie, "", -1)
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// deviceOf describes the device of a request for the session list, from
// its User-Agent: the kind of device and browser, in Chinese.
func deviceOf(r *http.Request) string {
	ua := r.UserAgent()
	kind := "电脑"
	switch {
	case strings.Contains(ua, "iPhone"):
		kind = "苹果手机"
	case strings.Contains(ua, "iPad"):
		kind = "苹果平板"
	case strings.Contains(ua, "Android") && strings.Contains(ua, "Mobile"):
		kind = "安卓手机"
	case strings.Contains(ua, "Android"):
		kind = "安卓平板"
	}
	browser := "浏览器"
	switch {
	case strings.Contains(ua, "MicroMessenger"):
		browser = "微信"
	case strings.Contains(ua, "HeadlessChrome"):
		browser = "无界面浏览器"
	case strings.Contains(ua, "Edg/"):
		browser = "微软浏览器"
	case strings.Contains(ua, "Chrome/") || strings.Contains(ua, "Chromium/"):
		browser = "谷歌浏览器"
	case strings.Contains(ua, "Firefox/"):
		browser = "火狐浏览器"
	case strings.Contains(ua, "Safari/"):
		browser = "苹果浏览器"
	}
	return kind + " · " + browser
}

type deviceRow struct {
	DeviceSession
	Current bool
	State   string // 有效, 已注销, 已过期
}

type devicesPage struct {
	base
	Rows      []deviceRow
	All       bool // the admin sees everyone's
	IssueCode bool // the role may issue sign-in codes
}

// handleDevicesPage answers GET /ui/devices: the device sessions of the
// signed-in person (every person's for the admin), each with 注销.
func (s *Server) handleDevicesPage(w http.ResponseWriter, r *http.Request) {
	pg, err := s.devicesPage(r)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	if r.URL.Query().Get("revoked") != "" {
		pg.Flash = "已注销该设备：它的下一次访问将要求重新登录。"
	}
	s.render(w, r, http.StatusOK, "devices", pg)
}

func (s *Server) devicesPage(r *http.Request) (devicesPage, error) {
	p := principalOf(r)
	pg := devicesPage{base: s.base(r, "登录设备"), All: p.Role == domain.AccessAdmin}
	pg.IssueCode = ruleFor("POST", "/ui/signin-codes").For(p.Role) != Deny
	owner := p.TokenID
	if pg.All {
		owner = ""
	}
	list, err := s.tokens.DeviceSessions(r.Context(), owner)
	if err != nil {
		return pg, err
	}
	cur := ""
	if sess := sessionOf(r); sess != nil {
		cur = sess.device
	}
	now := s.books.Now()
	for _, d := range list {
		row := deviceRow{DeviceSession: d, Current: d.ID == cur, State: "有效"}
		switch {
		case d.Revoked:
			row.State = "已注销"
		case !now.Before(d.ExpiresAt):
			row.State = "已过期"
		}
		pg.Rows = append(pg.Rows, row)
	}
	return pg, nil
}

// handleDevicesPost answers POST /ui/devices (session_id): revokes a
// device session — one's own, or anyone's for the admin. Revoking the
// session in use signs this browser out.
func (s *Server) handleDevicesPost(w http.ResponseWriter, r *http.Request) {
	p := principalOf(r)
	id := strings.TrimSpace(r.PostFormValue("session_id"))
	owner := p.TokenID
	if p.Role == domain.AccessAdmin {
		owner = ""
	}
	reason := "本人注销"
	if p.Role == domain.AccessAdmin {
		reason = "工委注销"
	}
	if _, err := s.tokens.RevokeDeviceSession(r.Context(), id, owner, reason, p.RecordedBy()); err != nil {
		if errors.Is(err, ErrSessionNotFound) {
			err = errNotFound("no device session %q of yours", id)
		}
		s.pageError(w, r, err)
		return
	}
	if sess := sessionOf(r); sess != nil && sess.device == id {
		s.clearSessionCookie(w)
		http.Redirect(w, r, "/login", http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, "/ui/devices?revoked="+url.QueryEscape(id), http.StatusSeeOther)
}

type signinCodePage struct {
	base
	Tokens  []option
	Issued  *SignInCode
	URL     string
	QR      template.URL // a PNG data URI
	Expires string
	Error   string
}

// handleSigninCodesPage answers GET /ui/signin-codes?token=: the admin
// chooses whose phone to sign in.
func (s *Server) handleSigninCodesPage(w http.ResponseWriter, r *http.Request) {
	pg, err := s.signinCodePage(r, r.URL.Query().Get("token"))
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "signin_code", pg)
}

func (s *Server) signinCodePage(r *http.Request, chosen string) (signinCodePage, error) {
	pg := signinCodePage{base: s.base(r, "发放手机登录码")}
	tokens, err := s.tokens.List(r.Context())
	if err != nil {
		return pg, err
	}
	for _, t := range tokens {
		if t.Revoked {
			continue
		}
		label := t.Name + "（" + t.Role.Label()
		if t.Org != "" {
			label += " " + t.Org
		}
		pg.Tokens = append(pg.Tokens, option{Value: t.ID, Label: label + "）", Selected: t.ID == chosen})
	}
	return pg, nil
}

// handleSigninCodesPost answers POST /ui/signin-codes (token): issues a
// one-time code for the person of the token and shows it once, with the
// sign-in address and its QR code (which does not contain the code).
func (s *Server) handleSigninCodesPost(w http.ResponseWriter, r *http.Request) {
	tokenID := strings.TrimSpace(r.PostFormValue("token"))
	pg, err := s.signinCodePage(r, tokenID)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	code, err := s.tokens.IssueSignInCode(r.Context(), tokenID, principalOf(r).RecordedBy())
	if err != nil {
		if errors.Is(err, ErrTokenNotFound) || fieldErrorsOf(err) != nil {
			pg.Error = "请选择一个有效的令牌。"
			s.render(w, r, http.StatusUnprocessableEntity, "signin_code", pg)
			return
		}
		s.pageError(w, r, err)
		return
	}
	pg.Issued = &code
	pg.URL = s.signinURL(r, code.CodeID)
	pg.Expires = code.ExpiresAt.In(domain.CST).Format("2006-01-02 15:04")
	if png, err := qrcode.Encode(pg.URL, qrcode.Medium, 320); err == nil {
		pg.QR = template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(png))
	}
	s.render(w, r, http.StatusOK, "signin_code", pg)
}

// signinURL is the address a phone opens to enter a code: this server's,
// as the request reached it, with the code's id (never the code).
func (s *Server) signinURL(r *http.Request, codeID string) string {
	scheme := "http"
	if r.TLS != nil || s.opts.SecureCookies {
		scheme = "https"
	}
	return scheme + "://" + r.Host + "/signin?c=" + url.QueryEscape(codeID)
}

// signinCodeBody is the answer of POST /v1/tokens/{tokenID}/signin-codes.
type signinCodeBody struct {
	SignInCode
	URL string `json:"url"`
}

// handleIssueSigninCode answers POST /v1/tokens/{tokenID}/signin-codes:
// 201 with a one-time sign-in code for the token's person (shown once),
// its expiry and the sign-in address.
func (s *Server) handleIssueSigninCode(w http.ResponseWriter, r *http.Request) {
	code, err := s.tokens.IssueSignInCode(r.Context(), chi.URLParam(r, "tokenID"), principalOf(r).RecordedBy())
	if errors.Is(err, ErrTokenNotFound) {
		err = errNotFound("no token %q", chi.URLParam(r, "tokenID"))
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, signinCodeBody{SignInCode: code, URL: s.signinURL(r, code.CodeID)})
}

// handleListSessions answers GET /v1/sessions?token_id=: device sessions,
// newest first (never their cookies).
func (s *Server) handleListSessions(w http.ResponseWriter, r *http.Request) {
	tokenID := r.URL.Query().Get("token_id")
	if tokenID != "" && domain.TokenIDProblem(tokenID) != "" {
		s.writeError(w, r, errBadRequest("token_id", "want a token id"))
		return
	}
	list, err := s.tokens.DeviceSessions(r.Context(), tokenID)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if list == nil {
		list = []DeviceSession{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"sessions": list})
}

// handleRevokeSession answers DELETE /v1/sessions/{sessionID}?reason=:
// the device session is signed out at its next request.
func (s *Server) handleRevokeSession(w http.ResponseWriter, r *http.Request) {
	reason := r.URL.Query().Get("reason")
	if reason == "" {
		reason = "工委注销"
	}
	d, err := s.tokens.RevokeDeviceSession(r.Context(), chi.URLParam(r, "sessionID"), "", reason, principalOf(r).RecordedBy())
	if errors.Is(err, ErrSessionNotFound) {
		err = errNotFound("no device session %q", chi.URLParam(r, "sessionID"))
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, d)
}

// sessionTimeText renders an instant of a device session in CST.
func sessionTimeText(t time.Time) string { return t.In(domain.CST).Format("2006-01-02 15:04") }
