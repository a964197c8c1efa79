package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"time"

	"partyledger/domain/democity"
	"partyledger/projections/scoreboard"
)

// runDemo builds the demo city in a data directory, through the same
// validated path as import, and prints the ranking.
func runDemo(ctx context.Context, e *env, args []string) error {
	var g globals
	fs := newFlagSet(e, "demo", "demo [--seed N] [--orgs N] [--data DIR] [--serve [--addr HOST:PORT]]")
	g.register(fs, e)
	seed := fs.Int64("seed", 2016, "random seed: the same seed builds the same city")
	orgs := fs.Int("orgs", 0, "number of organisations (default: the generator's, ≥ 60)")
	quiet := fs.Bool("quiet", false, "no progress output")
	serveIt := fs.Bool("serve", false, "then serve the API and web pages, printing a token for each role")
	addr := fs.String("addr", "127.0.0.1:8080", "listen address with --serve")
	if _, err := parseFlags(fs, args); err != nil {
		return err
	}
	explicit := e.getenv("PARTYLEDGER_DATA") != ""
	fs.Visit(func(f *flag.Flag) {
		if f.Name == "data" {
			explicit = true
		}
	})
	if !explicit && g.store == "" {
		dir, err := os.MkdirTemp("", "partyledger-demo-")
		if err != nil {
			return err
		}
		g.data = dir
	}
	where := g.data
	if g.store != "" {
		where = g.store
	}
	fmt.Fprintf(e.stdout, "示范城市 / demo city: seed %d → %s\n", *seed, where)

	start := time.Now()
	lines := democity.Generate(*seed, democity.Options{Orgs: *orgs})
	var items []journalItem
	bad := lineProblems{}
	for i, l := range lines {
		raw, err := json.Marshal(l)
		if err != nil {
			return fmt.Errorf("demo line %d: %w", i+1, err)
		}
		it, err := parseItem(raw)
		if err != nil {
			bad.add(i+1, err)
			continue
		}
		it.line = i + 1
		items = append(items, it)
	}
	bk, err := g.open(ctx, e)
	if err != nil {
		return err
	}
	defer bk.Close()
	if err := importItems(ctx, e, bk, items, bad, "demo", !*quiet && isTerminal(e.stderr)); err != nil {
		return fmt.Errorf("demo city: %w", err)
	}
	board := scoreboard.New(bk, scoreboard.Options{Now: e.now})
	cards, err := board.ScoreAll(ctx, scoreboard.Query{Year: 2016})
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "\n2016 年度市直机关党建目标绩效考核排名（%d 个组织，%.1fs）\n\n", len(cards), time.Since(start).Seconds())
	printRanking(e.stdout, cards)
	flagData := "--data " + g.data
	if g.store != "" {
		flagData = "--store " + g.store
	}
	code := "LY-0001"
	if len(cards) > 0 {
		code = cards[len(cards)-1].Org
	}
	fmt.Fprintf(e.stdout, `
细看 / look closer:
  go run ./cmd/partyledger %[1]s score --org %[2]s            # 逐项得分与扣分原因 / items and deductions
  go run ./cmd/partyledger %[1]s score --org %[2]s --json     # 评分卡 JSON / scorecard JSON
  go run ./cmd/partyledger %[1]s score --org %[2]s --as-of 2016-06-30
  go run ./cmd/partyledger %[1]s replay --org %[2]s --year 2016   # 台账回放 / the journal
  go run ./cmd/partyledger %[1]s verify                        # 哈希链校验 / tamper check
  go run ./cmd/partyledger %[1]s export --all > city.jsonl     # 导出 / export
`, flagData, code)
	if *serveIt {
		return serveDemo(ctx, e, bk, cards, *addr)
	}
	return nil
}
