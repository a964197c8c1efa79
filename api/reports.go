package api

import (
	"bytes"
	"fmt"
	"iter"
	"net/http"
	"slices"
	"strings"

	"partyledger/domain"
	"partyledger/projections/report"
	"partyledger/projections/scoreboard"
)

// withoutIncomes yields the journal with monthly_income_fen left out.
func withoutIncomes(seq iter.Seq2[domain.JournalLine, error]) iter.Seq2[domain.JournalLine, error] {
	return func(yield func(domain.JournalLine, error) bool) {
		for l, err := range seq {
			if err == nil {
				l, _ = redactIncome(l)
			}
			if !yield(l, err) {
				return
			}
		}
	}
}

// handleRecompute answers GET /v1/recompute?year=&from=&to=&as_of=&known_at=:
// every organisation scored under two rulebook versions, with whose final
// score or tier changes, by which items and why, and how many moved
// between which tiers. from and to default to the version in force at
// known_at (so with one version the report says nothing moves).
func (s *Server) handleRecompute(w http.ResponseWriter, r *http.Request) {
	q, err := s.scoreQuery(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	from, to := r.URL.Query().Get("from"), r.URL.Query().Get("to")
	for field, v := range map[string]string{"from": from, "to": to} {
		if len(v) > 256 {
			s.writeError(w, r, errBadRequest(field, "too long"))
			return
		}
	}
	rep, err := s.board.Recompute(r.Context(), q, from, to)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, rep)
}

// handleReport answers GET /v1/reports/{year}?format=xlsx|csv&table=&as_of=&known_at=&rulebook=:
// the auditors' export — a workbook (all organisations, one sheet per
// organisation, the journal; Chinese headers) or one CSV table.
func (s *Server) handleReport(w http.ResponseWriter, r *http.Request) {
	if err := s.writeReport(w, r); err != nil {
		s.writeError(w, r, err)
	}
}

// handleReportPage answers GET /ui/reports/{year}: the same download for
// signed-in users of the web pages.
func (s *Server) handleReportPage(w http.ResponseWriter, r *http.Request) {
	if err := s.writeReport(w, r); err != nil {
		s.pageError(w, r, err)
	}
}

// writeReport renders the export into memory first, so that a failure
// is answered as an error rather than as a truncated file.
func (s *Server) writeReport(w http.ResponseWriter, r *http.Request) error {
	year, err := s.rulebookYear(r)
	if err != nil {
		return err
	}
	q, err := s.scoreQuery(r)
	if err != nil {
		return err
	}
	q.Year = year
	if q.Under == "" {
		// An export is for auditors: every organisation, unless under
		// narrows it to a subtree.
		q.Under = scoreboard.AllOrgs
	}
	format := r.URL.Query().Get("format")
	if format == "" {
		format = "xlsx"
	}
	table := r.URL.Query().Get("table")
	switch {
	case format != "xlsx" && format != "csv":
		return errBadRequest("format", "want xlsx or csv")
	case format == "csv" && table == "":
		table = report.TableSummary
	case format == "csv" && !slices.Contains(report.Tables, table):
		return errBadRequest("table", "want one of %s", strings.Join(report.Tables, ", "))
	case format == "xlsx" && table != "":
		return errBadRequest("table", "only a CSV export is one table")
	}
	d, err := report.CollectRanking(r.Context(), s.board, s.books, q)
	if err != nil {
		return err
	}
	if p := principalOf(r); p.Role != domain.AccessAdmin && d.Journal != nil {
		// Exports for assessors and auditors leave incomes out
		// (GOVERNANCE.md, personal information).
		d.Journal = withoutIncomes(d.Journal)
	}
	var buf bytes.Buffer
	name := fmt.Sprintf("partyledger-%d", year)
	if format == "xlsx" {
		if err := report.WriteWorkbook(&buf, d); err != nil {
			return err
		}
		w.Header().Set("Content-Type", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
		name += ".xlsx"
	} else {
		if err := report.WriteCSV(&buf, d, table); err != nil {
			return err
		}
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		name += "-" + table + ".csv"
	}
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="%s"`, name))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(buf.Bytes())
	return nil
}
