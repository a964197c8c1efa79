package domain

import (
	"strconv"
	"strings"
	"time"
)

// Event types of the auth stream for signing in on a phone: a one-time
// sign-in code issued to the person a token names, and the device
// session that entering it starts. Only hashes of codes and session
// secrets are recorded.
const (
	TypeSignInCodeIssued     = "SignInCodeIssued"
	TypeSignInCodeVoided     = "SignInCodeVoided"
	TypeDeviceSessionStarted = "DeviceSessionStarted"
	TypeDeviceSessionRevoked = "DeviceSessionRevoked"
)

// SignInCodeKDF names how a sign-in code is hashed: PBKDF2 with SHA-256,
// 100,000 iterations, over the code's eight digits with the event's salt.
// An eight-digit code has only 10^8 values, so a plain hash would fall to
// anyone who reads the auth stream; the iterations make that cost days,
// longer than the code lives.
const SignInCodeKDF = "pbkdf2-sha256-100000"

// SignInCodeIssued records a one-time sign-in code (eight digits, shown
// once) for the person of token TokenID: it signs a phone in once, until
// ExpiresAt, as that token's principal.
type SignInCodeIssued struct {
	CodeID    string `json:"code_id"`
	TokenID   string `json:"token_id"`
	KDF       string `json:"kdf"`
	Salt      string `json:"salt"`       // 32 lower-case hex digits
	Hash      string `json:"hash"`       // 64 lower-case hex digits
	ExpiresAt string `json:"expires_at"` // RFC 3339, UTC
}

// SignInCodeVoided records that a code can no longer be used: too many
// wrong entries, or withdrawn by the admin.
type SignInCodeVoided struct {
	CodeID string `json:"code_id"`
	Reason string `json:"reason,omitempty"`
}

// DeviceSessionStarted records that a device signed in with code CodeID
// (which is thereby used up): a session of token TokenID's principal
// until ExpiresAt. SHA256 is the hex SHA-256 of the session's cookie.
type DeviceSessionStarted struct {
	SessionID string `json:"session_id"`
	TokenID   string `json:"token_id"`
	CodeID    string `json:"code_id"`
	SHA256    string `json:"sha256"`
	ExpiresAt string `json:"expires_at"` // RFC 3339, UTC
	Device    string `json:"device,omitempty"`
}

// DeviceSessionRevoked records that a device session no longer signs in
// (revoked by its person or by the admin).
type DeviceSessionRevoked struct {
	SessionID string `json:"session_id"`
	Reason    string `json:"reason,omitempty"`
}

func (*SignInCodeIssued) EventType() string     { return TypeSignInCodeIssued }
func (*SignInCodeIssued) isPayload()            {}
func (*SignInCodeVoided) EventType() string     { return TypeSignInCodeVoided }
func (*SignInCodeVoided) isPayload()            {}
func (*DeviceSessionStarted) EventType() string { return TypeDeviceSessionStarted }
func (*DeviceSessionStarted) isPayload()        {}
func (*DeviceSessionRevoked) EventType() string { return TypeDeviceSessionRevoked }
func (*DeviceSessionRevoked) isPayload()        {}

// MaxDeviceRunes bounds the description of a device.
const MaxDeviceRunes = 200

func checkHex(p *Problems, field, v string, n int) {
	if len(v) != n || strings.Trim(v, "0123456789abcdef") != "" {
		p.Add(field, "want "+strconv.Itoa(n)+" lower-case hex digits")
	}
}

func checkInstant(p *Problems, field, v string) {
	if _, err := time.Parse(time.RFC3339, v); err != nil {
		p.Add(field, "want an RFC 3339 instant")
	}
}

func (e *SignInCodeIssued) Validate() error {
	var p Problems
	if r := TokenIDProblem(e.CodeID); r != "" {
		p.Add("code_id", r)
	}
	if r := TokenIDProblem(e.TokenID); r != "" {
		p.Add("token_id", r)
	}
	if e.KDF != SignInCodeKDF {
		p.Add("kdf", "want "+SignInCodeKDF)
	}
	checkHex(&p, "salt", e.Salt, 32)
	checkHex(&p, "hash", e.Hash, 64)
	checkInstant(&p, "expires_at", e.ExpiresAt)
	return p.Err()
}

func (e *SignInCodeVoided) Validate() error {
	var p Problems
	if r := TokenIDProblem(e.CodeID); r != "" {
		p.Add("code_id", r)
	}
	checkText(&p, "reason", e.Reason, false, MaxSummaryRunes)
	return p.Err()
}

func (e *DeviceSessionStarted) Validate() error {
	var p Problems
	for _, f := range [][2]string{{"session_id", e.SessionID}, {"token_id", e.TokenID}, {"code_id", e.CodeID}} {
		if r := TokenIDProblem(f[1]); r != "" {
			p.Add(f[0], r)
		}
	}
	checkHex(&p, "sha256", e.SHA256, 64)
	checkInstant(&p, "expires_at", e.ExpiresAt)
	checkText(&p, "device", e.Device, false, MaxDeviceRunes)
	return p.Err()
}

func (e *DeviceSessionRevoked) Validate() error {
	var p Problems
	if r := TokenIDProblem(e.SessionID); r != "" {
		p.Add("session_id", r)
	}
	checkText(&p, "reason", e.Reason, false, MaxSummaryRunes)
	return p.Err()
}

// instantText shows an RFC 3339 instant in China Standard Time (as it
// is, when it does not parse).
func instantText(s string) string {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return s
	}
	return t.In(CST).Format("2006-01-02 15:04")
}
