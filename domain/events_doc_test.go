package domain_test

import (
	_ "embed"
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"partyledger/domain"
)

// eventsDoc is the catalog as its users read it.
//
//go:embed EVENTS.md
var eventsDoc string

// docExample is one example line of EVENTS.md.
type docExample struct {
	line int // 1-based line in EVENTS.md
	raw  string
	l    domain.JournalLine
}

// docExamples returns the lines of the ```jsonl blocks of EVENTS.md.
func docExamples(t *testing.T) []docExample {
	t.Helper()
	var out []docExample
	in := false
	for i, line := range strings.Split(eventsDoc, "\n") {
		switch {
		case strings.HasPrefix(line, "```jsonl"):
			in = true
		case strings.HasPrefix(line, "```"):
			in = false
		case in && strings.TrimSpace(line) != "":
			var l domain.JournalLine
			if err := json.Unmarshal([]byte(line), &l); err != nil {
				t.Fatalf("EVENTS.md:%d: not a journal line: %v", i+1, err)
			}
			out = append(out, docExample{line: i + 1, raw: line, l: l})
		}
	}
	if len(out) == 0 {
		t.Fatal("EVENTS.md has no example lines")
	}
	return out
}

// docTypeRows returns, by type, the table row of EVENTS.md whose first
// cell names it, and the headings that name a type.
func docTypeRows() map[string]string {
	rows := map[string]string{}
	name := regexp.MustCompile("`([A-Z][A-Za-z]+)`")
	for _, line := range strings.Split(eventsDoc, "\n") {
		var cell string
		switch {
		case strings.HasPrefix(line, "#"):
			cell = line
		case strings.HasPrefix(line, "| `"):
			cell, _, _ = strings.Cut(line[1:], "|")
		default:
			continue
		}
		for _, m := range name.FindAllStringSubmatch(cell, -1) {
			if _, seen := rows[m[1]]; !seen {
				rows[m[1]] = line
			}
		}
	}
	return rows
}

// TestEventsDocCoversCatalog fails when a type of the catalog is not
// documented in EVENTS.md: a heading or the first cell of a table row
// naming it as `Type`, and an example line of it.
func TestEventsDocCoversCatalog(t *testing.T) {
	rows := docTypeRows()
	examples := map[string]int{}
	for _, ex := range docExamples(t) {
		examples[ex.l.Type]++
	}
	for _, typ := range domain.Types() {
		t.Run(typ, func(t *testing.T) {
			if _, ok := rows[typ]; !ok {
				t.Errorf("EVENTS.md does not document `%s` (a heading or a table row)", typ)
			}
			if examples[typ] == 0 {
				t.Errorf("EVENTS.md has no example line of %s", typ)
			}
		})
	}
	// Every type the document names is in the catalog, or is marked as a
	// v2 type that the code does not know yet.
	for typ, row := range rows {
		if !domain.KnownType(typ) && !strings.Contains(row, "**v2**") {
			t.Errorf("EVENTS.md documents %s, which is not in the catalog and not marked v2: %s", typ, row)
		}
	}
}

// docAbbreviated are the types whose example is shortened in EVENTS.md
// (the rulebook document), so they are not valid lines.
var docAbbreviated = map[string]bool{domain.TypeRulebookPublished: true}

// TestEventsDocExamples checks every example line of EVENTS.md as import
// would: strictly, with every payload's validation.
func TestEventsDocExamples(t *testing.T) {
	rows := docTypeRows()
	for _, ex := range docExamples(t) {
		t.Run(ex.l.Type, func(t *testing.T) {
			if _, ok := rows[ex.l.Type]; !ok {
				t.Errorf("EVENTS.md:%d: an example of %s, which the document does not describe", ex.line, ex.l.Type)
			}
			if !domain.KnownType(ex.l.Type) {
				t.Fatalf("EVENTS.md:%d: an example of %s, which is not in the catalog", ex.line, ex.l.Type)
			}
			if docAbbreviated[ex.l.Type] {
				return
			}
			_, err := domain.ParseJournalLine([]byte(ex.raw))
			for _, fe := range domain.FieldErrors(err) {
				t.Errorf("EVENTS.md:%d: the example is refused: %v", ex.line, fe)
			}
		})
	}
}

// summaries renders every example of EVENTS.md, learning member names
// as a journal read in order would.
func summaries(t *testing.T) map[string][]string {
	t.Helper()
	names := domain.NewMemberNames()
	exs := docExamples(t)
	for _, ex := range exs {
		names.Learn(ex.l.Org, ex.l.Type, ex.l.Data)
	}
	out := map[string][]string{}
	for _, ex := range exs {
		out[ex.l.Type] = append(out[ex.l.Type], domain.Summary(ex.l.Type, ex.l.Data, names.Of(ex.l.Org)))
	}
	return out
}

// asciiWord finds field-name-like words: lower-case ASCII letters joined
// by underscores, as JSON keys are.
var asciiWord = regexp.MustCompile(`[a-z]+(_[a-z]+)*`)

// TestSummaryCoversCatalog renders the example of every type of the
// catalog (and the v2 types EVENTS.md documents) and checks that it says
// something in Chinese without any of the payload's JSON field names.
func TestSummaryCoversCatalog(t *testing.T) {
	got := summaries(t)
	for _, ex := range docExamples(t) {
		t.Run(ex.l.Type, func(t *testing.T) {
			var data map[string]json.RawMessage
			if err := json.Unmarshal(ex.l.Data, &data); err != nil {
				t.Fatal(err)
			}
			for _, s := range got[ex.l.Type] {
				if s == "" || s == "—" || !strings.ContainsFunc(s, func(r rune) bool { return r >= 0x4e00 && r <= 0x9fff }) {
					t.Errorf("summary %q says nothing in Chinese", s)
				}
				if strings.ContainsAny(s, "{}\"") {
					t.Errorf("summary %q shows JSON", s)
				}
				for _, w := range asciiWord.FindAllString(s, -1) {
					if _, isKey := data[w]; isKey {
						t.Errorf("summary %q shows the field name %q", s, w)
					}
				}
			}
		})
	}
	for _, typ := range domain.Types() {
		if len(got[typ]) == 0 {
			t.Errorf("%s: no example to render", typ)
		}
	}
}

// TestSummaryDocTable checks the table "How a journal reads in Chinese"
// of EVENTS.md against Summary on the document's own examples.
func TestSummaryDocTable(t *testing.T) {
	got := summaries(t)
	_, after, ok := strings.Cut(eventsDoc, "## How a journal reads in Chinese")
	if !ok {
		t.Fatal("EVENTS.md lacks the section on Chinese content")
	}
	section, _, _ := strings.Cut(after, "\n## ")
	row := regexp.MustCompile("(?m)^\\| `([A-Za-z]+)` \\| `([^`]+)` \\|$")
	n := 0
	for _, m := range row.FindAllStringSubmatch(section, -1) {
		n++
		if len(got[m[1]]) == 0 || got[m[1]][0] != m[2] {
			t.Errorf("EVENTS.md shows %s as %q; Summary gives %q", m[1], m[2], got[m[1]])
		}
	}
	if n == 0 {
		t.Fatal("no rows in the table of Chinese content")
	}
}
