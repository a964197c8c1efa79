package domain_test

import (
	"slices"
	"strings"
	"testing"

	"partyledger/domain"
)

// The catalog and rulebook additions of RUBRIC.md revision 2: founded_on,
// TermExtensionApproved and the new rulebook parameters.

func TestFoundedOnAndTermExtension(t *testing.T) {
	t.Run("accepted", func(t *testing.T) {
		for _, l := range []string{
			`{"org":"LY-0009","type":"OrganizationRegistered","occurred_on":"2016-09-20","data":{"code":"LY-0009","name":"新成立支部","kind":"branch","has_groups":false,"founded_on":"2016-10-01"}}`,
			`{"org":"LY-0001","type":"TermExtensionApproved","occurred_on":"2016-02-01","data":{"until":"2017-06-30","reason":"机构改革，经市直工委批准延期换届"}}`,
		} {
			if _, err := domain.ParseJournalLine([]byte(l)); err != nil {
				t.Errorf("%s: %v", l, err)
			}
		}
	})
	long := strings.Repeat("长", domain.MaxSummaryRunes+1)
	for _, c := range []struct{ name, line, field, reason string }{
		{"founded_on not a date", `{"org":"A","type":"OrganizationRegistered","occurred_on":"2016-01-01","data":{"code":"A","name":"n","kind":"branch","has_groups":false,"founded_on":"2016-02-30"}}`, "data.founded_on", "calendar date"},
		{"founded_on a number", `{"org":"A","type":"OrganizationRegistered","occurred_on":"2016-01-01","data":{"code":"A","name":"n","kind":"branch","has_groups":false,"founded_on":20161001}}`, "data.founded_on", "date"},
		{"founded_on out of range", `{"org":"A","type":"OrganizationRegistered","occurred_on":"2016-01-01","data":{"code":"A","name":"n","kind":"branch","has_groups":false,"founded_on":"1999-12-31"}}`, "data.founded_on", "outside"},
		{"extension without until", `{"org":"A","type":"TermExtensionApproved","occurred_on":"2016-01-01","data":{"reason":"r"}}`, "data.until", "required"},
		{"extension until not a date", `{"org":"A","type":"TermExtensionApproved","occurred_on":"2016-01-01","data":{"until":"2017-13-01","reason":"r"}}`, "data.until", "calendar date"},
		{"extension without reason", `{"org":"A","type":"TermExtensionApproved","occurred_on":"2016-01-01","data":{"until":"2017-06-30"}}`, "data.reason", "required"},
		{"extension with a blank reason", `{"org":"A","type":"TermExtensionApproved","occurred_on":"2016-01-01","data":{"until":"2017-06-30","reason":"  "}}`, "data.reason", "blank"},
		{"extension with a reason too long", `{"org":"A","type":"TermExtensionApproved","occurred_on":"2016-01-01","data":{"until":"2017-06-30","reason":"` + long + `"}}`, "data.reason", "longer than"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := domain.ParseJournalLine([]byte(c.line))
			for _, fe := range domain.FieldErrors(err) {
				if fe.Field == c.field && strings.Contains(fe.Reason, c.reason) {
					return
				}
			}
			t.Fatalf("errors %v; want field %q with reason containing %q", err, c.field, c.reason)
		})
	}
	t.Run("built in Go", func(t *testing.T) {
		bad := domain.Date{Year: 2016, Month: 13, Day: 1}
		if err := (&domain.OrganizationRegistered{Code: "A", Name: "n", Kind: domain.KindBranch, FoundedOn: bad}).Validate(); err == nil {
			t.Error("founded_on 2016-13-01 accepted")
		}
		if err := (&domain.TermExtensionApproved{Reason: "r"}).Validate(); err == nil {
			t.Error("an extension without until accepted")
		}
		if err := (&domain.OrganizationRegistered{Code: "A", Name: "n", Kind: domain.KindBranch}).Validate(); err != nil {
			t.Errorf("founded_on may be absent: %v", err)
		}
	})
	t.Run("founded_on is left out of the JSON when absent", func(t *testing.T) {
		b, err := domain.CanonicalJSON(&domain.OrganizationRegistered{Code: "A", Name: "n", Kind: domain.KindBranch})
		if err != nil || strings.Contains(string(b), "founded_on") {
			t.Errorf("%s %v", b, err)
		}
	})
	t.Run("catalog", func(t *testing.T) {
		if k, ok := domain.StreamKindOf(domain.TypeTermExtensionApproved); !ok || k != domain.StreamOrg {
			t.Errorf("stream %q %v", k, ok)
		}
		if got := domain.TypeLabel(domain.TypeTermExtensionApproved); got != "延期换届" {
			t.Errorf("label %q", got)
		}
		if !slices.Contains(domain.Types(), domain.TypeTermExtensionApproved) {
			t.Error("not in Types()")
		}
	})
	t.Run("state: until after the approval, and the state keeps founded_on", func(t *testing.T) {
		st := orgWith(t, `{"org":"LY-0001","type":"OrganizationRegistered","occurred_on":"2016-01-04","data":{"code":"LY-0001","name":"n","kind":"branch","has_groups":false,"founded_on":"2016-01-04"}}`)
		if st.FoundedOn != domain.MustDate("2016-01-04") {
			t.Errorf("FoundedOn %s", st.FoundedOn)
		}
		for _, c := range []struct {
			until string
			ok    bool
		}{{"2016-02-01", false}, {"2016-02-02", true}, {"2016-01-01", false}} {
			e := entry(t, `{"org":"LY-0001","type":"TermExtensionApproved","occurred_on":"2016-02-01","data":{"until":"`+c.until+`","reason":"延期换届"}}`)
			err := st.Check(&e, testEnv())
			if (err == nil) != c.ok {
				t.Errorf("until %s: err %v, want ok %v", c.until, err, c.ok)
			}
			if err != nil && domain.FieldErrors(err)[0].Field != "data.until" {
				t.Errorf("until %s: %v", c.until, err)
			}
		}
	})
}

func TestRulebookRev2Parameters(t *testing.T) {
	rb := domain.Builtin2016()
	t.Run("2016.1 encodes revision 2", func(t *testing.T) {
		if rb.LateEntryDays != 30 {
			t.Errorf("late_entry_days %d", rb.LateEntryDays)
		}
		if r := rule(t, rb, "4.2.case_deadline"); r.CaseDeadlineDays != 90 {
			t.Errorf("case_deadline_days %d", r.CaseDeadlineDays)
		}
		if r := rule(t, rb, "4.2.serious"); r.Severity != domain.SeveritySerious || r.Impact != domain.ImpactSevere || r.Deduct != domain.DeductPerPersonCase {
			t.Errorf("4.2.serious %+v", r)
		}
		if r := rule(t, rb, "2.2.term"); r.NoRecordPoints != domain.PointsOf(1) {
			t.Errorf("2.2.term no_record_points %s", r.NoRecordPoints)
		}
		if r := rule(t, rb, "2.6.self_inspection"); r.PeriodFrom != domain.PeriodFromPayloadDated {
			t.Errorf("2.6 period_from %q", r.PeriodFrom)
		}
		staffing := rule(t, rb, "5.1.staffing")
		if got := staffing.Requirements[1].AnyOf; !slices.Contains(got, domain.RoleDeputySecretary) || !slices.Contains(got, domain.RoleFulltimeDeputySecretary) {
			t.Errorf("5.1 deputy any_of %v", got)
		}
	})
	for _, tc := range []struct {
		name    string
		mistake func(rb *domain.Rulebook)
		field   string
	}{
		{"late_entry_days negative", func(rb *domain.Rulebook) { rb.LateEntryDays = -1 }, "late_entry_days"},
		{"late_entry_days too many", func(rb *domain.Rulebook) { rb.LateEntryDays = domain.MaxLateEntryDays + 1 }, "late_entry_days"},
		{"a serious rule with neither severity nor impact", func(rb *domain.Rulebook) {
			r := rule(t, rb, "4.2.serious")
			r.Severity, r.Impact = "", ""
		}, "items[17].rules[1].severity"},
		{"an unknown impact", func(rb *domain.Rulebook) { rule(t, rb, "4.2.serious").Impact = "dire" }, "items[17].rules[1].impact"},
		{"impact on another kind of rule", func(rb *domain.Rulebook) { rule(t, rb, "4.2.case_deadline").Impact = domain.ImpactSevere }, "items[17].rules[0].impact"},
		{"per_person_case on a count rule", func(rb *domain.Rulebook) { rule(t, rb, "3.3.research").Deduct = domain.DeductPerPersonCase }, "items[13].rules[0].deduct"},
		{"no_record_points above the item", func(rb *domain.Rulebook) { rule(t, rb, "2.2.term").NoRecordPoints = domain.PointsOf(4) }, "items[5].rules[1].no_record_points"},
		{"no_record_points on another kind of rule", func(rb *domain.Rulebook) { rule(t, rb, "2.2.leadership").NoRecordPoints = 100 }, "items[5].rules[0].no_record_points"},
		{"payload_dated on a type without a payload period", func(rb *domain.Rulebook) {
			rule(t, rb, "2.6.subordinate").PeriodFrom = domain.PeriodFromPayloadDated
		}, "items[9].rules[1].match[0].type"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := domain.Builtin2016().Clone()
			tc.mistake(c)
			err := c.Validate()
			for _, fe := range domain.FieldErrors(err) {
				if fe.Field == tc.field {
					return
				}
			}
			t.Errorf("no problem at %s; got %v", tc.field, err)
		})
	}
	t.Run("impact alone is a valid serious rule", func(t *testing.T) {
		c := domain.Builtin2016().Clone()
		rule(t, c, "4.2.serious").Severity = ""
		if err := c.Validate(); err != nil {
			t.Error(err)
		}
	})
}

// TestDiffRevision2 diffs a rulebook as revision 1 encoded it against the
// built-in 2016.1: every new parameter shows up.
func TestDiffRevision2(t *testing.T) {
	rev1 := domain.Builtin2016().Clone()
	rev1.Version = "2016.1-rev1"
	rev1.LateEntryDays = 0
	r := rule(t, rev1, "2.2.term")
	r.NoRecordPoints = 0
	rule(t, rev1, "2.6.self_inspection").PeriodFrom = domain.PeriodFromPayload
	r = rule(t, rev1, "4.2.serious")
	r.Impact, r.Deduct = "", domain.DeductPerPerson
	rule(t, rev1, "5.1.staffing").Requirements[1].AnyOf = []string{domain.RoleFulltimeDeputySecretary}
	if err := rev1.Validate(); err != nil {
		t.Fatal(err)
	}
	d, err := domain.DiffRulebooks(rev1, domain.Builtin2016())
	if err != nil {
		t.Fatal(err)
	}
	out := render(d)
	for _, want := range []string{
		"document  added late_entry_days  → 30",
		"rules 2.2 added items[2.2].rules[2.2.term].no_record_points  → 1",
		"rules 2.6 changed items[2.6].rules[2.6.self_inspection].period_from \"payload\" → \"payload_dated\"",
		"rules 4.2 added items[4.2].rules[4.2.serious].impact  → \"severe\"",
		"rules 4.2 changed items[4.2].rules[4.2.serious].deduct \"per_person\" → \"per_person_case\"",
		"rules 5.1 changed items[5.1].rules[5.1.staffing].requirements[1].any_of [\"fulltime_deputy_secretary\"] → [\"fulltime_deputy_secretary\",\"deputy_secretary\"]",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("diff lacks %q:\n%s", want, out)
		}
	}
	if d.To.SHA256 != domain.Builtin2016().SHA256() || d.From.SHA256 == d.To.SHA256 {
		t.Errorf("digests %s → %s", d.From.SHA256, d.To.SHA256)
	}
	if codes := d.ItemCodes(); !slices.Equal(codes, []string{"2.2", "2.6", "4.2", "5.1"}) {
		t.Errorf("item codes %v", codes)
	}
}
