package books

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/google/uuid"

	"partyledger/domain"
	"partyledger/ledger"
)

// gradeOf decodes a grade event; ok is false for other types.
func gradeOf(code string, e *ledger.Event) (domain.Grade, bool, error) {
	if e.Type != domain.TypeGradeIssued && e.Type != domain.TypeGradeRevised {
		return domain.Grade{}, false, nil
	}
	p, err := domain.DecodeStored(e.Type, e.Data)
	if err != nil {
		return domain.Grade{}, false, fmt.Errorf("ledger: event %s: %w", e.ID, err)
	}
	g := domain.Grade{Org: code, Type: e.Type, EventID: e.ID.String(), Revision: e.Revision, Position: uint64(e.Position),
		OccurredOn: e.OccurredOn, RecordedAt: e.RecordedAt, RecordedBy: e.RecordedBy}
	switch d := p.(type) {
	case *domain.GradeIssued:
		g.Year, g.RulebookVersion, g.Final, g.Tier, g.ScorecardSHA256 = d.Year, d.RulebookVersion, d.Final, d.Tier, d.ScorecardSHA256
		g.OverrideReason, g.Checkpoint = d.OverrideReason, d.Checkpoint
	case *domain.GradeRevised:
		g.Year, g.RulebookVersion, g.Final, g.Tier, g.ScorecardSHA256, g.Reason = d.Year, d.RulebookVersion, d.Final, d.Tier, d.ScorecardSHA256, d.Reason
		g.OverrideReason, g.Checkpoint = d.OverrideReason, d.Checkpoint
	}
	return g, true, nil
}

// OrgGrades returns every grade of an organisation for year, in recorded
// order (none: an empty list). An unregistered organisation has none.
func (b *Books) OrgGrades(ctx context.Context, code string, year int) ([]domain.Grade, error) {
	var out []domain.Grade
	for e, err := range b.l.ReadStream(ctx, OrgStream(code), 0) {
		if errors.Is(err, ledger.ErrStreamNotFound) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("ledger: grades of %s: %w", code, err)
		}
		g, ok, err := gradeOf(code, &e)
		if err != nil {
			return nil, err
		}
		if ok && g.Year == year {
			out = append(out, g)
		}
	}
	return out, nil
}

// Grades returns the grades of every organisation for year, by code, each
// in recorded order, in one pass over the ledger.
func (b *Books) Grades(ctx context.Context, year int) (map[string][]domain.Grade, error) {
	codes := map[string]string{} // stream → code
	out := map[string][]domain.Grade{}
	for e, err := range b.l.ReadAll(ctx, 0) {
		if err != nil {
			return nil, fmt.Errorf("ledger: grades of %d: %w", year, err)
		}
		if !strings.HasPrefix(e.Stream, PrefixOrg) {
			continue
		}
		if e.Type == domain.TypeOrganizationRegistered {
			p, err := domain.DecodeStored(e.Type, e.Data)
			if err != nil {
				return nil, err
			}
			codes[e.Stream] = p.(*domain.OrganizationRegistered).Code
			continue
		}
		g, ok, err := gradeOf(codes[e.Stream], &e)
		if err != nil {
			return nil, err
		}
		if ok && g.Year == year {
			out[g.Org] = append(out[g.Org], g)
		}
	}
	return out, nil
}

// GradeIssuedID is the id of an organisation's GradeIssued for a year: a
// year's grade is issued once, whoever issues it.
func GradeIssuedID(code string, year int) uuid.UUID {
	return DerivedID("grade-issued\x00" + code + "\x00" + strconv.Itoa(year))
}

// GradeRevisedID is the id of the GradeRevised that replaces the grade
// recorded as event prev: a grade is revised at most once, so two
// concurrent revisions of the same grade record one.
func GradeRevisedID(prev string) uuid.UUID { return DerivedID("grade-revised\x00" + prev) }

// ErrGradeExists is domain.ErrGradeExists, where the read side can test for it.
var ErrGradeExists = domain.ErrGradeExists

// IssueGrade records an organisation's first grade for g.Year on date on,
// as principal p (the work committee: the command line's local admin, or
// an admin token's principal), through the append path (RecordAs), and
// returns the event's id and whether it was already recorded (the same
// grade issued again). It returns ErrGradeExists when that organisation's
// grade for the year was already issued with other content.
func (b *Books) IssueGrade(ctx context.Context, code string, on domain.Date, g *domain.GradeIssued, p domain.Principal) (id string, duplicate bool, err error) {
	if err := g.Validate(); err != nil {
		return "", false, err
	}
	if err := b.EnsureBuiltin(ctx, g.Year); err != nil {
		return "", false, err
	}
	e := domain.Entry{ID: GradeIssuedID(code, g.Year).String(), Org: code, Type: domain.TypeGradeIssued, OccurredOn: on, Payload: g}
	return b.recordGrade(ctx, e, p)
}

// ReviseGrade records a GradeRevised replacing prev, the organisation's
// latest grade, and returns as IssueGrade does. It returns ErrGradeExists
// when prev was already revised.
func (b *Books) ReviseGrade(ctx context.Context, prev *domain.Grade, on domain.Date, g *domain.GradeRevised, p domain.Principal) (id string, duplicate bool, err error) {
	if err := g.Validate(); err != nil {
		return "", false, err
	}
	e := domain.Entry{ID: GradeRevisedID(prev.EventID).String(), Org: prev.Org, Type: domain.TypeGradeRevised, OccurredOn: on, Payload: g}
	return b.recordGrade(ctx, e, p)
}

func (b *Books) recordGrade(ctx context.Context, e domain.Entry, p domain.Principal) (string, bool, error) {
	res, err := b.RecordAs(ctx, []domain.Entry{e}, p, RecordOptions{})
	if errors.Is(err, ledger.ErrIDConflict) {
		return "", false, fmt.Errorf("%w: %s of %s (event %s)", ErrGradeExists, e.Type, e.Org, e.ID)
	}
	if err != nil {
		return "", false, err
	}
	return res[0].ID.String(), res[0].Duplicate, nil
}
