package projections_test

import (
	"strings"
	"testing"
	"time"

	"partyledger/domain"
	"partyledger/projections"
)

// todo lists b's to-do as of asOf, known at the evening of asOf.
func (b *book) todo(t testing.TB, asOf string) *projections.TodoList {
	t.Helper()
	d := domain.MustDate(asOf)
	l, err := projections.Todo(b.facts(t), domain.Builtin2016(), projections.Query{AsOf: d, KnownAt: at(asOf).Add(time.Hour),
		Schedule: b.schedules(t)})
	if err != nil {
		t.Fatalf("Todo: %v", err)
	}
	return l
}

func todoOf(l *projections.TodoList, pred func(projections.TodoItem) bool) []projections.TodoItem {
	var out []projections.TodoItem
	for _, it := range l.Items {
		if pred(it) {
			out = append(out, it)
		}
	}
	return out
}

func byRule(rule string) func(projections.TodoItem) bool {
	return func(it projections.TodoItem) bool { return it.Rule == rule }
}

// keep returns b with only the events that occurred on or before date.
func (b *book) upTo(date string) *book {
	c := *b
	c.evs = nil
	d := domain.MustDate(date)
	for _, r := range b.evs {
		if !r.OccurredOn.After(d) {
			c.evs = append(c.evs, r)
		}
	}
	c.sched = nil
	for _, r := range b.sched {
		if !r.OccurredOn.After(d) {
			c.sched = append(c.sched, r)
		}
	}
	return &c
}

func TestTodo(t *testing.T) {
	// The perfect organisation on 2016-09-13: September has had one study
	// session (the 5th), the quarter's party lecture comes on the 15th,
	// dues are paid on the 10th.
	b := perfect(domain.KindBranch, true).upTo("2016-09-13")
	l := b.todo(t, "2016-09-13")
	t.Run("this month's study sessions, with counts and the form", func(t *testing.T) {
		got := todoOf(l, byRule("5.2.sessions"))
		if len(got) != 1 {
			t.Fatalf("5.2.sessions: %+v", got)
		}
		it := got[0]
		if it.Have != 1 || it.Need != 2 || it.Scope != projections.ScopeMonth || it.Period != "2016-09" || it.Type != domain.TypeStudySessionHeld {
			t.Errorf("%+v", it)
		}
		if it.Due != domain.MustDate("2016-09-30") || it.Overdue {
			t.Errorf("due %s overdue %v", it.Due, it.Overdue)
		}
	})
	t.Run("the quarter's party lecture, with the meeting kind", func(t *testing.T) {
		got := todoOf(l, byRule("5.3.party_lecture"))
		if len(got) != 1 || got[0].Have != 0 || got[0].Need != 1 || got[0].Fields["kind"] != domain.MeetingPartyLecture || got[0].Scope != projections.ScopeQuarter {
			t.Fatalf("%+v", got)
		}
	})
	t.Run("the half's self-inspection names its half", func(t *testing.T) {
		got := todoOf(l, byRule("2.6.self_inspection"))
		if len(got) != 1 || got[0].Fields["half"] != "2016-H2" || got[0].Type != domain.TypeSelfInspectionCompleted {
			t.Fatalf("%+v", got)
		}
	})
	t.Run("dues: paid on the 10th, nothing owed; the remittance is", func(t *testing.T) {
		if got := todoOf(l, func(it projections.TodoItem) bool { return it.Kind == projections.TodoDues }); len(got) != 0 {
			t.Errorf("dues: %+v", got)
		}
		got := todoOf(l, func(it projections.TodoItem) bool { return it.Kind == projections.TodoRemittance })
		if len(got) != 1 || got[0].Fields["quarter"] != "2016-Q3" {
			t.Errorf("remittance: %+v", got)
		}
	})
	t.Run("who has not paid this month, with the amount due", func(t *testing.T) {
		early := perfect(domain.KindBranch, true).upTo("2016-09-08")
		got := todoOf(early.todo(t, "2016-09-08"), func(it projections.TodoItem) bool { return it.Kind == projections.TodoDues })
		if len(got) != 1 || len(got[0].Members) != len(model) || got[0].Fields["month"] != "2016-09" {
			t.Fatalf("%+v", got)
		}
		m := got[0].Members[0]
		if m.MemberID != "m01" || m.DueFen != domain.Builtin2016().Dues.Expected(500000) || m.PaidFen != 0 || m.Name != "党员m01" {
			t.Errorf("%+v", m)
		}
	})
	t.Run("the list shrinks as the organisation records what it names", func(t *testing.T) {
		before := len(l.Items)
		b.add("2016-09-13", &domain.StudySessionHeld{Topic: "补一次学习", Attendees: memberIDs(), NotesKept: true})
		after := b.todo(t, "2016-09-13")
		if len(after.Items) != before-1 || len(todoOf(after, byRule("5.2.sessions"))) != 0 {
			t.Errorf("%d items before, %d after: %+v", before, len(after.Items), after.Items)
		}
	})
	t.Run("the term: due within six months, overdue, never recorded", func(t *testing.T) {
		// Elected 2015-01-10 for 3 years: expires 2018-01-10.
		if got := todoOf(l, func(it projections.TodoItem) bool { return it.Kind == projections.TodoTerm }); len(got) != 0 {
			t.Errorf("2016: %+v", got)
		}
		c := newBook(domain.KindBranch, false)
		c.add("2013-06-13", &domain.CommitteeElected{TermYears: 3})
		got := todoOf(c.todo(t, "2016-03-01"), func(it projections.TodoItem) bool { return it.Kind == projections.TodoTerm })
		if len(got) != 1 || got[0].Overdue || got[0].Due != domain.MustDate("2016-06-13") || got[0].Type != domain.TypeCommitteeElected {
			t.Fatalf("within six months: %+v", got)
		}
		got = todoOf(c.todo(t, "2016-09-01"), func(it projections.TodoItem) bool { return it.Kind == projections.TodoTerm })
		if len(got) != 1 || !got[0].Overdue || !strings.Contains(got[0].Label, "2016-06-13") {
			t.Fatalf("overdue: %+v", got)
		}
		if got := c.todo(t, "2016-09-01").Items; got[0].Kind != projections.TodoTerm {
			t.Errorf("overdue first: %+v", got[0])
		}
		d := newBook(domain.KindBranch, false)
		got = todoOf(d.todo(t, "2016-09-01"), func(it projections.TodoItem) bool { return it.Kind == projections.TodoTerm })
		if len(got) != 1 || !strings.Contains(got[0].Label, "尚无换届记录") {
			t.Fatalf("no record: %+v", got)
		}
	})
	t.Run("committee events: coming up, and past without attendance", func(t *testing.T) {
		c := perfect(domain.KindBranch, true).upTo("2016-09-13")
		c.schedule("2016-10-20", "S9", testOrg)  // coming up (scheduled ahead)
		c.schedule("2016-12-30", "S10", testOrg) // beyond the window
		for i := range c.sched[len(c.sched)-2:] {
			c.sched[len(c.sched)-2+i].RecordedAt = at("2016-09-01") // announced ahead
		}
		c.schedule("2016-08-20", "S11", "*") // recent, not attended
		c.schedule("2016-08-01", "S12", "*") // too long ago: the scorecard's
		l := c.todo(t, "2016-09-13")
		got := todoOf(l, func(it projections.TodoItem) bool { return it.Kind == projections.TodoCommittee })
		if len(got) != 2 {
			t.Fatalf("%+v", got)
		}
		if got[0].Fields["scheduled_event_id"] != "S11" || !got[0].Overdue || got[1].Fields["scheduled_event_id"] != "S9" || got[1].Overdue {
			t.Errorf("%+v", got)
		}
	})
	t.Run("a year without its own rulebook is guided by the last one", func(t *testing.T) {
		c := newBook(domain.KindBranch, false)
		c.add("2015-01-10", &domain.CommitteeElected{TermYears: 5})
		c.add("2026-03-02", &domain.StudySessionHeld{Topic: "学习", Attendees: []string{}, NotesKept: true})
		l := c.todo(t, "2026-03-10")
		got := todoOf(l, byRule("5.2.sessions"))
		if l.RulebookYear != 2016 || len(got) != 1 || got[0].Period != "2026-03" || got[0].Have != 1 {
			t.Fatalf("%d %+v", l.RulebookYear, got)
		}
	})
}

func TestMonthDuesAndArrears(t *testing.T) {
	b := perfect(domain.KindBranch, true)
	b.drop(1, duesOf("m03", "2016-05"))
	b.drop(1, duesOf("m07", "2016-05"))
	b.add("2016-05-10", &domain.DuesPaid{MemberID: "m07", Month: "2016-05", AmountFen: 100})
	q := projections.Query{Year: 2016, AsOf: domain.MustDate("2016-06-30"), KnownAt: testKnownAt}
	f := b.facts(t)
	rb := domain.Builtin2016()
	t.Run("each member's bracket and amount due", func(t *testing.T) {
		mds, err := projections.MonthDues(f, rb, q, "2016-06")
		if err != nil {
			t.Fatal(err)
		}
		if len(mds) != len(model) {
			t.Fatalf("%d members", len(mds))
		}
		for _, md := range mds {
			switch md.MemberID {
			case "m03": // 3000 元 exactly: 0.5%
				if md.RateBP != 50 || md.DueFen != 1500 || !strings.Contains(md.Bracket, "3000元及以下") {
					t.Errorf("%+v", md)
				}
			case "m02": // above 10000 元: 2%
				if md.RateBP != 200 || md.DueFen != 20000 || !strings.Contains(md.Bracket, "10000元以上") {
					t.Errorf("%+v", md)
				}
			}
			if md.PaidFen != md.DueFen || md.Payments != 1 {
				t.Errorf("June paid: %+v", md)
			}
		}
	})
	t.Run("who has not paid for which month", func(t *testing.T) {
		ars, err := projections.DuesArrears(f, rb, q)
		if err != nil {
			t.Fatal(err)
		}
		if len(ars) != 2 || ars[0].MemberID != "m03" || ars[0].Month != "2016-05" || ars[0].PaidFen != 0 ||
			ars[1].MemberID != "m07" || ars[1].PaidFen != 100 || ars[1].DueFen != 1250 {
			t.Fatalf("%+v", ars)
		}
	})
}
