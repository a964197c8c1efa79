// Command ledgerbench measures the embedded store (ledger/filestore through
// ledger.Ledger) against the stores users would otherwise keep the ledger
// in — PostgreSQL with a Message-DB-style table and a bbolt file — and
// against the disk itself, all in the same run on the same machine, and
// reports each figure as a ratio.
//
// Usage:
//
//	go run ./cmd/ledgerbench [--peers postgres,bbolt] [--quick] [--out FILE] [--dir DIR]
//
// It prints a Markdown table and the targets met or missed, and writes
// every measurement as JSON to --out (by default ledgerbench-results.json
// in a new temporary directory, whose path it prints). PostgreSQL is
// started from Debian's postgresql package on a unix socket in a temporary
// directory, as a dedicated OS user when run as root, and stopped at the
// end, also on failure or interrupt. The program fails only when something
// breaks, never because a target is missed.
//
// A separate command, so that the peers' drivers stay out of partyledger.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := Run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "ledgerbench:", err)
		os.Exit(1)
	}
}
