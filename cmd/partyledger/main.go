// Command partyledger is the event-sourced audit ledger of party-building
// work (党建台账): import and record activities, replay and export the
// journal, verify the hash chains, score organisations under the rubric,
// and serve the API and web pages.
//
// Usage: partyledger [--data DIR | --store URL] COMMAND [flags]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
	"time"

	"partyledger/domain"
	"partyledger/ledger"
	"partyledger/ledger/books"
	"partyledger/ledger/esdb"
	"partyledger/ledger/filestore"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := Run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	if err != nil {
		var ee exitError
		if !errors.As(err, &ee) || !ee.quiet {
			fmt.Fprintln(os.Stderr, "partyledger:", err)
		}
		code := 1
		if errors.As(err, &ee) && ee.code != 0 {
			code = ee.code
		}
		os.Exit(code)
	}
}

// exitError carries an exit code; quiet when the message was already
// printed (e.g. one line per bad import line).
type exitError struct {
	code  int
	quiet bool
	err   error
}

func (e exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit %d", e.code)
	}
	return e.err.Error()
}

func (e exitError) Unwrap() error { return e.err }

// usageError reports a bad command line (exit 2).
func usageError(format string, a ...any) error {
	return exitError{code: 2, err: fmt.Errorf(format, a...)}
}

// env is what every command gets: streams and the process environment.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string
	now            func() time.Time
}

// globals are the flags every command accepts.
type globals struct {
	data  string
	store string
}

func (g *globals) register(fs *flag.FlagSet, e *env) {
	def := e.getenv("PARTYLEDGER_DATA")
	if def == "" {
		def = "./partyledger-data"
	}
	fs.StringVar(&g.data, "data", def, "data directory of the embedded store (env PARTYLEDGER_DATA)")
	fs.StringVar(&g.store, "store", e.getenv("PARTYLEDGER_STORE"), "event store URL, e.g. esdb://host:2113?tls=false (env PARTYLEDGER_STORE); empty: the embedded store in --data")
}

type command struct {
	name    string
	summary string
	run     func(ctx context.Context, e *env, args []string) error
}

func commands() []command {
	return []command{
		{"demo", "生成示范城市并评分 / build the demo city and score it", runDemo},
		{"import", "导入 JSONL 台账 / import a JSONL journal", runImport},
		{"record", "登记一个事件 / record one event", runRecord},
		{"replay", "回放组织台账 / replay an organisation's journal", runReplay},
		{"export", "导出 JSONL / export the journal as JSONL", runExport},
		{"verify", "校验哈希链与校验和 / verify hash chains and checksums", runVerify},
		{"score", "计算考核得分 / score organisations", runScore},
		{"rulebook", "细则版本：发布、列出、查看、比较 / publish, list, show, diff rulebook versions", runRulebook},
		{"recompute", "按两个细则版本重算并比较 / rescore a year under two rulebook versions", runRecompute},
		{"grade", "正式等次：评定、更正、历史 / issue, revise, show official grades", runGrade},
		{"serve", "提供 API 与网页 / serve the API and web pages", runServe},
		{"token", "管理访问令牌 / create, list, revoke API tokens", runToken},
	}
}

// Run runs the command line args (without the program name).
func Run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	e := &env{stdin: stdin, stdout: stdout, stderr: stderr, getenv: os.Getenv, now: time.Now}
	return e.run(ctx, args)
}

func (e *env) run(ctx context.Context, args []string) error {
	// Global flags may come before the command; they are passed on to it.
	var pre []string
	for len(args) > 0 && strings.HasPrefix(args[0], "-") {
		a := args[0]
		pre = append(pre, a)
		args = args[1:]
		if !strings.Contains(a, "=") && len(args) > 0 && (a == "--data" || a == "-data" || a == "--store" || a == "-store") {
			pre = append(pre, args[0])
			args = args[1:]
		}
	}
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		e.usage()
		if len(args) == 0 {
			return exitError{code: 2, quiet: true}
		}
		return nil
	}
	for _, c := range commands() {
		if c.name == args[0] {
			return c.run(ctx, e, append(pre, args[1:]...))
		}
	}
	e.usage()
	return usageError("unknown command %q", args[0])
}

func (e *env) usage() {
	fmt.Fprintln(e.stderr, "用法 / usage: partyledger [--data DIR | --store URL] COMMAND [flags]")
	fmt.Fprintln(e.stderr, "\n命令 / commands:")
	for _, c := range commands() {
		fmt.Fprintf(e.stderr, "  %-8s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(e.stderr, "\n每个命令的参数 / flags of a command: partyledger COMMAND -h")
}

// parseFlags parses args allowing flags after positional arguments
// ("import FILE --quiet").
func parseFlags(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, exitError{code: 0, quiet: true}
			}
			return nil, exitError{code: 2, quiet: true, err: err}
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		if args[0] == "--" {
			return append(pos, args[1:]...), nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

func newFlagSet(e *env, name, usage string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() {
		fmt.Fprintf(e.stderr, "用法 / usage: partyledger %s\n", usage)
		fs.PrintDefaults()
	}
	return fs
}

// open opens the ledger the globals select.
func (g *globals) open(ctx context.Context, e *env) (*books.Books, error) {
	var st ledger.Store
	switch {
	case g.store == "":
		fst, err := filestore.Open(g.data, filestore.Options{})
		if err != nil {
			return nil, fmt.Errorf("open the embedded store in %s: %w", g.data, err)
		}
		st = fst
	default:
		s, err := openServerStore(ctx, g.store)
		if err != nil {
			return nil, err
		}
		st = s
	}
	return books.New(ledger.New(st, ledger.Options{Clock: e.now})), nil
}

// openServerStore opens the store a --store URL names: today
// EventStoreDB/KurrentDB (esdb:// and esdb+discover://).
func openServerStore(ctx context.Context, url string) (ledger.Store, error) {
	if !strings.HasPrefix(url, "esdb://") && !strings.HasPrefix(url, "esdb+discover://") {
		return nil, usageError("--store %q: want esdb://host:2113?tls=false (or esdb+discover://…); leave it empty for the embedded store", url)
	}
	st, err := esdb.Open(ctx, url, esdb.Options{})
	if err != nil {
		return nil, fmt.Errorf("open the EventStoreDB store %s: %w", url, err)
	}
	return st, nil
}

// lineErrors prints "line N: field: reason" for each problem.
func printFieldErrors(w io.Writer, prefix string, err error) {
	for _, fe := range domain.FieldErrors(err) {
		field := fe.Field
		if field == "" {
			field = "line"
		}
		fmt.Fprintf(w, "%s%s: %s\n", prefix, field, fe.Reason)
	}
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
