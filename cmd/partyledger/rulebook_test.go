package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"partyledger/domain"
)

// corrected2016JSON is the built-in rulebook as `rulebook show` prints it,
// turned into version 2016.2: 5.3's general-assembly minimum 4 → 3, and
// the 1.5% dues bracket ending at 9000 yuan instead of 10000. edit, when
// given, changes the document further (e.g. breaks it).
func corrected2016JSON(t testing.TB, shown string, edit ...func(doc map[string]any, ga map[string]any)) string {
	t.Helper()
	var doc map[string]any
	if err := json.Unmarshal([]byte(shown), &doc); err != nil {
		t.Fatal(err)
	}
	doc["version"] = "2016.2"
	var ga map[string]any
	for _, it := range doc["items"].([]any) {
		rules, _ := it.(map[string]any)["rules"].([]any)
		for _, r := range rules {
			if r := r.(map[string]any); r["id"] == "5.3.general_assembly" {
				ga = r
			}
		}
	}
	ga["need"] = 3
	doc["dues"].(map[string]any)["rates"].([]any)[2].(map[string]any)["up_to_fen"] = 900000
	for _, e := range edit {
		e(doc, ga)
	}
	b, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func writeTemp(t testing.TB, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestRulebookCommands(t *testing.T) {
	dir := t.TempDir()
	c := newClock()
	run := func(args ...string) result {
		return cli(t, c, "", append([]string{"--data", dir, "rulebook"}, args...)...)
	}

	shown := mustOK(t, run("show", "2016.1")).stdout
	t.Run("show prints the document publish takes", func(t *testing.T) {
		rb, err := domain.ParseRulebook([]byte(shown))
		if err != nil {
			t.Fatalf("the shown document does not parse: %v", err)
		}
		if rb.SHA256() != domain.Builtin2016().SHA256() {
			t.Fatal("the shown document differs from the built-in rulebook")
		}
		canon := mustOK(t, run("show", "2016.1", "--canonical")).stdout
		sum := sha256.Sum256([]byte(canon))
		if hex.EncodeToString(sum[:]) != domain.Builtin2016().SHA256() {
			t.Fatal("sha256 of the canonical form is not the rulebook's SHA-256")
		}
	})
	t.Run("list before any publication", func(t *testing.T) {
		out := mustOK(t, run("list", "--year", "2016")).stdout
		if !strings.Contains(out, "2016.1  现行（内置，尚未登记）") {
			t.Fatalf("list:\n%s", out)
		}
	})

	t.Run("malformed JSON: its line and column", func(t *testing.T) {
		p := writeTemp(t, "bad.json", "{\n  \"year\": 2016,\n  \"version\": \"2016.2\"\n  \"title\": \"x\"\n}\n")
		r := run("publish", p, "--reason", "更正")
		if exitCode(r.err) != 1 || !strings.Contains(r.stderr, "bad.json:4:3: malformed JSON") {
			t.Fatalf("err %v\nstderr:\n%s", r.err, r.stderr)
		}
	})
	t.Run("unknown fields and wrong types: every one, with its line", func(t *testing.T) {
		doc := corrected2016JSON(t, shown, func(doc, ga map[string]any) {
			ga["nede"] = ga["need"]
			delete(ga, "need")
			doc["weights"].(map[string]any)["online_percent"] = "50"
			item := doc["items"].([]any)[0].(map[string]any)
			item["titel"] = item["title"]
			delete(item, "title")
		})
		p := writeTemp(t, "2016.2.json", doc)
		r := run("publish", p, "--reason", "更正")
		lines := strings.Split(strings.TrimSpace(r.stderr), "\n")
		if exitCode(r.err) != 1 || len(lines) != 3 {
			t.Fatalf("err %v, %d problems:\n%s", r.err, len(lines), r.stderr)
		}
		for i, want := range []struct{ field, text string }{
			{"items[0].titel", "unknown field"},
			{"items[20].rules[2].nede", "unknown field"},
			{"weights.online_percent", `want an integer, not the string "50"`},
		} {
			field := want.field
			if !strings.Contains(lines[i], ": "+field+": "+want.text) {
				t.Errorf("problem %d: %q, want %s: %s", i+1, lines[i], field, want.text)
			}
			// The line named is where the field is.
			n := lineNumber(t, lines[i])
			src := strings.Split(doc, "\n")[n-1]
			key := field[strings.LastIndexAny(field, ".")+1:]
			if !strings.Contains(src, `"`+key+`"`) {
				t.Errorf("problem %d names line %d: %q", i+1, n, src)
			}
		}
	})
	t.Run("invalid rulebook: every problem, with its line", func(t *testing.T) {
		doc := corrected2016JSON(t, shown, func(doc, ga map[string]any) {
			ga["need"] = -1
			doc["tiers"].([]any)[0].(map[string]any)["tier"] = "gold"
			doc["total"] = 99
		})
		p := writeTemp(t, "2016.2.json", doc)
		r := run("publish", p, "--reason", "更正")
		if exitCode(r.err) != 1 {
			t.Fatalf("err %v", r.err)
		}
		for _, want := range []string{"tiers[0].tier: ", "total: is 99 but the items add up to 100", "items[20].rules[2].need: want 1..1000"} {
			if !strings.Contains(r.stderr, want) {
				t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
			}
		}
		for _, l := range strings.Split(strings.TrimSpace(r.stderr), "\n") {
			if n := lineNumber(t, l); n < 2 {
				t.Errorf("problem without its line: %q", l)
			}
		}
	})
	t.Run("unknown fields and invalid values together", func(t *testing.T) {
		doc := corrected2016JSON(t, shown, func(doc, ga map[string]any) {
			ga["needs"] = 3
			doc["total"] = 99
		})
		r := run("publish", writeTemp(t, "2016.2.json", doc), "--reason", "更正")
		if exitCode(r.err) != 1 || !strings.Contains(r.stderr, "items[20].rules[2].needs: unknown field") ||
			!strings.Contains(r.stderr, "total: is 99 but the items add up to 100") {
			t.Fatalf("err %v\nstderr:\n%s", r.err, r.stderr)
		}
	})
	t.Run("nothing appended by refused publications", func(t *testing.T) {
		if v := countEvents(t, c, dir); !strings.Contains(v, " 0 个事件") {
			t.Fatalf("verify: %s", v)
		}
	})
	t.Run("the built-in version is refused", func(t *testing.T) {
		p := writeTemp(t, "2016.1.json", shown)
		r := run("publish", p, "--reason", "再发")
		if exitCode(r.err) != 1 || !strings.Contains(r.err.Error(), `"2016.1"`) || !strings.Contains(r.err.Error(), "已存在") {
			t.Fatalf("err %v", r.err)
		}
		if r := run("publish", p); exitCode(r.err) != 2 {
			t.Fatalf("publish without --reason: %v", r.err)
		}
	})

	p := writeTemp(t, "2016.2.json", corrected2016JSON(t, shown))
	pub := mustOK(t, run("publish", p, "--reason", "5.3 支部党员大会不少于3次；党费档次更正", "--as", "工委"))
	t.Run("published, the built-in one first", func(t *testing.T) {
		if !strings.Contains(pub.stdout, "内置细则 2016.1 已先行登记") || !strings.Contains(pub.stdout, "已发布细则 2016.2（2016 年度）") {
			t.Fatalf("publish:\n%s", pub.stdout)
		}
		var rows []struct {
			Version    string `json:"version"`
			InForce    bool   `json:"in_force"`
			RecordedBy string `json:"recorded_by"`
			Reason     string `json:"reason"`
		}
		if err := json.Unmarshal([]byte(mustOK(t, run("list", "--json")).stdout), &rows); err != nil {
			t.Fatal(err)
		}
		if len(rows) != 2 || rows[0].Version != "2016.1" || rows[0].InForce || rows[1].Version != "2016.2" || !rows[1].InForce ||
			rows[1].RecordedBy != "工委" || !strings.HasPrefix(rows[1].Reason, "5.3 ") {
			t.Fatalf("list: %+v", rows)
		}
		out := mustOK(t, run("list")).stdout
		if !strings.Contains(out, "2016.1  已被取代") || !strings.Contains(out, "2016.2  现行") {
			t.Fatalf("list:\n%s", out)
		}
	})
	t.Run("an existing version is refused", func(t *testing.T) {
		r := run("publish", p, "--reason", "再发一次")
		if exitCode(r.err) != 1 || !strings.Contains(r.err.Error(), "already published") {
			t.Fatalf("err %v", r.err)
		}
		if v := countEvents(t, c, dir); !strings.Contains(v, " 2 个事件") {
			t.Fatalf("verify: %s", v)
		}
	})
	t.Run("diff, item by item", func(t *testing.T) {
		out := mustOK(t, run("diff", "2016.1", "2016.2")).stdout
		for _, want := range []string{"2 处变化，涉及项目 5.3", "5.3   规则  修改  rules[5.3.general_assembly].need  4        3",
			"党费  修改  dues.rates[2].up_to_fen           1000000  900000"} {
			if !strings.Contains(out, want) {
				t.Errorf("diff lacks %q:\n%s", want, out)
			}
		}
		var d domain.RulebookDiff
		if err := json.Unmarshal([]byte(mustOK(t, run("diff", "2016.1", "2016.2", "--json")).stdout), &d); err != nil {
			t.Fatal(err)
		}
		if len(d.Changes) != 2 || d.Changes[1].Item != "5.3" || d.Changes[1].Area != domain.DiffAreaRules || string(d.Changes[1].To) != "3" {
			t.Fatalf("diff --json: %+v", d)
		}
		if r := run("diff", "2016.1", "2016.9"); r.err == nil || !strings.Contains(r.err.Error(), `没有细则版本 "2016.9"（现有：2016.1、2016.2）`) {
			t.Fatalf("unknown version: %v", r.err)
		}
	})
	t.Run("show a published version", func(t *testing.T) {
		rb, err := domain.ParseRulebook([]byte(mustOK(t, run("show", "2016.2")).stdout))
		if err != nil || rb.Version != "2016.2" || rb.Item("5.3").Rules[2].Need != 3 {
			t.Fatalf("%v %v", rb, err)
		}
		if r := run("show", "x"); exitCode(r.err) != 2 {
			t.Fatalf("show of a version without a year: %v", r.err)
		}
	})
}

// lineNumber reads N from "FILE:N: …" or "FILE:N:C: …".
func lineNumber(t testing.TB, problem string) int {
	t.Helper()
	parts := strings.SplitN(problem, ":", 3)
	if len(parts) < 3 {
		t.Fatalf("no line in %q", problem)
	}
	var n int
	for _, r := range parts[1] {
		if r < '0' || r > '9' {
			t.Fatalf("no line in %q", problem)
		}
		n = n*10 + int(r-'0')
	}
	return n
}
