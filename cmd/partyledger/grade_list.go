package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"sort"

	"partyledger/domain"
)

func gradeListCommand() *command {
	var c struct {
		year   int
		asJSON bool
	}
	return &command{
		readOnly: true,
		name:     "list",
		args:     "--year Y [--json]",
		short:    "全部组织的现行正式等次 / every organisation's current grade",
		flags: func(fs *flag.FlagSet) {
			fs.IntVar(&c.year, "year", 2016, "assessment year")
			fs.BoolVar(&c.asJSON, "json", false, "JSON: the latest grade of each organisation")
		},
		run: func(ctx context.Context, e *env, _ []string) error {
			bk, err := e.books(ctx)
			if err != nil {
				return err
			}
			all, err := bk.Grades(ctx, c.year)
			if err != nil {
				return err
			}
			codes := make([]string, 0, len(all))
			for code := range all {
				codes = append(codes, code)
			}
			sort.Strings(codes)
			var latest []domain.Grade
			for _, code := range codes {
				latest = append(latest, all[code][len(all[code])-1])
			}
			if c.asJSON {
				return writeJSON(e.stdout, gradeRows(latest))
			}
			printGradeList(e.stdout, c.year, latest, all)
			return nil
		},
	}
}

func printGradeList(w io.Writer, year int, latest []domain.Grade, all map[string][]domain.Grade) {
	if len(latest) == 0 {
		fmt.Fprintf(w, "%d 年度尚未评定正式等次 / no grades yet\n", year)
		return
	}
	var tb table
	tb.add("代码", "最终得分", "等次", "细则版本", "评定次数", "记录时间(UTC)", "改定理由")
	tiers := map[string]int{}
	for _, gr := range latest {
		tiers[gr.Tier]++
		tb.add(gr.Org, gr.Final.String(), domain.TierLabel(gr.Tier), gr.RulebookVersion, fmt.Sprint(len(all[gr.Org])),
			gr.RecordedAt.UTC().Format("2006-01-02 15:04:05"), orDash(gr.OverrideReason))
	}
	tb.write(w)
	fmt.Fprintf(w, "\n共 %d 个组织：先进 %d，达标 %d，未达标 %d\n", len(latest), tiers[domain.TierAdvanced], tiers[domain.TierCompliant], tiers[domain.TierNonCompliant])
}
