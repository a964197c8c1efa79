package main

import (
	"context"
	"fmt"
	"time"
)

func verifyCommand() *command {
	return &command{
		name:  "verify",
		short: "校验哈希链与校验和 / verify hash chains and checksums",
		run: func(ctx context.Context, e *env, _ []string) error {
			bk, err := e.books(ctx)
			if err != nil {
				return err
			}
			start := time.Now()
			rep, err := bk.Verify(ctx)
			if err != nil {
				fmt.Fprintf(e.stdout, "校验失败 / verification FAILED after %d events: %v\n", rep.Events, err)
				return exitError{code: 1, quiet: true, err: err}
			}
			storage := "哈希链 / hash chains"
			if rep.StorageChecked {
				storage = "校验和与哈希链 / checksums and hash chains"
			}
			fmt.Fprintf(e.stdout, "校验通过 / OK: %d 个事件 events, %d 条流 streams, 末位置 last position %d; %s verified in %.2fs\n",
				rep.Events, rep.Streams, rep.LastPosition, storage, time.Since(start).Seconds())
			return nil
		},
	}
}
