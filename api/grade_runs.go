package api

import (
	"net/http"
	"strings"

	"partyledger/domain"
	"partyledger/ledger/books"
	"partyledger/projections/scoreboard"
)

// gradeRunRequest is the body of POST /v1/grades/issue and
// /v1/grades/revise: what the CLI's grade issue and grade revise take as
// flags.
type gradeRunRequest struct {
	Year        int    `json:"year"`
	KnownAt     string `json:"known_at"`    // RFC 3339 or a date (the end of that day, CST); empty: now
	Rulebook    string `json:"rulebook"`    // a version; empty: the one in force at known_at
	Under       string `json:"under"`       // a committee's code, * for everyone; empty: directly under the work committee
	Provisional bool   `json:"provisional"` // also grade organisations without a group assessment
	DryRun      bool   `json:"dry_run"`     // compute and answer, write nothing
	Reason      string `json:"reason"`      // revise: the correction the revision follows (required there)
}

// gradeOptions checks the request and turns it into the grade options of
// principal p.
func (s *Server) gradeOptions(req gradeRunRequest, p Principal) (scoreboard.GradeOptions, error) {
	opts := scoreboard.GradeOptions{As: p, Rulebook: req.Rulebook, Under: req.Under, AllowProvisional: req.Provisional,
		DryRun: req.DryRun, Reason: strings.TrimSpace(req.Reason)}
	if req.Year < domain.DateMin.Year || req.Year > domain.DateMax.Year {
		return opts, &domain.FieldError{Field: "year", Reason: "required: an assessment year within 2000..2099"}
	}
	if len(req.Rulebook) > domain.MaxNameRunes*4 {
		return opts, &domain.FieldError{Field: "rulebook", Reason: "too long"}
	}
	if req.Under != "" && req.Under != scoreboard.AllOrgs && domain.OrgCodeProblem(req.Under) != "" {
		return opts, &domain.FieldError{Field: "under", Reason: "want an organisation code, or * for every organisation"}
	}
	if req.KnownAt != "" {
		t, err := parseKnownAt(req.KnownAt)
		if err != nil {
			return opts, &domain.FieldError{Field: "known_at", Reason: "want an RFC 3339 instant (2017-03-31T12:00:00+08:00) or a date YYYY-MM-DD within 2000..2099"}
		}
		opts.KnownAt = t
	}
	if s.opts.Tree != nil {
		opts.Anchor = books.Anchor(s.opts.Tree) // each grade names the log tree it was computed at
	}
	return opts, nil
}

// handleIssueGrades answers POST /v1/grades/issue (admin): the official
// grades of a year (GradeIssued) for every organisation not yet graded —
// 先进 only where designated — as the CLI's grade issue, recorded as the
// token's holder. With dry_run, what would be written (200); otherwise
// what was (201). The answer is the grade run: written, skipped (with
// reasons), unchanged, the rulebook and known_at it was computed at.
func (s *Server) handleIssueGrades(w http.ResponseWriter, r *http.Request) {
	s.gradeRunAPI(w, r, false)
}

// handleReviseGrades answers POST /v1/grades/revise (admin; reason
// required): after a rulebook correction, a GradeRevised for exactly the
// organisations whose final score or tier changed since their grade, each
// with the items that explain it; as the CLI's grade revise.
func (s *Server) handleReviseGrades(w http.ResponseWriter, r *http.Request) {
	s.gradeRunAPI(w, r, true)
}

func (s *Server) gradeRunAPI(w http.ResponseWriter, r *http.Request, revise bool) {
	body, err := readBody(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var req gradeRunRequest
	if err := domain.StrictUnmarshal(body, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	opts, err := s.gradeOptions(req, principalOf(r))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	run := s.board.IssueGrades
	if revise {
		run = s.board.ReviseGrades
	}
	out, err := run(r.Context(), req.Year, opts)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	status := http.StatusCreated
	if out.DryRun {
		status = http.StatusOK
	}
	writeJSON(w, status, out)
}
