package report

import (
	"encoding/csv"
	"fmt"
	"io"
	"strings"

	"partyledger/domain"
	"partyledger/projections"
)

// CSV tables (WriteCSV): what one CSV file holds.
const (
	TableSummary = "summary" // every organisation: the 汇总 sheet
	TableItems   = "items"   // every organisation's items and deductions
	TableCounts  = "counts"  // every organisation's counts
	TableJournal = "journal" // the journal
)

// Tables lists the CSV tables.
var Tables = []string{TableSummary, TableItems, TableCounts, TableJournal}

// formulaStart are the first characters that make Excel, WPS or
// LibreOffice read a CSV cell as a formula (CSV injection: a member named
// "=HYPERLINK(…)" must stay a name).
const formulaStart = "=+-@\t\r"

// neutralise prefixes a text cell that a spreadsheet would take for a
// formula with an apostrophe, which makes it text. Numbers (points,
// positions) are never text cells, so they stay numbers.
func neutralise(s string) string {
	if s != "" && strings.IndexByte(formulaStart, s[0]) >= 0 {
		return "'" + s
	}
	return s
}

// WriteCSV writes one table of d as CSV (RFC 4180), UTF-8 with a byte
// order mark so that Excel and WPS read the Chinese headers correctly.
// The items and counts tables begin with the organisation's code and
// name. Points are written with two decimals. A text cell that begins
// like a formula (=, +, -, @, tab, carriage return) is prefixed with an
// apostrophe, so that opening the file runs nothing.
func WriteCSV(w io.Writer, d *Data, table string) error {
	if _, err := io.WriteString(w, "\ufeff"); err != nil {
		return err
	}
	cw := csv.NewWriter(w)
	write := func(row []any) error {
		rec := make([]string, len(row))
		for i, v := range row {
			if s, ok := v.(string); ok {
				rec[i] = neutralise(s)
			} else {
				rec[i] = text(v)
			}
		}
		return cw.Write(rec)
	}
	heads := func(names []string) []any {
		out := make([]any, len(names))
		for i, n := range names {
			out[i] = n
		}
		return out
	}
	var err error
	switch table {
	case TableSummary, "":
		if err = write(heads(d.summaryHeader())); err == nil {
			err = d.eachCard(false, func(i int, sc *projections.Scorecard) error { return write(d.summaryRow(i+1, sc)) })
		}
	case TableItems, TableCounts:
		head, rows := itemsHead, itemRows
		if table == TableCounts {
			head, rows = countsHead, countRows
		}
		if err = write(heads(append([]string{"组织代码", "组织名称"}, head...))); err == nil {
			err = d.eachCard(false, func(_ int, sc *projections.Scorecard) error {
				for _, r := range rows(sc) {
					if err := write(append([]any{sc.Org, sc.Name}, r...)); err != nil {
						return err
					}
				}
				return nil
			})
		}
	case TableJournal:
		if d.Journal == nil {
			return fmt.Errorf("report: no journal to write")
		}
		err = write(heads(journalHead))
		names := domain.NewMemberNames()
		for e, jerr := range d.Journal {
			if jerr != nil {
				return jerr
			}
			if err != nil {
				break
			}
			err = write(d.journalRow(&e, names))
		}
	default:
		return fmt.Errorf("report: unknown table %q (want one of %v)", table, Tables)
	}
	if err != nil {
		return err
	}
	cw.Flush()
	return cw.Error()
}
