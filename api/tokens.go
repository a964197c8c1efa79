package api

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"partyledger/domain"
	"partyledger/ledger"
	"partyledger/ledger/books"
)

// AuthStream is the ledger stream that holds the token events
// (domain.TokenIssued, domain.TokenRevoked). Keeping tokens in the ledger
// makes them work on every store and makes their history auditable: who
// issued which role to whom, and when it was revoked, hash-chained like
// everything else. Only SHA-256 hashes of the tokens are recorded.
const AuthStream = books.PrefixAuth + "tokens"

// tokenPrefix starts every token, so a leaked one is recognisable.
const tokenPrefix = "plt_"

// Errors of Tokens.
var (
	// ErrBadToken reports a token that is malformed, unknown, or revoked.
	ErrBadToken = errors.New("api: invalid or revoked token")
	// ErrTokenNotFound reports a token id that was never issued.
	ErrTokenNotFound = errors.New("api: no such token")
)

// Principal is an authenticated caller: the principal the append path
// judges (domain.Principal). RecordedBy is what the ledger records in
// recorded_by — the name, the role and the token id, so that two people
// of one name stay apart and the recorder's role can be read back.
type Principal = domain.Principal

// TokenInfo is what is known of an issued token (never the token).
type TokenInfo struct {
	ID           string            `json:"token_id"`
	Role         domain.AccessRole `json:"role"`
	Org          string            `json:"org,omitempty"`
	Name         string            `json:"name"`
	IssuedAt     time.Time         `json:"issued_at"`
	IssuedBy     string            `json:"issued_by"`
	Revoked      bool              `json:"revoked"`
	RevokedAt    *time.Time        `json:"revoked_at,omitempty"`
	RevokedBy    string            `json:"revoked_by,omitempty"`
	RevokeReason string            `json:"revoke_reason,omitempty"`

	sum [32]byte
}

// Tokens issues, revokes and checks API tokens, folding AuthStream.
// It is safe for concurrent use.
type Tokens struct {
	books *books.Books

	mu       sync.Mutex
	revision int64
	byID     map[string]*TokenInfo
	synced   time.Time
	dev      devices // sign-in codes and device sessions (devices.go)
}

// tokenSyncEvery bounds how stale the token cache may be when another
// process (a second server on a shared store) revokes a token.
const tokenSyncEvery = time.Second

// NewTokens returns the token store of books' ledger.
func NewTokens(books *books.Books) *Tokens {
	return &Tokens{books: books, revision: ledger.NoStream, byID: map[string]*TokenInfo{}}
}

// sync folds the auth stream's events since the last one. Caller holds t.mu.
func (t *Tokens) sync(ctx context.Context) error {
	for e, err := range t.books.ReadStream(ctx, AuthStream, uint64(t.revision+1)) {
		if errors.Is(err, ledger.ErrStreamNotFound) {
			break
		}
		if err != nil {
			return fmt.Errorf("api: read tokens: %w", err)
		}
		p, err := domain.DecodeStored(e.Type, e.Data)
		if err != nil {
			return err
		}
		switch d := p.(type) {
		case *domain.TokenIssued:
			info := &TokenInfo{ID: d.TokenID, Role: d.Role, Org: d.Org, Name: d.Name, IssuedAt: e.RecordedAt, IssuedBy: e.RecordedBy}
			if _, err := hex.Decode(info.sum[:], []byte(d.SHA256)); err != nil {
				return fmt.Errorf("api: token %s: bad sha256", d.TokenID)
			}
			t.byID[d.TokenID] = info
		case *domain.TokenRevoked:
			if info := t.byID[d.TokenID]; info != nil && !info.Revoked {
				at := e.RecordedAt
				info.Revoked, info.RevokedAt, info.RevokedBy, info.RevokeReason = true, &at, e.RecordedBy, d.Reason
			}
		default:
			if ok, err := t.foldDevice(p, &e); err != nil {
				return err
			} else if !ok {
				return fmt.Errorf("api: %s holds a %s", AuthStream, e.Type)
			}
		}
		t.revision = int64(e.Revision)
	}
	t.synced = time.Now()
	return nil
}

func (t *Tokens) syncIfStale(ctx context.Context, force bool) error {
	if force || time.Since(t.synced) > tokenSyncEvery {
		return t.sync(ctx)
	}
	return nil
}

// append records one auth event at the revision the cache has folded;
// a concurrent writer makes it re-read and retry.
func (t *Tokens) append(ctx context.Context, p domain.Payload, by string, validate func() error) error {
	data, err := domain.CanonicalJSON(p)
	if err != nil {
		return err
	}
	for try := 0; ; try++ {
		if err := t.sync(ctx); err != nil {
			return err
		}
		if err := validate(); err != nil {
			return err
		}
		exp := ledger.ExpectNoStream
		if t.revision != ledger.NoStream {
			exp = ledger.ExpectRevision(uint64(t.revision))
		}
		_, err := t.books.AppendAuth(ctx, AuthStream, exp, []ledger.Proposed{{ID: uuid.New(), Type: p.EventType(),
			OccurredOn: domain.DateOf(time.Now()).String(), RecordedBy: by, Data: data}})
		if errors.Is(err, ledger.ErrWrongExpectedRevision) && try < 8 {
			continue
		}
		if err != nil {
			return err
		}
		return t.sync(ctx)
	}
}

// Issue creates a token for role (bound to org for a branch) and returns
// it: the only time the token is seen. by is recorded as recorded_by.
func (t *Tokens) Issue(ctx context.Context, role domain.AccessRole, org, name, by string) (string, TokenInfo, error) {
	var idb [8]byte
	var secret [32]byte
	if _, err := rand.Read(idb[:]); err != nil {
		return "", TokenInfo{}, err
	}
	if _, err := rand.Read(secret[:]); err != nil {
		return "", TokenInfo{}, err
	}
	id := hex.EncodeToString(idb[:])
	token := tokenPrefix + id + "_" + base64.RawURLEncoding.EncodeToString(secret[:])
	sum := sha256.Sum256([]byte(token))
	ev := &domain.TokenIssued{TokenID: id, Role: role, Org: org, Name: strings.TrimSpace(name), SHA256: hex.EncodeToString(sum[:])}
	if err := ev.Validate(); err != nil {
		return "", TokenInfo{}, err
	}
	if role == domain.AccessBranch {
		st, err := t.books.Org(ctx, org)
		if err != nil {
			return "", TokenInfo{}, err
		}
		if st == nil {
			return "", TokenInfo{}, &domain.FieldError{Field: "org", Reason: fmt.Sprintf("organisation %q is not registered", org)}
		}
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	err := t.append(ctx, ev, by, func() error {
		if t.byID[id] != nil {
			return errors.New("api: token id collision")
		}
		return nil
	})
	if err != nil {
		return "", TokenInfo{}, err
	}
	return token, *t.byID[id], nil
}

// Revoke makes a token useless from now on. Revoking a revoked token is
// a no-op; an unknown id is ErrTokenNotFound.
func (t *Tokens) Revoke(ctx context.Context, id, reason, by string) (TokenInfo, error) {
	return t.revoke(ctx, id, reason, by, false)
}

// ErrLastAdmin refuses to revoke the last valid admin token.
var ErrLastAdmin = errors.New("api: the last valid admin token")

// RevokeKeepingAdmin is Revoke, except that the last valid admin token is
// not revoked (ErrLastAdmin): through the API, that would lock the work
// committee out of its own server. It is judged under the same lock as
// the revocation, so two admins revoking each other cannot both succeed.
func (t *Tokens) RevokeKeepingAdmin(ctx context.Context, id, reason, by string) (TokenInfo, error) {
	return t.revoke(ctx, id, reason, by, true)
}

func (t *Tokens) revoke(ctx context.Context, id, reason, by string, keepAdmin bool) (TokenInfo, error) {
	ev := &domain.TokenRevoked{TokenID: id, Reason: reason}
	if err := ev.Validate(); err != nil {
		return TokenInfo{}, err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	done := false
	err := t.append(ctx, ev, by, func() error {
		info := t.byID[id]
		switch {
		case info == nil:
			return ErrTokenNotFound
		case info.Revoked:
			done = true
			return errAlreadyDone
		case keepAdmin && info.Role == domain.AccessAdmin:
			for _, o := range t.byID {
				if o.ID != id && o.Role == domain.AccessAdmin && !o.Revoked {
					return nil
				}
			}
			return ErrLastAdmin
		}
		return nil
	})
	if done {
		return *t.byID[id], nil
	}
	if err != nil {
		return TokenInfo{}, err
	}
	return *t.byID[id], nil
}

var errAlreadyDone = errors.New("already done")

// List returns every token ever issued, oldest first.
func (t *Tokens) List(ctx context.Context) ([]TokenInfo, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if err := t.sync(ctx); err != nil {
		return nil, err
	}
	out := make([]TokenInfo, 0, len(t.byID))
	for _, info := range t.byID {
		out = append(out, *info)
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].IssuedAt.Equal(out[j].IssuedAt) {
			return out[i].IssuedAt.Before(out[j].IssuedAt)
		}
		return out[i].ID < out[j].ID
	})
	return out, nil
}

// dummySum is compared against when a token id is unknown, so that an
// unknown id costs the same as a wrong secret.
var dummySum = sha256.Sum256([]byte("partyledger: no such token"))

// Authenticate checks a token: the id it carries must be issued and not
// revoked, and its SHA-256 must equal the recorded one (compared in
// constant time). Any failure is ErrBadToken.
func (t *Tokens) Authenticate(ctx context.Context, token string) (Principal, error) {
	return t.authenticate(ctx, token, true)
}

// authenticate is Authenticate; without fresh, an id not yet known is not
// looked for in the token stream (a client over its failure limit must
// not make the server re-read it).
func (t *Tokens) authenticate(ctx context.Context, token string, fresh bool) (Principal, error) {
	id, ok := tokenID(token)
	sum := sha256.Sum256([]byte(token))
	info, err := t.lookup(ctx, id, ok, fresh)
	if err != nil {
		return Principal{}, err
	}
	want := dummySum
	if info != nil {
		want = info.sum
	}
	if subtle.ConstantTimeCompare(sum[:], want[:]) != 1 || info == nil || info.Revoked {
		return Principal{}, ErrBadToken
	}
	return Principal{TokenID: info.ID, Role: info.Role, Org: info.Org, Name: info.Name}, nil
}

// Principal returns the principal of a token id that is still valid
// (sessions hold the id, and a revoked token ends them).
func (t *Tokens) Principal(ctx context.Context, id string) (Principal, error) {
	info, err := t.lookup(ctx, id, domain.TokenIDProblem(id) == "", true)
	if err != nil {
		return Principal{}, err
	}
	if info == nil || info.Revoked {
		return Principal{}, ErrBadToken
	}
	return Principal{TokenID: info.ID, Role: info.Role, Org: info.Org, Name: info.Name}, nil
}

func (t *Tokens) lookup(ctx context.Context, id string, wellFormed, fresh bool) (*TokenInfo, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if err := t.syncIfStale(ctx, false); err != nil {
		return nil, err
	}
	if !wellFormed {
		return nil, nil
	}
	info := t.byID[id]
	if info == nil && fresh {
		// Issued by another process since the last sync? (Failed attempts
		// are rate-limited per client, so this read cannot be abused much.)
		if err := t.sync(ctx); err != nil {
			return nil, err
		}
		info = t.byID[id]
	}
	if info == nil {
		return nil, nil
	}
	c := *info
	return &c, nil
}

// tokenID extracts the id from "plt_<id>_<secret>".
func tokenID(token string) (string, bool) {
	rest, ok := strings.CutPrefix(token, tokenPrefix)
	if !ok {
		return "", false
	}
	id, secret, ok := strings.Cut(rest, "_")
	if !ok || domain.TokenIDProblem(id) != "" || len(secret) != 43 {
		return "", false
	}
	return id, true
}
