package main

// The province run (ledgerbench --scale province): a year of 200,000
// organisations on one node, on the embedded store, served by a real
// partyledger serve process. See provinceRun for the steps.

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"syscall"
	"time"

	"partyledger/api"
	"partyledger/domain"
	"partyledger/ledger"
	"partyledger/ledger/books"
	"partyledger/ledger/filestore"
	"partyledger/projections"
)

// provinceConfig sizes a province run.
type provinceConfig struct {
	Scale        string        `json:"scale"`
	Orgs         int           `json:"orgs"`
	Seed         int64         `json:"seed"`
	Loaders      int           `json:"loaders"`        // goroutines appending while importing
	ReopenRuns   int           `json:"reopen_runs"`    // filestore.Open of the imported store (the facts step's is the last)
	ScoreAllRuns int           `json:"score_all_runs"` // Board.ScoreAll over the live facts
	FactsSample  int           `json:"facts_sample"`   // organisations whose facts are encoded (MarshalBinary)
	TokenOrgs    int           `json:"token_orgs"`     // organisations the load uses, one branch token each
	Clients      int           `json:"clients"`        // concurrent HTTP clients
	WarmFor      time.Duration `json:"warm_for_ns"`    // unmeasured lead-in of each load workload
	LoadFor      time.Duration `json:"load_for_ns"`    // measured time of each load workload
	ReadyTimeout time.Duration `json:"ready_timeout_ns"`
	// ServeMemLimit is GOMEMLIMIT for serve; empty: Go's defaults.
	ServeMemLimit string `json:"serve_gomemlimit,omitempty"`
}

// provinceScales are the named sizes of --scale.
var provinceScales = map[string]provinceConfig{
	// A province: 200,000 organisations, about 71M events. Not in CI.
	"province": {Orgs: 200_000, ReopenRuns: 2, ScoreAllRuns: 3, FactsSample: 1000, TokenOrgs: 1000,
		WarmFor: 3 * time.Second, LoadFor: 30 * time.Second, ReadyTimeout: 2 * time.Hour},
	// One demo city of 3,000 organisations, about 1M events: minutes.
	"city": {Orgs: 3000, ReopenRuns: 3, ScoreAllRuns: 5, FactsSample: 300, TokenOrgs: 1000,
		WarmFor: time.Second, LoadFor: 10 * time.Second, ReadyTimeout: 30 * time.Minute},
}

func provinceScale(scale string, orgs int) (provinceConfig, error) {
	if scale == "" {
		scale = "city"
	}
	cfg, ok := provinceScales[scale]
	if !ok {
		return provinceConfig{}, fmt.Errorf("--scale %q: want province or city", scale)
	}
	cfg.Scale = scale
	if orgs > 0 {
		cfg.Orgs = orgs
	}
	if cfg.Orgs < 3 {
		return provinceConfig{}, fmt.Errorf("--orgs %d: at least 3 (one of each kind of organisation)", cfg.Orgs)
	}
	cfg.Seed, cfg.Loaders, cfg.Clients = 2016, 2, 64
	cfg.FactsSample = min(cfg.FactsSample, cfg.Orgs)
	cfg.TokenOrgs = min(cfg.TokenOrgs, cfg.Orgs)
	return cfg, nil
}

// Disk needed per event: the store's ≈ 216 bytes (measured at the demo
// city's mix), the log tree's hash file that serve writes beside it (two
// 36-byte records per event) and slack for preallocation and the
// appends; estimated events per organisation: the demo city's 355 and
// some.
const (
	provinceBytesPerEvent  = 216 + 72 + 32
	provinceEventsPerOrg   = 360
	provinceDiskMarginFrac = 10 // percent
)

// provinceDiskNeed estimates the bytes a run of orgs organisations writes.
func provinceDiskNeed(orgs int) int64 {
	n := int64(orgs) * provinceEventsPerOrg * provinceBytesPerEvent
	return n + n*provinceDiskMarginFrac/100
}

// checkDisk refuses a run that would not fit in dir's file system.
func checkDisk(dir string, orgs int) (free, need int64, err error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return 0, 0, fmt.Errorf("free space of %s: %w", dir, err)
	}
	free = int64(st.Bavail) * int64(st.Bsize)
	need = provinceDiskNeed(orgs)
	if free < need {
		return free, need, fmt.Errorf("not enough disk space in %s: %s organisations need about %.1f GB (≈ %s events × %d bytes: the store, the log tree's hash file, %d%% margin), only %.1f GB is free; give --dir on a larger file system or fewer --orgs",
			dir, commas(orgs), gb(need), commas(orgs*provinceEventsPerOrg), provinceBytesPerEvent, provinceDiskMarginFrac, gb(free))
	}
	return free, need, nil
}

func gb(n int64) float64  { return float64(n) / 1e9 }
func gib(n int64) float64 { return float64(n) / (1 << 30) }

// provinceResult is every measurement of a province run. The test checks
// that each is present and plausible.
type provinceResult struct {
	Orgs int `json:"orgs"`

	// Import: the demo cities' journals appended through ledger.Ledger.
	Cities          int     `json:"cities"`
	EventsImported  int64   `json:"events_imported"` // acknowledged by the ledger
	EventsInStore   int64   `json:"events_in_store"` // the store's head after the import
	ImportSeconds   float64 `json:"import_seconds"`  // appending only
	GenerateSeconds float64 `json:"generate_seconds"`
	ImportRate      float64 `json:"import_events_per_s"`
	ImportPeakRSS   int64   `json:"import_vmhwm_bytes"` // ledgerbench's own peak so far
	TokenEvents     int64   `json:"token_events"`       // events issuing the load's tokens wrote
	AppendsAcked    int64   `json:"appends_acknowledged"`

	// Disk, after the import (before serve writes its hash file).
	PayloadBytes   int64   `json:"payload_bytes"`   // the events' JSON data
	FileBytes      int64   `json:"file_bytes"`      // sizes of the store's files
	AllocatedBytes int64   `json:"allocated_bytes"` // blocks the file system allocated for them
	HashFileBytes  int64   `json:"hash_file_bytes"` // the log tree's hash file serve wrote
	PayloadPerEv   float64 `json:"payload_bytes_per_event"`
	FilePerEv      float64 `json:"file_bytes_per_event"`
	AllocPerEv     float64 `json:"allocated_bytes_per_event"`

	// Reopen: filestore.Open of the imported store.
	ReopenSeconds []float64 `json:"reopen_seconds"` // every run, in order
	ReopenMedian  float64   `json:"reopen_median_seconds"`

	// Facts, in this process: the scoreboard's fold over the store.
	StoreHeapBytes   int64     `json:"store_heap_bytes"` // live heap of the open store and ledger, before folding
	FoldSeconds      float64   `json:"fold_seconds"`
	FoldRate         float64   `json:"fold_events_per_s"`
	FactsHeapBytes   int64     `json:"facts_heap_bytes"` // live heap the folded board added
	FactsPerOrg      float64   `json:"facts_heap_bytes_per_org"`
	FactsPerEvent    float64   `json:"facts_heap_bytes_per_event"`
	SnapshotPerOrg   float64   `json:"facts_snapshot_bytes_per_org"` // MarshalBinary, sampled
	SnapshotPerEvent float64   `json:"facts_snapshot_bytes_per_event"`
	SnapshotSample   int       `json:"facts_snapshot_sample"`
	ScoredOrgs       int       `json:"scored_orgs"`
	CardBytes        float64   `json:"scorecard_heap_bytes"` // live heap of one scorecard, over a chunk
	ScoreAllSeconds  []float64 `json:"score_all_seconds"`    // sorted
	ScoreAllMedian   float64   `json:"score_all_median_seconds"`
	BenchPeakRSS     int64     `json:"ledgerbench_vmhwm_bytes"`

	// Rankings through serve (GET /v1/scorecards), after the loads: the
	// top level and every organisation, and serve's memory after them.
	Rankings            []rankingRun `json:"rankings"`
	ServeRSSAfterRank   int64        `json:"serve_rss_after_rankings_bytes"`
	ServeHWMAfterRank   int64        `json:"serve_vmhwm_after_rankings_bytes"`
	ServeSplitAfterRank memSplit     `json:"serve_split_after_rankings"`

	// serve: a partyledger serve process on the data directory.
	Serve   serveStart `json:"serve"`   // first start: builds the log tree's hash file
	Restart serveStart `json:"restart"` // second start, after the loads, with Go's default GC settings

	Reads   loadSummary `json:"scorecard_reads"`
	Appends loadSummary `json:"appends"`
	// ServeAfterLoad is serve's memory after both loads.
	ServeRSSAfterLoad   int64    `json:"serve_rss_after_load_bytes"`
	ServeVmHWMAfterLoad int64    `json:"serve_vmhwm_after_load_bytes"`
	ServeSplitAfterLoad memSplit `json:"serve_split_after_load"`
}

// serveStart is one start of partyledger serve.
type serveStart struct {
	ReadySeconds float64  `json:"ready_seconds"` // process start to listening with every organisation's facts folded
	Position     uint64   `json:"position"`      // /healthz position when ready
	RSS          int64    `json:"rss_bytes"`     // VmRSS when ready
	VmHWM        int64    `json:"vmhwm_bytes"`   // peak RSS up to ready
	Split        memSplit `json:"split"`         // when ready
	// Killed says why the watchdog stopped serve before it was ready
	// (the machine ran out of memory); RSS and VmHWM are then serve's
	// when it was killed.
	Killed string `json:"killed,omitempty"`
}

// loadSummary is one workload of 64 clients against serve.
type loadSummary struct {
	Clients  int      `json:"clients"`
	Requests int      `json:"requests"` // measured, all answered as expected
	Errors   int      `json:"errors"`
	FirstErr []string `json:"first_errors,omitempty"`
	Seconds  float64  `json:"seconds"`
	Rate     float64  `json:"requests_per_s"`
	P50us    float64  `json:"p50_us"`
	P99us    float64  `json:"p99_us"`
	MaxUs    float64  `json:"max_us"`
}

// provinceRun is one run: its configuration, where it writes, and what it
// measured so far.
type provinceRun struct {
	cfg   provinceConfig
	root  string // data directory's parent: the store, the binary, serve's log
	data  string // the store
	log   io.Writer
	start time.Time
	res   provinceResult

	tokens    []loadOrg // the organisations of the load, with their tokens
	rankToken string    // an assessor's, for GET /v1/scorecards
}

// loadOrg is one organisation the load reads and appends to.
type loadOrg struct {
	code      string
	token     string
	attendees []string // members, for the appended study sessions
}

func (p *provinceRun) logf(format string, args ...any) {
	fmt.Fprintf(p.log, "[%6.1fs] %s\n", time.Since(p.start).Seconds(), fmt.Sprintf(format, args...))
}

// runProvince is ledgerbench --scale/--orgs: it builds a year of
// cfg.Orgs organisations in a new directory under parent, measures it and
// the serve process over it, prints the table and writes the JSON to out.
// It deletes the data unless keep. A failed request of the load fails the
// run after the table is printed and the JSON written.
func runProvince(ctx context.Context, cfg provinceConfig, parent, out string, keep bool, args []string, stdout, stderr io.Writer) error {
	p := &provinceRun{cfg: cfg, log: stderr, start: time.Now()}
	free, need, err := checkDisk(parent, cfg.Orgs)
	if err != nil {
		return err
	}
	if out == "" {
		d, err := os.MkdirTemp("", "ledgerbench-out-")
		if err != nil {
			return err
		}
		out = filepath.Join(d, "ledgerbench-province.json")
	}
	root, err := os.MkdirTemp(parent, "ledgerbench-province-")
	if err != nil {
		return err
	}
	if !keep {
		defer os.RemoveAll(root)
	}
	p.root, p.data = root, filepath.Join(root, "data")
	mach := describeMachine(root)
	p.logf("%s organisations in %s (%s): about %.1f GB needed, %.1f GB free; %d CPUs, %.0f GiB, load %s",
		commas(cfg.Orgs), root, mach.Disk, gb(need), gb(free), mach.CPUs, mach.MemoryGiB, mach.LoadStart)
	// The harness holds the store's index and every organisation's facts
	// in its own heap while it measures them; a soft limit keeps its
	// garbage from crowding the machine. (serve runs with Go's defaults,
	// or its first start with --serve-gomemlimit.)
	if mem := memTotal(); mem > 0 {
		debug.SetMemoryLimit(mem * 65 / 100)
	}

	bin := filepath.Join(root, "partyledger")
	p.logf("building partyledger")
	if err := buildPartyledger(ctx, bin); err != nil {
		return err
	}
	steps := []struct {
		name string
		run  func(context.Context) error
	}{
		{"import", p.importYear},
		{"reopen", p.reopen},
		{"facts", p.facts},
		{"serve", func(ctx context.Context) error { return p.serve(ctx, bin) }},
	}
	var loadErr error
	for _, st := range steps {
		freeHeap() // what a step held is not the next one's
		err := st.run(ctx)
		if le, ok := err.(loadFailed); ok {
			loadErr = le // report what was measured, then fail
			continue
		}
		if err != nil {
			return fmt.Errorf("%s: %w", st.name, err)
		}
	}
	mach.LoadEnd = loadavg()

	var tbl strings.Builder
	writeProvinceTable(&tbl, cfg, &p.res)
	command := "go run ./cmd/ledgerbench " + strings.Join(args, " ")
	fmt.Fprintf(stdout, "\nledgerbench — %s\n\n", strings.TrimSpace(command))
	fmt.Fprintf(stdout, "machine: %d × %s, %.0f GiB, Linux %s, %s; Go %s; load average %s at start, %s at end\n\n",
		mach.CPUs, mach.CPUModel, mach.MemoryGiB, mach.Kernel, mach.Disk, mach.Go, mach.LoadStart, mach.LoadEnd)
	fmt.Fprint(stdout, tbl.String())
	doc := map[string]any{
		"command": strings.TrimSpace(command), "started": p.start.UTC().Format(time.RFC3339),
		"seconds": time.Since(p.start).Seconds(), "machine": mach, "config": cfg,
		"results": p.res, "table_markdown": tbl.String(),
	}
	j, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(out, append(j, '\n'), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "\nresults: %s (%.0f s)\n", out, time.Since(p.start).Seconds())
	if keep {
		fmt.Fprintf(stdout, "data kept in %s\n", root)
	}
	return loadErr
}

// importYear appends the year through the ledger, city by city, and
// measures the store on disk.
func (p *provinceRun) importYear(ctx context.Context) error {
	fs, err := filestore.Open(p.data, filestore.Options{})
	if err != nil {
		return err
	}
	l := ledger.New(fs, ledger.Options{})
	var appending time.Duration
	t0 := time.Now()
	err = cityYear(p.cfg.Orgs, p.cfg.Seed, func(lines []cityLine) error {
		for i := range lines {
			p.res.PayloadBytes += int64(len(lines[i].p.Data))
		}
		t := time.Now()
		spans, err := loadLines(ctx, l, lines, p.cfg.Loaders)
		appending += time.Since(t)
		n := 0
		for _, sp := range spans {
			n += sp.events
		}
		p.res.EventsImported += int64(n)
		p.res.Cities++
		if err == nil && n != len(lines) {
			err = fmt.Errorf("city %d: %d of %d events acknowledged", p.res.Cities, n, len(lines))
		}
		if p.res.Cities%10 == 0 || err != nil {
			p.logf("import: %d cities, %s events, %.0f events/s appending", p.res.Cities, commas(int(p.res.EventsImported)),
				float64(p.res.EventsImported)/appending.Seconds())
		}
		return err
	})
	p.res.EventsInStore = int64(fs.Head())
	if cerr := fs.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	p.res.Orgs = p.cfg.Orgs
	p.res.ImportSeconds = appending.Seconds()
	p.res.GenerateSeconds = (time.Since(t0) - appending).Seconds()
	p.res.ImportRate = float64(p.res.EventsImported) / appending.Seconds()
	_, p.res.ImportPeakRSS = procMemory(os.Getpid())
	if p.res.EventsInStore != p.res.EventsImported {
		return fmt.Errorf("the store holds %d events, the ledger acknowledged %d", p.res.EventsInStore, p.res.EventsImported)
	}
	p.res.FileBytes, p.res.AllocatedBytes, err = diskUsage(p.data)
	if err != nil {
		return err
	}
	n := float64(p.res.EventsImported)
	p.res.PayloadPerEv, p.res.FilePerEv, p.res.AllocPerEv = float64(p.res.PayloadBytes)/n, float64(p.res.FileBytes)/n, float64(p.res.AllocatedBytes)/n
	p.logf("imported %s events of %s organisations (%d cities) in %.1f s (%.0f events/s; %.1f s generating), %.0f bytes an event on disk",
		commas(int(n)), commas(p.cfg.Orgs), p.res.Cities, p.res.ImportSeconds, p.res.ImportRate, p.res.GenerateSeconds, p.res.FilePerEv)
	return nil
}

// diskUsage returns the sizes of the files under dir and the bytes the
// file system allocated for them.
func diskUsage(dir string) (size, allocated int64, err error) {
	err = filepath.Walk(dir, func(_ string, fi os.FileInfo, err error) error {
		if err != nil || fi.IsDir() {
			return err
		}
		size += fi.Size()
		if st, ok := fi.Sys().(*syscall.Stat_t); ok {
			allocated += st.Blocks * 512
		}
		return nil
	})
	return size, allocated, err
}

// reopen times filestore.Open of the imported store; the facts step
// times one more.
func (p *provinceRun) reopen(ctx context.Context) error {
	for range p.cfg.ReopenRuns - 1 {
		t0 := time.Now()
		fs, err := filestore.Open(p.data, filestore.Options{})
		d := time.Since(t0)
		if err != nil {
			return err
		}
		head := fs.Head()
		if err := fs.Close(); err != nil {
			return err
		}
		if int64(head) != p.res.EventsInStore {
			return fmt.Errorf("reopened with %d events, %d were imported", head, p.res.EventsInStore)
		}
		p.addReopen(d)
		freeHeap()
	}
	return nil
}

// addReopen notes the time of one filestore.Open of the imported store.
func (p *provinceRun) addReopen(d time.Duration) {
	p.res.ReopenSeconds = append(p.res.ReopenSeconds, d.Seconds())
	s := slices.Clone(p.res.ReopenSeconds)
	slices.Sort(s)
	p.res.ReopenMedian = s[len(s)/2]
	p.logf("reopen: %.2f s", d.Seconds())
}

// scoreChunk is how many organisations are scored at a time. All at once
// (scoreboard.Board.ScoreAll, GET /v1/scorecards) holds every scorecard
// until the ranking is done: at a province's size that is more memory
// than the facts themselves (the run measures a scorecard's size).
const scoreChunk = 10_000

// facts folds every organisation's facts in this process the way the
// scoreboard does, measures their heap beside the open store's and their
// encoded size, issues the load's tokens, closes the store, and then
// scores every organisation from the facts. It lets go of everything
// before serve starts.
func (p *provinceRun) facts(ctx context.Context) error {
	base := liveHeap()
	t0 := time.Now()
	fs, err := filestore.Open(p.data, filestore.Options{})
	if err != nil {
		return err
	}
	p.addReopen(time.Since(t0))
	closed := false
	defer func() {
		if !closed {
			fs.Close()
		}
		freeHeap()
	}()
	opened := liveHeap()
	p.res.StoreHeapBytes = opened - base

	// The fold: the scoreboard's (books.Recorded → Facts.Apply for an
	// organisation's stream, Schedule.Apply for the committee's).
	t0 = time.Now()
	f := newFolder()
	for e, err := range fs.ReadAll(ctx, 0) {
		if err != nil {
			return err
		}
		if err := f.fold(&e); err != nil {
			return err
		}
	}
	fold := time.Since(t0)
	p.res.FoldSeconds, p.res.FoldRate = fold.Seconds(), float64(f.events)/fold.Seconds()
	p.res.FactsHeapBytes = liveHeap() - opened
	all := make([]*projections.Facts, 0, len(f.orgs))
	for _, facts := range f.orgs {
		all = append(all, facts)
	}
	slices.SortFunc(all, func(a, b *projections.Facts) int { return strings.Compare(a.Org(), b.Org()) })
	if len(all) != p.cfg.Orgs || int64(f.events) != p.res.EventsInStore {
		return fmt.Errorf("folded %d organisations from %d events; %d organisations, %d events were imported", len(all), f.events, p.cfg.Orgs, p.res.EventsInStore)
	}
	p.res.FactsPerOrg = float64(p.res.FactsHeapBytes) / float64(len(all))
	p.res.FactsPerEvent = float64(p.res.FactsHeapBytes) / float64(p.res.EventsInStore)
	p.logf("facts: %s events folded in %.1f s (%.0f/s); heap: store %.2f GiB, facts %.2f GiB (%.0f bytes an organisation)",
		commas(int(p.res.EventsInStore)), fold.Seconds(), p.res.FoldRate, gib(p.res.StoreHeapBytes), gib(p.res.FactsHeapBytes), p.res.FactsPerOrg)

	// The load's organisations: an even spread, a branch token each (what
	// partyledger token create does), and members to list as attendees.
	bk := books.New(ledger.New(fs, ledger.Options{}))
	tokens := api.NewTokens(bk)
	step := len(all) / p.cfg.TokenOrgs
	p.tokens = p.tokens[:0]
	for i := 0; i < p.cfg.TokenOrgs; i++ {
		code := all[i*step].Org()
		st, err := bk.Org(ctx, code)
		if err != nil {
			return err
		}
		if st == nil {
			return fmt.Errorf("organisation %s: not found", code)
		}
		var members []string
		for id := range st.Members {
			members = append(members, id)
		}
		slices.Sort(members)
		tok, _, err := tokens.Issue(ctx, domain.AccessBranch, code, "ledgerbench "+code, "ledgerbench")
		if err != nil {
			return fmt.Errorf("issue a token for %s: %w", code, err)
		}
		p.tokens = append(p.tokens, loadOrg{code: code, token: tok, attendees: members[:min(len(members), 12)]})
	}
	// An assessor's token for the rankings (GET /v1/scorecards: assessor,
	// auditor or admin).
	if p.rankToken, _, err = tokens.Issue(ctx, domain.AccessAssessor, "", "ledgerbench rankings", "ledgerbench"); err != nil {
		return fmt.Errorf("issue the rankings' token: %w", err)
	}
	p.res.TokenEvents = int64(fs.Head()) - p.res.EventsInStore // the tokens are events too
	closed = true
	if err := bk.Close(); err != nil {
		return err
	}
	bk, tokens = nil, nil
	freeHeap()

	// Score every organisation from the facts, as scoreboard.Board.ScoreAll
	// does (each card's ledger position included), a chunk at a time, and
	// rank them all.
	rb := domain.Builtin2016()
	q := projections.Query{Year: rb.Year, KnownAt: time.Now(), Schedule: f.sched}
	type ranked struct {
		final domain.Points
		org   string
	}
	var runs []float64
	for run := range p.cfg.ScoreAllRuns {
		var took time.Duration // scoring and ranking only, not the heap measurement
		rank := make([]ranked, 0, len(all))
		for lo := 0; lo < len(all); lo += scoreChunk {
			chunk := all[lo:min(lo+scoreChunk, len(all))]
			measure := run == 0 && lo == 0
			var before int64
			if measure {
				before = liveHeap()
			}
			t0 := time.Now()
			cards, err := projections.ScoreAll(chunk, rb, q)
			if err != nil {
				return err
			}
			if len(cards) != len(chunk) {
				return fmt.Errorf("scored %d of %d organisations", len(cards), len(chunk))
			}
			for _, c := range cards {
				rank = append(rank, ranked{c.Final, c.Org})
			}
			took += time.Since(t0)
			if measure {
				p.res.CardBytes = float64(liveHeap()-before) / float64(len(cards))
			}
			runtime.KeepAlive(cards)
		}
		t0 := time.Now()
		slices.SortFunc(rank, func(a, b ranked) int {
			if c := cmp.Compare(b.final, a.final); c != 0 {
				return c
			}
			return strings.Compare(a.org, b.org)
		})
		took += time.Since(t0)
		p.res.ScoredOrgs = len(rank)
		runs = append(runs, took.Seconds())
	}
	slices.Sort(runs)
	p.res.ScoreAllSeconds, p.res.ScoreAllMedian = runs, runs[len(runs)/2]
	p.logf("score all %s organisations: median %.2f s of %d; a scorecard holds %.0f bytes", commas(len(all)), p.res.ScoreAllMedian, len(runs), p.res.CardBytes)

	// The facts' encoded size (what a snapshot holds), on an even sample.
	var snapBytes, snapEvents int64
	step = len(all) / p.cfg.FactsSample
	for i := 0; i < p.cfg.FactsSample; i++ {
		b, err := all[i*step].MarshalBinary()
		if err != nil {
			return err
		}
		snapBytes += int64(len(b))
		snapEvents += int64(all[i*step].Len())
	}
	p.res.SnapshotSample = p.cfg.FactsSample
	p.res.SnapshotPerOrg = float64(snapBytes) / float64(p.cfg.FactsSample)
	p.res.SnapshotPerEvent = float64(snapBytes) / float64(snapEvents)
	_, p.res.BenchPeakRSS = procMemory(os.Getpid())
	return nil
}

// liveHeap returns the heap in use after a full collection.
func liveHeap() int64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc)
}

// freeHeap collects and returns the freed memory to the system, so that
// the serve process measured next does not compete with this one.
func freeHeap() {
	runtime.GC()
	debug.FreeOSMemory()
}

// memTotal returns the machine's memory in bytes, 0 if unknown.
func memTotal() int64 {
	kb := firstField("/proc/meminfo", "MemTotal")
	var n int64
	fmt.Sscanf(kb, "%d", &n)
	return n << 10
}

// memSplit is a process's resident memory split in two: its own
// (RssAnon: the Go heap, stacks) and the pages of files it maps (RssFile:
// the store's segments read through their mappings, the executable) —
// page cache, shared, and dropped by the kernel when memory is needed.
// VmRSS is their sum.
type memSplit struct {
	Anon     int64 `json:"rss_anon_bytes"`
	File     int64 `json:"rss_file_bytes"`
	AnonPeak int64 `json:"rss_anon_peak_bytes"` // highest RssAnon so far, sampled every 250 ms
}

// procMem is one reading of a process's memory lines in /proc/PID/status,
// in bytes; zeros when unknown.
type procMem struct {
	RSS, HWM   int64 // VmRSS, and its peak VmHWM
	Anon, File int64 // RssAnon, RssFile (memSplit)
}

// readProcMem reads a process's memory lines, all from one read of its
// status, so that they describe the same moment.
func readProcMem(pid int) procMem {
	var m procMem
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return m
	}
	fields := map[string]*int64{"VmRSS": &m.RSS, "VmHWM": &m.HWM, "RssAnon": &m.Anon, "RssFile": &m.File}
	for _, line := range strings.Split(string(b), "\n") {
		k, v, _ := strings.Cut(line, ":")
		if n := fields[k]; n != nil {
			fmt.Sscanf(strings.TrimSpace(v), "%d", n)
			*n <<= 10 // kB
		}
	}
	return m
}

// procMemory returns a process's resident set (VmRSS) and its peak
// (VmHWM), in bytes; zeros when unknown.
func procMemory(pid int) (rss, hwm int64) {
	m := readProcMem(pid)
	return m.RSS, m.HWM
}
