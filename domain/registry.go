package domain

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"
)

// StreamKind names the kind of stream an event type lives in.
type StreamKind string

// Stream kinds.
const (
	StreamOrg       StreamKind = "org"       // org-<uuid>
	StreamCommittee StreamKind = "committee" // committee-<uuid>
	StreamRulebook  StreamKind = "rulebook"  // rulebook-<year>
)

type typeInfo struct {
	stream StreamKind
	label  string // Chinese label for tables
	new    func() Payload
}

var types = map[string]typeInfo{
	TypeOrganizationRegistered:    {StreamOrg, "组织登记", func() Payload { return new(OrganizationRegistered) }},
	TypeCommitteeElected:          {StreamOrg, "班子换届", func() Payload { return new(CommitteeElected) }},
	TypeTermExtensionApproved:     {StreamOrg, "延期换届", func() Payload { return new(TermExtensionApproved) }},
	TypeOfficerAppointed:          {StreamOrg, "任职", func() Payload { return new(OfficerAppointed) }},
	TypeOfficerVacated:            {StreamOrg, "离任", func() Payload { return new(OfficerVacated) }},
	TypeMemberJoined:              {StreamOrg, "党员加入", func() Payload { return new(MemberJoined) }},
	TypeMemberDetailsChanged:      {StreamOrg, "党员信息变更", func() Payload { return new(MemberDetailsChanged) }},
	TypeMemberTransferredOut:      {StreamOrg, "党员转出", func() Payload { return new(MemberTransferredOut) }},
	TypeMeetingHeld:               {StreamOrg, "召开会议", func() Payload { return new(MeetingHeld) }},
	TypeStudySessionHeld:          {StreamOrg, "政治学习", func() Payload { return new(StudySessionHeld) }},
	TypeEducationActivityHeld:     {StreamOrg, "教育活动", func() Payload { return new(EducationActivityHeld) }},
	TypeCampaignActivityHeld:      {StreamOrg, "创建活动", func() Payload { return new(CampaignActivityHeld) }},
	TypeMassOrgEducationHeld:      {StreamOrg, "群团教育", func() Payload { return new(MassOrgEducationHeld) }},
	TypeSignatureActivityHeld:     {StreamOrg, "特色活动", func() Payload { return new(SignatureActivityHeld) }},
	TypeInnovationRecorded:        {StreamOrg, "创新举措", func() Payload { return new(InnovationRecorded) }},
	TypeResearchReportSubmitted:   {StreamOrg, "调研报告", func() Payload { return new(ResearchReportSubmitted) }},
	TypeWorkInfoSubmitted:         {StreamOrg, "工作信息", func() Payload { return new(WorkInfoSubmitted) }},
	TypeIntegrityActivityHeld:     {StreamOrg, "廉政教育", func() Payload { return new(IntegrityActivityHeld) }},
	TypePartyWorkReviewed:         {StreamOrg, "研究党建工作", func() Payload { return new(PartyWorkReviewed) }},
	TypeDuesAccountOpened:         {StreamOrg, "开设党费账户", func() Payload { return new(DuesAccountOpened) }},
	TypeDuesPaid:                  {StreamOrg, "交纳党费", func() Payload { return new(DuesPaid) }},
	TypeDuesRemitted:              {StreamOrg, "上缴党费", func() Payload { return new(DuesRemitted) }},
	TypeSelfInspectionCompleted:   {StreamOrg, "半年自查", func() Payload { return new(SelfInspectionCompleted) }},
	TypeSubordinateInspected:      {StreamOrg, "检查下级", func() Payload { return new(SubordinateInspected) }},
	TypeAttendanceRecorded:        {StreamOrg, "参加工委活动", func() Payload { return new(AttendanceRecorded) }},
	TypeMeetingSatIn:              {StreamOrg, "列席会议", func() Payload { return new(MeetingSatIn) }},
	TypeWorkPlanFiled:             {StreamOrg, "工作计划", func() Payload { return new(WorkPlanFiled) }},
	TypeWorkSummaryFiled:          {StreamOrg, "工作总结", func() Payload { return new(WorkSummaryFiled) }},
	TypeOutreachVisit:             {StreamOrg, "下基层", func() Payload { return new(OutreachVisit) }},
	TypeViolationRecorded:         {StreamOrg, "违纪登记", func() Payload { return new(ViolationRecorded) }},
	TypeCaseHandled:               {StreamOrg, "案件查处", func() Payload { return new(CaseHandled) }},
	TypeDemocraticLifeReported:    {StreamOrg, "民主生活会报告", func() Payload { return new(DemocraticLifeReported) }},
	TypeAdministrativeReportGiven: {StreamOrg, "行政负责人通报", func() Payload { return new(AdministrativeReportGiven) }},
	TypeSystemAdopted:             {StreamOrg, "建立制度", func() Payload { return new(SystemAdopted) }},
	TypeFindingRecorded:           {StreamOrg, "考核发现", func() Payload { return new(FindingRecorded) }},
	TypeGroupAssessmentRecorded:   {StreamOrg, "分组考评", func() Payload { return new(GroupAssessmentRecorded) }},
	TypeEventRetracted:            {StreamOrg, "撤回", func() Payload { return new(EventRetracted) }},
	TypeGradeIssued:               {StreamOrg, "评定等次", func() Payload { return new(GradeIssued) }},
	TypeGradeRevised:              {StreamOrg, "更正等次", func() Payload { return new(GradeRevised) }},
	TypeEventRejected:             {StreamOrg, "退回", func() Payload { return new(EventRejected) }},
	TypeRequiredEventScheduled:    {StreamCommittee, "工委部署活动", func() Payload { return new(RequiredEventScheduled) }},
	TypeYearClosed:                {StreamCommittee, "年度封账", func() Payload { return new(YearClosed) }},
	TypeAdvancedDesignated:        {StreamCommittee, "确定先进", func() Payload { return new(AdvancedDesignated) }},
	TypeRulebookPublished:         {StreamRulebook, "发布细则", func() Payload { return new(RulebookPublished) }},
	TypeTokenIssued:               {StreamAuth, "签发令牌", func() Payload { return new(TokenIssued) }},
	TypeTokenRevoked:              {StreamAuth, "吊销令牌", func() Payload { return new(TokenRevoked) }},
	TypeSignInCodeIssued:          {StreamAuth, "发放登录码", func() Payload { return new(SignInCodeIssued) }},
	TypeSignInCodeVoided:          {StreamAuth, "作废登录码", func() Payload { return new(SignInCodeVoided) }},
	TypeDeviceSessionStarted:      {StreamAuth, "设备登录", func() Payload { return new(DeviceSessionStarted) }},
	TypeDeviceSessionRevoked:      {StreamAuth, "注销设备", func() Payload { return new(DeviceSessionRevoked) }},
}

// KnownType reports whether t is an event type of the catalog.
func KnownType(t string) bool { _, ok := types[t]; return ok }

// StreamKindOf returns the kind of stream type t lives in.
func StreamKindOf(t string) (StreamKind, bool) {
	ti, ok := types[t]
	return ti.stream, ok
}

// TypeLabel returns the Chinese label of an event type (the type name
// itself when unknown).
func TypeLabel(t string) string {
	if ti, ok := types[t]; ok {
		return ti.label
	}
	return t
}

// Types returns every event type name.
func Types() []string {
	out := make([]string, 0, len(types))
	for t := range types {
		out = append(out, t)
	}
	sortStrings(out)
	return out
}

// NewPayload returns an empty payload of type t.
func NewPayload(t string) (Payload, error) {
	ti, ok := types[t]
	if !ok {
		return nil, fieldErr("type", fmt.Sprintf("unknown event type %q", truncate(t, 64)))
	}
	return ti.new(), nil
}

// MaxDataBytes bounds one payload's JSON.
const MaxDataBytes = 64 << 10

// DecodePayload decodes data strictly into the payload of type t: unknown
// fields, trailing data, invalid UTF-8 and wrong JSON types are errors with
// a field path under "data". It then runs the payload's own Validate.
func DecodePayload(t string, data []byte) (Payload, error) {
	p, err := NewPayload(t)
	if err != nil {
		return nil, err
	}
	if len(data) == 0 {
		return nil, fieldErr("data", "required")
	}
	if len(data) > MaxDataBytes {
		return nil, fieldErr("data", fmt.Sprintf("larger than %d bytes", MaxDataBytes))
	}
	if err := StrictUnmarshal(data, p); err != nil {
		return nil, Prefix("data", err)
	}
	if err := p.Validate(); err != nil {
		return nil, Prefix("data", err)
	}
	return p, nil
}

// DecodeStored decodes the payload of a stored event. Stored events were
// validated when they were appended; they are decoded leniently (unknown
// fields ignored) so that a later, stricter validation or an added field
// never makes history unreadable.
func DecodeStored(t string, data []byte) (Payload, error) {
	p, err := NewPayload(t)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(data, p); err != nil {
		return nil, fmt.Errorf("decode stored %s: %w", t, err)
	}
	return p, nil
}

// StrictUnmarshal decodes one JSON value into v, refusing invalid UTF-8,
// unknown fields and trailing data, and reporting type errors with the
// JSON field path.
func StrictUnmarshal(data []byte, v any) error {
	if !utf8.Valid(data) {
		return fieldErr("", "invalid UTF-8")
	}
	if err := checkSurrogates(data); err != nil {
		return err
	}
	if err := checkKeys(data); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonFieldError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return fieldErr("", "unexpected data after the JSON value")
	}
	return nil
}

// checkSurrogates refuses \u escapes of lone UTF-16 surrogates, which
// encoding/json would silently turn into U+FFFD: what is stored must be
// what was sent. Backslashes occur only inside JSON strings, so no string
// tracking is needed.
func checkSurrogates(data []byte) error {
	hex4 := func(i int) (rune, bool) {
		if i+6 > len(data) || data[i] != '\\' || data[i+1] != 'u' {
			return 0, false
		}
		var r rune
		for _, c := range data[i+2 : i+6] {
			switch {
			case c >= '0' && c <= '9':
				r = r<<4 | rune(c-'0')
			case c >= 'a' && c <= 'f':
				r = r<<4 | rune(c-'a'+10)
			case c >= 'A' && c <= 'F':
				r = r<<4 | rune(c-'A'+10)
			default:
				return 0, false
			}
		}
		return r, true
	}
	for i := 0; i < len(data); i++ {
		if data[i] != '\\' {
			continue
		}
		r, ok := hex4(i)
		if !ok {
			i++ // an escape like \n or \\: skip the escaped byte
			continue
		}
		switch {
		case r >= 0xD800 && r <= 0xDBFF:
			if lo, ok := hex4(i + 6); ok && lo >= 0xDC00 && lo <= 0xDFFF {
				i += 11
				continue
			}
			return fieldErr("", fmt.Sprintf("lone UTF-16 surrogate escape \\u%04x at byte %d", r, i))
		case r >= 0xDC00 && r <= 0xDFFF:
			return fieldErr("", fmt.Sprintf("lone UTF-16 surrogate escape \\u%04x at byte %d", r, i))
		}
		i += 5
	}
	return nil
}

// checkKeys refuses object keys that encoding/json would match loosely:
// a key with upper-case letters ("Type" for "type") and a key given twice
// (the decoder keeps the last). Every field name of the journal, the API
// and the rulebook is lower case, so an exact match is the only one.
func checkKeys(data []byte) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	type frame struct {
		object bool
		path   string // the dotted path of this object or array
		keys   map[string]bool
		key    string // the last key read in this object
		want   bool   // the next string token is a key
	}
	var stack []*frame
	join := func(path, key string) string {
		if path == "" {
			return key
		}
		return path + "." + key
	}
	for {
		tok, err := dec.Token()
		if err != nil {
			return nil // malformed JSON is reported by the decode itself
		}
		var top *frame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		switch t := tok.(type) {
		case json.Delim:
			switch t {
			case '{', '[':
				path := ""
				if top != nil {
					path = top.path
					if top.object {
						path = join(top.path, top.key)
						top.want = true
					}
				}
				stack = append(stack, &frame{object: t == '{', path: path, keys: map[string]bool{}, want: t == '{'})
			default:
				stack = stack[:len(stack)-1]
			}
			continue
		case string:
			if top != nil && top.object && top.want {
				field := join(top.path, truncate(t, 64))
				if strings.ToLower(t) != t {
					return fieldErr(field, "field names are lower case")
				}
				if top.keys[t] {
					return fieldErr(field, "field given twice")
				}
				top.keys[t], top.key, top.want = true, t, false
				continue
			}
		}
		if top != nil && top.object {
			top.want = true
		}
	}
}

func jsonFieldError(err error) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		field := te.Field
		return fieldErr(field, fmt.Sprintf("want %s, got JSON %s", goTypeName(te.Type.String()), te.Value))
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fieldErr("", fmt.Sprintf("malformed JSON at byte %d: %v", se.Offset, se))
	}
	var fe *FieldError
	if errors.As(err, &fe) {
		return fe
	}
	msg := err.Error()
	if f, ok := cutUnknownField(msg); ok {
		return fieldErr(f, "unknown field")
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fieldErr("", "truncated JSON")
	}
	// A custom UnmarshalJSON (Points, Date) fails with its own reason; the
	// decoder does not say which field, so the reason names the value.
	return fieldErr("", msg)
}

func cutUnknownField(msg string) (string, bool) {
	const p = `json: unknown field "`
	if len(msg) > len(p) && msg[:len(p)] == p {
		return msg[len(p) : len(msg)-1], true
	}
	return "", false
}

func goTypeName(t string) string {
	switch t {
	case "string":
		return "a string"
	case "bool":
		return "true or false"
	case "int", "int64", "domain.Fen":
		return "an integer"
	case "domain.Points":
		return "a number with at most two decimals"
	case "domain.Date":
		return "a date YYYY-MM-DD"
	}
	if len(t) > 2 && t[:2] == "[]" {
		return "an array"
	}
	return t
}

// Recorded is one stored event as the pure folds see it: the envelope
// fields they judge by and the decoded payload.
type Recorded struct {
	ID         string
	Stream     string
	Type       string
	Revision   uint64
	Position   uint64
	OccurredOn Date
	RecordedAt time.Time
	RecordedBy string
	Payload    Payload
}
