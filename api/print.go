package api

import (
	"bytes"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/go-chi/chi/v5"

	"partyledger/domain"
	"partyledger/projections"
	"partyledger/projections/report"
	"partyledger/projections/scoreboard"
)

// The printable 台账 of one organisation and year (A4, print stylesheet)
// and its download as a workbook.

type printPage struct {
	base
	Org      *domain.OrgState
	Card     *projections.Scorecard
	Group    string
	Sections []sectionView
	Arrears  []arrearRow
	Rows     []journalRow
	Year     int
	Printed  string
	More     bool
	Back     string
}

// scoredOrg reads the organisation of a page about one organisation's
// year, the page's query (scored as of today in the current year) and its
// scorecard: the opening of the print page and the workbook.
func (s *Server) scoredOrg(r *http.Request, code string) (*domain.OrgState, scoreboard.Query, *projections.Scorecard, error) {
	st, err := s.org(r.Context(), code)
	if err != nil {
		return nil, scoreboard.Query{}, nil, err
	}
	q, _, err := s.pageQuery(r)
	if err != nil {
		return nil, scoreboard.Query{}, nil, err
	}
	q = s.scoredAsOf(q)
	sc, err := s.board.Score(r.Context(), code, q)
	if err != nil {
		return nil, scoreboard.Query{}, nil, err
	}
	return st, q, sc, nil
}

// handlePrintPage answers GET /ui/orgs/{code}/print?year=: the 台账 fit
// for A4 — the score, every item with its counts and deductions, who owes
// dues, and the year's journal, all in Chinese.
func (s *Server) handlePrintPage(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	code := chi.URLParam(r, "code")
	st, q, sc, err := s.scoredOrg(r, code)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	pg := printPage{base: s.base(r, fmt.Sprintf("%s %d 年度台账", st.Name, q.Year)), Org: st, Card: sc, Group: "未录入", Year: q.Year,
		Printed: s.now().In(domain.CST).Format("2006-01-02 15:04"), Back: fmt.Sprintf("/ui/orgs/%s?year=%d", url.PathEscape(code), q.Year)}
	pg.OrgCode = code
	if sc.Group != nil {
		pg.Group = sc.Group.String()
	}
	sp := scorecardPage{Card: sc}
	if err := s.scorecardDetails(ctx, code, q, &sp); err != nil {
		s.pageError(w, r, err)
		return
	}
	pg.Sections, pg.Arrears = sp.Sections, sp.Arrears
	evs, more, err := s.journal(ctx, st, journalQuery{year: q.Year, after: -1, limit: journalPageLimit, incomes: mayReadIncomes(principalOf(r), code)})
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	pg.More = more
	for _, ev := range evs {
		pg.Rows = append(pg.Rows, journalRow{journalEvent: ev, Summary: summarizeLine(ev, st), Recorder: recorderLabel(ev.RecordedBy)})
	}
	s.render(w, r, http.StatusOK, "print", pg)
}

// handleOrgWorkbook answers GET /ui/orgs/{code}/xlsx?year=: the
// organisation's own 台账 as a workbook — its scorecard (items, counts,
// deductions) and its journal of the year. A branch downloads its own;
// incomes only for the organisation itself and the admin.
func (s *Server) handleOrgWorkbook(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	code := chi.URLParam(r, "code")
	st, q, sc, err := s.scoredOrg(r, code)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	d := &report.Data{Year: q.Year, Cards: []*projections.Scorecard{sc}}
	if rb, err := s.books.RulebookAt(ctx, q.Year, time.Time{}, sc.Rulebook.Version); err == nil {
		d.Rulebook = rb
	}
	d.Journal = s.books.OrgJournal(ctx, code, q.Year)
	if !mayReadIncomes(principalOf(r), code) {
		d.Journal = withoutIncomes(d.Journal)
	}
	var buf bytes.Buffer
	if err := report.WriteWorkbook(&buf, d); err != nil {
		s.pageError(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
	// An ASCII name for old clients, the Chinese one for the rest.
	name := fmt.Sprintf("%s-%d.xlsx", code, q.Year)
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="%s"; filename*=UTF-8''%s`, name,
		url.PathEscape(fmt.Sprintf("%s %s %d 年度台账.xlsx", code, st.Name, q.Year))))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(buf.Bytes())
}
