package domain

// Event type names: the persisted, public names of EVENTS.md. They are
// explicit constants, never derived by reflection; the list only grows.
const (
	TypeOrganizationRegistered    = "OrganizationRegistered"
	TypeCommitteeElected          = "CommitteeElected"
	TypeOfficerAppointed          = "OfficerAppointed"
	TypeOfficerVacated            = "OfficerVacated"
	TypeMemberJoined              = "MemberJoined"
	TypeMemberDetailsChanged      = "MemberDetailsChanged"
	TypeMemberTransferredOut      = "MemberTransferredOut"
	TypeMeetingHeld               = "MeetingHeld"
	TypeStudySessionHeld          = "StudySessionHeld"
	TypeEducationActivityHeld     = "EducationActivityHeld"
	TypeCampaignActivityHeld      = "CampaignActivityHeld"
	TypeMassOrgEducationHeld      = "MassOrgEducationHeld"
	TypeSignatureActivityHeld     = "SignatureActivityHeld"
	TypeInnovationRecorded        = "InnovationRecorded"
	TypeResearchReportSubmitted   = "ResearchReportSubmitted"
	TypeWorkInfoSubmitted         = "WorkInfoSubmitted"
	TypeIntegrityActivityHeld     = "IntegrityActivityHeld"
	TypePartyWorkReviewed         = "PartyWorkReviewed"
	TypeDuesAccountOpened         = "DuesAccountOpened"
	TypeDuesPaid                  = "DuesPaid"
	TypeDuesRemitted              = "DuesRemitted"
	TypeSelfInspectionCompleted   = "SelfInspectionCompleted"
	TypeSubordinateInspected      = "SubordinateInspected"
	TypeAttendanceRecorded        = "AttendanceRecorded"
	TypeMeetingSatIn              = "MeetingSatIn"
	TypeWorkPlanFiled             = "WorkPlanFiled"
	TypeWorkSummaryFiled          = "WorkSummaryFiled"
	TypeOutreachVisit             = "OutreachVisit"
	TypeViolationRecorded         = "ViolationRecorded"
	TypeCaseHandled               = "CaseHandled"
	TypeDemocraticLifeReported    = "DemocraticLifeReported"
	TypeAdministrativeReportGiven = "AdministrativeReportGiven"
	TypeSystemAdopted             = "SystemAdopted"
	TypeFindingRecorded           = "FindingRecorded"
	TypeGroupAssessmentRecorded   = "GroupAssessmentRecorded"
	TypeEventRetracted            = "EventRetracted"
	TypeTermExtensionApproved     = "TermExtensionApproved"
	TypeGradeIssued               = "GradeIssued"
	TypeGradeRevised              = "GradeRevised"

	TypeRequiredEventScheduled = "RequiredEventScheduled"
	TypeRulebookPublished      = "RulebookPublished"
)

// Payload is the data of one event. The set is closed: only this package
// defines payloads (the unexported marker), so a fold can switch over them
// exhaustively and treat anything else as an error.
type Payload interface {
	// EventType returns the persisted type name.
	EventType() string
	// Validate checks the payload on its own (no state) and returns every
	// problem, with field paths relative to the payload ("amount_fen").
	Validate() error
	isPayload()
}

// OrgKind is the kind of a party organisation.
type OrgKind string

// Organisation kinds.
const (
	KindCommittee     OrgKind = "committee"      // 机关党委
	KindGeneralBranch OrgKind = "general_branch" // 党总支
	KindBranch        OrgKind = "branch"         // 党支部
)

// OrgKinds lists every kind in a stable order.
var OrgKinds = []OrgKind{KindCommittee, KindGeneralBranch, KindBranch}

// Label returns the Chinese name of the kind.
func (k OrgKind) Label() string {
	switch k {
	case KindCommittee:
		return "机关党委"
	case KindGeneralBranch:
		return "党总支"
	case KindBranch:
		return "党支部"
	}
	return string(k)
}

// OrganizationRegistered opens an organisation's stream.
type OrganizationRegistered struct {
	Code       string  `json:"code"`
	Name       string  `json:"name"`
	Kind       OrgKind `json:"kind"`
	ParentCode string  `json:"parent_code,omitempty"`
	HasGroups  bool    `json:"has_groups"`
	// FoundedOn is the date the organisation was established (v2). Zero
	// (absent from the JSON) means it existed before any year it is
	// assessed for. In the year of FoundedOn the rubric judges only what
	// came after it (RUBRIC.md, "Organisations founded mid-year").
	FoundedOn Date `json:"founded_on,omitzero"`
}

// CommitteeElected records an election; occurred_on is the election date.
type CommitteeElected struct {
	TermYears int `json:"term_years"`
}

// TermExtensionApproved records that the work committee approved holding
// the next election later (延期换届经上级批准, v2): the term runs until
// Until when that is later than the last election plus its term.
type TermExtensionApproved struct {
	Until  Date   `json:"until"`
	Reason string `json:"reason"`
}

// Officer roles.
const (
	RoleSecretary               = "secretary"
	RoleDeputySecretary         = "deputy_secretary"
	RoleFulltimeDeputySecretary = "fulltime_deputy_secretary"
	RoleAffairsOfficer          = "affairs_officer"
)

// OfficerAppointed puts a member in an office.
type OfficerAppointed struct {
	Role     string `json:"role"`
	MemberID string `json:"member_id"`
}

// OfficerVacated ends a member's office.
type OfficerVacated struct {
	Role     string `json:"role"`
	MemberID string `json:"member_id"`
}

// MemberJoined adds a member to the organisation's roster.
type MemberJoined struct {
	MemberID         string `json:"member_id"`
	Name             string `json:"name"`
	IsLeader         bool   `json:"is_leader"`
	MonthlyIncomeFen Fen    `json:"monthly_income_fen"`
}

// MemberDetailsChanged changes a member's leader flag or income.
type MemberDetailsChanged struct {
	MemberID         string `json:"member_id"`
	IsLeader         *bool  `json:"is_leader,omitempty"`
	MonthlyIncomeFen *Fen   `json:"monthly_income_fen,omitempty"`
}

// MemberTransferredOut removes a member from the roster.
type MemberTransferredOut struct {
	MemberID string `json:"member_id"`
}

// Meeting kinds (三会一课 and others).
const (
	MeetingCommittee           = "committee"
	MeetingBranchCommittee     = "branch_committee"
	MeetingGeneralAssembly     = "general_assembly"
	MeetingGroup               = "group"
	MeetingGroupDemocraticLife = "group_democratic_life"
	MeetingPartyLecture        = "party_lecture"
)

// MeetingHeld records a meeting.
type MeetingHeld struct {
	Kind       string   `json:"kind"`
	Topic      string   `json:"topic"`
	Attendees  []string `json:"attendees"`
	LecturerID string   `json:"lecturer_id,omitempty"`
}

// StudySessionHeld records a political study session (政治学习).
type StudySessionHeld struct {
	Topic     string   `json:"topic"`
	Attendees []string `json:"attendees"`
	NotesKept bool     `json:"notes_kept"`
}

// Education topics (1.1).
const (
	TopicPartyConstitution = "party_constitution"
	TopicSpeeches          = "speeches"
	TopicPolicy            = "policy"
	TopicSituation         = "situation"
	TopicCoreValues        = "core_values"
)

// EducationActivityHeld records an education activity on a topic.
type EducationActivityHeld struct {
	Topic string `json:"topic"`
	Title string `json:"title"`
}

// Campaigns (1.3).
const (
	CampaignCivilizedUnit     = "civilized_unit"
	CampaignVolunteer         = "volunteer"
	CampaignCivilityEtiquette = "civility_etiquette"
)

// CampaignActivityHeld records a 创建 activity.
type CampaignActivityHeld struct {
	Campaign string `json:"campaign"`
	Title    string `json:"title"`
}

// Titled is the payload of the event types that carry only a title.
type Titled struct {
	Title string `json:"title"`
}

// The title-only event types share one shape but are distinct types, so
// the payload set stays closed and each names its own event type.
type (
	MassOrgEducationHeld      Titled
	SignatureActivityHeld     Titled
	InnovationRecorded        Titled
	ResearchReportSubmitted   Titled
	WorkInfoSubmitted         Titled
	IntegrityActivityHeld     Titled
	PartyWorkReviewed         Titled
	DemocraticLifeReported    Titled
	AdministrativeReportGiven Titled
)

// DuesAccountOpened records the committee's dedicated dues account.
type DuesAccountOpened struct {
	Bank         string `json:"bank"`
	AccountLast4 string `json:"account_last4"`
}

// DuesPaid records a member's dues for a month; occurred_on is the payment date.
type DuesPaid struct {
	MemberID  string `json:"member_id"`
	Month     string `json:"month"`
	AmountFen Fen    `json:"amount_fen"`
}

// DuesRemitted records the organisation's quarterly remittance.
type DuesRemitted struct {
	Quarter   string `json:"quarter"`
	AmountFen Fen    `json:"amount_fen"`
}

// SelfInspectionCompleted records a half-year self inspection.
type SelfInspectionCompleted struct {
	Half string `json:"half"`
}

// SubordinateInspected records an inspection of a subordinate organisation.
type SubordinateInspected struct {
	SubordinateCode string `json:"subordinate_code"`
}

// AttendanceRecorded records attendance at a committee-scheduled event.
type AttendanceRecorded struct {
	ScheduledEventID string `json:"scheduled_event_id"`
}

// Sat-in meeting kinds (3.1).
const (
	SatInLeadersDemocraticLife = "leaders_democratic_life"
	SatInLeadershipMeeting     = "leadership_meeting"
)

// MeetingSatIn records a deputy secretary sitting in on a meeting.
type MeetingSatIn struct {
	Kind  string `json:"kind"`
	Title string `json:"title"`
}

// AreaOutreach is the one work-plan area today.
const AreaOutreach = "outreach"

// WorkPlanFiled records a filed work plan.
type WorkPlanFiled struct {
	Area string `json:"area"`
}

// WorkSummaryFiled records a filed work summary.
type WorkSummaryFiled struct {
	Area string `json:"area"`
}

// Outreach visit kinds.
const (
	OutreachGrassroots = "grassroots"
	OutreachVillage    = "village"
	OutreachEnterprise = "enterprise"
)

// OutreachVisit records a visit (下基层/驻村/联系企业).
type OutreachVisit struct {
	Kind  string `json:"kind"`
	Title string `json:"title"`
}

// Violation severities and impacts.
const (
	SeverityOrdinary = "ordinary"
	SeveritySerious  = "serious"
	ImpactNormal     = "normal"
	ImpactSevere     = "severe"
)

// ViolationRecorded opens a discipline case.
type ViolationRecorded struct {
	CaseID   string `json:"case_id"`
	Person   string `json:"person"`
	Severity string `json:"severity"`
	Impact   string `json:"impact"`
	Summary  string `json:"summary"`
}

// CaseHandled closes a discipline case.
type CaseHandled struct {
	CaseID  string `json:"case_id"`
	Outcome string `json:"outcome"`
}

// Systems (5.5).
const (
	SystemResponsibility = "responsibility"
	SystemOrgLife        = "org_life"
	SystemCareAndSupport = "care_and_support"
)

// SystemAdopted records an adopted party system.
type SystemAdopted struct {
	System string `json:"system"`
	Title  string `json:"title"`
}

// FindingRecorded is an assessor's qualitative deduction.
type FindingRecorded struct {
	Year    int     `json:"year"`
	Item    string  `json:"item"`
	Finding string  `json:"finding"`
	Points  *Points `json:"points,omitempty"`
	Reason  string  `json:"reason"`
}

// GroupAssessmentRecorded is the 年终分组考评 score.
type GroupAssessmentRecorded struct {
	Year  int    `json:"year"`
	Score Points `json:"score"`
}

// EventRetracted withdraws an earlier event of the same organisation.
type EventRetracted struct {
	EventID string `json:"event_id"`
	Reason  string `json:"reason"`
}

// Tiers.
const (
	TierAdvanced     = "advanced"      // 先进
	TierCompliant    = "compliant"     // 达标
	TierNonCompliant = "non_compliant" // 未达标
)

// TierLabel returns the Chinese name of a tier.
func TierLabel(t string) string {
	switch t {
	case TierAdvanced:
		return "先进"
	case TierCompliant:
		return "达标"
	case TierNonCompliant:
		return "未达标"
	}
	return t
}

// GradeIssued is an official year-end grade. ScorecardSHA256 is the
// SHA-256 of the scorecard JSON it was taken from, and ScorecardKnownAt
// the known_at of that scorecard, so an auditor can score again with the
// same (as_of, known_at, rulebook) and compare the hash.
type GradeIssued struct {
	Year             int    `json:"year"`
	RulebookVersion  string `json:"rulebook_version"`
	Final            Points `json:"final"`
	Tier             string `json:"tier"`
	ScorecardSHA256  string `json:"scorecard_sha256,omitempty"`
	ScorecardKnownAt string `json:"scorecard_known_at,omitempty"`
	// OverrideReason (v2) is required when Final or Tier differs from the
	// computation (GOVERNANCE.md): why, e.g. an appeal's outcome.
	OverrideReason string `json:"override_reason,omitempty"`
	// Checkpoint (v2) anchors the grade in the whole log: the tree the
	// grade was computed at (ledger/logtree), which a signed checkpoint of
	// that size proves.
	Checkpoint *GradeCheckpoint `json:"checkpoint,omitempty"`
}

// GradeCheckpoint is the log tree a grade was computed at: its size (the
// number of events) and its RFC 6962 root hash, standard base64 — the
// second and third lines of a checkpoint of that size.
type GradeCheckpoint struct {
	Size int64  `json:"size"`
	Root string `json:"root"`
}

// GradeRevised replaces an official grade after a rulebook correction.
type GradeRevised struct {
	Year             int    `json:"year"`
	RulebookVersion  string `json:"rulebook_version"`
	Final            Points `json:"final"`
	Tier             string `json:"tier"`
	ScorecardSHA256  string `json:"scorecard_sha256,omitempty"`
	ScorecardKnownAt string `json:"scorecard_known_at,omitempty"`
	Reason           string `json:"reason"`
	// OverrideReason (v2): as GradeIssued's.
	OverrideReason string `json:"override_reason,omitempty"`
	// Checkpoint (v2): as GradeIssued's.
	Checkpoint *GradeCheckpoint `json:"checkpoint,omitempty"`
}

// Scheduled event kinds.
const (
	ScheduledMeeting  = "meeting"
	ScheduledActivity = "activity"
	ScheduledTraining = "training"
)

// RequiredEventScheduled is the work committee's call to attend.
type RequiredEventScheduled struct {
	ScheduledEventID string   `json:"scheduled_event_id"`
	Kind             string   `json:"kind"`
	Title            string   `json:"title"`
	Targets          []string `json:"targets"`
}

// TargetsAll is the target meaning every organisation.
const TargetsAll = "*"

// Targets reports whether the scheduled event targets org code.
func (r *RequiredEventScheduled) TargetsOrg(code string) bool {
	for _, t := range r.Targets {
		if t == TargetsAll || t == code {
			return true
		}
	}
	return false
}

// RulebookPublished records a rulebook version; Rulebook is the whole document.
type RulebookPublished struct {
	Year     int       `json:"year"`
	Version  string    `json:"version"`
	Reason   string    `json:"reason"`
	Rulebook *Rulebook `json:"rulebook"`
}
