package domain_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"partyledger/domain"
)

// TestShippedRulebooks validates every rulebook document shipped in
// rulebooks/.
func TestShippedRulebooks(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("rulebooks", "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no rulebooks found: %v", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			rb, err := domain.ParseRulebook(b)
			if err != nil {
				for _, fe := range domain.FieldErrors(err) {
					t.Errorf("%s", fe)
				}
				return
			}
			if want := strings.TrimSuffix(filepath.Base(f), ".json"); rb.Version != want {
				t.Errorf("version %q in file %s", rb.Version, f)
			}
		})
	}
}

// TestBuiltin2016EncodesTheRubric spot-checks that the 2016 document says
// what RUBRIC.md says.
func TestBuiltin2016EncodesTheRubric(t *testing.T) {
	rb := domain.Builtin2016()
	if rb.Year != 2016 || rb.Version != "2016.1" {
		t.Fatalf("year %d version %q", rb.Year, rb.Version)
	}
	t.Run("sections and items", func(t *testing.T) {
		want := map[string][]string{"1": {"1.1", "1.2", "1.3", "1.4"}, "2": {"2.1", "2.2", "2.3", "2.4", "2.5", "2.6", "2.7"},
			"3": {"3.1", "3.2", "3.3", "3.4", "3.5"}, "4": {"4.1", "4.2"}, "5": {"5.1", "5.2", "5.3", "5.4", "5.5"}}
		values := map[string]string{"1.1": "6", "1.2": "5", "1.3": "6", "1.4": "3", "2.1": "5", "2.2": "3", "2.3": "3", "2.4": "3", "2.5": "3",
			"2.6": "3", "2.7": "5", "3.1": "4", "3.2": "5", "3.3": "3", "3.4": "3", "3.5": "5", "4.1": "5", "4.2": "5", "5.1": "8", "5.2": "5",
			"5.3": "5", "5.4": "5", "5.5": "2"}
		got := map[string][]string{}
		for _, it := range rb.Items {
			got[it.Section] = append(got[it.Section], it.Code)
			if it.Value.String() != values[it.Code] {
				t.Errorf("item %s is worth %s, want %s", it.Code, it.Value, values[it.Code])
			}
		}
		for s, codes := range want {
			if !slices.Equal(got[s], codes) {
				t.Errorf("section %s items %v, want %v", s, got[s], codes)
			}
		}
		if rb.Total != domain.PointsOf(100) {
			t.Errorf("total %s", rb.Total)
		}
	})
	t.Run("numbers", func(t *testing.T) {
		rule := func(id string) *domain.Rule {
			t.Helper()
			for i := range rb.Items {
				for j := range rb.Items[i].Rules {
					if r := &rb.Items[i].Rules[j]; r.ID == id {
						return r
					}
				}
			}
			t.Fatalf("no rule %s", id)
			return nil
		}
		for _, tc := range []struct {
			id   string
			kind domain.OrgKind
			need int
			pts  string
		}{
			{"5.3.committee", domain.KindCommittee, 6, "0.5"}, {"5.3.branch_committee", domain.KindBranch, 8, "0.5"},
			{"5.3.general_assembly", domain.KindBranch, 4, "0.5"}, {"5.3.group", domain.KindBranch, 12, "0.5"},
			{"5.3.group_democratic_life", domain.KindBranch, 2, "0.5"}, {"5.3.party_lecture", domain.KindBranch, 1, "0.5"},
			{"5.2.sessions", domain.KindBranch, 2, "0.5"}, {"3.3.work_info", domain.KindCommittee, 4, "0.5"},
			{"3.3.work_info", domain.KindBranch, 3, "0.5"}, {"3.1.leadership_meetings", domain.KindBranch, 4, "0.5"},
			{"5.4.activities", domain.KindBranch, 6, "0.5"}, {"5.1.reviews", domain.KindBranch, 2, "1"},
			{"1.3.civilized_unit", domain.KindBranch, 1, "2"}, {"4.1.integrity", domain.KindBranch, 1, "3"},
		} {
			r := rule(tc.id)
			if got := r.NeedFor(tc.kind); got != tc.need {
				t.Errorf("%s needs %d of a %s, want %d", tc.id, got, tc.kind, tc.need)
			}
			if r.Points.String() != tc.pts {
				t.Errorf("%s deducts %s, want %s", tc.id, r.Points, tc.pts)
			}
		}
		if d := rule("4.2.case_deadline").CaseDeadlineDays; d != 90 {
			t.Errorf("case_deadline_days = %d", d)
		}
		if rb.Dues.GraceDays != 0 {
			t.Errorf("dues_grace_days = %d", rb.Dues.GraceDays)
		}
		if rb.Weights != (domain.Weights{OnlinePercent: 50, GroupPercent: 50}) {
			t.Errorf("weights %+v", rb.Weights)
		}
		want := []domain.TierThreshold{{Tier: domain.TierAdvanced, Min: 9000}, {Tier: domain.TierCompliant, Min: 6000}, {Tier: domain.TierNonCompliant, Min: 0}}
		if !slices.Equal(rb.Tiers, want) {
			t.Errorf("tiers %+v", rb.Tiers)
		}
		var vetoes []string
		for _, v := range rb.Vetoes {
			vetoes = append(vetoes, v.Code+":"+v.Kind+":"+v.TierMax)
		}
		if want := []string{"V1:violation:non_compliant", "V2:term_overdue:compliant", "V3:dues:compliant"}; !slices.Equal(vetoes, want) {
			t.Errorf("vetoes %v", vetoes)
		}
	})
}

// TestRulebookDigest pins the digest of the shipped 2016.1: a correction
// must be a new version, never an edit in place. (The one exception: before
// any grade was issued, 2016.1 was re-encoded for RUBRIC.md revision 2, as
// that revision says; the digest changed then.)
func TestRulebookDigest(t *testing.T) {
	rb := domain.Builtin2016()
	const want = "119b59663252011443a99a1158566d8c45fb8cc0e57f2beabb4474534841439e"
	if got := rb.SHA256(); got != want {
		t.Errorf("2016.1 digest %s, want %s: publish a new version instead of editing this one", got, want)
	}
	t.Run("independent of layout", func(t *testing.T) {
		canon, err := rb.Canonical()
		if err != nil {
			t.Fatal(err)
		}
		var indented bytes.Buffer
		if err := json.Indent(&indented, canon, "", "\t"); err != nil {
			t.Fatal(err)
		}
		again, err := domain.ParseRulebook(indented.Bytes())
		if err != nil {
			t.Fatal(err)
		}
		if again.SHA256() != want {
			t.Error("re-indenting the document changed its digest")
		}
	})
	t.Run("canonical form", func(t *testing.T) {
		canon, _ := rb.Canonical()
		if !bytes.HasPrefix(canon, []byte(`{"dues":{"dues_grace_days":0,"rates":[{"rate_bp":50,"up_to_fen":300000}`)) {
			t.Errorf("canonical form starts %s", canon[:80])
		}
		if bytes.ContainsAny(canon, "\n\t") {
			t.Error("canonical form is not compact")
		}
		m, _ := json.Marshal(rb)
		if !bytes.Equal(m, canon) {
			t.Error("json.Marshal differs from Canonical")
		}
	})
	t.Run("changes with a number", func(t *testing.T) {
		c := rb.Clone()
		c.Items[0].Rules[0].Points = 50
		if c.SHA256() == want {
			t.Error("changing a number kept the digest")
		}
		if rb.SHA256() != want {
			t.Error("Clone shares state with the original")
		}
	})
}

func TestParseRulebookStrict(t *testing.T) {
	doc := domain.Builtin2016JSON()
	for _, tc := range []struct {
		name, from, to, field string
	}{
		{"unknown top-level field", `"total": 100,`, `"total": 100, "totl": 100,`, "totl"},
		{"unknown rule field", `"id": "1.1.topics",`, `"id": "1.1.topics", "needs": 2,`, "needs"},
		{"points with three decimals", `"points": 0.5}`, `"points": 0.505}`, ""},
		{"a string for a number", `"total": 100,`, `"total": "100",`, "total"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := bytes.Replace(doc, []byte(tc.from), []byte(tc.to), 1)
			if bytes.Equal(b, doc) {
				t.Fatalf("%q not in the document", tc.from)
			}
			_, err := domain.ParseRulebook(b)
			var fe *domain.FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("err = %v, want a field error", err)
			}
			if tc.field != "" && fe.Field != tc.field {
				t.Errorf("field %q, want %q (%v)", fe.Field, tc.field, err)
			}
		})
	}
	t.Run("trailing data", func(t *testing.T) {
		if _, err := domain.ParseRulebook(append(bytes.Clone(doc), []byte(`{}`)...)); err == nil {
			t.Error("accepted trailing data")
		}
	})
	t.Run("too large", func(t *testing.T) {
		if _, err := domain.ParseRulebook(make([]byte, domain.MaxRulebookBytes+1)); err == nil {
			t.Error("accepted an oversized document")
		}
	})
}

// TestValidateReportsEveryProblem breaks a copy of the 2016 rulebook in
// many ways at once and expects one problem per break, each at its path.
func TestValidateReportsEveryProblem(t *testing.T) {
	rb := domain.Builtin2016().Clone()
	item := func(code string) *domain.RuleItem { return rb.Item(code) }
	rb.Version = ""
	rb.Weights.GroupPercent = 40
	rb.Tiers[1].Min = 9500
	rb.Dues.Rates[2].UpToFen = ptr(domain.Fen(400000))
	rb.Dues.GraceDays = -1
	rb.Sections[0].Value = domain.PointsOf(21)
	item("1.1").Rules[0].Values[0].Value = "party_rules"
	item("1.3").Rules[0].Match[0].Type = "CampaignHeld"
	item("2.2").Rules[0].PointsByMissing = nil
	item("2.5").Rules[2].Period = "week"
	item("3.3").Rules[1].Need = 0
	item("3.3").Rules[1].NeedByKind = nil
	item("3.5").Findings[0].Max = 75
	item("3.5").Findings[1].Points = domain.PointsOf(1)
	item("4.2").Rules[0].CaseDeadlineDays = 0
	item("5.2").Rules[1].Role = domain.LeaderAsLecturer
	item("5.3").Rules[1].ID = "5.3.committee"
	item("5.4").Rules[0].Role = "speaker"
	item("5.5").Rules[0].Kind = "every"
	rb.Vetoes[1].TierMax = "gold"
	rb.Vetoes[2].Severity = domain.SeveritySerious

	err := rb.Validate()
	var pe *domain.ProblemsError
	if !errors.As(err, &pe) {
		t.Fatalf("err = %v, want many problems", err)
	}
	got := map[string]string{}
	for _, fe := range domain.FieldErrors(err) {
		got[fe.Field] = fe.Reason
	}
	for _, field := range []string{
		"version",
		"weights",
		"tiers[1].min",
		"dues.rates[2].up_to_fen",
		"dues.dues_grace_days",
		"sections[0].value",
		"items[0].rules[0].values[0]",
		"items[2].rules[0].match[0].type",
		"items[5].rules[0].points_by_missing",
		"items[8].rules[2].period",
		"items[13].rules[1].need",
		"items[15].findings[0].max",
		"items[15].findings[1]",
		"items[17].rules[0].case_deadline_days",
		"items[19].rules[1].role",
		"items[20].rules[1].id",
		"items[21].rules[0].role",
		"items[22].rules[0].kind",
		"vetoes[1].tier_max",
		"vetoes[2].severity",
	} {
		if _, ok := got[field]; !ok {
			t.Errorf("no problem reported at %s", field)
		}
	}
	if len(got) < 20 {
		t.Errorf("%d problems reported: %v", len(got), err)
	}
	for field, reason := range got {
		if reason == "" {
			t.Errorf("%s: empty reason", field)
		}
	}
}

func TestValidateMoreMistakes(t *testing.T) {
	for _, tc := range []struct {
		name    string
		mistake func(rb *domain.Rulebook)
		field   string
	}{
		{"item code out of its section", func(rb *domain.Rulebook) { rb.Items[0].Section = "2" }, "items[0].section"},
		{"duplicate item", func(rb *domain.Rulebook) { rb.Items[1].Code = "1.1" }, "items[1].code"},
		{"item with nothing to deduct", func(rb *domain.Rulebook) { rb.Items[1].Findings = nil }, "items[1]"},
		{"total does not add up", func(rb *domain.Rulebook) { rb.Total = domain.PointsOf(99) }, "total"},
		{"points above the item", func(rb *domain.Rulebook) { rb.Items[0].Rules[0].Points = domain.PointsOf(7) }, "items[0].rules[0].points"},
		{"once not allowed", func(rb *domain.Rulebook) { rb.Items[5].Rules[1].Deduct = domain.DeductOnce }, "items[5].rules[1].deduct"},
		{"a parameter of another kind", func(rb *domain.Rulebook) { rb.Items[5].Rules[1].Need = 3 }, "items[5].rules[1].need"},
		{"a field the type lacks", func(rb *domain.Rulebook) { rb.Items[3].Rules[0].Match[0].Field = "topic" }, "items[3].rules[0].match[0].field"},
		{"a payload period the type lacks", func(rb *domain.Rulebook) { rb.Items[9].Rules[1].PeriodFrom = domain.PeriodFromPayload }, "items[9].rules[1].match[0].type"},
		{"a leader rule on an event without attendees", func(rb *domain.Rulebook) { rb.Items[21].Rules[1].Match[1].Type = domain.TypeWorkInfoSubmitted }, "items[21].rules[1].match[1].type"},
		{"a finding id clashing with a rule", func(rb *domain.Rulebook) {
			rb.Items[13].Findings = []domain.FindingRule{{Code: "research", Label: "x", Points: 100}}
		}, "items[13].findings[0].code"},
		{"a range and fixed points", func(rb *domain.Rulebook) { rb.Items[12].Findings[0].Points = 100 }, "items[12].findings[0]"},
		{"a finding not in 0.5 steps", func(rb *domain.Rulebook) { rb.Items[1].Findings[0].Points = 125 }, "items[1].findings[0].points"},
		{"an unknown role", func(rb *domain.Rulebook) { rb.Items[5].Rules[0].Requirements[0].AnyOf[0] = "chair" }, "items[5].rules[0].requirements[0].any_of[0]"},
		{"an unknown kind", func(rb *domain.Rulebook) { rb.Items[8].Rules[2].Kinds[0] = "cell" }, "items[8].rules[2].kinds[0]"},
		{"the last tier not at 0", func(rb *domain.Rulebook) { rb.Tiers[2].Min = 100 }, "tiers[2].min"},
		{"a dues rule without a dues schedule", func(rb *domain.Rulebook) { rb.Dues = nil }, "items[8].rules[0]"},
		{"a last bracket with a bound", func(rb *domain.Rulebook) { rb.Dues.Rates[3].UpToFen = ptr(domain.Fen(2000000)) }, "dues.rates[3].up_to_fen"},
		{"a veto of an unknown kind", func(rb *domain.Rulebook) { rb.Vetoes[0].Kind = "scandal" }, "vetoes[0].kind"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rb := domain.Builtin2016().Clone()
			tc.mistake(rb)
			err := rb.Validate()
			for _, fe := range domain.FieldErrors(err) {
				if fe.Field == tc.field {
					return
				}
			}
			t.Errorf("no problem at %s; got %v", tc.field, err)
		})
	}
	t.Run("nil", func(t *testing.T) {
		var rb *domain.Rulebook
		if rb.Validate() == nil {
			t.Error("a nil rulebook is valid")
		}
	})
}

func TestCheckFinding(t *testing.T) {
	rb := domain.Builtin2016()
	for _, tc := range []struct {
		name          string
		item, finding string
		points        string // "" for none
		want          string // points deducted, or "" for an error
		field         string // the error's field
	}{
		{"fixed, points omitted", "1.2", "instability", "", "2", ""},
		{"fixed, its own points", "1.2", "disunity", "1", "1", ""},
		{"fixed, other points", "1.2", "disunity", "2", "", "data.points"},
		{"all: the item's value", "2.4", "admission_quality", "", "3", ""},
		{"all, other points", "2.4", "admission_quality", "1", "", "data.points"},
		{"range, low end", "3.2", "low_satisfaction", "1", "1", ""},
		{"range, half step", "3.2", "low_satisfaction", "2.5", "2.5", ""},
		{"range, high end", "3.5", "poor_rating", "5", "5", ""},
		{"range, below", "3.5", "poor_rating", "2.5", "", "data.points"},
		{"range, above", "3.2", "low_satisfaction", "3.5", "", "data.points"},
		{"range, not a 0.5 step", "3.2", "low_satisfaction", "1.25", "", "data.points"},
		{"range, points omitted", "3.2", "low_satisfaction", "", "", "data.points"},
		{"unknown item", "9.9", "low_satisfaction", "1", "", "data.item"},
		{"a finding of another item", "3.2", "instability", "", "", "data.finding"},
		{"an item without findings", "1.1", "anything", "", "", "data.finding"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var p *domain.Points
			if tc.points != "" {
				v, err := domain.ParsePoints(tc.points)
				if err != nil {
					t.Fatal(err)
				}
				p = &v
			}
			got, err := rb.CheckFinding(tc.item, tc.finding, p)
			if tc.want != "" {
				if err != nil || got.String() != tc.want {
					t.Errorf("got %s, %v; want %s", got, err, tc.want)
				}
				return
			}
			var fe *domain.FieldError
			if !errors.As(err, &fe) || fe.Field != tc.field {
				t.Fatalf("err = %v, want a field error at %s", err, tc.field)
			}
			if len(fe.Reason) < 10 {
				t.Errorf("reason %q is not clear", fe.Reason)
			}
		})
	}
}

func TestDuesExpected(t *testing.T) {
	d := domain.Builtin2016().Dues
	for _, tc := range []struct{ income, want domain.Fen }{
		{0, 0}, {1, 0}, {199, 0}, {200, 1}, {99999, 499}, {300000, 1500}, {300001, 3000}, {500000, 5000},
		{500001, 7500}, {1000000, 15000}, {1000001, 20000}, {1000099, 20001},
	} {
		if got := d.Expected(tc.income); got != tc.want {
			t.Errorf("Expected(%d) = %d, want %d", tc.income, got, tc.want)
		}
	}
}

func TestFinalAndTier(t *testing.T) {
	rb := domain.Builtin2016()
	for _, tc := range []struct{ online, group, final, tier string }{
		{"93.5", "92", "92.75", domain.TierAdvanced},
		{"100", "79.99", "90", domain.TierAdvanced}, // 89.995 rounds half up
		{"100", "79.98", "89.99", domain.TierCompliant},
		{"60", "60", "60", domain.TierCompliant},
		{"60", "59.99", "60", domain.TierCompliant},
		{"60", "59.98", "59.99", domain.TierNonCompliant},
		{"0", "0", "0", domain.TierNonCompliant},
	} {
		got := rb.Final(pts(t, tc.online), pts(t, tc.group))
		if got.String() != tc.final || rb.TierOf(got) != tc.tier {
			t.Errorf("Final(%s, %s) = %s %s, want %s %s", tc.online, tc.group, got, rb.TierOf(got), tc.final, tc.tier)
		}
	}
}

// TestRulebookInsidePublished: the rulebook travels inside a
// RulebookPublished payload, strictly on input and leniently from storage.
func TestRulebookInsidePublished(t *testing.T) {
	rb := domain.Builtin2016()
	p := &domain.RulebookPublished{Year: 2016, Version: "2016.1", Reason: "内置细则", Rulebook: rb}
	data, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	got, err := domain.DecodePayload(domain.TypeRulebookPublished, data)
	if err != nil {
		t.Fatal(err)
	}
	if got.(*domain.RulebookPublished).Rulebook.SHA256() != rb.SHA256() {
		t.Error("the rulebook changed on its way through the payload")
	}
	bad := bytes.Replace(data, []byte(`"total":100`), []byte(`"total":100,"surprise":1`), 1)
	if _, err := domain.DecodePayload(domain.TypeRulebookPublished, bad); err == nil {
		t.Error("an unknown field inside the rulebook was accepted on input")
	}
	if _, err := domain.DecodeStored(domain.TypeRulebookPublished, bad); err != nil {
		t.Errorf("a stored rulebook with an added field is unreadable: %v", err)
	}
	broken := rb.Clone()
	broken.Items[0].Value = 0
	p.Rulebook = broken
	var fe *domain.FieldError
	if err := p.Validate(); !errors.As(err, &fe) || !strings.HasPrefix(domain.FieldErrors(err)[0].Field, "rulebook.") {
		t.Errorf("Validate = %v, want problems under rulebook.", err)
	}
}

func ptr[T any](v T) *T { return &v }

func pts(t *testing.T, s string) domain.Points {
	t.Helper()
	p, err := domain.ParsePoints(s)
	if err != nil {
		t.Fatal(err)
	}
	return p
}
