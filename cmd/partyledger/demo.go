package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"sync"
	"time"

	"partyledger/api"
	"partyledger/domain"
	"partyledger/domain/democity"
	"partyledger/ledger/books"
	"partyledger/projections/scoreboard"
)

// demoCommand builds the demo city in a data directory, through the same
// validated path as import, on a simulated clock, and prints the ranking.
func demoCommand() *command {
	var c struct {
		seed           int64
		orgs           int
		quiet, serveIt bool
		addr, data     string
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
			fs.StringVar(&c.data, "data", "", "build the city in the embedded store in `DIR` (env PARTYLEDGER_DATA); "+
				"default: a new directory under the system temp dir, printed. It stays after the demo, for the commands it prints; "+
				"a DIR that already holds this city gets nothing new")
		},
		run: func(ctx context.Context, e *env, _ []string) error {
			switch {
			case c.data != "":
				e.data = c.data
			case !e.dataGiven && e.store == "":
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
			fmt.Fprintf(e.stdout, "示范城市 / demo city: seed %d → %s（保留 / kept）\n", c.seed, where)
			start := time.Now()
			clk := &simClock{base: e.now}
			e.now = clk.Now
			if c.serveIt {
				e.storeSync = api.NewStoreSyncMetric()
			}
			bk, board, err := e.scoreboard(ctx)
			if err != nil {
				return err
			}
			city := democity.Build(c.seed, democity.Options{Orgs: c.orgs, AllIDs: true, Appeal: true})
			if err := importDemoCity(ctx, e, bk, city, clk, !c.quiet && isTerminal(e.stderr)); err != nil {
				return fmt.Errorf("demo city: %w", err)
			}
			rk, err := board.Rank(ctx, scoreboard.Query{Year: 2016})
			if err != nil {
				return err
			}
			cards := rk.Rows
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

// simClock is the demo's clock: while the city is imported, the instant
// its lines are recorded at (democity's City.RecordedAt); then the wall
// clock, never before the simulation's end.
type simClock struct {
	base func() time.Time

	mu     sync.Mutex
	at     time.Time     // the simulated instant; zero: live
	offset time.Duration // added to base when live
}

// Now returns the clock's instant.
func (c *simClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.at.IsZero() {
		return c.at
	}
	return c.base().Add(c.offset)
}

func (c *simClock) set(t time.Time) {
	c.mu.Lock()
	c.at = t
	c.mu.Unlock()
}

// live ends the simulation at end: from now on the clock is the wall
// clock, or — when that is earlier (a test's clock) — end and on.
func (c *simClock) live(end time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.at = time.Time{}
	if now := c.base(); now.Before(end) {
		c.offset = end.Sub(now)
	}
}

// importDemoCity imports the city's journal through the same validated
// path as import, in the order it was recorded, each batch on the
// simulated clock at the instant its lines were recorded; the stateful
// checks of the whole journal run first, on the clock at the
// simulation's end (nothing in it is in the future then).
func importDemoCity(ctx context.Context, e *env, bk *books.Books, city democity.City, clk *simClock, progress bool) error {
	order := city.RecordedOrder()
	if len(order) == 0 {
		return importJournal(ctx, e, bk, demoSource{city, order}, "demo", progress, clk.set)
	}
	first, end := city.RecordedAt[order[0]], city.RecordedAt[order[len(order)-1]].Add(time.Second)
	clk.set(end)
	err := importJournal(ctx, e, bk, demoSource{city, order}, "demo", progress, func(at time.Time) {
		clk.set(at)
	})
	clk.live(end)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "模拟时钟 / simulated clock: 登记于 %s 至 %s（CST；考核组 %d 年 1–2 月，申诉撤回 %s），此后为当前时间 / recorded from the first to the last, then now\n",
		first.In(domain.CST).Format("2006-01-02 15:04"), end.Add(-time.Second).In(domain.CST).Format("2006-01-02 15:04"),
		democity.Year+1, democity.AppealOn)
	return nil
}

// demoSource is the demo city's journal as an import reads it: line i+1
// is city.Lines[i], in the order the lines were recorded.
type demoSource struct {
	city  democity.City
	order []int
}

func (s demoSource) lines(ctx context.Context, fn func(int, []byte, time.Time, error) error) error {
	for _, i := range s.order {
		if err := ctx.Err(); err != nil {
			return err
		}
		raw, err := json.Marshal(s.city.Lines[i])
		if err != nil {
			return fmt.Errorf("line %d: %w", i+1, err)
		}
		if err := fn(i+1, raw, s.city.RecordedAt[i], nil); err != nil {
			return err
		}
	}
	return nil
}

// printDemoNext shows how to look closer at the demo city, at the
// organisation ranked last.
func printDemoNext(e *env, cards []scoreboard.Row) {
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
  go run ./cmd/partyledger %[1]s score --all --known-at 2017-01-20T00:00:00+08:00   # 2017-01-20 时所知 / as known then
  go run ./cmd/partyledger %[1]s replay --org %[2]s --year 2016   # 台账回放 / the journal
  go run ./cmd/partyledger %[1]s verify                        # 哈希链校验 / tamper check
  go run ./cmd/partyledger %[1]s export --all > city.jsonl     # 导出 / export
`, flagData, code)
}

// serveDemo issues one token per role for the demo city — the branch
// token bound to a real branch, one with something to fix — prints them
// with the URL, and serves until interrupted.
func serveDemo(ctx context.Context, e *env, bk *books.Books, cards []scoreboard.Row, addr string) error {
	branch := ""
	for _, sc := range cards { // ranked best first: the last branch has most to fix
		if sc.Kind == domain.KindBranch {
			branch = sc.Org
		}
	}
	if branch == "" && len(cards) > 0 {
		branch = cards[len(cards)-1].Org
	}
	return serve(ctx, e, bk, addr, api.Options{}, listenOpts{}, func(base string, srv *api.Server) error {
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
