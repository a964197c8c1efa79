package projections

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"

	"partyledger/domain"
)

// ScorecardDiff compares one organisation's scorecards under two
// rulebooks (or two instants): the standing under each, and every item
// whose value, score or deductions differ, with both sets of deductions
// and their reasons.
type ScorecardDiff struct {
	Org   string         `json:"org"`
	Name  string         `json:"name,omitempty"`
	Kind  domain.OrgKind `json:"kind,omitempty"`
	Old   Standing       `json:"old"`
	New   Standing       `json:"new"`
	Items []ItemChange   `json:"items"`
}

// Standing is the result part of a scorecard.
type Standing struct {
	Rulebook    RulebookRef    `json:"rulebook"`
	KnownAt     string         `json:"known_at"`
	Online      domain.Points  `json:"online"`
	Group       *domain.Points `json:"group"`
	Final       domain.Points  `json:"final"`
	Provisional bool           `json:"provisional"`
	TierByScore string         `json:"tier_by_score"`
	Tier        string         `json:"tier"`
	Vetoes      []Veto         `json:"vetoes"`
}

// ItemChange is one item that differs; Old or New is nil when the item is
// only in one rulebook.
type ItemChange struct {
	Code  string    `json:"code"`
	Title string    `json:"title,omitempty"`
	Old   *ItemSide `json:"old"`
	New   *ItemSide `json:"new"`
}

// ItemSide is one item under one rulebook.
type ItemSide struct {
	Value      domain.Points `json:"value"`
	Score      domain.Points `json:"score"`
	Deductions []Deduction   `json:"deductions"`
}

func standingOf(sc *Scorecard) Standing {
	return Standing{Rulebook: sc.Rulebook, KnownAt: sc.KnownAt, Online: sc.Online, Group: sc.Group, Final: sc.Final,
		Provisional: sc.Provisional, TierByScore: sc.TierByScore, Tier: sc.Tier, Vetoes: sc.Vetoes}
}

// GradeChanged reports whether the final score or the tier differ: what
// makes an official grade change.
func (d *ScorecardDiff) GradeChanged() bool {
	return d.Old.Final != d.New.Final || d.Old.Tier != d.New.Tier
}

// DiffScorecards compares two scorecards of one organisation. Items are
// matched by code; an item is listed when its value, score or deductions
// (points, reasons, evidence) differ.
func DiffScorecards(old, new *Scorecard) *ScorecardDiff {
	d := &ScorecardDiff{Org: new.Org, Name: new.Name, Kind: new.Kind, Old: standingOf(old), New: standingOf(new),
		Items: []ItemChange{}}
	side := func(it *Item) *ItemSide {
		if it == nil {
			return nil
		}
		return &ItemSide{Value: it.Value, Score: it.Score, Deductions: it.Deductions}
	}
	find := func(items []Item, code string) *Item {
		for i := range items {
			if items[i].Code == code {
				return &items[i]
			}
		}
		return nil
	}
	add := func(a, b *Item) {
		if a != nil && b != nil && a.Value == b.Value && a.Score == b.Score && sameDeductions(a.Deductions, b.Deductions) {
			return
		}
		c := ItemChange{Old: side(a), New: side(b)}
		if b != nil {
			c.Code, c.Title = b.Code, b.Title
		} else {
			c.Code, c.Title = a.Code, a.Title
		}
		d.Items = append(d.Items, c)
	}
	for i := range new.Items {
		add(find(old.Items, new.Items[i].Code), &new.Items[i])
	}
	for i := range old.Items {
		if find(new.Items, old.Items[i].Code) == nil {
			add(&old.Items[i], nil)
		}
	}
	return d
}

func sameDeductions(a, b []Deduction) bool {
	if len(a) != len(b) {
		return false
	}
	ja, err1 := json.Marshal(a)
	jb, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && string(ja) == string(jb)
}

// TierTransition counts the organisations that went from one tier to
// another (or stayed: From == To).
type TierTransition struct {
	From string `json:"from"`
	To   string `json:"to"`
	Orgs int    `json:"orgs"`
}

// RecomputeReport is the outcome of scoring every organisation of a year
// under two rulebooks: who changed and why, and how the tiers moved.
type RecomputeReport struct {
	Year    int         `json:"year"`
	AsOf    domain.Date `json:"as_of"`
	KnownAt string      `json:"known_at"`
	From    RulebookRef `json:"from"`
	To      RulebookRef `json:"to"`
	// Orgs is the number of organisations scored under both.
	Orgs int `json:"orgs"`
	// GradeChanged counts those whose final score or tier changed;
	// TierChanged those whose tier changed.
	GradeChanged int `json:"grade_changed"`
	TierChanged  int `json:"tier_changed"`
	// Transitions: every (old tier, new tier) pair that occurs, best
	// tiers first, with its number of organisations.
	Transitions []TierTransition `json:"transitions"`
	// Changed: the organisations whose final score or tier changed, by code.
	Changed []*ScorecardDiff `json:"changed"`
}

// Recomputation accumulates a RecomputeReport one organisation at a time
// (so that a large year never holds every scorecard at once).
type Recomputation struct {
	r     RecomputeReport
	moves map[[2]string]int
}

// NewRecomputation starts a report for q under rulebooks from and to.
func NewRecomputation(from, to *domain.Rulebook, q Query) *Recomputation {
	asOf := q.AsOf
	if end := domain.YearEnd(q.Year); asOf.IsZero() || asOf.After(end) {
		asOf = end
	}
	return &Recomputation{r: RecomputeReport{Year: q.Year, AsOf: asOf, KnownAt: q.KnownAt.UTC().Format(KnownAtLayout),
		From: RulebookRef{from.Version, from.SHA256()}, To: RulebookRef{to.Version, to.SHA256()},
		Transitions: []TierTransition{}, Changed: []*ScorecardDiff{}}, moves: map[[2]string]int{}}
}

// Add counts one organisation scored under both rulebooks.
func (rc *Recomputation) Add(old, new *Scorecard) {
	var d *ScorecardDiff
	if old.Final != new.Final || old.Tier != new.Tier {
		d = DiffScorecards(old, new)
	}
	rc.add(old.Tier, new.Tier, d)
}

// AddSame counts one organisation whose final score and tier are the same
// under both rulebooks: what Add counts for it, without its scorecards (a
// caller that ranks with rows scores only the organisations that changed).
func (rc *Recomputation) AddSame(tier string) { rc.add(tier, tier, nil) }

// add counts one organisation; d is its diff when its grade changed.
func (rc *Recomputation) add(oldTier, newTier string, d *ScorecardDiff) {
	rc.r.Orgs++
	rc.moves[[2]string{oldTier, newTier}]++
	if d == nil {
		return
	}
	rc.r.GradeChanged++
	if oldTier != newTier {
		rc.r.TierChanged++
	}
	rc.r.Changed = append(rc.r.Changed, d)
}

// Report returns the finished report; to is the rulebook tiers are ranked by.
func (rc *Recomputation) Report(to *domain.Rulebook) *RecomputeReport {
	r := rc.r
	r.Transitions = make([]TierTransition, 0, len(rc.moves))
	for k, n := range rc.moves {
		r.Transitions = append(r.Transitions, TierTransition{From: k[0], To: k[1], Orgs: n})
	}
	rank := func(t string) int {
		if i := to.TierRank(t); i >= 0 {
			return i
		}
		return len(to.Tiers)
	}
	slices.SortFunc(r.Transitions, func(a, b TierTransition) int {
		if c := cmp.Compare(rank(a.From), rank(b.From)); c != 0 {
			return c
		}
		if c := cmp.Compare(a.From, b.From); c != 0 {
			return c
		}
		if c := cmp.Compare(rank(a.To), rank(b.To)); c != 0 {
			return c
		}
		return cmp.Compare(a.To, b.To)
	})
	r.Changed = slices.Clone(r.Changed)
	slices.SortFunc(r.Changed, func(a, b *ScorecardDiff) int { return cmp.Compare(a.Org, b.Org) })
	return &r
}

// RecomputeAll scores every organisation's facts under rulebooks from and
// to with the same query and reports the differences. Organisations not
// registered as known at q.KnownAt, or not founded yet at D, are left out. It scores on every CPU:
// facts are only read, so they must not be applied to meanwhile.
func RecomputeAll(facts []*Facts, from, to *domain.Rulebook, q Query) (*RecomputeReport, error) {
	pf, err := planFor(from)
	if err != nil {
		return nil, fmt.Errorf("projections: rulebook %s: %w", from.Version, err)
	}
	pt, err := planFor(to)
	if err != nil {
		return nil, fmt.Errorf("projections: rulebook %s: %w", to.Version, err)
	}
	// Each organisation keeps only its tiers and, when its grade changed,
	// its diff: a large year never holds every scorecard at once.
	type outcome struct {
		scored           bool
		oldTier, newTier string
		diff             *ScorecardDiff
		err              error
	}
	outs := make([]outcome, len(facts))
	workers := min(runtime.GOMAXPROCS(0), max(1, len(facts)))
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				k := int(next.Add(1) - 1)
				if k >= len(facts) {
					return
				}
				o := &outs[k]
				old, err := scoreWith(facts[k], pf, q)
				if err != nil || old == nil {
					o.err = err
					continue
				}
				new, err := scoreWith(facts[k], pt, q)
				if err != nil || new == nil {
					o.err = err
					continue
				}
				o.scored, o.oldTier, o.newTier = true, old.Tier, new.Tier
				if old.Final != new.Final || old.Tier != new.Tier {
					o.diff = DiffScorecards(old, new)
				}
			}
		}()
	}
	wg.Wait()
	rc := NewRecomputation(from, to, q)
	for k := range outs {
		o := &outs[k]
		if o.err != nil {
			return nil, o.err
		}
		if o.scored {
			rc.add(o.oldTier, o.newTier, o.diff)
		}
	}
	return rc.Report(to), nil
}

// scoreWith scores one organisation; nil (no error) when it is not
// registered at K or not founded at D.
func scoreWith(f *Facts, p *plan, q Query) (*Scorecard, error) {
	v, err := newView(f, p, q)
	if errors.Is(err, ErrNotRegistered) || errors.Is(err, ErrNotFounded) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return v.score(), nil
}
