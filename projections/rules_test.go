package projections_test

import (
	"slices"
	"testing"

	"partyledger/domain"
)

// ruleCase is one organisation that did everything (perfect) but for
// edit, scored for 2016 as of asOf; want is its complete set of
// deductions (rule → points), or only those of the rules in only.
type ruleCase struct {
	name      string
	kind      domain.OrgKind // default branch
	noGroups  bool
	asOf      string
	edit      func(b *book)
	want      map[string]string
	only      []string // compare only these rules (other deductions are expected)
	vetoes    []string
	tier      string // when not empty, the expected tier
	wantScore map[string]string
}

func runRuleCases(t *testing.T, cases []ruleCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			kind := tc.kind
			if kind == "" {
				kind = domain.KindBranch
			}
			b := perfect(kind, !tc.noGroups)
			if tc.edit != nil {
				tc.edit(b)
			}
			sc := b.score(t, tc.asOf)
			if tc.only != nil {
				got := deductions(sc)
				for _, r := range tc.only {
					if got[r] != pts(orZero(tc.want[r])) {
						t.Errorf("deduction %s = %s, want %s", r, got[r], orZero(tc.want[r]))
					}
				}
			} else {
				wantDeductions(t, sc, tc.want)
			}
			if got := vetoCodes(sc); !slices.Equal(got, orEmpty(tc.vetoes)) {
				t.Errorf("vetoes = %v, want %v", got, tc.vetoes)
			}
			if tc.tier != "" && sc.Tier != tc.tier {
				t.Errorf("tier = %s, want %s", sc.Tier, tc.tier)
			}
			for code, s := range tc.wantScore {
				if got := item(t, sc, code).Score; got != pts(s) {
					t.Errorf("item %s score = %s, want %s", code, got, s)
				}
			}
		})
	}
}

func orZero(s string) string {
	if s == "" {
		return "0"
	}
	return s
}

func orEmpty(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// finding records an assessor's finding on 2017-01-10 ("" points: none given).
func (b *book) finding(item, code, points string) string {
	f := &domain.FindingRecorded{Year: 2016, Item: item, Finding: code, Reason: "考核组查实"}
	if points != "" {
		f.Points = ptr(pts(points))
	}
	return b.addAt("2017-01-10", at("2017-01-10"), f)
}

func findings(specs ...[3]string) func(b *book) {
	return func(b *book) {
		for _, s := range specs {
			b.finding(s[0], s[1], s[2])
		}
	}
}

func dropAll(pred func(domain.Recorded) bool) func(b *book) {
	return func(b *book) { b.drop(-1, pred) }
}

func dropN(n int, pred func(domain.Recorded) bool) func(b *book) {
	return func(b *book) { b.drop(n, pred) }
}

func edits(fs ...func(b *book)) func(b *book) {
	return func(b *book) {
		for _, f := range fs {
			f(b)
		}
	}
}

func add(on string, p domain.Payload) func(b *book) {
	return func(b *book) { b.add(on, p) }
}

// mutate calls fn on the payload of every event for which pred holds.
func mutate(pred func(domain.Recorded) bool, fn func(p domain.Payload)) func(b *book) {
	return func(b *book) {
		for _, r := range b.evs {
			if pred(r) {
				fn(r.Payload)
			}
		}
	}
}

func withoutAttendee(id string) func(p domain.Payload) {
	return func(p domain.Payload) {
		switch e := p.(type) {
		case *domain.MeetingHeld:
			e.Attendees = slices.DeleteFunc(slices.Clone(e.Attendees), func(s string) bool { return s == id })
		case *domain.StudySessionHeld:
			e.Attendees = slices.DeleteFunc(slices.Clone(e.Attendees), func(s string) bool { return s == id })
		}
	}
}

func reelect(on string, years int) func(b *book) {
	return edits(dropAll(isType(domain.TypeCommitteeElected)), add(on, &domain.CommitteeElected{TermYears: years}))
}

func TestSection1Thought(t *testing.T) {
	runRuleCases(t, []ruleCase{
		{name: "1.1 one topic missing", edit: dropAll(category(domain.TypeEducationActivityHeld, domain.TopicPartyConstitution)),
			want: map[string]string{"1.1.topics": "1"}},
		{name: "1.1 every topic missing", edit: dropAll(isType(domain.TypeEducationActivityHeld)),
			want: map[string]string{"1.1.topics": "5"}, wantScore: map[string]string{"1.1": "1"}},
		{name: "1.1 year still open", asOf: "2016-07-31", edit: dropAll(isType(domain.TypeEducationActivityHeld))},
		{name: "1.1 topics in another year do not count", edit: edits(dropAll(isType(domain.TypeEducationActivityHeld)),
			add("2015-06-01", &domain.EducationActivityHeld{Topic: domain.TopicPolicy, Title: "往年"})),
			want: map[string]string{"1.1.topics": "5"}},
		{name: "1.2 instability", edit: findings([3]string{"1.2", "instability", ""}), want: map[string]string{"1.2.instability": "2"}},
		{name: "1.2 disunity with its fixed points given", edit: findings([3]string{"1.2", "disunity", "1"}), want: map[string]string{"1.2.disunity": "1"}},
		{name: "1.2 both", edit: findings([3]string{"1.2", "instability", ""}, [3]string{"1.2", "disunity", ""}),
			want: map[string]string{"1.2.instability": "2", "1.2.disunity": "1"}},
		{name: "1.3 no civilized unit", edit: dropAll(category(domain.TypeCampaignActivityHeld, domain.CampaignCivilizedUnit)),
			want: map[string]string{"1.3.civilized_unit": "2"}},
		{name: "1.3 no volunteer campaign", edit: dropAll(category(domain.TypeCampaignActivityHeld, domain.CampaignVolunteer)),
			want: map[string]string{"1.3.campaigns": "1"}},
		{name: "1.3 no campaign at all", edit: dropAll(isType(domain.TypeCampaignActivityHeld)),
			want: map[string]string{"1.3.civilized_unit": "2", "1.3.campaigns": "2"}},
		{name: "1.3 open year", asOf: "2016-11-30", edit: dropAll(isType(domain.TypeCampaignActivityHeld))},
		{name: "1.4 no mass organisation education", edit: dropAll(isType(domain.TypeMassOrgEducationHeld)),
			want: map[string]string{"1.4.mass_org_education": "1"}},
		{name: "1.4 mass organisations incomplete", edit: findings([3]string{"1.4", "mass_org_incomplete", ""}),
			want: map[string]string{"1.4.mass_org_incomplete": "1"}},
	})
}

func TestSection2Organisation(t *testing.T) {
	vacate := func(on, role, member string) func(b *book) {
		return add(on, &domain.OfficerVacated{Role: role, MemberID: member})
	}
	runRuleCases(t, []ruleCase{
		{name: "2.1 no signature activity", edit: dropAll(isType(domain.TypeSignatureActivityHeld)), want: map[string]string{"2.1.signature": "1"}},
		{name: "2.1 no innovation", edit: dropAll(isType(domain.TypeInnovationRecorded)), want: map[string]string{"2.1.innovation": "1"}},
		{name: "2.1 findings", edit: findings([3]string{"2.1", "weak_focus", ""}, [3]string{"2.1", "role_weak", ""}),
			want: map[string]string{"2.1.weak_focus": "2", "2.1.role_weak": "1"}},
		{name: "2.1 everything wrong scores 0", edit: edits(dropAll(isType(domain.TypeSignatureActivityHeld)), dropAll(isType(domain.TypeInnovationRecorded)),
			findings([3]string{"2.1", "weak_focus", ""}, [3]string{"2.1", "role_weak", ""})),
			want:      map[string]string{"2.1.weak_focus": "2", "2.1.role_weak": "1", "2.1.signature": "1", "2.1.innovation": "1"},
			wantScore: map[string]string{"2.1": "0"}},

		{name: "2.2 secretary vacated", edit: vacate("2016-11-01", domain.RoleSecretary, "m01"),
			want: map[string]string{"2.2.leadership": "2", "5.1.staffing": "1"}},
		{name: "2.2 secretary vacated after D", asOf: "2016-07-31", edit: vacate("2016-11-01", domain.RoleSecretary, "m01")},
		{name: "2.2 secretary transferred out", edit: add("2016-11-01", &domain.MemberTransferredOut{MemberID: "m01"}),
			want: map[string]string{"2.2.leadership": "2", "5.1.staffing": "1"}},
		{name: "2.2 secretary vacated and reappointed", edit: edits(vacate("2016-03-01", domain.RoleSecretary, "m01"),
			add("2016-04-01", &domain.OfficerAppointed{Role: domain.RoleSecretary, MemberID: "m05"}))},
		{name: "2.2 branch needs no deputy", edit: vacate("2016-11-01", domain.RoleDeputySecretary, "m02")},
		{name: "2.2 general branch with a full-time deputy only", kind: domain.KindGeneralBranch, edit: vacate("2016-11-01", domain.RoleDeputySecretary, "m02")},
		{name: "2.2 general branch without any deputy", kind: domain.KindGeneralBranch,
			edit: edits(vacate("2016-11-01", domain.RoleDeputySecretary, "m02"), vacate("2016-11-01", domain.RoleFulltimeDeputySecretary, "m03")),
			want: map[string]string{"2.2.leadership": "2"}},
		{name: "2.2 committee with a full-time deputy only", kind: domain.KindCommittee, edit: vacate("2016-11-01", domain.RoleDeputySecretary, "m02")},
		{name: "2.2 committee without any deputy", kind: domain.KindCommittee,
			edit: edits(vacate("2016-11-01", domain.RoleDeputySecretary, "m02"), vacate("2016-11-01", domain.RoleFulltimeDeputySecretary, "m03")),
			want: map[string]string{"2.2.leadership": "2", "5.1.staffing": "1"}},
		{name: "2.2 term overdue one year", edit: reelect("2012-03-10", 3), want: map[string]string{"2.2.term": "1"}, vetoes: []string{"V2"},
			tier: domain.TierCompliant},
		{name: "2.2 term overdue two years", edit: reelect("2011-03-10", 3), want: map[string]string{"2.2.term": "2"}, vetoes: []string{"V2"}},
		{name: "2.2 term overdue exactly one year: deducts, no veto", edit: reelect("2012-12-31", 3), want: map[string]string{"2.2.term": "1"}},
		{name: "2.2 term overdue less than a year", edit: reelect("2013-06-01", 3)},
		{name: "2.2 term expires within the year", edit: reelect("2013-12-31", 3)},
		{name: "2.2 re-elected in the year", edit: edits(reelect("2012-03-10", 3), add("2016-05-01", &domain.CommitteeElected{TermYears: 3}))},
		{name: "2.2 re-elected after D", asOf: "2016-04-30", edit: edits(reelect("2012-03-10", 3), add("2016-05-01", &domain.CommitteeElected{TermYears: 3})),
			want: map[string]string{"2.2.term": "1"}, vetoes: []string{"V2"}},
		{name: "2.2 term overdue seven years is capped", edit: reelect("2008-01-10", 1), want: map[string]string{"2.2.term": "7"},
			vetoes: []string{"V2"}, wantScore: map[string]string{"2.2": "0"}},

		{name: "2.3 findings", edit: findings([3]string{"2.3", "members_not_exemplary", ""}, [3]string{"2.3", "roster_stale", ""}),
			want: map[string]string{"2.3.members_not_exemplary": "1", "2.3.roster_stale": "1"}},
		{name: "2.4 admission quality takes the whole item", edit: findings([3]string{"2.4", "admission_quality", ""}),
			want: map[string]string{"2.4.admission_quality": "3"}, wantScore: map[string]string{"2.4": "0"}},
		{name: "2.4 capped", edit: findings([3]string{"2.4", "admission_quality", "3"}, [3]string{"2.4", "admission_procedure", ""}),
			want: map[string]string{"2.4.admission_quality": "3", "2.4.admission_procedure": "1"}, wantScore: map[string]string{"2.4": "0"}},

		{name: "2.6 no self inspection at all", edit: dropAll(isType(domain.TypeSelfInspectionCompleted)),
			want: map[string]string{"2.6.self_inspection": "2"}},
		{name: "2.6 H1 missing, judged once H1 closed", asOf: "2016-06-30", edit: dropN(1, isType(domain.TypeSelfInspectionCompleted)),
			want: map[string]string{"2.6.self_inspection": "1"}},
		{name: "2.6 H1 missing, H1 still open", asOf: "2016-06-29", edit: dropN(1, isType(domain.TypeSelfInspectionCompleted))},
		{name: "2.6 H1 inspection done in July does not count for H1 (rev. 2)", edit: edits(dropN(1, isType(domain.TypeSelfInspectionCompleted)),
			add("2016-07-05", &domain.SelfInspectionCompleted{Half: "2016-H1"})),
			want: map[string]string{"2.6.self_inspection": "1"}},
		{name: "2.6 H2 inspection done after the year", edit: edits(dropAll(func(r domain.Recorded) bool {
			p, ok := r.Payload.(*domain.SelfInspectionCompleted)
			return ok && p.Half == "2016-H2"
		}), add("2017-01-05", &domain.SelfInspectionCompleted{Half: "2016-H2"})),
			want: map[string]string{"2.6.self_inspection": "1"}},
		{name: "2.6 committee inspects no subordinate", kind: domain.KindCommittee, edit: dropAll(isType(domain.TypeSubordinateInspected)),
			want: map[string]string{"2.6.subordinate": "1"}},
		{name: "2.6 general branch inspects no subordinate", kind: domain.KindGeneralBranch, edit: dropAll(isType(domain.TypeSubordinateInspected)),
			want: map[string]string{"2.6.subordinate": "1"}},
		{name: "2.6 a branch need not inspect", edit: dropAll(isType(domain.TypeSubordinateInspected))},
		{name: "2.6 subordinate work poor", edit: findings([3]string{"2.6", "subordinate_work_poor", ""}),
			want: map[string]string{"2.6.subordinate_work_poor": "1"}},

		{name: "2.7 one scheduled meeting missed", edit: dropAll(func(r domain.Recorded) bool {
			p, ok := r.Payload.(*domain.AttendanceRecorded)
			return ok && p.ScheduledEventID == "S2"
		}), want: map[string]string{"2.7.attendance": "1"}},
		{name: "2.7 both missed", edit: dropAll(isType(domain.TypeAttendanceRecorded)), want: map[string]string{"2.7.attendance": "2"}},
		{name: "2.7 a meeting after D is not yet owed", asOf: "2016-08-31", edit: dropAll(func(r domain.Recorded) bool {
			p, ok := r.Payload.(*domain.AttendanceRecorded)
			return ok && p.ScheduledEventID == "S2"
		})},
		{name: "2.7 a meeting for other organisations is not owed", edit: func(b *book) { b.schedule("2016-11-11", "S4", "LY-0003") }},
		{name: "2.7 a meeting for everyone is owed", edit: func(b *book) { b.schedule("2016-11-11", "S4", "*") },
			want: map[string]string{"2.7.attendance": "1"}},
	})
}

func TestSection2Dues(t *testing.T) {
	late := func(member, month, paidOn string) func(b *book) {
		return func(b *book) {
			p := b.find(t, duesOf(member, month)).Payload.(*domain.DuesPaid)
			b.drop(1, duesOf(member, month))
			b.add(paidOn, &domain.DuesPaid{MemberID: member, Month: month, AmountFen: p.AmountFen})
		}
	}
	pay := func(member, month, on string, amount domain.Fen) func(b *book) {
		return add(on, &domain.DuesPaid{MemberID: member, Month: month, AmountFen: amount})
	}
	unpaid := func(member, month string) func(b *book) { return dropAll(duesOf(member, month)) }
	v3 := []string{"V3"}
	remit := func(q string) func(domain.Recorded) bool {
		return func(r domain.Recorded) bool {
			p, ok := r.Payload.(*domain.DuesRemitted)
			return ok && p.Quarter == q
		}
	}
	runRuleCases(t, []ruleCase{
		{name: "late payment", edit: late("m03", "2016-05", "2016-06-01"), want: map[string]string{"2.5.late": "2"}, vetoes: v3, tier: domain.TierCompliant},
		{name: "paid on the last day is on time", edit: late("m03", "2016-05", "2016-05-31")},
		{name: "nothing paid is late and short (rev. 2)", edit: unpaid("m03", "2016-05"), want: map[string]string{"2.5.late": "2", "2.5.short": "2"},
			vetoes: v3, wantScore: map[string]string{"2.5": "0"}},
		{name: "late twice deducts once", edit: edits(late("m03", "2016-05", "2016-06-02"), late("m04", "2016-08", "2016-09-03")),
			want: map[string]string{"2.5.late": "2"}, vetoes: v3},
		{name: "short payment", edit: edits(unpaid("m03", "2016-05"), pay("m03", "2016-05", "2016-05-10", 1499)),
			want: map[string]string{"2.5.short": "2"}, vetoes: v3},
		{name: "two payments add up", edit: edits(unpaid("m03", "2016-05"), pay("m03", "2016-05", "2016-05-10", 1000), pay("m03", "2016-05", "2016-05-20", 500))},
		{name: "short made good after the due date is late (rev. 2)", edit: edits(unpaid("m03", "2016-05"), pay("m03", "2016-05", "2016-05-10", 1000), pay("m03", "2016-05", "2016-07-01", 500)),
			want: map[string]string{"2.5.late": "2"}, vetoes: v3},
		{name: "short before it is made good", asOf: "2016-06-30",
			edit: edits(unpaid("m03", "2016-05"), pay("m03", "2016-05", "2016-05-10", 1000), pay("m03", "2016-05", "2016-07-01", 500)),
			want: map[string]string{"2.5.short": "2"}, vetoes: v3},
		{name: "late and short are capped at the item", edit: edits(unpaid("m03", "2016-05"), unpaid("m04", "2016-06"), pay("m04", "2016-06", "2016-06-10", 2999)),
			want: map[string]string{"2.5.late": "2", "2.5.short": "2"}, vetoes: v3, wantScore: map[string]string{"2.5": "0"}},
		{name: "the month is not judged before its last day", asOf: "2016-07-30", edit: unpaid("m03", "2016-07")},
		{name: "the month is judged on its last day", asOf: "2016-07-31", edit: unpaid("m03", "2016-07"), want: map[string]string{"2.5.late": "2", "2.5.short": "2"}, vetoes: v3},
		{name: "D in July does not judge December", asOf: "2016-07-31", edit: unpaid("m03", "2016-12")},
		{name: "paying a later month early is fine", edit: late("m03", "2016-06", "2016-01-10")},
		{name: "a member who joins owes from the month of joining", edit: edits(
			add("2016-06-15", &domain.MemberJoined{MemberID: "m13", Name: "新党员", MonthlyIncomeFen: 300000}),
			func(b *book) {
				for m := 6; m <= 12; m++ {
					month := "2016-" + twoDigits(m)
					b.add(month+"-20", &domain.DuesPaid{MemberID: "m13", Month: month, AmountFen: 1500})
				}
			})},
		{name: "a new member who does not pay is late and short", edit: add("2016-06-15", &domain.MemberJoined{MemberID: "m13", Name: "新党员", MonthlyIncomeFen: 300000}),
			want: map[string]string{"2.5.late": "2", "2.5.short": "2"}, vetoes: v3},
		{name: "transferred out on the month's last day: pays there", edit: edits(
			add("2016-05-31", &domain.MemberTransferredOut{MemberID: "m03"}),
			dropAll(func(r domain.Recorded) bool {
				p, ok := r.Payload.(*domain.DuesPaid)
				return ok && p.MemberID == "m03" && p.Month >= "2016-05"
			}))},
		{name: "transferred out the next day: owes the month", edit: edits(
			add("2016-06-01", &domain.MemberTransferredOut{MemberID: "m03"}),
			dropAll(func(r domain.Recorded) bool {
				p, ok := r.Payload.(*domain.DuesPaid)
				return ok && p.MemberID == "m03" && p.Month >= "2016-05"
			})), want: map[string]string{"2.5.late": "2", "2.5.short": "2"}, vetoes: v3},
		{name: "income raised on the month's last day counts for that month", edit: add("2016-06-30",
			&domain.MemberDetailsChanged{MemberID: "m03", MonthlyIncomeFen: ptr(domain.Fen(500001))}),
			want: map[string]string{"2.5.short": "2"}, vetoes: v3},
		{name: "remittance missing", edit: dropAll(remit("2016-Q2")), want: map[string]string{"2.5.late": "2"}, vetoes: v3},
		{name: "remittance late", edit: edits(dropAll(remit("2016-Q2")), add("2016-07-02", &domain.DuesRemitted{Quarter: "2016-Q2", AmountFen: 1})),
			want: map[string]string{"2.5.late": "2"}, vetoes: v3},
		{name: "remittance of an open quarter", asOf: "2016-06-29", edit: dropAll(remit("2016-Q2"))},
		{name: "committee without a dues account", kind: domain.KindCommittee, edit: dropAll(isType(domain.TypeDuesAccountOpened)),
			want: map[string]string{"2.5.account": "1"}},
		{name: "committee opening its account after D", kind: domain.KindCommittee, asOf: "2016-07-31",
			edit: edits(dropAll(isType(domain.TypeDuesAccountOpened)), add("2016-08-01", &domain.DuesAccountOpened{Bank: "洛阳银行", AccountLast4: "0001"})),
			want: map[string]string{"2.5.account": "1"}},
		{name: "a branch needs no account of its own", edit: dropAll(isType(domain.TypeDuesAccountOpened))},
		{name: "dues misuse", edit: findings([3]string{"2.5", "dues_misuse", ""}), want: map[string]string{"2.5.dues_misuse": "1"}},
	})
}

func twoDigits(n int) string { return string([]byte{byte('0' + n/10), byte('0' + n%10)}) }

// TestDuesBrackets checks the boundaries of the 2016 rate table: each
// income paying exactly the amount rounded down to the fen is in full,
// and one fen less is short.
func TestDuesBrackets(t *testing.T) {
	for _, tc := range []struct {
		income, full domain.Fen
	}{
		{99999, 499}, // 499.995 fen rounds down
		{300000, 1500}, {300001, 3000}, {500000, 5000}, {500001, 7500},
		{1000000, 15000}, {1000001, 20000}, {1234567, 24691},
	} {
		for _, paid := range []domain.Fen{tc.full, tc.full - 1, tc.full + 1} {
			name := fenName(tc.income) + " pays " + fenName(paid)
			t.Run(name, func(t *testing.T) {
				b := perfect(domain.KindBranch, true)
				b.add("2015-01-01", &domain.MemberJoined{MemberID: "m13", Name: "测试", MonthlyIncomeFen: tc.income})
				for m := 1; m <= 12; m++ {
					month := "2016-" + twoDigits(m)
					b.add(month+"-10", &domain.DuesPaid{MemberID: "m13", Month: month, AmountFen: paid})
				}
				want := map[string]string{}
				if paid < tc.full {
					want["2.5.short"] = "2"
				}
				wantDeductions(t, b.score(t, ""), want)
			})
		}
	}
}

func fenName(f domain.Fen) string {
	return domain.Points(f).String() + "元"
}

func TestSection3Style(t *testing.T) {
	runRuleCases(t, []ruleCase{
		{name: "3.1 no leaders' democratic life sat in", edit: dropAll(category(domain.TypeMeetingSatIn, domain.SatInLeadersDemocraticLife)),
			want: map[string]string{"3.1.democratic_life": "1"}},
		{name: "3.1 two leadership meetings short", edit: dropN(2, category(domain.TypeMeetingSatIn, domain.SatInLeadershipMeeting)),
			want: map[string]string{"3.1.leadership_meetings": "1"}},
		{name: "3.1 nothing sat in", edit: dropAll(isType(domain.TypeMeetingSatIn)),
			want: map[string]string{"3.1.leadership_meetings": "2", "3.1.democratic_life": "1"}},
		{name: "3.2 no plan", edit: dropAll(isType(domain.TypeWorkPlanFiled)), want: map[string]string{"3.2.plan": "1"}},
		{name: "3.2 no summary", edit: dropAll(isType(domain.TypeWorkSummaryFiled)), want: map[string]string{"3.2.summary": "1"}},
		{name: "3.2 no visit", edit: dropAll(isType(domain.TypeOutreachVisit)), want: map[string]string{"3.2.visit": "1"}},
		{name: "3.2 low satisfaction", edit: findings([3]string{"3.2", "low_satisfaction", "2.5"}), want: map[string]string{"3.2.low_satisfaction": "2.5"}},
		{name: "3.2 capped", edit: edits(dropAll(isType(domain.TypeWorkPlanFiled)), dropAll(isType(domain.TypeWorkSummaryFiled)),
			dropAll(isType(domain.TypeOutreachVisit)), findings([3]string{"3.2", "low_satisfaction", "3"})),
			want:      map[string]string{"3.2.plan": "1", "3.2.summary": "1", "3.2.visit": "1", "3.2.low_satisfaction": "3"},
			wantScore: map[string]string{"3.2": "0"}},
		{name: "3.3 no research report", edit: dropAll(isType(domain.TypeResearchReportSubmitted)), want: map[string]string{"3.3.research": "1"}},
		{name: "3.3 a branch needs three work infos", edit: dropN(1, isType(domain.TypeWorkInfoSubmitted))},
		{name: "3.3 a branch with two", edit: dropN(2, isType(domain.TypeWorkInfoSubmitted)), want: map[string]string{"3.3.work_info": "0.5"}},
		{name: "3.3 a committee needs four", kind: domain.KindCommittee, edit: dropN(1, isType(domain.TypeWorkInfoSubmitted)),
			want: map[string]string{"3.3.work_info": "0.5"}},
		{name: "3.4 complaint upheld", edit: findings([3]string{"3.4", "complaint_upheld", ""}), want: map[string]string{"3.4.complaint_upheld": "1"}},
		{name: "3.4 complaint recorded twice counts once", edit: findings([3]string{"3.4", "complaint_upheld", ""}, [3]string{"3.4", "complaint_upheld", ""}),
			want: map[string]string{"3.4.complaint_upheld": "1"}},
		{name: "3.4 discipline breaches count per case", edit: findings([3]string{"3.4", "discipline_breach", ""}, [3]string{"3.4", "discipline_breach", ""}),
			want: map[string]string{"3.4.discipline_breach": "2"}},
		{name: "3.5 perfunctory", edit: findings([3]string{"3.5", "perfunctory", "1.5"}), want: map[string]string{"3.5.perfunctory": "1.5"}},
		{name: "3.5 capped", edit: findings([3]string{"3.5", "perfunctory", "3"}, [3]string{"3.5", "poor_rating", "5"}),
			want: map[string]string{"3.5.perfunctory": "3", "3.5.poor_rating": "5"}, wantScore: map[string]string{"3.5": "0"}},
	})
}

func TestSection4Integrity(t *testing.T) {
	violation := func(on, caseID, person, severity, impact string) func(b *book) {
		return add(on, &domain.ViolationRecorded{CaseID: caseID, Person: person, Severity: severity, Impact: impact, Summary: "违纪"})
	}
	handled := func(on, caseID string) func(b *book) {
		return add(on, &domain.CaseHandled{CaseID: caseID, Outcome: "已处分"})
	}
	ord, ser := domain.SeverityOrdinary, domain.SeveritySerious
	normal, severe := domain.ImpactNormal, domain.ImpactSevere
	runRuleCases(t, []ruleCase{
		{name: "4.1 no integrity activity", edit: dropAll(isType(domain.TypeIntegrityActivityHeld)), want: map[string]string{"4.1.integrity": "3"}},
		{name: "4.1 findings", edit: findings([3]string{"4.1", "integrity_shallow", "1.5"}, [3]string{"4.1", "integrity_culture_shallow", ""}),
			want: map[string]string{"4.1.integrity_shallow": "1.5", "4.1.integrity_culture_shallow": "2"}},
		{name: "4.2 case handled within the deadline", edit: edits(violation("2016-03-01", "c1", "张三", ord, normal), handled("2016-05-29", "c1"))},
		{name: "4.2 case handled on the 90th day", edit: edits(violation("2016-03-01", "c1", "张三", ord, normal), handled("2016-05-30", "c1"))},
		{name: "4.2 case handled on the 91st day", edit: edits(violation("2016-03-01", "c1", "张三", ord, normal), handled("2016-05-31", "c1")),
			want: map[string]string{"4.2.case_deadline": "1"}},
		{name: "4.2 case unhandled past the deadline", edit: violation("2016-03-01", "c1", "张三", ord, normal),
			want: map[string]string{"4.2.case_deadline": "1"}},
		{name: "4.2 two cases unhandled deduct once", edit: edits(violation("2016-03-01", "c1", "张三", ord, normal), violation("2016-04-01", "c2", "李四", ord, normal)),
			want: map[string]string{"4.2.case_deadline": "1"}},
		{name: "4.2 case unhandled the day before its deadline", asOf: "2016-05-29", edit: violation("2016-03-01", "c1", "张三", ord, normal)},
		{name: "4.2 case unhandled on its deadline day is judged (rev. 2)", asOf: "2016-05-30", edit: violation("2016-03-01", "c1", "张三", ord, normal),
			want: map[string]string{"4.2.case_deadline": "1"}},
		{name: "4.2 case unhandled, deadline after the year", edit: violation("2016-11-01", "c1", "张三", ord, normal)},
		{name: "4.2 a violation of another year", edit: violation("2015-03-01", "c1", "张三", ser, severe)},
		{name: "4.2 serious violation", edit: edits(violation("2016-03-01", "c1", "张三", ser, normal), handled("2016-04-01", "c1")),
			want: map[string]string{"4.2.serious": "1"}},
		{name: "4.2 two serious violations of one person count per case (rev. 2)", edit: edits(violation("2016-03-01", "c1", "张三", ser, normal), handled("2016-04-01", "c1"),
			violation("2016-05-01", "c2", "张三", ser, normal), handled("2016-06-01", "c2")),
			want: map[string]string{"4.2.serious": "2"}},
		{name: "4.2 serious violations of two people", edit: edits(violation("2016-03-01", "c1", "张三", ser, normal), handled("2016-04-01", "c1"),
			violation("2016-05-01", "c2", "李四", ser, normal), handled("2016-06-01", "c2")),
			want: map[string]string{"4.2.serious": "2"}},
		{name: "4.2 serious with severe impact vetoes", edit: edits(violation("2016-03-01", "c1", "张三", ser, severe), handled("2016-04-01", "c1")),
			want: map[string]string{"4.2.serious": "1"}, vetoes: []string{"V1"}, tier: domain.TierNonCompliant},
		{name: "4.2 severe impact after D", asOf: "2016-02-29", edit: edits(violation("2016-03-01", "c1", "张三", ser, severe), handled("2016-04-01", "c1"))},
		{name: "4.2 case mishandled", edit: findings([3]string{"4.2", "case_mishandled", ""}), want: map[string]string{"4.2.case_mishandled": "1"}},
	})
}

func TestSection5Systems(t *testing.T) {
	lecturerOf := func(quarterMonth int, member string) func(b *book) {
		return mutate(inMonth(quarterMonth, isMeeting(domain.MeetingPartyLecture)), func(p domain.Payload) { p.(*domain.MeetingHeld).LecturerID = member })
	}
	// m02 gives the lectures of Q1 and Q3; these hand them to m03.
	m02GivesNone := edits(lecturerOf(3, "m03"), lecturerOf(9, "m03"))
	activities := func(r domain.Recorded) bool {
		return r.Type == domain.TypeMeetingHeld || r.Type == domain.TypeStudySessionHeld
	}
	runRuleCases(t, []ruleCase{
		{name: "5.1 one review short", edit: dropN(1, isType(domain.TypePartyWorkReviewed)), want: map[string]string{"5.1.reviews": "1"}},
		{name: "5.1 no review", edit: dropAll(isType(domain.TypePartyWorkReviewed)), want: map[string]string{"5.1.reviews": "2"}},
		{name: "5.1 committee without affairs officer", kind: domain.KindCommittee,
			edit: add("2016-10-01", &domain.OfficerVacated{Role: domain.RoleAffairsOfficer, MemberID: "m04"}), want: map[string]string{"5.1.staffing": "1"}},
		{name: "5.1 committee with a 副书记 but no full-time deputy and no affairs officer (rev. 2)", kind: domain.KindCommittee,
			edit: edits(add("2016-10-01", &domain.OfficerVacated{Role: domain.RoleAffairsOfficer, MemberID: "m04"}),
				add("2016-10-01", &domain.OfficerVacated{Role: domain.RoleFulltimeDeputySecretary, MemberID: "m03"})),
			want: map[string]string{"5.1.staffing": "1"}},
		{name: "5.1 committee without any deputy and without affairs officer", kind: domain.KindCommittee,
			edit: edits(add("2016-10-01", &domain.OfficerVacated{Role: domain.RoleAffairsOfficer, MemberID: "m04"}),
				add("2016-10-01", &domain.OfficerVacated{Role: domain.RoleFulltimeDeputySecretary, MemberID: "m03"}),
				add("2016-10-01", &domain.OfficerVacated{Role: domain.RoleDeputySecretary, MemberID: "m02"})),
			want: map[string]string{"5.1.staffing": "2", "2.2.leadership": "2"}},
		{name: "5.1 a branch needs no affairs officer", edit: add("2016-10-01", &domain.OfficerVacated{Role: domain.RoleAffairsOfficer, MemberID: "m04"})},
		{name: "5.1 findings", edit: findings([3]string{"5.1", "no_funding", "1.5"}, [3]string{"5.1", "not_integrated", "2"}),
			want: map[string]string{"5.1.no_funding": "1.5", "5.1.not_integrated": "2"}},

		{name: "5.2 a month with one session", edit: dropN(1, inMonth(5, isType(domain.TypeStudySessionHeld))), want: map[string]string{"5.2.sessions": "0.5"}},
		{name: "5.2 a month with none", edit: dropAll(inMonth(5, isType(domain.TypeStudySessionHeld))), want: map[string]string{"5.2.sessions": "1"}},
		{name: "5.2 the open month is not judged", asOf: "2016-07-30", edit: dropAll(inMonth(7, isType(domain.TypeStudySessionHeld)))},
		{name: "5.2 no sessions at all", edit: dropAll(isType(domain.TypeStudySessionHeld)),
			want: map[string]string{"5.2.sessions": "12", "5.2.notes": "1"}, wantScore: map[string]string{"5.2": "0"}},
		{name: "5.2 one session without notes", edit: mutate(inMonth(4, isType(domain.TypeStudySessionHeld)), func(p domain.Payload) {
			p.(*domain.StudySessionHeld).NotesKept = false
		}), want: map[string]string{"5.2.notes": "1"}},
		{name: "5.2 session without notes after D", asOf: "2016-03-31", edit: mutate(inMonth(4, isType(domain.TypeStudySessionHeld)), func(p domain.Payload) {
			p.(*domain.StudySessionHeld).NotesKept = false
		})},

		{name: "5.3 committee: five committee meetings", kind: domain.KindCommittee, edit: dropN(1, isMeeting(domain.MeetingCommittee)),
			want: map[string]string{"5.3.committee": "0.5"}},
		{name: "5.3 a branch holds no committee meetings", edit: dropAll(isMeeting(domain.MeetingCommittee))},
		{name: "5.3 seven branch committee meetings", edit: dropN(1, isMeeting(domain.MeetingBranchCommittee)),
			want: map[string]string{"5.3.branch_committee": "0.5"}},
		{name: "5.3 general branch: seven", kind: domain.KindGeneralBranch, edit: dropN(1, isMeeting(domain.MeetingBranchCommittee)),
			want: map[string]string{"5.3.branch_committee": "0.5"}},
		{name: "5.3 a committee needs no branch committee meetings", kind: domain.KindCommittee, edit: dropAll(isMeeting(domain.MeetingBranchCommittee))},
		{name: "5.3 no general assembly", edit: dropAll(isMeeting(domain.MeetingGeneralAssembly)), want: map[string]string{"5.3.general_assembly": "2"}},
		{name: "5.3 a general branch needs no general assembly", kind: domain.KindGeneralBranch, edit: dropAll(isMeeting(domain.MeetingGeneralAssembly))},
		{name: "5.3 eleven group meetings", edit: dropN(1, isMeeting(domain.MeetingGroup)), want: map[string]string{"5.3.group": "0.5"}},
		{name: "5.3 one group democratic life meeting", edit: dropN(1, isMeeting(domain.MeetingGroupDemocraticLife)),
			want: map[string]string{"5.3.group": "0.5", "5.3.group_democratic_life": "0.5"}},
		{name: "5.3 no 党小组: no group rules", noGroups: true, edit: dropAll(isMeeting(domain.MeetingGroup))},
		{name: "5.3 no 党小组 and no group life at all", noGroups: true,
			edit: edits(dropAll(isMeeting(domain.MeetingGroup)), dropAll(isMeeting(domain.MeetingGroupDemocraticLife)))},
		{name: "5.3 a quarter without a party lecture", edit: dropAll(inMonth(6, isMeeting(domain.MeetingPartyLecture))),
			want: map[string]string{"5.3.party_lecture": "0.5"}},
		{name: "5.3 the lecture's quarter still open", asOf: "2016-06-29", edit: dropAll(inMonth(6, isMeeting(domain.MeetingPartyLecture)))},
		{name: "5.3 the lecture's quarter closed", asOf: "2016-06-30", edit: dropAll(inMonth(6, isMeeting(domain.MeetingPartyLecture))),
			want: map[string]string{"5.3.party_lecture": "0.5"}},
		{name: "5.3 a leader gave no lecture", edit: m02GivesNone, want: map[string]string{"5.3.leader_lecture": "1"}},
		{name: "5.3 leader rules wait for the year's end", asOf: "2016-11-30", edit: m02GivesNone},
		{name: "5.3 a leader named on the last day is covered", edit: add("2016-12-31", &domain.MemberDetailsChanged{MemberID: "m05", IsLeader: ptr(true)}),
			want: map[string]string{"5.3.leader_lecture": "1"}},
		{name: "5.3 a leader no more on the last day is not", edit: edits(m02GivesNone,
			add("2016-12-01", &domain.MemberDetailsChanged{MemberID: "m02", IsLeader: ptr(false)}))},
		{name: "5.3 a leader transferred out is not", edit: edits(m02GivesNone, add("2016-12-01", &domain.MemberTransferredOut{MemberID: "m02"}))},

		{name: "5.4 a leader at four activities", edit: edits(mutate(activities, withoutAttendee("m02")),
			mutate(func(r domain.Recorded) bool {
				return r.Type == domain.TypeStudySessionHeld && r.OccurredOn.Month <= 1 || isMeeting(domain.MeetingGroupDemocraticLife)(r)
			}, func(p domain.Payload) {
				switch e := p.(type) {
				case *domain.MeetingHeld:
					e.Attendees = append(e.Attendees, "m02")
				case *domain.StudySessionHeld:
					e.Attendees = append(e.Attendees, "m02")
				}
			})),
			want: map[string]string{"5.4.activities": "1"}},
		{name: "5.4 a leader at no group democratic life", edit: mutate(isMeeting(domain.MeetingGroupDemocraticLife), withoutAttendee("m02")),
			want: map[string]string{"5.4.group_democratic_life": "1"}},
		{name: "5.4 both leaders at no group democratic life deduct once", edit: edits(
			mutate(isMeeting(domain.MeetingGroupDemocraticLife), withoutAttendee("m02")),
			mutate(isMeeting(domain.MeetingGroupDemocraticLife), withoutAttendee("m01"))),
			want: map[string]string{"5.4.group_democratic_life": "1"}},
		{name: "5.4 without 党小组 no group democratic life is owed", noGroups: true,
			edit: mutate(isMeeting(domain.MeetingGroupDemocraticLife), withoutAttendee("m02"))},
		{name: "5.4 no democratic life report", edit: dropAll(isType(domain.TypeDemocraticLifeReported)), want: map[string]string{"5.4.report": "1"}},
		{name: "5.4 no administrative report", edit: dropAll(isType(domain.TypeAdministrativeReportGiven)),
			want: map[string]string{"5.4.administrative_report": "1"}},
		{name: "5.4 year open", asOf: "2016-11-30", edit: edits(dropAll(isType(domain.TypeDemocraticLifeReported)),
			mutate(activities, withoutAttendee("m02")))},

		{name: "5.5 one system missing", edit: dropAll(category(domain.TypeSystemAdopted, domain.SystemOrgLife)), want: map[string]string{"5.5.systems": "1"}},
		{name: "5.5 every system missing deducts once", edit: dropAll(isType(domain.TypeSystemAdopted)), want: map[string]string{"5.5.systems": "1"}},
		{name: "5.5 adopted after D", asOf: "2016-07-31", edit: edits(dropAll(category(domain.TypeSystemAdopted, domain.SystemOrgLife)),
			add("2016-09-01", &domain.SystemAdopted{System: domain.SystemOrgLife, Title: "组织生活制度"})),
			want: map[string]string{"5.5.systems": "1"}},
		{name: "5.5 adopted during the year, judged at its end", edit: edits(dropAll(category(domain.TypeSystemAdopted, domain.SystemOrgLife)),
			add("2016-09-01", &domain.SystemAdopted{System: domain.SystemOrgLife, Title: "组织生活制度"}))},
		{name: "5.5 capped", edit: edits(dropAll(isType(domain.TypeSystemAdopted)), findings([3]string{"5.5", "system_not_applied", ""})),
			want: map[string]string{"5.5.systems": "1", "5.5.system_not_applied": "1"}, wantScore: map[string]string{"5.5": "0"}},
	})
}
