package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"partyledger/api"
	"partyledger/domain"
	"partyledger/ledger/books"
	"partyledger/projections"
	"partyledger/projections/scoreboard"
)

// runServe serves the JSON API and the web pages on the ledger the
// globals select, until interrupted.
func runServe(ctx context.Context, e *env, args []string) error {
	var g globals
	fs := newFlagSet(e, "serve", "serve [--addr 127.0.0.1:8080] [--year 2016]")
	g.register(fs, e)
	addr := fs.String("addr", "127.0.0.1:8080", "listen address")
	year := fs.Int("year", 0, "assessment year the pages show by default (default: the built-in rulebook's)")
	if _, err := parseFlags(fs, args); err != nil {
		return err
	}
	bk, err := g.open(ctx, e)
	if err != nil {
		return err
	}
	defer bk.Close()
	return serve(ctx, e, bk, *addr, api.Options{Year: *year}, nil)
}

// serve runs the board in the background and the HTTP server on addr
// until ctx is done. ready, when not nil, is called with the base URL once
// the server listens.
func serve(ctx context.Context, e *env, bk *books.Books, addr string, opts api.Options, ready func(baseURL string, srv *api.Server) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	board := scoreboard.New(bk, scoreboard.Options{Now: e.now})
	if err := board.CatchUp(ctx); err != nil {
		return err
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(e.stderr, nil))
	}
	if opts.Now == nil {
		opts.Now = e.now
	}
	srv := api.New(bk, board, opts)
	boardErr := make(chan error, 1)
	go func() { boardErr <- board.Run(ctx) }()

	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", addr, err)
	}
	hs := api.NewHTTPServer(addr, srv.Handler())
	hs.ErrorLog = slog.NewLogLogger(opts.Logger.Handler(), slog.LevelWarn)
	base := "http://" + ln.Addr().String()
	fmt.Fprintf(e.stdout, "服务已启动 / serving on %s  (API %s/v1, OpenAPI %s/v1/openapi.json)\n", base, base, base)
	if ready != nil {
		if err := ready(base, srv); err != nil {
			ln.Close()
			return err
		}
	}
	httpErr := make(chan error, 1)
	go func() { httpErr <- hs.Serve(ln) }()
	select {
	case <-ctx.Done():
	case err := <-httpErr:
		if !errors.Is(err, http.ErrServerClosed) {
			return err
		}
	case err := <-boardErr:
		if err != nil && !errors.Is(err, context.Canceled) {
			return fmt.Errorf("scoreboard: %w", err)
		}
	}
	shutdown, done := context.WithTimeout(context.Background(), 10*time.Second)
	defer done()
	if err := hs.Shutdown(shutdown); err != nil {
		return err
	}
	fmt.Fprintln(e.stdout, "服务已停止 / stopped")
	return nil
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
	return serve(ctx, e, bk, addr, api.Options{}, func(base string, srv *api.Server) error {
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
