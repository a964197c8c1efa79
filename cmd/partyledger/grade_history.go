package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"partyledger/domain"
	"partyledger/ledger"
)

func gradeHistoryCommand() *command {
	var c struct {
		org    string
		year   int
		asJSON bool
	}
	return &command{
		readOnly: true,
		name:     "history",
		args:     "--org CODE --year Y [--json]",
		short:    "某组织历次评定与更正（细则版本与原因）/ every grade of an organisation, with rulebook and reason",
		required: map[string]string{"org": ""},
		flags: func(fs *flag.FlagSet) {
			fs.StringVar(&c.org, "org", "", "organisation code")
			fs.IntVar(&c.year, "year", 2016, "assessment year")
			fs.BoolVar(&c.asJSON, "json", false, "JSON")
		},
		run: func(ctx context.Context, e *env, _ []string) error {
			bk, err := e.books(ctx)
			if err != nil {
				return err
			}
			if st, err := bk.Org(ctx, c.org); err != nil {
				return err
			} else if st == nil {
				return &domain.FieldError{Field: "org", Reason: fmt.Sprintf("organisation %q is not registered", c.org)}
			}
			gs, err := bk.OrgGrades(ctx, c.org, c.year)
			switch {
			case err != nil:
				return err
			case c.asJSON:
				return writeJSON(e.stdout, gradeRows(gs))
			}
			printGradeHistory(e.stdout, c.org, c.year, gs)
			return nil
		},
	}
}

func printGradeHistory(w io.Writer, org string, year int, gs []domain.Grade) {
	if len(gs) == 0 {
		fmt.Fprintf(w, "%s 在 %d 年度尚无正式等次 / no grade yet\n", org, year)
		return
	}
	var tb table
	tb.add("序号", "类型", "细则版本", "最终得分", "等次", "记录时间(UTC)", "记录人", "评分卡SHA-256", "原因", "改定理由")
	for i, gr := range gs {
		tb.add(fmt.Sprint(i+1), domain.TypeLabel(gr.Type), gr.RulebookVersion, gr.Final.String(), domain.TierLabel(gr.Tier),
			gr.RecordedAt.UTC().Format("2006-01-02 15:04:05"), gr.RecordedBy, shortHash(gr.ScorecardSHA256), orDash(gr.Reason),
			orDash(gr.OverrideReason))
	}
	fmt.Fprintf(w, "%s %d 年度正式等次记录 / grade history\n\n", org, year)
	tb.write(w)
	last := gs[len(gs)-1]
	fmt.Fprintf(w, "\n现行等次：%s %s（细则 %s）%s\n", last.Final, domain.TierLabel(last.Tier), last.RulebookVersion, overrideNote(last))
}

// overrideNote says that a grade differs from the computation and why
// (GOVERNANCE.md: every view of a grade shows its override_reason).
func overrideNote(g domain.Grade) string {
	if g.OverrideReason == "" {
		return ""
	}
	return "，与计算结果不同，改定理由：" + g.OverrideReason
}

func shortHash(s string) string {
	if len(s) > 16 {
		return s[:16] + "…"
	}
	return orDash(s)
}

// gradeJSON is a grade as the JSON outputs show it.
type gradeJSON struct {
	Org             string        `json:"org"`
	Year            int           `json:"year"`
	Type            string        `json:"type"`
	RulebookVersion string        `json:"rulebook_version"`
	Final           domain.Points `json:"final"`
	Tier            string        `json:"tier"`
	ScorecardSHA256 string        `json:"scorecard_sha256,omitempty"`
	Reason          string        `json:"reason,omitempty"`
	OverrideReason  string        `json:"override_reason,omitempty"` // why it differs from the computation
	EventID         string        `json:"event_id"`
	RecordedAt      string        `json:"recorded_at"`
	RecordedBy      string        `json:"recorded_by"`
}

func gradeRows(gs []domain.Grade) []gradeJSON {
	out := make([]gradeJSON, 0, len(gs))
	for _, g := range gs {
		out = append(out, gradeJSON{Org: g.Org, Year: g.Year, Type: g.Type, RulebookVersion: g.RulebookVersion, Final: g.Final,
			Tier: g.Tier, ScorecardSHA256: g.ScorecardSHA256, Reason: g.Reason, OverrideReason: g.OverrideReason, EventID: g.EventID,
			RecordedAt: g.RecordedAt.UTC().Format(ledger.RecordedAtLayout), RecordedBy: g.RecordedBy})
	}
	return out
}
