// Command ledgerbench measures the embedded store (ledger/filestore through
// ledger.Ledger) against the stores users would otherwise keep the ledger
// in — PostgreSQL with a Message-DB-style table and a bbolt file — and
// against the disk itself, all in the same run on the same machine, and
// reports each figure as a ratio.
//
// Usage:
//
//	go run ./cmd/ledgerbench [--peers postgres,bbolt] [--quick] [--out FILE] [--dir DIR]
//	go run ./cmd/ledgerbench --scale province|city [--orgs N] [--serve-gomemlimit 16GiB] [--out FILE] [--dir DIR]
//
// It prints a Markdown table and the targets met or missed, and writes
// every measurement as JSON to --out (by default ledgerbench-results.json
// in a new temporary directory, whose path it prints). PostgreSQL is
// started from Debian's postgresql package on a unix socket in a temporary
// directory, as a dedicated OS user when run as root, and stopped at the
// end, also on failure or interrupt. The program fails only when something
// breaks, never because a target is missed.
//
// With --scale (or --orgs) it measures one node at scale instead: a year
// of many organisations (province: 200,000, about 71M events; city:
// 3,000) imported into the embedded store, reopened, folded and scored,
// then served by a real partyledger serve process under 64 HTTP clients
// (province.go, serveproc.go). The province run needs about 25 GB of disk
// and an hour or more on two cores; it is not run in CI, a test runs the
// same path on 200 organisations.
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
