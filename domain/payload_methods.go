package domain

// EventType and the closed-set marker for every payload.
func (*OrganizationRegistered) EventType() string    { return TypeOrganizationRegistered }
func (*OrganizationRegistered) isPayload()           {}
func (*CommitteeElected) EventType() string          { return TypeCommitteeElected }
func (*CommitteeElected) isPayload()                 {}
func (*TermExtensionApproved) EventType() string     { return TypeTermExtensionApproved }
func (*TermExtensionApproved) isPayload()            {}
func (*OfficerAppointed) EventType() string          { return TypeOfficerAppointed }
func (*OfficerAppointed) isPayload()                 {}
func (*OfficerVacated) EventType() string            { return TypeOfficerVacated }
func (*OfficerVacated) isPayload()                   {}
func (*MemberJoined) EventType() string              { return TypeMemberJoined }
func (*MemberJoined) isPayload()                     {}
func (*MemberDetailsChanged) EventType() string      { return TypeMemberDetailsChanged }
func (*MemberDetailsChanged) isPayload()             {}
func (*MemberTransferredOut) EventType() string      { return TypeMemberTransferredOut }
func (*MemberTransferredOut) isPayload()             {}
func (*MeetingHeld) EventType() string               { return TypeMeetingHeld }
func (*MeetingHeld) isPayload()                      {}
func (*StudySessionHeld) EventType() string          { return TypeStudySessionHeld }
func (*StudySessionHeld) isPayload()                 {}
func (*EducationActivityHeld) EventType() string     { return TypeEducationActivityHeld }
func (*EducationActivityHeld) isPayload()            {}
func (*CampaignActivityHeld) EventType() string      { return TypeCampaignActivityHeld }
func (*CampaignActivityHeld) isPayload()             {}
func (*MassOrgEducationHeld) EventType() string      { return TypeMassOrgEducationHeld }
func (*MassOrgEducationHeld) isPayload()             {}
func (*SignatureActivityHeld) EventType() string     { return TypeSignatureActivityHeld }
func (*SignatureActivityHeld) isPayload()            {}
func (*InnovationRecorded) EventType() string        { return TypeInnovationRecorded }
func (*InnovationRecorded) isPayload()               {}
func (*ResearchReportSubmitted) EventType() string   { return TypeResearchReportSubmitted }
func (*ResearchReportSubmitted) isPayload()          {}
func (*WorkInfoSubmitted) EventType() string         { return TypeWorkInfoSubmitted }
func (*WorkInfoSubmitted) isPayload()                {}
func (*IntegrityActivityHeld) EventType() string     { return TypeIntegrityActivityHeld }
func (*IntegrityActivityHeld) isPayload()            {}
func (*PartyWorkReviewed) EventType() string         { return TypePartyWorkReviewed }
func (*PartyWorkReviewed) isPayload()                {}
func (*DuesAccountOpened) EventType() string         { return TypeDuesAccountOpened }
func (*DuesAccountOpened) isPayload()                {}
func (*DuesPaid) EventType() string                  { return TypeDuesPaid }
func (*DuesPaid) isPayload()                         {}
func (*DuesRemitted) EventType() string              { return TypeDuesRemitted }
func (*DuesRemitted) isPayload()                     {}
func (*SelfInspectionCompleted) EventType() string   { return TypeSelfInspectionCompleted }
func (*SelfInspectionCompleted) isPayload()          {}
func (*SubordinateInspected) EventType() string      { return TypeSubordinateInspected }
func (*SubordinateInspected) isPayload()             {}
func (*AttendanceRecorded) EventType() string        { return TypeAttendanceRecorded }
func (*AttendanceRecorded) isPayload()               {}
func (*MeetingSatIn) EventType() string              { return TypeMeetingSatIn }
func (*MeetingSatIn) isPayload()                     {}
func (*WorkPlanFiled) EventType() string             { return TypeWorkPlanFiled }
func (*WorkPlanFiled) isPayload()                    {}
func (*WorkSummaryFiled) EventType() string          { return TypeWorkSummaryFiled }
func (*WorkSummaryFiled) isPayload()                 {}
func (*OutreachVisit) EventType() string             { return TypeOutreachVisit }
func (*OutreachVisit) isPayload()                    {}
func (*ViolationRecorded) EventType() string         { return TypeViolationRecorded }
func (*ViolationRecorded) isPayload()                {}
func (*CaseHandled) EventType() string               { return TypeCaseHandled }
func (*CaseHandled) isPayload()                      {}
func (*DemocraticLifeReported) EventType() string    { return TypeDemocraticLifeReported }
func (*DemocraticLifeReported) isPayload()           {}
func (*AdministrativeReportGiven) EventType() string { return TypeAdministrativeReportGiven }
func (*AdministrativeReportGiven) isPayload()        {}
func (*SystemAdopted) EventType() string             { return TypeSystemAdopted }
func (*SystemAdopted) isPayload()                    {}
func (*FindingRecorded) EventType() string           { return TypeFindingRecorded }
func (*FindingRecorded) isPayload()                  {}
func (*GroupAssessmentRecorded) EventType() string   { return TypeGroupAssessmentRecorded }
func (*GroupAssessmentRecorded) isPayload()          {}
func (*EventRetracted) EventType() string            { return TypeEventRetracted }
func (*EventRetracted) isPayload()                   {}
func (*GradeIssued) EventType() string               { return TypeGradeIssued }
func (*GradeIssued) isPayload()                      {}
func (*GradeRevised) EventType() string              { return TypeGradeRevised }
func (*GradeRevised) isPayload()                     {}
func (*RequiredEventScheduled) EventType() string    { return TypeRequiredEventScheduled }
func (*RequiredEventScheduled) isPayload()           {}
func (*RulebookPublished) EventType() string         { return TypeRulebookPublished }
func (*RulebookPublished) isPayload()                {}
