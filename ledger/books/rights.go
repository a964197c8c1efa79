package books

import (
	"context"
	"errors"
	"time"

	"partyledger/domain"
)

// The rules of GOVERNANCE.md live here and in domain/governance.go, and
// nowhere else: RecordAs (and CheckAs, the import's first pass) judge
// every entry of every route (API, web forms, the CLI's record and
// import) with them, on the state just caught up under the lock that is
// held until the append.
//
// Who recorded an event is its recorded_by (domain.Principal.RecordedBy:
// "name (role token_id)"), read back with domain.RecorderRole into the
// organisation's state (domain.OrgState.Meta), so a retraction is judged
// on the retracted event as stored. recorded_by survives export and
// restore as it is; a plain import line is recorded by the importer.
//
// Lock order: an organisation's slot, then the committee gate (read),
// then the committee state (briefly). A committee append holds the gate
// for writing: a YearClosed recorded concurrently with an organisation's
// append waits until that append is stored (its recorded_at then precedes
// the close), and every append that takes the gate after the close sees
// it. Across processes sharing a store, each append reads the committee
// stream's head when it checks, so a close from another process is seen
// by the next check (the window is one append).

// GradeBasisFunc computes what an official grade is checked against: the
// scorecard of code for year at the year's end under rulebook version
// ("" the one in force at knownAt), as known at knownAt (zero: now).
// A *domain.FieldError reports a bad request (an unknown version); any
// other error a failure. It must not take the locks of Books (a
// scoreboard reading the ledger does not).
type GradeBasisFunc = func(ctx context.Context, code string, year int, version string, knownAt time.Time) (domain.GradeBasis, error)

// SetGradeBasis sets the computation grades and designations are checked
// against (scoreboard.New sets its board's). Until it is set, grades and
// designations are refused: they cannot be checked.
func (b *Books) SetGradeBasis(f GradeBasisFunc) {
	b.basisMu.Lock()
	defer b.basisMu.Unlock()
	b.basis = f
}

// basisFor returns the domain's view of the grade basis for one check;
// a failure that is not the request's fault is noted in c.
func (b *Books) basisFor(ctx context.Context, c *checkEnv) func(string, int, string, string) (domain.GradeBasis, error) {
	b.basisMu.RLock()
	f := b.basis
	b.basisMu.RUnlock()
	if f == nil {
		return nil
	}
	return func(code string, year int, version, knownAt string) (domain.GradeBasis, error) {
		var k time.Time
		if knownAt != "" {
			t, err := time.Parse(domain.InstantLayout, knownAt)
			if err != nil {
				return domain.GradeBasis{}, &domain.FieldError{Field: "data.scorecard_known_at", Reason: "want " + domain.InstantLayout}
			}
			if t.After(b.l.PeekNow()) {
				return domain.GradeBasis{}, &domain.FieldError{Field: "data.scorecard_known_at", Reason: "is in the future"}
			}
			k = t
		}
		g, err := f(ctx, code, year, version, k)
		var fe *domain.FieldError
		if err != nil && !errors.As(err, &fe) {
			c.note(err)
		}
		return g, err
	}
}

// preCheck is the stateless part of the rights (domain.CheckRecordRights),
// asked of every entry before anything is read.
var preCheck = domain.CheckRecordRights

// checkOrg judges an organisation's entry: the rules of who records
// first (403), then the state checks (422).
func checkOrg(st *domain.OrgState, p domain.Principal, e *domain.Entry, env *checkEnv) error {
	if err := st.CheckGovernance(p, e, &env.gov); err != nil {
		return err
	}
	return st.Check(e, &env.CheckEnv)
}

// checkCommittee judges a committee-stream entry likewise.
func checkCommittee(st *domain.Schedule, p domain.Principal, e *domain.Entry, env *checkEnv) error {
	if err := st.CheckGovernance(p, e, &env.gov, env.OrgKnown); err != nil {
		return err
	}
	return st.Check(e, &env.CheckEnv)
}
