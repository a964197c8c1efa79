package main

import (
	"context"
	"flag"
	"fmt"

	"partyledger/api"
)

func tokenRevokeCommand() *command {
	var c struct{ reason, as string }
	return &command{
		name:     "revoke",
		args:     "TOKEN_ID [--reason WHY] [--as WHO]",
		short:    "吊销令牌 / revoke a token",
		nargs:    1,
		operands: "one TOKEN_ID",
		flags: func(fs *flag.FlagSet) {
			fs.StringVar(&c.reason, "reason", "", "why the token is revoked")
			fs.StringVar(&c.as, "as", "cli", "recorded_by")
		},
		run: func(ctx context.Context, e *env, args []string) error {
			bk, err := e.books(ctx)
			if err != nil {
				return err
			}
			info, err := api.NewTokens(bk).Revoke(ctx, args[0], c.reason, c.as)
			if err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "已吊销 / revoked %s (%s %s)\n", info.ID, info.Role, info.Name)
			return nil
		},
	}
}
