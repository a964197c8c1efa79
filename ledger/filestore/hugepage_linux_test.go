package filestore_test

import (
	"bufio"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"partyledger/ledger"
	"partyledger/ledger/filestore"
)

// smapsEntry is what /proc/self/smaps says of one mapping.
type smapsEntry struct {
	path           string
	sizeKiB        int64
	filePmdKiB     int64
	vmFlags        []string
	hugePageAdvice bool // VmFlags has "hg" (MADV_HUGEPAGE)
}

// smapsUnder returns the mappings of files whose path contains sub.
func smapsUnder(t *testing.T, sub string) []smapsEntry {
	t.Helper()
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		t.Skipf("no /proc/self/smaps: %v", err)
	}
	defer f.Close()
	var out []smapsEntry
	var cur *smapsEntry
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) == 0 {
			continue
		}
		if !strings.HasSuffix(fields[0], ":") {
			// A mapping's first line: range, perms, offset, dev, inode, path.
			cur = nil
			if len(fields) >= 6 && strings.Contains(fields[5], sub) {
				out = append(out, smapsEntry{path: fields[5]})
				cur = &out[len(out)-1]
			}
			continue
		}
		if cur == nil {
			continue
		}
		switch fields[0] {
		case "Size:":
			cur.sizeKiB, _ = strconv.ParseInt(fields[1], 10, 64)
		case "FilePmdMapped:":
			cur.filePmdKiB, _ = strconv.ParseInt(fields[1], 10, 64)
		case "VmFlags:":
			cur.vmFlags = fields[1:]
			for _, fl := range fields[1:] {
				if fl == "hg" {
					cur.hugePageAdvice = true
				}
			}
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestSegmentsMappedWithHugePages: a read maps every segment with the
// huge-page advice, and where the kernel and file system cache files in
// 2 MiB folios (a control file written with one 2 MiB write is mapped by
// PMD entries), the sealed segments of 2 MiB and more are PMD-mapped too:
// their spares were written in aligned 2 MiB writes. With 1 MiB writes
// (the store before) the page cache holds 1 MiB folios, which are mapped
// by 4 KiB entries whatever the advice.
func TestSegmentsMappedWithHugePages(t *testing.T) {
	if _, err := os.Stat("/sys/kernel/mm/transparent_hugepage"); err != nil {
		t.Skip("kernel without transparent huge pages")
	}
	dir := t.TempDir()
	s := open(t, filepath.Join(dir, "store"), filestore.Options{SegmentSize: 8 << 20})
	ctx := context.Background()
	payload := `{"pad":"` + strings.Repeat("x", 1000) + `"}`
	var last *ledger.Event
	appended := 0
	for appended < 8000 { // about 8.5 MiB of frames: segments of 1, 2, 4 and 8 MiB
		evs := make([]ledger.Event, 100)
		for i := range evs {
			evs[i] = sealed("org-a", nextRev(last), prevHash(last), payload)
			last = &evs[i]
		}
		exp := ledger.NoStream
		if appended > 0 {
			exp = int64(appended - 1)
		}
		mustAppend(t, s, "org-a", exp, evs)
		appended += len(evs)
	}
	n := 0
	if err := s.Scan(ctx, 0, func(v *filestore.EventView) error { n++; return nil }); err != nil {
		t.Fatal(err)
	}
	if n != appended {
		t.Fatalf("scanned %d events, want %d", n, appended)
	}

	maps := smapsUnder(t, filepath.Join(dir, "store", "segment-"))
	if len(maps) < 4 {
		t.Fatalf("%d segment mappings, want at least 4 (segments of 1, 2, 4 and 8 MiB): %+v", len(maps), maps)
	}
	var bigKiB, pmdKiB int64
	for _, m := range maps {
		if !m.hugePageAdvice {
			t.Errorf("%s is mapped without the huge-page advice (VmFlags %v)", m.path, m.vmFlags)
		}
		if m.sizeKiB >= 2<<10 {
			bigKiB += m.sizeKiB
			pmdKiB += m.filePmdKiB
		}
	}

	// The control: does this kernel and file system map a file written in
	// one 2 MiB write with a PMD entry?
	ctl := filepath.Join(dir, "control")
	f, err := os.Create(ctl)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ones := make([]byte, 2<<20)
	for i := range ones {
		ones[i] = 1
	}
	for off := int64(0); off < 4<<20; off += 2 << 20 {
		if _, err := f.WriteAt(ones, off); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	if f, err = os.Open(ctl); err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b, err := unix.Mmap(int(f.Fd()), 0, 4<<20, unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Munmap(b)
	_ = unix.Madvise(b, unix.MADV_HUGEPAGE)
	var sum byte // 2048 ones: 0 mod 256
	for i := 0; i < len(b); i += 2048 {
		sum += b[i]
	}
	if sum != 0 {
		t.Fatalf("control file reads %d, not ones", sum)
	}
	ctlMaps := smapsUnder(t, ctl)
	if len(ctlMaps) != 1 || ctlMaps[0].filePmdKiB == 0 {
		t.Skipf("this kernel or file system does not map a 2 MiB-written file with huge pages (%+v): PMD mapping not checked", ctlMaps)
	}
	if pmdKiB == 0 {
		t.Fatalf("none of the %d KiB of segments of 2 MiB and more is PMD-mapped, though the control file is: %+v", bigKiB, maps)
	}
	t.Logf("%d of %d KiB of the segments of 2 MiB and more PMD-mapped", pmdKiB, bigKiB)
}
