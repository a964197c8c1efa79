package main

import (
	"context"
	"flag"
	"fmt"
	"net/url"

	"partyledger/api"
)

func tokenRevokeCommand() *command {
	var c struct{ reason, as string }
	return &command{
		remote:   true,
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
			var info api.TokenInfo
			cl, err := e.remote()
			if err != nil {
				return err
			}
			if cl != nil { // through the API, which refuses to revoke the last admin token
				if err := cl.do(ctx, "DELETE", "/v1/tokens/"+url.PathEscape(args[0])+"?reason="+url.QueryEscape(c.reason), nil, &info); err != nil {
					return refused(e, err)
				}
			} else {
				bk, err := e.books(ctx)
				if err != nil {
					return err
				}
				info, err = api.NewTokens(bk).Revoke(ctx, args[0], c.reason, c.as)
				if err != nil {
					return err
				}
			}
			fmt.Fprintf(e.stdout, "已吊销 / revoked %s (%s %s)\n", info.ID, info.Role, info.Name)
			return nil
		},
	}
}
