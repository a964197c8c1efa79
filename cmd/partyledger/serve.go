package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"net/netip"
	"partyledger/api"
	"partyledger/ledger/books"
	"partyledger/projections/scoreboard"
	"strings"
)

// serveCommand serves the JSON API and the web pages on the ledger the
// global flags select, until interrupted.
func serveCommand() *command {
	var c struct {
		addr           string
		year           int
		tlsCert        string
		tlsKey         string
		trustedProxies string
		secureCookies  string
		metricsAddr    string
		kf             keyFlags
	}
	return &command{
		name:  "serve",
		args:  "[--addr 127.0.0.1:8080] [--year 2016] [--tls-cert F --tls-key F] [--trusted-proxy CIDR,…] [--secure-cookies auto|true|false] [--metrics-addr HOST:PORT]",
		short: "提供 API 与网页 / serve the API and web pages",
		flags: func(fs *flag.FlagSet) {
			fs.StringVar(&c.addr, "addr", "127.0.0.1:8080", "listen address")
			fs.IntVar(&c.year, "year", 0, "assessment year the pages show by default (default: the built-in rulebook's)")
			fs.StringVar(&c.tlsCert, "tls-cert", "", "serve HTTPS with this certificate (PEM); needs --tls-key")
			fs.StringVar(&c.tlsKey, "tls-key", "", "the certificate's private key (PEM)")
			fs.StringVar(&c.trustedProxies, "trusted-proxy", "", "comma-separated addresses or CIDRs of TLS-terminating reverse proxies whose X-Forwarded-For is believed")
			fs.StringVar(&c.secureCookies, "secure-cookies", "auto", "mark cookies Secure: auto (on with --tls-cert or --trusted-proxy), true or false")
			fs.StringVar(&c.metricsAddr, "metrics-addr", "", "also serve GET /metrics, without a token, on this `HOST:PORT` (plain HTTP; for a network only the monitoring host reaches); default: only on --addr, to an auditor or admin token")
			c.kf.register(fs)
		},
		run: func(ctx context.Context, e *env, _ []string) error {
			opts := api.Options{Year: c.year}
			if (c.tlsCert == "") != (c.tlsKey == "") {
				return usageError("--tls-cert and --tls-key go together")
			}
			for _, p := range strings.Split(c.trustedProxies, ",") {
				if p = strings.TrimSpace(p); p == "" {
					continue
				}
				pfx, err := netip.ParsePrefix(p)
				if err != nil {
					a, aerr := netip.ParseAddr(p)
					if aerr != nil {
						return usageError("--trusted-proxy %q: want an address or a CIDR", p)
					}
					pfx = netip.PrefixFrom(a, a.BitLen())
				}
				opts.TrustedProxies = append(opts.TrustedProxies, pfx)
			}
			switch c.secureCookies {
			case "auto":
				opts.SecureCookies = c.tlsCert != "" || len(opts.TrustedProxies) > 0
			case "true", "false":
				opts.SecureCookies = c.secureCookies == "true"
			default:
				return usageError("--secure-cookies %q: want auto, true or false", c.secureCookies)
			}
			e.storeSync = api.NewStoreSyncMetric()
			bk, err := e.books(ctx)
			if err != nil {
				return err
			}
			if e.perStream() {
				// The log tree is built from all of $all: none at this
				// scale, and no key to sign its checkpoints with.
				fmt.Fprintln(e.stderr, "按流查重：评分与排名读自投影快照（partyledger worker），不读 $all；无日志树，检查点与证明不可用 / "+
					"per-stream ids: scores and rankings from the projection workers' facts snapshots (partyledger worker), nothing of $all read; "+
					"no log tree: checkpoints and proofs answer 503, grades carry no checkpoint")
				return serve(ctx, e, bk, c.addr, opts, listenOpts{c.tlsCert, c.tlsKey, c.metricsAddr}, nil)
			}
			key, created, err := c.kf.key(e)
			if err != nil {
				return err
			}
			if created {
				fmt.Fprintf(e.stderr, "已创建签名密钥 / created the checkpoint key %s (mode 0600); its public key: %s\n", key.Path(), key.VerifierKey())
			}
			tree, err := e.tree(ctx)
			if err != nil {
				return err
			}
			opts.Tree, opts.Key = tree, key
			return serve(ctx, e, bk, c.addr, opts, listenOpts{c.tlsCert, c.tlsKey, c.metricsAddr}, nil)
		},
	}
}

// listenOpts are serve's certificate and key (empty: plain HTTP) and the
// address of its own listener for /metrics without a token (empty: none).
type listenOpts struct{ cert, key, metrics string }

// serve runs the board in the background and the HTTP server on addr
// until ctx is done. ready, when not nil, is called with the base URL once
// the server listens.
func serve(ctx context.Context, e *env, bk *books.Books, addr string, opts api.Options, tls listenOpts, ready func(baseURL string, srv *api.Server) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	board := scoreboard.New(bk, e.boardOptions())
	if err := board.CatchUp(ctx); err != nil {
		return err
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(e.stderr, nil))
	}
	if opts.Now == nil {
		opts.Now = e.now
	}
	if opts.StoreSync == nil {
		opts.StoreSync = e.storeSync
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
	if tls.cert != "" {
		base = "https://" + ln.Addr().String()
	}
	fmt.Fprintf(e.stdout, "服务已启动 / serving on %s  (API %s/v1, OpenAPI %s/v1/openapi.json)\n", base, base, base)
	var mhs *http.Server
	var mln net.Listener
	if tls.metrics != "" {
		if mln, err = net.Listen("tcp", tls.metrics); err != nil {
			ln.Close()
			return fmt.Errorf("listen on %s (--metrics-addr): %w", tls.metrics, err)
		}
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", srv.MetricsHandler())
		mhs = api.NewHTTPServer(tls.metrics, mux)
		mhs.ErrorLog = hs.ErrorLog
		fmt.Fprintf(e.stdout, "指标 / metrics (no token) on http://%s/metrics\n", mln.Addr())
	}
	closeAll := func() {
		ln.Close()
		if mln != nil {
			mln.Close()
		}
	}
	if ready != nil {
		if err := ready(base, srv); err != nil {
			closeAll()
			return err
		}
	}
	// What a server prints must be seen while it serves, not when it stops.
	if err := e.flush(); err != nil {
		closeAll()
		return fmt.Errorf("write standard output: %w", err)
	}
	httpErr := make(chan error, 2)
	go func() {
		if tls.cert != "" {
			httpErr <- hs.ServeTLS(ln, tls.cert, tls.key)
			return
		}
		httpErr <- hs.Serve(ln)
	}()
	if mhs != nil {
		go func() { httpErr <- mhs.Serve(mln) }()
	}
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
	if mhs != nil {
		if err := mhs.Shutdown(shutdown); err != nil {
			return err
		}
	}
	if err := hs.Shutdown(shutdown); err != nil {
		return err
	}
	fmt.Fprintln(e.stdout, "服务已停止 / stopped")
	return nil
}
