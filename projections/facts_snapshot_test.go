package projections_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"partyledger/domain"
	"partyledger/domain/democity"
	"partyledger/projections"
)

// demoCity folds a demo city's journal as if imported in one go (one
// line a millisecond): every organisation's records and facts, and the
// committee's schedule.
type demoCity struct {
	codes   []string
	records map[string][]domain.Recorded
	facts   map[string]*projections.Facts
	sched   *projections.Schedule
	known   time.Time
}

func foldDemoCity(t testing.TB, seed int64, orgs int) *demoCity {
	t.Helper()
	base := time.Date(democity.Year+1, 3, 1, 0, 0, 0, 0, domain.CST)
	c := &demoCity{records: map[string][]domain.Recorded{}, facts: map[string]*projections.Facts{}, sched: projections.NewSchedule()}
	lines := democity.Generate(seed, democity.Options{Orgs: orgs, AllIDs: true})
	for i, l := range lines {
		raw, err := json.Marshal(l)
		if err != nil {
			t.Fatal(err)
		}
		e, err := domain.ParseJournalLine(raw)
		if err != nil {
			t.Fatalf("line %d: %v", i+1, err)
		}
		r := domain.Recorded{ID: e.ID, Type: e.Type, Position: uint64(1000 + 97*i), OccurredOn: e.OccurredOn,
			RecordedAt: base.Add(time.Duration(i) * time.Millisecond), RecordedBy: "demo", Payload: e.Payload}
		if e.Org == "" {
			if err := c.sched.Apply(r); err != nil {
				t.Fatalf("line %d: %v", i+1, err)
			}
			continue
		}
		f := c.facts[e.Org]
		if f == nil {
			f = projections.NewFacts(e.Org)
			c.facts[e.Org] = f
			c.codes = append(c.codes, e.Org)
		}
		r.Stream, r.Revision = "org-"+e.Org, uint64(f.Len())
		if err := f.Apply(r); err != nil {
			t.Fatalf("line %d: %v", i+1, err)
		}
		c.records[e.Org] = append(c.records[e.Org], r)
	}
	c.known = base.Add(time.Duration(len(lines)+1) * time.Millisecond)
	return c
}

func roundTrip(t testing.TB, f *projections.Facts) *projections.Facts {
	t.Helper()
	b, err := f.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	g := projections.NewFacts("")
	if err := g.UnmarshalBinary(b); err != nil {
		t.Fatalf("%s: restore: %v", f.Org(), err)
	}
	return g
}

func scoreAll(t testing.TB, c *demoCity, facts map[string]*projections.Facts) string {
	t.Helper()
	var all []*projections.Facts
	for _, code := range c.codes {
		all = append(all, facts[code])
	}
	cards, err := projections.ScoreAll(all, domain.Builtin2016(), projections.Query{Year: democity.Year, KnownAt: c.known, Schedule: c.sched})
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(cards)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestFactsSnapshotRoundTrip: over the demo city, a restored snapshot is
// the facts exactly (field by field, and byte for byte when snapshotted
// again), and scoring the restored facts equals scoring the folded ones.
func TestFactsSnapshotRoundTrip(t *testing.T) {
	c := foldDemoCity(t, 7, 40)
	restored := map[string]*projections.Facts{}
	for _, code := range c.codes {
		f := c.facts[code]
		g := roundTrip(t, f)
		if !reflect.DeepEqual(g, f) {
			t.Fatalf("%s: restored facts differ from the folded ones", code)
		}
		b1, _ := f.MarshalBinary()
		b2, _ := g.MarshalBinary()
		if !bytes.Equal(b1, b2) {
			t.Fatalf("%s: the snapshot of the restored facts differs", code)
		}
		restored[code] = g
	}
	if got, want := scoreAll(t, c, restored), scoreAll(t, c, c.facts); got != want {
		t.Fatal("scores from restored snapshots differ from scores of the folded facts")
	}
}

// TestFactsSnapshotMidStream: facts restored from a snapshot taken after
// any prefix of the stream go on folding the rest to the same facts as
// one fold of the whole stream (a worker resumes from its snapshot).
func TestFactsSnapshotMidStream(t *testing.T) {
	c := foldDemoCity(t, 3, 12)
	for _, code := range c.codes {
		recs := c.records[code]
		for _, k := range []int{1, 2, len(recs) / 3, len(recs) / 2, len(recs) - 1} {
			f := projections.NewFacts(code)
			for _, r := range recs[:k] {
				if err := f.Apply(r); err != nil {
					t.Fatal(err)
				}
			}
			g := roundTrip(t, f)
			for _, r := range recs[k:] {
				if err := g.Apply(r); err != nil {
					t.Fatalf("%s: apply after restoring at %d: %v", code, k, err)
				}
			}
			if !reflect.DeepEqual(g, c.facts[code]) {
				t.Fatalf("%s: restored at %d of %d and folded on: differs from one fold", code, k, len(recs))
			}
		}
	}
}

// factsLayout is the shape of Facts the snapshot codec was written for.
// When this test fails, Facts has changed: write the new fields in
// MarshalBinary and UnmarshalBinary (facts_snapshot.go), bump
// FactsSnapshotVersion, and then update this list. (A change of how Facts
// keeps what it already encodes — evMeta's position split in two halves —
// leaves the bytes and the version as they were:
// TestFactsSnapshotBytesPinned.)
const factsLayout = `Facts{code string; stream string; position uint64; evs []evMeta{id [16]uint8; at int64; day int32; posLo uint32}; posHi []uint32; oddIDs map[int32]string; regs []registration{ev int32; name string; kind string; hasGroups bool; founded int32; parent string}; members []member{id string; roster []rosterEvent{ev int32; op uint8; leader int8; income int64; name string}; payments []payment{ev int32; month int32; amount int64}}; memberIdx map[string]int32; offices []officeEvent{ev int32; role uint8; member int32; appoint bool}; elections []election{ev int32; termYears int32}; extends []extension{ev int32; until int32}; acts [][]act{ev int32; cat uint8; notes bool; pyear int16; lecturer int32; pOff int32; pLen int32}; people []int32; remits []remittance{ev int32; year int16; quarter int8}; attended []attendance{ev int32; sid string}; cases []caseEvent{ev int32; handled bool; caseID string; person string; severity string; impact string}; findings []finding{ev int32; year int32; item string; code string; points *int64; reason string; ignored bool}; groups []groupScore{ev int32; year int32; score int64}; retracts []retraction{ev int32; target int32; reject bool; reason string}; others map[int32]bool}`

func layout(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Struct:
		var fs []string
		for i := range t.NumField() {
			f := t.Field(i)
			fs = append(fs, f.Name+" "+layout(f.Type))
		}
		return t.Name() + "{" + strings.Join(fs, "; ") + "}"
	case reflect.Slice:
		return "[]" + layout(t.Elem())
	case reflect.Array:
		return fmt.Sprintf("[%d]%s", t.Len(), layout(t.Elem()))
	case reflect.Map:
		return "map[" + layout(t.Key()) + "]" + layout(t.Elem())
	case reflect.Pointer:
		return "*" + layout(t.Elem())
	}
	return t.Kind().String()
}

func TestFactsSnapshotCoversEveryField(t *testing.T) {
	if got := layout(reflect.TypeFor[projections.Facts]()); got != factsLayout {
		t.Fatalf("Facts changed; update the snapshot codec, bump FactsSnapshotVersion (now %d), then this list:\n got %s\nwant %s",
			projections.FactsSnapshotVersion, got, factsLayout)
	}
}

// TestFactsSnapshotRefusesDamage: every truncation, a trailing byte,
// another version and flipped bits are refused or decode to valid facts;
// nothing panics, and a refused snapshot leaves the facts as they were.
func TestFactsSnapshotRefusesDamage(t *testing.T) {
	c := foldDemoCity(t, 5, 3)
	f := c.facts[c.codes[0]]
	good, err := f.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	g := roundTrip(t, f)
	for n := range len(good) {
		if err := g.UnmarshalBinary(good[:n]); !errors.Is(err, projections.ErrSnapshotCorrupt) {
			t.Fatalf("truncated to %d of %d bytes: err = %v, want ErrSnapshotCorrupt", n, len(good), err)
		}
	}
	if !reflect.DeepEqual(g, f) {
		t.Fatal("a refused snapshot changed the facts")
	}
	if err := projections.NewFacts("").UnmarshalBinary(append(good[:len(good):len(good)], 0)); !errors.Is(err, projections.ErrSnapshotCorrupt) {
		t.Fatalf("trailing byte: err = %v, want ErrSnapshotCorrupt", err)
	}
	other := bytes.Clone(good)
	other[3]++ // the version follows the three-byte magic
	if err := projections.NewFacts("").UnmarshalBinary(other); !errors.Is(err, projections.ErrSnapshotVersion) {
		t.Fatalf("another version: err = %v, want ErrSnapshotVersion", err)
	}
	rb := domain.Builtin2016()
	// Every bit of the header, then a spread of the rest.
	for i := 0; i < len(good)*8; i += 1 + i/512 {
		bad := bytes.Clone(good)
		bad[i/8] ^= 1 << (i % 8)
		g := projections.NewFacts("")
		if err := g.UnmarshalBinary(bad); err == nil {
			// Some flips decode (a changed count or name): what decodes
			// must still be scorable without a panic.
			_, _ = projections.ScoreAll([]*projections.Facts{g}, rb, projections.Query{Year: democity.Year, KnownAt: c.known, Schedule: c.sched})
		}
	}
}

// BenchmarkFactsSnapshot measures snapshot and restore of an average
// demo organisation, and reports its size.
func BenchmarkFactsSnapshot(b *testing.B) {
	c := foldDemoCity(b, 7, 40)
	events, size := 0, 0
	for _, code := range c.codes {
		bs, _ := c.facts[code].MarshalBinary()
		events += c.facts[code].Len()
		size += len(bs)
	}
	f := c.facts[c.codes[len(c.codes)/2]]
	bs, _ := f.MarshalBinary()
	b.Run("marshal", func(b *testing.B) {
		for b.Loop() {
			_, _ = f.MarshalBinary()
		}
		b.ReportMetric(float64(len(bs)), "bytes/op")
		b.ReportMetric(float64(f.Len()), "events/org")
	})
	b.Run("unmarshal", func(b *testing.B) {
		g := projections.NewFacts("")
		for b.Loop() {
			if err := g.UnmarshalBinary(bs); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.ReportMetric(float64(size)/float64(events), "bytes/event")
}

// TestFactsSnapshotBytesPinned: the snapshot of a demo city's facts is
// the same bytes as version 2 of the codec wrote, whatever Facts keeps in
// memory: a change of these bytes needs a new FactsSnapshotVersion. (The
// city is the input: a change of democity's output changes the hash too,
// with the codec unchanged; check that the codec's files are untouched
// before pinning the new hash.)
func TestFactsSnapshotBytesPinned(t *testing.T) {
	c := foldDemoCity(t, 7, 40)
	h := sha256.New()
	for _, code := range c.codes {
		b, err := c.facts[code].MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		h.Write(b)
	}
	const want = "54c1651bf5bf63adf3426c87c0b20bb60b21283346cb7d4e921d2e237550a238"
	if got := hex.EncodeToString(h.Sum(nil)); got != want {
		t.Errorf("the snapshots of demo city 7 (40 organisations) hash to %s, want %s", got, want)
	}
}

// TestFactsWidePositions: positions beyond 32 bits (KurrentDB's $all
// commit positions grow that large) are kept exactly, before and after a
// snapshot, and so are positions that do not increase.
func TestFactsWidePositions(t *testing.T) {
	c := foldDemoCity(t, 3, 5)
	code := c.codes[0]
	recs := c.records[code]
	f := projections.NewFacts(code)
	want := make([]uint64, len(recs))
	for i, r := range recs {
		switch {
		case i == 1:
			r.Position = 7 // below the first: not in order
		case i >= len(recs)/2:
			r.Position += 1<<40 + uint64(i)<<33
		}
		want[i] = r.Position
		if err := f.Apply(r); err != nil {
			t.Fatal(err)
		}
	}
	check := func(name string, f *projections.Facts) {
		t.Helper()
		var top uint64
		for i, r := range recs {
			top = max(top, want[i])
			if got := f.PositionAt(r.RecordedAt); got != top {
				t.Fatalf("%s: PositionAt(event %d's recorded_at) = %d, want %d", name, i, got, top)
			}
		}
		if f.Position() != top {
			t.Errorf("%s: Position() = %d, want %d", name, f.Position(), top)
		}
	}
	check("folded", f)
	g := roundTrip(t, f)
	check("restored", g)
	if !reflect.DeepEqual(g, f) {
		t.Error("restored facts differ from the folded")
	}
}
