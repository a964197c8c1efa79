package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"partyledger/ledger"
	"partyledger/ledger/filestore"
	"partyledger/ledger/logtree"
)

// TestCheckpointsCatchATruncatedLog: checkpoints taken before and after
// an append verify, with the ledger's key file or with its public key
// alone; once the last frame is removed from the segment — zeroed to the
// end of the preallocated file, as free space looks — and the commit mark,
// the index file and any side file are removed, as someone with the files
// would, the later checkpoint fails, naming it and saying the log no
// longer contains its tree, while the earlier one still verifies. Grades
// name the log tree they were computed at.
func TestCheckpointsCatchATruncatedLog(t *testing.T) {
	dir := t.TempDir()
	c := newClock()
	run := func(args ...string) result { return cli(t, c, "", append([]string{"--data", dir}, args...)...) }
	mustOK(t, run("import", "testdata/small.jsonl", "--quiet"))
	before := filepath.Join(t.TempDir(), "before.cp")
	r := mustOK(t, run("checkpoint", "--out", before))
	keyPath := filepath.Join(dir, logtree.KeyFileName)
	wantIn(t, r.stderr, "created the signing key "+keyPath+" (mode 0600)")
	if fi, err := os.Stat(keyPath); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v, %v; want mode 0600", fi, err)
	}
	if b, _ := os.ReadFile(before); r.stdout != string(b) || !strings.HasPrefix(r.stdout, "partyledger/"+filepath.Base(dir)+"\n20\n") {
		t.Fatalf("checkpoint printed %q, wrote %q", r.stdout, b)
	}

	segs, err := filepath.Glob(filepath.Join(dir, "segment-*.log"))
	if err != nil || len(segs) != 1 {
		t.Fatalf("segments %v %v", segs, err)
	}
	// Where the segment's frames end (zeros follow them): the commit mark
	// the import's Close wrote records it.
	mark, ok, err := filestore.ReadMark(nil, dir)
	if err != nil || !ok {
		t.Fatalf("commit mark: %v, %v", ok, err)
	}
	mustOK(t, run("record", "--org", "LY-0002", "--type", "StudySessionHeld", "--occurred-on", "2016-04-06",
		"--data", `{"topic":"补充学习","attendees":["m001"],"notes_kept":true}`))
	after := filepath.Join(t.TempDir(), "after.cp")
	mustOK(t, run("checkpoint", "--out", after))
	wantIn(t, mustOK(t, run("verify", "--checkpoint", before, "--checkpoint", after)).stdout,
		"检查点相符 / checkpoint "+before+" OK", "检查点相符 / checkpoint "+after+" OK")
	// An inclusion proof from prove, for the size of the first
	// checkpoint, checks against it with the note and tlog packages alone.
	var line struct {
		ID   string `json:"id"`
		Hash string `json:"hash"`
	}
	if err := json.Unmarshal([]byte(strings.SplitN(mustOK(t, run("export", "--org", "LY-0002")).stdout, "\n", 2)[0]), &line); err != nil {
		t.Fatal(err)
	}
	proof := mustOK(t, run("prove", "--event", line.ID, "--size", "20")).stdout
	if err := checkInclusionOffline(t, keyPath, before, line.Hash, []byte(proof)); err != nil {
		t.Fatalf("prove --event %s --size 20 against the checkpoint of 20: %v\n%s", line.ID, err, proof)
	}
	// With the public key alone (the key file moved away); another key
	// fails, naming the checkpoint.
	vkey := publicKey(t, keyPath)
	if err := os.Rename(keyPath, keyPath+".away"); err != nil {
		t.Fatal(err)
	}
	wantIn(t, mustOK(t, run("verify", "--checkpoint", after, "--pubkey", vkey)).stdout, "checkpoint "+after+" OK")
	other, _, err := logtree.LoadOrCreateKey(filepath.Join(t.TempDir(), "other.key"), "partyledger/"+filepath.Base(dir))
	if err != nil {
		t.Fatal(err)
	}
	r = run("verify", "--checkpoint", after, "--pubkey", other.VerifierKey())
	if codeOf(r.err) != 1 {
		t.Fatalf("verify against another key: exit %d, want 1\n%s%s", codeOf(r.err), r.stdout, r.stderr)
	}
	wantIn(t, r.stdout, "checkpoint "+after+" FAILED", "bad checkpoint", "not signed by")
	if err := os.Rename(keyPath+".away", keyPath); err != nil {
		t.Fatal(err)
	}

	// Remove the last frame (the recorded event), as an insider would:
	// zeros from its start to the end of the preallocated file.
	zeroTail(t, segs[0], mark.Length)
	// The index file claims the frame: remove it, or the store rejects it
	// and reads the frames anyway. The commit mark still says the frame
	// was there: the store refuses to open.
	idx, _ := filepath.Glob(filepath.Join(dir, "segment-*.idx"))
	for _, f := range idx {
		if err := os.Remove(f); err != nil {
			t.Fatal(err)
		}
	}
	r = run("verify", "--checkpoint", before, "--checkpoint", after)
	if codeOf(r.err) != 1 || !strings.Contains(r.err.Error(), "commit mark records") {
		t.Fatalf("verify of a log cut below its commit mark: exit %d (%v), want 1 naming the mark\n%s%s", codeOf(r.err), r.err, r.stdout, r.stderr)
	}
	for _, pat := range []string{"COMMIT", "*.torn-*", "*.idx", "logtree.hashes"} {
		m, _ := filepath.Glob(filepath.Join(dir, pat))
		for _, f := range m {
			if err := os.Remove(f); err != nil {
				t.Fatal(err)
			}
		}
	}
	r = run("verify", "--checkpoint", before, "--checkpoint", after)
	if codeOf(r.err) != 1 {
		t.Fatalf("verify of a truncated log: exit %d, want 1\n%s%s", codeOf(r.err), r.stdout, r.stderr)
	}
	wantIn(t, r.stdout, "校验通过 / OK: 20 个事件", "checkpoint "+before+" OK", "checkpoint "+after+" FAILED", "no longer contains the checkpointed tree", "truncated")

	// A grade carries the tree it was computed at.
	g := mustOK(t, run("grade", "issue", "--under", "*", "--year", "2016", "--provisional"))
	wantIn(t, g.stdout, "评定时账本检查点 / anchored to the log tree:")
	if !strings.Contains(mustOK(t, run("export", "--all")).stdout, `"checkpoint":{"size":`) {
		t.Error("the grade events carry no checkpoint")
	}
}

// TestVerifyReportsTornTails: a side file of cut bytes fails verify until
// the operator accepts it, and is reported either way.
func TestVerifyReportsTornTails(t *testing.T) {
	dir := t.TempDir()
	c := newClock()
	run := func(args ...string) result { return cli(t, c, "", append([]string{"--data", dir}, args...)...) }
	mustOK(t, run("import", "testdata/small.jsonl", "--quiet"))
	side := filepath.Join(dir, "segment-00000000000000000001.log.torn-4096-deadbeef")
	if err := os.WriteFile(side, []byte("cut bytes"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := run("verify")
	if codeOf(r.err) != 1 {
		t.Fatalf("verify with a side file: exit %d, want 1\n%s", codeOf(r.err), r.stdout)
	}
	wantIn(t, r.stdout, "截断的尾部 / torn tail cut aside: segment-00000000000000000001.log.torn-4096-deadbeef", "9 bytes")
	wantIn(t, mustOK(t, run("verify", "--accept-torn")).stdout, "torn tail cut aside", "校验通过")

	// The checkpoints given are still checked, and reported.
	cp := filepath.Join(t.TempDir(), "cp")
	mustOK(t, run("checkpoint", "--out", cp))
	r = run("verify", "--checkpoint", cp)
	if codeOf(r.err) != 1 {
		t.Fatalf("verify with a side file and a checkpoint: exit %d, want 1\n%s", codeOf(r.err), r.stdout)
	}
	wantIn(t, r.stdout, "torn tail cut aside", "NOT OK", "checkpoint "+cp+" OK")

	// A store that fails its checks, or does not open, still has its
	// side files listed.
	m, _, err := filestore.ReadMark(nil, dir)
	if err != nil {
		t.Fatal(err)
	}
	xorByte(t, filepath.Join(dir, "segment-00000000000000000001.log"), m.Length-20, 0xFF)
	r = run("verify")
	if codeOf(r.err) != 1 {
		t.Fatalf("verify of a damaged store: exit %d, want 1\n%s", codeOf(r.err), r.stdout)
	}
	wantIn(t, r.stdout, "torn tail cut aside: segment-00000000000000000001.log.torn-4096-deadbeef")
}

// TestCheckpointsCatchARewrittenEvent: one event rewritten in place in the
// segment — its payload changed, its stream's hash chain recomputed from
// it on, every frame's checksums recomputed — passes verify (checksums,
// index files, hash chains: nothing else can see it), and fails verify
// --checkpoint of a checkpoint taken before, which says the log no longer
// contains the checkpointed tree.
func TestCheckpointsCatchARewrittenEvent(t *testing.T) {
	dir := t.TempDir()
	c := newClock()
	run := func(args ...string) result { return cli(t, c, "", append([]string{"--data", dir}, args...)...) }
	mustOK(t, run("import", "testdata/small.jsonl", "--quiet"))
	cp := filepath.Join(t.TempDir(), "cp")
	mustOK(t, run("checkpoint", "--out", cp))
	mustOK(t, run("record", "--org", "LY-0002", "--type", "StudySessionHeld", "--occurred-on", "2016-04-06",
		"--data", `{"topic":"补充学习","attendees":["m001"],"notes_kept":true}`))
	wantIn(t, mustOK(t, run("verify", "--checkpoint", cp)).stdout, "checkpoint "+cp+" OK")

	// m001's monthly income, 650000 fen, becomes 950000: the same length.
	rewriteEvent(t, dir, []byte(`"monthly_income_fen":650000`), []byte(`"monthly_income_fen":950000`))
	r := mustOK(t, run("verify"))
	wantIn(t, r.stdout, "校验通过 / OK: 21 个事件", "checksums and hash chains")
	if !strings.Contains(mustOK(t, run("export", "--org", "LY-0002")).stdout, `"monthly_income_fen":950000`) {
		t.Fatal("the rewrite did not take")
	}
	r = run("verify", "--checkpoint", cp)
	if codeOf(r.err) != 1 {
		t.Fatalf("verify --checkpoint of a rewritten log: exit %d, want 1\n%s%s", codeOf(r.err), r.stdout, r.stderr)
	}
	wantIn(t, r.stdout, "checkpoint "+cp+" FAILED", "no longer contains the checkpointed tree", "rewritten")
}

// checkInclusionOffline checks an inclusion proof (prove's JSON) of the
// event whose hash is eventHash against the signed checkpoint in the file
// cpPath, as an auditor does: golang.org/x/mod's note and tlog only.
func checkInclusionOffline(t *testing.T, keyPath, cpPath, eventHash string, proofJSON []byte) error {
	t.Helper()
	v, err := note.NewVerifier(publicKey(t, keyPath))
	if err != nil {
		return err
	}
	msg, err := os.ReadFile(cpPath)
	if err != nil {
		return err
	}
	n, err := note.Open(msg, note.VerifierList(v))
	if err != nil {
		return err
	}
	lines := strings.SplitN(n.Text, "\n", 4)
	size, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil {
		return err
	}
	root, err := tlog.ParseHash(lines[2])
	if err != nil {
		return err
	}
	var p struct {
		Index int64       `json:"index"`
		Size  int64       `json:"tree_size"`
		Proof []tlog.Hash `json:"proof"`
	}
	if err := json.Unmarshal(proofJSON, &p); err != nil {
		return err
	}
	if p.Size != size {
		return fmt.Errorf("a proof for %d events, the checkpoint signs %d", p.Size, size)
	}
	h, err := hex.DecodeString(eventHash)
	if err != nil {
		return err
	}
	return tlog.CheckRecord(p.Proof, size, root, p.Index, tlog.RecordHash(h))
}

// publicKey returns the verifier key of the key file at path (its second
// line).
func publicKey(t *testing.T, path string) string {
	t.Helper()
	k, err := logtree.LoadKey(path)
	if err != nil {
		t.Fatal(err)
	}
	return k.VerifierKey()
}

// zeroTail overwrites the file at path with zeros from off to its end.
func zeroTail(t *testing.T, path string, off int64) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteAt(make([]byte, fi.Size()-off), off); err != nil {
		t.Fatal(err)
	}
}

// rewriteEvent rewrites, in the only segment of the store in dir, the one
// event whose payload holds old (replaced by new, of the same length) as
// an insider who knows the format would: the event's hash and the hash
// chain of its stream from it on recomputed (each hash replaced where it
// is stored, as the event's hash and as the next one's prev_hash), and
// every frame's chunk checksums, table checksum and trailer recomputed
// (the format of ledger/filestore's package doc). Index files and the
// commit mark stay valid: no length, id or position changes.
func rewriteEvent(t *testing.T, dir string, old, new []byte) {
	t.Helper()
	if len(old) != len(new) {
		t.Fatal("rewriteEvent keeps lengths")
	}
	s, err := filestore.Open(dir, filestore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var events []ledger.Event
	for e, err := range s.ReadAll(context.Background(), 0) {
		if err != nil {
			t.Fatal(err)
		}
		events = append(events, e)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	segs, _ := filepath.Glob(filepath.Join(dir, "segment-*.log"))
	if len(segs) != 1 {
		t.Fatalf("segments %v, want one", segs)
	}
	b, err := os.ReadFile(segs[0])
	if err != nil {
		t.Fatal(err)
	}
	// replace replaces every occurrence of from, which must occur once
	// or twice (a hash is stored as its event's hash and as the next
	// event's prev_hash).
	replace := func(what string, from, to []byte, most int) {
		t.Helper()
		if n := bytes.Count(b, from); n < 1 || n > most {
			t.Fatalf("%s: %d occurrences in the segment, want 1..%d", what, n, most)
		}
		b = bytes.ReplaceAll(b, from, to)
	}
	stream := ""
	var prev ledger.Hash
	for _, e := range events {
		switch {
		case stream == "" && bytes.Contains(e.Data, old):
			stream = e.Stream
			e.Data = bytes.Replace(e.Data, old, new, 1)
			replace("the payload", old, new, 1)
		case stream == "" || e.Stream != stream:
			continue
		default:
			e.PrevHash = prev // already replaced in the segment
		}
		h := ledger.ComputeHash(&e)
		replace("the hash of "+e.ID.String(), e.Hash[:], h[:], 2)
		prev = h
	}
	if stream == "" {
		t.Fatalf("no event holds %s", old)
	}
	// Reseal every frame: chunk CRCs, the table's CRC, the trailer.
	crc := crc32.MakeTable(crc32.Castagnoli)
	le := binary.LittleEndian
	frames := 0
	for off := 32; off+8 <= len(b); frames++ {
		n := int(le.Uint32(b[off:]))
		if n == 0 {
			break // free space
		}
		body := b[off+8 : off+8+n]
		table := b[off+8+n : off+8+n+4*((n+4095)/4096)]
		for i := 0; i*4096 < n; i++ {
			le.PutUint32(table[4*i:], crc32.Checksum(body[i*4096:min((i+1)*4096, n)], crc))
		}
		le.PutUint32(b[off+4:], crc32.Update(crc32.Checksum(b[off:off+4], crc), crc, table))
		end := off + 8 + n + len(table)
		copy(b[end:end+8], b[off:off+8])
		off = end + 8
	}
	if err := os.WriteFile(segs[0], b, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("rewrote an event of %s and its chain; resealed %d frames", stream, frames)
}

// bigJournal writes a journal of one organisation's 255 events — one
// commit, one frame of about 100 KiB — and returns its path.
func bigJournal(t *testing.T, org string) string {
	t.Helper()
	var sb strings.Builder
	fmt.Fprintf(&sb, `{"org":%q,"type":"OrganizationRegistered","occurred_on":"2016-01-04","data":{"code":%q,"name":"市财政局第九党支部","kind":"branch","has_groups":false}}`+"\n", org, org)
	fmt.Fprintf(&sb, `{"org":%q,"type":"MemberJoined","occurred_on":"2016-01-05","data":{"member_id":"m001","name":"张三","is_leader":true,"monthly_income_fen":500000}}`+"\n", org)
	for i := range 253 {
		fmt.Fprintf(&sb, `{"org":%q,"type":"StudySessionHeld","occurred_on":"2016-%02d-%02d","data":{"topic":"学习第%d次%s","attendees":["m001"],"notes_kept":true}}`+"\n",
			org, 1+i/28, 1+i%28, i, strings.Repeat("内容", 30))
	}
	p := filepath.Join(t.TempDir(), "big.jsonl")
	if err := os.WriteFile(p, []byte(sb.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// copyDir copies the regular files of dir into a new directory.
func copyDir(t *testing.T, dir string) string {
	t.Helper()
	out := t.TempDir()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(out, e.Name()), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// xorByte changes the byte at off of the file at path by x.
func xorByte(t *testing.T, path string, off int64, x byte) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b := make([]byte, 1)
	if _, err := f.ReadAt(b, off); err != nil {
		t.Fatal(err)
	}
	b[0] ^= x
	if _, err := f.WriteAt(b, off); err != nil {
		t.Fatal(err)
	}
}

// TestLargeImportIsNeverCutSilently is the case through the
// command line: a 255-event journal imported as one commit (one frame),
// then one byte changed. In its middle, verify exits 1 naming the segment
// and the frame's offset — after a clean close (the commit mark and the
// index file cover the frame) and when the process died before Close
// (neither does: the frame's own checksums show it was complete). In the
// trailer's copy of the frame header, which a torn write can explain, the
// frame is cut aside, and verify exits 1 reporting the side file with all
// 255 events until --accept-torn. A byte set in the zeros after the last
// frame is cut aside too (no event) and reported the same way.
func TestLargeImportIsNeverCutSilently(t *testing.T) {
	dir := t.TempDir()
	c := newClock()
	mustOK(t, cli(t, c, "", "--data", dir, "import", "testdata/small.jsonl", "--quiet"))
	// The files as a process that died right after acknowledging the
	// next import would leave them: the commit mark and the index file
	// of the last Close, which end where the import's frame starts.
	seg := "segment-00000000000000000001.log"
	killed := map[string][]byte{}
	for _, name := range []string{"COMMIT", "segment-00000000000000000001.idx"} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		killed[name] = b
	}
	m0, _, err := filestore.ReadMark(nil, dir)
	if err != nil {
		t.Fatal(err)
	}
	mustOK(t, cli(t, c, "", "--data", dir, "import", bigJournal(t, "LY-0009"), "--quiet"))
	m1, _, err := filestore.ReadMark(nil, dir)
	if err != nil {
		t.Fatal(err)
	}
	off, end := m0.Length, m1.Length
	if m1.Head != m0.Head+255 || end-off < 64<<10 {
		t.Fatalf("the import's frame: %d..%d, positions %d..%d; want one frame of 255 events", off, end, m0.Head, m1.Head)
	}
	asKilled := func(d string) {
		for name, b := range killed {
			if err := os.WriteFile(filepath.Join(d, name), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	verify := func(d string, args ...string) result {
		return cli(t, c, "", append([]string{"--data", d, "verify"}, args...)...)
	}
	for _, closed := range []bool{true, false} {
		d := copyDir(t, dir)
		if !closed {
			asKilled(d)
		}
		xorByte(t, filepath.Join(d, seg), (off+end)/2, 0xFF)
		r := verify(d)
		if codeOf(r.err) != 1 || !strings.Contains(r.err.Error(), fmt.Sprintf("corrupt data in %s at byte offset %d", seg, off)) {
			t.Fatalf("closed %v, a byte changed in the middle of the frame: exit %d (%v), want 1 naming %s at %d\n%s",
				closed, codeOf(r.err), r.err, seg, off, r.stdout)
		}
		if side, _ := filepath.Glob(filepath.Join(d, "*.torn-*")); len(side) != 0 {
			t.Fatalf("closed %v: side files %v after a failed open", closed, side)
		}
	}

	// The trailer's last byte, the process killed before Close.
	d := copyDir(t, dir)
	asKilled(d)
	xorByte(t, filepath.Join(d, seg), end-1, 0x01)
	r := verify(d)
	if codeOf(r.err) != 1 {
		t.Fatalf("a cut frame of 255 events: exit %d, want 1\n%s", codeOf(r.err), r.stdout)
	}
	wantIn(t, r.stdout, "校验通过 / OK: 20 个事件", fmt.Sprintf("torn tail cut aside: %s.torn-%d-", seg, off),
		fmt.Sprintf("(from %s at offset %d)", seg, off), "255 events decodable", "NOT OK")
	wantIn(t, mustOK(t, verify(d, "--accept-torn")).stdout, "255 events decodable")

	// A byte set in the free space after the last frame, closed cleanly.
	d = copyDir(t, dir)
	xorByte(t, filepath.Join(d, seg), end+1000, 0x40)
	r = verify(d)
	if codeOf(r.err) != 1 {
		t.Fatalf("a byte in the free space: exit %d, want 1\n%s", codeOf(r.err), r.stdout)
	}
	wantIn(t, r.stdout, "校验通过 / OK: 275 个事件", fmt.Sprintf("torn tail cut aside: %s.torn-%d-", seg, end), "1001 bytes, 0 events decodable", "NOT OK")
}
