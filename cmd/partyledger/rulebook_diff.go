package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"strings"

	"partyledger/domain"
)

func rulebookDiffCommand() *command {
	var c struct {
		year   int
		asJSON bool
	}
	return &command{
		readOnly: true,
		name:     "diff",
		args:     "A B [--year Y] [--json]",
		short:    "逐项比较两个版本 / compare two versions item by item",
		nargs:    2,
		operands: "two versions: A B",
		flags: func(fs *flag.FlagSet) {
			fs.IntVar(&c.year, "year", 0, "assessment year (default: the one the versions start with)")
			fs.BoolVar(&c.asJSON, "json", false, "JSON")
		},
		run: func(ctx context.Context, e *env, args []string) error {
			rbs, err := lookupRulebooks(ctx, e, c.year, args...)
			if err != nil {
				return err
			}
			d, err := domain.DiffRulebooks(rbs[0], rbs[1])
			if err != nil {
				return err
			}
			if c.asJSON {
				return writeJSON(e.stdout, d)
			}
			printRulebookDiff(e.stdout, d)
			return nil
		},
	}
}

// diffAreaLabels are the Chinese names of rulebook change areas.
var diffAreaLabels = map[string]string{
	domain.DiffAreaDocument: "文件", domain.DiffAreaWeights: "权重", domain.DiffAreaTiers: "等次分数线",
	domain.DiffAreaDues: "党费", domain.DiffAreaSections: "部分", domain.DiffAreaItem: "项目",
	domain.DiffAreaValue: "分值", domain.DiffAreaRules: "规则", domain.DiffAreaFindings: "考核发现",
	domain.DiffAreaVetoes: "否决",
}

var diffOpLabels = map[string]string{domain.DiffChanged: "修改", domain.DiffAdded: "新增", domain.DiffRemoved: "删除"}

func printRulebookDiff(w io.Writer, d *domain.RulebookDiff) {
	fmt.Fprintf(w, "细则 %s（sha256 %.12s…）→ %s（sha256 %.12s…）：%d 处变化", d.From.Version, d.From.SHA256,
		d.To.Version, d.To.SHA256, len(d.Changes))
	if codes := d.ItemCodes(); len(codes) > 0 {
		fmt.Fprintf(w, "，涉及项目 %s", strings.Join(codes, "、"))
	}
	fmt.Fprintln(w)
	if len(d.Changes) == 0 {
		fmt.Fprintln(w, "两个版本的内容相同（版本号除外）/ the documents are the same but for their versions")
		return
	}
	fmt.Fprintln(w)
	var tb table
	tb.add("项目", "类别", "变化", "位置", "原值", "新值")
	for _, c := range d.Changes {
		path := c.Path
		if c.Item != "" {
			path = strings.TrimPrefix(strings.TrimPrefix(path, "items["+c.Item+"]"), ".")
			if path == "" {
				path = "（整项）"
			}
		}
		tb.add(orDash(c.Item), diffAreaLabels[c.Area], diffOpLabels[c.Op], path, shortJSON(c.From), shortJSON(c.To))
	}
	tb.write(w)
}

// shortJSON renders a value for a table cell: strings unquoted, long
// values cut.
func shortJSON(raw json.RawMessage) string {
	if len(raw) == 0 {
		return "—"
	}
	s := string(raw)
	var str string
	if json.Unmarshal(raw, &str) == nil {
		s = str
	}
	if r := []rune(s); len(r) > 48 {
		s = string(r[:47]) + "…"
	}
	return s
}
