package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"partyledger/domain"
	"partyledger/ledger/books"
	"partyledger/projections/scoreboard"
)

// gradeWriteCommand is grade issue, or with revise grade revise: official
// grades as events, for every organisation of a year (issue) or for those
// whose final score or tier a rulebook correction changed (revise).
func gradeWriteCommand(revise bool) *command {
	var c struct {
		under                         string
		year                          int
		knownAt, rulebook, as, reason string
		provisional, dryRun, asJSON   bool
	}
	cmd := &command{
		remote: true,
		name:   "issue",
		args:   "--year Y [--under CODE|*] [--known-at RFC3339] [--rulebook VERSION] [--provisional] [--dry-run] [--json]",
		short:  "评定全部组织的正式等次（已评定的跳过）/ grade every organisation",
	}
	if revise {
		cmd.name, cmd.args = "revise", `--year Y --reason "…" [--known-at RFC3339] [--rulebook VERSION] [--provisional] [--dry-run] [--json]`
		cmd.short = "细则更正后，仅为等次或得分变化的组织更正等次 / revise the grades a correction changed"
		cmd.required = map[string]string{"reason": "say which correction the revision follows"}
	}
	cmd.flags = func(fs *flag.FlagSet) {
		fs.IntVar(&c.year, "year", 2016, "assessment year")
		fs.StringVar(&c.knownAt, "known-at", "", "grade as known at this instant (RFC 3339); default now")
		fs.StringVar(&c.rulebook, "rulebook", "", "rulebook version; default the one in force")
		fs.StringVar(&c.under, "under", "", "grade the subtree under this committee's code instead of the organisations directly under the work committee, or * for every organisation")
		fs.BoolVar(&c.provisional, "provisional", false, "also grade organisations without a group assessment (provisional score)")
		fs.BoolVar(&c.dryRun, "dry-run", false, "show what would be written; write nothing")
		fs.StringVar(&c.as, "as", "cli", "recorded_by")
		fs.BoolVar(&c.asJSON, "json", false, "the outcome as JSON")
		if revise {
			fs.StringVar(&c.reason, "reason", "", "why the grades are revised: the rulebook correction (required)")
		}
	}
	cmd.run = func(ctx context.Context, e *env, _ []string) error {
		opts := scoreboard.GradeOptions{By: c.as, Rulebook: c.rulebook, AllowProvisional: c.provisional, DryRun: c.dryRun, Reason: c.reason, Under: c.under}
		if c.knownAt != "" {
			t, err := parseKnownAtFlag(c.knownAt, "2017-03-31T12:00:00+08:00")
			if err != nil {
				return err
			}
			opts.KnownAt = t
		}
		cl, err := e.remote()
		if err != nil {
			return err
		}
		var run *scoreboard.GradeRun
		if cl != nil { // through the API: computed by the server, recorded as the --token's holder (--as does not apply)
			run, err = remoteGradeRun(ctx, e, cl, revise, c.year, c.knownAt, opts)
		} else {
			run, err = localGradeRun(ctx, e, revise, c.year, c.dryRun, opts)
		}
		switch {
		case err != nil:
			return err
		case c.asJSON:
			return writeJSON(e.stdout, run)
		}
		printGradeRun(e.stdout, run, revise)
		return nil
	}
	return cmd
}

// localGradeRun issues or revises the year's grades on the local store.
func localGradeRun(ctx context.Context, e *env, revise bool, year int, dryRun bool, opts scoreboard.GradeOptions) (*scoreboard.GradeRun, error) {
	_, board, err := e.scoreboard(ctx)
	if err != nil {
		return nil, err
	}
	if !dryRun && !e.perStream() { // per-stream ids: no log tree (it reads all of $all), grades carry no checkpoint
		tree, err := e.tree(ctx)
		if err != nil {
			return nil, err
		}
		opts.Anchor = books.Anchor(tree) // each grade names the log tree it was computed at
	}
	if revise {
		return board.ReviseGrades(ctx, year, opts)
	}
	return board.IssueGrades(ctx, year, opts)
}

func printGradeRun(w io.Writer, run *scoreboard.GradeRun, revise bool) {
	verb := "评定"
	if revise {
		verb = "更正"
	}
	if run.DryRun {
		verb = "拟" + verb
	}
	fmt.Fprintf(w, "%d 年度正式等次%s：细则 %s（sha256 %.12s…），知悉于 %s，共 %d 个组织\n", run.Year, verb,
		run.Rulebook.Version, run.Rulebook.SHA256, run.KnownAt, run.Orgs)
	switch {
	case revise && len(run.Written) == 0:
		fmt.Fprintf(w, "等次均无变化，未写入任何事件 / no grade changed; nothing written（%d 个不变，%d 个跳过）\n", run.Unchanged, len(run.Skipped))
	case revise:
		fmt.Fprintf(w, "%s %d 个组织的等次，%d 个不变，%d 个跳过 / %d revised, %d unchanged, %d skipped\n\n", verb, len(run.Written),
			run.Unchanged, len(run.Skipped), len(run.Written), run.Unchanged, len(run.Skipped))
		for _, o := range run.Written {
			p := o.Previous
			fmt.Fprintf(w, "%s %s：%s %s（细则 %s）→ %s %s（细则 %s）\n", o.Org, o.Name, p.Final, domain.TierLabel(p.Tier),
				p.RulebookVersion, o.Final, domain.TierLabel(o.Tier), run.Rulebook.Version)
			if o.Diff != nil {
				for _, it := range o.Diff.Items {
					var was, now []string
					if it.Old != nil {
						for _, d := range it.Old.Deductions {
							was = append(was, "−"+d.Points.String()+" "+d.Reason)
						}
					}
					if it.New != nil {
						for _, d := range it.New.Deductions {
							now = append(now, "−"+d.Points.String()+" "+d.Reason)
						}
					}
					fmt.Fprintf(w, "  %s %s\n    原：%s\n    新：%s\n", it.Code, it.Title, orNone(was), orNone(now))
				}
			}
		}
	default:
		fmt.Fprintf(w, "%s %d 个组织，%d 个跳过 / %d graded, %d skipped\n\n", verb, len(run.Written), len(run.Skipped), len(run.Written), len(run.Skipped))
		if run.Checkpoint != nil {
			fmt.Fprintf(w, "评定时账本检查点 / anchored to the log tree: %d events, root %s (sign one with: partyledger checkpoint)\n\n", run.Checkpoint.Size, run.Checkpoint.Root)
		}
		var tb table
		tb.add("代码", "名称", "最终得分", "等次", "评分卡SHA-256")
		for _, o := range run.Written {
			tb.add(o.Org, o.Name, o.Final.String(), domain.TierLabel(o.Tier), o.ScorecardSHA256[:16]+"…")
		}
		tb.write(w)
	}
	if len(run.Skipped) > 0 {
		fmt.Fprintln(w)
		for _, s := range run.Skipped {
			fmt.Fprintf(w, "跳过 %s：%s\n", s.Org, s.Reason)
		}
	}
}

func orNone(list []string) string {
	if len(list) == 0 {
		return "无扣分"
	}
	return strings.Join(list, "；")
}

// remoteGradeRun runs grade issue or revise on a running server (POST
// /v1/grades/issue or /v1/grades/revise): the server computes the grades
// on its ledger and records them; its refusals are printed as field:
// reason, exit 1.
func remoteGradeRun(ctx context.Context, e *env, cl *apiClient, revise bool, year int, knownAt string, opts scoreboard.GradeOptions) (*scoreboard.GradeRun, error) {
	body, err := json.Marshal(map[string]any{"year": year, "known_at": knownAt, "rulebook": opts.Rulebook, "under": opts.Under,
		"provisional": opts.AllowProvisional, "dry_run": opts.DryRun, "reason": opts.Reason})
	if err != nil {
		return nil, err
	}
	path := "/v1/grades/issue"
	if revise {
		path = "/v1/grades/revise"
	}
	var run scoreboard.GradeRun
	err = cl.do(ctx, "POST", path, body, &run)
	var re *remoteError
	if errors.As(err, &re) {
		re.print(e.stderr, "")
		return nil, exitError{code: 1, quiet: true, err: err}
	}
	if err != nil {
		return nil, err
	}
	return &run, nil
}
