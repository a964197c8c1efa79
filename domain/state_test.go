package domain_test

import (
	"strings"
	"testing"

	"partyledger/domain"
)

// entry parses a journal line for state tests.
func entry(t *testing.T, line string) domain.Entry {
	t.Helper()
	e, err := domain.ParseJournalLine([]byte(line))
	if err != nil {
		t.Fatalf("ParseJournalLine(%s): %v", line, err)
	}
	return e
}

func testEnv() *domain.CheckEnv {
	sched := map[string]*domain.RequiredEventScheduled{
		"s-all": {ScheduledEventID: "s-all", Kind: "meeting", Title: "全体会议", Targets: []string{"*"}},
		"s-b":   {ScheduledEventID: "s-b", Kind: "training", Title: "培训", Targets: []string{"LY-0002"}},
	}
	return &domain.CheckEnv{
		Today:     domain.MustDate("2017-03-01"),
		OrgKnown:  func(code string) bool { return code == "LY-0001" || code == "LY-0002" },
		Scheduled: func(id string) *domain.RequiredEventScheduled { return sched[id] },
		Rulebook: func(year int) *domain.Rulebook {
			if year == 2016 {
				return domain.Builtin2016()
			}
			return nil
		},
	}
}

// orgWith folds lines into a fresh state, failing on any refusal.
func orgWith(t *testing.T, lines ...string) *domain.OrgState {
	t.Helper()
	st := domain.NewOrgState()
	env := testEnv()
	for i, l := range lines {
		e := entry(t, l)
		if err := st.Check(&e, env); err != nil {
			t.Fatalf("setup line %d refused: %v", i, err)
		}
		id := e.ID
		if id == "" {
			id = "00000000-0000-4000-8000-" + strings.Repeat("0", 11) + string(rune('a'+i))
		}
		st.Apply(id, st.Revision+1, &e)
	}
	return st
}

const (
	regLine    = `{"org":"LY-0001","type":"OrganizationRegistered","occurred_on":"2016-01-04","data":{"code":"LY-0001","name":"市财政局第一党支部","kind":"branch","has_groups":true}}`
	joinM1     = `{"id":"11111111-1111-4111-8111-111111111111","org":"LY-0001","type":"MemberJoined","occurred_on":"2016-01-04","data":{"member_id":"m1","name":"张三","is_leader":true,"monthly_income_fen":450000}}`
	joinM2     = `{"org":"LY-0001","type":"MemberJoined","occurred_on":"2016-01-04","data":{"member_id":"m2","name":"李四","is_leader":false,"monthly_income_fen":300000}}`
	violation  = `{"id":"22222222-2222-4222-8222-222222222222","org":"LY-0001","type":"ViolationRecorded","occurred_on":"2016-05-04","data":{"case_id":"c1","person":"m2","severity":"ordinary","impact":"normal","summary":"迟到早退"}}`
	transferM2 = `{"org":"LY-0001","type":"MemberTransferredOut","occurred_on":"2016-06-01","data":{"member_id":"m2"}}`
)

func TestOrgStateCheck(t *testing.T) {
	base := orgWith(t, regLine, joinM1, joinM2, violation)
	gone := orgWith(t, regLine, joinM1, joinM2, transferM2)
	retracted := orgWith(t, regLine, joinM1, joinM2,
		`{"org":"LY-0001","type":"EventRetracted","occurred_on":"2016-02-01","data":{"event_id":"11111111-1111-4111-8111-111111111111","reason":"录入错误"}}`)
	cases := []struct {
		name  string
		st    *domain.OrgState
		line  string
		field string // "" means: accepted
		want  string
	}{
		{"meeting with members", base, `{"org":"LY-0001","type":"MeetingHeld","occurred_on":"2016-03-01","data":{"kind":"party_lecture","topic":"党课","attendees":["m1","m2"],"lecturer_id":"m1"}}`, "", ""},
		{"attendee not a member", base, `{"org":"LY-0001","type":"MeetingHeld","occurred_on":"2016-03-01","data":{"kind":"group","topic":"t","attendees":["m1","m9"]}}`, "data.attendees[1]", "does not belong"},
		{"lecturer not a member", base, `{"org":"LY-0001","type":"MeetingHeld","occurred_on":"2016-03-01","data":{"kind":"party_lecture","topic":"t","attendees":[],"lecturer_id":"m9"}}`, "data.lecturer_id", "does not belong"},
		{"dues of a stranger", base, `{"org":"LY-0001","type":"DuesPaid","occurred_on":"2016-03-01","data":{"member_id":"m9","month":"2016-02","amount_fen":100}}`, "data.member_id", "does not belong"},
		{"dues month far away", base, `{"org":"LY-0001","type":"DuesPaid","occurred_on":"2016-03-01","data":{"member_id":"m1","month":"2019-02","amount_fen":100}}`, "data.month", "more than a year"},
		{"case handled", base, `{"org":"LY-0001","type":"CaseHandled","occurred_on":"2016-06-01","data":{"case_id":"c1","outcome":"警告"}}`, "", ""},
		{"case missing", base, `{"org":"LY-0001","type":"CaseHandled","occurred_on":"2016-06-01","data":{"case_id":"c9","outcome":"警告"}}`, "data.case_id", "no case"},
		{"case twice", base, violation, "data.case_id", "already exists"},
		{"finding in range", base, `{"org":"LY-0001","type":"FindingRecorded","occurred_on":"2017-01-05","data":{"year":2016,"item":"3.2","finding":"low_satisfaction","points":2.5,"reason":"满意率低"}}`, "", ""},
		{"finding out of range", base, `{"org":"LY-0001","type":"FindingRecorded","occurred_on":"2017-01-05","data":{"year":2016,"item":"3.2","finding":"low_satisfaction","points":4,"reason":"满意率低"}}`, "data.points", ""},
		{"finding code the item lacks", base, `{"org":"LY-0001","type":"FindingRecorded","occurred_on":"2017-01-05","data":{"year":2016,"item":"3.2","finding":"disunity","reason":"r"}}`, "data.finding", ""},
		{"finding year without rulebook", base, `{"org":"LY-0001","type":"FindingRecorded","occurred_on":"2017-01-05","data":{"year":2015,"item":"3.2","finding":"low_satisfaction","points":2,"reason":"r"}}`, "data.year", "no rulebook"},
		{"future date", base, `{"org":"LY-0001","type":"WorkInfoSubmitted","occurred_on":"2017-03-02","data":{"title":"信息"}}`, "occurred_on", "future"},
		{"attendance targeted to all", base, `{"org":"LY-0001","type":"AttendanceRecorded","occurred_on":"2016-04-01","data":{"scheduled_event_id":"s-all"}}`, "", ""},
		{"attendance not targeted", base, `{"org":"LY-0001","type":"AttendanceRecorded","occurred_on":"2016-04-01","data":{"scheduled_event_id":"s-b"}}`, "data.scheduled_event_id", "does not target"},
		{"attendance unknown", base, `{"org":"LY-0001","type":"AttendanceRecorded","occurred_on":"2016-04-01","data":{"scheduled_event_id":"s-x"}}`, "data.scheduled_event_id", "no scheduled event"},
		{"inspect unknown org", base, `{"org":"LY-0001","type":"SubordinateInspected","occurred_on":"2016-04-01","data":{"subordinate_code":"LY-0099"}}`, "data.subordinate_code", "not registered"},
		{"inspect self", base, `{"org":"LY-0001","type":"SubordinateInspected","occurred_on":"2016-04-01","data":{"subordinate_code":"LY-0001"}}`, "data.subordinate_code", "itself"},
		{"register twice", base, regLine, "org", "already registered"},
		{"member joins twice", base, joinM2, "data.member_id", "already belongs"},
		{"appoint transferred member", gone, `{"org":"LY-0001","type":"OfficerAppointed","occurred_on":"2016-07-01","data":{"role":"secretary","member_id":"m2"}}`, "data.member_id", "transferred out"},
		{"past attendance of transferred member", gone, `{"org":"LY-0001","type":"StudySessionHeld","occurred_on":"2016-03-01","data":{"topic":"学习","attendees":["m2"],"notes_kept":true}}`, "", ""},
		{"vacate an office not held", base, `{"org":"LY-0001","type":"OfficerVacated","occurred_on":"2016-07-01","data":{"role":"secretary","member_id":"m1"}}`, "data.member_id", "does not hold"},
		{"member of a retracted join", retracted, `{"org":"LY-0001","type":"MemberTransferredOut","occurred_on":"2016-07-01","data":{"member_id":"m1"}}`, "data.member_id", "does not belong"},
		{"retract twice", retracted, `{"org":"LY-0001","type":"EventRetracted","occurred_on":"2016-02-01","data":{"event_id":"11111111-1111-4111-8111-111111111111","reason":"again"}}`, "data.event_id", "already retracted"},
		{"retract unknown event", base, `{"org":"LY-0001","type":"EventRetracted","occurred_on":"2016-02-01","data":{"event_id":"99999999-1111-4111-8111-111111111111","reason":"r"}}`, "data.event_id", "no event"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := entry(t, c.line)
			err := c.st.Check(&e, testEnv())
			if c.field == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			for _, fe := range domain.FieldErrors(err) {
				if fe.Field == c.field && strings.Contains(fe.Reason, c.want) {
					return
				}
			}
			t.Fatalf("got %v; want field %q with reason containing %q", err, c.field, c.want)
		})
	}
	t.Run("unregistered org", func(t *testing.T) {
		e := entry(t, joinM1)
		err := domain.NewOrgState().Check(&e, testEnv())
		if fe := domain.FieldErrors(err); len(fe) == 0 || fe[0].Field != "org" {
			t.Fatalf("got %v, want an org error", err)
		}
	})
	t.Run("parent must be registered", func(t *testing.T) {
		e := entry(t, `{"org":"LY-0003","type":"OrganizationRegistered","occurred_on":"2016-01-04","data":{"code":"LY-0003","name":"n","kind":"branch","parent_code":"LY-0077","has_groups":false}}`)
		err := domain.NewOrgState().Check(&e, testEnv())
		if fe := domain.FieldErrors(err); len(fe) == 0 || fe[0].Field != "data.parent_code" {
			t.Fatalf("got %v, want a data.parent_code error", err)
		}
	})
}

func TestScheduleCheck(t *testing.T) {
	s := domain.NewSchedule()
	env := testEnv()
	e := entry(t, `{"type":"RequiredEventScheduled","occurred_on":"2016-05-01","data":{"scheduled_event_id":"s1","kind":"training","title":"培训","targets":["LY-0001"]}}`)
	if err := s.Check(&e, env); err != nil {
		t.Fatal(err)
	}
	s.Apply("a", 0, &e)
	if err := s.Check(&e, env); err == nil || !strings.Contains(err.Error(), "already scheduled") {
		t.Fatalf("second schedule of s1: %v", err)
	}
	bad := entry(t, `{"type":"RequiredEventScheduled","occurred_on":"2016-05-01","data":{"scheduled_event_id":"s2","kind":"training","title":"培训","targets":["LY-0001","LY-0404"]}}`)
	err := s.Check(&bad, env)
	if fe := domain.FieldErrors(err); len(fe) != 1 || fe[0].Field != "data.targets[1]" {
		t.Fatalf("got %v, want data.targets[1] not registered", err)
	}
}
