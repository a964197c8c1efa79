package domain

import (
	"fmt"
	"strings"
)

// StreamAuth is the kind of the stream that holds API tokens (auth-…):
// who was given access, with which role, and when it was taken back. Only
// hashes of the tokens are recorded, never the tokens themselves.
const StreamAuth StreamKind = "auth"

// Event types of the auth stream.
const (
	TypeTokenIssued  = "TokenIssued"
	TypeTokenRevoked = "TokenRevoked"
)

// AccessRole is what an API token allows (see api's policy table).
type AccessRole string

// Access roles.
const (
	AccessBranch   AccessRole = "branch"   // 党支部: records its own activities, reads its own books
	AccessAssessor AccessRole = "assessor" // 考核组: records findings and group scores, reads all
	AccessAuditor  AccessRole = "auditor"  // 审计: reads everything, writes nothing
	AccessAdmin    AccessRole = "admin"    // 工委: registers, schedules, publishes, grades, manages tokens
)

// AccessRoles lists every role in a stable order.
var AccessRoles = []AccessRole{AccessBranch, AccessAssessor, AccessAuditor, AccessAdmin}

// ParseAccessRole parses a role name.
func ParseAccessRole(s string) (AccessRole, error) {
	for _, r := range AccessRoles {
		if string(r) == s {
			return r, nil
		}
	}
	names := make([]string, len(AccessRoles))
	for i, r := range AccessRoles {
		names[i] = string(r)
	}
	return "", fieldErr("role", fmt.Sprintf("%q is not one of %s", truncate(s, 40), strings.Join(names, ", ")))
}

// Label returns the Chinese name of the role.
func (r AccessRole) Label() string {
	switch r {
	case AccessBranch:
		return "党支部"
	case AccessAssessor:
		return "考核组"
	case AccessAuditor:
		return "审计"
	case AccessAdmin:
		return "工委管理员"
	}
	return string(r)
}

// TokenIssued records that an API token was issued. SHA256 is the hex
// SHA-256 of the whole token; the token itself is shown once and never
// stored. Org binds a branch token to one organisation.
type TokenIssued struct {
	TokenID string     `json:"token_id"`
	Role    AccessRole `json:"role"`
	Org     string     `json:"org,omitempty"`
	Name    string     `json:"name"`
	SHA256  string     `json:"sha256"`
}

// TokenRevoked records that a token no longer grants access.
type TokenRevoked struct {
	TokenID string `json:"token_id"`
	Reason  string `json:"reason,omitempty"`
}

func (*TokenIssued) EventType() string  { return TypeTokenIssued }
func (*TokenIssued) isPayload()         {}
func (*TokenRevoked) EventType() string { return TypeTokenRevoked }
func (*TokenRevoked) isPayload()        {}

// TokenIDProblem returns why s is not a token id (8–32 lower-case hex
// digits), or "".
func TokenIDProblem(s string) string {
	if len(s) < 8 || len(s) > 32 || strings.Trim(s, "0123456789abcdef") != "" {
		return "want 8 to 32 lower-case hex digits"
	}
	return ""
}

func (e *TokenIssued) Validate() error {
	var p Problems
	if r := TokenIDProblem(e.TokenID); r != "" {
		p.Add("token_id", r)
	}
	if _, err := ParseAccessRole(string(e.Role)); err != nil {
		p = append(p, FieldErrors(err)...)
	}
	switch {
	case e.Role == AccessBranch && e.Org == "":
		p.Add("org", "required for a branch token")
	case e.Role != AccessBranch && e.Org != "":
		p.Add("org", "only a branch token is bound to an organisation")
	case e.Org != "":
		if r := OrgCodeProblem(e.Org); r != "" {
			p.Add("org", r)
		}
	}
	checkText(&p, "name", e.Name, true, MaxNameRunes)
	if len(e.SHA256) != 64 || strings.Trim(e.SHA256, "0123456789abcdef") != "" {
		p.Add("sha256", "want 64 lower-case hex digits")
	}
	return p.Err()
}

func (e *TokenRevoked) Validate() error {
	var p Problems
	if r := TokenIDProblem(e.TokenID); r != "" {
		p.Add("token_id", r)
	}
	checkText(&p, "reason", e.Reason, false, MaxSummaryRunes)
	return p.Err()
}
