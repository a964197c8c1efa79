package projections

import (
	"slices"
	"testing"

	"partyledger/domain"
)

// TestRuleKindsTable: every rule kind a rulebook may name has an
// evaluation, and the table holds no kind the rulebook does not know.
func TestRuleKindsTable(t *testing.T) {
	for _, k := range domain.RuleKinds {
		if ruleKinds[k] == nil {
			t.Errorf("rule kind %q has no evaluation in ruleKinds", k)
		}
	}
	for k := range ruleKinds {
		if !slices.Contains(domain.RuleKinds, k) {
			t.Errorf("ruleKinds evaluates %q, which domain.RuleKinds does not list", k)
		}
	}
}
