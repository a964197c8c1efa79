package main

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"partyledger/cmd/ledgerbench/internal/stats"
)

// The physical limit: what the disk allows with nothing but writes and
// fdatasyncs, measured on the same file system as the stores.

// fdatasync flushes f's data as the embedded store does.
func fdatasync(f *os.File) error {
	for {
		err := syscall.Fdatasync(int(f.Fd()))
		if !errors.Is(err, syscall.EINTR) {
			return err
		}
	}
}

// rawAppends measures appends of recBytes each to a growing file: with one
// writer a plain write-then-fdatasync loop, with more a bare group-commit
// loop — a committer takes whatever queued up while the previous sync ran,
// writes it with one write and syncs once, then answers. It is the store's
// write path with everything but the disk taken out.
//
// With prefill > 0 the file is first filled with that many zero bytes and
// synced (untimed), so that the loop overwrites allocated blocks instead of
// growing the file, as PostgreSQL's WAL does with its zero-filled
// segments: an fdatasync then has no file size to commit through the file
// system's journal.
//
// With zeroAhead (ledgerbench sets it only with prefill > 0) a second
// goroutine meanwhile writes zeros to another file as fast as the loop
// writes records, 2 MiB a write and an fdatasync every 8 MiB, as the
// embedded store prepares its next segment (filestore's zeroChunk and
// spareSyncEvery, copied here: they are not exported): the preallocated
// loop paying for its preallocation as it goes rather than before it is
// timed. Its syncs then share the disk with those zeros.
func rawAppends(ctx context.Context, dir string, writers, recBytes int, warm, dur time.Duration, prefill int64, zeroAhead bool) (run appendRun, err error) {
	f, err := os.OpenFile(filepath.Join(dir, fmt.Sprintf("raw-%d-%d", writers, recBytes)), os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return appendRun{}, err
	}
	defer os.Remove(f.Name())
	defer f.Close()
	if prefill > 0 {
		zero := make([]byte, 1<<20)
		for off := int64(0); off < prefill; off += int64(len(zero)) {
			if _, err := f.WriteAt(zero, off); err != nil {
				return appendRun{}, err
			}
		}
		if err := fdatasync(f); err != nil {
			return appendRun{}, err
		}
	}
	var zeros *zeroPacer // nil: no zeros written alongside
	if zeroAhead {
		zeros = newZeroPacer()
		stop := make(chan struct{})
		errc := make(chan error, 1)
		go func() {
			errc <- zeroAlong(filepath.Join(dir, fmt.Sprintf("raw-%d-%d-zeros", writers, recBytes)), zeros, stop)
		}()
		defer func() {
			close(stop)
			if zerr := <-errc; zerr != nil && err == nil {
				err = fmt.Errorf("zero-fill alongside the loop: %w", zerr)
			}
		}()
	}
	rec := make([]byte, recBytes)
	for i := range rec {
		rec[i] = byte(i)
	}
	var off int64
	if writers == 1 {
		return measureAppends(ctx, 1, 1, warm, dur, func(ctx context.Context, w int, rev int64, n int) error {
			if _, err := f.WriteAt(rec, off); err != nil {
				return err
			}
			off += int64(len(rec))
			zeros.add(int64(len(rec)))
			return fdatasync(f)
		})
	}
	type req struct{ done chan error }
	reqs := make(chan req, 4096)
	var committer sync.WaitGroup
	committer.Add(1)
	go func() {
		defer committer.Done()
		var buf []byte
		var batch []req
		for r := range reqs {
			batch = append(batch[:0], r)
		drain:
			for {
				select {
				case r2, ok := <-reqs:
					if !ok {
						break drain
					}
					batch = append(batch, r2)
				default:
					break drain
				}
			}
			buf = buf[:0]
			for range batch {
				buf = append(buf, rec...)
			}
			_, err := f.WriteAt(buf, off)
			off += int64(len(buf))
			zeros.add(int64(len(buf)))
			if err == nil {
				err = fdatasync(f)
			}
			for _, r := range batch {
				r.done <- err
			}
		}
	}()
	dones := make([]chan error, writers)
	for i := range dones {
		dones[i] = make(chan error, 1)
	}
	run, err = measureAppends(ctx, writers, 1, warm, dur, func(ctx context.Context, w int, rev int64, n int) error {
		reqs <- req{done: dones[w]}
		return <-dones[w]
	})
	close(reqs)
	committer.Wait()
	return run, err
}

// seqWrite measures sequential write bandwidth: total bytes written in 1 MiB
// writes, then one fdatasync, in bytes per second.
func seqWrite(dir string, total int64) (float64, error) {
	f, err := os.OpenFile(filepath.Join(dir, "seqwrite"), os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return 0, err
	}
	defer os.Remove(f.Name())
	defer f.Close()
	chunk := make([]byte, 1<<20)
	for i := range chunk {
		chunk[i] = byte(i * 7)
	}
	start := time.Now()
	for off := int64(0); off < total; off += int64(len(chunk)) {
		if _, err := f.WriteAt(chunk, off); err != nil {
			return 0, err
		}
	}
	if err := fdatasync(f); err != nil {
		return 0, err
	}
	return stats.Rate(total, time.Since(start)), nil
}

// rawRead reads every file in 1 MiB preads — file i up to lens[i] bytes,
// or whole when lens is nil — and returns the bytes read and the time
// taken: the floor under reading a store's files.
func rawRead(files []string, lens []int64) (int64, time.Duration, error) {
	buf := make([]byte, 1<<20)
	var n int64
	start := time.Now()
	for i, name := range files {
		f, err := os.Open(name)
		if err != nil {
			return 0, 0, err
		}
		end := int64(math.MaxInt64)
		if lens != nil {
			end = lens[i]
		}
		for off := int64(0); off < end; {
			k, err := f.ReadAt(buf[:min(int64(len(buf)), end-off)], off)
			off += int64(k)
			n += int64(k)
			if err != nil {
				break
			}
		}
		f.Close()
	}
	return n, time.Since(start), nil
}

// segmentData returns the segment files of the embedded store in dir and
// how many bytes of each hold data: up to its last non-zero byte, since
// the store zero-fills a segment ahead of its frames and reads only the
// frames (the frames' last bytes may be zeros too, at most 7: a trailer's
// length field is never zero).
func segmentData(dir string) ([]string, []int64, error) {
	files, err := filepath.Glob(filepath.Join(dir, "segment-????????????????????.log"))
	if err != nil {
		return nil, nil, err
	}
	lens := make([]int64, len(files))
	buf := make([]byte, 1<<20)
	for i, name := range files {
		f, err := os.Open(name)
		if err != nil {
			return nil, nil, err
		}
		st, err := f.Stat()
		if err != nil {
			f.Close()
			return nil, nil, err
		}
		end := st.Size()
	scan:
		for end > 0 {
			k := min(int64(len(buf)), end)
			if _, err := f.ReadAt(buf[:k], end-k); err != nil {
				f.Close()
				return nil, nil, err
			}
			for j := k - 1; j >= 0; j-- {
				if buf[j] != 0 {
					end -= k - j - 1
					break scan
				}
			}
			end -= k
		}
		f.Close()
		lens[i] = end
	}
	return files, lens, nil
}

// filesIn returns the regular files directly in dir (or dir itself when
// it is a file).
func filesIn(path string) ([]string, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !st.IsDir() {
		return []string{path}, nil
	}
	entries, err := os.ReadDir(path)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range entries {
		// *.tmp files are not the store's data: the next segment's file
		// while it is prepared, or leftovers Open removes. They come and go
		// with every Open and Close.
		if e.Type().IsRegular() && !strings.HasSuffix(e.Name(), ".tmp") {
			out = append(out, filepath.Join(path, e.Name()))
		}
	}
	return out, nil
}

// dirBytes returns the total size of the regular files in path.
func dirBytes(path string) int64 {
	files, err := filesIn(path)
	if err != nil {
		return 0
	}
	var n int64
	for _, f := range files {
		if st, err := os.Stat(f); err == nil {
			n += st.Size()
		}
	}
	return n
}

// zeroChunk and zeroSyncEvery are how the zeros alongside the loop are
// written: as filestore prepares its next segment.
const zeroChunk, zeroSyncEvery = 2 << 20, 8 << 20

// zeroPacer tells zeroAlong how far the loop has written.
type zeroPacer struct {
	written atomic.Int64  // record bytes the loop has written
	more    chan struct{} // capacity 1: written crossed a zeroChunk boundary
}

func newZeroPacer() *zeroPacer { return &zeroPacer{more: make(chan struct{}, 1)} }

// add counts n more bytes written by the loop (nothing on a nil pacer).
func (p *zeroPacer) add(n int64) {
	if p == nil {
		return
	}
	if w := p.written.Add(n); (w-n)/zeroChunk != w/zeroChunk {
		select {
		case p.more <- struct{}{}:
		default:
		}
	}
}

// zeroAlong writes zeros to a new file at path, zeroChunk at a time, as
// far as the loop has written (p), until stop is closed; then removes it.
func zeroAlong(path string, p *zeroPacer, stop <-chan struct{}) error {
	z, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	defer os.Remove(path)
	defer z.Close()
	zero := make([]byte, zeroChunk)
	var off, unsynced int64
	for {
		for off+zeroChunk > p.written.Load() {
			select {
			case <-stop:
				return nil
			case <-p.more:
			}
		}
		select {
		case <-stop:
			return nil
		default:
		}
		if _, err := z.WriteAt(zero, off); err != nil {
			return err
		}
		off += zeroChunk
		if unsynced += zeroChunk; unsynced >= zeroSyncEvery {
			if err := fdatasync(z); err != nil {
				return err
			}
			unsynced = 0
		}
	}
}
