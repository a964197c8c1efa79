// Command partyledger is the event-sourced audit ledger of party-building
// work (党建台账): import and record activities, replay and export the
// journal, verify the hash chains, score organisations under the rubric,
// and serve the API and web pages.
//
// Usage: partyledger [--data DIR | --store URL] COMMAND [flags]
//
// The command is thin: main sets up signals and calls Run; command.go is
// the one command type and dispatcher, env.go the one place that opens
// the store and closes it (reporting what fails, as it does for standard
// output), and each leaf command lives in a file of its own. What is not
// about the command line lives elsewhere: the rulebook file parser in
// domain (ParseRulebookFile), the rule for restoring sealed lines in the
// ledger (Ledger.Restore).
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := Run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		var ee exitError
		if !errors.As(err, &ee) || !ee.quiet {
			fmt.Fprintln(os.Stderr, "partyledger:", err)
		}
		os.Exit(codeOf(err))
	}
}

// Run runs the command line args (without the program name).
func Run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	e := &env{stdin: stdin, stdout: stdout, stderr: stderr, getenv: os.Getenv, now: time.Now}
	return e.run(ctx, args)
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

// codeOf is the exit code of err: 0 for none, the exitError's code, or 1.
func codeOf(err error) int {
	var ee exitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee) && ee.code != 0:
		return ee.code
	}
	return 1
}
