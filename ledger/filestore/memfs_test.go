package filestore_test

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"partyledger/ledger/filestore"
)

// memFS is an in-memory filestore.FS that models what survives a power
// loss: file contents as of their last Sync, and directory entries as of
// the last SyncDir. It can fail the Nth operation of a kind.
type memFS struct {
	mu      sync.Mutex
	names   map[string]*memNode // current directory entries (full paths)
	durable map[string]*memNode // entries as of the last SyncDir of their directory
	dirs    map[string]bool
	locks   map[string]bool

	counts map[string]int // operations done, by kind
	faults []*fault
	// onSync, when set, runs before each file Sync with the lock released.
	onSync func()
}

type memNode struct {
	data   []byte
	synced []byte
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
		names:   map[string]*memNode{},
		durable: map[string]*memNode{},
		dirs:    map[string]bool{},
		locks:   map[string]bool{},
		counts:  map[string]int{},
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

// op counts an operation and returns the injected error, if any. Callers
// hold m.mu.
func (m *memFS) op(kind string) error {
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
// many of its unsynced appended bytes survive the power loss: a write
// torn part way.
func (m *memFS) crashTorn(keepUnsynced bool, keep func(unsynced int) int) *memFS {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := newMemFS()
	for d := range m.dirs {
		n.dirs[d] = true
	}
	src := m.durable
	if keepUnsynced {
		src = m.names
	}
	for name, node := range src {
		data := node.synced
		switch {
		case keepUnsynced:
			data = node.data
		case keep != nil && len(node.data) > len(node.synced) && string(node.data[:len(node.synced)]) == string(node.synced):
			data = node.data[:len(node.synced)+keep(len(node.data)-len(node.synced))]
		}
		c := &memNode{data: slices.Clone(data), synced: slices.Clone(data)}
		n.names[name] = c
		n.durable[name] = c
	}
	return n
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
	m.dirs[dir] = true // directories themselves are taken as durable
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
	if err != nil {
		p = p[:len(p)/2] // a full disk takes part of a write
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
	} else {
		f.node.data = append(f.node.data, make([]byte, size-int64(len(f.node.data)))...)
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
