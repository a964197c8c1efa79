package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// TestProvinceSmall runs the province run's whole path on a few hundred
// organisations: import, reopen, facts, a real partyledger serve process,
// the loads, the restart, the table and the JSON. Every measurement must
// be there and plausible.
func TestProvinceSmall(t *testing.T) {
	cfg, err := provinceScale("city", 200)
	if err != nil {
		t.Fatal(err)
	}
	cfg.ReopenRuns, cfg.ScoreAllRuns, cfg.FactsSample, cfg.TokenOrgs = 2, 2, 20, 50
	cfg.WarmFor, cfg.LoadFor = 100*time.Millisecond, time.Second
	out := filepath.Join(t.TempDir(), "province.json")
	parent := t.TempDir()
	var stdout, stderr bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if err := runProvince(ctx, cfg, parent, out, false, []string{"--orgs", "200"}, &stdout, &stderr); err != nil {
		t.Fatalf("%v\nstderr:\n%s", err, stderr.String())
	}
	t.Logf("\n%s", stdout.String())

	var doc struct {
		Results provinceResult `json:"results"`
		Table   string         `json:"table_markdown"`
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	r := doc.Results
	// Every number measured: none left at zero but the error counts.
	for _, z := range zeroFields(reflect.ValueOf(r), "results") {
		if !strings.HasSuffix(z, ".Errors") {
			t.Errorf("%s is zero: not measured", z)
		}
	}
	// Events counted are events written.
	if r.Orgs != 200 || r.ScoredOrgs != 200 {
		t.Errorf("%d organisations imported, %d scored, want 200", r.Orgs, r.ScoredOrgs)
	}
	if r.EventsInStore != r.EventsImported || r.EventsImported < 200*300 {
		t.Errorf("%d events imported, %d in the store: want equal, about 360 an organisation", r.EventsImported, r.EventsInStore)
	}
	if got, want := r.Serve.Position, uint64(r.EventsImported+r.TokenEvents); got != want {
		t.Errorf("serve ready at position %d, want %d imported + %d of tokens", got, r.EventsImported, r.TokenEvents)
	}
	if got, want := r.Restart.Position, r.Serve.Position+uint64(r.AppendsAcked); got != want {
		t.Errorf("serve restarted at position %d, want %d + %d acknowledged appends", got, r.Serve.Position, r.AppendsAcked)
	}
	if r.AppendsAcked < int64(r.Appends.Requests) || r.TokenEvents < int64(cfg.TokenOrgs) {
		t.Errorf("%d appends acknowledged, %d measured; %d token events for %d tokens", r.AppendsAcked, r.Appends.Requests, r.TokenEvents, cfg.TokenOrgs)
	}
	// serve's own memory and its mapped files' add up to its RSS (each
	// rounded to a kilobyte by /proc), and the peak is at least the last.
	for _, m := range []struct {
		what  string
		rss   int64
		split memSplit
	}{{"ready", r.Serve.RSS, r.Serve.Split}, {"after the loads", r.ServeRSSAfterLoad, r.ServeSplitAfterLoad}, {"restart", r.Restart.RSS, r.Restart.Split}} {
		if d := m.split.Anon + m.split.File - m.rss; d < -(64<<10) || d > 64<<10 || m.split.AnonPeak < m.split.Anon {
			t.Errorf("serve %s: RSS %d, own %d (peak %d) + files %d", m.what, m.rss, m.split.Anon, m.split.AnonPeak, m.split.File)
		}
	}
	// The rankings through serve: the top level, then every organisation.
	if len(r.Rankings) != 2 || r.Rankings[1].Scorecards != r.Orgs || r.Rankings[0].Scorecards >= r.Orgs || r.Rankings[0].Scorecards == 0 {
		t.Errorf("rankings %+v: want the top level (some of the %d organisations), then all %d", r.Rankings, r.Orgs, r.Orgs)
	}
	// Plausible values.
	for _, l := range []loadSummary{r.Reads, r.Appends} {
		if l.Errors != 0 || !(l.P99us >= l.P50us && l.P50us > 0) || l.MaxUs < l.P99us || l.Clients != 64 {
			t.Errorf("load %+v: want no errors, max ≥ p99 ≥ p50 > 0, 64 clients", l)
		}
	}
	if r.FilePerEv < 100 || r.FilePerEv > 1000 || r.PayloadPerEv < 20 || r.PayloadPerEv > r.FilePerEv {
		t.Errorf("%.0f bytes an event in files, %.0f of payload", r.FilePerEv, r.PayloadPerEv)
	}
	if r.FactsPerOrg < 1000 || r.SnapshotPerOrg < 1000 || r.SnapshotPerOrg > r.FactsPerOrg {
		t.Errorf("facts %.0f bytes an organisation in memory, %.0f encoded", r.FactsPerOrg, r.SnapshotPerOrg)
	}
	if r.Serve.VmHWM < r.Serve.RSS || r.ServeVmHWMAfterLoad < r.ServeRSSAfterLoad || r.Serve.RSS < 10<<20 {
		t.Errorf("serve RSS %d, peak %d; after the loads %d, peak %d", r.Serve.RSS, r.Serve.VmHWM, r.ServeRSSAfterLoad, r.ServeVmHWMAfterLoad)
	}
	// The table: every row, every value, printed and in the JSON.
	for _, row := range provinceRows(cfg, &r) {
		line := "| " + strings.Join(row[:], " | ") + " |"
		if !strings.Contains(stdout.String(), line) || !strings.Contains(doc.Table, line) {
			t.Errorf("row %q missing from the table", row[0])
		}
		if row[1] == "" || strings.Contains(row[1], "NaN") || strings.Contains(row[1], "Inf") {
			t.Errorf("row %q: value %q", row[0], row[1])
		}
	}
	// The data is gone.
	if left, _ := filepath.Glob(filepath.Join(parent, "ledgerbench-province-*")); len(left) > 0 {
		t.Errorf("data left behind: %v", left)
	}
}

// zeroFields lists the numeric fields of v that are zero, by path.
func zeroFields(v reflect.Value, path string) []string {
	var out []string
	switch v.Kind() {
	case reflect.Struct:
		for i := range v.NumField() {
			out = append(out, zeroFields(v.Field(i), path+"."+v.Type().Field(i).Name)...)
		}
	case reflect.Slice:
		if v.Len() == 0 && v.Type().Elem().Kind() != reflect.String {
			out = append(out, path)
		}
		for i := range v.Len() {
			out = append(out, zeroFields(v.Index(i), path)...)
		}
	case reflect.Int, reflect.Int64, reflect.Uint64, reflect.Float64:
		if v.IsZero() {
			out = append(out, path)
		}
	}
	return out
}

// The run refuses to start when the disk cannot hold it, and says why.
func TestProvinceRefusesTooLittleDisk(t *testing.T) {
	dir := t.TempDir()
	_, _, err := checkDisk(dir, 1<<40)
	if err == nil || !strings.Contains(err.Error(), "not enough disk space") || !strings.Contains(err.Error(), dir) {
		t.Fatalf("checkDisk of 2^40 organisations: %v", err)
	}
	if _, _, err := checkDisk(dir, 10); err != nil {
		t.Fatalf("checkDisk of 10 organisations: %v", err)
	}
	var stderr bytes.Buffer
	err = Run(context.Background(), []string{"--orgs", "1099511627776", "--dir", dir}, &bytes.Buffer{}, &stderr)
	if err == nil || !strings.Contains(err.Error(), "not enough disk space") {
		t.Fatalf("ledgerbench --orgs 2^40: %v", err)
	}
	if left, _ := os.ReadDir(dir); len(left) > 0 {
		t.Errorf("a refused run left %d entries in %s", len(left), dir)
	}
}

func TestProvinceScale(t *testing.T) {
	for _, tt := range []struct {
		scale string
		orgs  int
		want  int
		err   string
	}{
		{"province", 0, 200_000, ""},
		{"city", 0, 3000, ""},
		{"", 500, 500, ""},
		{"province", 50, 50, ""},
		{"nation", 0, 0, `--scale "nation"`},
		{"", 2, 0, "--orgs 2"},
	} {
		cfg, err := provinceScale(tt.scale, tt.orgs)
		switch {
		case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)):
			t.Errorf("%q %d: err %v, want %q", tt.scale, tt.orgs, err, tt.err)
		case tt.err == "" && err != nil:
			t.Errorf("%q %d: %v", tt.scale, tt.orgs, err)
		case tt.err == "" && (cfg.Orgs != tt.want || cfg.Clients != 64 || cfg.TokenOrgs > cfg.Orgs || cfg.FactsSample > cfg.Orgs):
			t.Errorf("%q %d: %+v", tt.scale, tt.orgs, cfg)
		}
	}
}

// The watchdog kills serve when the machine runs short of memory, and
// says so.
func TestServeWatchdogKills(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "partyledger")
	if err := buildPartyledger(context.Background(), bin); err != nil {
		t.Fatal(err)
	}
	saved := memFloor
	memFloor = func() int64 { return 1 << 62 } // more than any machine has
	defer func() { memFloor = saved }()
	s, _, err := startServe(context.Background(), bin, filepath.Join(dir, "data"), filepath.Join(dir, "serve.log"), "", time.Minute)
	var killed *memoryKilled
	if !errors.As(err, &killed) || !strings.Contains(err.Error(), "serve killed") {
		if s != nil {
			s.stop()
		}
		t.Fatalf("startServe with no memory to spare: %v, want the watchdog's kill", err)
	}
}
