package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"partyledger/api"
	"partyledger/ledger"
	"partyledger/ledger/books"
	"partyledger/ledger/esdb"
	"partyledger/ledger/filestore"
	"partyledger/ledger/logtree"
	"partyledger/projections/scoreboard"
	"partyledger/projections/workers"
)

// env is what a command runs with: the standard streams, the process
// environment and clock, the global flags, and the ledger — opened on a
// command's first use and closed, like standard output flushed, by run.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer // stdout is buffered while a command runs: a failed write sticks and run reports it
	getenv         func(string) string
	now            func() time.Time

	data      string // --data: the embedded store's directory
	dataGiven bool   // --data or PARTYLEDGER_DATA was given
	store     string // --store: a server store's URL
	ids       string // --ids: where a server store looks event ids up ("" or "global", "per-stream")
	readOnly  bool   // the running command only reads the ledger
	remoteCmd bool   // the running command writes through --server when it is given
	server    string // --server: a running server's base URL, to write through its API
	token     string // --token: the API token for --server

	// storeSync, set by serve before the store is opened, hears of the
	// embedded store's commit syncs for /metrics.
	storeSync *api.StoreSyncMetric

	flush  func() error // flushes stdout
	bk     *books.Books
	lt     *logtree.Tree   // the log tree over bk, opened by tree on first use
	est    *esdb.Store     // the server store, when --store names one
	reader *workers.Reader // over est's facts snapshots, with --ids per-stream
}

// run runs one command line, then flushes standard output and closes the
// log tree and the ledger: their errors are the command's when it had none, and are
// printed beside its own otherwise, never dropped.
func (e *env) run(ctx context.Context, args []string) error {
	e.data, e.store, e.ids = e.getenv("PARTYLEDGER_DATA"), e.getenv("PARTYLEDGER_STORE"), e.getenv("PARTYLEDGER_IDS")
	e.dataGiven = e.data != ""
	e.server, e.token = e.getenv("PARTYLEDGER_SERVER"), e.getenv("PARTYLEDGER_TOKEN")
	if e.data == "" {
		e.data = "./partyledger-data"
	}
	out := bufio.NewWriterSize(e.stdout, 64<<10)
	e.stdout, e.flush = out, out.Flush
	err := dispatch(ctx, e, commands(), args)
	var teardown []error
	if ferr := e.flush(); ferr != nil {
		teardown = append(teardown, fmt.Errorf("write standard output: %w", ferr))
	}
	if e.lt != nil { // before the store it reads
		if cerr := e.lt.Close(); cerr != nil {
			teardown = append(teardown, fmt.Errorf("close the log tree: %w", cerr))
		}
		e.lt = nil
	}
	if e.bk != nil {
		if cerr := e.bk.Close(); cerr != nil {
			teardown = append(teardown, fmt.Errorf("close the store: %w", cerr))
		}
		e.bk = nil
	}
	if err == nil {
		return errors.Join(teardown...)
	}
	for _, t := range teardown {
		fmt.Fprintln(e.stderr, "partyledger:", t)
	}
	return err
}

// globalFlags registers --data and --store on fs, but only the names the
// command does not use itself (record's --data is its event's JSON): the
// globals go before the command, and after it where nothing clashes.
func (e *env) globalFlags(fs *flag.FlagSet) {
	if fs.Lookup("data") == nil {
		fs.Var(globalFlag{&e.data, &e.dataGiven}, "data", "the embedded store's data directory `DIR` (env PARTYLEDGER_DATA)")
	}
	if fs.Lookup("server") == nil {
		fs.Var(globalFlag{&e.server, nil}, "server", "a running server's base `URL`: the write commands (record, import, token create/revoke/code, grade issue/revise, rulebook publish) write through its API (env PARTYLEDGER_SERVER)")
	}
	if fs.Lookup("token") == nil {
		fs.Var(globalFlag{&e.token, nil}, "token", "the API `TOKEN` for --server (env PARTYLEDGER_TOKEN)")
	}
	if fs.Lookup("store") == nil {
		fs.Var(globalFlag{&e.store, nil}, "store", "the `URL` of a server store, e.g. esdb://host:2113?tls=false (env PARTYLEDGER_STORE); empty: the embedded store in --data")
	}
	if fs.Lookup("ids") == nil {
		fs.Var(globalFlag{&e.ids, nil}, "ids", "with --store, where event ids are checked, `SCOPE`: global (an index of every id, read from all of $all at start) or per-stream "+
			"(in their own stream, nothing of $all read; scores and rankings from the projection workers' facts snapshots) (env PARTYLEDGER_IDS; default global, per-stream for worker)")
	}
}

// perStream reports whether the server store keeps event ids per stream
// (--ids per-stream): then nothing reads $all, and scores come from the
// projection workers' snapshots.
func (e *env) perStream() bool { return e.ids == esdb.IDsPerStream.String() }

// idScope is the server store's id scope that --ids names.
func (e *env) idScope() (esdb.IDScope, error) {
	switch e.ids {
	case "", esdb.IDsGlobal.String():
		return esdb.IDsGlobal, nil
	case esdb.IDsPerStream.String():
		return esdb.IDsPerStream, nil
	}
	return 0, usageError("--ids %q: want global or per-stream", e.ids)
}

// globalFlag sets a global without resetting it to a default when it is
// registered on a second flag set.
type globalFlag struct {
	p     *string
	given *bool
}

func (f globalFlag) String() string {
	if f.p == nil {
		return ""
	}
	return *f.p
}

func (f globalFlag) Set(s string) error {
	*f.p = s
	if f.given != nil {
		*f.given = true
	}
	return nil
}

// books returns the ledger the global flags select, opening it on first
// use: the embedded store in --data, or the server store --store names.
// run closes it.
func (e *env) books(ctx context.Context) (*books.Books, error) {
	if e.bk != nil {
		return e.bk, nil
	}
	if e.remoteCmd && e.server != "" {
		// A write command given --server writes through the API; opening
		// a ledger here would write a local one (./partyledger-data by
		// default) instead of the server's.
		return nil, fmt.Errorf("--server %s is given: this command writes through the server's API, not into a local store", e.server)
	}
	var st ledger.Store
	scope, err := e.idScope()
	if err != nil {
		return nil, err
	}
	switch {
	case e.store == "" && scope == esdb.IDsPerStream:
		return nil, usageError("--ids %s is for a server store (--store esdb://…); the embedded store keeps its own index", e.ids)
	case e.store == "":
		var fo filestore.Options
		if e.storeSync != nil {
			fo.SyncObserver = e.storeSync.Observe
		}
		fst, err := filestore.Open(e.data, fo)
		if errors.Is(err, filestore.ErrLocked) {
			if !e.readOnly {
				return nil, lockedError(e.data)
			}
			// Beside a running server: read what it has committed, as
			// of now, without the lock and without writing anything.
			fst, err = filestore.OpenReadOnly(e.data, filestore.Options{})
			if err == nil {
				fmt.Fprintf(e.stderr, "partyledger: %s is held by another process (a running server?): read-only, events committed up to position %d\n", e.data, fst.Head())
			}
		}
		if err != nil {
			return nil, fmt.Errorf("open the embedded store in %s: %w", e.data, err)
		}
		st = fst
	case strings.HasPrefix(e.store, "esdb://"), strings.HasPrefix(e.store, "esdb+discover://"):
		est, err := esdb.Open(ctx, e.store, esdb.Options{IDs: scope})
		if err != nil {
			return nil, fmt.Errorf("open the EventStoreDB store %s: %w", e.store, err)
		}
		st, e.est = est, est
	default:
		return nil, usageError("--store %q: want esdb://host:2113?tls=false (or esdb+discover://…); leave it empty for the embedded store", e.store)
	}
	e.bk = books.New(ledger.New(st, ledger.Options{Clock: e.now}))
	// Grades and designations are checked against the computation: a
	// board over the books is it (scoreboard.New registers itself).
	scoreboard.New(e.bk, e.boardOptions())
	return e.bk, nil
}

// boardOptions are the options of a scoreboard over the books: with
// --ids per-stream a board over the projection workers' facts snapshots,
// which holds no live facts and reads nothing of $all (one Reader, and
// its cache, per process). Call after books.
func (e *env) boardOptions() scoreboard.Options {
	o := scoreboard.Options{Now: e.now}
	if e.est != nil && e.perStream() {
		if e.reader == nil {
			e.reader = workers.NewReader(e.est, e.bk, workers.ReaderOptions{Now: e.now})
		}
		o.Snapshots = e.reader
	}
	return o
}

// lockedError is a write command's answer when another process (a
// running server) holds the embedded store.
func lockedError(dir string) error {
	return exitError{code: 1, err: fmt.Errorf("the data directory %s is held by a running server; give --server URL and --token (or PARTYLEDGER_SERVER, PARTYLEDGER_TOKEN) to record through its API", dir)}
}

// scoreboard returns the ledger and a scoreboard over it.
func (e *env) scoreboard(ctx context.Context) (*books.Books, *scoreboard.Board, error) {
	bk, err := e.books(ctx)
	if err != nil {
		return nil, nil, err
	}
	return bk, scoreboard.New(bk, e.boardOptions()), nil
}

// writeJSON writes v as one line of JSON, HTML left unescaped.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}
