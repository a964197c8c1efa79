package api

// The work committee's pages (工委管理), for the admin role: tokens,
// rulebook versions, recomputation and official grades. Every write goes
// through the path the API uses for the same thing — Tokens.Issue and
// RevokeKeepingAdmin, the append path (books.Books.RecordAs) as the
// signed-in admin's principal, scoreboard's IssueGrades and ReviseGrades
// — so the pages can do nothing the API could not, and are judged by the
// same rules. Forms carry the session's CSRF token like every page form.

import (
	"bytes"
	"errors"
	"fmt"
	"html/template"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/go-chi/chi/v5"

	"partyledger/domain"
)

// adminPageNames are the admin pages' templates (web/admin_NAME.html),
// each parsed with the shared layout.
var adminPageNames = []string{"index", "tokens", "token_issued", "rulebooks", "rulebook_diff", "recompute", "grades",
	"grade_run", "designate", "grade_history"}

// adminTemplates parses the admin templates once, on first use.
var adminTemplates = sync.OnceValue(func() map[string]*template.Template {
	funcs := template.FuncMap{
		"tierLabel":  tierLabelOrDash,
		"tierClass":  tierClass,
		"kindLabel":  func(k domain.OrgKind) string { return k.Label() },
		"roleLabel":  func(r domain.AccessRole) string { return r.Label() },
		"pathEscape": url.PathEscape,
		"short":      shortID,
		"cstAt":      cstInstant,
		"deref":      func(t *time.Time) time.Time { return *t },
		"gradeType":  gradeTypeLabel,
		"diffArea":   func(a string) string { return diffAreaLabels[a] },
		"diffOp":     func(op string) string { return diffOpLabels[op] },
	}
	out := map[string]*template.Template{}
	for _, name := range adminPageNames {
		out[name] = template.Must(template.New("layout.html").Funcs(funcs).ParseFS(webFS, "web/layout.html", "web/admin_"+name+".html"))
	}
	return out
})

// renderAdmin writes an admin page; a template failure is an internal
// error.
func (s *Server) renderAdmin(w http.ResponseWriter, r *http.Request, status int, name string, data any) {
	var buf bytes.Buffer
	if err := adminTemplates()[name].Execute(&buf, data); err != nil {
		s.log.Error("render", "page", "admin_"+name, "request_id", requestID(r), "err", err)
		http.Error(w, "内部错误 / internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

func tierLabelOrDash(t string) string {
	if t == "" {
		return "—"
	}
	return domain.TierLabel(t)
}

// cstInstant renders an instant in China Standard Time.
func cstInstant(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.In(domain.CST).Format("2006-01-02 15:04:05")
}

func gradeTypeLabel(t string) string {
	if t == domain.TypeGradeRevised {
		return "更正"
	}
	return "评定"
}

// diffAreaLabels and diffOpLabels are the Chinese names of a rulebook
// change's area and operation (the CLI's rulebook diff uses the same).
var (
	diffAreaLabels = map[string]string{
		domain.DiffAreaDocument: "文件", domain.DiffAreaWeights: "权重", domain.DiffAreaTiers: "等次分数线",
		domain.DiffAreaDues: "党费", domain.DiffAreaSections: "部分", domain.DiffAreaItem: "项目",
		domain.DiffAreaValue: "分值", domain.DiffAreaRules: "规则", domain.DiffAreaFindings: "考核发现",
		domain.DiffAreaVetoes: "否决",
	}
	diffOpLabels = map[string]string{domain.DiffChanged: "修改", domain.DiffAdded: "新增", domain.DiffRemoved: "删除"}
)

// adminBase is what every admin page has: the layout's base and the year.
type adminBase struct {
	base
	Year  int
	Error string
}

func (s *Server) adminBase(r *http.Request, title string, year int) adminBase {
	return adminBase{base: s.base(r, title), Year: year}
}

// handleAdminIndex answers GET /ui/admin: 工委管理, the admin pages.
func (s *Server) handleAdminIndex(w http.ResponseWriter, r *http.Request) {
	year, err := queryYear(r, s.opts.Year)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	s.renderAdmin(w, r, http.StatusOK, "index", s.adminBase(r, "工委管理", year))
}

// handleUpload registers a page route whose form may be sent as
// multipart/form-data (a file upload). The guard reads the CSRF token
// with ParseForm, which leaves a multipart body unread; so a multipart
// body of a browser with a session is parsed first — bounded like every
// body — and its fields reach the guard as the form's. Authentication,
// the policy and the CSRF check stay the guard's.
func (s *Server) handleUpload(method, pattern string, h http.HandlerFunc) {
	rule := ruleFor(method, pattern)
	if rule == nil || !rule.Page {
		panic(fmt.Sprintf("api: upload route %s %s has no page policy rule", method, pattern))
	}
	guarded := s.guard(rule, h)
	s.router.Method(method, pattern, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt == "multipart/form-data" && r.Body != nil {
			c, err := r.Cookie(sessionCookie)
			if err == nil && s.sessions.get(c.Value) != nil {
				r.Body = http.MaxBytesReader(w, r.Body, s.opts.MaxBodyBytes)
				if err := r.ParseMultipartForm(s.opts.MaxBodyBytes); err != nil {
					var mbe *http.MaxBytesError
					if !errors.As(err, &mbe) {
						err = errBadRequest("", "malformed form")
					}
					s.pageError(w, r, err)
					return
				}
				defer r.MultipartForm.RemoveAll() // in memory below MaxBodyBytes: nothing to remove, but be sure
			}
		}
		guarded(w, r)
	}))
}

// ——— Tokens ———

type tokenRow struct {
	TokenInfo
	Self bool // the token this session signed in with
}

type tokensPage struct {
	adminBase
	Tokens []tokenRow
	Roles  []option
	// The create form, kept after a refusal.
	Role, Org, Name string
}

// handleAdminTokens answers GET /ui/admin/tokens: every token issued, with
// who issued it and when, revoked ones with why; a form to issue one and
// one to revoke each valid token.
func (s *Server) handleAdminTokens(w http.ResponseWriter, r *http.Request) {
	pg, err := s.tokensPage(r)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	switch q := r.URL.Query(); {
	case q.Get("revoked") != "":
		pg.Flash = "已吊销令牌 " + shortID(q.Get("revoked")) + "：使用它的会话已同时结束。"
	}
	s.renderAdmin(w, r, http.StatusOK, "tokens", pg)
}

func (s *Server) tokensPage(r *http.Request) (tokensPage, error) {
	pg := tokensPage{adminBase: s.adminBase(r, "访问令牌", s.opts.Year), Role: string(domain.AccessBranch)}
	list, err := s.tokens.List(r.Context())
	if err != nil {
		return pg, err
	}
	self := principalOf(r).TokenID
	for i := len(list) - 1; i >= 0; i-- { // newest first
		pg.Tokens = append(pg.Tokens, tokenRow{TokenInfo: list[i], Self: list[i].ID == self})
	}
	pg.roleOptions()
	return pg, nil
}

func (pg *tokensPage) roleOptions() {
	pg.Roles = nil
	for _, ro := range domain.AccessRoles {
		pg.Roles = append(pg.Roles, option{Value: string(ro), Label: ro.Label(), Selected: string(ro) == pg.Role})
	}
}

type tokenIssuedPage struct {
	adminBase
	Token string
	Info  TokenInfo
}

// handleAdminIssueToken answers POST /ui/admin/tokens (role, org, name):
// issues a token (Tokens.Issue, recorded as the signed-in admin) and shows
// it this once — on the answer to the post, never in a URL.
func (s *Server) handleAdminIssueToken(w http.ResponseWriter, r *http.Request) {
	f := r.PostForm
	role, org, name := f.Get("role"), strings.TrimSpace(f.Get("org")), strings.TrimSpace(f.Get("name"))
	ar, err := domain.ParseAccessRole(role)
	if err == nil {
		if ar != domain.AccessBranch {
			org = "" // only a branch token is bound to an organisation
		}
		var tok string
		var info TokenInfo
		tok, info, err = s.tokens.Issue(r.Context(), ar, org, name, principalOf(r).RecordedBy())
		if err == nil {
			pg := tokenIssuedPage{adminBase: s.adminBase(r, "令牌已签发", s.opts.Year), Token: tok, Info: info}
			s.renderAdmin(w, r, http.StatusOK, "token_issued", pg)
			return
		}
	}
	fes := fieldErrorsOf(err)
	if fes == nil {
		s.pageError(w, r, err)
		return
	}
	pg, perr := s.tokensPage(r)
	if perr != nil {
		s.pageError(w, r, perr)
		return
	}
	pg.Role, pg.Org, pg.Name = role, org, name
	pg.roleOptions()
	pg.Error = "未能签发令牌：" + problemsText(fes, map[string]string{"role": "角色", "org": "组织代码", "name": "持有人"})
	s.renderAdmin(w, r, http.StatusUnprocessableEntity, "tokens", pg)
}

// handleAdminRevokeToken answers POST /ui/admin/tokens/{tokenID}/revoke
// (reason): revokes the token at once (Tokens.RevokeKeepingAdmin: the last
// valid admin token is refused, as through the API).
func (s *Server) handleAdminRevokeToken(w http.ResponseWriter, r *http.Request) {
	id := chi.URLParam(r, "tokenID")
	if domain.TokenIDProblem(id) != "" {
		s.pageError(w, r, errNotFound("no token %q", id))
		return
	}
	reason := strings.TrimSpace(r.PostForm.Get("reason"))
	_, err := s.tokens.RevokeKeepingAdmin(r.Context(), id, reason, principalOf(r).RecordedBy())
	var msg string
	switch {
	case err == nil:
		http.Redirect(w, r, "/ui/admin/tokens?revoked="+url.QueryEscape(id), http.StatusSeeOther)
		return
	case errors.Is(err, ErrTokenNotFound):
		s.pageError(w, r, errNotFound("no token %q", id))
		return
	case errors.Is(err, ErrLastAdmin):
		msg = "未能吊销 " + id + "：这是最后一个有效的管理员令牌，吊销后将无人能管理本系统。请先签发另一个管理员令牌。"
	case fieldErrorsOf(err) != nil:
		msg = "未能吊销 " + id + "：" + problemsText(fieldErrorsOf(err), map[string]string{"reason": "吊销原因"})
	default:
		s.pageError(w, r, err)
		return
	}
	pg, perr := s.tokensPage(r)
	if perr != nil {
		s.pageError(w, r, perr)
		return
	}
	pg.Error = msg
	status := http.StatusUnprocessableEntity
	if errors.Is(err, ErrLastAdmin) {
		status = http.StatusConflict
	}
	s.renderAdmin(w, r, status, "tokens", pg)
}

// problemsText renders field errors in Chinese: the field's label (from
// labels, by the field's last part) and the reason as the forms translate
// it.
func problemsText(fes []*domain.FieldError, labels map[string]string) string {
	var parts []string
	for _, fe := range fes {
		f := fe.Field
		if i := strings.LastIndexByte(f, '.'); i >= 0 {
			f = f[i+1:]
		}
		label := labels[f]
		if label == "" {
			label = fe.Field
		}
		if label == "" {
			parts = append(parts, zhReason(fe.Reason))
			continue
		}
		parts = append(parts, label+"："+zhReason(fe.Reason))
	}
	return strings.Join(parts, "；")
}
