package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"partyledger/domain"
	"partyledger/projections"
	"partyledger/projections/scoreboard"
)

// TestScorecardsBodyUnchanged: GET /v1/scorecards ranks with rows and
// streams the scorecards a chunk at a time, and answers byte for byte what
// it answered when it held every scorecard: the JSON of
// {"year", "scorecards"} over Board.ScoreAll, filtered by kind and tier —
// on the demo city, in every scope, past the first megabyte it sends at
// once.
func TestScorecardsBodyUnchanged(t *testing.T) {
	e := newDemoEnv(t, demoAsOf)
	ctx := context.Background()
	const knownAt = "2016-09-20"
	k := domain.MustDate(knownAt).End().Add(-time.Microsecond) // what the handler reads a date as
	big := false
	for _, c := range []struct {
		query, under, kind, tier string
	}{
		{"", "", "", ""},
		{"&under=*", scoreboard.AllOrgs, "", ""},
		{"&under=LY-0002", "LY-0002", "", ""},
		{"&under=*&kind=branch", scoreboard.AllOrgs, "branch", ""},
		{"&under=*&tier=compliant", scoreboard.AllOrgs, "", "compliant"},
		{"&under=*&tier=advanced&kind=committee", scoreboard.AllOrgs, "committee", "advanced"},
	} {
		res := e.do("GET", "/v1/scorecards?year=2016&known_at="+knownAt+c.query, "assessor", nil)
		if res.status != http.StatusOK {
			t.Fatalf("%s: %d %.500s", c.query, res.status, res.body)
		}
		cards, err := e.board.ScoreAll(ctx, scoreboard.Query{Year: 2016, KnownAt: k, Under: c.under})
		if err != nil {
			t.Fatal(err)
		}
		out := make([]*projections.Scorecard, 0, len(cards))
		for _, sc := range cards {
			if (c.kind == "" || string(sc.Kind) == c.kind) && (c.tier == "" || sc.Tier == c.tier) {
				out = append(out, sc)
			}
		}
		var want bytes.Buffer
		enc := json.NewEncoder(&want)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(map[string]any{"year": 2016, "scorecards": out}); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(res.body, want.Bytes()) {
			t.Fatalf("%s: %d bytes, want %d:\n%.300s\nwant\n%.300s", c.query, len(res.body), want.Len(), res.body, want.Bytes())
		}
		if res.header.Get("Content-Type") != "application/json; charset=utf-8" || res.header.Get("Cache-Control") != "no-store" {
			t.Fatalf("%s: headers %v", c.query, res.header)
		}
		if c.under == "LY-0002" && len(out) == 0 {
			t.Fatalf("LY-0002 has no organisations under it: the scope proves nothing")
		}
		big = big || len(res.body) > 1<<20
	}
	if !big {
		t.Fatal("no answer crossed a megabyte: the streaming was not exercised")
	}
}
