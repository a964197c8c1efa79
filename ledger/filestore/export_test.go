package filestore

// QueueLen reports how many appends wait for the committer, so that a test
// can line up a batch without sleeping.
func QueueLen(s *Store) int { return len(s.queue) }

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

// DataEnd returns where the frames of the store's last segment end (its
// committed bytes; free space follows).
func DataEnd(s *Store) int64 {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.segs[len(s.segs)-1].size
}

// Segments returns how many segments the store has.
func Segments(s *Store) int {
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
