package api

import (
	"errors"
	"net/http"
	"path/filepath"

	"partyledger/domain"
	"partyledger/ledger/backup"
)

// backupRequest is the body of POST /v1/backup.
type backupRequest struct {
	// Dir is a directory on the server's machine: absolute, and it must not
	// exist or be empty. The server process writes it.
	Dir string `json:"dir"`
}

// handleBackup answers POST /v1/backup (admin): a consistent copy of the
// ledger — every event committed when the request began — written into a
// new embedded store in dir on the server while appends go on, reopened
// and verified before the answer. Restore is opening the copy.
func (s *Server) handleBackup(w http.ResponseWriter, r *http.Request) {
	body, err := readBody(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var req backupRequest
	if err := domain.StrictUnmarshal(body, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	if req.Dir == "" || !filepath.IsAbs(req.Dir) {
		s.writeError(w, r, &domain.FieldError{Field: "dir", Reason: "want an absolute path on the server that does not exist or is empty"})
		return
	}
	ctx := r.Context()
	rep, err := backup.Write(ctx, s.books.Events(ctx, 0), filepath.Clean(req.Dir))
	if errors.Is(err, backup.ErrTargetNotEmpty) {
		s.writeError(w, r, &domain.FieldError{Field: "dir", Reason: "exists and is not empty"})
		return
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, struct {
		Dir          string  `json:"dir"`
		Events       int     `json:"events"`
		Streams      int     `json:"streams"`
		LastPosition uint64  `json:"last_position"`
		Verified     bool    `json:"verified"`
		Seconds      float64 `json:"seconds"`
	}{rep.Dir, rep.Events, rep.Verify.Streams, uint64(rep.LastPosition), true, rep.Took.Seconds()})
}
