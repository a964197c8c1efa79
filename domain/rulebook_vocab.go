package domain

// CountableEvent describes an event type that rules may count: the payload
// field that sorts its events into categories (none when Field is empty)
// with the values that field takes, and the kind of period the payload
// itself names (PayloadPeriod: "half" for SelfInspectionCompleted), if any.
type CountableEvent struct {
	Type          string
	Field         string
	Values        []string
	PayloadPeriod string
	// Attendees and Lecturer tell whether the payload names members who
	// attend or lecture (leader rules count those).
	Attendees bool
	Lecturer  bool
}

// countable is the vocabulary rulebooks may use; the lists only grow.
var countable = []CountableEvent{
	{Type: TypeMeetingHeld, Field: "kind", Values: []string{MeetingCommittee, MeetingBranchCommittee, MeetingGeneralAssembly,
		MeetingGroup, MeetingGroupDemocraticLife, MeetingPartyLecture}, Attendees: true, Lecturer: true},
	{Type: TypeStudySessionHeld, Attendees: true},
	{Type: TypeEducationActivityHeld, Field: "topic", Values: []string{TopicPartyConstitution, TopicSpeeches, TopicPolicy,
		TopicSituation, TopicCoreValues}},
	{Type: TypeCampaignActivityHeld, Field: "campaign", Values: []string{CampaignCivilizedUnit, CampaignVolunteer, CampaignCivilityEtiquette}},
	{Type: TypeMassOrgEducationHeld},
	{Type: TypeSignatureActivityHeld},
	{Type: TypeInnovationRecorded},
	{Type: TypeResearchReportSubmitted},
	{Type: TypeWorkInfoSubmitted},
	{Type: TypeIntegrityActivityHeld},
	{Type: TypePartyWorkReviewed},
	{Type: TypeDuesAccountOpened},
	{Type: TypeSelfInspectionCompleted, PayloadPeriod: PeriodHalf},
	{Type: TypeSubordinateInspected},
	{Type: TypeMeetingSatIn, Field: "kind", Values: []string{SatInLeadersDemocraticLife, SatInLeadershipMeeting}},
	{Type: TypeWorkPlanFiled, Field: "area", Values: []string{AreaOutreach}},
	{Type: TypeWorkSummaryFiled, Field: "area", Values: []string{AreaOutreach}},
	{Type: TypeOutreachVisit, Field: "kind", Values: []string{OutreachGrassroots, OutreachVillage, OutreachEnterprise}},
	{Type: TypeDemocraticLifeReported},
	{Type: TypeAdministrativeReportGiven},
	{Type: TypeSystemAdopted, Field: "system", Values: []string{SystemResponsibility, SystemOrgLife, SystemCareAndSupport}},
}

// CountableEvents returns every event type rules may count, in a fixed
// order. The returned slice must not be modified.
func CountableEvents() []CountableEvent { return countable }

// Countable returns the description of a countable event type.
func Countable(eventType string) (CountableEvent, bool) {
	for _, c := range countable {
		if c.Type == eventType {
			return c, true
		}
	}
	return CountableEvent{}, false
}

// Category returns the value of a countable payload's category field
// ("" for types without one, or for payloads that are not countable).
func Category(p Payload) string {
	switch e := p.(type) {
	case *MeetingHeld:
		return e.Kind
	case *EducationActivityHeld:
		return e.Topic
	case *CampaignActivityHeld:
		return e.Campaign
	case *MeetingSatIn:
		return e.Kind
	case *WorkPlanFiled:
		return e.Area
	case *WorkSummaryFiled:
		return e.Area
	case *OutreachVisit:
		return e.Kind
	case *SystemAdopted:
		return e.System
	}
	return ""
}

// ValueIndex returns the position of v in the type's category values, or -1.
func (c CountableEvent) ValueIndex(v string) int {
	for i, x := range c.Values {
		if x == v {
			return i
		}
	}
	return -1
}
