package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"strconv"
	"sync"
	"time"

	"partyledger/ledger/esdb"
	"partyledger/projections/workers"
)

// workerCommand runs one projection worker on a server store until
// interrupted: it joins the workers' persistent subscription group
// (created when missing) and keeps each organisation's facts snapshot up
// to date, for the serve nodes with --ids per-stream to score from.
func workerCommand() *command {
	var c struct {
		group, name                                string
		linger, minInterval, messageTimeout, every time.Duration
	}
	return &command{
		name:  "worker",
		args:  "--store esdb://… [--group NAME] [--name ID] [--linger 500ms] [--min-interval 0s] [--message-timeout 30s] [--every 10s]",
		short: "投影工作进程：保持各组织的事实快照 / projection worker: keep every organisation's facts snapshot (esdb)",
		flags: func(fs *flag.FlagSet) {
			fs.StringVar(&c.group, "group", workers.DefaultGroup, "the workers' persistent subscription group `NAME` (created when missing; every worker of a ledger joins the same)")
			fs.StringVar(&c.name, "name", "", "this worker's `ID`, in its log lines and the snapshots it writes (default HOSTNAME-PID)")
			fs.DurationVar(&c.linger, "linger", workers.DefaultLinger, "wait after an organisation's first new event before folding, so events recorded together make one snapshot")
			fs.DurationVar(&c.minInterval, "min-interval", 0, "least time between two snapshots of one organisation (e.g. 5m); keep it below --message-timeout")
			fs.DurationVar(&c.messageTimeout, "message-timeout", esdb.DefaultMessageTimeout, "when the group is created: how long the server waits for an acknowledgement before sending an event to another worker; above --linger and --min-interval plus a fold")
			fs.DurationVar(&c.every, "every", 10*time.Second, "print progress this often (only when something was written)")
		},
		run: func(ctx context.Context, e *env, _ []string) error {
			if e.store == "" {
				return usageError("worker runs on a server store: give --store esdb://host:2113 (or PARTYLEDGER_STORE)")
			}
			if c.every <= 0 {
				return usageError("--every %v: want a positive duration", c.every)
			}
			if c.minInterval > 0 && c.minInterval >= c.messageTimeout {
				return usageError("--min-interval %v must be below --message-timeout %v: events held longer are sent to another worker", c.minInterval, c.messageTimeout)
			}
			if e.ids == "" {
				e.ids = esdb.IDsPerStream.String() // a worker reads streams only: no id index to load
			}
			if _, err := e.books(ctx); err != nil {
				return err
			}
			name := c.name
			if name == "" {
				host, _ := os.Hostname()
				name = host + "-" + strconv.Itoa(os.Getpid())
			}
			if err := workers.EnsureGroup(ctx, e.est, c.group, c.messageTimeout); err != nil {
				return fmt.Errorf("the workers' group %s: %w", c.group, err)
			}
			return runWorker(ctx, e, workers.Options{Name: name, Group: c.group, Linger: c.linger, MinInterval: c.minInterval}, c.every)
		},
	}
}

// workerProgress counts what a worker wrote: the worker's goroutine
// adds, the command's prints.
type workerProgress struct {
	mu        sync.Mutex
	snapshots int
	events    int
	orgs      map[string]bool
	last      string // the organisation last written
	lastRev   uint64
}

func (p *workerProgress) written(org, _ string, rev uint64, folded int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.snapshots++
	p.events += folded
	p.orgs[org] = true
	p.last, p.lastRev = org, rev
}

// line is the progress so far, and whether anything was written since
// the count seen (which it returns for the next call).
func (p *workerProgress) line(seen int) (string, int, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	zh := fmt.Sprintf("已写快照 %d 个（%d 个组织，折叠 %d 个事件）", p.snapshots, len(p.orgs), p.events)
	en := fmt.Sprintf("%d snapshots written (%d organisations, %d events folded)", p.snapshots, len(p.orgs), p.events)
	if p.last != "" {
		zh += fmt.Sprintf("，最近 %s 至修订号 %d", p.last, p.lastRev)
		en += fmt.Sprintf(", last %s up to revision %d", p.last, p.lastRev)
	}
	s := zh + " / " + en
	return s, p.snapshots, p.snapshots != seen
}

// runWorker runs the worker until ctx ends (SIGINT or SIGTERM), printing
// its progress every so often. A stop acknowledges nothing more: what
// the worker holds unacknowledged is sent again by the server, to
// another worker or to this one when it restarts, which finds its
// snapshot written or still to write.
func runWorker(ctx context.Context, e *env, opts workers.Options, every time.Duration) error {
	p := &workerProgress{orgs: map[string]bool{}}
	opts.Written = p.written
	opts.Log = func(format string, args ...any) {
		fmt.Fprintf(e.stderr, "partyledger worker: "+format+"\n", args...)
	}
	w := workers.New(e.est, opts)
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	fmt.Fprintf(e.stdout, "投影工作进程 %s 已加入组 %s / worker %s joined group %s on %s\n", opts.Name, opts.Group, opts.Name, opts.Group, e.store)
	if err := e.flush(); err != nil {
		return fmt.Errorf("write standard output: %w", err)
	}
	tick := time.NewTicker(every)
	defer tick.Stop()
	seen := 0
	for {
		select {
		case <-tick.C:
			s, n, changed := p.line(seen)
			if !changed {
				continue
			}
			seen = n
			fmt.Fprintln(e.stdout, s)
			if err := e.flush(); err != nil {
				return fmt.Errorf("write standard output: %w", err)
			}
		case err := <-done:
			s, _, _ := p.line(seen)
			switch {
			case ctx.Err() != nil && errors.Is(err, ctx.Err()):
				fmt.Fprintf(e.stdout, "投影工作进程已停止 / worker stopped: %s\n", s)
				return nil
			case errors.Is(err, esdb.ErrGroupNotFound):
				fmt.Fprintln(e.stdout, s)
				return fmt.Errorf("the group %s was deleted while the worker ran (create it again: run the worker again): %w", opts.Group, err)
			}
			fmt.Fprintln(e.stdout, s)
			return fmt.Errorf("worker %s: %w", opts.Name, err)
		}
	}
}
