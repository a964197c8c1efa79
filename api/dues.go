package api

import (
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5"
	"github.com/google/uuid"

	"partyledger/domain"
	"partyledger/ledger"
	"partyledger/ledger/books"
	"partyledger/projections"
	"partyledger/projections/scoreboard"
)

// 党费: the roster with each member's bracket and amount due, and the
// monthly form that records the whole roster's dues in one submit.

type rosterPage struct {
	base
	Org     *domain.OrgState
	Month   string
	Rows    []projections.MemberDues
	Incomes bool   // the viewer may see incomes and brackets
	Form    string // the monthly dues form, when the viewer may record dues
	DueFen  domain.Fen
	PaidFen domain.Fen
	Unpaid  int
}

// duesMonth reads ?month= (default this month).
func (s *Server) duesMonth(r *http.Request) (domain.Month, string, error) {
	v := r.URL.Query().Get("month")
	if r.Method == http.MethodPost {
		v = r.PostFormValue("month")
	}
	if v == "" {
		t := s.today()
		v = fmt.Sprintf("%04d-%02d", t.Year, int(t.Month))
	}
	m, err := domain.ParseMonth(v)
	if err != nil {
		return m, "", errBadRequest("month", "want YYYY-MM")
	}
	if m.Year < domain.DateMin.Year || m.Year > domain.DateMax.Year {
		return m, "", errBadRequest("month", "out of range")
	}
	return m, v, nil
}

// monthDues is every member's dues for a month, as of today (or the end
// of the month's year, for a past year).
func (s *Server) monthDues(r *http.Request, code string, m domain.Month, month string) ([]projections.MemberDues, error) {
	return s.board.MonthDues(r.Context(), code, scoreboard.Query{Year: m.Year, AsOf: s.asOfFor(m.Year)}, month)
}

// handleRosterPage answers GET /ui/orgs/{code}/roster?month=: 党员名册 —
// each member's dues bracket and amount due for the month (from the
// rulebook's rate table and the member's income; incomes and brackets
// only for the organisation itself and the admin), what was paid.
func (s *Server) handleRosterPage(w http.ResponseWriter, r *http.Request) {
	code := chi.URLParam(r, "code")
	st, err := s.org(r.Context(), code)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	m, month, err := s.duesMonth(r)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	rows, err := s.monthDues(r, code, m, month)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	p := principalOf(r)
	pg := rosterPage{base: s.base(r, st.Name+" 党员名册与党费"), Org: st, Month: month, Rows: rows, Incomes: mayReadIncomes(p, code)}
	pg.OrgCode = code
	pg.CanRecord = ruleFor("GET", "/ui/orgs/{code}/record").For(p.Role) != Deny
	if AppendAllowed(p.Role, domain.TypeDuesPaid, "") {
		pg.Form = "/ui/orgs/" + url.PathEscape(code) + "/dues?month=" + month
	}
	for i := range pg.Rows {
		md := &pg.Rows[i]
		if !pg.Incomes {
			md.IncomeFen, md.RateBP, md.Bracket = 0, 0, ""
		}
		pg.DueFen += md.DueFen
		pg.PaidFen += md.PaidFen
		if md.PaidFen < md.DueFen {
			pg.Unpaid++
		}
	}
	if n := r.URL.Query().Get("paid"); n != "" {
		pg.Flash = "已登记 " + n + " 名党员 " + month + " 的党费。"
		if r.URL.Query().Get("dup") != "" {
			pg.Flash = "该表单已经提交过，没有重复登记。" + pg.Flash
		}
	}
	s.render(w, r, http.StatusOK, "roster", pg)
}

// duesRow is one member on the monthly dues form.
type duesRow struct {
	projections.MemberDues
	Pay    bool
	Amount string // yuan, as entered
	Error  string
}

type duesPage struct {
	base
	Org        *domain.OrgState
	Month      string
	OccurredOn string
	DateError  string
	EventID    string
	Rows       []duesRow
	Errors     int
	FormError  string
	Warnings   []string
	Confirm    bool
	Roster     string
}

// yuanText renders fen as yuan for an input ("15.00").
func yuanText(f domain.Fen) string { return fmt.Sprintf("%d.%02d", f/100, f%100) }

// handleDuesPage answers GET /ui/orgs/{code}/dues?month=: the monthly
// dues form — every member of the roster, ticked when not yet paid in
// full, each pre-filled with the amount still due.
func (s *Server) handleDuesPage(w http.ResponseWriter, r *http.Request) {
	pg, err := s.duesPage(r, nil)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "dues", pg)
}

// duesPage builds the form; vals (a post) keeps what was entered.
func (s *Server) duesPage(r *http.Request, vals url.Values) (duesPage, error) {
	code := chi.URLParam(r, "code")
	st, err := s.org(r.Context(), code)
	if err != nil {
		return duesPage{}, err
	}
	m, month, err := s.duesMonth(r)
	if err != nil {
		return duesPage{}, err
	}
	mds, err := s.monthDues(r, code, m, month)
	if err != nil {
		return duesPage{}, err
	}
	pg := duesPage{base: s.base(r, st.Name+" "+month+" 党费登记"), Org: st, Month: month, EventID: uuid.NewString(),
		OccurredOn: s.today().String(), Roster: "/ui/orgs/" + url.PathEscape(code) + "/roster?month=" + month}
	pg.OrgCode, pg.CanRecord = code, true
	if vals != nil {
		pg.EventID, pg.OccurredOn = vals.Get("event_id"), vals.Get("occurred_on")
	}
	pay := map[string]bool{}
	for _, id := range vals["pay"] {
		pay[id] = true
	}
	for _, md := range mds {
		if !mayReadIncomes(principalOf(r), code) {
			md.IncomeFen, md.RateBP, md.Bracket = 0, 0, ""
		}
		row := duesRow{MemberDues: md, Pay: md.PaidFen < md.DueFen, Amount: yuanText(max(md.DueFen-md.PaidFen, 0))}
		if md.PaidFen >= md.DueFen {
			row.Amount = yuanText(md.DueFen)
		}
		if vals != nil {
			row.Pay, row.Amount = pay[md.MemberID], vals.Get("amount_"+md.MemberID)
		}
		pg.Rows = append(pg.Rows, row)
	}
	return pg, nil
}

// handleDuesPost answers POST /ui/orgs/{code}/dues: records the ticked
// members' dues for the month as one atomic append (all or nothing),
// each entry's id derived from the form's, so a second submit records
// nothing. Amounts other than the one due, and second payments for a
// member and month, are saved only once confirmed.
func (s *Server) handleDuesPost(w http.ResponseWriter, r *http.Request) {
	vals := r.PostForm
	if a := vals.Get("_action"); a == actionSelectAll || a == actionSelectNone {
		pg, err := s.duesPage(r, vals)
		if err != nil {
			s.pageError(w, r, err)
			return
		}
		for i := range pg.Rows {
			pg.Rows[i].Pay = a == actionSelectAll
		}
		s.render(w, r, http.StatusOK, "dues", pg)
		return
	}
	formID, err := uuid.Parse(vals.Get("event_id"))
	if err != nil {
		formID = uuid.New()
		vals.Set("event_id", formID.String())
	}
	pg, err := s.duesPage(r, vals)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	entries, warnings, fail := s.duesEntries(&pg, formID)
	if fail {
		s.render(w, r, http.StatusUnprocessableEntity, "dues", pg)
		return
	}
	if len(warnings) > 0 && vals.Get("confirm") == "" && pg.Org.Events[entries[0].ID] == "" {
		pg.Warnings, pg.Confirm = warnings, true
		s.render(w, r, http.StatusOK, "dues", pg)
		return
	}
	res, err := s.appendTimed(r.Context(), entries, principalOf(r), books.RecordOptions{})
	var ic *ledger.IDConflictError
	switch {
	case err == nil || errors.As(err, &ic):
		q := url.Values{"month": {pg.Month}, "paid": {strconv.Itoa(len(entries))}}
		if err != nil || res[0].Duplicate {
			q.Set("dup", "1")
		}
		http.Redirect(w, r, "/ui/orgs/"+url.PathEscape(pg.Org.Code)+"/roster?"+q.Encode(), http.StatusSeeOther)
		return
	}
	var ee *books.EntryError
	if errors.As(err, &ee) && ee.Index >= 0 && ee.Index < len(entries) {
		if fes := fieldErrorsOf(ee.Err); fes != nil {
			id := entries[ee.Index].Payload.(*domain.DuesPaid).MemberID
			for i := range pg.Rows {
				if pg.Rows[i].MemberID == id {
					pg.Rows[i].Error = zhReason(fes[0].Reason)
				}
			}
			if fes[0].Field == "occurred_on" {
				pg.DateError = zhReason(fes[0].Reason)
			}
			pg.Errors = 1
			s.render(w, r, http.StatusUnprocessableEntity, "dues", pg)
			return
		}
	}
	if errs := formErrorsOf(domain.TypeDuesPaid, err); errs != nil {
		pg.FormError = strings.Join(mapValues(errs), "；")
		s.render(w, r, http.StatusUnprocessableEntity, "dues", pg)
		return
	}
	s.pageError(w, r, err)
}

func mapValues(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for _, k := range sortedKeys(m) {
		out = append(out, m[k])
	}
	return out
}

// duesEntries builds the entries of the ticked rows, marking every
// problem on its row (fail), and collects the warnings.
func (s *Server) duesEntries(pg *duesPage, formID uuid.UUID) (entries []domain.Entry, warnings []string, fail bool) {
	on, err := domain.ParseDate(strings.TrimSpace(pg.OccurredOn))
	switch {
	case pg.OccurredOn == "":
		pg.DateError = "必填：请选择交纳日期"
	case err != nil:
		pg.DateError = "请填写日期（年-月-日）"
	case on.After(s.today()):
		pg.DateError = fmt.Sprintf("日期不能晚于今天（%s）", s.today())
	}
	if pg.DateError != "" {
		pg.Errors++
	}
	for i := range pg.Rows {
		row := &pg.Rows[i]
		if !row.Pay {
			continue
		}
		v := strings.TrimSpace(row.Amount)
		if !yuanRE.MatchString(v) {
			row.Error = "请填写金额（元），最多两位小数，如 12.50"
			pg.Errors++
			continue
		}
		yuan, _ := strconv.ParseFloat(v, 64)
		amount := domain.Fen(math.Round(yuan * 100))
		p := &domain.DuesPaid{MemberID: row.MemberID, Month: pg.Month, AmountFen: amount}
		if err := p.Validate(); err != nil {
			row.Error = zhReason(domain.FieldErrors(err)[0].Reason)
			pg.Errors++
			continue
		}
		// One id per member, derived from the form's: the same form
		// sent again is the same events.
		id := uuid.NewSHA1(formID, []byte("DuesPaid/"+row.MemberID)).String()
		entries = append(entries, domain.Entry{ID: id, Org: pg.Org.Code, Type: domain.TypeDuesPaid, OccurredOn: on, Payload: p})
		for _, w := range duesWarnings(row.MemberDues, amount) {
			warnings = append(warnings, row.Name+"："+w)
		}
	}
	if len(entries) == 0 && pg.Errors == 0 {
		pg.FormError = "请至少勾选一名党员（可点“全选”）。"
		pg.Errors++
	}
	return entries, warnings, pg.Errors > 0
}
