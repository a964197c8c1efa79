package main

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"partyledger/domain"
	"partyledger/projections/report"
)

func TestExportWorkbookAndCSV(t *testing.T) {
	journal := cityJournal(t, 8)
	dir := t.TempDir()
	c := newClock()
	run := func(args ...string) result { return cli(t, c, "", append([]string{"--data", dir}, args...)...) }
	mustOK(t, run("import", journal, "--quiet"))
	// The grades are anchored to the log tree as it is now: the size and
	// root of a checkpoint taken now, which both exports print.
	cp := strings.Split(mustOK(t, run("checkpoint")).stdout, "\n")
	anchor := cp[1] + " 个事件，根 " + cp[2]
	mustOK(t, run("grade", "issue", "--year", "2016", "--provisional"))
	k := "2017-03-02T00:00:00Z"
	cards := scorecards(t, mustOK(t, run("score", "--all", "--under", "*", "--json", "--known-at", k)).stdout)

	out := filepath.Join(t.TempDir(), "2016.xlsx")
	r := mustOK(t, run("export", "--year", "2016", "--format", "xlsx", "--out", out, "--known-at", k))
	if !strings.Contains(r.stderr, "已导出工作簿") {
		t.Fatalf("stderr: %s", r.stderr)
	}
	t.Run("the workbook reopens with its cells", func(t *testing.T) {
		f, err := excelize.OpenFile(out)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		sheets := f.GetSheetList()
		if sheets[0] != report.SheetSummary || !slices.Contains(sheets, report.SheetJournal) || len(sheets) != 2+len(cards)+1 {
			t.Fatalf("sheets %v", sheets)
		}
		rows, err := f.GetRows(report.SheetSummary)
		if err != nil {
			t.Fatal(err)
		}
		head := rows[0]
		if head[0] != "名次" || head[1] != "组织代码" || head[6] != "最终得分" || head[9] != "等次" || head[10] != "否决" {
			t.Fatalf("header %v", head)
		}
		anchorCol := slices.Index(head, "评定时账本检查点")
		if anchorCol < 0 || head[anchorCol-7] != "正式等次" {
			t.Fatalf("no column 评定时账本检查点 in %v", head)
		}
		graded := 0
		for _, r := range rows[1:] {
			if r[anchorCol-7] == "未评定" {
				continue
			}
			graded++
			if len(r) <= anchorCol || r[anchorCol] != anchor {
				t.Errorf("%s: the grade's log tree %q, want %q", r[1], r[min(anchorCol, len(r)-1)], anchor)
			}
		}
		if graded == 0 {
			t.Error("no graded organisation in the summary")
		}
		for _, r := range rows[1:] {
			sc := cards[r[1]]
			if sc == nil {
				t.Fatalf("row for unknown org %v", r)
			}
			if r[6] != fmt.Sprintf("%.2f", float64(sc.Final)/100) || r[9] != domain.TierLabel(sc.Tier) || r[2] != sc.Name {
				t.Errorf("row %v; scorecard %s %s %s", r, sc.Final, sc.Tier, sc.Name)
			}
		}
		for code, sc := range cards {
			// The sheet "代码 名称"; its details under report.DetailsHeader.
			rows, err := f.GetRows(report.OrgSheetName(code, sc.Name))
			v := ""
			for i := slices.IndexFunc(rows, func(r []string) bool { return len(r) > 0 && r[0] == report.DetailsHeader }); i >= 0 && i < len(rows); i++ {
				if len(rows[i]) >= 2 && rows[i][0] == "最终得分" {
					v = rows[i][1]
				}
			}
			if err != nil || v != fmt.Sprintf("%.2f", float64(sc.Final)/100) {
				t.Errorf("%s: 最终得分 %q (%v), want the final score %s", code, v, err, sc.Final)
			}
		}
	})
	t.Run("csv parses back", func(t *testing.T) {
		r := mustOK(t, run("export", "--year", "2016", "--format", "csv", "--known-at", k))
		recs, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(r.stdout, "\ufeff"))).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		if len(recs) != len(cards)+1 || recs[0][1] != "组织代码" {
			t.Fatalf("%d records, header %v", len(recs), recs[0])
		}
		anchorCol := slices.Index(recs[0], "评定时账本检查点")
		if anchorCol < 0 || recs[0][anchorCol-7] != "正式等次" {
			t.Fatalf("header %v", recs[0])
		}
		graded := 0
		for _, rec := range recs[1:] {
			if sc := cards[rec[1]]; sc == nil || rec[6] != fmt.Sprintf("%.2f", float64(sc.Final)/100) {
				t.Errorf("record %v", rec)
			}
			if rec[anchorCol-7] != "未评定" {
				graded++
				if rec[anchorCol] != anchor {
					t.Errorf("%s: the grade's log tree %q, want %q", rec[1], rec[anchorCol], anchor)
				}
			}
		}
		if graded == 0 {
			t.Error("no graded organisation in the CSV")
		}
		p := filepath.Join(t.TempDir(), "items.csv")
		mustOK(t, run("export", "--year", "2016", "--format", "csv", "--table", "items", "--out", p))
		b, err := os.ReadFile(p)
		if err != nil || !bytes.HasPrefix(b, []byte("\ufeff组织代码,组织名称,部分,项目代码")) {
			t.Fatalf("items.csv: %v %.80q", err, b)
		}
	})
	t.Run("bad requests", func(t *testing.T) {
		for _, args := range [][]string{
			{"export", "--year", "2016", "--format", "xlsx"},
			{"export", "--year", "2016", "--format", "pdf"},
			{"export", "--format", "csv"},
			{"export", "--year", "2016", "--format", "csv", "--table", "orgs"},
		} {
			if r := run(args...); exitCode(r.err) != 2 {
				t.Errorf("%v: exit %d (%v)", args, exitCode(r.err), r.err)
			}
		}
		// JSONL export is as before.
		if r := run("export", "--org", "LY-0001", "--year", "2016"); r.err != nil || !strings.Contains(r.stdout, `"hash"`) {
			t.Fatalf("jsonl export: %v", r.err)
		}
	})
}
