package filestore

import "sync/atomic"

// syncSite names one place where the store makes something durable. Every
// File.Sync and FS.SyncDir of the store goes through syncFile or syncDir
// with its site, so that a test can remove the calls of one site and show
// that the power-loss test then fails (TestPowerLossNeedsEveryFsync).
type syncSite uint32

// The sync call sites, in the order a store meets them.
const (
	syncNone            syncSite = iota
	syncParentDir                // recover: parent directory before creating the first segment
	syncSegmentHeader            // createSegment: the new segment's header, before its rename
	syncSegmentDir               // createSegment: directory after the rename
	syncTornSideFile             // writeFileAtomic (cutTail): the side file holding a torn tail, before its rename
	syncTornSideDir              // writeFileAtomic (cutTail): directory after renaming the side file
	syncOpenLastSegment          // recover: the last segment, as read (and cut), before appending
	syncOpenDir                  // recover: the directory, as read, before appending
	syncMarkCreate               // createMark: the new commit mark file, before its rename
	syncMarkDir                  // createMark: directory after renaming the commit mark
	syncMark                     // writeMark: the commit mark after a slot was rewritten
	syncFrame                    // writeFrame: fdatasync of the active segment after a frame
	syncIndexFile                // writeFileAtomic: a segment index, before its rename
	syncIndexDir                 // writeFileAtomic: directory after renaming a segment index
	syncSiteCount
)

var syncSiteNames = [syncSiteCount]string{
	syncNone:            "none",
	syncSegmentHeader:   "segment-header",
	syncSegmentDir:      "segment-dir",
	syncParentDir:       "parent-dir",
	syncTornSideFile:    "torn-side-file",
	syncTornSideDir:     "torn-side-dir",
	syncOpenLastSegment: "open-last-segment",
	syncOpenDir:         "open-dir",
	syncMarkCreate:      "mark-create",
	syncMarkDir:         "mark-dir",
	syncMark:            "mark",
	syncFrame:           "frame",
	syncIndexFile:       "index-file",
	syncIndexDir:        "index-dir",
}

func (s syncSite) String() string {
	if s < syncSiteCount {
		return syncSiteNames[s]
	}
	return "unknown"
}

// skipSyncForTest is the one sync site whose calls are skipped, turning
// them into no-ops that report success; syncNone (the zero value) skips
// nothing. Only tests set it, to prove that each site is needed; in
// production it is never written, and checking it costs one load.
var skipSyncForTest atomic.Uint32

func syncFile(site syncSite, f File) error {
	if syncSite(skipSyncForTest.Load()) == site {
		return nil
	}
	return f.Sync()
}

func (s *Store) syncDir(site syncSite, dir string) error {
	if syncSite(skipSyncForTest.Load()) == site {
		return nil
	}
	return s.fs.SyncDir(dir)
}
