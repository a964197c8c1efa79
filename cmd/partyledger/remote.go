package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"partyledger/domain"
)

// apiClient writes through a running server's HTTP API (--server URL,
// --token TOKEN), for the write commands beside a server that holds the
// data directory.
type apiClient struct {
	base, token string
	hc          *http.Client
}

// remote returns the API client the global flags ask for, or nil when no
// --server (PARTYLEDGER_SERVER) was given.
func (e *env) remote() (*apiClient, error) {
	if e.server == "" {
		return nil, nil
	}
	u, err := url.Parse(e.server)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, usageError("--server %q: want the server's base URL, e.g. http://127.0.0.1:8080", e.server)
	}
	if e.token == "" {
		return nil, usageError("--server needs --token TOKEN (or PARTYLEDGER_TOKEN): a token whose role may write what the command writes")
	}
	return &apiClient{base: strings.TrimRight(e.server, "/"), token: e.token, hc: &http.Client{Timeout: 5 * time.Minute}}, nil
}

// remoteError is an error answer of the API.
type remoteError struct {
	Status  int
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field"`
	Details []struct {
		Field   string `json:"field"`
		Message string `json:"message"`
	} `json:"details"`
}

func (r *remoteError) Error() string {
	return fmt.Sprintf("server answered %d %s: %s", r.Status, r.Code, r.Message)
}

// print writes the problems as "field: reason" lines.
func (r *remoteError) print(w io.Writer, prefix string) {
	if len(r.Details) == 0 {
		field := r.Field
		if field == "" {
			field = r.Code
		}
		fmt.Fprintf(w, "%s%s: %s\n", prefix, field, r.Message)
		return
	}
	for _, d := range r.Details {
		field := d.Field
		if field == "" {
			field = "line"
		}
		fmt.Fprintf(w, "%s%s: %s\n", prefix, field, d.Message)
	}
}

// refused turns an error answer of the API into the command's refusal:
// its problems printed as "field: reason" lines, exit 1. Any other error
// (the server unreachable, an unexpected answer) is returned as it is.
func refused(e *env, err error) error {
	var re *remoteError
	if errors.As(err, &re) {
		re.print(e.stderr, "")
		return exitError{code: 1, quiet: true, err: err}
	}
	return err
}

// do sends a JSON body and decodes a JSON answer into out; an error answer
// is a *remoteError.
func (c *apiClient) do(ctx context.Context, method, path string, body []byte, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.hc.Do(req)
	if err != nil {
		return fmt.Errorf("the server %s: %w", c.base, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return fmt.Errorf("the server %s: read the answer: %w", c.base, err)
	}
	if resp.StatusCode >= 300 {
		var eb struct {
			Error remoteError `json:"error"`
		}
		if json.Unmarshal(b, &eb) != nil || eb.Error.Code == "" {
			return &remoteError{Status: resp.StatusCode, Code: "http", Message: strings.TrimSpace(string(b))}
		}
		eb.Error.Status = resp.StatusCode
		return &eb.Error
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("the server %s: unexpected answer: %w", c.base, err)
	}
	return nil
}

// remoteResult is one appended event as the API reports it.
type remoteResult struct {
	ID         string `json:"id"`
	Stream     string `json:"stream"`
	Revision   uint64 `json:"revision"`
	Position   uint64 `json:"position"`
	RecordedAt string `json:"recorded_at"`
	Hash       string `json:"hash"`
	Duplicate  bool   `json:"duplicate"`
}

// appendLines appends journal lines (without "org") of one organisation
// through POST /v1/orgs/{org}/events: one line alone, several as a batch
// (all or nothing).
func (c *apiClient) appendLines(ctx context.Context, org string, lines []json.RawMessage) ([]remoteResult, error) {
	path := "/v1/orgs/" + url.PathEscape(org) + "/events"
	if len(lines) == 1 {
		var r remoteResult
		if err := c.do(ctx, "POST", path, lines[0], &r); err != nil {
			return nil, err
		}
		return []remoteResult{r}, nil
	}
	body, err := json.Marshal(lines)
	if err != nil {
		return nil, err
	}
	var rs struct {
		Events []remoteResult `json:"events"`
	}
	if err := c.do(ctx, "POST", path, body, &rs); err != nil {
		return nil, err
	}
	return rs.Events, nil
}

// apiLine is the API's form of an organisation's entry: a journal line
// without "org" (the URL names it).
func apiLine(e *domain.Entry) (json.RawMessage, error) {
	data, err := json.Marshal(e.Payload)
	if err != nil {
		return nil, err
	}
	return json.Marshal(domain.JournalLine{ID: e.ID, Type: e.Type, OccurredOn: e.OccurredOn.String(), Data: data})
}

// errNotOrgEvent says which entries --server cannot write yet.
var errNotOrgEvent = errors.New("only an organisation's events can be recorded through --server (committee and rulebook events: use their own commands or the API)")

// errRecordRemoteKind says which entries record --server cannot write.
var errRecordRemoteKind = errors.New("record --server records an organisation's events and the committee's (YearClosed, AdvancedDesignated, RequiredEventScheduled); a rulebook: rulebook publish; tokens: token create, token revoke")
