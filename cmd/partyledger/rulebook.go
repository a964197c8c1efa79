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
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"partyledger/domain"
	"partyledger/ledger"
	"partyledger/ledger/books"
)

// runRulebook dispatches the rulebook subcommands.
func runRulebook(ctx context.Context, e *env, args []string) error {
	sub, rest := "", args
	for i, a := range args {
		if !strings.HasPrefix(a, "-") && (i == 0 || !isValueFlag(args[i-1])) {
			sub, rest = a, append(append([]string(nil), args[:i]...), args[i+1:]...)
			break
		}
	}
	switch sub {
	case "publish":
		return runRulebookPublish(ctx, e, rest)
	case "list":
		return runRulebookList(ctx, e, rest)
	case "show":
		return runRulebookShow(ctx, e, rest)
	case "diff":
		return runRulebookDiff(ctx, e, rest)
	}
	fmt.Fprintln(e.stderr, `用法 / usage:
  partyledger rulebook publish FILE --reason "…"   发布细则新版本（先校验，有误则逐条列出、不写入）
  partyledger rulebook list [--year Y] [--json]    列出某年度的细则版本
  partyledger rulebook show VERSION [--canonical]  输出细则文件（JSON，即 publish 所用格式）
  partyledger rulebook diff A B [--json]           逐项比较两个版本`)
	if sub == "" || sub == "help" || sub == "-h" {
		return exitError{code: 2, quiet: true}
	}
	return usageError("unknown rulebook command %q", sub)
}

// isValueFlag reports a global flag that takes the next argument as its value.
func isValueFlag(a string) bool {
	switch a {
	case "--data", "-data", "--store", "-store", "--year", "-year", "--reason", "-reason", "--as", "-as":
		return true
	}
	return false
}

// yearOf returns the year given, or the one a version starts with
// ("2016.2" → 2016).
func yearOf(year int, version string) (int, error) {
	if year != 0 {
		return year, nil
	}
	if len(version) >= 4 {
		if y, err := strconv.Atoi(version[:4]); err == nil && y >= domain.DateMin.Year && y <= domain.DateMax.Year &&
			(len(version) == 4 || version[4] < '0' || version[4] > '9') {
			return y, nil
		}
	}
	return 0, usageError("cannot tell the year of version %q: give --year", version)
}

func runRulebookPublish(ctx context.Context, e *env, args []string) error {
	var g globals
	fs := newFlagSet(e, "rulebook publish", `rulebook publish FILE|- --reason "…" [--as WHO]`)
	g.register(fs, e)
	reason := fs.String("reason", "", "why this version is published (required), e.g. the correction it makes")
	by := fs.String("as", "cli", "recorded_by")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		fs.Usage()
		return usageError("rulebook publish takes one FILE (or - for standard input)")
	}
	if strings.TrimSpace(*reason) == "" {
		return usageError("--reason is required: say what the new version corrects")
	}
	name := pos[0]
	var src []byte
	if name == "-" {
		name = "stdin"
		src, err = io.ReadAll(io.LimitReader(e.stdin, domain.MaxRulebookBytes+1))
	} else {
		src, err = readLimited(name, domain.MaxRulebookBytes+1)
	}
	if err != nil {
		return err
	}
	rb, problems := parseRulebookFile(src)
	if len(problems) > 0 {
		for _, p := range problems {
			fmt.Fprintf(e.stderr, "%s:%s\n", name, p)
		}
		return exitError{code: 1, err: fmt.Errorf("%d 处问题，细则未发布 / %d problem(s); nothing published", len(problems), len(problems))}
	}
	bk, err := g.open(ctx, e)
	if err != nil {
		return err
	}
	defer bk.Close()
	before, err := bk.Rulebooks(ctx, rb.Year)
	if err != nil {
		return err
	}
	res, err := bk.PublishRulebook(ctx, rb, *reason, *by)
	var pe *books.RulebookPublishedError
	switch {
	case errors.As(err, &pe):
		return fmt.Errorf("细则版本 %q（%d 年度）已存在，更正须使用新的版本号 / version %q of %d is already published", pe.Version, pe.Year, pe.Version, pe.Year)
	case err != nil:
		if fes := domain.FieldErrors(err); len(fes) > 0 && fes[0].Field != "" {
			printFieldErrors(e.stderr, name+": ", err)
			return exitError{code: 1, err: errors.New("细则未发布 / nothing published")}
		}
		return err
	}
	if len(before) == 1 && before[0].Builtin {
		fmt.Fprintf(e.stdout, "内置细则 %s 已先行登记 / built-in %s recorded first\n", before[0].Rulebook.Version, before[0].Rulebook.Version)
	}
	fmt.Fprintf(e.stdout, "已发布细则 %s（%d 年度）/ published: sha256 %s, recorded_at %s, position %d\n",
		rb.Version, rb.Year, rb.SHA256(), res.RecordedAt.Format(ledger.RecordedAtLayout), res.Position)
	fmt.Fprintf(e.stdout, "知悉时点在此之后的评分均采用此版本；重算与更正等次：partyledger recompute --year %d --from 旧版本 --to %s，partyledger grade revise --year %d --reason …\n",
		rb.Year, rb.Version, rb.Year)
	return nil
}

func readLimited(name string, max int64) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, max))
}

// problem is a rulebook file problem at a line.
type problem struct {
	line  int
	col   int
	field string
	why   string
}

func (p problem) String() string {
	loc := strconv.Itoa(p.line)
	if p.col > 0 {
		loc += ":" + strconv.Itoa(p.col)
	}
	if p.field == "" {
		return fmt.Sprintf("%s: %s", loc, p.why)
	}
	return fmt.Sprintf("%s: %s: %s", loc, p.field, p.why)
}

// parseRulebookFile parses and validates a rulebook document, returning
// every problem with its line: malformed JSON, unknown fields and values
// of the wrong type (all of them, not only the first), then everything
// Validate finds.
func parseRulebookFile(src []byte) (*domain.Rulebook, []problem) {
	if len(src) > domain.MaxRulebookBytes {
		return nil, []problem{{line: 1, why: fmt.Sprintf("larger than %d bytes", domain.MaxRulebookBytes)}}
	}
	if !utf8.Valid(src) {
		off := 0
		for off < len(src) {
			r, n := utf8.DecodeRune(src[off:])
			if r == utf8.RuneError && n <= 1 {
				break
			}
			off += n
		}
		l, c := lineCol(src, off)
		return nil, []problem{{line: l, col: c, why: "invalid UTF-8"}}
	}
	w := &walker{src: src, lines: map[string]int{}, dec: json.NewDecoder(bytes.NewReader(src))}
	w.dec.UseNumber()
	if err := w.value("", reflect.TypeOf(domain.Rulebook{})); err != nil {
		var se *json.SyntaxError
		off := int(w.dec.InputOffset())
		if errors.As(err, &se) {
			off = int(se.Offset)
		}
		l, c := lineCol(src, off)
		return nil, []problem{{line: l, col: c, why: "malformed JSON: " + strings.TrimPrefix(err.Error(), "json: ")}}
	}
	if _, err := w.dec.Token(); !errors.Is(err, io.EOF) {
		l, c := lineCol(src, int(w.dec.InputOffset()))
		return nil, []problem{{line: l, col: c, why: "unexpected data after the rulebook"}}
	}
	out := w.problems
	var err error
	var rb *domain.Rulebook
	if len(out) == 0 {
		rb, err = domain.ParseRulebook(src)
	} else {
		// Unknown fields or wrong types: still report what Validate
		// finds in the rest, when the document decodes leniently.
		var lenient domain.Rulebook
		if json.Unmarshal(src, &lenient) == nil {
			err = lenient.Validate()
		}
	}
	for _, fe := range domain.FieldErrors(err) {
		out = append(out, problem{line: w.lineOf(fe.Field), field: fe.Field, why: fe.Reason})
	}
	if len(out) == 0 {
		return rb, nil
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].line < out[j].line })
	return nil, out
}

func lineCol(src []byte, off int) (int, int) {
	off = min(max(off, 0), len(src))
	line := bytes.Count(src[:off], []byte("\n")) + 1
	col := off - (bytes.LastIndexByte(src[:off], '\n') + 1) + 1
	return line, col
}

// walker reads a JSON document against the Go type it must decode into,
// noting the line of every path ("items[4].rules[1].need") and every
// unknown field or value of the wrong type.
type walker struct {
	src      []byte
	dec      *json.Decoder
	lines    map[string]int
	problems []problem
}

// here returns the line of the next token.
func (w *walker) here() int {
	off := int(w.dec.InputOffset())
	for off < len(w.src) && strings.IndexByte(" \t\r\n:,", w.src[off]) >= 0 {
		off++
	}
	l, _ := lineCol(w.src, off)
	return l
}

// lineOf returns the line of path, or of its nearest enclosing value that
// the document has (a missing field is reported where its object is).
func (w *walker) lineOf(path string) int {
	for {
		if l, ok := w.lines[path]; ok {
			return l
		}
		i := strings.LastIndexAny(path, ".[")
		if i <= 0 {
			return w.lines[""]
		}
		path = path[:i]
	}
}

var pointsType = reflect.TypeOf(domain.Points(0))

func jsonKind(t reflect.Type) string {
	if t == pointsType {
		return "a number with at most two decimals"
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int64, reflect.Int32:
		return "an integer"
	case reflect.Slice:
		return "an array"
	case reflect.Struct:
		return "an object"
	}
	return t.String()
}

func describe(tok json.Token) string {
	switch v := tok.(type) {
	case json.Delim:
		if v == '{' {
			return "an object"
		}
		return "an array"
	case string:
		return fmt.Sprintf("the string %q", v)
	case json.Number:
		return "the number " + v.String()
	case bool:
		return fmt.Sprintf("%v", v)
	case nil:
		return "null"
	}
	return fmt.Sprint(tok)
}

func (w *walker) bad(line int, path, why string) {
	w.problems = append(w.problems, problem{line: line, field: path, why: why})
}

// value reads one value at path that must fit type t.
func (w *walker) value(path string, t reflect.Type) error {
	line := w.here()
	if _, ok := w.lines[path]; !ok {
		w.lines[path] = line
	}
	tok, err := w.dec.Token()
	if err != nil {
		return err
	}
	if t.Kind() == reflect.Pointer {
		if tok == nil {
			return nil
		}
		t = t.Elem()
	}
	mismatch := func() error {
		w.bad(line, path, fmt.Sprintf("want %s, not %s", jsonKind(t), describe(tok)))
		if d, ok := tok.(json.Delim); ok {
			return w.skip(d)
		}
		return nil
	}
	switch v := tok.(type) {
	case json.Delim:
		switch {
		case v == '{' && t.Kind() == reflect.Struct:
			return w.object(path, t)
		case v == '[' && t.Kind() == reflect.Slice:
			for i := 0; w.dec.More(); i++ {
				if err := w.value(fmt.Sprintf("%s[%d]", path, i), t.Elem()); err != nil {
					return err
				}
			}
			_, err := w.dec.Token()
			return err
		}
		return mismatch()
	case string:
		if t.Kind() != reflect.String {
			return mismatch()
		}
	case bool:
		if t.Kind() != reflect.Bool {
			return mismatch()
		}
	case json.Number:
		switch {
		case t == pointsType:
			if _, err := domain.ParsePoints(v.String()); err != nil {
				w.bad(line, path, fmt.Sprintf("want a number with at most two decimals, not %s", v))
			}
		case t.Kind() == reflect.Int || t.Kind() == reflect.Int64 || t.Kind() == reflect.Int32:
			if _, err := strconv.ParseInt(v.String(), 10, 64); err != nil {
				w.bad(line, path, fmt.Sprintf("want an integer, not %s", v))
			}
		default:
			return mismatch()
		}
	case nil:
		if t.Kind() != reflect.Slice {
			return mismatch()
		}
	}
	return nil
}

func (w *walker) object(path string, t reflect.Type) error {
	fields := map[string]reflect.Type{}
	var names []string
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "" || name == "-" || !f.IsExported() {
			continue
		}
		fields[name] = f.Type
		names = append(names, name)
	}
	for w.dec.More() {
		line := w.here()
		tok, err := w.dec.Token()
		if err != nil {
			return err
		}
		key, _ := tok.(string)
		child := key
		if path != "" {
			child = path + "." + key
		}
		ft, ok := fields[key]
		if !ok {
			w.bad(line, child, "unknown field (fields here: "+strings.Join(names, ", ")+")")
			if err := w.skipValue(); err != nil {
				return err
			}
			continue
		}
		w.lines[child] = line
		if err := w.value(child, ft); err != nil {
			return err
		}
	}
	_, err := w.dec.Token()
	return err
}

func (w *walker) skipValue() error {
	tok, err := w.dec.Token()
	if err != nil {
		return err
	}
	if d, ok := tok.(json.Delim); ok {
		return w.skip(d)
	}
	return nil
}

// skip reads to the end of the object or array opened by d.
func (w *walker) skip(d json.Delim) error {
	if d != '{' && d != '[' {
		return nil
	}
	for depth := 1; depth > 0; {
		tok, err := w.dec.Token()
		if err != nil {
			return err
		}
		if d, ok := tok.(json.Delim); ok {
			if d == '{' || d == '[' {
				depth++
			} else {
				depth--
			}
		}
	}
	return nil
}

// plainRulebook encodes a rulebook in the field order of its types (the
// reading order of the shipped file); the canonical form sorts keys.
type plainRulebook domain.Rulebook

func runRulebookList(ctx context.Context, e *env, args []string) error {
	var g globals
	fs := newFlagSet(e, "rulebook list", "rulebook list [--year Y] [--json]")
	g.register(fs, e)
	year := fs.Int("year", 2016, "assessment year")
	asJSON := fs.Bool("json", false, "JSON")
	if _, err := parseFlags(fs, args); err != nil {
		return err
	}
	bk, err := g.open(ctx, e)
	if err != nil {
		return err
	}
	defer bk.Close()
	all, err := bk.Rulebooks(ctx, *year)
	if err != nil {
		return err
	}
	if len(all) == 0 {
		return fmt.Errorf("%d 年度没有细则 / no rulebook for %d", *year, *year)
	}
	now, err := bk.RulebookAt(ctx, *year, bk.Now(), "")
	if err != nil {
		return err
	}
	w := bufio.NewWriter(e.stdout)
	defer w.Flush()
	if *asJSON {
		type row struct {
			Year       int    `json:"year"`
			Version    string `json:"version"`
			Title      string `json:"title"`
			SHA256     string `json:"sha256"`
			Reason     string `json:"reason"`
			EventID    string `json:"event_id,omitempty"`
			RecordedAt string `json:"recorded_at,omitempty"`
			RecordedBy string `json:"recorded_by,omitempty"`
			Builtin    bool   `json:"builtin_unrecorded,omitempty"`
			InForce    bool   `json:"in_force"`
		}
		out := []row{}
		for _, p := range all {
			r := row{Year: *year, Version: p.Rulebook.Version, Title: p.Rulebook.Title, SHA256: p.Rulebook.SHA256(), Reason: p.Reason,
				EventID: p.EventID, RecordedBy: p.RecordedBy, Builtin: p.Builtin, InForce: p.Rulebook == now}
			if !p.Builtin {
				r.RecordedAt = p.RecordedAt.Format(ledger.RecordedAtLayout)
			}
			out = append(out, r)
		}
		return writeJSON(w, out)
	}
	var tb table
	tb.add("版本", "状态", "记录时间(UTC)", "记录人", "SHA-256", "原因")
	for _, p := range all {
		state, at := "已被取代", p.RecordedAt.UTC().Format("2006-01-02 15:04:05")
		if p.Rulebook == now {
			state = "现行"
		}
		if p.Builtin {
			state, at = "现行（内置，尚未登记）", "—"
		}
		tb.add(p.Rulebook.Version, state, at, orDash(p.RecordedBy), p.Rulebook.SHA256()[:16]+"…", p.Reason)
	}
	fmt.Fprintf(w, "%d 年度细则版本 / rulebook versions of %d\n\n", *year, *year)
	return tb.write(w)
}

func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}

// lookupRulebook finds a version of a year, with a clear error.
func lookupRulebook(ctx context.Context, bk *books.Books, year int, version string) (*domain.Rulebook, error) {
	rb, err := bk.RulebookAt(ctx, year, time.Time{}, version)
	if err == nil {
		return rb, nil
	}
	var have []string
	if all, lerr := bk.Rulebooks(ctx, year); lerr == nil {
		for _, p := range all {
			have = append(have, p.Rulebook.Version)
		}
	}
	return nil, fmt.Errorf("%d 年度没有细则版本 %q（现有：%s）/ no rulebook version %q for %d", year, version, strings.Join(have, "、"), version, year)
}

func runRulebookShow(ctx context.Context, e *env, args []string) error {
	var g globals
	fs := newFlagSet(e, "rulebook show", "rulebook show VERSION [--year Y] [--canonical]")
	g.register(fs, e)
	year := fs.Int("year", 0, "assessment year (default: the one the version starts with)")
	canonical := fs.Bool("canonical", false, "the canonical encoding (compact, sorted keys): its SHA-256 is the one scorecards name")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		fs.Usage()
		return usageError("rulebook show takes one VERSION")
	}
	y, err := yearOf(*year, pos[0])
	if err != nil {
		return err
	}
	bk, err := g.open(ctx, e)
	if err != nil {
		return err
	}
	defer bk.Close()
	rb, err := lookupRulebook(ctx, bk, y, pos[0])
	if err != nil {
		return err
	}
	if *canonical {
		b, err := rb.Canonical()
		if err != nil {
			return err
		}
		_, err = e.stdout.Write(b)
		return err
	}
	enc := json.NewEncoder(e.stdout)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode((*plainRulebook)(rb))
}

// diffAreaLabels are the Chinese names of rulebook change areas.
var diffAreaLabels = map[string]string{
	domain.DiffAreaDocument: "文件", domain.DiffAreaWeights: "权重", domain.DiffAreaTiers: "等次分数线",
	domain.DiffAreaDues: "党费", domain.DiffAreaSections: "部分", domain.DiffAreaItem: "项目",
	domain.DiffAreaValue: "分值", domain.DiffAreaRules: "规则", domain.DiffAreaFindings: "考核发现",
	domain.DiffAreaVetoes: "否决",
}

var diffOpLabels = map[string]string{domain.DiffChanged: "修改", domain.DiffAdded: "新增", domain.DiffRemoved: "删除"}

func runRulebookDiff(ctx context.Context, e *env, args []string) error {
	var g globals
	fs := newFlagSet(e, "rulebook diff", "rulebook diff A B [--year Y] [--json]")
	g.register(fs, e)
	year := fs.Int("year", 0, "assessment year (default: the one the versions start with)")
	asJSON := fs.Bool("json", false, "JSON")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 2 {
		fs.Usage()
		return usageError("rulebook diff takes two versions: A B")
	}
	y, err := yearOf(*year, pos[0])
	if err != nil {
		return err
	}
	bk, err := g.open(ctx, e)
	if err != nil {
		return err
	}
	defer bk.Close()
	a, err := lookupRulebook(ctx, bk, y, pos[0])
	if err != nil {
		return err
	}
	b, err := lookupRulebook(ctx, bk, y, pos[1])
	if err != nil {
		return err
	}
	d, err := domain.DiffRulebooks(a, b)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(e.stdout)
	defer w.Flush()
	if *asJSON {
		return writeJSON(w, d)
	}
	printRulebookDiff(w, d)
	return nil
}

func printRulebookDiff(w io.Writer, d *domain.RulebookDiff) {
	fmt.Fprintf(w, "细则 %s（sha256 %.12s…）→ %s（sha256 %.12s…）：%d 处变化", d.From.Version, d.From.SHA256,
		d.To.Version, d.To.SHA256, len(d.Changes))
	if codes := d.ItemCodes(); len(codes) > 0 {
		fmt.Fprintf(w, "，涉及项目 %s", strings.Join(codes, "、"))
	}
	fmt.Fprintln(w)
	if len(d.Changes) == 0 {
		fmt.Fprintln(w, "两个版本的内容相同（版本号除外）/ the documents are the same but for their versions")
		return
	}
	fmt.Fprintln(w)
	var tb table
	tb.add("项目", "类别", "变化", "位置", "原值", "新值")
	for _, c := range d.Changes {
		path := c.Path
		if c.Item != "" {
			path = strings.TrimPrefix(strings.TrimPrefix(path, "items["+c.Item+"]"), ".")
			if path == "" {
				path = "（整项）"
			}
		}
		tb.add(orDash(c.Item), diffAreaLabels[c.Area], diffOpLabels[c.Op], path, shortJSON(c.From), shortJSON(c.To))
	}
	tb.write(w)
}

// shortJSON renders a value for a table cell: strings unquoted, long
// values cut.
func shortJSON(raw json.RawMessage) string {
	if len(raw) == 0 {
		return "—"
	}
	s := string(raw)
	var str string
	if json.Unmarshal(raw, &str) == nil {
		s = str
	}
	if r := []rune(s); len(r) > 48 {
		s = string(r[:47]) + "…"
	}
	return s
}
