package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"path/filepath"

	"partyledger/ledger/backup"
)

// backupCommand writes a verified copy of the ledger into a new directory.
// Beside a running server it reads the store read-only, so appends go on.
func backupCommand() *command {
	var out string
	return &command{
		readOnly: true,
		name:     "backup",
		args:     "--out DIR",
		short:    "备份到新目录（服务运行时亦可）并校验 / back up into a new directory (also while serving), verified",
		required: map[string]string{"out": "the new data directory (must not exist, or be empty)"},
		flags: func(fs *flag.FlagSet) {
			fs.StringVar(&out, "out", "", "the backup's data `DIR`: must not exist or be empty; restore is opening it (--data DIR)")
		},
		run: func(ctx context.Context, e *env, _ []string) error {
			if e.store == "" {
				if a, b := absPath(out), absPath(e.data); a == b {
					return usageError("--out %s is the data directory itself", out)
				}
			}
			bk, err := e.books(ctx)
			if err != nil {
				return err
			}
			rep, err := backup.Write(ctx, bk.Events(ctx, 0), out)
			if errors.Is(err, backup.ErrTargetNotEmpty) {
				return usageError("--out: %v", err)
			}
			if err != nil {
				return exitError{code: 1, err: err}
			}
			fmt.Fprintf(e.stdout, "备份完成并已校验 / backup written and verified: %s: %d 个事件 events, %d 条流 streams, 末位置 last position %d, %.2fs\n",
				rep.Dir, rep.Events, rep.Verify.Streams, rep.LastPosition, rep.Took.Seconds())
			return nil
		},
	}
}

func absPath(p string) string {
	a, err := filepath.Abs(p)
	if err != nil {
		return p
	}
	return filepath.Clean(a)
}
