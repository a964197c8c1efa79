package api

import (
	"partyledger/domain"
)

// Access is what one role may do on one route.
type Access string

// Accesses.
const (
	Deny   Access = ""    // refused: 403
	AnyOrg Access = "any" // allowed, for any organisation
	OwnOrg Access = "own" // allowed only when {code} is the principal's own organisation
)

// Rule is the policy of one route: who may call it. Every route the
// server registers has exactly one Rule in Policy (New panics otherwise,
// and a test walks the router to check both ways).
type Rule struct {
	Method  string
	Pattern string
	// Public routes need no credentials.
	Public bool
	// Page routes are web pages: they authenticate with the session
	// cookie (not a bearer token), answer errors in HTML, and check the
	// CSRF token of every POST.
	Page     bool
	Branch   Access
	Assessor Access
	Auditor  Access
	Admin    Access
	Summary  string
}

// For returns the access of role.
func (r *Rule) For(role domain.AccessRole) Access {
	switch role {
	case domain.AccessBranch:
		return r.Branch
	case domain.AccessAssessor:
		return r.Assessor
	case domain.AccessAuditor:
		return r.Auditor
	case domain.AccessAdmin:
		return r.Admin
	}
	return Deny
}

// Policy is the role × route table: the one place that says who may call
// what route. Which event types each role may record is GOVERNANCE.md's
// table (domain.MayRecord), judged in the append path.
//
// A branch token reaches only its own organisation's journal, scorecard,
// timeline and to-do list, and records its activities; it sees no other
// organisation, no ranking, no rulebook, no grades, no tokens. An assessor
// reads everything (but tokens) and records findings and group scores; an
// auditor reads everything and writes nothing; the admin (the work
// committee) registers organisations, schedules required events,
// publishes rulebooks, issues grades and manages tokens.
var Policy = []Rule{
	// Public.
	{Method: "GET", Pattern: "/healthz", Public: true, Summary: "liveness and ledger position"},
	{Method: "GET", Pattern: "/v1/openapi.json", Public: true, Summary: "this API's OpenAPI document"},

	// Monitoring: read-only, nothing of any organisation (route patterns,
	// event types, counts), so a scraper needs only an auditor token.
	{Method: "GET", Pattern: "/metrics", Auditor: AnyOrg, Admin: AnyOrg, Summary: "Prometheus metrics"},

	// API.
	{Method: "GET", Pattern: "/v1/me", Branch: AnyOrg, Assessor: AnyOrg, Auditor: AnyOrg, Admin: AnyOrg, Summary: "the authenticated principal"},
	{Method: "GET", Pattern: "/v1/orgs", Assessor: AnyOrg, Auditor: AnyOrg, Admin: AnyOrg, Summary: "list organisations"},
	{Method: "POST", Pattern: "/v1/orgs", Admin: AnyOrg, Summary: "register an organisation"},
	{Method: "GET", Pattern: "/v1/orgs/{code}", Branch: OwnOrg, Assessor: AnyOrg, Auditor: AnyOrg, Admin: AnyOrg, Summary: "an organisation: roster, officers, cases, revision"},
	{Method: "GET", Pattern: "/v1/orgs/{code}/events", Branch: OwnOrg, Assessor: AnyOrg, Auditor: AnyOrg, Admin: AnyOrg, Summary: "the organisation's journal, paged"},
	{Method: "POST", Pattern: "/v1/orgs/{code}/events", Branch: OwnOrg, Assessor: AnyOrg, Admin: AnyOrg, Summary: "append one event or a batch (event types by role: AppendAllowed)"},
	{Method: "GET", Pattern: "/v1/orgs/{code}/scorecard", Branch: OwnOrg, Assessor: AnyOrg, Auditor: AnyOrg, Admin: AnyOrg, Summary: "the scorecard JSON"},
	{Method: "GET", Pattern: "/v1/orgs/{code}/scorecard/timeline", Branch: OwnOrg, Assessor: AnyOrg, Auditor: AnyOrg, Admin: AnyOrg, Summary: "the score at the end of each closed month"},
	{Method: "GET", Pattern: "/v1/orgs/{code}/missing", Branch: OwnOrg, Assessor: AnyOrg, Auditor: AnyOrg, Admin: AnyOrg, Summary: "what is still missing in the open month, quarter, half and year"},
	{Method: "GET", Pattern: "/v1/orgs/{code}/todo", Branch: OwnOrg, Assessor: AnyOrg, Auditor: AnyOrg, Admin: AnyOrg, Summary: "what is due (待办): open requirements with counts, unpaid dues, committee events, the term, each with the type that fulfils it"},
	{Method: "GET", Pattern: "/v1/scorecards", Assessor: AnyOrg, Auditor: AnyOrg, Admin: AnyOrg, Summary: "every organisation's scorecard, ranked"},
	{Method: "GET", Pattern: "/v1/grades", Assessor: AnyOrg, Auditor: AnyOrg, Admin: AnyOrg, Summary: "official grades of a year"},
	{Method: "POST", Pattern: "/v1/grades/issue", Admin: AnyOrg, Summary: "issue the official grades of a year (GradeIssued), or a dry run"},
	{Method: "POST", Pattern: "/v1/grades/revise", Admin: AnyOrg, Summary: "revise the grades a rulebook correction changed (GradeRevised, with a reason), or a dry run"},
	{Method: "GET", Pattern: "/v1/schedule", Assessor: AnyOrg, Auditor: AnyOrg, Admin: AnyOrg, Summary: "the work committee's required events"},
	{Method: "POST", Pattern: "/v1/schedule", Admin: AnyOrg, Summary: "schedule a required event"},
	{Method: "POST", Pattern: "/v1/committee/events", Admin: AnyOrg, Summary: "record a committee event: YearClosed (封账), AdvancedDesignated (确定先进), RequiredEventScheduled"},
	{Method: "GET", Pattern: "/v1/rulebooks/{year}", Assessor: AnyOrg, Auditor: AnyOrg, Admin: AnyOrg, Summary: "rulebook versions of a year"},
	{Method: "GET", Pattern: "/v1/rulebooks/{year}/{version}", Assessor: AnyOrg, Auditor: AnyOrg, Admin: AnyOrg, Summary: "one rulebook document"},
	{Method: "POST", Pattern: "/v1/rulebooks", Admin: AnyOrg, Summary: "publish a rulebook version"},
	{Method: "GET", Pattern: "/v1/recompute", Auditor: AnyOrg, Admin: AnyOrg, Summary: "every organisation under two rulebook versions: who moves, by which items, why"},
	{Method: "GET", Pattern: "/v1/reports/{year}", Assessor: AnyOrg, Auditor: AnyOrg, Admin: AnyOrg, Summary: "the auditors' export: XLSX workbook or one CSV table"},
	{Method: "GET", Pattern: "/v1/verify", Assessor: AnyOrg, Auditor: AnyOrg, Admin: AnyOrg, Summary: "recompute every hash chain"},
	{Method: "GET", Pattern: "/v1/checkpoint", Branch: AnyOrg, Assessor: AnyOrg, Auditor: AnyOrg, Admin: AnyOrg, Summary: "a signed checkpoint of the whole log (tree size, root)"},
	{Method: "GET", Pattern: "/v1/proof/inclusion", Branch: AnyOrg, Assessor: AnyOrg, Auditor: AnyOrg, Admin: AnyOrg, Summary: "an inclusion proof of one event in the tree of a given size"},
	{Method: "GET", Pattern: "/v1/proof/consistency", Branch: AnyOrg, Assessor: AnyOrg, Auditor: AnyOrg, Admin: AnyOrg, Summary: "a proof that the tree of size from is a prefix of the tree of size to"},
	{Method: "GET", Pattern: "/v1/tokens", Auditor: AnyOrg, Admin: AnyOrg, Summary: "issued tokens (never the secrets)"},
	{Method: "POST", Pattern: "/v1/tokens", Admin: AnyOrg, Summary: "issue a token (shown once)"},
	{Method: "DELETE", Pattern: "/v1/tokens/{tokenID}", Admin: AnyOrg, Summary: "revoke a token"},
	{Method: "POST", Pattern: "/v1/backup", Admin: AnyOrg, Summary: "write a verified copy of the ledger into a new directory on the server"},
	{Method: "POST", Pattern: "/v1/tokens/{tokenID}/signin-codes", Admin: AnyOrg, Summary: "issue a one-time sign-in code for the token's person (shown once)"},
	{Method: "GET", Pattern: "/v1/sessions", Auditor: AnyOrg, Admin: AnyOrg, Summary: "device sessions started with sign-in codes (never their cookies)"},
	{Method: "DELETE", Pattern: "/v1/sessions/{sessionID}", Admin: AnyOrg, Summary: "revoke a device session"},

	// Web pages.
	{Method: "GET", Pattern: "/static/*", Public: true, Page: true, Summary: "embedded CSS"},
	{Method: "GET", Pattern: "/login", Public: true, Page: true, Summary: "sign-in page"},
	{Method: "POST", Pattern: "/login", Public: true, Page: true, Summary: "sign in with a token (login CSRF: double-submit cookie)"},
	{Method: "POST", Pattern: "/logout", Page: true, Branch: AnyOrg, Assessor: AnyOrg, Auditor: AnyOrg, Admin: AnyOrg, Summary: "sign out"},
	{Method: "GET", Pattern: "/signin", Public: true, Page: true, Summary: "sign in on a phone with a one-time code"},
	{Method: "POST", Pattern: "/signin", Public: true, Page: true, Summary: "sign in with a one-time code: starts a device session (login CSRF: double-submit cookie)"},
	{Method: "GET", Pattern: "/ui/devices", Page: true, Branch: AnyOrg, Assessor: AnyOrg, Auditor: AnyOrg, Admin: AnyOrg, Summary: "登录设备: one's device sessions (the admin: everyone's)"},
	{Method: "POST", Pattern: "/ui/devices", Page: true, Branch: AnyOrg, Assessor: AnyOrg, Auditor: AnyOrg, Admin: AnyOrg, Summary: "revoke a device session (one's own; the admin: any)"},
	{Method: "GET", Pattern: "/ui/signin-codes", Page: true, Admin: AnyOrg, Summary: "发放手机登录码: choose whose phone"},
	{Method: "POST", Pattern: "/ui/signin-codes", Page: true, Admin: AnyOrg, Summary: "issue a one-time sign-in code, shown once with a QR code of the sign-in address"},
	{Method: "GET", Pattern: "/", Page: true, Branch: AnyOrg, Assessor: AnyOrg, Auditor: AnyOrg, Admin: AnyOrg, Summary: "home: the overview, or a branch's own scorecard"},
	{Method: "GET", Pattern: "/ui/overview", Page: true, Assessor: AnyOrg, Auditor: AnyOrg, Admin: AnyOrg, Summary: "总览"},
	{Method: "GET", Pattern: "/ui/reports/{year}", Page: true, Assessor: AnyOrg, Auditor: AnyOrg, Admin: AnyOrg, Summary: "导出: the export download"},
	{Method: "GET", Pattern: "/ui/orgs/{code}", Page: true, Branch: OwnOrg, Assessor: AnyOrg, Auditor: AnyOrg, Admin: AnyOrg, Summary: "组织评分卡"},
	{Method: "GET", Pattern: "/ui/orgs/{code}/journal", Page: true, Branch: OwnOrg, Assessor: AnyOrg, Auditor: AnyOrg, Admin: AnyOrg, Summary: "台账"},
	{Method: "GET", Pattern: "/ui/orgs/{code}/record", Page: true, Branch: OwnOrg, Assessor: AnyOrg, Admin: AnyOrg, Summary: "登记: choose what to record"},
	{Method: "GET", Pattern: "/ui/orgs/{code}/record/{type}", Page: true, Branch: OwnOrg, Assessor: AnyOrg, Admin: AnyOrg, Summary: "登记 form"},
	{Method: "POST", Pattern: "/ui/orgs/{code}/record/{type}", Page: true, Branch: OwnOrg, Assessor: AnyOrg, Admin: AnyOrg, Summary: "登记 form post"},
	{Method: "GET", Pattern: "/ui/orgs/{code}/roster", Page: true, Branch: OwnOrg, Assessor: AnyOrg, Auditor: AnyOrg, Admin: AnyOrg, Summary: "党员名册: each member's dues bracket and amount due"},
	{Method: "GET", Pattern: "/ui/orgs/{code}/dues", Page: true, Branch: OwnOrg, Admin: AnyOrg, Summary: "党费: the monthly dues form of the whole roster"},
	{Method: "POST", Pattern: "/ui/orgs/{code}/dues", Page: true, Branch: OwnOrg, Admin: AnyOrg, Summary: "record a month's dues of the ticked members in one atomic append"},
	{Method: "GET", Pattern: "/ui/orgs/{code}/print", Page: true, Branch: OwnOrg, Assessor: AnyOrg, Auditor: AnyOrg, Admin: AnyOrg, Summary: "打印台账: the year's 台账 fit for A4"},
	{Method: "GET", Pattern: "/ui/orgs/{code}/xlsx", Page: true, Branch: OwnOrg, Assessor: AnyOrg, Auditor: AnyOrg, Admin: AnyOrg, Summary: "the organisation's 台账 of a year as a workbook"},
	{Method: "GET", Pattern: "/ui/review", Page: true, Assessor: AnyOrg, Admin: AnyOrg, Summary: "网上考核: the year's unreviewed organisation entries, 补录 first, with 退回"},
	{Method: "POST", Pattern: "/ui/review", Page: true, Assessor: AnyOrg, Admin: AnyOrg, Summary: "退回 one entry with a reason (EventRejected)"},

	// 工委管理: the work committee's pages, the admin's only.
	{Method: "GET", Pattern: "/ui/admin", Page: true, Admin: AnyOrg, Summary: "工委管理: the admin pages"},
	{Method: "GET", Pattern: "/ui/admin/tokens", Page: true, Admin: AnyOrg, Summary: "访问令牌: every token, issue and revoke forms"},
	{Method: "POST", Pattern: "/ui/admin/tokens", Page: true, Admin: AnyOrg, Summary: "issue a token (shown once)"},
	{Method: "POST", Pattern: "/ui/admin/tokens/{tokenID}/revoke", Page: true, Admin: AnyOrg, Summary: "revoke a token (not the last admin token)"},
	{Method: "GET", Pattern: "/ui/admin/rulebooks", Page: true, Admin: AnyOrg, Summary: "细则版本: versions and the publish form"},
	{Method: "POST", Pattern: "/ui/admin/rulebooks", Page: true, Admin: AnyOrg, Summary: "publish a rulebook version from an uploaded file (every problem with its line)"},
	{Method: "GET", Pattern: "/ui/admin/rulebooks/diff", Page: true, Admin: AnyOrg, Summary: "two rulebook versions side by side"},
	{Method: "GET", Pattern: "/ui/admin/rulebooks/{year}/{version}", Page: true, Admin: AnyOrg, Summary: "a rulebook version as a JSON file"},
	{Method: "GET", Pattern: "/ui/admin/recompute", Page: true, Admin: AnyOrg, Summary: "重新计算: who moves between which tiers, by which items (two versions or two known_at)"},
	{Method: "GET", Pattern: "/ui/admin/grades", Page: true, Admin: AnyOrg, Summary: "正式等次: computed and official grades, issue and revise forms"},
	{Method: "POST", Pattern: "/ui/admin/grades/issue", Page: true, Admin: AnyOrg, Summary: "issue grades: a dry run, then confirmed (GradeIssued)"},
	{Method: "POST", Pattern: "/ui/admin/grades/revise", Page: true, Admin: AnyOrg, Summary: "revise grades with a reason: a dry run, then confirmed (GradeRevised)"},
	{Method: "GET", Pattern: "/ui/admin/grades/designate", Page: true, Admin: AnyOrg, Summary: "确定先进: the eligible organisations"},
	{Method: "POST", Pattern: "/ui/admin/grades/designate", Page: true, Admin: AnyOrg, Summary: "designate 先进: checked, then confirmed (AdvancedDesignated)"},
	{Method: "GET", Pattern: "/ui/admin/grades/{code}", Page: true, Admin: AnyOrg, Summary: "an organisation's grades of a year, with override reasons"},
}

// ruleFor returns the policy of a route, or nil.
func ruleFor(method, pattern string) *Rule {
	for i := range Policy {
		if Policy[i].Method == method && Policy[i].Pattern == pattern {
			return &Policy[i]
		}
	}
	return nil
}

// AppendAllowed reports whether role may append an event of type t to an
// organisation's journal (POST /v1/orgs/{code}/events and the 登记 forms):
// the table of GOVERNANCE.md (domain.MayRecord), limited to the types of
// an organisation's stream. A retraction (EventRetracted) is allowed to
// whoever may record the type of the event it retracts: retractedType is
// that type ("" when unknown: then the roles that may retract something
// may try).
//
// This is the API's early answer, for a clear 403 before the body is
// judged; it is not the authority. The append path (books.Books.RecordAs)
// judges every entry again, on the state read under the append's lock:
// a retraction on who recorded the retracted event, a branch only for its
// own organisation and open years.
func AppendAllowed(role domain.AccessRole, t, retractedType string) bool {
	if k, ok := domain.StreamKindOf(t); !ok || k != domain.StreamOrg || t == domain.TypeOrganizationRegistered {
		return false // registration has its own route (POST /v1/orgs)
	}
	if t == domain.TypeEventRetracted && retractedType != "" {
		return retractedType != domain.TypeEventRetracted && domain.MayRecord(role, retractedType)
	}
	return domain.MayRecord(role, t)
}

// AppendableTypes lists the types role may append (retraction included
// when the role may retract something), in catalog order.
func AppendableTypes(role domain.AccessRole) []string {
	var out []string
	for _, t := range catalogOrder {
		if AppendAllowed(role, t, "") {
			out = append(out, t)
		}
	}
	return out
}

// catalogOrder is the order of EVENTS.md's organisation stream table.
var catalogOrder = []string{
	domain.TypeTermExtensionApproved, domain.TypeCommitteeElected, domain.TypeOfficerAppointed, domain.TypeOfficerVacated,
	domain.TypeMemberJoined, domain.TypeMemberDetailsChanged, domain.TypeMemberTransferredOut,
	domain.TypeMeetingHeld, domain.TypeStudySessionHeld, domain.TypeEducationActivityHeld, domain.TypeCampaignActivityHeld,
	domain.TypeMassOrgEducationHeld, domain.TypeSignatureActivityHeld, domain.TypeInnovationRecorded,
	domain.TypeResearchReportSubmitted, domain.TypeWorkInfoSubmitted, domain.TypeIntegrityActivityHeld,
	domain.TypePartyWorkReviewed, domain.TypeDuesAccountOpened, domain.TypeDuesPaid, domain.TypeDuesRemitted,
	domain.TypeSelfInspectionCompleted, domain.TypeSubordinateInspected, domain.TypeAttendanceRecorded,
	domain.TypeMeetingSatIn, domain.TypeWorkPlanFiled, domain.TypeWorkSummaryFiled, domain.TypeOutreachVisit,
	domain.TypeViolationRecorded, domain.TypeCaseHandled, domain.TypeDemocraticLifeReported,
	domain.TypeAdministrativeReportGiven, domain.TypeSystemAdopted, domain.TypeFindingRecorded,
	domain.TypeGroupAssessmentRecorded, domain.TypeEventRejected, domain.TypeEventRetracted, domain.TypeGradeIssued, domain.TypeGradeRevised,
}

// RecordableTypes lists every type role may record, in any stream (the
// organisation's types in catalog order, then the committee's and the
// rulebook's): GET /v1/me.
func RecordableTypes(role domain.AccessRole) []string {
	out := append([]string{}, AppendableTypes(role)...)
	for _, t := range []string{domain.TypeOrganizationRegistered, domain.TypeRequiredEventScheduled, domain.TypeYearClosed,
		domain.TypeAdvancedDesignated, domain.TypeRulebookPublished} {
		if domain.MayRecord(role, t) {
			out = append(out, t)
		}
	}
	return out
}
