package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"partyledger/domain"
	"partyledger/ledger"
	"partyledger/projections/scoreboard"
)

// runGrade dispatches the grade subcommands.
func runGrade(ctx context.Context, e *env, args []string) error {
	sub, rest := "", args
	for i, a := range args {
		if !strings.HasPrefix(a, "-") && (i == 0 || !isGradeValueFlag(args[i-1])) {
			sub, rest = a, append(append([]string(nil), args[:i]...), args[i+1:]...)
			break
		}
	}
	switch sub {
	case "issue":
		return runGradeWrite(ctx, e, rest, false)
	case "revise":
		return runGradeWrite(ctx, e, rest, true)
	case "history":
		return runGradeHistory(ctx, e, rest)
	case "list":
		return runGradeList(ctx, e, rest)
	}
	fmt.Fprintln(e.stderr, `用法 / usage:
  partyledger grade issue --year Y [--provisional] [--dry-run]     评定全部组织的正式等次（已评定的跳过）
  partyledger grade revise --year Y --reason "…" [--dry-run]       细则更正后，仅为等次或得分变化的组织更正等次
  partyledger grade history --org CODE --year Y                    某组织历次评定与更正（细则版本与原因）
  partyledger grade list --year Y                                  全部组织的现行正式等次`)
	if sub == "" || sub == "help" || sub == "-h" {
		return exitError{code: 2, quiet: true}
	}
	return usageError("unknown grade command %q", sub)
}

func isGradeValueFlag(a string) bool {
	switch strings.TrimLeft(a, "-") {
	case "data", "store", "year", "reason", "as", "org", "known-at", "rulebook":
		return true
	}
	return false
}

func runGradeWrite(ctx context.Context, e *env, args []string, revise bool) error {
	var g globals
	name, usage := "grade issue", "grade issue --year Y [--known-at RFC3339] [--rulebook VERSION] [--provisional] [--dry-run] [--json]"
	if revise {
		name, usage = "grade revise", `grade revise --year Y --reason "…" [--known-at RFC3339] [--rulebook VERSION] [--provisional] [--dry-run] [--json]`
	}
	fs := newFlagSet(e, name, usage)
	g.register(fs, e)
	year := fs.Int("year", 2016, "assessment year")
	knownAt := fs.String("known-at", "", "grade as known at this instant (RFC 3339); default now")
	rulebook := fs.String("rulebook", "", "rulebook version; default the one in force")
	provisional := fs.Bool("provisional", false, "also grade organisations without a group assessment (provisional score)")
	dryRun := fs.Bool("dry-run", false, "show what would be written; write nothing")
	by := fs.String("as", "cli", "recorded_by")
	asJSON := fs.Bool("json", false, "the outcome as JSON")
	var reason *string
	if revise {
		reason = fs.String("reason", "", "why the grades are revised: the rulebook correction (required)")
	}
	if _, err := parseFlags(fs, args); err != nil {
		return err
	}
	opts := scoreboard.GradeOptions{By: *by, Rulebook: *rulebook, AllowProvisional: *provisional, DryRun: *dryRun}
	if revise {
		if strings.TrimSpace(*reason) == "" {
			return usageError("--reason is required: say which correction the revision follows")
		}
		opts.Reason = *reason
	}
	if *knownAt != "" {
		t, err := time.Parse(time.RFC3339Nano, *knownAt)
		if err != nil {
			return usageError("--known-at: want RFC 3339, e.g. 2017-03-31T12:00:00+08:00")
		}
		opts.KnownAt = t
	}
	bk, err := g.open(ctx, e)
	if err != nil {
		return err
	}
	defer bk.Close()
	board := scoreboard.New(bk, scoreboard.Options{Now: e.now})
	var run *scoreboard.GradeRun
	if revise {
		run, err = board.ReviseGrades(ctx, *year, opts)
	} else {
		run, err = board.IssueGrades(ctx, *year, opts)
	}
	if err != nil {
		return err
	}
	w := bufio.NewWriter(e.stdout)
	defer w.Flush()
	if *asJSON {
		return writeJSON(w, run)
	}
	printGradeRun(w, run, revise)
	return nil
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

func runGradeHistory(ctx context.Context, e *env, args []string) error {
	var g globals
	fs := newFlagSet(e, "grade history", "grade history --org CODE --year Y [--json]")
	g.register(fs, e)
	org := fs.String("org", "", "organisation code")
	year := fs.Int("year", 2016, "assessment year")
	asJSON := fs.Bool("json", false, "JSON")
	if _, err := parseFlags(fs, args); err != nil {
		return err
	}
	if *org == "" {
		fs.Usage()
		return usageError("--org is required")
	}
	bk, err := g.open(ctx, e)
	if err != nil {
		return err
	}
	defer bk.Close()
	if st, err := bk.Org(ctx, *org); err != nil {
		return err
	} else if st == nil {
		return &domain.FieldError{Field: "org", Reason: fmt.Sprintf("organisation %q is not registered", *org)}
	}
	gs, err := bk.OrgGrades(ctx, *org, *year)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(e.stdout)
	defer w.Flush()
	if *asJSON {
		return writeJSON(w, gradeRows(gs))
	}
	if len(gs) == 0 {
		fmt.Fprintf(w, "%s 在 %d 年度尚无正式等次 / no grade yet\n", *org, *year)
		return nil
	}
	var tb table
	tb.add("序号", "类型", "细则版本", "最终得分", "等次", "记录时间(UTC)", "记录人", "评分卡SHA-256", "原因")
	for i, gr := range gs {
		tb.add(fmt.Sprint(i+1), domain.TypeLabel(gr.Type), gr.RulebookVersion, gr.Final.String(), domain.TierLabel(gr.Tier),
			gr.RecordedAt.UTC().Format("2006-01-02 15:04:05"), gr.RecordedBy, shortHash(gr.ScorecardSHA256), orDash(gr.Reason))
	}
	fmt.Fprintf(w, "%s %d 年度正式等次记录 / grade history\n\n", *org, *year)
	tb.write(w)
	last := gs[len(gs)-1]
	fmt.Fprintf(w, "\n现行等次：%s %s（细则 %s）\n", last.Final, domain.TierLabel(last.Tier), last.RulebookVersion)
	return nil
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
	EventID         string        `json:"event_id"`
	RecordedAt      string        `json:"recorded_at"`
	RecordedBy      string        `json:"recorded_by"`
}

func gradeRows(gs []domain.Grade) []gradeJSON {
	out := make([]gradeJSON, 0, len(gs))
	for _, g := range gs {
		out = append(out, gradeJSON{Org: g.Org, Year: g.Year, Type: g.Type, RulebookVersion: g.RulebookVersion, Final: g.Final,
			Tier: g.Tier, ScorecardSHA256: g.ScorecardSHA256, Reason: g.Reason, EventID: g.EventID,
			RecordedAt: g.RecordedAt.UTC().Format(ledger.RecordedAtLayout), RecordedBy: g.RecordedBy})
	}
	return out
}

func runGradeList(ctx context.Context, e *env, args []string) error {
	var g globals
	fs := newFlagSet(e, "grade list", "grade list --year Y [--json]")
	g.register(fs, e)
	year := fs.Int("year", 2016, "assessment year")
	asJSON := fs.Bool("json", false, "JSON: the latest grade of each organisation")
	if _, err := parseFlags(fs, args); err != nil {
		return err
	}
	bk, err := g.open(ctx, e)
	if err != nil {
		return err
	}
	defer bk.Close()
	all, err := bk.Grades(ctx, *year)
	if err != nil {
		return err
	}
	codes := make([]string, 0, len(all))
	for c := range all {
		codes = append(codes, c)
	}
	sort.Strings(codes)
	var latest []domain.Grade
	for _, c := range codes {
		latest = append(latest, all[c][len(all[c])-1])
	}
	w := bufio.NewWriter(e.stdout)
	defer w.Flush()
	if *asJSON {
		return writeJSON(w, gradeRows(latest))
	}
	if len(latest) == 0 {
		fmt.Fprintf(w, "%d 年度尚未评定正式等次 / no grades yet\n", *year)
		return nil
	}
	var tb table
	tb.add("代码", "最终得分", "等次", "细则版本", "评定次数", "记录时间(UTC)")
	tiers := map[string]int{}
	for _, gr := range latest {
		tiers[gr.Tier]++
		tb.add(gr.Org, gr.Final.String(), domain.TierLabel(gr.Tier), gr.RulebookVersion, fmt.Sprint(len(all[gr.Org])),
			gr.RecordedAt.UTC().Format("2006-01-02 15:04:05"))
	}
	tb.write(w)
	fmt.Fprintf(w, "\n共 %d 个组织：先进 %d，达标 %d，未达标 %d\n", len(latest), tiers[domain.TierAdvanced], tiers[domain.TierCompliant], tiers[domain.TierNonCompliant])
	return nil
}
