package main

import (
	"bytes"
	"context"
	"fmt"
	"hash/fnv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"partyledger/domain"
	"partyledger/domain/democity"
	"partyledger/ledger"
	"partyledger/ledger/books"
)

// appendPayload is the payload of every single-event and batch append: a
// StudySessionHeld of 300 bytes, the size of a typical study session or
// meeting: 28 attendees and a topic padded to the size.
var appendPayload = func() []byte {
	const size = 300
	for attendees := 30; ; attendees-- {
		var b bytes.Buffer
		b.WriteString(`{"topic":"学习贯彻党的十八届六中全会精神专题学习`)
		topicEnd := b.Len()
		b.WriteString(`","attendees":[`)
		for i := 1; i <= attendees; i++ {
			if i > 1 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `"m%03d"`, i)
		}
		b.WriteString(`],"notes_kept":true}`)
		if b.Len() <= size {
			// Pad the topic to the size exactly.
			s := b.String()
			return []byte(s[:topicEnd] + strings.Repeat(".", size-len(s)) + s[topicEnd:])
		}
	}
}()

const (
	appendType       = domain.TypeStudySessionHeld
	appendOccurredOn = "2016-03-08"
	appendBy         = "ledgerbench"
)

// proposals returns n proposals of the append payload. Their ids are
// zero, so the ledger assigns random ones and does not look ids up: the
// same work for every store (the bbolt layout has no id index).
func proposals(n int) []ledger.Proposed {
	out := make([]ledger.Proposed, n)
	for i := range out {
		out[i] = ledger.Proposed{Type: appendType, OccurredOn: appendOccurredOn, RecordedBy: appendBy, Data: appendPayload}
	}
	return out
}

// rawEvents returns n envelopes of the append payload continuing stream
// at rev, for appends that bypass the ledger (no hashing: the store does
// not check hashes).
func rawEvents(stream string, rev int64, n int) []ledger.Event {
	out := make([]ledger.Event, n)
	now := ledger.TruncateTime(time.Now())
	for i := range out {
		out[i] = ledger.Event{ID: uuid.New(), Stream: stream, Type: appendType, SchemaVersion: ledger.SchemaVersion,
			Revision: uint64(rev+1) + uint64(i), OccurredOn: appendOccurredOn, RecordedAt: now, RecordedBy: appendBy,
			Data: appendPayload}
	}
	return out
}

// frameBytes is the size of the filestore frame holding one append of n
// events of the append payload to a stream named like stream: what the
// raw-disk limits write per commit, so that they write what the store
// writes.
func frameBytes(stream string, n int) int {
	const frameHeader, bodyHeader, entryHeader, eventFixed, eventVar = 8, 16, 10, 104, 10
	const chunk, trailer = 4096, 8 // format version 2: a CRC per 4096 body bytes, then the header again
	ev := eventFixed + eventVar + len(appendType) + len(appendOccurredOn) + len(appendBy) + len(appendPayload)
	body := bodyHeader + entryHeader + len(stream) + n*ev
	return frameHeader + body + 4*((body+chunk-1)/chunk) + trailer
}

// cityOrgsMax is the size of the cities a year is made of; a variable so
// that a test can make small ones.
var cityOrgsMax = democity.MaxOrgs

// cityLine is one event of a generated city: its stream and proposal.
type cityLine struct {
	stream string
	p      ledger.Proposed
}

// cityYear returns the journal of a year of orgs organisations: one demo
// city when orgs ≤ democity.MaxOrgs, else several cities of MaxOrgs (the
// sizes as equal as can be) with their own seeds, whose organisation codes are
// renamed (LY-… → C1-…, C2-…) so that they do not collide. It calls fn
// once per city, in journal order, so that only one city is in memory.
func cityYear(orgs int, seed int64, fn func(lines []cityLine) error) error {
	for k, n := range citySizes(orgs) {
		lines, err := cityLines(seed+int64(k), n, k)
		if err != nil {
			return err
		}
		if err := fn(lines); err != nil {
			return err
		}
	}
	return nil
}

// citySizes splits orgs into cities of nearly equal size, none above
// cityOrgsMax.
func citySizes(orgs int) []int {
	cities := (orgs + cityOrgsMax - 1) / cityOrgsMax
	out := make([]int, cities)
	for k := range out {
		out[k] = orgs / cities
		if k < orgs%cities {
			out[k]++
		}
	}
	return out
}

// cityLines generates city k of seed with orgs organisations. The work
// committee schedules its events once for every city: the committee's
// lines of the cities after the first (the same six events again, under
// the same scheduled ids, three of them for every organisation) are left
// out, or each organisation would be judged against every city's events
// for all organisations, and scoring would grow with the square of the
// year.
func cityLines(seed int64, orgs, k int) ([]cityLine, error) {
	journal := democity.Generate(seed, democity.Options{Orgs: orgs})
	from, to := []byte(`"LY-`), []byte(fmt.Sprintf(`"C%d-`, k))
	out := make([]cityLine, 0, len(journal))
	for i := range journal {
		l := &journal[i]
		org, data := l.Org, []byte(l.Data)
		if k > 0 {
			org = strings.Replace(org, "LY-", fmt.Sprintf("C%d-", k), 1)
			data = bytes.ReplaceAll(data, from, to)
		}
		kind, ok := domain.StreamKindOf(l.Type)
		var stream string
		switch {
		case !ok:
			return nil, fmt.Errorf("democity line %d: unknown type %q", i+1, l.Type)
		case kind == domain.StreamOrg:
			stream = books.OrgStream(org)
		case kind == domain.StreamCommittee && k > 0:
			continue
		case kind == domain.StreamCommittee:
			stream = books.CommitteeStream
		default:
			return nil, fmt.Errorf("democity line %d: %s is neither an organisation's nor the committee's", i+1, l.Type)
		}
		p := ledger.Proposed{Type: l.Type, OccurredOn: l.OccurredOn, RecordedBy: "democity", Data: data}
		if l.ID != "" {
			id, err := uuid.Parse(l.ID)
			if err != nil {
				return nil, fmt.Errorf("democity line %d: id: %w", i+1, err)
			}
			p.ID = id
		}
		out = append(out, cityLine{stream: stream, p: p})
	}
	return out, nil
}

// importBatch bounds the events of one append while loading, as the
// import command does.
const importBatch = 500

// streamSpan is the recorded_at range of a stream's events.
type streamSpan struct {
	first, last time.Time
	events      int
}

// loadLines appends lines through the ledger in journal order per stream,
// with consecutive lines of one stream in one append. Streams are split
// among loaders goroutines, so that hashing overlaps the syncs. It
// returns the recorded_at span of every stream.
func loadLines(ctx context.Context, l *ledger.Ledger, lines []cityLine, loaders int) (map[string]*streamSpan, error) {
	parts := make([][]cityLine, loaders)
	for _, ln := range lines {
		k := shard(ln.stream, loaders)
		parts[k] = append(parts[k], ln)
	}
	spans := make([]map[string]*streamSpan, loaders)
	errs := make([]error, loaders)
	var wg sync.WaitGroup
	for w := range loaders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			spans[w], errs[w] = loadPart(ctx, l, parts[w])
		}()
	}
	wg.Wait()
	all := map[string]*streamSpan{}
	for w := range loaders {
		if errs[w] != nil {
			return nil, errs[w]
		}
		for k, v := range spans[w] {
			all[k] = v
		}
	}
	return all, nil
}

func loadPart(ctx context.Context, l *ledger.Ledger, lines []cityLine) (map[string]*streamSpan, error) {
	spans := map[string]*streamSpan{}
	batch := make([]ledger.Proposed, 0, importBatch)
	for i := 0; i < len(lines); {
		j := i
		batch = batch[:0]
		for j < len(lines) && j-i < importBatch && lines[j].stream == lines[i].stream {
			batch = append(batch, lines[j].p)
			j++
		}
		res, err := l.Append(ctx, lines[i].stream, ledger.Any, batch)
		if err != nil {
			return nil, fmt.Errorf("load %s: %w", lines[i].stream, err)
		}
		sp := spans[lines[i].stream]
		if sp == nil {
			sp = &streamSpan{first: res[0].RecordedAt}
			spans[lines[i].stream] = sp
		}
		sp.last = res[len(res)-1].RecordedAt
		sp.events += len(res)
		i = j
	}
	return spans, nil
}

// shard assigns a stream to one of n workers.
func shard(stream string, n int) int {
	if n == 1 {
		return 0
	}
	h := fnv.New32a()
	h.Write([]byte(stream))
	return int(h.Sum32() % uint32(n))
}
