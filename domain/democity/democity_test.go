package democity_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"partyledger/domain"
	"partyledger/domain/democity"
)

const seed = 20160701

func TestGenerate(t *testing.T) {
	city := democity.Build(seed, democity.Options{})
	j := parseJournal(t, city.Lines)

	t.Run("determinism", func(t *testing.T) {
		a := jsonl(t, democity.Generate(seed, democity.Options{}))
		b := jsonl(t, democity.Generate(seed, democity.Options{}))
		if !bytes.Equal(a, b) {
			t.Fatal("same seed gave different journals")
		}
		if !bytes.Equal(a, jsonl(t, city.Lines)) {
			t.Fatal("Generate and Build disagree")
		}
		if c := jsonl(t, democity.Generate(seed+1, democity.Options{})); bytes.Equal(a, c) {
			t.Fatal("different seeds gave the same journal")
		}
		x := jsonl(t, democity.Generate(seed, democity.Options{AllIDs: true}))
		y := jsonl(t, democity.Generate(seed, democity.Options{AllIDs: true}))
		if !bytes.Equal(x, y) {
			t.Fatal("same seed gave different journals with AllIDs")
		}
	})

	t.Run("parse", func(t *testing.T) {
		// parseJournal already failed the test on any bad line; check the
		// size stays in the intended range.
		if n := len(city.Lines); n < 15000 || n > 60000 {
			t.Errorf("got %d lines, want 15000..60000", n)
		}
	})

	t.Run("order", func(t *testing.T) { checkOrder(t, j) })
	t.Run("referential", func(t *testing.T) { checkReferences(t, j) })

	t.Run("variety", func(t *testing.T) {
		if got := len(city.Orgs); got < 60 {
			t.Errorf("got %d organisations, want at least 60", got)
		}
		kinds := map[domain.OrgKind]int{}
		profiles := map[democity.Profile]int{}
		withParent, withGroups, withoutGroups := 0, 0, 0
		for _, o := range city.Orgs {
			kinds[o.Kind]++
			profiles[o.Profile]++
			if o.ParentCode != "" && o.Kind == domain.KindBranch {
				withParent++
			}
			if o.Kind == domain.KindBranch {
				if o.HasGroups {
					withGroups++
				} else {
					withoutGroups++
				}
			}
			if o.Members < 5 || o.Members > 42 {
				t.Errorf("%s: %d members at year end, want about 5..40", o.Code, o.Members)
			}
		}
		for _, k := range domain.OrgKinds {
			if kinds[k] == 0 {
				t.Errorf("no %s", k)
			}
		}
		if kinds[domain.KindCommittee] < 5 || kinds[domain.KindGeneralBranch] < 8 {
			t.Errorf("kinds %v: want several committees and general branches", kinds)
		}
		if withParent == 0 || withGroups == 0 || withoutGroups == 0 {
			t.Errorf("branches: %d with a parent, %d with groups, %d without", withParent, withGroups, withoutGroups)
		}
		for _, p := range []democity.Profile{democity.Exemplary, democity.Average, democity.Sloppy, democity.Derelict} {
			if profiles[p] == 0 {
				t.Errorf("no %s organisation", p)
			}
		}
		if profiles[democity.Exemplary] < 5 {
			t.Errorf("%d exemplary organisations, want at least 5", profiles[democity.Exemplary])
		}

		count := func(typ string, f func(e domain.Entry) bool) int {
			n := 0
			for _, l := range j.lines {
				if l.entry.Type == typ && (f == nil || f(l.entry)) {
					n++
				}
			}
			return n
		}
		severe := count(domain.TypeViolationRecorded, func(e domain.Entry) bool {
			v := e.Payload.(*domain.ViolationRecorded)
			return v.Severity == domain.SeveritySerious && v.Impact == domain.ImpactSevere
		})
		if severe == 0 {
			t.Error("no serious+severe violation")
		}
		if n := count(domain.TypeViolationRecorded, nil); n < 4 {
			t.Errorf("%d violations, want a few", n)
		}
		late := count(domain.TypeDuesPaid, func(e domain.Entry) bool {
			m, _ := domain.ParseMonth(e.Payload.(*domain.DuesPaid).Month)
			return e.OccurredOn.After(m.End())
		})
		if late == 0 {
			t.Error("no late dues payment")
		}
		overdue := count(domain.TypeCommitteeElected, func(e domain.Entry) bool {
			return e.OccurredOn.Year+e.Payload.(*domain.CommitteeElected).TermYears < democity.Year-1
		})
		if overdue == 0 {
			t.Error("no term overdue by more than a year")
		}
		for _, typ := range []string{
			domain.TypeEventRetracted, domain.TypeMemberTransferredOut, domain.TypeMemberDetailsChanged,
			domain.TypeOfficerVacated, domain.TypeFindingRecorded, domain.TypeDuesAccountOpened,
		} {
			if count(typ, nil) == 0 {
				t.Errorf("no %s", typ)
			}
		}
		all := count(domain.TypeRequiredEventScheduled, func(e domain.Entry) bool {
			return slices.Equal(e.Payload.(*domain.RequiredEventScheduled).Targets, []string{domain.TargetsAll})
		})
		if n := count(domain.TypeRequiredEventScheduled, nil); n < 5 || all == 0 || all == n {
			t.Errorf("%d scheduled events, %d for everyone: want ~6, some for all, some for a few", n, all)
		}
		groups := count(domain.TypeGroupAssessmentRecorded, nil)
		if groups < len(city.Orgs)-3 || groups > len(city.Orgs)+3 {
			t.Errorf("%d group assessments for %d organisations", groups, len(city.Orgs))
		}
		var brackets [4]int
		for _, l := range j.lines {
			if p, ok := l.entry.Payload.(*domain.MemberJoined); ok {
				brackets[bracket(p.MonthlyIncomeFen)]++
			}
		}
		for i, n := range brackets {
			if n < 10 {
				t.Errorf("dues bracket %d has %d members", i, n)
			}
		}
	})

	t.Run("declared", func(t *testing.T) {
		for _, o := range city.Orgs {
			got := j.check(o.Code)
			switch {
			case o.Profile == democity.Exemplary && len(got) > 0:
				t.Errorf("%s (exemplary): misses %v", o.Code, got)
			case o.Profile == democity.Exemplary && (len(o.Misses) > 0 || o.Findings > 0 || len(o.Vetoes) > 0):
				t.Errorf("%s (exemplary): declared %v %v, %d findings", o.Code, o.Misses, o.Vetoes, o.Findings)
			case o.Profile != democity.Exemplary && len(o.Misses) == 0:
				t.Errorf("%s (%s): nothing missed", o.Code, o.Profile)
			}
			for _, m := range o.Misses {
				if !slices.Contains(got, m) {
					t.Errorf("%s: declared miss %q not found in the lines (found %v)", o.Code, m, got)
				}
			}
			for _, m := range got {
				if !slices.Contains(o.Misses, m) && !implied(o.Misses, m) {
					t.Errorf("%s: undeclared miss %q (declared %v)", o.Code, m, o.Misses)
				}
			}
			var vetoes []string
			if slices.Contains(got, "serious_severe_violation") {
				vetoes = append(vetoes, "V1")
			}
			if slices.Contains(got, "overdue_term") {
				vetoes = append(vetoes, "V2")
			}
			if slices.Contains(got, "late_dues") || slices.Contains(got, "short_dues") || slices.Contains(got, "late_remittance") {
				vetoes = append(vetoes, "V3")
			}
			if !slices.Equal(vetoes, o.Vetoes) {
				t.Errorf("%s: vetoes from the lines %v, declared %v", o.Code, vetoes, o.Vetoes)
			}
			if o.Profile == democity.Exemplary && (!o.HasGroupScore || o.GroupScore < domain.PointsOf(90)) {
				t.Errorf("%s (exemplary): group score %v", o.Code, o.GroupScore)
			}
		}
	})

	t.Run("other_cities", func(t *testing.T) {
		for _, tc := range []struct {
			seed int64
			orgs int
		}{{1, 3}, {2, 10}, {3, 25}, {4, 0}, {-5, 64}, {6, 150}} {
			t.Run(fmt.Sprintf("seed%d_orgs%d", tc.seed, tc.orgs), func(t *testing.T) {
				c := democity.Build(tc.seed, democity.Options{Orgs: tc.orgs, AllIDs: tc.seed%2 == 0})
				want := tc.orgs
				if want == 0 {
					want = democity.DefaultOrgs
				}
				if len(c.Orgs) != want {
					t.Errorf("got %d organisations, want %d", len(c.Orgs), want)
				}
				j := parseJournal(t, c.Lines)
				checkOrder(t, j)
				checkReferences(t, j)
				for _, o := range c.Orgs {
					got := j.check(o.Code)
					for _, m := range o.Misses {
						if !slices.Contains(got, m) {
							t.Errorf("%s: declared miss %q not found (found %v)", o.Code, m, got)
						}
					}
					for _, m := range got {
						if !slices.Contains(o.Misses, m) && !implied(o.Misses, m) {
							t.Errorf("%s: undeclared miss %q (declared %v)", o.Code, m, o.Misses)
						}
					}
				}
			})
		}
	})
}

func TestWriteJSONL(t *testing.T) {
	lines := democity.Generate(seed, democity.Options{Orgs: 5})
	var buf bytes.Buffer
	if err := democity.WriteJSONL(&buf, lines); err != nil {
		t.Fatal(err)
	}
	rows := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if len(rows) != len(lines) {
		t.Fatalf("got %d rows, want %d", len(rows), len(lines))
	}
	for i, row := range rows {
		if _, err := domain.ParseJournalLine([]byte(row)); err != nil {
			t.Fatalf("row %d: %v\n%s", i+1, err, row)
		}
	}
	if !strings.Contains(buf.String(), "党支部") || strings.Contains(buf.String(), `\u`) {
		t.Error("Chinese text should be written as UTF-8, not escaped")
	}
}

func BenchmarkGenerate(b *testing.B) {
	for b.Loop() {
		democity.Generate(seed, democity.Options{})
	}
}

func jsonl(t testing.TB, lines []domain.JournalLine) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := democity.WriteJSONL(&buf, lines); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// implied reports whether miss follows from a declared one: a committee
// without deputies also lacks a fulltime deputy (5.1); fewer group
// meetings can leave a leader without group democratic life; a severe
// violation is also a serious one.
func implied(declared []string, miss string) bool {
	switch miss {
	case "staffing":
		return slices.Contains(declared, "leadership")
	case "leader_gdl":
		return slices.Contains(declared, "meetings")
	case "serious_violation":
		return slices.Contains(declared, "serious_severe_violation")
	}
	return false
}

func bracket(income domain.Fen) int {
	switch {
	case income <= 300000:
		return 0
	case income <= 500000:
		return 1
	case income <= 1000000:
		return 2
	}
	return 3
}

// rate is the 2016 dues rate table in per mille.
func rate(income domain.Fen) domain.Fen {
	return [4]domain.Fen{5, 10, 15, 20}[bracket(income)]
}

type jline struct {
	n     int // 1-based line number
	line  domain.JournalLine
	entry domain.Entry
}

type journal struct {
	lines   []jline
	orgs    map[string]*domain.OrganizationRegistered
	byOrg   map[string][]jline
	sched   []*domain.RequiredEventScheduled
	schedOn []domain.Date // the occurred_on of each of sched
}

func parseJournal(t testing.TB, lines []domain.JournalLine) *journal {
	t.Helper()
	j := &journal{orgs: map[string]*domain.OrganizationRegistered{}, byOrg: map[string][]jline{}}
	bad := 0
	for i, l := range lines {
		b, err := json.Marshal(l)
		if err != nil {
			t.Fatalf("line %d: marshal: %v", i+1, err)
		}
		e, err := domain.ParseJournalLine(b)
		if err != nil {
			if bad++; bad <= 10 {
				t.Errorf("line %d: %v\n%s", i+1, err, b)
			}
			continue
		}
		jl := jline{i + 1, l, e}
		j.lines = append(j.lines, jl)
		switch p := e.Payload.(type) {
		case *domain.OrganizationRegistered:
			j.orgs[p.Code] = p
		case *domain.RequiredEventScheduled:
			j.sched = append(j.sched, p)
			j.schedOn = append(j.schedOn, e.OccurredOn)
		}
		if l.Org != "" {
			j.byOrg[l.Org] = append(j.byOrg[l.Org], jl)
		}
	}
	if bad > 0 {
		t.Fatalf("%d bad lines", bad)
	}
	return j
}

var (
	yearStart = domain.Date{Year: democity.Year, Month: time.January, Day: 1}
	yearEnd   = domain.YearEnd(democity.Year)
)

// setupTypes may occur before the year: they describe standing state.
var setupTypes = []string{
	domain.TypeOrganizationRegistered, domain.TypeCommitteeElected, domain.TypeTermExtensionApproved, domain.TypeMemberJoined,
	domain.TypeOfficerAppointed, domain.TypeOfficerVacated, domain.TypeDuesAccountOpened, domain.TypeSystemAdopted,
}

// assessTypes occur after the year, naming it.
var assessTypes = []string{domain.TypeFindingRecorded, domain.TypeGroupAssessmentRecorded}

func checkOrder(t *testing.T, j *journal) {
	t.Helper()
	today := domain.DateOf(time.Now())
	section := 0 // 0 registrations, 1 schedules, 2 org years, 3 assessments
	var lastOrg string
	done := map[string]bool{}
	var prev domain.Date
	for _, l := range j.lines {
		e := l.entry
		next := section
		switch {
		case e.Type == domain.TypeOrganizationRegistered:
			next = 0
		case e.Type == domain.TypeRequiredEventScheduled:
			next = 1
		case slices.Contains(assessTypes, e.Type):
			next = 3
		default:
			next = 2
		}
		if next < section {
			t.Fatalf("line %d: %s after a later section", l.n, e.Type)
		}
		if next != section {
			prev = domain.Date{}
		}
		section = next
		if e.OccurredOn.After(today) {
			t.Errorf("line %d: occurred_on %s is in the future", l.n, e.OccurredOn)
		}
		switch section {
		case 1, 3:
			if e.OccurredOn.Before(prev) {
				t.Errorf("line %d: %s before the previous line's %s", l.n, e.OccurredOn, prev)
			}
			prev = e.OccurredOn
		case 2:
			if e.Org != lastOrg {
				if done[e.Org] {
					t.Fatalf("line %d: %s's year is split", l.n, e.Org)
				}
				done[lastOrg] = true
				lastOrg = e.Org
				prev = domain.Date{}
			}
			if e.OccurredOn.Before(prev) {
				t.Errorf("line %d: %s before the previous line's %s", l.n, e.OccurredOn, prev)
			}
			prev = e.OccurredOn
		}
		switch {
		case section == 3:
			if e.OccurredOn.Year != democity.Year+1 {
				t.Errorf("line %d: assessment on %s, want early %d", l.n, e.OccurredOn, democity.Year+1)
			}
		case slices.Contains(setupTypes, e.Type):
			if e.OccurredOn.After(yearEnd) {
				t.Errorf("line %d: %s on %s, after the year", l.n, e.Type, e.OccurredOn)
			}
		default:
			if e.OccurredOn.Before(yearStart) || e.OccurredOn.After(yearEnd) {
				t.Errorf("line %d: %s on %s, outside %d", l.n, e.Type, e.OccurredOn, democity.Year)
			}
		}
	}
}

type memberRef struct {
	joined domain.Date
	left   domain.Date // zero while on the roster
}

// checkReferences walks the journal in order, as the ledger would, and
// checks that every line refers only to what exists by then.
func checkReferences(t *testing.T, j *journal) {
	t.Helper()
	ids := map[string]int{}
	sched := map[string]*domain.RequiredEventScheduled{}
	type orgRefs struct {
		members  map[string]*memberRef
		cases    map[string]domain.Date
		handled  map[string]bool
		ids      map[string]domain.Date
		officers map[string]string // role+member → ""
	}
	orgs := map[string]*orgRefs{}
	for _, l := range j.lines {
		e := l.entry
		errorf := func(format string, args ...any) {
			t.Helper()
			t.Errorf("line %d (%s %s %s): %s", l.n, e.Org, e.Type, e.OccurredOn, fmt.Sprintf(format, args...))
		}
		if e.ID != "" {
			if prev, dup := ids[e.ID]; dup {
				errorf("id %s already used on line %d", e.ID, prev)
			}
			ids[e.ID] = l.n
		}
		if e.Type == domain.TypeRequiredEventScheduled {
			p := e.Payload.(*domain.RequiredEventScheduled)
			if sched[p.ScheduledEventID] != nil {
				errorf("scheduled id %s twice", p.ScheduledEventID)
			}
			sched[p.ScheduledEventID] = p
			for _, c := range p.Targets {
				if c != domain.TargetsAll && orgs[c] == nil {
					errorf("target %s not registered", c)
				}
			}
			continue
		}
		if p, ok := e.Payload.(*domain.OrganizationRegistered); ok {
			if orgs[p.Code] != nil {
				errorf("registered twice")
			}
			if p.ParentCode != "" && orgs[p.ParentCode] == nil {
				errorf("parent %s not registered before", p.ParentCode)
			}
			if p.ParentCode != "" && j.orgs[p.ParentCode].Kind == domain.KindBranch {
				errorf("parent %s is a branch", p.ParentCode)
			}
			orgs[p.Code] = &orgRefs{map[string]*memberRef{}, map[string]domain.Date{}, map[string]bool{}, map[string]domain.Date{}, map[string]string{}}
			continue
		}
		o := orgs[e.Org]
		if o == nil {
			errorf("organisation not registered")
			continue
		}
		if e.ID != "" {
			o.ids[e.ID] = e.OccurredOn
		}
		member := func(id string) {
			t.Helper()
			m := o.members[id]
			switch {
			case m == nil:
				errorf("member %s has not joined", id)
			case m.joined.After(e.OccurredOn):
				errorf("member %s joins only on %s", id, m.joined)
			case !m.left.IsZero():
				errorf("member %s transferred out on %s", id, m.left)
			}
		}
		members := func(ids []string) {
			t.Helper()
			for _, id := range ids {
				member(id)
			}
		}
		switch p := e.Payload.(type) {
		case *domain.MemberJoined:
			if o.members[p.MemberID] != nil {
				errorf("member %s joined twice", p.MemberID)
			}
			o.members[p.MemberID] = &memberRef{joined: e.OccurredOn}
		case *domain.MemberDetailsChanged:
			member(p.MemberID)
		case *domain.MemberTransferredOut:
			member(p.MemberID)
			if m := o.members[p.MemberID]; m != nil {
				m.left = e.OccurredOn
			}
		case *domain.OfficerAppointed:
			member(p.MemberID)
			o.officers[p.Role+"/"+p.MemberID] = ""
		case *domain.OfficerVacated:
			if _, ok := o.officers[p.Role+"/"+p.MemberID]; !ok {
				errorf("%s does not hold %s", p.MemberID, p.Role)
			}
			delete(o.officers, p.Role+"/"+p.MemberID)
		case *domain.MeetingHeld:
			members(p.Attendees)
			if p.LecturerID != "" {
				member(p.LecturerID)
			}
		case *domain.StudySessionHeld:
			members(p.Attendees)
		case *domain.DuesPaid:
			member(p.MemberID)
			if m, _ := domain.ParseMonth(p.Month); m.Year != democity.Year {
				errorf("dues for %s", p.Month)
			}
		case *domain.DuesRemitted:
			if q, _ := domain.ParseQuarter(p.Quarter); q.Year != democity.Year {
				errorf("remittance for %s", p.Quarter)
			}
		case *domain.SelfInspectionCompleted:
			if h, _ := domain.ParseHalf(p.Half); h.Year != democity.Year {
				errorf("self inspection for %s", p.Half)
			}
		case *domain.SubordinateInspected:
			if sub := j.orgs[p.SubordinateCode]; sub == nil || orgs[p.SubordinateCode] == nil || sub.ParentCode != e.Org {
				errorf("%s is not a registered subordinate", p.SubordinateCode)
			}
		case *domain.AttendanceRecorded:
			s := sched[p.ScheduledEventID]
			switch {
			case s == nil:
				errorf("scheduled event %s does not exist", p.ScheduledEventID)
			case !s.TargetsOrg(e.Org):
				errorf("scheduled event %s does not target the organisation", p.ScheduledEventID)
			}
		case *domain.ViolationRecorded:
			member(p.Person)
			if _, dup := o.cases[p.CaseID]; dup {
				errorf("case %s twice", p.CaseID)
			}
			o.cases[p.CaseID] = e.OccurredOn
		case *domain.CaseHandled:
			on, ok := o.cases[p.CaseID]
			switch {
			case !ok:
				errorf("case %s does not exist", p.CaseID)
			case o.handled[p.CaseID]:
				errorf("case %s handled twice", p.CaseID)
			case e.OccurredOn.Before(on):
				errorf("case %s handled before it was recorded", p.CaseID)
			}
			o.handled[p.CaseID] = true
		case *domain.EventRetracted:
			on, ok := o.ids[p.EventID]
			switch {
			case !ok:
				errorf("retracted event %s is not an earlier event of the organisation", p.EventID)
			case e.OccurredOn.Before(on):
				errorf("retraction before the event it retracts")
			}
		case *domain.FindingRecorded:
			if p.Year != democity.Year {
				errorf("finding for %d", p.Year)
			}
			if p.Points != nil && *p.Points%50 != 0 {
				errorf("finding points %v not in steps of 0.5", *p.Points)
			}
		case *domain.GroupAssessmentRecorded:
			if p.Year != democity.Year || p.Score < domain.PointsOf(70) || p.Score > domain.PointsOf(98) {
				errorf("group assessment %d %v", p.Year, p.Score)
			}
		}
	}
	for code, o := range orgs {
		if len(o.members) < 5 {
			t.Errorf("%s: %d members", code, len(o.members))
		}
	}
}

func jsonMarshal(v any) ([]byte, error) { return json.Marshal(v) }

// TestGenerateSizes: the demo's default seed at other sizes appoints no
// officer who has transferred out (a city of 2,800 organisations once
// made one its new secretary at a re-election, which import refused).
// Only those two types are checked, so that a million lines stay cheap;
// TestGenerate checks every reference of the default city.
func TestGenerateSizes(t *testing.T) {
	sizes := []int{300, 2800}
	if testing.Short() {
		sizes = sizes[:1]
	}
	for _, n := range sizes {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			left := map[[2]string]string{} // org, member → date transferred out
			for i, l := range democity.Generate(2016, democity.Options{Orgs: n}) {
				var p struct {
					MemberID string `json:"member_id"`
				}
				switch l.Type {
				case domain.TypeMemberTransferredOut, domain.TypeOfficerAppointed:
					if err := json.Unmarshal(l.Data, &p); err != nil {
						t.Fatalf("line %d: %v", i+1, err)
					}
				default:
					continue
				}
				k := [2]string{l.Org, p.MemberID}
				if l.Type == domain.TypeMemberTransferredOut {
					left[k] = l.OccurredOn
				} else if on, ok := left[k]; ok {
					t.Errorf("line %d: %s appoints %s on %s, who transferred out on %s", i+1, l.Org, p.MemberID, l.OccurredOn, on)
				}
			}
		})
	}
}
