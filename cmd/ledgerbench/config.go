package main

import (
	"time"
)

// config sizes a run. quickConfig fits CI (well under three minutes with
// PostgreSQL); fullConfig is the run the README reports.
type config struct {
	Quick         bool          `json:"quick"`
	AppendFor     time.Duration `json:"append_for_ns"`      // measured time of each append workload
	WarmFor       time.Duration `json:"warm_for_ns"`        // unmeasured lead-in of each round of an append workload
	Rounds        int           `json:"rounds"`             // rounds an append workload is split into, alternating systems
	PilotFor      time.Duration `json:"bbolt_pilot_for_ns"` // each bbolt tuning pilot
	ReadEvents    int           `json:"read_events"`        // events of the read store
	StreamEvents  int           `json:"stream_events"`      // events of the one stream read
	StreamReads   int           `json:"stream_reads"`       // reads of it
	ReadRuns      int           `json:"read_runs"`          // runs of each read-all workload (best counts)
	ReplayRuns    int           `json:"replay_runs"`        // runs of each replay workload (best counts)
	ReopenRuns    int           `json:"reopen_runs"`
	YearSmall     int           `json:"year_small_orgs"`
	YearLarge     int           `json:"year_large_orgs"`
	ScoreAllRuns  int           `json:"score_all_runs"`
	PastSamples   int           `json:"past_samples"`
	PrefillBytes  int64         `json:"prefill_bytes"` // zero-filled file of the preallocated limit
	SeqWriteBytes int64         `json:"seq_write_bytes"`
	Seed          int64         `json:"seed"`

	// ReopenBigEvents is the size of the store of the second reopen row,
	// built with the store's own Append.
	ReopenBigEvents int `json:"reopen_big_events"`
}

func fullConfig() config {
	return config{
		AppendFor: 5 * time.Second, WarmFor: 200 * time.Millisecond, Rounds: 5, PilotFor: 600 * time.Millisecond,
		ReadEvents: 1_000_000, StreamEvents: 1000, StreamReads: 300, ReadRuns: 5, ReplayRuns: 2, ReopenRuns: 3, ReopenBigEvents: 10_000_000,
		YearSmall: 1000, YearLarge: 10_000, ScoreAllRuns: 5, PastSamples: 1000,
		SeqWriteBytes: 1 << 30, PrefillBytes: 128 << 20, Seed: 2016,
	}
}

func quickConfig() config {
	return config{
		Quick:     true,
		AppendFor: time.Second, WarmFor: 100 * time.Millisecond, Rounds: 2, PilotFor: 150 * time.Millisecond,
		ReadEvents: 20_000, StreamEvents: 1000, StreamReads: 30, ReadRuns: 2, ReplayRuns: 2, ReopenRuns: 2, ReopenBigEvents: 50_000,
		YearSmall: 100, YearLarge: 1000, ScoreAllRuns: 2, PastSamples: 100,
		SeqWriteBytes: 64 << 20, PrefillBytes: 64 << 20, Seed: 2016,
	}
}
