package api

import (
	"context"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"sort"
	"strings"
	"time"

	"partyledger/domain"
	"partyledger/ledger"
)

// Signing in on a phone: the admin issues the person a token names a
// one-time sign-in code (eight digits, shown once, valid SignInCodeTTL);
// entering it at /signin?c=<code id> starts a device session of that
// token's principal (DeviceSessionTTL), which the person and the admin
// can list and revoke. Codes and sessions are events of the auth stream,
// folded with the tokens (Tokens.sync), so they work on every store and
// across servers; only hashes are stored.

// Limits of sign-in codes and device sessions.
var (
	// SignInCodeTTL is how long a sign-in code may be used.
	SignInCodeTTL = 24 * time.Hour
	// SignInCodeTries is how many wrong entries void a code.
	SignInCodeTries = 5
	// DeviceSessionTTL is how long a device session lasts.
	DeviceSessionTTL = 30 * 24 * time.Hour
)

// pbkdf2Iterations goes with domain.SignInCodeKDF.
const pbkdf2Iterations = 100_000

// deviceCookiePrefix starts the cookie value of a device session (the
// other sessions' values are plain random strings).
const deviceCookiePrefix = "pld_"

// Errors of sign-in codes and device sessions.
var (
	// ErrBadCode reports a sign-in code that is unknown, wrong, used,
	// expired or voided: one answer for all, so that guessing learns
	// nothing.
	ErrBadCode = errors.New("api: invalid, used or expired sign-in code")
	// ErrSessionNotFound reports a device session id that was never started.
	ErrSessionNotFound = errors.New("api: no such device session")
)

// SignInCode is a code as issued: Code is shown once and never stored.
type SignInCode struct {
	CodeID    string    `json:"code_id"`
	Code      string    `json:"code"`
	TokenID   string    `json:"token_id"`
	Name      string    `json:"name"`
	ExpiresAt time.Time `json:"expires_at"`
}

// DeviceSession is what is known of a device session (never its cookie).
type DeviceSession struct {
	ID        string            `json:"session_id"`
	TokenID   string            `json:"token_id"`
	Name      string            `json:"name"`
	Role      domain.AccessRole `json:"role"`
	Org       string            `json:"org,omitempty"`
	Device    string            `json:"device,omitempty"`
	CodeID    string            `json:"code_id"`
	StartedAt time.Time         `json:"started_at"`
	ExpiresAt time.Time         `json:"expires_at"`
	Revoked   bool              `json:"revoked"`
	RevokedAt *time.Time        `json:"revoked_at,omitempty"`
	RevokedBy string            `json:"revoked_by,omitempty"`
	Reason    string            `json:"revoke_reason,omitempty"`

	sum [32]byte
}

// codeInfo is an issued code as the fold knows it.
type codeInfo struct {
	id, tokenID string
	salt, hash  []byte
	expires     time.Time
	used        bool
	voided      bool
	fails       int // wrong entries seen by this process
}

// devices is the fold of the auth stream's codes and sessions. Guarded
// by Tokens.mu.
type devices struct {
	codes    map[string]*codeInfo
	sessions map[string]*DeviceSession
}

// foldDevice applies one auth event of codes and sessions; it reports
// false for a payload that is not one. Caller holds t.mu.
func (t *Tokens) foldDevice(p domain.Payload, e *ledger.Event) (bool, error) {
	d := &t.dev
	if d.codes == nil {
		d.codes, d.sessions = map[string]*codeInfo{}, map[string]*DeviceSession{}
	}
	switch x := p.(type) {
	case *domain.SignInCodeIssued:
		salt, err1 := hex.DecodeString(x.Salt)
		sum, err2 := hex.DecodeString(x.Hash)
		exp, err3 := time.Parse(time.RFC3339, x.ExpiresAt)
		if err := errors.Join(err1, err2, err3); err != nil {
			return true, fmt.Errorf("api: sign-in code %s: %w", x.CodeID, err)
		}
		d.codes[x.CodeID] = &codeInfo{id: x.CodeID, tokenID: x.TokenID, salt: salt, hash: sum, expires: exp}
	case *domain.SignInCodeVoided:
		if c := d.codes[x.CodeID]; c != nil {
			c.voided = true
		}
	case *domain.DeviceSessionStarted:
		exp, err := time.Parse(time.RFC3339, x.ExpiresAt)
		if err != nil {
			return true, fmt.Errorf("api: device session %s: %w", x.SessionID, err)
		}
		s := &DeviceSession{ID: x.SessionID, TokenID: x.TokenID, Device: x.Device, CodeID: x.CodeID, StartedAt: e.RecordedAt, ExpiresAt: exp}
		if _, err := hex.Decode(s.sum[:], []byte(x.SHA256)); err != nil {
			return true, fmt.Errorf("api: device session %s: bad sha256", x.SessionID)
		}
		d.sessions[x.SessionID] = s
		if c := d.codes[x.CodeID]; c != nil {
			c.used = true
		}
	case *domain.DeviceSessionRevoked:
		if s := d.sessions[x.SessionID]; s != nil && !s.Revoked {
			at := e.RecordedAt
			s.Revoked, s.RevokedAt, s.RevokedBy, s.Reason = true, &at, e.RecordedBy, x.Reason
		}
	default:
		return false, nil
	}
	return true, nil
}

// randomHexID returns 16 lower-case hex digits.
func randomHexID() string {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return hex.EncodeToString(b[:])
}

// codeHash is PBKDF2-SHA256 of the code (domain.SignInCodeKDF).
func codeHash(code string, salt []byte) []byte {
	k, err := pbkdf2.Key(sha256.New, code, salt, pbkdf2Iterations, 32)
	if err != nil {
		panic(err) // only for parameters FIPS mode refuses; these are fixed
	}
	return k
}

// IssueSignInCode issues a one-time sign-in code for the person of token
// tokenID, valid SignInCodeTTL from now (the ledger's clock). The code is
// returned once; only its hash is recorded. by is recorded as recorded_by.
func (t *Tokens) IssueSignInCode(ctx context.Context, tokenID, by string) (SignInCode, error) {
	n, err := rand.Int(rand.Reader, big.NewInt(100_000_000))
	if err != nil {
		return SignInCode{}, err
	}
	code := fmt.Sprintf("%08d", n.Int64())
	var salt [16]byte
	if _, err := rand.Read(salt[:]); err != nil {
		return SignInCode{}, err
	}
	exp := t.books.Now().Add(SignInCodeTTL).UTC().Truncate(time.Second)
	ev := &domain.SignInCodeIssued{CodeID: randomHexID(), TokenID: tokenID, KDF: domain.SignInCodeKDF, Salt: hex.EncodeToString(salt[:]),
		Hash: hex.EncodeToString(codeHash(code, salt[:])), ExpiresAt: exp.Format(time.RFC3339)}
	if err := ev.Validate(); err != nil {
		return SignInCode{}, err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	var name string
	err = t.append(ctx, ev, by, func() error {
		info := t.byID[tokenID]
		if info == nil {
			return ErrTokenNotFound
		}
		if info.Revoked {
			return &domain.FieldError{Field: "token_id", Reason: "the token is revoked"}
		}
		name = info.Name
		if t.dev.codes[ev.CodeID] != nil {
			return errors.New("api: code id collision")
		}
		return nil
	})
	if err != nil {
		return SignInCode{}, err
	}
	return SignInCode{CodeID: ev.CodeID, Code: code, TokenID: tokenID, Name: name, ExpiresAt: exp}, nil
}

// SignIn checks a sign-in code and starts a device session: it returns
// the session's cookie value (shown to the device only) and the session.
// Every failure is ErrBadCode; SignInCodeTries wrong entries void the
// code (a SignInCodeVoided is recorded), and a code signs in once.
func (t *Tokens) SignIn(ctx context.Context, codeID, code, device string) (string, DeviceSession, error) {
	code = strings.TrimSpace(code)
	salt, want, err := t.codeToCheck(ctx, codeID)
	if err != nil {
		return "", DeviceSession{}, err
	}
	got := codeHash(code, salt) // slow on purpose: outside the lock
	t.mu.Lock()
	defer t.mu.Unlock()
	c := t.dev.codes[codeID]
	now := t.books.Now()
	if c == nil || c.used || c.voided || !now.Before(c.expires) {
		return "", DeviceSession{}, ErrBadCode
	}
	if len(code) != 8 || subtle.ConstantTimeCompare(got, want) != 1 {
		c.fails++
		if c.fails >= SignInCodeTries {
			ev := &domain.SignInCodeVoided{CodeID: c.id, Reason: fmt.Sprintf("输错 %d 次，登录码作废", c.fails)}
			if err := t.append(ctx, ev, "partyledger (sign-in)", func() error { return nil }); err != nil {
				return "", DeviceSession{}, err
			}
		}
		return "", DeviceSession{}, ErrBadCode
	}
	var secret [32]byte
	if _, err := rand.Read(secret[:]); err != nil {
		return "", DeviceSession{}, err
	}
	id := randomHexID()
	cookie := deviceCookiePrefix + id + "_" + base64.RawURLEncoding.EncodeToString(secret[:])
	sum := sha256.Sum256([]byte(cookie))
	device = strings.TrimSpace(device)
	if r := []rune(device); len(r) > domain.MaxDeviceRunes {
		device = string(r[:domain.MaxDeviceRunes])
	}
	ev := &domain.DeviceSessionStarted{SessionID: id, TokenID: c.tokenID, CodeID: c.id, SHA256: hex.EncodeToString(sum[:]),
		ExpiresAt: now.Add(DeviceSessionTTL).UTC().Truncate(time.Second).Format(time.RFC3339), Device: device}
	if err := ev.Validate(); err != nil {
		return "", DeviceSession{}, err
	}
	err = t.append(ctx, ev, "partyledger (sign-in)", func() error {
		// Judged again on the stream as it is now: another server may
		// have taken the code meanwhile.
		c := t.dev.codes[codeID]
		if c == nil || c.used || c.voided {
			return ErrBadCode
		}
		if info := t.byID[c.tokenID]; info == nil || info.Revoked {
			return ErrBadCode
		}
		return nil
	})
	if err != nil {
		return "", DeviceSession{}, err
	}
	return cookie, t.sessionView(t.dev.sessions[id]), nil
}

// codeToCheck returns the salt and hash of a code that may still sign
// in (ErrBadCode otherwise), reading codes issued by another process.
func (t *Tokens) codeToCheck(ctx context.Context, codeID string) ([]byte, []byte, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if err := t.syncIfStale(ctx, false); err != nil {
		return nil, nil, err
	}
	c := t.dev.codes[codeID]
	if c == nil && domain.TokenIDProblem(codeID) == "" {
		if err := t.sync(ctx); err != nil {
			return nil, nil, err
		}
		c = t.dev.codes[codeID]
	}
	if c == nil || c.used || c.voided || !t.books.Now().Before(c.expires) {
		return nil, nil, ErrBadCode
	}
	return c.salt, c.hash, nil
}

// sessionView copies a session with its principal's name. Caller holds t.mu.
func (t *Tokens) sessionView(s *DeviceSession) DeviceSession {
	c := *s
	if info := t.byID[s.TokenID]; info != nil {
		c.Name, c.Role, c.Org = info.Name, info.Role, info.Org
	}
	return c
}

// deviceSessionID extracts the id from "pld_<id>_<secret>".
func deviceSessionID(cookie string) (string, bool) {
	rest, ok := strings.CutPrefix(cookie, deviceCookiePrefix)
	if !ok {
		return "", false
	}
	id, secret, ok := strings.Cut(rest, "_")
	if !ok || domain.TokenIDProblem(id) != "" || len(secret) != 43 {
		return "", false
	}
	return id, true
}

// DeviceSession checks a device session's cookie: the session must have
// been started and be neither revoked nor expired, its token still valid.
// Any failure is ErrBadToken.
func (t *Tokens) DeviceSession(ctx context.Context, cookie string) (Principal, DeviceSession, error) {
	id, ok := deviceSessionID(cookie)
	sum := sha256.Sum256([]byte(cookie))
	t.mu.Lock()
	defer t.mu.Unlock()
	if err := t.syncIfStale(ctx, false); err != nil {
		return Principal{}, DeviceSession{}, err
	}
	s := t.dev.sessions[id]
	if s == nil && ok {
		if err := t.sync(ctx); err != nil {
			return Principal{}, DeviceSession{}, err
		}
		s = t.dev.sessions[id]
	}
	want := dummySum
	if s != nil {
		want = s.sum
	}
	if subtle.ConstantTimeCompare(sum[:], want[:]) != 1 || s == nil || s.Revoked || !t.books.Now().Before(s.ExpiresAt) {
		return Principal{}, DeviceSession{}, ErrBadToken
	}
	info := t.byID[s.TokenID]
	if info == nil || info.Revoked {
		return Principal{}, DeviceSession{}, ErrBadToken
	}
	return Principal{TokenID: info.ID, Role: info.Role, Org: info.Org, Name: info.Name}, t.sessionView(s), nil
}

// DeviceSessions lists the device sessions of token tokenID ("" every
// token's), newest first, the revoked and expired ones too.
func (t *Tokens) DeviceSessions(ctx context.Context, tokenID string) ([]DeviceSession, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if err := t.sync(ctx); err != nil {
		return nil, err
	}
	var out []DeviceSession
	for _, s := range t.dev.sessions {
		if tokenID == "" || s.TokenID == tokenID {
			out = append(out, t.sessionView(s))
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].StartedAt.Equal(out[j].StartedAt) {
			return out[i].StartedAt.After(out[j].StartedAt)
		}
		return out[i].ID < out[j].ID
	})
	return out, nil
}

// RevokeDeviceSession ends a device session from now on: its next
// request is signed out. owner, when not empty, is the token the session
// must belong to (a person revokes only their own); ErrSessionNotFound
// otherwise. Revoking a revoked session is a no-op.
func (t *Tokens) RevokeDeviceSession(ctx context.Context, id, owner, reason, by string) (DeviceSession, error) {
	ev := &domain.DeviceSessionRevoked{SessionID: id, Reason: reason}
	if err := ev.Validate(); err != nil {
		return DeviceSession{}, err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	done := false
	err := t.append(ctx, ev, by, func() error {
		s := t.dev.sessions[id]
		switch {
		case s == nil || (owner != "" && s.TokenID != owner):
			return ErrSessionNotFound
		case s.Revoked:
			done = true
			return errAlreadyDone
		}
		return nil
	})
	if done {
		return t.sessionView(t.dev.sessions[id]), nil
	}
	if err != nil {
		return DeviceSession{}, err
	}
	return t.sessionView(t.dev.sessions[id]), nil
}
