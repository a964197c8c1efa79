package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"strconv"
	"strings"
	"time"

	"partyledger/domain"
)

func rulebookShowCommand() *command {
	var c struct {
		year      int
		canonical bool
	}
	return &command{
		readOnly: true,
		name:     "show",
		args:     "VERSION [--year Y] [--canonical]",
		short:    "输出细则文件（JSON，即 publish 所用格式）/ print a version as the JSON publish takes",
		nargs:    1,
		operands: "one VERSION",
		flags: func(fs *flag.FlagSet) {
			fs.IntVar(&c.year, "year", 0, "assessment year (default: the one the version starts with)")
			fs.BoolVar(&c.canonical, "canonical", false, "the canonical encoding (compact, sorted keys): its SHA-256 is the one scorecards name")
		},
		run: func(ctx context.Context, e *env, args []string) error {
			rbs, err := lookupRulebooks(ctx, e, c.year, args...)
			if err != nil {
				return err
			}
			rb := rbs[0]
			if c.canonical {
				b, err := rb.Canonical()
				if err != nil {
					return err
				}
				_, err = e.stdout.Write(b)
				return err
			}
			enc := json.NewEncoder(e.stdout)
			enc.SetEscapeHTML(false)
			enc.SetIndent("", "  ")
			return enc.Encode((*plainRulebook)(rb))
		},
	}
}

// plainRulebook encodes a rulebook in the field order of its types (the
// reading order of the shipped file); the canonical form sorts keys.
type plainRulebook domain.Rulebook

// lookupRulebooks finds versions of one year — the year given, or the one
// the first version starts with ("2016.2" → 2016) — with a clear error
// naming the versions there are.
func lookupRulebooks(ctx context.Context, e *env, year int, versions ...string) ([]*domain.Rulebook, error) {
	if year == 0 {
		v := versions[0]
		if len(v) >= 4 {
			if y, err := strconv.Atoi(v[:4]); err == nil && y >= domain.DateMin.Year && y <= domain.DateMax.Year &&
				(len(v) == 4 || v[4] < '0' || v[4] > '9') {
				year = y
			}
		}
		if year == 0 {
			return nil, usageError("cannot tell the year of version %q: give --year", v)
		}
	}
	bk, err := e.books(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]*domain.Rulebook, len(versions))
	for i, v := range versions {
		if out[i], err = bk.RulebookAt(ctx, year, time.Time{}, v); err == nil {
			continue
		}
		var have []string
		if all, lerr := bk.Rulebooks(ctx, year); lerr == nil {
			for _, p := range all {
				have = append(have, p.Rulebook.Version)
			}
		}
		return nil, fmt.Errorf("%d 年度没有细则版本 %q（现有：%s）/ no rulebook version %q for %d", year, v, strings.Join(have, "、"), v, year)
	}
	return out, nil
}
