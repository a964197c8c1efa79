package main

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"os"
	"runtime"
	"runtime/debug"
	"strings"
	"syscall"
	"time"
)

// Systems, in table order.
const (
	sysOurs      = "partyledger"
	sysOursStore = "partyledger-store"
	sysPG        = "postgres"
	sysBolt      = "bbolt"
	sysLimit     = "limit"
	sysLimitPre  = "limit-prealloc"
	// sysLimitZeros is the preallocated loop while zeros are written
	// alongside, as fast as its records: a reference, not a target.
	sysLimitZeros = "limit-prealloc-zeroing"
)

// Units of Result.Value.
const (
	unitRate    = "events/s"
	unitSeconds = "s"
	unitBytes   = "bytes/s"
)

// Result is one measurement of one system.
type Result struct {
	Workload string         `json:"workload"`
	System   string         `json:"system"`
	Detail   string         `json:"detail,omitempty"`
	Unit     string         `json:"unit"`
	Value    float64        `json:"value"`
	Events   int64          `json:"events,omitempty"`
	Seconds  float64        `json:"seconds,omitempty"`
	P50us    float64        `json:"p50_us,omitempty"`
	P99us    float64        `json:"p99_us,omitempty"`
	MaxUs    float64        `json:"max_us,omitempty"`
	Samples  int            `json:"samples,omitempty"`
	Extra    map[string]any `json:"extra,omitempty"`
}

func us(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }

// workload describes a row of the table.
type workload struct {
	Key     string
	Title   string
	Latency bool // the cells show p50/p99 too
}

func workloads(cfg config, readEvents int) []workload {
	n := human(float64(readEvents))
	return []workload{
		{"append-w01", "durable 1-event append, 1 writer", true},
		{"append-w08", "durable 1-event append, 8 writers", true},
		{"append-w64", "durable 1-event append, 64 writers", true},
		{"batch100", "durable 100-event append, 1 writer", true},
		{"tree-update", "log tree: every appended event added as a leaf (hash file kept); not on the append path", false},
		{"read-stream", fmt.Sprintf("read one %s-event stream (1 event per commit)", commas(cfg.StreamEvents)), true},
		{"read-stream-batched", fmt.Sprintf("read one %s-event stream (100 events per commit)", commas(cfg.StreamEvents)), true},
		{"read-all", "read all " + n + " in order, no decoding (warm)", false},
		{"read-all-events", "read all " + n + " as envelopes (ReadAll, warm)", false},
		{"header-counts", "count all " + n + " by type/org/stream, header only", false},
		{"replay-1", "replay all " + n + ", decode + fold into facts, 1 worker", false},
		{"replay-2", "replay all " + n + ", decode + fold into facts, 2 workers", false},
		{"score-all-small", fmt.Sprintf("score all of a %s-organisation year from facts", commas(cfg.YearSmall)), false},
		{"score-all-large", fmt.Sprintf("score all of a %s-organisation year from facts", commas(cfg.YearLarge)), false},
		{"score-past", "score one organisation at a past known_at (p50/p99)", true},
		{"reopen", "reopen a " + n + "-event store", false},
		{"reopen-big", "reopen a " + human(float64(cfg.ReopenBigEvents)) + "-event store", false},
		{"seq-write", "sequential write bandwidth", false},
	}
}

// target is one goal of the issue: a ratio against another system in the
// same run, or an absolute bound.
type target struct {
	Workload string  `json:"workload"`
	Against  string  `json:"against,omitempty"` // a system, or empty for an absolute bound
	Want     float64 `json:"want"`              // ratio (ours/other, "times better") or absolute value
	Unit     string  `json:"unit,omitempty"`    // for absolute bounds
	Text     string  `json:"text"`
	// Share, when set, names an append workload: the target bounds the
	// time per event of Workload (the log tree's) as a fraction of that
	// workload's time per event — how much slower its appends would be
	// if they paid for the tree — and Want is that fraction's maximum.
	Share string `json:"share_of,omitempty"`

	Got    float64 `json:"got"`
	Met    bool    `json:"met"`
	Missed string  `json:"missed_by,omitempty"`
	Absent bool    `json:"absent,omitempty"` // a system was not measured
}

func targets(cfg config) []target {
	return []target{
		{Workload: "append-w01", Against: sysPG, Want: 1.5, Text: "append, 1 writer ≥ 1.5× PostgreSQL"},
		{Workload: "append-w01", Against: sysBolt, Want: 2, Text: "append, 1 writer ≥ 2× bbolt"},
		{Workload: "append-w01", Against: sysLimitPre, Want: 0.85, Text: "append, 1 writer ≥ 0.85× preallocated loop"},
		{Workload: "append-w08", Against: sysPG, Want: 2.5, Text: "append, 8 writers ≥ 2.5× PostgreSQL"},
		{Workload: "append-w08", Against: sysBolt, Want: 1.7, Text: "append, 8 writers ≥ 1.7× bbolt (tuned)"},
		{Workload: "append-w08", Against: sysLimitPre, Want: 0.85, Text: "append, 8 writers ≥ 0.85× preallocated loop"},
		{Workload: "append-w64", Against: sysLimitPre, Want: 0.85, Text: "append, 64 writers ≥ 0.85× preallocated loop"},
		{Workload: "batch100", Against: sysPG, Want: 5, Text: "100 events per commit ≥ 5× PostgreSQL multi-row insert"},
		{Workload: "batch100", Against: sysBolt, Want: 2, Text: "100 events per commit ≥ 2× bbolt"},
		{Workload: "tree-update", Share: "append-w01", Want: 0.05, Text: "appends paying for the log tree ≤ 5% slower, 1 writer (the tree's time per event ÷ theirs)"},
		{Workload: "tree-update", Share: "append-w08", Want: 0.05, Text: "appends paying for the log tree ≤ 5% slower, 8 writers (the tree's time per event ÷ theirs)"},
		{Workload: "tree-update", Share: "append-w64", Want: 0.05, Text: "appends paying for the log tree ≤ 5% slower, 64 writers (the tree's time per event ÷ theirs)"},
		{Workload: "tree-update", Share: "batch100", Want: 0.05, Text: "appends paying for the log tree ≤ 5% slower, 100 events per commit (the tree's time per event ÷ theirs)"},
		{Workload: "read-stream", Against: sysPG, Want: 3, Text: "read one 1,000-event stream ≥ 3× PostgreSQL (1 event per commit)"},
		{Workload: "read-stream", Against: sysBolt, Want: 1, Text: "read one 1,000-event stream ≥ 1× bbolt (1 event per commit)"},
		{Workload: "read-stream-batched", Against: sysPG, Want: 3, Text: "read one 1,000-event stream ≥ 3× PostgreSQL (100 per commit)"},
		{Workload: "read-stream-batched", Against: sysBolt, Want: 1, Text: "read one 1,000-event stream ≥ 1× bbolt (100 per commit)"},
		{Workload: "read-all", Against: sysPG, Want: 10, Text: "read all, no decoding ≥ 10× PostgreSQL"},
		{Workload: "read-all", Against: sysBolt, Want: 1, Text: "read all, no decoding ≥ 1× bbolt"},
		{Workload: "read-all", Want: 2.5e6, Unit: unitRate, Text: "read all, no decoding ≥ 2.5M events/s warm"},
		{Workload: "read-all-events", Against: sysBolt, Want: 1, Text: "read all as envelopes ≥ 1× bbolt"},
		{Workload: "replay-1", Against: sysPG, Want: 1.5, Text: "replay + fold, 1 worker ≥ 1.5× PostgreSQL replay"},
		{Workload: "replay-2", Against: sysPG, Want: 1.5, Text: "replay + fold, 2 workers ≥ 1.5× PostgreSQL replay"},
		{Workload: "header-counts", Against: sysBolt, Want: 1, Text: "header-only counts ≥ 1× bbolt"},
		{Workload: "header-counts", Want: 2e6, Unit: unitRate, Text: "header-only counts ≥ 2M events/s"},
		{Workload: "score-all-large", Want: 1, Unit: unitSeconds, Text: "score " + commas(cfg.YearLarge) + " organisations from facts ≤ 1 s"},
		{Workload: "score-past", Want: 0.010, Unit: unitSeconds, Text: "score one organisation at a past known_at, p99 ≤ 10 ms"},
		{Workload: "reopen", Against: sysBolt, Want: 1, Text: "reopen a " + human(float64(cfg.ReadEvents)) + "-event store ≥ 1× bbolt"},
		{Workload: "reopen-big", Want: 1, Unit: unitSeconds, Text: "reopen a " + human(float64(cfg.ReopenBigEvents)) + "-event store ≤ 1 s"},
	}
}

// find returns the result of a system in a workload.
func find(results []Result, workload, system string) (Result, bool) {
	for _, r := range results {
		if r.Workload == workload && r.System == system {
			return r, true
		}
	}
	return Result{}, false
}

// better returns how many times better a is than b: a/b for rates, b/a
// for times.
func better(a, b Result) float64 {
	if a.Value == 0 || b.Value == 0 {
		return 0
	}
	if a.Unit == unitSeconds {
		return b.Value / a.Value
	}
	return a.Value / b.Value
}

// evaluate fills in each target from the results.
func evaluate(results []Result, ts []target) []target {
	out := make([]target, 0, len(ts))
	for _, t := range ts {
		ours, ok := find(results, t.Workload, sysOurs)
		if !ok {
			t.Absent = true
			out = append(out, t)
			continue
		}
		if t.Share != "" {
			app, ok := find(results, t.Share, sysOurs)
			if !ok || ours.Value == 0 {
				t.Absent = true
				out = append(out, t)
				continue
			}
			// Both are rates: time per event is their inverse.
			t.Got = app.Value / ours.Value
			t.Met = t.Got <= t.Want
			if !t.Met {
				t.Missed = fmt.Sprintf("%.1f%% of the append's time, not %.0f%%", t.Got*100, t.Want*100)
			}
			out = append(out, t)
			continue
		}
		if t.Against == "" {
			t.Got = ours.Value
			if t.Unit == unitSeconds {
				t.Met = t.Got <= t.Want
				if !t.Met {
					t.Missed = fmt.Sprintf("%.0f%% over", (t.Got/t.Want-1)*100)
				}
			} else {
				t.Met = t.Got >= t.Want
				if !t.Met {
					t.Missed = fmt.Sprintf("%.0f%% short", (1-t.Got/t.Want)*100)
				}
			}
			out = append(out, t)
			continue
		}
		other, ok := find(results, t.Workload, t.Against)
		if !ok {
			t.Absent = true
			out = append(out, t)
			continue
		}
		t.Got = better(ours, other)
		t.Met = t.Got >= t.Want
		if !t.Met {
			t.Missed = fmt.Sprintf("%.0f%% short (%.2f× of %.2f×)", (1-t.Got/t.Want)*100, t.Got, t.Want)
		}
		out = append(out, t)
	}
	return out
}

// human formats a count or rate with k/M suffixes.
func human(v float64) string {
	switch {
	case v >= 1e6:
		return trim(fmt.Sprintf("%.2f", v/1e6)) + "M"
	case v >= 1e4:
		return trim(fmt.Sprintf("%.0f", v/1e3)) + "k"
	case v >= 1e3:
		return trim(fmt.Sprintf("%.1f", v/1e3)) + "k"
	}
	return trim(fmt.Sprintf("%.0f", v))
}

func trim(s string) string {
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	return s
}

func commas(n int) string {
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// ms formats microseconds as milliseconds.
func ms(v float64) string {
	switch {
	case v >= 100_000:
		return fmt.Sprintf("%.0f", v/1000)
	case v >= 10_000:
		return fmt.Sprintf("%.1f", v/1000)
	case v >= 1000:
		return fmt.Sprintf("%.2f", v/1000)
	}
	return fmt.Sprintf("%.3f", v/1000)
}

// seconds formats a time in seconds.
func seconds(v float64) string {
	switch {
	case v >= 10:
		return fmt.Sprintf("%.1f s", v)
	case v >= 1:
		return fmt.Sprintf("%.2f s", v)
	}
	return fmt.Sprintf("%s ms", ms(v*1e6))
}

func cell(r Result, lat bool) string {
	var s string
	switch r.Unit {
	case unitRate:
		s = human(r.Value) + "/s"
	case unitBytes:
		s = fmt.Sprintf("%.0f MiB/s", r.Value/(1<<20))
	case unitSeconds:
		s = seconds(r.Value)
	}
	if lat && r.Unit == unitSeconds {
		return fmt.Sprintf("%s / %s ms", ms(r.P50us), ms(r.P99us))
	}
	if lat && r.Samples > 0 {
		s += fmt.Sprintf(" (%s / %s ms)", ms(r.P50us), ms(r.P99us))
	}
	return s
}

func ratio(results []Result, w, other string) string {
	a, ok1 := find(results, w, sysOurs)
	b, ok2 := find(results, w, other)
	if !ok1 || !ok2 {
		return ""
	}
	r := better(a, b)
	if r == 0 || math.IsInf(r, 0) {
		return ""
	}
	return fmt.Sprintf("%.2f×", r)
}

// writeTable writes the results as a Markdown table and the targets
// under it.
func writeTable(w io.Writer, cfg config, readEvents int, results []Result, ts []target) {
	fmt.Fprintln(w, "| workload | partyledger | store only¹ | PostgreSQL | bbolt | disk limit² | preallocated³ | zero-filling⁴ | vs PostgreSQL | vs bbolt | of limit |")
	fmt.Fprintln(w, "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
	for _, wl := range workloads(cfg, readEvents) {
		cells := []string{wl.Title}
		any := false
		for _, sys := range []string{sysOurs, sysOursStore, sysPG, sysBolt, sysLimit, sysLimitPre, sysLimitZeros} {
			if r, ok := find(results, wl.Key, sys); ok {
				cells = append(cells, cell(r, wl.Latency))
				any = true
			} else {
				cells = append(cells, "")
			}
		}
		if !any {
			continue
		}
		// The limit is the preallocated loop where there is one: the
		// store overwrites zero-filled segments as that loop does.
		limSys := sysLimit
		if _, ok := find(results, wl.Key, sysLimitPre); ok {
			limSys = sysLimitPre
		}
		lim := ratio(results, wl.Key, limSys)
		if lim != "" {
			// A fraction of the limit reads better as a percentage.
			a, _ := find(results, wl.Key, sysOurs)
			b, _ := find(results, wl.Key, limSys)
			lim = fmt.Sprintf("%.0f%%", better(a, b)*100)
		}
		cells = append(cells, ratio(results, wl.Key, sysPG), ratio(results, wl.Key, sysBolt), lim)
		fmt.Fprintln(w, "| "+strings.Join(cells, " | ")+" |")
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Rates are events per second; (p50 / p99 ms) are per append or per whole read; vs = how many times faster partyledger is in this run; of limit = partyledger as a fraction of the preallocated loop where there is one, else of the disk limit.")
	fmt.Fprintln(w, "¹ the embedded store's Append without the ledger (no validation, no hashing). ² same file system: write + fdatasync loop appending to a file (1 writer), bare group-commit loop (8, 64), raw 1 MiB preads of the store's data (read all) or files (reopen). ³ the same write loops overwriting a zero-filled file, as PostgreSQL's WAL does and the embedded store does with its zero-filled segments: no size change for fdatasync to commit. ⁴ the preallocated loop while another file is zero-filled as fast as it writes records (2 MiB writes, fdatasync every 8 MiB), as the embedded store prepares its next segment: what preallocating as one goes costs the loop; a reference, not a target.")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| target | measured | |")
	fmt.Fprintln(w, "|---|--:|---|")
	for _, t := range ts {
		var got, verdict string
		switch {
		case t.Absent:
			got, verdict = "—", "not measured"
		case t.Share != "":
			got = fmt.Sprintf("%.1f%%", t.Got*100)
		case t.Against != "":
			got = fmt.Sprintf("%.2f×", t.Got)
		case t.Unit == unitSeconds:
			got = seconds(t.Got)
		default:
			got = human(t.Got) + "/s"
		}
		if !t.Absent {
			verdict = "met"
			if !t.Met {
				verdict = "**missed**: " + t.Missed
			}
		}
		fmt.Fprintf(w, "| %s | %s | %s |\n", t.Text, got, verdict)
	}
}

// machine describes where the run happened.
type machine struct {
	CPUs      int     `json:"cpus"`
	CPUModel  string  `json:"cpu_model"`
	MemoryGiB float64 `json:"memory_gib"`
	Kernel    string  `json:"kernel"`
	Disk      string  `json:"disk"` // device and file system of the data directory
	Go        string  `json:"go"`
	Postgres  string  `json:"postgres,omitempty"`
	Bbolt     string  `json:"bbolt"`
	LoadStart string  `json:"loadavg_start"`
	LoadEnd   string  `json:"loadavg_end,omitempty"`
}

func describeMachine(dir string) machine {
	m := machine{CPUs: runtime.NumCPU(), Go: runtime.Version(), LoadStart: loadavg()}
	m.CPUModel = firstField("/proc/cpuinfo", "model name")
	if kb := firstField("/proc/meminfo", "MemTotal"); kb != "" {
		var n float64
		fmt.Sscanf(kb, "%f", &n)
		m.MemoryGiB = math.Round(n/(1<<20)*10) / 10
	}
	var u syscall.Utsname
	if syscall.Uname(&u) == nil {
		m.Kernel = utsString(u.Release[:])
	}
	m.Disk = diskOf(dir)
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			if d.Path == "go.etcd.io/bbolt" {
				m.Bbolt = d.Version
			}
		}
	}
	return m
}

func utsString(b []int8) string {
	var sb strings.Builder
	for _, c := range b {
		if c == 0 {
			break
		}
		sb.WriteByte(byte(c))
	}
	return sb.String()
}

func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return ""
	}
	return strings.Join(f[:3], " ")
}

// firstField returns the value of the first "key : value" line of a
// /proc file.
func firstField(path, key string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(k) == key {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// diskOf names the mount holding dir: device, file system and options.
func diskOf(dir string) string {
	b, err := os.ReadFile("/proc/mounts")
	if err != nil {
		return ""
	}
	best, bestLen := "", -1
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 4 {
			continue
		}
		mp := f[1]
		if (dir == mp || strings.HasPrefix(dir, strings.TrimSuffix(mp, "/")+"/")) && len(mp) > bestLen {
			best, bestLen = fmt.Sprintf("%s %s on %s", f[0], f[2], mp), len(mp)
		}
	}
	return best
}
