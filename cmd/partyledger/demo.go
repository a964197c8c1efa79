package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"time"

	"partyledger/api"
	"partyledger/domain"
	"partyledger/domain/democity"
	"partyledger/ledger/books"
	"partyledger/projections"
	"partyledger/projections/scoreboard"
)

// demoCommand builds the demo city in a data directory, through the same
// validated path as import, and prints the ranking.
func demoCommand() *command {
	var c struct {
		seed           int64
		orgs           int
		quiet, serveIt bool
		addr           string
	}
	return &command{
		name:  "demo",
		args:  "[--seed N] [--orgs N] [--data DIR] [--serve [--addr HOST:PORT]]",
		short: "生成示范城市并评分 / build the demo city and score it",
		flags: func(fs *flag.FlagSet) {
			fs.Int64Var(&c.seed, "seed", 2016, "random seed: the same seed builds the same city")
			fs.IntVar(&c.orgs, "orgs", 0, "number of organisations (default: the generator's, ≥ 60)")
			fs.BoolVar(&c.quiet, "quiet", false, "no progress output")
			fs.BoolVar(&c.serveIt, "serve", false, "then serve the API and web pages, printing a token for each role")
			fs.StringVar(&c.addr, "addr", "127.0.0.1:8080", "listen address with --serve")
		},
		run: func(ctx context.Context, e *env, _ []string) error {
			if !e.dataGiven && e.store == "" {
				dir, err := os.MkdirTemp("", "partyledger-demo-")
				if err != nil {
					return err
				}
				e.data = dir
			}
			where := e.data
			if e.store != "" {
				where = e.store
			}
			fmt.Fprintf(e.stdout, "示范城市 / demo city: seed %d → %s\n", c.seed, where)
			start := time.Now()
			bk, board, err := e.scoreboard(ctx)
			if err != nil {
				return err
			}
			if err := importDemoCity(ctx, e, bk, c.seed, c.orgs, !c.quiet && isTerminal(e.stderr)); err != nil {
				return fmt.Errorf("demo city: %w", err)
			}
			cards, err := board.ScoreAll(ctx, scoreboard.Query{Year: 2016})
			if err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "\n2016 年度市直机关党建目标绩效考核排名（%d 个组织，%.1fs）\n\n", len(cards), time.Since(start).Seconds())
			printRanking(e.stdout, cards)
			printDemoNext(e, cards)
			if c.serveIt {
				return serveDemo(ctx, e, bk, cards, c.addr)
			}
			return nil
		},
	}
}

// importDemoCity generates the demo city's journal and imports it
// through the same validated path as import.
func importDemoCity(ctx context.Context, e *env, bk *books.Books, seed int64, orgs int, progress bool) error {
	var items []journalItem
	bad := lineProblems{}
	for i, l := range democity.Generate(seed, democity.Options{Orgs: orgs}) {
		raw, err := json.Marshal(l)
		if err != nil {
			return fmt.Errorf("line %d: %w", i+1, err)
		}
		it, err := parseItem(raw)
		if err != nil {
			bad.add(i+1, err)
			continue
		}
		it.line = i + 1
		items = append(items, it)
	}
	return importItems(ctx, e, bk, items, bad, "demo", progress)
}

// printDemoNext shows how to look closer at the demo city, at the
// organisation ranked last.
func printDemoNext(e *env, cards []*projections.Scorecard) {
	flagData := "--data " + e.data
	if e.store != "" {
		flagData = "--store " + e.store
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
}

// serveDemo issues one token per role for the demo city — the branch
// token bound to a real branch, one with something to fix — prints them
// with the URL, and serves until interrupted.
func serveDemo(ctx context.Context, e *env, bk *books.Books, cards []*projections.Scorecard, addr string) error {
	branch := ""
	for _, sc := range cards { // ranked best first: the last branch has most to fix
		if sc.Kind == domain.KindBranch {
			branch = sc.Org
		}
	}
	if branch == "" && len(cards) > 0 {
		branch = cards[len(cards)-1].Org
	}
	return serve(ctx, e, bk, addr, api.Options{}, tlsFiles{}, func(base string, srv *api.Server) error {
		type grant struct {
			role domain.AccessRole
			org  string
			name string
		}
		grants := []grant{
			{domain.AccessBranch, branch, "支部书记（示范）"},
			{domain.AccessAssessor, "", "考核组（示范）"},
			{domain.AccessAuditor, "", "审计（示范）"},
			{domain.AccessAdmin, "", "工委管理员（示范）"},
		}
		fmt.Fprintf(e.stdout, "\n打开 / open %s/login 并粘贴一个令牌 / and paste a token:\n", base)
		for _, g := range grants {
			tok, _, err := srv.Tokens().Issue(ctx, g.role, g.org, g.name, "demo")
			if err != nil {
				return fmt.Errorf("demo token for %s: %w", g.role, err)
			}
			what := string(g.role)
			if g.org != "" {
				what += " " + g.org
			}
			fmt.Fprintf(e.stdout, "  %-20s %s\n", what, tok)
		}
		fmt.Fprintf(e.stdout, "\n例 / e.g. curl -H 'Authorization: Bearer <token>' %s/v1/orgs/%s/scorecard\n按 Ctrl-C 停止 / Ctrl-C stops.\n", base, branch)
		return nil
	})
}
