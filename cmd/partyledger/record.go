package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"

	"partyledger/domain"
	"partyledger/ledger"
	"partyledger/ledger/books"
)

// recordCommand records one event given on the command line. Its --data
// is the event's JSON: the data directory goes before the command
// (partyledger --data DIR record …).
func recordCommand() *command {
	var c struct{ org, typ, occurredOn, data, id, as string }
	return &command{
		remote: true,
		name:   "record",
		args:   `--org CODE --type TYPE --occurred-on YYYY-MM-DD --data '{…}' [--id UUID] [--as WHO]`,
		short:  "登记一个事件 / record one event",
		flags: func(fs *flag.FlagSet) {
			fs.StringVar(&c.org, "org", "", "organisation code")
			fs.StringVar(&c.typ, "type", "", "event type, e.g. StudySessionHeld")
			fs.StringVar(&c.occurredOn, "occurred-on", "", "date it happened (YYYY-MM-DD, China Standard Time)")
			fs.StringVar(&c.data, "data", "", "the event data as `JSON` (the data directory is the global --data, before the command)")
			fs.StringVar(&c.id, "id", "", "event id (UUID) for idempotency")
			fs.StringVar(&c.as, "as", "cli", "recorded_by")
		},
		run: func(ctx context.Context, e *env, _ []string) error {
			line, err := json.Marshal(domain.JournalLine{ID: c.id, Org: c.org, Type: c.typ, OccurredOn: c.occurredOn, Data: json.RawMessage(c.data)})
			if err != nil {
				return usageError("--data: not JSON: %v", err)
			}
			ent, err := domain.ParseJournalLine(line)
			if err != nil {
				printProblems(e.stderr, "", err)
				return exitError{code: 1, quiet: true}
			}
			cl, err := e.remote()
			if err != nil {
				return err
			}
			if cl != nil {
				return recordRemote(ctx, e, cl, &ent)
			}
			bk, err := e.books(ctx)
			if err != nil {
				return err
			}
			res, err := bk.Record(ctx, []domain.Entry{ent}, c.as, books.RecordOptions{})
			var ee *books.EntryError
			if errors.As(err, &ee) {
				printProblems(e.stderr, "", ee.Err)
				return exitError{code: 1, quiet: true}
			}
			if err != nil {
				return err
			}
			r := res[0]
			fmt.Fprintf(e.stdout, "id=%s revision=%d position=%d recorded_at=%s hash=%s duplicate=%v\n",
				r.ID, r.Revision, r.Position, r.RecordedAt.Format(ledger.RecordedAtLayout), r.Hash, r.Duplicate)
			return nil
		},
	}
}

// recordRemote records ent through the API of the server --server names;
// recorded_by is the token's holder (--as does not apply).
func recordRemote(ctx context.Context, e *env, cl *apiClient, ent *domain.Entry) error {
	line, err := apiLine(ent)
	if err != nil {
		return err
	}
	var res []remoteResult
	switch kind, _ := domain.StreamKindOf(ent.Type); {
	case ent.Org != "":
		res, err = cl.appendLines(ctx, ent.Org, []json.RawMessage{line})
	case kind == domain.StreamCommittee: // YearClosed, AdvancedDesignated, RequiredEventScheduled
		var r remoteResult
		err = cl.do(ctx, "POST", "/v1/committee/events", line, &r)
		res = []remoteResult{r}
	default:
		return exitError{code: 1, err: errRecordRemoteKind}
	}
	if err != nil {
		return refused(e, err)
	}
	r := res[0]
	fmt.Fprintf(e.stdout, "id=%s revision=%d position=%d recorded_at=%s hash=%s duplicate=%v\n",
		r.ID, r.Revision, r.Position, r.RecordedAt, r.Hash, r.Duplicate)
	return nil
}
