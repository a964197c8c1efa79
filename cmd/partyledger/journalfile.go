package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"math"
	"os"
	"runtime"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/google/uuid"

	"partyledger/domain"
	"partyledger/ledger"
	"partyledger/ledger/books"
)

// journalItem is one parsed import line: an entry to record, or (export
// form) a sealed event to restore as it is — or the line's problem.
type journalItem struct {
	line    int
	entry   domain.Entry
	sealed  *ledger.Event
	problem error     // the line cannot be parsed: entry and sealed are unset
	at      time.Time // when the line is recorded (the demo's clock); zero: now
	sum     uint64    // a digest of the line's bytes: the second pass reads what the first checked
}

// maxListedLines bounds the bad lines an import lists; it counts the rest.
const maxListedLines = 100

// lineProblems collects the problems of an import by line: those of the
// maxListedLines lowest lines that have any, and the count of the rest, so
// that a file of a million bad lines costs no more than one of a hundred.
type lineProblems struct {
	lines           map[int][]*domain.FieldError
	omittedLines    int
	omittedProblems int
	lastOmitted     int
}

func newLineProblems() *lineProblems {
	return &lineProblems{lines: map[int][]*domain.FieldError{}}
}

func (lp *lineProblems) add(line int, err error) {
	fes := domain.FieldErrors(err)
	if _, ok := lp.lines[line]; ok || len(lp.lines) < maxListedLines {
		lp.lines[line] = append(lp.lines[line], fes...)
		return
	}
	highest := line
	for n := range lp.lines {
		highest = max(highest, n)
	}
	if highest != line {
		// List this line in place of the highest listed one.
		lp.omit(highest, len(lp.lines[highest]))
		delete(lp.lines, highest)
		lp.lines[line] = fes
		return
	}
	lp.omit(line, len(fes))
}

func (lp *lineProblems) omit(line, problems int) {
	if line != lp.lastOmitted {
		lp.omittedLines++
		lp.lastOmitted = line
	}
	lp.omittedProblems += problems
}

// count is the number of bad lines, listed or not.
func (lp *lineProblems) count() int { return len(lp.lines) + lp.omittedLines }

// print writes "line N: field: reason" for each listed problem, in line
// order, then how many were left out.
func (lp *lineProblems) print(w io.Writer) {
	lines := make([]int, 0, len(lp.lines))
	for n := range lp.lines {
		lines = append(lines, n)
	}
	sort.Ints(lines)
	for _, n := range lines {
		for _, fe := range lp.lines[n] {
			printProblems(w, fmt.Sprintf("line %d: ", n), fe)
		}
	}
	if lp.omittedLines > 0 {
		fmt.Fprintf(w, "… 另有 %d 行的 %d 个问题未列出 / and %d more problem(s) on %d more line(s), not listed (the first %d bad lines are)\n",
			lp.omittedLines, lp.omittedProblems, lp.omittedProblems, lp.omittedLines, maxListedLines)
	}
}

// printProblems writes "PREFIXfield: reason" for each field error of err
// (the field of a problem with the whole line or input is "line").
func printProblems(w io.Writer, prefix string, err error) {
	for _, fe := range domain.FieldErrors(err) {
		field := fe.Field
		if field == "" {
			field = "line"
		}
		fmt.Fprintf(w, "%s%s: %s\n", prefix, field, fe.Reason)
	}
}

// importSource is the input of an import, read once by each pass.
type importSource interface {
	// lines calls fn with each line that is not blank: its number (from
	// 1), its bytes (valid until fn returns; nil with errLineTooLong)
	// and the instant it is recorded at (the demo's clock; zero: now).
	// An error reading the input ends it.
	lines(ctx context.Context, fn func(n int, raw []byte, at time.Time, problem error) error) error
}

// fileSource reads a file — held open, so that both passes read the same
// file even if its name is given to another meanwhile.
type fileSource struct {
	f *os.File
}

// openSource opens the import's input: the file named, or for "-"
// standard input — read as it is when it is a regular file, else copied
// first to a temporary file (in $TMPDIR, removed at once, so never left
// behind) since it cannot be read twice. close releases it.
func openSource(e *env, name string) (src importSource, close func(), err error) {
	if name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return nil, nil, err
		}
		return fileSource{f}, func() { f.Close() }, nil // read only: nothing to lose on close
	}
	if f, ok := e.stdin.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode().IsRegular() {
			if off, err := f.Seek(0, io.SeekCurrent); err == nil && off == 0 {
				return fileSource{f}, func() {}, nil
			}
		}
	}
	f, err := os.CreateTemp("", "partyledger-import-*.jsonl")
	if err != nil {
		return nil, nil, fmt.Errorf("standard input is copied to a temporary file first: %w", err)
	}
	removed := os.Remove(f.Name()) == nil // on Unix the open file stays readable
	release := func() {
		f.Close()
		if !removed {
			os.Remove(f.Name())
		}
	}
	if _, err := io.Copy(f, e.stdin); err != nil {
		release()
		return nil, nil, fmt.Errorf("copy standard input to a temporary file: %w", err)
	}
	return fileSource{f}, release, nil
}

func (s fileSource) lines(ctx context.Context, fn func(int, []byte, time.Time, error) error) error {
	r := bufio.NewReaderSize(io.NewSectionReader(s.f, 0, math.MaxInt64), 256<<10)
	for n := 1; ; n++ {
		if n%1024 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		raw, err := readLine(r, domain.MaxLineBytes)
		switch {
		case errors.Is(err, errLineTooLong):
			if err := fn(n, nil, time.Time{}, fmt.Errorf("longer than %d bytes", domain.MaxLineBytes)); err != nil {
				return err
			}
			continue
		case errors.Is(err, io.EOF) && len(raw) == 0:
			return nil
		case err != nil && !errors.Is(err, io.EOF):
			return fmt.Errorf("line %d: read: %w", n, err)
		}
		if len(bytes.TrimSpace(raw)) == 0 {
			continue
		}
		if err := fn(n, raw, time.Time{}, nil); err != nil {
			return err
		}
	}
}

// scanChunk is the number of lines scan parses and hands on at once.
const scanChunk = 256

// scanJob is a chunk of lines on its way through scan: read in order,
// parsed by any worker, handed on in order.
type scanJob struct {
	items  []journalItem
	raw    [][]byte
	parsed chan struct{} // closed when items are parsed
}

// scan reads src and calls fn with its items in order, a chunk at a time.
// Lines are parsed ahead by a worker per CPU — parsing is most of an
// import's work, and this way it overlaps the checks and appends of fn —
// with a few chunks in memory at most. Lines without an id get a
// deterministic one (see itemIDs), the same in every pass and every run.
// seed keys the digest of each line (journalItem.sum).
func scan(ctx context.Context, src importSource, seed maphash.Seed, mode parseMode, fn func([]journalItem) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	workers := max(1, runtime.GOMAXPROCS(0))
	todo := make(chan *scanJob, workers)
	inOrder := make(chan *scanJob, 2*workers)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for job := range todo {
				for i := range job.items {
					it := &job.items[i]
					if it.problem == nil {
						it.problem = mode.parse(job.raw[i], it)
					}
					job.raw[i] = nil
				}
				close(job.parsed)
			}
		}()
	}
	done := make(chan error, 1)
	go func() {
		defer func() {
			close(todo)
			wg.Wait()
			close(inOrder)
		}()
		job := &scanJob{parsed: make(chan struct{})}
		send := func() bool {
			select {
			case inOrder <- job:
			case <-ctx.Done():
				return false
			}
			select {
			case todo <- job:
			case <-ctx.Done():
				close(job.parsed)
				return false
			}
			job = &scanJob{parsed: make(chan struct{})}
			return true
		}
		done <- src.lines(ctx, func(n int, raw []byte, at time.Time, problem error) error {
			job.items = append(job.items, journalItem{line: n, at: at, problem: problem, sum: maphash.Bytes(seed, raw)})
			job.raw = append(job.raw, raw)
			if len(job.items) == scanChunk && !send() {
				return ctx.Err()
			}
			return nil
		})
		if len(job.items) > 0 {
			send()
		}
	}()
	ids := itemIDs{}
	for job := range inOrder {
		<-job.parsed
		if mode != parseOrgs {
			for i := range job.items {
				ids.assign(&job.items[i])
			}
		}
		if err := fn(job.items); err != nil {
			cancel()
			for range inOrder { // let the reader and the workers end
			}
			return err
		}
	}
	return <-done
}

// itemIDs gives the lines of an import without an id a deterministic one:
// from the line's content and how many lines before it had the same, so
// that importing the same file again writes nothing and an interrupted
// import can be re-run. It keeps 16 bytes of digest per distinct content.
type itemIDs map[[16]byte]int

// parseMode is how scan parses lines.
type parseMode int

const (
	// parseStrict: every check of a line (the pass that checks).
	parseStrict parseMode = iota
	// parseAgain: lines checked before by parseStrict, decoded without
	// the strict checks (parseSealedAgain, parsePlainAgain).
	parseAgain
	// parseOrgs: only the organisation of each plain line (planOrgs).
	parseOrgs
)

// topLevelOrg returns the value of the "org" member of the JSON object b
// ("" when it has none) without decoding the rest: it only walks to it,
// skipping the members before it. ok is false when it cannot tell (b is
// not an object of the plain form journal lines take, or a key or the
// value holds an escape): encoding/json decides then. For a line the
// strict parser accepts it gives the entry's org.
func topLevelOrg(b []byte) (org string, ok bool) {
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '{' {
		return "", false
	}
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == '}' {
		return "", true
	}
	for {
		if i >= len(b) || b[i] != '"' {
			return "", false
		}
		key, esc, next := scanString(b, i)
		if next < 0 || esc {
			return "", false
		}
		i = skipSpace(b, next)
		if i >= len(b) || b[i] != ':' {
			return "", false
		}
		i = skipSpace(b, i+1)
		if string(key) == "org" {
			if i >= len(b) || b[i] != '"' {
				return "", false
			}
			v, esc, next := scanString(b, i)
			if next < 0 || esc {
				return "", false
			}
			return string(v), true
		}
		if i = skipValue(b, i); i < 0 {
			return "", false
		}
		i = skipSpace(b, i)
		switch {
		case i < len(b) && b[i] == ',':
			i = skipSpace(b, i+1)
		case i < len(b) && b[i] == '}':
			return "", true
		default:
			return "", false
		}
	}
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// scanString returns the content of the JSON string at b[i] (its opening
// quote), whether it holds an escape, and the index after its closing
// quote (-1: unterminated).
func scanString(b []byte, i int) (content []byte, esc bool, next int) {
	for j := i + 1; j < len(b); j++ {
		switch b[j] {
		case '\\':
			esc = true
			j++
		case '"':
			return b[i+1 : j], esc, j + 1
		}
	}
	return nil, esc, -1
}

// skipValue returns the index after the JSON value at b[i]: where a ','
// or the '}' of the object around it follows (-1: malformed as far as it
// can tell).
func skipValue(b []byte, i int) int {
	depth := 0
	for i < len(b) {
		switch c := b[i]; {
		case c == '"':
			_, _, next := scanString(b, i)
			if next < 0 {
				return -1
			}
			i = next
		case c == '{' || c == '[':
			depth++
			i++
		case c == '}' || c == ']':
			if depth == 0 {
				return i
			}
			depth--
			i++
		case c == ',' && depth == 0:
			return i
		default:
			i++
		}
	}
	return -1
}

// parse parses one line into it.
func (m parseMode) parse(raw []byte, it *journalItem) error {
	switch {
	case m == parseOrgs && isSealed(raw):
		it.sealed = &ledger.Event{}
		return nil
	case m == parseOrgs:
		if org, ok := topLevelOrg(raw); ok {
			it.entry.Org = org
			return nil
		}
		var l struct {
			Org string `json:"org"`
		}
		err := json.Unmarshal(raw, &l)
		it.entry.Org = l.Org
		return err
	case m == parseAgain && isSealed(raw):
		ev, err := parseSealedAgain(raw)
		it.sealed = ev
		return err
	case m == parseAgain:
		ent, err := parsePlainAgain(raw)
		it.entry = ent
		return err
	}
	parsed, err := parseItem(raw)
	if err != nil {
		return err
	}
	it.entry, it.sealed = parsed.entry, parsed.sealed
	return nil
}

// assign gives it an id when it is a plain line without one. Lines must
// come in order.
func (ids itemIDs) assign(it *journalItem) {
	if it.problem != nil || it.sealed != nil || it.entry.ID != "" {
		return
	}
	data, _ := domain.CanonicalJSON(it.entry.Payload)
	key := it.entry.Org + "\x00" + it.entry.Type + "\x00" + it.entry.OccurredOn.String() + "\x00" + string(data)
	sum := sha256.Sum256([]byte(key))
	k := [16]byte(sum[:16])
	it.entry.ID = books.DerivedID("import\x00" + key + "\x00" + strconv.Itoa(ids[k])).String()
	ids[k]++
}

var errLineTooLong = errors.New("line too long")

func readLine(r *bufio.Reader, max int) ([]byte, error) {
	var line []byte
	for {
		chunk, err := r.ReadSlice('\n')
		if len(line)+len(chunk) > max {
			// Skip the rest of the line.
			for errors.Is(err, bufio.ErrBufferFull) {
				_, err = r.ReadSlice('\n')
			}
			return nil, errLineTooLong
		}
		line = append(line, chunk...)
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		return line, err
	}
}

// parseItem accepts a journal line or an exported line (one that carries
// the ledger's envelope: hash, prev_hash, revision, recorded_at…).
func parseItem(raw []byte) (journalItem, error) {
	if !isSealed(raw) {
		ent, err := domain.ParseJournalLine(raw)
		return journalItem{entry: ent}, err
	}
	ent, l, err := domain.ParseExportLine(raw)
	if err != nil {
		return journalItem{}, err
	}
	ev, err := sealedOf(&l, &ent)
	if err != nil {
		return journalItem{}, err
	}
	return journalItem{entry: ent, sealed: ev}, nil
}

// isSealed reports whether a line is in export form.
func isSealed(raw []byte) bool { return bytes.Contains(raw, []byte(`"hash"`)) }

// parseSealedAgain decodes an exported line that the first pass of the
// import parsed strictly and checked (these bytes: journalItem.sum), into
// its event, skipping the strict checks of the line and its payload that
// found nothing — they are most of the cost of a line. It cannot let in
// anything unchecked: ledger.Restoring.Append recomputes the event's hash
// from what this decodes and stops the restore at an event that is not
// the one checked.
func parseSealedAgain(raw []byte) (*ledger.Event, error) {
	var l domain.JournalLine
	if err := json.Unmarshal(raw, &l); err != nil {
		return nil, err
	}
	return sealedOf(&l, nil)
}

// parsePlainAgain decodes a journal line that the first pass of the
// import parsed strictly and checked (these bytes: journalItem.sum) into
// its entry, skipping the strict checks that found nothing — they are
// most of the cost of a line. The strict parser (domain.ParseJournalLine)
// is encoding/json with refusals added (unknown, repeated or upper-case
// keys, lone surrogate escapes, trailing data), and a line it accepted
// decodes to the same entry without them. The payload is validated again,
// which is cheap; the books check the entry against the organisation's
// state again when they record it.
func parsePlainAgain(raw []byte) (domain.Entry, error) {
	var l domain.JournalLine
	if err := json.Unmarshal(raw, &l); err != nil {
		return domain.Entry{}, err
	}
	ent := domain.Entry{ID: l.ID, Org: l.Org, Type: l.Type}
	d, err := domain.ParseDate(l.OccurredOn)
	if err != nil {
		return domain.Entry{}, &domain.FieldError{Field: "occurred_on", Reason: err.Error()}
	}
	ent.OccurredOn = d
	if ent.Payload, err = domain.DecodeStored(l.Type, l.Data); err != nil {
		return domain.Entry{}, err
	}
	if err := ent.Payload.Validate(); err != nil {
		return domain.Entry{}, domain.Prefix("data", err)
	}
	return ent, nil
}

// sealedOf rebuilds the envelope of an exported line. ent, when not nil,
// is the line's entry, whose stream the line must name.
func sealedOf(l *domain.JournalLine, ent *domain.Entry) (*ledger.Event, error) {
	var p domain.Problems
	id, err := uuid.Parse(l.ID)
	if err != nil {
		p.Add("id", "an exported line needs its event id")
	}
	switch {
	case l.Stream == "":
		p.Add("stream", "an exported line needs its stream")
	case ent != nil:
		if want, err := books.StreamOf(ent); err == nil && want != l.Stream {
			p.Add("stream", fmt.Sprintf("%s belongs in %s", l.Type, want))
		}
	}
	if l.Revision == nil {
		p.Add("revision", "an exported line needs its revision")
	}
	at, err := time.Parse(ledger.RecordedAtLayout, l.RecordedAt)
	if err != nil {
		p.Add("recorded_at", "want "+ledger.RecordedAtLayout)
	}
	prev, err := ledger.ParseHash(l.PrevHash)
	if err != nil {
		p.Add("prev_hash", "want 64 hex digits")
	}
	hash, err := ledger.ParseHash(l.Hash)
	if err != nil {
		p.Add("hash", "want 64 hex digits")
	}
	if err := p.Err(); err != nil {
		return nil, err
	}
	// Whether the envelope may enter this ledger (its hash, its chain,
	// its recorded_at) is the ledger's decision: ledger.Ledger.Restore.
	return &ledger.Event{ID: id, Stream: l.Stream, Type: l.Type, SchemaVersion: l.SchemaVersion, Revision: *l.Revision,
		OccurredOn: l.OccurredOn, RecordedAt: at, RecordedBy: l.RecordedBy, Data: compactJSON(l.Data), PrevHash: prev, Hash: hash}, nil
}

func compactJSON(b []byte) []byte {
	var buf bytes.Buffer
	if err := json.Compact(&buf, b); err != nil {
		return b
	}
	return buf.Bytes()
}
