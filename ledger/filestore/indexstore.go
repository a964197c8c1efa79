package filestore

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"slices"
	"sort"

	"github.com/google/uuid"

	"partyledger/ledger"
	"runtime/debug"
)

// OpenStats reports how Open (or OpenReadOnly) built the store's
// in-memory indexes: from index files, or by reading frames.
type OpenStats struct {
	Segments     int // segments found
	IndexLoaded  int // segments whose index file was valid and used
	IndexMissing int // segments without an index file
	// IndexRejected lists the index files found bad, or inconsistent with
	// their segment or the commit mark, as "file: reason". Each was also
	// logged at error level; its segment's frames were read instead and
	// the file rewritten (unless read-only).
	IndexRejected []string
	// ScannedBytes and ScannedEvents count the frames read and checked
	// one by one: the bytes of a segment past what its index covers (the
	// tail written since the last Close), or all of it without a usable
	// index.
	ScannedBytes  int64
	ScannedEvents int
	IndexWritten  int // index files Open wrote
	IndexFailed   int // index files Open failed to write (logged)
}

// OpenStats returns how Open built the store's indexes.
func (s *Store) OpenStats() OpenStats {
	st := s.openStats
	st.IndexRejected = slices.Clone(st.IndexRejected)
	return st
}

// IndexWriteFailures returns how many index files the store failed to
// write since it was opened — at Open, when a segment was sealed, at
// Close. Each was logged at error level. A failure costs nothing but time:
// the next Open reads that segment's frames instead.
func (s *Store) IndexWriteFailures() int64 { return s.indexFailures.Load() }

// openState is what Open gathers, segment by segment, before it builds
// the indexes.
type openState struct {
	segs   []openSeg
	counts []uint64 // events per stream number so far
	stats  OpenStats
}

// release unmaps the index files still mapped. Nothing may point into
// them after.
func (o *openState) release() {
	for i := range o.segs {
		if r := o.segs[i].release; r != nil {
			o.segs[i].release = nil
			r()
		}
	}
}

type openSeg struct {
	part    *segIndex   // the loaded index
	b       *segBuilder // the segment's index as scanned on top of part
	from    int64       // where the scan of its frames started
	release func()      // unmaps part's file, when it was read through a mapping
}

// pendingIndex is an index that Open writes once the store is open.
type pendingIndex struct {
	sg *segment
	x  *segIndex
}

// indexCover says how far the index file of a segment covers it.
type indexCover struct {
	first   uint64
	dataEnd int64
}

// segmentIndex is called by the scan of each segment after its header was
// checked: when the segment's index file is valid and agrees with the
// segment and the commit mark, its events are taken from it and the scan
// starts where it ends; otherwise at the first frame. limit is what the
// commit mark records as complete of this segment (-1: nothing).
func (s *Store) segmentIndex(sg *segment, size, limit int64) (*indexer, int64) {
	if s.opening == nil {
		s.opening = &openState{}
	}
	o := s.opening
	o.stats.Segments++
	seg := openSeg{from: segmentHeaderSize}
	x, release, found, bad, err := s.loadIndexFile(sg)
	if err != nil {
		bad = "cannot be read: " + err.Error()
	}
	if release != nil && bad != "" {
		release() // rejected: nothing points into it
		release = nil
	}
	seg.release = release
	if x != nil && bad == "" {
		bad = s.useIndex(sg, x, size, limit)
	}
	switch {
	case !found:
		o.stats.IndexMissing++
	case bad != "":
		name := indexName(sg.first)
		o.stats.IndexRejected = append(o.stats.IndexRejected, name+": "+bad)
		s.opts.Logger.Error("filestore: segment index rejected; reading the segment's frames instead (the log is the truth)",
			"file", s.path(name), "reason", bad)
	default:
		o.stats.IndexLoaded++
		seg.part, seg.from = x, x.dataEnd
	}
	if seg.part != nil {
		seg.b = newBuilder(sg.first, x.s0, x)
	} else {
		seg.b = newBuilder(sg.first, uint32(len(s.streamList)), nil)
	}
	o.segs = append(o.segs, seg)
	return &indexer{b: seg.b, sg: sg}, seg.from
}

// useIndex checks the index x of sg against the segment, the commit mark
// and the streams before it, and takes its events: the checks Open makes
// instead of reading the frames (doc.go, "Indexes"). It returns why the
// index cannot be used, and then changes nothing.
func (s *Store) useIndex(sg *segment, x *segIndex, size, limit int64) string {
	o := s.opening
	last := x.first + uint64(x.n) - 1
	switch {
	case x.first != sg.first:
		return fmt.Sprintf("it is the index of a segment starting at position %d", x.first)
	case x.version != sg.version:
		return fmt.Sprintf("it indexes a segment of format version %d, the segment is of version %d", x.version, sg.version)
	case x.dataEnd > size:
		return fmt.Sprintf("it covers %d bytes, the segment holds %d", x.dataEnd, size)
	case x.s0 != uint32(len(s.streamList)):
		return fmt.Sprintf("it counts %d streams before the segment, the log %d", x.s0, len(s.streamList))
	}
	if limit >= 0 && limit <= x.dataEnd {
		// The commit mark records limit bytes of this segment as
		// complete, ending at position h: a frame boundary there.
		h := s.mark.Head
		switch {
		case limit == x.dataEnd && h != last:
			return fmt.Sprintf("the commit mark records position %d at byte %d, the index %d", h, limit, last)
		case limit < x.dataEnd && (h+1 < x.first || h >= last || x.offs[h+1-x.first] != uint32(limit) || (h >= x.first && x.offs[h-x.first] >= uint32(limit))):
			return fmt.Sprintf("the commit mark records %d bytes of the segment, up to position %d: not where a frame of the index starts", limit, h)
		}
	}
	k := len(s.streamList)
	rollback := func(registered int) {
		for _, name := range x.names[:registered] {
			delete(s.streams, name)
		}
		clear(s.streamList[k:])
		s.streamList = s.streamList[:k]
		o.counts = o.counts[:k]
	}
	for i, name := range x.names {
		if _, dup := s.streams[name]; dup {
			rollback(i)
			return fmt.Sprintf("it names stream %q as new, but the stream has earlier events", name)
		}
		st := &streamState{num: uint32(k + i)}
		s.streams[name] = st
		s.streamList = append(s.streamList, st)
		o.counts = append(o.counts, 0)
	}
	if why, err := s.checkLastFrame(sg, x); why != "" || err != nil {
		rollback(len(x.names))
		if err != nil {
			return "cannot read the last frame it names: " + err.Error()
		}
		return why
	}
	for _, r := range x.runs {
		o.counts[r.num] += uint64(r.count)
	}
	sg.offs = x.offs
	s.head = x.first + uint64(x.n) - 1
	return ""
}

// checkLastFrame reads the last frame that x indexes and checks that it
// ends where x's data ends, passes every check of the format, and holds
// exactly the events x says it holds, with their ids, streams and
// revisions.
func (s *Store) checkLastFrame(sg *segment, x *segIndex) (string, error) {
	if x.n == 0 {
		return "", nil
	}
	o := s.opening
	lo := int64(x.offs[x.n-1])
	last := x.first + uint64(x.n) - 1
	if x.dataEnd-lo < frameHeaderSize {
		return fmt.Sprintf("its last frame, at %d, does not fit before %d", lo, x.dataEnd), nil
	}
	hdr := make([]byte, frameHeaderSize)
	if _, err := sg.f.ReadAt(hdr, lo); err != nil {
		return "", err
	}
	n, _, ok := frameLen(hdr)
	if !ok || lo+int64(frameSize(x.version, n)) != x.dataEnd {
		return fmt.Sprintf("the frame at %d, its last, does not end at %d where the index ends", lo, x.dataEnd), nil
	}
	frame := make([]byte, frameSize(x.version, n))
	if _, err := sg.f.ReadAt(frame, lo); err != nil {
		return "", err
	}
	body, bad := checkFrame(x.version, frame)
	if bad != "" {
		return fmt.Sprintf("the frame at %d, its last: %s", lo, bad), nil
	}
	var dec frameDecoder
	if err := dec.init(body); err != nil {
		return fmt.Sprintf("the frame at %d, its last: %v", lo, err), nil
	}
	if dec.first < x.first || dec.first > last || (dec.first > x.first && int64(x.offs[dec.first-1-x.first]) >= lo) {
		return fmt.Sprintf("the frame at %d, its last, starts at position %d: not where the index has it", lo, dec.first), nil
	}
	starts := x.runStarts()
	var ev rawEvent
	for {
		ok, err := dec.nextEvent(&ev)
		if err != nil {
			return fmt.Sprintf("the frame at %d, its last: %v", lo, err), nil
		}
		if !ok {
			break
		}
		wrong := func(what string) (string, error) {
			return fmt.Sprintf("event %s at position %d, in its last frame: %s", ev.id, ev.position, what), nil
		}
		if ev.position > last {
			return wrong("beyond the index's last position")
		}
		rel := uint32(ev.position - x.first)
		if x.offs[rel] != uint32(lo) {
			return wrong(fmt.Sprintf("the index has its frame at %d", x.offs[rel]))
		}
		if !x.hasID(idKey(&ev.id), rel) {
			return wrong("the index's id table does not have it at this position")
		}
		st := s.streams[string(ev.stream)]
		if st == nil {
			return wrong(fmt.Sprintf("its stream %q is not in the index", ev.stream))
		}
		ri, found := slices.BinarySearchFunc(x.runs, st.num, func(r streamRun, num uint32) int { return int(r.num) - int(num) })
		if !found {
			return wrong(fmt.Sprintf("the index has no events of its stream %q", ev.stream))
		}
		run := x.runPos[starts[ri]:starts[ri+1]]
		k, found := slices.BinarySearch(run, rel)
		if !found || o.counts[st.num]+uint64(k) != ev.revision {
			return wrong(fmt.Sprintf("the index does not have it as revision %d of stream %q", ev.revision, ev.stream))
		}
	}
	if dec.next-1 != last {
		return fmt.Sprintf("the frame at %d, its last, ends at position %d, the index at %d", lo, dec.next-1, last), nil
	}
	return "", nil
}

// indexer adds the events of the frames Open scans to the segment's
// index, checking positions and revisions as it goes. Duplicate ids are
// checked once every segment is in (finishIndexes).
type indexer struct {
	dec        frameDecoder
	ev         rawEvent
	lastStream []byte
	st         *streamState
	b          *segBuilder
	sg         *segment
}

// index adds the events of the frame body at l, or returns what is wrong
// with it.
func (x *indexer) index(s *Store, body []byte, l loc) string {
	if err := x.dec.init(body); err != nil {
		return err.Error()
	}
	if x.dec.first != s.head+1 {
		return fmt.Sprintf("frame starts at position %d, want %d", x.dec.first, s.head+1)
	}
	counts := &s.opening.counts
	ev := &x.ev
	for {
		ok, err := x.dec.nextEvent(ev)
		if err != nil {
			return err.Error()
		}
		if !ok {
			return ""
		}
		if x.st == nil || string(ev.stream) != string(x.lastStream) {
			x.st = s.streams[string(ev.stream)]
			if x.st == nil {
				x.st = &streamState{num: uint32(len(s.streamList))}
				s.streams[string(ev.stream)] = x.st
				s.streamList = append(s.streamList, x.st)
				*counts = append(*counts, 0)
				x.b.addStream(string(ev.stream))
			}
			x.lastStream = append(x.lastStream[:0], ev.stream...)
		}
		if want := (*counts)[x.st.num]; ev.revision != want {
			return fmt.Sprintf("event %s of stream %q has revision %d, want %d", ev.id, ev.stream, ev.revision, want)
		}
		(*counts)[x.st.num]++
		x.b.add(ev.id, ev.position, x.st.num)
		x.sg.offs = append(x.sg.offs, l.off)
		s.head = ev.position
	}
}

// finishIndexes builds the store's indexes from every segment's index,
// loaded or scanned: the id table, the streams' positions, the builder of
// the active segment. Ids read from frames are checked against all others
// here. The indexes of segments whose frames were read are kept for
// writeOpenIndexes.
func (s *Store) finishIndexes() error {
	o := s.opening
	s.opening = nil
	if o == nil {
		return nil
	}
	parts := make([]*segIndex, len(s.segs))
	for i, sg := range s.segs {
		seg := &o.segs[i]
		if seg.part == nil || seg.b.n > seg.part.n {
			parts[i] = seg.b.index(sg.version, sg.offs, sg.size)
			s.pendingIndexes = append(s.pendingIndexes, pendingIndex{sg, parts[i]})
			o.stats.ScannedBytes += sg.size - seg.from
			o.stats.ScannedEvents += len(seg.b.ids)
		} else {
			parts[i] = seg.part
		}
	}
	s.idTab = buildIDTable(parts, int(s.head))
	s.fillStreams(parts, o.counts)
	if err := s.checkScannedIDs(o); err != nil {
		o.release()
		return err
	}
	// Only the frame offsets of the segments before the last may point
	// into index files: those mapped stay mapped until Close (which sets
	// closed first; every reader of offsets checks it); the others, and
	// the last segment's index (its builder's base), are copied.
	last := len(s.segs) - 1
	for i, sg := range s.segs {
		seg := &o.segs[i]
		if seg.part == nil || parts[i] != seg.part {
			continue // built from frames: nothing points into a file
		}
		if seg.release != nil && i < last {
			s.indexMaps = append(s.indexMaps, seg.release)
			seg.release = nil
			continue
		}
		sg.offs = slices.Clone(sg.offs)
	}
	parts[last].own()
	parts[last].offs = s.segs[last].offs
	o.release()
	s.act = o.segs[last].b
	s.act.rebase(parts[last])
	if o.segs[last].part == parts[last] {
		s.actIndexed = indexCover{parts[last].first, parts[last].dataEnd}
	}
	s.openStats = o.stats
	return nil
}

// checkScannedIDs checks, when Open read frames, that no id occurs twice
// in the store: two events with one id share their bucket and fingerprint
// in the id table, so one pass over it finds every group of positions to
// compare, whose events it reads (a group of a few, about once in ten
// million events, or a real duplicate).
func (s *Store) checkScannedIDs(o *openState) error {
	scanned := false
	for _, seg := range o.segs {
		scanned = scanned || len(seg.b.ids) > 0
	}
	if !scanned {
		return nil // the index files were checked when written
	}
	var c frameCursor
	seen := map[uuid.UUID]uint64{}
	return s.idTab.sameFingerprints(func(positions []uint64) error {
		clear(seen)
		for _, p := range positions {
			if p == 0 || p > s.head {
				continue // a forged index's position; VerifyStorage reports it
			}
			ev, err := s.pinnedEventAt(p, &c)
			if err != nil {
				return err
			}
			q, dup := seen[ev.ID]
			if !dup {
				seen[ev.ID] = p
				continue
			}
			at := max(p, q)
			l := s.locAt(at)
			return &CorruptError{Segment: s.segs[l.seg].name, Offset: int64(l.off),
				Reason: fmt.Sprintf("event id %s stored twice, at positions %d and %d", ev.ID, min(p, q), at)}
		}
		return nil
	})
}

// fillStreams sets every stream's positions, in revision order, from the
// runs of the segments' indexes: one array for all streams, each stream a
// slice of it (an append after Open copies that stream's slice).
func (s *Store) fillStreams(parts []*segIndex, counts []uint64) {
	all := makeLarge[uint64](int(s.head))
	next := make([]uint64, len(s.streamList))
	var at uint64
	for num, st := range s.streamList {
		c := counts[num]
		st.positions = all[at : at+c : at+c]
		next[num] = at
		at += c
	}
	for _, x := range parts {
		k := 0
		for _, r := range x.runs {
			dst := all[next[r.num] : next[r.num]+uint64(r.count)]
			for j, rel := range x.runPos[k : k+int(r.count)] {
				dst[j] = x.first + uint64(rel)
			}
			next[r.num] += uint64(r.count)
			k += int(r.count)
		}
	}
}

// writeOpenIndexes writes, at the end of Open, the index of every segment
// whose frames Open read. A failure is logged and counted, not returned:
// the index only saves time.
func (s *Store) writeOpenIndexes() {
	for _, p := range s.pendingIndexes {
		if !slices.Contains(s.segs, p.sg) {
			continue // replaced by startCurrentSegment
		}
		if s.writeIndex(p.sg, p.x, "open") {
			s.openStats.IndexWritten++
		} else {
			s.openStats.IndexFailed++
		}
	}
	s.pendingIndexes = nil
}

// activeBuilder returns the builder of the last segment's index. The
// committer and Close call it.
func (s *Store) activeBuilder() *segBuilder {
	last := s.segs[len(s.segs)-1]
	if s.act == nil || s.act.first != last.first {
		// A segment with no event yet: started at roll-over or by Open.
		s.act = newBuilder(last.first, uint32(len(s.streamList)), nil)
	}
	return s.act
}

// sealIndex has the index of sg, which the committer just sealed,
// written by a goroutine of its own, so that appends do not wait for it:
// a sealed segment does not change. Close waits for it.
func (s *Store) sealIndex(sg *segment) {
	b := s.act
	s.act = nil
	if b == nil || b.first != sg.first || b.n != len(sg.offs) {
		s.indexFailures.Add(1)
		s.opts.Logger.Error("filestore: internal error: no index gathered for the sealed segment", "segment", sg.name)
		return
	}
	if s.sealed == nil {
		s.sealed = make(chan sealedIndex, 4)
		s.sealedDone = make(chan struct{})
		go s.writeSealedIndexes()
	}
	s.sealed <- sealedIndex{sg, b}
}

// sealedIndex is a sealed segment and its index's builder, handed over by
// the committer.
type sealedIndex struct {
	sg *segment
	b  *segBuilder
}

// writeSealedIndexes writes the indexes of the segments the committer
// seals, until Close.
func (s *Store) writeSealedIndexes() {
	defer close(s.sealedDone)
	for w := range s.sealed {
		s.mu.RLock()
		offs, size := w.sg.offs, w.sg.size
		s.mu.RUnlock()
		s.writeIndex(w.sg, w.b.index(w.sg.version, offs, size), "seal")
	}
}

// waitSealedIndexes waits until the indexes of every sealed segment are
// written. Only Close (after the committer stopped) and tests call it.
func (s *Store) waitSealedIndexes() {
	if s.sealed != nil {
		close(s.sealed)
		<-s.sealedDone
		s.sealed = nil
	}
}

// closeIndex writes the index of the last segment at Close, unless its
// index file already covers it.
func (s *Store) closeIndex() {
	last := s.segs[len(s.segs)-1]
	if s.actIndexed == (indexCover{last.first, last.size}) {
		return
	}
	b := s.activeBuilder()
	s.writeIndex(last, b.index(last.version, last.offs, last.size), "close")
}

// writeIndex writes the index file of sg, reporting a failure.
func (s *Store) writeIndex(sg *segment, x *segIndex, when string) bool {
	name := indexName(sg.first)
	if err := s.writeFileAtomic(name, encodeIndex(x), syncIndexFile, syncIndexDir); err != nil {
		s.indexFailures.Add(1)
		s.opts.Logger.Error("filestore: writing a segment index failed; the next Open reads the segment's frames instead",
			"file", s.path(name), "when", when, "err", err)
		return false
	}
	s.mu.RLock()
	last := s.segs[len(s.segs)-1]
	s.mu.RUnlock()
	if sg == last {
		s.actIndexed = indexCover{sg.first, x.dataEnd}
	}
	return true
}

// locAt returns where the frame holding committed position p starts.
// Callers hold s.mu.
func (s *Store) locAt(p uint64) loc {
	i := len(s.segs) - 1
	if p < s.segs[i].first {
		i = sort.Search(len(s.segs), func(k int) bool { return s.segs[k].first > p }) - 1
	}
	sg := s.segs[i]
	return loc{seg: uint32(i), off: sg.offs[p-sg.first]}
}

// idStored reports whether an event with id is stored. Only the
// committer calls it.
func (s *Store) idStored(id uuid.UUID, c *frameCursor) (bool, error) {
	if _, ok := s.ids[id]; ok {
		return true, nil
	}
	var buf [4]uint64
	for _, p := range s.idTab.candidates(id, buf[:0]) {
		ev, err := s.pinnedEventAt(p, c)
		if err != nil {
			return false, err
		}
		if ev.ID == id {
			return true, nil
		}
	}
	return false, nil
}

// eventByID reads the event with id.
func (s *Store) eventByID(id uuid.UUID) (ledger.Event, error) {
	var buf [4]uint64
	s.mu.RLock()
	closed := s.closed
	cands := buf[:0]
	if p, ok := s.ids[id]; ok {
		cands = append(cands, p)
	} else {
		cands = s.idTab.candidates(id, cands)
	}
	s.mu.RUnlock()
	if closed {
		return ledger.Event{}, errClosed
	}
	var c frameCursor
	for _, p := range cands {
		ev, err := s.pinnedEventAt(p, &c)
		if err != nil {
			return ledger.Event{}, err
		}
		if ev.ID == id {
			return ev, nil
		}
	}
	return ledger.Event{}, fmt.Errorf("filestore: event %s: %w", id, ledger.ErrEventNotFound)
}

// indexVerifier checks, for VerifyStorage, every index file against the
// frames as VerifyStorage reads them — byte for byte, by rebuilding the
// index from the frames — and the in-memory indexes against every event.
type indexVerifier struct {
	s       *Store
	nums    map[string]uint32
	idx     uint32
	sg      *segment
	version uint32
	b       *segBuilder
	offs    []uint32
	file    []byte // the index file, when there is one to compare
	end     int64  // its data end
	c       frameCursor
}

func (s *Store) newIndexVerifier() *indexVerifier {
	return &indexVerifier{s: s, nums: map[string]uint32{}}
}

func (v *indexVerifier) corrupt(off int64, reason string) error {
	return &CorruptError{Segment: indexName(v.sg.first), Offset: off, Reason: reason}
}

// begin starts segment idx, whose first size bytes VerifyStorage reads.
func (v *indexVerifier) begin(idx uint32, sg *segment, version uint32, size int64) error {
	*v = indexVerifier{s: v.s, nums: v.nums, idx: idx, sg: sg, version: version, c: v.c}
	v.b = newBuilder(sg.first, uint32(len(v.nums)), nil)
	x, release, found, bad, err := v.s.loadIndexFile(sg)
	if release != nil {
		defer release()
	}
	switch {
	case err != nil:
		return fmt.Errorf("filestore: verify: read %s: %w", indexName(sg.first), err)
	case !found:
		return nil
	case bad != "":
		return v.corrupt(0, "bad index: "+bad)
	case x.first != sg.first || x.version != version:
		return v.corrupt(0, fmt.Sprintf("the index is of a segment starting at position %d, format version %d", x.first, x.version))
	case x.dataEnd > size:
		// Written after VerifyStorage took its snapshot (a seal, or a
		// writer beside a read-only store), or wrong.
		v.s.mu.RLock()
		now := v.s.segs[idx].size
		v.s.mu.RUnlock()
		if x.dataEnd > now && !v.s.readOnly {
			return v.corrupt(0, fmt.Sprintf("the index covers %d bytes, the segment holds %d", x.dataEnd, now))
		}
		return nil
	}
	v.file, v.end = encodeIndex(x), x.dataEnd
	return nil
}

// at is called at each frame boundary off of the segment, and at its end.
func (v *indexVerifier) at(off int64) error {
	if v.file == nil || off != v.end {
		return nil
	}
	want := encodeIndex(v.b.index(v.version, v.offs, v.end))
	got := v.file
	v.file = nil
	if bytes.Equal(got, want) {
		return nil
	}
	// The first byte that differs, in the body first: the header holds
	// the body's checksum, which differs whenever the body does.
	i := indexHeaderSize
	for i < min(len(got), len(want)) && got[i] == want[i] {
		i++
	}
	if i == len(got) && len(got) == len(want) {
		for i = 0; got[i] == want[i]; i++ {
		}
	}
	return v.corrupt(int64(i), fmt.Sprintf("the index does not match the frames from byte %d (%s); remove it: the next Open rebuilds it from the log", i, indexSection(want, i)))
}

// indexSection names the part of the index file b that byte i is in.
func indexSection(b []byte, i int) string {
	le := binary.LittleEndian
	n, runs := int(le.Uint32(b[40:])), int(le.Uint32(b[52:]))
	for _, sec := range []struct {
		end  int
		name string
	}{
		{indexHeaderSize, "header"},
		{indexHeaderSize + 4*n, "frame offsets"},
		{indexHeaderSize + 8*n, "stream positions"},
		{indexHeaderSize + 8*n + 8*runs, "stream runs"},
		{indexHeaderSize + 28*n + 8*runs, "ids"},
	} {
		if i < sec.end {
			return sec.name
		}
	}
	return "stream names"
}

// finish is called at the end of the segment's bytes.
func (v *indexVerifier) finish(size int64) error {
	if err := v.at(size); err != nil {
		return err
	}
	if v.file != nil {
		return v.corrupt(0, fmt.Sprintf("the index covers %d bytes: not where a frame of the segment ends", v.end))
	}
	return nil
}

// event adds an event of the frame at off to the rebuilt index and checks
// the in-memory indexes for it: its frame, its place in its stream, its id
// — found at its position and at no other.
func (v *indexVerifier) event(ev *rawEvent, off int64) error {
	num, ok := v.nums[string(ev.stream)]
	if !ok {
		num = uint32(len(v.nums))
		v.nums[string(ev.stream)] = num
		v.b.addStream(string(ev.stream))
	}
	v.b.add(ev.id, ev.position, num)
	v.offs = append(v.offs, uint32(off))

	s := v.s
	var buf [4]uint64
	s.mu.RLock()
	if s.closed {
		s.mu.RUnlock()
		return errClosed
	}
	l := s.locAt(ev.position)
	st := s.streams[string(ev.stream)]
	inStream := st != nil && ev.revision < uint64(len(st.positions)) && st.positions[ev.revision] == ev.position
	cands := buf[:0]
	if p, ok := s.ids[ev.id]; ok {
		cands = append(cands, p)
	}
	cands = s.idTab.candidates(ev.id, cands)
	s.mu.RUnlock()
	wrong := func(what string) error {
		return v.corrupt(0, fmt.Sprintf("the store's index, loaded from this file or built from the frames at Open, disagrees with the log: event %s at position %d (segment %s, frame at %d): %s",
			ev.id, ev.position, v.sg.name, off, what))
	}
	if l != (loc{seg: v.idx, off: uint32(off)}) {
		return wrong(fmt.Sprintf("it has the event in the frame at %d of segment %d", l.off, l.seg))
	}
	if !inStream {
		return wrong(fmt.Sprintf("it does not have it as revision %d of stream %q", ev.revision, ev.stream))
	}
	found := false
	for _, p := range cands {
		if p == ev.position {
			found = true
			continue
		}
		other, err := s.pinnedEventAt(p, &v.c)
		if err != nil {
			return err
		}
		if other.ID == ev.id {
			return &CorruptError{Segment: v.sg.name, Offset: off, Reason: fmt.Sprintf("event id %s stored twice, at positions %d and %d", ev.id, min(p, ev.position), max(p, ev.position))}
		}
	}
	if !found {
		return wrong("its id does not lead to it")
	}
	return nil
}

// pinnedEventAt is eventAt for callers that are not pinned already (the
// committer's duplicate check, Open, VerifyStorage, EventByID's lookups):
// a frame may lie in a segment's mapping, which Close must not unmap under
// it, and a page the kernel cannot supply is an error, not a crash.
func (s *Store) pinnedEventAt(p uint64, c *frameCursor) (ev ledger.Event, err error) {
	if !s.pin() {
		return ledger.Event{}, errClosed
	}
	defer s.unpin()
	defer s.faultGuard(debug.SetPanicOnFault(true), &err)
	return s.eventAt(p, c)
}
