package projections_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"partyledger/domain"
	"partyledger/projections"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// workedExample is RUBRIC.md's worked example: a branch with 12 members,
// 2 leaders and 党小组, that logged everything required except: only 3
// general assemblies, two months with one study session each, no
// research report, a finding low_satisfaction of 2 points, and one member
// paying March dues on 2016-04-03; the group assessment is 92.
func workedExample(t testing.TB) *book {
	t.Helper()
	b := perfect(domain.KindBranch, true)
	if n := b.drop(1, isMeeting(domain.MeetingGeneralAssembly)); n != 1 {
		t.Fatalf("dropped %d general assemblies", n)
	}
	b.drop(1, inMonth(3, isType(domain.TypeStudySessionHeld)))
	b.drop(1, inMonth(7, isType(domain.TypeStudySessionHeld)))
	b.drop(-1, isType(domain.TypeResearchReportSubmitted))
	b.drop(1, duesOf("m05", "2016-03"))
	b.add("2016-04-03", &domain.DuesPaid{MemberID: "m05", Month: "2016-03", AmountFen: domain.Builtin2016().Dues.Expected(500001)})
	b.addAt("2017-01-10", at("2017-01-10"), &domain.FindingRecorded{Year: 2016, Item: "3.2", Finding: "low_satisfaction",
		Points: ptr(pts("2")), Reason: "群众满意度测评较低"})
	b.addAt("2017-01-15", at("2017-01-15"), &domain.GroupAssessmentRecorded{Year: 2016, Score: pts("92")})
	return b
}

func TestWorkedExample(t *testing.T) {
	b := workedExample(t)
	sc := b.score(t, "")
	t.Run("scores", func(t *testing.T) {
		if got, want := sc.Online, pts("93.5"); got != want {
			t.Errorf("online = %s, want %s", got, want)
		}
		if sc.Group == nil || *sc.Group != pts("92") {
			t.Errorf("group = %v, want 92", sc.Group)
		}
		if got, want := sc.Final, pts("92.75"); got != want {
			t.Errorf("final = %s, want %s", got, want)
		}
		if sc.Provisional {
			t.Error("provisional = true, want false")
		}
		if got, want := sc.TierByScore, domain.TierAdvanced; got != want {
			t.Errorf("tier_by_score = %s, want %s", got, want)
		}
		if got, want := sc.Tier, domain.TierCompliant; got != want {
			t.Errorf("tier = %s, want %s", got, want)
		}
	})
	t.Run("five deductions", func(t *testing.T) {
		wantDeductions(t, sc, map[string]string{
			"5.3.general_assembly": "0.5",
			"5.2.sessions":         "1",
			"3.3.research":         "1",
			"3.2.low_satisfaction": "2",
			"2.5.late":             "2",
		})
		n := 0
		for _, it := range sc.Items {
			n += len(it.Deductions)
		}
		if n != 5 {
			t.Errorf("%d deductions, want 5", n)
		}
	})
	t.Run("one veto V3 with the late payment", func(t *testing.T) {
		if got, want := vetoCodes(sc), []string{"V3"}; !slices.Equal(got, want) {
			t.Fatalf("vetoes = %v, want %v", got, want)
		}
		late := b.find(t, func(r domain.Recorded) bool {
			p, ok := r.Payload.(*domain.DuesPaid)
			return ok && p.MemberID == "m05" && p.Month == "2016-03"
		})
		if got, want := sc.Vetoes[0].Events, []string{late.ID}; !slices.Equal(got, want) {
			t.Errorf("V3 events = %v, want %v", got, want)
		}
		if got, want := deduction(t, sc, "2.5.late").Events, []string{late.ID}; !slices.Equal(got, want) {
			t.Errorf("2.5.late events = %v, want %v", got, want)
		}
	})
	t.Run("deductions cite their evidence", func(t *testing.T) {
		d := deduction(t, sc, "5.2.sessions")
		if got, want := d.Periods, []string{"2016-03", "2016-07"}; !slices.Equal(got, want) {
			t.Errorf("5.2 periods = %v, want %v", got, want)
		}
		if len(d.Events) != 2 {
			t.Errorf("5.2 events = %v, want the two sessions held", d.Events)
		}
		if got := deduction(t, sc, "5.3.general_assembly").Events; len(got) != 3 {
			t.Errorf("5.3 events = %v, want the three assemblies", got)
		}
		if got := deduction(t, sc, "3.3.research"); len(got.Events) != 0 || !slices.Equal(got.Periods, []string{"2016"}) {
			t.Errorf("3.3 = %+v, want no events and period 2016", got)
		}
		for _, it := range sc.Items {
			for _, d := range it.Deductions {
				if d.Reason == "" {
					t.Errorf("%s has no reason", d.Rule)
				}
			}
		}
	})
	t.Run("counts", func(t *testing.T) {
		var got []projections.Count
		for _, c := range item(t, sc, "5.3").Counts {
			if c.Rule == "5.3.general_assembly" {
				got = append(got, c)
			}
		}
		want := []projections.Count{{Rule: "5.3.general_assembly", Label: "支部党员大会", Period: "2016", Have: 3, Need: 4}}
		if !slices.Equal(got, want) {
			t.Errorf("counts = %+v, want %+v", got, want)
		}
		if n := len(item(t, sc, "5.2").Counts); n != 12 {
			t.Errorf("5.2 has %d counts, want one per closed month", n)
		}
	})
	t.Run("golden JSON", func(t *testing.T) {
		got, err := json.MarshalIndent(sc, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		golden(t, "worked_example.json", got)
	})
	t.Run("same inputs same bytes", func(t *testing.T) {
		a, _ := json.Marshal(sc)
		again, _ := json.Marshal(workedExample(t).score(t, ""))
		if !bytes.Equal(a, again) {
			t.Error("two scorings of the same events differ")
		}
	})
}

// TestScorecardShape checks the field names and order of EVENTS.md.
func TestScorecardShape(t *testing.T) {
	sc := workedExample(t).score(t, "")
	b, err := json.Marshal(sc)
	if err != nil {
		t.Fatal(err)
	}
	var top []string
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.Token()
	for dec.More() {
		tok, _ := dec.Token()
		top = append(top, tok.(string))
		var skip json.RawMessage
		dec.Decode(&skip)
	}
	want := []string{"org", "year", "as_of", "known_at", "rulebook", "ledger_position", "online", "group", "final",
		"provisional", "tier_by_score", "tier", "vetoes", "items"}
	if len(top) < len(want) || !slices.Equal(top[:len(want)], want) {
		t.Errorf("top-level fields = %v, want %v first", top, want)
	}
	for _, frag := range []string{`"rulebook":{"version":"2016.1","sha256":"`, `"online":93.5,"group":92,"final":92.75,"provisional":false,"tier_by_score":"advanced","tier":"compliant"`,
		`{"code":"V3","reason":"`, `{"code":"5.3","value":5,"score":4.5,"counts":[`, `{"rule":"5.3.general_assembly","label":"支部党员大会","period":"2016","have":3,"need":4}`,
		`{"rule":"5.3.general_assembly","points":0.5,"reason":"`, `"as_of":"2016-12-31","known_at":"2017-05-31T16:00:00.000000Z"`} {
		if !bytes.Contains(b, []byte(frag)) {
			t.Errorf("scorecard JSON lacks %s", frag)
		}
	}
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, append(got, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(bytes.TrimSpace(want), bytes.TrimSpace(got)) {
		t.Errorf("%s differs from the golden file; run go test ./projections -update and review the diff", path)
	}
}

var _ = time.Now
