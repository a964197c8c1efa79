package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/google/uuid"
	"golang.org/x/mod/sumdb/note"

	"partyledger/ledger/logtree"
)

// tree opens the Merkle tree over the log, once; run closes it after the
// command, like the store, and reports a failure. On the embedded store its hashes are
// kept beside the segments (logtree.HashFileName), so a checkpoint of a
// long log reads only what is new.
func (e *env) tree(ctx context.Context) (*logtree.Tree, error) {
	if e.lt != nil {
		return e.lt, nil
	}
	bk, err := e.books(ctx)
	if err != nil {
		return nil, err
	}
	var opts logtree.Options
	if e.store == "" {
		opts.HashFile = filepath.Join(e.data, logtree.HashFileName)
	}
	t, err := bk.Tree(ctx, opts)
	if err != nil {
		return nil, fmt.Errorf("the log tree: %w", err)
	}
	e.lt = t
	return t, nil
}

// keyFlags select the ledger's checkpoint key.
type keyFlags struct {
	path, name string
}

func (k *keyFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&k.path, "key", "", "the ledger's checkpoint signing key file (default: checkpoint.key in the data directory)")
	fs.StringVar(&k.name, "name", "", "the ledger's name, the origin line of its checkpoints, when the key is created (default: partyledger/<data directory name>)")
}

// key loads the signing key, creating it (mode 0600) on first use; created
// says it was made now.
func (k *keyFlags) key(e *env) (*logtree.Key, bool, error) {
	path := k.path
	if path == "" {
		path = filepath.Join(e.data, logtree.KeyFileName)
	}
	if _, err := os.Stat(path); err == nil {
		key, err := logtree.LoadKey(path)
		return key, false, err
	}
	name := k.name
	if name == "" {
		abs, err := filepath.Abs(e.data)
		if err != nil {
			return nil, false, err
		}
		name = "partyledger/" + strings.ReplaceAll(filepath.Base(abs), " ", "_")
	}
	if err := logtree.ValidOrigin(name); err != nil {
		return nil, false, usageError("--name: %v", err)
	}
	return logtree.LoadOrCreateKey(path, name)
}

func checkpointCommand() *command {
	var c struct {
		out string
		kf  keyFlags
	}
	return &command{
		name:  "checkpoint",
		args:  "[--out FILE] [--key FILE] [--name ORIGIN]",
		short: "签署账本检查点 / sign a checkpoint of the whole log",
		flags: func(fs *flag.FlagSet) {
			fs.StringVar(&c.out, "out", "", "also write the signed checkpoint to FILE")
			c.kf.register(fs)
		},
		run: func(ctx context.Context, e *env, _ []string) error {
			key, created, err := c.kf.key(e)
			if err != nil {
				return err
			}
			if created {
				fmt.Fprintf(e.stderr, "已创建签名密钥 / created the signing key %s (mode 0600); keep a copy of its public key: %s\n", key.Path(), key.VerifierKey())
			}
			t, err := e.tree(ctx)
			if err != nil {
				return err
			}
			cp, err := t.Checkpoint(ctx, key)
			if err != nil {
				return err
			}
			if c.out != "" {
				if err := os.WriteFile(c.out, cp.Note, 0o644); err != nil {
					return fmt.Errorf("write %s: %w", c.out, err)
				}
				fmt.Fprintf(e.stderr, "检查点已写入 / checkpoint written to %s (key %s)\n", c.out, key.Path())
			}
			_, err = e.stdout.Write(cp.Note)
			return err
		},
	}
}

func proveCommand() *command {
	var c struct {
		event string
		size  int64
	}
	return &command{
		name:     "prove",
		args:     "--event ID [--size N]",
		short:    "事件包含证明 / an inclusion proof of one event",
		required: map[string]string{"event": "the event's id"},
		flags: func(fs *flag.FlagSet) {
			fs.StringVar(&c.event, "event", "", "the event's id")
			fs.Int64Var(&c.size, "size", 0, "the tree size of a checkpoint you hold (default: the whole log now)")
		},
		run: func(ctx context.Context, e *env, _ []string) error {
			id, err := uuid.Parse(c.event)
			if err != nil {
				return usageError("--event: want a UUID")
			}
			t, err := e.tree(ctx)
			if err != nil {
				return err
			}
			size := c.size
			if size == 0 {
				if size, err = t.Update(ctx); err != nil {
					return err
				}
			}
			p, err := t.InclusionProof(ctx, id, size)
			if err != nil {
				return err
			}
			return writeJSON(e.stdout, p)
		},
	}
}

// verifyCheckpoints proves the log extends each checkpoint file, signed by
// the ledger's key (or the verifier key given). It reports each, and
// returns an error naming the first that fails.
func verifyCheckpoints(ctx context.Context, e *env, files []string, kf *keyFlags, vkey string) error {
	var verifier note.Verifier
	if vkey != "" {
		v, err := note.NewVerifier(vkey)
		if err != nil {
			return usageError("--pubkey: %v", err)
		}
		verifier = v
	} else {
		path := kf.path
		if path == "" {
			path = filepath.Join(e.data, logtree.KeyFileName)
		}
		key, err := logtree.LoadKey(path)
		if err != nil {
			return fmt.Errorf("the ledger's key (give --pubkey to check against a public key): %w", err)
		}
		verifier = key.Verifier()
	}
	bk, err := e.books(ctx)
	if err != nil {
		return err
	}
	var failed []error
	for _, f := range files {
		msg, err := os.ReadFile(f)
		if err != nil {
			return fmt.Errorf("read %s: %w", f, err)
		}
		rep, err := bk.VerifyCheckpoint(ctx, msg, verifier) // from the log itself, trusting no kept hashes
		if err != nil {
			fmt.Fprintf(e.stdout, "检查点不符 / checkpoint %s FAILED: %v\n", f, err)
			failed = append(failed, fmt.Errorf("checkpoint %s: %w", f, err))
			continue
		}
		fmt.Fprintf(e.stdout, "检查点相符 / checkpoint %s OK: %s, tree size %d, the log (size %d) extends it\n",
			f, rep.Checkpoint.Origin, rep.Checkpoint.Size, rep.Consistency.To)
	}
	return errors.Join(failed...)
}
