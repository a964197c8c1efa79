package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"partyledger/ledger/filestore"
)

// TestCheckpointsCatchATruncatedLog: checkpoints taken before and after
// an append verify; once the last frame is cut from the segment (and the
// commit mark and any side file removed, as someone with the files
// would), the later checkpoint fails, naming it, while the earlier one
// still verifies. Grades name the log tree they were computed at.
func TestCheckpointsCatchATruncatedLog(t *testing.T) {
	dir := t.TempDir()
	c := newClock()
	run := func(args ...string) result { return cli(t, c, "", append([]string{"--data", dir}, args...)...) }
	mustOK(t, run("import", "testdata/small.jsonl", "--quiet"))
	before := filepath.Join(t.TempDir(), "before.cp")
	mustOK(t, run("checkpoint", "--out", before))

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

	// Cut the last frame (the recorded event), as an insider would.
	if err := os.Truncate(segs[0], mark.Length); err != nil {
		t.Fatal(err)
	}
	for _, pat := range []string{"COMMIT", "*.torn-*", "logtree.hashes"} {
		m, _ := filepath.Glob(filepath.Join(dir, pat))
		for _, f := range m {
			if err := os.Remove(f); err != nil {
				t.Fatal(err)
			}
		}
	}
	r := run("verify", "--checkpoint", before, "--checkpoint", after)
	if codeOf(r.err) != 1 {
		t.Fatalf("verify of a truncated log: exit %d, want 1\n%s%s", codeOf(r.err), r.stdout, r.stderr)
	}
	wantIn(t, r.stdout, "checkpoint "+before+" OK", "checkpoint "+after+" FAILED", "no longer contains the checkpointed tree")

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
}
