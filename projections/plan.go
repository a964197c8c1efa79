package projections

import (
	"fmt"
	"sync"
	"sync/atomic"

	"partyledger/domain"
)

// plan is a validated rulebook with what scoring derives from it once:
// its digest and its event matches resolved to indices.
type plan struct {
	rb    *domain.Rulebook
	sha   string
	items []itemPlan
}

type itemPlan struct {
	it    *domain.RuleItem
	rules []rulePlan
}

type rulePlan struct {
	r     *domain.Rule
	match []matchPlan
	// values (RuleEach): the category index of each of r.Values, and the
	// label of its counts ("r.Label：value label").
	values []uint8
	labels []string
}

// matchPlan selects the acts of one countable type whose category is in
// mask (every category when all).
type matchPlan struct {
	ti   int
	all  bool
	mask uint64
}

func (m *matchPlan) ok(a *act) bool { return m.all || m.mask&(1<<a.cat) != 0 }

// Plans are cached by rulebook pointer: a rulebook is immutable once used
// (domain.Rulebook says so), and the digest alone costs more than scoring
// an organisation. The cache is bounded; past the bound it starts over.
var (
	plans     sync.Map // *domain.Rulebook → *plan
	planCount atomic.Int64
)

const maxCachedPlans = 64

func planFor(rb *domain.Rulebook) (*plan, error) {
	if rb == nil {
		return nil, fmt.Errorf("projections: no rulebook")
	}
	if p, ok := plans.Load(rb); ok {
		return p.(*plan), nil
	}
	p, err := compile(rb)
	if err != nil {
		return nil, err
	}
	if planCount.Add(1) > maxCachedPlans {
		plans.Clear()
		planCount.Store(1)
	}
	plans.Store(rb, p)
	return p, nil
}

func compile(rb *domain.Rulebook) (*plan, error) {
	if err := rb.Validate(); err != nil {
		return nil, fmt.Errorf("projections: rulebook %s is invalid: %w", rb.Version, err)
	}
	p := &plan{rb: rb, sha: rb.SHA256(), items: make([]itemPlan, len(rb.Items))}
	for i := range rb.Items {
		it := &rb.Items[i]
		ip := itemPlan{it: it, rules: make([]rulePlan, len(it.Rules))}
		for j := range it.Rules {
			r := &it.Rules[j]
			rp := rulePlan{r: r}
			for _, m := range r.Match {
				ti := countableIndex[m.Type]
				c := domain.CountableEvents()[ti]
				mp := matchPlan{ti: ti, all: len(m.Values) == 0}
				for _, v := range m.Values {
					mp.mask |= 1 << c.ValueIndex(v)
				}
				rp.match = append(rp.match, mp)
			}
			if r.Kind == domain.RuleEach {
				c := domain.CountableEvents()[countableIndex[r.Match[0].Type]]
				for _, v := range r.Values {
					rp.values = append(rp.values, uint8(c.ValueIndex(v.Value)))
					rp.labels = append(rp.labels, r.Label+"："+v.Label)
				}
			}
			ip.rules[j] = rp
		}
		p.items[i] = ip
	}
	return p, nil
}
