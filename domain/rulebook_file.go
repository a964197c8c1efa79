package domain

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

// RulebookProblem is one problem of a rulebook document, where it is: Line
// and Col are 1-based (Col is 0 when only the line is known), Field is the
// JSON path ("items[20].rules[2].need"; empty for the document itself).
type RulebookProblem struct {
	Line   int
	Col    int
	Field  string
	Reason string
}

// Where is "LINE" or "LINE:COL".
func (p *RulebookProblem) Where() string {
	if p.Col > 0 {
		return strconv.Itoa(p.Line) + ":" + strconv.Itoa(p.Col)
	}
	return strconv.Itoa(p.Line)
}

func (p *RulebookProblem) Error() string {
	if p.Field == "" {
		return p.Where() + ": " + p.Reason
	}
	return p.Where() + ": " + p.Field + ": " + p.Reason
}

// RulebookFileError lists every problem of a rulebook document, in line
// order. To callers that know only field errors (errors.As,
// FieldErrors) it is one FieldError per problem whose reason begins with
// the place: "line 14: unknown field …".
type RulebookFileError struct {
	Problems []RulebookProblem
}

func (e *RulebookFileError) Error() string {
	parts := make([]string, len(e.Problems))
	for i := range e.Problems {
		parts[i] = e.Problems[i].Error()
	}
	return strings.Join(parts, "; ")
}

// Unwrap exposes the problems as field errors.
func (e *RulebookFileError) Unwrap() error {
	var p Problems
	for _, q := range e.Problems {
		where := "line " + strconv.Itoa(q.Line)
		if q.Col > 0 {
			where += ", column " + strconv.Itoa(q.Col)
		}
		p.Add(q.Field, where+": "+q.Reason)
	}
	return p.Err()
}

// ParseRulebookFile parses and validates a rulebook document as a person
// edits it, returning every problem with its line (and column where it is
// known) as a *RulebookFileError: invalid UTF-8 or malformed JSON (the
// first, with its column), unknown fields and values of the wrong type
// (all of them, not only the first), then everything Validate finds, each
// at the line of the field it names (or of the nearest enclosing value
// the document has). What it accepts ParseRulebook accepts too; it is
// stricter only in refusing keys that match a field name but for case.
func ParseRulebookFile(src []byte) (*Rulebook, error) {
	if len(src) > MaxRulebookBytes {
		return nil, fileErr(RulebookProblem{Line: 1, Reason: fmt.Sprintf("larger than %d bytes", MaxRulebookBytes)})
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
		return nil, fileErr(RulebookProblem{Line: l, Col: c, Reason: "invalid UTF-8"})
	}
	w := &walker{src: src, lines: map[string]int{}, dec: json.NewDecoder(bytes.NewReader(src))}
	w.dec.UseNumber()
	if err := w.value("", reflect.TypeOf(Rulebook{})); err != nil {
		var se *json.SyntaxError
		off := int(w.dec.InputOffset())
		if errors.As(err, &se) {
			off = int(se.Offset)
		}
		l, c := lineCol(src, off)
		return nil, fileErr(RulebookProblem{Line: l, Col: c, Reason: "malformed JSON: " + strings.TrimPrefix(err.Error(), "json: ")})
	}
	if _, err := w.dec.Token(); !errors.Is(err, io.EOF) {
		l, c := lineCol(src, int(w.dec.InputOffset()))
		return nil, fileErr(RulebookProblem{Line: l, Col: c, Reason: "unexpected data after the rulebook"})
	}
	out := w.problems
	var err error
	var rb *Rulebook
	if len(out) == 0 {
		rb, err = ParseRulebook(src)
	} else {
		// Unknown fields or wrong types: still report what Validate
		// finds in the rest, when the document decodes leniently.
		var lenient Rulebook
		if json.Unmarshal(src, &lenient) == nil {
			err = lenient.Validate()
		}
	}
	for _, fe := range FieldErrors(err) {
		out = append(out, RulebookProblem{Line: w.lineOf(fe.Field), Field: fe.Field, Reason: fe.Reason})
	}
	if len(out) == 0 {
		return rb, nil
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Line < out[j].Line })
	return nil, &RulebookFileError{Problems: out}
}

func fileErr(p RulebookProblem) error { return &RulebookFileError{Problems: []RulebookProblem{p}} }

// lineCol returns the 1-based line and column of byte offset off.
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
	problems []RulebookProblem
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
			if l, ok := w.lines[""]; ok {
				return l
			}
			return 1
		}
		path = path[:i]
	}
}

var pointsType = reflect.TypeOf(Points(0))

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
	w.problems = append(w.problems, RulebookProblem{Line: line, Field: path, Reason: why})
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
			if _, err := ParsePoints(v.String()); err != nil {
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
