package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"

	"partyledger/api"
	"partyledger/domain"
)

// Tokens live as hashes in the ledger's auth stream, so they work on
// every store; the token itself is shown once.

func tokenCreateCommand() *command {
	var c struct{ role, org, name, as string }
	return &command{
		remote: true,
		name:   "create",
		args:   "--role ROLE [--org CODE] --name WHO [--as WHO]",
		short:  "签发令牌（只显示一次）/ issue a token (shown once)",
		flags: func(fs *flag.FlagSet) {
			fs.StringVar(&c.role, "role", "", "branch | assessor | auditor | admin")
			fs.StringVar(&c.org, "org", "", "organisation code (branch tokens only)")
			fs.StringVar(&c.name, "name", "", "who the token is for")
			fs.StringVar(&c.as, "as", "cli", "recorded_by")
		},
		run: func(ctx context.Context, e *env, _ []string) error {
			r, err := domain.ParseAccessRole(c.role)
			if err != nil {
				return usageError("--role: %v", err)
			}
			var tok string
			var info api.TokenInfo
			cl, err := e.remote()
			if err != nil {
				return err
			}
			if cl != nil { // through the API: issued by the --token's holder (--as does not apply)
				body, _ := json.Marshal(map[string]string{"role": c.role, "org": c.org, "name": c.name})
				var ans struct {
					Token string `json:"token"`
					api.TokenInfo
				}
				if err := cl.do(ctx, "POST", "/v1/tokens", body, &ans); err != nil {
					return refused(e, err)
				}
				tok, info = ans.Token, ans.TokenInfo
			} else {
				bk, err := e.books(ctx)
				if err != nil {
					return err
				}
				tok, info, err = api.NewTokens(bk).Issue(ctx, r, c.org, c.name, c.as)
				if err != nil {
					printProblems(e.stderr, "", err)
					return exitError{code: 1, quiet: true, err: err}
				}
			}
			fmt.Fprintf(e.stderr, "令牌只显示这一次，请妥善保管 / the token is shown once; store it now\n")
			fmt.Fprintf(e.stderr, "token_id=%s role=%s org=%s name=%s\n", info.ID, info.Role, info.Org, info.Name)
			fmt.Fprintln(e.stdout, tok)
			return nil
		},
	}
}
