package projections_test

import (
	"errors"
	"testing"
	"time"

	"partyledger/domain"
	"partyledger/projections"
)

// TestCatalogFolds iterates the event catalog: every type of an
// organisation's stream has a case in Facts.Apply, every committee type
// one in Schedule.Apply, and every type a Chinese label. A type added to
// the catalog without its fold fails here, not on a live ledger.
func TestCatalogFolds(t *testing.T) {
	at := time.Date(2016, 3, 1, 0, 0, 0, 0, time.UTC)
	on := domain.MustDate("2016-03-01")
	for _, typ := range domain.Types() {
		t.Run(typ, func(t *testing.T) {
			if domain.TypeLabel(typ) == typ {
				t.Errorf("%s has no label", typ)
			}
			kind, _ := domain.StreamKindOf(typ)
			p, err := domain.NewPayload(typ)
			if err != nil {
				t.Fatal(err)
			}
			r := domain.Recorded{ID: "00000000-0000-4000-8000-000000000002", Type: typ, Revision: 1, Position: 2,
				OccurredOn: on, RecordedAt: at, RecordedBy: "t", Payload: p}
			switch kind {
			case domain.StreamOrg:
				f := projections.NewFacts("LY-0001")
				reg := domain.Recorded{ID: "00000000-0000-4000-8000-000000000001", Type: domain.TypeOrganizationRegistered,
					Position: 1, OccurredOn: on, RecordedAt: at, RecordedBy: "t",
					Payload: &domain.OrganizationRegistered{Code: "LY-0001", Name: "一支部", Kind: domain.KindBranch}}
				if err := f.Apply(reg); err != nil {
					t.Fatal(err)
				}
				if err := f.Apply(r); errors.Is(err, projections.ErrUnknownPayload) {
					t.Fatalf("Facts.Apply has no case for %s: %v", typ, err)
				}
			case domain.StreamCommittee:
				s := projections.NewSchedule()
				if err := s.Apply(r); errors.Is(err, projections.ErrWrongStream) || errors.Is(err, projections.ErrUnknownPayload) {
					t.Fatalf("Schedule.Apply has no case for %s: %v", typ, err)
				}
			}
		})
	}
}
