// Package logtree makes the ledger's whole log tamper-evident to an
// auditor who keeps nothing but signed checkpoints: a Merkle tree over
// every event in global order, signed checkpoints of it, and inclusion and
// consistency proofs — built on the libraries of the Go checksum database,
// golang.org/x/mod/sumdb/tlog (RFC 6962 hashing and proofs) and
// golang.org/x/mod/sumdb/note (Ed25519 signed notes), in the C2SP
// tlog-checkpoint format (github.com/transparency-dev/formats/log).
//
// The stream hash chains prove each stream's events were not rewritten if
// the auditor trusts the stream's last hash; nothing in them protects the
// tail, or the order of streams against each other. The tree does: a
// checkpoint commits to the first N events, and a later log either extends
// it (a consistency proof shows it) or no longer contains it — truncated,
// rewritten or forked — which VerifyCheckpoint reports by name.
//
// # Leaves
//
// Leaf i (from 0) is the event at the i-th place of the global order
// (ReadAll from position 0; on the filestore, position i+1). Its leaf data
// is the event's hash as 32 raw bytes — ledger.Event.Hash, the hex-decoded
// "hash" field of exports and the API — so its leaf hash is
//
//	tlog.RecordHash(hash) = SHA-256(0x00 ‖ hash)
//
// and interior nodes are SHA-256(0x01 ‖ left ‖ right) (tlog.NodeHash).
// The event hash commits to every field of the envelope and, through
// prev_hash, to its stream's history, so the tree commits to every
// envelope and to their order. A store restored from an export holds the
// same tree only if the export kept the global order.
//
// # Checkpoints
//
// A checkpoint is a note (golang.org/x/mod/sumdb/note) whose text is
//
//	<origin>\n
//	<tree size, decimal>\n
//	<root hash, standard base64>\n
//
// signed by the ledger's Ed25519 key, whose name is the origin (the
// ledger's name). The key file (LoadOrCreateKey) holds the note signer
// key and its verifier key, one per line, mode 0600; the verifier key,
// "<name>+<key hash>+<base64>", is what an auditor keeps to check
// signatures.
//
// # Hash file
//
// The tree keeps its stored hashes (tlog.StoredHashIndex order: about two
// per event) in a file, so that a checkpoint or a proof of a million
// events needs a few dozen reads, not a pass over the log. The file is
// derived data — the log stays the truth — and is never synced:
//
//	header, 16 bytes: magic "PLTHASH1", record size 36 (u32), CRC-32C of bytes 0..11 (u32)
//	record i at 16+36·i: stored hash i (32 bytes), CRC-32C of i (u64) followed by the hash (u32)
//
// (integers little-endian). Open keeps the longest prefix of valid records
// that holds whole trees, recomputes the rest from the log, and fails with
// ErrDiverged when the log has fewer events than the file has leaves or
// its event at the last leaf hashes otherwise: events were removed or
// rewritten (or the file is another log's; delete it to rebuild). Check
// compares every hash with the log; VerifyCheckpoint trusts no hash file.
//
// # For auditors
//
// To check offline that an event is in the log a checkpoint signed, with
// the Go module golang.org/x/mod alone (this recipe is the test of package
// partyledger/ledger/logtree/offline, which imports nothing else):
//
//	v, _ := note.NewVerifier(ledgerVerifierKey) // "<name>+<hash>+<base64>"
//	n, err := note.Open(checkpoint, note.VerifierList(v))
//	// err != nil: not signed by the ledger's key
//	lines := strings.SplitN(n.Text, "\n", 4) // origin, size, root, ""
//	size, _ := strconv.ParseInt(lines[1], 10, 64)
//	root, _ := tlog.ParseHash(lines[2])
//	eventHash, _ := hex.DecodeString(proof.EventHash) // 64 hex digits
//	err = tlog.CheckRecord(proof.Proof, size, root, proof.Index, tlog.RecordHash(eventHash))
//	// err == nil: the event is leaf proof.Index of the signed tree
//
// where proof is an Inclusion for that checkpoint's size (JSON: hashes in
// standard base64). A consistency proof between two checkpoints of sizes m
// ≤ n is checked with tlog.CheckTree(proof, n, rootN, m, rootM).
package logtree
