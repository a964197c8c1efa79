package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"partyledger/domain"
	"partyledger/ledger"
)

// exportLines returns the ledger's export, one decoded line per event.
func exportLines(t testing.TB, c *testClock, dir string) []domain.JournalLine {
	t.Helper()
	var out []domain.JournalLine
	for _, raw := range strings.Split(strings.TrimSpace(mustOK(t, cli(t, c, "", "--data", dir, "export", "--all")).stdout), "\n") {
		var l domain.JournalLine
		if err := json.Unmarshal([]byte(raw), &l); err != nil {
			t.Fatal(err)
		}
		out = append(out, l)
	}
	return out
}

// seal gives l the hash its content has after prev (nil: l starts its
// stream) — what anyone can compute, since a hash chain holds no secret.
func seal(t testing.TB, prev, l *domain.JournalLine) {
	t.Helper()
	var data bytes.Buffer
	if err := json.Compact(&data, l.Data); err != nil {
		t.Fatal(err)
	}
	at, err := time.Parse(ledger.RecordedAtLayout, l.RecordedAt)
	if err != nil {
		t.Fatal(err)
	}
	ev := ledger.Event{ID: uuid.MustParse(l.ID), Stream: l.Stream, Type: l.Type, SchemaVersion: ledger.SchemaVersion,
		Revision: *l.Revision, OccurredOn: l.OccurredOn, RecordedAt: at, RecordedBy: l.RecordedBy, Data: data.Bytes()}
	if prev != nil {
		if ev.PrevHash, err = ledger.ParseHash(prev.Hash); err != nil {
			t.Fatal(err)
		}
	}
	l.SchemaVersion, l.PrevHash, l.Hash = ledger.SchemaVersion, ev.PrevHash.String(), ledger.ComputeHash(&ev).String()
}

// forgeNext returns a sealed line that continues the stream of last, as
// a forger would write it.
func forgeNext(t testing.TB, last domain.JournalLine, typ, org, occurredOn, recordedAt, by, data string) domain.JournalLine {
	t.Helper()
	rev := *last.Revision + 1
	l := domain.JournalLine{ID: uuid.NewString(), Org: org, Type: typ, OccurredOn: occurredOn, Data: json.RawMessage(data),
		Stream: last.Stream, Revision: &rev, RecordedAt: recordedAt, RecordedBy: by}
	seal(t, &last, &l)
	return l
}

func lastOf(t testing.TB, lines []domain.JournalLine, stream string) domain.JournalLine {
	t.Helper()
	for i := len(lines) - 1; i >= 0; i-- {
		if lines[i].Stream == stream {
			return lines[i]
		}
	}
	t.Fatalf("no stream %s in the export", stream)
	return domain.JournalLine{}
}

func jsonl(t testing.TB, lines ...domain.JournalLine) string {
	t.Helper()
	var b strings.Builder
	for _, l := range lines {
		j, err := json.Marshal(l)
		if err != nil {
			t.Fatal(err)
		}
		b.Write(j)
		b.WriteByte('\n')
	}
	return b.String()
}

// TestImportOfSealedLines: exported (sealed) lines are restored only into
// an empty ledger, whole and in order; forged lines that continue a chain
// of a ledger in use — which the chain alone cannot tell from real ones —
// are refused with nothing appended.
func TestImportOfSealedLines(t *testing.T) {
	dir := t.TempDir()
	c := newClock()
	mustOK(t, cli(t, c, "", "--data", dir, "import", "testdata/small.jsonl", "--quiet"))
	mustOK(t, cli(t, c, "", "--data", dir, "token", "create", "--role", "auditor", "--name", "审计"))
	exp := exportLines(t, c, dir)
	before := countEvents(t, c, dir)
	org := lastOf(t, exp, exp[1].Stream) // LY-0002, registered on line 2
	if org.Org != "LY-0002" {
		t.Fatalf("line 2 of the export is %s's", org.Org)
	}
	now := c.Now().UTC().Format(ledger.RecordedAtLayout)

	forged := []struct {
		name string
		line domain.JournalLine
	}{
		{"EventRetracted with a past recorded_at", forgeNext(t, org, "EventRetracted", "LY-0002", "2016-06-01",
			"2016-06-01T02:00:00.000000Z", "工委", `{"event_id":"`+exp[4].ID+`","reason":"伪造"}`)},
		{"GroupAssessmentRecorded", forgeNext(t, org, "GroupAssessmentRecorded", "LY-0002", "2017-01-15",
			now, "考核组", `{"year":2016,"score":100}`)},
		{"TokenIssued", forgeNext(t, lastOf(t, exp, "auth-tokens"), "TokenIssued", "", "2017-03-01",
			now, "admin", `{"token_id":"f0a6ed01","role":"admin","name":"伪造","sha256":"`+strings.Repeat("ab", 32)+`"}`)},
	}
	for _, f := range forged {
		t.Run("into a ledger in use: forged "+f.name, func(t *testing.T) {
			r := cli(t, c, jsonl(t, f.line), "--data", dir, "import", "-")
			if exitCode(r.err) != 1 || !strings.Contains(r.stderr, "line 1: line: sealed events (an export) are restored only into an empty ledger") {
				t.Fatalf("exit %d (%v); stderr:\n%s", exitCode(r.err), r.err, r.stderr)
			}
			if after := countEvents(t, c, dir); after != before {
				t.Fatalf("the ledger changed:\n%s\n%s", before, after)
			}
		})
	}
	t.Run("into a ledger in use: its own export again appends nothing", func(t *testing.T) {
		r := mustOK(t, cli(t, c, jsonl(t, exp...), "--data", dir, "import", "-"))
		if !strings.Contains(r.stdout, fmt.Sprintf(" 0 个新事件 new, %d 个已存在", len(exp))) {
			t.Fatalf("%s", r.stdout)
		}
		r = cli(t, c, jsonl(t, append(exp, forged[1].line)...), "--data", dir, "import", "-")
		if exitCode(r.err) != 1 || !strings.Contains(r.stderr, fmt.Sprintf("line %d: line: sealed events (an export) are restored only into an empty ledger", len(exp)+1)) {
			t.Fatalf("exit %d (%v); stderr:\n%s", exitCode(r.err), r.err, r.stderr)
		}
	})
	t.Run("into an empty ledger: restored, and verify passes", func(t *testing.T) {
		dir2 := t.TempDir()
		mustOK(t, cli(t, c, jsonl(t, exp...), "--data", dir2, "import", "-"))
		if got := countEvents(t, c, dir2); got != before {
			t.Fatalf("restored: %s, want %s", got, before)
		}
	})
	t.Run("into an empty ledger: recorded_at going backwards is refused", func(t *testing.T) {
		lines := append([]domain.JournalLine(nil), exp...)
		lines[5].RecordedAt = lines[0].RecordedAt // back before lines 2–5
		tips := map[string]*domain.JournalLine{}
		for i := range lines { // re-sealed, so only the order of time is wrong
			seal(t, tips[lines[i].Stream], &lines[i])
			tips[lines[i].Stream] = &lines[i]
		}
		dir2 := t.TempDir()
		r := cli(t, c, jsonl(t, lines...), "--data", dir2, "import", "-")
		if exitCode(r.err) != 1 || !strings.Contains(r.stderr, "line 6: recorded_at: ") || !strings.Contains(r.stderr, "never goes backwards") ||
			strings.Count(r.stderr, "\n") != 1 {
			t.Fatalf("exit %d (%v); stderr:\n%s", exitCode(r.err), r.err, r.stderr)
		}
		if v := countEvents(t, c, dir2); !strings.Contains(v, " 0 个事件") {
			t.Fatalf("a refused restore appended: %s", v)
		}
	})
	t.Run("into an empty ledger: recorded_at after the restoring clock is refused", func(t *testing.T) {
		r := cli(t, newClock(), jsonl(t, exp...), "--data", t.TempDir(), "import", "-")
		if exitCode(r.err) != 1 || !strings.Contains(r.stderr, "recorded_at: ") || !strings.Contains(r.stderr, "is after now") {
			t.Fatalf("exit %d (%v); stderr:\n%s", exitCode(r.err), r.err, r.stderr)
		}
	})
	t.Run("a file mixing sealed and plain lines is refused", func(t *testing.T) {
		plain := `{"org":"LY-0002","type":"WorkInfoSubmitted","occurred_on":"2016-03-01","data":{"title":"x"}}` + "\n"
		dir2 := t.TempDir()
		r := cli(t, c, jsonl(t, exp...)+plain, "--data", dir2, "import", "-")
		if exitCode(r.err) != 1 || !strings.Contains(r.stderr, fmt.Sprintf("line %d: line: a plain journal line in a file of sealed lines (an export)", len(exp)+1)) ||
			strings.Count(r.stderr, "\n") != 1 {
			t.Fatalf("exit %d (%v); stderr:\n%s", exitCode(r.err), r.err, r.stderr)
		}
		r = cli(t, c, plain+jsonl(t, exp...), "--data", dir2, "import", "-")
		if exitCode(r.err) != 1 || !strings.Contains(r.stderr, "line 2: line: a sealed line (an export) in a file of plain journal lines") {
			t.Fatalf("exit %d (%v); stderr:\n%s", exitCode(r.err), r.err, r.stderr)
		}
		if v := countEvents(t, c, dir2); !strings.Contains(v, " 0 个事件") {
			t.Fatalf("a refused import appended: %s", v)
		}
	})
}
