package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"partyledger/domain"
	"partyledger/projections"
)

// todoCommand prints what an organisation has to do (待办) as of a date:
// the same list as GET /v1/orgs/{code}/todo and the branch's home page.
func todoCommand() *command {
	var c struct {
		org    string
		asOf   string
		asJSON bool
	}
	return &command{
		name:     "todo",
		args:     "--org CODE [--as-of DATE] [--json]",
		short:    "待办：本月、本季度尚缺事项、未交党费、工委活动、换届 / what an organisation has to do",
		required: map[string]string{"org": ""},
		readOnly: true,
		flags: func(fs *flag.FlagSet) {
			fs.StringVar(&c.org, "org", "", "organisation code")
			fs.StringVar(&c.asOf, "as-of", "", "as of this date (YYYY-MM-DD, CST); default today")
			fs.BoolVar(&c.asJSON, "json", false, "the to-do list as JSON (the API's)")
		},
		run: func(ctx context.Context, e *env, _ []string) error {
			var asOf domain.Date
			if c.asOf != "" {
				d, err := domain.ParseDate(c.asOf)
				if err != nil {
					return usageError("--as-of: %v", err)
				}
				asOf = d
			}
			bk, board, err := e.scoreboard(ctx)
			if err != nil {
				return err
			}
			st, err := bk.Org(ctx, c.org)
			if err != nil {
				return err
			}
			if st == nil {
				return &domain.FieldError{Field: "org", Reason: fmt.Sprintf("organisation %q is not registered", c.org)}
			}
			list, err := board.Todo(ctx, c.org, asOf, time.Time{})
			if err != nil {
				return err
			}
			if c.asJSON {
				return writeJSON(e.stdout, list)
			}
			printTodo(e.stdout, st.Name, list)
			return nil
		},
	}
}

var todoScopes = map[string]string{projections.ScopeMonth: "本月", projections.ScopeQuarter: "本季度",
	projections.ScopeHalf: "本半年", projections.ScopeYear: "本年度", projections.ScopeDate: "期限"}

// printTodo prints a to-do list as a table: when, what, how far, by when,
// and the entry that fulfils it.
func printTodo(w io.Writer, name string, l *projections.TodoList) {
	fmt.Fprintf(w, "%s %s 待办（截至 %s，细则 %s）\n", l.Org, name, l.AsOf, l.Rulebook.Version)
	if l.RulebookYear != l.AsOf.Year {
		fmt.Fprintf(w, "%d 年度尚未发布考核细则，按 %d 年度细则提示。\n", l.AsOf.Year, l.RulebookYear)
	}
	if len(l.Items) == 0 {
		fmt.Fprintln(w, "目前没有待办事项 / nothing due")
		return
	}
	var tb table
	tb.add("期间", "事项", "进度", "期限", "登记")
	for _, it := range l.Items {
		when := todoScopes[it.Scope]
		if it.Overdue {
			when = "已到期"
		}
		label := it.Label
		if it.Item != "" {
			label = it.Item + " " + label
		}
		if len(it.Members) > 0 {
			names := make([]string, len(it.Members))
			for i, m := range it.Members {
				names[i] = m.Name
			}
			label += "（未交：" + strings.Join(names, "、") + "）"
		}
		count := ""
		if it.Kind == projections.TodoRequirement || it.Kind == projections.TodoDues {
			count = fmt.Sprintf("%d/%d", it.Have, it.Need)
		}
		entry := ""
		if it.Type != "" {
			entry = domain.TypeLabel(it.Type) + " " + it.Type + fieldsText(it.Fields)
		}
		tb.add(when, label, count, it.Due.String(), entry)
		if it.Note != "" { // a part paid, a yearly need scaled to the months since the founding
			tb.add("", "  "+it.Note)
		}
	}
	_ = tb.write(w)
}

// fieldsText renders the payload values an entry takes: " kind=party_lecture".
func fieldsText(f map[string]string) string {
	keys := make([]string, 0, len(f))
	for k := range f {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		b.WriteString(" " + k + "=" + f[k])
	}
	return b.String()
}
