package domain

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"
)

// This file holds the rules of GOVERNANCE.md: who may record each type,
// who may retract or reject what, the year close (封账) and late entries
// (补录), and the checks of official grades. They are pure: the append
// path (ledger/books) calls them under the lock of the state it appends
// to, on the state just caught up, for every entry route.

// Principal is who records: a role, the organisation a branch is bound to,
// and a name (with the API token's id, when there is one).
type Principal struct {
	TokenID string
	Role    AccessRole
	Org     string // the organisation a branch principal is bound to
	Name    string
}

// LocalAdmin is the principal of the command line and of the ledger's own
// writes: the work committee, named name. GOVERNANCE.md: the CLI runs as
// the local admin.
func LocalAdmin(name string) Principal { return Principal{Role: AccessAdmin, Name: name} }

// recorderRE matches the role suffix RecordedBy writes: "name (role)" or
// "name (role token_id)". It is anchored at the end, so a name that
// itself looks like a suffix cannot change the role read back.
var recorderRE = regexp.MustCompile(` \((branch|assessor|auditor|admin)(?: [0-9a-f]{8,32})?\)$`)

// RecordedBy is the principal as the ledger stores it in recorded_by:
// "name (role token_id)" for an API token, "name (role)" without one.
// The role is read back by RecorderRole, so the rights of a later
// retraction are judged on the stored event, and it travels with an
// export: a restore keeps recorded_by, and a plain import re-records the
// line as the importing principal.
//
// The local admin's recorded_by is its bare name ("cli", "partyledger"),
// as before roles were recorded; RecorderRole takes a recorded_by without
// a role suffix as the work committee's. A local admin whose name ends in
// something that reads as a role gets " (admin)" appended, so that it
// cannot pass for a branch.
func (p Principal) RecordedBy() string {
	switch {
	case p.TokenID != "":
		return fmt.Sprintf("%s (%s %s)", p.Name, p.Role, p.TokenID)
	case p.Role == AccessAdmin && !recorderRE.MatchString(p.Name):
		return p.Name
	}
	return fmt.Sprintf("%s (%s)", p.Name, p.Role)
}

// RecorderRole returns the role of the principal that recorded an event,
// read from its recorded_by (Principal.RecordedBy). A recorded_by without
// a role suffix was written by the command line or the ledger itself
// (the built-in rulebook), which act for the work committee: admin.
func RecorderRole(recordedBy string) AccessRole {
	if m := recorderRE.FindStringSubmatch(recordedBy); m != nil {
		return AccessRole(m[1])
	}
	return AccessAdmin
}

// Side is the party of the 考核办法 that records a type (GOVERNANCE.md).
type Side string

// Sides.
const (
	SideOrg        Side = "organisation" // the organisation itself (branch for its own code; admin)
	SideCommittee  Side = "committee"    // the work committee (admin)
	SideAssessor   Side = "assessor"     // the assessors and the 纪工委 (assessor; admin)
	SideRetraction Side = "retraction"   // EventRetracted: judged on the event it retracts
)

// sides is the table of GOVERNANCE.md: every type of the books has one.
var sides = map[string]Side{
	TypeCommitteeElected: SideOrg, TypeOfficerAppointed: SideOrg, TypeOfficerVacated: SideOrg,
	TypeMemberJoined: SideOrg, TypeMemberDetailsChanged: SideOrg, TypeMemberTransferredOut: SideOrg,
	TypeMeetingHeld: SideOrg, TypeStudySessionHeld: SideOrg, TypeEducationActivityHeld: SideOrg,
	TypeCampaignActivityHeld: SideOrg, TypeMassOrgEducationHeld: SideOrg, TypeSignatureActivityHeld: SideOrg,
	TypeInnovationRecorded: SideOrg, TypeResearchReportSubmitted: SideOrg, TypeWorkInfoSubmitted: SideOrg,
	TypeIntegrityActivityHeld: SideOrg, TypePartyWorkReviewed: SideOrg, TypeDuesAccountOpened: SideOrg,
	TypeDuesPaid: SideOrg, TypeDuesRemitted: SideOrg, TypeSelfInspectionCompleted: SideOrg,
	TypeSubordinateInspected: SideOrg, TypeMeetingSatIn: SideOrg, TypeWorkPlanFiled: SideOrg,
	TypeWorkSummaryFiled: SideOrg, TypeOutreachVisit: SideOrg, TypeDemocraticLifeReported: SideOrg,
	TypeAdministrativeReportGiven: SideOrg, TypeSystemAdopted: SideOrg,

	TypeOrganizationRegistered: SideCommittee, TypeRequiredEventScheduled: SideCommittee,
	TypeAttendanceRecorded: SideCommittee, TypeYearClosed: SideCommittee, TypeAdvancedDesignated: SideCommittee,
	TypeGradeIssued: SideCommittee, TypeGradeRevised: SideCommittee, TypeRulebookPublished: SideCommittee,
	// Rubric revision 2's type (its constant lives with the rubric's
	// catalog change): the committee approves an extended term.
	TypeTermExtensionApproved: SideCommittee,

	TypeFindingRecorded: SideAssessor, TypeGroupAssessmentRecorded: SideAssessor,
	TypeViolationRecorded: SideAssessor, TypeCaseHandled: SideAssessor, TypeEventRejected: SideAssessor,

	TypeEventRetracted: SideRetraction,
}

// SideOf returns who records type t; false for a type outside the books
// (the API's tokens) or unknown.
func SideOf(t string) (Side, bool) {
	s, ok := sides[t]
	return s, ok && KnownType(t)
}

// MayRecord reports whether role may record an event of type t at all.
// A retraction is allowed here to every role that may retract something;
// whether it may retract a given event is judged on that event
// (OrgState.CheckGovernance). Where a branch may record (its own
// organisation only) is judged there too.
func MayRecord(role AccessRole, t string) bool {
	side, ok := SideOf(t)
	if !ok {
		return false
	}
	switch side {
	case SideOrg:
		return role == AccessBranch || role == AccessAdmin
	case SideCommittee:
		return role == AccessAdmin
	case SideAssessor:
		return role == AccessAssessor || role == AccessAdmin
	case SideRetraction:
		return role == AccessBranch || role == AccessAssessor || role == AccessAdmin
	}
	return false
}

// sideText says in English who records a side, for error messages.
func sideText(s Side) string {
	switch s {
	case SideOrg:
		return "recorded by the organisation itself"
	case SideCommittee:
		return "recorded by the work committee (admin)"
	case SideAssessor:
		return "recorded by the assessors and the work committee"
	}
	return "judged on the event it retracts"
}

// ErrForbidden is what a RightsError or YearClosedError unwraps to.
var ErrForbidden = errors.New("domain: not allowed")

// RightsError refuses an entry for who records it: the principal's role
// may not record the type, or not for this organisation, or may not
// retract or reject that event. Field names the input at fault ("type",
// "org", "data.event_id"). The API answers 403.
type RightsError struct {
	Field  string
	Reason string
}

func (e *RightsError) Error() string { return e.Field + ": " + e.Reason }

// Unwrap lets errors.Is(err, ErrForbidden) match.
func (e *RightsError) Unwrap() error { return ErrForbidden }

// ClosedYear is the close (封账) of an assessment year.
type ClosedYear struct {
	Year    int
	EventID string // the YearClosed
	On      Date   // its occurred_on
	Reason  string
}

// YearClosedError refuses an organisation's own entry (or a branch's
// retraction) that concerns a closed year, naming the close.
type YearClosedError struct {
	Field string
	Close ClosedYear
}

func (e *YearClosedError) Error() string { return e.Field + ": " + e.reason() }

// reason is the error without its field.
func (e *YearClosedError) reason() string {
	return fmt.Sprintf("%d is closed (封账: YearClosed %s of %s, %q); the organisation's entries of %d are no longer accepted",
		e.Close.Year, e.Close.EventID, e.Close.On, e.Close.Reason, e.Close.Year)
}

// Unwrap lets errors.Is(err, ErrForbidden) match.
func (e *YearClosedError) Unwrap() error { return ErrForbidden }

// EventMeta is what the governance checks know of a stored event.
type EventMeta struct {
	By AccessRole // the recorder's role (RecorderRole)
	On Date       // occurred_on
}

// GradeBasis is what an official grade is checked against: the computed
// scorecard's final score and tier (advanced meaning eligible, 可评选先进).
type GradeBasis struct {
	Final       Points
	Tier        string
	Provisional bool
}

// GovEnv is what the governance checks need beyond the state appended to.
type GovEnv struct {
	// Committee is the committee stream's state (closed years,
	// designations), read under the committee lock; nil means empty.
	Committee *Schedule
	// Basis computes a grade's basis: the scorecard of code for year at
	// the year's end under rulebook version ("" the one in force), as
	// known at knownAt (InstantLayout; "" now). Nil: grades and
	// designations cannot be checked, and are refused.
	Basis func(code string, year int, version, knownAt string) (GradeBasis, error)
}

func (g *GovEnv) closed(year int) (ClosedYear, bool) {
	if g == nil || g.Committee == nil {
		return ClosedYear{}, false
	}
	c, ok := g.Committee.Closed[year]
	return c, ok
}

// IsDesignated reports whether code is designated advanced for year.
func (s *Schedule) IsDesignated(year int, code string) bool {
	_, ok := s.Designated[year][code]
	return ok
}

// ApplyBy folds a stored event recorded by a principal of role by ("" for
// unknown: the work committee's) into the state.
func (s *OrgState) ApplyBy(id string, rev int64, e *Entry, by AccessRole) {
	if by == "" {
		by = AccessAdmin
	}
	s.apply(id, rev, e)
	s.Meta[id] = EventMeta{By: by, On: e.OccurredOn}
	switch d := e.Payload.(type) {
	case *EventRejected:
		s.Rejects[d.EventID] = id
		for _, m := range s.Members {
			if m.JoinedBy == d.EventID {
				c := *m
				s.parked[id] = append(s.parked[id], &c)
			}
		}
		s.retract(d.EventID)
	case *EventRetracted:
		// A retracted rejection: the entry counts again.
		for target, rej := range s.Rejects {
			if rej != d.EventID {
				continue
			}
			delete(s.Rejects, target)
			for _, m := range s.parked[rej] {
				if cur := s.Members[m.ID]; cur == nil {
					s.Members[m.ID] = m
				}
			}
			delete(s.parked, rej)
		}
	}
}

// CheckGovernance judges whether principal p may record entry e into the
// organisation's stream, on the state s as stored (GOVERNANCE.md): the
// role's rights to the type, a branch's own organisation, the year close,
// retraction and rejection on the event as stored, and the grade rules.
// Rights refusals are *RightsError, a closed year *YearClosedError (both
// ErrForbidden); the rest are field errors. Validation of the entry
// against the state (OrgState.Check) is separate.
func (s *OrgState) CheckGovernance(p Principal, e *Entry, g *GovEnv) error {
	if err := CheckRecordRights(p, e); err != nil {
		return err
	}
	side, _ := SideOf(e.Type)
	if c, ok := g.closed(e.OccurredOn.Year); ok && side == SideOrg {
		return &YearClosedError{Field: "occurred_on", Close: c}
	}
	switch d := e.Payload.(type) {
	case *EventRetracted:
		return s.checkRetraction(p, d, g)
	case *EventRejected:
		return s.checkRejection(d)
	case *GradeIssued:
		return s.checkGrade(g, d.Year, d.RulebookVersion, d.Final, d.Tier, d.OverrideReason, d.ScorecardKnownAt)
	case *GradeRevised:
		return s.checkGrade(g, d.Year, d.RulebookVersion, d.Final, d.Tier, d.OverrideReason, d.ScorecardKnownAt)
	}
	return nil
}

// checkRetraction: a role may retract what it may record; a branch only
// what a branch recorded, while that year is open; admin anything.
func (s *OrgState) checkRetraction(p Principal, d *EventRetracted, g *GovEnv) error {
	typ, ok := s.Events[d.EventID]
	if !ok || p.Role == AccessAdmin {
		return nil // an unknown event is OrgState.Check's to refuse
	}
	if !MayRecord(p.Role, typ) {
		side, _ := SideOf(typ)
		return &RightsError{Field: "data.event_id", Reason: fmt.Sprintf("role %s may not retract a %s (%s)", p.Role, typ, sideText(side))}
	}
	if p.Role != AccessBranch {
		return nil
	}
	meta := s.Meta[d.EventID]
	if meta.By != AccessBranch {
		return &RightsError{Field: "data.event_id", Reason: fmt.Sprintf("event %s was recorded by the %s role: a branch retracts only what a branch recorded", d.EventID, meta.By)}
	}
	if c, ok := g.closed(meta.On.Year); ok {
		return &YearClosedError{Field: "data.event_id", Close: c}
	}
	return nil
}

// checkRejection: only an organisation's own entry that still counts can
// be rejected.
func (s *OrgState) checkRejection(d *EventRejected) error {
	typ, ok := s.Events[d.EventID]
	side, _ := SideOf(typ)
	switch {
	case !ok:
		return fieldErr("data.event_id", fmt.Sprintf("no event %s in %s", d.EventID, s.Code))
	case side != SideOrg:
		return fieldErr("data.event_id", fmt.Sprintf("only the organisation's own entries can be rejected; a %s is %s", typ, sideText(side)))
	case s.Retracts[d.EventID]:
		return fieldErr("data.event_id", fmt.Sprintf("event %s is already retracted", d.EventID))
	case s.Rejects[d.EventID] != "":
		return fieldErr("data.event_id", fmt.Sprintf("event %s is already rejected (%s)", d.EventID, s.Rejects[d.EventID]))
	}
	return nil
}

func (s *OrgState) checkGrade(g *GovEnv, year int, version string, final Points, tier, override, knownAt string) error {
	if g == nil || g.Basis == nil {
		return fieldErr("type", "a grade is checked against the computed scorecard, which cannot be computed here (record grades with `grade issue`, or through the server)")
	}
	b, err := g.Basis(s.Code, year, version, knownAt)
	if err != nil {
		var fe *FieldError
		if errors.As(err, &fe) {
			return fieldErr("data.rulebook_version", fe.Reason)
		}
		return err
	}
	designated := g.Committee != nil && g.Committee.IsDesignated(year, s.Code)
	return CheckGrade(s.Code, year, final, tier, override, b, designated)
}

// ExpectedTier is the official tier the computation gives: the
// scorecard's tier, except that an eligible (advanced) organisation the
// work committee has not designated is 达标.
func ExpectedTier(b GradeBasis, designated bool) string {
	if b.Tier == TierAdvanced && !designated {
		return TierCompliant
	}
	return b.Tier
}

// CheckGrade checks an official grade of code for year against its basis:
// 先进 only for a designated organisation, and a final or tier that
// differs from the computation only with an override reason.
func CheckGrade(code string, year int, final Points, tier, override string, b GradeBasis, designated bool) error {
	if tier == TierAdvanced && !designated {
		return fieldErr("data.tier", fmt.Sprintf("先进 (advanced) only for an organisation the work committee designated (AdvancedDesignated for %d); %s is not designated", year, code))
	}
	want := ExpectedTier(b, designated)
	if (final != b.Final || tier != want) && strings.TrimSpace(override) == "" {
		return fieldErr("data.override_reason", fmt.Sprintf("required: the grade (final %s, %s) differs from the computation (final %s, %s)",
			final, tier, b.Final, want))
	}
	return nil
}

// CheckGovernance judges whether p may record a committee-stream entry:
// only the work committee may; a year is closed once; a designated
// organisation must be registered and eligible when it is designated.
// orgKnown reports whether a code is registered.
func (s *Schedule) CheckGovernance(p Principal, e *Entry, g *GovEnv, orgKnown func(string) bool) error {
	if err := CheckRecordRights(p, e); err != nil {
		return err
	}
	var pr Problems
	switch d := e.Payload.(type) {
	case *YearClosed:
		if c, ok := s.Closed[d.Year]; ok {
			pr.Add("data.year", fmt.Sprintf("%d is already closed (YearClosed %s of %s)", d.Year, c.EventID, c.On))
		}
	case *AdvancedDesignated:
		for i, code := range d.Codes {
			field := fmt.Sprintf("data.codes[%d]", i)
			if !orgKnown(code) {
				pr.Add(field, fmt.Sprintf("organisation %q is not registered", code))
				continue
			}
			if g == nil || g.Basis == nil {
				pr.Add(field, "eligibility is checked against the computed scorecard, which cannot be computed here")
				continue
			}
			b, err := g.Basis(code, d.Year, "", "")
			if err != nil {
				var fe *FieldError
				if errors.As(err, &fe) {
					pr.Add(field, fe.Reason)
					continue
				}
				return err
			}
			if b.Tier != TierAdvanced {
				pr.Add(field, fmt.Sprintf("%s is not eligible for 先进: its scorecard gives %s, %s", code, b.Final, b.Tier))
			}
		}
	}
	return pr.Err()
}

// CheckRecordRights is the part of the rights that needs no state: the
// principal's role may record the type at all, and a branch only for its
// own organisation. The append path asks it first for every entry — also
// for one that repeats a stored event, which writes nothing but is no way
// around the rights — and it is all a rulebook's publication needs.
func CheckRecordRights(p Principal, e *Entry) error {
	if !MayRecord(p.Role, e.Type) {
		side, _ := SideOf(e.Type)
		return &RightsError{Field: "type", Reason: fmt.Sprintf("role %s may not record %s (%s)", p.Role, e.Type, sideText(side))}
	}
	if p.Role == AccessBranch && e.Org != p.Org {
		return &RightsError{Field: "org", Reason: fmt.Sprintf("a branch records only for its own organisation (%s), not %s", p.Org, e.Org)}
	}
	return nil
}

// DefaultLateEntryDays is late_entry_days when the rulebook does not say
// (the 2016 rulebook's value).
const DefaultLateEntryDays = 30

// LateEntryDaysOf returns the rulebook's late_entry_days: how many days
// after its occurred_on an organisation's entry may be recorded before it
// is marked 补录 (30 for a rulebook that does not say, the 2016 value).
func LateEntryDaysOf(rb *Rulebook) int {
	if rb == nil || rb.LateEntryDays <= 0 {
		return DefaultLateEntryDays
	}
	return rb.LateEntryDays
}

// LateDays returns how many days after the date on an entry recorded at
// recordedAt was recorded (CST calendar days; 0 the same day).
func LateDays(on Date, recordedAt time.Time) int {
	rec := DateOf(recordedAt)
	return int(rec.Start().Sub(on.Start()).Hours()+12) / 24
}

// IsLateEntry reports whether an event is 补录: an organisation's own
// entry recorded more than days after it occurred.
func IsLateEntry(typ string, on Date, recordedAt time.Time, days int) bool {
	side, _ := SideOf(typ)
	return side == SideOrg && !on.IsZero() && LateDays(on, recordedAt) > days
}
