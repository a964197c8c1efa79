package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"partyledger/projections/report"
)

// reportFlags are export's flags for the auditors' XLSX and CSV exports.
type reportFlags struct {
	format string
	out    string
	table  string
	sf     scoreFlags // year is export's own --year
}

func (rf *reportFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&rf.format, "format", "", "xlsx or csv: the auditors' export of a year (scores, items, deductions, journal) instead of JSONL")
	fs.StringVar(&rf.out, "out", "", "write the export to FILE (required for xlsx; csv defaults to standard output)")
	fs.StringVar(&rf.table, "table", report.TableSummary, "csv: which table ("+strings.Join(report.Tables, ", ")+")")
	fs.StringVar(&rf.sf.asOf, "as-of", "", "xlsx/csv: score as of this date (YYYY-MM-DD); default the year's end")
	fs.StringVar(&rf.sf.knownAt, "known-at", "", "xlsx/csv: as known at this instant (RFC 3339); default now")
	fs.StringVar(&rf.sf.rulebook, "rulebook", "", "xlsx/csv: rulebook version; default the one in force at --known-at")
}

// exportReport writes the XLSX workbook or a CSV table of a year.
func exportReport(ctx context.Context, e *env, rf *reportFlags, year int) error {
	switch rf.format {
	case "xlsx", "csv":
	default:
		return usageError("--format: want xlsx or csv, not %q", rf.format)
	}
	if year == 0 {
		return usageError("--format %s exports one year: give --year Y", rf.format)
	}
	if rf.format == "xlsx" && rf.out == "" {
		return usageError("--format xlsx needs --out FILE (a workbook is not written to a terminal; --out - for standard output)")
	}
	if rf.format == "csv" && !slices.Contains(report.Tables, rf.table) {
		return usageError("--table: want one of %s, not %q", strings.Join(report.Tables, ", "), rf.table)
	}
	rf.sf.year = year
	q, err := rf.sf.query()
	if err != nil {
		return err
	}
	bk, board, err := e.scoreboard(ctx)
	if err != nil {
		return err
	}
	d, err := report.CollectRanking(ctx, board, bk, q)
	if err != nil {
		return err
	}
	write := func(w io.Writer) error {
		if rf.format == "xlsx" {
			return report.WriteWorkbook(w, d)
		}
		return report.WriteCSV(w, d, rf.table)
	}
	if rf.out == "" || rf.out == "-" {
		return write(e.stdout)
	}
	if err := writeFileAtomic(rf.out, write); err != nil {
		return err
	}
	what := "工作簿 / workbook"
	if rf.format == "csv" {
		what = "CSV（" + rf.table + "）"
	}
	fmt.Fprintf(e.stderr, "已导出%s %s：%d 年度，%d 个组织 / exported %d organisations\n", what, rf.out, year, d.Orgs(), d.Orgs())
	return nil
}

// writeFileAtomic writes a file through a temporary one in the same
// directory, so a failed export never leaves a half-written file.
func writeFileAtomic(name string, write func(io.Writer) error) error {
	tmp, err := os.CreateTemp(filepath.Dir(name), "."+filepath.Base(name)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	w := bufio.NewWriterSize(tmp, 256<<10)
	err = write(w)
	if err == nil {
		err = w.Flush()
	}
	if err == nil {
		err = tmp.Chmod(0o644)
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	return os.Rename(tmp.Name(), name)
}
