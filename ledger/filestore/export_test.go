package filestore

// QueueLen reports how many appends wait for the committer, so that a test
// can line up a batch without sleeping.
func QueueLen(s *Store) int { return s.queueLen() }

// SyncSites lists the names of every sync call site of the store (see
// syncSite), for TestPowerLossNeedsEveryFsync.
func SyncSites() []string {
	out := make([]string, 0, syncSiteCount-1)
	for s := syncNone + 1; s < syncSiteCount; s++ {
		out = append(out, s.String())
	}
	return out
}

// SkipSyncForTest turns the calls of the named sync site into no-ops until
// the returned function is called. It must be called while no store is
// open; an unknown name panics.
func SkipSyncForTest(name string) (restore func()) {
	for s := syncNone + 1; s < syncSiteCount; s++ {
		if s.String() == name {
			skipSyncForTest.Store(uint32(s))
			return func() { skipSyncForTest.Store(uint32(syncNone)) }
		}
	}
	panic("filestore: unknown sync site " + name)
}

// SetReadAhead sets how far a stream read reads past a frame, until the
// returned function restores it. Not safe while stores are reading.
func SetReadAhead(n int64) (restore func()) {
	old := readAheadBytes
	readAheadBytes = n
	return func() { readAheadBytes = old }
}

// SetMapsForTest turns reading through mappings on or off (for segments
// not mapped yet) until the returned function restores it. Not safe while
// other tests read.
func SetMapsForTest(on bool) (restore func()) {
	old := mapsEnabled
	mapsEnabled = on
	return func() { mapsEnabled = old }
}

// MappedSegments reports how many segments of s are mapped now.
func MappedSegments(s *Store) int {
	s.mu.RLock()
	segs := s.segs
	s.mu.RUnlock()
	n := 0
	for _, sg := range segs {
		if sg.mm.m.Load() != nil {
			n++
		}
	}
	return n
}

// Segments returns the file names of s's segments, in order.
func Segments(s *Store) []string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]string, len(s.segs))
	for i, sg := range s.segs {
		out[i] = sg.name
	}
	return out
}

// IDStored is the committer's duplicate-id check, for BenchmarkIDLookup.
// The committer must not be running (no appends in flight).
func IDStored(s *Store, id [16]byte) bool {
	var c frameCursor
	ok, err := s.idStored(id, &c)
	if err != nil {
		panic(err)
	}
	return ok
}

// WaitSealedIndexes waits until the index of every segment sealed so far
// is written. No append may be in flight.
func WaitSealedIndexes(s *Store) {
	s.waitSealedIndexes()
}

// DataEnd returns where the frames of the store's last segment end (its
// committed bytes; free space follows).
func DataEnd(s *Store) int64 {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.segs[len(s.segs)-1].size
}

// SegmentCount returns how many segments the store has.
func SegmentCount(s *Store) int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.segs)
}

// PrepareAheadForTest turns the background preparation of the next
// segment's file on or off (off: a roll-over prepares it then) until the
// returned function restores it. It must be called while no store is
// open.
func PrepareAheadForTest(on bool) (restore func()) {
	old := prepareAhead
	prepareAhead = on
	return func() { prepareAhead = old }
}

// LetWritersQueue runs the committer's yield before a batch on a store
// whose queue the given writers fill: each, once it runs, queues one
// append. It returns how many appends then wait.
func LetWritersQueue(want int, writers int) int {
	s := &Store{}
	for range writers {
		go func() {
			s.qmu.Lock()
			s.waiting = append(s.waiting, &appendReq{})
			s.qmu.Unlock()
		}()
	}
	s.letWritersQueue(want)
	return s.queueLen()
}
