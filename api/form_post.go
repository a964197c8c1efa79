package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/google/uuid"

	"partyledger/domain"
	"partyledger/ledger"
	"partyledger/ledger/books"
	"partyledger/projections"
	"partyledger/projections/scoreboard"
)

var yuanRE = regexp.MustCompile(`^\d{1,9}(\.\d{1,2})?$`)

// Form actions that re-render a form without recording (the submit
// button's name is "_action").
const (
	actionSelectAll  = "select_all"  // 全选: tick every member
	actionSelectNone = "select_none" // 全不选
)

// handleRecordPost answers POST /ui/orgs/{code}/record/{type}: builds the
// journal line from the form and records it through the same path as the
// API, under the event id the form was rendered with, so a second submit
// of the same form records nothing and shows the first result. On
// success it shows the scorecard of the entry's year (the journal when
// that year has no rulebook); on failure, the form again with every
// problem in Chinese next to its field. A dues payment that is not the
// amount due, or a second one for the member and month, is saved only
// once confirmed.
func (s *Server) handleRecordPost(w http.ResponseWriter, r *http.Request) {
	st, typ, err := s.formTarget(r)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	vals := r.PostForm
	if a := vals.Get("_action"); a == actionSelectAll || a == actionSelectNone {
		for _, f := range formFields(typ) {
			if f.Kind == fieldMembers {
				vals[f.Name] = nil
				if a == actionSelectAll {
					vals[f.Name] = activeMembers(st)
				}
			}
		}
		s.render(w, r, http.StatusOK, "record_form", s.formPage(r, st, typ, vals, nil))
		return
	}
	if _, err := uuid.Parse(vals.Get("event_id")); err != nil {
		vals.Set("event_id", uuid.NewString()) // a form of an older page: no id yet
	}
	e, errs := s.entryOfForm(r, st, typ, vals)
	if len(errs) > 0 {
		s.render(w, r, http.StatusUnprocessableEntity, "record_form", s.formPage(r, st, typ, vals, errs))
		return
	}
	// A form sent again goes straight to the append, which answers with
	// the first result: its warnings were confirmed the first time.
	if warn := s.formWarnings(r.Context(), st, e); len(warn) > 0 && vals.Get("confirm") == "" && st.Events[e.ID] == "" {
		pg := s.formPage(r, st, typ, vals, nil)
		pg.Warnings, pg.Confirm = warn, true
		s.render(w, r, http.StatusOK, "record_form", pg)
		return
	}
	res, err := s.appendTimed(r.Context(), []domain.Entry{e}, principalOf(r), books.RecordOptions{})
	var ic *ledger.IDConflictError
	switch {
	case err == nil:
		dup := ""
		if res[0].Duplicate {
			dup = "1"
		}
		http.Redirect(w, r, s.recordedURL(r.Context(), st.Code, res[0].ID.String(), dup, assessedYear(e.Payload)), http.StatusSeeOther)
		return
	case errors.As(err, &ic):
		// The form was sent before with other content: its first
		// result stands.
		http.Redirect(w, r, s.recordedURL(r.Context(), st.Code, ic.ID.String(), "other", 0), http.StatusSeeOther)
		return
	}
	errs = formErrorsOf(typ, err)
	if errs == nil {
		s.pageError(w, r, err)
		return
	}
	s.render(w, r, http.StatusUnprocessableEntity, "record_form", s.formPage(r, st, typ, vals, errs))
}

// activeMembers lists the ids of the organisation's members, sorted.
func activeMembers(st *domain.OrgState) []string {
	var ids []string
	for _, m := range st.Members {
		if m.Active {
			ids = append(ids, m.ID)
		}
	}
	sort.Strings(ids)
	return ids
}

// entryOfForm turns a form into an entry, with every problem it can find
// without the ledger's state: each field's own (a number, an amount), the
// form's rules (a meeting needs attendees), the payload's validation and,
// for a finding, the rulebook's — all at once, in Chinese, by field.
func (s *Server) entryOfForm(r *http.Request, st *domain.OrgState, typ string, vals url.Values) (domain.Entry, map[string]string) {
	errs := map[string]string{}
	data := map[string]any{}
	for _, f := range formFields(typ) {
		formValue(f, vals, typ, data, errs)
	}
	on := strings.TrimSpace(vals.Get("occurred_on"))
	l := rawLine{}
	switch d, err := domain.ParseDate(on); {
	case on == "":
		errs["occurred_on"] = "必填：请选择日期"
	case err != nil:
		errs["occurred_on"] = "请填写日期（年-月-日）"
	case d.After(s.today()):
		errs["occurred_on"] = fmt.Sprintf("日期不能晚于今天（%s）", s.today())
	default:
		l["occurred_on"], _ = json.Marshal(on)
	}
	raw, err := json.Marshal(data)
	if err != nil {
		errs[""] = "输入有误"
		return domain.Entry{}, errs
	}
	l["data"] = raw
	l["type"], _ = json.Marshal(typ)
	l["id"], _ = json.Marshal(vals.Get("event_id"))
	e, err := l.entry(st.Code)
	for _, fe := range domain.FieldErrors(err) {
		if fe.Field == "occurred_on" && l["occurred_on"] == nil {
			continue // said above
		}
		if _, dup := errs[fe.Field]; !dup {
			errs[fe.Field] = zhReason(fe.Reason)
		}
	}
	if fr, ok := e.Payload.(*domain.FindingRecorded); ok && errs["data.finding"] == "" {
		if rb := s.findingRulebook(r, vals); rb != nil {
			if _, err := rb.CheckFinding(fr.Item, fr.Finding, fr.Points); err != nil {
				for _, fe := range domain.FieldErrors(err) {
					if fe.Field == "data.item" {
						fe.Field = "data.finding"
					}
					if _, dup := errs[fe.Field]; !dup {
						errs[fe.Field] = zhReason(fe.Reason)
					}
				}
			}
		}
	}
	placeErrors(typ, errs)
	return e, errs
}

// formValue reads one field of a form into data, or its problem into errs.
func formValue(f formField, vals url.Values, typ string, data map[string]any, errs map[string]string) {
	v := strings.TrimSpace(vals.Get(f.Name))
	key := "data." + f.Name
	switch f.Kind {
	case fieldMembers:
		ids := vals[f.Name]
		if ids == nil {
			ids = []string{}
		}
		data[f.Name] = ids
		if len(ids) == 0 && (typ == domain.TypeMeetingHeld || typ == domain.TypeStudySessionHeld) {
			errs[key] = "请至少选择一名参加党员（可点“全选”）"
		}
		return
	case fieldBool:
		data[f.Name] = v != ""
		return
	case fieldFinding:
		item, code := findingChoice(v)
		if item == "" || code == "" {
			errs[key] = "请从列表中选择考核项目和扣分情形"
		}
		data["item"], data["finding"] = item, code
		return
	}
	if v == "" {
		switch {
		case f.Optional:
		case f.Kind.isString():
			data[f.Name] = "" // the domain's validation says what is wrong
		default:
			errs[key] = "必填" // a number cannot be sent empty
		}
		return
	}
	switch f.Kind {
	case fieldYuan:
		if !yuanRE.MatchString(v) {
			errs[key] = "请填写金额（元），最多两位小数，如 12.50"
			return
		}
		yuan, _ := strconv.ParseFloat(v, 64)
		data[f.Name] = int64(math.Round(yuan * 100))
	case fieldInt, fieldYear:
		n, err := strconv.Atoi(v)
		if err != nil {
			errs[key] = "请填写整数"
			return
		}
		data[f.Name] = n
	case fieldPoints, fieldFindingPoints:
		if _, err := domain.ParsePoints(v); err != nil {
			errs[key] = "请填写分数，最多两位小数"
			return
		}
		data[f.Name] = json.Number(v)
	case fieldTriBool:
		data[f.Name] = v == "true"
	default:
		data[f.Name] = v
	}
}

// placeErrors puts an error about a field the form does not show on top,
// with the field's label.
func placeErrors(typ string, errs map[string]string) {
	known := map[string]bool{"occurred_on": true, "": true, "data.item": false}
	for _, f := range formFields(typ) {
		known["data."+f.Name] = true
	}
	var extra []string
	for k, v := range errs {
		base := k
		if i := strings.IndexByte(k, '['); i > 0 {
			base = k[:i]
		}
		if !known[base] {
			extra = append(extra, fieldLabel(typ, k)+"："+v)
			delete(errs, k)
		}
	}
	sort.Strings(extra)
	if len(extra) > 0 {
		errs[""] = strings.TrimPrefix(errs[""]+"；", "；") + strings.Join(extra, "；")
	}
}

// formErrorsOf turns a refused append into the form's errors by field;
// nil when the error is not the entry's fault (shown as an error page).
func formErrorsOf(typ string, err error) map[string]string {
	var ee *books.EntryError
	if errors.As(err, &ee) {
		err = ee.Err
	}
	errs := map[string]string{}
	var re *domain.RightsError
	var ye *domain.YearClosedError
	switch {
	case errors.As(err, &re) && re.Field == "data.event_id":
		errs[re.Field] = zhReason("you may not retract: " + re.Reason)
	case errors.As(err, &ye):
		errs[ye.Field] = fmt.Sprintf("%d 年度已于 %s 封账（%s），不再接受本年度的登记", ye.Close.Year, ye.Close.On, ye.Close.Reason)
	case errors.Is(err, ledger.ErrWrongExpectedRevision):
		errs[""] = "与其他人的登记冲突，请重试。"
	default:
		fes := fieldErrorsOf(err)
		if fes == nil {
			return nil
		}
		for _, fe := range fes {
			if _, dup := errs[fe.Field]; !dup {
				errs[fe.Field] = zhReason(fe.Reason)
			}
		}
	}
	placeErrors(typ, errs)
	return errs
}

// formWarnings are what a dues payment may get wrong without being
// invalid: an amount other than the one due by the member's income, and
// a second payment for the same member and month. They are shown, and
// the entry is saved once confirmed.
func (s *Server) formWarnings(ctx context.Context, st *domain.OrgState, e domain.Entry) []string {
	p, ok := e.Payload.(*domain.DuesPaid)
	if !ok {
		return nil
	}
	m, err := domain.ParseMonth(p.Month)
	if err != nil {
		return nil
	}
	mds, err := s.board.MonthDues(ctx, st.Code, scoreboard.Query{Year: m.Year, AsOf: s.asOfFor(m.Year)}, p.Month)
	if err != nil {
		return nil // no rulebook, or not scored: nothing to compare with
	}
	for _, md := range mds {
		if md.MemberID == p.MemberID {
			return duesWarnings(md, p.AmountFen)
		}
	}
	return nil
}

// duesWarnings compares a payment with what the member owes for the month.
func duesWarnings(md projections.MemberDues, amount domain.Fen) []string {
	var out []string
	if md.Payments > 0 {
		out = append(out, fmt.Sprintf("%s %s 的党费已登记 %d 笔，共 %s；再登记一笔将累加，不会替换原记录。", md.Name, md.Month, md.Payments, domain.Yuan(md.PaidFen)))
	}
	rest := md.DueFen - md.PaidFen
	if amount != md.DueFen && amount != rest {
		why := ""
		if md.Bracket != "" {
			why = "（" + md.Bracket + "）"
		}
		out = append(out, fmt.Sprintf("金额 %s与按月收入计算的应交金额 %s不符%s。", domain.Yuan(amount), domain.Yuan(md.DueFen), why))
	}
	return out
}

// asOfFor is the date a year's dues are judged at: today within the
// year, else its last day.
func (s *Server) asOfFor(year int) domain.Date {
	if t := s.today(); t.Year == year {
		return t
	}
	return domain.YearEnd(year)
}

// assessedYear is the year an assessment or a grade names (its
// scorecard is that year's, whenever it is recorded); 0 for other entries.
func assessedYear(p domain.Payload) int {
	switch x := p.(type) {
	case *domain.FindingRecorded:
		return x.Year
	case *domain.GroupAssessmentRecorded:
		return x.Year
	case *domain.GradeIssued:
		return x.Year
	case *domain.GradeRevised:
		return x.Year
	}
	return 0
}

// recordedURL is where a recorded entry is shown: the scorecard of its
// year (year, when not 0: the year it assesses; else the year it
// occurred in) with a confirmation, or the journal at the entry when the
// year has no rulebook (no scorecard). dup is "1" for a form sent again,
// "other" for one sent again with other content.
func (s *Server) recordedURL(ctx context.Context, code, id, dup string, year int) string {
	if year == 0 {
		year = s.opts.Year
		if st, err := s.books.Org(ctx, code); err == nil && st != nil {
			if m, ok := st.Meta[id]; ok && !m.On.IsZero() {
				year = m.On.Year
			}
		}
	}
	q := "year=" + strconv.Itoa(year) + "&recorded=" + url.QueryEscape(id)
	if dup != "" {
		q += "&dup=" + url.QueryEscape(dup)
	}
	if _, err := s.books.RulebookAt(ctx, year, s.now(), ""); err != nil {
		return "/ui/orgs/" + url.PathEscape(code) + "/journal?" + q + "#ev-" + id
	}
	return "/ui/orgs/" + url.PathEscape(code) + "?" + q
}

// recordedFlash is the confirmation of a page reached after recording:
// what was recorded (from the query's recorded id) and whether the form
// had been sent before.
func recordedFlash(st *domain.OrgState, q url.Values) (flash, link string) {
	id := q.Get("recorded")
	typ := st.Events[strings.ToLower(id)]
	if typ == "" {
		return "", ""
	}
	flash = "已登记：" + domain.TypeLabel(typ)
	if m, ok := st.Meta[id]; ok && !m.On.IsZero() {
		flash += "（" + m.On.String() + "）"
	}
	switch q.Get("dup") {
	case "1":
		flash = "该表单已经提交过，没有重复登记。" + flash
	case "other":
		flash = "该表单已经提交过（内容有改动），没有重复登记；以下是第一次提交的结果，如需更正请撤回后重新登记。" + flash
	}
	year := q.Get("year")
	if _, err := strconv.Atoi(year); err != nil {
		year = strconv.Itoa(st.Meta[id].On.Year)
	}
	return flash, fmt.Sprintf("/ui/orgs/%s/journal?year=%s#ev-%s", url.PathEscape(st.Code), year, id)
}
