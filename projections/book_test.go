package projections_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"partyledger/domain"
	"partyledger/projections"
)

// book is a test organisation's stream (and the committee's schedule)
// built from domain payloads. Events are recorded at 21:00 CST on their
// occurred_on date unless given another instant.
type book struct {
	org   string
	n     int
	evs   []domain.Recorded
	sched []domain.Recorded
}

const testOrg = "LY-0001"

// testKnownAt is the default K: well after the 2016 assessment.
var testKnownAt = time.Date(2017, 6, 1, 0, 0, 0, 0, domain.CST)

func newBook(kind domain.OrgKind, hasGroups bool) *book {
	b := &book{org: testOrg}
	b.add("2015-01-01", &domain.OrganizationRegistered{Code: testOrg, Name: "测试支部", Kind: kind, HasGroups: hasGroups})
	return b
}

func (b *book) nextID() string {
	b.n++
	return fmt.Sprintf("00000000-0000-4000-8000-%012x", b.n)
}

// at returns 21:00 CST on date s.
func at(s string) time.Time { return domain.MustDate(s).Start().Add(21 * time.Hour) }

// add records p as occurred on date on, recorded that evening.
func (b *book) add(on string, p domain.Payload) string { return b.addAt(on, at(on), p) }

// addAt records p as occurred on date on, recorded at rec.
func (b *book) addAt(on string, rec time.Time, p domain.Payload) string {
	id := b.nextID()
	b.evs = append(b.evs, domain.Recorded{ID: id, Stream: "org-" + b.org, Type: p.EventType(),
		OccurredOn: domain.MustDate(on), RecordedAt: rec, RecordedBy: "test", Payload: p})
	return id
}

// schedule records a committee event targeting codes.
func (b *book) schedule(on, sid string, targets ...string) string {
	id := b.nextID()
	b.sched = append(b.sched, domain.Recorded{ID: id, Stream: "committee-1", Type: domain.TypeRequiredEventScheduled,
		OccurredOn: domain.MustDate(on), RecordedAt: at(on).Add(-12 * time.Hour),
		Payload: &domain.RequiredEventScheduled{ScheduledEventID: sid, Kind: domain.ScheduledMeeting, Title: "工委会议" + sid, Targets: targets}})
	return id
}

// drop removes the first n events (all when n < 0) for which pred holds
// and returns how many it removed.
func (b *book) drop(n int, pred func(r domain.Recorded) bool) int {
	out := b.evs[:0]
	dropped := 0
	for _, r := range b.evs {
		if pred(r) && (n < 0 || dropped < n) {
			dropped++
			continue
		}
		out = append(out, r)
	}
	b.evs = out
	return dropped
}

// find returns the first event for which pred holds.
func (b *book) find(t testing.TB, pred func(r domain.Recorded) bool) domain.Recorded {
	t.Helper()
	for _, r := range b.evs {
		if pred(r) {
			return r
		}
	}
	t.Fatal("no such event in the book")
	return domain.Recorded{}
}

// facts folds the book in recorded order.
func (b *book) facts(t testing.TB) *projections.Facts {
	t.Helper()
	evs := slices.Clone(b.evs)
	slices.SortStableFunc(evs, func(x, y domain.Recorded) int { return x.RecordedAt.Compare(y.RecordedAt) })
	f := projections.NewFacts(b.org)
	for i, r := range evs {
		r.Position = uint64(i + 1)
		if err := f.Apply(r); err != nil {
			t.Fatalf("Apply(%s on %s): %v", r.Type, r.OccurredOn, err)
		}
	}
	return f
}

func (b *book) schedules(t testing.TB) *projections.Schedule {
	t.Helper()
	s := projections.NewSchedule()
	for _, r := range b.sched {
		if err := s.Apply(r); err != nil {
			t.Fatalf("Schedule.Apply: %v", err)
		}
	}
	return s
}

// score scores 2016 as of asOf ("" for the year end), known at testKnownAt.
func (b *book) score(t testing.TB, asOf string) *projections.Scorecard {
	t.Helper()
	return b.scoreAt(t, asOf, testKnownAt)
}

func (b *book) scoreAt(t testing.TB, asOf string, knownAt time.Time) *projections.Scorecard {
	t.Helper()
	q := projections.Query{Year: 2016, KnownAt: knownAt, LedgerPosition: uint64(len(b.evs)), Schedule: b.schedules(t)}
	if asOf != "" {
		q.AsOf = domain.MustDate(asOf)
	}
	sc, err := projections.Score(b.facts(t), domain.Builtin2016(), q)
	if err != nil {
		t.Fatalf("Score: %v", err)
	}
	return sc
}

// Predicates.
func isType(typ string) func(domain.Recorded) bool {
	return func(r domain.Recorded) bool { return r.Type == typ }
}

func isMeeting(kind string) func(domain.Recorded) bool {
	return func(r domain.Recorded) bool {
		m, ok := r.Payload.(*domain.MeetingHeld)
		return ok && m.Kind == kind
	}
}

func inMonth(m int, pred func(domain.Recorded) bool) func(domain.Recorded) bool {
	return func(r domain.Recorded) bool {
		return int(r.OccurredOn.Month) == m && r.OccurredOn.Year == 2016 && pred(r)
	}
}

func after(date string, pred func(domain.Recorded) bool) func(domain.Recorded) bool {
	d := domain.MustDate(date)
	return func(r domain.Recorded) bool { return r.OccurredOn.After(d) && pred(r) }
}

func anyEvent(domain.Recorded) bool { return true }

func category(typ, value string) func(domain.Recorded) bool {
	return func(r domain.Recorded) bool { return r.Type == typ && domain.Category(r.Payload) == value }
}

func duesOf(member, month string) func(domain.Recorded) bool {
	return func(r domain.Recorded) bool {
		p, ok := r.Payload.(*domain.DuesPaid)
		return ok && p.MemberID == member && p.Month == month
	}
}

func pts(s string) domain.Points {
	p, err := domain.ParsePoints(s)
	if err != nil {
		panic(err)
	}
	return p
}

func ptr[T any](v T) *T { return &v }

// Members of the model organisation: id, income (fen), leader.
var model = []struct {
	id     string
	income domain.Fen
	leader bool
}{
	{"m01", 500000, true}, {"m02", 1000001, true}, {"m03", 300000, false}, {"m04", 300001, false},
	{"m05", 500001, false}, {"m06", 1000000, false}, {"m07", 250000, false}, {"m08", 420000, false},
	{"m09", 800000, false}, {"m10", 1200000, false}, {"m11", 99999, false}, {"m12", 660000, false},
}

func memberIDs() []string {
	out := make([]string, len(model))
	for i, m := range model {
		out[i] = m.id
	}
	return out
}

// perfect returns the book of an organisation of kind that did in 2016
// everything the 2016 rulebook asks of any kind, on time, in full: it
// scores 100. Tests take things away from it.
func perfect(kind domain.OrgKind, hasGroups bool) *book {
	b := newBook(kind, hasGroups)
	dues := domain.Builtin2016().Dues
	for _, m := range model {
		b.add("2015-01-01", &domain.MemberJoined{MemberID: m.id, Name: "党员" + m.id, IsLeader: m.leader, MonthlyIncomeFen: m.income})
	}
	for i, role := range []string{domain.RoleSecretary, domain.RoleDeputySecretary, domain.RoleFulltimeDeputySecretary, domain.RoleAffairsOfficer} {
		b.add("2015-01-02", &domain.OfficerAppointed{Role: role, MemberID: model[i].id})
	}
	b.add("2015-01-10", &domain.CommitteeElected{TermYears: 3})
	for _, s := range []string{domain.SystemResponsibility, domain.SystemOrgLife, domain.SystemCareAndSupport} {
		b.add("2015-02-01", &domain.SystemAdopted{System: s, Title: "制度" + s})
	}
	b.add("2015-02-01", &domain.DuesAccountOpened{Bank: "洛阳银行", AccountLast4: "1234"})
	all := memberIDs()
	for m := 1; m <= 12; m++ {
		month := fmt.Sprintf("2016-%02d", m)
		for _, mm := range model {
			b.add(month+"-10", &domain.DuesPaid{MemberID: mm.id, Month: month, AmountFen: dues.Expected(mm.income)})
		}
		b.add(month+"-05", &domain.StudySessionHeld{Topic: "学习" + month + "a", Attendees: all, NotesKept: true})
		b.add(month+"-20", &domain.StudySessionHeld{Topic: "学习" + month + "b", Attendees: all, NotesKept: true})
		b.add(month+"-12", &domain.MeetingHeld{Kind: domain.MeetingGroup, Topic: "小组会" + month, Attendees: all})
		if m%3 == 0 {
			q := m / 3
			b.add(fmt.Sprintf("%s-25", month), &domain.DuesRemitted{Quarter: fmt.Sprintf("2016-Q%d", q), AmountFen: 100000})
			b.add(fmt.Sprintf("%s-15", month), &domain.MeetingHeld{Kind: domain.MeetingPartyLecture, Topic: "党课", Attendees: all,
				LecturerID: model[q%2].id})
			b.add(fmt.Sprintf("%s-16", month), &domain.MeetingHeld{Kind: domain.MeetingGeneralAssembly, Topic: "党员大会", Attendees: all})
		}
		if m%2 == 0 {
			b.add(month+"-08", &domain.MeetingHeld{Kind: domain.MeetingCommittee, Topic: "党委会", Attendees: all[:4]})
		}
		if m <= 8 {
			b.add(month+"-09", &domain.MeetingHeld{Kind: domain.MeetingBranchCommittee, Topic: "支委会", Attendees: all[:4]})
		}
	}
	// Two of the twelve group meetings are 党小组民主生活会.
	b.drop(1, inMonth(6, isMeeting(domain.MeetingGroup)))
	b.drop(1, inMonth(12, isMeeting(domain.MeetingGroup)))
	b.add("2016-06-12", &domain.MeetingHeld{Kind: domain.MeetingGroupDemocraticLife, Topic: "组织生活会", Attendees: all})
	b.add("2016-12-12", &domain.MeetingHeld{Kind: domain.MeetingGroupDemocraticLife, Topic: "组织生活会", Attendees: all})
	for _, topic := range []string{domain.TopicPartyConstitution, domain.TopicSpeeches, domain.TopicPolicy, domain.TopicSituation, domain.TopicCoreValues} {
		b.add("2016-03-03", &domain.EducationActivityHeld{Topic: topic, Title: "教育" + topic})
	}
	for _, c := range []string{domain.CampaignCivilizedUnit, domain.CampaignVolunteer, domain.CampaignCivilityEtiquette} {
		b.add("2016-04-04", &domain.CampaignActivityHeld{Campaign: c, Title: "创建" + c})
	}
	b.add("2016-05-05", &domain.MassOrgEducationHeld{Title: "群团教育"})
	b.add("2016-05-06", &domain.SignatureActivityHeld{Title: "特色活动"})
	b.add("2016-05-07", &domain.InnovationRecorded{Title: "创新举措"})
	b.add("2016-06-28", &domain.SelfInspectionCompleted{Half: "2016-H1"})
	b.add("2016-12-28", &domain.SelfInspectionCompleted{Half: "2016-H2"})
	b.add("2016-07-01", &domain.SubordinateInspected{SubordinateCode: "LY-0002"})
	b.add("2016-03-20", &domain.MeetingSatIn{Kind: domain.SatInLeadersDemocraticLife, Title: "民主生活会"})
	for _, d := range []string{"2016-02-20", "2016-05-20", "2016-08-20", "2016-11-20"} {
		b.add(d, &domain.MeetingSatIn{Kind: domain.SatInLeadershipMeeting, Title: "党组会"})
	}
	b.add("2016-01-15", &domain.WorkPlanFiled{Area: domain.AreaOutreach})
	b.add("2016-12-15", &domain.WorkSummaryFiled{Area: domain.AreaOutreach})
	b.add("2016-06-06", &domain.OutreachVisit{Kind: domain.OutreachVillage, Title: "驻村"})
	b.add("2016-09-09", &domain.ResearchReportSubmitted{Title: "调研报告"})
	for _, d := range []string{"2016-03-09", "2016-06-09", "2016-09-19", "2016-11-09"} {
		b.add(d, &domain.WorkInfoSubmitted{Title: "工作信息"})
	}
	b.add("2016-04-09", &domain.IntegrityActivityHeld{Title: "廉政教育"})
	b.add("2016-02-09", &domain.PartyWorkReviewed{Title: "研究党建"})
	b.add("2016-08-09", &domain.PartyWorkReviewed{Title: "研究党建"})
	b.add("2016-03-25", &domain.DemocraticLifeReported{Title: "民主生活会报告"})
	b.add("2016-01-25", &domain.AdministrativeReportGiven{Title: "行政负责人通报"})
	b.schedule("2016-04-15", "S1", "*")
	b.schedule("2016-09-10", "S2", testOrg, "LY-0009")
	b.schedule("2016-10-10", "S3", "LY-0009")
	b.add("2016-04-15", &domain.AttendanceRecorded{ScheduledEventID: "S1"})
	b.add("2016-09-10", &domain.AttendanceRecorded{ScheduledEventID: "S2"})
	return b
}

// deductions returns every deduction of a scorecard as rule → points.
func deductions(sc *projections.Scorecard) map[string]domain.Points {
	out := map[string]domain.Points{}
	for _, it := range sc.Items {
		for _, d := range it.Deductions {
			out[d.Rule] += d.Points
		}
	}
	return out
}

func deduction(t testing.TB, sc *projections.Scorecard, rule string) projections.Deduction {
	t.Helper()
	for _, it := range sc.Items {
		for _, d := range it.Deductions {
			if d.Rule == rule {
				return d
			}
		}
	}
	t.Fatalf("no deduction of rule %s; have %v", rule, deductions(sc))
	return projections.Deduction{}
}

func item(t testing.TB, sc *projections.Scorecard, code string) projections.Item {
	t.Helper()
	for _, it := range sc.Items {
		if it.Code == code {
			return it
		}
	}
	t.Fatalf("no item %s", code)
	return projections.Item{}
}

func vetoCodes(sc *projections.Scorecard) []string {
	out := []string{}
	for _, v := range sc.Vetoes {
		out = append(out, v.Code)
	}
	return out
}

// wantDeductions checks the complete set of deductions.
func wantDeductions(t testing.TB, sc *projections.Scorecard, want map[string]string) {
	t.Helper()
	got := deductions(sc)
	wantP := map[string]domain.Points{}
	for k, v := range want {
		wantP[k] = pts(v)
	}
	keys := slices.Sorted(func(yield func(string) bool) {
		seen := map[string]bool{}
		for k := range got {
			seen[k] = true
		}
		for k := range wantP {
			seen[k] = true
		}
		for k := range seen {
			if !yield(k) {
				return
			}
		}
	})
	for _, k := range keys {
		if got[k] != wantP[k] {
			t.Errorf("deduction %s = %s, want %s", k, got[k], wantP[k])
		}
	}
}
