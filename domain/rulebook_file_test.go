package domain_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"partyledger/domain"
)

// shippedLines is the built-in rulebook as an editor shows it: indented,
// one field per line.
func shippedLines(t testing.TB, edit func(doc map[string]any)) string {
	t.Helper()
	var doc map[string]any
	if err := json.Unmarshal(domain.Builtin2016JSON(), &doc); err != nil {
		t.Fatal(err)
	}
	edit(doc)
	b, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func fileProblems(t testing.TB, src string) []domain.RulebookProblem {
	t.Helper()
	rb, err := domain.ParseRulebookFile([]byte(src))
	var fe *domain.RulebookFileError
	if !errors.As(err, &fe) || rb != nil {
		t.Fatalf("ParseRulebookFile: %v, %v; want a *RulebookFileError", rb, err)
	}
	return fe.Problems
}

func TestParseRulebookFile(t *testing.T) {
	t.Run("the shipped rulebook", func(t *testing.T) {
		rb, err := domain.ParseRulebookFile(domain.Builtin2016JSON())
		if err != nil || rb.SHA256() != domain.Builtin2016().SHA256() {
			t.Fatalf("%v", err)
		}
	})
	t.Run("malformed JSON: line and column", func(t *testing.T) {
		ps := fileProblems(t, "{\n  \"year\": 2016,\n  \"version\": \"2016.2\"\n  \"title\": \"x\"\n}\n")
		if len(ps) != 1 || ps[0].Where() != "4:3" || !strings.HasPrefix(ps[0].Reason, "malformed JSON") {
			t.Fatalf("%+v", ps)
		}
	})
	t.Run("invalid UTF-8: line and column", func(t *testing.T) {
		ps := fileProblems(t, "{\n  \"title\": \"a\xc3\x28\"\n}")
		if len(ps) != 1 || ps[0].Where() != "2:14" || ps[0].Reason != "invalid UTF-8" {
			t.Fatalf("%+v", ps)
		}
	})
	t.Run("every unknown field and wrong type, and what Validate finds, at its line", func(t *testing.T) {
		src := shippedLines(t, func(doc map[string]any) {
			doc["dues"].(map[string]any)["rate_note"] = "x"
			item := doc["items"].([]any)[0].(map[string]any)
			item["titel"] = item["title"]
			delete(item, "title")
			doc["total"] = 99
		})
		ps := fileProblems(t, src)
		lines := strings.Split(src, "\n")
		want := map[string]string{
			"items[0].titel": "unknown field",
			"dues.rate_note": "unknown field",
			"total":          "is 99 but the items add up to 100",
		}
		for _, p := range ps {
			w, ok := want[p.Field]
			if !ok {
				continue
			}
			delete(want, p.Field)
			if !strings.HasPrefix(p.Reason, w) {
				t.Errorf("%s: %q, want %q", p.Field, p.Reason, w)
			}
			key := p.Field[strings.LastIndexAny(p.Field, ".")+1:]
			if !strings.Contains(lines[p.Line-1], `"`+key+`"`) {
				t.Errorf("%s named at line %d: %q", p.Field, p.Line, lines[p.Line-1])
			}
		}
		if len(want) > 0 {
			t.Errorf("missing problems %v in %+v", want, ps)
		}
		src = shippedLines(t, func(doc map[string]any) { doc["weights"].(map[string]any)["online_percent"] = "50" })
		ps2 := fileProblems(t, src)
		if len(ps2) != 1 || ps2[0].Field != "weights.online_percent" || ps2[0].Reason != `want an integer, not the string "50"` ||
			!strings.Contains(strings.Split(src, "\n")[ps2[0].Line-1], `"online_percent"`) {
			t.Errorf("wrong type: %+v", ps2)
		}
		for i := 1; i < len(ps); i++ {
			if ps[i].Line < ps[i-1].Line {
				t.Fatalf("problems out of line order: %+v", ps)
			}
		}
	})
	t.Run("field errors name the line", func(t *testing.T) {
		_, err := domain.ParseRulebookFile([]byte("{\n  \"yeer\": 2016\n}"))
		fes := domain.FieldErrors(err)
		found := false
		for _, fe := range fes {
			found = found || fe.Field == "yeer" && strings.HasPrefix(fe.Reason, "line 2: unknown field")
		}
		if !found {
			t.Fatalf("%v", fes)
		}
		_, err = domain.ParseRulebookFile([]byte("{\n  \"year\" 2016\n}"))
		fes = domain.FieldErrors(err)
		if len(fes) != 1 || !strings.HasPrefix(fes[0].Reason, "line 2, column 10: malformed JSON") {
			t.Fatalf("%v", fes)
		}
	})
}
