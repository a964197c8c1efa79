package api

import (
	"bytes"
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"partyledger/domain"
	"partyledger/ledger"
	"partyledger/projections"
	"partyledger/projections/scoreboard"
)

//go:embed web/*.html web/static
var webFS embed.FS

// pages holds the parsed templates: each page is the layout plus its own
// file.
type pages struct {
	t      map[string]*template.Template
	static http.Handler
}

var pageNames = []string{"login", "error", "overview", "scorecard", "journal", "record_index", "record_form", "review",
	"signin", "devices", "signin_code", "roster", "dues", "print"}

func loadPages() *pages {
	funcs := template.FuncMap{
		"tierLabel":   domain.TierLabel,
		"tierClass":   tierClass,
		"kindLabel":   func(k domain.OrgKind) string { return k.Label() },
		"roleLabel":   func(r domain.AccessRole) string { return r.Label() },
		"typeLabel":   domain.TypeLabel,
		"short":       shortID,
		"cst":         cstTime,
		"add":         func(a, b int) int { return a + b },
		"pathEscape":  url.PathEscape,
		"yuan":        domain.Yuan,
		"sessionTime": sessionTimeText,
		"recorder":    recorderLabel,
		"vetoShort":   vetoShort,
	}
	p := &pages{t: map[string]*template.Template{}}
	for _, name := range pageNames {
		p.t[name] = template.Must(template.New("layout.html").Funcs(funcs).ParseFS(webFS, "web/layout.html", "web/"+name+".html"))
	}
	sub, err := fs.Sub(webFS, "web/static")
	if err != nil {
		panic(err)
	}
	p.static = http.StripPrefix("/static/", http.FileServer(http.FS(sub)))
	return p
}

func tierClass(t string) string {
	switch t {
	case domain.TierAdvanced:
		return "tier-advanced"
	case domain.TierCompliant:
		return "tier-compliant"
	case domain.TierNonCompliant:
		return "tier-noncompliant"
	}
	return "tier-none"
}

func shortID(id string) string {
	if len(id) > 8 {
		return id[:8]
	}
	return id
}

// cstTime renders a recorded_at in China Standard Time.
func cstTime(s string) string {
	t, err := time.Parse(ledger.RecordedAtLayout, s)
	if err != nil {
		return s
	}
	return t.In(domain.CST).Format("2006-01-02 15:04:05")
}

// base is what every page's layout needs.
type base struct {
	Title     string
	P         *Principal
	CSRF      string
	Home      string
	ShowAll   bool // the role may see the overview
	Review    bool // the role may review (网上考核)
	OrgCode   string
	CanRecord bool
	Flash     string
	FlashLink string // where the flash's subject is shown (在台账中查看)
}

func (s *Server) base(r *http.Request, title string) base {
	b := base{Title: title, Home: "/"}
	if p := principalOf(r); p.TokenID != "" {
		b.P = &p
		b.ShowAll = ruleFor("GET", "/ui/overview").For(p.Role) != Deny
		b.Review = ruleFor("GET", "/ui/review").For(p.Role) != Deny
		if p.Role == domain.AccessBranch {
			b.OrgCode = p.Org
		}
	}
	if sess := sessionOf(r); sess != nil {
		b.CSRF = sess.csrf
	}
	return b
}

// formPages are the pages that carry an event id.
var formPages = map[string]bool{"record_form": true, "dues": true}

// render writes a page; a template failure is an internal error.
func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, name string, data any) {
	var buf bytes.Buffer
	if err := s.pages.t[name].Execute(&buf, data); err != nil {
		s.log.Error("render", "page", name, "request_id", requestID(r), "err", err)
		http.Error(w, "内部错误 / internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if formPages[name] {
		// A form may be kept for the back button (private, revalidated on
		// every new visit): going back shows the same form with the same
		// event id, so sending it again records nothing. no-store would
		// make the browser fetch a new form, with a new id.
		w.Header().Set("Cache-Control", "private, no-cache")
	} else {
		w.Header().Set("Cache-Control", "no-store")
	}
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

type errorPage struct {
	base
	Status  int
	Message string
}

// pageError renders an error as a page, with the status classify gives.
func (s *Server) pageError(w http.ResponseWriter, r *http.Request, err error) {
	status, body, internal := classify(err)
	msg := map[int]string{
		http.StatusBadRequest:            "请求有误。",
		http.StatusUnauthorized:          "请先登录。",
		http.StatusForbidden:             "无权访问：您的角色不能查看或办理此项。",
		http.StatusNotFound:              "找不到该页面或组织。",
		http.StatusMethodNotAllowed:      "不支持该操作。",
		http.StatusConflict:              "与已有记录冲突，请刷新后重试。",
		http.StatusRequestEntityTooLarge: "提交的内容过大。",
		http.StatusUnprocessableEntity:   "提交的内容有误。",
		http.StatusTooManyRequests:       "请求过于频繁，请稍后再试。",
	}[status]
	if body.Code == codeCSRF {
		msg = "表单已失效（缺少或错误的防伪令牌），请刷新页面后重试。"
	}
	if errors.Is(err, projections.ErrNotFounded) {
		msg = "该组织在所选日期尚未成立，不评分。" + body.Message
	}
	if internal {
		s.log.Error("page failed", "request_id", requestID(r), "path", r.URL.Path, "err", err)
		msg = "内部错误，已记录（请求编号 " + requestID(r) + "）。"
	}
	if principalOf(r).TokenID == "" && status != http.StatusUnauthorized {
		// Refused before the guard let the request in (another
		// organisation's page, an unknown page): the page keeps the
		// navigation of whoever is signed in.
		if p, sess, err := s.sessionPrincipal(r); err == nil {
			ctx := context.WithValue(r.Context(), keyPrincipal, p)
			r = r.WithContext(context.WithValue(ctx, keySession, sess))
		}
	}
	if msg == "" {
		msg = "出错了。"
	}
	var se *statusError
	if errors.As(err, &se) && se.retry > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(se.retry))
	}
	s.render(w, r, status, "error", errorPage{base: s.base(r, "出错了"), Status: status, Message: msg})
}

// handleStatic answers GET /static/*: the embedded stylesheet.
func (s *Server) handleStatic(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "public, max-age=3600")
	s.pages.static.ServeHTTP(w, r)
}

type loginPage struct {
	base
	Next  string
	Error string
	Login string // double-submit CSRF token
}

// handleLoginPage answers GET /login: the sign-in form.
func (s *Server) handleLoginPage(w http.ResponseWriter, r *http.Request) {
	tok := randomToken()
	s.setCookie(w, loginCookie, tok, 3600)
	s.render(w, r, http.StatusOK, "login", loginPage{base: s.base(r, "登录"), Next: safeNext(r.URL.Query().Get("next")), Login: tok})
}

// handleLogin answers POST /login: checks the form's double-submit token
// against its cookie, then the API token (failures are rate-limited per
// client IP; a valid token is never refused for them), and starts a
// session: an HttpOnly, SameSite=Strict cookie (Secure with
// Options.SecureCookies).
func (s *Server) handleLogin(w http.ResponseWriter, r *http.Request) {
	ip := s.clientIP(r)
	blocked, retry := s.authFail.blocked(ip)
	if err := r.ParseForm(); err != nil {
		s.pageError(w, r, errBadRequest("", "malformed form"))
		return
	}
	c, err := r.Cookie(loginCookie)
	if err != nil || c.Value == "" || !constantEqual(c.Value, r.PostFormValue("login")) {
		s.pageError(w, r, &statusError{status: http.StatusForbidden, code: codeCSRF, msg: "login form expired"})
		return
	}
	next := safeNext(r.PostFormValue("next"))
	// A valid token signs in even from an address over its failure
	// limit (others behind the same address must not lock it out); a
	// failure from there is answered 429.
	p, err := s.tokens.authenticate(r.Context(), strings.TrimSpace(r.PostFormValue("token")), !blocked)
	if err != nil {
		if !errors.Is(err, ErrBadToken) {
			s.pageError(w, r, err)
			return
		}
		if blocked {
			s.pageError(w, r, errRateLimited(retry))
			return
		}
		s.authFail.allow(ip)
		tok := randomToken()
		s.setCookie(w, loginCookie, tok, 3600)
		s.render(w, r, http.StatusUnauthorized, "login", loginPage{base: s.base(r, "登录"), Next: next, Login: tok,
			Error: "令牌无效或已吊销，请检查后重试。"})
		return
	}
	id, _ := s.sessions.create(p.TokenID)
	s.setCookie(w, sessionCookie, id, int(s.opts.SessionTTL.Seconds()))
	s.setCookie(w, loginCookie, "", -1)
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// handleLogout answers POST /logout: ends the session.
func (s *Server) handleLogout(w http.ResponseWriter, r *http.Request) {
	if sess := sessionOf(r); sess != nil && sess.device != "" {
		// Signing out of a phone ends its device session for good.
		if _, err := s.tokens.RevokeDeviceSession(r.Context(), sess.device, "", "退出登录", principalOf(r).RecordedBy()); err != nil {
			s.pageError(w, r, err)
			return
		}
	}
	if c, err := r.Cookie(sessionCookie); err == nil {
		s.sessions.delete(c.Value)
	}
	s.clearSessionCookie(w)
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

// handleHome answers GET /: a branch goes to its own scorecard, everyone
// else to the overview.
func (s *Server) handleHome(w http.ResponseWriter, r *http.Request) {
	p := principalOf(r)
	if p.Role == domain.AccessBranch {
		http.Redirect(w, r, "/ui/orgs/"+url.PathEscape(p.Org), http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, "/ui/overview", http.StatusSeeOther)
}

type overviewRow struct {
	Rank  int
	Card  *scoreboard.Row
	Group string
}

type option struct {
	Value, Label string
	Selected     bool
}

type overviewPage struct {
	base
	Year   int
	Rows   []overviewRow
	Kinds  []option
	Tiers  []option
	Counts []option // tier label → count (Value holds the count)
	Total  int
	Under  string // whose ranking: "" the top level, a code its subtree, "*" all
	AsOf   domain.Date
}

// handleOverviewPage answers GET /ui/overview?year=&kind=&tier=: 总览,
// every organisation with its final score, tier and vetoes.
func (s *Server) handleOverviewPage(w http.ResponseWriter, r *http.Request) {
	year, err := queryYear(r, s.opts.Year)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	kind, tier := r.URL.Query().Get("kind"), r.URL.Query().Get("tier")
	under, err := queryUnder(r)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	q := s.scoredAsOf(scoreboard.Query{Year: year, Under: under})
	rk, err := s.board.Rank(r.Context(), q)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	cards := rk.Rows
	pg := overviewPage{base: s.base(r, fmt.Sprintf("%d 年度总览", year)), Year: year, Total: len(cards), Under: under, AsOf: q.AsOf}
	pg.Kinds = append(pg.Kinds, option{Value: "", Label: "全部类型", Selected: kind == ""})
	for _, k := range domain.OrgKinds {
		pg.Kinds = append(pg.Kinds, option{Value: string(k), Label: k.Label(), Selected: kind == string(k)})
	}
	pg.Tiers = append(pg.Tiers, option{Value: "", Label: "全部等次", Selected: tier == ""})
	counts := map[string]int{}
	for _, t := range []string{domain.TierAdvanced, domain.TierCompliant, domain.TierNonCompliant} {
		pg.Tiers = append(pg.Tiers, option{Value: t, Label: domain.TierLabel(t), Selected: tier == t})
	}
	for i := range cards {
		sc := &cards[i]
		counts[sc.Tier]++
		if (kind != "" && string(sc.Kind) != kind) || (tier != "" && sc.Tier != tier) {
			continue
		}
		g := "—"
		if sc.Group != nil {
			g = sc.Group.String()
		}
		pg.Rows = append(pg.Rows, overviewRow{Rank: i + 1, Card: sc, Group: g})
	}
	for _, t := range []string{domain.TierAdvanced, domain.TierCompliant, domain.TierNonCompliant} {
		pg.Counts = append(pg.Counts, option{Value: strconv.Itoa(counts[t]), Label: t})
	}
	s.render(w, r, http.StatusOK, "overview", pg)
}

type sectionView struct {
	Code, Title  string
	Value, Score domain.Points
	Items        []projections.Item
}

type scorecardPage struct {
	base
	Org      *domain.OrgState
	Card     *projections.Scorecard
	Group    string
	Sections []sectionView
	Chart    *chart
	Missing  []projections.Gap
	MissAsOf domain.Date
	YearOver bool // D is the year's last day: every period has closed
	Year     int
	AsOf     string
	KnownOn  string
	Journal  string // the journal page URL of the same year and known_on
	Late     map[string]bool
	// Todo is what the organisation has to do today (its home page);
	// nil when the page shows another date or a past knowledge.
	Todo *todoCard
	// Arrears: who has not paid dues in full for which month.
	Arrears    []arrearRow
	NoRulebook bool // the year has no rulebook: no scorecard, the journal and the to-do only
	Print      string
	Roster     string
}

// arrearRow is one member's unpaid months.
type arrearRow struct {
	id     string
	Name   string
	Months string // "2016-03（应交 15.00 元，已交 0.00 元）、…"
}

// handleScorecardPage answers GET /ui/orgs/{code}?year=&as_of=&known_on=:
// the scorecard page — what is due today (待办), sections and items with
// every deduction and the events behind it, who owes dues for which
// month, the score at each month's end, and what is missing in the open
// month and quarter. A year without a rulebook shows the to-do and a way
// to its journal instead of a scorecard.
func (s *Server) handleScorecardPage(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	code := chi.URLParam(r, "code")
	st, err := s.org(ctx, code)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	q, knownOn, err := s.pageQuery(r)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	pg := scorecardPage{base: s.base(r, st.Name+" 评分卡"), Org: st, Group: "未录入", Year: q.Year, KnownOn: knownOn}
	pg.OrgCode = code
	pg.CanRecord = ruleFor("GET", "/ui/orgs/{code}/record").For(principalOf(r).Role) != Deny
	if q.AsOf.Year != 0 {
		pg.AsOf = q.AsOf.String()
	}
	pg.Flash, pg.FlashLink = recordedFlash(st, r.URL.Query())
	esc := url.PathEscape(code)
	pg.Journal = fmt.Sprintf("/ui/orgs/%s/journal?year=%d", esc, q.Year)
	pg.Print = fmt.Sprintf("/ui/orgs/%s/print?year=%d", esc, q.Year)
	pg.Roster = "/ui/orgs/" + esc + "/roster"
	if knownOn != "" {
		pg.Journal += "&known_on=" + knownOn
	}
	if knownOn == "" && pg.AsOf == "" {
		// The 待办 is the day's: without a rulebook to guide it, or before
		// the organisation was founded, there is none.
		pg.Todo, err = s.todoCard(ctx, r, code)
		if err != nil && fieldErrorsOf(err) == nil && !errors.Is(err, projections.ErrNotFounded) {
			s.pageError(w, r, err)
			return
		}
	}
	q = s.scoredAsOf(q)
	sc, err := s.board.Score(ctx, code, q)
	if isNoRulebook(err) {
		pg.NoRulebook = true
		s.render(w, r, http.StatusOK, "scorecard", pg)
		return
	}
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	pg.Card = sc
	if sc.Group != nil {
		pg.Group = sc.Group.String()
	}
	if err := s.scorecardDetails(ctx, code, q, &pg); err != nil {
		s.pageError(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "scorecard", pg)
}

// isNoRulebook reports the error of a year without a rulebook.
func isNoRulebook(err error) bool {
	var fe *domain.FieldError
	return errors.As(err, &fe) && fe.Field == "year" && strings.HasPrefix(fe.Reason, "no rulebook")
}

// scorecardDetails fills the sections, the chart, what is missing and
// the dues arrears of a scorecard page.
func (s *Server) scorecardDetails(ctx context.Context, code string, q scoreboard.Query, pg *scorecardPage) error {
	sc := pg.Card
	rb, err := s.books.RulebookAt(ctx, q.Year, time.Time{}, sc.Rulebook.Version)
	if err != nil {
		return err
	}
	for _, sec := range rb.Sections {
		sv := sectionView{Code: sec.Code, Title: sec.Title}
		for _, it := range sc.Items {
			if it.Section == sec.Code {
				sv.Items = append(sv.Items, it)
				sv.Value += it.Value
				sv.Score += it.Score
			}
		}
		if len(sv.Items) > 0 {
			pg.Sections = append(pg.Sections, sv)
		}
	}
	pts, err := s.timeline(ctx, code, q)
	if err != nil {
		return err
	}
	pg.Chart = newChart(pts, rb)
	if pg.Missing, pg.MissAsOf, err = s.missing(ctx, code, q); err != nil {
		return err
	}
	pg.YearOver = pg.MissAsOf == domain.YearEnd(q.Year)
	pg.Late = map[string]bool{}
	for _, l := range sc.Late {
		pg.Late[l.EventID] = true
	}
	aq := q
	aq.AsOf = sc.AsOf
	ars, err := s.board.DuesArrears(ctx, code, aq)
	if err != nil {
		return err
	}
	pg.Arrears = arrearRows(ars)
	return nil
}

// arrearRows groups arrears by member.
func arrearRows(ars []projections.DuesArrear) []arrearRow {
	var out []arrearRow
	for _, a := range ars {
		m := fmt.Sprintf("%s（应交 %s，已交 %s）", a.Month, domain.Yuan(a.DueFen), domain.Yuan(a.PaidFen))
		if n := len(out); n > 0 && out[n-1].id == a.MemberID {
			out[n-1].Months += "、" + m
			continue
		}
		out = append(out, arrearRow{id: a.MemberID, Name: a.Name, Months: m})
	}
	return out
}

// scoredAsOf is the date a page scores at when it names none: today
// within the year (a branch in September is not judged on December),
// else the year's last day; a page as known on a past day keeps the
// year's end.
func (s *Server) scoredAsOf(q scoreboard.Query) scoreboard.Query {
	if q.AsOf.IsZero() && q.KnownAt.IsZero() {
		q.AsOf = s.asOfFor(q.Year)
	}
	return q
}

// pageQuery reads year, as_of and known_on (a date: as known at the end
// of that day) of a page.
func (s *Server) pageQuery(r *http.Request) (scoreboard.Query, string, error) {
	var q scoreboard.Query
	var err error
	if q.Year, err = queryYear(r, s.opts.Year); err != nil {
		return q, "", err
	}
	if q.AsOf, err = queryDate(r, "as_of"); err != nil {
		return q, "", err
	}
	kd, err := queryDate(r, "known_on")
	if err != nil {
		return q, "", err
	}
	if kd.IsZero() {
		return q, "", nil
	}
	q.KnownAt = kd.End().Add(-time.Microsecond)
	return q, kd.String(), nil
}

type journalRow struct {
	journalEvent
	Summary    string
	Target     string // a retraction's or rejection's target event id
	Recorder   string
	CanRetract bool // the viewer may retract it (a link to the form)
	CanReject  bool // the viewer may reject it (退回: a link to the form)
}

type journalPage struct {
	base
	Org       *domain.OrgState
	Year      int
	KnownOn   string
	Rows      []journalRow
	Truncated bool
	Scorecard string
	// Filters: type, month of occurred_on (YYYY-MM), text in the content.
	Type, Month, Query string
	Types              []option
	Total              int // rows before filtering
	Filtered           bool
	Print, XLSX        string
}

// journalPageLimit bounds the rows of one journal page.
const journalPageLimit = 5000

// handleJournalPage answers GET /ui/orgs/{code}/journal?year=&known_on=&type=&month=&q=:
// 台账 — the year in recorded order, who recorded what when, retractions
// with their reasons, as it was known at the end of known_on; filtered
// by type, by the month it occurred in, and by words of its content.
func (s *Server) handleJournalPage(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	code := chi.URLParam(r, "code")
	st, err := s.org(ctx, code)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	q, knownOn, err := s.pageQuery(r)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	f := r.URL.Query()
	pg := journalPage{base: s.base(r, st.Name+" 台账"), Org: st, Year: q.Year, KnownOn: knownOn,
		Type: f.Get("type"), Month: f.Get("month"), Query: strings.TrimSpace(f.Get("q"))}
	if err := pg.checkFilters(); err != nil {
		s.pageError(w, r, err)
		return
	}
	p := principalOf(r)
	evs, more, err := s.journal(ctx, st, journalQuery{year: q.Year, after: -1, limit: journalPageLimit, knownAt: q.KnownAt,
		incomes: mayReadIncomes(p, code)})
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	pg.Truncated = more
	pg.OrgCode = code
	pg.CanRecord = ruleFor("GET", "/ui/orgs/{code}/record").For(p.Role) != Deny
	esc := url.PathEscape(code)
	pg.Scorecard = fmt.Sprintf("/ui/orgs/%s?year=%d", esc, q.Year)
	pg.Print = fmt.Sprintf("/ui/orgs/%s/print?year=%d", esc, q.Year)
	pg.XLSX = fmt.Sprintf("/ui/orgs/%s/xlsx?year=%d", esc, q.Year)
	if knownOn != "" {
		pg.Scorecard += "&known_on=" + knownOn
	}
	pg.Flash, _ = recordedFlash(st, f)
	sched, err := s.books.Schedule(ctx)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	gov := &domain.GovEnv{Committee: sched}
	types := map[string]bool{}
	for _, ev := range evs {
		types[ev.Type] = true
		row := journalRow{journalEvent: ev, Summary: summarizeLine(ev, st), Recorder: recorderLabel(ev.RecordedBy)}
		if !pg.keep(&row) {
			continue
		}
		if ev.Type == domain.TypeEventRetracted || ev.Type == domain.TypeEventRejected {
			row.Target = strings.ToLower(rawLine{"data": ev.Data}.dataStr("event_id"))
		}
		if pg.CanRecord && knownOn == "" && ev.Retracted == nil && ev.Type != domain.TypeEventRetracted &&
			ev.Type != domain.TypeOrganizationRegistered && ev.Type != domain.TypeGradeIssued && ev.Type != domain.TypeGradeRevised {
			// The link is offered exactly when the append path would take
			// the retraction (the same rule, on the same state).
			e := domain.Entry{Org: code, Type: domain.TypeEventRetracted, OccurredOn: domain.DateOf(s.now()),
				Payload: &domain.EventRetracted{EventID: ev.ID, Reason: "-"}}
			row.CanRetract = st.CheckGovernance(p, &e, gov) == nil
			e = domain.Entry{Org: code, Type: domain.TypeEventRejected, OccurredOn: domain.DateOf(s.now()),
				Payload: &domain.EventRejected{EventID: ev.ID, Reason: "-"}}
			row.CanReject = ev.Rejected == nil && st.CheckGovernance(p, &e, gov) == nil
		}
		pg.Rows = append(pg.Rows, row)
	}
	pg.Total = len(evs)
	pg.setTypes(types)
	s.render(w, r, http.StatusOK, "journal", pg)
}

// setTypes offers the types the year's journal holds as its type filter.
func (pg *journalPage) setTypes(types map[string]bool) {
	pg.Filtered = pg.Type != "" || pg.Month != "" || pg.Query != ""
	pg.Types = append(pg.Types, option{Value: "", Label: "全部类型", Selected: pg.Type == ""})
	for _, t := range catalogOrder {
		if types[t] || t == pg.Type {
			pg.Types = append(pg.Types, option{Value: t, Label: domain.TypeLabel(t), Selected: t == pg.Type})
		}
	}
}

// checkFilters refuses a month that is not one and a search too long.
func (pg *journalPage) checkFilters() error {
	if pg.Month != "" {
		if _, err := domain.ParseMonth(pg.Month); err != nil {
			return errBadRequest("month", "want YYYY-MM")
		}
	}
	if len([]rune(pg.Query)) > 100 {
		return errBadRequest("q", "too long")
	}
	return nil
}

// keep reports whether a row passes the page's filters.
func (pg *journalPage) keep(row *journalRow) bool {
	if pg.Type != "" && row.Type != pg.Type {
		return false
	}
	if pg.Month != "" && !strings.HasPrefix(row.OccurredOn, pg.Month+"-") {
		return false
	}
	if pg.Query != "" {
		hay := row.Summary + " " + row.TypeLabel + " " + row.Recorder
		for _, w := range strings.Fields(pg.Query) {
			if !strings.Contains(hay, w) {
				return false
			}
		}
	}
	return true
}

// chart is the inline SVG of the score at each month's end.
type chart struct {
	W, H       int
	Points     string // polyline
	Dots       []chartDot
	XLabels    []chartLabel
	YLabels    []chartLabel
	Thresholds []chartLine
	Empty      bool
}

type chartDot struct {
	X, Y  int
	Class string
	Title string
}

type chartLabel struct {
	X, Y int
	Text string
}

type chartLine struct {
	X1, X2, Y int
	LX        int // where the label starts, right of the plot
	Label     string
	Class     string
}

const (
	chartW, chartH            = 640, 240
	chartLeft, chartRight     = 44, 72
	chartTop, chartBottom     = 16, 32
	chartMinScore, chartRange = 0, 100
)

func newChart(pts []TimelinePoint, rb *domain.Rulebook) *chart {
	c := &chart{W: chartW, H: chartH, Empty: len(pts) == 0}
	plotW := chartW - chartLeft - chartRight
	plotH := chartH - chartTop - chartBottom
	x := func(month int) int { return chartLeft + (month-1)*plotW/11 }
	y := func(p domain.Points) int {
		v := float64(p)/100 - chartMinScore
		return chartTop + plotH - int(v*float64(plotH)/chartRange+0.5)
	}
	for m := 1; m <= 12; m++ {
		c.XLabels = append(c.XLabels, chartLabel{X: x(m), Y: chartH - 10, Text: strconv.Itoa(m) + "月"})
	}
	for v := 0; v <= 100; v += 20 {
		c.YLabels = append(c.YLabels, chartLabel{X: chartLeft - 6, Y: y(domain.PointsOf(int64(v))) + 4, Text: strconv.Itoa(v)})
	}
	for _, t := range rb.Tiers {
		if t.Min > 0 {
			c.Thresholds = append(c.Thresholds, chartLine{X1: chartLeft, X2: chartW - chartRight, Y: y(t.Min), LX: chartW - chartRight + 6,
				Label: domain.TierLabel(t.Tier) + " " + t.Min.String(), Class: tierClass(t.Tier)})
		}
	}
	var poly []string
	for _, p := range pts {
		// By the point's own month: an organisation founded mid-year has
		// none for the months before.
		px, py := x(int(p.AsOf.Month)), y(p.Final)
		poly = append(poly, fmt.Sprintf("%d,%d", px, py))
		c.Dots = append(c.Dots, chartDot{X: px, Y: py, Class: tierClass(p.Tier),
			Title: fmt.Sprintf("%s 月末：%s 分（%s）", p.Month, p.Final, domain.TierLabel(p.Tier))})
	}
	c.Points = strings.Join(poly, " ")
	return c
}

// summarize renders an event's data in a line of Chinese
// (domain.Summary, the exports' content column), members by name.
func summarize(typ string, data []byte, st *domain.OrgState) string {
	return domain.Summary(typ, data, func(id string) string {
		if m := st.Members[id]; m != nil {
			return m.Name
		}
		return ""
	})
}

// summarizeLine is summarize for a journal row: with the member's income
// when the line still carries it (its reader may see incomes: the
// organisation itself and the admin; others get the line redacted).
func summarizeLine(ev journalEvent, st *domain.OrgState) string {
	out := summarize(ev.Type, ev.Data, st)
	if incomeTypes[ev.Type] {
		var d struct {
			Income *domain.Fen `json:"monthly_income_fen"`
		}
		if json.Unmarshal(ev.Data, &d) == nil && d.Income != nil {
			out += "；月收入 " + domain.Yuan(*d.Income)
		}
	}
	return out
}

// vetoShort is a veto's rule without the list of what fired it (the
// scorecard lists that): the reason up to its first colon.
func vetoShort(reason string) string {
	if i := strings.Index(reason, "："); i > 0 {
		return reason[:i]
	}
	return reason
}

// recordedByRE reads domain.Principal.RecordedBy: "name (role token_id)".
var recordedByRE = regexp.MustCompile(`^(.*) \((branch|assessor|auditor|admin)(?: [0-9a-f]{8,32})?\)$`)

// recorderLabel shows who recorded an event in Chinese: the name and the
// role's label; a bare name is the command line's (the work committee).
func recorderLabel(by string) string {
	if m := recordedByRE.FindStringSubmatch(by); m != nil {
		return m[1] + "（" + domain.AccessRole(m[2]).Label() + "）"
	}
	for _, r := range by {
		if r >= 0x80 {
			return by + "（工委）"
		}
	}
	return "工委（命令行导入）"
}

func constantEqual(a, b string) bool {
	return len(a) == len(b) && subtleEq(a, b)
}
