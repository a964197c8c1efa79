package democity

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/google/uuid"

	"partyledger/domain"
)

type event struct {
	date domain.Date
	line domain.JournalLine
}

// newUUID returns a version 4 UUID drawn from r.
func newUUID(r *rand.Rand) string {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], r.Uint64())
	binary.BigEndian.PutUint64(b[8:], r.Uint64())
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return uuid.UUID(b).String()
}

func line(id, org string, d domain.Date, p domain.Payload) domain.JournalLine {
	data, err := domain.CanonicalJSON(p)
	if err != nil {
		panic(fmt.Sprintf("democity: encode %s: %v", p.EventType(), err))
	}
	return domain.JournalLine{ID: id, Org: org, Type: p.EventType(), OccurredOn: d.String(), Data: data}
}

func sortByDate(evs []event) {
	slices.SortStableFunc(evs, func(a, b event) int { return a.date.Compare(b.date) })
}

func (c *city) generate() City {
	var lines []domain.JournalLine
	for _, o := range c.orgs {
		reg := &domain.OrganizationRegistered{Code: o.code, Name: o.name, Kind: o.kind, HasGroups: o.hasGroups, FoundedOn: o.founded}
		if o.parent != nil {
			reg.ParentCode = o.parent.code
		}
		lines = append(lines, line(c.id(), o.code, o.registered, reg))
	}
	for _, s := range c.scheduled {
		p := &domain.RequiredEventScheduled{ScheduledEventID: s.id, Kind: s.kind, Title: s.title, Targets: s.targets}
		lines = append(lines, line(c.id(), "", s.date, p))
	}
	var assessed []event
	for _, o := range c.orgs {
		g := &orgGen{c: c, o: o, r: o.r, first: 1}
		if !o.founded.IsZero() {
			g.first = int(o.founded.Month)
		}
		g.year()
		sortByDate(g.evs)
		for _, e := range g.evs {
			lines = append(lines, e.line)
		}
		g.evs = g.evs[:0]
		g.assessment()
		assessed = append(assessed, g.evs...)
		g.finish()
	}
	sortByDate(assessed)
	var appeal []domain.JournalLine
	if c.opts.Appeal {
		if l, ok := c.appeal(assessed); ok {
			appeal = append(appeal, l)
		}
	}
	for _, e := range assessed {
		lines = append(lines, e.line)
	}
	lines = append(lines, appeal...)
	city := City{Seed: c.seed, Lines: lines, RecordedAt: c.clock(lines)}
	for _, o := range c.orgs {
		city.Orgs = append(city.Orgs, o.out)
	}
	return city
}

// id returns an id for a committee-stream or registration line when every
// line gets one.
func (c *city) id() string {
	if !c.opts.AllIDs {
		return ""
	}
	return newUUID(c.idr)
}

// orgGen writes one organisation's lines.
type orgGen struct {
	c   *city
	o   *orgPlan
	r   *rand.Rand
	evs []event

	rate       int     // percent of members at an ordinary activity
	absent     *member // the leader who attends few activities (kLeaderActivity)
	absentSeen int
	paid       [5]domain.Fen // dues collected per quarter
	cases      int
	// first is the first month the organisation keeps its 台账 in: 1, or
	// the month it was founded on the 1st of. Activities planned for an
	// earlier month move to it.
	first    int
	partDone bool // the partly late month is written
}

// mon returns month m, or the first month kept when m is earlier.
func (g *orgGen) mon(m int) int { return max(m, g.first) }

// emit records an event; it returns the line's id (empty unless forced
// or every line gets one).
func (g *orgGen) emit(d domain.Date, p domain.Payload, forceID bool) string {
	var id string
	if forceID || g.c.opts.AllIDs {
		id = newUUID(g.o.idr)
	}
	g.evs = append(g.evs, event{d, line(id, g.o.code, d, p)})
	if p.EventType() == domain.TypeEventRetracted {
		g.o.out.Retractions++
	}
	return id
}

func (g *orgGen) add(d domain.Date, p domain.Payload) { g.emit(d, p, false) }

func monthLen(m int) int { return domain.MonthEnd(Year, time.Month(m)).Day }

// dayIn returns a random date of month m between days lo and hi (clamped
// to the month).
func (g *orgGen) dayIn(m, lo, hi int) domain.Date {
	hi = min(hi, monthLen(m))
	lo = min(max(lo, 1), hi)
	return date(Year, m, lo+g.r.IntN(hi-lo+1))
}

// daysIn returns k distinct sorted dates of month m.
func (g *orgGen) daysIn(m, k int) []domain.Date {
	n := monthLen(m)
	k = min(k, n)
	days := g.r.Perm(n)[:k]
	slices.Sort(days)
	out := make([]domain.Date, k)
	for i, d := range days {
		out[i] = date(Year, m, d+1)
	}
	return out
}

// months returns k distinct sorted months of first..12.
func (g *orgGen) months(k int) []int {
	n := 13 - g.first
	ms := g.r.Perm(n)[:min(k, n)]
	for i := range ms {
		ms[i] += g.first
	}
	slices.Sort(ms)
	return ms
}

func pick[T any](r *rand.Rand, xs []T) T { return xs[r.IntN(len(xs))] }

// attendees lists the members at an activity on d: everyone in from
// (nil: the whole roster) who is active, leaders always (except the
// absent one, who comes to only a couple), others at the organisation's
// rate; must always come.
func (g *orgGen) attendees(d domain.Date, from []*member, must ...*member) []string {
	if from == nil {
		from = g.o.members
	}
	ids := []string{}
	for _, m := range g.o.members {
		if !m.activeOn(d) || !slices.Contains(from, m) && !slices.Contains(must, m) {
			continue
		}
		var in bool
		switch {
		case m == g.absent:
			// At most two ordinary activities, plus the lecture or group
			// democratic life they must attend, staying under six.
			in = g.absentSeen < 2 || slices.Contains(must, m) && g.absentSeen < 4
		case slices.Contains(must, m):
			in = true
		case m.leader:
			in = true
		case m.officer:
			in = g.r.IntN(100) < 95
		default:
			in = g.r.IntN(100) < g.rate
		}
		if in {
			if m == g.absent {
				g.absentSeen++
			}
			ids = append(ids, m.id)
		}
	}
	return ids
}

func (g *orgGen) year() {
	o := g.o
	g.rate = [4]int{92, 85, 75, 65}[o.sev] + g.r.IntN(8)
	if o.knobs[kLeaderActivity] {
		g.absent = pick(g.r, o.leaders())
	}
	g.violations() // first: an expelled member leaves the roster
	g.setup()
	g.rosterChanges()
	g.study()
	g.meetings()
	g.activities()
	g.dues()
	g.inspections()
	g.reports()
}

// setup writes the history before the year: the election(s), the roster,
// officers, the dues account and adopted systems.
func (g *orgGen) setup() {
	o, r := g.o, g.r
	var elected, reelected domain.Date
	term := 3
	switch {
	case o.overdue:
		elected = date(2011, 1+r.IntN(12), 1+r.IntN(28))
	case o.profile != Exemplary && r.IntN(10) == 0:
		// Expired during the year and not yet renewed: overdue by less
		// than a whole year, so no deduction.
		elected = date(2013, 1+r.IntN(11), 1+r.IntN(28))
	case !o.knobs[kLeadership] && r.IntN(7) == 0:
		elected = date(2013, 1+r.IntN(12), 1+r.IntN(28))
		reelected = date(Year, 3+r.IntN(8), 1+r.IntN(28))
	case o.kind != domain.KindBranch:
		term = 5
		elected = dateBetween(r, date(2012, 3, 1), date(2015, 12, 31))
	default:
		elected = dateBetween(r, date(2014, 1, 2), date(2015, 12, 31))
	}
	switch {
	case !o.founded.IsZero():
		elected, reelected, term = o.founded, domain.Date{}, 3
	case !o.extended.IsZero():
		elected, reelected, term = extensionElected, domain.Date{}, 3
	}
	g.add(elected, &domain.CommitteeElected{TermYears: term})
	if !o.extended.IsZero() {
		g.add(extensionApproved, &domain.TermExtensionApproved{Until: o.extended, Reason: extensionReason})
	}
	for _, m := range o.members {
		g.add(m.joined, &domain.MemberJoined{MemberID: m.id, Name: m.name, IsLeader: m.leader, MonthlyIncomeFen: m.income})
	}
	for _, of := range o.officers {
		g.add(elected, &domain.OfficerAppointed{Role: of.role, MemberID: of.m.id})
	}
	if !reelected.IsZero() {
		g.add(reelected, &domain.CommitteeElected{TermYears: 3})
		if r.IntN(2) == 0 {
			// A new secretary at the re-election.
			old := o.secretary()
			var next *member
			for _, m := range o.members {
				if m.founding && !m.officer && (next == nil || m.leader && !next.leader) {
					next = m
				}
			}
			if next != nil {
				g.add(reelected, &domain.OfficerVacated{Role: domain.RoleSecretary, MemberID: old.id})
				g.add(reelected, &domain.OfficerAppointed{Role: domain.RoleSecretary, MemberID: next.id})
				next.officer = true
				for i := range o.officers {
					if o.officers[i].role == domain.RoleSecretary {
						o.officers[i].m = next
					}
				}
			}
		}
	}
	if o.kind == domain.KindBranch && o.knobs[kLeadership] {
		// The secretary is posted elsewhere and nobody takes over.
		g.add(date(Year, 5+r.IntN(6), 1+r.IntN(28)), &domain.OfficerVacated{Role: domain.RoleSecretary, MemberID: o.secretary().id})
	}
	if o.kind == domain.KindCommittee && !o.knobs[kNoDuesAccount] {
		g.add(dateBetween(r, o.registered, date(Year-1, 12, 31)), &domain.DuesAccountOpened{
			Bank: pick(r, banks), AccountLast4: fmt.Sprintf("%04d", r.IntN(10000)),
		})
	}
	systems := []string{domain.SystemResponsibility, domain.SystemOrgLife, domain.SystemCareAndSupport}
	drop := -1
	if o.knobs[kSystem] {
		drop = r.IntN(3)
	}
	for i, s := range systems {
		if i == drop || o.sev == 3 && o.knobs[kSystem] && i != (drop+1)%3 {
			continue
		}
		on := date(2012+r.IntN(4), 1+r.IntN(12), 1+r.IntN(28))
		if r.IntN(5) == 0 {
			on = g.dayIn(1+r.IntN(6), 1, 28)
		}
		if on.Before(o.founded) {
			on = o.founded
		}
		g.add(on, &domain.SystemAdopted{System: s, Title: systemTitles[i]})
	}
}

// rosterChanges writes the year's pay changes and transfers.
func (g *orgGen) rosterChanges() {
	for _, m := range g.o.members {
		if !m.raiseOn.IsZero() {
			to := m.raiseTo
			g.add(m.raiseOn, &domain.MemberDetailsChanged{MemberID: m.id, MonthlyIncomeFen: &to})
		}
		if !m.left.IsZero() {
			g.add(m.left, &domain.MemberTransferredOut{MemberID: m.id})
		}
	}
}

func topicFor(r *rand.Rand, m int) string {
	var ok []string
	for _, t := range studyTopics {
		if t.from <= m {
			ok = append(ok, t.text)
		}
	}
	return ok[max(0, len(ok)-6)+r.IntN(min(6, len(ok)))]
}

func (g *orgGen) study() {
	o, r := g.o, g.r
	var count [13]int
	for m := 1; m <= 12; m++ {
		count[m] = 2
		if o.sev == 0 && r.IntN(4) == 0 {
			count[m] = 3
		}
	}
	if o.knobs[kStudyShort] {
		n := [4]int{0, 1 + r.IntN(2), 3 + r.IntN(3), 8 + r.IntN(5)}[o.sev]
		for _, m := range g.months(n) {
			count[m] = 1
			if o.sev == 3 && r.IntN(2) == 0 {
				count[m] = 0
			}
		}
	}
	type session struct {
		d domain.Date
		p *domain.StudySessionHeld
	}
	var ss []session
	for m := g.first; m <= 12; m++ {
		for _, d := range g.daysIn(m, count[m]) {
			ss = append(ss, session{d, &domain.StudySessionHeld{Topic: topicFor(r, m), Attendees: g.attendees(d, nil), NotesKept: true}})
		}
	}
	if o.knobs[kNoNotes] && len(ss) > 0 {
		n := [4]int{0, 1, 2 + r.IntN(3), len(ss)}[o.sev]
		for _, i := range r.Perm(len(ss))[:min(n, len(ss))] {
			ss[i].p.NotesKept = false
		}
	}
	dup := -1
	if o.retract == retractDuplicate {
		for _, i := range r.Perm(len(ss)) {
			if ss[i].d.Month <= 11 {
				dup = i
				break
			}
		}
	}
	for i, s := range ss {
		g.add(s.d, s.p)
		if i == dup {
			id := g.emit(s.d, s.p, true)
			g.add(s.d.AddDays(2+r.IntN(8)), &domain.EventRetracted{EventID: id, Reason: "同一次学习重复录入，撤回重复记录"})
		}
	}
}

func (g *orgGen) committeeMembers() []*member {
	var cm []*member
	for _, m := range g.o.members {
		if m.officer || m.leader || m.founding {
			cm = append(cm, m)
		}
	}
	return cm
}

func (g *orgGen) meetings() {
	o, r := g.o, g.r
	var kinds []string
	switch o.kind {
	case domain.KindCommittee:
		kinds = []string{domain.MeetingCommittee}
	case domain.KindGeneralBranch:
		kinds = []string{domain.MeetingBranchCommittee}
	default:
		kinds = []string{domain.MeetingBranchCommittee, domain.MeetingGeneralAssembly}
		if o.hasGroups {
			kinds = append(kinds, domain.MeetingGroup)
		}
	}
	reduce := map[string]bool{}
	if o.knobs[kMeetings] {
		for _, k := range kinds {
			if o.sev == 3 || r.IntN(2) == 0 {
				reduce[k] = true
			}
		}
		if len(reduce) == 0 {
			reduce[pick(r, kinds)] = true
		}
	}
	cm := g.committeeMembers()
	for _, k := range kinds {
		switch k {
		case domain.MeetingCommittee:
			n := 6 + r.IntN(3)
			if reduce[k] {
				n = [4]int{0, 4 + r.IntN(2), 3 + r.IntN(2), 1 + r.IntN(2)}[o.sev]
			}
			for _, m := range g.months(n) {
				d := g.dayIn(m, 1, 28)
				g.add(d, &domain.MeetingHeld{Kind: k, Topic: pick(r, committeeTopics), Attendees: g.attendees(d, cm)})
			}
		case domain.MeetingBranchCommittee:
			n := 8 + r.IntN(5)
			if reduce[k] {
				n = [4]int{0, 6 + r.IntN(2), 4 + r.IntN(3), 2 + r.IntN(2)}[o.sev]
			}
			for _, m := range g.months(n) {
				d := g.dayIn(m, 1, 28)
				g.add(d, &domain.MeetingHeld{Kind: k, Topic: pick(r, branchCommitteeTopics), Attendees: g.attendees(d, cm)})
			}
		case domain.MeetingGeneralAssembly:
			quarters := []int{1, 2, 3, 4}
			if reduce[k] {
				quarters = r.Perm(4)[:[4]int{0, 3, 2 + r.IntN(2), 1}[o.sev]]
				for i := range quarters {
					quarters[i]++
				}
				slices.Sort(quarters)
			} else if r.IntN(3) == 0 {
				quarters = append(quarters, 4)
			}
			for i, q := range quarters {
				m := (q-1)*3 + 1 + r.IntN(3)
				if i > 0 && quarters[i-1] == q {
					m = 12
				}
				d := g.dayIn(g.mon(m), 1, 28)
				g.add(d, &domain.MeetingHeld{Kind: k, Topic: pick(r, assemblyTopics), Attendees: g.attendees(d, nil)})
			}
		case domain.MeetingGroup:
			g.groupMeetings(reduce[k])
		}
	}
	g.lectures()
}

func (g *orgGen) groupMeetings(reduced bool) {
	o, r := g.o, g.r
	skipLeader := o.knobs[kLeaderGDL]
	for grp := range o.groups {
		var in []*member
		for _, m := range o.members {
			if m.group == grp {
				in = append(in, m)
			}
		}
		n := 6
		if reduced {
			n = 3
		}
		for _, m := range g.months(n) {
			d := g.dayIn(m, 1, 28)
			g.add(d, &domain.MeetingHeld{Kind: domain.MeetingGroup, Topic: pick(r, groupTopics), Attendees: g.attendees(d, in)})
		}
		if reduced && grp > 0 {
			continue
		}
		d := g.dayIn(12, 1, 28)
		if grp%2 == 1 {
			d = g.dayIn(g.mon(1), 10, 28)
		}
		var must []*member
		for _, m := range in {
			if m.leader && m.activeOn(d) {
				must = append(must, m)
			}
		}
		if skipLeader && len(must) > 0 {
			// One leader is away on business for this meeting.
			away := must[0]
			must = must[1:]
			ids := []string{}
			for _, m := range in {
				if m != away && m.activeOn(d) && (slices.Contains(must, m) || r.IntN(100) < g.rate) {
					ids = append(ids, m.id)
				}
			}
			g.add(d, &domain.MeetingHeld{Kind: domain.MeetingGroupDemocraticLife, Topic: pick(r, groupDemocraticLifeTopics), Attendees: ids})
			skipLeader = false
			continue
		}
		g.add(d, &domain.MeetingHeld{Kind: domain.MeetingGroupDemocraticLife, Topic: pick(r, groupDemocraticLifeTopics), Attendees: g.attendees(d, in, must...)})
	}
	if skipLeader {
		o.knobs[kLeaderGDL] = false // no leader at a group democratic life meeting to miss it
	}
}

func (g *orgGen) lectures() {
	o, r := g.o, g.r
	var pool []*member
	leaders := o.leaders()
	var skip *member
	if o.knobs[kLeaderLecture] {
		skip = pick(r, leaders)
	}
	for _, m := range leaders {
		if m != skip {
			pool = append(pool, m)
		}
	}
	if len(pool) == 0 {
		for _, m := range append([]*member{o.secretary()}, o.members...) {
			if m != skip && (m.joined.Year < Year || m.founding) && m.left.IsZero() {
				pool = append(pool, m)
				break
			}
		}
	}
	r.Shuffle(len(pool), func(i, j int) { pool[i], pool[j] = pool[j], pool[i] })
	quarters := []int{1, 2, 3, 4}
	if o.knobs[kLectureQuarter] {
		quarters = r.Perm(4)[:4-min(o.sev, 3)]
		for i := range quarters {
			quarters[i]++
		}
		slices.Sort(quarters)
	}
	n := max(len(quarters), len(pool))
	if o.sev == 0 && r.IntN(3) == 0 {
		n++
	}
	for i := range n {
		q := quarters[i%len(quarters)]
		lecturer := pool[i%len(pool)]
		d := g.dayIn(g.mon((q-1)*3+1+r.IntN(3)), 1, 28)
		g.add(d, &domain.MeetingHeld{
			Kind: domain.MeetingPartyLecture, Topic: pick(r, lectureTopics),
			Attendees: g.attendees(d, nil, lecturer), LecturerID: lecturer.id,
		})
	}
}

// some returns how many of the yearly activity lines to write: lo..hi
// normally, none when the knob is on.
func (g *orgGen) some(k knob, lo, hi int) int {
	if k >= 0 && g.o.knobs[k] {
		return 0
	}
	return lo + g.r.IntN(hi-lo+1)
}

func (g *orgGen) anyDay() domain.Date { return g.dayIn(g.first+g.r.IntN(13-g.first), 1, 28) }

func (g *orgGen) activities() {
	o, r := g.o, g.r
	topics := []string{domain.TopicPartyConstitution, domain.TopicSpeeches, domain.TopicPolicy, domain.TopicSituation, domain.TopicCoreValues}
	dropped := map[int]bool{}
	if o.knobs[kEduTopic] {
		for _, i := range r.Perm(5)[:[4]int{0, 1, 2, 3 + r.IntN(2)}[o.sev]] {
			dropped[i] = true
		}
	}
	for i, t := range topics {
		if dropped[i] {
			continue
		}
		for range 1 + r.IntN(2) {
			g.add(g.anyDay(), &domain.EducationActivityHeld{Topic: t, Title: pick(r, educationTitles[i])})
		}
	}
	campaigns := []string{domain.CampaignCivilizedUnit, domain.CampaignVolunteer, domain.CampaignCivilityEtiquette}
	skipCampaign := [3]bool{o.knobs[kCivilized], false, false}
	if o.knobs[kOtherCampaign] {
		j := 1 + r.IntN(2)
		skipCampaign[j] = true
		if o.sev >= 2 {
			skipCampaign[3-j] = true
		}
	}
	for i, cpg := range campaigns {
		if !skipCampaign[i] {
			g.add(g.anyDay(), &domain.CampaignActivityHeld{Campaign: cpg, Title: pick(r, campaignTitles[i])})
		}
	}
	for range g.some(kMassOrg, 1, 2) {
		g.add(g.anyDay(), &domain.MassOrgEducationHeld{Title: pick(r, massOrgTitles)})
	}
	for range g.some(kSignature, 1, 2) {
		g.add(g.anyDay(), &domain.SignatureActivityHeld{Title: pick(r, signatureTitles)})
	}
	if o.knobs[kSignature] && r.IntN(3) == 0 {
		// The only signature activity is found not to be one and withdrawn.
		d := g.dayIn(g.mon(3+r.IntN(7)), 1, 28)
		id := g.emit(d, &domain.SignatureActivityHeld{Title: pick(r, signatureTitles)}, true)
		g.add(d.AddDays(10+r.IntN(30)), &domain.EventRetracted{EventID: id, Reason: "经核实该活动不属于特色创建活动，予以撤回"})
	}
	for range g.some(kInnovation, 1, 1) {
		g.add(g.anyDay(), &domain.InnovationRecorded{Title: pick(r, innovationTitles)})
	}
	for range g.some(kResearch, 1, 2) {
		g.add(g.dayIn(g.mon(4+r.IntN(8)), 1, 28), &domain.ResearchReportSubmitted{Title: pick(r, researchTitles)})
	}
	need := 3
	if o.kind == domain.KindCommittee {
		need = 4
	}
	n := need + r.IntN(3)
	if o.knobs[kWorkInfo] {
		n = max(0, need-o.sev)
	}
	for _, m := range g.months(n) {
		g.add(g.dayIn(m, 1, 28), &domain.WorkInfoSubmitted{Title: pick(r, workInfoTitles)})
	}
	for range g.some(kIntegrity, 1, 3) {
		g.add(g.anyDay(), &domain.IntegrityActivityHeld{Title: pick(r, integrityTitles)})
	}
	n = 2 + r.IntN(3)
	if o.knobs[kReviews] {
		n = max(0, 2-o.sev)
	}
	for _, m := range g.months(n) {
		g.add(g.dayIn(m, 1, 28), &domain.PartyWorkReviewed{Title: pick(r, reviewTitles)})
	}
}

// dues writes every member's monthly dues and the quarterly remittances.
func (g *orgGen) dues() {
	o, r := g.o, g.r
	var steady []*member // members who stay all year: candidates for misses
	for _, m := range o.members {
		if m.joined.Year < Year && m.left.IsZero() && !m.moved {
			steady = append(steady, m)
		}
	}
	r.Shuffle(len(steady), func(i, j int) { steady[i], steady[j] = steady[j], steady[i] })
	lateMonths := map[*member][]int{}
	shortMonths := map[*member][]int{}
	take := func(k knob, into map[*member][]int) {
		if !o.knobs[k] {
			return
		}
		n := 1
		if o.sev >= 2 {
			n += r.IntN(2)
		}
		for range n {
			if len(steady) == 0 {
				break
			}
			m := steady[0]
			steady = steady[1:]
			into[m] = g.months(1 + r.IntN(o.sev))
			into[m] = slices.DeleteFunc(into[m], func(x int) bool { return x == 12 })
			if len(into[m]) == 0 {
				into[m] = []int{1 + r.IntN(11)}
			}
		}
		if len(into) == 0 {
			o.knobs[k] = false
		}
	}
	take(kLateDues, lateMonths)
	take(kShortDues, shortMonths)
	typo := o.retract == retractDues && len(steady) > 0
	var typoMember *member
	typoMonth := 0
	if typo {
		typoMember = steady[0]
		typoMonth = 2 + r.IntN(9)
	}

	for _, m := range o.members {
		quarterly := m.joined.Year < Year && m.left.IsZero() && lateMonths[m] == nil && shortMonths[m] == nil && m != typoMember && r.IntN(5) == 0
		var quarterPaid domain.Date
		for month := 1; month <= 12; month++ {
			end := domain.MonthEnd(Year, time.Month(month))
			if !m.owes(end) {
				continue
			}
			expected := duesFor(m.incomeAt(end))
			var on domain.Date
			switch {
			case slices.Contains(lateMonths[m], month) && o.partLate && !g.partDone:
				// Half on the month's last day, the rest after it: late (2.5,
				// rev. 2). The day after is drawn as for a month paid late
				// whole, so the rest of the organisation is what it would be.
				half := expected / 2
				g.pay(m, month, end, half)
				g.pay(m, month, end.AddDays(1+r.IntN(20)), expected-half)
				g.partDone = true
				o.out.PartlyLateDues = true
				continue
			case slices.Contains(lateMonths[m], month):
				g.pay(m, month, end.AddDays(1+r.IntN(20)), expected)
				continue
			case quarterly:
				if month%3 == 1 {
					quarterPaid = date(Year, month, 3+r.IntN(13))
				}
				on = quarterPaid
			default:
				lo := 1
				if m.joined.Year == Year && int(m.joined.Month) == month {
					lo = m.joined.Day + 1
				}
				on = g.dayIn(month, lo, 25)
			}
			amount := duesFor(m.incomeAt(on))
			if slices.Contains(shortMonths[m], month) {
				g.pay(m, month, on, shortOf(expected))
				continue
			}
			if m == typoMember && month == typoMonth {
				id := g.emit(on, &domain.DuesPaid{MemberID: m.id, Month: fmt.Sprintf("%d-%02d", Year, month), AmountFen: expected * 10}, true)
				g.add(on.AddDays(3+r.IntN(8)), &domain.EventRetracted{EventID: id, Reason: "党费金额录入错误（多录一位），撤回后按正确金额重新录入"})
			}
			g.pay(m, month, on, amount)
			if amount < expected {
				// The pay change came after the payment: a top-up (补交).
				top := on
				if top.Before(m.raiseOn) {
					top = m.raiseOn
				}
				g.pay(m, month, top.AddDays(1+r.IntN(3)), expected-amount)
			}
		}
	}
	skipQ := map[int]bool{}
	lateQ := 0
	if o.knobs[kLateRemittance] {
		lateQ = 1 + r.IntN(3)
		if o.sev == 3 {
			skipQ[4] = true
		}
	}
	for q := 1; q <= 4; q++ {
		if skipQ[q] || g.paid[q] == 0 {
			continue
		}
		end := domain.QuarterEnd(Year, q)
		on := end.AddDays(-r.IntN(10))
		if q == lateQ {
			on = end.AddDays(5 + r.IntN(20))
		}
		g.add(on, &domain.DuesRemitted{Quarter: fmt.Sprintf("%d-Q%d", Year, q), AmountFen: g.paid[q]})
	}
}

func (g *orgGen) pay(m *member, month int, on domain.Date, amount domain.Fen) {
	g.add(on, &domain.DuesPaid{MemberID: m.id, Month: fmt.Sprintf("%d-%02d", Year, month), AmountFen: amount})
	g.paid[(month-1)/3+1] += amount
}

// duesFor is the 2016 rate table (2008 规定), rounded down to the fen.
func duesFor(income domain.Fen) domain.Fen {
	switch {
	case income <= 300000:
		return income * 5 / 1000
	case income <= 500000:
		return income * 10 / 1000
	case income <= 1000000:
		return income * 15 / 1000
	}
	return income * 20 / 1000
}

// shortOf returns a short payment: about two thirds, rounded down to the
// yuan.
func shortOf(expected domain.Fen) domain.Fen {
	s := expected * 2 / 3 / 100 * 100
	if s <= 0 || s >= expected {
		s = expected / 2
	}
	return max(s, 1)
}

func (g *orgGen) inspections() {
	o, r := g.o, g.r
	halves := []int{1, 2}
	if o.knobs[kSelfInspection] {
		switch o.sev {
		case 1:
			halves = []int{1 + r.IntN(2)}
		case 2:
			halves = []int{2}
		default:
			halves = nil
		}
	}
	for _, h := range halves {
		if h*6-5 < g.first {
			continue // the half began before the organisation was founded
		}
		m := h * 6
		g.add(g.dayIn(m, 15, 30), &domain.SelfInspectionCompleted{Half: fmt.Sprintf("%d-H%d", Year, h)})
	}
	if (o.kind == domain.KindCommittee || o.kind == domain.KindGeneralBranch) && !o.knobs[kSubordinate] && len(o.children) > 0 {
		for _, i := range r.Perm(len(o.children))[:min(len(o.children), 1+r.IntN(2))] {
			g.add(g.dayIn(g.mon(5+r.IntN(7)), 1, 28), &domain.SubordinateInspected{SubordinateCode: o.children[i].code})
		}
	}
	var targeted []*scheduled
	for _, s := range g.c.scheduled {
		// An event before the founding is not required (nor attended).
		if s.targetsOrg(o.code) && !s.date.Before(o.founded) {
			targeted = append(targeted, s)
		}
	}
	missed := map[*scheduled]bool{}
	if o.knobs[kAttendance] {
		n := min(len(targeted), [4]int{0, 1, 2, len(targeted)}[o.sev])
		for _, i := range r.Perm(len(targeted))[:n] {
			missed[targeted[i]] = true
		}
		if n == 0 {
			o.knobs[kAttendance] = false
		}
	}
	for _, s := range targeted {
		if !missed[s] {
			g.add(s.date, &domain.AttendanceRecorded{ScheduledEventID: s.id})
		}
	}
}

func (g *orgGen) reports() {
	o, r := g.o, g.r
	// 3.1 sat-in meetings.
	demLife, leadership := true, 4+r.IntN(3)
	if o.knobs[kSatIn] {
		leadership = max(0, 4-o.sev-r.IntN(2))
		demLife = o.sev == 1 && r.IntN(2) == 0
	}
	if demLife {
		m := pick(r, []int{1, 12})
		g.add(g.dayIn(g.mon(m), 5, 28), &domain.MeetingSatIn{Kind: domain.SatInLeadersDemocraticLife, Title: satInDemocraticLifeTitles[min(m/12, 1)]})
	}
	for i := range leadership {
		q := i%4 + 1
		g.add(g.dayIn(g.mon((q-1)*3+1+r.IntN(3)), 1, 28), &domain.MeetingSatIn{Kind: domain.SatInLeadershipMeeting, Title: pick(r, satInLeadershipTitles)})
	}
	// 3.2 outreach.
	keep := [3]bool{true, true, true}
	if o.knobs[kOutreach] {
		for _, i := range r.Perm(3)[:min(o.sev, 3)] {
			keep[i] = false
		}
	}
	if keep[0] {
		g.add(g.dayIn(g.mon(2+r.IntN(2)), 1, 28), &domain.WorkPlanFiled{Area: domain.AreaOutreach})
	}
	if keep[1] {
		g.add(g.dayIn(12, 10, 28), &domain.WorkSummaryFiled{Area: domain.AreaOutreach})
	}
	if keep[2] {
		kinds := []string{domain.OutreachGrassroots, domain.OutreachVillage, domain.OutreachEnterprise}
		for range 2 + r.IntN(4) {
			i := r.IntN(3)
			g.add(g.dayIn(g.mon(3+r.IntN(9)), 1, 28), &domain.OutreachVisit{Kind: kinds[i], Title: pick(r, outreachTitles[i])})
		}
	}
	// 5.4 reports.
	for range g.some(kDemLife, 1, 2) {
		i := r.IntN(len(democraticLifeTitles))
		m := 1 + r.IntN(2)
		if i == 1 {
			m = 12
		}
		g.add(g.dayIn(g.mon(m), 5, 28), &domain.DemocraticLifeReported{Title: democraticLifeTitles[i]})
	}
	for range g.some(kAdminReport, 1, 2) {
		g.add(g.dayIn(g.mon(1+r.IntN(12)), 1, 28), &domain.AdministrativeReportGiven{Title: pick(r, adminReportTitles)})
	}
}

// violations writes the organisation's discipline cases. A member
// expelled for a severe case leaves the roster after it is handled.
func (g *orgGen) violations() {
	o, r := g.o, g.r
	if o.violation == violNone {
		return
	}
	var cands []*member
	for _, m := range o.members {
		if !m.leader && !m.officer && !m.moved && m.left.IsZero() && m.joined.Year < Year && m.raiseOn.IsZero() {
			cands = append(cands, m)
		}
	}
	if len(cands) == 0 {
		o.violation = violNone
		return
	}
	m := pick(r, cands)
	var text violationText
	severity, impact := domain.SeverityOrdinary, domain.ImpactNormal
	on := g.dayIn(2+r.IntN(6), 1, 28)
	handled := on.AddDays(20 + r.IntN(60))
	switch o.violation {
	case violOrdinary:
		text = pick(r, ordinaryViolations)
	case violOrdinaryLate:
		text = pick(r, ordinaryViolations)
		on = g.dayIn(2+r.IntN(5), 1, 28)
		handled = on.AddDays(100 + r.IntN(40))
	case violSerious:
		text = seriousViolation
		severity = domain.SeveritySerious
	case violSevere:
		text = severeViolation
		severity, impact = domain.SeveritySerious, domain.ImpactSevere
		m.left = handled.AddDays(1 + r.IntN(5))
		m.moved = true
	}
	g.cases++
	caseID := fmt.Sprintf("AJ-%d-%02d", Year, g.cases)
	g.add(on, &domain.ViolationRecorded{CaseID: caseID, Person: m.id, Severity: severity, Impact: impact, Summary: text.summary})
	g.add(handled, &domain.CaseHandled{CaseID: caseID, Outcome: text.outcome})
}

// assessment writes the assessors' 2017 lines for the year.
func (g *orgGen) assessment() {
	o, r := g.o, g.r
	n := [4]int{0, r.IntN(3), 1 + r.IntN(3), 3 + r.IntN(3)}[o.sev]
	cg := o.kind != domain.KindBranch
	order := r.Perm(len(findingCatalog))
	if o.sev == 3 {
		// A derelict organisation's assessors always find poor work
		// style and low satisfaction, at the top of the range.
		heavy := []int{}
		for i, f := range findingCatalog {
			if f.code == "poor_rating" || f.code == "low_satisfaction" {
				heavy = append(heavy, i)
			}
		}
		order = append(heavy, slices.DeleteFunc(order, func(i int) bool { return slices.Contains(heavy, i) })...)
	}
	for _, i := range order {
		if n == 0 {
			break
		}
		f := findingCatalog[i]
		if f.kinds == "cg" && !cg {
			continue
		}
		p := &domain.FindingRecorded{Year: Year, Item: f.item, Finding: f.code, Reason: pick(r, f.reasons)}
		if !f.omit {
			pts := domain.Points(f.lo + 50*r.IntN((f.hi-f.lo)/50+1))
			if o.sev == 3 {
				pts = domain.Points(f.hi)
			}
			p.Points = &pts
		}
		d := date(Year+1, 1, 5+r.IntN(21))
		if r.IntN(3) == 0 {
			d = date(Year+1, 2, 1+r.IntN(20))
		}
		g.add(d, p)
		o.out.Findings++
		n--
	}
	if o.noGroup {
		return
	}
	lo, hi := [4]int{90, 76, 72, 70}[o.sev], [4]int{98, 90, 86, 72}[o.sev]
	score := func() domain.Points {
		s := domain.PointsOf(int64(lo + r.IntN(hi-lo)))
		switch r.IntN(6) {
		case 0:
			s += 50
		case 1:
			s += domain.Points(25 * (1 + 2*r.IntN(2)))
		}
		return s
	}
	s := score()
	g.add(date(Year+1, 1, 9+r.IntN(12)), &domain.GroupAssessmentRecorded{Year: Year, Score: s})
	if o.regrade {
		// Re-checked after an appeal: the later score counts.
		s = score()
		g.add(date(Year+1, 2, 10+r.IntN(15)), &domain.GroupAssessmentRecorded{Year: Year, Score: s})
	}
	o.out.GroupScore, o.out.HasGroupScore = s, true
}

// finish fills the organisation's description.
func (g *orgGen) finish() {
	o := g.o
	out := &o.out
	out.Code, out.Name, out.Kind, out.HasGroups, out.Profile = o.code, o.name, o.kind, o.hasGroups, o.profile
	out.FoundedOn, out.TermExtendedUntil = o.founded, o.extended
	if o.parent != nil {
		out.ParentCode = o.parent.code
	}
	end := date(Year, 12, 31)
	for _, m := range o.members {
		if m.owes(end) {
			out.Members++
			if m.leader {
				out.Leaders++
			}
		}
	}
	for k := range numKnobs {
		if o.knobs[k] {
			out.Misses = append(out.Misses, knobNames[k])
		}
	}
	switch o.violation {
	case violOrdinaryLate:
		out.Misses = append(out.Misses, "case_late")
	case violSerious:
		out.Misses = append(out.Misses, "serious_violation")
	case violSevere:
		out.Misses = append(out.Misses, "serious_severe_violation")
		out.Vetoes = append(out.Vetoes, "V1")
	}
	if o.overdue {
		out.Misses = append(out.Misses, "overdue_term")
		out.Vetoes = append(out.Vetoes, "V2")
	}
	if o.knobs[kLateDues] || o.knobs[kShortDues] || o.knobs[kLateRemittance] {
		out.Vetoes = append(out.Vetoes, "V3")
	}
	slices.Sort(out.Misses)
}
