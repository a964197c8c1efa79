package main

import (
	"context"
	"fmt"

	"partyledger/api"
	"partyledger/domain"
	"partyledger/ledger/books"
)

// runToken manages API tokens: create (shown once), list, revoke. Tokens
// live as hashes in the ledger's auth stream, so they work on every store.
func runToken(ctx context.Context, e *env, args []string) error {
	var g globals
	fs := newFlagSet(e, "token", "token create --role ROLE [--org CODE] --name WHO | token list | token revoke TOKEN_ID [--reason WHY]")
	g.register(fs, e)
	role := fs.String("role", "", "create: branch | assessor | auditor | admin")
	org := fs.String("org", "", "create: organisation code (branch tokens only)")
	name := fs.String("name", "", "create: who the token is for")
	reason := fs.String("reason", "", "revoke: why the token is revoked")
	by := fs.String("as", "cli", "recorded_by")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) == 0 || (pos[0] != "create" && pos[0] != "list" && pos[0] != "revoke") {
		fs.Usage()
		return usageError("token: give create, list or revoke")
	}
	sub, pos := pos[0], pos[1:]
	open := func() (*books.Books, *api.Tokens, error) {
		bk, err := g.open(ctx, e)
		if err != nil {
			return nil, nil, err
		}
		return bk, api.NewTokens(bk), nil
	}
	switch sub {
	case "create":
		r, err := domain.ParseAccessRole(*role)
		if err != nil {
			return usageError("--role: %v", err)
		}
		bk, tokens, err := open()
		if err != nil {
			return err
		}
		defer bk.Close()
		tok, info, err := tokens.Issue(ctx, r, *org, *name, *by)
		if err != nil {
			printFieldErrors(e.stderr, "", err)
			return exitError{code: 1, quiet: true, err: err}
		}
		fmt.Fprintf(e.stderr, "令牌只显示这一次，请妥善保管 / the token is shown once; store it now\n")
		fmt.Fprintf(e.stderr, "token_id=%s role=%s org=%s name=%s\n", info.ID, info.Role, info.Org, info.Name)
		fmt.Fprintln(e.stdout, tok)
		return nil
	case "list":
		bk, tokens, err := open()
		if err != nil {
			return err
		}
		defer bk.Close()
		list, err := tokens.List(ctx)
		if err != nil {
			return err
		}
		var tb table
		tb.add("TOKEN_ID", "角色 ROLE", "组织 ORG", "名称 NAME", "签发 ISSUED (UTC)", "状态 STATE")
		for _, t := range list {
			state := "有效 active"
			if t.Revoked {
				state = "已吊销 revoked " + t.RevokedAt.UTC().Format("2006-01-02 15:04")
			}
			tb.add(t.ID, string(t.Role), t.Org, t.Name, t.IssuedAt.UTC().Format("2006-01-02 15:04"), state)
		}
		return tb.write(e.stdout)
	default: // revoke
		if len(pos) != 1 {
			return usageError("token revoke takes one TOKEN_ID")
		}
		bk, tokens, err := open()
		if err != nil {
			return err
		}
		defer bk.Close()
		info, err := tokens.Revoke(ctx, pos[0], *reason, *by)
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "已吊销 / revoked %s (%s %s)\n", info.ID, info.Role, info.Name)
		return nil
	}
}
