package scoreboard_test

import (
	"context"
	"encoding/json"
	"iter"
	"testing"
	"time"

	"partyledger/domain"
	"partyledger/domain/democity"
	"partyledger/projections/scoreboard"
)

// memSource is the board's Source over a slice of events: no store at
// all, which is what the interface is for.
type memSource struct {
	events []domain.Recorded
	now    time.Time
}

func newMemSource(tb testing.TB, lines []domain.JournalLine) *memSource {
	tb.Helper()
	s := &memSource{now: start.Add(time.Hour)}
	revs := map[string]uint64{}
	for i, l := range lines {
		raw, _ := json.Marshal(l)
		e, err := domain.ParseJournalLine(raw)
		if err != nil {
			tb.Fatal(err)
		}
		stream := "committee"
		if l.Org != "" {
			stream = "org:" + l.Org
		}
		s.events = append(s.events, domain.Recorded{ID: e.ID, Stream: stream, Type: e.Type, Revision: revs[stream],
			Position: uint64(i + 1), OccurredOn: e.OccurredOn, RecordedAt: start.Add(time.Duration(i) * time.Millisecond),
			RecordedBy: "test", Payload: e.Payload})
		revs[stream]++
	}
	return s
}

func (s *memSource) ReadAll(_ context.Context, from uint64) iter.Seq2[domain.Recorded, error] {
	return func(yield func(domain.Recorded, error) bool) {
		for _, e := range s.events {
			if e.Position > from && !yield(e, nil) {
				return
			}
		}
	}
}

func (s *memSource) Subscribe(ctx context.Context, from uint64) iter.Seq2[domain.Recorded, error] {
	return func(yield func(domain.Recorded, error) bool) {
		for e, err := range s.ReadAll(ctx, from) {
			if !yield(e, err) {
				return
			}
		}
		<-ctx.Done()
	}
}

func (s *memSource) ReadOrg(_ context.Context, code string) iter.Seq2[domain.Recorded, error] {
	return func(yield func(domain.Recorded, error) bool) {
		for _, e := range s.events {
			if e.Stream == "org:"+code && !yield(e, nil) {
				return
			}
		}
	}
}

func (s *memSource) Now() time.Time { return s.now }

func (s *memSource) Rulebooks(context.Context, int) ([]domain.PublishedRulebook, error) {
	return []domain.PublishedRulebook{{Rulebook: domain.Builtin2016(), Builtin: true}}, nil
}

func (s *memSource) RulebookAt(context.Context, int, time.Time, string) (*domain.Rulebook, error) {
	return domain.Builtin2016(), nil
}

func (s *memSource) Grades(context.Context, int) (map[string][]domain.Grade, error) { return nil, nil }

func (s *memSource) IssueGrade(context.Context, string, domain.Date, *domain.GradeIssued, domain.Principal) (string, bool, error) {
	panic("not in this test")
}

func (s *memSource) ReviseGrade(context.Context, *domain.Grade, domain.Date, *domain.GradeRevised, domain.Principal) (string, bool, error) {
	panic("not in this test")
}

// TestBoardOverAnySource: the board reads through its own interface, so
// a city held in memory ranks exactly as the same city appended to the
// embedded store through the append path.
func TestBoardOverAnySource(t *testing.T) {
	ctx := context.Background()
	lines := democity.Generate(11, democity.Options{Orgs: 12})
	mem, err := scoreboard.New(newMemSource(t, lines), scoreboard.Options{}).ScoreAll(ctx, scoreboard.Query{Year: 2016})
	if err != nil {
		t.Fatal(err)
	}
	stored, err := scoreboard.New(city(t, 12), scoreboard.Options{}).ScoreAll(ctx, scoreboard.Query{Year: 2016})
	if err != nil {
		t.Fatal(err)
	}
	if len(mem) != len(stored) || len(mem) == 0 {
		t.Fatalf("%d scorecards in memory, %d stored", len(mem), len(stored))
	}
	for i := range mem {
		a, b := mem[i], stored[i]
		if a.Org != b.Org || a.Final != b.Final || a.Online != b.Online || a.Tier != b.Tier || len(a.Vetoes) != len(b.Vetoes) {
			t.Errorf("rank %d: memory %s %v %v %s, stored %s %v %v %s", i+1, a.Org, a.Online, a.Final, a.Tier, b.Org, b.Online, b.Final, b.Tier)
		}
	}
}
