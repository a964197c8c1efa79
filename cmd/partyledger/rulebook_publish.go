package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"partyledger/domain"
	"partyledger/ledger"
	"partyledger/ledger/books"
)

func rulebookPublishCommand() *command {
	var c struct{ reason, as string }
	return &command{
		remote:   true,
		name:     "publish",
		args:     `FILE|- --reason "…" [--as WHO]`,
		short:    "发布细则新版本（先校验，有误则逐条列出、不写入）/ publish a corrected rulebook version",
		nargs:    1,
		operands: "one FILE (or - for standard input)",
		required: map[string]string{"reason": "say what the new version corrects"},
		flags: func(fs *flag.FlagSet) {
			fs.StringVar(&c.reason, "reason", "", "why this version is published (required), e.g. the correction it makes")
			fs.StringVar(&c.as, "as", "cli", "recorded_by")
		},
		run: func(ctx context.Context, e *env, args []string) error {
			name, src, err := readRulebookFile(e, args[0])
			if err != nil {
				return err
			}
			rb, err := domain.ParseRulebookFile(src)
			var fe *domain.RulebookFileError
			if errors.As(err, &fe) {
				for i := range fe.Problems {
					fmt.Fprintf(e.stderr, "%s:%s\n", name, &fe.Problems[i])
				}
				n := len(fe.Problems)
				return exitError{code: 1, err: fmt.Errorf("%d 处问题，细则未发布 / %d problem(s); nothing published", n, n)}
			}
			if err != nil {
				return err
			}
			cl, err := e.remote()
			if err != nil {
				return err
			}
			if cl != nil {
				return publishRemote(ctx, e, cl, name, src, rb, c.reason)
			}
			bk, err := e.books(ctx)
			if err != nil {
				return err
			}
			before, err := bk.Rulebooks(ctx, rb.Year)
			if err != nil {
				return err
			}
			res, err := bk.PublishRulebook(ctx, rb, c.reason, c.as)
			var pe *books.RulebookPublishedError
			switch {
			case errors.As(err, &pe):
				return fmt.Errorf("细则版本 %q（%d 年度）已存在，更正须使用新的版本号 / version %q of %d is already published", pe.Version, pe.Year, pe.Version, pe.Year)
			case err != nil:
				if fes := domain.FieldErrors(err); len(fes) > 0 && fes[0].Field != "" {
					printProblems(e.stderr, name+": ", err)
					return exitError{code: 1, err: errors.New("细则未发布 / nothing published")}
				}
				return err
			}
			if len(before) == 1 && before[0].Builtin {
				fmt.Fprintf(e.stdout, "内置细则 %s 已先行登记 / built-in %s recorded first\n", before[0].Rulebook.Version, before[0].Rulebook.Version)
			}
			fmt.Fprintf(e.stdout, "已发布细则 %s（%d 年度）/ published: sha256 %s, recorded_at %s, position %d\n",
				rb.Version, rb.Year, rb.SHA256(), res.RecordedAt.Format(ledger.RecordedAtLayout), res.Position)
			fmt.Fprintf(e.stdout, "知悉时点在此之后的评分均采用此版本；重算与更正等次：partyledger recompute --year %d --from 旧版本 --to %s，partyledger grade revise --year %d --reason …\n",
				rb.Year, rb.Version, rb.Year)
			return nil
		},
	}
}

// publishRemote publishes rb, checked and parsed from src, through a
// running server's API (POST /v1/rulebooks), recorded as the --token's
// holder (--as does not apply). The document is sent as it is in the
// file, so a line the server names is the file's line.
func publishRemote(ctx context.Context, e *env, cl *apiClient, name string, src []byte, rb *domain.Rulebook, reason string) error {
	doc := bytes.TrimPrefix(src, []byte("\ufeff"))
	head, err := json.Marshal(map[string]any{"year": rb.Year, "version": rb.Version, "reason": reason})
	if err != nil {
		return err
	}
	occurred, err := json.Marshal(domain.DateOf(e.now()).String())
	if err != nil {
		return err
	}
	// {"occurred_on":…,"data":{"year":…,"version":…,"reason":…,"rulebook":<the file>}}
	body := make([]byte, 0, len(doc)+len(head)+64)
	body = append(append(append(body, `{"occurred_on":`...), occurred...), `,"data":`...)
	body = append(append(append(body, head[:len(head)-1]...), `,"rulebook":`...), doc...)
	body = append(body, "}}"...)
	var res remoteResult
	err = cl.do(ctx, "POST", "/v1/rulebooks", body, &res)
	var re *remoteError
	if errors.As(err, &re) {
		re.print(e.stderr, name+": ")
		return exitError{code: 1, err: errors.New("细则未发布 / nothing published")}
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "已发布细则 %s（%d 年度）/ published: sha256 %s, recorded_at %s, position %d\n",
		rb.Version, rb.Year, rb.SHA256(), res.RecordedAt, res.Position)
	fmt.Fprintf(e.stdout, "知悉时点在此之后的评分均采用此版本；重算与更正等次：partyledger recompute --year %d --from 旧版本 --to %s，partyledger grade revise --year %d --reason …\n",
		rb.Year, rb.Version, rb.Year)
	return nil
}

// readRulebookFile reads a rulebook document from a file or, for "-",
// standard input, up to one byte more than a rulebook may have (so the
// parser can say it is too large). It returns the name problems cite.
func readRulebookFile(e *env, name string) (string, []byte, error) {
	in := e.stdin
	if name == "-" {
		name = "stdin"
	} else {
		f, err := os.Open(name)
		if err != nil {
			return "", nil, err
		}
		defer f.Close() // read only: nothing to lose on close
		in = f
	}
	src, err := io.ReadAll(io.LimitReader(in, domain.MaxRulebookBytes+1))
	return name, src, err
}
