package domain

import (
	"encoding/json"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Chinese labels of the persisted enum values, for people reading a
// journal (replay, the exports' 内容 column). The values themselves stay
// the English constants of EVENTS.md.
var (
	meetingKindLabels = map[string]string{
		MeetingCommittee: "党委（总支）委员会", MeetingBranchCommittee: "支委会", MeetingGeneralAssembly: "党员大会",
		MeetingGroup: "党小组会", MeetingGroupDemocraticLife: "党小组民主生活会", MeetingPartyLecture: "党课",
	}
	officerRoleLabels = map[string]string{
		RoleSecretary: "书记", RoleDeputySecretary: "副书记", RoleFulltimeDeputySecretary: "专职副书记", RoleAffairsOfficer: "党务干部",
	}
	educationTopicLabels = map[string]string{
		TopicPartyConstitution: "党章党规", TopicSpeeches: "系列讲话", TopicPolicy: "方针政策", TopicSituation: "形势任务",
		TopicCoreValues: "社会主义核心价值观",
	}
	campaignLabels = map[string]string{
		CampaignCivilizedUnit: "文明单位创建", CampaignVolunteer: "志愿服务", CampaignCivilityEtiquette: "文明礼仪",
	}
	satInLabels     = map[string]string{SatInLeadersDemocraticLife: "领导班子民主生活会", SatInLeadershipMeeting: "领导班子会议"}
	areaLabels      = map[string]string{AreaOutreach: "下基层调研和驻村帮扶"}
	outreachLabels  = map[string]string{OutreachGrassroots: "下基层", OutreachVillage: "驻村帮扶", OutreachEnterprise: "联系企业"}
	severityLabels  = map[string]string{SeverityOrdinary: "一般违纪", SeveritySerious: "严重违纪"}
	impactLabels    = map[string]string{ImpactNormal: "影响一般", ImpactSevere: "影响恶劣"}
	systemLabels    = map[string]string{SystemResponsibility: "党建工作责任制", SystemOrgLife: "组织生活制度", SystemCareAndSupport: "关怀帮扶制度"}
	scheduledLabels = map[string]string{ScheduledMeeting: "会议", ScheduledActivity: "活动", ScheduledTraining: "培训"}
)

// A summary is one line: at most summaryMaxRunes characters, naming at
// most summaryMaxPeople attendees.
const (
	summaryMaxRunes  = 300
	summaryMaxPeople = 8
)

// label returns the Chinese label of v in labels, or v itself when it has
// none (a value added later still shows).
func label(labels map[string]string, v string) string {
	if l, ok := labels[v]; ok {
		return l
	}
	return v
}

// Yuan formats an amount of money as yuan with two decimals ("13.60 元"),
// from the integer fen, without floating point.
func Yuan(f Fen) string {
	sign := ""
	v := int64(f)
	if v < 0 {
		sign, v = "-", -v
	}
	frac := v % 100
	s := sign + strconv.FormatInt(v/100, 10) + "."
	if frac < 10 {
		s += "0"
	}
	return s + strconv.FormatInt(frac, 10) + " 元"
}

// Summary renders an event's data as one line of Chinese for people: the
// content column of the exports and of replay. Members are shown by name
// where names knows them (it may be nil, and returns "" for an unknown
// id), months as 2016-03, money as 13.60 元, enum values by their Chinese
// labels. Member incomes are personal information and never shown (a
// change of income reads 月收入已变更); token hashes neither.
//
// Summary never fails: data it cannot decode is shown as it is, so a
// journal always prints. A type the function does not know yet (a type
// added to the catalog later) is rendered field by field.
func Summary(typ string, data json.RawMessage, names func(memberID string) string) string {
	sm := summarizer{names: names}
	out := sm.render(typ, data)
	if out == "" {
		out = "—"
	}
	if utf8.RuneCountInString(out) > summaryMaxRunes {
		out = string([]rune(out)[:summaryMaxRunes-1]) + "…"
	}
	return out
}

type summarizer struct {
	names func(string) string
}

// person is a member shown by name, with the id when the name is known
// ("张三(m001)" would be noisy in a column; the id alone when unknown).
func (sm summarizer) person(id string) string {
	if sm.names != nil {
		if n := sm.names(id); n != "" {
			return n
		}
	}
	return id
}

func (sm summarizer) people(ids []string) string {
	if len(ids) == 0 {
		return "无"
	}
	shown := make([]string, 0, min(len(ids), summaryMaxPeople))
	for _, id := range ids[:min(len(ids), summaryMaxPeople)] {
		shown = append(shown, sm.person(id))
	}
	s := strings.Join(shown, "、")
	if len(ids) > summaryMaxPeople {
		s += " 等"
	}
	return strconv.Itoa(len(ids)) + " 人：" + s
}

func quoted(title string) string { return "「" + title + "」" }

func withReason(s, what, reason string) string {
	if reason == "" {
		return s
	}
	return s + "；" + what + "：" + reason
}

func yearText(y int) string { return strconv.Itoa(y) + " 年度" }

// periodText renders 2016-Q1 as 2016 年第 1 季度 and 2016-H2 as 2016 年下半年.
func periodText(s string) string {
	if p, err := ParseQuarter(s); err == nil {
		return strconv.Itoa(p.Year) + " 年第 " + strconv.Itoa(p.N) + " 季度"
	}
	if p, err := ParseHalf(s); err == nil {
		if p.N == 1 {
			return strconv.Itoa(p.Year) + " 年上半年"
		}
		return strconv.Itoa(p.Year) + " 年下半年"
	}
	return s
}

func (sm summarizer) render(typ string, data json.RawMessage) string {
	// The v2 types are rendered from their JSON by name, so that this
	// function needs no payload type of theirs.
	switch typ {
	case TypeTermExtensionApproved:
		var v struct{ Until, Reason string }
		if json.Unmarshal(data, &v) == nil {
			return withReason("延期换届至 "+v.Until, "批准理由", v.Reason)
		}
	case TypeEventRejected:
		var v struct {
			EventID string `json:"event_id"`
			Reason  string
		}
		if json.Unmarshal(data, &v) == nil {
			return withReason("退回事件 "+v.EventID, "理由", v.Reason)
		}
	case TypeYearClosed:
		var v struct {
			Year   int
			Reason string
		}
		if json.Unmarshal(data, &v) == nil {
			return withReason(yearText(v.Year)+"封账", "理由", v.Reason)
		}
	case TypeAdvancedDesignated:
		var v struct {
			Year   int
			Codes  []string
			Reason string
		}
		if json.Unmarshal(data, &v) == nil {
			return withReason(yearText(v.Year)+"评定先进："+strings.Join(v.Codes, "、"), "理由", v.Reason)
		}
	}
	p, err := DecodeStored(typ, data)
	if err != nil {
		return sm.generic(data)
	}
	if s, ok := sm.payload(p, data); ok {
		return s
	}
	return sm.generic(data)
}

// payload renders the payloads of the catalog. It is a long switch over
// the closed set; TestSummaryCoversCatalog runs it on every type.
func (sm summarizer) payload(p Payload, data json.RawMessage) (string, bool) {
	switch e := p.(type) {
	case *OrganizationRegistered:
		s := e.Code + " " + e.Name + "（" + e.Kind.Label() + "）"
		if e.ParentCode != "" {
			s += "，上级 " + e.ParentCode
		}
		if e.HasGroups {
			s += "，设党小组"
		}
		var v struct {
			FoundedOn string `json:"founded_on"`
		}
		if json.Unmarshal(data, &v) == nil && v.FoundedOn != "" {
			s += "，成立于 " + v.FoundedOn
		}
		return s, true
	case *CommitteeElected:
		return "换届选举，任期 " + strconv.Itoa(e.TermYears) + " 年", true
	case *OfficerAppointed:
		return sm.person(e.MemberID) + " 任" + label(officerRoleLabels, e.Role), true
	case *OfficerVacated:
		return sm.person(e.MemberID) + " 不再担任" + label(officerRoleLabels, e.Role), true
	case *MemberJoined:
		s := e.Name + "（" + e.MemberID + "）加入"
		if e.IsLeader {
			s += "，党员领导干部"
		}
		return s, true
	case *MemberDetailsChanged:
		var parts []string
		if e.IsLeader != nil {
			parts = append(parts, "党员领导干部："+yesNo(*e.IsLeader))
		}
		if e.MonthlyIncomeFen != nil {
			parts = append(parts, "月收入已变更")
		}
		return sm.person(e.MemberID) + " " + strings.Join(parts, "，"), true
	case *MemberTransferredOut:
		return sm.person(e.MemberID) + " 转出", true
	case *MeetingHeld:
		s := label(meetingKindLabels, e.Kind) + quoted(e.Topic) + "，出席 " + sm.people(e.Attendees)
		if e.LecturerID != "" {
			s += "；授课人 " + sm.person(e.LecturerID)
		}
		return s, true
	case *StudySessionHeld:
		s := quoted(e.Topic) + "，参加 " + sm.people(e.Attendees)
		if e.NotesKept {
			return s + "；有学习笔记", true
		}
		return s + "；无学习笔记", true
	case *EducationActivityHeld:
		return label(educationTopicLabels, e.Topic) + "：" + quoted(e.Title), true
	case *CampaignActivityHeld:
		return label(campaignLabels, e.Campaign) + "：" + quoted(e.Title), true
	case *MassOrgEducationHeld, *SignatureActivityHeld, *InnovationRecorded, *ResearchReportSubmitted, *WorkInfoSubmitted,
		*IntegrityActivityHeld, *PartyWorkReviewed, *DemocraticLifeReported, *AdministrativeReportGiven:
		var t Titled
		_ = json.Unmarshal(data, &t)
		return quoted(t.Title), true
	case *DuesAccountOpened:
		return "开户银行 " + e.Bank + "，账号尾号 " + e.AccountLast4, true
	case *DuesPaid:
		return sm.person(e.MemberID) + " " + e.Month + " 党费 " + Yuan(e.AmountFen), true
	case *DuesRemitted:
		return periodText(e.Quarter) + " 上缴党费 " + Yuan(e.AmountFen), true
	case *SelfInspectionCompleted:
		return periodText(e.Half) + "自查", true
	case *SubordinateInspected:
		return "检查下级组织 " + e.SubordinateCode, true
	case *AttendanceRecorded:
		return "参加工委部署的活动 " + e.ScheduledEventID, true
	case *MeetingSatIn:
		return "列席" + label(satInLabels, e.Kind) + quoted(e.Title), true
	case *WorkPlanFiled:
		return "工作计划：" + label(areaLabels, e.Area), true
	case *WorkSummaryFiled:
		return "工作总结：" + label(areaLabels, e.Area), true
	case *OutreachVisit:
		return label(outreachLabels, e.Kind) + "：" + quoted(e.Title), true
	case *ViolationRecorded:
		return "案件 " + e.CaseID + "：" + sm.person(e.Person) + "，" + label(severityLabels, e.Severity) + "，" +
			label(impactLabels, e.Impact) + "；" + e.Summary, true
	case *CaseHandled:
		return "案件 " + e.CaseID + " 处理结果：" + e.Outcome, true
	case *SystemAdopted:
		return label(systemLabels, e.System) + "：" + quoted(e.Title), true
	case *FindingRecorded:
		s := yearText(e.Year) + " 第 " + e.Item + " 项，扣分情形 " + findingLabel(e.Year, e.Item, e.Finding)
		if e.Points != nil {
			s += "，扣 " + e.Points.String() + " 分"
		}
		return withReason(s, "原因", e.Reason), true
	case *GroupAssessmentRecorded:
		return yearText(e.Year) + "分组考评 " + e.Score.String() + " 分", true
	case *EventRetracted:
		return withReason("撤回事件 "+e.EventID, "原因", e.Reason), true
	case *GradeIssued:
		s := yearText(e.Year) + " " + TierLabel(e.Tier) + "，" + e.Final.String() + " 分（细则 " + e.RulebookVersion + "）"
		return withReason(s, "调整理由", overrideReason(data)), true
	case *GradeRevised:
		s := yearText(e.Year) + " 更正为 " + TierLabel(e.Tier) + "，" + e.Final.String() + " 分（细则 " + e.RulebookVersion + "）"
		return withReason(withReason(s, "更正原因", e.Reason), "调整理由", overrideReason(data)), true
	case *RequiredEventScheduled:
		targets := strings.Join(e.Targets, "、")
		if len(e.Targets) == 1 && e.Targets[0] == TargetsAll {
			targets = "全部组织"
		}
		return "工委部署" + label(scheduledLabels, e.Kind) + quoted(e.Title) + "（" + e.ScheduledEventID + "），对象：" + targets, true
	case *RulebookPublished:
		return withReason("发布 "+yearText(e.Year)+"考核细则 "+e.Version, "理由", e.Reason), true
	case *TokenIssued:
		s := "签发令牌 " + e.TokenID + " 给 " + e.Name + "（" + e.Role.Label()
		if e.Org != "" {
			s += " " + e.Org
		}
		return s + "）", true
	case *TokenRevoked:
		return withReason("吊销令牌 "+e.TokenID, "原因", e.Reason), true
	case *SignInCodeIssued:
		return "为令牌 " + e.TokenID + " 发放一次性登录码 " + e.CodeID + "，有效期至 " + instantText(e.ExpiresAt), true
	case *SignInCodeVoided:
		return withReason("作废登录码 "+e.CodeID, "原因", e.Reason), true
	case *DeviceSessionStarted:
		s := "令牌 " + e.TokenID + " 以登录码 " + e.CodeID + " 在设备上登录（会话 " + e.SessionID + "），有效期至 " + instantText(e.ExpiresAt)
		if e.Device != "" {
			s += "；设备：" + e.Device
		}
		return s, true
	case *DeviceSessionRevoked:
		return withReason("注销设备会话 "+e.SessionID, "原因", e.Reason), true
	}
	return "", false
}

// findingLabel names a finding by its label in the built-in rulebook of
// the year (finding codes keep their meaning across versions), or by its
// code.
func findingLabel(year int, item, code string) string {
	if rb := Builtin2016(); rb.Year == year {
		for i := range rb.Items {
			if rb.Items[i].Code != item {
				continue
			}
			for _, f := range rb.Items[i].Findings {
				if f.Code == code {
					return quoted(f.Label)
				}
			}
		}
	}
	return code
}

// overrideReason is a grade's override_reason (v2), read from its JSON so
// that it shows whether or not the payload type has the field yet.
func overrideReason(data json.RawMessage) string {
	var v struct {
		OverrideReason string `json:"override_reason"`
	}
	_ = json.Unmarshal(data, &v)
	return v.OverrideReason
}

func yesNo(b bool) string {
	if b {
		return "是"
	}
	return "否"
}

// fieldLabels name the data fields in Chinese, for the field-by-field
// rendering of a type Summary has no case for.
var fieldLabels = map[string]string{
	"code": "代码", "name": "名称", "kind": "类型", "title": "名称", "topic": "主题", "reason": "理由", "year": "年度",
	"until": "至", "event_id": "事件", "codes": "组织", "member_id": "党员", "month": "月份", "amount_fen": "金额",
	"quarter": "季度", "half": "半年", "case_id": "案件", "outcome": "处理结果", "summary": "摘要", "person": "当事人",
	"override_reason": "调整理由", "founded_on": "成立日期", "attendees": "参加", "scheduled_event_id": "活动编号",
	"targets": "对象", "item": "项目", "finding": "扣分情形", "points": "扣分", "score": "得分", "tier": "等次",
	"final": "得分", "rulebook_version": "细则版本", "version": "版本",
}

// generic renders a JSON object field by field, keys in sorted order,
// with Chinese field names where known; anything else as it is.
func (sm summarizer) generic(data json.RawMessage) string {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(data, &m); err != nil {
		return string(data)
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sortStrings(keys)
	var parts []string
	for _, k := range keys {
		if k == "monthly_income_fen" || k == "sha256" {
			continue
		}
		var v any
		_ = json.Unmarshal(m[k], &v)
		text := ""
		switch x := v.(type) {
		case string:
			text = x
		case bool:
			text = yesNo(x)
		case float64:
			if k == "amount_fen" {
				text = Yuan(Fen(x))
			} else {
				text = string(m[k])
			}
		case []any:
			var ss []string
			for _, e := range x {
				if s, ok := e.(string); ok {
					ss = append(ss, s)
				}
			}
			text = strings.Join(ss, "、")
		default:
			text = string(m[k])
		}
		parts = append(parts, label(fieldLabels, k)+"："+text)
	}
	return strings.Join(parts, "；")
}

// MemberNames learns member names from a journal read in recorded order
// (each organisation's MemberJoined lines), for Summary. Member ids are
// chosen by each organisation, so names are kept per organisation code.
// The zero value is not usable; make one with NewMemberNames.
type MemberNames struct {
	byOrg map[string]map[string]string
}

// NewMemberNames returns an empty MemberNames.
func NewMemberNames() *MemberNames { return &MemberNames{byOrg: map[string]map[string]string{}} }

// Learn notes the name of a member when the event is a MemberJoined of
// organisation org; any other event is ignored.
func (n *MemberNames) Learn(org, typ string, data json.RawMessage) {
	if typ != TypeMemberJoined {
		return
	}
	var m MemberJoined
	if json.Unmarshal(data, &m) != nil || m.MemberID == "" || m.Name == "" {
		return
	}
	names := n.byOrg[org]
	if names == nil {
		names = map[string]string{}
		n.byOrg[org] = names
	}
	names[m.MemberID] = m.Name
}

// Of returns the lookup of organisation org's member names for Summary.
func (n *MemberNames) Of(org string) func(memberID string) string {
	names := n.byOrg[org]
	return func(id string) string { return names[id] }
}
