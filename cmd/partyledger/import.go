package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"partyledger/domain"
	"partyledger/ledger"
	"partyledger/ledger/books"
)

// importBatch bounds the events of one append during import.
const importBatch = 500

func importCommand() *command {
	var c struct {
		quiet bool
		as    string
	}
	return &command{
		name:     "import",
		args:     "FILE|- [--quiet] [--as WHO]",
		short:    "导入 JSONL 台账（或恢复导出文件）/ import a JSONL journal (or restore an export)",
		nargs:    1,
		operands: "one FILE (or - for standard input)",
		flags: func(fs *flag.FlagSet) {
			fs.BoolVar(&c.quiet, "quiet", false, "no progress output")
			fs.StringVar(&c.as, "as", "import", "recorded_by for the imported events")
		},
		run: func(ctx context.Context, e *env, args []string) error {
			var in io.Reader = e.stdin
			if args[0] != "-" {
				f, err := os.Open(args[0])
				if err != nil {
					return err
				}
				defer f.Close() // read only: nothing to lose on close
				in = f
			}
			items, problems := parseJournal(in)
			cl, err := e.remote()
			if err != nil {
				return err
			}
			if cl != nil {
				return importRemote(ctx, e, cl, items, problems)
			}
			bk, err := e.books(ctx)
			if err != nil {
				return err
			}
			return importItems(ctx, e, bk, items, problems, c.as, !c.quiet && isTerminal(e.stderr), nil)
		},
	}
}

// importItems imports a parsed file: a journal (plain lines), recorded as
// the importing principal under the same checks as every entry, or an
// export (sealed lines), restored as it is into an empty ledger. A file
// never mixes the two: a restore must start from an empty ledger, and
// plain lines recorded first would make it non-empty. clk, when not nil,
// says when each plain item is recorded (the demo's simulated clock).
func importItems(ctx context.Context, e *env, bk *books.Books, items []journalItem, bad lineProblems, by string, progress bool, clk *itemClock) error {
	start := time.Now()
	report := func(done int, final bool) {
		if progress {
			fmt.Fprintf(e.stderr, "\r导入 %d/%d 行…", done, len(items))
			if final {
				fmt.Fprintln(e.stderr)
			}
		}
	}
	var written, dups int
	var err error
	switch {
	case !oneKind(items, bad):
	case len(items) > 0 && items[0].sealed != nil:
		written, dups, err = restoreItems(ctx, bk, items, bad, report)
	default:
		written, dups, err = recordItems(ctx, bk, items, bad, by, report, clk)
	}
	if err != nil {
		return err
	}
	if len(bad) > 0 {
		bad.print(e.stderr)
		return exitError{code: 1, err: fmt.Errorf("%d bad line(s); nothing imported", len(bad))}
	}
	report(len(items), true)
	fmt.Fprintf(e.stdout, "导入完成 / imported: %d 个新事件 new, %d 个已存在 already recorded, %d 行 lines, %.1fs\n",
		written, dups, len(items), time.Since(start).Seconds())
	return nil
}

// oneKind reports whether the items are all plain or all sealed, adding a
// problem at the first line of the other kind when they are not.
func oneKind(items []journalItem, bad lineProblems) bool {
	for _, it := range items[min(1, len(items)):] {
		if (it.sealed == nil) != (items[0].sealed == nil) {
			what := "a sealed line (an export) in a file of plain journal lines"
			if it.sealed == nil {
				what = "a plain journal line in a file of sealed lines (an export)"
			}
			bad.add(it.line, fmt.Errorf("%s: restore the export on its own into an empty ledger, then import the journal", what))
			return false
		}
	}
	return true
}

// restoreItems restores an export through ledger.Ledger.Restore, which
// decides whether its lines may enter (each problem becomes its line's).
func restoreItems(ctx context.Context, bk *books.Books, items []journalItem, bad lineProblems, report func(int, bool)) (int, int, error) {
	if len(bad) > 0 {
		return 0, 0, nil
	}
	evs := make([]ledger.Event, len(items))
	for i := range items {
		evs[i] = *items[i].sealed
	}
	res, err := bk.Restore(ctx, evs, ledger.RestoreOptions{Progress: func(done int) { report(done, false) }})
	var re *ledger.RestoreError
	if errors.As(err, &re) {
		for _, p := range re.Problems {
			bad.add(items[p.Index].line, &domain.FieldError{Field: p.Field, Reason: p.Reason})
		}
		return 0, 0, nil
	}
	if err != nil {
		return 0, 0, err
	}
	written, dups := countResults(res)
	return written, dups, nil
}

// countResults counts the events an append wrote and those it found
// already recorded.
func countResults(res []ledger.Result) (written, dups int) {
	for _, r := range res {
		if r.Duplicate {
			dups++
		} else {
			written++
		}
	}
	return written, dups
}

// itemClock drives the ledger's clock through an import: at[i] is when
// items[i] is recorded, set before the batch that holds it is appended.
type itemClock struct {
	at  []time.Time
	set func(time.Time)
}

// recordItems checks every plain item against the ledger's state (in
// file order, as if the earlier ones were appended) and, only when all
// pass, records them in batches. With clk, a batch holds only items of
// one instant, and the clock is set to it first.
func recordItems(ctx context.Context, bk *books.Books, items []journalItem, bad lineProblems, by string, report func(int, bool), clk *itemClock) (int, int, error) {
	entries := make([]domain.Entry, len(items))
	for i := range items {
		entries[i] = items[i].entry
	}
	outcomes, errs := bk.Check(ctx, entries, by)
	for _, err := range errs {
		var ee *books.EntryError
		if !errors.As(err, &ee) {
			return 0, 0, err
		}
		bad.add(items[ee.Index].line, ee.Err)
	}
	if len(bad) > 0 {
		return 0, 0, nil
	}
	skip := map[int]bool{}
	for k, o := range outcomes {
		if o == books.OutcomeDuplicate {
			skip[k] = true
		}
	}
	written, dups := 0, len(skip)
	lastReport := time.Now()
	for i := 0; i < len(items); {
		if skip[i] {
			i++
			continue
		}
		// A batch: consecutive items of one stream.
		j := i + 1
		stream := streamOfItem(&items[i])
		for j < len(items) && j-i < importBatch && !skip[j] && streamOfItem(&items[j]) == stream &&
			(clk == nil || clk.at[j].Equal(clk.at[i])) {
			j++
		}
		if clk != nil {
			clk.set(clk.at[i])
		}
		batch := make([]domain.Entry, 0, j-i)
		for k := i; k < j; k++ {
			batch = append(batch, items[k].entry)
		}
		res, err := bk.Record(ctx, batch, by, books.RecordOptions{})
		if err != nil {
			line := items[i].line
			var ee *books.EntryError
			if errors.As(err, &ee) {
				line = items[i+ee.Index].line
				err = ee.Err
			}
			return 0, 0, fmt.Errorf("line %d: %w (%d events imported before it; run the import again to complete it)", line, err, written)
		}
		w, d := countResults(res)
		written, dups = written+w, dups+d
		i = j
		if time.Since(lastReport) > 200*time.Millisecond {
			report(i, false)
			lastReport = time.Now()
		}
	}
	return written, dups, nil
}

func streamOfItem(it *journalItem) string {
	s, _ := books.StreamOf(&it.entry)
	return s
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
// --server names: consecutive lines of one organisation go as one batch
// of at most ledger.MaxBatchEvents, each batch all or nothing; a failed
// batch stops the import (the batches before it stay recorded; lines
// carry ids, so running the import again completes it). Exports (sealed
// lines) are restored only into an empty ledger, never through a server.
func importRemote(ctx context.Context, e *env, cl *apiClient, items []journalItem, bad lineProblems) error {
	start := time.Now()
	for _, it := range items {
		switch {
		case it.sealed != nil:
			bad.add(it.line, errors.New("a sealed line (an export) cannot be imported through --server: restore an export into an empty data directory"))
		case it.entry.Org == "":
			bad.add(it.line, errNotOrgEvent)
		}
	}
	if len(bad) > 0 {
		bad.print(e.stderr)
		return exitError{code: 1, err: fmt.Errorf("%d bad line(s); nothing imported", len(bad))}
	}
	var written, dups int
	for i := 0; i < len(items); {
		j := i + 1
		for j < len(items) && j-i < ledger.MaxBatchEvents && items[j].entry.Org == items[i].entry.Org {
			j++
		}
		lines := make([]json.RawMessage, 0, j-i)
		for k := i; k < j; k++ {
			l, err := apiLine(&items[k].entry)
			if err != nil {
				return fmt.Errorf("line %d: %w", items[k].line, err)
			}
			lines = append(lines, l)
		}
		res, err := cl.appendLines(ctx, items[i].entry.Org, lines)
		var re *remoteError
		if errors.As(err, &re) {
			re.print(e.stderr, fmt.Sprintf("lines %d-%d: ", items[i].line, items[j-1].line))
			return exitError{code: 1, err: fmt.Errorf("lines %d-%d refused by the server (%d events imported before them; run the import again to complete it)", items[i].line, items[j-1].line, written)}
		}
		if err != nil {
			return fmt.Errorf("lines %d-%d: %w (%d events imported before them; run the import again to complete it)", items[i].line, items[j-1].line, err, written)
		}
		for _, r := range res {
			if r.Duplicate {
				dups++
			} else {
				written++
			}
		}
		i = j
	}
	fmt.Fprintf(e.stdout, "导入完成 / imported: %d 个新事件 new, %d 个已存在 already recorded, %d 行 lines, %.1fs\n",
		written, dups, len(items), time.Since(start).Seconds())
	return nil
}
