package api

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"partyledger/domain"
	"partyledger/ledger/books"
	"partyledger/projections"
	"partyledger/projections/scoreboard"
)

// ——— Official grades ———

type gradeRow struct {
	Rank       int
	Card       *scoreboard.Row
	Designated bool
	Grade      *domain.Grade // the latest grade, nil when none
	Agrees     bool          // the latest grade is what the computation gives now
}

type gradesPage struct {
	adminBase
	Rows     []gradeRow
	Graded   int
	Eligible int
}

// handleAdminGrades answers GET /ui/admin/grades?year=: the organisations
// directly under the work committee, each with its computed final score
// and tier, whether it is designated 先进, and its official grade; the
// forms that issue grades and revise them after a correction (each a dry
// run first), and the way to designation and each history.
func (s *Server) handleAdminGrades(w http.ResponseWriter, r *http.Request) {
	year, err := queryYear(r, s.opts.Year)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	pg, err := s.gradesPage(r, year)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	if n := r.URL.Query().Get("designated"); n != "" {
		pg.Flash = "已确定先进：" + n + " 个组织。评定等次时，先进只授予经确定的组织。"
	}
	s.renderAdmin(w, r, http.StatusOK, "grades", pg)
}

func (s *Server) gradesPage(r *http.Request, year int) (gradesPage, error) {
	ctx := r.Context()
	pg := gradesPage{adminBase: s.adminBase(r, fmt.Sprintf("%d 年度正式等次", year), year)}
	rk, err := s.board.Rank(ctx, scoreboard.Query{Year: year})
	if err != nil {
		return pg, err
	}
	grades, err := s.books.Grades(ctx, year)
	if err != nil {
		return pg, err
	}
	for i := range rk.Rows {
		sc := &rk.Rows[i]
		row := gradeRow{Rank: i + 1, Card: sc, Designated: s.board.Designated(sc.Org, year, time.Time{})}
		if gs := grades[sc.Org]; len(gs) > 0 {
			g := gs[len(gs)-1]
			row.Grade = &g
			row.Agrees = g.Final == sc.Final && g.Tier == domain.ExpectedTier(domain.GradeBasis{Final: sc.Final, Tier: sc.Tier}, row.Designated)
			pg.Graded++
		}
		if sc.Tier == domain.TierAdvanced {
			pg.Eligible++
		}
		pg.Rows = append(pg.Rows, row)
	}
	return pg, nil
}

type gradeRunPage struct {
	adminBase
	Revise      bool
	Run         *scoreboard.GradeRun
	Provisional bool
	Reason      string
	Names       map[string]string // code → name, for the skipped
}

// gradeForm reads the grade forms' fields: year, provisional, reason, and
// known_at (the dry run's, so that a confirmation records exactly what
// the dry run showed).
func (s *Server) gradeForm(r *http.Request) (year int, opts scoreboard.GradeOptions, confirm bool, err error) {
	f := r.PostForm
	year, err = strconv.Atoi(f.Get("year"))
	if err != nil || year < domain.DateMin.Year || year > domain.DateMax.Year {
		return 0, opts, false, errBadRequest("year", "want a year within %d..%d", domain.DateMin.Year, domain.DateMax.Year)
	}
	opts = scoreboard.GradeOptions{As: principalOf(r), AllowProvisional: f.Get("provisional") != "",
		Reason: strings.TrimSpace(f.Get("reason")), DryRun: f.Get("confirm") == ""}
	if s.opts.Tree != nil {
		opts.Anchor = books.Anchor(s.opts.Tree) // each grade names the log tree it was computed at
	}
	if k := f.Get("known_at"); k != "" && !opts.DryRun {
		if opts.KnownAt, err = time.Parse(projections.KnownAtLayout, k); err != nil {
			return 0, opts, false, errBadRequest("known_at", "want %s", projections.KnownAtLayout)
		}
	}
	return year, opts, !opts.DryRun, nil
}

// handleAdminIssueGrades answers POST /ui/admin/grades/issue (year,
// provisional, confirm, known_at): without confirm a dry run — what
// IssueGrades would write, and whom it skips and why — with a button that
// confirms it; with confirm, the grades recorded (GradeIssued, as the
// signed-in admin) as known at the dry run's instant.
func (s *Server) handleAdminIssueGrades(w http.ResponseWriter, r *http.Request) {
	s.gradeRun(w, r, false)
}

// handleAdminReviseGrades answers POST /ui/admin/grades/revise (year,
// reason, provisional, confirm, known_at): as issue, for ReviseGrades —
// a GradeRevised, with the reason, for exactly the organisations whose
// final score or tier changed since their grade, each with the items that
// explain it.
func (s *Server) handleAdminReviseGrades(w http.ResponseWriter, r *http.Request) {
	s.gradeRun(w, r, true)
}

func (s *Server) gradeRun(w http.ResponseWriter, r *http.Request, revise bool) {
	year, opts, confirm, err := s.gradeForm(r)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	run := s.board.IssueGrades
	title := fmt.Sprintf("%d 年度评定等次", year)
	if revise {
		run, title = s.board.ReviseGrades, fmt.Sprintf("%d 年度更正等次", year)
	}
	out, err := run(r.Context(), year, opts)
	if err != nil {
		fes := fieldErrorsOf(err)
		if fes == nil {
			s.pageError(w, r, err)
			return
		}
		pg, perr := s.gradesPage(r, year)
		if perr != nil {
			s.pageError(w, r, perr)
			return
		}
		pg.Error = "未能" + map[bool]string{false: "评定", true: "更正"}[revise] + "：" + problemsText(fes, map[string]string{"reason": "更正原因"})
		s.renderAdmin(w, r, http.StatusUnprocessableEntity, "grades", pg)
		return
	}
	pg := gradeRunPage{adminBase: s.adminBase(r, title, year), Revise: revise, Run: out, Provisional: opts.AllowProvisional,
		Reason: opts.Reason, Names: map[string]string{}}
	if confirm {
		pg.Flash = fmt.Sprintf("已写入 %d 个%s事件。", len(out.Written), map[bool]string{false: "评定（GradeIssued）", true: "更正（GradeRevised）"}[revise])
	}
	if len(out.Skipped) > 0 {
		for _, sk := range out.Skipped {
			if st, err := s.books.Org(r.Context(), sk.Org); err == nil && st != nil {
				pg.Names[sk.Org] = st.Name
			}
		}
	}
	s.renderAdmin(w, r, http.StatusOK, "grade_run", pg)
}

type designateRow struct {
	Card       *scoreboard.Row
	Designated bool
	Checked    bool
	Problem    string
}

type designatePage struct {
	adminBase
	Rows    []designateRow
	Reason  string
	Preview bool     // the selection has been checked and may be confirmed
	Codes   []string // the selection
}

// handleAdminDesignate answers GET /ui/admin/grades/designate?year=: the
// organisations directly under the work committee that are eligible (the
// scorecard's tier advanced), with checkboxes and a reason: 确定先进.
func (s *Server) handleAdminDesignate(w http.ResponseWriter, r *http.Request) {
	year, err := queryYear(r, s.opts.Year)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	pg, err := s.designatePage(r, year, nil)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	s.renderAdmin(w, r, http.StatusOK, "designate", pg)
}

func (s *Server) designatePage(r *http.Request, year int, codes []string) (designatePage, error) {
	pg := designatePage{adminBase: s.adminBase(r, fmt.Sprintf("%d 年度确定先进", year), year), Codes: codes}
	rk, err := s.board.Rank(r.Context(), scoreboard.Query{Year: year})
	if err != nil {
		return pg, err
	}
	for i := range rk.Rows {
		sc := &rk.Rows[i]
		if sc.Tier != domain.TierAdvanced && !slices.Contains(codes, sc.Org) {
			continue
		}
		pg.Rows = append(pg.Rows, designateRow{Card: sc, Designated: s.board.Designated(sc.Org, year, time.Time{}),
			Checked: slices.Contains(codes, sc.Org)})
	}
	return pg, nil
}

// handleAdminDesignatePost answers POST /ui/admin/grades/designate (year,
// codes, reason, confirm): without confirm the selection is checked by the
// append path without writing (books.Books.CheckAs: each code eligible
// now, the reason given) and shown for confirmation; with confirm it is
// recorded — an AdvancedDesignated in the committee stream, as the
// signed-in admin, as POST /v1/committee/events records it.
func (s *Server) handleAdminDesignatePost(w http.ResponseWriter, r *http.Request) {
	f := r.PostForm
	year, err := strconv.Atoi(f.Get("year"))
	if err != nil || year < domain.DateMin.Year || year > domain.DateMax.Year {
		s.pageError(w, r, errBadRequest("year", "want a year"))
		return
	}
	codes := f["codes"]
	if len(codes) > domain.MaxTargets {
		s.pageError(w, r, errBadRequest("codes", "too many"))
		return
	}
	reason := strings.TrimSpace(f.Get("reason"))
	pg, err := s.designatePage(r, year, codes)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	pg.Reason = reason
	e := domain.Entry{Type: domain.TypeAdvancedDesignated, OccurredOn: domain.DateOf(s.now()),
		Payload: &domain.AdvancedDesignated{Year: year, Codes: codes, Reason: reason}}
	if err := e.Payload.Validate(); err != nil {
		pg.Error = "请改正：" + problemsText(domain.FieldErrors(err), map[string]string{"codes": "组织", "reason": "理由", "year": "年度"})
		status := http.StatusOK // a preview shows what to correct
		if f.Get("confirm") != "" {
			status = http.StatusUnprocessableEntity
		}
		s.renderAdmin(w, r, status, "designate", pg)
		return
	}
	if f.Get("confirm") == "" {
		_, errs := s.books.CheckAs(r.Context(), []domain.Entry{e}, principalOf(r))
		if err := errors.Join(errs...); err != nil {
			var ee *books.EntryError
			if errors.As(err, &ee) {
				err = ee.Err
			}
			if fieldErrorsOf(err) == nil && !errors.Is(err, domain.ErrForbidden) {
				s.pageError(w, r, err)
				return
			}
			pg.Error = "不能确定：" + designationProblems(err)
			s.renderAdmin(w, r, http.StatusOK, "designate", pg)
			return
		}
		pg.Preview = true
		s.renderAdmin(w, r, http.StatusOK, "designate", pg)
		return
	}
	_, err = s.appendTimed(r.Context(), []domain.Entry{e}, principalOf(r), books.RecordOptions{})
	var ee *books.EntryError
	if errors.As(err, &ee) {
		err = ee.Err
	}
	switch {
	case err == nil:
		http.Redirect(w, r, fmt.Sprintf("/ui/admin/grades?year=%d&designated=%d", year, len(codes)), http.StatusSeeOther)
	case fieldErrorsOf(err) != nil:
		pg.Error = "未能确定：" + designationProblems(err)
		s.renderAdmin(w, r, http.StatusUnprocessableEntity, "designate", pg)
	default:
		s.pageError(w, r, err)
	}
}

// designationProblems renders the append path's refusal of a designation.
func designationProblems(err error) string {
	var parts []string
	for _, fe := range domain.FieldErrors(err) {
		switch {
		case strings.Contains(fe.Reason, "eligible") || strings.Contains(fe.Reason, "advanced"):
			parts = append(parts, "不符合先进条件（"+fe.Reason+"）")
		default:
			parts = append(parts, problemsText([]*domain.FieldError{fe}, map[string]string{"codes": "组织", "reason": "理由"}))
		}
	}
	if len(parts) == 0 {
		return err.Error()
	}
	return strings.Join(parts, "；")
}

type gradeHistoryPage struct {
	adminBase
	Org        *domain.OrgState
	Card       *projections.Scorecard
	Designated bool
	Grades     []domain.Grade
}

// handleAdminGradeHistory answers GET /ui/admin/grades/{code}?year=: every
// grade of the organisation for the year in recorded order — issued or
// revised, by whom, when, under which rulebook, the revision's reason and
// any override reason — beside what the computation gives now.
func (s *Server) handleAdminGradeHistory(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	code := chi.URLParam(r, "code")
	st, err := s.org(ctx, code)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	year, err := queryYear(r, s.opts.Year)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	pg := gradeHistoryPage{adminBase: s.adminBase(r, st.Name+" 等次历史", year), Org: st,
		Designated: s.board.Designated(code, year, time.Time{})}
	if pg.Grades, err = s.books.OrgGrades(ctx, code, year); err != nil {
		s.pageError(w, r, err)
		return
	}
	pg.Card, err = s.board.Score(ctx, code, scoreboard.Query{Year: year})
	if err != nil && !errors.Is(err, projections.ErrNotFounded) {
		s.pageError(w, r, err)
		return
	}
	s.renderAdmin(w, r, http.StatusOK, "grade_history", pg)
}
