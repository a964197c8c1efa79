package projections_test

import (
	"testing"

	"partyledger/domain"
)

func TestPerfectScoresFull(t *testing.T) {
	for _, tc := range []struct {
		kind      domain.OrgKind
		hasGroups bool
	}{
		{domain.KindCommittee, false}, {domain.KindGeneralBranch, false}, {domain.KindGeneralBranch, true},
		{domain.KindBranch, true}, {domain.KindBranch, false},
	} {
		t.Run(string(tc.kind), func(t *testing.T) {
			sc := perfect(tc.kind, tc.hasGroups).score(t, "")
			wantDeductions(t, sc, nil)
			if got, want := sc.Online, pts("100"); got != want {
				t.Errorf("online = %s, want %s", got, want)
			}
			if len(sc.Vetoes) != 0 {
				t.Errorf("vetoes = %v, want none", vetoCodes(sc))
			}
		})
	}
}
