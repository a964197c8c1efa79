package api

import (
	"crypto/subtle"
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

	"github.com/go-chi/chi/v5"

	"partyledger/domain"
	"partyledger/ledger"
	"partyledger/ledger/books"
)

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }

func subtleEq(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }

// fieldKind is how a form field is entered and turned into JSON.
type fieldKind int

const (
	fieldText      fieldKind = iota // string
	fieldTextarea                   // string, several lines of input (stored as one)
	fieldSelect                     // string, one of Options
	fieldMember                     // string, a member id of the organisation
	fieldMembers                    // []string, member ids (checkboxes)
	fieldBool                       // bool (checkbox)
	fieldTriBool                    // optional bool: unchanged / yes / no
	fieldYuan                       // integer fen, entered in yuan with up to 2 decimals
	fieldInt                        // integer
	fieldPoints                     // number with up to 2 decimals
	fieldScheduled                  // string, a scheduled event targeting the organisation
)

// isString reports whether the field is sent as a JSON string.
func (k fieldKind) isString() bool {
	switch k {
	case fieldText, fieldTextarea, fieldSelect, fieldMember, fieldScheduled:
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
	Hint     string
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
		return []formField{{Name: "until", Label: "批准延期至", Kind: fieldText, Hint: "如 2017-06-30"}, {Name: "reason", Label: "延期理由", Kind: fieldTextarea}}
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
			{Name: "attendees", Label: "参会党员", Kind: fieldMembers}, {Name: "lecturer_id", Label: "授课人（仅党课）", Kind: fieldMember, Optional: true}}
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
		return []formField{{Name: "member_id", Label: "党员", Kind: fieldMember}, {Name: "month", Label: "所属月份", Kind: fieldText, Hint: "如 2016-03"},
			{Name: "amount_fen", Label: "金额（元）", Kind: fieldYuan}}
	case domain.TypeDuesRemitted:
		return []formField{{Name: "quarter", Label: "所属季度", Kind: fieldText, Hint: "如 2016-Q1"}, {Name: "amount_fen", Label: "金额（元）", Kind: fieldYuan}}
	case domain.TypeSelfInspectionCompleted:
		return []formField{{Name: "half", Label: "半年", Kind: fieldText, Hint: "如 2016-H1"}}
	case domain.TypeSubordinateInspected:
		return []formField{{Name: "subordinate_code", Label: "被检查组织代码", Kind: fieldText}}
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
		return []formField{{Name: "year", Label: "考核年度", Kind: fieldInt}, {Name: "item", Label: "考核项目", Kind: fieldText, Hint: "如 3.2"},
			{Name: "finding", Label: "扣分情形代码", Kind: fieldText}, {Name: "points", Label: "扣分", Kind: fieldPoints, Optional: true, Hint: "固定扣分的情形留空"},
			{Name: "reason", Label: "原因", Kind: fieldTextarea}}
	case domain.TypeGroupAssessmentRecorded:
		return []formField{{Name: "year", Label: "考核年度", Kind: fieldInt}, {Name: "score", Label: "分组考评得分", Kind: fieldPoints}}
	case domain.TypeEventRetracted:
		return []formField{{Name: "event_id", Label: "撤回的事件编号", Kind: fieldText}, {Name: "reason", Label: "撤回原因", Kind: fieldTextarea}}
	case domain.TypeEventRejected:
		return []formField{{Name: "event_id", Label: "退回的事件编号", Kind: fieldText}, {Name: "reason", Label: "退回原因", Kind: fieldTextarea, Hint: "支部将在评分卡和台账中看到"}}
	case domain.TypeGradeIssued:
		return []formField{{Name: "year", Label: "考核年度", Kind: fieldInt}, {Name: "rulebook_version", Label: "细则版本", Kind: fieldText},
			{Name: "final", Label: "最终得分", Kind: fieldPoints}, {Name: "tier", Label: "等次", Kind: fieldSelect, Options: tierOpts}, overrideField}
	case domain.TypeGradeRevised:
		return []formField{{Name: "year", Label: "考核年度", Kind: fieldInt}, {Name: "rulebook_version", Label: "细则版本", Kind: fieldText},
			{Name: "final", Label: "最终得分", Kind: fieldPoints}, {Name: "tier", Label: "等次", Kind: fieldSelect, Options: tierOpts},
			{Name: "reason", Label: "更正原因", Kind: fieldTextarea}, overrideField}
	}
	return nil
}

type recordIndexPage struct {
	base
	Org   *domain.OrgState
	Types []option
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
	for _, t := range AppendableTypes(principalOf(r).Role) {
		pg.Types = append(pg.Types, option{Value: t, Label: domain.TypeLabel(t)})
	}
	s.render(w, r, http.StatusOK, "record_index", pg)
}

// inputView is one field of a rendered form.
type inputView struct {
	formField
	ID                                              string
	Value                                           string
	Checked                                         bool
	Choices                                         []option // select options, members, scheduled events
	Error                                           string
	IsText, IsTextarea, IsSelect, IsMembers, IsBool bool
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
}

// handleRecordFormPage answers GET /ui/orgs/{code}/record/{type}: the form.
func (s *Server) handleRecordFormPage(w http.ResponseWriter, r *http.Request) {
	st, typ, err := s.formTarget(r)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	// Fields may be prefilled from the query (the journal's 撤回 link).
	pg := s.formPage(r, st, typ, r.URL.Query(), nil)
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

func (s *Server) formPage(r *http.Request, st *domain.OrgState, typ string, vals url.Values, errs map[string]string) recordFormPage {
	pg := recordFormPage{base: s.base(r, domain.TypeLabel(typ)+" — 登记"), Org: st, Type: typ, TypeLabel: domain.TypeLabel(typ),
		Action:     "/ui/orgs/" + url.PathEscape(st.Code) + "/record/" + url.PathEscape(typ),
		OccurredOn: vals.Get("occurred_on"), DateError: errs["occurred_on"], FormError: errs[""]}
	pg.OrgCode, pg.CanRecord = st.Code, true
	if pg.OccurredOn == "" {
		pg.OccurredOn = domain.DateOf(s.now()).String()
		if y := s.opts.Year; y < domain.DateOf(s.now()).Year {
			pg.OccurredOn = ""
		}
	}
	var members []option
	for _, m := range st.Members {
		if m.Active {
			members = append(members, option{Value: m.ID, Label: m.Name + "（" + m.ID + "）"})
		}
	}
	sort.Slice(members, func(i, j int) bool { return members[i].Value < members[j].Value })
	for _, f := range formFields(typ) {
		in := inputView{formField: f, ID: "f-" + f.Name, Value: vals.Get(f.Name), Error: errs["data."+f.Name]}
		// Errors about one element of a list belong to the list.
		for k, v := range errs {
			if strings.HasPrefix(k, "data."+f.Name+"[") && in.Error == "" {
				in.Error = v
			}
		}
		switch f.Kind {
		case fieldText, fieldYuan, fieldInt, fieldPoints:
			in.IsText = true
		case fieldTextarea:
			in.IsTextarea = true
		case fieldBool:
			in.IsBool, in.Checked = true, vals.Get(f.Name) != ""
		case fieldSelect:
			in.IsSelect = true
			in.Choices = append([]option{{Value: "", Label: "请选择"}}, selected(f.Options, vals.Get(f.Name))...)
		case fieldTriBool:
			in.IsSelect = true
			in.Choices = selected([]option{{Value: "", Label: "不变"}, {Value: "true", Label: "是"}, {Value: "false", Label: "否"}}, vals.Get(f.Name))
		case fieldMember:
			in.IsSelect = true
			in.Choices = append([]option{{Value: "", Label: "请选择"}}, selected(members, vals.Get(f.Name))...)
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
			in.Choices = append([]option{{Value: "", Label: "请选择"}}, selected(opts, vals.Get(f.Name))...)
		}
		pg.Inputs = append(pg.Inputs, in)
	}
	return pg
}

func selected(opts []option, v string) []option {
	out := make([]option, len(opts))
	for i, o := range opts {
		o.Selected = o.Value == v
		out[i] = o
	}
	return out
}

var yuanRE = regexp.MustCompile(`^\d{1,9}(\.\d{1,2})?$`)

// handleRecordPost answers POST /ui/orgs/{code}/record/{type}: builds the
// journal line from the form, records it through the same path as the API
// and, on success, shows the scorecard; on failure, the form again with a
// message in Chinese next to each field at fault.
func (s *Server) handleRecordPost(w http.ResponseWriter, r *http.Request) {
	st, typ, err := s.formTarget(r)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	vals := r.PostForm
	errs := map[string]string{}
	data := map[string]any{}
	for _, f := range formFields(typ) {
		v := strings.TrimSpace(vals.Get(f.Name))
		key := "data." + f.Name
		switch f.Kind {
		case fieldMembers:
			ids := vals[f.Name]
			if ids == nil {
				ids = []string{}
			}
			data[f.Name] = ids
			continue
		case fieldBool:
			data[f.Name] = v != ""
			continue
		}
		if v == "" {
			switch {
			case f.Optional:
			case f.Kind.isString():
				data[f.Name] = "" // the domain's validation says what is wrong
			default:
				errs[key] = "必填" // a number cannot be sent empty
			}
			continue
		}
		switch f.Kind {
		case fieldYuan:
			if !yuanRE.MatchString(v) {
				errs[key] = "请填写金额（元），最多两位小数，如 12.50"
				continue
			}
			yuan, _ := strconv.ParseFloat(v, 64)
			data[f.Name] = int64(math.Round(yuan * 100))
		case fieldInt:
			n, err := strconv.Atoi(v)
			if err != nil {
				errs[key] = "请填写整数"
				continue
			}
			data[f.Name] = n
		case fieldPoints:
			if _, err := domain.ParsePoints(v); err != nil {
				errs[key] = "请填写分数，最多两位小数"
				continue
			}
			data[f.Name] = json.Number(v)
		case fieldTriBool:
			data[f.Name] = v == "true"
		default:
			data[f.Name] = v
		}
	}
	on := strings.TrimSpace(vals.Get("occurred_on"))
	if on == "" {
		errs["occurred_on"] = "必填：请选择日期"
	}
	if len(errs) == 0 {
		err := s.recordForm(r, st, typ, on, data)
		if err == nil {
			http.Redirect(w, r, fmt.Sprintf("/ui/orgs/%s?year=%d&recorded=%s", url.PathEscape(st.Code), s.yearOf(on), url.QueryEscape(typ)), http.StatusSeeOther)
			return
		}
		fes := fieldErrorsOf(err)
		switch {
		case errors.Is(err, ledger.ErrWrongExpectedRevision):
			errs[""] = "与其他人的登记冲突，请重试。"
		case fes != nil:
			for _, fe := range fes {
				if _, dup := errs[fe.Field]; !dup {
					errs[fe.Field] = zhReason(fe.Reason)
				}
			}
		default:
			s.pageError(w, r, err)
			return
		}
		// An error about a field the form does not show goes on top.
		known := map[string]bool{"occurred_on": true, "": true}
		for _, f := range formFields(typ) {
			known["data."+f.Name] = true
		}
		for k, v := range errs {
			base := k
			if i := strings.IndexByte(k, '['); i > 0 {
				base = k[:i]
			}
			if !known[base] {
				errs[""] = strings.TrimPrefix(errs[""]+"；", "；") + fieldLabel(typ, k) + "：" + v
			}
		}
	}
	s.render(w, r, http.StatusUnprocessableEntity, "record_form", s.formPage(r, st, typ, vals, errs))
}

func (s *Server) yearOf(date string) int {
	if d, err := domain.ParseDate(date); err == nil {
		return d.Year
	}
	return s.opts.Year
}

// recordForm validates and records one form entry as the principal.
func (s *Server) recordForm(r *http.Request, st *domain.OrgState, typ, on string, data map[string]any) error {
	raw, err := json.Marshal(data)
	if err != nil {
		return err
	}
	l := rawLine{"data": raw}
	l["type"], _ = json.Marshal(typ)
	l["occurred_on"], _ = json.Marshal(on)
	e, err := l.entry(st.Code)
	if err != nil {
		return err
	}
	_, err = s.appendTimed(r.Context(), []domain.Entry{e}, principalOf(r), books.RecordOptions{})
	var ee *books.EntryError
	if errors.As(err, &ee) {
		err = ee.Err
	}
	// Refusals of who records are shown on the form like field errors:
	// the field they name is the one to change.
	var re *domain.RightsError
	var ye *domain.YearClosedError
	switch {
	case errors.As(err, &re) && re.Field == "data.event_id":
		return &domain.FieldError{Field: re.Field, Reason: "you may not retract: " + re.Reason}
	case errors.As(err, &ye):
		return &domain.FieldError{Field: ye.Field, Reason: fmt.Sprintf("year closed: %d 年度已于 %s 封账（%s），不再接受本年度的登记", ye.Close.Year, ye.Close.On, ye.Close.Reason)}
	}
	return err
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
	{regexp.MustCompile(`^required`), "必填"},
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
	{regexp.MustCompile(`^want an event id`), "请填写事件编号（UUID）"},
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
	{regexp.MustCompile(`^先进 \(advanced\) only for`), "只有经工委确定（AdvancedDesignated）的组织才能评为先进"},
	{regexp.MustCompile(`^required: the grade \(final (.*), (.*)\) differs from the computation \(final (.*), (.*)\)`), "评定结果（$1 分，$2）与系统计算（$3 分，$4）不同，须填写改定理由"},
	{regexp.MustCompile(`is already rejected`), "该事件已退回"},
	{regexp.MustCompile(`^only the organisation's own entries can be rejected`), "只能退回组织自行登记的事项"},
}

func zhReason(reason string) string {
	for _, z := range zhReasons {
		if z.re.MatchString(reason) {
			return z.re.ReplaceAllString(z.re.FindString(reason), z.zh)
		}
	}
	return "输入有误（" + reason + "）"
}
