package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"partyledger/domain"
	"partyledger/ledger/books"
	"partyledger/projections"
	"partyledger/projections/scoreboard"
)

// ——— Rulebook versions ———

type rulebookRow struct {
	Version, Title, SHA256 string
	Reason, RecordedBy     string
	RecordedAt             time.Time
	Builtin, InForce       bool
	Previous               string // the version before it, for a diff link
}

type rulebooksPage struct {
	adminBase
	Versions []rulebookRow
	Options  []string // versions, for the diff pickers
	From, To string   // the diff pickers' choice
	// The publish form, kept after a refusal.
	Reason, Document, FileName string
	Problems                   []rulebookProblemView
}

// rulebookProblemView is one problem of a refused rulebook file.
type rulebookProblemView struct {
	Line, Col int
	Field     string
	Reason    string
}

// handleAdminRulebooks answers GET /ui/admin/rulebooks?year=: the year's
// rulebook versions in recorded order (who published each, when, why),
// links to download each and to compare it with the one before, and the
// form that publishes a corrected version from a file.
func (s *Server) handleAdminRulebooks(w http.ResponseWriter, r *http.Request) {
	year, err := queryYear(r, s.opts.Year)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	pg, err := s.rulebooksPage(r, year)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	if v := r.URL.Query().Get("published"); v != "" {
		pg.Flash = "已发布细则 " + v + "：知悉时点在此之后的评分均采用此版本。可在下方比较，或重新计算看谁的等次变化。"
	}
	s.renderAdmin(w, r, http.StatusOK, "rulebooks", pg)
}

func (s *Server) rulebooksPage(r *http.Request, year int) (rulebooksPage, error) {
	pg := rulebooksPage{adminBase: s.adminBase(r, fmt.Sprintf("%d 年度细则版本", year), year)}
	all, err := s.books.Rulebooks(r.Context(), year)
	if err != nil {
		return pg, err
	}
	for i, p := range all {
		row := rulebookRow{Version: p.Rulebook.Version, Title: p.Rulebook.Title, SHA256: p.Rulebook.SHA256(), Reason: p.Reason,
			RecordedBy: p.RecordedBy, RecordedAt: p.RecordedAt, Builtin: p.Builtin, InForce: i == len(all)-1}
		if i > 0 {
			row.Previous = all[i-1].Rulebook.Version
		}
		pg.Versions = append(pg.Versions, row)
		pg.Options = append(pg.Options, p.Rulebook.Version)
	}
	if n := len(pg.Options); n > 0 {
		pg.From, pg.To = pg.Options[max(0, n-2)], pg.Options[n-1]
	}
	return pg, nil
}

// rulebookUpload reads the document of the publish form: the uploaded
// file (field file), or else the pasted text (field document).
func rulebookUpload(r *http.Request) (name string, src []byte, err error) {
	if r.MultipartForm != nil {
		if fhs := r.MultipartForm.File["file"]; len(fhs) > 0 && fhs[0].Size > 0 {
			f, err := fhs[0].Open()
			if err != nil {
				return "", nil, err
			}
			defer f.Close() // read only
			src, err = io.ReadAll(io.LimitReader(f, domain.MaxRulebookBytes+1))
			return fhs[0].Filename, src, err
		}
	}
	return "", []byte(r.PostForm.Get("document")), nil
}

// handleAdminPublishRulebook answers POST /ui/admin/rulebooks (a file
// upload, or pasted text; reason): the document is read with
// domain.ParseRulebookFile, the parser the CLI's rulebook publish and POST
// /v1/rulebooks use — every problem is shown with its line (and column),
// and nothing is published — and a valid one is recorded as a
// RulebookPublished through the append path, as the signed-in admin. It is
// in force for every known_at from then on.
func (s *Server) handleAdminPublishRulebook(w http.ResponseWriter, r *http.Request) {
	name, src, err := rulebookUpload(r)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	reason := strings.TrimSpace(r.PostForm.Get("reason"))
	year, _ := strconv.Atoi(r.PostForm.Get("year"))
	if year < domain.DateMin.Year || year > domain.DateMax.Year {
		year = s.opts.Year
	}
	refuse := func(status int, msg string, problems []rulebookProblemView) {
		pg, perr := s.rulebooksPage(r, year)
		if perr != nil {
			s.pageError(w, r, perr)
			return
		}
		pg.Error, pg.Problems, pg.Reason, pg.FileName = msg, problems, reason, name
		if name == "" && len(src) <= 64<<10 {
			pg.Document = string(src) // pasted: keep it to correct
		}
		s.renderAdmin(w, r, status, "rulebooks", pg)
	}
	if len(bytes.TrimSpace(src)) == 0 {
		refuse(http.StatusUnprocessableEntity, "请选择细则文件（JSON），或粘贴其内容。", nil)
		return
	}
	rb, err := domain.ParseRulebookFile(src)
	var fe *domain.RulebookFileError
	if errors.As(err, &fe) {
		var problems []rulebookProblemView
		for _, p := range fe.Problems {
			problems = append(problems, rulebookProblemView{Line: p.Line, Col: p.Col, Field: p.Field, Reason: zhRulebookReason(p.Reason)})
		}
		what := "文件"
		if name != "" {
			what = "文件 " + name
		}
		refuse(http.StatusUnprocessableEntity, fmt.Sprintf("%s有 %d 处问题，细则未发布。请按行号改正后重新上传。", what, len(problems)), problems)
		return
	}
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	e := domain.Entry{Type: domain.TypeRulebookPublished, OccurredOn: domain.DateOf(s.now()),
		Payload: &domain.RulebookPublished{Year: rb.Year, Version: rb.Version, Reason: reason, Rulebook: rb}}
	if err := e.Payload.Validate(); err != nil {
		refuse(http.StatusUnprocessableEntity, "细则未发布："+problemsText(domain.FieldErrors(err), map[string]string{"reason": "发布原因", "version": "版本号"}), nil)
		return
	}
	_, err = s.appendTimed(r.Context(), []domain.Entry{e}, principalOf(r), books.RecordOptions{})
	var ee *books.EntryError
	if errors.As(err, &ee) {
		err = ee.Err
	}
	switch fes := fieldErrorsOf(err); {
	case err == nil:
		http.Redirect(w, r, fmt.Sprintf("/ui/admin/rulebooks?year=%d&published=%s", rb.Year, url.QueryEscape(rb.Version)), http.StatusSeeOther)
	case errors.Is(err, domain.ErrForbidden):
		s.pageError(w, r, err)
	case len(fes) == 1 && strings.Contains(fes[0].Reason, "already published"):
		refuse(http.StatusConflict, fmt.Sprintf("细则未发布：%d 年度已有版本 %s。更正须使用新的版本号（修改文件中的 \"version\"）。", rb.Year, rb.Version), nil)
	case fes != nil:
		refuse(http.StatusUnprocessableEntity, "细则未发布："+problemsText(fes, map[string]string{"reason": "发布原因", "version": "版本号"}), nil)
	default:
		s.pageError(w, r, err)
	}
}

// zhRulebookReasons translates the rulebook parser's reasons that are
// about the file's form; what validation finds is shown as it says it.
var zhRulebookReasons = []struct {
	re *regexp.Regexp
	zh string
}{
	{regexp.MustCompile(`^unknown field \(fields here: (.*)\)$`), "未知字段（此处可用的字段：$1）"},
	{regexp.MustCompile(`^want (.*), not (.*)$`), "类型不符：应为 $1，实为 $2"},
	{regexp.MustCompile(`^malformed JSON: (.*)$`), "JSON 格式错误：$1"},
	{regexp.MustCompile(`^invalid UTF-8$`), "不是有效的 UTF-8 编码"},
	{regexp.MustCompile(`^larger than (\d+) bytes$`), "文件超过 $1 字节"},
	{regexp.MustCompile(`^unexpected data after the rulebook$`), "细则之后还有多余的内容"},
	{regexp.MustCompile(`^required$`), "必填"},
	{regexp.MustCompile(`^is (\S+) but the items add up to (\S+)$`), "为 $1，但各项分值合计为 $2"},
}

func zhRulebookReason(reason string) string {
	for _, z := range zhRulebookReasons {
		if z.re.MatchString(reason) {
			return z.re.ReplaceAllString(reason, z.zh)
		}
	}
	return reason
}

// rulebookDoc encodes a rulebook in the field order of its types: the
// reading order of the shipped file, the form the publish form takes.
type rulebookDoc domain.Rulebook

// handleAdminRulebookFile answers GET /ui/admin/rulebooks/{year}/{version}:
// the version as a JSON file to download, edit and publish as a new one.
func (s *Server) handleAdminRulebookFile(w http.ResponseWriter, r *http.Request) {
	year, err := s.rulebookYear(r)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	version := chi.URLParam(r, "version")
	rb, err := s.books.RulebookAt(r.Context(), year, time.Time{}, version)
	if fes := fieldErrorsOf(err); fes != nil {
		s.pageError(w, r, errNotFound("%s", fes[0].Reason))
		return
	}
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode((*rulebookDoc)(rb)); err != nil {
		s.pageError(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="rulebook-%s.json"`, safeFileName(rb.Version)))
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(buf.Bytes())
}

// safeFileName keeps letters, digits, dots, dashes and underscores.
func safeFileName(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '.' || r == '-' || r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' {
			return r
		}
		return '_'
	}, s)
}

// diffRow is one change of a rulebook diff, its two values side by side.
type diffRow struct {
	domain.RulebookChange
	Where    string // the path within the item ("" for the whole item)
	From, To string // the values, indented JSON ("" when absent)
}

// diffGroup is the changes of one item (or of the document's frame).
type diffGroup struct {
	Item, Title string
	Rows        []diffRow
}

type rulebookDiffPage struct {
	adminBase
	Options  []string
	From, To string
	Diff     *domain.RulebookDiff
	Groups   []diffGroup
}

// handleAdminRulebookDiff answers GET /ui/admin/rulebooks/diff?year=&from=&to=:
// two versions compared item by item (domain.DiffRulebooks), each changed
// value in two columns, the old version's on the left. The default is the
// version in force against the one before it.
func (s *Server) handleAdminRulebookDiff(w http.ResponseWriter, r *http.Request) {
	year, err := queryYear(r, s.opts.Year)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	list, err := s.rulebooksPage(r, year)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	pg := rulebookDiffPage{adminBase: s.adminBase(r, fmt.Sprintf("%d 年度细则版本比较", year), year), Options: list.Options,
		From: list.From, To: list.To}
	if v := r.URL.Query().Get("from"); v != "" {
		pg.From = v
	}
	if v := r.URL.Query().Get("to"); v != "" {
		pg.To = v
	}
	var rbs [2]*domain.Rulebook
	for i, v := range []string{pg.From, pg.To} {
		if rbs[i], err = s.books.RulebookAt(r.Context(), year, time.Time{}, v); err != nil {
			if fes := fieldErrorsOf(err); fes != nil {
				err = errNotFound("%s", fes[0].Reason)
			}
			s.pageError(w, r, err)
			return
		}
	}
	if pg.Diff, err = domain.DiffRulebooks(rbs[0], rbs[1]); err != nil {
		s.pageError(w, r, err)
		return
	}
	pg.Groups = diffGroups(pg.Diff, rbs[0], rbs[1])
	s.renderAdmin(w, r, http.StatusOK, "rulebook_diff", pg)
}

// diffGroups groups a diff's changes by item, in order, with the item's
// title from the newer version (or the older, for a removed item).
func diffGroups(d *domain.RulebookDiff, from, to *domain.Rulebook) []diffGroup {
	title := func(code string) string {
		for _, rb := range []*domain.Rulebook{to, from} {
			for i := range rb.Items {
				if rb.Items[i].Code == code {
					return rb.Items[i].Title
				}
			}
		}
		return ""
	}
	var out []diffGroup
	for _, c := range d.Changes {
		if len(out) == 0 || out[len(out)-1].Item != c.Item {
			g := diffGroup{Item: c.Item, Title: title(c.Item)}
			if c.Item == "" {
				g.Title = "细则总体"
			}
			out = append(out, g)
		}
		row := diffRow{RulebookChange: c, Where: c.Path, From: indentJSON(c.From), To: indentJSON(c.To)}
		if c.Item != "" {
			row.Where = strings.TrimPrefix(strings.TrimPrefix(c.Path, "items["+c.Item+"]"), ".")
		}
		out[len(out)-1].Rows = append(out[len(out)-1].Rows, row)
	}
	return out
}

// indentJSON renders a value for a diff cell: a string unquoted, anything
// else as indented JSON.
func indentJSON(raw json.RawMessage) string {
	if len(raw) == 0 {
		return ""
	}
	var str string
	if json.Unmarshal(raw, &str) == nil {
		return str
	}
	var buf bytes.Buffer
	if json.Indent(&buf, raw, "", "  ") != nil {
		return string(raw)
	}
	return buf.String()
}

// ——— Recompute ———

type recomputePage struct {
	adminBase
	Mode               string // "versions" or "known"
	Options            []string
	From, To           string // versions
	KnownFrom, KnownTo string // dates: as known at the end of each day
	FromLabel, ToLabel string // what the two columns are
	Report             *projections.RecomputeReport
	Moves              []projections.TierTransition // the transitions between different tiers
	Stayed             int
	OnlyTo             []string // organisations known at the second instant only
}

// handleAdminRecompute answers GET /ui/admin/recompute?year=&mode=&from=&to=&known_from=&known_to=:
// every organisation scored under two rulebook versions (mode versions,
// scoreboard's Recompute, the report GET /v1/recompute gives), or as
// known at the end of two days (mode known): how many moved between which
// tiers, and for each organisation whose final score or tier changes, the
// items whose deductions changed, both sets of reasons side by side.
func (s *Server) handleAdminRecompute(w http.ResponseWriter, r *http.Request) {
	year, err := queryYear(r, s.opts.Year)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	list, err := s.rulebooksPage(r, year)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	q := r.URL.Query()
	pg := recomputePage{adminBase: s.adminBase(r, fmt.Sprintf("%d 年度重新计算", year), year), Mode: q.Get("mode"),
		Options: list.Options, From: list.From, To: list.To, KnownFrom: q.Get("known_from"), KnownTo: q.Get("known_to")}
	if v := q.Get("from"); v != "" {
		pg.From = v
	}
	if v := q.Get("to"); v != "" {
		pg.To = v
	}
	if pg.Mode == "known" {
		err = s.recomputeKnown(r, &pg)
	} else {
		pg.Mode = "versions"
		pg.FromLabel, pg.ToLabel = "细则 "+pg.From, "细则 "+pg.To
		pg.Report, err = s.board.Recompute(r.Context(), scoreboard.Query{Year: year}, pg.From, pg.To)
	}
	if err != nil {
		if fes := fieldErrorsOf(err); fes != nil {
			pg.Error = "无法计算：" + problemsText(fes, map[string]string{"from": "原版本", "to": "新版本", "known_from": "原知悉日期", "known_to": "新知悉日期"})
			s.renderAdmin(w, r, http.StatusUnprocessableEntity, "recompute", pg)
			return
		}
		s.pageError(w, r, err)
		return
	}
	for _, t := range pg.Report.Transitions {
		if t.From != t.To {
			pg.Moves = append(pg.Moves, t)
		} else {
			pg.Stayed += t.Orgs
		}
	}
	s.renderAdmin(w, r, http.StatusOK, "recompute", pg)
}

// recomputeKnown scores every organisation as known at the end of two
// days, each under the rulebook in force then, and diffs them.
func (s *Server) recomputeKnown(r *http.Request, pg *recomputePage) error {
	today := domain.DateOf(s.now())
	if pg.KnownTo == "" {
		pg.KnownTo = today.String()
	}
	if pg.KnownFrom == "" {
		pg.KnownFrom = today.AddDays(-30).String()
	}
	var ks [2]time.Time
	for i, f := range []struct{ name, v string }{{"known_from", pg.KnownFrom}, {"known_to", pg.KnownTo}} {
		d, err := domain.ParseDate(f.v)
		if err != nil {
			return &domain.FieldError{Field: f.name, Reason: "want a date YYYY-MM-DD"}
		}
		ks[i] = d.End().Add(-time.Microsecond)
	}
	pg.FromLabel, pg.ToLabel = pg.KnownFrom+" 时所知", pg.KnownTo+" 时所知"
	ctx := r.Context()
	var rks [2]*scoreboard.Ranking
	var rbs [2]*domain.Rulebook
	for i, k := range ks {
		var err error
		if rbs[i], err = s.books.RulebookAt(ctx, pg.Year, k, ""); err != nil {
			return err
		}
		if rks[i], err = s.board.Rank(ctx, scoreboard.Query{Year: pg.Year, KnownAt: k, Under: scoreboard.AllOrgs}); err != nil {
			return err
		}
	}
	old := make(map[string]*scoreboard.Row, len(rks[0].Rows))
	for i := range rks[0].Rows {
		old[rks[0].Rows[i].Org] = &rks[0].Rows[i]
	}
	rc := projections.NewRecomputation(rbs[0], rbs[1], projections.Query{Year: pg.Year, KnownAt: ks[1]})
	// Only the organisations whose grade changed are scored again, both
	// ways, for their diffs: a chunk of rows at a time.
	const chunk = 256
	rows := rks[1].Rows
	for lo := 0; lo < len(rows); lo += chunk {
		part := rows[lo:min(lo+chunk, len(rows))]
		var was, now []scoreboard.Row
		for _, row := range part {
			if o := old[row.Org]; o != nil && (o.Final != row.Final || o.Tier != row.Tier) {
				was, now = append(was, *o), append(now, row)
			}
		}
		var olds, news []*projections.Scorecard
		if err := s.board.Cards(ctx, rks[0], was, func(sc *projections.Scorecard) error { olds = append(olds, sc); return nil }); err != nil {
			return err
		}
		if err := s.board.Cards(ctx, rks[1], now, func(sc *projections.Scorecard) error { news = append(news, sc); return nil }); err != nil {
			return err
		}
		j := 0
		for _, row := range part {
			o := old[row.Org]
			switch {
			case o == nil:
				pg.OnlyTo = append(pg.OnlyTo, row.Org+" "+row.Name)
			case o.Final != row.Final || o.Tier != row.Tier:
				rc.Add(olds[j], news[j])
				j++
			default:
				rc.AddSame(row.Tier)
			}
		}
	}
	pg.Report = rc.Report(rbs[1])
	return nil
}
