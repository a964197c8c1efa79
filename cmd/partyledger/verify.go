package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"partyledger/ledger/filestore"
	"strings"
	"time"
)

// stringList is a repeatable string flag.
type stringList []string

func (l *stringList) String() string     { return strings.Join(*l, ",") }
func (l *stringList) Set(v string) error { *l = append(*l, v); return nil }

func verifyCommand() *command {
	var c struct {
		checkpoints stringList
		kf          keyFlags
		pubkey      string
		acceptTorn  bool
	}
	return &command{
		readOnly: true,
		name:     "verify",
		args:     "[--checkpoint FILE]… [--key FILE | --pubkey VERIFIER] [--accept-torn]",
		short:    "校验哈希链与校验和 / verify hash chains and checksums",
		flags: func(fs *flag.FlagSet) {
			fs.Var(&c.checkpoints, "checkpoint", "also prove the log extends this signed checkpoint (repeatable)")
			c.kf.register(fs)
			fs.StringVar(&c.pubkey, "pubkey", "", "check checkpoint signatures against this verifier key instead of the ledger's key file")
			fs.BoolVar(&c.acceptTorn, "accept-torn", false, "exit 0 even while side files of cut torn-tail bytes exist (they are still reported)")
		},
		run: func(ctx context.Context, e *env, _ []string) error {
			bk, err := e.books(ctx)
			if err != nil {
				// Side files are listed even when the store does not open.
				_ = reportTorn(e, true)
				return err
			}
			start := time.Now()
			rep, err := bk.Verify(ctx)
			if err != nil {
				fmt.Fprintf(e.stdout, "校验失败 / verification FAILED after %d events: %v\n", rep.Events, err)
				_ = reportTorn(e, true)
				return exitError{code: 1, quiet: true, err: err}
			}
			storage := "哈希链 / hash chains"
			if rep.StorageChecked {
				storage = "校验和与哈希链 / checksums and hash chains"
			}
			fmt.Fprintf(e.stdout, "校验通过 / OK: %d 个事件 events, %d 条流 streams, 末位置 last position %d; %s verified in %.2fs\n",
				rep.Events, rep.Streams, rep.LastPosition, storage, time.Since(start).Seconds())
			// Every check runs and reports; verify fails if any failed.
			var failed []error
			if err := reportTorn(e, c.acceptTorn); err != nil {
				failed = append(failed, err)
			}
			if len(c.checkpoints) > 0 {
				if err := verifyCheckpoints(ctx, e, c.checkpoints, &c.kf, c.pubkey); err != nil {
					failed = append(failed, err)
				}
			}
			if len(failed) > 0 {
				return exitError{code: 1, quiet: true, err: errors.Join(failed...)}
			}
			return nil
		},
	}
}

// reportTorn lists every side file of bytes the embedded store cut as a
// torn tail: bytes that were never acknowledged, by the store's rule, but
// an operator must see them. While any exists verify fails unless
// acceptTorn.
func reportTorn(e *env, acceptTorn bool) error {
	if e.store != "" {
		return nil
	}
	torn, err := filestore.TornFiles(e.data)
	if err != nil {
		fmt.Fprintf(e.stdout, "校验未通过 / NOT OK: list torn-tail files: %v\n", err)
		return fmt.Errorf("list torn-tail files: %w", err)
	}
	for _, t := range torn {
		fmt.Fprintf(e.stdout, "截断的尾部 / torn tail cut aside: %s (from %s at offset %d): %d bytes, %d events decodable, intact %v\n", t.Name, t.Segment, t.Offset, t.Bytes, t.Events, t.Intact)
	}
	if len(torn) > 0 && !acceptTorn {
		err := fmt.Errorf("%d side file(s) of cut torn-tail bytes in %s: inspect them, then run verify --accept-torn", len(torn), e.data)
		fmt.Fprintf(e.stdout, "校验未通过 / NOT OK: %v\n", err)
		return err
	}
	return nil
}
