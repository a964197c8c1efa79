package domain_test

import (
	"testing"
	"time"

	"partyledger/domain"
)

// TestEveryTypeHasASide checks GOVERNANCE.md's table against the catalog:
// every type of the books says who records it.
func TestEveryTypeHasASide(t *testing.T) {
	for _, typ := range domain.Types() {
		k, _ := domain.StreamKindOf(typ)
		_, ok := domain.SideOf(typ)
		if ok != (k != domain.StreamAuth) {
			t.Errorf("%s (%s stream): side known %v", typ, k, ok)
		}
	}
}

func TestMayRecord(t *testing.T) {
	cases := []struct {
		typ                            string
		branch, assessor, auditor, adm bool
	}{
		{domain.TypeStudySessionHeld, true, false, false, true},
		{domain.TypeCommitteeElected, true, false, false, true},
		{domain.TypeViolationRecorded, false, true, false, true},
		{domain.TypeCaseHandled, false, true, false, true},
		{domain.TypeFindingRecorded, false, true, false, true},
		{domain.TypeEventRejected, false, true, false, true},
		{domain.TypeAttendanceRecorded, false, false, false, true},
		{domain.TypeYearClosed, false, false, false, true},
		{domain.TypeAdvancedDesignated, false, false, false, true},
		{domain.TypeGradeIssued, false, false, false, true},
		{domain.TypeRulebookPublished, false, false, false, true},
		{domain.TypeOrganizationRegistered, false, false, false, true},
		{domain.TypeEventRetracted, true, true, false, true},
		{domain.TypeTokenIssued, false, false, false, false},
	}
	for _, c := range cases {
		for role, want := range map[domain.AccessRole]bool{domain.AccessBranch: c.branch, domain.AccessAssessor: c.assessor,
			domain.AccessAuditor: c.auditor, domain.AccessAdmin: c.adm} {
			if got := domain.MayRecord(role, c.typ); got != want {
				t.Errorf("MayRecord(%s, %s) = %v", role, c.typ, got)
			}
		}
	}
}

func TestV2Validation(t *testing.T) {
	for _, c := range []struct {
		p     domain.Payload
		field string
	}{
		{&domain.EventRejected{EventID: "x", Reason: "r"}, "event_id"},
		{&domain.EventRejected{EventID: "0b7f2c64-1d2e-4f5a-9b8c-7d6e5f4a3b21"}, "reason"},
		{&domain.YearClosed{Year: 1999, Reason: "r"}, "year"},
		{&domain.YearClosed{Year: 2016}, "reason"},
		{&domain.AdvancedDesignated{Year: 2016, Reason: "r"}, "codes"},
		{&domain.AdvancedDesignated{Year: 2016, Codes: []string{"A-1", "A-1"}, Reason: "r"}, "codes[1]"},
		{&domain.AdvancedDesignated{Year: 2016, Codes: []string{"a b"}, Reason: "r"}, "codes[0]"},
		{&domain.GradeIssued{Year: 2016, RulebookVersion: "2016.1", Tier: "compliant", OverrideReason: "a\u202eb"}, "override_reason"},
		{&domain.GradeIssued{Year: 2016, RulebookVersion: "2016.1", Tier: "compliant", ScorecardKnownAt: "0001-01-01T00:00:00.000000Z"}, "scorecard_known_at"},
		{&domain.GradeRevised{Year: 2016, RulebookVersion: "2016.1", Tier: "compliant", Reason: "r", ScorecardKnownAt: "2262-04-12T00:00:00.000000Z"}, "scorecard_known_at"},
	} {
		found := false
		for _, fe := range domain.FieldErrors(c.p.Validate()) {
			found = found || fe.Field == c.field
		}
		if !found {
			t.Errorf("%T %+v: no problem with %s (%v)", c.p, c.p, c.field, c.p.Validate())
		}
	}
	if err := (&domain.AdvancedDesignated{Year: 2016, Codes: []string{"A-1", "B-2"}, Reason: "工委确定"}).Validate(); err != nil {
		t.Error(err)
	}
}

func TestLateDays(t *testing.T) {
	on := domain.MustDate("2016-09-09")
	for _, c := range []struct {
		at   time.Time
		days int
	}{
		{time.Date(2016, 9, 9, 23, 59, 0, 0, domain.CST), 0},
		{time.Date(2016, 9, 9, 16, 0, 0, 0, time.UTC), 1}, // 00:00 CST on the 10th
		{time.Date(2016, 10, 9, 12, 0, 0, 0, domain.CST), 30},
		{time.Date(2016, 10, 10, 0, 0, 0, 0, domain.CST), 31},
	} {
		if got := domain.LateDays(on, c.at); got != c.days {
			t.Errorf("%s: %d days, want %d", c.at, got, c.days)
		}
	}
	if domain.IsLateEntry(domain.TypeStudySessionHeld, on, time.Date(2016, 10, 9, 12, 0, 0, 0, domain.CST), 30) {
		t.Error("30 days is in time")
	}
	if !domain.IsLateEntry(domain.TypeStudySessionHeld, on, time.Date(2016, 10, 10, 0, 0, 0, 0, domain.CST), 30) {
		t.Error("31 days is late")
	}
	if domain.IsLateEntry(domain.TypeFindingRecorded, on, time.Date(2017, 1, 10, 0, 0, 0, 0, domain.CST), 30) {
		t.Error("a finding is never 补录")
	}
	if got := domain.LateEntryDaysOf(domain.Builtin2016()); got != 30 {
		t.Errorf("late_entry_days of 2016.1: %d", got)
	}
	if got := domain.LateEntryDaysOf(nil); got != domain.DefaultLateEntryDays {
		t.Errorf("without a rulebook: %d", got)
	}
}
