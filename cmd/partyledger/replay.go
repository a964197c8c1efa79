package main

import (
	"context"
	"encoding/json"
	"flag"
	"strconv"

	"partyledger/domain"
	"partyledger/ledger/books"
)

func replayCommand() *command {
	var c struct {
		org    string
		year   int
		asJSON bool
	}
	return &command{
		readOnly: true,
		name:     "replay",
		args:     "--org CODE [--year Y] [--json]",
		short:    "回放组织台账 / replay an organisation's journal",
		required: map[string]string{"org": ""},
		flags: func(fs *flag.FlagSet) {
			fs.StringVar(&c.org, "org", "", "organisation code")
			fs.IntVar(&c.year, "year", 0, "only events of this year (occurred in it, or assessing it)")
			fs.BoolVar(&c.asJSON, "json", false, "JSONL with every envelope field")
		},
		run: func(ctx context.Context, e *env, _ []string) error {
			bk, err := e.books(ctx)
			if err != nil {
				return err
			}
			evs, err := collectEvents(bk.ReadStream(ctx, books.OrgStream(c.org), 0), c.org)
			if err != nil {
				return err
			}
			retracted := map[string]string{}
			for _, ev := range evs {
				var r domain.EventRetracted
				if ev.Type == domain.TypeEventRetracted && json.Unmarshal(ev.Data, &r) == nil {
					retracted[r.EventID] = r.Reason
				}
			}
			names := domain.NewMemberNames()
			var tb table
			tb.add("版本", "记录时间(北京时间)", "发生日期", "类型", "记录人", "摘要")
			for i := range evs {
				ev := &evs[i]
				names.Learn(c.org, ev.Type, ev.Data) // members of earlier years too
				switch {
				case c.year != 0 && !books.BelongsToYear(ev, c.year):
					continue
				case c.asJSON:
					if err := writeJSON(e.stdout, books.ExportLine(ev, c.org)); err != nil {
						return err
					}
					continue
				}
				summary := domain.Summary(ev.Type, ev.Data, names.Of(c.org))
				if why, ok := retracted[ev.ID.String()]; ok {
					summary = "【已撤回：" + why + "】" + summary
				}
				tb.add(strconv.FormatUint(ev.Revision, 10), ev.RecordedAt.In(domain.CST).Format("2006-01-02 15:04:05"),
					ev.OccurredOn, domain.TypeLabel(ev.Type), ev.RecordedBy, summary)
			}
			if c.asJSON {
				return nil
			}
			return tb.write(e.stdout)
		},
	}
}
