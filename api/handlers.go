package api

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/go-chi/chi/v5"

	"partyledger/domain"
	"partyledger/ledger"
	"partyledger/ledger/books"
	"partyledger/projections"
	"partyledger/projections/scoreboard"
)

// ---- request decoding ----

// readBody reads a JSON body: it must be valid UTF-8 (Go's decoder would
// silently replace bad bytes) and well-formed JSON; 400 otherwise.
func readBody(r *http.Request) ([]byte, error) {
	b, err := io.ReadAll(r.Body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, err
		}
		return nil, errBadRequest("", "could not read the request body")
	}
	if len(bytes.TrimSpace(b)) == 0 {
		return nil, errBadRequest("", "empty request body: want JSON")
	}
	if !utf8.Valid(b) {
		return nil, errBadRequest("", "request body is not valid UTF-8 (byte %d)", invalidUTF8At(b))
	}
	if !json.Valid(b) {
		var raw json.RawMessage
		var se *json.SyntaxError
		if err := json.Unmarshal(b, &raw); errors.As(err, &se) {
			return nil, errBadRequest("", "request body is not well-formed JSON (byte %d: %v)", se.Offset, se)
		}
		return nil, errBadRequest("", "request body is not well-formed JSON")
	}
	return b, nil
}

// invalidUTF8At returns the offset of the first byte of b that is not
// valid UTF-8.
func invalidUTF8At(b []byte) int {
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n <= 1 {
			return i
		}
		i += n
	}
	return len(b)
}

// rawLine is one journal line of a body, its fields not yet decoded.
type rawLine map[string]json.RawMessage

// decodeLines splits a body into journal lines: one object, or an array
// of objects (a batch).
// readOneLine reads a body that must hold one journal line (not an
// array); tooMany is the reason given for an array.
func readOneLine(r *http.Request, tooMany string) (rawLine, error) {
	body, err := readBody(r)
	if err != nil {
		return nil, err
	}
	lines, batch, err := decodeLines(body)
	if err == nil && batch {
		err = errBadRequest("", "%s", tooMany)
	}
	if err != nil {
		return nil, err
	}
	return lines[0], nil
}

func decodeLines(body []byte) ([]rawLine, bool, error) {
	body = bytes.TrimSpace(body)
	if body[0] == '[' {
		var arr []json.RawMessage
		if err := json.Unmarshal(body, &arr); err != nil {
			return nil, true, errBadRequest("", "want a JSON array of journal lines")
		}
		switch {
		case len(arr) == 0:
			return nil, true, &domain.FieldError{Reason: "empty batch"}
		case len(arr) > ledger.MaxBatchEvents:
			return nil, true, &domain.FieldError{Reason: fmt.Sprintf("more than %d events in one batch", ledger.MaxBatchEvents)}
		}
		out := make([]rawLine, len(arr))
		for i, a := range arr {
			if err := json.Unmarshal(a, &out[i]); err != nil || out[i] == nil {
				return nil, true, errBadRequest(fmt.Sprintf("[%d]", i), "want a JSON object (a journal line)")
			}
		}
		return out, true, nil
	}
	var m rawLine
	if err := json.Unmarshal(body, &m); err != nil || m == nil {
		return nil, false, errBadRequest("", "want a JSON object (a journal line) or an array of them")
	}
	return []rawLine{m}, false, nil
}

// str returns the string value of a field ("" when absent or not a string).
func (l rawLine) str(k string) string {
	var s string
	if v, ok := l[k]; ok {
		_ = json.Unmarshal(v, &s)
	}
	return s
}

// dataStr returns data.<k> as a string ("" when absent).
func (l rawLine) dataStr(k string) string {
	var d map[string]json.RawMessage
	if v, ok := l["data"]; ok && json.Unmarshal(v, &d) == nil {
		return rawLine(d).str(k)
	}
	return ""
}

// typeOr returns the line's type, filling in def when it has none.
func (l rawLine) typeOr(def string) string {
	if _, ok := l["type"]; !ok && def != "" {
		l["type"], _ = json.Marshal(def)
	}
	return l.str("type")
}

// checkRulebook reads the rulebook document of a RulebookPublished line
// (data.rulebook, as sent) with domain.ParseRulebookFile, so that every
// problem of it is reported at once with its line within the document.
// A line without the document is left to entry to refuse.
func (l rawLine) checkRulebook() error {
	var d map[string]json.RawMessage
	if json.Unmarshal(l["data"], &d) != nil {
		return nil
	}
	doc := bytes.TrimSpace(d["rulebook"])
	if len(doc) == 0 || string(doc) == "null" {
		return nil
	}
	_, err := domain.ParseRulebookFile(doc)
	return domain.Prefix("data.rulebook", err)
}

// entry validates the line on its own (domain.ParseJournalLine) with org
// set as given: the body itself must not carry org.
func (l rawLine) entry(org string) (domain.Entry, error) {
	if _, ok := l["org"]; ok {
		return domain.Entry{}, &domain.FieldError{Field: "org", Reason: "given by the URL; omit it from the body"}
	}
	if org != "" {
		l["org"], _ = json.Marshal(org)
	}
	b, err := json.Marshal(l)
	if err != nil {
		return domain.Entry{}, err
	}
	e, err := domain.ParseJournalLine(b)
	delete(l, "org")
	return e, err
}

// indexed wraps err with its index in a batch (nothing for a single line).
func indexed(err error, i int, batch bool) error {
	if err == nil || !batch {
		return err
	}
	return &books.EntryError{Index: i, Err: err}
}

// unindex strips the index of a single line's error.
func unindex(err error, batch bool) error {
	var ee *books.EntryError
	if !batch && errors.As(err, &ee) {
		return ee.Err
	}
	return err
}

// ifMatch parses If-Match: a revision number, optionally quoted (the
// ETag of GET /v1/orgs/{code}).
func ifMatch(r *http.Request) (*ledger.Expected, error) {
	h := strings.TrimSpace(r.Header.Get("If-Match"))
	if h == "" {
		return nil, nil
	}
	h = strings.Trim(strings.TrimPrefix(h, "W/"), `"`)
	n, err := strconv.ParseUint(h, 10, 63)
	if err != nil {
		return nil, errBadRequest("If-Match", "want the organisation's revision, a non-negative integer")
	}
	exp := ledger.ExpectRevision(n)
	return &exp, nil
}

// ---- query parameters ----

func queryYear(r *http.Request, def int) (int, error) {
	v := r.URL.Query().Get("year")
	if v == "" {
		return def, nil
	}
	y, err := strconv.Atoi(v)
	if err != nil || y < domain.DateMin.Year || y > domain.DateMax.Year {
		return 0, errBadRequest("year", "want a year within %d..%d", domain.DateMin.Year, domain.DateMax.Year)
	}
	return y, nil
}

func queryDate(r *http.Request, name string) (domain.Date, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return domain.Date{}, nil
	}
	d, err := domain.ParseDate(v)
	if err != nil {
		return domain.Date{}, errBadRequest(name, "want a date YYYY-MM-DD: %v", err)
	}
	return d, nil
}

// parseKnownAt reads an instant: RFC 3339, or a date meaning the end of
// that day in China Standard Time (everything recorded on it is known).
func parseKnownAt(v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	if d, err := domain.ParseDate(v); err == nil {
		return d.End().Add(-time.Microsecond), nil
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return time.Time{}, errBadRequest("known_at", "want an RFC 3339 instant (2017-01-31T12:00:00+08:00) or a date YYYY-MM-DD")
	}
	// The zero instant means "now" to the readers, and instants from
	// 2262 on overflow the nanoseconds the folds compare: both would
	// answer something other than what was asked.
	if lo, hi := domain.DateMin.Start(), domain.DateMax.End(); t.Before(lo) || !t.Before(hi) {
		return time.Time{}, errBadRequest("known_at", "want an instant within %s..%s", domain.DateMin, domain.DateMax)
	}
	return t, nil
}

func queryInt(r *http.Request, name string, def, min, max int) (int, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < min || n > max {
		return 0, errBadRequest(name, "want an integer within %d..%d", min, max)
	}
	return n, nil
}

// scoreQuery reads year, as_of, known_at and rulebook.
func (s *Server) scoreQuery(r *http.Request) (scoreboard.Query, error) {
	var q scoreboard.Query
	var err error
	if q.Year, err = queryYear(r, s.opts.Year); err != nil {
		return q, err
	}
	if q.AsOf, err = queryDate(r, "as_of"); err != nil {
		return q, err
	}
	if q.KnownAt, err = parseKnownAt(r.URL.Query().Get("known_at")); err != nil {
		return q, err
	}
	q.Rulebook = r.URL.Query().Get("rulebook")
	if len(q.Rulebook) > domain.MaxNameRunes*4 {
		return q, errBadRequest("rulebook", "too long")
	}
	if q.Under, err = queryUnder(r); err != nil {
		return q, err
	}
	return q, nil
}

// queryUnder reads under: whom a ranking covers ("" the organisations
// directly under the work committee, a code its subtree, "*" everyone).
func queryUnder(r *http.Request) (string, error) {
	u := r.URL.Query().Get("under")
	if u != "" && u != scoreboard.AllOrgs && domain.OrgCodeProblem(u) != "" {
		return "", errBadRequest("under", "want an organisation code, or * for every organisation")
	}
	return u, nil
}

// org returns an organisation's state, or 404.
func (s *Server) org(ctx context.Context, code string) (*domain.OrgState, error) {
	st, err := s.books.Org(ctx, code)
	if err != nil {
		return nil, err
	}
	if st == nil {
		return nil, errNotFound("organisation %q is not registered", code)
	}
	return st, nil
}

// ---- handlers ----

// handleHealth answers GET /healthz: the server is up and the ledger
// position the scoreboard has folded.
func (s *Server) handleHealth(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"status": "ok", "position": s.board.Position()})
}

//go:embed openapi.json
var openAPIDoc []byte

// handleOpenAPI answers GET /v1/openapi.json.
func (s *Server) handleOpenAPI(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	_, _ = w.Write(openAPIDoc)
}

type meBody struct {
	TokenID string            `json:"token_id"`
	Role    domain.AccessRole `json:"role"`
	Org     string            `json:"org,omitempty"`
	Name    string            `json:"name"`
	// Appendable lists the event types this principal may append to an
	// organisation's journal (POST /v1/orgs/{code}/events).
	Appendable []string `json:"appendable"`
	// MayRecord lists every type it may record, in any stream
	// (GOVERNANCE.md): the organisation's, then the committee's and the
	// rulebook's.
	MayRecord []string `json:"may_record"`
}

// handleMe answers GET /v1/me: who the token belongs to, and what it may
// record.
func (s *Server) handleMe(w http.ResponseWriter, r *http.Request) {
	p := principalOf(r)
	writeJSON(w, http.StatusOK, meBody{TokenID: p.TokenID, Role: p.Role, Org: p.Org, Name: p.Name,
		Appendable: append([]string{}, AppendableTypes(p.Role)...), MayRecord: RecordableTypes(p.Role)})
}

type orgSummary struct {
	Code       string         `json:"code"`
	Name       string         `json:"name"`
	Kind       domain.OrgKind `json:"kind"`
	ParentCode string         `json:"parent_code,omitempty"`
	HasGroups  bool           `json:"has_groups"`
	Revision   int64          `json:"revision"`
}

func summaryOf(st *domain.OrgState) orgSummary {
	return orgSummary{Code: st.Code, Name: st.Name, Kind: st.Kind, ParentCode: st.Parent, HasGroups: st.HasGroups, Revision: st.Revision}
}

// allOrgs returns every registered organisation, by code.
func (s *Server) allOrgs(ctx context.Context) ([]*domain.OrgState, error) {
	if err := s.board.CatchUp(ctx); err != nil {
		return nil, err
	}
	var out []*domain.OrgState
	for _, code := range s.board.Codes() {
		st, err := s.books.Org(ctx, code)
		if err != nil {
			return nil, err
		}
		if st != nil {
			out = append(out, st)
		}
	}
	return out, nil
}

// handleListOrgs answers GET /v1/orgs: every organisation, by code.
func (s *Server) handleListOrgs(w http.ResponseWriter, r *http.Request) {
	orgs, err := s.allOrgs(r.Context())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := make([]orgSummary, len(orgs))
	for i, st := range orgs {
		out[i] = summaryOf(st)
	}
	writeJSON(w, http.StatusOK, map[string]any{"orgs": out})
}

// handleRegisterOrg answers POST /v1/orgs: the body is an
// OrganizationRegistered journal line without org (type may be omitted;
// the organisation is data.code).
func (s *Server) handleRegisterOrg(w http.ResponseWriter, r *http.Request) {
	l, err := readOneLine(r, "register one organisation per request")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if t := l.typeOr(domain.TypeOrganizationRegistered); t != domain.TypeOrganizationRegistered {
		s.writeError(w, r, &domain.FieldError{Field: "type", Reason: "want OrganizationRegistered (or omit type)"})
		return
	}
	code := l.dataStr("code")
	if code == "" {
		s.writeError(w, r, &domain.FieldError{Field: "data.code", Reason: "required"})
		return
	}
	e, err := l.entry(code)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if st, err := s.books.Org(r.Context(), code); err != nil {
		s.writeError(w, r, err)
		return
	} else if st != nil && (e.ID == "" || st.Events[e.ID] == "") {
		s.writeError(w, r, errConflict("data.code", "organisation %s is already registered", code))
		return
	}
	s.record(w, r, []domain.Entry{e}, false, nil)
}

// record appends entries for the principal and answers 201 with the
// results (200 when every entry was already recorded: nothing written).
func (s *Server) record(w http.ResponseWriter, r *http.Request, entries []domain.Entry, batch bool, exp *ledger.Expected) {
	res, err := s.appendTimed(r.Context(), entries, principalOf(r), books.RecordOptions{Expected: exp})
	if err != nil {
		s.writeError(w, r, unindex(err, batch))
		return
	}
	out := make([]appendResult, len(res))
	status := http.StatusOK
	for i, x := range res {
		out[i] = resultOf(x)
		if !x.Duplicate {
			status = http.StatusCreated
		}
	}
	if batch {
		writeJSON(w, status, map[string]any{"events": out})
		return
	}
	writeJSON(w, status, out[0])
}

type appendResult struct {
	ID         string `json:"id"`
	Stream     string `json:"stream"`
	Revision   uint64 `json:"revision"`
	Position   uint64 `json:"position"`
	RecordedAt string `json:"recorded_at"`
	Hash       string `json:"hash"`
	Duplicate  bool   `json:"duplicate"`
}

func resultOf(x ledger.Result) appendResult {
	return appendResult{ID: x.ID.String(), Stream: x.Stream, Revision: x.Revision, Position: uint64(x.Position),
		RecordedAt: x.RecordedAt.UTC().Format(ledger.RecordedAtLayout), Hash: x.Hash.String(), Duplicate: x.Duplicate}
}

type orgDetail struct {
	orgSummary
	KindLabel string               `json:"kind_label"`
	Members   []memberBody         `json:"members"`
	Officers  map[string][]string  `json:"officers"`
	Cases     []caseBody           `json:"cases"`
	Scheduled []scheduledEventBody `json:"scheduled"`
}

type memberBody struct {
	MemberID string `json:"member_id"`
	Name     string `json:"name"`
	Active   bool   `json:"active"`
}

type caseBody struct {
	CaseID    string `json:"case_id"`
	OpenedOn  string `json:"opened_on"`
	HandledOn string `json:"handled_on,omitempty"`
}

type scheduledEventBody struct {
	ScheduledEventID string   `json:"scheduled_event_id"`
	Kind             string   `json:"kind"`
	Title            string   `json:"title"`
	Targets          []string `json:"targets,omitempty"`
}

// handleGetOrg answers GET /v1/orgs/{code}: the organisation, its roster,
// officers and cases, the committee events it must attend, and its
// revision (also the ETag, for If-Match).
func (s *Server) handleGetOrg(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	st, err := s.org(ctx, chi.URLParam(r, "code"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	sched, err := s.books.Schedule(ctx)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	d := orgDetail{orgSummary: summaryOf(st), KindLabel: st.Kind.Label(), Members: []memberBody{},
		Officers: map[string][]string{}, Cases: []caseBody{}, Scheduled: scheduledFor(sched, st.Code)}
	for _, m := range st.Members {
		d.Members = append(d.Members, memberBody{MemberID: m.ID, Name: m.Name, Active: m.Active})
	}
	sort.Slice(d.Members, func(i, j int) bool { return d.Members[i].MemberID < d.Members[j].MemberID })
	for role, ids := range st.Officers {
		for id := range ids {
			d.Officers[role] = append(d.Officers[role], id)
		}
		sort.Strings(d.Officers[role])
	}
	for _, c := range st.Cases {
		cb := caseBody{CaseID: c.ID, OpenedOn: c.OpenedOn.String()}
		if c.HandledBy != "" {
			cb.HandledOn = c.HandledOn.String()
		}
		d.Cases = append(d.Cases, cb)
	}
	sort.Slice(d.Cases, func(i, j int) bool { return d.Cases[i].CaseID < d.Cases[j].CaseID })
	w.Header().Set("ETag", strconv.Quote(strconv.FormatInt(st.Revision, 10)))
	writeJSON(w, http.StatusOK, d)
}

// scheduledFor lists the scheduled events that target code (every one
// when code is empty), by id.
func scheduledFor(sched *domain.Schedule, code string) []scheduledEventBody {
	out := []scheduledEventBody{}
	for _, ev := range sched.Events {
		if code == "" || ev.TargetsOrg(code) {
			out = append(out, scheduledEventBody{ScheduledEventID: ev.ScheduledEventID, Kind: ev.Kind, Title: ev.Title, Targets: ev.Targets})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ScheduledEventID < out[j].ScheduledEventID })
	return out
}

// journalEvent is one event of a journal read: the export form of
// EVENTS.md, plus the retraction that withdrew it or the assessor's
// rejection (退回) that stopped it counting, if known, and the 补录 mark of
// a late entry.
type journalEvent struct {
	domain.JournalLine
	TypeLabel string      `json:"type_label"`
	Retracted *retraction `json:"retracted,omitempty"`
	Rejected  *retraction `json:"rejected,omitempty"` // 退回: the EventRejected and the assessor's reason
	Late      *lateMark   `json:"late,omitempty"`     // 补录
	// Redacted names the fields left out for this reader (incomes are
	// shown to the organisation's own branch and the admin only); the
	// line's hash covers the stored data, not this copy.
	Redacted []string `json:"redacted,omitempty"`
}

type retraction struct {
	By         string `json:"by"` // the EventRetracted's (or EventRejected's) id
	Reason     string `json:"reason"`
	RecordedAt string `json:"recorded_at"`
}

// lateMark is an organisation's own entry recorded more than the
// rulebook's late_entry_days after it occurred (补录), with both dates.
type lateMark struct {
	OccurredOn string `json:"occurred_on"`
	RecordedOn string `json:"recorded_on"` // CST date of recorded_at
	Days       int    `json:"days"`
	LimitDays  int    `json:"late_entry_days"`
}

// journalQuery selects part of an organisation's journal.
type journalQuery struct {
	year    int       // 0: every year
	after   int64     // only revisions after it (-1: from the start)
	limit   int       // at most this many
	knownAt time.Time // zero: everything; else only events recorded at or before it
	incomes bool      // the reader may see incomes
}

// lateDays returns late_entry_days of each year's rulebook in force now,
// memoised for one read.
func (s *Server) lateDays(ctx context.Context) func(year int) int {
	memo := map[int]int{}
	return func(year int) int {
		if d, ok := memo[year]; ok {
			return d
		}
		rb, err := s.books.RulebookAt(ctx, year, s.now(), "")
		if err != nil {
			rb = nil // no rulebook for that year: the default
		}
		memo[year] = domain.LateEntryDaysOf(rb)
		return memo[year]
	}
}

// lateMarkOf returns the 补录 mark of a stored event, or nil.
func lateMarkOf(typ, occurredOn, recordedAt string, days func(int) int) *lateMark {
	on, err := domain.ParseDate(occurredOn)
	if err != nil {
		return nil
	}
	at, err := time.Parse(ledger.RecordedAtLayout, recordedAt)
	if err != nil {
		return nil
	}
	limit := days(on.Year)
	if !domain.IsLateEntry(typ, on, at, limit) {
		return nil
	}
	return &lateMark{OccurredOn: occurredOn, RecordedOn: domain.DateOf(at).String(), Days: domain.LateDays(on, at), LimitDays: limit}
}

// mayReadIncomes reports whether p may see the incomes of organisation
// code's members (GOVERNANCE.md, personal information): its own branch
// and the admin.
func mayReadIncomes(p Principal, code string) bool {
	return p.Role == domain.AccessAdmin || (p.Role == domain.AccessBranch && p.Org == code)
}

// incomeTypes carry monthly_income_fen.
var incomeTypes = map[string]bool{domain.TypeMemberJoined: true, domain.TypeMemberDetailsChanged: true}

// redactIncome returns l without monthly_income_fen, and whether it had one.
func redactIncome(l domain.JournalLine) (domain.JournalLine, bool) {
	if !incomeTypes[l.Type] {
		return l, false
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(l.Data, &m) != nil {
		return l, false
	}
	if _, ok := m["monthly_income_fen"]; !ok {
		return l, false
	}
	delete(m, "monthly_income_fen")
	b, err := json.Marshal(m)
	if err != nil {
		return l, false
	}
	l.Data = b
	return l, true
}

// journal reads an organisation's stream in recorded order: the events
// of one page and the retractions and rejections of those events, as of
// st (the state when the request began: the read ends at st.Revision). A
// retraction or rejection follows what it withdraws, so the read starts
// after q.after; once the page is full it goes on only while a page event
// that st lists as retracted or rejected still lacks it. A page costs its
// own length, not the stream's (at most the distance to the last
// retraction it shows).
func (s *Server) journal(ctx context.Context, st *domain.OrgState, q journalQuery) ([]journalEvent, bool, error) {
	var out []journalEvent
	more := false
	days := s.lateDays(ctx)
	awaitRetract := map[string]int{} // retracted page event id → its index in out
	awaitReject := map[string]int{}  // rejected page event id → its index in out
	for ev, err := range s.books.ReadStream(ctx, books.OrgStream(st.Code), uint64(q.after+1)) {
		if errors.Is(err, ledger.ErrStreamNotFound) {
			break
		}
		if err != nil {
			return nil, false, err
		}
		if int64(ev.Revision) > st.Revision || (!q.knownAt.IsZero() && ev.RecordedAt.After(q.knownAt)) {
			break // recorded_at increases along a stream
		}
		switch ev.Type {
		case domain.TypeEventRetracted, domain.TypeEventRejected:
			var d domain.EventRetracted // the same fields as EventRejected
			if json.Unmarshal(ev.Data, &d) == nil {
				await := awaitRetract
				if ev.Type == domain.TypeEventRejected {
					await = awaitReject
				}
				if i, ok := await[strings.ToLower(d.EventID)]; ok {
					x := &retraction{By: ev.ID.String(), Reason: d.Reason, RecordedAt: ev.RecordedAt.UTC().Format(ledger.RecordedAtLayout)}
					if ev.Type == domain.TypeEventRejected {
						out[i].Rejected = x
					} else {
						out[i].Retracted = x
					}
					delete(await, strings.ToLower(d.EventID))
				}
			}
		}
		if q.year == 0 || books.BelongsToYear(&ev, q.year) {
			if len(out) == q.limit {
				more = true
			} else {
				je := journalEvent{JournalLine: books.ExportLine(&ev, st.Code), TypeLabel: domain.TypeLabel(ev.Type)}
				je.Late = lateMarkOf(ev.Type, je.OccurredOn, je.RecordedAt, days)
				if !q.incomes {
					var red bool
					if je.JournalLine, red = redactIncome(je.JournalLine); red {
						je.Redacted = []string{"data.monthly_income_fen"}
					}
				}
				out = append(out, je)
				id := ev.ID.String()
				if st.Retracts[id] {
					awaitRetract[id] = len(out) - 1
				}
				if st.Rejects[id] != "" {
					awaitReject[id] = len(out) - 1
				}
			}
		}
		if more && len(awaitRetract) == 0 && len(awaitReject) == 0 {
			break
		}
	}
	return out, more, nil
}

// handleListEvents answers GET /v1/orgs/{code}/events?year=&after=&limit=&known_at=:
// the journal in recorded order, limit events (default 100, at most 1000)
// with revision after after; next_after continues it (null at the end).
func (s *Server) handleListEvents(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	code := chi.URLParam(r, "code")
	st, err := s.org(ctx, code)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var q journalQuery
	if r.URL.Query().Get("year") != "" {
		if q.year, err = queryYear(r, 0); err != nil {
			s.writeError(w, r, err)
			return
		}
	}
	after, err := queryInt(r, "after", -1, -1, 1<<62)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	q.after = int64(after)
	if q.limit, err = queryInt(r, "limit", 100, 1, 1000); err != nil {
		s.writeError(w, r, err)
		return
	}
	if q.knownAt, err = parseKnownAt(r.URL.Query().Get("known_at")); err != nil {
		s.writeError(w, r, err)
		return
	}
	q.incomes = mayReadIncomes(principalOf(r), code)
	evs, more, err := s.journal(ctx, st, q)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if evs == nil {
		evs = []journalEvent{}
	}
	var next *uint64
	if more {
		n := *evs[len(evs)-1].Revision
		next = &n
	}
	writeJSON(w, http.StatusOK, map[string]any{"org": code, "events": evs, "next_after": next})
}

// handleAppendEvents answers POST /v1/orgs/{code}/events: the body is a
// journal line without org, or an array of them (appended atomically, in
// order). An optional id makes the append idempotent; If-Match: <revision>
// makes it conditional on the journal's revision. The role must be
// allowed to append each type (AppendAllowed).
func (s *Server) handleAppendEvents(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	p := principalOf(r)
	code := chi.URLParam(r, "code")
	st, err := s.org(ctx, code)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	exp, err := ifMatch(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	body, err := readBody(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	lines, batch, err := decodeLines(body)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	// Who may append what is decided before anything else is judged.
	for i, l := range lines {
		t := l.str("type")
		if k, ok := domain.StreamKindOf(t); ok && k != domain.StreamOrg {
			s.writeError(w, r, indexed(&domain.FieldError{Field: "type", Reason: t + " is not an organisation's event"}, i, batch))
			return
		}
		if !domain.KnownType(t) {
			continue // the validation below names it
		}
		retractedType := ""
		if t == domain.TypeEventRetracted {
			retractedType = st.Events[strings.ToLower(l.dataStr("event_id"))]
		}
		if !AppendAllowed(p.Role, t, retractedType) {
			what, field := t, "type"
			if retractedType != "" {
				what, field = "EventRetracted of a "+retractedType, "data.event_id"
			}
			s.writeError(w, r, errForbiddenField(joinField(fieldIndex(i, batch), field), "role %s may not append %s", p.Role, what))
			return
		}
	}
	entries := make([]domain.Entry, len(lines))
	var problems []error
	for i, l := range lines {
		e, err := l.entry(code)
		if err != nil {
			problems = append(problems, domain.Prefix(fieldIndex(i, batch), err))
			continue
		}
		entries[i] = e
	}
	if len(problems) > 0 {
		s.writeError(w, r, joinProblems(problems))
		return
	}
	// Judged again on what will be stored: encoding/json matches keys
	// regardless of case and keeps the last of duplicates, so the raw
	// keys read above ("type", "event_id") need not be the ones decoded
	// ({"TYPE":"FindingRecorded"}, {"event_id":mine,"EVENT_ID":theirs}).
	for i := range entries {
		retractedType := ""
		if rp, ok := entries[i].Payload.(*domain.EventRetracted); ok {
			retractedType = st.Events[strings.ToLower(rp.EventID)]
		}
		if !AppendAllowed(p.Role, entries[i].Type, retractedType) {
			what, field := entries[i].Type, "type"
			if retractedType != "" {
				what, field = "EventRetracted of a "+retractedType, "data.event_id"
			}
			s.writeError(w, r, errForbiddenField(joinField(fieldIndex(i, batch), field), "role %s may not append %s", p.Role, what))
			return
		}
	}
	s.record(w, r, entries, batch, exp)
}

func fieldIndex(i int, batch bool) string {
	if !batch {
		return ""
	}
	return "[" + strconv.Itoa(i) + "]"
}

// joinProblems merges the field errors of several lines into one.
func joinProblems(errs []error) error {
	var p domain.Problems
	for _, err := range errs {
		for _, fe := range domain.FieldErrors(err) {
			p.Add(strings.TrimPrefix(fe.Field, "."), fe.Reason)
		}
	}
	return p.Err()
}

// handleScorecard answers GET /v1/orgs/{code}/scorecard?year=&as_of=&known_at=&rulebook=:
// the scorecard JSON of EVENTS.md.
func (s *Server) handleScorecard(w http.ResponseWriter, r *http.Request) {
	q, err := s.scoreQuery(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	sc, err := s.board.Score(r.Context(), chi.URLParam(r, "code"), q)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, sc)
}

// TimelinePoint is the score at the end of one month.
type TimelinePoint struct {
	Month       string        `json:"month"`
	AsOf        domain.Date   `json:"as_of"`
	Online      domain.Points `json:"online"`
	Final       domain.Points `json:"final"`
	Tier        string        `json:"tier"`
	TierByScore string        `json:"tier_by_score"`
	Provisional bool          `json:"provisional"`
}

// timeline scores code as of the end of each month of the year that has
// closed by now (all twelve for a past year) and, when the query names
// as_of, by that date; the months before the organisation was founded
// are left out.
func (s *Server) timeline(ctx context.Context, code string, q scoreboard.Query) ([]TimelinePoint, error) {
	today := domain.DateOf(s.now())
	out := []TimelinePoint{}
	for m := time.January; m <= time.December; m++ {
		end := domain.MonthEnd(q.Year, m)
		if !end.Before(today) || !q.AsOf.IsZero() && end.After(q.AsOf) {
			break
		}
		mq := q
		mq.AsOf = end
		sc, err := s.board.Score(ctx, code, mq)
		if errors.Is(err, projections.ErrNotFounded) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, TimelinePoint{Month: fmt.Sprintf("%04d-%02d", q.Year, int(m)), AsOf: end, Online: sc.Online,
			Final: sc.Final, Tier: sc.Tier, TierByScore: sc.TierByScore, Provisional: sc.Provisional})
	}
	return out, nil
}

// handleTimeline answers GET /v1/orgs/{code}/scorecard/timeline?year=&known_at=&rulebook=:
// the score as of the end of each closed month of the year.
func (s *Server) handleTimeline(w http.ResponseWriter, r *http.Request) {
	q, err := s.scoreQuery(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	code := chi.URLParam(r, "code")
	pts, err := s.timeline(r.Context(), code, q)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"org": code, "year": q.Year, "points": pts})
}

// missing lists what code still lacks in the periods open at D
// (projections.Missing), from the board's live facts as known at K. D
// defaults to today within the year, else the year's last day.
func (s *Server) missing(ctx context.Context, code string, q scoreboard.Query) ([]projections.Gap, domain.Date, error) {
	if q.KnownAt.IsZero() {
		q.KnownAt = s.now()
	}
	q.KnownAt = ledger.TruncateTime(q.KnownAt)
	if q.AsOf.IsZero() {
		q.AsOf = domain.YearEnd(q.Year)
		if today := domain.DateOf(s.now()); today.Year == q.Year {
			q.AsOf = today
		}
	}
	gaps, err := s.board.Missing(ctx, code, q)
	if errors.Is(err, scoreboard.ErrUnknownOrg) {
		return nil, q.AsOf, errNotFound("organisation %q was not registered then", code)
	}
	return gaps, q.AsOf, err
}

// handleMissing answers GET /v1/orgs/{code}/missing?year=&as_of=&known_at=&rulebook=:
// what the organisation still lacks in the month, quarter, half and year
// open at as_of (default today within the year, else its last day).
func (s *Server) handleMissing(w http.ResponseWriter, r *http.Request) {
	q, err := s.scoreQuery(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	code := chi.URLParam(r, "code")
	if _, err := s.org(r.Context(), code); err != nil {
		s.writeError(w, r, err)
		return
	}
	gaps, asOf, err := s.missing(r.Context(), code, q)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	// The entries an assessor rejected (退回) are missing too, until the
	// branch records them again.
	sc, err := s.board.Score(r.Context(), code, q)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	rejected := sc.Rejected
	if rejected == nil {
		rejected = []projections.Rejection{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"org": code, "year": q.Year, "as_of": asOf, "missing": gaps, "rejected": rejected})
}

// handleScorecards answers GET /v1/scorecards?year=&as_of=&known_at=&rulebook=&kind=&tier=&under=:
// the organisations directly under the work committee (under=CODE: that
// organisation's subtree; under=*: every organisation), ranked by final
// score.
func (s *Server) handleScorecards(w http.ResponseWriter, r *http.Request) {
	q, err := s.scoreQuery(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	kind, tier := r.URL.Query().Get("kind"), r.URL.Query().Get("tier")
	if kind != "" && domain.OrgKind(kind).Label() == kind {
		s.writeError(w, r, errBadRequest("kind", "want committee, general_branch or branch"))
		return
	}
	if tier != "" && domain.TierLabel(tier) == tier {
		s.writeError(w, r, errBadRequest("tier", "want advanced, compliant or non_compliant"))
		return
	}
	rk, err := s.board.Rank(r.Context(), q)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := make([]scoreboard.Row, 0, len(rk.Rows))
	for _, row := range rk.Rows {
		if (kind == "" || string(row.Kind) == kind) && (tier == "" || row.Tier == tier) {
			out = append(out, row)
		}
	}
	// The bytes writeJSON writes for {"year": …, "scorecards": […]}
	// (object keys sorted), the scorecards streamed a chunk at a time.
	s.writeCards(w, r, rk, out, `{"scorecards":[`, fmt.Sprintf(`],"year":%d}`+"\n", q.Year))
}

// streamChunkWindow is how long writeCards gives each chunk it sends
// (about a megabyte, and the scoring of the next one) to reach the client.
const streamChunkWindow = time.Minute

// writeCards answers 200 with head, the JSON of the scorecards of rows
// (Board.Cards: scored again a chunk at a time, never all held at once)
// separated by commas, and tail. A failure before the first bytes are
// sent is answered as an error; after, the connection is cut, so that a
// client never takes a truncated answer for a whole one.
func (s *Server) writeCards(w http.ResponseWriter, r *http.Request, rk *scoreboard.Ranking, rows []scoreboard.Row, head, tail string) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	started := false
	rc := http.NewResponseController(w)
	flush := func() error {
		if !started {
			started = true
			w.Header().Set("Content-Type", "application/json; charset=utf-8")
			w.Header().Set("Cache-Control", "no-store")
			w.WriteHeader(http.StatusOK)
		}
		// A province's ranking streams gigabytes for minutes, longer than
		// the server's WriteTimeout: each chunk gets its own window
		// instead, so the answer lives while it makes progress and a
		// client that stops reading is still cut off.
		if err := rc.SetWriteDeadline(time.Now().Add(streamChunkWindow)); err != nil && !errors.Is(err, http.ErrNotSupported) {
			return err
		}
		_, err := w.Write(buf.Bytes())
		buf.Reset()
		return err
	}
	buf.WriteString(head)
	n := 0
	err := s.board.Cards(r.Context(), rk, rows, func(sc *projections.Scorecard) error {
		if n > 0 {
			buf.WriteByte(',')
		}
		n++
		if err := enc.Encode(sc); err != nil {
			return err
		}
		buf.Truncate(buf.Len() - 1) // Encode's newline
		if buf.Len() >= 1<<20 {
			return flush()
		}
		return nil
	})
	if err == nil {
		buf.WriteString(tail)
		err = flush()
	}
	switch {
	case err != nil && !started:
		s.writeError(w, r, err)
	case err != nil:
		s.log.Error("scorecards: cut short", "request_id", requestID(r), "path", r.URL.Path, "sent", n, "scorecards", len(rows), "err", err)
		panic(http.ErrAbortHandler)
	}
}

type gradeBody struct {
	Org             string        `json:"org"`
	Type            string        `json:"type"`
	EventID         string        `json:"event_id"`
	Year            int           `json:"year"`
	RulebookVersion string        `json:"rulebook_version"`
	Final           domain.Points `json:"final"`
	Tier            string        `json:"tier"`
	Reason          string        `json:"reason,omitempty"`
	OverrideReason  string        `json:"override_reason,omitempty"` // why it differs from the computation
	RecordedAt      string        `json:"recorded_at"`
	RecordedBy      string        `json:"recorded_by"`
}

// handleGrades answers GET /v1/grades?year=: each organisation's official
// grade of the year (its last GradeIssued or GradeRevised), by code.
func (s *Server) handleGrades(w http.ResponseWriter, r *http.Request) {
	year, err := queryYear(r, s.opts.Year)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	all, err := s.books.Grades(r.Context(), year)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := []gradeBody{}
	for _, code := range sortedKeys(all) {
		gs := all[code]
		if len(gs) == 0 {
			continue
		}
		g := gs[len(gs)-1]
		out = append(out, gradeBody{Org: code, Type: g.Type, EventID: g.EventID, Year: g.Year, RulebookVersion: g.RulebookVersion,
			Final: g.Final, Tier: g.Tier, Reason: g.Reason, OverrideReason: g.OverrideReason, RecordedAt: g.RecordedAt.UTC().Format(ledger.RecordedAtLayout), RecordedBy: g.RecordedBy})
	}
	writeJSON(w, http.StatusOK, map[string]any{"year": year, "grades": out})
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// handleSchedule answers GET /v1/schedule: every required event the work
// committee scheduled.
func (s *Server) handleSchedule(w http.ResponseWriter, r *http.Request) {
	sched, err := s.books.Schedule(r.Context())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"scheduled": scheduledFor(sched, "")})
}

// handleScheduleEvent answers POST /v1/schedule: the body is a
// RequiredEventScheduled journal line (type may be omitted).
func (s *Server) handleScheduleEvent(w http.ResponseWriter, r *http.Request) {
	s.recordUnowned(w, r, domain.TypeRequiredEventScheduled)
}

// handleCommitteeEvent answers POST /v1/committee/events: the body is a
// journal line of the committee stream — YearClosed{year, reason} (封账),
// AdvancedDesignated{year, codes, reason} (确定先进) or a
// RequiredEventScheduled — without org.
func (s *Server) handleCommitteeEvent(w http.ResponseWriter, r *http.Request) {
	s.recordUnowned(w, r, "")
}

// recordUnowned records one line of a stream that belongs to no
// organisation (committee, rulebook) whose type must be want ("": any
// committee-stream type).
func (s *Server) recordUnowned(w http.ResponseWriter, r *http.Request, want string) {
	l, err := readOneLine(r, "one event per request")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if want == "" {
		if k, ok := domain.StreamKindOf(l.str("type")); !ok || k != domain.StreamCommittee {
			s.writeError(w, r, &domain.FieldError{Field: "type", Reason: "want a committee event: YearClosed, AdvancedDesignated or RequiredEventScheduled"})
			return
		}
	} else if t := l.typeOr(want); t != want {
		s.writeError(w, r, &domain.FieldError{Field: "type", Reason: "want " + want + " (or omit type)"})
		return
	}
	if want == domain.TypeRulebookPublished {
		if err := l.checkRulebook(); err != nil {
			s.writeError(w, r, err)
			return
		}
	}
	e, err := l.entry("")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if rp, ok := e.Payload.(*domain.RulebookPublished); ok {
		// A version is published once: a second publication conflicts
		// with the first (unless it is the same event, by id: idempotent).
		all, err := s.books.Rulebooks(r.Context(), rp.Year)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		for _, p := range all {
			if p.Rulebook.Version == rp.Version && !p.Builtin && (e.ID == "" || !strings.EqualFold(e.ID, p.EventID)) {
				s.writeError(w, r, errConflict("data.version", "version %q of %d is already published; a correction is a new version", rp.Version, rp.Year))
				return
			}
		}
	}
	s.record(w, r, []domain.Entry{e}, false, nil)
}

type rulebookVersion struct {
	Year       int    `json:"year"`
	Version    string `json:"version"`
	Title      string `json:"title"`
	SHA256     string `json:"sha256"`
	Reason     string `json:"reason"`
	EventID    string `json:"event_id,omitempty"`
	RecordedAt string `json:"recorded_at,omitempty"`
	RecordedBy string `json:"recorded_by,omitempty"`
	Builtin    bool   `json:"builtin"`
}

// rulebookYear reads the {year} path parameter.
func (s *Server) rulebookYear(r *http.Request) (int, error) {
	y, err := strconv.Atoi(chi.URLParam(r, "year"))
	if err != nil || y < domain.DateMin.Year || y > domain.DateMax.Year {
		return 0, errBadRequest("year", "want a year within %d..%d", domain.DateMin.Year, domain.DateMax.Year)
	}
	return y, nil
}

// handleRulebooks answers GET /v1/rulebooks/{year}: every version of the
// year's rulebook, in recorded order (the built-in one when none is).
func (s *Server) handleRulebooks(w http.ResponseWriter, r *http.Request) {
	y, err := s.rulebookYear(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	all, err := s.books.Rulebooks(r.Context(), y)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := []rulebookVersion{}
	for _, p := range all {
		v := rulebookVersion{Year: p.Rulebook.Year, Version: p.Rulebook.Version, Title: p.Rulebook.Title, SHA256: p.Rulebook.SHA256(),
			Reason: p.Reason, EventID: p.EventID, RecordedBy: p.RecordedBy, Builtin: p.Builtin}
		if !p.RecordedAt.IsZero() {
			v.RecordedAt = p.RecordedAt.UTC().Format(ledger.RecordedAtLayout)
		}
		out = append(out, v)
	}
	writeJSON(w, http.StatusOK, map[string]any{"year": y, "versions": out})
}

// handleRulebook answers GET /v1/rulebooks/{year}/{version}: the rulebook
// document.
func (s *Server) handleRulebook(w http.ResponseWriter, r *http.Request) {
	y, err := s.rulebookYear(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	rb, err := s.books.RulebookAt(r.Context(), y, s.now(), chi.URLParam(r, "version"))
	if fes := fieldErrorsOf(err); fes != nil {
		s.writeError(w, r, errNotFound("%s", fes[0].Reason))
		return
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, rb)
}

// handlePublishRulebook answers POST /v1/rulebooks: the body is a
// RulebookPublished journal line (type may be omitted).
func (s *Server) handlePublishRulebook(w http.ResponseWriter, r *http.Request) {
	s.recordUnowned(w, r, domain.TypeRulebookPublished)
}

// handleVerify answers GET /v1/verify: every hash chain recomputed (and
// the store's own checksums). A broken chain is a result (ok: false), not
// an error.
func (s *Server) handleVerify(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	rep, err := s.books.Verify(r.Context())
	body := map[string]any{"ok": err == nil, "events": rep.Events, "streams": rep.Streams,
		"last_position": rep.LastPosition, "storage_checked": rep.StorageChecked, "seconds": time.Since(start).Seconds()}
	switch {
	case err == nil:
	case ledger.IsCorrupt(err):
		body["problem"] = err.Error()
	default:
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, body)
}

// handleListTokens answers GET /v1/tokens: every token issued, with its
// role, organisation, name and revocation (never the token or its hash).
func (s *Server) handleListTokens(w http.ResponseWriter, r *http.Request) {
	list, err := s.tokens.List(r.Context())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"tokens": list})
}

type issueRequest struct {
	Role string `json:"role"`
	Org  string `json:"org"`
	Name string `json:"name"`
}

// handleIssueToken answers POST /v1/tokens {"role","org","name"}: 201 with
// the token, shown this once.
func (s *Server) handleIssueToken(w http.ResponseWriter, r *http.Request) {
	body, err := readBody(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var req issueRequest
	if err := domain.StrictUnmarshal(body, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	role, err := domain.ParseAccessRole(req.Role)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	tok, info, err := s.tokens.Issue(r.Context(), role, req.Org, req.Name, principalOf(r).RecordedBy())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, struct {
		Token string `json:"token"`
		TokenInfo
	}{tok, info})
}

// handleRevokeToken answers DELETE /v1/tokens/{tokenID}?reason=: the
// token stops working at once. Revoking twice is harmless.
func (s *Server) handleRevokeToken(w http.ResponseWriter, r *http.Request) {
	id := chi.URLParam(r, "tokenID")
	if domain.TokenIDProblem(id) != "" {
		s.writeError(w, r, errNotFound("no token %q", id))
		return
	}
	info, err := s.tokens.RevokeKeepingAdmin(r.Context(), id, r.URL.Query().Get("reason"), principalOf(r).RecordedBy())
	if errors.Is(err, ErrTokenNotFound) {
		s.writeError(w, r, errNotFound("no token %q", id))
		return
	}
	if errors.Is(err, ErrLastAdmin) {
		s.writeError(w, r, errConflict("tokenID", "%s is the last valid admin token: issue another admin token first", id))
		return
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, info)
}
