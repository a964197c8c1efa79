package books

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/google/uuid"

	"partyledger/domain"
	"partyledger/ledger"
)

// Stream naming. Organisation and committee streams are named by UUIDs
// derived (version 5) from fixed namespaces, so the same code always maps
// to the same stream — in every ledger, across export and import.
var (
	nsOrg       = uuid.MustParse("6f1c2a4e-9b0d-5e7a-8c3f-2d4b6a8e0c11")
	nsCommittee = uuid.MustParse("0b7e3d52-4a1f-5c9e-9d2b-7f6a1e3c5b22")
	nsEvent     = uuid.MustParse("a3d94c17-2e8b-5f60-b1c4-93e7d2a85f33")
)

// Stream name prefixes: every stream of the ledger starts with one.
const (
	PrefixOrg       = "org-"
	PrefixCommittee = "committee-"
	PrefixRulebook  = "rulebook-"
	PrefixAuth      = "auth-" // API tokens (hashes only): see package api
)

// StreamPrefixes lists the prefixes of the ledger's streams (for stores
// that share a server with other applications and filter $all).
var StreamPrefixes = []string{PrefixOrg, PrefixCommittee, PrefixRulebook, PrefixAuth}

// OrgStream returns the stream of the organisation with code.
func OrgStream(code string) string {
	return PrefixOrg + uuid.NewSHA1(nsOrg, []byte(code)).String()
}

// CommitteeStream is the work committee's stream.
var CommitteeStream = PrefixCommittee + uuid.NewSHA1(nsCommittee, []byte("work-committee")).String()

// RulebookStream returns the stream of a year's rulebook versions.
func RulebookStream(year int) string { return PrefixRulebook + strconv.Itoa(year) }

// DerivedID returns a deterministic event id for a name: used where an
// event must be recorded at most once whoever records it (the built-in
// rulebook's publication, an import line without an id).
func DerivedID(name string) uuid.UUID { return uuid.NewSHA1(nsEvent, []byte(name)) }

// Books is the domain-aware face of the ledger: it turns entries into
// events, checks each against the organisation's current state before
// anything is stored (a member must belong, a case must exist, a finding
// must be in the rulebook…), and appends with the exact revision the
// check saw, so a concurrent writer cannot slip a conflicting event in
// between.
//
// It is also the one place the rules of GOVERNANCE.md are enforced (who
// may record, retract and reject what, the year close, the grade rules:
// domain.OrgState.CheckGovernance), for every entry route, on the state
// read under the same lock as the append; see rights.go.
type Books struct {
	l *ledger.Ledger

	mu        sync.Mutex
	orgs      map[string]*orgSlot // by code
	sched     schedSlot
	rulebooks map[int]*rbSlot

	basisMu sync.RWMutex
	basis   GradeBasisFunc // nil until SetGradeBasis
}

type orgSlot struct {
	mu sync.Mutex
	st *domain.OrgState
}

type schedSlot struct {
	// gate orders appends against the committee stream: an organisation's
	// append holds it for reading from its check to its append, a
	// committee append (a YearClosed, a designation) for writing, so a
	// close is never recorded between an entry's check and its append.
	gate sync.RWMutex
	mu   sync.Mutex // guards st
	st   *domain.Schedule
}

type rbSlot struct {
	mu       sync.Mutex
	revision int64
	versions []domain.PublishedRulebook
}

// New returns the domain layer over l.
func New(l *ledger.Ledger) *Books {
	return &Books{l: l, orgs: map[string]*orgSlot{}, rulebooks: map[int]*rbSlot{}}
}

// EntryError is a refused entry: its index in the request and its problems.
type EntryError struct {
	Index int
	Err   error // field errors (domain.FieldErrors) or a ledger error
}

func (e *EntryError) Error() string { return fmt.Sprintf("entry %d: %v", e.Index, e.Err) }
func (e *EntryError) Unwrap() error { return e.Err }

// StreamOf returns the stream an entry belongs in.
func StreamOf(e *domain.Entry) (string, error) {
	kind, ok := domain.StreamKindOf(e.Type)
	if !ok {
		return "", &domain.FieldError{Field: "type", Reason: fmt.Sprintf("unknown event type %q", e.Type)}
	}
	switch kind {
	case domain.StreamOrg:
		if e.Org == "" {
			return "", &domain.FieldError{Field: "org", Reason: "required"}
		}
		return OrgStream(e.Org), nil
	case domain.StreamCommittee:
		return CommitteeStream, nil
	}
	rp, ok := e.Payload.(*domain.RulebookPublished)
	if !ok {
		return "", &domain.FieldError{Field: "type", Reason: "not a rulebook event"}
	}
	return RulebookStream(rp.Year), nil
}

// EntryOf turns a stored event back into an entry (payload decoded
// leniently, see domain.DecodeStored).
func EntryOf(e *ledger.Event) (domain.Entry, error) {
	p, err := domain.DecodeStored(e.Type, e.Data)
	if err != nil {
		return domain.Entry{}, fmt.Errorf("ledger: event %s: %w", e.ID, err)
	}
	ent := domain.Entry{ID: e.ID.String(), Type: e.Type, Payload: p}
	if e.OccurredOn != "" {
		d, err := domain.ParseDate(e.OccurredOn)
		if err != nil {
			return domain.Entry{}, fmt.Errorf("ledger: event %s: occurred_on: %w", e.ID, err)
		}
		ent.OccurredOn = d
	}
	return ent, nil
}

// Recorded converts a stored event to the form the pure folds take.
func Recorded(e *ledger.Event) (domain.Recorded, error) {
	ent, err := EntryOf(e)
	if err != nil {
		return domain.Recorded{}, err
	}
	return domain.Recorded{ID: e.ID.String(), Stream: e.Stream, Type: e.Type, Revision: e.Revision,
		Position: uint64(e.Position), OccurredOn: ent.OccurredOn, RecordedAt: e.RecordedAt,
		RecordedBy: e.RecordedBy, Payload: ent.Payload}, nil
}

func proposedOf(e *domain.Entry, by string) (ledger.Proposed, error) {
	data, err := domain.CanonicalJSON(e.Payload)
	if err != nil {
		return ledger.Proposed{}, fmt.Errorf("ledger: encode %s: %w", e.Type, err)
	}
	p := ledger.Proposed{Type: e.Type, OccurredOn: e.OccurredOn.String(), RecordedBy: by, Data: data}
	if e.ID != "" {
		id, err := uuid.Parse(e.ID)
		if err != nil {
			return ledger.Proposed{}, &domain.FieldError{Field: "id", Reason: "want a UUID"}
		}
		p.ID = id
	}
	return p, nil
}

// slot returns the (possibly unloaded) state slot of an organisation.
func (b *Books) slot(code string) *orgSlot {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.orgs[code]
	if s == nil {
		s = &orgSlot{st: domain.NewOrgState()}
		b.orgs[code] = s
	}
	return s
}

// catchUp folds events another writer may have appended since the state
// was last folded. Caller holds s.mu.
func (b *Books) catchUpOrg(ctx context.Context, code string, s *orgSlot) error {
	for e, err := range b.l.ReadStream(ctx, OrgStream(code), uint64(s.st.Revision+1)) {
		if errors.Is(err, ledger.ErrStreamNotFound) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("ledger: load %s: %w", code, err)
		}
		ent, err := EntryOf(&e)
		if err != nil {
			return err
		}
		s.st.ApplyBy(ent.ID, int64(e.Revision), &ent, domain.RecorderRole(e.RecordedBy))
	}
	return nil
}

// Org returns a copy of an organisation's current state, or nil when it
// is not registered.
func (b *Books) Org(ctx context.Context, code string) (*domain.OrgState, error) {
	if domain.OrgCodeProblem(code) != "" {
		return nil, nil
	}
	s := b.slot(code)
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := b.catchUpOrg(ctx, code, s); err != nil {
		return nil, err
	}
	if !s.st.Registered() {
		return nil, nil
	}
	return s.st.Clone(), nil
}

func (b *Books) orgKnown(ctx context.Context, code string) (bool, error) {
	if domain.OrgCodeProblem(code) != "" {
		return false, nil
	}
	b.mu.Lock()
	s := b.orgs[code]
	b.mu.Unlock()
	if s != nil && s.mu.TryLock() {
		defer s.mu.Unlock()
		if s.st.Registered() {
			return true, nil
		}
		if err := b.catchUpOrg(ctx, code, s); err != nil {
			return false, err
		}
		return s.st.Registered(), nil
	}
	// The state is not loaded (no need to fold the whole stream to know
	// it exists), or its slot is busy (an append to it is in flight,
	// possibly ours): ask the store directly.
	_, err := b.l.LastEvent(ctx, OrgStream(code))
	switch {
	case errors.Is(err, ledger.ErrStreamNotFound):
		return false, nil
	case err != nil:
		return false, err
	}
	return true, nil
}

func (b *Books) schedule(ctx context.Context) (*domain.Schedule, error) {
	b.sched.mu.Lock()
	defer b.sched.mu.Unlock()
	if b.sched.st == nil {
		b.sched.st = domain.NewSchedule()
	}
	for e, err := range b.l.ReadStream(ctx, CommitteeStream, uint64(b.sched.st.Revision+1)) {
		if errors.Is(err, ledger.ErrStreamNotFound) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("ledger: load the committee stream: %w", err)
		}
		ent, err := EntryOf(&e)
		if err != nil {
			return nil, err
		}
		b.sched.st.Apply(ent.ID, int64(e.Revision), &ent)
	}
	return b.sched.st.Clone(), nil
}

// Schedule returns the work committee's scheduled events.
func (b *Books) Schedule(ctx context.Context) (*domain.Schedule, error) { return b.schedule(ctx) }

// Rulebooks returns every version published for year, in recorded order.
// When none is recorded and the built-in rulebook is for year, it is
// returned alone with Builtin set.
func (b *Books) Rulebooks(ctx context.Context, year int) ([]domain.PublishedRulebook, error) {
	b.mu.Lock()
	s := b.rulebooks[year]
	if s == nil {
		s = &rbSlot{revision: ledger.NoStream}
		b.rulebooks[year] = s
	}
	b.mu.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	for e, err := range b.l.ReadStream(ctx, RulebookStream(year), uint64(s.revision+1)) {
		if errors.Is(err, ledger.ErrStreamNotFound) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("ledger: load rulebooks of %d: %w", year, err)
		}
		p, err := domain.DecodeStored(e.Type, e.Data)
		if err != nil {
			return nil, err
		}
		rp, ok := p.(*domain.RulebookPublished)
		if !ok || rp.Rulebook == nil {
			return nil, fmt.Errorf("ledger: %s revision %d is a %s, not a rulebook", e.Stream, e.Revision, e.Type)
		}
		s.versions = append(s.versions, domain.PublishedRulebook{Rulebook: rp.Rulebook, Reason: rp.Reason,
			EventID: e.ID.String(), RecordedAt: e.RecordedAt, RecordedBy: e.RecordedBy})
		s.revision = int64(e.Revision)
	}
	if len(s.versions) == 0 {
		if bi := domain.Builtin2016(); bi.Year == year {
			return []domain.PublishedRulebook{{Rulebook: bi, Reason: "内置细则", Builtin: true}}, nil
		}
		return nil, nil
	}
	return append([]domain.PublishedRulebook(nil), s.versions...), nil
}

// RulebookAt returns the rulebook of year in force at knownAt: the newest
// version recorded at or before it, or the built-in one when none was.
// When version is not empty it names the version instead (any recorded
// version, or the built-in one).
func (b *Books) RulebookAt(ctx context.Context, year int, knownAt time.Time, version string) (*domain.Rulebook, error) {
	all, err := b.Rulebooks(ctx, year)
	if err != nil {
		return nil, err
	}
	bi := domain.Builtin2016()
	if version != "" {
		for i := len(all) - 1; i >= 0; i-- {
			if all[i].Rulebook.Version == version {
				return all[i].Rulebook, nil
			}
		}
		if bi.Year == year && bi.Version == version {
			return bi, nil
		}
		return nil, &domain.FieldError{Field: "rulebook", Reason: fmt.Sprintf("no rulebook version %q for %d", version, year)}
	}
	var in *domain.Rulebook
	for _, p := range all {
		if p.Builtin || !p.RecordedAt.After(knownAt) {
			in = p.Rulebook
		}
	}
	if in == nil && bi.Year == year {
		in = bi
	}
	if in == nil {
		return nil, &domain.FieldError{Field: "year", Reason: fmt.Sprintf("no rulebook for %d", year)}
	}
	return in, nil
}

// checkEnv is the environment of one check: the lookups the domain's
// checks make, and the first store failure any of them met. A lookup that
// fails answers "unknown" to the domain and records the failure here, and
// the caller reports the failure instead of the domain's answer: an I/O
// error must never come back as "not registered".
type checkEnv struct {
	domain.CheckEnv
	gov domain.GovEnv // Committee is set by the caller, under its lock
	err error
}

// failed returns the store failure met during a check, if any, in place
// of the check's own result.
func (c *checkEnv) failed(checkErr error) error {
	if c.err != nil {
		return fmt.Errorf("ledger: reading state for a check: %w", c.err)
	}
	return checkErr
}

func (c *checkEnv) note(err error) {
	if err != nil && c.err == nil {
		c.err = err
	}
}

// env builds the check environment; forks, when not nil, are the states a
// dry run has already changed.
func (b *Books) env(ctx context.Context, forks *dryRun) *checkEnv {
	var sched *domain.Schedule
	c := &checkEnv{}
	c.gov.Basis = b.basisFor(ctx, c)
	c.CheckEnv = domain.CheckEnv{
		Today: domain.DateOf(b.l.PeekNow()),
		OrgKnown: func(code string) bool {
			if forks != nil {
				if st, ok := forks.orgs[code]; ok {
					return st.Registered()
				}
				if registered, ok := forks.gone[code]; ok {
					return registered
				}
			}
			ok, err := b.orgKnown(ctx, code)
			c.note(err)
			return err == nil && ok
		},
		Scheduled: func(id string) *domain.RequiredEventScheduled {
			if forks != nil && forks.sched != nil {
				return forks.sched.Events[id]
			}
			if sched == nil {
				s, err := b.schedule(ctx)
				if err != nil {
					c.note(err)
					return nil
				}
				sched = s
			}
			return sched.Events[id]
		},
		Rulebook: func(year int) *domain.Rulebook {
			rb, err := b.RulebookAt(ctx, year, b.l.PeekNow(), "")
			var fe *domain.FieldError
			if err != nil && !errors.As(err, &fe) {
				c.note(err) // a store failure, not "no rulebook for the year"
			}
			if err != nil {
				return nil
			}
			return rb
		},
	}
	return c
}

// dryRun is the forked state of a Check over many entries.
type dryRun struct {
	orgs  map[string]*domain.OrgState
	gone  map[string]bool // organisations let go of (DryRun.Forget): registered?
	sched *domain.Schedule
}

// ErrForgotten reports an entry of an organisation a dry run has let go
// of (DryRun.Forget): the caller said no entry of it would follow.
var ErrForgotten = errors.New("ledger: an entry of an organisation the dry run has let go of")

// Forget lets go of organisation code in the dry run — the caller knows
// that no entry still to check is the organisation's — keeping only
// whether it is registered, for the entries that name it; Books lets go
// of it too (Books.Forget). Checking an entry of the organisation
// afterwards fails with ErrForgotten. An import calls it after an
// organisation's last line, so that it holds the organisations in
// progress, not all of them.
func (d *DryRun) Forget(code string) {
	if st, ok := d.run.orgs[code]; ok {
		d.run.gone[code] = st.Registered()
		delete(d.run.orgs, code)
	}
	d.b.Forget(code)
}

// Forget lets go of the state Books keeps of organisation code; the next
// append or read of it folds its stream again. An import calls it after an
// organisation's last line. A slot in use is left alone.
func (b *Books) Forget(code string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.orgs[code]
	if s == nil || !s.mu.TryLock() {
		return
	}
	// Whoever took the slot before this and locks it after still works
	// on a consistent state: appends go at the revision it was caught up
	// to, and retry when the stream moved.
	delete(b.orgs, code)
	s.mu.Unlock()
}

// Outcome is what Check found for one entry.
type Outcome int

// Outcomes of Check.
const (
	OutcomeNew       Outcome = iota // would be appended
	OutcomeDuplicate                // already recorded with this id and content
	OutcomeRefused                  // refused: see the error
)

// Check validates entries in order as if each earlier one had been
// appended, without appending anything: the all-or-nothing first pass of
// an import. It returns one outcome per entry and the errors of refused
// entries, each an *EntryError. An entry whose id is already stored with
// the same content is a duplicate (nothing to do); with other content it
// is refused.
func (b *Books) Check(ctx context.Context, entries []domain.Entry, by string) ([]Outcome, []error) {
	return b.CheckAs(ctx, entries, domain.LocalAdmin(by))
}

// CheckAs is Check for entries recorded by principal p: the rules of
// GOVERNANCE.md are judged as Record judges them.
func (b *Books) CheckAs(ctx context.Context, entries []domain.Entry, p domain.Principal) ([]Outcome, []error) {
	out := make([]Outcome, len(entries))
	var errs []error
	d := b.DryRun(ctx, p)
	for i := range entries {
		o, err := d.Check(ctx, &entries[i])
		out[i] = o
		if err != nil {
			errs = append(errs, &EntryError{Index: i, Err: err})
		}
	}
	return out, errs
}

// DryRun checks entries one at a time, in order, as if each earlier one
// had been appended, without appending anything: Check over a stream of
// entries too long to hold (an import's first pass). It keeps the state
// of every organisation its entries touch.
type DryRun struct {
	b   *Books
	p   domain.Principal
	run *dryRun
	env *checkEnv
	n   int // entries checked
}

// DryRun starts a dry run of entries recorded by principal p.
func (b *Books) DryRun(ctx context.Context, p domain.Principal) *DryRun {
	run := &dryRun{orgs: map[string]*domain.OrgState{}, gone: map[string]bool{}}
	return &DryRun{b: b, p: p, run: run, env: b.env(ctx, run)}
}

// Check checks the next entry. A refused entry's error holds its field
// errors (domain.FieldErrors), or a failure to read the ledger.
func (d *DryRun) Check(ctx context.Context, e *domain.Entry) (Outcome, error) {
	b, p, run, env := d.b, d.p, d.run, d.env
	i := d.n
	d.n++
	stream, err := StreamOf(e)
	if err != nil {
		return OutcomeRefused, err
	}
	if err := preCheck(p, e); err != nil {
		return OutcomeRefused, err
	}
	prop, err := proposedOf(e, p.RecordedBy())
	if err != nil {
		return OutcomeRefused, err
	}
	if prop.ID != uuid.Nil {
		stored, err := b.l.LookupID(ctx, stream, prop.ID)
		switch {
		case err == nil && ledger.SameContent(&stored, stream, &prop):
			return OutcomeDuplicate, nil
		case err == nil:
			return OutcomeRefused, &domain.FieldError{Field: "id", Reason: fmt.Sprintf("already recorded with other content (%s)", ledger.DescribeDiff(&stored, stream, &prop))}
		case !errors.Is(err, ledger.ErrEventNotFound):
			return OutcomeRefused, err
		}
	}
	id := e.ID
	if id == "" {
		id = "dry-run-" + strconv.Itoa(i)
	}
	if run.sched == nil {
		s, err := b.schedule(ctx)
		if err != nil {
			return OutcomeRefused, err
		}
		run.sched = s
	}
	env.gov.Committee = run.sched
	switch kind, _ := domain.StreamKindOf(e.Type); kind {
	case domain.StreamOrg:
		st, ok := run.orgs[e.Org]
		if _, gone := run.gone[e.Org]; gone {
			return OutcomeRefused, fmt.Errorf("%w: %s", ErrForgotten, e.Org)
		}
		if !ok {
			cur, err := b.Org(ctx, e.Org)
			if err != nil {
				return OutcomeRefused, err
			}
			if cur == nil {
				cur = domain.NewOrgState()
			}
			st = cur
			run.orgs[e.Org] = st
		}
		if err := env.failed(checkOrg(st, p, e, env)); err != nil {
			return OutcomeRefused, err
		}
		st.ApplyBy(id, st.Revision+1, e, p.Role)
	case domain.StreamCommittee:
		if err := env.failed(checkCommittee(run.sched, p, e, env)); err != nil {
			return OutcomeRefused, err
		}
		run.sched.Apply(id, run.sched.Revision+1, e)
	case domain.StreamRulebook:
		if err := b.checkRulebook(ctx, e); err != nil {
			return OutcomeRefused, err
		}
	}
	return OutcomeNew, nil
}

func (b *Books) checkRulebook(ctx context.Context, e *domain.Entry) error {
	rp := e.Payload.(*domain.RulebookPublished)
	all, err := b.Rulebooks(ctx, rp.Year)
	if err != nil {
		return err
	}
	for _, p := range all {
		if !p.Builtin && p.Rulebook.Version == rp.Version {
			return &domain.FieldError{Field: "data.version", Reason: fmt.Sprintf("version %q of %d is already published", rp.Version, rp.Year)}
		}
	}
	return nil
}

// RecordOptions tune Record.
type RecordOptions struct {
	// Expected, when set, is the revision the (single) stream of the
	// entries must be at — the API's If-Match.
	Expected *ledger.Expected
}

// Record checks entries against the current state and appends them. All
// entries must belong to one stream; they are appended atomically, in
// order. Entries already recorded (same id, same content) are not written
// again; their first results are returned with Duplicate set. A refused
// entry refuses the whole call with an *EntryError and changes nothing.
//
// Record records as the local administrator named by (the command line's
// principal, domain.LocalAdmin); RecordAs records as any principal.
func (b *Books) Record(ctx context.Context, entries []domain.Entry, by string, opts RecordOptions) ([]ledger.Result, error) {
	return b.RecordAs(ctx, entries, domain.LocalAdmin(by), opts)
}

// RecordAs is Record for principal p: besides the state checks, every
// rule of GOVERNANCE.md is judged (domain.OrgState.CheckGovernance) on
// the state caught up under the lock held until the append. A refusal for
// who records is a *domain.RightsError or *domain.YearClosedError (both
// domain.ErrForbidden) inside the *EntryError.
func (b *Books) RecordAs(ctx context.Context, entries []domain.Entry, p domain.Principal, opts RecordOptions) ([]ledger.Result, error) {
	if len(entries) == 0 {
		return nil, errors.New("ledger: nothing to record")
	}
	stream, err := StreamOf(&entries[0])
	if err != nil {
		return nil, &EntryError{Index: 0, Err: err}
	}
	for i := range entries[1:] {
		s, err := StreamOf(&entries[i+1])
		if err != nil {
			return nil, &EntryError{Index: i + 1, Err: err}
		}
		if s != stream {
			return nil, &EntryError{Index: i + 1, Err: &domain.FieldError{Field: "org", Reason: "all entries of one append must belong to one organisation"}}
		}
	}
	for i := range entries {
		if err := preCheck(p, &entries[i]); err != nil {
			return nil, &EntryError{Index: i, Err: err}
		}
	}
	kind, _ := domain.StreamKindOf(entries[0].Type)
	switch kind {
	case domain.StreamOrg:
		return b.recordOrg(ctx, entries[0].Org, stream, entries, p, opts)
	case domain.StreamCommittee:
		b.sched.gate.Lock()
		defer b.sched.gate.Unlock()
		b.sched.mu.Lock()
		defer b.sched.mu.Unlock()
		return b.recordLocked(ctx, stream, entries, p, opts, &committeeTarget{b: b})
	default:
		if err := b.ensureBuiltinBefore(ctx, entries); err != nil {
			return nil, err
		}
		for i := range entries {
			if err := b.checkRulebook(ctx, &entries[i]); err != nil {
				return nil, &EntryError{Index: i, Err: err}
			}
		}
		return b.recordLocked(ctx, stream, entries, p, opts, nil)
	}
}

// target abstracts the state an append is checked against.
type target interface {
	catchUp(ctx context.Context) error
	revision() int64
	check(p domain.Principal, e *domain.Entry, env *checkEnv, scratch bool) error // scratch: apply to a scratch copy
	commit(p domain.Principal, ids []string, first int64, entries []domain.Entry)
}

type orgTarget struct {
	b         *Books
	code      string
	s         *orgSlot
	scratch   *domain.OrgState
	committee *domain.Schedule // read at catchUp, under the gate
}

func (t *orgTarget) catchUp(ctx context.Context) error {
	t.scratch = nil
	if err := t.b.catchUpOrg(ctx, t.code, t.s); err != nil {
		return err
	}
	c, err := t.b.schedule(ctx)
	if err != nil {
		return err
	}
	t.committee = c
	return nil
}
func (t *orgTarget) revision() int64 { return t.s.st.Revision }
func (t *orgTarget) check(p domain.Principal, e *domain.Entry, env *checkEnv, multi bool) error {
	st := t.s.st
	if multi {
		if t.scratch == nil {
			t.scratch = st.Clone()
		}
		st = t.scratch
	}
	env.gov.Committee = t.committee
	if err := env.failed(checkOrg(st, p, e, env)); err != nil {
		return err
	}
	if multi {
		id := e.ID
		if id == "" {
			id = "pending-" + strconv.FormatInt(st.Revision+1, 10)
		}
		st.ApplyBy(id, st.Revision+1, e, p.Role)
	}
	return nil
}
func (t *orgTarget) commit(p domain.Principal, ids []string, first int64, entries []domain.Entry) {
	t.scratch = nil
	for i := range entries {
		t.s.st.ApplyBy(ids[i], first+int64(i), &entries[i], p.Role)
	}
}

type committeeTarget struct {
	b       *Books
	scratch *domain.Schedule
}

func (t *committeeTarget) catchUp(ctx context.Context) error {
	t.scratch = nil
	st := t.b.sched.st
	if st == nil {
		st = domain.NewSchedule()
		t.b.sched.st = st
	}
	for e, err := range t.b.l.ReadStream(ctx, CommitteeStream, uint64(st.Revision+1)) {
		if errors.Is(err, ledger.ErrStreamNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		ent, err := EntryOf(&e)
		if err != nil {
			return err
		}
		st.Apply(ent.ID, int64(e.Revision), &ent)
	}
	return nil
}
func (t *committeeTarget) revision() int64 { return t.b.sched.st.Revision }
func (t *committeeTarget) check(p domain.Principal, e *domain.Entry, env *checkEnv, multi bool) error {
	st := t.b.sched.st
	if multi {
		if t.scratch == nil {
			t.scratch = st.Clone()
		}
		st = t.scratch
	}
	if err := env.failed(checkCommittee(st, p, e, env)); err != nil {
		return err
	}
	if multi {
		st.Apply(e.ID, st.Revision+1, e)
	}
	return nil
}
func (t *committeeTarget) commit(_ domain.Principal, ids []string, first int64, entries []domain.Entry) {
	t.scratch = nil
	for i := range entries {
		t.b.sched.st.Apply(ids[i], first+int64(i), &entries[i])
	}
}

// recordOrg appends to an organisation's stream. Lock order: the
// organisation's slot, then the committee gate (for reading), then the
// committee state's mutex (briefly, to read it). A committee append takes
// the gate for writing and never waits for an organisation's slot (its
// checks only try it: orgKnown), so the two cannot deadlock.
func (b *Books) recordOrg(ctx context.Context, code, stream string, entries []domain.Entry, p domain.Principal, opts RecordOptions) ([]ledger.Result, error) {
	s := b.slot(code)
	s.mu.Lock()
	defer s.mu.Unlock()
	b.sched.gate.RLock()
	defer b.sched.gate.RUnlock()
	return b.recordLocked(ctx, stream, entries, p, opts, &orgTarget{b: b, code: code, s: s})
}

// recordLocked runs the check-then-append loop; the caller holds the
// target's lock. tgt is nil for streams without state (rulebooks).
func (b *Books) recordLocked(ctx context.Context, stream string, entries []domain.Entry, pr domain.Principal, opts RecordOptions, tgt target) ([]ledger.Result, error) {
	by := pr.RecordedBy()
	props := make([]ledger.Proposed, len(entries))
	for i := range entries {
		p, err := proposedOf(&entries[i], by)
		if err != nil {
			return nil, &EntryError{Index: i, Err: err}
		}
		if p.ID == uuid.Nil {
			// Assign the id now, so the state learns the same id the
			// store keeps.
			p.ID = uuid.New()
		}
		props[i] = p
	}
	// Entries already recorded are skipped (import resumed after a
	// crash); their first results are returned.
	results := make([]ledger.Result, len(entries))
	var todo []int
	for i := range props {
		if entries[i].ID == "" {
			todo = append(todo, i)
			continue
		}
		stored, err := b.l.LookupID(ctx, stream, props[i].ID)
		switch {
		case err == nil && ledger.SameContent(&stored, stream, &props[i]):
			results[i] = ledger.ResultOf(&stored, true)
			continue
		case err == nil:
			return nil, &EntryError{Index: i, Err: &ledger.IDConflictError{ID: stored.ID, Stream: stored.Stream, Reason: ledger.DescribeDiff(&stored, stream, &props[i])}}
		case !errors.Is(err, ledger.ErrEventNotFound):
			return nil, err
		}
		todo = append(todo, i)
	}
	if len(todo) == 0 {
		return results, nil
	}
	for try := 0; ; try++ {
		expected := ledger.Any
		if tgt != nil {
			if err := tgt.catchUp(ctx); err != nil {
				return nil, err
			}
			env := b.env(ctx, nil)
			for _, i := range todo {
				e := entries[i]
				e.ID = props[i].ID.String()
				if err := tgt.check(pr, &e, env, len(todo) > 1); err != nil {
					if env.err != nil {
						return nil, err // a store failure: not the entry's fault
					}
					return nil, &EntryError{Index: i, Err: err}
				}
			}
			if rev := tgt.revision(); rev == ledger.NoStream {
				expected = ledger.ExpectNoStream
			} else {
				expected = ledger.ExpectRevision(uint64(rev))
			}
		}
		if opts.Expected != nil {
			if tgt != nil && !opts.Expected.Matches(tgt.revision()) {
				return nil, &ledger.WrongRevisionError{Stream: stream, Expected: opts.Expected.Int64(), Actual: tgt.revision()}
			}
			expected = *opts.Expected
		}
		batch := make([]ledger.Proposed, len(todo))
		for k, i := range todo {
			batch[k] = props[i]
		}
		res, err := b.l.Append(ctx, stream, expected, batch)
		if err != nil {
			var wr *ledger.WrongRevisionError
			if errors.As(err, &wr) && opts.Expected == nil && tgt != nil && try < b.l.Retries() {
				continue // another process appended: check again against the new state
			}
			return nil, err
		}
		ids := make([]string, len(todo))
		es := make([]domain.Entry, len(todo))
		for k, i := range todo {
			results[i] = res[k]
			ids[k] = res[k].ID.String()
			es[k] = entries[i]
		}
		if tgt != nil && !res[0].Duplicate {
			tgt.commit(pr, ids, int64(res[0].Revision), es)
		}
		return results, nil
	}
}
