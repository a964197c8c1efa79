package main

// The serve side of the province run: a real partyledger serve process
// on the data directory, its memory from /proc, and 64 HTTP clients.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/google/uuid"

	"partyledger/cmd/ledgerbench/internal/stats"
	"partyledger/ledger/logtree"
)

// buildPartyledger builds the partyledger command into bin.
func buildPartyledger(ctx context.Context, bin string) error {
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "partyledger/cmd/partyledger")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go build partyledger/cmd/partyledger: %w\n%s", err, out.Bytes())
	}
	return nil
}

// serveProc is a running partyledger serve.
type serveProc struct {
	cmd     *exec.Cmd
	base    string // http://127.0.0.1:port
	logPath string
	exited  chan struct{} // closed when the process has exited
	waitErr error
	killed  atomic.Pointer[memoryKilled] // why the watchdog killed it
	// anonPeak is the highest RssAnon the watchdog has seen.
	anonPeak atomic.Int64
}

// memoryKilled is the watchdog's kill of serve: the machine was running
// out of memory.
type memoryKilled struct {
	why      string
	rss, hwm int64 // serve's, when killed
}

func (e *memoryKilled) Error() string { return e.why }

var servingLine = regexp.MustCompile(`serving on (https?://\S+)`)

// startServe starts bin serve on the data directory on a loopback port
// of the system's choosing and waits until it listens — which serve does
// only after its scoreboard has folded every event — and /healthz
// answers. Its standard error (the request log) goes to logPath.
func startServe(ctx context.Context, bin, data, logPath, memLimit string, timeout time.Duration) (*serveProc, serveStart, error) {
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, serveStart{}, err
	}
	defer logf.Close() // the child has its own descriptor
	cmd := exec.Command(bin, "--data", data, "serve", "--addr", "127.0.0.1:0")
	cmd.Stderr = logf
	// serve must not outlive this process, however it ends.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if memLimit != "" {
		cmd.Env = append(os.Environ(), "GOMEMLIMIT="+memLimit)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, serveStart{}, err
	}
	t0 := time.Now()
	if err := cmd.Start(); err != nil {
		return nil, serveStart{}, err
	}
	s := &serveProc{cmd: cmd, logPath: logPath, exited: make(chan struct{})}
	urls := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if m := servingLine.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case urls <- m[1]:
				default:
				}
			}
		}
		io.Copy(io.Discard, stdout)
	}()
	go func() {
		s.waitErr = cmd.Wait()
		close(s.exited)
	}()
	go s.watch(memFloor())
	fail := func(err error) (*serveProc, serveStart, error) {
		s.stop()
		if k := s.killed.Load(); k != nil {
			return nil, serveStart{}, k
		}
		return nil, serveStart{}, fmt.Errorf("%w\n%s", err, s.logTail())
	}
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	select {
	case s.base = <-urls:
	case <-s.exited:
		return fail(fmt.Errorf("serve exited before it listened: %v", s.waitErr))
	case <-deadline.C:
		return fail(fmt.Errorf("serve did not listen within %v", timeout))
	case <-ctx.Done():
		return fail(ctx.Err())
	}
	var health struct {
		Status   string `json:"status"`
		Position uint64 `json:"position"`
	}
	if err := getJSON(ctx, s.base+"/healthz", &health); err != nil {
		return fail(err)
	}
	st := serveStart{ReadySeconds: time.Since(t0).Seconds(), Position: health.Position}
	st.RSS, st.VmHWM, st.Split = s.memory()
	if health.Status != "ok" || st.RSS == 0 {
		return fail(fmt.Errorf("serve ready but /healthz says %q and its RSS reads %d", health.Status, st.RSS))
	}
	return s, st, nil
}

// memFloor is the memory the machine keeps available while serve runs:
// 1 GiB or 5%, whichever is more. A variable for a test.
var memFloor = func() int64 { return max(1<<30, memTotal()/20) }

// memAvailable returns the machine's MemAvailable in bytes.
func memAvailable() int64 {
	var kb int64
	fmt.Sscanf(firstField("/proc/meminfo", "MemAvailable"), "%d", &kb)
	return kb << 10
}

// watch kills serve when the machine's available memory falls below
// floor, rather than leave the kernel's OOM killer to choose a process of
// the shared machine, and notes why.
func (s *serveProc) watch(floor int64) {
	t := time.NewTicker(250 * time.Millisecond)
	defer t.Stop()
	for first := true; ; first = false {
		if !first {
			select {
			case <-s.exited:
				return
			case <-t.C:
			}
		}
		rss, hwm, _ := s.memory() // notes RssAnon's peak
		if avail := memAvailable(); avail > 0 && avail < floor {
			s.killed.Store(&memoryKilled{rss: rss, hwm: hwm,
				why: fmt.Sprintf("serve killed: the machine had %.2f GiB of memory available, below the %.2f GiB kept free, while serve held %.2f GiB", gib(avail), gib(floor), gib(rss))})
			_ = s.cmd.Process.Kill()
			return
		}
	}
}

// memory returns the process's VmRSS and VmHWM and their split into its
// own memory and its mapped files', from one reading, and notes the
// highest RssAnon seen (the watchdog reads it every 250 ms).
func (s *serveProc) memory() (rss, hwm int64, split memSplit) {
	m := readProcMem(s.cmd.Process.Pid)
	peak := s.anonPeak.Load()
	for m.Anon > peak && !s.anonPeak.CompareAndSwap(peak, m.Anon) {
		peak = s.anonPeak.Load() // the watchdog and the run both note it
	}
	peak = max(peak, m.Anon)
	return m.RSS, m.HWM, memSplit{Anon: m.Anon, File: m.File, AnonPeak: peak}
}

// stop ends serve as an operator would (SIGTERM: it shuts down
// gracefully), and kills it if it has not stopped within a minute.
func (s *serveProc) stop() error {
	select {
	case <-s.exited:
		if k := s.killed.Load(); k != nil {
			return k
		}
		return s.waitErr
	default:
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
		return s.waitErr
	case <-time.After(time.Minute):
		_ = s.cmd.Process.Kill()
		<-s.exited
		return fmt.Errorf("serve did not stop within a minute of SIGTERM: killed")
	}
}

// logTail returns the end of serve's log, for an error message.
func (s *serveProc) logTail() string {
	b, _ := os.ReadFile(s.logPath)
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return "serve's log ends: " + string(b)
}

// health returns serve's board position.
func (s *serveProc) position(ctx context.Context) (uint64, error) {
	var health struct {
		Position uint64 `json:"position"`
	}
	err := getJSON(ctx, s.base+"/healthz", &health)
	return health.Position, err
}

// waitPosition waits until serve's board has folded up to want.
func (s *serveProc) waitPosition(ctx context.Context, want uint64) error {
	deadline := time.Now().Add(30 * time.Second)
	for {
		got, err := s.position(ctx)
		if err != nil {
			return err
		}
		if got == want {
			return nil
		}
		if got > want || time.Now().After(deadline) {
			return fmt.Errorf("serve's board is at position %d, want %d", got, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func getJSON(ctx context.Context, url string, v any) error {
	req, err := http.NewRequestWithContext(ctx, "GET", url, nil)
	if err != nil {
		return err
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(res.Body, 500))
		return fmt.Errorf("GET %s: %s %s", url, res.Status, b)
	}
	return json.NewDecoder(res.Body).Decode(v)
}

// loadFailed is a load whose requests did not all succeed: the run
// reports what it measured, then fails with it.
type loadFailed struct{ msg string }

func (e loadFailed) Error() string { return e.msg }

// loadKind is what the clients of a load send.
type loadKind int

const (
	loadReads   loadKind = iota // GET /v1/orgs/{code}/scorecard
	loadAppends                 // POST /v1/orgs/{code}/events: one StudySessionHeld
)

// loadClient sends one kind of request to serve.
type loadClient struct {
	ctx    context.Context
	base   string
	client *http.Client
	kind   loadKind
}

// do sends one request for o and checks its answer: 200 to a read, 201
// naming the event's id to an append.
func (c *loadClient) do(o *loadOrg, rng *rand.Rand, tag string) error {
	var req *http.Request
	want := http.StatusOK
	var id string
	switch c.kind {
	case loadReads:
		req, _ = http.NewRequestWithContext(c.ctx, "GET", c.base+"/v1/orgs/"+o.code+"/scorecard?year=2016", nil)
	case loadAppends:
		id = uuid.NewString()
		att, _ := json.Marshal(o.attendees)
		body := fmt.Sprintf(`{"id":%q,"type":"StudySessionHeld","occurred_on":"2016-12-%02d","data":{"topic":"学习贯彻全会精神 %s","attendees":%s,"notes_kept":true}}`,
			id, 1+rng.IntN(28), tag, att)
		req, _ = http.NewRequestWithContext(c.ctx, "POST", c.base+"/v1/orgs/"+o.code+"/events", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		want = http.StatusCreated
	}
	req.Header.Set("Authorization", "Bearer "+o.token)
	res, err := c.client.Do(req)
	if err != nil {
		return err
	}
	body, err := io.ReadAll(res.Body)
	res.Body.Close()
	switch {
	case err != nil:
		return err
	case res.StatusCode != want:
		return fmt.Errorf("%s %s: %s %.300s", req.Method, req.URL.Path, res.Status, body)
	case c.kind == loadAppends:
		var got struct{ ID string }
		if jerr := json.Unmarshal(body, &got); jerr != nil || got.ID != id {
			return fmt.Errorf("append %s answered %.300s", id, body)
		}
	}
	return nil
}

// runLoad sends requests from clients goroutines over keep-alive
// connections, each for a random one of orgs with that organisation's
// branch token, for warm and then measure, and summarises the requests
// started and answered within the measured window. Appends first prime
// the append path with one append to each organisation (unmeasured: the
// first append to an organisation since serve started reads its stream
// to check the entry against its state). Any answer but the expected one
// is an error. It returns the number of acknowledged appends.
func runLoad(ctx context.Context, base string, orgs []loadOrg, kind loadKind, clients int, warm, measure time.Duration, seed uint64) (loadSummary, int, error) {
	tr := &http.Transport{MaxIdleConns: clients, MaxIdleConnsPerHost: clients, IdleConnTimeout: time.Minute}
	defer tr.CloseIdleConnections()
	c := &loadClient{ctx: ctx, base: base, client: &http.Client{Transport: tr, Timeout: time.Minute}, kind: kind}
	type worker struct {
		lane     *stats.Lane
		acked    int
		errors   int
		firstErr []string
	}
	var rec stats.Recorder
	workers := make([]worker, clients)
	fail := func(me *worker, err error) {
		me.errors++
		if len(me.firstErr) < 3 {
			me.firstErr = append(me.firstErr, err.Error())
		}
	}
	var wg sync.WaitGroup
	if kind == loadAppends {
		for w := range workers {
			me := &workers[w]
			wg.Go(func() {
				rng := rand.New(rand.NewPCG(seed, uint64(w)))
				for i := w; i < len(orgs) && ctx.Err() == nil; i += clients {
					if err := c.do(&orgs[i], rng, fmt.Sprintf("prime %d", i)); err != nil {
						fail(me, err)
						continue
					}
					me.acked++
				}
			})
		}
		wg.Wait()
	}
	start := time.Now()
	from, until := start.Add(warm), start.Add(warm+measure)
	for w := range workers {
		me := &workers[w]
		me.lane = rec.Lane()
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(seed, uint64(clients+w)))
			for n := 0; ctx.Err() == nil; n++ {
				t0 := time.Now()
				if !t0.Before(until) {
					return
				}
				err := c.do(&orgs[rng.IntN(len(orgs))], rng, fmt.Sprintf("%d-%d", w, n))
				d := time.Since(t0)
				if err != nil {
					if ctx.Err() == nil {
						fail(me, err)
					}
					continue
				}
				if kind == loadAppends {
					me.acked++ // every acknowledged append counts, measured or not
				}
				if !t0.Before(from) && time.Now().Before(until) {
					me.lane.Add(d)
				}
			}
		})
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return loadSummary{}, 0, err
	}
	sum := rec.Summary()
	out := loadSummary{Clients: clients, Requests: sum.N, Seconds: measure.Seconds(), Rate: stats.Rate(int64(sum.N), measure),
		P50us: us(sum.P50), P99us: us(sum.P99), MaxUs: us(sum.Max)}
	acked := 0
	for _, w := range workers {
		acked += w.acked
		out.Errors += w.errors
		out.FirstErr = append(out.FirstErr, w.firstErr...)
	}
	if len(out.FirstErr) > 5 {
		out.FirstErr = out.FirstErr[:5]
	}
	if out.Errors > 0 {
		return out, acked, loadFailed{fmt.Sprintf("%d requests failed; the first: %s", out.Errors, strings.Join(out.FirstErr, "; "))}
	}
	if sum.N == 0 {
		return out, acked, errors.New("no request completed within the measured window")
	}
	return out, acked, nil
}

// serve starts partyledger serve on the data directory, measures its
// start and memory, runs the loads against it, and starts it once more.
func (p *provinceRun) serve(ctx context.Context, bin string) error {
	head := uint64(p.res.EventsInStore + p.res.TokenEvents)
	p.logf("starting partyledger serve on %s (%s events)", p.data, commas(int(head)))
	srv, st, err := startServe(ctx, bin, p.data, filepath.Join(p.root, "serve-1.log"), p.cfg.ServeMemLimit, p.cfg.ReadyTimeout)
	if err != nil {
		return err
	}
	defer srv.stop()
	p.res.Serve = st
	p.logf("serve ready in %.1f s at position %d: RSS %.2f GiB, peak %.2f GiB", st.ReadySeconds, st.Position, gib(st.RSS), gib(st.VmHWM))
	if st.Position != head {
		return fmt.Errorf("serve is ready at position %d, the store holds %d events (%d imported, %d of tokens)", st.Position, head, p.res.EventsInStore, p.res.TokenEvents)
	}
	var loadErr error
	reads, _, err := runLoad(ctx, srv.base, p.tokens, loadReads, p.cfg.Clients, p.cfg.WarmFor, p.cfg.LoadFor, uint64(p.cfg.Seed))
	p.res.Reads = reads
	if _, ok := err.(loadFailed); ok {
		loadErr = err
	} else if err != nil {
		return err
	}
	p.logf("scorecard reads, %d clients: %.0f/s, p50 %.2f ms, p99 %.2f ms", reads.Clients, reads.Rate, reads.P50us/1000, reads.P99us/1000)
	appends, acked, err := runLoad(ctx, srv.base, p.tokens, loadAppends, p.cfg.Clients, p.cfg.WarmFor, p.cfg.LoadFor, uint64(p.cfg.Seed)+1)
	p.res.Appends = appends
	if _, ok := err.(loadFailed); ok {
		loadErr = errors.Join(loadErr, err)
	} else if err != nil {
		return err
	}
	p.logf("appends, %d clients: %.0f/s, p50 %.2f ms, p99 %.2f ms", appends.Clients, appends.Rate, appends.P50us/1000, appends.P99us/1000)
	p.res.AppendsAcked = int64(acked)
	head += uint64(acked)
	if err := srv.waitPosition(ctx, head); err != nil {
		return fmt.Errorf("after %d acknowledged appends: %w", acked, err)
	}
	p.res.ServeRSSAfterLoad, p.res.ServeVmHWMAfterLoad, p.res.ServeSplitAfterLoad = srv.memory()
	for _, rq := range []struct{ what, query string }{
		{"the top level", "year=2016"},
		{"every organisation", "year=2016&under=*"},
	} {
		run, err := fetchRanking(ctx, srv.base, p.rankToken, rq.query)
		if err != nil {
			return fmt.Errorf("ranking of %s: %w\n%s", rq.what, err, srv.logTail())
		}
		run.What = rq.what
		p.res.Rankings = append(p.res.Rankings, run)
		p.logf("ranking of %s: %s scorecards, %.1f MB of JSON in %.1f s", rq.what, commas(run.Scorecards), float64(run.Bytes)/1e6, run.Seconds)
	}
	p.res.ServeRSSAfterRank, p.res.ServeHWMAfterRank, p.res.ServeSplitAfterRank = srv.memory()
	p.logf("serve after the rankings: RSS %.2f GiB, peak %.2f GiB", gib(p.res.ServeRSSAfterRank), gib(p.res.ServeHWMAfterRank))
	if err := srv.stop(); err != nil {
		return fmt.Errorf("serve: %w\n%s", err, srv.logTail())
	}

	// The restart runs with Go's defaults: with --serve-gomemlimit the
	// table shows serve with and without the limit. Without the limit the
	// machine may run out of memory: that is a measurement too.
	p.logf("restarting partyledger serve (Go's default GC settings)")
	srv2, st2, err := startServe(ctx, bin, p.data, filepath.Join(p.root, "serve-2.log"), "", p.cfg.ReadyTimeout)
	var killed *memoryKilled
	switch {
	case errors.As(err, &killed) && p.cfg.ServeMemLimit != "":
		p.res.Restart = serveStart{Killed: killed.why, RSS: killed.rss, VmHWM: killed.hwm}
		p.logf("%s", killed.why)
	case err != nil:
		return err
	default:
		defer srv2.stop()
		p.res.Restart = st2
		p.logf("serve ready again in %.1f s at position %d: RSS %.2f GiB, peak %.2f GiB", st2.ReadySeconds, st2.Position, gib(st2.RSS), gib(st2.VmHWM))
		if st2.Position != head {
			return fmt.Errorf("serve restarted at position %d, want %d (every acknowledged append)", st2.Position, head)
		}
		if err := srv2.stop(); err != nil {
			return fmt.Errorf("serve: %w\n%s", err, srv2.logTail())
		}
	}
	fi, err := os.Stat(filepath.Join(p.data, logtree.HashFileName))
	if err != nil {
		return fmt.Errorf("the log tree's hash file serve keeps: %w", err)
	}
	p.res.HashFileBytes = fi.Size()
	if loadErr != nil {
		return loadFailed{loadErr.Error()}
	}
	return nil
}

// rankingRun is one GET /v1/scorecards through serve: how long until its
// last byte, how many scorecards and bytes it answered.
type rankingRun struct {
	What       string  `json:"what"`
	Query      string  `json:"query"`
	Seconds    float64 `json:"seconds"` // request sent → last byte read
	Scorecards int     `json:"scorecards"`
	Bytes      int64   `json:"bytes"`
}

// fetchRanking asks serve for GET /v1/scorecards?query and reads the
// answer as a stream, one scorecard at a time (the answer for a province
// is gigabytes: the client holds none of it), checking that every one
// names an organisation and that the answer ends as a whole document.
func fetchRanking(ctx context.Context, base, token, query string) (rankingRun, error) {
	run := rankingRun{Query: query}
	req, err := http.NewRequestWithContext(ctx, "GET", base+"/v1/scorecards?"+query, nil)
	if err != nil {
		return run, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	t0 := time.Now()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return run, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return run, fmt.Errorf("%s: %s", resp.Status, b)
	}
	cr := &countingReader{r: resp.Body}
	dec := json.NewDecoder(cr)
	if err := wantDelim(dec, '{'); err != nil {
		return run, err
	}
	for dec.More() {
		key, err := dec.Token()
		if err != nil {
			return run, err
		}
		if key != "scorecards" {
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return run, err
			}
			continue
		}
		if err := wantDelim(dec, '['); err != nil {
			return run, err
		}
		for dec.More() {
			var sc struct {
				Org string `json:"org"`
			}
			if err := dec.Decode(&sc); err != nil {
				return run, fmt.Errorf("scorecard %d: %w", run.Scorecards+1, err)
			}
			if sc.Org == "" {
				return run, fmt.Errorf("scorecard %d names no organisation", run.Scorecards+1)
			}
			run.Scorecards++
		}
		if err := wantDelim(dec, ']'); err != nil {
			return run, err
		}
	}
	if err := wantDelim(dec, '}'); err != nil {
		return run, err
	}
	if _, err := io.Copy(io.Discard, cr); err != nil {
		return run, err
	}
	run.Seconds, run.Bytes = time.Since(t0).Seconds(), cr.n
	if run.Scorecards == 0 {
		return run, errors.New("no scorecards")
	}
	return run, nil
}

func wantDelim(dec *json.Decoder, d json.Delim) error {
	t, err := dec.Token()
	if err != nil {
		return err
	}
	if t != d {
		return fmt.Errorf("want %v, got %v", d, t)
	}
	return nil
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}
