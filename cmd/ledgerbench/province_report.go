package main

import (
	"fmt"
	"io"
	"strings"
)

// provinceRows returns the rows of the province table: what, measured
// value, how.
func provinceRows(cfg provinceConfig, r *provinceResult) [][3]string {
	perEv := func(n int64) float64 { return float64(n) / float64(max(r.EventsImported, 1)) }
	lat := func(l loadSummary) string {
		return fmt.Sprintf("%s / %s ms (%s requests/s)", ms(l.P50us), ms(l.P99us), human(l.Rate))
	}
	mem := func(rss, hwm int64) string { return fmt.Sprintf("%.2f GiB (peak %.2f GiB)", gib(rss), gib(hwm)) }
	// own is serve's memory split into its own and the mapped files'.
	own := func(m memSplit) string {
		return fmt.Sprintf("; its own (RssAnon) %.2f GiB (peak %.2f GiB), mapped files (RssFile) %.2f GiB", gib(m.Anon), gib(m.AnonPeak), gib(m.File))
	}
	rows := [][3]string{
		{"organisations, events", fmt.Sprintf("%s; %s events", commas(r.Orgs), commas(int(r.EventsImported))),
			fmt.Sprintf("%d demo cities (`domain/democity`, seeds %d on), codes renamed per city, the committee's schedule once; every count checked: store head, serve's position before and after the loads", r.Cities, cfg.Seed)},
		{"import", fmt.Sprintf("%s (%s events/s)", seconds(r.ImportSeconds), human(r.ImportRate)),
			fmt.Sprintf("`ledger.Ledger.Append`, one organisation's events per append (≤ %d), %d goroutines; generating the cities (%s) not counted", importBatch, cfg.Loaders, seconds(r.GenerateSeconds))},
		{"disk per event", fmt.Sprintf("%.0f bytes (%.0f allocated)", r.FilePerEv, r.AllocPerEv),
			fmt.Sprintf("the store's files after the import: %.1f GB; payloads (JSON) %.0f bytes an event", gb(r.FileBytes), r.PayloadPerEv)},
		{"log tree hash file per event", fmt.Sprintf("%.0f bytes", perEv(r.HashFileBytes)),
			fmt.Sprintf("derived data serve writes beside the store at its first start: %.1f GB", gb(r.HashFileBytes))},
		{"reopen the store", seconds(r.ReopenMedian), fmt.Sprintf("`filestore.Open` (from the index files written at seal and close; the log is scanned where they end), median of %d", len(r.ReopenSeconds))},
		{"fold all facts, one process", fmt.Sprintf("%s (%s events/s)", seconds(r.FoldSeconds), human(r.FoldRate)),
			"the scoreboard's fold over the reopened store, one goroutine: `Store.ReadAll` → `books.Recorded` → `projections.Facts.Apply` (the committee's: `Schedule.Apply`)"},
		{"heap: the open store", fmt.Sprintf("%.2f GiB (%.0f bytes an event)", gib(r.StoreHeapBytes), perEv(r.StoreHeapBytes)),
			"live heap after `filestore.Open` + `ledger.New` (indexes of ids, streams, positions)"},
		{"heap: live facts", fmt.Sprintf("%.2f GiB: %s bytes an organisation (%.0f an event)", gib(r.FactsHeapBytes), commas(int(r.FactsPerOrg)), r.FactsPerEvent),
			"live heap the fold added: every organisation's `projections.Facts` (and the committee's schedule), as the scoreboard holds them"},
		{"facts encoded", fmt.Sprintf("%s bytes an organisation (%.0f an event)", commas(int(r.SnapshotPerOrg)), r.SnapshotPerEvent),
			fmt.Sprintf("`projections.Facts.MarshalBinary`, %s organisations spread evenly", commas(r.SnapshotSample))},
		{fmt.Sprintf("score all %s from facts", commas(r.ScoredOrgs)), seconds(r.ScoreAllMedian),
			fmt.Sprintf("`projections.ScoreAll` (both cores) in chunks of %s, each card's ledger position, one ranking of all; median of %d", commas(scoreChunk), len(r.ScoreAllSeconds))},
		{"a scorecard in memory", fmt.Sprintf("%s bytes; all %s at once: %.2f GiB", commas(int(r.CardBytes)), commas(r.ScoredOrgs), gib(int64(r.CardBytes*float64(r.ScoredOrgs)))),
			"live heap of a chunk's scorecards: what `projections.ScoreAll` over every organisation would hold (rankings keep a row each instead: below)"},
		{"`serve` start", seconds(r.Serve.ReadySeconds),
			"process start → listening with every organisation's facts folded (`/healthz` at the store's head); first start: builds the log tree's hash file; " + gcSettings(cfg.ServeMemLimit)},
		{"`serve` memory when ready", mem(r.Serve.RSS, r.Serve.VmHWM) + own(r.Serve.Split), "VmRSS (VmHWM) from /proc, which counts the pages of the store's segments serve has read through its mappings (page cache); RssAnon's peak sampled every 250 ms; " + gcSettings(cfg.ServeMemLimit)},
		{fmt.Sprintf("scorecard read, %d clients", r.Reads.Clients), lat(r.Reads),
			fmt.Sprintf("`GET /v1/orgs/{code}/scorecard` over loopback HTTP, %s organisations' branch tokens, p50 / p99 of %s requests in %s; the clients run on the same machine", commas(cfg.TokenOrgs), commas(r.Reads.Requests), seconds(r.Reads.Seconds))},
		{fmt.Sprintf("append, %d clients", r.Appends.Clients), lat(r.Appends),
			fmt.Sprintf("`POST /v1/orgs/{code}/events`, one `StudySessionHeld`, durable; p50 / p99 of %s appends in %s, after one unmeasured append to each organisation", commas(r.Appends.Requests), seconds(r.Appends.Seconds))},
		{"`serve` memory after the loads", mem(r.ServeRSSAfterLoad, r.ServeVmHWMAfterLoad) + own(r.ServeSplitAfterLoad), "VmRSS (VmHWM); " + gcSettings(cfg.ServeMemLimit)},
	}
	for _, rk := range r.Rankings {
		rows = append(rows, [3]string{"ranking of " + rk.What, fmt.Sprintf("%s (%s scorecards, %.1f GB)", seconds(rk.Seconds), commas(rk.Scorecards), gb(rk.Bytes)),
			"`GET /v1/scorecards?" + rk.Query + "` through serve (`Board.Rank`: a row per organisation, then the scorecards scored again and streamed a chunk at a time), request → last byte, read as a stream"})
	}
	if len(r.Rankings) > 0 {
		rows = append(rows, [3]string{"`serve` memory after the rankings", mem(r.ServeRSSAfterRank, r.ServeHWMAfterRank) + own(r.ServeSplitAfterRank), "VmRSS (VmHWM); " + gcSettings(cfg.ServeMemLimit)})
	}
	return append(rows, restartRow(r.Restart))
}

func gcSettings(memLimit string) string {
	if memLimit != "" {
		return "GOMEMLIMIT=" + memLimit
	}
	return "Go's default GC settings (GOGC=100, no GOMEMLIMIT)"
}

// restartRow is the restart's row: its time and memory, or the watchdog's
// kill.
func restartRow(st serveStart) [3]string {
	if st.Killed != "" {
		return [3]string{"`serve` restart", fmt.Sprintf("killed at %.2f GiB (peak %.2f GiB)", gib(st.RSS), gib(st.VmHWM)),
			st.Killed + "; " + gcSettings("")}
	}
	return [3]string{"`serve` restart", fmt.Sprintf("%s; %.2f GiB (peak %.2f GiB); its own (RssAnon) %.2f GiB (peak %.2f GiB), mapped files (RssFile) %.2f GiB",
		seconds(st.ReadySeconds), gib(st.RSS), gib(st.VmHWM), gib(st.Split.Anon), gib(st.Split.AnonPeak), gib(st.Split.File)),
		"log tree's hash file present; time to ready, VmRSS (VmHWM) when ready; " + gcSettings("")}
}

// writeProvinceTable writes the province run as a Markdown table.
func writeProvinceTable(w io.Writer, cfg provinceConfig, r *provinceResult) {
	fmt.Fprintln(w, "| measured | value | how |")
	fmt.Fprintln(w, "|---|--:|---|")
	for _, row := range provinceRows(cfg, r) {
		fmt.Fprintln(w, "| "+strings.Join(row[:], " | ")+" |")
	}
	if r.Reads.Errors+r.Appends.Errors > 0 {
		fmt.Fprintf(w, "\n**%d scorecard reads and %d appends failed**: %s\n", r.Reads.Errors, r.Appends.Errors,
			strings.Join(append(r.Reads.FirstErr, r.Appends.FirstErr...), "; "))
	}
}
