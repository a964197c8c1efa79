package main

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
)

// rev2Journal holds what RUBRIC.md revision 2 settles that the command
// line shows: LY-0300, founded on 2016-10-01, whose one member paid half
// of October's dues on time; LY-0400, whose expired term the work
// committee extended.
const rev2Journal = `{"org":"LY-0300","type":"OrganizationRegistered","occurred_on":"2016-10-01","data":{"code":"LY-0300","name":"新成立党支部","kind":"branch","has_groups":false,"founded_on":"2016-10-01"}}
{"org":"LY-0300","type":"MemberJoined","occurred_on":"2016-10-01","data":{"member_id":"m1","name":"张伟","is_leader":false,"monthly_income_fen":300000}}
{"org":"LY-0300","type":"DuesPaid","occurred_on":"2016-10-05","data":{"member_id":"m1","month":"2016-10","amount_fen":750}}
{"org":"LY-0400","type":"OrganizationRegistered","occurred_on":"2010-01-04","data":{"code":"LY-0400","name":"延期换届党支部","kind":"branch","has_groups":false}}
{"org":"LY-0400","type":"CommitteeElected","occurred_on":"2012-03-10","data":{"term_years":3}}
{"org":"LY-0400","type":"TermExtensionApproved","occurred_on":"2015-02-01","data":{"until":"2017-06-30","reason":"机构改革，经市直工委批准延期换届"}}
`

// TestRevision2OnTheCommandLine: score and todo show how revision 2
// judged an organisation — the founding, the extension, a part paid — and
// score refuses an organisation not founded yet at --as-of.
func TestRevision2OnTheCommandLine(t *testing.T) {
	dir := t.TempDir()
	c := newClock()
	mustOK(t, cli(t, c, rev2Journal, "--data", dir, "import", "-", "--quiet"))
	t.Run("the scorecard says how a founding is judged", func(t *testing.T) {
		r := mustOK(t, cli(t, c, "", "--data", dir, "score", "--org", "LY-0300"))
		wantIn(t, r.stdout, "\n本组织 2016-10-01 成立，此前月份不考核，年度要求按 3 个月折算\n")
	})
	t.Run("the scorecard names the extension", func(t *testing.T) {
		r := mustOK(t, cli(t, c, "", "--data", dir, "score", "--org", "LY-0400"))
		wantIn(t, r.stdout, "2.2 班子建设和按时换届", "说明：2012-03-10 换届，任期3年，2015-03-10 届满，经上级批准延期换届至 2017-06-30")
	})
	t.Run("todo explains a part paid and a scaled need", func(t *testing.T) {
		r := mustOK(t, cli(t, c, "", "--data", dir, "todo", "--org", "LY-0300", "--as-of", "2016-10-20"))
		wantIn(t, r.stdout, "其中1人只交纳了部分党费，须于 2016-10-31 前补足", "年度要求按 3 个月折算为 1 次")
	})
	t.Run("score before founded_on fails, saying why", func(t *testing.T) {
		for _, args := range [][]string{{"--json"}, {}} {
			r := cli(t, c, "", append([]string{"--data", dir, "score", "--org", "LY-0300", "--as-of", "2016-09-30"}, args...)...)
			if exitCode(r.err) != 1 || r.stdout != "" {
				t.Fatalf("%v: exit %d, stdout %q", args, exitCode(r.err), r.stdout)
			}
			wantIn(t, r.err.Error(), "LY-0300 尚未成立（2016-10-01 成立），截至 2016-09-30 不评分", "not founded yet")
		}
		mustOK(t, cli(t, c, "", "--data", dir, "score", "--org", "LY-0300", "--as-of", "2016-10-01", "--json"))
	})
}

// TestPartlyLateDuesOnTheCommandLine: RUBRIC.md's worked example with
// m03's March dues paid 750 fen by the month's end and 750 after it (of
// 1500) scores 2.5 = 1 with V3 — late, not short.
func TestPartlyLateDuesOnTheCommandLine(t *testing.T) {
	const late = `{"org":"LY-0100","type":"DuesPaid","occurred_on":"2016-04-03","data":{"member_id":"m03","month":"2016-03","amount_fen":1500}}`
	journal := workedExample()
	if !strings.Contains(journal, late) {
		t.Fatal("the worked example's late payment is not where this test looks")
	}
	journal = strings.Replace(journal, late,
		`{"org":"LY-0100","type":"DuesPaid","occurred_on":"2016-03-31","data":{"member_id":"m03","month":"2016-03","amount_fen":750}}`+"\n"+
			`{"org":"LY-0100","type":"DuesPaid","occurred_on":"2016-04-01","data":{"member_id":"m03","month":"2016-03","amount_fen":750}}`, 1)
	dir := t.TempDir()
	c := newClock()
	mustOK(t, cli(t, c, journal, "--data", dir, "import", "-", "--quiet"))
	var sc scorecardJSON
	r := mustOK(t, cli(t, c, "", "--data", dir, "score", "--org", "LY-0100", "--json"))
	if err := json.Unmarshal([]byte(r.stdout), &sc); err != nil {
		t.Fatal(err)
	}
	var rules []string
	for _, it := range sc.Items {
		if it.Code != "2.5" {
			continue
		}
		for _, d := range it.Deductions {
			rules = append(rules, d.Rule+" "+d.Points.String())
		}
	}
	if !slices.Equal(rules, []string{"2.5.late 2"}) {
		t.Errorf("2.5 deductions %v, want only 2.5.late 2", rules)
	}
	if len(sc.Vetoes) != 1 || sc.Vetoes[0].Code != "V3" || len(sc.Vetoes[0].Events) != 2 {
		t.Errorf("vetoes %+v, want V3 citing both payments", sc.Vetoes)
	}
	text := mustOK(t, cli(t, c, "", "--data", dir, "score", "--org", "LY-0100")).stdout
	wantIn(t, text, "2.5 党费收缴管理          3     1 ", "2016-03 党费部分逾期补交：应于 2016-03-31 前交纳15.00元，按时交纳7.50元，2016-04-01 起补交7.50元")
}
