package api

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	"partyledger/domain"
	"partyledger/ledger"
	"partyledger/ledger/books"
	"partyledger/ledger/logtree"
	"partyledger/projections"
	"partyledger/projections/scoreboard"
)

// errorBody is the one shape of every error response:
//
//	{"error": {"code": "...", "message": "...", "field": "..."}}
//
// field names the offending input ("data.topic", "[2].occurred_on",
// "If-Match", "year"), or is empty. details lists every field problem when
// there are several (additive).
type errorBody struct {
	Error apiError `json:"error"`
}

type apiError struct {
	Code    string        `json:"code"`
	Message string        `json:"message"`
	Field   string        `json:"field"`
	Details []fieldDetail `json:"details,omitempty"`
}

type fieldDetail struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// Error codes: each goes with one HTTP status.
const (
	codeBadRequest    = "bad_request"        // 400: malformed JSON, invalid UTF-8, bad query parameter
	codeUnauthorized  = "unauthorized"       // 401: no or bad credentials
	codeForbidden     = "forbidden"          // 403: the role may not do this
	codeYearClosed    = "year_closed"        // 403: the entry's year is closed (封账)
	codeCSRF          = "csrf"               // 403: a form post without its session's CSRF token
	codeNotFound      = "not_found"          // 404
	codeMethod        = "method_not_allowed" // 405
	codeConflict      = "conflict"           // 409: already exists
	codeWrongRevision = "wrong_revision"     // 409: If-Match did not match
	codeIDConflict    = "id_conflict"        // 409: an event id reused with other content
	codeTooLarge      = "too_large"          // 413
	codeInvalid       = "invalid"            // 422: a field failed validation or a state check
	codeRateLimited   = "rate_limited"       // 429
	codeInternal      = "internal"           // 500: logged, never described
	codeUnavailable   = "unavailable"        // 503: the store refuses writes or is closed
)

// statusError is an error a handler decided on itself.
type statusError struct {
	status int
	code   string
	field  string
	msg    string
	retry  int // seconds, for 429
}

func (e *statusError) Error() string { return e.msg }

func errBadRequest(field, format string, a ...any) error {
	return &statusError{status: http.StatusBadRequest, code: codeBadRequest, field: field, msg: fmt.Sprintf(format, a...)}
}

func errForbidden(format string, a ...any) error {
	return &statusError{status: http.StatusForbidden, code: codeForbidden, msg: fmt.Sprintf(format, a...)}
}

func errForbiddenField(field, format string, a ...any) error {
	return &statusError{status: http.StatusForbidden, code: codeForbidden, field: field, msg: fmt.Sprintf(format, a...)}
}

func errNotFound(format string, a ...any) error {
	return &statusError{status: http.StatusNotFound, code: codeNotFound, msg: fmt.Sprintf(format, a...)}
}

func errConflict(field, format string, a ...any) error {
	return &statusError{status: http.StatusConflict, code: codeConflict, field: field, msg: fmt.Sprintf(format, a...)}
}

func errUnauthorized(msg string) error {
	return &statusError{status: http.StatusUnauthorized, code: codeUnauthorized, msg: msg}
}

func errRateLimited(retry int) error {
	return &statusError{status: http.StatusTooManyRequests, code: codeRateLimited, msg: "too many requests; retry later", retry: retry}
}

// classify maps an error to its status and body: the one place where
// errors become HTTP statuses. internal is true for errors that must be
// logged and not shown.
func classify(err error) (status int, body apiError, internal bool) {
	var se *statusError
	if errors.As(err, &se) {
		return se.status, apiError{Code: se.code, Message: se.msg, Field: se.field}, false
	}
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return http.StatusRequestEntityTooLarge, apiError{Code: codeTooLarge,
			Message: fmt.Sprintf("request body larger than %d bytes", mbe.Limit)}, false
	}
	// The index of a refused entry in a batch prefixes its field paths.
	prefix := ""
	var ee *books.EntryError
	if errors.As(err, &ee) && ee.Index >= 0 {
		prefix = "[" + strconv.Itoa(ee.Index) + "]"
	}
	var wr *ledger.WrongRevisionError
	var nf *projections.NotFoundedError
	var re *domain.RightsError
	var ye *domain.YearClosedError
	switch {
	case errors.As(err, &re):
		return http.StatusForbidden, apiError{Code: codeForbidden, Field: joinField(prefix, re.Field), Message: re.Reason}, false
	case errors.As(err, &ye):
		return http.StatusForbidden, apiError{Code: codeYearClosed, Field: joinField(prefix, ye.Field),
			Message: strings.TrimPrefix(ye.Error(), ye.Field+": ")}, false
	case errors.As(err, &wr):
		return http.StatusConflict, apiError{Code: codeWrongRevision, Field: "If-Match",
			Message: fmt.Sprintf("the organisation's journal is at revision %s, not %s", revText(wr.Actual), revText(wr.Expected))}, false
	case errors.Is(err, ledger.ErrWrongExpectedRevision):
		return http.StatusConflict, apiError{Code: codeWrongRevision, Field: "If-Match", Message: "wrong expected revision"}, false
	case errors.Is(err, ledger.ErrIDConflict):
		return http.StatusConflict, apiError{Code: codeIDConflict, Field: joinField(prefix, "id"),
			Message: "this event id is already recorded with other content"}, false
	case errors.Is(err, books.ErrRulebookPublished):
		return http.StatusConflict, apiError{Code: codeConflict, Field: joinField(prefix, "data.version"),
			Message: "this rulebook version is already published; a correction is a new version"}, false
	case errors.Is(err, books.ErrGradeExists):
		return http.StatusConflict, apiError{Code: codeConflict, Field: joinField(prefix, "id"),
			Message: "this grade was already issued or revised"}, false
	case errors.Is(err, scoreboard.ErrUnknownOrg):
		return http.StatusNotFound, apiError{Code: codeNotFound, Message: "organisation not registered"}, false
	case errors.Is(err, ledger.ErrEventNotFound):
		return http.StatusNotFound, apiError{Code: codeNotFound, Field: "event", Message: "no event with this id"}, false
	case errors.Is(err, logtree.ErrNotInTree):
		return http.StatusUnprocessableEntity, apiError{Code: codeInvalid, Field: "size", Message: strings.TrimPrefix(err.Error(), "logtree: ")}, false
	case errors.As(err, &nf):
		// Before its founded_on an organisation is not scored (RUBRIC.md).
		return http.StatusUnprocessableEntity, apiError{Code: codeInvalid, Field: "as_of", Message: nf.Error()}, false
	case errors.Is(err, ledger.ErrReadOnly), errors.Is(err, ledger.ErrClosed):
		return http.StatusServiceUnavailable, apiError{Code: codeUnavailable, Message: "the ledger is not accepting writes"}, true
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return http.StatusServiceUnavailable, apiError{Code: codeUnavailable, Message: "request cancelled or timed out"}, false
	}
	if fes := fieldErrorsOf(err); fes != nil {
		body := apiError{Code: codeInvalid}
		for _, fe := range fes {
			f := joinField(prefix, fe.Field)
			body.Details = append(body.Details, fieldDetail{Field: f, Message: fe.Reason})
		}
		body.Field, body.Message = body.Details[0].Field, body.Details[0].Message
		if len(body.Details) == 1 {
			body.Details = nil
		} else {
			body.Message = fmt.Sprintf("%s (and %d more problems)", body.Message, len(body.Details)-1)
		}
		return http.StatusUnprocessableEntity, body, false
	}
	return http.StatusInternalServerError, apiError{Code: codeInternal, Message: "internal error"}, true
}

// fieldErrorsOf returns the field errors err carries, or nil when it
// carries none (then it is not a validation failure).
func fieldErrorsOf(err error) []*domain.FieldError {
	var pe *domain.ProblemsError
	var fe *domain.FieldError
	if errors.As(err, &pe) || errors.As(err, &fe) {
		return domain.FieldErrors(err)
	}
	return nil
}

func joinField(prefix, field string) string {
	switch {
	case prefix == "":
		return field
	case field == "":
		return prefix
	}
	return prefix + "." + field
}

func revText(r int64) string {
	if r == ledger.NoStream {
		return "none"
	}
	return strconv.FormatInt(r, 10)
}

// writeError writes err as the JSON error body. Internal errors are logged
// with the request id and answered without detail.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	status, body, internal := classify(err)
	if internal {
		s.log.LogAttrs(r.Context(), slog.LevelError, "request failed", slog.String("request_id", requestID(r)),
			slog.String("method", r.Method), slog.String("path", r.URL.Path), slog.Any("err", err))
		body.Message += " (request " + requestID(r) + ")"
	}
	var se *statusError
	if errors.As(err, &se) && se.retry > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(se.retry))
	}
	writeJSON(w, status, errorBody{Error: body})
}
