package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"partyledger/domain"
	"partyledger/projections"
	"partyledger/projections/scoreboard"
)

// scoreFlags are the flags that select a scorecard.
type scoreFlags struct {
	year     int
	asOf     string
	knownAt  string
	rulebook string
}

func (s *scoreFlags) register(fs *flag.FlagSet) {
	fs.IntVar(&s.year, "year", 2016, "assessment year")
	fs.StringVar(&s.asOf, "as-of", "", "score as of this date (YYYY-MM-DD, CST); default the year's end")
	fs.StringVar(&s.knownAt, "known-at", "", "as known at this instant (RFC 3339); default now")
	fs.StringVar(&s.rulebook, "rulebook", "", "rulebook version; default the one in force at --known-at")
}

func (s *scoreFlags) query() (scoreboard.Query, error) {
	q := scoreboard.Query{Year: s.year, Rulebook: s.rulebook}
	if s.asOf != "" {
		d, err := domain.ParseDate(s.asOf)
		if err != nil {
			return q, usageError("--as-of: %v", err)
		}
		q.AsOf = d
	}
	if s.knownAt != "" {
		t, err := parseKnownAtFlag(s.knownAt, "2017-01-31T12:00:00+08:00")
		if err != nil {
			return q, err
		}
		q.KnownAt = t
	}
	return q, nil
}

// parseKnownAtFlag reads --known-at: an RFC 3339 instant within the
// dates the ledger takes (domain.DateMin..DateMax), as the API's known_at.
// The zero instant would read as "now", and instants from 2262 on
// overflow the nanoseconds the folds compare: both would answer another
// question than the one asked.
func parseKnownAtFlag(v, example string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return time.Time{}, usageError("--known-at: want RFC 3339, e.g. %s", example)
	}
	if lo, hi := domain.DateMin.Start(), domain.DateMax.End(); t.Before(lo) || !t.Before(hi) {
		return time.Time{}, usageError("--known-at: want an instant within %s..%s", domain.DateMin, domain.DateMax)
	}
	return t, nil
}

func scoreCommand() *command {
	var c struct {
		sf     scoreFlags
		org    string
		all    bool
		under  string
		asJSON bool
	}
	return &command{
		readOnly: true,
		name:     "score",
		args:     "(--org CODE | --all [--under CODE|*]) [--year Y] [--as-of DATE] [--known-at RFC3339] [--rulebook VERSION] [--json]",
		short:    "计算考核得分 / score organisations",
		flags: func(fs *flag.FlagSet) {
			c.sf.register(fs)
			fs.StringVar(&c.org, "org", "", "organisation code")
			fs.BoolVar(&c.all, "all", false, "the organisations directly under the work committee, ranked")
			fs.StringVar(&c.under, "under", "", "with --all: rank the subtree under this committee's code instead, or * for every organisation")
			fs.BoolVar(&c.asJSON, "json", false, "the scorecard JSON (an array with --all)")
		},
		run: func(ctx context.Context, e *env, _ []string) error {
			if (c.org == "") == !c.all {
				return usageError("give --org CODE or --all")
			}
			q, err := c.sf.query()
			if err != nil {
				return err
			}
			bk, board, err := e.scoreboard(ctx)
			if err != nil {
				return err
			}
			if c.under != "" && !c.all {
				return usageError("--under goes with --all")
			}
			q.Under = c.under
			if c.all {
				rk, err := board.Rank(ctx, q)
				if err != nil {
					return err
				}
				if c.asJSON {
					return writeCardsJSON(ctx, e.stdout, board, rk)
				}
				printRanking(e.stdout, rk.Rows)
				return nil
			}
			sc, err := board.Score(ctx, c.org, q)
			if err != nil {
				return err
			}
			if c.asJSON {
				return writeJSON(e.stdout, sc)
			}
			rb, err := bk.RulebookAt(ctx, sc.Year, time.Time{}, sc.Rulebook.Version)
			if err != nil {
				return err
			}
			printScorecard(e.stdout, sc, sectionTitles(rb))
			return nil
		},
	}
}

// finalText renders the final score, marked when provisional.
func finalText(final domain.Points, provisional bool) string {
	if provisional {
		return final.String() + "（暂定）"
	}
	return final.String()
}

func vetoText(vetoes []projections.Veto) string {
	if len(vetoes) == 0 {
		return "—"
	}
	var parts []string
	for _, v := range vetoes {
		parts = append(parts, v.Code)
	}
	return strings.Join(parts, ",")
}

// printRanking writes the ranked table of every organisation.
func printRanking(w io.Writer, rows []scoreboard.Row) {
	var tb table
	tb.add("名次", "代码", "名称", "类型", "网上考核", "分组考评", "最终得分", "等次", "否决")
	for i := range rows {
		r := &rows[i]
		group := "—"
		if r.Group != nil {
			group = r.Group.String()
		}
		tb.add(fmt.Sprint(i+1), r.Org, r.Name, r.Kind.Label(), r.Online.String(), group, finalText(r.Final, r.Provisional),
			domain.TierLabel(r.Tier), vetoText(r.Vetoes))
	}
	tb.write(w)
	counts := map[string]int{}
	for i := range rows {
		counts[rows[i].Tier]++
	}
	fmt.Fprintf(w, "\n共 %d 个组织：先进 %d，达标 %d，未达标 %d\n", len(rows),
		counts[domain.TierAdvanced], counts[domain.TierCompliant], counts[domain.TierNonCompliant])
}

// writeCardsJSON writes the scorecards of a ranking as one JSON array
// (what writeJSON writes for them), scored again a chunk at a time
// (scoreboard.Board.Cards) rather than all held at once.
func writeCardsJSON(ctx context.Context, w io.Writer, board *scoreboard.Board, rk *scoreboard.Ranking) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	write := func(b []byte) error {
		if _, err := w.Write(b); err != nil {
			return fmt.Errorf("write standard output: %w", err)
		}
		return nil
	}
	if err := write([]byte("[")); err != nil {
		return err
	}
	n := 0
	err := board.Cards(ctx, rk, rk.Rows, func(sc *projections.Scorecard) error {
		buf.Reset()
		if n > 0 {
			buf.WriteByte(',')
		}
		n++
		if err := enc.Encode(sc); err != nil {
			return err
		}
		return write(bytes.TrimSuffix(buf.Bytes(), []byte("\n")))
	})
	if err != nil {
		return err
	}
	return write([]byte("]\n"))
}

// sectionTitles maps a rulebook's section codes to "一、思想建设（20分）".
func sectionTitles(rb *domain.Rulebook) map[string]string {
	numerals := []string{"一", "二", "三", "四", "五", "六", "七", "八", "九", "十"}
	out := map[string]string{}
	for i, s := range rb.Sections {
		n := s.Code
		if i < len(numerals) {
			n = numerals[i]
		}
		out[s.Code] = fmt.Sprintf("%s、%s（%s分）", n, s.Title, s.Value)
	}
	return out
}

// printScorecard writes one scorecard as a readable Chinese table.
func printScorecard(w io.Writer, sc *projections.Scorecard, sections map[string]string) {
	fmt.Fprintf(w, "%s %s（%s） %d 年度党建目标绩效考核\n", sc.Org, sc.Name, sc.Kind.Label(), sc.Year)
	fmt.Fprintf(w, "截至 %s，知悉于 %s，细则 %s（sha256 %.12s…），台账位置 %d\n",
		sc.AsOf, sc.KnownAt, sc.Rulebook.Version, sc.Rulebook.SHA256, sc.LedgerPosition)
	group := "未录入"
	if sc.Group != nil {
		group = sc.Group.String()
	}
	fmt.Fprintf(w, "网上考核 %s  分组考评 %s  最终得分 %s  按分数 %s  等次 %s\n",
		sc.Online, group, finalText(sc.Final, sc.Provisional), domain.TierLabel(sc.TierByScore), domain.TierLabel(sc.Tier))
	for _, v := range sc.Vetoes {
		fmt.Fprintf(w, "否决 %s：%s（事件 %s）\n", v.Code, v.Reason, strings.Join(shortIDs(v.Events), ", "))
	}
	if sc.Founding != nil { // founded in the year: how it is judged
		fmt.Fprintln(w, sc.Founding.Reason)
	}
	fmt.Fprintln(w)
	var tb table
	tb.add("项目", "分值", "得分", "扣分及原因")
	section := ""
	for _, it := range sc.Items {
		if it.Section != section {
			section = it.Section
			title := sections[section]
			if title == "" {
				title = section
			}
			tb.add(title)
		}
		first := "—"
		var rest []string
		for i, d := range it.Deductions {
			line := fmt.Sprintf("−%s %s", d.Points, d.Reason)
			if len(d.Events) > 0 {
				line += "（" + strings.Join(shortIDs(d.Events), ", ") + "）"
			}
			if i == 0 {
				first = line
			} else {
				rest = append(rest, line)
			}
		}
		if it.Capped {
			rest = append(rest, fmt.Sprintf("扣分合计 %s 超过分值，本项计 0 分", it.Deducted))
		}
		for _, n := range it.Notes { // judged otherwise than by the plain rule (a term extended)
			line := "说明：" + n.Reason
			if len(n.Events) > 0 {
				line += "（" + strings.Join(shortIDs(n.Events), ", ") + "）"
			}
			if first == "—" {
				first = line
			} else {
				rest = append(rest, line)
			}
		}
		tb.add("  "+it.Code+" "+it.Title, it.Value.String(), it.Score.String(), first)
		for _, r := range rest {
			tb.add("", "", "", r)
		}
	}
	tb.write(w)
	printReviewMarks(w, sc)
}

// printReviewMarks lists, under a scorecard, the entries an assessor
// rejected (退回, with the reason) and those recorded late (补录, with both
// dates), as the scorecard page does (GOVERNANCE.md).
func printReviewMarks(w io.Writer, sc *projections.Scorecard) {
	if len(sc.Rejected) > 0 {
		fmt.Fprintf(w, "\n被退回的登记（%d 条，不计分，须更正后重新登记）\n", len(sc.Rejected))
		for _, r := range sc.Rejected {
			fmt.Fprintf(w, "  退回 %s  发生于 %s，退回于 %s  原因：%s\n", shortIDs([]string{r.EventID})[0], r.OccurredOn, cstDate(r.RejectedAt), r.Reason)
		}
	}
	if len(sc.Late) > 0 {
		fmt.Fprintf(w, "\n补录（%d 条：登记晚于发生日期超过细则规定天数）\n", len(sc.Late))
		for _, l := range sc.Late {
			fmt.Fprintf(w, "  补录 %s  发生于 %s，登记于 %s，晚 %d 天\n", shortIDs([]string{l.EventID})[0], l.OccurredOn, cstDate(l.RecordedAt), l.Days)
		}
	}
}

// cstDate is the date in China Standard Time of an instant of a
// scorecard (projections.KnownAtLayout), or the text as it is.
func cstDate(instant string) string {
	t, err := time.Parse(projections.KnownAtLayout, instant)
	if err != nil {
		return instant
	}
	return domain.DateOf(t).String()
}

// shortIDs abbreviates event ids for tables (the JSON keeps them whole).
func shortIDs(ids []string) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		if len(id) > 8 {
			id = id[:8]
		}
		out[i] = id
	}
	if len(out) > 4 {
		out = append(out[:4], fmt.Sprintf("…共%d个", len(ids)))
	}
	return out
}
