package api

import (
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5"
	"github.com/google/uuid"

	"partyledger/domain"
)

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }

func subtleEq(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }

// fieldKind is how a form field is entered and turned into JSON.
type fieldKind int

const (
	fieldText          fieldKind = iota // string
	fieldTextarea                       // string, several lines of input (stored as one)
	fieldSelect                         // string, one of Options
	fieldMember                         // string, a member id of the organisation
	fieldMembers                        // []string, member ids (checkboxes, with 全选)
	fieldBool                           // bool (checkbox)
	fieldTriBool                        // optional bool: unchanged / yes / no
	fieldYuan                           // integer fen, entered in yuan with up to 2 decimals
	fieldInt                            // integer
	fieldPoints                         // number with up to 2 decimals
	fieldScheduled                      // string, a scheduled event targeting the organisation
	fieldDate                           // string, a date picker (YYYY-MM-DD)
	fieldMonth                          // string, a month picker (YYYY-MM)
	fieldQuarter                        // string, a quarter chosen from a list (YYYY-Qn)
	fieldHalf                           // string, a half chosen from a list (YYYY-Hn)
	fieldYear                           // integer, a year that has a rulebook, from a list
	fieldVersion                        // string, a rulebook version, from a list
	fieldFinding                        // the rulebook's item and finding, from a list (sends item and finding)
	fieldFindingPoints                  // points the chosen finding allows, from a list
)

// isString reports whether the field is sent as a JSON string.
func (k fieldKind) isString() bool {
	switch k {
	case fieldText, fieldTextarea, fieldSelect, fieldMember, fieldScheduled, fieldDate, fieldMonth, fieldQuarter, fieldHalf, fieldVersion:
		return true
	}
	return false
}

// formField is one input of a 登记 form; Name is the data field.
type formField struct {
	Name     string
	Label    string
	Kind     fieldKind
	Options  []option
	Optional bool
	// Cond says when an optional field is required ("党课必填"), shown
	// in place of 选填.
	Cond string
	Hint string
}

var (
	meetingKinds = []option{{Value: domain.MeetingBranchCommittee, Label: "支委会"}, {Value: domain.MeetingGeneralAssembly, Label: "党员大会"},
		{Value: domain.MeetingGroup, Label: "党小组会"}, {Value: domain.MeetingPartyLecture, Label: "党课"},
		{Value: domain.MeetingCommittee, Label: "党委（总支）委员会"}, {Value: domain.MeetingGroupDemocraticLife, Label: "党小组民主生活会"}}
	officerRoles = []option{{Value: domain.RoleSecretary, Label: "书记"}, {Value: domain.RoleDeputySecretary, Label: "副书记"},
		{Value: domain.RoleFulltimeDeputySecretary, Label: "专职副书记"}, {Value: domain.RoleAffairsOfficer, Label: "党务干部"}}
	educationTopics = []option{{Value: domain.TopicPartyConstitution, Label: "党章党规"}, {Value: domain.TopicSpeeches, Label: "系列讲话"},
		{Value: domain.TopicPolicy, Label: "方针政策"}, {Value: domain.TopicSituation, Label: "形势任务"}, {Value: domain.TopicCoreValues, Label: "社会主义核心价值观"}}
	campaigns = []option{{Value: domain.CampaignCivilizedUnit, Label: "文明单位创建"}, {Value: domain.CampaignVolunteer, Label: "志愿服务"},
		{Value: domain.CampaignCivilityEtiquette, Label: "文明礼仪"}}
	satInKinds = []option{{Value: domain.SatInLeadersDemocraticLife, Label: "领导班子民主生活会"}, {Value: domain.SatInLeadershipMeeting, Label: "领导班子会议"}}
	areas      = []option{{Value: domain.AreaOutreach, Label: "下基层调研和驻村帮扶"}}
	outreach   = []option{{Value: domain.OutreachGrassroots, Label: "下基层"}, {Value: domain.OutreachVillage, Label: "驻村帮扶"}, {Value: domain.OutreachEnterprise, Label: "联系企业"}}
	severities = []option{{Value: domain.SeverityOrdinary, Label: "一般"}, {Value: domain.SeveritySerious, Label: "严重"}}
	impacts    = []option{{Value: domain.ImpactNormal, Label: "一般"}, {Value: domain.ImpactSevere, Label: "影响恶劣"}}
	systems    = []option{{Value: domain.SystemResponsibility, Label: "党建工作责任制"}, {Value: domain.SystemOrgLife, Label: "组织生活制度"}, {Value: domain.SystemCareAndSupport, Label: "关怀帮扶制度"}}
	tierOpts   = []option{{Value: domain.TierAdvanced, Label: "先进"}, {Value: domain.TierCompliant, Label: "达标"}, {Value: domain.TierNonCompliant, Label: "未达标"}}
)

// overrideField is a grade's override_reason: required when the grade
// differs from the computed score or tier.
var overrideField = formField{Name: "override_reason", Label: "改定理由", Kind: fieldTextarea, Optional: true,
	Hint: "得分或等次与系统计算结果不同时必填（如申诉结果）；先进须经工委确定"}

func titleField(label string) formField {
	return formField{Name: "title", Label: label, Kind: fieldText}
}

// formFields returns the data fields of a type's form, in order.
func formFields(t string) []formField {
	switch t {
	case domain.TypeCommitteeElected:
		return []formField{{Name: "term_years", Label: "任期（年）", Kind: fieldInt}}
	case domain.TypeTermExtensionApproved:
		return []formField{{Name: "until", Label: "批准延期至", Kind: fieldDate}, {Name: "reason", Label: "延期理由", Kind: fieldTextarea}}
	case domain.TypeOfficerAppointed, domain.TypeOfficerVacated:
		return []formField{{Name: "role", Label: "职务", Kind: fieldSelect, Options: officerRoles}, {Name: "member_id", Label: "党员", Kind: fieldMember}}
	case domain.TypeMemberJoined:
		return []formField{{Name: "member_id", Label: "党员编号", Kind: fieldText, Hint: "字母、数字、- 或 _"}, {Name: "name", Label: "姓名", Kind: fieldText},
			{Name: "is_leader", Label: "党员领导干部", Kind: fieldBool}, {Name: "monthly_income_fen", Label: "月收入（元）", Kind: fieldYuan}}
	case domain.TypeMemberDetailsChanged:
		return []formField{{Name: "member_id", Label: "党员", Kind: fieldMember}, {Name: "is_leader", Label: "党员领导干部", Kind: fieldTriBool, Optional: true},
			{Name: "monthly_income_fen", Label: "月收入（元）", Kind: fieldYuan, Optional: true, Hint: "不变则留空"}}
	case domain.TypeMemberTransferredOut:
		return []formField{{Name: "member_id", Label: "党员", Kind: fieldMember}}
	case domain.TypeMeetingHeld:
		return []formField{{Name: "kind", Label: "会议类型", Kind: fieldSelect, Options: meetingKinds}, {Name: "topic", Label: "会议主题", Kind: fieldText},
			{Name: "attendees", Label: "参会党员", Kind: fieldMembers},
			{Name: "lecturer_id", Label: "授课人", Kind: fieldMember, Optional: true, Cond: "党课必填，其他会议不填"}}
	case domain.TypeStudySessionHeld:
		return []formField{{Name: "topic", Label: "学习主题", Kind: fieldText}, {Name: "attendees", Label: "参加党员", Kind: fieldMembers},
			{Name: "notes_kept", Label: "有学习笔记", Kind: fieldBool}}
	case domain.TypeEducationActivityHeld:
		return []formField{{Name: "topic", Label: "教育主题", Kind: fieldSelect, Options: educationTopics}, titleField("活动名称")}
	case domain.TypeCampaignActivityHeld:
		return []formField{{Name: "campaign", Label: "创建类别", Kind: fieldSelect, Options: campaigns}, titleField("活动名称")}
	case domain.TypeMassOrgEducationHeld, domain.TypeSignatureActivityHeld, domain.TypeInnovationRecorded, domain.TypeResearchReportSubmitted,
		domain.TypeWorkInfoSubmitted, domain.TypeIntegrityActivityHeld, domain.TypePartyWorkReviewed, domain.TypeDemocraticLifeReported,
		domain.TypeAdministrativeReportGiven:
		return []formField{titleField("名称")}
	case domain.TypeDuesAccountOpened:
		return []formField{{Name: "bank", Label: "开户银行", Kind: fieldText}, {Name: "account_last4", Label: "账号后四位", Kind: fieldText}}
	case domain.TypeDuesPaid:
		return []formField{{Name: "member_id", Label: "党员", Kind: fieldMember}, {Name: "month", Label: "所属月份", Kind: fieldMonth},
			{Name: "amount_fen", Label: "金额（元）", Kind: fieldYuan, Hint: "按月收入和党费标准计算的应交金额见“党员名册”；整月登记全体党员请用“党费”"}}
	case domain.TypeDuesRemitted:
		return []formField{{Name: "quarter", Label: "所属季度", Kind: fieldQuarter}, {Name: "amount_fen", Label: "金额（元）", Kind: fieldYuan}}
	case domain.TypeSelfInspectionCompleted:
		return []formField{{Name: "half", Label: "半年", Kind: fieldHalf, Hint: "自查须在该半年内完成"}}
	case domain.TypeSubordinateInspected:
		return []formField{{Name: "subordinate_code", Label: "被检查组织代码", Kind: fieldText, Hint: "如 LY-0012"}}
	case domain.TypeAttendanceRecorded:
		return []formField{{Name: "scheduled_event_id", Label: "工委部署的活动", Kind: fieldScheduled}}
	case domain.TypeMeetingSatIn:
		return []formField{{Name: "kind", Label: "会议类型", Kind: fieldSelect, Options: satInKinds}, titleField("会议名称")}
	case domain.TypeWorkPlanFiled, domain.TypeWorkSummaryFiled:
		return []formField{{Name: "area", Label: "工作领域", Kind: fieldSelect, Options: areas}}
	case domain.TypeOutreachVisit:
		return []formField{{Name: "kind", Label: "类型", Kind: fieldSelect, Options: outreach}, titleField("名称")}
	case domain.TypeViolationRecorded:
		return []formField{{Name: "case_id", Label: "案件编号", Kind: fieldText}, {Name: "person", Label: "当事人", Kind: fieldText},
			{Name: "severity", Label: "性质", Kind: fieldSelect, Options: severities}, {Name: "impact", Label: "影响", Kind: fieldSelect, Options: impacts},
			{Name: "summary", Label: "情况摘要", Kind: fieldTextarea}}
	case domain.TypeCaseHandled:
		return []formField{{Name: "case_id", Label: "案件编号", Kind: fieldText}, {Name: "outcome", Label: "处理结果", Kind: fieldTextarea}}
	case domain.TypeSystemAdopted:
		return []formField{{Name: "system", Label: "制度类别", Kind: fieldSelect, Options: systems}, titleField("制度名称")}
	case domain.TypeFindingRecorded:
		return []formField{{Name: "year", Label: "考核年度", Kind: fieldYear}, {Name: "finding", Label: "考核项目和扣分情形", Kind: fieldFinding},
			{Name: "points", Label: "扣分", Kind: fieldFindingPoints, Optional: true}, {Name: "reason", Label: "原因", Kind: fieldTextarea}}
	case domain.TypeGroupAssessmentRecorded:
		return []formField{{Name: "year", Label: "考核年度", Kind: fieldYear}, {Name: "score", Label: "分组考评得分", Kind: fieldPoints, Hint: "0 至 100，最多两位小数"}}
	case domain.TypeEventRetracted:
		return []formField{{Name: "event_id", Label: "撤回的事件编号", Kind: fieldText}, {Name: "reason", Label: "撤回原因", Kind: fieldTextarea}}
	case domain.TypeEventRejected:
		return []formField{{Name: "event_id", Label: "退回的事件编号", Kind: fieldText}, {Name: "reason", Label: "退回原因", Kind: fieldTextarea, Hint: "支部将在评分卡和台账中看到"}}
	case domain.TypeGradeIssued:
		return []formField{{Name: "year", Label: "考核年度", Kind: fieldYear}, {Name: "rulebook_version", Label: "细则版本", Kind: fieldVersion},
			{Name: "final", Label: "最终得分", Kind: fieldPoints}, {Name: "tier", Label: "等次", Kind: fieldSelect, Options: tierOpts}, overrideField}
	case domain.TypeGradeRevised:
		return []formField{{Name: "year", Label: "考核年度", Kind: fieldYear}, {Name: "rulebook_version", Label: "细则版本", Kind: fieldVersion},
			{Name: "final", Label: "最终得分", Kind: fieldPoints}, {Name: "tier", Label: "等次", Kind: fieldSelect, Options: tierOpts},
			{Name: "reason", Label: "更正原因", Kind: fieldTextarea}, overrideField}
	}
	return nil
}

type recordIndexPage struct {
	base
	Org   *domain.OrgState
	Types []option
	Dues  string // the monthly dues form, when the role may record dues
}

// handleRecordIndexPage answers GET /ui/orgs/{code}/record: the kinds of
// event this role may record for the organisation.
func (s *Server) handleRecordIndexPage(w http.ResponseWriter, r *http.Request) {
	code := chi.URLParam(r, "code")
	st, err := s.org(r.Context(), code)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	pg := recordIndexPage{base: s.base(r, st.Name+" 登记"), Org: st}
	pg.OrgCode, pg.CanRecord = code, true
	role := principalOf(r).Role
	for _, t := range AppendableTypes(role) {
		pg.Types = append(pg.Types, option{Value: t, Label: domain.TypeLabel(t)})
	}
	if AppendAllowed(role, domain.TypeDuesPaid, "") {
		pg.Dues = "/ui/orgs/" + url.PathEscape(code) + "/dues"
	}
	s.render(w, r, http.StatusOK, "record_index", pg)
}

// inputView is one field of a rendered form.
type inputView struct {
	formField
	ID                                              string
	Value                                           string
	Checked                                         bool
	Choices                                         []option   // select options, members, scheduled events
	Groups                                          []optGroup // a select's options in groups (findings by item)
	Error                                           string
	IsText, IsTextarea, IsSelect, IsMembers, IsBool bool
	InputType                                       string // text, date, month
	Mode                                            string // inputmode: decimal, numeric
	Fixed                                           string // a value shown, not chosen (a fixed finding's points, the finding chosen in step 1)
	Hidden                                          bool   // Value is sent as it is (with Fixed)
}

// optGroup is a group of a select's options.
type optGroup struct {
	Label   string
	Options []option
}

type recordFormPage struct {
	base
	Org        *domain.OrgState
	Type       string
	TypeLabel  string
	Action     string
	OccurredOn string
	DateError  string
	Inputs     []inputView
	FormError  string
	// EventID is the id the entry will be recorded with, generated when
	// the form is rendered: a second submit of the same form (back
	// button, double tap, retry) is the same event, recorded once.
	EventID string
	// Errors counts the problems shown; Warnings need Confirm to save.
	Errors   int
	Warnings []string
	Confirm  bool
	// Step1 is the first step of the finding form: choose the item and
	// the finding (GET), then the points it allows.
	Step1   bool
	Finding string // the chosen finding, in Chinese
	Years   []option
	Rechose string // the link back to step 1
}

// handleRecordFormPage answers GET /ui/orgs/{code}/record/{type}: the
// form, with a new event id. Fields may be prefilled from the query (the
// journal's 撤回 link, the 待办 list's links).
func (s *Server) handleRecordFormPage(w http.ResponseWriter, r *http.Request) {
	st, typ, err := s.formTarget(r)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	vals := r.URL.Query()
	vals.Set("event_id", uuid.NewString())
	pg := s.formPage(r, st, typ, vals, nil)
	s.render(w, r, http.StatusOK, "record_form", pg)
}

// formTarget resolves the organisation and the type of a form route and
// checks that the role may record that type.
func (s *Server) formTarget(r *http.Request) (*domain.OrgState, string, error) {
	st, err := s.org(r.Context(), chi.URLParam(r, "code"))
	if err != nil {
		return nil, "", err
	}
	typ := chi.URLParam(r, "type")
	if !domain.KnownType(typ) || formFields(typ) == nil {
		return nil, "", errNotFound("no form for %q", typ)
	}
	if !AppendAllowed(principalOf(r).Role, typ, "") {
		return nil, "", errForbidden("role %s may not record %s", principalOf(r).Role, typ)
	}
	return st, typ, nil
}

// today is the CST date of the server's clock.
func (s *Server) today() domain.Date { return domain.DateOf(s.now()) }

func (s *Server) formPage(r *http.Request, st *domain.OrgState, typ string, vals url.Values, errs map[string]string) recordFormPage {
	pg := recordFormPage{base: s.base(r, domain.TypeLabel(typ)+" — 登记"), Org: st, Type: typ, TypeLabel: domain.TypeLabel(typ),
		Action:     "/ui/orgs/" + url.PathEscape(st.Code) + "/record/" + url.PathEscape(typ),
		OccurredOn: vals.Get("occurred_on"), DateError: errs["occurred_on"], FormError: errs[""], EventID: vals.Get("event_id")}
	pg.OrgCode, pg.CanRecord = st.Code, true
	pg.Errors = len(errs)
	if pg.OccurredOn == "" {
		pg.OccurredOn = s.today().String()
	}
	on, err := domain.ParseDate(pg.OccurredOn)
	if err != nil {
		on = s.today()
	}
	var members []option
	for _, m := range st.Members {
		if m.Active {
			members = append(members, option{Value: m.ID, Label: m.Name + "（" + m.ID + "）"})
		}
	}
	sort.Slice(members, func(i, j int) bool { return members[i].Value < members[j].Value })
	for _, f := range formFields(typ) {
		in := inputView{formField: f, ID: "f-" + f.Name, Value: vals.Get(f.Name), Error: errs["data."+f.Name], InputType: "text"}
		// Errors about one element of a list belong to the list.
		for k, v := range errs {
			if strings.HasPrefix(k, "data."+f.Name+"[") && in.Error == "" {
				in.Error = v
			}
		}
		s.fillInput(r, &pg, &in, st, on, vals, members)
		pg.Inputs = append(pg.Inputs, in)
	}
	return pg
}

// fillInput sets how one field is entered and its choices.
func (s *Server) fillInput(r *http.Request, pg *recordFormPage, in *inputView, st *domain.OrgState, on domain.Date, vals url.Values,
	members []option) {
	f := in.formField
	switch f.Kind {
	case fieldText:
		in.IsText = true
	case fieldYuan, fieldPoints:
		in.IsText, in.Mode = true, "decimal"
	case fieldInt:
		in.IsText, in.Mode = true, "numeric"
	case fieldDate:
		in.IsText, in.InputType = true, "date"
	case fieldMonth:
		in.IsText, in.InputType = true, "month"
		if in.Value == "" {
			in.Value = fmt.Sprintf("%04d-%02d", on.Year, int(on.Month))
		}
	case fieldTextarea:
		in.IsTextarea = true
	case fieldBool:
		in.IsBool, in.Checked = true, vals.Get(f.Name) != ""
	case fieldSelect:
		in.IsSelect = true
		in.Choices = append([]option{{Value: "", Label: "请选择"}}, selected(f.Options, in.Value)...)
	case fieldTriBool:
		in.IsSelect = true
		in.Choices = selected([]option{{Value: "", Label: "不变"}, {Value: "true", Label: "是"}, {Value: "false", Label: "否"}}, in.Value)
	case fieldMember:
		in.IsSelect = true
		in.Choices = append([]option{{Value: "", Label: "请选择"}}, selected(members, in.Value)...)
	case fieldMembers:
		in.IsMembers = true
		chosen := map[string]bool{}
		for _, v := range vals[f.Name] {
			chosen[v] = true
		}
		for _, m := range members {
			m.Selected = chosen[m.Value]
			in.Choices = append(in.Choices, m)
		}
	case fieldScheduled:
		in.IsSelect = true
		var opts []option
		if sched, err := s.books.Schedule(r.Context()); err == nil {
			for _, ev := range scheduledFor(sched, st.Code) {
				opts = append(opts, option{Value: ev.ScheduledEventID, Label: ev.Title + "（" + ev.ScheduledEventID + "）"})
			}
		}
		in.Choices = append([]option{{Value: "", Label: "请选择"}}, selected(opts, in.Value)...)
	case fieldQuarter, fieldHalf:
		in.IsSelect = true
		if in.Value == "" {
			if f.Kind == fieldQuarter {
				in.Value = fmt.Sprintf("%d-Q%d", on.Year, on.Quarter())
			} else {
				in.Value = fmt.Sprintf("%d-H%d", on.Year, on.Half())
			}
		}
		in.Choices = append([]option{{Value: "", Label: "请选择"}}, selected(s.periodOptions(f.Kind, on), in.Value)...)
	case fieldYear:
		in.IsSelect = true
		if in.Value == "" {
			in.Value = strconv.Itoa(s.opts.Year)
		}
		in.Choices = selected(s.rulebookYears(r), in.Value)
	case fieldVersion:
		in.IsSelect = true
		in.Choices = append([]option{{Value: "", Label: "请选择"}}, selected(s.versionOptions(r), in.Value)...)
	case fieldFinding:
		s.fillFinding(r, pg, in, vals)
	case fieldFindingPoints:
		s.fillFindingPoints(r, in, vals)
	}
}

// formYears are the years a period is chosen from: this year and the
// last, and the assessment year the server shows by default.
func (s *Server) formYears(on domain.Date) []int {
	ys := []int{on.Year, s.today().Year, s.today().Year - 1, s.opts.Year}
	sort.Sort(sort.Reverse(sort.IntSlice(ys)))
	return slices.Compact(ys)
}

var quarterNames = []string{"", "第一季度", "第二季度", "第三季度", "第四季度"}

// periodOptions are the quarters or halves of formYears, newest first.
func (s *Server) periodOptions(k fieldKind, on domain.Date) []option {
	var out []option
	for _, y := range s.formYears(on) {
		if k == fieldQuarter {
			for q := 4; q >= 1; q-- {
				out = append(out, option{Value: fmt.Sprintf("%d-Q%d", y, q), Label: fmt.Sprintf("%d 年%s", y, quarterNames[q])})
			}
			continue
		}
		out = append(out, option{Value: fmt.Sprintf("%d-H2", y), Label: fmt.Sprintf("%d 年下半年", y)},
			option{Value: fmt.Sprintf("%d-H1", y), Label: fmt.Sprintf("%d 年上半年", y)})
	}
	return out
}

// rulebookYears are the years that have a rulebook (assessment years a
// finding, group score or grade may name), newest first.
func (s *Server) rulebookYears(r *http.Request) []option {
	var out []option
	for _, y := range s.formYears(s.today()) {
		if all, err := s.books.Rulebooks(r.Context(), y); err == nil && len(all) > 0 {
			out = append(out, option{Value: strconv.Itoa(y), Label: fmt.Sprintf("%d 年度", y)})
		}
	}
	return out
}

// versionOptions are the rulebook versions of those years.
func (s *Server) versionOptions(r *http.Request) []option {
	var out []option
	for _, y := range s.rulebookYears(r) {
		n, _ := strconv.Atoi(y.Value)
		all, err := s.books.Rulebooks(r.Context(), n)
		if err != nil {
			continue
		}
		for i := len(all) - 1; i >= 0; i-- {
			label := all[i].Rulebook.Version + "（" + y.Label
			if i == len(all)-1 {
				label += "，现行"
			}
			out = append(out, option{Value: all[i].Rulebook.Version, Label: label + "）"})
		}
	}
	return out
}

// findingRulebook is the rulebook in force now for the form's year.
func (s *Server) findingRulebook(r *http.Request, vals url.Values) *domain.Rulebook {
	y, err := strconv.Atoi(vals.Get("year"))
	if err != nil {
		y = s.opts.Year
	}
	rb, err := s.books.RulebookAt(r.Context(), y, s.now(), "")
	if err != nil {
		return nil
	}
	return rb
}

// findingChoice splits the value of the finding list, "3.2/low_satisfaction".
func findingChoice(v string) (item, finding string) {
	item, finding, _ = strings.Cut(v, "/")
	return item, finding
}

// findingPointsText says what a finding deducts, in Chinese.
func findingPointsText(it *domain.RuleItem, f *domain.FindingRule) string {
	switch {
	case f.IsRange():
		return fmt.Sprintf("扣 %s–%s 分", f.Min, f.Max)
	case f.All:
		return fmt.Sprintf("本项 %s 分全扣", it.Value)
	}
	return fmt.Sprintf("扣 %s 分", f.Points)
}

// fillFinding offers the items and findings of the rulebook in force, in
// groups by item. Without a choice yet the form is step 1 (a GET that
// comes back with the choice); with one, the choice is shown and kept.
func (s *Server) fillFinding(r *http.Request, pg *recordFormPage, in *inputView, vals url.Values) {
	in.IsSelect = true
	rb := s.findingRulebook(r, vals)
	choice := vals.Get("finding")
	if item := vals.Get("item"); item != "" && !strings.Contains(choice, "/") {
		choice = item + "/" + choice
	}
	in.Value = choice
	if rb == nil {
		in.Error = "该年度没有考核细则"
		pg.Step1 = true
		return
	}
	item, code := findingChoice(choice)
	it := rb.Item(item)
	var fr *domain.FindingRule
	if it != nil {
		fr = it.Finding(code)
	}
	for i := range rb.Items {
		ri := &rb.Items[i]
		if len(ri.Findings) == 0 {
			continue
		}
		g := optGroup{Label: ri.Code + " " + ri.Title}
		for j := range ri.Findings {
			f := &ri.Findings[j]
			v := ri.Code + "/" + f.Code
			g.Options = append(g.Options, option{Value: v, Label: ri.Code + " " + f.Label + "（" + findingPointsText(ri, f) + "）", Selected: v == choice})
		}
		in.Groups = append(in.Groups, g)
	}
	if fr == nil {
		pg.Step1 = true
		if choice != "" && in.Error == "" {
			in.Error = "请从列表中选择"
		}
		return
	}
	pg.Finding = it.Code + " " + it.Title + " · " + fr.Label + "（" + findingPointsText(it, fr) + "）"
	in.IsSelect, in.Fixed, in.Hidden, in.Groups = false, pg.Finding, true, nil
	q := url.Values{"year": {vals.Get("year")}}
	pg.Rechose = pg.Action + "?" + q.Encode()
}

// fillFindingPoints offers the points the chosen finding allows: every
// step of 0.5 in its range, or its fixed points shown.
func (s *Server) fillFindingPoints(r *http.Request, in *inputView, vals url.Values) {
	rb := s.findingRulebook(r, vals)
	item, code := findingChoice(vals.Get("finding"))
	if item == "" {
		item = vals.Get("item")
	}
	if rb == nil || rb.Item(item) == nil || rb.Item(item).Finding(code) == nil {
		return
	}
	it := rb.Item(item)
	f := it.Finding(code)
	if !f.IsRange() {
		fixed := f.Points
		if f.All {
			fixed = it.Value
		}
		in.Fixed = fixed.String() + " 分（固定扣分）"
		return
	}
	in.IsSelect = true
	in.Label = fmt.Sprintf("扣分（%s 至 %s 分，以 0.5 分为单位）", f.Min, f.Max)
	in.Optional = false
	in.Choices = []option{{Value: "", Label: "请选择"}}
	for p := f.Min; p <= f.Max; p += 50 {
		in.Choices = append(in.Choices, option{Value: p.String(), Label: p.String() + " 分", Selected: p.String() == in.Value})
	}
}

func selected(opts []option, v string) []option {
	out := make([]option, len(opts))
	for i, o := range opts {
		o.Selected = o.Value == v
		out[i] = o
	}
	return out
}

func fieldLabel(typ, field string) string {
	if field == "occurred_on" {
		return "日期"
	}
	for _, f := range formFields(typ) {
		if strings.HasPrefix(field, "data."+f.Name) {
			return f.Label
		}
	}
	return field
}

// zhReasons translates the domain's validation reasons (English, for the
// API) for the forms; a reason not listed is shown with a Chinese prefix.
var zhReasons = []struct {
	re *regexp.Regexp
	zh string
}{
	{regexp.MustCompile(`^must not be blank`), "不能为空白"},
	{regexp.MustCompile(`^longer than (\d+) characters`), "不能超过 $1 个字"},
	{regexp.MustCompile(`is in the future \(today is (.*)\)`), "日期不能晚于今天（$1）"},
	{regexp.MustCompile(`is outside (.*)\.\.(.*)`), "日期须在 $1 至 $2 之间"},
	{regexp.MustCompile(`^member "(.*)" does not belong to`), "党员 $1 不属于本组织"},
	{regexp.MustCompile(`^member "(.*)" has transferred out`), "党员 $1 已转出"},
	{regexp.MustCompile(`^member "(.*)" listed twice`), "党员 $1 重复"},
	{regexp.MustCompile(`^member "(.*)" already belongs`), "党员编号 $1 已存在"},
	{regexp.MustCompile(`^member "(.*)" already holds`), "该党员已担任此职务"},
	{regexp.MustCompile(`^member "(.*)" does not hold`), "该党员未担任此职务"},
	{regexp.MustCompile(`^only letters, digits`), "只能包含字母、数字、- 和 _"},
	{regexp.MustCompile(`^want a date`), "请填写日期（年-月-日）"},
	{regexp.MustCompile(`^want exactly 4 digits`), "请填写 4 位数字"},
	{regexp.MustCompile(`^must be positive`), "必须大于 0"},
	{regexp.MustCompile(`^must not be negative`), "不能为负数"},
	{regexp.MustCompile(`^only a party_lecture has a lecturer`), "只有党课需要授课人"},
	{regexp.MustCompile(`^no scheduled event`), "没有该工委活动"},
	{regexp.MustCompile(`does not target`), "该工委活动不要求本组织参加"},
	{regexp.MustCompile(`^no case "(.*)"`), "没有案件 $1"},
	{regexp.MustCompile(`^case "(.*)" already exists`), "案件编号 $1 已存在"},
	{regexp.MustCompile(`^case "(.*)" is already handled`), "案件 $1 已处理"},
	{regexp.MustCompile(`^no event (.*) in`), "本组织没有该事件"},
	{regexp.MustCompile(`is already retracted`), "该事件已撤回"},
	{regexp.MustCompile(`cannot be retracted`), "该类事件不能撤回"},
	{regexp.MustCompile(`^want an event id`), "请填写事件编号"},
	{regexp.MustCompile(`^organisation "(.*)" is not registered`), "组织 $1 未登记"},
	{regexp.MustCompile(`cannot inspect itself`), "不能检查本组织"},
	{regexp.MustCompile(`^want 1\.\.(\d+)`), "请填写 1 至 $1"},
	{regexp.MustCompile(`^want 0\.\.100`), "请填写 0 至 100"},
	{regexp.MustCompile(`is not one of`), "请从列表中选择"},
	{regexp.MustCompile(`^want a month|is not a month`), "月份格式应为 年-月，如 2016-03"},
	{regexp.MustCompile(`^month (.*) is more than a year away`), "所属月份 $1 与交纳日期相差超过一年"},
	{regexp.MustCompile(`^want YYYY-Q`), "季度格式应为 年-Q季度，如 2016-Q1"},
	{regexp.MustCompile(`^quarter (.*) does not fit`), "所属季度 $1 与上缴日期不符"},
	{regexp.MustCompile(`^want YYYY-H`), "半年格式应为 年-H1 或 年-H2"},
	{regexp.MustCompile(`^half (.*) does not fit`), "半年 $1 与自查日期不符"},
	{regexp.MustCompile(`is not a calendar date`), "没有这一天"},
	{regexp.MustCompile(`^you may not retract: .*recorded by the (\w+) role`), "只能撤回本支部自己登记的事项（该条由 $1 登记）"},
	{regexp.MustCompile(`^you may not retract`), "您不能撤回该事件"},
	{regexp.MustCompile(`^year closed: (.*)`), "$1"},
	{regexp.MustCompile(`^先进 \(advanced\) only for`), "只有经工委确定为先进的组织才能评为先进"},
	{regexp.MustCompile(`^required: the grade \(final (.*), (.*)\) differs from the computation \(final (.*), (.*)\)`), "评定结果（$1 分，$2）与系统计算（$3 分，$4）不同，须填写改定理由"},
	{regexp.MustCompile(`is already rejected`), "该事件已退回"},
	{regexp.MustCompile(`^only the organisation's own entries can be rejected`), "只能退回组织自行登记的事项"},
	{regexp.MustCompile(`^rulebook (\S+) has no item "(.*)"`), "细则 $1 没有第 $2 项，请从列表中选择"},
	{regexp.MustCompile(`^item (\S+) has no finding`), "第 $1 项没有这一扣分情形，请从列表中选择"},
	{regexp.MustCompile(`^required: finding \S+ of item \S+ takes (\S+) to (\S+) points`), "必填：该情形扣 $1 至 $2 分，请从列表中选择"},
	{regexp.MustCompile(`^(\S+) is not allowed: finding \S+ of item \S+ takes (\S+) to (\S+) points`), "不能扣 $1 分：该情形扣 $2 至 $3 分，以 0.5 分为单位"},
	{regexp.MustCompile(`^finding \S+ of item \S+ is fixed at (\S+) points`), "该情形固定扣 $1 分"},
	{regexp.MustCompile(`^no rulebook is in force for (\d+)`), "$1 年度没有现行考核细则"},
	{regexp.MustCompile(`^want a year within (\d+)\.\.(\d+)`), "年度须在 $1 至 $2 之间"},
	{regexp.MustCompile(`^year (\d+) has not begun`), "$1 年度尚未开始"},
	{regexp.MustCompile(`^want a positive number of points, at most 100`), "请填写大于 0、不超过 100 的分数"},
	{regexp.MustCompile(`^want a calendar date within (.*)\.\.(.*)`), "日期须在 $1 至 $2 之间"},
	{regexp.MustCompile(`^required: a date`), "必填：请选择日期"},
	{regexp.MustCompile(`^required \(a list of member ids`), "必填：请选择党员"},
	{regexp.MustCompile(`^required; one of`), "必填：请从列表中选择"},
	{regexp.MustCompile(`^larger than (\d+) fen`), "金额过大"},
	{regexp.MustCompile(`^give is_leader or monthly_income_fen`), "请至少填写“党员领导干部”或“月收入”之一"},
	{regexp.MustCompile(`is not after the approval date`), "延期日期须晚于批准日期"},
	{regexp.MustCompile(`^no version|^no rulebook version`), "没有该细则版本，请从列表中选择"},
	{regexp.MustCompile(`differs from the document's`), "与细则文件不一致"},
	{regexp.MustCompile(`^already used by another`), "该编号已被使用"},
	{regexp.MustCompile(`^already recorded with other content`), "该表单已提交过，内容不同"},
	{regexp.MustCompile(`^want an RFC 3339`), "请填写时间"},
	{regexp.MustCompile(`^want (\d+) lower-case hex digits`), "格式有误"},
	{regexp.MustCompile(`^role \S+ may not`), "您的角色不能登记此项"},
	{regexp.MustCompile(`^a branch records only for its own organisation`), "党支部只能为本组织登记"},
	{regexp.MustCompile(`^required`), "必填"},
}

func zhReason(reason string) string {
	for _, z := range zhReasons {
		if z.re.MatchString(reason) {
			return z.re.ReplaceAllString(z.re.FindString(reason), z.zh)
		}
	}
	// An untranslated reason stays out of the page (it is English, for
	// the API); the field is still marked.
	return "输入有误，请检查后重试"
}
