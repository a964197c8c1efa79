package projections

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"

	"partyledger/domain"
)

// Facts snapshots. At national scale no machine holds every
// organisation's facts: projection workers fold each organisation's
// stream, store the facts as a snapshot (an event of a snapshot stream,
// see projections/workers) and any node restores them to rank without
// reading the organisation's events again. The snapshot is the Facts
// exactly — restoring and scoring equals folding and scoring, and a
// restored Facts goes on applying the stream's next events as the
// original would.
//
// The layout is a compact binary one (varints; about 35 bytes an event of
// the demo city, 16 of them its id):
// a magic, FactsSnapshotVersion, then every field of Facts in declaration
// order, each list with its length first. Countable act lists are stored
// by event type name, so a catalog that grows does not invalidate them.
// Decoding checks every length against the bytes left and every index
// against what it indexes before it builds anything, so a damaged snapshot
// is refused (ErrSnapshotCorrupt) rather than scored.

// FactsSnapshotVersion numbers the snapshot layout and the fold it
// snapshots. Bump it when Facts gains or changes a field (a test lists
// the fields and fails until this file is updated) and when Apply starts
// keeping something differently: a snapshot of another version is refused
// with ErrSnapshotVersion, and its reader folds the stream again.
const FactsSnapshotVersion = 2

// Errors of UnmarshalBinary.
var (
	// ErrSnapshotVersion reports a snapshot written by another version of
	// the fold: fold the organisation's stream instead.
	ErrSnapshotVersion = errors.New("projections: facts snapshot of another version")
	// ErrSnapshotCorrupt reports bytes that are not a facts snapshot.
	ErrSnapshotCorrupt = errors.New("projections: malformed facts snapshot")
)

var snapshotMagic = []byte("PLF")

// MarshalBinary returns the snapshot of f (encoding.BinaryMarshaler).
func (f *Facts) MarshalBinary() ([]byte, error) {
	w := snapWriter{b: make([]byte, 0, 64+24*len(f.evs))}
	w.b = append(w.b, snapshotMagic...)
	w.uint(FactsSnapshotVersion)
	w.str(f.code)
	w.str(f.stream)
	w.uint(f.position)
	// recorded_at, position and occurred_on as differences from the
	// previous event's: small numbers along a stream.
	w.uint(uint64(len(f.evs)))
	var prev evMeta
	var prevPos uint64
	for i, e := range f.evs {
		pos := f.pos(i)
		w.b = append(w.b, e.id[:]...)
		w.int(e.at - prev.at)
		w.int(int64(pos - prevPos))
		w.int(int64(e.day) - int64(prev.day))
		prev, prevPos = e, pos
	}
	odd := make([]int32, 0, len(f.oddIDs))
	for ev := range f.oddIDs {
		odd = append(odd, ev)
	}
	slices.Sort(odd) // same facts, same bytes
	w.uint(uint64(len(odd)))
	for _, ev := range odd {
		w.int(int64(ev))
		w.str(f.oddIDs[ev])
	}
	w.uint(uint64(len(f.regs)))
	for _, r := range f.regs {
		w.int(int64(r.ev))
		w.str(r.name)
		w.str(string(r.kind))
		w.bool(r.hasGroups)
		w.int(int64(r.founded))
		w.str(r.parent)
	}
	w.uint(uint64(len(f.members)))
	for _, m := range f.members {
		w.member(&m)
	}
	w.uint(uint64(len(f.offices)))
	for _, o := range f.offices {
		w.int(int64(o.ev))
		w.uint(uint64(o.role))
		w.int(int64(o.member))
		w.bool(o.appoint)
	}
	w.uint(uint64(len(f.elections)))
	for _, e := range f.elections {
		w.int(int64(e.ev))
		w.int(int64(e.termYears))
	}
	w.uint(uint64(len(f.extends)))
	for _, e := range f.extends {
		w.int(int64(e.ev))
		w.int(int64(e.until))
	}
	w.acts(f.acts)
	w.uint(uint64(len(f.people)))
	for _, p := range f.people {
		w.int(int64(p))
	}
	w.tail(f)
	return w.b, nil
}

func (w *snapWriter) member(m *member) {
	w.str(m.id)
	w.uint(uint64(len(m.roster)))
	for _, r := range m.roster {
		w.int(int64(r.ev))
		w.uint(uint64(r.op))
		w.int(int64(r.leader))
		w.int(int64(r.income))
		w.str(r.name)
	}
	w.uint(uint64(len(m.payments)))
	for _, p := range m.payments {
		w.int(int64(p.ev))
		w.int(int64(p.month))
		w.int(int64(p.amount))
	}
}

// acts writes the non-empty act lists, each under its event type's name.
func (w *snapWriter) acts(acts [][]act) {
	n := 0
	for _, l := range acts {
		if len(l) > 0 {
			n++
		}
	}
	w.uint(uint64(n))
	for ti, l := range acts {
		if len(l) == 0 {
			continue
		}
		w.str(domain.CountableEvents()[ti].Type)
		w.uint(uint64(len(l)))
		for _, a := range l {
			w.int(int64(a.ev))
			w.uint(uint64(a.cat))
			w.bool(a.notes)
			w.int(int64(a.pyear))
			w.int(int64(a.lecturer))
			w.int(int64(a.pOff))
			w.int(int64(a.pLen))
		}
	}
}

// tail writes the lists after people.
func (w *snapWriter) tail(f *Facts) {
	w.uint(uint64(len(f.remits)))
	for _, r := range f.remits {
		w.int(int64(r.ev))
		w.int(int64(r.year))
		w.int(int64(r.quarter))
	}
	w.uint(uint64(len(f.attended)))
	for _, a := range f.attended {
		w.int(int64(a.ev))
		w.str(a.sid)
	}
	w.uint(uint64(len(f.cases)))
	for _, c := range f.cases {
		w.int(int64(c.ev))
		w.bool(c.handled)
		w.str(c.caseID)
		w.str(c.person)
		w.str(c.severity)
		w.str(c.impact)
	}
	w.uint(uint64(len(f.findings)))
	for _, x := range f.findings {
		w.int(int64(x.ev))
		w.int(int64(x.year))
		w.str(x.item)
		w.str(x.code)
		w.bool(x.points != nil)
		if x.points != nil {
			w.int(int64(*x.points))
		}
		w.str(x.reason)
		w.bool(x.ignored)
	}
	w.uint(uint64(len(f.groups)))
	for _, g := range f.groups {
		w.int(int64(g.ev))
		w.int(int64(g.year))
		w.int(int64(g.score))
	}
	w.uint(uint64(len(f.retracts)))
	for _, r := range f.retracts {
		w.int(int64(r.ev))
		w.int(int64(r.target))
		w.bool(r.reject)
		w.str(r.reason)
	}
	others := make([]int32, 0, len(f.others))
	for ev, ok := range f.others {
		if ok {
			others = append(others, ev)
		}
	}
	slices.Sort(others) // same facts, same bytes
	w.uint(uint64(len(others)))
	for _, ev := range others {
		w.int(int64(ev))
	}
}

type snapWriter struct{ b []byte }

func (w *snapWriter) uint(v uint64) { w.b = binary.AppendUvarint(w.b, v) }
func (w *snapWriter) int(v int64)   { w.b = binary.AppendVarint(w.b, v) }
func (w *snapWriter) str(s string)  { w.uint(uint64(len(s))); w.b = append(w.b, s...) }
func (w *snapWriter) bool(v bool) {
	if v {
		w.b = append(w.b, 1)
	} else {
		w.b = append(w.b, 0)
	}
}

// UnmarshalBinary replaces f with the facts of a snapshot
// (encoding.BinaryUnmarshaler). Errors: ErrSnapshotVersion,
// ErrSnapshotCorrupt; f is unchanged after an error.
func (f *Facts) UnmarshalBinary(b []byte) error {
	if len(b) < len(snapshotMagic) || string(b[:len(snapshotMagic)]) != string(snapshotMagic) {
		return fmt.Errorf("%w: no magic", ErrSnapshotCorrupt)
	}
	r := &snapReader{b: b[len(snapshotMagic):]}
	if v := r.uint(); r.err == nil && v != FactsSnapshotVersion {
		return fmt.Errorf("%w: version %d, this fold is version %d", ErrSnapshotVersion, v, FactsSnapshotVersion)
	}
	g := NewFacts(r.str())
	g.stream = r.str()
	g.position = r.uint()
	var prev evMeta
	var pos uint64
	n := r.count(16 + 3)
	if n > 0 {
		g.evs = make([]evMeta, 0, n)
	}
	for range n {
		var e evMeta
		copy(e.id[:], r.bytes(16))
		e.at = prev.at + r.int()
		pos += uint64(r.int())
		e.day = day(int64(prev.day) + r.small(math.MinInt32, math.MaxInt32))
		if r.err != nil {
			break
		}
		g.addEv(e, pos)
		prev = g.evs[len(g.evs)-1]
	}
	if n := r.count(2); n > 0 {
		g.oddIDs = make(map[int32]string, n)
		for range n {
			ev := r.i32()
			g.oddIDs[ev] = r.str()
		}
	}
	g.regs = readList(r, 6, func() registration {
		return registration{ev: r.i32(), name: r.str(), kind: domain.OrgKind(r.str()), hasGroups: r.bool(),
			founded: day(r.i32()), parent: r.str()}
	})
	g.members = readList(r, 3, r.member)
	for i, m := range g.members {
		g.memberIdx[m.id] = int32(i)
	}
	g.offices = readList(r, 4, func() officeEvent {
		return officeEvent{ev: r.i32(), role: r.u8(), member: r.i32(), appoint: r.bool()}
	})
	g.elections = readList(r, 2, func() election { return election{ev: r.i32(), termYears: r.i32()} })
	g.extends = readList(r, 2, func() extension { return extension{ev: r.i32(), until: day(r.i32())} })
	r.acts(g)
	g.people = readList(r, 1, r.i32)
	r.tail(g)
	switch {
	case r.err != nil:
		return r.err
	case len(r.b) != 0:
		return fmt.Errorf("%w: %d bytes after the end", ErrSnapshotCorrupt, len(r.b))
	}
	if err := g.checkIndexes(); err != nil {
		return fmt.Errorf("%w: %v", ErrSnapshotCorrupt, err)
	}
	*f = *g
	return nil
}

func (r *snapReader) member() member {
	m := member{id: r.str()}
	m.roster = readList(r, 5, func() rosterEvent {
		return rosterEvent{ev: r.i32(), op: r.u8(), leader: int8(r.small(math.MinInt8, math.MaxInt8)),
			income: domain.Fen(r.int()), name: r.str()}
	})
	m.payments = readList(r, 3, func() payment {
		return payment{ev: r.i32(), month: r.i32(), amount: domain.Fen(r.int())}
	})
	return m
}

func (r *snapReader) acts(g *Facts) {
	n := r.count(2)
	for range n {
		name := r.str()
		ti, ok := countableIndex[name]
		if r.err == nil && !ok {
			r.fail("act list of %q, not a countable event type", name)
		}
		l := readList(r, 7, func() act {
			return act{ev: r.i32(), cat: r.u8(), notes: r.bool(), pyear: int16(r.small(math.MinInt16, math.MaxInt16)),
				lecturer: r.i32(), pOff: r.i32(), pLen: r.i32()}
		})
		if r.err != nil {
			return
		}
		if g.acts[ti] != nil || len(l) == 0 {
			r.fail("act list of %s twice or empty", name)
			return
		}
		g.acts[ti] = l
	}
}

func (r *snapReader) tail(g *Facts) {
	g.remits = readList(r, 3, func() remittance {
		return remittance{ev: r.i32(), year: int16(r.small(math.MinInt16, math.MaxInt16)), quarter: int8(r.small(math.MinInt8, math.MaxInt8))}
	})
	g.attended = readList(r, 2, func() attendance { return attendance{ev: r.i32(), sid: r.str()} })
	g.cases = readList(r, 6, func() caseEvent {
		return caseEvent{ev: r.i32(), handled: r.bool(), caseID: r.str(), person: r.str(), severity: r.str(), impact: r.str()}
	})
	g.findings = readList(r, 7, func() finding {
		x := finding{ev: r.i32(), year: r.i32(), item: r.str(), code: r.str()}
		if r.bool() {
			p := domain.Points(r.int())
			x.points = &p
		}
		x.reason, x.ignored = r.str(), r.bool()
		return x
	})
	g.groups = readList(r, 3, func() groupScore {
		return groupScore{ev: r.i32(), year: r.i32(), score: domain.Points(r.int())}
	})
	g.retracts = readList(r, 4, func() retraction {
		return retraction{ev: r.i32(), target: r.i32(), reject: r.bool(), reason: r.str()}
	})
	if n := r.count(1); n > 0 {
		g.others = make(map[int32]bool, n)
		for range n {
			g.others[r.i32()] = true
		}
	}
}

// checkIndexes asserts after reading that every index points into what it
// indexes, so that scoring a restored Facts cannot go out of range.
func (g *Facts) checkIndexes() error {
	nev, nmem := int32(len(g.evs)), int32(len(g.members))
	bad := func(what string, i int32, n int32) error {
		if i < 0 || i >= n {
			return fmt.Errorf("%s %d out of range [0, %d)", what, i, n)
		}
		return nil
	}
	var errs []error
	ev := func(i int32) { errs = append(errs, bad("event", i, nev)) }
	mem := func(i int32) { errs = append(errs, bad("member", i, nmem)) }
	for k := range g.oddIDs {
		ev(k)
	}
	for _, e := range g.evs {
		if !validDay(e.day) {
			errs = append(errs, fmt.Errorf("occurred_on %d is not a date", e.day))
		}
	}
	for _, r := range g.regs {
		ev(r.ev)
		if r.founded != 0 && !validDay(r.founded) {
			errs = append(errs, fmt.Errorf("founded_on %d is not a date", r.founded))
		}
	}
	for _, m := range g.members {
		for _, r := range m.roster {
			ev(r.ev)
			if r.op < opJoin || r.op > opTransfer || r.leader < -1 || r.leader > 1 {
				errs = append(errs, fmt.Errorf("roster operation %d, leader %d", r.op, r.leader))
			}
		}
		for _, p := range m.payments {
			ev(p.ev)
			if mo := p.month % 100; mo < 1 || mo > 12 || p.month < 0 {
				errs = append(errs, fmt.Errorf("dues month %d", p.month))
			}
		}
	}
	if len(g.memberIdx) != len(g.members) {
		errs = append(errs, errors.New("two members with one id"))
	}
	for _, o := range g.offices {
		ev(o.ev)
		mem(o.member)
		errs = append(errs, bad("role", int32(o.role), int32(len(officeRoles))))
	}
	for _, e := range g.elections {
		ev(e.ev)
	}
	for _, e := range g.extends {
		ev(e.ev)
		if !validDay(e.until) {
			errs = append(errs, fmt.Errorf("extension until %d is not a date", e.until))
		}
	}
	for x := range g.others {
		ev(x)
	}
	for _, p := range g.people {
		mem(p)
	}
	for ti, l := range g.acts {
		nv := max(len(domain.CountableEvents()[ti].Values), 1)
		for _, a := range l {
			ev(a.ev)
			if a.lecturer != -1 {
				mem(a.lecturer)
			}
			if a.pOff < 0 || a.pLen < 0 || int64(a.pOff)+int64(a.pLen) > int64(len(g.people)) {
				errs = append(errs, fmt.Errorf("attendees [%d, +%d) out of range", a.pOff, a.pLen))
			}
			if domain.CountableEvents()[ti].PayloadPeriod == "" {
				errs = append(errs, bad("category", int32(a.cat), int32(nv)))
			} else if a.cat < 1 || a.cat > 2 {
				errs = append(errs, fmt.Errorf("half %d", a.cat))
			}
		}
	}
	for _, r := range g.remits {
		ev(r.ev)
		if r.quarter < 1 || r.quarter > 4 {
			errs = append(errs, fmt.Errorf("quarter %d", r.quarter))
		}
	}
	for _, a := range g.attended {
		ev(a.ev)
	}
	for _, c := range g.cases {
		ev(c.ev)
	}
	for _, x := range g.findings {
		ev(x.ev)
	}
	for _, x := range g.groups {
		ev(x.ev)
	}
	for _, x := range g.retracts {
		ev(x.ev)
		ev(x.target)
	}
	return errors.Join(errs...)
}

// validDay reports whether d is a civil date as dayOf packs one.
func validDay(d day) bool {
	y, m, dd := d.year(), d.month(), int(d)%100
	return d > 0 && y >= 1 && y <= 9999 && m >= 1 && m <= 12 && dd >= 1 && dd <= 31
}

// snapReader reads a snapshot; the first failure sticks in err and every
// later read returns zero values.
type snapReader struct {
	b   []byte
	err error
}

func (r *snapReader) fail(format string, args ...any) {
	if r.err == nil {
		r.err = fmt.Errorf("%w: "+format, append([]any{ErrSnapshotCorrupt}, args...)...)
	}
	r.b = nil
}

func (r *snapReader) uint() uint64 {
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.fail("bad varint")
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *snapReader) int() int64 {
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.fail("bad varint")
		return 0
	}
	r.b = r.b[n:]
	return v
}

// small reads an integer that must lie within [lo, hi].
func (r *snapReader) small(lo, hi int64) int64 {
	v := r.int()
	if v < lo || v > hi {
		r.fail("%d out of [%d, %d]", v, lo, hi)
		return 0
	}
	return v
}

func (r *snapReader) i32() int32 { return int32(r.small(math.MinInt32, math.MaxInt32)) }

func (r *snapReader) u8() uint8 {
	v := r.uint()
	if v > math.MaxUint8 {
		r.fail("%d is not a byte", v)
		return 0
	}
	return uint8(v)
}

func (r *snapReader) bool() bool {
	b := r.bytes(1)
	if b == nil {
		return false
	}
	if b[0] > 1 {
		r.fail("bool %d", b[0])
	}
	return b[0] == 1
}

func (r *snapReader) bytes(n int) []byte {
	if len(r.b) < n {
		r.fail("%d bytes wanted, %d left", n, len(r.b))
		return nil
	}
	out := r.b[:n]
	r.b = r.b[n:]
	return out
}

func (r *snapReader) str() string { return string(r.bytes(int(r.count(1)))) }

// count reads a length whose elements take at least min bytes each, and
// refuses one the bytes left cannot hold: a damaged length never makes a
// large allocation.
func (r *snapReader) count(min int) int {
	n := r.uint()
	if n > uint64(len(r.b)/min) {
		r.fail("length %d with %d bytes left", n, len(r.b))
		return 0
	}
	return int(n)
}

// readList reads a length and that many elements; a list of none is nil,
// as the fold leaves it.
func readList[T any](r *snapReader, min int, elem func() T) []T {
	n := r.count(min)
	if n == 0 {
		return nil
	}
	out := make([]T, n)
	for i := range out {
		out[i] = elem()
		if r.err != nil {
			return nil
		}
	}
	return out
}
