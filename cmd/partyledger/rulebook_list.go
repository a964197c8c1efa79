package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"partyledger/domain"
	"partyledger/ledger"
)

func rulebookListCommand() *command {
	var c struct {
		year   int
		asJSON bool
	}
	return &command{
		readOnly: true,
		name:     "list",
		args:     "[--year Y] [--json]",
		short:    "列出某年度的细则版本（谁、何时、为何发布）/ list a year's rulebook versions",
		flags: func(fs *flag.FlagSet) {
			fs.IntVar(&c.year, "year", 2016, "assessment year")
			fs.BoolVar(&c.asJSON, "json", false, "JSON")
		},
		run: func(ctx context.Context, e *env, _ []string) error {
			bk, err := e.books(ctx)
			if err != nil {
				return err
			}
			all, err := bk.Rulebooks(ctx, c.year)
			if err != nil {
				return err
			}
			if len(all) == 0 {
				return fmt.Errorf("%d 年度没有细则 / no rulebook for %d", c.year, c.year)
			}
			now, err := bk.RulebookAt(ctx, c.year, bk.Now(), "")
			if err != nil {
				return err
			}
			if c.asJSON {
				return writeJSON(e.stdout, rulebookRows(c.year, all, now))
			}
			printRulebookList(e.stdout, c.year, all, now)
			return nil
		},
	}
}

// rulebookRow is a version as rulebook list --json shows it.
type rulebookRow struct {
	Year       int    `json:"year"`
	Version    string `json:"version"`
	Title      string `json:"title"`
	SHA256     string `json:"sha256"`
	Reason     string `json:"reason"`
	EventID    string `json:"event_id,omitempty"`
	RecordedAt string `json:"recorded_at,omitempty"`
	RecordedBy string `json:"recorded_by,omitempty"`
	Builtin    bool   `json:"builtin_unrecorded,omitempty"`
	InForce    bool   `json:"in_force"`
}

func rulebookRows(year int, all []domain.PublishedRulebook, now *domain.Rulebook) []rulebookRow {
	out := []rulebookRow{}
	for _, p := range all {
		r := rulebookRow{Year: year, Version: p.Rulebook.Version, Title: p.Rulebook.Title, SHA256: p.Rulebook.SHA256(), Reason: p.Reason,
			EventID: p.EventID, RecordedBy: p.RecordedBy, Builtin: p.Builtin, InForce: p.Rulebook == now}
		if !p.Builtin {
			r.RecordedAt = p.RecordedAt.Format(ledger.RecordedAtLayout)
		}
		out = append(out, r)
	}
	return out
}

func printRulebookList(w io.Writer, year int, all []domain.PublishedRulebook, now *domain.Rulebook) {
	var tb table
	tb.add("版本", "状态", "记录时间(UTC)", "记录人", "SHA-256", "原因")
	for _, p := range all {
		state, at := "已被取代", p.RecordedAt.UTC().Format("2006-01-02 15:04:05")
		if p.Rulebook == now {
			state = "现行"
		}
		if p.Builtin {
			state, at = "现行（内置，尚未登记）", "—"
		}
		tb.add(p.Rulebook.Version, state, at, orDash(p.RecordedBy), p.Rulebook.SHA256()[:16]+"…", p.Reason)
	}
	fmt.Fprintf(w, "%d 年度细则版本 / rulebook versions of %d\n\n", year, year)
	tb.write(w)
}

func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}
