package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"

	"partyledger/domain"
	"partyledger/projections"
)

// recomputeCommand scores every organisation of a year under two rulebook
// versions and prints whose final score or tier changes, by which items
// and why, and how many moved between which tiers.
func recomputeCommand() *command {
	var c struct {
		sf       scoreFlags
		from, to string
		asJSON   bool
	}
	return &command{
		readOnly: true,
		name:     "recompute",
		args:     "--year Y --from VERSION --to VERSION [--as-of DATE] [--known-at RFC3339] [--json]",
		short:    "按两个细则版本重算并比较 / rescore a year under two rulebook versions",
		flags: func(fs *flag.FlagSet) {
			c.sf.register(fs)
			fs.StringVar(&c.from, "from", "", "the version the grades were computed under (required)")
			fs.StringVar(&c.to, "to", "", "the corrected version (required)")
			fs.BoolVar(&c.asJSON, "json", false, "the report as JSON")
		},
		run: func(ctx context.Context, e *env, _ []string) error {
			if c.from == "" || c.to == "" {
				return usageError("give --from VERSION and --to VERSION")
			}
			if c.sf.rulebook != "" {
				return usageError("recompute takes --from and --to, not --rulebook")
			}
			q, err := c.sf.query()
			if err != nil {
				return err
			}
			_, board, err := e.scoreboard(ctx)
			if err != nil {
				return err
			}
			rep, err := board.Recompute(ctx, q, c.from, c.to)
			var fe *domain.FieldError
			switch {
			case asField(err, &fe) && (fe.Field == "from" || fe.Field == "to"):
				return usageError("--%s: %s", fe.Field, fe.Reason)
			case err != nil:
				return err
			case c.asJSON:
				return writeJSON(e.stdout, rep)
			}
			printRecompute(e.stdout, rep)
			return nil
		},
	}
}

func asField(err error, fe **domain.FieldError) bool {
	fes := domain.FieldErrors(err)
	if len(fes) == 1 && fes[0].Field != "" {
		*fe = fes[0]
		return true
	}
	return false
}

func printRecompute(w io.Writer, rep *projections.RecomputeReport) {
	fmt.Fprintf(w, "%d 年度重算：细则 %s（sha256 %.12s…）→ %s（sha256 %.12s…），截至 %s，知悉于 %s\n",
		rep.Year, rep.From.Version, rep.From.SHA256, rep.To.Version, rep.To.SHA256, rep.AsOf, rep.KnownAt)
	fmt.Fprintf(w, "共 %d 个组织；最终得分或等次变化 %d 个，其中等次变化 %d 个 / %d organisations, %d changed, %d changed tier\n\n",
		rep.Orgs, rep.GradeChanged, rep.TierChanged, rep.Orgs, rep.GradeChanged, rep.TierChanged)
	var tb table
	tb.add("原等次", "新等次", "组织数")
	for _, t := range rep.Transitions {
		arrow := "→ " + domain.TierLabel(t.To)
		if t.From == t.To {
			arrow = "（不变）"
		}
		tb.add(domain.TierLabel(t.From), arrow, fmt.Sprint(t.Orgs))
	}
	tb.write(w)
	for _, d := range rep.Changed {
		fmt.Fprintln(w)
		printScorecardDiff(w, d)
	}
}

// printScorecardDiff writes one organisation's change and its reasons.
func printScorecardDiff(w io.Writer, d *projections.ScorecardDiff) {
	fmt.Fprintf(w, "%s %s（%s）：最终得分 %s → %s，等次 %s → %s\n", d.Org, d.Name, d.Kind.Label(),
		standingFinal(d.Old), standingFinal(d.New), domain.TierLabel(d.Old.Tier), domain.TierLabel(d.New.Tier))
	if d.Old.Online != d.New.Online {
		fmt.Fprintf(w, "  网上考核 %s → %s\n", d.Old.Online, d.New.Online)
	}
	if o, n := vetoCodes(d.Old.Vetoes), vetoCodes(d.New.Vetoes); o != n {
		fmt.Fprintf(w, "  否决 %s → %s\n", o, n)
	}
	for _, it := range d.Items {
		score := func(s *projections.ItemSide) string {
			if s == nil {
				return "（无此项）"
			}
			return s.Score.String() + "/" + s.Value.String()
		}
		fmt.Fprintf(w, "  %s %s：%s → %s\n", it.Code, it.Title, score(it.Old), score(it.New))
		for _, side := range []struct {
			label string
			s     *projections.ItemSide
		}{{"原", it.Old}, {"新", it.New}} {
			if side.s == nil {
				continue
			}
			if len(side.s.Deductions) == 0 {
				fmt.Fprintf(w, "    %s：无扣分\n", side.label)
			}
			for _, dd := range side.s.Deductions {
				fmt.Fprintf(w, "    %s：−%s %s\n", side.label, dd.Points, dd.Reason)
			}
		}
	}
}

func standingFinal(s projections.Standing) string {
	if s.Provisional {
		return s.Final.String() + "（暂定）"
	}
	return s.Final.String()
}

func vetoCodes(vs []projections.Veto) string {
	if len(vs) == 0 {
		return "无"
	}
	var c []string
	for _, v := range vs {
		c = append(c, v.Code)
	}
	return strings.Join(c, ",")
}
