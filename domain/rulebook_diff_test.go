package domain_test

import (
	"fmt"
	"strings"
	"testing"

	"partyledger/domain"
)

func corrected(t testing.TB, edit func(rb *domain.Rulebook)) *domain.Rulebook {
	t.Helper()
	rb := domain.Builtin2016().Clone()
	rb.Version = "2016.2"
	edit(rb)
	if err := rb.Validate(); err != nil {
		t.Fatalf("the edited rulebook is invalid: %v", err)
	}
	return rb
}

func rule(t testing.TB, rb *domain.Rulebook, id string) *domain.Rule {
	t.Helper()
	for i := range rb.Items {
		for j := range rb.Items[i].Rules {
			if rb.Items[i].Rules[j].ID == id {
				return &rb.Items[i].Rules[j]
			}
		}
	}
	t.Fatalf("no rule %s", id)
	return nil
}

func render(d *domain.RulebookDiff) string {
	var b strings.Builder
	for _, c := range d.Changes {
		fmt.Fprintf(&b, "%s %s %s %s %s → %s\n", c.Area, c.Item, c.Op, c.Path, c.From, c.To)
	}
	return b.String()
}

func TestDiffRulebooks(t *testing.T) {
	old := domain.Builtin2016()
	t.Run("same document", func(t *testing.T) {
		d, err := domain.DiffRulebooks(old, old.Clone())
		if err != nil || len(d.Changes) != 0 {
			t.Fatalf("diff of equal rulebooks: %v\n%s", err, render(d))
		}
		if d.From.SHA256 != d.To.SHA256 || d.From.SHA256 != old.SHA256() {
			t.Fatalf("digests %s %s", d.From.SHA256, d.To.SHA256)
		}
	})
	t.Run("only the version differs", func(t *testing.T) {
		d, _ := domain.DiffRulebooks(old, corrected(t, func(*domain.Rulebook) {}))
		if len(d.Changes) != 0 || d.To.Version != "2016.2" || d.From.Version != "2016.1" {
			t.Fatalf("%+v\n%s", d, render(d))
		}
	})
	t.Run("general assembly minimum and a dues bracket", func(t *testing.T) {
		nb := corrected(t, func(rb *domain.Rulebook) {
			rule(t, rb, "5.3.general_assembly").Need = 3
			rb.Dues.Rates[1].RateBP = 80
		})
		d, err := domain.DiffRulebooks(old, nb)
		if err != nil {
			t.Fatal(err)
		}
		got := render(d)
		want := "dues  changed dues.rates[1].rate_bp 100 → 80\n" +
			"rules 5.3 changed items[5.3].rules[5.3.general_assembly].need 4 → 3\n"
		if got != want {
			t.Fatalf("got\n%s\nwant\n%s", got, want)
		}
		if codes := d.ItemCodes(); len(codes) != 1 || codes[0] != "5.3" {
			t.Fatalf("item codes %v", codes)
		}
	})
	t.Run("values, rules, findings, vetoes, thresholds, items", func(t *testing.T) {
		nb := corrected(t, func(rb *domain.Rulebook) {
			// 1.2 loses a point to 1.4 (the section keeps its value).
			rb.Item("1.2").Value -= 100
			rb.Item("1.2").Findings[0].Points = 100
			rb.Item("1.4").Value += 100
			rb.Item("1.4").Findings = append(rb.Item("1.4").Findings, domain.FindingRule{Code: "mass_org_weak", Label: "群团工作薄弱", Points: 50})
			// 5.5 drops its finding; a rule's reason is reworded.
			rb.Item("5.5").Findings = nil
			rule(t, rb, "5.2.notes").Reason = "学习无记录的扣1分"
			rb.Tiers[0].Min = 8500
			rb.Vetoes[2].TierMax = domain.TierNonCompliant
		})
		d, err := domain.DiffRulebooks(old, nb)
		if err != nil {
			t.Fatal(err)
		}
		areas := map[string]int{}
		for _, c := range d.Changes {
			areas[c.Area]++
		}
		for area, n := range map[string]int{domain.DiffAreaValue: 2, domain.DiffAreaFindings: 3, domain.DiffAreaRules: 1,
			domain.DiffAreaTiers: 1, domain.DiffAreaVetoes: 1} {
			if areas[area] != n {
				t.Errorf("area %s: %d changes, want %d\n%s", area, areas[area], n, render(d))
			}
		}
		out := render(d)
		for _, want := range []string{
			"tiers  changed tiers[advanced].min 90 → 85",
			"findings 1.4 added items[1.4].findings[mass_org_weak]  → {\"code\":\"mass_org_weak\",\"label\":\"群团工作薄弱\",\"points\":0.5}",
			"findings 5.5 removed items[5.5].findings ",
			"value 1.2 changed items[1.2].value 5 → 4",
			"vetoes  changed vetoes[V3].tier_max \"compliant\" → \"non_compliant\"",
		} {
			if !strings.Contains(out, want) {
				t.Errorf("diff lacks %q:\n%s", want, out)
			}
		}
	})
	t.Run("item removed and added", func(t *testing.T) {
		a := domain.Builtin2016().Clone()
		b := a.Clone()
		b.Version = "x"
		b.Items = b.Items[1:]
		b.Items = append(b.Items, domain.RuleItem{Code: "6.1", Section: "6", Title: "新增", Value: 100})
		d, err := domain.DiffRulebooks(a, b)
		if err != nil {
			t.Fatal(err)
		}
		var ops []string
		for _, c := range d.Changes {
			if c.Area == domain.DiffAreaItem {
				ops = append(ops, c.Op+" "+c.Item)
			}
		}
		if strings.Join(ops, ",") != "added 6.1,removed 1.1" {
			t.Fatalf("item changes %v\n%s", ops, render(d))
		}
	})
}
