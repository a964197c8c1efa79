package filestore_test

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"partyledger/ledger/filestore"
)

// memFS is an in-memory filestore.FS that models what survives a power
// loss: file contents (data and size) as of their last Sync, directory
// entries — files and subdirectories, created, renamed or removed — as of
// the last SyncDir of their directory. The root directory is always there.
// It can fail the Nth operation of a kind, or cut the power at the Nth
// operation of any kind (see cutPowerAt and powerLoss).
type memFS struct {
	mu          sync.Mutex
	names       map[string]*memNode // current directory entries (full paths)
	durable     map[string]*memNode // entries as of the last SyncDir of their directory
	dirs        map[string]bool     // current directories
	durableDirs map[string]bool     // directories whose entry in the parent is durable
	dirLog      []dirOp             // directory changes not yet made durable, in order
	locks       map[string]bool

	counts map[string]int // operations done, by kind
	faults []*fault
	// onSync, when set, runs before each file Sync with the lock released.
	onSync func()

	powerAt     int    // operations left until the power is cut; 0: not armed
	powerAtKind string // if set, the power is cut at the first operation of this kind from then
	powerWait   int    // operations of other kinds passed over while waiting for powerAtKind
	powerOff    bool   // the power is cut: every changing operation fails
}

// dirOp is one change to a directory's entries that a power loss may or
// may not keep until its directory is synced.
type dirOp struct {
	kind      string // "create", "rename", "remove", "mkdir"
	name, old string
	node      *memNode
}

// errPowerLost is what every changing operation returns once the power is
// cut: the process is as good as dead, its state is what the disk shows.
var errPowerLost = errors.New("memfs: power lost")

type memNode struct {
	data   []byte
	synced []byte
	// holes: the file was once made longer without its new bytes being
	// written (Truncate, or a write past its end): on a real file system,
	// blocks never written, which a later write must allocate.
	holes bool
}

// fault fails the at-th operation of kind (1-based, counted from when the
// fault was added) and, if sticky, every later one. A failing write
// writes the first half of its bytes first, as a full disk does.
type fault struct {
	kind   string
	at     int
	seen   int
	err    error
	sticky bool
	hit    bool
}

func newMemFS() *memFS {
	return &memFS{
		names:       map[string]*memNode{},
		durable:     map[string]*memNode{},
		dirs:        map[string]bool{"/": true},
		durableDirs: map[string]bool{"/": true},
		locks:       map[string]bool{},
		counts:      map[string]int{},
	}
}

var _ filestore.FS = (*memFS)(nil)

// failOn adds a fault; see fault.
func (m *memFS) failOn(kind string, at int, err error, sticky bool) *fault {
	m.mu.Lock()
	defer m.mu.Unlock()
	f := &fault{kind: kind, at: at, err: err, sticky: sticky}
	m.faults = append(m.faults, f)
	return f
}

// cutPowerAt arms a power loss at the nth changing operation from now
// (1-based, every kind counted) or, if kind is not empty, at the first
// operation of that kind from the nth on (or the 100th operation after the
// nth, if none of that kind comes): that operation and every later one
// fail with errPowerLost and change nothing, so the state stays as the
// power loss found it for powerLoss to pick from.
func (m *memFS) cutPowerAt(n int, kind string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.powerAt, m.powerAtKind, m.powerWait = n, kind, 0
}

// restorePower ends a power loss that was taken as a process crash: the
// machine kept running, its page cache (unsynced data and directory
// changes) intact, and a new process starts on it.
func (m *memFS) restorePower() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.powerAt, m.powerOff = 0, false
}

// op counts an operation and returns the injected error, if any. Callers
// hold m.mu.
func (m *memFS) op(kind string) error {
	if m.powerOff {
		return errPowerLost
	}
	if m.powerAt > 0 {
		if m.powerAt > 1 {
			m.powerAt--
		} else if m.powerAtKind == "" || m.powerAtKind == kind || m.powerWait >= 100 {
			m.powerAt = 0
			m.powerOff = true
			return errPowerLost
		} else {
			m.powerWait++
		}
	}
	m.counts[kind]++
	for _, f := range m.faults {
		if f.kind != kind {
			continue
		}
		f.seen++
		if f.seen == f.at || (f.sticky && f.seen > f.at) {
			f.hit = true
			return f.err
		}
	}
	return nil
}

func (m *memFS) hitAny() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, f := range m.faults {
		if f.hit {
			return true
		}
	}
	return false
}

// crash returns the file system as a power loss at this instant leaves
// it: unsynced data and unsynced directory entries are gone. With
// keepUnsynced it models a process crash instead: the kernel keeps
// everything.
func (m *memFS) crash(keepUnsynced bool) *memFS {
	return m.crashTorn(keepUnsynced, nil)
}

// crashTorn is crash where, for each file, keep (when not nil) says how
// many of its unsynced bytes — from the first that differs from what was
// synced to the end of the file — survive the power loss: a write torn
// part way.
func (m *memFS) crashTorn(keepUnsynced bool, keep func(unsynced int) int) *memFS {
	m.mu.Lock()
	defer m.mu.Unlock()
	if keepUnsynced {
		return m.image(m.names, m.dirs, func(n *memNode) []byte { return n.data })
	}
	return m.image(m.durable, m.durableDirs, func(node *memNode) []byte {
		if lo, ok := unsynced(node); keep != nil && ok {
			return tornPrefix(node, lo, keep(len(node.data)-lo))
		}
		return node.synced
	})
}

// unsynced reports whether a file's unsynced writes changed or added bytes
// (not only cut it shorter), and where its bytes first differ from the
// synced ones.
func unsynced(n *memNode) (lo int, ok bool) {
	lo = 0
	for lo < len(n.data) && lo < len(n.synced) && n.data[lo] == n.synced[lo] {
		lo++
	}
	return lo, lo < len(n.data)
}

// oldByte is what byte i of a file reads as where an unsynced write to it
// was lost: its synced content, or zero past the synced end.
func oldByte(n *memNode, i int) byte {
	if i < len(n.synced) {
		return n.synced[i]
	}
	return 0
}

// tornPrefix is the file after a power loss that kept k unsynced bytes
// from lo on: an unsynced append cut short (the file ends after them), or
// an unsynced overwrite of bytes already there cut short (the old bytes
// after them).
func tornPrefix(n *memNode, lo, k int) []byte {
	out := make([]byte, max(len(n.synced), lo+k))
	copy(out, n.synced)
	copy(out[lo:], n.data[lo:lo+k])
	return out
}

// image builds a fully durable file system holding entries (those whose
// directory is in dirs) with the contents that data picks. Callers hold
// m.mu.
func (m *memFS) image(entries map[string]*memNode, dirs map[string]bool, data func(*memNode) []byte) *memFS {
	n := newMemFS()
	for d := range dirs {
		n.dirs[d] = true
		n.durableDirs[d] = true
	}
	for name, node := range entries {
		if !dirs[filepath.Dir(name)] {
			continue // its directory did not survive
		}
		b := slices.Clone(data(node))
		c := &memNode{data: b, synced: slices.Clone(b)}
		n.names[name] = c
		n.durable[name] = c
	}
	return n
}

// clone returns a deep copy of a file system none of whose state is
// unsynced (an image from powerLoss or crash).
func (m *memFS) clone() *memFS {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.dirLog) > 0 {
		panic("memfs: clone of a file system with unsynced directory changes")
	}
	return m.image(m.durable, m.durableDirs, func(n *memNode) []byte { return n.synced })
}

const sectorSize = 512

// powerLoss returns the file system as a power loss at this instant may
// leave it, chosen by r, and a description of the choice:
//
//   - Directory changes since their directory's last SyncDir survive up to
//     a random point of the order they were made in (a journal commits
//     them in order); half the time none survives.
//   - A third of the time every file holds exactly its synced bytes: every
//     write not yet fsynced is dropped. Otherwise each file with unsynced
//     bytes independently keeps none of them, all of them, a random prefix
//     of them (from the first byte that differs from the synced ones: the
//     file cut short after it if it was appended to, the old bytes after
//     it if it was overwritten), or the new size with each 512-byte sector
//     of the unsynced bytes holding either the new bytes or the old ones —
//     zeros past the synced end (the size reached the disk, some data did
//     not) — the last two, torn writes, twice as often as the others. In
//     a zero-filled segment the old bytes are the zeros of its free space.
//
// The image is fully durable. Nothing that was synced is ever lost.
func (m *memFS) powerLoss(r *rand.Rand) (*memFS, string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	entries := maps.Clone(m.durable)
	dirs := maps.Clone(m.durableDirs)
	kept := 0
	if len(m.dirLog) > 0 && r.IntN(2) == 0 {
		kept = r.IntN(len(m.dirLog) + 1)
	}
	for _, op := range m.dirLog[:kept] {
		switch op.kind {
		case "create":
			entries[op.name] = op.node
		case "rename":
			delete(entries, op.old)
			entries[op.name] = op.node
		case "remove":
			delete(entries, op.name)
		case "mkdir":
			dirs[op.name] = true
		}
	}
	how := fmt.Sprintf("%d of %d directory changes kept", kept, len(m.dirLog))
	dropAll := r.IntN(3) == 0
	if dropAll {
		how += ", every unsynced write dropped"
	}
	// Decide per file in name order so that a seed always picks the same.
	chosen := map[*memNode][]byte{}
	for _, name := range slices.Sorted(maps.Keys(entries)) {
		node := entries[name]
		if _, done := chosen[node]; done {
			continue
		}
		data := node.synced
		if !dropAll && string(node.data) != string(node.synced) {
			// Torn writes (modes 2 and 3) are the interesting case:
			// they are picked twice as often.
			lo, torn := unsynced(node)
			switch mode := [...]int{0, 1, 2, 2, 3, 3}[r.IntN(6)]; {
			case mode == 1:
				data = node.data
				how += fmt.Sprintf(", %s all kept", filepath.Base(name))
			case mode == 2 && torn:
				k := r.IntN(len(node.data) - lo + 1)
				data = tornPrefix(node, lo, k)
				how += fmt.Sprintf(", %s %d of %d new bytes from %d kept", filepath.Base(name), k, len(node.data)-lo, lo)
			case mode == 3 && torn:
				data = slices.Clone(node.data)
				for sec := lo / sectorSize * sectorSize; sec < len(data); sec += sectorSize {
					if r.IntN(2) == 0 {
						for i := max(sec, lo); i < min(sec+sectorSize, len(data)); i++ {
							data[i] = oldByte(node, i)
						}
					}
				}
				how += fmt.Sprintf(", %s new sectors from %d kept or old", filepath.Base(name), lo)
			default:
				how += fmt.Sprintf(", %s unsynced dropped", filepath.Base(name))
			}
		}
		chosen[node] = data
	}
	return m.image(entries, dirs, func(n *memNode) []byte { return chosen[n] }), how
}

func (m *memFS) OpenFile(name string, flag int, perm os.FileMode) (filestore.File, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.op("open"); err != nil {
		return nil, &fs.PathError{Op: "open", Path: name, Err: err}
	}
	node, ok := m.names[name]
	switch {
	case !ok && flag&os.O_CREATE == 0:
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
	case !ok:
		if !m.dirs[filepath.Dir(name)] {
			return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
		}
		node = &memNode{}
		m.names[name] = node
		m.dirLog = append(m.dirLog, dirOp{kind: "create", name: name, node: node})
	case flag&os.O_TRUNC != 0:
		node.data = nil
	}
	return &memFile{fs: m, node: node, name: name}, nil
}

func (m *memFS) Rename(oldname, newname string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.op("rename"); err != nil {
		return err
	}
	node, ok := m.names[oldname]
	if !ok {
		return &fs.PathError{Op: "rename", Path: oldname, Err: fs.ErrNotExist}
	}
	delete(m.names, oldname)
	m.names[newname] = node
	m.dirLog = append(m.dirLog, dirOp{kind: "rename", name: newname, old: oldname, node: node})
	return nil
}

func (m *memFS) Remove(name string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.op("remove"); err != nil {
		return err
	}
	if _, ok := m.names[name]; !ok {
		return &fs.PathError{Op: "remove", Path: name, Err: fs.ErrNotExist}
	}
	delete(m.names, name)
	m.dirLog = append(m.dirLog, dirOp{kind: "remove", name: name})
	return nil
}

func (m *memFS) ReadDir(dir string) ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []string
	for name := range m.names {
		if filepath.Dir(name) == dir {
			out = append(out, filepath.Base(name))
		}
	}
	slices.Sort(out)
	return out, nil
}

func (m *memFS) MkdirAll(dir string, perm os.FileMode) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.dirs[dir] {
		return nil
	}
	if err := m.op("mkdir"); err != nil {
		return err
	}
	for d := dir; !m.dirs[d]; d = filepath.Dir(d) {
		// A new directory's name is durable once its parent is synced.
		m.dirs[d] = true
		m.dirLog = append(m.dirLog, dirOp{kind: "mkdir", name: d})
	}
	return nil
}

func (m *memFS) SyncDir(dir string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.op("syncdir"); err != nil {
		return err
	}
	for name := range m.durable {
		if filepath.Dir(name) == dir {
			delete(m.durable, name)
		}
	}
	for name, node := range m.names {
		if filepath.Dir(name) == dir {
			m.durable[name] = node
		}
	}
	for d := range m.dirs {
		if filepath.Dir(d) == dir && d != dir {
			m.durableDirs[d] = true
		}
	}
	m.dirLog = slices.DeleteFunc(m.dirLog, func(op dirOp) bool { return filepath.Dir(op.name) == dir })
	return nil
}

func (m *memFS) Lock(name string) (io.Closer, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.locks[name] {
		return nil, filestore.ErrLocked
	}
	m.locks[name] = true
	return closerFunc(func() error {
		m.mu.Lock()
		defer m.mu.Unlock()
		delete(m.locks, name)
		return nil
	}), nil
}

type closerFunc func() error

func (f closerFunc) Close() error { return f() }

type memFile struct {
	fs     *memFS
	node   *memNode
	name   string
	closed bool
}

var errFileClosed = errors.New("memfs: file closed")

func (f *memFile) ReadAt(p []byte, off int64) (int, error) {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if f.closed {
		return 0, errFileClosed
	}
	if off >= int64(len(f.node.data)) {
		return 0, io.EOF
	}
	n := copy(p, f.node.data[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

func (f *memFile) WriteAt(p []byte, off int64) (int, error) {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if f.closed {
		return 0, errFileClosed
	}
	err := f.fs.op("write")
	if errors.Is(err, errPowerLost) {
		return 0, &fs.PathError{Op: "write", Path: f.name, Err: err}
	}
	if err != nil {
		p = p[:len(p)/2] // a full disk takes part of a write
	}
	if off > int64(len(f.node.data)) {
		f.node.holes = true
	}
	if end := off + int64(len(p)); end > int64(len(f.node.data)) {
		f.node.data = append(f.node.data, make([]byte, end-int64(len(f.node.data)))...)
	}
	copy(f.node.data[off:], p)
	if err != nil {
		return len(p), &fs.PathError{Op: "write", Path: f.name, Err: err}
	}
	return len(p), nil
}

func (f *memFile) Sync() error {
	if hook := f.fs.onSyncHook(); hook != nil {
		hook()
	}
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if f.closed {
		return errFileClosed
	}
	if err := f.fs.op("sync"); err != nil {
		// Like Linux after a failed fsync: the dirty data may be gone
		// and will not be written again.
		return &fs.PathError{Op: "fdatasync", Path: f.name, Err: err}
	}
	f.node.synced = slices.Clone(f.node.data)
	return nil
}

func (m *memFS) onSyncHook() func() {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.onSync
}

func (f *memFile) Truncate(size int64) error {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if err := f.fs.op("truncate"); err != nil {
		return err
	}
	if size < int64(len(f.node.data)) {
		f.node.data = f.node.data[:size]
	} else if size > int64(len(f.node.data)) {
		f.node.data = append(f.node.data, make([]byte, size-int64(len(f.node.data)))...)
		f.node.holes = true
	}
	return nil
}

func (f *memFile) Size() (int64, error) {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	return int64(len(f.node.data)), nil
}

func (f *memFile) Close() error {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	f.closed = true
	return nil
}

// segmentNames lists the segment files of dir in m.
func (m *memFS) segmentNames(dir string) []string {
	names, _ := m.ReadDir(dir)
	var out []string
	for _, n := range names {
		if strings.HasPrefix(n, "segment-") && strings.HasSuffix(n, ".log") {
			out = append(out, n)
		}
	}
	return out
}
