package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"strings"
	"sync"
	"testing"
	"time"

	"partyledger/domain"
)

// The import reads its file twice — every line checked, then appended —
// and holds neither pass in memory. These tests hold it to what the
// single pass over a file held in memory guaranteed.

// splitLines returns the lines of a JSONL file, without their newlines.
func splitLines(t testing.TB, path string) []string {
	t.Helper()
	return strings.Split(strings.TrimRight(mustRead(t, path), "\n"), "\n")
}

func writeLines(t testing.TB, lines []string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "journal.jsonl")
	if err := os.WriteFile(p, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// seeded returns a data directory holding the first lines of journal,
// and the ledger's summary (events, streams, last position).
func seeded(t *testing.T, c *testClock, journal []string, lines int) (dir, before string) {
	t.Helper()
	dir = t.TempDir()
	mustOK(t, cli(t, c, "", "--data", dir, "import", writeLines(t, journal[:lines]), "--quiet"))
	return dir, countEvents(t, c, dir)
}

// refusedUnchanged runs an import that must be refused with each of want
// in its stderr, and checks the ledger is as it was.
func refusedUnchanged(t *testing.T, c *testClock, dir, before, stdin string, args []string, want ...string) result {
	t.Helper()
	r := cli(t, c, stdin, append([]string{"--data", dir, "import"}, args...)...)
	if exitCode(r.err) != 1 {
		t.Fatalf("exit %d (%v), want 1; stderr:\n%s", exitCode(r.err), r.err, r.stderr)
	}
	for _, w := range want {
		if !strings.Contains(r.stderr, w) {
			t.Errorf("stderr lacks %q:\n%s", w, r.stderr)
		}
	}
	if after := countEvents(t, c, dir); after != before {
		t.Fatalf("a refused import changed the ledger:\n%s\n%s", before, after)
	}
	return r
}

// TestImportRefusesABadLastLine: a journal of thousands of lines — many
// chunks of the reader, many append batches — whose last line alone is
// bad appends nothing, whether the line is malformed or breaks a rule of
// the organisation's state; so does an export whose last line is.
func TestImportRefusesABadLastLine(t *testing.T) {
	c := newClock()
	journal := splitLines(t, cityJournal(t, 8))
	dir, before := seeded(t, c, journal, 100)
	n := len(journal) + 1
	for _, tc := range []struct{ name, line, want string }{
		{"malformed", `{"org":"LY-0001","type":"StudySessionHeld"`, fmt.Sprintf("line %d: line: truncated JSON", n)},
		{"a member the organisation lacks", `{"org":"LY-0003","type":"StudySessionHeld","occurred_on":"2016-12-30","data":{"topic":"学习","attendees":["m404"],"notes_kept":true}}`,
			fmt.Sprintf(`line %d: data.attendees[0]: member "m404" does not belong to LY-0003`, n)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := refusedUnchanged(t, c, dir, before, "", []string{writeLines(t, append(journal[:len(journal):len(journal)], tc.line)), "--quiet"}, tc.want)
			if strings.Count(r.stderr, "\n") != 1 {
				t.Fatalf("more than the last line reported:\n%s", r.stderr)
			}
		})
	}

	t.Run("an export", func(t *testing.T) {
		src := t.TempDir()
		mustOK(t, cli(t, c, "", "--data", src, "import", cityJournal(t, 8), "--quiet"))
		exp := strings.Split(strings.TrimRight(mustOK(t, cli(t, c, "", "--data", src, "export", "--all")).stdout, "\n"), "\n")
		last := &exp[len(exp)-1]
		*last = strings.Replace(*last, `"recorded_by":"import"`, `"recorded_by":"mallory"`, 1)
		empty := t.TempDir()
		refusedUnchanged(t, c, empty, countEvents(t, c, empty), "", []string{writeLines(t, exp), "--quiet"},
			fmt.Sprintf("line %d: hash: does not match the event's content", len(exp)))
	})
}

// TestImportRefusesAnIDUsedTwice: an id on two lines far apart in a file
// is refused on the second, with or without the same content — even in
// two organisations' streams, which no state of one organisation shows.
func TestImportRefusesAnIDUsedTwice(t *testing.T) {
	c := newClock()
	journal := splitLines(t, cityJournal(t, 8))
	dir, before := seeded(t, c, journal, 100)
	idOf := regexp.MustCompile(`"id":"([0-9a-f-]{36})"`)
	first := -1
	for i, l := range journal {
		if idOf.MatchString(l) {
			first = i
			break
		}
	}
	if first < 0 {
		t.Fatal("no line of the city carries an id")
	}
	id := idOf.FindStringSubmatch(journal[first])[1]
	same := append(journal[:len(journal):len(journal)], journal[first])
	refusedUnchanged(t, c, dir, before, "", []string{writeLines(t, same), "--quiet"},
		fmt.Sprintf("line %d: id: %s is on line %d too", len(same), id, first+1))

	// The id again, on a registration of an organisation of its own.
	other := fmt.Sprintf(`{"id":"%s","org":"ZZ-0001","type":"OrganizationRegistered","occurred_on":"2016-01-04","data":{"code":"ZZ-0001","name":"另一个支部","kind":"branch","has_groups":false}}`, id)
	elsewhere := append(journal[:len(journal):len(journal)], other)
	refusedUnchanged(t, c, dir, before, "", []string{writeLines(t, elsewhere), "--quiet"},
		fmt.Sprintf("line %d: id: %s is on line %d too", len(elsewhere), id, first+1))
}

// TestImportRefusesALineThatConflictsWithTheLedger: the last line of a
// long file reuses the id of an event the ledger holds, with other
// content: refused, nothing appended — not the lines before it either.
func TestImportRefusesALineThatConflictsWithTheLedger(t *testing.T) {
	c := newClock()
	journal := splitLines(t, cityJournal(t, 8))
	dir, before := seeded(t, c, journal, 100)
	// The ledger holds line 50, under the id the import gave it: export it.
	var stored string
	for _, l := range strings.Split(mustOK(t, cli(t, c, "", "--data", dir, "export", "--all")).stdout, "\n") {
		if strings.Contains(l, `"position":50,`) {
			stored = l
		}
	}
	id := regexp.MustCompile(`"id":"([0-9a-f-]{36})"`).FindStringSubmatch(stored)
	if id == nil {
		t.Fatalf("no event at position 50 with an id: %q", stored)
	}
	conflict := fmt.Sprintf(`{"id":"%s","org":"LY-0003","type":"WorkInfoSubmitted","occurred_on":"2016-12-30","data":{"title":"同一个编号，另一件事"}}`, id[1])
	// The file is the rest of the journal: the id is on no line of it.
	lines := append(journal[100:len(journal):len(journal)], conflict)
	refusedUnchanged(t, c, dir, before, "", []string{writeLines(t, lines), "--quiet"},
		fmt.Sprintf("line %d: id: already recorded with other content", len(lines)))
}

// TestImportListsABoundedNumberOfProblems: a file of many bad lines lists
// the first ones and counts the rest, so that its problems cost no more
// memory than a hundred lines'.
func TestImportListsABoundedNumberOfProblems(t *testing.T) {
	c := newClock()
	dir, before := seeded(t, c, splitLines(t, "testdata/small.jsonl"), 20)
	var lines []string
	for i := range maxListedLines + 50 {
		lines = append(lines, fmt.Sprintf(`{"org":"LY-0002","type":"WorkInfoSubmitted","occurred_on":"2016-02-30","data":{"title":"第%d条"}}`, i))
	}
	r := refusedUnchanged(t, c, dir, before, "", []string{writeLines(t, lines)},
		fmt.Sprintf("line %d: occurred_on:", maxListedLines),
		"and 50 more problem(s) on 50 more line(s), not listed")
	if strings.Contains(r.stderr, fmt.Sprintf("line %d:", maxListedLines+1)) {
		t.Fatalf("more than %d lines listed:\n%s", maxListedLines, r.stderr)
	}
	if !strings.Contains(r.err.Error(), fmt.Sprintf("%d bad line(s)", maxListedLines+50)) {
		t.Fatalf("error %v: want the count of every bad line", r.err)
	}
}

// TestImportFromStandardInput: standard input is read twice too — copied
// to a temporary file first, or read in place when it is a regular file.
func TestImportFromStandardInput(t *testing.T) {
	journal := cityJournal(t, 4)
	lines := len(splitLines(t, journal))
	summary := fmt.Sprintf("%d 个新事件 new, 0 个已存在 already recorded, %d 行 lines", lines, lines)

	t.Run("a pipe", func(t *testing.T) {
		r := mustOK(t, cli(t, newClock(), mustRead(t, journal), "--data", t.TempDir(), "import", "-", "--quiet"))
		wantIn(t, r.stdout, summary)
		tmp, err := filepath.Glob(filepath.Join(os.TempDir(), "partyledger-import-*"))
		if err != nil || len(tmp) > 0 {
			t.Fatalf("temporary files left behind: %v %v", tmp, err)
		}
	})
	t.Run("a regular file", func(t *testing.T) {
		f, err := os.Open(journal)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		var out, errb bytes.Buffer
		e := &env{stdin: f, stdout: &out, stderr: &errb, getenv: func(string) string { return "" }, now: newClock().Now}
		if err := e.run(context.Background(), []string{"--data", t.TempDir(), "import", "-", "--quiet"}); err != nil {
			t.Fatalf("%v\n%s", err, errb.String())
		}
		wantIn(t, out.String(), summary)
	})
}

// changingSource is an import's input that is not the same when read the
// second time, as a file written to during the import is not.
type changingSource struct {
	mu    sync.Mutex
	reads int
	text  []string
	from  map[int]string // line k is from[k] when set, from the third read (the second pass) on
}

func (s *changingSource) lines(ctx context.Context, fn func(int, []byte, time.Time, error) error) error {
	s.mu.Lock()
	s.reads++
	read := s.reads
	s.mu.Unlock()
	for i, l := range s.text {
		if ch, ok := s.from[i]; ok && read >= 3 { // the reads: plan, check, append
			l = ch
		}
		if err := fn(i+1, []byte(l), time.Time{}, nil); err != nil {
			return err
		}
	}
	return nil
}

// TestImportStopsAtALineThatChanged: the second pass appends only lines
// it finds as the first pass checked them; at the first that differs it
// stops before appending it, and says so.
func TestImportStopsAtALineThatChanged(t *testing.T) {
	journal := splitLines(t, cityJournal(t, 4))
	at := len(journal) - 10
	bad := `{"org":"LY-0003","type":"StudySessionHeld","occurred_on":"2016-12-30","data":{"topic":"学习","attendees":["m404"],"notes_kept":true}}`
	c := newClock()
	dir := t.TempDir()
	e := &env{stdin: strings.NewReader(""), stdout: &bytes.Buffer{}, stderr: &bytes.Buffer{}, getenv: func(string) string { return "" }, now: c.Now, data: dir}
	bk, err := e.books(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	err = importJournal(context.Background(), e, bk, &changingSource{text: journal, from: map[int]string{at: bad}}, "import", false, nil)
	bk.Close()
	e.bk = nil
	want := fmt.Sprintf("line %d is not the line checked (the file changed during the import)", at+1)
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("import of a file that changed: %v; want %q", err, want)
	}
	if got := countEvents(t, c, dir); !strings.Contains(got, fmt.Sprintf(" %d 个事件", at)) {
		t.Fatalf("after the import stopped: %s; want the %d lines before the changed one", got, at)
	}
}

// liveHeap is the heap the last garbage collection found live.
func liveHeap() uint64 {
	s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// peakHeap runs fn and returns how far the live heap rose above where it
// was before, at its highest (read after each collection, which run often
// meanwhile).
func peakHeap(fn func()) uint64 {
	defer debug.SetGCPercent(debug.SetGCPercent(10))
	runtime.GC()
	base := liveHeap()
	var peak uint64
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for {
			peak = max(peak, liveHeap())
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	}()
	fn()
	close(stop)
	<-done
	return max(peak, liveHeap()) - min(base, peak)
}

// groupedJournal returns a journal of orgs organisations, each registered
// with one member, then its lines one after another (perOrg of them).
func groupedJournal(orgs, perOrg int) []string {
	var out []string
	for o := 1; o <= orgs; o++ {
		code := fmt.Sprintf("GJ-%04d", o)
		out = append(out,
			fmt.Sprintf(`{"org":"%s","type":"OrganizationRegistered","occurred_on":"2016-01-04","data":{"code":"%s","name":"第%d支部","kind":"branch","has_groups":false}}`, code, code, o),
			fmt.Sprintf(`{"org":"%s","type":"MemberJoined","occurred_on":"2016-01-04","data":{"member_id":"m001","name":"张伟","is_leader":true,"monthly_income_fen":650000}}`, code))
		for i := range perOrg - 2 {
			out = append(out, fmt.Sprintf(`{"org":"%s","type":"StudySessionHeld","occurred_on":"2016-%02d-%02d","data":{"topic":"第%d次学习","attendees":["m001"],"notes_kept":true}}`,
				code, 1+i%12, 5+i%20, i))
		}
	}
	return out
}

// TestImportMemoryDoesNotHoldTheFile guards the bounded memory of import
// without timing it: the peak of the live heap while importing n lines
// and 4n, as a journal and as an export. Between its passes an import
// keeps only compact state for each line (its digest, its id) and the
// store its index of each event — together about 100-150 bytes a line —
// so it must grow by less than 300 bytes a line; holding the lines
// themselves, as the import did when it read the whole file first (1.2 KB
// a journal line, 2.4 KB an export line), fails. The journal is grouped
// by organisation: an import holds the state of the organisations in
// progress (see planOrgs), which for a journal that interleaves them all
// is every organisation's, as a server holds it.
func TestImportMemoryDoesNotHoldTheFile(t *testing.T) {
	if testing.Short() {
		t.Skip("imports 70,000 lines")
	}
	const perLine = 300
	journal := groupedJournal(80, 250)
	small := len(journal) / 4
	c := newClock()
	full := t.TempDir()
	mustOK(t, cli(t, c, "", "--data", full, "import", writeLines(t, journal), "--quiet"))
	export := strings.Split(strings.TrimRight(mustOK(t, cli(t, c, "", "--data", full, "export", "--all")).stdout, "\n"), "\n")

	for _, tc := range []struct {
		name  string
		lines []string
	}{{"a journal", journal}, {"an export", export}} {
		t.Run(tc.name, func(t *testing.T) {
			peak := func(lines []string) uint64 {
				p := writeLines(t, lines)
				dir := t.TempDir()
				return peakHeap(func() { mustOK(t, cli(t, c, "", "--data", dir, "import", p, "--quiet")) })
			}
			a, b := peak(tc.lines[:small]), peak(tc.lines)
			grew := (int64(b) - int64(a)) / int64(len(tc.lines)-small)
			t.Logf("peak live heap: %d lines %.1f MB, %d lines %.1f MB: %d bytes a line more", small, float64(a)/1e6, len(tc.lines), float64(b)/1e6, grew)
			if grew > perLine {
				t.Fatalf("the import's memory grows by %d bytes a line (%d lines: %d bytes, %d lines: %d bytes); want at most %d",
					grew, small, a, len(tc.lines), b, perLine)
			}
		})
	}
}

// topLevelOrgAgrees fails when topLevelOrg reads an org from b that the
// strict parser does not.
func topLevelOrgAgrees(t *testing.T, b []byte) {
	org, ok := topLevelOrg(b)
	var l domain.JournalLine
	if !ok || domain.StrictUnmarshal(bytes.TrimSpace(b), &l) != nil {
		return
	}
	if l.Org != org {
		t.Fatalf("topLevelOrg(%q) = %q, the strict parser reads %q", b, org, l.Org)
	}
}

// TestTopLevelOrg: the quick first pass of an import reads each line's
// org as the strict parser does, or leaves the line to encoding/json.
func TestTopLevelOrg(t *testing.T) {
	for _, tc := range []struct {
		line string
		org  string
		ok   bool
	}{
		{`{"org":"LY-0001","type":"X"}`, "LY-0001", true},
		{` { "type" : "X" , "data" : {"org":"NESTED","a":[1,{"org":"N2"},"]}"]} , "org" : "B" } `, "B", true},
		{`{"data":{"s":"a\"org\":\"x\\"},"org":"C"}`, "C", true},
		{`{"type":"RequiredEventScheduled","data":{}}`, "", true},
		{`{}`, "", true},
		{`{"\u006frg":"X"}`, "", false},
		{`{"org":"A\u0042"}`, "", false},
		{`{"org":1}`, "", false},
		{`[{"org":"A"}]`, "", false},
		{`{"data":{"org":"A"}`, "", false},
		{`{"type":"X",`, "", false},
	} {
		org, ok := topLevelOrg([]byte(tc.line))
		if org != tc.org || ok != tc.ok {
			t.Errorf("topLevelOrg(%s) = %q, %v; want %q, %v", tc.line, org, ok, tc.org, tc.ok)
		}
		topLevelOrgAgrees(t, []byte(tc.line))
	}
	for _, l := range splitLines(t, cityJournal(t, 4)) {
		topLevelOrgAgrees(t, []byte(l))
		if _, ok := topLevelOrg([]byte(l)); !ok {
			t.Fatalf("topLevelOrg cannot read %s", l)
		}
	}
}

// FuzzTopLevelOrg: go test ./cmd/partyledger -run '^$' -fuzz FuzzTopLevelOrg
func FuzzTopLevelOrg(f *testing.F) {
	for _, s := range []string{`{"org":"LY-0001","type":"X","data":{"org":"N"}}`, `{"id":"x","org":"A","data":{"a":["}",{"b":"\""}]}}`, `{"type":"X","org":"B"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) { topLevelOrgAgrees(t, b) })
}
