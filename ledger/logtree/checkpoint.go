package logtree

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"unicode"
	"unicode/utf8"

	tlogfmt "github.com/transparency-dev/formats/log"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"partyledger/ledger"
)

// KeyFileName is the name this project suggests for the signing key file.
// Keep it outside the data directory when you can: whoever holds it can
// sign checkpoints.
const KeyFileName = "checkpoint.key"

// Key is the ledger's Ed25519 signing key for checkpoints, in the form of
// golang.org/x/mod/sumdb/note. Its name is the ledger's name: the origin
// line of every checkpoint it signs.
type Key struct {
	path     string
	signer   note.Signer
	verifier note.Verifier
	vkey     string
}

// Path returns the key file the key was read from or created in.
func (k *Key) Path() string { return k.path }

// Name returns the key's name: the origin of the checkpoints it signs.
func (k *Key) Name() string { return k.signer.Name() }

// VerifierKey returns the public verifier key, "<name>+<hash>+<base64>":
// what an auditor needs (note.NewVerifier) to check checkpoints.
func (k *Key) VerifierKey() string { return k.vkey }

// Verifier returns the note verifier of the key's public half.
func (k *Key) Verifier() note.Verifier { return k.verifier }

// ValidOrigin reports why name cannot be a ledger's name — the origin of
// its checkpoints and its key's name — or nil: it must be 1..200 bytes of
// UTF-8 without spaces, '+' (the note package's rule for key names) or
// control characters (which a note may not hold).
func ValidOrigin(name string) error {
	bad := func(r rune) bool { return unicode.IsSpace(r) || r == '+' || unicode.IsControl(r) }
	if name == "" || len(name) > 200 || !utf8.ValidString(name) || strings.ContainsFunc(name, bad) {
		return fmt.Errorf("logtree: %q cannot name a ledger: want 1..200 bytes of UTF-8 without spaces, '+' or control characters", name)
	}
	return nil
}

// LoadOrCreateKey reads the signing key at path, or, when there is no file
// there, creates a new key named origin and stores it at path with mode
// 0600 (created reports which). The file holds two lines: the note signer
// key ("PRIVATE+KEY+…") and its verifier key. An existing key of another
// name is an error: one ledger, one name.
func LoadOrCreateKey(path, origin string) (k *Key, created bool, err error) {
	if err := ValidOrigin(origin); err != nil {
		return nil, false, err
	}
	k, err = LoadKey(path)
	switch {
	case err == nil:
		if k.Name() != origin {
			return nil, false, fmt.Errorf("logtree: key %s is named %q, not %q", path, k.Name(), origin)
		}
		return k, false, nil
	case !errors.Is(err, fs.ErrNotExist):
		return nil, false, err
	}
	skey, vkey, err := note.GenerateKey(rand.Reader, origin)
	if err != nil {
		return nil, false, fmt.Errorf("logtree: generate key: %w", err)
	}
	if err := writeKeyFile(path, skey+"\n"+vkey+"\n"); err != nil {
		if errors.Is(err, fs.ErrExist) {
			// Another process created it first: use theirs.
			k, err := LoadKey(path)
			return k, false, err
		}
		return nil, false, err
	}
	k, err = LoadKey(path)
	return k, err == nil, err
}

// writeKeyFile creates path holding text, mode 0600, never replacing a
// file already there: written to a temporary file, synced, linked to its
// name (which fails if the name exists), directory synced.
func writeKeyFile(path, text string) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("logtree: create key directory: %w", err)
	}
	f, err := os.CreateTemp(dir, filepath.Base(path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("logtree: create key: %w", err)
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	if err := f.Chmod(0o600); err != nil && runtime.GOOS != "windows" {
		f.Close()
		return fmt.Errorf("logtree: create key: chmod: %w", err)
	}
	if _, err := f.WriteString(text); err != nil {
		f.Close()
		return fmt.Errorf("logtree: create key: write: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("logtree: create key: sync: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("logtree: create key: close: %w", err)
	}
	if err := os.Link(tmp, path); err != nil {
		return fmt.Errorf("logtree: create key %s: %w", path, err)
	}
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

// LoadKey reads the signing key file at path (see LoadOrCreateKey). On
// Unix a file that others than its owner may read is refused.
func LoadKey(path string) (*Key, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("logtree: read key: %w", err)
	}
	if runtime.GOOS != "windows" {
		if fi, err := os.Stat(path); err == nil && fi.Mode().Perm()&0o077 != 0 {
			return nil, fmt.Errorf("logtree: key %s may be read by others (mode %04o); make it 0600", path, fi.Mode().Perm())
		}
	}
	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	if len(lines) != 2 {
		return nil, fmt.Errorf("logtree: key %s: want two lines, a signer key and its verifier key", path)
	}
	signer, err := note.NewSigner(lines[0])
	if err != nil {
		return nil, fmt.Errorf("logtree: key %s: signer key: %w", path, err)
	}
	verifier, err := note.NewVerifier(lines[1])
	if err != nil {
		return nil, fmt.Errorf("logtree: key %s: verifier key: %w", path, err)
	}
	// The two lines must be halves of one key: sign and verify.
	msg, err := note.Sign(&note.Note{Text: "partyledger key check\n"}, signer)
	if err == nil {
		_, err = note.Open(msg, note.VerifierList(verifier))
	}
	if err != nil {
		return nil, fmt.Errorf("logtree: key %s: the verifier key is not the signer key's: %w", path, err)
	}
	return &Key{path: path, signer: signer, verifier: verifier, vkey: lines[1]}, nil
}

// Checkpoint is a signed statement of the tree's size and root, in the
// C2SP tlog-checkpoint format: the note text is
//
//	<origin>\n<size>\n<base64 root hash>\n
//
// followed by a blank line and the key's signature line (note.Sign).
type Checkpoint struct {
	Origin string
	Size   int64
	Root   tlog.Hash
	Note   []byte // the signed note
}

// Checkpoint signs the current tree (updated first) with key; the origin
// is the key's name.
func (t *Tree) Checkpoint(ctx context.Context, key *Key) (Checkpoint, error) {
	root, size, err := t.Root(ctx, 0)
	if err != nil {
		return Checkpoint{}, err
	}
	body := tlogfmt.Checkpoint{Origin: key.Name(), Size: uint64(size), Hash: root[:]}.Marshal()
	msg, err := note.Sign(&note.Note{Text: string(body)}, key.signer)
	if err != nil {
		return Checkpoint{}, fmt.Errorf("logtree: sign checkpoint: %w", err)
	}
	return Checkpoint{Origin: key.Name(), Size: size, Root: root, Note: msg}, nil
}

// OpenCheckpoint checks the signature of a signed checkpoint with verifier
// (the ledger's key, or a public key given by the auditor) and parses it.
// The origin must be the verifier's name. Errors wrap ErrBadCheckpoint.
func OpenCheckpoint(msg []byte, verifier note.Verifier) (Checkpoint, error) {
	bad := func(format string, args ...any) (Checkpoint, error) {
		return Checkpoint{}, fmt.Errorf("%w: %s", ErrBadCheckpoint, fmt.Sprintf(format, args...))
	}
	n, err := note.Open(msg, note.VerifierList(verifier))
	if err != nil {
		var unverified *note.UnverifiedNoteError
		if errors.As(err, &unverified) {
			var by []string
			for _, s := range unverified.Note.UnverifiedSigs {
				by = append(by, fmt.Sprintf("%s (key %08x)", s.Name, s.Hash))
			}
			return bad("not signed by %s (key %08x); signed by %s", verifier.Name(), verifier.KeyHash(), strings.Join(by, ", "))
		}
		return bad("signature: %v", err)
	}
	var c tlogfmt.Checkpoint
	// Extension lines after the root, which the C2SP format allows, are
	// signed but say nothing this package checks: they are ignored.
	if _, err := c.Unmarshal([]byte(n.Text)); err != nil {
		return bad("%v", err)
	}
	if len(c.Hash) != tlog.HashSize || c.Size > 1<<62 {
		return bad("root hash of %d bytes or size %d out of range", len(c.Hash), c.Size)
	}
	if c.Origin != verifier.Name() {
		return bad("origin %q, but the key is %q's", c.Origin, verifier.Name())
	}
	cp := Checkpoint{Origin: c.Origin, Size: int64(c.Size), Note: msg}
	copy(cp.Root[:], c.Hash)
	return cp, nil
}

// CheckpointError reports a log that no longer contains the tree a
// checkpoint commits to. It wraps ErrNotContained and ledger.ErrCorrupt.
type CheckpointError struct {
	Checkpoint Checkpoint // the checkpoint, as signed
	LogSize    int64      // events in the log now
	Reason     string
}

func (e *CheckpointError) Error() string {
	return fmt.Sprintf("logtree: the log no longer contains the checkpointed tree (checkpoint %q size %d root %s): %s",
		e.Checkpoint.Origin, e.Checkpoint.Size, e.Checkpoint.Root, e.Reason)
}

// Unwrap lets errors.Is match ErrNotContained and ledger.ErrCorrupt.
func (e *CheckpointError) Unwrap() []error { return []error{ErrNotContained, ledger.ErrCorrupt} }

// CheckpointReport is what a successful verification found.
type CheckpointReport struct {
	Checkpoint Checkpoint
	// Consistency proves the checkpointed tree a prefix of the log's
	// current tree (From = the checkpoint's size, To = the log's).
	Consistency Consistency
}

// VerifyCheckpoint checks a signed checkpoint against the tree: the
// signature is verifier's (ErrBadCheckpoint), and the tree of the
// checkpoint's size has the checkpoint's root and is a prefix of the
// current tree (a consistency proof, checked with tlog.CheckTree). A log
// that no longer holds the checkpointed tree — fewer events (truncated),
// or other ones (rewritten, forked) — gives a *CheckpointError.
//
// It trusts the tree's hashes. To check the log itself, use a tree opened
// without a hash file (it rebuilds every hash from the events), as the
// package function VerifyCheckpoint does.
func (t *Tree) VerifyCheckpoint(ctx context.Context, msg []byte, verifier note.Verifier) (CheckpointReport, error) {
	cp, err := OpenCheckpoint(msg, verifier)
	if err != nil {
		return CheckpointReport{}, err
	}
	n, err := t.Update(ctx)
	if err != nil {
		return CheckpointReport{}, err
	}
	fail := func(format string, args ...any) (CheckpointReport, error) {
		return CheckpointReport{}, &CheckpointError{Checkpoint: cp, LogSize: n, Reason: fmt.Sprintf(format, args...)}
	}
	if cp.Size > n {
		return fail("the log holds %d events, fewer than the %d it held: it was truncated", n, cp.Size)
	}
	c, err := t.ConsistencyProof(ctx, cp.Size, n)
	if err != nil {
		return CheckpointReport{}, err
	}
	if c.FromRoot != cp.Root {
		return fail("its first %d events hash to %s, not to the checkpoint's root: events were rewritten, removed and replaced, or the log forked", cp.Size, c.FromRoot)
	}
	if cp.Size > 0 {
		if err := tlog.CheckTree(c.Proof, c.To, c.ToRoot, cp.Size, cp.Root); err != nil {
			return fail("the consistency proof from %d to %d events fails: %v", cp.Size, c.To, err)
		}
	}
	return CheckpointReport{Checkpoint: cp, Consistency: c}, nil
}

// VerifyCheckpoint checks a signed checkpoint against the log src itself:
// it reads every event, rebuilds the tree in memory (trusting no hash
// file) and verifies as (*Tree).VerifyCheckpoint does.
func VerifyCheckpoint(ctx context.Context, src Source, msg []byte, verifier note.Verifier) (CheckpointReport, error) {
	t, err := Open(ctx, src, Options{})
	if err != nil {
		return CheckpointReport{}, err
	}
	defer t.Close()
	return t.VerifyCheckpoint(ctx, msg, verifier)
}
