package api

import (
	"net/http"
	"strconv"

	"github.com/google/uuid"

	"partyledger/domain"
)

// errNoTree answers the proof routes of a server started without the log
// tree (api.Options.Tree and Key).
var errNoTree = &domain.FieldError{Reason: "this server keeps no log tree: start it with serve on a data directory"}

func (s *Server) treeReady(w http.ResponseWriter, r *http.Request) bool {
	if s.opts.Tree == nil || s.opts.Key == nil {
		writeJSON(w, http.StatusServiceUnavailable, errorBody{Error: apiError{Code: codeUnavailable, Message: errNoTree.Reason}})
		return false
	}
	if _, err := s.opts.Tree.Update(r.Context()); err != nil {
		s.writeError(w, r, err)
		return false
	}
	return true
}

// handleCheckpoint answers GET /v1/checkpoint: a checkpoint of the whole
// log as it is now, signed by the ledger's key (text/plain, the C2SP
// signed note), with the verifier key in X-Checkpoint-Verifier.
func (s *Server) handleCheckpoint(w http.ResponseWriter, r *http.Request) {
	if !s.treeReady(w, r) {
		return
	}
	cp, err := s.opts.Tree.Checkpoint(r.Context(), s.opts.Key)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Checkpoint-Verifier", s.opts.Key.VerifierKey())
	_, _ = w.Write(cp.Note)
}

// sizeParam reads a tree size; 0 (absent) means the whole log now.
func sizeParam(r *http.Request, name string) (int64, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 1 {
		return 0, &domain.FieldError{Field: name, Reason: "want a tree size ≥ 1"}
	}
	return n, nil
}

// handleInclusionProof answers GET /v1/proof/inclusion?event=ID&size=N:
// the proof that the event is a leaf of the tree of N leaves (default
// the whole log), which an auditor checks with tlog.CheckRecord against a
// signed checkpoint of size N.
func (s *Server) handleInclusionProof(w http.ResponseWriter, r *http.Request) {
	id, err := uuid.Parse(r.URL.Query().Get("event"))
	if err != nil {
		s.writeError(w, r, &domain.FieldError{Field: "event", Reason: "want an event id (UUID)"})
		return
	}
	size, err := sizeParam(r, "size")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if !s.treeReady(w, r) {
		return
	}
	if size == 0 {
		size = s.opts.Tree.Size()
	}
	p, err := s.opts.Tree.InclusionProof(r.Context(), id, size)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, p)
}

// handleConsistencyProof answers GET /v1/proof/consistency?from=N&to=M:
// the proof that the tree of N leaves is a prefix of the tree of M
// (default the whole log), checked with tlog.CheckTree.
func (s *Server) handleConsistencyProof(w http.ResponseWriter, r *http.Request) {
	from, err := sizeParam(r, "from")
	if err == nil && from == 0 {
		err = &domain.FieldError{Field: "from", Reason: "required: the size of the checkpoint you hold"}
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	to, err := sizeParam(r, "to")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if !s.treeReady(w, r) {
		return
	}
	if to == 0 {
		to = s.opts.Tree.Size()
	}
	p, err := s.opts.Tree.ConsistencyProof(r.Context(), from, to)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, p)
}
