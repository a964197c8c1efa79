package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/url"
	"strings"

	qrcode "github.com/skip2/go-qrcode"

	"partyledger/api"
	"partyledger/domain"
)

// tokenCodeCommand issues a one-time sign-in code for the person of a
// token (signing in on a phone): the code once, on standard output, and
// the sign-in address — with a QR code of it — on standard error.
func tokenCodeCommand() *command {
	var c struct{ base, as string }
	return &command{
		remote:   true,
		name:     "code",
		args:     "TOKEN_ID [--url BASE] [--as WHO]",
		short:    "发放手机登录码（一次性，24 小时内有效）/ issue a one-time sign-in code for a phone",
		nargs:    1,
		operands: "one TOKEN_ID (see token list)",
		flags: func(fs *flag.FlagSet) {
			fs.StringVar(&c.base, "url", "http://127.0.0.1:8080", "the server's address as phones reach it (with --server: the address that server answers with)")
			fs.StringVar(&c.as, "as", "cli", "recorded_by")
		},
		run: func(ctx context.Context, e *env, args []string) error {
			base, err := url.Parse(strings.TrimRight(c.base, "/"))
			if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
				return usageError("--url: want http(s)://host[:port]")
			}
			if domain.TokenIDProblem(args[0]) != "" {
				return usageError("TOKEN_ID: %s", domain.TokenIDProblem(args[0]))
			}
			cl, err := e.remote()
			if err != nil {
				return err
			}
			var code api.SignInCode
			link := ""
			if cl != nil { // through the API: issued by the --token's holder (--as does not apply), the link the server gives
				var ans struct {
					api.SignInCode
					URL string `json:"url"`
				}
				err := cl.do(ctx, "POST", "/v1/tokens/"+url.PathEscape(args[0])+"/signin-codes", nil, &ans)
				var re *remoteError
				if errors.As(err, &re) {
					re.print(e.stderr, "")
					return exitError{code: 1, quiet: true, err: err}
				}
				if err != nil {
					return err
				}
				code, link = ans.SignInCode, ans.URL
			} else {
				bk, err := e.books(ctx)
				if err != nil {
					return err
				}
				code, err = api.NewTokens(bk).IssueSignInCode(ctx, args[0], c.as)
				if errors.Is(err, api.ErrTokenNotFound) {
					return fmt.Errorf("no token %s (see token list)", args[0])
				}
				if err != nil {
					printProblems(e.stderr, "", err)
					return exitError{code: 1, quiet: true, err: err}
				}
			}
			if link == "" {
				link = base.String() + "/signin?c=" + url.QueryEscape(code.CodeID)
			}
			fmt.Fprintf(e.stderr, "为 %s 发放一次性登录码，有效期至 %s，只能使用一次 / a one-time code, shown once\n",
				code.Name, code.ExpiresAt.In(domain.CST).Format("2006-01-02 15:04"))
			fmt.Fprintf(e.stderr, "请用手机打开（或扫描二维码） / open on the phone: %s\n", link)
			if q, err := qrcode.New(link, qrcode.Medium); err == nil {
				fmt.Fprint(e.stderr, q.ToSmallString(false))
			}
			fmt.Fprintln(e.stdout, code.Code)
			return nil
		},
	}
}
