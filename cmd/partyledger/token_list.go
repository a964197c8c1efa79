package main

import (
	"context"

	"partyledger/api"
)

func tokenListCommand() *command {
	return &command{
		readOnly: true,
		name:     "list",
		short:    "列出令牌（从不显示令牌本身）/ list tokens (never the tokens themselves)",
		run: func(ctx context.Context, e *env, _ []string) error {
			bk, err := e.books(ctx)
			if err != nil {
				return err
			}
			list, err := api.NewTokens(bk).List(ctx)
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
		},
	}
}
