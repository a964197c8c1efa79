package logtree

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"iter"
	"math/bits"
	"sort"
	"sync"

	"github.com/google/uuid"
	"golang.org/x/mod/sumdb/tlog"

	"partyledger/ledger"
)

// Errors of this package that callers branch on.
var (
	// ErrNotContained reports a log that no longer holds the tree a
	// checkpoint commits to: truncated, rewritten or forked. Verification
	// returns a *CheckpointError that wraps it (and ledger.ErrCorrupt).
	ErrNotContained = errors.New("logtree: the log no longer contains the checkpointed tree")
	// ErrBadCheckpoint reports a checkpoint that is malformed, not signed
	// by the given key, or of another log (origin).
	ErrBadCheckpoint = errors.New("logtree: bad checkpoint")
	// ErrDiverged reports a log that no longer matches the tree's hash
	// file: fewer events than the file has leaves, or an event whose hash
	// is not its leaf's. Events were removed or rewritten — or the file
	// belongs to another log. It wraps ledger.ErrCorrupt.
	ErrDiverged = fmt.Errorf("logtree: the log no longer matches its tree's hash file: %w", ledger.ErrCorrupt)
	// ErrHashFile reports a damaged hash file record found after Open.
	ErrHashFile = errors.New("logtree: damaged hash file")
	// ErrNotInTree reports a leaf, event or size beyond the tree.
	ErrNotInTree = errors.New("logtree: not in the tree")
)

// HashFileName is the name this project gives the hash file in a
// filestore data directory (the store leaves files it does not know
// alone).
const HashFileName = "logtree.hashes"

// Source is what the tree reads: *ledger.Ledger and every ledger.Store
// satisfy it. ReadAll must yield events in global (position) order.
type Source interface {
	ReadAll(ctx context.Context, from ledger.Position) iter.Seq2[ledger.Event, error]
	EventByID(ctx context.Context, id uuid.UUID) (ledger.Event, error)
}

// LeafHash is the hash of the tree's leaf for e: tlog.RecordHash of e's
// 32-byte hash (SHA-256(0x00 ‖ e.Hash), RFC 6962). e.Hash already commits
// to every field of the envelope and, through prev_hash, to the stream's
// history.
//
// It hashes one 33-byte buffer with sha256.Sum256: the bytes
// tlog.RecordHash hashes, without the hash state it allocates.
func LeafHash(e *ledger.Event) tlog.Hash {
	var b [1 + len(e.Hash)]byte // 0x00 ‖ hash
	copy(b[1:], e.Hash[:])
	return sha256.Sum256(b[:])
}

// Options configure a Tree.
type Options struct {
	// HashFile is where the tree keeps its hashes between runs (see
	// doc.go, "Hash file"): Open then reads only the events the file
	// does not cover. It requires a source whose positions are 1, 2, 3, …
	// (filestore). Empty: the hashes are kept in memory and Open reads the
	// whole log. One Tree at a time may use a hash file: the process that
	// holds the store (the filestore's lock) is the one to keep it.
	HashFile string
}

// Tree is the RFC 6962 Merkle tree over the events of a log in position
// order. Its methods are safe for concurrent use.
type Tree struct {
	src Source

	mu     sync.RWMutex
	hashes hashStore
	file   *fileHashes // hashes, when kept in a file
	n      int64       // leaves
	last   ledger.Position
	// positions maps leaf index to position when the hashes are in
	// memory (any store); with a hash file, leaf i is at position i+1.
	positions []ledger.Position
	broken    error // a failed write left the hash file behind the tree

	// edge holds the right edge of the tree: edge[i] is the hash of the
	// complete subtree of 2^i leaves that bit i of n stands for (when
	// set). Adding leaf n hashes it with the edge's lowest subtrees —
	// the stored hashes tlog.StoredHashesForRecordHash would read back —
	// so an update reads no hashes at all.
	edge [64]tlog.Hash
	// pending holds the hashes an update has computed and not yet
	// written; kept between updates for its capacity.
	pending []tlog.Hash
}

// Open returns the tree over src, brought up to date with it. With a hash
// file, Open checks that the file still describes the log — the log holds
// at least as many events as the file has leaves, and its event at the
// last leaf hashes to that leaf — and fails with ErrDiverged when it does
// not.
func Open(ctx context.Context, src Source, opts Options) (*Tree, error) {
	t := &Tree{src: src}
	if opts.HashFile == "" {
		t.hashes = &memHashes{}
	} else {
		f, err := openHashFile(opts.HashFile)
		if err != nil {
			return nil, err
		}
		t.hashes, t.file = f, f
		if err := t.resume(ctx); err != nil {
			f.close()
			return nil, err
		}
	}
	if _, err := t.Update(ctx); err != nil {
		t.hashes.close()
		return nil, err
	}
	return t, nil
}

// leavesIn returns the largest tree size whose stored hashes number at
// most count.
func leavesIn(count int64) int64 {
	return int64(sort.Search(int(count)+1, func(n int) bool { return tlog.StoredHashCount(int64(n)) > count })) - 1
}

// resume takes up the leaves of the hash file: whole trees only (a crash
// may have left part of one leaf's hashes), and only while the log still
// holds the event of the last one, with the same hash.
func (t *Tree) resume(ctx context.Context) error {
	n := leavesIn(t.file.count())
	if c := tlog.StoredHashCount(n); c != t.file.count() {
		if err := t.file.truncate(c); err != nil {
			return err
		}
	}
	if n == 0 {
		return nil
	}
	var last ledger.Event
	found := false
	for e, err := range t.src.ReadAll(ctx, ledger.Position(n-1)) {
		if err != nil {
			return fmt.Errorf("logtree: open: read event %d: %w", n, err)
		}
		last, found = e, true
		break
	}
	if !found {
		return fmt.Errorf("%w: the hash file holds %d leaves, the log has fewer events: events were removed (or the file belongs to another log; delete it to rebuild)", ErrDiverged, n)
	}
	leaf, err := t.file.read([]int64{tlog.StoredHashIndex(0, n-1)})
	if err != nil {
		return err
	}
	if last.Position != ledger.Position(n) || LeafHash(&last) != leaf[0] {
		return fmt.Errorf("%w: leaf %d is not the event at position %d (%s %s revision %d): it was rewritten (or the file belongs to another log; delete it to rebuild)",
			ErrDiverged, n-1, last.Position, last.ID, last.Stream, last.Revision)
	}
	if err := t.loadEdge(n); err != nil {
		return err
	}
	t.n, t.last = n, last.Position
	return nil
}

// loadEdge reads the right edge of the stored tree of n leaves (see
// Tree.edge).
func (t *Tree) loadEdge(n int64) error {
	var idx []int64
	for i := range 64 {
		if n>>i&1 == 1 {
			idx = append(idx, tlog.StoredHashIndex(i, n>>i-1))
		}
	}
	hs, err := t.hashes.read(idx)
	if err != nil {
		return err
	}
	for i := range 64 {
		if n>>i&1 == 1 {
			t.edge[i], hs = hs[0], hs[1:]
		}
	}
	return nil
}

// addLeaf appends to t.pending the stored hashes of leaf t.n, whose hash
// is h (what tlog.StoredHashesForRecordHash returns: the leaf hash, then
// one interior hash for each subtree the leaf completes), and counts the
// leaf. Callers hold t.mu.
func (t *Tree) addLeaf(h tlog.Hash) {
	t.pending = append(t.pending, h)
	m := bits.TrailingZeros64(uint64(t.n + 1))
	for i := range m {
		h = tlog.NodeHash(t.edge[i], h)
		t.pending = append(t.pending, h)
	}
	t.edge[m] = h
	t.n++
}

// flushEvery is how many new hashes Update gathers before it writes them.
const flushEvery = 1 << 16

// Update adds the events committed since the last update as leaves and
// returns the tree's size. The hashes of the leaves added before a failed
// read are stored all the same: the tree stays whole at its new size.
func (t *Tree) Update(ctx context.Context) (int64, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.broken != nil {
		return 0, t.broken
	}
	flush := func() error {
		if len(t.pending) == 0 {
			return nil
		}
		if err := t.hashes.append(t.pending); err != nil {
			t.broken = fmt.Errorf("logtree: the tree could not store its hashes; reopen it: %w", err)
			return t.broken
		}
		t.pending = t.pending[:0]
		return nil
	}
	var failed error
	for e, err := range t.src.ReadAll(ctx, t.last) {
		if err != nil {
			failed = fmt.Errorf("logtree: update: read the log: %w", err)
			break
		}
		if e.Position <= t.last || (t.file != nil && e.Position != ledger.Position(t.n+1)) {
			failed = fmt.Errorf("logtree: update: event %s at position %d after leaf %d at position %d: a hash file needs positions 1, 2, 3, …", e.ID, e.Position, t.n-1, t.last)
			break
		}
		t.addLeaf(LeafHash(&e))
		t.last = e.Position
		if t.file == nil {
			t.positions = append(t.positions, e.Position)
		}
		if len(t.pending) >= flushEvery {
			if err := flush(); err != nil {
				return 0, err
			}
		}
	}
	if err := flush(); err != nil {
		return 0, err
	}
	if failed != nil {
		return 0, failed
	}
	return t.n, nil
}

// Size returns the number of leaves as of the last update.
func (t *Tree) Size() int64 {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.n
}

// Close releases the hash file.
func (t *Tree) Close() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.hashes.close()
}

// reader reads stored hashes. Callers hold t.mu.
func (t *Tree) reader() tlog.HashReader {
	return tlog.HashReaderFunc(t.hashes.read)
}

// sizeFor returns the tree size to use for a request of size (0: the
// current one), updating first when the request is beyond the tree.
// Callers do not hold t.mu.
func (t *Tree) sizeFor(ctx context.Context, size int64) (int64, error) {
	if size < 0 {
		return 0, fmt.Errorf("%w: tree size %d", ErrNotInTree, size)
	}
	n := t.Size()
	if size == 0 || size > n {
		var err error
		if n, err = t.Update(ctx); err != nil {
			return 0, err
		}
	}
	if size == 0 {
		return n, nil
	}
	if size > n {
		return 0, fmt.Errorf("%w: tree size %d, the log holds %d events", ErrNotInTree, size, n)
	}
	return size, nil
}

// Root returns the root hash of the tree of the first size leaves (0: the
// current tree, updated first) and that size.
func (t *Tree) Root(ctx context.Context, size int64) (tlog.Hash, int64, error) {
	size, err := t.sizeFor(ctx, size)
	if err != nil {
		return tlog.Hash{}, 0, err
	}
	t.mu.RLock()
	defer t.mu.RUnlock()
	h, err := tlog.TreeHash(size, t.reader())
	if err != nil {
		return tlog.Hash{}, 0, fmt.Errorf("logtree: root of %d: %w", size, err)
	}
	return h, size, nil
}

// leafIndex returns the leaf index of the event at position p. Callers
// hold t.mu.
func (t *Tree) leafIndex(p ledger.Position) (int64, bool) {
	if t.file != nil {
		return int64(p) - 1, p >= 1 && int64(p) <= t.n
	}
	i := sort.Search(len(t.positions), func(i int) bool { return t.positions[i] >= p })
	return int64(i), i < len(t.positions) && t.positions[i] == p
}

// Inclusion is the proof that an event is leaf Index of the tree of Size
// leaves: what an auditor checks offline with
//
//	tlog.CheckRecord(Proof, Size, root, Index, tlog.RecordHash(eventHash))
//
// against the root of a signed checkpoint of that size (doc.go, "For
// auditors").
type Inclusion struct {
	EventID   uuid.UUID        `json:"event_id"`
	Position  ledger.Position  `json:"position"`
	EventHash string           `json:"event_hash"` // the event's hash, 64 hex digits: the leaf data
	Index     int64            `json:"index"`      // leaf index, from 0
	Size      int64            `json:"tree_size"`
	LeafHash  tlog.Hash        `json:"leaf_hash"` // base64, like every hash below
	Root      tlog.Hash        `json:"root"`      // root of the tree of Size leaves
	Proof     tlog.RecordProof `json:"proof"`
}

// InclusionProof proves that the event with id is in the tree of the first
// size leaves (0: the current tree). It fails with ledger.ErrEventNotFound
// for an unknown id, ErrNotInTree for an event after size, and
// ErrDiverged when the event's hash is no longer its leaf.
func (t *Tree) InclusionProof(ctx context.Context, id uuid.UUID, size int64) (Inclusion, error) {
	e, err := t.src.EventByID(ctx, id)
	if err != nil {
		return Inclusion{}, fmt.Errorf("logtree: inclusion proof: %w", err)
	}
	if size, err = t.sizeFor(ctx, size); err != nil {
		return Inclusion{}, err
	}
	t.mu.RLock()
	defer t.mu.RUnlock()
	idx, ok := t.leafIndex(e.Position)
	if !ok || idx >= size {
		return Inclusion{}, fmt.Errorf("%w: event %s (position %d) is not among the first %d leaves", ErrNotInTree, id, e.Position, size)
	}
	r := t.reader()
	leaf, err := r.ReadHashes([]int64{tlog.StoredHashIndex(0, idx)})
	if err != nil {
		return Inclusion{}, err
	}
	if leaf[0] != LeafHash(&e) {
		return Inclusion{}, fmt.Errorf("%w: event %s (position %d) does not hash to leaf %d", ErrDiverged, id, e.Position, idx)
	}
	proof, err := tlog.ProveRecord(size, idx, r)
	if err != nil {
		return Inclusion{}, fmt.Errorf("logtree: inclusion proof: %w", err)
	}
	root, err := tlog.TreeHash(size, r)
	if err != nil {
		return Inclusion{}, fmt.Errorf("logtree: inclusion proof: %w", err)
	}
	return Inclusion{EventID: id, Position: e.Position, EventHash: e.Hash.String(), Index: idx, Size: size,
		LeafHash: leaf[0], Root: root, Proof: proof}, nil
}

// ConsistencyProof proves that the tree of the first from leaves is a
// prefix of the tree of the first to leaves (to 0: the current tree), and
// returns the proof with to and both roots — what tlog.CheckTree takes.
// The proof of a tree of 0 leaves is empty: every tree extends it.
func (t *Tree) ConsistencyProof(ctx context.Context, from, to int64) (Consistency, error) {
	to, err := t.sizeFor(ctx, to)
	if err != nil {
		return Consistency{}, err
	}
	if from < 0 || from > to {
		return Consistency{}, fmt.Errorf("%w: consistency from %d to %d", ErrNotInTree, from, to)
	}
	t.mu.RLock()
	defer t.mu.RUnlock()
	r := t.reader()
	c := Consistency{From: from, To: to}
	if c.FromRoot, err = tlog.TreeHash(from, r); err != nil {
		return Consistency{}, fmt.Errorf("logtree: consistency proof: %w", err)
	}
	if c.ToRoot, err = tlog.TreeHash(to, r); err != nil {
		return Consistency{}, fmt.Errorf("logtree: consistency proof: %w", err)
	}
	if from == 0 {
		c.Proof = tlog.TreeProof{}
		return c, nil
	}
	if c.Proof, err = tlog.ProveTree(to, from, r); err != nil {
		return Consistency{}, fmt.Errorf("logtree: consistency proof: %w", err)
	}
	return c, nil
}

// Consistency is the proof that the tree of From leaves is a prefix of the
// tree of To leaves: tlog.CheckTree(Proof, To, ToRoot, From, FromRoot).
type Consistency struct {
	From     int64          `json:"from"`
	To       int64          `json:"to"`
	FromRoot tlog.Hash      `json:"from_root"`
	ToRoot   tlog.Hash      `json:"to_root"`
	Proof    tlog.TreeProof `json:"proof"`
}

// Check compares the tree with the log itself: it reads every event,
// rebuilds the tree in memory and compares every stored hash, and names
// the first event whose leaf differs (ErrDiverged). With a hash file this
// is what shows a rewrite that Open's look at the last leaf cannot.
func (t *Tree) Check(ctx context.Context) error {
	fresh, err := Open(ctx, t.src, Options{})
	if err != nil {
		return err
	}
	t.mu.RLock()
	defer t.mu.RUnlock()
	n := min(t.n, fresh.n)
	if fresh.n < t.n {
		return fmt.Errorf("%w: the tree has %d leaves, the log %d events", ErrDiverged, t.n, fresh.n)
	}
	const batch = 1 << 14
	for lo := int64(0); lo < tlog.StoredHashCount(n); lo += batch {
		hi := min(lo+batch, tlog.StoredHashCount(n))
		idx := make([]int64, 0, hi-lo)
		for i := lo; i < hi; i++ {
			idx = append(idx, i)
		}
		mine, err := t.hashes.read(idx)
		if err != nil {
			return err
		}
		theirs, _ := fresh.hashes.read(idx)
		for i := range mine {
			if mine[i] == theirs[i] {
				continue
			}
			level, k := tlog.SplitStoredHashIndex(idx[i])
			leaf := k << uint(level)
			p := fresh.positions[leaf]
			return fmt.Errorf("%w: leaf %d (the event at position %d) or a subtree from it differs between the tree and the log", ErrDiverged, leaf, p)
		}
	}
	return nil
}
