package projections_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"partyledger/domain"
	"partyledger/projections"
)

func TestKnownAt(t *testing.T) {
	retractAssembly := func(b *book, recorded time.Time) {
		target := b.find(t, isMeeting(domain.MeetingGeneralAssembly))
		b.addAt("2017-02-01", recorded, &domain.EventRetracted{EventID: target.ID, Reason: "会议记录有误"})
	}
	t.Run("retraction recorded after K does not count", func(t *testing.T) {
		b := perfect(domain.KindBranch, true)
		retractAssembly(b, at("2017-02-01"))
		wantDeductions(t, b.scoreAt(t, "", at("2017-01-31")), nil)
	})
	t.Run("retraction recorded at or before K counts", func(t *testing.T) {
		b := perfect(domain.KindBranch, true)
		retractAssembly(b, at("2017-02-01"))
		wantDeductions(t, b.scoreAt(t, "", at("2017-02-01")), map[string]string{"5.3.general_assembly": "0.5"})
		wantDeductions(t, b.scoreAt(t, "", at("2017-03-01")), map[string]string{"5.3.general_assembly": "0.5"})
	})
	t.Run("a retraction acts by its recorded_at whatever its occurred_on", func(t *testing.T) {
		b := perfect(domain.KindBranch, true)
		target := b.find(t, isMeeting(domain.MeetingGeneralAssembly))
		// Occurred in 2015, before D, and recorded in 2017: counts only from 2017 on.
		b.addAt("2015-06-01", at("2017-02-01"), &domain.EventRetracted{EventID: target.ID, Reason: "补录撤回"})
		wantDeductions(t, b.scoreAt(t, "", at("2017-01-31")), nil)
		wantDeductions(t, b.scoreAt(t, "2016-12-31", at("2017-02-02")), map[string]string{"5.3.general_assembly": "0.5"})
	})
	t.Run("a correction: retraction plus a new event", func(t *testing.T) {
		b := perfect(domain.KindBranch, true)
		retractAssembly(b, at("2017-02-01"))
		b.addAt("2016-10-10", at("2017-02-01").Add(time.Second), &domain.MeetingHeld{Kind: domain.MeetingGeneralAssembly, Topic: "更正", Attendees: []string{"m01"}})
		wantDeductions(t, b.scoreAt(t, "", at("2017-03-01")), nil)
	})
	t.Run("an event recorded after K does not count", func(t *testing.T) {
		b := perfect(domain.KindBranch, true)
		b.drop(1, isType(domain.TypeResearchReportSubmitted))
		b.addAt("2016-09-09", at("2017-01-20"), &domain.ResearchReportSubmitted{Title: "补录的调研报告"})
		wantDeductions(t, b.scoreAt(t, "", at("2017-01-19")), map[string]string{"3.3.research": "1"})
		wantDeductions(t, b.scoreAt(t, "", at("2017-01-20")), nil)
	})
	t.Run("importing the past gives the live score", func(t *testing.T) {
		live := workedExample(t)
		imported := workedExample(t)
		for i := range imported.evs {
			imported.evs[i].RecordedAt = time.Date(2017, 3, 1, 9, 0, i, 0, domain.CST)
		}
		a, b := live.score(t, ""), imported.score(t, "")
		if a.Online != b.Online || a.Tier != b.Tier || !slices.Equal(vetoCodes(a), vetoCodes(b)) {
			t.Errorf("imported %s %s %v, live %s %s %v", b.Online, b.Tier, vetoCodes(b), a.Online, a.Tier, vetoCodes(a))
		}
	})
	t.Run("the registration itself is known only from its recorded_at", func(t *testing.T) {
		b := perfect(domain.KindBranch, true)
		q := projections.Query{Year: 2016, KnownAt: at("2014-01-01")}
		_, err := projections.Score(b.facts(t), domain.Builtin2016(), q)
		if !errors.Is(err, projections.ErrNotRegistered) {
			t.Errorf("err = %v, want ErrNotRegistered", err)
		}
	})
}

func TestAssessmentEvents(t *testing.T) {
	t.Run("findings recorded after the year count at the year's end only (rev. 2)", func(t *testing.T) {
		b := perfect(domain.KindBranch, true)
		b.finding("3.2", "low_satisfaction", "2")
		wantDeductions(t, b.score(t, ""), map[string]string{"3.2.low_satisfaction": "2"})
		wantDeductions(t, b.score(t, "2016-12-31"), map[string]string{"3.2.low_satisfaction": "2"})
		wantDeductions(t, b.score(t, "2016-12-30"), nil)
		wantDeductions(t, b.score(t, "2016-07-31"), nil)
	})
	t.Run("a finding counts from its recorded_at", func(t *testing.T) {
		b := perfect(domain.KindBranch, true)
		b.finding("3.2", "low_satisfaction", "2")
		wantDeductions(t, b.scoreAt(t, "", at("2017-01-09")), nil)
	})
	t.Run("a finding of another year does not count", func(t *testing.T) {
		b := perfect(domain.KindBranch, true)
		b.addAt("2017-01-10", at("2017-01-10"), &domain.FindingRecorded{Year: 2015, Item: "3.2", Finding: "low_satisfaction", Points: ptr(pts("2")), Reason: "去年"})
		wantDeductions(t, b.score(t, ""), nil)
	})
	t.Run("a retracted finding does not count", func(t *testing.T) {
		b := perfect(domain.KindBranch, true)
		id := b.finding("3.2", "low_satisfaction", "2")
		b.addAt("2017-01-11", at("2017-01-11"), &domain.EventRetracted{EventID: id, Reason: "复核撤销"})
		wantDeductions(t, b.score(t, ""), nil)
	})
	t.Run("the latest of repeated findings counts", func(t *testing.T) {
		b := perfect(domain.KindBranch, true)
		first := b.finding("3.2", "low_satisfaction", "3")
		b.addAt("2017-01-12", at("2017-01-12"), &domain.FindingRecorded{Year: 2016, Item: "3.2", Finding: "low_satisfaction", Points: ptr(pts("1")), Reason: "复核"})
		sc := b.score(t, "")
		wantDeductions(t, sc, map[string]string{"3.2.low_satisfaction": "1"})
		if ig := item(t, sc, "3.2").Ignored; len(ig) != 1 || !slices.Equal(ig[0].Events, []string{first}) {
			t.Errorf("ignored = %+v, want the superseded finding", ig)
		}
	})
	t.Run("a finding this rulebook does not allow is listed, not counted", func(t *testing.T) {
		b := perfect(domain.KindBranch, true)
		bad := b.finding("3.2", "low_satisfaction", "4")
		unknown := b.finding("9.9", "whatever", "")
		sc := b.score(t, "")
		wantDeductions(t, sc, nil)
		if ig := item(t, sc, "3.2").Ignored; len(ig) != 1 || ig[0].Events[0] != bad {
			t.Errorf("3.2 ignored = %+v", ig)
		}
		if len(sc.Ignored) != 1 || sc.Ignored[0].Events[0] != unknown {
			t.Errorf("ignored = %+v", sc.Ignored)
		}
	})
	t.Run("the group score recorded last counts", func(t *testing.T) {
		b := perfect(domain.KindBranch, true)
		b.addAt("2017-01-15", at("2017-01-15"), &domain.GroupAssessmentRecorded{Year: 2016, Score: pts("80")})
		last := b.addAt("2017-01-16", at("2017-01-16"), &domain.GroupAssessmentRecorded{Year: 2016, Score: pts("70")})
		sc := b.score(t, "")
		if sc.Group == nil || *sc.Group != pts("70") || sc.GroupEvent != last {
			t.Errorf("group = %v (%s), want 70", sc.Group, sc.GroupEvent)
		}
		if got, want := sc.Final, pts("85"); got != want {
			t.Errorf("final = %s, want %s", got, want)
		}
		b.addAt("2017-01-17", at("2017-01-17"), &domain.EventRetracted{EventID: last, Reason: "录入错误"})
		if sc := b.score(t, ""); sc.Group == nil || *sc.Group != pts("80") {
			t.Errorf("after retraction group = %v, want 80", sc.Group)
		}
		if sc := b.scoreAt(t, "", at("2017-01-15")); sc.Group == nil || *sc.Group != pts("80") {
			t.Errorf("known at 01-15 group = %v, want 80", sc.Group)
		}
	})
	t.Run("a group score of another year does not count", func(t *testing.T) {
		b := perfect(domain.KindBranch, true)
		b.addAt("2016-01-15", at("2016-01-15"), &domain.GroupAssessmentRecorded{Year: 2015, Score: pts("80")})
		if sc := b.score(t, ""); sc.Group != nil || !sc.Provisional {
			t.Errorf("group = %v, provisional %v", sc.Group, sc.Provisional)
		}
	})
}

func TestFinalAndTiers(t *testing.T) {
	for _, tc := range []struct {
		name         string
		deduct       func(b *book) // from a perfect branch
		group        string        // "" none
		final        string
		byScore, got string
		provisional  bool
	}{
		{name: "provisional: final is online", final: "100", byScore: domain.TierAdvanced, got: domain.TierAdvanced, provisional: true},
		{name: "89.995 rounds half up to 90", group: "79.99", final: "90", byScore: domain.TierAdvanced, got: domain.TierAdvanced},
		{name: "89.99 is compliant", group: "79.98", final: "89.99", byScore: domain.TierCompliant, got: domain.TierCompliant},
		{name: "60 is compliant", group: "20", final: "60", byScore: domain.TierCompliant, got: domain.TierCompliant},
		{name: "59.995 rounds to 60", group: "19.99", final: "60", byScore: domain.TierCompliant, got: domain.TierCompliant},
		{name: "59.99 is not", group: "19.98", final: "59.99", byScore: domain.TierNonCompliant, got: domain.TierNonCompliant},
		{name: "a veto caps a provisional tier too", deduct: dropAll(duesOf("m03", "2016-05")),
			final: "97", byScore: domain.TierAdvanced, got: domain.TierCompliant, provisional: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := perfect(domain.KindBranch, true)
			if tc.deduct != nil {
				tc.deduct(b)
			}
			if tc.group != "" {
				b.addAt("2017-01-15", at("2017-01-15"), &domain.GroupAssessmentRecorded{Year: 2016, Score: pts(tc.group)})
			}
			sc := b.score(t, "")
			if sc.Final != pts(tc.final) || sc.TierByScore != tc.byScore || sc.Tier != tc.got || sc.Provisional != tc.provisional {
				t.Errorf("final %s tier_by_score %s tier %s provisional %v, want %s %s %s %v",
					sc.Final, sc.TierByScore, sc.Tier, sc.Provisional, tc.final, tc.byScore, tc.got, tc.provisional)
			}
			if tc.group == "" {
				raw, _ := json.Marshal(sc)
				if !bytes.Contains(raw, []byte(`"group":null`)) {
					t.Error(`provisional scorecard lacks "group":null`)
				}
			}
		})
	}
}

func TestAsOf(t *testing.T) {
	t.Run("D in July does not penalise what December may still bring", func(t *testing.T) {
		b := perfect(domain.KindBranch, true)
		b.drop(-1, after("2016-07-31", anyEvent))
		sc := b.score(t, "2016-07-31")
		wantDeductions(t, sc, nil)
		if sc.Online != pts("100") {
			t.Errorf("online = %s", sc.Online)
		}
		// The same book at the year's end owes the rest of the year.
		if end := b.score(t, ""); end.Online >= pts("90") {
			t.Errorf("year-end online = %s, want the missing half year deducted", end.Online)
		}
	})
	t.Run("D after the year is its last day", func(t *testing.T) {
		b := workedExample(t)
		late, end := b.score(t, "2017-05-01"), b.score(t, "")
		if late.AsOf != domain.MustDate("2016-12-31") {
			t.Errorf("as_of = %s", late.AsOf)
		}
		x, _ := json.Marshal(late)
		y, _ := json.Marshal(end)
		if !bytes.Equal(x, y) {
			t.Error("a D after the year scores differently from December 31")
		}
	})
	t.Run("events after D do not count", func(t *testing.T) {
		b := perfect(domain.KindBranch, true)
		// Only one May session by May 31; the second is dated June 1.
		s := b.find(t, inMonth(5, isType(domain.TypeStudySessionHeld)))
		b.drop(1, inMonth(5, isType(domain.TypeStudySessionHeld)))
		b.add("2016-06-01", s.Payload)
		wantDeductions(t, b.score(t, "2016-05-31"), map[string]string{"5.2.sessions": "0.5"})
	})
}

func TestSchedule(t *testing.T) {
	t.Run("a scheduled event known after K is not owed", func(t *testing.T) {
		b := perfect(domain.KindBranch, true)
		b.drop(-1, isType(domain.TypeAttendanceRecorded))
		// S1 is recorded at 2016-04-15 09:00 CST, S2 at 2016-09-10 09:00.
		sc := b.scoreAt(t, "2016-12-31", time.Date(2016, 9, 10, 8, 0, 0, 0, domain.CST))
		if got := deduction(t, sc, "2.7.attendance").Points; got != pts("1") {
			t.Errorf("2.7 = %s, want 1 (S1 only)", got)
		}
	})
	t.Run("no schedule, nothing owed", func(t *testing.T) {
		b := perfect(domain.KindBranch, true)
		b.sched = nil
		wantDeductions(t, b.score(t, ""), nil)
	})
	t.Run("a missed meeting cites the committee's event", func(t *testing.T) {
		b := perfect(domain.KindBranch, true)
		b.drop(-1, isType(domain.TypeAttendanceRecorded))
		got := deduction(t, b.score(t, ""), "2.7.attendance").Events
		want := []string{b.sched[0].ID, b.sched[1].ID}
		if !slices.Equal(got, want) {
			t.Errorf("events = %v, want %v", got, want)
		}
	})
	t.Run("only committee events", func(t *testing.T) {
		s := projections.NewSchedule()
		b := perfect(domain.KindBranch, true)
		if err := s.Apply(b.evs[1]); !errors.Is(err, projections.ErrWrongStream) {
			t.Errorf("err = %v, want ErrWrongStream", err)
		}
	})
}

func TestFactsApply(t *testing.T) {
	rec := func(id, typ string, p domain.Payload) domain.Recorded {
		return domain.Recorded{ID: id, Type: typ, OccurredOn: domain.MustDate("2016-03-01"), RecordedAt: at("2016-03-01"), Payload: p}
	}
	reg := rec("00000000-0000-4000-8000-000000000001", domain.TypeOrganizationRegistered,
		&domain.OrganizationRegistered{Code: testOrg, Name: "支部", Kind: domain.KindBranch})
	for _, tc := range []struct {
		name string
		r    domain.Recorded
		is   error
	}{
		{name: "no payload", r: rec("00000000-0000-4000-8000-000000000002", domain.TypeMeetingHeld, nil)},
		{name: "no occurred_on", r: domain.Recorded{ID: "x", Payload: &domain.InnovationRecorded{Title: "x"}}},
		{name: "another organisation's registration", r: rec("x", domain.TypeOrganizationRegistered,
			&domain.OrganizationRegistered{Code: "LY-0002", Name: "别的", Kind: domain.KindBranch}), is: projections.ErrWrongStream},
		{name: "a committee event", r: rec("x", domain.TypeRequiredEventScheduled,
			&domain.RequiredEventScheduled{ScheduledEventID: "S", Kind: "meeting", Title: "t", Targets: []string{"*"}}), is: projections.ErrWrongStream},
		{name: "a rulebook event", r: rec("x", domain.TypeRulebookPublished, &domain.RulebookPublished{}), is: projections.ErrWrongStream},
		{name: "a retraction of an unknown event", r: rec("x", domain.TypeEventRetracted,
			&domain.EventRetracted{EventID: "00000000-0000-4000-8000-0000000000ff", Reason: "r"})},
		{name: "a malformed month", r: rec("x", domain.TypeDuesPaid, &domain.DuesPaid{MemberID: "m", Month: "2016-13", AmountFen: 1})},
		{name: "an unknown meeting kind", r: rec("x", domain.TypeMeetingHeld, &domain.MeetingHeld{Kind: "party", Topic: "t"})},
		{name: "another stream", r: domain.Recorded{ID: "x", Stream: "org-other", OccurredOn: domain.MustDate("2016-03-01"),
			Payload: &domain.InnovationRecorded{Title: "x"}}, is: projections.ErrWrongStream},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := projections.NewFacts(testOrg)
			first := reg
			first.Stream = "org-" + testOrg
			if err := f.Apply(first); err != nil {
				t.Fatal(err)
			}
			err := f.Apply(tc.r)
			if err == nil {
				t.Fatal("Apply accepted it")
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("err = %v, want %v", err, tc.is)
			}
			if !strings.HasPrefix(err.Error(), "projections: ") {
				t.Errorf("err = %q lacks the package prefix", err)
			}
			if f.Len() != 1 {
				t.Errorf("Len = %d after a refused event, want 1", f.Len())
			}
		})
	}
	t.Run("ids that are not UUIDs are kept verbatim", func(t *testing.T) {
		b := perfect(domain.KindBranch, true)
		b.drop(-1, isType(domain.TypeResearchReportSubmitted))
		for i := range b.evs {
			if b.evs[i].Type == domain.TypeMeetingHeld {
				b.evs[i].ID = "legacy-" + b.evs[i].ID[24:]
			}
		}
		b.drop(1, isMeeting(domain.MeetingGeneralAssembly))
		d := deduction(t, b.score(t, ""), "5.3.general_assembly")
		for _, id := range d.Events {
			if !strings.HasPrefix(id, "legacy-") {
				t.Errorf("event id %q, want the legacy id", id)
			}
		}
		target := b.find(t, isMeeting(domain.MeetingGeneralAssembly))
		b.add("2016-12-30", &domain.EventRetracted{EventID: target.ID, Reason: "x"})
		wantDeductions(t, b.score(t, ""), map[string]string{"5.3.general_assembly": "1", "3.3.research": "1"})
	})
	t.Run("upper-case UUIDs are found by retractions", func(t *testing.T) {
		b := perfect(domain.KindBranch, true)
		target := b.find(t, isMeeting(domain.MeetingGeneralAssembly))
		b.add("2016-12-30", &domain.EventRetracted{EventID: strings.ToUpper(target.ID), Reason: "x"})
		wantDeductions(t, b.score(t, ""), map[string]string{"5.3.general_assembly": "0.5"})
	})
}

func TestQueryErrors(t *testing.T) {
	f := perfect(domain.KindBranch, true).facts(t)
	rb := domain.Builtin2016()
	for _, tc := range []struct {
		name string
		q    projections.Query
	}{
		{"no known_at", projections.Query{Year: 2016}},
		{"year out of range", projections.Query{Year: 1999, KnownAt: testKnownAt}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := projections.Score(f, rb, tc.q); !errors.Is(err, projections.ErrBadQuery) {
				t.Errorf("err = %v, want ErrBadQuery", err)
			}
		})
	}
	t.Run("invalid rulebook", func(t *testing.T) {
		bad := rb.Clone()
		bad.Items[0].Value = 0
		if _, err := projections.Score(f, bad, projections.Query{Year: 2016, KnownAt: testKnownAt}); err == nil {
			t.Error("scored under an invalid rulebook")
		}
	})
	t.Run("nil rulebook", func(t *testing.T) {
		if _, err := projections.Score(f, nil, projections.Query{Year: 2016, KnownAt: testKnownAt}); err == nil {
			t.Error("scored without a rulebook")
		}
	})
}
