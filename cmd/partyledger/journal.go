package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"partyledger/domain"
	"partyledger/ledger"
	"partyledger/ledger/books"
)

// importBatch bounds the events of one append during import.
const importBatch = 500

// journalItem is one parsed import line: an entry to record, or (export
// form) a sealed event to restore as it is.
type journalItem struct {
	line   int
	entry  domain.Entry
	sealed *ledger.Event
}

func runImport(ctx context.Context, e *env, args []string) error {
	var g globals
	fs := newFlagSet(e, "import", "import FILE|- [--quiet]")
	g.register(fs, e)
	quiet := fs.Bool("quiet", false, "no progress output")
	by := fs.String("as", "import", "recorded_by for the imported events")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		fs.Usage()
		return usageError("import takes one FILE (or - for standard input)")
	}
	var in io.Reader = e.stdin
	if pos[0] != "-" {
		f, err := os.Open(pos[0])
		if err != nil {
			return err
		}
		defer f.Close()
		in = f
	}
	items, problems := parseJournal(in)
	bk, err := g.open(ctx, e)
	if err != nil {
		return err
	}
	defer bk.Close()
	return importItems(ctx, e, bk, items, problems, *by, !*quiet && isTerminal(e.stderr))
}

// lineProblems collects the problems of an import, by line.
type lineProblems map[int][]*domain.FieldError

func (lp lineProblems) add(line int, err error) {
	lp[line] = append(lp[line], domain.FieldErrors(err)...)
}

// print writes "line N: field: reason" for each problem, in line order.
func (lp lineProblems) print(w io.Writer) {
	lines := make([]int, 0, len(lp))
	for n := range lp {
		lines = append(lines, n)
	}
	sort.Ints(lines)
	for _, n := range lines {
		for _, fe := range lp[n] {
			field := fe.Field
			if field == "" {
				field = "line"
			}
			fmt.Fprintf(w, "line %d: %s: %s\n", n, field, fe.Reason)
		}
	}
}

// parseJournal reads every line, printing "line N: field: reason" for each
// problem. Lines without an id get a deterministic one, so importing the
// same file again writes nothing and an interrupted import can be re-run.
func parseJournal(in io.Reader) ([]journalItem, lineProblems) {
	r := bufio.NewReaderSize(in, 64<<10)
	var items []journalItem
	bad := lineProblems{}
	seen := map[string]int{}
	for n := 1; ; n++ {
		raw, err := readLine(r, domain.MaxLineBytes)
		if errors.Is(err, io.EOF) && len(raw) == 0 {
			break
		}
		if errors.Is(err, errLineTooLong) {
			bad.add(n, fmt.Errorf("longer than %d bytes", domain.MaxLineBytes))
			continue
		}
		if err != nil && !errors.Is(err, io.EOF) {
			bad.add(n, fmt.Errorf("read: %w", err))
			break
		}
		if len(bytes.TrimSpace(raw)) == 0 {
			continue
		}
		it, perr := parseItem(raw)
		if perr != nil {
			bad.add(n, perr)
			continue
		}
		it.line = n
		if it.sealed == nil && it.entry.ID == "" {
			data, _ := domain.CanonicalJSON(it.entry.Payload)
			key := it.entry.Org + "\x00" + it.entry.Type + "\x00" + it.entry.OccurredOn.String() + "\x00" + string(data)
			it.entry.ID = books.DerivedID("import\x00" + key + "\x00" + strconv.Itoa(seen[key])).String()
			seen[key]++
		}
		items = append(items, it)
	}
	return items, bad
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
	if !bytes.Contains(raw, []byte(`"hash"`)) {
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

// sealedOf rebuilds the envelope of an exported line.
func sealedOf(l *domain.JournalLine, ent *domain.Entry) (*ledger.Event, error) {
	var p domain.Problems
	id, err := uuid.Parse(l.ID)
	if err != nil {
		p.Add("id", "an exported line needs its event id")
	}
	if l.Stream == "" {
		p.Add("stream", "an exported line needs its stream")
	} else if want, err := books.StreamOf(ent); err == nil && want != l.Stream {
		p.Add("stream", fmt.Sprintf("%s belongs in %s", l.Type, want))
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

// importItems imports a parsed file: a journal (plain lines), recorded as
// the importing principal under the same checks as every entry, or an
// export (sealed lines), restored as it is into an empty ledger. A file
// never mixes the two: a restore must start from an empty ledger, and
// plain lines recorded first would make it non-empty.
func importItems(ctx context.Context, e *env, bk *books.Books, items []journalItem, bad lineProblems, by string, progress bool) error {
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
		written, dups, err = recordItems(ctx, bk, items, bad, by, report)
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
	var written, dups int
	for _, r := range res {
		if r.Duplicate {
			dups++
		} else {
			written++
		}
	}
	return written, dups, nil
}

// recordItems checks every plain item against the ledger's state (in
// file order, as if the earlier ones were appended) and, only when all
// pass, records them in batches.
func recordItems(ctx context.Context, bk *books.Books, items []journalItem, bad lineProblems, by string, report func(int, bool)) (int, int, error) {
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
		for j < len(items) && j-i < importBatch && !skip[j] && streamOfItem(&items[j]) == stream {
			j++
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
		for _, r := range res {
			if r.Duplicate {
				dups++
			} else {
				written++
			}
		}
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

// runRecord records one event given on the command line.
func runRecord(ctx context.Context, e *env, args []string) error {
	var g globals
	fs := newFlagSet(e, "record", `record --org CODE --type TYPE --occurred-on YYYY-MM-DD --data '{…}' [--id UUID] [--as WHO]`)
	g.register(fs, e)
	org := fs.String("org", "", "organisation code")
	typ := fs.String("type", "", "event type, e.g. StudySessionHeld")
	on := fs.String("occurred-on", "", "date it happened (YYYY-MM-DD, China Standard Time)")
	data := fs.String("data", "", "the event data as JSON")
	id := fs.String("id", "", "event id (UUID) for idempotency")
	by := fs.String("as", "cli", "recorded_by")
	if _, err := parseFlags(fs, args); err != nil {
		return err
	}
	line, err := json.Marshal(domain.JournalLine{ID: *id, Org: *org, Type: *typ, OccurredOn: *on, Data: json.RawMessage(*data)})
	if err != nil {
		return usageError("--data: not JSON: %v", err)
	}
	ent, err := domain.ParseJournalLine(line)
	if err != nil {
		printFieldErrors(e.stderr, "", err)
		return exitError{code: 1, quiet: true}
	}
	bk, err := g.open(ctx, e)
	if err != nil {
		return err
	}
	defer bk.Close()
	res, err := bk.Record(ctx, []domain.Entry{ent}, *by, books.RecordOptions{})
	if err != nil {
		var ee *books.EntryError
		if errors.As(err, &ee) {
			printFieldErrors(e.stderr, "", ee.Err)
			return exitError{code: 1, quiet: true}
		}
		return err
	}
	r := res[0]
	fmt.Fprintf(e.stdout, "id=%s revision=%d position=%d recorded_at=%s hash=%s duplicate=%v\n",
		r.ID, r.Revision, r.Position, r.RecordedAt.Format(ledger.RecordedAtLayout), r.Hash, r.Duplicate)
	return nil
}

func writeJSONLine(w *bufio.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// orgCodes remembers each org stream's code from its registration.
type orgCodes map[string]string // stream → code

func (c orgCodes) note(ev *ledger.Event) string {
	if ev.Type == domain.TypeOrganizationRegistered {
		var v struct {
			Code string `json:"code"`
		}
		if json.Unmarshal(ev.Data, &v) == nil {
			c[ev.Stream] = v.Code
		}
	}
	return c[ev.Stream]
}

func runExport(ctx context.Context, e *env, args []string) error {
	var g globals
	fs := newFlagSet(e, "export", "export (--org CODE | --all) [--year Y]  |  export --format xlsx|csv --year Y [--out FILE]")
	g.register(fs, e)
	org := fs.String("org", "", "organisation code")
	all := fs.Bool("all", false, "every stream of the ledger")
	year := fs.Int("year", 0, "only what a year needs: each stream up to its last event of the year")
	rf := registerReportFlags(fs)
	if _, err := parseFlags(fs, args); err != nil {
		return err
	}
	if rf.format != "" {
		return runReportExport(ctx, e, &g, rf, *year)
	}
	if (*org == "") == !*all {
		fs.Usage()
		return usageError("give --org CODE or --all")
	}
	bk, err := g.open(ctx, e)
	if err != nil {
		return err
	}
	defer bk.Close()
	var evs []ledger.Event
	var seq func(func(ledger.Event, error) bool)
	if *all {
		seq = bk.Events(ctx, 0)
	} else {
		seq = bk.ReadStream(ctx, books.OrgStream(*org), 0)
	}
	for ev, err := range seq {
		if errors.Is(err, ledger.ErrStreamNotFound) {
			return &domain.FieldError{Field: "org", Reason: fmt.Sprintf("organisation %q is not registered", *org)}
		}
		if err != nil {
			return err
		}
		evs = append(evs, ev)
	}
	if *year != 0 {
		evs = yearPrefixes(evs, *year)
	}
	w := bufio.NewWriter(e.stdout)
	codes := orgCodes{}
	for i := range evs {
		if err := writeJSONLine(w, books.ExportLine(&evs[i], codes.note(&evs[i]))); err != nil {
			return err
		}
	}
	return w.Flush()
}

// yearPrefixes keeps, of each stream, the prefix that ends with its last
// event belonging to year y — so the export still starts every chain at
// its beginning and imports into an empty ledger.
func yearPrefixes(evs []ledger.Event, y int) []ledger.Event {
	last := map[string]uint64{}
	for i := range evs {
		if books.BelongsToYear(&evs[i], y) {
			last[evs[i].Stream] = evs[i].Revision + 1
		}
	}
	out := evs[:0:0]
	for _, ev := range evs {
		if ev.Revision < last[ev.Stream] {
			out = append(out, ev)
		}
	}
	return out
}

func runReplay(ctx context.Context, e *env, args []string) error {
	var g globals
	fs := newFlagSet(e, "replay", "replay --org CODE [--year Y] [--json]")
	g.register(fs, e)
	org := fs.String("org", "", "organisation code")
	year := fs.Int("year", 0, "only events of this year (occurred in it, or assessing it)")
	asJSON := fs.Bool("json", false, "JSONL with every envelope field")
	if _, err := parseFlags(fs, args); err != nil {
		return err
	}
	if *org == "" {
		fs.Usage()
		return usageError("--org is required")
	}
	bk, err := g.open(ctx, e)
	if err != nil {
		return err
	}
	defer bk.Close()
	w := bufio.NewWriter(e.stdout)
	defer w.Flush()
	var tb table
	tb.add("版本", "记录时间(UTC)", "发生日期", "类型", "记录人", "摘要")
	retracted := map[string]string{}
	var evs []ledger.Event
	for ev, err := range bk.ReadStream(ctx, books.OrgStream(*org), 0) {
		if errors.Is(err, ledger.ErrStreamNotFound) {
			return &domain.FieldError{Field: "org", Reason: fmt.Sprintf("organisation %q is not registered", *org)}
		}
		if err != nil {
			return err
		}
		evs = append(evs, ev)
		if ev.Type == domain.TypeEventRetracted {
			var r domain.EventRetracted
			if json.Unmarshal(ev.Data, &r) == nil {
				retracted[r.EventID] = r.Reason
			}
		}
	}
	for i := range evs {
		ev := &evs[i]
		if *year != 0 && !books.BelongsToYear(ev, *year) {
			continue
		}
		if *asJSON {
			if err := writeJSONLine(w, books.ExportLine(ev, *org)); err != nil {
				return err
			}
			continue
		}
		summary := summarize(ev)
		if why, ok := retracted[ev.ID.String()]; ok {
			summary = "【已撤回：" + why + "】" + summary
		}
		tb.add(strconv.FormatUint(ev.Revision, 10), ev.RecordedAt.UTC().Format("2006-01-02 15:04:05"),
			ev.OccurredOn, domain.TypeLabel(ev.Type), ev.RecordedBy, summary)
	}
	if !*asJSON {
		return tb.write(w)
	}
	return nil
}

// summarize renders the interesting fields of an event's data on one line.
func summarize(ev *ledger.Event) string {
	var m map[string]any
	if err := json.Unmarshal(ev.Data, &m); err != nil {
		return string(ev.Data)
	}
	var parts []string
	for _, k := range sortedKeys(m) {
		v := m[k]
		switch x := v.(type) {
		case []any:
			parts = append(parts, fmt.Sprintf("%s=%d人", k, len(x)))
		case string:
			parts = append(parts, k+"="+x)
		default:
			b, _ := json.Marshal(x)
			parts = append(parts, k+"="+string(b))
		}
	}
	s := strings.Join(parts, " ")
	if r := []rune(s); len(r) > 80 {
		s = string(r[:80]) + "…"
	}
	return s
}

func runVerify(ctx context.Context, e *env, args []string) error {
	var g globals
	fs := newFlagSet(e, "verify", "verify")
	g.register(fs, e)
	if _, err := parseFlags(fs, args); err != nil {
		return err
	}
	bk, err := g.open(ctx, e)
	if err != nil {
		return err
	}
	defer bk.Close()
	start := time.Now()
	rep, err := bk.Verify(ctx)
	if err != nil {
		fmt.Fprintf(e.stdout, "校验失败 / verification FAILED after %d events: %v\n", rep.Events, err)
		return exitError{code: 1, quiet: true, err: err}
	}
	storage := "哈希链 / hash chains"
	if rep.StorageChecked {
		storage = "校验和与哈希链 / checksums and hash chains"
	}
	fmt.Fprintf(e.stdout, "校验通过 / OK: %d 个事件 events, %d 条流 streams, 末位置 last position %d; %s verified in %.2fs\n",
		rep.Events, rep.Streams, rep.LastPosition, storage, time.Since(start).Seconds())
	return nil
}
