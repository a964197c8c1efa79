package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"sort"
	"strings"
)

// command is a node of the command tree: a leaf (run set) with its flags
// and operands, or a group of subcommands (subs set).
type command struct {
	name     string
	args     string            // synopsis after the command's path: `FILE|- [--quiet]`
	short    string            // one line: what it does, in Chinese and English
	long     string            // more on how it works, for its help (optional)
	nargs    int               // operands a leaf takes
	operands string            // what they are, for the error when they are missing: "one FILE (or - for standard input)"
	required map[string]string // flags that must not be blank → what the value must say ("" when the name says it)
	flags    func(fs *flag.FlagSet)
	run      func(ctx context.Context, e *env, args []string) error
	subs     []*command
	// readOnly: the command only reads the ledger, so it may open the
	// embedded store read-only beside a server that holds it.
	readOnly bool
	// remote: the command writes the ledger, and given --server (or
	// PARTYLEDGER_SERVER) it writes through that server's API instead;
	// then it must never open a ledger of its own (env.books refuses).
	remote bool
}

// commands is the whole command line: every command and subcommand.
func commands() *command {
	return &command{name: "partyledger", args: "[--data DIR | --store URL] COMMAND [flags]", subs: []*command{
		demoCommand(),
		importCommand(),
		recordCommand(),
		replayCommand(),
		exportCommand(),
		verifyCommand(),
		backupCommand(),
		checkpointCommand(),
		proveCommand(),
		scoreCommand(),
		todoCommand(),
		{name: "rulebook", short: "细则版本：发布、列出、查看、比较 / publish, list, show, diff rulebook versions", subs: []*command{
			rulebookPublishCommand(), rulebookListCommand(), rulebookShowCommand(), rulebookDiffCommand(),
		}},
		recomputeCommand(),
		{name: "grade", short: "正式等次：评定、更正、历史 / issue, revise, show official grades", subs: []*command{
			gradeWriteCommand(false), gradeWriteCommand(true), gradeHistoryCommand(), gradeListCommand(),
		}},
		serveCommand(),
		workerCommand(),
		{name: "token", short: "管理访问令牌 / create, list, revoke API tokens", subs: []*command{
			tokenCreateCommand(), tokenListCommand(), tokenRevokeCommand(), tokenCodeCommand(),
		}},
	}}
}

// dispatch runs the command line args against the root: the global flags
// first, then the command they name.
func dispatch(ctx context.Context, e *env, root *command, args []string) error {
	fs := flag.NewFlagSet(root.name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() {}
	e.globalFlags(fs)
	if err := fs.Parse(args); err != nil {
		root.help(e, root.name)
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return exitError{code: 2, quiet: true, err: err}
	}
	return root.dispatch(ctx, e, root.name, fs.Args())
}

// dispatch runs c, named path, with args.
func (c *command) dispatch(ctx context.Context, e *env, path string, args []string) error {
	if c.run != nil {
		return c.runLeaf(ctx, e, path, args)
	}
	i, help := c.findSub(e, args)
	if i < 0 {
		c.help(e, path)
		if help {
			return nil
		}
		return exitError{code: 2, quiet: true}
	}
	name, rest := args[i], append(append([]string(nil), args[:i]...), args[i+1:]...)
	if name == "help" { // "help", "help COMMAND…": the help of what follows
		if len(rest) == 0 {
			c.help(e, path)
			return nil
		}
		return c.dispatch(ctx, e, path, append(rest, "-h"))
	}
	for _, s := range c.subs {
		if s.name == name {
			return s.dispatch(ctx, e, path+" "+name, rest)
		}
	}
	c.help(e, path)
	if path == c.name { // the root
		return usageError("unknown command %q", name)
	}
	return usageError("unknown %s command %q", strings.TrimPrefix(path, "partyledger "), name)
}

// findSub returns the index in args of the subcommand's name — the first
// operand, skipping flags given before it and their values — and whether
// help was asked for before it.
func (c *command) findSub(e *env, args []string) (int, bool) {
	help := false
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--" && i+1 < len(args):
			return i + 1, help
		case a == "--":
			return -1, help
		case a == "-" || !strings.HasPrefix(a, "-"):
			return i, help
		}
		name, _, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		switch {
		case name == "h" || name == "help":
			help = true
		case !hasValue && c.takesValue(e, name):
			i++
		}
	}
	return -1, help
}

// takesValue reports whether name is a flag that takes a value in some
// leaf below c (or a global flag).
func (c *command) takesValue(e *env, name string) bool {
	if c.run != nil {
		fs := flag.NewFlagSet(c.name, flag.ContinueOnError)
		if c.flags != nil {
			c.flags(fs) // before the real parse: resetting c's flags is harmless
		}
		e.globalFlags(fs)
		f := fs.Lookup(name)
		if f == nil {
			return false
		}
		b, ok := f.Value.(interface{ IsBoolFlag() bool })
		return !ok || !b.IsBoolFlag()
	}
	for _, s := range c.subs {
		if s.takesValue(e, name) {
			return true
		}
	}
	return false
}

// runLeaf parses a leaf's flags (they may follow its operands) and runs it.
func (c *command) runLeaf(ctx context.Context, e *env, path string, args []string) error {
	fs := flag.NewFlagSet(path, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() {}
	if c.flags != nil {
		c.flags(fs)
	}
	e.globalFlags(fs)
	pos, err := parseFlags(fs, args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		c.help(e, path)
		return nil
	case err != nil: // the flag package has said what is wrong
		err = exitError{code: 2, quiet: true, err: err}
	default:
		err = c.check(fs, path, pos)
	}
	if err == nil {
		e.readOnly, e.remoteCmd = c.readOnly, c.remote
		err = c.run(ctx, e, pos)
	}
	if codeOf(err) == 2 {
		c.synopsis(e.stderr, path)
	}
	return err
}

// check refuses a wrong number of operands, or a blank required flag
// (the first in alphabetical order).
func (c *command) check(fs *flag.FlagSet, path string, pos []string) error {
	name := strings.TrimPrefix(path, "partyledger ")
	switch {
	case len(pos) != c.nargs && c.nargs == 0:
		return usageError("%s takes no operands, not %q", name, pos[0])
	case len(pos) != c.nargs:
		return usageError("%s takes %s", name, c.operands)
	}
	flags := make([]string, 0, len(c.required))
	for f := range c.required {
		flags = append(flags, f)
	}
	sort.Strings(flags)
	for _, f := range flags {
		if strings.TrimSpace(fs.Lookup(f).Value.String()) != "" {
			continue
		}
		if why := c.required[f]; why != "" {
			return usageError("--%s is required: %s", f, why)
		}
		return usageError("--%s is required", f)
	}
	return nil
}

// parseFlags parses args allowing flags after operands ("import FILE
// --quiet"); "--" ends the flags.
func parseFlags(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
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

// synopsis writes the one-line usage of the command named path.
func (c *command) synopsis(w io.Writer, path string) {
	args := c.args
	if args == "" && c.subs != nil {
		args = "COMMAND [flags]"
	}
	fmt.Fprintf(w, "用法 / usage: %s %s\n", path, args)
}

// help writes the command's usage: its synopsis and what it does, then
// its subcommands, or its flags (for the root, the global flags).
func (c *command) help(e *env, path string) {
	w := e.stderr
	c.synopsis(w, path)
	if c.short != "" {
		fmt.Fprintf(w, "  %s\n", c.short)
	}
	if c.long != "" {
		fmt.Fprintf(w, "\n%s\n", c.long)
	}
	if c.subs != nil {
		fmt.Fprintln(w, "\n命令 / commands:")
		var tb table
		for _, s := range c.subs {
			tb.add("  "+s.name, s.short)
		}
		tb.write(w)
	}
	fs := flag.NewFlagSet(path, flag.ContinueOnError)
	fs.SetOutput(w)
	switch {
	case c.run != nil:
		fmt.Fprintln(w, "\n参数 / flags:")
		if c.flags != nil {
			c.flags(fs) // c is not run after its help: resetting its flags is harmless
		}
		e.globalFlags(fs)
		fs.PrintDefaults()
	case path == c.name: // the root
		fmt.Fprintln(w, "\n全局参数 / global flags:")
		e.globalFlags(fs)
		fs.PrintDefaults()
	}
	if c.subs != nil {
		fmt.Fprintf(w, "\n每个命令的参数 / flags of a command: %s COMMAND -h\n", path)
	}
}
