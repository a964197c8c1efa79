package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"iter"

	"partyledger/domain"
	"partyledger/ledger"
	"partyledger/ledger/books"
)

func exportCommand() *command {
	var c struct {
		org  string
		all  bool
		year int
		rf   reportFlags
	}
	return &command{
		readOnly: true,
		name:     "export",
		args:     "(--org CODE | --all) [--year Y]  |  export --format xlsx|csv --year Y [--out FILE] [--table T]",
		short:    "导出 JSONL（或审计用 XLSX/CSV）/ export the journal as JSONL (or the auditors' XLSX/CSV)",
		flags: func(fs *flag.FlagSet) {
			fs.StringVar(&c.org, "org", "", "organisation code")
			fs.BoolVar(&c.all, "all", false, "every stream of the ledger")
			fs.IntVar(&c.year, "year", 0, "only what a year needs: each stream up to its last event of the year")
			c.rf.register(fs)
		},
		run: func(ctx context.Context, e *env, _ []string) error {
			if c.rf.format != "" {
				return exportReport(ctx, e, &c.rf, c.year)
			}
			if (c.org == "") == !c.all {
				return usageError("give --org CODE or --all")
			}
			bk, err := e.books(ctx)
			if err != nil {
				return err
			}
			seq := bk.Events(ctx, 0)
			if !c.all {
				seq = bk.ReadStream(ctx, books.OrgStream(c.org), 0)
			}
			evs, err := collectEvents(seq, c.org)
			if err != nil {
				return err
			}
			if c.year != 0 {
				evs = yearPrefixes(evs, c.year)
			}
			codes := orgCodes{}
			for i := range evs {
				if err := writeJSON(e.stdout, books.ExportLine(&evs[i], codes.note(&evs[i]))); err != nil {
					return err
				}
			}
			return nil
		},
	}
}

// collectEvents reads stored events; a stream that does not exist is an
// organisation org that is not registered.
func collectEvents(seq iter.Seq2[ledger.Event, error], org string) ([]ledger.Event, error) {
	var evs []ledger.Event
	for ev, err := range seq {
		if errors.Is(err, ledger.ErrStreamNotFound) {
			return nil, &domain.FieldError{Field: "org", Reason: fmt.Sprintf("organisation %q is not registered", org)}
		}
		if err != nil {
			return nil, err
		}
		evs = append(evs, ev)
	}
	return evs, nil
}

// orgCodes remembers each org stream's code from its registration.
type orgCodes map[string]string // stream → code

func (c orgCodes) note(ev *ledger.Event) string {
	if ev.Type == domain.TypeOrganizationRegistered {
		var v struct {
			Code string `json:"code"`
		}
		if json.Unmarshal(ev.Data, &v) == nil {
			c[ev.Stream] = v.Code
		}
	}
	return c[ev.Stream]
}

// yearPrefixes keeps, of each stream, the prefix that ends with its last
// event belonging to year y — so the export still starts every chain at
// its beginning and imports into an empty ledger.
func yearPrefixes(evs []ledger.Event, y int) []ledger.Event {
	last := map[string]uint64{}
	for i := range evs {
		if books.BelongsToYear(&evs[i], y) {
			last[evs[i].Stream] = evs[i].Revision + 1
		}
	}
	out := evs[:0:0]
	for _, ev := range evs {
		if ev.Revision < last[ev.Stream] {
			out = append(out, ev)
		}
	}
	return out
}
