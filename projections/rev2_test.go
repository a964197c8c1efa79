package projections_test

// The rules RUBRIC.md revision 2 settles, each tested at its boundaries
// from the rubric's text: assessment events and as_of, organisations
// founded mid-year, 2.2 (extensions, no election on record), 2.5 (a month
// paid partly late), 2.6 (the half's own dates), 4.2 (每人次, severe
// impact, deadlines that fall in the next year) and 5.1 (副书记).

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"partyledger/domain"
	"partyledger/projections"
)

// founded returns the book of an organisation of kind founded on date on
// (in 2016) that did, from its founding to the year's end, everything the
// 2016 rulebook asks of an organisation founded then: every month's study
// sessions and dues, a party lecture in every quarter, the yearly
// minimums as scaled to the months left (and usually more). Judged at the
// year's end it scores 100.
func founded(kind domain.OrgKind, on string) *book {
	f := domain.MustDate(on)
	b := &book{org: testOrg}
	b.add(on, &domain.OrganizationRegistered{Code: testOrg, Name: "新成立支部", Kind: kind, HasGroups: true, FoundedOn: f})
	for _, m := range model {
		b.add(on, &domain.MemberJoined{MemberID: m.id, Name: "党员" + m.id, IsLeader: m.leader, MonthlyIncomeFen: m.income})
	}
	for i, role := range []string{domain.RoleSecretary, domain.RoleDeputySecretary, domain.RoleFulltimeDeputySecretary, domain.RoleAffairsOfficer} {
		b.add(on, &domain.OfficerAppointed{Role: role, MemberID: model[i].id})
	}
	b.add(on, &domain.CommitteeElected{TermYears: 3})
	for _, s := range []string{domain.SystemResponsibility, domain.SystemOrgLife, domain.SystemCareAndSupport} {
		b.add(on, &domain.SystemAdopted{System: s, Title: "制度" + s})
	}
	b.add(on, &domain.DuesAccountOpened{Bank: "洛阳银行", AccountLast4: "1234"})
	dues := domain.Builtin2016().Dues
	all := memberIDs()
	// dated returns day d of month m, or the founding date when that is later.
	dated := func(m, d int) string {
		s := fmt.Sprintf("2016-%02d-%02d", m, d)
		if s < on {
			return on
		}
		return s
	}
	for m := int(f.Month); m <= 12; m++ {
		month := fmt.Sprintf("2016-%02d", m)
		for _, mm := range model {
			b.add(dated(m, 10), &domain.DuesPaid{MemberID: mm.id, Month: month, AmountFen: dues.Expected(mm.income)})
		}
		b.add(dated(m, 5), &domain.StudySessionHeld{Topic: "学习" + month + "a", Attendees: all, NotesKept: true})
		b.add(dated(m, 20), &domain.StudySessionHeld{Topic: "学习" + month + "b", Attendees: all, NotesKept: true})
		b.add(dated(m, 12), &domain.MeetingHeld{Kind: domain.MeetingGroup, Topic: "小组会" + month, Attendees: all})
		b.add(dated(m, 9), &domain.MeetingHeld{Kind: domain.MeetingBranchCommittee, Topic: "支委会", Attendees: all[:4]})
		b.add(dated(m, 8), &domain.MeetingHeld{Kind: domain.MeetingCommittee, Topic: "党委会", Attendees: all[:4]})
		b.add(dated(m, 16), &domain.MeetingHeld{Kind: domain.MeetingGeneralAssembly, Topic: "党员大会", Attendees: all})
		b.add(dated(m, 20), &domain.MeetingSatIn{Kind: domain.SatInLeadershipMeeting, Title: "党组会"})
		b.add(dated(m, 21), &domain.WorkInfoSubmitted{Title: "工作信息"})
		if m%3 == 0 || m == int(f.Month) {
			q := (m-1)/3 + 1
			b.add(dated(m, 25), &domain.DuesRemitted{Quarter: fmt.Sprintf("2016-Q%d", q), AmountFen: 100000})
			b.add(dated(m, 15), &domain.MeetingHeld{Kind: domain.MeetingPartyLecture, Topic: "党课", Attendees: all, LecturerID: model[q%2].id})
		}
	}
	// Each leader lectures once; both attend a group democratic life meeting.
	b.add(dated(12, 27), &domain.MeetingHeld{Kind: domain.MeetingPartyLecture, Topic: "党课", Attendees: all, LecturerID: "m01"})
	b.add(dated(12, 28), &domain.MeetingHeld{Kind: domain.MeetingPartyLecture, Topic: "党课", Attendees: all, LecturerID: "m02"})
	b.add(dated(6, 14), &domain.MeetingHeld{Kind: domain.MeetingGroupDemocraticLife, Topic: "组织生活会", Attendees: all})
	b.add(dated(12, 14), &domain.MeetingHeld{Kind: domain.MeetingGroupDemocraticLife, Topic: "组织生活会", Attendees: all})
	// The one-offs of the year, a few days after the founding.
	once := f.AddDays(3)
	if once.Year > 2016 {
		once = f
	}
	for _, topic := range []string{domain.TopicPartyConstitution, domain.TopicSpeeches, domain.TopicPolicy, domain.TopicSituation, domain.TopicCoreValues} {
		b.add(once.String(), &domain.EducationActivityHeld{Topic: topic, Title: "教育" + topic})
	}
	for _, c := range []string{domain.CampaignCivilizedUnit, domain.CampaignVolunteer, domain.CampaignCivilityEtiquette} {
		b.add(once.String(), &domain.CampaignActivityHeld{Campaign: c, Title: "创建" + c})
	}
	for _, p := range []domain.Payload{
		&domain.MassOrgEducationHeld{Title: "群团教育"}, &domain.SignatureActivityHeld{Title: "特色活动"},
		&domain.InnovationRecorded{Title: "创新举措"}, &domain.SubordinateInspected{SubordinateCode: "LY-0002"},
		&domain.MeetingSatIn{Kind: domain.SatInLeadersDemocraticLife, Title: "民主生活会"},
		&domain.WorkPlanFiled{Area: domain.AreaOutreach}, &domain.WorkSummaryFiled{Area: domain.AreaOutreach},
		&domain.OutreachVisit{Kind: domain.OutreachVillage, Title: "驻村"}, &domain.ResearchReportSubmitted{Title: "调研报告"},
		&domain.IntegrityActivityHeld{Title: "廉政教育"}, &domain.PartyWorkReviewed{Title: "研究党建"}, &domain.PartyWorkReviewed{Title: "研究党建"},
		&domain.DemocraticLifeReported{Title: "民主生活会报告"}, &domain.AdministrativeReportGiven{Title: "行政负责人通报"},
	} {
		b.add(once.String(), p)
	}
	b.add("2016-12-28", &domain.SelfInspectionCompleted{Half: "2016-H2"})
	if f.Month <= 6 {
		b.add("2016-06-28", &domain.SelfInspectionCompleted{Half: "2016-H1"})
	}
	return b
}

// scoreQ scores the book with any query, returning the error.
func (b *book) scoreQ(t testing.TB, year int, asOf string) (*projections.Scorecard, error) {
	t.Helper()
	q := projections.Query{Year: year, KnownAt: testKnownAt, Schedule: b.schedules(t)}
	if asOf != "" {
		q.AsOf = domain.MustDate(asOf)
	}
	return projections.Score(b.facts(t), domain.Builtin2016(), q)
}

func mustScore(t testing.TB, b *book, year int, asOf string) *projections.Scorecard {
	t.Helper()
	sc, err := b.scoreQ(t, year, asOf)
	if err != nil {
		t.Fatalf("Score: %v", err)
	}
	return sc
}

func countsOf(sc *projections.Scorecard, rule string) []projections.Count {
	var out []projections.Count
	for _, it := range sc.Items {
		for _, c := range it.Counts {
			if c.Rule == rule {
				out = append(out, c)
			}
		}
	}
	return out
}

func TestRev2AssessmentEventsAndAsOf(t *testing.T) {
	t.Run("a finding and a group score of January 2017 are not in a mid-year view", func(t *testing.T) {
		b := perfect(domain.KindBranch, true)
		b.finding("3.2", "low_satisfaction", "2") // occurred 2017-01-10
		b.addAt("2017-01-15", at("2017-01-15"), &domain.GroupAssessmentRecorded{Year: 2016, Score: pts("80")})
		sc := b.score(t, "2016-07-31")
		wantDeductions(t, sc, nil)
		if sc.Group != nil || !sc.Provisional {
			t.Errorf("group %v provisional %v, want none and provisional", sc.Group, sc.Provisional)
		}
	})
	t.Run("the year's last day includes them, the day before does not", func(t *testing.T) {
		b := perfect(domain.KindBranch, true)
		b.finding("3.2", "low_satisfaction", "2")
		b.addAt("2017-01-15", at("2017-01-15"), &domain.GroupAssessmentRecorded{Year: 2016, Score: pts("80")})
		last := b.score(t, "2016-12-31")
		wantDeductions(t, last, map[string]string{"3.2.low_satisfaction": "2"})
		if last.Group == nil || *last.Group != pts("80") || last.Provisional {
			t.Errorf("at 12-31 group %v provisional %v", last.Group, last.Provisional)
		}
		before := b.score(t, "2016-12-30")
		wantDeductions(t, before, nil)
		if before.Group != nil {
			t.Errorf("at 12-30 group %v, want none", before.Group)
		}
		if later := b.score(t, "2017-03-01"); later.Group == nil {
			t.Error("a D after the year is its last day: the group score counts")
		}
	})
	t.Run("a finding made during the year counts from its occurred_on", func(t *testing.T) {
		b := perfect(domain.KindBranch, true)
		b.addAt("2016-06-15", at("2016-06-15"), &domain.FindingRecorded{Year: 2016, Item: "3.4", Finding: "discipline_breach", Reason: "暗访查实"})
		wantDeductions(t, b.score(t, "2016-06-14"), nil)
		wantDeductions(t, b.score(t, "2016-06-15"), map[string]string{"3.4.discipline_breach": "1"})
	})
	t.Run("a group score recorded during the year counts from its occurred_on", func(t *testing.T) {
		b := perfect(domain.KindBranch, true)
		b.addAt("2016-11-20", at("2016-11-20"), &domain.GroupAssessmentRecorded{Year: 2016, Score: pts("90")})
		if sc := b.score(t, "2016-11-19"); sc.Group != nil {
			t.Errorf("at 11-19 group %v", sc.Group)
		}
		if sc := b.score(t, "2016-11-30"); sc.Group == nil || sc.Provisional {
			t.Errorf("at 11-30 group %v provisional %v", sc.Group, sc.Provisional)
		}
	})
}

func TestRev2FoundedMidYear(t *testing.T) {
	t.Run("founded with everything since then scores 100", func(t *testing.T) {
		for _, on := range []string{"2016-01-01", "2016-01-02", "2016-07-01", "2016-10-01", "2016-10-02", "2016-12-01", "2016-12-02", "2016-12-31"} {
			for _, kind := range []domain.OrgKind{domain.KindBranch, domain.KindCommittee} {
				t.Run(on+"/"+string(kind), func(t *testing.T) {
					sc := mustScore(t, founded(kind, on), 2016, "")
					wantDeductions(t, sc, nil)
					if len(sc.Vetoes) != 0 {
						t.Errorf("vetoes %v", vetoCodes(sc))
					}
				})
			}
		}
	})
	t.Run("founded 2016-10-01 with a complete fourth quarter is not charged for January to September", func(t *testing.T) {
		sc := mustScore(t, founded(domain.KindBranch, "2016-10-01"), 2016, "")
		if sc.Online != pts("100") || len(sc.Vetoes) != 0 {
			t.Fatalf("online %s vetoes %v, want 100 and none", sc.Online, vetoCodes(sc))
		}
		var months []string
		for _, c := range countsOf(sc, "5.2.sessions") {
			months = append(months, c.Period)
		}
		if want := []string{"2016-10", "2016-11", "2016-12"}; !slices.Equal(months, want) {
			t.Errorf("5.2 judged %v, want %v", months, want)
		}
		var quarters []string
		for _, c := range countsOf(sc, "5.3.party_lecture") {
			quarters = append(quarters, c.Period)
		}
		if want := []string{"2016-Q4"}; !slices.Equal(quarters, want) {
			t.Errorf("5.3 lectures judged %v, want %v", quarters, want)
		}
		if got := countsOf(sc, "2.6.self_inspection"); len(got) != 0 {
			t.Errorf("2.6 judged %+v, want no half (H2 began before the founding)", got)
		}
		if got := countsOf(sc, "5.3.branch_committee"); len(got) != 1 || got[0].Need != 2 {
			t.Errorf("5.3 branch committee counts %+v, want need ⌈8×3/12⌉ = 2", got)
		}
		if got := countsOf(sc, "5.3.group"); len(got) != 1 || got[0].Need != 3 {
			t.Errorf("5.3 group counts %+v, want need 3", got)
		}
		if sc.Founding == nil || sc.Founding.Months != 3 || sc.Founding.FoundedOn != domain.MustDate("2016-10-01") ||
			!strings.Contains(sc.Founding.Reason, "本组织 2016-10-01 成立，此前月份不考核，年度要求按 3 个月折算") {
			t.Errorf("founding = %+v", sc.Founding)
		}
	})
	t.Run("M: founded on the 1st of a month counts that month, on the 2nd it does not", func(t *testing.T) {
		for _, tc := range []struct {
			on     string
			months int
		}{{"2016-01-01", 12}, {"2016-01-02", 11}, {"2016-10-01", 3}, {"2016-10-02", 2}, {"2016-12-01", 1}, {"2016-12-02", 0}, {"2016-12-31", 0}} {
			sc := mustScore(t, founded(domain.KindBranch, tc.on), 2016, "")
			if sc.Founding == nil || sc.Founding.Months != tc.months {
				t.Errorf("founded %s: founding %+v, want %d months", tc.on, sc.Founding, tc.months)
			}
		}
	})
	t.Run("the founding month is judged when founded on its 1st, not on its 2nd", func(t *testing.T) {
		noOctoberStudy := dropAll(inMonth(10, isType(domain.TypeStudySessionHeld)))
		b := founded(domain.KindBranch, "2016-10-01")
		noOctoberStudy(b)
		sc := mustScore(t, b, 2016, "")
		wantDeductions(t, sc, map[string]string{"5.2.sessions": "1"})
		if r := deduction(t, sc, "5.2.sessions").Reason; !strings.Contains(r, "2016-10 政治学习0次") {
			t.Errorf("reason %q", r)
		}
		b = founded(domain.KindBranch, "2016-10-02")
		noOctoberStudy(b)
		wantDeductions(t, mustScore(t, b, 2016, ""), nil)
	})
	t.Run("a yearly minimum scales to ⌈need × M / 12⌉", func(t *testing.T) {
		// Group meetings (need 12): founded 10-01 needs 3, 10-02 needs 2.
		keepGroup := func(n int) func(b *book) {
			return func(b *book) {
				b.drop(-1, isMeeting(domain.MeetingGroup))
				b.drop(1, isMeeting(domain.MeetingGroupDemocraticLife))
				for i := range n - 1 {
					b.add(fmt.Sprintf("2016-11-%02d", 3+i), &domain.MeetingHeld{Kind: domain.MeetingGroup, Topic: "小组会", Attendees: memberIDs()})
				}
			}
		}
		for _, tc := range []struct {
			on    string
			group int // group meetings including one group democratic life meeting
			want  string
		}{{"2016-10-01", 3, ""}, {"2016-10-01", 2, "0.5"}, {"2016-10-02", 2, ""}, {"2016-10-02", 1, "0.5"}} {
			b := founded(domain.KindBranch, tc.on)
			keepGroup(tc.group)(b)
			sc := mustScore(t, b, 2016, "")
			want := map[string]string{}
			if tc.want != "" {
				want["5.3.group"] = tc.want
			}
			wantDeductions(t, sc, want)
			if tc.want != "" {
				need := map[string]int{"2016-10-01": 3, "2016-10-02": 2}[tc.on]
				months := map[string]int{"2016-10-01": 3, "2016-10-02": 2}[tc.on]
				note := fmt.Sprintf("本组织 %s 成立，此前月份不考核，年度要求按 %d 个月折算为 %d 次", tc.on, months, need)
				if r := deduction(t, sc, "5.3.group").Reason; !strings.Contains(r, note) {
					t.Errorf("founded %s: reason %q lacks %q", tc.on, r, note)
				}
			}
		}
	})
	t.Run("the leaders' activity minimum scales too", func(t *testing.T) {
		// 5.4: each leader attends ≥ 6 activities a year; founded on 10-01
		// (M = 3) that is ⌈6×3/12⌉ = 2, on 10-02 (M = 2) ⌈6×2/12⌉ = 1.
		// Leader m01 is kept on the attendee lists of n group democratic
		// life meetings only (so 5.4's own democratic-life rule holds).
		attends := func(n int) func(b *book) {
			return func(b *book) {
				kept := 0
				for _, r := range b.evs {
					if m, ok := r.Payload.(*domain.MeetingHeld); ok && m.Kind == domain.MeetingGroupDemocraticLife && kept < n {
						kept++
						continue
					}
					withoutAttendee("m01")(r.Payload)
				}
			}
		}
		for _, tc := range []struct {
			on   string
			n    int
			want string
		}{{"2016-10-01", 2, ""}, {"2016-10-01", 1, "0.5"}, {"2016-10-02", 1, ""}} {
			b := founded(domain.KindBranch, tc.on)
			attends(tc.n)(b)
			sc := mustScore(t, b, 2016, "")
			want := map[string]string{}
			if tc.want != "" {
				want["5.4.activities"] = tc.want
			}
			wantDeductions(t, sc, want)
			if tc.want != "" {
				if r := deduction(t, sc, "5.4.activities").Reason; !strings.Contains(r, "年度要求按 3 个月折算为 2 次，原为 6 次") {
					t.Errorf("founded %s: reason %q", tc.on, r)
				}
			}
		}
	})
	t.Run("M = 0: yearly minimums are not judged; M = 1: they are", func(t *testing.T) {
		noResearch := dropAll(isType(domain.TypeResearchReportSubmitted))
		b := founded(domain.KindBranch, "2016-12-02")
		noResearch(b)
		wantDeductions(t, mustScore(t, b, 2016, ""), nil)
		b = founded(domain.KindBranch, "2016-12-01")
		noResearch(b)
		wantDeductions(t, mustScore(t, b, 2016, ""), map[string]string{"3.3.research": "1"})
	})
	t.Run("a required event scheduled before the founding is not required", func(t *testing.T) {
		b := founded(domain.KindBranch, "2016-10-01")
		b.schedule("2016-09-30", "S-before", "*")
		wantDeductions(t, mustScore(t, b, 2016, ""), nil)
		b.schedule("2016-10-01", "S-on", "*")
		wantDeductions(t, mustScore(t, b, 2016, ""), map[string]string{"2.7.attendance": "1"})
	})
	t.Run("a quarter that began before the founding owes no remittance", func(t *testing.T) {
		noQ3 := dropAll(func(r domain.Recorded) bool {
			p, ok := r.Payload.(*domain.DuesRemitted)
			return ok && p.Quarter == "2016-Q3"
		})
		b := founded(domain.KindBranch, "2016-07-02")
		noQ3(b)
		wantDeductions(t, mustScore(t, b, 2016, ""), nil)
		b = founded(domain.KindBranch, "2016-07-01")
		noQ3(b)
		sc := mustScore(t, b, 2016, "")
		wantDeductions(t, sc, map[string]string{"2.5.late": "2"})
		if !slices.Equal(vetoCodes(sc), []string{"V3"}) {
			t.Errorf("vetoes %v", vetoCodes(sc))
		}
	})
	t.Run("dues of the months before the founding are not judged", func(t *testing.T) {
		b := founded(domain.KindBranch, "2016-10-01")
		b.add("2016-05-01", &domain.MemberJoined{MemberID: "m13", Name: "早到的党员", MonthlyIncomeFen: 300000})
		b.add("2016-11-10", &domain.DuesPaid{MemberID: "m13", Month: "2016-11", AmountFen: 1500})
		b.add("2016-12-10", &domain.DuesPaid{MemberID: "m13", Month: "2016-12", AmountFen: 1500})
		sc := mustScore(t, b, 2016, "")
		wantDeductions(t, sc, map[string]string{"2.5.late": "2", "2.5.short": "2"})
		if d := deduction(t, sc, "2.5.late"); !slices.Equal(d.Periods, []string{"2016-10"}) {
			t.Errorf("late periods %v, want only October", d.Periods)
		}
	})
	t.Run("state rules apply unchanged", func(t *testing.T) {
		b := founded(domain.KindBranch, "2016-10-01")
		b.drop(-1, isType(domain.TypeSystemAdopted))
		b.drop(-1, isType(domain.TypeCommitteeElected))
		wantDeductions(t, mustScore(t, b, 2016, ""), map[string]string{"5.5.systems": "1", "2.2.term": "1"})
	})
	t.Run("before founded_on the organisation is not scored", func(t *testing.T) {
		b := founded(domain.KindBranch, "2016-10-01")
		_, err := b.scoreQ(t, 2016, "2016-09-30")
		var nf *projections.NotFoundedError
		if !errors.As(err, &nf) || !errors.Is(err, projections.ErrNotFounded) {
			t.Fatalf("err = %v, want a NotFoundedError", err)
		}
		if nf.Code != testOrg || nf.FoundedOn != domain.MustDate("2016-10-01") || nf.AsOf != domain.MustDate("2016-09-30") {
			t.Errorf("error %+v", nf)
		}
		for _, s := range []string{"尚未成立", "not founded yet", "2016-10-01", "2016-09-30"} {
			if !strings.Contains(err.Error(), s) {
				t.Errorf("message %q lacks %q", err, s)
			}
		}
		if _, err := b.scoreQ(t, 2016, "2016-10-01"); err != nil {
			t.Errorf("on founded_on: %v", err)
		}
		if _, err := projections.Missing(b.facts(t), domain.Builtin2016(), projections.Query{Year: 2016, AsOf: domain.MustDate("2016-09-30"), KnownAt: testKnownAt}); !errors.Is(err, projections.ErrNotFounded) {
			t.Errorf("Missing: err = %v", err)
		}
	})
	t.Run("founded in a later year: not scored for this one; in an earlier year: no effect", func(t *testing.T) {
		b := founded(domain.KindBranch, "2016-10-01")
		if _, err := b.scoreQ(t, 2015, ""); !errors.Is(err, projections.ErrNotFounded) {
			t.Errorf("2015: err = %v, want ErrNotFounded", err)
		}
		p := perfect(domain.KindBranch, true)
		p.evs[0].Payload.(*domain.OrganizationRegistered).FoundedOn = domain.MustDate("2015-06-02")
		sc := mustScore(t, p, 2016, "")
		wantDeductions(t, sc, nil)
		if sc.Founding != nil {
			t.Errorf("founding %+v for an organisation founded in 2015", sc.Founding)
		}
	})
	t.Run("the ranking leaves out an organisation not founded yet", func(t *testing.T) {
		early := perfect(domain.KindBranch, true)
		late := founded(domain.KindBranch, "2016-10-01")
		late.org = "LY-0002"
		for j := range late.evs {
			if r, ok := late.evs[j].Payload.(*domain.OrganizationRegistered); ok {
				c := *r
				c.Code = "LY-0002"
				late.evs[j].Payload = &c
			}
			late.evs[j].Stream = "org-LY-0002"
		}
		facts := []*projections.Facts{early.facts(t), late.facts(t)}
		for _, tc := range []struct {
			asOf string
			want []string
		}{{"2016-09-30", []string{testOrg}}, {"2016-10-01", []string{testOrg, "LY-0002"}}} {
			cards, err := projections.ScoreAll(facts, domain.Builtin2016(), projections.Query{Year: 2016, AsOf: domain.MustDate(tc.asOf), KnownAt: testKnownAt})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, c := range cards {
				got = append(got, c.Org)
			}
			slices.Sort(got)
			if !slices.Equal(got, tc.want) {
				t.Errorf("as of %s ranked %v, want %v", tc.asOf, got, tc.want)
			}
		}
	})
	t.Run("missing: no gap for a month that began before the founding, scaled yearly needs", func(t *testing.T) {
		gapsOf := func(on, asOf string) map[string][]projections.Gap {
			b := founded(domain.KindBranch, on)
			b.drop(-1, after(asOf, anyEvent))
			b.drop(-1, isType(domain.TypeResearchReportSubmitted))
			gaps, err := projections.Missing(b.facts(t), domain.Builtin2016(), projections.Query{Year: 2016, AsOf: domain.MustDate(asOf), KnownAt: testKnownAt})
			if err != nil {
				t.Fatal(err)
			}
			out := map[string][]projections.Gap{}
			for _, g := range gaps {
				out[g.Rule] = append(out[g.Rule], g)
			}
			return out
		}
		g := gapsOf("2016-10-02", "2016-10-03")
		if len(g["5.2.sessions"]) != 0 || len(g["2.5.late"]) != 0 {
			t.Errorf("founded 10-02: gaps %+v %+v for October", g["5.2.sessions"], g["2.5.late"])
		}
		g = gapsOf("2016-10-01", "2016-10-03")
		if got := g["5.2.sessions"]; len(got) != 1 || got[0].Period != "2016-10" || got[0].Need != 2 {
			t.Errorf("founded 10-01: 5.2 gaps %+v", got)
		}
		if got := g["3.3.research"]; len(got) != 1 || got[0].Need != 1 || !strings.Contains(got[0].Note, "年度要求按 3 个月折算为 1 次") {
			t.Errorf("3.3 gaps %+v", got)
		}
		if got := g["5.3.branch_committee"]; len(got) != 1 || got[0].Need != 2 || got[0].Have != 0 {
			t.Errorf("5.3 branch committee gaps %+v, want 0 of ⌈8×3/12⌉ = 2", got)
		}
	})
}

func TestRev2Term(t *testing.T) {
	extend := func(on, until string) func(b *book) {
		return add(on, &domain.TermExtensionApproved{Until: domain.MustDate(until), Reason: "机构改革，经市直工委批准延期换届"})
	}
	runRuleCases(t, []ruleCase{
		// Elected 2012-03-10 for 3 years: expired 2015-03-10, one whole year overdue at 2016-12-31.
		{name: "expired without an extension", edit: reelect("2012-03-10", 3), want: map[string]string{"2.2.term": "1"}, vetoes: []string{"V2"}},
		{name: "an approved extension moves the expiry", edit: edits(reelect("2012-03-10", 3), extend("2015-02-01", "2017-06-30"))},
		{name: "an extension until the day one year before D still deducts", edit: edits(reelect("2012-03-10", 3), extend("2015-02-01", "2015-12-31")),
			want: map[string]string{"2.2.term": "1"}},
		{name: "an extension until the day after does not", edit: edits(reelect("2012-03-10", 3), extend("2015-02-01", "2016-01-01"))},
		{name: "an extension approved after D does not count yet", asOf: "2016-07-31", edit: edits(reelect("2012-03-10", 3), extend("2016-08-01", "2017-06-30")),
			want: map[string]string{"2.2.term": "1"}, vetoes: []string{"V2"}},
		{name: "an extension approved on D counts", asOf: "2016-08-01", edit: edits(reelect("2012-03-10", 3), extend("2016-08-01", "2017-06-30"))},
		{name: "an extension earlier than the term's expiry does not shorten it", edit: edits(reelect("2015-01-10", 3), extend("2015-02-01", "2016-06-30"))},
		{name: "an extension lifts V2", edit: edits(reelect("2011-03-10", 3), extend("2014-02-01", "2016-06-30"))},
		{name: "V2 without it", edit: reelect("2011-03-10", 3), want: map[string]string{"2.2.term": "2"}, vetoes: []string{"V2"}},
		{name: "the latest extension counts", edit: edits(reelect("2012-03-10", 3), extend("2015-02-01", "2017-06-30"), extend("2015-03-01", "2015-06-30")),
			want: map[string]string{"2.2.term": "1"}, vetoes: []string{"V2"}},
		{name: "no election on record", edit: dropAll(isType(domain.TypeCommitteeElected)), want: map[string]string{"2.2.term": "1"}},
		{name: "no election on record, an extension does not stand for one", edit: edits(dropAll(isType(domain.TypeCommitteeElected)), extend("2015-02-01", "2017-06-30")),
			want: map[string]string{"2.2.term": "1"}},
		{name: "elected the day after D", asOf: "2016-04-30", edit: reelect("2016-05-01", 3), want: map[string]string{"2.2.term": "1"}},
		{name: "elected on D", asOf: "2016-05-01", edit: reelect("2016-05-01", 3)},
	})
	t.Run("the derivation names the extension", func(t *testing.T) {
		b := perfect(domain.KindBranch, true)
		reelect("2012-03-10", 3)(b)
		ext := b.add("2015-02-01", &domain.TermExtensionApproved{Until: domain.MustDate("2017-06-30"), Reason: "机构改革"})
		sc := b.score(t, "")
		notes := item(t, sc, "2.2").Notes
		if len(notes) != 1 || !strings.Contains(notes[0].Reason, "经上级批准延期换届至 2017-06-30") || !slices.Contains(notes[0].Events, ext) {
			t.Errorf("2.2 notes %+v", notes)
		}
		b = perfect(domain.KindBranch, true)
		reelect("2011-03-10", 3)(b)
		b.add("2014-02-01", &domain.TermExtensionApproved{Until: domain.MustDate("2015-06-30"), Reason: "机构改革"})
		sc = b.score(t, "")
		if r := deduction(t, sc, "2.2.term").Reason; !strings.Contains(r, "经上级批准延期换届至 2015-06-30，至 2016-12-31 超届1年") {
			t.Errorf("2.2 reason %q", r)
		}
		b = perfect(domain.KindBranch, true)
		b.drop(-1, isType(domain.TypeCommitteeElected))
		if r := deduction(t, b.score(t, ""), "2.2.term").Reason; !strings.Contains(r, "换届情况无记录") {
			t.Errorf("2.2 reason %q", r)
		}
	})
	t.Run("a retracted extension stops counting", func(t *testing.T) {
		b := perfect(domain.KindBranch, true)
		reelect("2012-03-10", 3)(b)
		ext := b.add("2015-02-01", &domain.TermExtensionApproved{Until: domain.MustDate("2017-06-30"), Reason: "机构改革"})
		b.addAt("2016-03-01", at("2017-02-01"), &domain.EventRetracted{EventID: ext, Reason: "批准文件有误"})
		wantDeductions(t, b.scoreAt(t, "", at("2017-01-31")), nil)
		wantDeductions(t, b.scoreAt(t, "", at("2017-02-01")), map[string]string{"2.2.term": "1"})
	})
}

func TestRev2Dues(t *testing.T) {
	// m03 earns 3000元 and owes 15.00元 (1500 fen) a month.
	pay := func(on string, amount domain.Fen) func(b *book) {
		return add(on, &domain.DuesPaid{MemberID: "m03", Month: "2016-05", AmountFen: amount})
	}
	may := edits(dropAll(duesOf("m03", "2016-05")))
	v3 := []string{"V3"}
	runRuleCases(t, []ruleCase{
		{name: "750 on time and 750 late of 1500 is late", edit: edits(may, pay("2016-05-10", 750), pay("2016-06-03", 750)),
			want: map[string]string{"2.5.late": "2"}, vetoes: v3, tier: domain.TierCompliant, wantScore: map[string]string{"2.5": "1"}},
		{name: "750 on time and 749 late is late and short", edit: edits(may, pay("2016-05-10", 750), pay("2016-06-03", 749)),
			want: map[string]string{"2.5.late": "2", "2.5.short": "2"}, vetoes: v3, wantScore: map[string]string{"2.5": "0"}},
		{name: "750 on time and no more is short, not late", edit: edits(may, pay("2016-05-10", 750)),
			want: map[string]string{"2.5.short": "2"}, vetoes: v3},
		{name: "one fen short on time and the fen the next day is late", edit: edits(may, pay("2016-05-31", 1499), pay("2016-06-01", 1)),
			want: map[string]string{"2.5.late": "2"}, vetoes: v3},
		{name: "one fen short and no more is short", edit: edits(may, pay("2016-05-31", 1499)),
			want: map[string]string{"2.5.short": "2"}, vetoes: v3},
		{name: "in full on the due date in two parts", edit: edits(may, pay("2016-05-01", 750), pay("2016-05-31", 750))},
		{name: "everything one day late is late", edit: edits(may, pay("2016-06-01", 1500)), want: map[string]string{"2.5.late": "2"}, vetoes: v3},
		{name: "nothing paid is late and short", edit: may, want: map[string]string{"2.5.late": "2", "2.5.short": "2"}, vetoes: v3},
		{name: "the late part after D is not seen yet: short at D", asOf: "2016-06-02", edit: edits(may, pay("2016-05-10", 750), pay("2016-06-03", 750)),
			want: map[string]string{"2.5.short": "2"}, vetoes: v3},
		{name: "the late part on D: late", asOf: "2016-06-03", edit: edits(may, pay("2016-05-10", 750), pay("2016-06-03", 750)),
			want: map[string]string{"2.5.late": "2"}, vetoes: v3},
		{name: "more than due on time", edit: edits(may, pay("2016-05-10", 1600))},
	})
	t.Run("the derivation says partly late", func(t *testing.T) {
		b := perfect(domain.KindBranch, true)
		edits(may, pay("2016-05-10", 750), pay("2016-06-03", 750))(b)
		sc := b.score(t, "")
		d := deduction(t, sc, "2.5.late")
		if !strings.Contains(d.Reason, "2016-05 党费部分逾期补交") || !strings.Contains(d.Reason, "按时交纳7.50元") || len(d.Events) != 2 {
			t.Errorf("2.5.late = %+v", d)
		}
		if !strings.Contains(sc.Vetoes[0].Reason, "部分逾期补交") {
			t.Errorf("V3 reason %q", sc.Vetoes[0].Reason)
		}
		for _, c := range countsOf(sc, "2.5.late") {
			if c.Period == "2016-05" && (c.Have != 11 || c.Need != 12) {
				t.Errorf("May on time %d of %d, want 11 of 12", c.Have, c.Need)
			}
		}
		for _, c := range countsOf(sc, "2.5.short") {
			if c.Period == "2016-05" && c.Have != 12 {
				t.Errorf("May in full %d, want 12", c.Have)
			}
		}
	})
	t.Run("missing: a part paid does not count as paid", func(t *testing.T) {
		b := perfect(domain.KindBranch, true)
		b.drop(-1, after("2016-05-09", anyEvent))
		pay("2016-05-08", 750)(b)
		gaps, err := projections.Missing(b.facts(t), domain.Builtin2016(), projections.Query{Year: 2016, AsOf: domain.MustDate("2016-05-09"), KnownAt: testKnownAt})
		if err != nil {
			t.Fatal(err)
		}
		for _, g := range gaps {
			if g.Rule == "2.5.late" && g.Period == "2016-05" {
				if g.Have != 0 || g.Need != 12 || !strings.Contains(g.Note, "其中1人只交纳了部分党费") {
					t.Errorf("gap %+v", g)
				}
				return
			}
		}
		t.Errorf("no dues gap for May in %+v", gaps)
	})
}

func TestRev2SelfInspection(t *testing.T) {
	inspect := func(on, half string) func(b *book) { return add(on, &domain.SelfInspectionCompleted{Half: half}) }
	none := dropAll(isType(domain.TypeSelfInspectionCompleted))
	runRuleCases(t, []ruleCase{
		{name: "two self-inspections both done on 2016-03-01", edit: edits(none, inspect("2016-03-01", "2016-H1"), inspect("2016-03-01", "2016-H2")),
			want: map[string]string{"2.6.self_inspection": "1"}},
		{name: "H1 on its first and H2 on its last day", edit: edits(none, inspect("2016-01-01", "2016-H1"), inspect("2016-12-31", "2016-H2"))},
		{name: "H1 on its last and H2 on its first day", edit: edits(none, inspect("2016-06-30", "2016-H1"), inspect("2016-07-01", "2016-H2"))},
		{name: "H1 the day after it", edit: edits(none, inspect("2016-07-01", "2016-H1"), inspect("2016-12-31", "2016-H2")),
			want: map[string]string{"2.6.self_inspection": "1"}},
		{name: "H1 the day before it", edit: edits(none, inspect("2015-12-31", "2016-H1"), inspect("2016-12-31", "2016-H2")),
			want: map[string]string{"2.6.self_inspection": "1"}},
		{name: "H2 after the year", edit: edits(none, inspect("2016-06-30", "2016-H1"), inspect("2017-01-01", "2016-H2")),
			want: map[string]string{"2.6.self_inspection": "1"}},
		{name: "a self-inspection naming another half counts for neither", edit: edits(none, inspect("2016-06-30", "2016-H2"), inspect("2016-12-31", "2016-H2")),
			want: map[string]string{"2.6.self_inspection": "1"}},
	})
}

// TestRev2SelfInspectionDerivation: a self-inspection that does not count
// because it was done outside the half it names is said so, in Chinese,
// with the event.
func TestRev2SelfInspectionDerivation(t *testing.T) {
	b := perfect(domain.KindBranch, true)
	b.drop(-1, isType(domain.TypeSelfInspectionCompleted))
	b.add("2016-03-01", &domain.SelfInspectionCompleted{Half: "2016-H1"})
	h2 := b.add("2016-03-01", &domain.SelfInspectionCompleted{Half: "2016-H2"})
	it := item(t, b.score(t, ""), "2.6")
	want := []projections.Note{{Rule: "2.6.self_inspection", Reason: "2016-H2的半年总结自查于 2016-03-01 完成，不在该半年内，不计", Events: []string{h2}}}
	if !slices.EqualFunc(it.Notes, want, func(a, b projections.Note) bool {
		return a.Rule == b.Rule && a.Reason == b.Reason && slices.Equal(a.Events, b.Events)
	}) {
		t.Errorf("2.6 notes %+v, want %+v", it.Notes, want)
	}
	// As of 2016-06-30 the second half is not judged yet: nothing to say.
	if it := item(t, b.score(t, "2016-06-30"), "2.6"); len(it.Notes) != 0 {
		t.Errorf("notes at 06-30: %+v", it.Notes)
	}
}

func TestRev2Cases(t *testing.T) {
	violation := func(on, caseID, person, severity, impact string) func(b *book) {
		return add(on, &domain.ViolationRecorded{CaseID: caseID, Person: person, Severity: severity, Impact: impact, Summary: "违纪"})
	}
	handled := func(on, caseID string) func(b *book) {
		return add(on, &domain.CaseHandled{CaseID: caseID, Outcome: "已处分"})
	}
	ord, ser := domain.SeverityOrdinary, domain.SeveritySerious
	normal, severe := domain.ImpactNormal, domain.ImpactSevere
	runRuleCases(t, []ruleCase{
		{name: "serious, normal impact: 1", edit: edits(violation("2016-03-01", "c1", "张三", ser, normal), handled("2016-04-01", "c1")),
			want: map[string]string{"4.2.serious": "1"}},
		{name: "ordinary with severe impact: 1 (rev. 2), no V1", edit: edits(violation("2016-03-01", "c1", "张三", ord, severe), handled("2016-04-01", "c1")),
			want: map[string]string{"4.2.serious": "1"}},
		{name: "ordinary, normal impact: nothing", edit: edits(violation("2016-03-01", "c1", "张三", ord, normal), handled("2016-04-01", "c1"))},
		{name: "one person, two cases: 2 (每人次)", edit: edits(violation("2016-03-01", "c1", "张三", ser, normal), handled("2016-04-01", "c1"),
			violation("2016-05-01", "c2", "张三", ord, severe), handled("2016-06-01", "c2")),
			want: map[string]string{"4.2.serious": "2"}},
		{name: "serious and severe: 1 and V1", edit: edits(violation("2016-03-01", "c1", "张三", ser, severe), handled("2016-04-01", "c1")),
			want: map[string]string{"4.2.serious": "1"}, vetoes: []string{"V1"}, tier: domain.TierNonCompliant},
		{name: "one person recorded twice in one case: 1 (每人次 counts the pair once)", edit: edits(violation("2016-03-01", "c1", "张三", ser, normal),
			violation("2016-03-05", "c1", "张三", ord, severe), handled("2016-04-01", "c1")),
			want: map[string]string{"4.2.serious": "1"}},
		{name: "two people in one case: 2", edit: edits(violation("2016-03-01", "c1", "张三", ser, normal),
			violation("2016-03-01", "c1", "李四", ord, severe), handled("2016-04-01", "c1")),
			want: map[string]string{"4.2.serious": "2"}},
		{name: "six cases are capped at the item", edit: func(b *book) {
			for i := range 6 {
				c := fmt.Sprintf("c%d", i)
				violation(fmt.Sprintf("2016-0%d-01", 3+i/2), c, "张"+c, ser, normal)(b)
				handled(fmt.Sprintf("2016-0%d-20", 3+i/2), c)(b)
			}
		}, want: map[string]string{"4.2.serious": "6"}, wantScore: map[string]string{"4.2": "0"}},
		// 2016-03-01 + 90 days = 2016-05-30.
		{name: "handled the day after the deadline", edit: edits(violation("2016-03-01", "c1", "张三", ord, normal), handled("2016-05-31", "c1")),
			want: map[string]string{"4.2.case_deadline": "1"}},
		{name: "unhandled, the day before the deadline", asOf: "2016-05-29", edit: violation("2016-03-01", "c1", "张三", ord, normal)},
		{name: "unhandled, the day after the deadline", asOf: "2016-05-31", edit: violation("2016-03-01", "c1", "张三", ord, normal),
			want: map[string]string{"4.2.case_deadline": "1"}},
		// 2015-12-01 + 90 days = 2016-02-29: judged in 2016.
		{name: "a December case unhandled by its February deadline counts in the next year", edit: violation("2015-12-01", "c1", "张三", ord, normal),
			want: map[string]string{"4.2.case_deadline": "1"}},
		{name: "a previous year's case handled on its deadline", edit: edits(violation("2015-12-01", "c1", "张三", ord, normal), handled("2016-02-29", "c1"))},
		{name: "a previous year's case whose deadline fell in that year", edit: violation("2015-10-01", "c1", "张三", ord, normal)},
		// 2016-11-01 + 90 days = 2017-01-30: not 2016's.
		{name: "a November case is not judged in its own year", edit: violation("2016-11-01", "c1", "张三", ord, normal)},
	})
	t.Run("a November case unhandled is judged in the next year at its deadline", func(t *testing.T) {
		for _, tc := range []struct {
			asOf, handledOn string
			want            string
		}{
			{"2017-01-29", "", "0"}, {"2017-01-30", "", "1"}, {"2017-12-31", "", "1"},
			{"2017-12-31", "2017-01-30", "0"}, {"2017-12-31", "2017-01-31", "1"},
		} {
			b := perfect(domain.KindBranch, true)
			violation("2016-11-01", "c1", "张三", ord, normal)(b)
			if tc.handledOn != "" {
				handled(tc.handledOn, "c1")(b)
			}
			sc := mustScore(t, b, 2017, tc.asOf)
			if got := deductions(sc)["4.2.case_deadline"]; got != pts(tc.want) {
				t.Errorf("as of %s handled %q: 4.2.case_deadline %s, want %s", tc.asOf, tc.handledOn, got, tc.want)
			}
		}
	})
	t.Run("the derivation names each person per case", func(t *testing.T) {
		b := perfect(domain.KindBranch, true)
		edits(violation("2016-03-01", "c1", "张三", ser, normal), handled("2016-04-01", "c1"),
			violation("2016-05-01", "c2", "张三", ord, severe), handled("2016-06-01", "c2"))(b)
		r := deduction(t, b.score(t, ""), "4.2.serious").Reason
		for _, s := range []string{"张三（案件c1，严重违法违纪）", "张三（案件c2，造成严重影响）", "共2人次"} {
			if !strings.Contains(r, s) {
				t.Errorf("reason %q lacks %q", r, s)
			}
		}
		b = perfect(domain.KindBranch, true)
		violation("2015-12-01", "c9", "李四", ord, normal)(b)
		if r := deduction(t, b.score(t, ""), "4.2.case_deadline").Reason; !strings.Contains(r, "案件c9 2015-12-01 立案，期限 2016-02-29 届满仍未查处") {
			t.Errorf("reason %q", r)
		}
	})
	t.Run("missing lists a case whose deadline is ahead", func(t *testing.T) {
		b := perfect(domain.KindBranch, true)
		violation("2016-11-01", "c1", "张三", ord, normal)(b)
		gaps, err := projections.Missing(b.facts(t), domain.Builtin2016(), projections.Query{Year: 2016, AsOf: domain.MustDate("2016-12-31"), KnownAt: testKnownAt})
		if err != nil {
			t.Fatal(err)
		}
		want := []projections.Gap{{Item: "4.2", Rule: "4.2.case_deadline", Label: "案件c1（2016-11-01 立案）按期查处", Period: "2017",
			Due: domain.MustDate("2017-01-30"), Have: 0, Need: 1}}
		if !slices.Equal(gaps, want) {
			t.Errorf("gaps %+v, want %+v", gaps, want)
		}
	})
}

func TestRev2Deputy(t *testing.T) {
	vacate := func(role, member string) func(b *book) {
		return add("2016-11-01", &domain.OfficerVacated{Role: role, MemberID: member})
	}
	// The model committee's deputy_secretary is m02, fulltime deputy m03.
	runRuleCases(t, []ruleCase{
		{name: "a committee with a 副书记 only", kind: domain.KindCommittee, edit: vacate(domain.RoleFulltimeDeputySecretary, "m03")},
		{name: "a committee with a 专职副书记 only", kind: domain.KindCommittee, edit: vacate(domain.RoleDeputySecretary, "m02")},
		{name: "a committee with neither", kind: domain.KindCommittee, edit: edits(vacate(domain.RoleFulltimeDeputySecretary, "m03"), vacate(domain.RoleDeputySecretary, "m02")),
			want: map[string]string{"5.1.staffing": "1", "2.2.leadership": "2"}},
	})
}
