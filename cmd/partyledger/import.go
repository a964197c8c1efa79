package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"hash/maphash"
	"io"
	"os"
	"time"

	"github.com/google/uuid"

	"partyledger/domain"
	"partyledger/ledger"
	"partyledger/ledger/books"
)

// importBatch bounds the events of one append during import.
const importBatch = 500

// remoteBatchBytes bounds the lines of one request of import --server,
// well under the API's 1 MiB body limit.
const remoteBatchBytes = 512 << 10

func importCommand() *command {
	var c struct {
		quiet bool
		as    string
	}
	return &command{
		remote: true,
		name:   "import",
		args:   "FILE|- [--quiet] [--as WHO]",
		short:  "导入 JSONL 台账（或恢复导出文件）/ import a JSONL journal (or restore an export)",
		long: `The file is read in passes and never held in memory: a quick one for where each
organisation's lines end; one that checks every line — JSON, fields, the organisation's state in
file order, the sealed envelope of an export, an id on two lines — and appends nothing; and, only
when no line has a problem, one that reads the file again and appends, stopping at any line that
is not the one checked (a file changed meanwhile). A bad line anywhere refuses the whole import:
"line N: field: reason" for the first 100 bad lines and the count of the rest, exit 1, the ledger
unchanged. Memory: a few dozen bytes a line, plus the state of the organisations in progress —
of all of them when the file interleaves them to its end, as a server holds it. Restoring a
1,000,000-line export peaks at about 210 MB RSS (was 2.3–2.6 GB). Standard input ("-") is copied to a
temporary file in $TMPDIR first (removed at once) unless it is a regular file. An import
interrupted, even by SIGKILL, completes when run again, writing each line once; a restore (an
export's sealed lines, into an empty ledger) so interrupted is started again from an empty
ledger.`,
		nargs:    1,
		operands: "one FILE (or - for standard input)",
		flags: func(fs *flag.FlagSet) {
			fs.BoolVar(&c.quiet, "quiet", false, "no progress output")
			fs.StringVar(&c.as, "as", "import", "recorded_by for the imported events")
		},
		run: func(ctx context.Context, e *env, args []string) error {
			cl, err := e.remote()
			if err != nil {
				return err
			}
			src, release, err := openSource(e, args[0])
			if err != nil {
				return err
			}
			defer release()
			progress := !c.quiet && isTerminal(e.stderr)
			if cl != nil {
				return importRemote(ctx, e, cl, src, progress)
			}
			bk, err := e.books(ctx)
			if err != nil {
				return err
			}
			return importJournal(ctx, e, bk, src, c.as, progress, nil)
		},
	}
}

// importJournal imports a file: a journal (plain lines), recorded as the
// importing principal under the same checks as every entry, or an export
// (sealed lines), restored as it is into an empty ledger. A file never
// mixes the two: a restore must start from an empty ledger, and plain
// lines recorded first would make it non-empty.
//
// It reads the file twice and holds neither pass in memory: the first
// checks every line, as if the ones before it were appended, and appends
// nothing; only when no line has a problem does the second read the file
// again and append, in batches. Between the passes it keeps the state the
// checks need (each organisation's, each stream's chain tip, the ids seen)
// and a digest of each line, so the second pass stops before appending a
// line that is not the one checked. setClock, when not nil, is called with
// each plain line's instant before the batch that holds it is appended
// (the demo's simulated clock); a batch then holds lines of one instant.
func importJournal(ctx context.Context, e *env, bk *books.Books, src importSource, by string, progress bool, setClock func(time.Time)) error {
	start := time.Now()
	seed := maphash.MakeSeed()
	pr := newProgress(e, progress)
	endsAt, err := planOrgs(ctx, src, seed)
	if err != nil {
		return err
	}
	c := &importCheck{bk: bk, by: by, bad: newLineProblems(), endsAt: endsAt}
	err = scan(ctx, src, seed, parseStrict, func(items []journalItem) error {
		for i := range items {
			if err := c.item(ctx, &items[i]); err != nil {
				return err
			}
		}
		pr.report("检查 / checking", len(c.sums), 0)
		return nil
	})
	if err == nil {
		err = c.end()
	}
	if err != nil {
		return err
	}
	if c.bad.count() > 0 {
		pr.done()
		c.bad.print(e.stderr)
		return exitError{code: 1, err: fmt.Errorf("%d bad line(s); nothing imported", c.bad.count())}
	}
	a := &importAppend{bk: bk, by: by, sums: c.sums, rs: c.rs, setClock: setClock, endsAt: endsAt}
	err = scan(ctx, src, seed, parseAgain, func(items []journalItem) error {
		for i := range items {
			if err := a.item(ctx, &items[i]); err != nil {
				return err
			}
		}
		pr.report("导入 / importing", a.next, len(c.sums))
		return nil
	})
	if err == nil {
		err = a.end(ctx)
	}
	pr.done()
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "导入完成 / imported: %d 个新事件 new, %d 个已存在 already recorded, %d 行 lines, %.1fs\n",
		a.written, a.dups, len(c.sums), time.Since(start).Seconds())
	return nil
}

// planOrgs reads an import's input quickly (the organisation of each
// plain line, leniently: a line that the check refuses is never appended)
// for the line where each organisation's lines end, so that the passes
// after it let go of an organisation's state after its last line
// (books.DryRun.Forget, books.Books.Forget): an import then holds the
// state of the organisations in progress, not of all it has seen.
func planOrgs(ctx context.Context, src importSource, seed maphash.Seed) (map[int]string, error) {
	last := map[string]int{}
	err := scan(ctx, src, seed, parseOrgs, func(items []journalItem) error {
		for i := range items {
			if it := &items[i]; it.problem == nil && it.sealed == nil && it.entry.Org != "" {
				last[it.entry.Org] = it.line
			}
		}
		return nil
	})
	endsAt := make(map[int]string, len(last))
	for org, line := range last {
		endsAt[line] = org
	}
	return endsAt, err
}

// importCheck is the first pass of an import: every line checked, nothing
// appended.
type importCheck struct {
	bk     *books.Books
	by     string
	bad    *lineProblems
	endsAt map[int]string // the organisation whose last line each is

	sums   []uint64 // each line's digest, in order
	kind   bool     // the first line that parses decided sealed
	sealed bool     // the file is an export (its first line that parses is sealed)
	mixed  bool     // a line of the other kind was reported
	dry    *books.DryRun
	ids    map[uuid.UUID]int // plain lines: each id's first line
	rs     *ledger.Restoring
}

func (c *importCheck) item(ctx context.Context, it *journalItem) error {
	err := c.check(ctx, it)
	if org, ok := c.endsAt[it.line]; ok && c.dry != nil {
		c.dry.Forget(org)
	}
	return err
}

func (c *importCheck) check(ctx context.Context, it *journalItem) error {
	c.sums = append(c.sums, it.sum)
	if it.problem != nil {
		c.bad.add(it.line, it.problem)
		return nil
	}
	if !c.kind {
		c.kind, c.sealed = true, it.sealed != nil
	}
	if (it.sealed != nil) != c.sealed {
		if !c.mixed {
			what := "a sealed line (an export) in a file of plain journal lines"
			if it.sealed == nil {
				what = "a plain journal line in a file of sealed lines (an export)"
			}
			c.bad.add(it.line, fmt.Errorf("%s: restore the export on its own into an empty ledger, then import the journal", what))
			c.mixed = true
		}
		return nil
	}
	if c.sealed {
		if c.rs == nil {
			rs, err := c.bk.BeginRestore(ctx)
			if err != nil {
				return err
			}
			c.rs = rs
		}
		problems, err := c.rs.Check(ctx, it.line, it.sealed)
		if err != nil {
			return err
		}
		for _, p := range problems {
			c.bad.add(p.Index, &domain.FieldError{Field: p.Field, Reason: p.Reason})
		}
		return nil
	}
	if c.dry == nil {
		c.dry, c.ids = c.bk.DryRun(ctx, domain.LocalAdmin(c.by)), map[uuid.UUID]int{}
	}
	if id, err := uuid.Parse(it.entry.ID); err == nil {
		if first, ok := c.ids[id]; ok {
			c.bad.add(it.line, &domain.FieldError{Field: "id", Reason: fmt.Sprintf("%s is on line %d too: an id names one event", id, first)})
			return nil
		}
		c.ids[id] = it.line
	}
	_, err := c.dry.Check(ctx, &it.entry)
	switch {
	case errors.Is(err, books.ErrForgotten):
		return fmt.Errorf("line %d: the file changed during the import (a line of %s after what was its last): nothing imported", it.line, it.entry.Org)
	case err != nil:
		c.bad.add(it.line, err)
	}
	return nil
}

// end ends the first pass, and lets go of what the second does not need.
func (c *importCheck) end() error {
	if c.rs != nil {
		for _, p := range c.rs.EndCheck() {
			c.bad.add(p.Index, &domain.FieldError{Field: p.Field, Reason: p.Reason})
		}
	}
	c.dry, c.ids = nil, nil
	return nil
}

// importAppend is the second pass of an import: the lines the first pass
// checked, appended in batches.
type importAppend struct {
	bk       *books.Books
	by       string
	sums     []uint64
	rs       *ledger.Restoring // an export's restore, checked
	setClock func(time.Time)
	endsAt   map[int]string // the organisation whose last line each is
	done     []string       // organisations whose last line is in batch

	next          int // items seen
	written, dups int
	batch         []domain.Entry
	first         int       // the line of batch[0]
	stream        string    // batch's stream
	at            time.Time // batch's instant
	lines         []int     // the lines of batch
}

func (a *importAppend) item(ctx context.Context, it *journalItem) error {
	if a.next >= len(a.sums) || it.sum != a.sums[a.next] {
		if err := a.flush(ctx); err != nil {
			return err
		}
		return fmt.Errorf("line %d is not the line checked (the file changed during the import); %d events imported before it: run the import again to complete it",
			it.line, a.written)
	}
	a.next++
	if it.problem != nil {
		if err := a.flush(ctx); err != nil {
			return err
		}
		return fmt.Errorf("line %d: %w (on reading it again; %d events imported before it: run the import again to complete it)", it.line, it.problem, a.written)
	}
	if (it.sealed != nil) != (a.rs != nil) {
		return fmt.Errorf("line %d is not the line checked (the file changed during the import): run the import again", it.line)
	}
	if it.sealed != nil {
		res, err := a.rs.Append(ctx, *it.sealed)
		a.count(res)
		return err
	}
	stream := streamOfItem(it)
	if len(a.batch) > 0 && (len(a.batch) >= importBatch || stream != a.stream || !it.at.Equal(a.at)) {
		if err := a.flush(ctx); err != nil {
			return err
		}
	}
	if len(a.batch) == 0 {
		a.stream, a.at = stream, it.at
	}
	a.batch = append(a.batch, it.entry)
	a.lines = append(a.lines, it.line)
	if org, ok := a.endsAt[it.line]; ok {
		a.done = append(a.done, org)
	}
	return nil
}

// flush records the batch of plain lines.
func (a *importAppend) flush(ctx context.Context) error {
	if len(a.batch) == 0 {
		return nil
	}
	if a.setClock != nil {
		a.setClock(a.at)
	}
	res, err := a.bk.Record(ctx, a.batch, a.by, books.RecordOptions{})
	if err != nil {
		line := a.lines[0]
		var ee *books.EntryError
		if errors.As(err, &ee) {
			line = a.lines[ee.Index]
			err = ee.Err
		}
		return fmt.Errorf("line %d: %w (%d events imported before it; run the import again to complete it)", line, err, a.written)
	}
	a.count(res)
	clear(a.batch)
	a.batch, a.lines = a.batch[:0], a.lines[:0]
	for _, org := range a.done {
		a.bk.Forget(org)
	}
	a.done = a.done[:0]
	return nil
}

func (a *importAppend) end(ctx context.Context) error {
	if a.rs != nil {
		res, err := a.rs.Flush(ctx)
		a.count(res)
		if err != nil {
			return err
		}
	} else if err := a.flush(ctx); err != nil {
		return err
	}
	if a.next != len(a.sums) {
		return fmt.Errorf("the file has %d lines where %d were checked (it changed during the import); %d events imported: run the import again to complete it",
			a.next, len(a.sums), a.written)
	}
	return nil
}

// count counts the events an append wrote and those it found already
// recorded.
func (a *importAppend) count(res []ledger.Result) {
	for _, r := range res {
		if r.Duplicate {
			a.dups++
		} else {
			a.written++
		}
	}
}

func streamOfItem(it *journalItem) string {
	s, _ := books.StreamOf(&it.entry)
	return s
}

// progress writes "what done/total 行…" to a terminal, at most five times a
// second.
type progress struct {
	w     io.Writer
	on    bool
	last  time.Time
	dirty bool
}

func newProgress(e *env, on bool) *progress { return &progress{w: e.stderr, on: on} }

func (p *progress) report(what string, done, total int) {
	if !p.on || time.Since(p.last) < 200*time.Millisecond {
		return
	}
	p.last = time.Now()
	if total > 0 {
		fmt.Fprintf(p.w, "\r%s %d/%d 行…", what, done, total)
	} else {
		fmt.Fprintf(p.w, "\r%s %d 行…", what, done)
	}
	p.dirty = true
}

// done ends the progress line.
func (p *progress) done() {
	if p.dirty {
		fmt.Fprintln(p.w)
		p.dirty = false
	}
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// importRemote imports plain journal lines through the API of the server
// --server names, in two passes like a local import: the first checks
// what can be checked here (each line parses, is an organisation's, uses
// an id once), the second sends consecutive lines of one organisation as
// one batch of at most ledger.MaxBatchEvents, each batch all or nothing; a
// failed batch stops the import (the batches before it stay recorded;
// lines carry ids, so running the import again completes it). Exports
// (sealed lines) are restored only into an empty ledger, never through a
// server.
func importRemote(ctx context.Context, e *env, cl *apiClient, src importSource, progress bool) error {
	start := time.Now()
	seed := maphash.MakeSeed()
	pr := newProgress(e, progress)
	bad := newLineProblems()
	var sums []uint64
	ids := map[uuid.UUID]int{}
	err := scan(ctx, src, seed, parseStrict, func(items []journalItem) error {
		for i := range items {
			it := &items[i]
			sums = append(sums, it.sum)
			switch {
			case it.problem != nil:
				bad.add(it.line, it.problem)
			case it.sealed != nil:
				bad.add(it.line, errors.New("a sealed line (an export) cannot be imported through --server: restore an export into an empty data directory"))
			case it.entry.Org == "":
				bad.add(it.line, errNotOrgEvent)
			default:
				if id, err := uuid.Parse(it.entry.ID); err == nil {
					if first, ok := ids[id]; ok {
						bad.add(it.line, &domain.FieldError{Field: "id", Reason: fmt.Sprintf("%s is on line %d too: an id names one event", id, first)})
						continue
					}
					ids[id] = it.line
				}
				if _, err := apiLine(&it.entry); err != nil {
					bad.add(it.line, err)
				}
			}
		}
		pr.report("检查 / checking", len(sums), 0)
		return nil
	})
	if err != nil {
		return err
	}
	ids = nil
	if bad.count() > 0 {
		pr.done()
		bad.print(e.stderr)
		return exitError{code: 1, err: fmt.Errorf("%d bad line(s); nothing imported", bad.count())}
	}
	var written, dups, next, size int
	var org string
	var lines []json.RawMessage
	var first, last int // the lines of the batch
	send := func() error {
		if len(lines) == 0 {
			return nil
		}
		res, err := cl.appendLines(ctx, org, lines)
		var re *remoteError
		if errors.As(err, &re) {
			pr.done()
			re.print(e.stderr, fmt.Sprintf("lines %d-%d: ", first, last))
			return exitError{code: 1, err: fmt.Errorf("lines %d-%d refused by the server (%d events imported before them; run the import again to complete it)", first, last, written)}
		}
		if err != nil {
			return fmt.Errorf("lines %d-%d: %w (%d events imported before them; run the import again to complete it)", first, last, err, written)
		}
		for _, r := range res {
			if r.Duplicate {
				dups++
			} else {
				written++
			}
		}
		lines, size = lines[:0], 0
		return nil
	}
	err = scan(ctx, src, seed, parseAgain, func(items []journalItem) error {
		for i := range items {
			it := &items[i]
			if next >= len(sums) || it.sum != sums[next] {
				if err := send(); err != nil {
					return err
				}
				return fmt.Errorf("line %d is not the line checked (the file changed during the import); %d events imported before it: run the import again to complete it", it.line, written)
			}
			next++
			if it.problem != nil {
				if err := send(); err != nil {
					return err
				}
				return fmt.Errorf("line %d: %w (on reading it again; %d events imported before it: run the import again to complete it)", it.line, it.problem, written)
			}
			l, err := apiLine(&it.entry)
			if err != nil {
				return fmt.Errorf("line %d: %w", it.line, err)
			}
			if len(lines) > 0 && (len(lines) >= ledger.MaxBatchEvents || it.entry.Org != org || size+len(l) > remoteBatchBytes) {
				if err := send(); err != nil {
					return err
				}
			}
			if len(lines) == 0 {
				org, first = it.entry.Org, it.line
			}
			lines, size, last = append(lines, l), size+len(l), it.line
		}
		pr.report("导入 / importing", next, len(sums))
		return nil
	})
	if err == nil {
		err = send()
	}
	pr.done()
	if err != nil {
		return err
	}
	if next != len(sums) {
		return fmt.Errorf("the file has %d lines where %d were checked (it changed during the import); %d events imported: run the import again to complete it", next, len(sums), written)
	}
	fmt.Fprintf(e.stdout, "导入完成 / imported: %d 个新事件 new, %d 个已存在 already recorded, %d 行 lines, %.1fs\n",
		written, dups, len(sums), time.Since(start).Seconds())
	return nil
}
