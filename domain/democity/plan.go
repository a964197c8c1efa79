package democity

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	"partyledger/domain"
)

// knob is one deliberate miss an organisation may have. Each knob breaks
// one or a few rubric rules; which ones is said next to it.
type knob int

const (
	kEduTopic       knob = iota // 1.1: education topics missing
	kCivilized                  // 1.3: no civilized_unit activity
	kOtherCampaign              // 1.3: volunteer / etiquette missing
	kMassOrg                    // 1.4: no mass-org education
	kSignature                  // 2.1: no signature activity (or the only one retracted)
	kInnovation                 // 2.1: no innovation
	kLeadership                 // 2.2: no deputy (committee, general branch) / secretary left unreplaced (branch)
	kStaffing                   // 5.1: committee without affairs officer (and fulltime deputy)
	kLateDues                   // 2.5, V3: dues paid after the month's end
	kShortDues                  // 2.5, V3: dues paid short
	kLateRemittance             // 2.5, V3: a quarter remitted late or not at all
	kNoDuesAccount              // 2.5: committee without a dues account
	kSelfInspection             // 2.6: half-year self inspection missing
	kSubordinate                // 2.6: no subordinate inspected
	kAttendance                 // 2.7: scheduled events not attended
	kSatIn                      // 3.1: sat-in meetings missing
	kOutreach                   // 3.2: outreach plan/summary/visit missing
	kResearch                   // 3.3: no research report
	kWorkInfo                   // 3.3: too few work infos
	kIntegrity                  // 4.1: no integrity activity
	kReviews                    // 5.1: fewer than two party work reviews
	kStudyShort                 // 5.2: months with fewer than two study sessions
	kNoNotes                    // 5.2: sessions without notes
	kMeetings                   // 5.3: too few 三会 meetings
	kLectureQuarter             // 5.3: quarters without a party lecture
	kLeaderLecture              // 5.3: a leader gave no lecture
	kLeaderGDL                  // 5.4: a leader missed group democratic life
	kLeaderActivity             // 5.4: a leader attended too few activities
	kDemLife                    // 5.4: no democratic life report
	kAdminReport                // 5.4: no administrative report
	kSystem                     // 5.5: a required system never adopted
	numKnobs
)

var knobNames = [numKnobs]string{
	"education_topic", "civilized_unit", "other_campaign", "mass_org", "signature", "innovation",
	"leadership", "staffing", "late_dues", "short_dues", "late_remittance", "no_dues_account",
	"self_inspection", "subordinate", "attendance", "sat_in", "outreach", "research", "work_info",
	"integrity", "reviews", "study_short", "no_notes", "meetings", "lecture_quarter",
	"leader_lecture", "leader_gdl", "leader_activity", "democratic_life", "admin_report", "system",
}

// Violation roles.
const (
	violNone         = iota
	violOrdinary     // handled within the deadline
	violOrdinaryLate // handled after the deadline (有案不查)
	violSerious      // serious, normal impact, handled in time
	violSevere       // serious and severe: veto V1
)

// Retraction roles.
const (
	retractNone      = iota
	retractDuplicate // a study session entered twice; the copy is retracted
	retractDues      // a dues payment with a typo; retracted and re-entered
)

type member struct {
	id, name string
	leader   bool
	income   domain.Fen
	joined   domain.Date
	left     domain.Date // transfer-out date; zero when the member stays
	raiseOn  domain.Date // income change date; zero when none
	raiseTo  domain.Fen
	group    int
	officer  bool
	founding bool
	moved    bool // transferred in from, or out to, another organisation
}

// incomeAt returns the income in force on d.
func (m *member) incomeAt(d domain.Date) domain.Fen {
	if !m.raiseOn.IsZero() && !d.Before(m.raiseOn) {
		return m.raiseTo
	}
	return m.income
}

// activeOn reports whether m may appear in an activity on d: joined
// strictly before and not yet transferred out.
func (m *member) activeOn(d domain.Date) bool {
	return m.joined.Before(d) && (m.left.IsZero() || d.Before(m.left))
}

// owes reports whether m belongs to the organisation on the month's last
// day, and so owes that month's dues there.
func (m *member) owes(monthEnd domain.Date) bool {
	return !m.joined.After(monthEnd) && (m.left.IsZero() || monthEnd.Before(m.left))
}

type officer struct {
	role string
	m    *member
}

type orgPlan struct {
	idx        int
	code, name string
	unit       string // the name root of the organisation's children
	kind       domain.OrgKind
	parent     *orgPlan
	children   []*orgPlan
	numbered   int // children named 第N党支部 so far
	hasGroups  bool
	groups     int
	profile    Profile
	sev        int // 0 exemplary, 1 average, 2 sloppy, 3 derelict
	knobs      [numKnobs]bool
	registered domain.Date
	members    []*member
	officers   []officer
	nextMember int

	overdue   bool
	founded   domain.Date // founded during the year, on the 1st of a month; zero otherwise
	extended  domain.Date // the until of an approved term extension; zero for none
	partLate  bool        // one late month is paid half on time, half late
	violation int
	retract   int
	noGroup   bool
	regrade   bool

	r, idr *rand.Rand
	out    Org
}

func (o *orgPlan) leaders() []*member {
	var ls []*member
	for _, m := range o.members {
		if m.leader {
			ls = append(ls, m)
		}
	}
	return ls
}

func (o *orgPlan) secretary() *member {
	for _, of := range o.officers {
		if of.role == domain.RoleSecretary {
			return of.m
		}
	}
	return o.members[0]
}

type scheduled struct {
	id      string
	date    domain.Date
	kind    string
	title   string
	targets []string
	set     map[string]bool // nil for ["*"]; only looked up, never ranged
}

func (s *scheduled) targetsOrg(code string) bool { return s.set == nil || s.set[code] }

type city struct {
	seed      int64
	opts      Options
	r         *rand.Rand
	idr       *rand.Rand
	orgs      []*orgPlan
	scheduled []*scheduled
}

// Seed streams: each consumer has its own, so that adding draws to one
// never shifts another.
const (
	streamCity    = 0x9e3779b97f4a7c15
	streamCityIDs = 0x6a09e667f3bcc909
	streamOrg     = 0xbb67ae8584caa73b
	streamOrgIDs  = 0x3c6ef372fe94f82b
)

func newCity(seed int64, opts Options) *city {
	switch {
	case opts.Orgs == 0:
		opts.Orgs = DefaultOrgs
	case opts.Orgs < MinOrgs:
		opts.Orgs = MinOrgs
	case opts.Orgs > MaxOrgs:
		opts.Orgs = MaxOrgs
	}
	return &city{
		seed: seed,
		opts: opts,
		r:    rand.New(rand.NewPCG(uint64(seed), streamCity)),
		idr:  rand.New(rand.NewPCG(uint64(seed), streamCityIDs)),
	}
}

func (c *city) plan() {
	c.planStructure()
	for _, o := range c.orgs {
		o.r = rand.New(rand.NewPCG(uint64(c.seed)^streamOrg, uint64(o.idx)))
		o.idr = rand.New(rand.NewPCG(uint64(c.seed)^streamOrgIDs, uint64(o.idx)))
	}
	c.planProfiles()
	for _, o := range c.orgs {
		o.planMembers()
		o.planKnobs()
		o.planOfficers()
	}
	c.planRoles()
	c.planTransfers()
	c.planScheduled()
}

func deptName(i int) string {
	if i < len(departments) {
		return departments[i]
	}
	return fmt.Sprintf("市直第%d单位", i+1)
}

// planStructure creates the organisations and numbers them depth first,
// so that a parent is always registered before its children.
func (c *city) planStructure() {
	n := c.opts.Orgs
	nc := max(1, n*2/15)
	ng := max(1, n/5)
	nb := n - nc - ng

	comms := make([]*orgPlan, nc)
	for i := range comms {
		d := deptName(i)
		comms[i] = &orgPlan{kind: domain.KindCommittee, name: d + "机关党委", unit: d + "机关"}
	}
	next := nc
	gbs := make([]*orgPlan, ng)
	gbUnder := make([]int, nc)
	for j := range gbs {
		g := &orgPlan{kind: domain.KindGeneralBranch}
		if j%2 == 0 {
			pi := (j / 2) % nc
			p := comms[pi]
			subs := genericSubUnits
			if pi < len(subUnits) {
				subs = subUnits[pi]
			}
			sub := subs[gbUnder[pi]%len(subs)]
			if gbUnder[pi] >= len(subs) {
				sub += ordinal(gbUnder[pi]/len(subs) + 1)
			}
			gbUnder[pi]++
			g.unit = deptName(pi) + sub
			g.parent = p
			p.children = append(p.children, g)
		} else {
			g.unit = deptName(next)
			next++
		}
		g.name = g.unit + "党总支"
		gbs[j] = g
	}
	var needing []*orgPlan
	for i, p := range comms {
		if gbUnder[i] == 0 {
			needing = append(needing, p)
		}
	}
	needing = append(needing, gbs...)
	parents := append(slices.Clone(comms), gbs...)
	var loose []*orgPlan
	for k := range nb {
		b := &orgPlan{kind: domain.KindBranch}
		var p *orgPlan
		switch {
		case k < len(needing):
			p = needing[k]
		case c.r.IntN(5) == 0:
		default:
			p = parents[c.r.IntN(len(parents))]
		}
		if p == nil {
			b.name = deptName(next) + "党支部"
			next++
			loose = append(loose, b)
			continue
		}
		b.parent = p
		p.numbered++
		if p.kind == domain.KindCommittee && p.numbered == 3 {
			b.name = deptName(slices.Index(comms, p)) + "离退休干部党支部"
		} else {
			num := p.numbered
			if p.kind == domain.KindCommittee && num > 3 {
				num--
			}
			b.name = p.unit + "第" + ordinal(num) + "党支部"
		}
		p.children = append(p.children, b)
	}

	var visit func(o *orgPlan)
	visit = func(o *orgPlan) {
		o.idx = len(c.orgs)
		o.code = fmt.Sprintf("LY-%04d", o.idx+1)
		c.orgs = append(c.orgs, o)
		for _, ch := range o.children {
			visit(ch)
		}
	}
	for _, o := range comms {
		visit(o)
	}
	for _, g := range gbs {
		if g.parent == nil {
			visit(g)
		}
	}
	for _, b := range loose {
		visit(b)
	}
}

func (c *city) planProfiles() {
	n := len(c.orgs)
	nE := max(1, n/4)
	nD := 0
	if n >= 10 {
		nD = max(1, n/40)
	}
	nS := n / 4
	for i, j := range c.r.Perm(n) {
		o := c.orgs[j]
		switch {
		case i < nE:
			o.profile, o.sev = Exemplary, 0
		case i < nE+nD:
			o.profile, o.sev = Derelict, 3
		case i < nE+nD+nS:
			o.profile, o.sev = Sloppy, 2
		default:
			o.profile, o.sev = Average, 1
		}
	}
}

// dateBetween returns a uniformly random date in [a, b].
func dateBetween(r *rand.Rand, a, b domain.Date) domain.Date {
	days := int(b.Start().Sub(a.Start()).Hours()/24 + 0.5)
	if days <= 0 {
		return a
	}
	return a.AddDays(r.IntN(days + 1))
}

func date(y, m, d int) domain.Date { return domain.Date{Year: y, Month: time.Month(m), Day: d} }

// incomeIn returns a monthly income in a dues bracket (0: ≤3000元, 1:
// 3000–5000, 2: 5000–10000, 3: above), sometimes exactly on a boundary.
func incomeIn(r *rand.Rand, bracket int) domain.Fen {
	lo, hi := [4]int{2200, 3001, 5001, 10001}[bracket], [4]int{3000, 5000, 10000, 16000}[bracket]
	if r.IntN(12) == 0 && bracket < 3 {
		return domain.Fen(hi * 100) // exactly the bracket's top
	}
	yuan := lo + r.IntN(hi-lo)
	fen := 0
	if r.IntN(2) == 0 {
		fen = r.IntN(100)
	}
	return domain.Fen(yuan*100 + fen)
}

func randomBracket(r *rand.Rand) int {
	switch x := r.IntN(20); {
	case x < 3:
		return 0
	case x < 10:
		return 1
	case x < 18:
		return 2
	default:
		return 3
	}
}

func (o *orgPlan) newName() string {
	for {
		name := surnames[o.r.IntN(len(surnames))] + givenNames[o.r.IntN(len(givenNames))]
		if !slices.ContainsFunc(o.members, func(m *member) bool { return m.name == name }) {
			return name
		}
	}
}

func (o *orgPlan) addMember(name string, income domain.Fen, joined domain.Date) *member {
	o.nextMember++
	m := &member{id: fmt.Sprintf("m%03d", o.nextMember), name: name, income: income, joined: joined}
	if o.hasGroups {
		m.group = (o.nextMember - 1) % o.groups
	}
	o.members = append(o.members, m)
	return m
}

func (o *orgPlan) planMembers() {
	r := o.r
	var size, leaders int
	switch o.kind {
	case domain.KindCommittee:
		size, leaders = 15+r.IntN(26), 2+r.IntN(3)
	case domain.KindGeneralBranch:
		size, leaders = 10+r.IntN(26), 1+r.IntN(3)
	default:
		size = 5 + r.IntN(26)
		leaders = [5]int{0, 0, 1, 1, 2}[r.IntN(5)]
	}
	if o.kind == domain.KindBranch && size >= 10 && r.IntN(10) < 6 {
		o.hasGroups = true
		o.groups = 2
		if size >= 20 {
			o.groups = 3
		}
	}
	o.registered = date(2003+r.IntN(8), 1+r.IntN(12), 1+r.IntN(28))
	founding := min(6, size)
	for i := range size {
		joined := o.registered
		if i >= founding {
			joined = dateBetween(r, o.registered.AddDays(1), date(Year-1, 12, 31))
		}
		m := o.addMember(o.newName(), 0, joined)
		m.founding = i < founding
	}
	// Leaders: the first founding member (the future secretary) and others
	// drawn from the whole pre-2016 roster.
	for i, j := range append([]int{0}, r.Perm(size)...) {
		if leaders == 0 {
			break
		}
		if i > 0 && j == 0 {
			continue
		}
		if !o.members[j].leader {
			o.members[j].leader = true
			leaders--
		}
	}
	for _, m := range o.members {
		if m.leader {
			m.income = incomeIn(r, 2+r.IntN(2))
		} else {
			m.income = incomeIn(r, randomBracket(r))
		}
	}
	// A new member (预备党员 or 转入) in some organisations.
	if r.IntN(4) == 0 {
		o.addMember(o.newName(), incomeIn(r, randomBracket(r)), date(Year, 3+r.IntN(8), 5+r.IntN(16)))
	}
	// The July pay adjustment in some organisations.
	if r.IntN(5) < 2 {
		on := date(Year, 7, 1+r.IntN(12))
		for _, m := range o.members {
			if m.joined.Year < Year && r.IntN(3) == 0 {
				m.raiseOn = on
				m.raiseTo = m.income + m.income*domain.Fen(5+r.IntN(11))/100
			}
		}
	}
}

// applicable reports whether knob k can apply to the organisation.
func (o *orgPlan) applicable(k knob) bool {
	cg := o.kind == domain.KindCommittee || o.kind == domain.KindGeneralBranch
	leaders := len(o.leaders()) > 0
	switch k {
	case kStaffing, kNoDuesAccount:
		return o.kind == domain.KindCommittee
	case kSubordinate:
		return cg
	case kLeaderLecture, kLeaderActivity:
		return leaders
	case kLeaderGDL:
		return leaders && o.hasGroups
	}
	return true
}

func (o *orgPlan) planKnobs() {
	var ks []knob
	for k := range numKnobs {
		if o.applicable(k) {
			ks = append(ks, k)
		}
	}
	var n int
	switch o.profile {
	case Exemplary:
		return
	case Average:
		n = 1 + o.r.IntN(4)
	case Sloppy:
		n = 6 + o.r.IntN(6)
	default:
		n = len(ks)
	}
	for _, i := range o.r.Perm(len(ks))[:n] {
		o.knobs[ks[i]] = true
	}
}

func (o *orgPlan) planOfficers() {
	var founding []*member
	for _, m := range o.members {
		if m.founding {
			founding = append(founding, m)
		}
	}
	pick := func(role string, leader bool) {
		for _, m := range founding {
			if !m.officer && (!leader || m.leader) {
				m.officer = true
				o.officers = append(o.officers, officer{role, m})
				return
			}
		}
		if leader {
			for _, m := range founding {
				if !m.officer {
					m.officer = true
					o.officers = append(o.officers, officer{role, m})
					return
				}
			}
		}
	}
	pick(domain.RoleSecretary, true)
	switch o.kind {
	case domain.KindCommittee:
		if !o.knobs[kLeadership] {
			pick(domain.RoleDeputySecretary, true)
		}
		if !o.knobs[kLeadership] && !(o.knobs[kStaffing] && o.sev >= 2) {
			pick(domain.RoleFulltimeDeputySecretary, false)
		}
		if !o.knobs[kStaffing] {
			pick(domain.RoleAffairsOfficer, false)
		}
	case domain.KindGeneralBranch:
		if !o.knobs[kLeadership] {
			role := domain.RoleDeputySecretary
			if o.r.IntN(3) == 0 {
				role = domain.RoleFulltimeDeputySecretary
			}
			pick(role, false)
		}
	default:
		if o.r.IntN(5) < 2 {
			pick(domain.RoleDeputySecretary, false)
		}
	}
}

// planRoles hands out the city-wide roles: violations, overdue terms,
// late dues, retractions and missing group scores.
func (c *city) planRoles() {
	var non []*orgPlan
	var exemplary []*orgPlan
	for _, j := range c.r.Perm(len(c.orgs)) {
		o := c.orgs[j]
		if o.profile == Exemplary {
			exemplary = append(exemplary, o)
		} else {
			non = append(non, o)
		}
	}
	n := len(c.orgs)
	if len(non) > 0 {
		// The veto V1 goes to a sloppy organisation when there is one.
		v1 := non[0]
		for _, o := range non {
			if o.profile == Sloppy {
				v1 = o
				break
			}
		}
		v1.violation = violSevere
		roles := []int{violSerious, violOrdinaryLate}
		for range max(2, n/15) {
			roles = append(roles, violOrdinary)
		}
		i := 0
		for _, role := range roles {
			for ; i < len(non) && non[i].violation != violNone; i++ {
			}
			if i == len(non) {
				break
			}
			non[i].violation = role
		}
		// Overdue terms (V2), counted from the end of the list so that
		// they mostly fall on other organisations than the violations.
		for k := range max(2, n/25) {
			non[len(non)-1-k%len(non)].overdue = true
		}
		// Late dues (V3) in enough organisations.
		late := 0
		for _, o := range non {
			if o.knobs[kLateDues] {
				late++
			}
		}
		for k := 0; late < max(2, n/20) && k < len(non); k++ {
			if o := non[(k*7+3)%len(non)]; !o.knobs[kLateDues] {
				o.knobs[kLateDues] = true
				late++
			}
		}
		// One average organisation has no group score yet; another had
		// its group score recorded twice.
		for _, o := range non {
			if o.profile == Average && o.violation == violNone {
				o.noGroup = true
				break
			}
		}
		non[len(non)/2].regrade = !non[len(non)/2].noGroup
		for k := range max(1, n/30) {
			if o := non[(k*5+1)%len(non)]; o.retract == retractNone {
				o.retract = retractDuplicate
			}
		}
	}
	for k := range min(len(exemplary), max(1, n/40)) {
		exemplary[k].retract = retractDues
	}
	c.planRevision2(exemplary, non)
}

// The demo's organisation founded mid-year, and the term extension's dates.
var (
	foundedOn         = date(Year, 7, 1)
	extensionElected  = date(Year-4, 6, 15) // a three-year term: expired 2015-06-15
	extensionApproved = date(Year-1, 5, 20)
	extensionUntil    = date(Year+1, 6, 30)
	extensionReason   = "因机构改革，经市委市直工委批准延期换届"
)

// planRevision2 picks, without drawing from the city's random stream, the
// organisations that show RUBRIC.md revision 2: an exemplary branch
// without subordinates founded on 1 July, another exemplary organisation
// with an approved term extension, and an organisation with late dues (but
// no V1) that pays one month partly late. Each is one directly under the
// work committee when there is one, so that the ranking (which covers
// those) shows it.
func (c *city) planRevision2(exemplary, non []*orgPlan) {
	var cands []*orgPlan
	for i := len(exemplary) - 1; i >= 0; i-- {
		if o := exemplary[i]; o.retract == retractNone {
			cands = append(cands, o)
		}
	}
	var f *orgPlan
	for _, o := range cands {
		if o.kind == domain.KindBranch && len(o.children) == 0 && (f == nil || f.parent != nil && o.parent == nil) {
			f = o
		}
	}
	if f != nil {
		f.found(foundedOn)
	}
	var ext *orgPlan
	for _, o := range cands {
		if o != f && (ext == nil || ext.parent != nil && o.parent == nil) {
			ext = o
		}
	}
	if ext != nil {
		ext.extended = extensionUntil
	}
	var late *orgPlan
	for _, o := range non {
		// Not the V1 organisation: its tier is settled by the violation.
		if o.knobs[kLateDues] && o.violation != violSevere && (late == nil || late.parent != nil && o.parent == nil) {
			late = o
		}
	}
	if late != nil {
		late.partLate = true
	}
}

// found makes the organisation one founded on d: registered then, every
// member joining then or later, no pay change carried over.
func (o *orgPlan) found(d domain.Date) {
	o.founded, o.registered = d, d
	for _, m := range o.members {
		if m.joined.Before(d) {
			m.joined = d
		}
		m.raiseOn, m.raiseTo = domain.Date{}, 0
	}
}

// planTransfers moves a few ordinary members between organisations in
// the middle of the year.
func (c *city) planTransfers() {
	n := len(c.orgs)
	for range max(2, n/25) {
		src := c.orgs[c.r.IntN(n)]
		dst := c.orgs[c.r.IntN(n)]
		if src == dst || !dst.founded.IsZero() {
			continue // nobody transfers into an organisation before it exists
		}
		var cands []*member
		for _, m := range src.members {
			if !m.leader && !m.officer && !m.moved && m.joined.Year < Year && m.raiseOn.IsZero() {
				cands = append(cands, m)
			}
		}
		if len(cands) < 2 {
			continue
		}
		m := cands[c.r.IntN(len(cands))]
		m.left = date(Year, 4+c.r.IntN(6), 8+c.r.IntN(11))
		m.moved = true
		nm := dst.addMember(m.name, m.income, m.left.AddDays(2+c.r.IntN(5)))
		nm.moved = true
	}
}

var scheduledPlan = []scheduledText{
	{2, 26, domain.ScheduledMeeting, "市直机关“两学一做”学习教育动员部署会"},
	{4, 14, domain.ScheduledTraining, "市直机关党务干部业务培训班"},
	{6, 29, domain.ScheduledMeeting, "市直机关庆祝建党95周年暨“两优一先”表彰大会"},
	{8, 19, domain.ScheduledActivity, "市直机关“党员志愿服务进社区”集中活动"},
	{9, 22, domain.ScheduledTraining, "基层党支部书记示范培训班"},
	{11, 17, domain.ScheduledMeeting, "学习贯彻党的十八届六中全会精神宣讲报告会"},
}

func (c *city) planScheduled() {
	for i, st := range scheduledPlan {
		s := &scheduled{
			id:    fmt.Sprintf("GW-%d-%02d", Year, i+1),
			date:  date(Year, st.month, st.day),
			kind:  st.kind,
			title: st.title,
		}
		var pick func(o *orgPlan) bool
		switch i {
		case 1: // committees and general branches
			pick = func(o *orgPlan) bool { return o.kind != domain.KindBranch }
		case 3: // a selection of organisations
			pick = func(*orgPlan) bool { return c.r.IntN(5) < 2 }
		case 4: // branches
			pick = func(o *orgPlan) bool { return o.kind == domain.KindBranch }
		}
		if pick == nil {
			s.targets = []string{domain.TargetsAll}
		} else {
			s.set = make(map[string]bool)
			for _, o := range c.orgs {
				// A scheduled event names at most domain.MaxTargets
				// organisations; a bigger city's selection is cut there.
				if pick(o) && len(s.targets) < domain.MaxTargets {
					s.targets = append(s.targets, o.code)
					s.set[o.code] = true
				}
			}
			if len(s.targets) == 0 {
				s.targets = []string{c.orgs[0].code}
				s.set[c.orgs[0].code] = true
			}
		}
		c.scheduled = append(c.scheduled, s)
	}
}
