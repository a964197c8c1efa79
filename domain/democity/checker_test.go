package democity_test

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"partyledger/domain"
)

// This file is an independent reading of RUBRIC.md's ledger rules
// (revision 2), just enough to say which requirements an organisation's
// lines miss at the end of the year (all retractions known). It names
// misses like democity.Org.Misses does, so the two can be compared; it is
// not a scorer (no points, no findings).

type income struct {
	from domain.Date
	fen  domain.Fen
}

type roster struct {
	joined  domain.Date
	left    domain.Date
	leader  bool
	incomes []income
}

func (m *roster) owes(end domain.Date) bool {
	return !m.joined.After(end) && (m.left.IsZero() || end.Before(m.left))
}

func (m *roster) incomeAt(d domain.Date) domain.Fen {
	var fen domain.Fen
	for _, in := range m.incomes {
		if !in.from.After(d) {
			fen = in.fen
		}
	}
	return fen
}

func wholeYears(from, to domain.Date) int {
	y := to.Year - from.Year
	if to.Month < from.Month || to.Month == from.Month && to.Day < from.Day {
		y--
	}
	return y
}

func (j *journal) check(code string) []string {
	reg := j.orgs[code]
	lines := j.byOrg[code]
	retracted := map[string]bool{}
	for _, l := range lines {
		if p, ok := l.entry.Payload.(*domain.EventRetracted); ok {
			retracted[p.EventID] = true
		}
	}
	var es []domain.Entry
	for _, l := range lines {
		if l.entry.Type != domain.TypeEventRetracted && !(l.entry.ID != "" && retracted[l.entry.ID]) {
			es = append(es, l.entry)
		}
	}
	inYear := func(e domain.Entry) bool { return !e.OccurredOn.Before(yearStart) && !e.OccurredOn.After(yearEnd) }
	var misses []string
	miss := func(m string) {
		if !slices.Contains(misses, m) {
			misses = append(misses, m)
		}
	}

	members := map[string]*roster{}
	var memberOrder []string
	officers := map[string][]string{} // role → members in office
	var elected, extendedUntil domain.Date
	term := 0
	// An organisation founded in the year: periods that began before
	// founded_on are not judged; yearly minimums scale to the M months
	// whose first day is on or after it.
	founded := reg.FoundedOn
	if founded.Year != yearStart.Year {
		founded = domain.Date{}
	}
	months := 12
	if !founded.IsZero() {
		months = 12 - int(founded.Month)
		if founded.Day == 1 {
			months++
		}
	}
	judgedFrom := func(start domain.Date) bool { return founded.IsZero() || !start.Before(founded) }
	yearly := func(n int) int { return (n*months + 11) / 12 }
	var (
		topics, campaigns, systems, halves, attended = map[string]bool{}, map[string]bool{}, map[string]bool{}, map[string]bool{}, map[string]bool{}
		count                                        = map[string]int{} // type or type/kind
		lecturesByQuarter                            [5]int
		studyByMonth                                 [13]int
		notesMissing                                 bool
		lecturers                                    = map[string]bool{}
		gdlAttendees                                 = map[string]bool{}
		activities                                   = map[string]int{}
		paid                                         = map[string]domain.Fen{} // member/month → total
		paidOnTime                                   = map[string]domain.Fen{} // member/month → paid by the month's end
		remittedOnTime                               [5]bool
		violations                                   []*domain.ViolationRecorded
		violationOn                                  = map[string]domain.Date{}
		handledOn                                    = map[string]domain.Date{}
	)
	for _, e := range es {
		switch p := e.Payload.(type) {
		case *domain.CommitteeElected:
			elected, term = e.OccurredOn, p.TermYears
		case *domain.TermExtensionApproved:
			extendedUntil = p.Until
		case *domain.MemberJoined:
			members[p.MemberID] = &roster{joined: e.OccurredOn, leader: p.IsLeader, incomes: []income{{e.OccurredOn, p.MonthlyIncomeFen}}}
			memberOrder = append(memberOrder, p.MemberID)
		case *domain.MemberDetailsChanged:
			m := members[p.MemberID]
			if p.IsLeader != nil {
				m.leader = *p.IsLeader
			}
			if p.MonthlyIncomeFen != nil {
				m.incomes = append(m.incomes, income{e.OccurredOn, *p.MonthlyIncomeFen})
			}
		case *domain.MemberTransferredOut:
			members[p.MemberID].left = e.OccurredOn
		case *domain.OfficerAppointed:
			officers[p.Role] = append(officers[p.Role], p.MemberID)
		case *domain.OfficerVacated:
			officers[p.Role] = slices.DeleteFunc(officers[p.Role], func(id string) bool { return id == p.MemberID })
		case *domain.SystemAdopted:
			systems[p.System] = true
		case *domain.DuesAccountOpened:
			count[e.Type]++
		}
		if !inYear(e) {
			continue
		}
		count[e.Type]++
		switch p := e.Payload.(type) {
		case *domain.EducationActivityHeld:
			topics[p.Topic] = true
		case *domain.CampaignActivityHeld:
			campaigns[p.Campaign] = true
		case *domain.SelfInspectionCompleted:
			if e.OccurredOn.Half() == 1 && strings.HasSuffix(p.Half, "H1") || e.OccurredOn.Half() == 2 && strings.HasSuffix(p.Half, "H2") {
				halves[p.Half] = true // only when done inside the half it names
			}
		case *domain.AttendanceRecorded:
			attended[p.ScheduledEventID] = true
		case *domain.MeetingSatIn:
			count[e.Type+"/"+p.Kind]++
		case *domain.WorkPlanFiled, *domain.WorkSummaryFiled:
		case *domain.MeetingHeld:
			count[e.Type+"/"+p.Kind]++
			for _, id := range p.Attendees {
				activities[id]++
				if p.Kind == domain.MeetingGroupDemocraticLife {
					gdlAttendees[id] = true
				}
			}
			if p.Kind == domain.MeetingPartyLecture {
				lecturesByQuarter[e.OccurredOn.Quarter()]++
				lecturers[p.LecturerID] = true
			}
		case *domain.StudySessionHeld:
			studyByMonth[e.OccurredOn.Month]++
			notesMissing = notesMissing || !p.NotesKept
			for _, id := range p.Attendees {
				activities[id]++
			}
		case *domain.DuesPaid:
			k := p.MemberID + "/" + p.Month
			paid[k] += p.AmountFen
			if m, _ := domain.ParseMonth(p.Month); !e.OccurredOn.After(m.End()) {
				paidOnTime[k] += p.AmountFen
			}
		case *domain.DuesRemitted:
			q, _ := domain.ParseQuarter(p.Quarter)
			if !e.OccurredOn.After(q.End()) {
				remittedOnTime[q.N] = true
			}
		case *domain.ViolationRecorded:
			violations = append(violations, p)
			violationOn[p.CaseID] = e.OccurredOn
		case *domain.CaseHandled:
			handledOn[p.CaseID] = e.OccurredOn
		}
	}
	cg := reg.Kind == domain.KindCommittee || reg.Kind == domain.KindGeneralBranch

	// 1.1, 1.3, 1.4, 2.1
	for _, tp := range []string{domain.TopicPartyConstitution, domain.TopicSpeeches, domain.TopicPolicy, domain.TopicSituation, domain.TopicCoreValues} {
		if !topics[tp] {
			miss("education_topic")
		}
	}
	if !campaigns[domain.CampaignCivilizedUnit] {
		miss("civilized_unit")
	}
	if !campaigns[domain.CampaignVolunteer] || !campaigns[domain.CampaignCivilityEtiquette] {
		miss("other_campaign")
	}
	need := func(typ string, n int, name string) {
		if count[typ] < yearly(n) {
			miss(name)
		}
	}
	need(domain.TypeMassOrgEducationHeld, 1, "mass_org")
	need(domain.TypeSignatureActivityHeld, 1, "signature")
	need(domain.TypeInnovationRecorded, 1, "innovation")

	// 2.2 and 5.1 (1)
	if len(officers[domain.RoleSecretary]) == 0 {
		miss("leadership")
	}
	deputies := len(officers[domain.RoleDeputySecretary]) + len(officers[domain.RoleFulltimeDeputySecretary])
	if cg && deputies == 0 {
		miss("leadership")
	}
	if reg.Kind == domain.KindCommittee && (deputies == 0 || len(officers[domain.RoleAffairsOfficer]) == 0) {
		miss("staffing")
	}
	if term == 0 {
		miss("no_election")
	} else {
		exp := domain.DateOf(elected.Start().AddDate(term, 0, 0))
		if extendedUntil.After(exp) {
			exp = extendedUntil
		}
		if wholeYears(exp, yearEnd) >= 1 {
			miss("overdue_term")
		}
	}

	// 2.5
	for _, id := range memberOrder {
		m := members[id]
		for month := time.January; month <= time.December; month++ {
			end := domain.MonthEnd(yearStart.Year, month)
			if !m.owes(end) || !judgedFrom(domain.Date{Year: end.Year, Month: month, Day: 1}) {
				continue
			}
			k := fmt.Sprintf("%s/%d-%02d", id, yearStart.Year, int(month))
			want := m.incomeAt(end) * rate(m.incomeAt(end)) / 1000
			// Late: not all by the due date, and the rest after it (or
			// nothing at all); short: not all by the year's end.
			if onTime := paidOnTime[k]; onTime < want && (paid[k] > onTime || paid[k] == 0) {
				miss("late_dues")
			}
			switch {
			case paid[k] < want:
				miss("short_dues")
			case paid[k] > want:
				miss("dues_over")
			}
		}
	}
	for q := 1; q <= 4; q++ {
		if !remittedOnTime[q] && judgedFrom(domain.Date{Year: yearStart.Year, Month: time.Month(q*3 - 2), Day: 1}) {
			miss("late_remittance")
		}
	}
	if reg.Kind == domain.KindCommittee && count[domain.TypeDuesAccountOpened] == 0 {
		miss("no_dues_account")
	}

	// 2.6, 2.7
	for h := 1; h <= 2; h++ {
		if !halves[fmt.Sprintf("%d-H%d", yearStart.Year, h)] && judgedFrom(domain.Date{Year: yearStart.Year, Month: time.Month(h*6 - 5), Day: 1}) {
			miss("self_inspection")
		}
	}
	if cg {
		need(domain.TypeSubordinateInspected, 1, "subordinate")
	}
	for i, s := range j.sched {
		if s.TargetsOrg(code) && !attended[s.ScheduledEventID] && judgedFrom(j.schedOn[i]) {
			miss("attendance")
		}
	}

	// 3.1 – 3.3, 4.1
	need(domain.TypeMeetingSatIn+"/"+domain.SatInLeadersDemocraticLife, 1, "sat_in")
	need(domain.TypeMeetingSatIn+"/"+domain.SatInLeadershipMeeting, 4, "sat_in")
	need(domain.TypeWorkPlanFiled, 1, "outreach")
	need(domain.TypeWorkSummaryFiled, 1, "outreach")
	need(domain.TypeOutreachVisit, 1, "outreach")
	need(domain.TypeResearchReportSubmitted, 1, "research")
	if reg.Kind == domain.KindCommittee {
		need(domain.TypeWorkInfoSubmitted, 4, "work_info")
	} else {
		need(domain.TypeWorkInfoSubmitted, 3, "work_info")
	}
	need(domain.TypeIntegrityActivityHeld, 1, "integrity")

	// 4.2
	for _, v := range violations {
		if v.Severity == domain.SeveritySerious || v.Impact == domain.ImpactSevere {
			miss("serious_violation")
		}
		if v.Severity == domain.SeveritySerious && v.Impact == domain.ImpactSevere {
			miss("serious_severe_violation")
		}
		h, ok := handledOn[v.CaseID]
		if !ok || h.After(violationOn[v.CaseID].AddDays(90)) {
			miss("case_late")
		}
	}

	// 5.1 (2), 5.2
	need(domain.TypePartyWorkReviewed, 2, "reviews")
	for month := 1; month <= 12; month++ {
		if studyByMonth[month] < 2 && judgedFrom(domain.Date{Year: yearStart.Year, Month: time.Month(month), Day: 1}) {
			miss("study_short")
		}
	}
	if notesMissing || count[domain.TypeStudySessionHeld] == 0 && months > 0 {
		miss("no_notes")
	}

	// 5.3
	meeting := func(kind string) string { return domain.TypeMeetingHeld + "/" + kind }
	switch reg.Kind {
	case domain.KindCommittee:
		need(meeting(domain.MeetingCommittee), 6, "meetings")
	default:
		need(meeting(domain.MeetingBranchCommittee), 8, "meetings")
	}
	if reg.Kind == domain.KindBranch {
		need(meeting(domain.MeetingGeneralAssembly), 4, "meetings")
		if reg.HasGroups {
			if count[meeting(domain.MeetingGroup)]+count[meeting(domain.MeetingGroupDemocraticLife)] < yearly(12) {
				miss("meetings")
			}
			need(meeting(domain.MeetingGroupDemocraticLife), 2, "meetings")
		}
	}
	for q := 1; q <= 4; q++ {
		if lecturesByQuarter[q] == 0 && judgedFrom(domain.Date{Year: yearStart.Year, Month: time.Month(q*3 - 2), Day: 1}) {
			miss("lecture_quarter")
		}
	}

	// 5.3 and 5.4 leader rules: leaders on the roster at the year's end.
	for _, id := range memberOrder {
		m := members[id]
		if !m.leader || !m.owes(yearEnd) {
			continue
		}
		if !lecturers[id] && months > 0 {
			miss("leader_lecture")
		}
		if reg.HasGroups && !gdlAttendees[id] && months > 0 {
			miss("leader_gdl")
		}
		if activities[id] < yearly(6) {
			miss("leader_activity")
		}
	}
	need(domain.TypeDemocraticLifeReported, 1, "democratic_life")
	need(domain.TypeAdministrativeReportGiven, 1, "admin_report")

	// 5.5
	for _, s := range []string{domain.SystemResponsibility, domain.SystemOrgLife, domain.SystemCareAndSupport} {
		if !systems[s] {
			miss("system")
		}
	}
	slices.Sort(misses)
	return misses
}
