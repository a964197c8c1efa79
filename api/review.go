package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"partyledger/domain"
	"partyledger/ledger/books"
)

// reviewPageLimit bounds the rows of the review page.
const reviewPageLimit = 500

type reviewRow struct {
	Org, OrgName string
	ID           string
	Type         string
	TypeLabel    string
	OccurredOn   string
	RecordedAt   string
	RecordedBy   string
	Summary      string
	Late         *lateMark
}

type reviewPage struct {
	base
	Year   int
	Org    string // filter: one organisation ("" all)
	Rows   []reviewRow
	Total  int // unreviewed entries found (Rows holds at most reviewPageLimit)
	Error  string
	Reason string
}

// handleReviewPage answers GET /ui/review?year=&org=: 网上考核 — the
// organisations' own entries of the year that still count (neither
// retracted nor rejected), 补录 first, then newest first, each with a
// one-click 退回 and a reason.
func (s *Server) handleReviewPage(w http.ResponseWriter, r *http.Request) {
	year, err := queryYear(r, s.opts.Year)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	org := r.URL.Query().Get("org")
	if org != "" && domain.OrgCodeProblem(org) != "" {
		s.pageError(w, r, errBadRequest("org", "not an organisation code"))
		return
	}
	pg, err := s.reviewPage(r, year, org)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	if id := r.URL.Query().Get("rejected"); id != "" {
		pg.Flash = "已退回：" + shortID(id)
	}
	s.render(w, r, http.StatusOK, "review", pg)
}

func (s *Server) reviewPage(r *http.Request, year int, org string) (reviewPage, error) {
	ctx := r.Context()
	pg := reviewPage{base: s.base(r, fmt.Sprintf("%d 年度网上考核", year)), Year: year, Org: org}
	states := map[string]*domain.OrgState{}
	days := s.lateDays(ctx)
	journal := s.books.Journal(ctx, year)
	if org != "" {
		journal = s.books.OrgJournal(ctx, org, year) // its own stream, not the whole ledger
	}
	for l, err := range journal {
		if err != nil {
			return pg, err
		}
		if side, _ := domain.SideOf(l.Type); side != domain.SideOrg || !strings.HasPrefix(l.OccurredOn, strconv.Itoa(year)+"-") ||
			(org != "" && l.Org != org) {
			continue
		}
		st, err := s.stateOf(ctx, states, l.Org)
		if err != nil {
			return pg, err
		}
		if st == nil || st.Retracts[l.ID] || st.Rejects[l.ID] != "" {
			continue
		}
		pg.Total++
		l, _ = redactIncome(l) // assessors do not see incomes
		pg.Rows = append(pg.Rows, reviewRow{Org: l.Org, OrgName: st.Name, ID: l.ID, Type: l.Type, TypeLabel: domain.TypeLabel(l.Type),
			OccurredOn: l.OccurredOn, RecordedAt: l.RecordedAt, RecordedBy: l.RecordedBy, Summary: summarize(l.Type, l.Data, st),
			Late: lateMarkOf(l.Type, l.OccurredOn, l.RecordedAt, days)})
	}
	sort.SliceStable(pg.Rows, func(i, j int) bool {
		a, b := pg.Rows[i], pg.Rows[j]
		if (a.Late != nil) != (b.Late != nil) {
			return a.Late != nil
		}
		return a.RecordedAt > b.RecordedAt // the layout sorts as text
	})
	if len(pg.Rows) > reviewPageLimit {
		pg.Rows = pg.Rows[:reviewPageLimit]
	}
	return pg, nil
}

func (s *Server) stateOf(ctx context.Context, memo map[string]*domain.OrgState, code string) (*domain.OrgState, error) {
	if st, ok := memo[code]; ok {
		return st, nil
	}
	st, err := s.books.Org(ctx, code)
	if err != nil {
		return nil, err
	}
	memo[code] = st
	return st, nil
}

// handleReviewPost answers POST /ui/review (org, event_id, reason, year):
// records the assessor's EventRejected (退回) through the append path and
// comes back to the review page.
func (s *Server) handleReviewPost(w http.ResponseWriter, r *http.Request) {
	f := r.PostForm
	org, id, reason := f.Get("org"), strings.ToLower(strings.TrimSpace(f.Get("event_id"))), strings.TrimSpace(f.Get("reason"))
	year, err := strconv.Atoi(f.Get("year"))
	if err != nil || year < domain.DateMin.Year || year > domain.DateMax.Year {
		year = s.opts.Year
	}
	if domain.OrgCodeProblem(org) != "" {
		s.pageError(w, r, errBadRequest("org", "not an organisation code"))
		return
	}
	e := domain.Entry{Org: org, Type: domain.TypeEventRejected, OccurredOn: domain.DateOf(s.now()),
		Payload: &domain.EventRejected{EventID: id, Reason: reason}}
	err = e.Payload.Validate()
	if err == nil {
		_, err = s.books.RecordAs(r.Context(), []domain.Entry{e}, principalOf(r), books.RecordOptions{})
	}
	if err == nil {
		http.Redirect(w, r, fmt.Sprintf("/ui/review?year=%d&org=%s&rejected=%s", year, url.QueryEscape(f.Get("filter")), url.QueryEscape(id)), http.StatusSeeOther)
		return
	}
	if errors.Is(err, domain.ErrForbidden) || fieldErrorsOf(err) == nil {
		s.pageError(w, r, err)
		return
	}
	pg, perr := s.reviewPage(r, year, f.Get("filter"))
	if perr != nil {
		s.pageError(w, r, perr)
		return
	}
	var msgs []string
	for _, fe := range domain.FieldErrors(err) {
		label := map[string]string{"reason": "退回原因", "data.reason": "退回原因", "event_id": "事件", "data.event_id": "事件"}[strings.TrimPrefix(fe.Field, "[0].")]
		if label == "" {
			label = fe.Field
		}
		msgs = append(msgs, label+"："+zhReason(fe.Reason))
	}
	pg.Error, pg.Reason = "未能退回 "+shortID(id)+"："+strings.Join(msgs, "；"), reason
	s.render(w, r, http.StatusUnprocessableEntity, "review", pg)
}
