package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"time"

	"partyledger/cmd/ledgerbench/internal/peers/bolt"
	"partyledger/cmd/ledgerbench/internal/peers/pg"
	"partyledger/cmd/ledgerbench/internal/stats"
	"partyledger/domain/democity"
	"partyledger/ledger"
	"partyledger/ledger/filestore"
	"partyledger/ledger/logtree"
)

// Run parses args, runs the benchmark and reports it.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("ledgerbench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	peersFlag := fs.String("peers", "postgres,bbolt", "peers to measure against: a comma-separated subset of postgres,bbolt, or none")
	quick := fs.Bool("quick", false, "small counts and short runs (CI): about a minute")
	out := fs.String("out", "", "write the results as JSON to this file (default: ledgerbench-results.json in a new temporary directory)")
	dir := fs.String("dir", os.TempDir(), "parent directory of the data (every store and the disk limits use it)")
	keep := fs.Bool("keep", false, "keep the data directory")
	events := fs.Int("events", 0, "events of the read store (default 1,000,000; 20,000 with --quick)")
	appendSecs := fs.Float64("append-seconds", 0, "measured seconds of each append workload (default 5; 1 with --quick)")
	only := fs.String("phases", "appends,disk,reads,reopen,years", "phases to run (for development): a subset of appends,disk,reads,reopen,years")
	cpuprofile := fs.String("cpuprofile", "", "write a CPU profile of the run to this file")
	scale := fs.String("scale", "", "instead of the comparison: a year of many organisations on one node, served by partyledger serve — province (200,000 organisations, ~70M events, ~25 GB of disk, not for CI) or city (3,000)")
	orgs := fs.Int("orgs", 0, "with --scale: this many organisations instead")
	serveMem := fs.String("serve-gomemlimit", "", "with --scale: run partyledger serve with this GOMEMLIMIT (e.g. 16GiB; default: Go's defaults)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if *scale != "" || *orgs > 0 {
		pcfg, err := provinceScale(*scale, *orgs)
		if err != nil {
			return err
		}
		pcfg.ServeMemLimit = *serveMem
		return runProvince(ctx, pcfg, *dir, *out, *keep, args, stdout, stderr)
	}
	cfg := fullConfig()
	if *quick {
		cfg = quickConfig()
	}
	if *events > 0 {
		cfg.ReadEvents = *events
	}
	if *appendSecs > 0 {
		cfg.AppendFor = time.Duration(*appendSecs * float64(time.Second))
	}
	b := &bench{cfg: cfg, log: stderr, start: time.Now()}
	for _, p := range strings.Split(*peersFlag, ",") {
		switch strings.TrimSpace(p) {
		case "postgres", "postgresql", "pg":
			b.withPG = true
		case "bbolt", "bolt":
			b.withBolt = true
		case "", "none":
		default:
			return fmt.Errorf("--peers: unknown peer %q (want postgres, bbolt)", p)
		}
	}
	if b.withPG {
		if _, err := pg.BinDir(); err != nil {
			if !cfg.Quick {
				return fmt.Errorf("%w; or run with --peers bbolt", err)
			}
			fmt.Fprintf(stdout, "PostgreSQL skipped: %v\n", err)
			b.notes = append(b.notes, "PostgreSQL skipped: not installed")
			b.withPG = false
		}
	}
	if *out == "" {
		d, err := os.MkdirTemp("", "ledgerbench-out-")
		if err != nil {
			return err
		}
		*out = filepath.Join(d, "ledgerbench-results.json")
	}
	root, err := os.MkdirTemp(*dir, "ledgerbench-")
	if err != nil {
		return err
	}
	b.root = root
	if !*keep {
		defer os.RemoveAll(root)
	}
	b.machine = describeMachine(root)
	b.logf("data in %s (%s); %d CPUs, load %s", root, b.machine.Disk, b.machine.CPUs, b.machine.LoadStart)
	if b.withPG {
		b.logf("starting PostgreSQL")
		srv, err := pg.Start(ctx, root)
		if err != nil {
			return err
		}
		defer func() {
			if err := srv.Stop(); err != nil {
				fmt.Fprintln(stderr, "ledgerbench:", err)
			}
		}()
		b.pgSrv = srv
		b.machine.Postgres = srv.Version
		b.logf("PostgreSQL %s on %s", srv.Version, srv.Dir)
	}

	phases := []struct {
		name string
		run  func(context.Context) error
	}{
		{"appends", b.appends},
		{"disk", b.disk},
		{"reads", b.reads},
		{"reopen", b.reopenBig},
		{"years", b.years},
	}
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	want := map[string]bool{}
	for _, p := range strings.Split(*only, ",") {
		want[strings.TrimSpace(p)] = true
	}
	for _, ph := range phases {
		if !want[ph.name] {
			continue
		}
		if err := ph.run(ctx); err != nil {
			return fmt.Errorf("%s: %w", ph.name, err)
		}
	}
	b.machine.LoadEnd = loadavg()

	ts := evaluate(b.results, targets(cfg))
	var tbl strings.Builder
	writeTable(&tbl, cfg, b.readEvents, b.results, ts)
	command := "go run ./cmd/ledgerbench " + strings.Join(args, " ")
	fmt.Fprintf(stdout, "\nledgerbench — %s\n\n", strings.TrimSpace(command))
	fmt.Fprintf(stdout, "machine: %d × %s, %.0f GiB, Linux %s, %s; Go %s", b.machine.CPUs, b.machine.CPUModel,
		b.machine.MemoryGiB, b.machine.Kernel, b.machine.Disk, b.machine.Go)
	if b.machine.Postgres != "" {
		fmt.Fprintf(stdout, ", PostgreSQL %s", b.machine.Postgres)
	}
	fmt.Fprintf(stdout, ", bbolt %s; load average %s at start, %s at end\n\n", b.machine.Bbolt, b.machine.LoadStart, b.machine.LoadEnd)
	fmt.Fprint(stdout, tbl.String())
	for _, n := range b.notes {
		fmt.Fprintln(stdout, "- "+n)
	}
	doc := map[string]any{
		"command": strings.TrimSpace(command), "started": b.start.UTC().Format(time.RFC3339),
		"seconds": time.Since(b.start).Seconds(), "machine": b.machine, "config": cfg,
		"results": b.results, "targets": ts, "notes": b.notes, "table_markdown": tbl.String(),
	}
	j, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(*out, append(j, '\n'), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "\nresults: %s (%.0f s)\n", *out, time.Since(b.start).Seconds())
	return nil
}

// bench is one run.
type bench struct {
	cfg      config
	log      io.Writer
	start    time.Time
	root     string
	withPG   bool
	withBolt bool
	pgSrv    *pg.Server
	machine  machine
	results  []Result
	notes    []string

	readEvents int // events in the read store, as generated
}

func (b *bench) logf(format string, args ...any) {
	fmt.Fprintf(b.log, "[%6.1fs] %s\n", time.Since(b.start).Seconds(), fmt.Sprintf(format, args...))
}

func (b *bench) add(r Result) {
	b.results = append(b.results, r)
	b.logf("%-19s %-17s %s", r.Workload, r.System, cell(r, r.Samples > 0))
}

func rateResult(workload, system, detail string, run appendRun) Result {
	return Result{Workload: workload, System: system, Detail: detail, Unit: unitRate, Value: run.rate(),
		Events: run.Events, Seconds: run.Elapsed.Seconds(), P50us: us(run.Lat.P50), P99us: us(run.Lat.P99),
		MaxUs: us(run.Lat.Max), Samples: run.Lat.N}
}

// pgStore opens a store on a new database of the PostgreSQL server.
func (b *bench) pgStore(ctx context.Context, db string) (*pg.Store, error) {
	if err := b.pgSrv.CreateDatabase(ctx, db); err != nil {
		return nil, err
	}
	return pg.Open(ctx, b.pgSrv.ConnString(db), 80)
}

// appends measures the write workloads, each next to its disk limit, and
// reading one stream from the stores they wrote.
func (b *bench) appends(ctx context.Context) error {
	cfg := b.cfg
	fsA, err := filestore.Open(filepath.Join(b.root, "fs-append"), filestore.Options{})
	if err != nil {
		return err
	}
	defer fsA.Close()
	lA := ledger.New(fsA, ledger.Options{})
	fsRaw, err := filestore.Open(filepath.Join(b.root, "fs-append-store"), filestore.Options{})
	if err != nil {
		return err
	}
	defer fsRaw.Close()
	var (
		pgA   *pg.Store
		lPG   *ledger.Ledger
		boltA *bolt.Store
		lBolt *ledger.Ledger
	)
	if b.withPG {
		if pgA, err = b.pgStore(ctx, "bench_append"); err != nil {
			return err
		}
		defer pgA.Close()
		if err := pgA.Warm(ctx, 64); err != nil {
			return err
		}
		lPG = ledger.New(pgA, ledger.Options{})
	}
	if b.withBolt {
		if boltA, err = bolt.Open(filepath.Join(b.root, "append.db")); err != nil {
			return err
		}
		defer boltA.Close()
		lBolt = ledger.New(boltA, ledger.Options{})
	}

	type job struct {
		key       string
		writers   int
		perAppend int
	}
	// A contender runs one round of a workload; the rounds of every
	// contender alternate, so that the machine's slow and fast spells
	// (the disk is shared) fall on all of them alike.
	type contender struct {
		system, detail string
		round          func(name string) (appendRun, error)
	}
	rounds := max(cfg.Rounds, 1)
	slice := cfg.AppendFor / time.Duration(rounds)
	for _, j := range []job{{"append-w01", 1, 1}, {"append-w08", 8, 1}, {"append-w64", 64, 1}, {"batch100", 1, 100}} {
		rec := frameBytes(appendStream(j.key+".r0", 0), j.perAppend)
		limDetail := fmt.Sprintf("write + fdatasync loop, %d-byte records (one frame of the embedded store)", rec)
		if j.writers > 1 {
			limDetail = fmt.Sprintf("bare group-commit loop (one write + fdatasync for all waiting), %d-byte records", rec)
		}
		measure := func(op func(name string) appendOp) func(string) (appendRun, error) {
			return func(name string) (appendRun, error) {
				return measureAppends(ctx, j.writers, j.perAppend, cfg.WarmFor, slice, op(name))
			}
		}
		cs := []contender{
			{sysLimit, limDetail, func(string) (appendRun, error) {
				run, err := rawAppends(ctx, b.root, j.writers, rec, cfg.WarmFor, slice, 0, false)
				run.Events *= int64(j.perAppend) // a record stands for perAppend events
				return run, err
			}},
			{sysOurs, "ledger.Ledger (validation, hash chain, expected revision) over ledger/filestore",
				measure(func(name string) appendOp { return ledgerOp(lA, name, j.writers, j.perAppend) })},
			{sysOursStore, "filestore.Store.Append of envelopes, no ledger",
				measure(func(name string) appendOp { return storeOp(fsRaw, name, j.writers) })},
		}
		if j.perAppend == 1 {
			cs = append(cs, contender{sysLimitPre, limDetail + ", overwriting a zero-filled file instead of appending", func(string) (appendRun, error) {
				return rawAppends(ctx, b.root, j.writers, rec, cfg.WarmFor, slice, cfg.PrefillBytes, false)
			}}, contender{sysLimitZeros, limDetail + ", overwriting a zero-filled file while another file is zero-filled as fast as records are written (2 MiB writes, fdatasync every 8 MiB), as the store prepares its next segment", func(string) (appendRun, error) {
				return rawAppends(ctx, b.root, j.writers, rec, cfg.WarmFor, slice, cfg.PrefillBytes, true)
			}})
		}
		if b.withPG {
			cs = append(cs, contender{sysPG, "ledger.Ledger over the messages table; one INSERT … SELECT … WHERE max(position) = expected statement per append",
				measure(func(name string) appendOp { return ledgerOp(lPG, name, j.writers, j.perAppend) })})
		}
		var tuning boltTuning
		var pilots map[string]float64
		if b.withBolt {
			if tuning, pilots, err = tuneBolt(ctx, boltA, lBolt, j.key, j.writers, j.perAppend, cfg.PilotFor); err != nil {
				return err
			}
			cs = append(cs, contender{sysBolt, "ledger.Ledger over bbolt, db.Batch " + tuning.String(),
				measure(func(name string) appendOp { return ledgerOp(lBolt, name, j.writers, j.perAppend) })})
		}
		runs := make([][]appendRun, len(cs))
		for r := range rounds {
			name := fmt.Sprintf("%s.r%d", j.key, r)
			for i, c := range cs {
				run, err := c.round(name)
				if err != nil {
					return fmt.Errorf("%s %s: %w", name, c.system, err)
				}
				runs[i] = append(runs[i], run)
			}
		}
		for i, c := range cs {
			res := rateResult(j.key, c.system, c.detail, mergeRuns(runs[i]))
			res.Extra = map[string]any{"rounds": rounds}
			if c.system == sysBolt {
				res.Extra["tuning"], res.Extra["pilots_events_per_s"] = tuning.String(), pilots
			}
			b.add(res)
		}
	}

	if err := b.treeUpdate(ctx, fsA, filepath.Join(b.root, "fs-append")); err != nil {
		return err
	}

	type reader struct {
		system string
		l      *ledger.Ledger
		s      ledger.Store
	}
	readers := []reader{{sysOurs, lA, fsA}}
	if b.withPG {
		readers = append(readers, reader{sysPG, lPG, pgA})
	}
	if b.withBolt {
		readers = append(readers, reader{sysBolt, lBolt, boltA})
	}
	// The stream as it grows live (one commit per event) and as an import
	// writes it (100 events per commit).
	for _, sv := range []struct {
		key, stream string
		perAppend   int
	}{
		{"read-stream", "read-stream", 1}, {"read-stream-batched", "read-stream-batched", 100},
	} {
		for _, r := range readers {
			if err := buildStream(ctx, r.l, sv.stream, cfg.StreamEvents, sv.perAppend); err != nil {
				return fmt.Errorf("%s: %w", r.system, err)
			}
		}
		b.logf("built a %d-event stream in each store, %d per commit, %d other events after each commit", cfg.StreamEvents, sv.perAppend, streamGap)
		runs := make([][]appendRun, len(readers))
		for r := range rounds {
			for i, rd := range readers {
				reads := cfg.StreamReads / rounds
				if r == 0 {
					// Warm: the first reads open connections and fill caches.
					if _, err := readStreamRun(ctx, rd.s, sv.stream, cfg.StreamEvents, 3); err != nil {
						return fmt.Errorf("read stream %s: %w", rd.system, err)
					}
				}
				run, err := readStreamRun(ctx, rd.s, sv.stream, cfg.StreamEvents, max(reads, 1))
				if err != nil {
					return fmt.Errorf("read stream %s: %w", rd.system, err)
				}
				runs[i] = append(runs[i], run)
			}
		}
		for i, rd := range readers {
			b.add(rateResult(sv.key, rd.system, "Store.ReadStream of the whole stream, full envelopes; rate = events per second of reading", mergeRuns(runs[i])))
		}
	}
	return nil
}

// treeUpdate measures the log tree's cost over what the ledger appended
// in the append workloads: the tree (ledger/logtree) opened with an empty
// hash file in the store's directory, as serve keeps it, adds every
// event as a leaf — reads it, computes its RFC 6962 hashes, writes them
// to the hash file. Appends never wait for the tree (serve brings it up
// to date when a checkpoint or proof is asked for); the targets compare
// its time per event with each append workload's: how much slower the
// appends would be if they paid for it.
func (b *bench) treeUpdate(ctx context.Context, s *filestore.Store, dir string) error {
	start := time.Now()
	tr, err := logtree.Open(ctx, s, logtree.Options{HashFile: filepath.Join(dir, logtree.HashFileName)})
	if err != nil {
		return fmt.Errorf("log tree: %w", err)
	}
	elapsed := time.Since(start)
	n := tr.Size()
	if err := tr.Close(); err != nil {
		return fmt.Errorf("log tree: %w", err)
	}
	if n != int64(s.Head()) {
		return fmt.Errorf("log tree: %d leaves, the store holds %d events", n, s.Head())
	}
	b.add(Result{Workload: "tree-update", System: sysOurs, Unit: unitRate, Value: stats.Rate(n, elapsed), Events: n, Seconds: elapsed.Seconds(),
		Detail: "logtree.Open with an empty hash file over the store of the append workloads: every event read, its leaf and interior hashes computed and written (page cache warm)"})
	return nil
}

// disk measures sequential write bandwidth.
func (b *bench) disk(ctx context.Context) error {
	bw, err := seqWrite(b.root, b.cfg.SeqWriteBytes)
	if err != nil {
		return err
	}
	b.add(Result{Workload: "seq-write", System: sysLimit, Unit: unitBytes, Value: bw,
		Detail: fmt.Sprintf("%d MiB in 1 MiB writes, then fdatasync", b.cfg.SeqWriteBytes>>20)})
	return nil
}

// reads builds a store of cfg.ReadEvents demo-city events through the
// ledger, copies the same sealed events into the peers, and measures
// reading, replaying and reopening.
func (b *bench) reads(ctx context.Context) error {
	cfg := b.cfg
	fsDir := filepath.Join(b.root, "fs-read")
	fsR, err := filestore.Open(fsDir, filestore.Options{})
	if err != nil {
		return err
	}
	closed := false
	defer func() {
		if !closed {
			fsR.Close()
		}
	}()
	lR := ledger.New(fsR, ledger.Options{})
	t0 := time.Now()
	total := 0
	for k := 0; total < cfg.ReadEvents; k++ {
		orgs := min(max((cfg.ReadEvents-total)/300, democity.MinOrgs), democity.MaxOrgs)
		lines, err := cityLines(cfg.Seed+100+int64(k), orgs, k)
		if err != nil {
			return err
		}
		lines = lines[:min(len(lines), cfg.ReadEvents-total)]
		if _, err := loadLines(ctx, lR, lines, 2); err != nil {
			return err
		}
		total += len(lines)
	}
	b.readEvents = total
	usage, err := fsR.Usage()
	if err != nil {
		return err
	}
	b.logf("read store: %d demo-city events appended through the ledger in %.1f s, %d MiB of data (%d MiB of files, zero-filled ahead)", total, time.Since(t0).Seconds(), usage.DataBytes>>20, usage.FileBytes>>20)

	var sealed []ledger.Event
	var dataBytes int64
	for e, err := range fsR.ReadAll(ctx, 0) {
		if err != nil {
			return err
		}
		sealed = append(sealed, e)
		dataBytes += int64(len(e.Data))
	}
	b.notes = append(b.notes, fmt.Sprintf("read store: %s demo-city events, payloads %.0f bytes on average (JSON), %.0f bytes per event on disk in the embedded store (its segments' frames and headers; the files, zero-filled ahead of the frames, take %.0f)",
		commas(total), float64(dataBytes)/float64(total), float64(usage.DataBytes)/float64(total), float64(usage.FileBytes)/float64(total)))
	var (
		pgR   *pg.Store
		boltR *bolt.Store
	)
	boltPath := filepath.Join(b.root, "read.db")
	if b.withPG {
		if pgR, err = b.pgStore(ctx, "bench_read"); err != nil {
			return err
		}
		defer pgR.Close()
		t0 := time.Now()
		if err := pgR.Load(ctx, sealed); err != nil {
			return err
		}
		size, _ := pgR.Size(ctx)
		b.logf("PostgreSQL: copied the same events in %.1f s, table and indexes %d MiB", time.Since(t0).Seconds(), size>>20)
	}
	if b.withBolt {
		if boltR, err = bolt.Open(boltPath); err != nil {
			return err
		}
		defer func() { boltR.Close() }()
		t0 := time.Now()
		if err := boltR.Load(sealed, 10_000); err != nil {
			return err
		}
		b.logf("bbolt: loaded the same events in %.1f s, %d MiB", time.Since(t0).Seconds(), dirBytes(boltPath)>>20)
	}
	sealed = nil

	// Read all, no decoding.
	type scanner struct {
		system, detail string
		scan           scanFunc
		header         scanFunc // header-only variant
	}
	scanners := []scanner{{sysOurs, "Store.Scan: stream, type and payload in place in the segments' read-only mappings, valid during the callback; every check made", fileScan(fsR), fileScan(fsR)}}
	mappedName := map[string]string{sysOurs: filepath.Join(fsDir, "segment-"), sysBolt: boltPath} // files read through mappings
	if b.withPG {
		scanners = append(scanners, scanner{sysPG, "SELECT * ORDER BY global_position, raw column bytes (no JSON parsing)",
			func(ctx context.Context, fn func(stream, typ, data []byte)) (int, error) {
				return pgR.Scan(ctx, false, func(_ uint64, s, t, d []byte) { fn(s, t, d) })
			},
			func(ctx context.Context, fn func(stream, typ, data []byte)) (int, error) {
				return pgR.Scan(ctx, true, func(_ uint64, s, t, d []byte) { fn(s, t, d) })
			}})
	}
	if b.withBolt {
		sc := func(ctx context.Context, fn func(stream, typ, data []byte)) (int, error) {
			return boltR.Scan(ctx, func(_ uint64, s, t, d []byte) { fn(s, t, d) })
		}
		scanners = append(scanners, scanner{sysBolt, "one read transaction, cursor over the events bucket, values in place", sc, sc})
	}
	var sink int
	fns := make([]func() error, len(scanners))
	faults := make([][]faultCount, len(scanners)) // per run: the process's page faults
	mapped := make([][]mappedKiB, len(scanners))  // per run, after it: resident and huge-page-mapped KiB
	for i, sc := range scanners {
		fns[i] = func() error {
			f0 := pageFaults()
			n, err := sc.scan(ctx, func(stream, typ, data []byte) { sink += len(data) })
			if err == nil && n != total {
				err = fmt.Errorf("read all %s: %d events, want %d", sc.system, n, total)
			}
			faults[i] = append(faults[i], pageFaults().minus(f0))
			if name := mappedName[sc.system]; name != "" {
				mapped[i] = append(mapped[i], mappedFiles(name))
			}
			return err
		}
	}
	times, err := roundRobin(cfg.ReadRuns, fns)
	if err != nil {
		return err
	}
	for i, sc := range scanners {
		best := slices.Min(times[i])
		b.add(Result{Workload: "read-all", System: sc.system, Detail: sc.detail + fmt.Sprintf("; best of %d runs", cfg.ReadRuns),
			Unit: unitRate, Value: stats.Rate(int64(total), best), Events: int64(total), Seconds: best.Seconds(),
			Extra: map[string]any{"runs_s": durationsSeconds(times[i]), "page_faults": faults[i], "mapped": mapped[i]}})
	}
	files, err := filesIn(fsDir)
	if err != nil {
		return err
	}
	segFiles, segData, err := segmentData(fsDir)
	if err != nil {
		return err
	}
	var rawBytes int64
	best, _, err := bestOf(cfg.ReadRuns, func() error {
		n, _, err := rawRead(segFiles, segData)
		rawBytes = n
		return err
	})
	if err != nil {
		return err
	}
	b.add(Result{Workload: "read-all", System: sysLimit, Unit: unitRate, Value: stats.Rate(int64(total), best),
		Seconds: best.Seconds(), Events: int64(total),
		Detail: fmt.Sprintf("1 MiB preads of the embedded store's %d MiB of data (its segments up to their free space; %.0f MiB/s), page cache warm", rawBytes>>20, stats.Rate(rawBytes, best)/(1<<20))})

	// Read all as envelopes: every field decoded into a ledger.Event that
	// the caller may keep (strings interned, payload copied out of a
	// mapped file), through each store's ReadAll.
	evScans := []scanner{{system: sysOurs, detail: "Store.ReadAll: full envelopes, payload copied out of the mapping", scan: storeScan(fsR)}}
	if b.withPG {
		evScans = append(evScans, scanner{system: sysPG, detail: "Store.ReadAll: SELECT … ORDER BY global_position, envelopes (metadata JSON)", scan: storeScan(pgR)})
	}
	if b.withBolt {
		evScans = append(evScans, scanner{system: sysBolt, detail: "Store.ReadAll: read transactions of 1,024 events, envelopes decoded, payload copied out of the mapped file", scan: storeScan(boltR)})
	}
	evFns := make([]func() error, len(evScans))
	for i, sc := range evScans {
		evFns[i] = func() error {
			n, err := sc.scan(ctx, func(stream, typ, data []byte) { sink += len(data) })
			if err == nil && n != total {
				err = fmt.Errorf("read all events %s: %d events, want %d", sc.system, n, total)
			}
			return err
		}
	}
	if times, err = roundRobin(cfg.ReadRuns, evFns); err != nil {
		return err
	}
	for i, sc := range evScans {
		best := slices.Min(times[i])
		b.add(Result{Workload: "read-all-events", System: sc.system, Detail: sc.detail + fmt.Sprintf("; best of %d runs", cfg.ReadRuns),
			Unit: unitRate, Value: stats.Rate(int64(total), best), Events: int64(total), Seconds: best.Seconds(),
			Extra: map[string]any{"runs_s": durationsSeconds(times[i])}})
	}

	// Header-only counts.
	counts := make([]*headerCounts, len(scanners))
	for i, sc := range scanners {
		fns[i] = func() error {
			counts[i] = newHeaderCounts()
			_, err := sc.header(ctx, func(stream, typ, _ []byte) { counts[i].add(stream, typ) })
			return err
		}
	}
	if times, err = roundRobin(cfg.ReadRuns, fns); err != nil {
		return fmt.Errorf("header counts: %w", err)
	}
	for i, sc := range scanners {
		h, best := counts[i], slices.Min(times[i])
		b.add(Result{Workload: "header-counts", System: sc.system, Unit: unitRate, Value: stats.Rate(int64(h.events), best),
			Events: int64(h.events), Seconds: best.Seconds(), Extra: map[string]any{"runs_s": durationsSeconds(times[i])},
			Detail: fmt.Sprintf("events per type and per stream (%d types, %d organisations, %d streams); best of %d", len(h.types), h.orgs, len(h.streams), cfg.ReadRuns)})
	}
	for i, h := range counts[1:] {
		if h.events != counts[0].events || len(h.types) != len(counts[0].types) || h.orgs != counts[0].orgs || len(h.streams) != len(counts[0].streams) {
			return fmt.Errorf("header counts of %s differ from the embedded store's", scanners[i+1].system)
		}
	}

	// Replay, decode, fold.
	type replayer struct {
		system, detail string
		s              ledger.Store
	}
	replayers := []replayer{{sysOurs, "Store.ReadAll → books.Recorded (JSON) → projections.Facts.Apply", fsR}}
	if b.withPG {
		replayers = append(replayers, replayer{sysPG, "SELECT … ORDER BY global_position → envelope (metadata JSON) → books.Recorded → Facts.Apply", pgR})
	}
	if b.withBolt {
		replayers = append(replayers, replayer{sysBolt, "read transactions of 1,024 events → books.Recorded → Facts.Apply", boltR})
	}
	for _, workers := range []int{1, 2} {
		key := fmt.Sprintf("replay-%d", workers)
		got := make([]replayResult, len(replayers))
		fns := make([]func() error, len(replayers))
		for i, r := range replayers {
			fns[i] = func() error {
				var err error
				got[i], err = replay(ctx, r.s.ReadAll(ctx, 0), workers)
				if err != nil {
					return fmt.Errorf("%s %s: %w", key, r.system, err)
				}
				return nil
			}
		}
		times, err := roundRobin(cfg.ReplayRuns, fns)
		if err != nil {
			return err
		}
		for i, r := range replayers {
			if got[i] != got[0] {
				return fmt.Errorf("%s %s folded %+v, the embedded store %+v", key, r.system, got[i], got[0])
			}
			best := slices.Min(times[i])
			b.add(Result{Workload: key, System: r.system, Unit: unitRate, Value: stats.Rate(int64(got[i].events), best),
				Events: int64(got[i].events), Seconds: best.Seconds(), Extra: map[string]any{"runs_s": durationsSeconds(times[i])},
				Detail: fmt.Sprintf("%s; %d organisations' facts; best of %d", r.detail, got[i].orgs, cfg.ReplayRuns)})
		}
	}

	// Reopen.
	if err := fsR.Close(); err != nil {
		return err
	}
	closed = true
	reopen := func(open func() (io.Closer, error)) ([]time.Duration, error) {
		var ds []time.Duration
		for range cfg.ReopenRuns {
			t0 := time.Now()
			c, err := open()
			if err != nil {
				return nil, err
			}
			ds = append(ds, time.Since(t0))
			if err := c.Close(); err != nil {
				return nil, err
			}
		}
		slices.Sort(ds)
		return ds, nil
	}
	ds, err := reopen(func() (io.Closer, error) { return filestore.Open(fsDir, filestore.Options{}) })
	if err != nil {
		return err
	}
	b.add(Result{Workload: "reopen", System: sysOurs, Unit: unitSeconds, Value: ds[len(ds)/2].Seconds(), Seconds: ds[len(ds)/2].Seconds(),
		Events: int64(total), Detail: fmt.Sprintf("filestore.Open: the segments' index files loaded, the last frame of each checked; median of %d", len(ds))})
	if b.withBolt {
		if err := boltR.Close(); err != nil {
			return err
		}
		ds, err := reopen(func() (io.Closer, error) {
			s, err := bolt.Open(boltPath)
			boltR = s
			return s, err
		})
		if err != nil {
			return err
		}
		boltR, err = bolt.Open(boltPath) // for the deferred close
		if err != nil {
			return err
		}
		b.add(Result{Workload: "reopen", System: sysBolt, Unit: unitSeconds, Value: ds[len(ds)/2].Seconds(), Seconds: ds[len(ds)/2].Seconds(),
			Events: int64(total), Detail: fmt.Sprintf("bolt.Open (free list rebuilt from the pages); median of %d", len(ds))})
	}
	best, _, err = bestOf(cfg.ReopenRuns, func() error { _, _, err := rawRead(files, nil); return err })
	if err != nil {
		return err
	}
	b.add(Result{Workload: "reopen", System: sysLimit, Unit: unitSeconds, Value: best.Seconds(), Seconds: best.Seconds(),
		Detail: "1 MiB preads of the store's files (the free space Open checks included), page cache warm"})
	return nil
}

func durationsSeconds(ds []time.Duration) []float64 {
	out := make([]float64, len(ds))
	for i, d := range ds {
		out[i] = d.Seconds()
	}
	return out
}

// years measures scoring from facts on generated years.
func (b *bench) years(ctx context.Context) error {
	cfg := b.cfg
	for _, y := range []struct {
		key  string
		orgs int
		seed int64
		past bool
	}{{"score-all-small", cfg.YearSmall, cfg.Seed, true}, {"score-all-large", cfg.YearLarge, cfg.Seed + 1000, false}} {
		dir := filepath.Join(b.root, y.key)
		yr, err := buildYear(ctx, dir, y.orgs, y.seed)
		if err != nil {
			return fmt.Errorf("%s: %w", y.key, err)
		}
		b.logf("year of %s organisations: %s events appended in %.1f s, facts folded in %.1f s",
			commas(y.orgs), commas(yr.events), yr.load.Seconds(), yr.fold.Seconds())
		err = func() error {
			defer yr.store.Close()
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			runs, err := yr.scoreAll(ctx, cfg.ScoreAllRuns)
			if err != nil {
				return err
			}
			runtime.ReadMemStats(&after)
			med := runs[len(runs)/2]
			b.add(Result{Workload: y.key, System: sysOurs, Unit: unitSeconds, Value: med.Seconds(), Seconds: med.Seconds(),
				Events: int64(yr.events),
				Detail: fmt.Sprintf("scoreboard.Board.ScoreAll over live facts (%s events folded in %.1f s); median of %d, best %.3f s; %d GCs over a %d MiB heap during the runs",
					commas(yr.events), yr.fold.Seconds(), len(runs), runs[0].Seconds(), after.NumGC-before.NumGC, before.HeapAlloc>>20),
				Extra: map[string]any{"runs_s": durationsSeconds(runs), "heap_before_mib": before.HeapAlloc >> 20,
					"gc_cycles": after.NumGC - before.NumGC, "gc_pause_total_ms": float64(after.PauseTotalNs-before.PauseTotalNs) / 1e6,
					"gc_cpu_fraction": after.GCCPUFraction}})
			if y.past {
				sum, err := yr.scorePast(ctx, cfg.PastSamples, uint64(cfg.Seed))
				if err != nil {
					return err
				}
				b.add(Result{Workload: "score-past", System: sysOurs, Unit: unitSeconds, Value: sum.P99.Seconds(),
					P50us: us(sum.P50), P99us: us(sum.P99), MaxUs: us(sum.Max), Samples: sum.N,
					Detail: fmt.Sprintf("scoreboard.Board.Score at a random instant inside a random organisation's history (replay of its stream prefix) in the %s-organisation year; value = p99", commas(y.orgs))})
			}
			return nil
		}()
		if err != nil {
			return fmt.Errorf("%s: %w", y.key, err)
		}
		if err := os.RemoveAll(dir); err != nil {
			return err
		}
	}
	return nil
}
