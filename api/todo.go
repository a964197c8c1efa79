package api

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"partyledger/domain"
	"partyledger/projections"
)

// handleTodo answers GET /v1/orgs/{code}/todo?as_of=&known_at=: what the
// organisation has to do as of as_of (default today): this month's,
// quarter's, half's and year's open requirements with their counts, who
// has not paid this month's dues, the remittance, the work committee's
// events coming up, the term (换届) when due within six months or
// overdue, case deadlines — each with the event type (and payload
// values) that fulfils it. Incomes and dues brackets are shown to the
// organisation's own branch and the admin only.
func (s *Server) handleTodo(w http.ResponseWriter, r *http.Request) {
	code := chi.URLParam(r, "code")
	if _, err := s.org(r.Context(), code); err != nil {
		s.writeError(w, r, err)
		return
	}
	asOf, err := queryDate(r, "as_of")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	knownAt, err := parseKnownAt(r.URL.Query().Get("known_at"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	list, err := s.board.Todo(r.Context(), code, asOf, knownAt)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if !mayReadIncomes(principalOf(r), code) {
		redactDues(list.Items)
	}
	writeJSON(w, http.StatusOK, list)
}

// redactDues leaves incomes and brackets out of the dues items (GOVERNANCE.md,
// personal information: other readers see amounts due and paid).
func redactDues(items []projections.TodoItem) {
	for i := range items {
		for j := range items[i].Members {
			m := &items[i].Members[j]
			m.IncomeFen, m.RateBP, m.Bracket = 0, 0, ""
		}
	}
}

// todoView is one to-do item as a page shows it.
type todoView struct {
	projections.TodoItem
	When      string // 本月, 本季度, 本半年, 本年度, or the day
	Count     string // "1/2"; "" when there is nothing to count
	Link      string // the form that fulfils it, when the viewer may record it
	LinkLabel string
	Names     string // dues: who has not paid
}

// todoCard is the 待办 card of an organisation's home page.
type todoCard struct {
	AsOf  domain.Date
	Items []todoView // due within the month, quarter, half, or by a date
	Year  []todoView // the year's requirements (shown folded)
	Guide string     // the rulebook is another year's: said so
}

var scopeLabels = map[string]string{projections.ScopeMonth: "本月", projections.ScopeQuarter: "本季度",
	projections.ScopeHalf: "本半年", projections.ScopeYear: "本年度"}

// todoCard computes the 待办 of code as of today, with links to the forms
// the viewer may use.
func (s *Server) todoCard(ctx context.Context, r *http.Request, code string) (*todoCard, error) {
	list, err := s.board.Todo(ctx, code, domain.Date{}, time.Time{})
	if err != nil {
		return nil, err
	}
	c := &todoCard{AsOf: list.AsOf}
	if list.RulebookYear != list.AsOf.Year {
		c.Guide = fmt.Sprintf("%d 年度尚未发布考核细则，以下按 %d 年度细则（%s）提示。", list.AsOf.Year, list.RulebookYear, list.Rulebook.Version)
	}
	role := principalOf(r).Role
	canForm := ruleFor("GET", "/ui/orgs/{code}/record/{type}").For(role) != Deny
	for _, it := range list.Items {
		v := todoView{TodoItem: it, When: scopeLabels[it.Scope]}
		if v.When == "" {
			v.When = it.Due.String()
		}
		if it.Kind == projections.TodoRequirement || it.Kind == projections.TodoDues {
			v.Count = fmt.Sprintf("%d/%d", it.Have, it.Need)
		}
		if it.Kind == projections.TodoDues {
			names := make([]string, 0, len(it.Members))
			for _, m := range it.Members {
				names = append(names, m.Name)
			}
			v.Names = strings.Join(names, "、")
		}
		if it.Type != "" && canForm && AppendAllowed(role, it.Type, "") {
			v.Link, v.LinkLabel = todoLink(code, it), "去登记"
			if it.Type == domain.TypeDuesPaid {
				v.LinkLabel = "登记本月党费"
			}
		}
		if it.Scope == projections.ScopeYear && !it.Overdue {
			c.Year = append(c.Year, v)
			continue
		}
		c.Items = append(c.Items, v)
	}
	return c, nil
}

// todoLink is the form that fulfils an item, prefilled with its values.
func todoLink(code string, it projections.TodoItem) string {
	if it.Type == domain.TypeDuesPaid {
		return "/ui/orgs/" + url.PathEscape(code) + "/dues?month=" + url.QueryEscape(it.Fields["month"])
	}
	q := url.Values{}
	keys := make([]string, 0, len(it.Fields))
	for k := range it.Fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		q.Set(k, it.Fields[k])
	}
	link := "/ui/orgs/" + url.PathEscape(code) + "/record/" + url.PathEscape(it.Type)
	if len(q) > 0 {
		link += "?" + q.Encode()
	}
	return link
}
