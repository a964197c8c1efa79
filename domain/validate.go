package domain

import (
	"encoding/base64"
	"fmt"
	"sort"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Limits on text fields. Everything has a limit.
const (
	MaxTitleRunes   = 200
	MaxSummaryRunes = 2000
	MaxNameRunes    = 64
	MaxAttendees    = 1000
	MaxTargets      = 1000
	MaxTermYears    = 5
)

// checkText validates a required or optional free-text field.
func checkText(p *Problems, field, s string, required bool, maxRunes int) {
	if s == "" {
		if required {
			p.Add(field, "required")
		}
		return
	}
	if reason := TextProblem(s, maxRunes); reason != "" {
		p.Add(field, reason)
	}
}

// TextProblem returns why s is not acceptable free text, or "".
// Refused: invalid UTF-8, control characters (other than none: free text
// is one line), bidirectional overrides and isolates (they can make a
// journal line read differently from what it stores), text that is only
// blank, and text longer than maxRunes.
func TextProblem(s string, maxRunes int) string {
	if !utf8.ValidString(s) {
		return "invalid UTF-8"
	}
	if n := utf8.RuneCountInString(s); n > maxRunes {
		return fmt.Sprintf("longer than %d characters (%d)", maxRunes, n)
	}
	for _, r := range s {
		switch {
		case unicode.IsControl(r):
			return fmt.Sprintf("control character %U not allowed", r)
		case isBidiControl(r):
			return fmt.Sprintf("bidirectional control character %U not allowed", r)
		}
	}
	if strings.TrimSpace(s) == "" {
		return "must not be blank"
	}
	return ""
}

func isBidiControl(r rune) bool {
	return (r >= 0x202A && r <= 0x202E) || (r >= 0x2066 && r <= 0x2069) || r == 0x200E || r == 0x200F || r == 0x061C
}

// IDProblem returns why s is not a valid member, case or scheduled-event
// id (1–64 of letters, digits, '-', '_'), or "".
func IDProblem(s string) string {
	if s == "" {
		return "required"
	}
	if len(s) > 64 {
		return "longer than 64 characters"
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return "only letters, digits, '-' and '_' are allowed"
		}
	}
	return ""
}

func checkID(p *Problems, field, s string) {
	if r := IDProblem(s); r != "" {
		p.Add(field, r)
	}
}

// OrgCodeProblem returns why s is not a valid organisation code (the ID
// alphabet, at most 32 characters), or "".
func OrgCodeProblem(s string) string {
	if r := IDProblem(s); r != "" {
		return r
	}
	if len(s) > 32 {
		return "longer than 32 characters"
	}
	return ""
}

func checkEnum(p *Problems, field, v string, allowed ...string) {
	if v == "" {
		p.Add(field, "required; one of "+strings.Join(allowed, ", "))
		return
	}
	for _, a := range allowed {
		if v == a {
			return
		}
	}
	p.Add(field, fmt.Sprintf("%q is not one of %s", truncate(v, 40), strings.Join(allowed, ", ")))
}

func checkMembers(p *Problems, field string, ids []string, required bool) {
	if ids == nil && required {
		p.Add(field, "required (a list of member ids, may be empty)")
		return
	}
	if len(ids) > MaxAttendees {
		p.Add(field, fmt.Sprintf("more than %d entries", MaxAttendees))
		return
	}
	seen := make(map[string]bool, len(ids))
	for i, id := range ids {
		f := fmt.Sprintf("%s[%d]", field, i)
		if r := IDProblem(id); r != "" {
			p.Add(f, r)
			continue
		}
		if seen[id] {
			p.Add(f, fmt.Sprintf("member %q listed twice", id))
		}
		seen[id] = true
	}
}

func checkYear(p *Problems, field string, y int) {
	if y < DateMin.Year || y > DateMax.Year {
		p.Add(field, fmt.Sprintf("want a year within %d..%d", DateMin.Year, DateMax.Year))
	}
}

var officerRoles = []string{RoleSecretary, RoleDeputySecretary, RoleFulltimeDeputySecretary, RoleAffairsOfficer}

// MaxIncomeFen bounds a monthly income (10 million yuan).
const MaxIncomeFen Fen = 1_000_000_000

// MaxAmountFen bounds one payment (1 million yuan).
const MaxAmountFen Fen = 100_000_000

func checkFen(p *Problems, field string, v, max Fen, positive bool) {
	switch {
	case v < 0:
		p.Add(field, "must not be negative")
	case positive && v == 0:
		p.Add(field, "must be positive")
	case v > max:
		p.Add(field, fmt.Sprintf("larger than %d fen", max))
	}
}

func (e *OrganizationRegistered) Validate() error {
	var p Problems
	if r := OrgCodeProblem(e.Code); r != "" {
		p.Add("code", r)
	}
	checkText(&p, "name", e.Name, true, MaxTitleRunes)
	checkEnum(&p, "kind", string(e.Kind), string(KindCommittee), string(KindGeneralBranch), string(KindBranch))
	if e.ParentCode != "" {
		if r := OrgCodeProblem(e.ParentCode); r != "" {
			p.Add("parent_code", r)
		} else if e.ParentCode == e.Code {
			p.Add("parent_code", "an organisation cannot be its own parent")
		}
	}
	if !e.FoundedOn.IsZero() {
		checkDate(&p, "founded_on", e.FoundedOn)
	}
	return p.Err()
}

// checkDate validates a date built in Go (JSON input is already checked
// by Date.UnmarshalJSON): it must exist and lie within DateMin..DateMax.
func checkDate(p *Problems, field string, d Date) {
	if d.IsZero() {
		p.Add(field, "required: a date YYYY-MM-DD")
		return
	}
	if v, err := ParseDate(d.String()); err != nil || v != d {
		p.Add(field, fmt.Sprintf("want a calendar date within %s..%s", DateMin, DateMax))
	}
}

func (e *TermExtensionApproved) Validate() error {
	var p Problems
	checkDate(&p, "until", e.Until)
	checkText(&p, "reason", e.Reason, true, MaxSummaryRunes)
	return p.Err()
}

func (e *CommitteeElected) Validate() error {
	var p Problems
	if e.TermYears < 1 || e.TermYears > MaxTermYears {
		p.Add("term_years", fmt.Sprintf("want 1..%d", MaxTermYears))
	}
	return p.Err()
}

func (e *OfficerAppointed) Validate() error {
	var p Problems
	checkEnum(&p, "role", e.Role, officerRoles...)
	checkID(&p, "member_id", e.MemberID)
	return p.Err()
}

func (e *OfficerVacated) Validate() error {
	var p Problems
	checkEnum(&p, "role", e.Role, officerRoles...)
	checkID(&p, "member_id", e.MemberID)
	return p.Err()
}

func (e *MemberJoined) Validate() error {
	var p Problems
	checkID(&p, "member_id", e.MemberID)
	checkText(&p, "name", e.Name, true, MaxNameRunes)
	checkFen(&p, "monthly_income_fen", e.MonthlyIncomeFen, MaxIncomeFen, false)
	return p.Err()
}

func (e *MemberDetailsChanged) Validate() error {
	var p Problems
	checkID(&p, "member_id", e.MemberID)
	if e.IsLeader == nil && e.MonthlyIncomeFen == nil {
		p.Add("", "give is_leader or monthly_income_fen (or both)")
	}
	if e.MonthlyIncomeFen != nil {
		checkFen(&p, "monthly_income_fen", *e.MonthlyIncomeFen, MaxIncomeFen, false)
	}
	return p.Err()
}

func (e *MemberTransferredOut) Validate() error {
	var p Problems
	checkID(&p, "member_id", e.MemberID)
	return p.Err()
}

var meetingKinds = []string{MeetingCommittee, MeetingBranchCommittee, MeetingGeneralAssembly, MeetingGroup, MeetingGroupDemocraticLife, MeetingPartyLecture}

func (e *MeetingHeld) Validate() error {
	var p Problems
	checkEnum(&p, "kind", e.Kind, meetingKinds...)
	checkText(&p, "topic", e.Topic, true, MaxTitleRunes)
	checkMembers(&p, "attendees", e.Attendees, true)
	switch {
	case e.Kind == MeetingPartyLecture:
		checkID(&p, "lecturer_id", e.LecturerID)
	case e.LecturerID != "":
		p.Add("lecturer_id", "only a party_lecture has a lecturer")
	}
	return p.Err()
}

func (e *StudySessionHeld) Validate() error {
	var p Problems
	checkText(&p, "topic", e.Topic, true, MaxTitleRunes)
	checkMembers(&p, "attendees", e.Attendees, true)
	return p.Err()
}

var educationTopics = []string{TopicPartyConstitution, TopicSpeeches, TopicPolicy, TopicSituation, TopicCoreValues}

func (e *EducationActivityHeld) Validate() error {
	var p Problems
	checkEnum(&p, "topic", e.Topic, educationTopics...)
	checkText(&p, "title", e.Title, true, MaxTitleRunes)
	return p.Err()
}

func (e *CampaignActivityHeld) Validate() error {
	var p Problems
	checkEnum(&p, "campaign", e.Campaign, CampaignCivilizedUnit, CampaignVolunteer, CampaignCivilityEtiquette)
	checkText(&p, "title", e.Title, true, MaxTitleRunes)
	return p.Err()
}

func (t *Titled) validate() error {
	var p Problems
	checkText(&p, "title", t.Title, true, MaxTitleRunes)
	return p.Err()
}

func (e *MassOrgEducationHeld) Validate() error      { return (*Titled)(e).validate() }
func (e *SignatureActivityHeld) Validate() error     { return (*Titled)(e).validate() }
func (e *InnovationRecorded) Validate() error        { return (*Titled)(e).validate() }
func (e *ResearchReportSubmitted) Validate() error   { return (*Titled)(e).validate() }
func (e *WorkInfoSubmitted) Validate() error         { return (*Titled)(e).validate() }
func (e *IntegrityActivityHeld) Validate() error     { return (*Titled)(e).validate() }
func (e *PartyWorkReviewed) Validate() error         { return (*Titled)(e).validate() }
func (e *DemocraticLifeReported) Validate() error    { return (*Titled)(e).validate() }
func (e *AdministrativeReportGiven) Validate() error { return (*Titled)(e).validate() }

func (e *DuesAccountOpened) Validate() error {
	var p Problems
	checkText(&p, "bank", e.Bank, true, MaxTitleRunes)
	if len(e.AccountLast4) != 4 || strings.Trim(e.AccountLast4, "0123456789") != "" {
		p.Add("account_last4", "want exactly 4 digits")
	}
	return p.Err()
}

func (e *DuesPaid) Validate() error {
	var p Problems
	checkID(&p, "member_id", e.MemberID)
	if _, err := ParseMonth(e.Month); err != nil {
		p.Add("month", err.Error())
	}
	checkFen(&p, "amount_fen", e.AmountFen, MaxAmountFen, true)
	return p.Err()
}

func (e *DuesRemitted) Validate() error {
	var p Problems
	if _, err := ParseQuarter(e.Quarter); err != nil {
		p.Add("quarter", err.Error())
	}
	checkFen(&p, "amount_fen", e.AmountFen, MaxAmountFen*1000, true)
	return p.Err()
}

func (e *SelfInspectionCompleted) Validate() error {
	var p Problems
	if _, err := ParseHalf(e.Half); err != nil {
		p.Add("half", err.Error())
	}
	return p.Err()
}

func (e *SubordinateInspected) Validate() error {
	var p Problems
	if r := OrgCodeProblem(e.SubordinateCode); r != "" {
		p.Add("subordinate_code", r)
	}
	return p.Err()
}

func (e *AttendanceRecorded) Validate() error {
	var p Problems
	checkID(&p, "scheduled_event_id", e.ScheduledEventID)
	return p.Err()
}

func (e *MeetingSatIn) Validate() error {
	var p Problems
	checkEnum(&p, "kind", e.Kind, SatInLeadersDemocraticLife, SatInLeadershipMeeting)
	checkText(&p, "title", e.Title, true, MaxTitleRunes)
	return p.Err()
}

func (e *WorkPlanFiled) Validate() error {
	var p Problems
	checkEnum(&p, "area", e.Area, AreaOutreach)
	return p.Err()
}

func (e *WorkSummaryFiled) Validate() error {
	var p Problems
	checkEnum(&p, "area", e.Area, AreaOutreach)
	return p.Err()
}

func (e *OutreachVisit) Validate() error {
	var p Problems
	checkEnum(&p, "kind", e.Kind, OutreachGrassroots, OutreachVillage, OutreachEnterprise)
	checkText(&p, "title", e.Title, true, MaxTitleRunes)
	return p.Err()
}

func (e *ViolationRecorded) Validate() error {
	var p Problems
	checkID(&p, "case_id", e.CaseID)
	checkText(&p, "person", e.Person, true, MaxNameRunes)
	checkEnum(&p, "severity", e.Severity, SeverityOrdinary, SeveritySerious)
	checkEnum(&p, "impact", e.Impact, ImpactNormal, ImpactSevere)
	checkText(&p, "summary", e.Summary, true, MaxSummaryRunes)
	return p.Err()
}

func (e *CaseHandled) Validate() error {
	var p Problems
	checkID(&p, "case_id", e.CaseID)
	checkText(&p, "outcome", e.Outcome, true, MaxSummaryRunes)
	return p.Err()
}

func (e *SystemAdopted) Validate() error {
	var p Problems
	checkEnum(&p, "system", e.System, SystemResponsibility, SystemOrgLife, SystemCareAndSupport)
	checkText(&p, "title", e.Title, true, MaxTitleRunes)
	return p.Err()
}

// ItemCodeProblem returns why s is not an item code like "3.2", or "".
func ItemCodeProblem(s string) string {
	if len(s) < 3 || len(s) > 5 || strings.Count(s, ".") != 1 || strings.Trim(s, "0123456789.") != "" || s[0] == '.' || s[len(s)-1] == '.' {
		return "want an item code like 3.2"
	}
	return ""
}

func (e *FindingRecorded) Validate() error {
	var p Problems
	checkYear(&p, "year", e.Year)
	if r := ItemCodeProblem(e.Item); r != "" {
		p.Add("item", r)
	}
	checkID(&p, "finding", e.Finding)
	if e.Points != nil && (*e.Points <= 0 || *e.Points > PointsOf(100)) {
		p.Add("points", "want a positive number of points, at most 100")
	}
	checkText(&p, "reason", e.Reason, true, MaxSummaryRunes)
	return p.Err()
}

func (e *GroupAssessmentRecorded) Validate() error {
	var p Problems
	checkYear(&p, "year", e.Year)
	if e.Score < 0 || e.Score > PointsOf(100) {
		p.Add("score", "want 0..100")
	}
	return p.Err()
}

func (e *EventRetracted) Validate() error {
	var p Problems
	if !isUUID(e.EventID) {
		p.Add("event_id", "want an event id (UUID)")
	}
	checkText(&p, "reason", e.Reason, true, MaxSummaryRunes)
	return p.Err()
}

var tiers = []string{TierAdvanced, TierCompliant, TierNonCompliant}

// InstantLayout is the one textual form of an instant in the ledger
// (recorded_at, a scorecard's known_at): UTC, microseconds.
const InstantLayout = "2006-01-02T15:04:05.000000Z"

func checkGrade(p *Problems, year int, version string, final Points, tier, sha, knownAt string) {
	checkYear(p, "year", year)
	if sha != "" && (len(sha) != 64 || strings.Trim(sha, "0123456789abcdef") != "") {
		p.Add("scorecard_sha256", "want 64 lower-case hex digits")
	}
	if knownAt != "" {
		// The zero instant would be checked as "now" (GradeBasis), and
		// instants from 2262 on overflow: the dates the ledger takes only.
		if t, err := time.Parse(InstantLayout, knownAt); err != nil {
			p.Add("scorecard_known_at", "want "+InstantLayout)
		} else if t.Before(DateMin.Start()) || !t.Before(DateMax.End()) {
			p.Add("scorecard_known_at", fmt.Sprintf("want an instant within %s..%s", DateMin, DateMax))
		}
	}
	checkText(p, "rulebook_version", version, true, MaxNameRunes)
	if final < 0 || final > PointsOf(100) {
		p.Add("final", "want 0..100")
	}
	checkEnum(p, "tier", tier, tiers...)
}

func (e *GradeIssued) Validate() error {
	var p Problems
	checkGrade(&p, e.Year, e.RulebookVersion, e.Final, e.Tier, e.ScorecardSHA256, e.ScorecardKnownAt)
	checkText(&p, "override_reason", e.OverrideReason, false, MaxSummaryRunes)
	checkGradeCheckpoint(&p, e.Checkpoint)
	return p.Err()
}

func (e *GradeRevised) Validate() error {
	var p Problems
	checkGrade(&p, e.Year, e.RulebookVersion, e.Final, e.Tier, e.ScorecardSHA256, e.ScorecardKnownAt)
	checkText(&p, "reason", e.Reason, true, MaxSummaryRunes)
	checkText(&p, "override_reason", e.OverrideReason, false, MaxSummaryRunes)
	checkGradeCheckpoint(&p, e.Checkpoint)
	return p.Err()
}

// checkGradeCheckpoint: a tree of at least one event, and a SHA-256 root
// in standard base64.
func checkGradeCheckpoint(p *Problems, c *GradeCheckpoint) {
	if c == nil {
		return
	}
	if c.Size < 1 {
		p.Add("checkpoint.size", "want a tree size ≥ 1")
	}
	if b, err := base64.StdEncoding.DecodeString(c.Root); err != nil || len(b) != 32 {
		p.Add("checkpoint.root", "want a SHA-256 root hash in standard base64 (44 characters)")
	}
}

func (e *RequiredEventScheduled) Validate() error {
	var p Problems
	checkID(&p, "scheduled_event_id", e.ScheduledEventID)
	checkEnum(&p, "kind", e.Kind, ScheduledMeeting, ScheduledActivity, ScheduledTraining)
	checkText(&p, "title", e.Title, true, MaxTitleRunes)
	switch {
	case len(e.Targets) == 0:
		p.Add("targets", `required: organisation codes, or ["*"] for all`)
	case len(e.Targets) > MaxTargets:
		p.Add("targets", fmt.Sprintf("more than %d entries", MaxTargets))
	}
	for i, t := range e.Targets {
		if t == TargetsAll {
			if len(e.Targets) > 1 {
				p.Add(fmt.Sprintf("targets[%d]", i), `"*" must be the only target`)
			}
			continue
		}
		if r := OrgCodeProblem(t); r != "" {
			p.Add(fmt.Sprintf("targets[%d]", i), r)
		}
	}
	return p.Err()
}

func (e *RulebookPublished) Validate() error {
	var p Problems
	checkYear(&p, "year", e.Year)
	checkText(&p, "version", e.Version, true, MaxNameRunes)
	checkText(&p, "reason", e.Reason, true, MaxSummaryRunes)
	if e.Rulebook == nil {
		p.Add("rulebook", "required")
		return p.Err()
	}
	if e.Rulebook.Version != e.Version {
		p.Add("version", fmt.Sprintf("differs from the document's version %q", e.Rulebook.Version))
	}
	if e.Rulebook.Year != e.Year {
		p.Add("year", fmt.Sprintf("differs from the document's year %d", e.Rulebook.Year))
	}
	if err := e.Rulebook.Validate(); err != nil {
		for _, fe := range FieldErrors(err) {
			f := "rulebook"
			if fe.Field != "" {
				f += "." + fe.Field
			}
			p.Add(f, fe.Reason)
		}
	}
	return p.Err()
}

func isUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < 36; i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
				return false
			}
		}
	}
	return true
}

func sortStrings(s []string) { sort.Strings(s) }
