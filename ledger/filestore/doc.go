// Package filestore is the embedded default ledger.Store: an append-only
// segment log in one data directory, owned by this project so that the
// file is the audit trail — checksummed records in commit order, in a
// format an auditor can verify with nothing but this description.
//
// # Guarantees
//
// Append returns only after its events are durable (written and
// fdatasynced). Appends from many goroutines share one write and one
// fdatasync (group commit): one committer at a time takes every append
// that queued up while the previous sync ran, checks each against the
// store's state (expected revision, duplicate ids), encodes the accepted
// ones into one frame, writes it with one pwrite, syncs once, and only then
// publishes the events to readers and answers the callers. There is no
// timer: a lone writer pays one fdatasync per append, many writers share.
// A writer that finds the store idle commits its own append on its own
// goroutine; appends that arrive meanwhile are committed by the committer
// goroutine, batch after batch until none waits, and before each batch it
// yields the processor to the writers it has just answered so that they
// can join it (group.go).
//
// A frame is the unit of atomicity: all of its appends are durable or none
// is, so a multi-event append is all-or-nothing across crashes.
//
// A failed write or sync is never retried: every caller in the batch gets
// the error, and the store refuses further appends with ledger.ErrReadOnly
// until it is reopened (after a failed fsync the kernel may already have
// dropped the pages; only rereading the file tells what is durable).
// Reads go on.
//
// All I/O goes through the FS interface, so tests inject crashes, dropped
// unsynced writes and errors at the Nth operation. Every fsync call site
// is named (syncsite.go) so that a test can remove one at a time and show
// that the power-loss test then fails (see the README's Reliability section).
//
// # Files
//
// The data directory holds:
//
//	LOCK                                   advisory lock (flock), empty
//	COMMIT                                 the commit mark: how far the log is known
//	                                       complete (see Commit mark)
//	segment-<P>.log                        segments; P = position of the segment's
//	                                       first event, 20 decimal digits, zero-padded
//	segment-<P>.log.torn-<offset>-<crc>    bytes cut off as a torn tail (see Recovery;
//	                                       TornFiles lists them)
//	segment-<P>.idx                        the index of segment-<P>.log (see Indexes)
//	segment-spare.log.tmp                  the next segment's file while it is prepared
//	                                       (see Write protocol)
//	*.tmp                                  files not yet renamed into place; removed on open
//
// Other files (a log tree's hash file, say) are left alone.
//
// Segments are read in name order; together they hold every event, with
// positions 1, 2, 3, … without gap or overlap. Only the last segment is
// appended to.
//
// A segment of format version 3 is preallocated: its file is created full
// of zeros — written, not only reserved — at its final size, and frames
// overwrite the zeros from the front. The bytes from the end of its frames
// (the data end) to the end of the file are its free space, all zeros. So
// the data end is not the file size: it is the first frame boundary from
// which the file holds only zeros (no frame begins with a zero length, so
// a frame header of zeros followed by zeros to the end of the file is free
// space, and a frame header of zeros followed by anything else is a bad
// frame). A store's first segment file is 1 MiB (Options.SegmentSize if
// smaller), each next one twice the size of the one before, up to
// Options.SegmentSize (64 MiB by default); a segment is sealed (a new one
// started) when the next frame would not fit in its free space, and a
// frame is never split — one larger than a new segment's free space goes
// there alone and extends the file. Segments of versions 1 and 2, written
// before, have no free space: their frames run to the end of the file.
//
// # Encoding
//
// All integers are little-endian and unsigned unless said otherwise. CRC
// means CRC-32C (Castagnoli: polynomial 0x1EDC6F41, reflected 0x82F63B78,
// initial value and final xor 0xFFFFFFFF — the checksum of iSCSI and ext4,
// Go's crc32.Castagnoli; the CRC of "123456789" is 0xE3069283).
//
// Segment header, 32 bytes at offset 0:
//
//	0   8  magic "PLSEGMNT"
//	8   4  format version V: 3 (1 or 2 in segments written before; see below)
//	12  4  header size, 32
//	16  8  first position P (equals the P in the file name; 1 for the first segment)
//	24  4  reserved, 0
//	28  4  CRC of bytes 0..27
//
// Frames follow back to back from offset 32 to the data end: in version 3
// free space follows them (see Files), in versions 1 and 2 they run to the
// end of the file. In format versions 2 and 3:
//
//	0      4    L, body length, 16 ≤ L ≤ 268435456 (MaxFrameBytes)
//	4      4    C, CRC of the 4 length bytes followed by the 4·K bytes of the chunk CRC table
//	8      L    body
//	8+L    4·K  chunk CRC table: K = ⌈L / 4096⌉ CRCs, the i-th (from 0) over body
//	            bytes [4096·i, min(4096·(i+1), L))
//	8+L+4K 8    trailer: bytes 0..7 of the frame again (L and C)
//
// — 16+L+4K bytes in all. A frame is valid when its trailer equals its
// header, C checks the table, and every chunk CRC checks its chunk: the
// chunk CRCs cover the body, C covers the table and the length, and the
// frame's two ends each vouch for the other, so that recovery can tell a
// frame written completely and damaged later from one a crash cut short
// (see Recovery).
//
// In format version 1 a frame is 8+L bytes: L, then the CRC of the 4 length
// bytes followed by the L body bytes, then the body; there is no table and
// no trailer. The body is the same in all versions. Version 3 differs from
// version 2 only by the free space; the version changed so that a reader
// of version 2, which takes bytes after the frames for a bad frame, refuses
// a version-3 segment by its version instead of reporting its zeros as
// damage. Segments of versions 1 and 2 are read (and checked) as they are,
// never written: Open starts a new version-3 segment rather than append to
// one of them (one holding no frame is replaced by an empty version-3
// segment of the same name).
//
// Body: a 16-byte header, then M entries (one per Append):
//
//	0   1  kind, 1 (commit)
//	1   3  reserved, 0
//	4   4  M, number of entries, ≥ 1
//	8   8  F, position of the frame's first event, ≥ 1
//
// Entry:
//
//	0   4  E, bytes of the entry after this field
//	4   2  S, stream name length, ≥ 1
//	6   S  stream name (UTF-8 as given)
//	…   4  N, number of events, ≥ 1
//	…      N events
//
// Event (the full ledger.Event envelope; Stream is the entry's, Position is
// implied):
//
//	0   16  id (UUID bytes)
//	16  8   revision (0-based within the stream)
//	24  8   recorded_at, seconds since 1970-01-01T00:00:00Z (signed)
//	32  4   recorded_at, nanoseconds, < 1e9 and a multiple of 1000 (the ledger
//	        stamps microseconds; finer digits are refused on append and are
//	        damage on read, since the hash chain covers only microseconds)
//	36  4   schema version, ≤ 2^31-1
//	40  32  prev_hash
//	72  32  hash
//	104 2+n type
//	…   2+n occurred_on ("YYYY-MM-DD" or empty)
//	…   2+n recorded_by
//	…   4+n data (the payload bytes verbatim)
//
// where 2+n is a 2-byte length and n bytes, 4+n a 4-byte length and n bytes.
// The events of a frame have positions F, F+1, … in order across its
// entries. An entry's events must exactly fill E bytes, and the entries
// must exactly fill the body.
//
// Invariants a verifier checks (VerifyStorage does; Open does for the
// frames it reads, see Indexes): every header and frame check above;
// every length within its enclosing structure; F of
// each frame is one past the last position before it (the first frame of a
// segment starts at the segment's P, and P of each segment follows the
// previous segment's last position); each stream's revisions run 0, 1, 2, …
// in position order; no event id occurs twice. Hash chains are the
// ledger's to check (ledger.ComputeHash over each event).
//
// # Commit mark
//
// COMMIT is 4160 bytes: two 64-byte slots, at offsets 0 and 4096 (a page
// apart, so that one torn page write damages at most one). A slot:
//
//	0   8  magic "PLCOMMIT"
//	8   4  mark version, 1
//	12  4  reserved, 0
//	16  8  sequence number S ≥ 1; the slot at offset 0 holds even S, the one at 4096 odd S
//	24  8  P, the first position of the marked segment (segment-<P>.log)
//	32  8  N, bytes of that segment known complete: 32 ≤ N < 2^32, a frame boundary,
//	       at most the data end (free space is never counted)
//	40  8  H, the position of the last event in those bytes (P-1 when none)
//	48  12 reserved, 0
//	60  4  CRC of bytes 0..59
//
// The mark is the valid slot with the larger S. It says: the segments
// before segment-<P>.log are complete, and so are its first N bytes, which
// end at position H. It is written only when all of that is durable — at
// the end of Open, after a new segment was created (roll-over), and at
// Close when anything was committed since — to the slot of the older
// sequence number (S+1 replaces S-1), then fdatasynced. The file is created
// by Open when missing (a new store, or one written before the mark
// existed): both slots written, temp file, fsync, rename, directory fsync.
// A slot torn by a crash while it was written leaves the other slot, an
// older but true mark; Open always rewrites the mark, so after Open both
// slots are valid, and VerifyStorage checks that they still are.
//
// # Write protocol
//
// A frame is written with one pwrite at the segment's data end and then
// fdatasynced; nothing is written after it before that sync returns, so
// at any moment at most the final frame of the last segment can be
// incomplete on disk. In a preallocated segment the pwrite overwrites
// zeros that are already written and durable: the fdatasync has no file
// size and no block allocation to commit through the file system's
// journal, only the frame's data (the point of preallocation; fallocate
// alone would not do: on ext4 a reserved, unwritten extent still changes
// metadata when it is first written).
//
// A segment is created from a file of zeros, segment-spare.log.tmp: written
// in full and fsynced, then the segment header written over its first 32
// bytes and fsynced, the file renamed to segment-<P>.log, and the
// directory fsynced — only after the previous segment's last frame was
// synced. The spare of the next segment is prepared in the background once
// the active segment's space is a quarter used (written in 2 MiB writes
// at multiples of 2 MiB, fsynced every 8 MiB and at the end), so that a roll-over only writes the
// header, syncs, renames and syncs the directory; a roll-over that finds
// the spare unfinished waits for it, one that finds none prepares it then.
// Close removes an unused spare; a leftover is removed by Open. A new store
// fsyncs the parent of its directory before it creates the first segment,
// so that a directory holding segments has a durable name. Committed bytes
// are never rewritten; the only bytes ever removed are *.tmp leftovers and
// a torn tail, which is first saved (see Recovery). The commit mark is
// rewritten in place, one slot at a time (see Commit mark).
//
// # Recovery
//
// Open reads the commit mark (a COMMIT with no valid slot is a
// *CorruptError), checks each segment's header, takes the events of the
// frames its index file covers from that file when the file passes the
// checks listed under Indexes, and scans the segment's other frames — all
// of them when there is no usable index — up to its data end, checking for
// each everything listed under Encoding. In a version-3 segment it reads
// the free space too, to the end of the file: at a frame boundary, zeros to
// the end of the file end the segment's frames. Damage is never repaired;
// the only thing Open removes is a torn write, which by the write protocol
// can only be the final frame of the last segment, and only bytes that
// were never acknowledged may go. When a frame is bad (too few bytes for a
// header, a length out of range or past the end of the file, a check that
// fails, a header of zeros with a non-zero byte after it):
//
//   - In a segment other than the last, or before the end of what the
//     commit mark records as complete, Open fails with a *CorruptError
//     (wrapping ledger.ErrCorrupt) naming the file and the frame's offset.
//     So does a non-zero byte in the free space of a sealed segment (named
//     at the data end, where the free space starts), and free space — zeros
//     — before the end of what the mark records.
//   - In the last segment, past the mark, the bad frame's bytes are those
//     from its offset to the end of the file — in a version-3 segment, to
//     its last non-zero byte E: the zeros after are free space a torn write
//     did not reach. These bytes (after the first) are searched for a valid
//     frame at any offset. If one exists, the bad frame was once durable
//     (later frames are written only after it was synced): Open fails with
//     a *CorruptError.
//   - Otherwise the bad frame is the final one, and Open decides whether a
//     crash can have left it so. A write that was not synced may be cut
//     short (the file ends inside it, or the bytes from some point on are
//     zeros — in free space, the zeros that were there — or garbage), and
//     512-byte sectors of it may read as zeros (never written; in free
//     space, the zeros that were there). The frame was written completely
//     when its extent is vouched for — by the trailer (its C checks the
//     table), by the header (likewise), or by header and trailer being
//     equal. Its extent runs to the end of the file in versions 1 and 2; in
//     version 3 it may end anywhere with only zeros after it: where its
//     header's length says, or within 8 bytes after E, where a trailer
//     (whose length field has a non-zero byte) can end — each such end is
//     tried. Its parts are the header, each body chunk, the table and the
//     trailer; a part is damaged when it fails its check (header or trailer
//     differing from the one vouched for, a chunk from its table entry, the
//     table from C). If some damaged part shares no 512-byte sector of the
//     file with frame bytes that all read zero, and a later part is intact,
//     the damage is neither lost sectors nor a cut-short end: Open fails
//     with a *CorruptError naming the part. In a version-1 segment there is
//     no such evidence.
//   - Otherwise the bad frame is a torn write that was never acknowledged.
//     Its bytes — from its offset to the end of the file, in a version-3
//     segment to E (the damaged bytes, never the megabytes of free space
//     after them) — are saved to
//     segment-<P>.log.torn-<offset>-<CRC of those bytes, 8 hex digits>
//     (temp file, fsync, rename, directory fsync). Then they are cut: a
//     version-3 segment's are overwritten with zeros, so that they are free
//     space again and the file keeps its size; a segment of an earlier
//     version is truncated at the offset.
//
// The segment the mark names must exist and its frames must end at N or
// later, N must fall on a frame boundary, and the events before it must
// end at H; anything else is a *CorruptError naming the segment (a segment
// removed, or cut back or zeroed from a frame boundary on, looks valid by
// itself; the mark is what says it was longer).
//
// Then, before it accepts appends, Open fdatasyncs the last segment (with
// the zeros of a cut) and fsyncs the directory. What the scan read may be
// in the page cache only — a process that died between a write and its
// sync, or between a rename and the directory sync, leaves bytes and names
// a reopen sees but a power loss can still take — and nothing may be made
// durable on top of bytes that are not durable themselves. Last, Open
// writes the commit mark. A last segment of version 1 or 2 is then
// followed by a new, empty version-3 segment (see Encoding).
//
// A frame whose checks hold but whose content breaks an invariant is
// always corruption, never cut. What recovery cannot tell apart, and
// therefore cuts (keeping the bytes in the side file): in the final frame
// of the last segment past the commit mark, damage confined to the
// trailer's last 8 bytes, to parts that share a sector with frame bytes
// that all read zero, or running from some part to the end of the frame's
// bytes; any damage in a version-1 final frame past the mark; and non-zero
// bytes in the last segment's free space past the mark with no valid frame
// among them — a torn write whose other sectors were lost looks the same,
// so a bit flipped there is cut and saved, not reported as corruption. A
// final frame the mark covers — after a clean Close, every frame — is
// never cut. Zeros from a frame boundary to the end of the file, past the
// mark, are free space: like a segment cut back at a frame boundary, they
// cannot be told from frames that were never written, which is what the
// mark (written at every roll-over and at Close) is for. On a file system
// that can show stale data in sectors lost by a crash (ext4 with
// data=writeback, say), a torn write may look like damage to a complete
// frame: Open then refuses to open rather than cut; to accept the loss,
// move the bytes from the offset named on aside and overwrite them with
// zeros (in a version-3 segment; truncate a segment of an earlier
// version).
//
// OpenReadOnly scans the same way and cuts nothing: past the mark, a bad
// frame in the last segment (perhaps an append in flight) ends what it
// reads, and zeros are free space. VerifyStorage rereads every frame, and
// checks that the free space of every sealed segment holds only zeros (in
// a sealed segment of version 1 or 2, that nothing follows the frames); a
// non-zero byte there is a *CorruptError at the data end. It does not read
// the free space of the last segment: the committer writes there (or,
// beside a read-only store, another process), and past the mark its bytes
// are judged by the rules above when the store is next opened.
//
// # Indexes
//
// Open needs, for every event, where its frame starts, its stream and
// revision, and its id: the indexes it keeps in memory. Reading every
// frame to learn them takes about 0.4 s per million events on a 2-core
// machine; each segment's index file holds them for its frames, so that
// Open maps or reads each file once instead (see BenchmarkReopen). Index
// files are derived data and the log is the truth: a missing or bad index
// file costs time, never an event, and never fails Open. Whatever the
// index files, Open reads each segment's free space after the frames it
// covers (in the last segment at most Options.SegmentSize of zeros, checked
// at memory speed from the page cache).
//
// segment-<P>.idx describes the frames of segment-<P>.log from offset 32
// to a data end D: all of them, or those the segment held when the file
// was written (a stale index, of a segment appended to since — the last
// one, or one whose index was not rewritten when it was sealed: Open uses
// it for those frames and scans the rest). It is written as a temporary
// file, fsynced, renamed and the directory fsynced — a crash leaves the
// old file, the new one, or a *.tmp that Open removes — and only from
// frames already durable:
//
//   - for a segment when it is sealed, after the next segment was created
//     and the commit mark written — by a goroutine of its own, so that
//     appends do not wait for it; Close waits for it;
//   - for the last segment at Close, after the commit mark, unless its file
//     already covers it;
//   - by Open, last (after the commit mark, so that an Open that fails
//     changes no index file), for every segment whose frames it scanned —
//     missing, rejected or stale index —, so that after Open every segment
//     has an index covering all of its frames.
//
// OpenReadOnly reads index files, never writes one. A failure to write one
// is logged at error level (Options.Logger) and counted
// (Store.IndexWriteFailures); nothing else changes, appends go on.
//
// Streams are numbered 0, 1, 2, … in the order of their first event in
// the log. Header, 64 bytes:
//
//	0   8  magic "PLSEGIDX"
//	8   4  index format version, 1
//	12  4  header size, 64
//	16  8  P, the segment's first position (as in its name and header)
//	24  4  V, the segment's format version
//	28  4  reserved, 0
//	32  8  D, the data end: the index covers the frames in bytes 32 … D-1
//	       of the segment; 32 ≤ D < 2^32, the end of a frame (or 32)
//	40  4  N, the number of events in them: positions P … P+N-1 (N = 0
//	       exactly when D = 32)
//	44  4  S0, the number of streams with an event before position P
//	48  4  SN, the number of streams whose first event is in the covered
//	       frames: streams S0 … S0+SN-1
//	52  4  R, the number of streams with an event in the covered frames
//	56  4  CRC of every byte after the header
//	60  4  CRC of bytes 0..59
//
// Then, back to back:
//
//	N × 4   frame offsets: the i-th (from 0) is the offset in the segment
//	        of the frame holding position P+i
//	N × 4   stream positions: for each run below, in order, the positions
//	        of its events minus P, ascending (so in revision order)
//	R × 8   runs, one per stream with an event in the covered frames, in
//	        increasing stream number: the stream number (4), the number of
//	        its events there (4, ≥ 1)
//	N × 12  ids, one per event: the first 8 bytes of its id (as in the
//	        id), its position minus P (4); in increasing order of those 8
//	        bytes read as a big-endian unsigned integer, then of position
//	…       names of streams S0 … S0+SN-1, in number order: each a 2-byte
//	        length n ≥ 1, then n bytes
//
// A file is exactly 64 + 20·N + 8·R bytes plus its names. Its content is
// a function of the log and D alone, so VerifyStorage compares it byte for
// byte with the index it rebuilds from the frames.
//
// Before Open uses an index file it checks: the header, both CRCs and the
// sizes; the runs (stream numbers increasing and below S0+SN, counts
// adding up to N, a run for every new stream) and the names (SN of them,
// none of a stream with earlier events); that the first frame offset is
// 32; that P and V are the segment's, D at most the segment's size and S0
// the number of streams before it; the commit mark — when it records N'
// bytes of this segment, ending at position H', and N' ≤ D, then either
// N' = D and the index ends at H', or a frame of the index starts at N'
// and holds H'+1 —; and the last frame the index names: it is read, passes
// every check under Encoding, ends exactly at D, and holds exactly the
// index's last events, each with the frame offset, id (its first 8 bytes),
// stream and revision the index gives it. A file failing a check is
// rejected — logged at error level, listed in OpenStats — and the
// segment's frames are scanned instead, so Open succeeds or fails as it
// would without the file. Events
// taken from index files are not read; every frame after D is scanned and
// checked. Ids read from frames are then checked against every other id of
// the store, by one pass over the in-memory id table (events whose ids
// share their leading bits there are read and their ids compared).
//
// What Open does not check, for the frames an index covers: their CRCs,
// their encoding, positions and revisions, that no id occurs twice, and
// that the index's tables (beyond its last frame) describe them. Skipping
// that is safe because an index is written only by the store, from frames
// it has checked (scanned by Open, or appended and synced by itself), for
// bytes that are durable; committed bytes are never rewritten, and the
// only bytes ever cut — a torn final frame past the commit mark — were
// never synced, so never indexed. Random damage to an index file fails its
// CRCs. Damage to the log under a valid index is found when the damaged
// frame is read — every read checks the frame's CRCs and that it holds the
// position the index says — and by VerifyStorage. An index that a crash,
// a restore or a copy left disagreeing with its segment's end, with the
// commit mark or with the last frame fails the checks above. What remains
// is a file forged with valid CRCs, or a log rewritten with valid CRCs
// under a true index, away from the last frame: Open uses it, and until
// VerifyStorage reports it a read may find the wrong frame (a
// *CorruptError), EventByID miss an event, or Append take an id already
// stored.
//
// VerifyStorage (partyledger verify) reads every frame and checks
// everything under Encoding, as before index files; it also rebuilds each
// segment's index from the frames and compares the index file with it,
// byte for byte, up to the file's D, and checks the store's in-memory
// indexes against every event: its frame, its stream and revision, and
// that its id leads to it and to no other event (which proves that no id
// occurs twice). A mismatch is a *CorruptError naming the index file:
// remove the file, and the next Open rebuilds it from the log.
//
// In memory, about 16 MiB of heap per million events (BenchmarkReopen;
// 70 MiB when Open rebuilt everything in maps): the streams' positions, one
// array for all, each stream a slice of it (8 bytes an event); an id table
// of 2^b buckets by the leading bits of the id, each entry the next 24 bits
// of the id and the position in 8 bytes, built from the sorted id tables a
// cache-sized block of buckets at a time, without a map or an allocation
// per event; for events appended since Open, a map from id to position;
// and each segment's frame offsets (4 bytes an event), which for the
// segments before the last stay in the index file, mapped read-only, until
// Close (the store replaces an index file only by renaming a new one over
// it; one truncated or rewritten in place under an open store would fault
// its reads). A lookup by id yields the positions whose bits match and
// reads those events to compare the whole id. Payloads are not kept in
// memory; reads go to the files (see Reads).
//
// # Reads
//
// Reads never write. Where the FS is the operating system's and the
// platform is Linux (64-bit), a segment is mapped read-only and shared
// (mmap) on its first read, and its frames are read in place: no system
// call, no copy. Other file systems (the tests' fault-injecting one),
// other platforms, and a segment whose mapping failed are read with pread.
// Only committed bytes are read — never past the size the store has
// committed, whatever the file's size. The active segment's mapping leaves
// room for it to grow to SegmentSize plus one largest frame, so that it
// stays valid as the segment grows and once it is sealed; committed bytes
// are never rewritten, and only Open ever shortens a segment (a torn
// tail), before anything is mapped.
//
// A read checks every frame it takes events from as Open does — the chunk
// CRCs, the table's CRC, header equal to trailer, the length within the
// committed bytes, the structure of the body and of every event — with one
// exception, a trade-off for speed: a frame of a mapped segment is not
// checksummed again when a read in the same process already checked it
// and every frame before it in the segment (a per-segment watermark kept
// in memory, advanced by sequential reads). Between two reads only a
// process writing to the file behind the store's back can change those
// bytes; VerifyStorage still reads and checks every byte, and the ledger's
// hash chain covers every field of every event. Damage is a *CorruptError
// naming the segment and the frame's offset. A mapped page the kernel
// cannot supply (a file cut short behind the store's back, a failing
// device) is a *CorruptError too, not a crash.
//
// Events returned own their bytes: payloads read from a mapping are copied
// out (into shared blocks, not one allocation each), so that a mapping can
// go while its events live on. Scan alone hands out views in place, valid
// during its callback. Close does not wait for readers: the mappings are
// unmapped when the last read running at Close has finished.
//
// The pages a read touched stay mapped until Close, so a process that read
// the whole log shows it in its resident set size — file-backed memory the
// kernel can reclaim at any time (RssFile in /proc/<pid>/status, not
// RssAnon). Giving them back after each read (madvise) would make the next
// read fault them in again, which costs more than pread.
//
// Mappings are advised MADV_HUGEPAGE, and spares are written 2 MiB at a
// time, so that where the page cache holds 2 MiB folios (ext4 and XFS on
// Linux 6.x) a segment is mapped with one page-table entry per 2 MiB
// rather than per 4 KiB: a read is then immune to the cost, on some
// virtual machines several microseconds a page, of setting again the
// accessed bits that the kernel's access sampling clears (mmap.go, "Huge
// pages"). A page-cache miss under a mapping then reads a 2 MiB-aligned
// folio (and the next one ahead) rather than the default read-ahead. The
// file format does not depend on any of this.
//
// # Limits
//
// Options bound segment size, frame size, batch size, events per append,
// name lengths and the append queue; readers bound their buffers by
// ReadChunkSize and frame size. Defaults are listed on Options.
package filestore
