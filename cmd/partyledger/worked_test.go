package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// workedExample writes RUBRIC.md's worked example as a journal: a branch
// with 12 members, 2 leaders and 党小组, that logged everything required in
// 2016 except three general assemblies instead of four, one study session
// in March and in October, no research report, and March dues of m03 paid
// on 2016-04-03; an assessor found low satisfaction (2 points) and the
// group score is 92.
func workedExample() string {
	var b strings.Builder
	line := func(typ, on, data string) {
		fmt.Fprintf(&b, `{"org":"LY-0100","type":%q,"occurred_on":%q,"data":%s}`+"\n", typ, on, data)
	}
	line("OrganizationRegistered", "2015-01-05", `{"code":"LY-0100","name":"示例党支部","kind":"branch","has_groups":true}`)
	var all []string
	for i := 1; i <= 12; i++ {
		id := fmt.Sprintf("m%02d", i)
		all = append(all, id)
		line("MemberJoined", "2015-01-05", fmt.Sprintf(`{"member_id":%q,"name":"党员%d","is_leader":%v,"monthly_income_fen":300000}`, id, i, i <= 2))
	}
	att, _ := json.Marshal(all)
	line("CommitteeElected", "2015-01-10", `{"term_years":3}`)
	line("OfficerAppointed", "2015-01-10", `{"role":"secretary","member_id":"m01"}`)
	for _, s := range []string{"responsibility", "org_life", "care_and_support"} {
		line("SystemAdopted", "2015-03-01", fmt.Sprintf(`{"system":%q,"title":"制度"}`, s))
	}
	for _, topic := range []string{"party_constitution", "speeches", "policy", "situation", "core_values"} {
		line("EducationActivityHeld", "2016-03-15", fmt.Sprintf(`{"topic":%q,"title":"教育"}`, topic))
	}
	for _, c := range []string{"civilized_unit", "volunteer", "civility_etiquette"} {
		line("CampaignActivityHeld", "2016-04-15", fmt.Sprintf(`{"campaign":%q,"title":"创建"}`, c))
	}
	for _, t := range []string{"MassOrgEducationHeld", "SignatureActivityHeld", "InnovationRecorded", "IntegrityActivityHeld",
		"DemocraticLifeReported", "AdministrativeReportGiven", "PartyWorkReviewed", "PartyWorkReviewed",
		"WorkInfoSubmitted", "WorkInfoSubmitted", "WorkInfoSubmitted"} {
		line(t, "2016-05-10", `{"title":"工作"}`)
	}
	line("WorkPlanFiled", "2016-01-20", `{"area":"outreach"}`)
	line("WorkSummaryFiled", "2016-12-20", `{"area":"outreach"}`)
	line("OutreachVisit", "2016-06-20", `{"kind":"village","title":"驻村"}`)
	line("MeetingSatIn", "2016-02-20", `{"kind":"leaders_democratic_life","title":"民主生活会"}`)
	for m := 3; m <= 12; m += 3 {
		line("MeetingSatIn", fmt.Sprintf("2016-%02d-10", m), `{"kind":"leadership_meeting","title":"党组会"}`)
	}
	line("SelfInspectionCompleted", "2016-06-28", `{"half":"2016-H1"}`)
	line("SelfInspectionCompleted", "2016-12-28", `{"half":"2016-H2"}`)
	meeting := func(kind, on, extra string) {
		line("MeetingHeld", on, fmt.Sprintf(`{"kind":%q,"topic":"会议","attendees":%s%s}`, kind, att, extra))
	}
	for m := 1; m <= 12; m++ {
		meeting("group", fmt.Sprintf("2016-%02d-05", m), "")
		if m <= 8 {
			meeting("branch_committee", fmt.Sprintf("2016-%02d-06", m), "")
		}
		if m == 3 || m == 6 || m == 9 {
			meeting("general_assembly", fmt.Sprintf("2016-%02d-07", m), "")
		}
		if m == 6 || m == 12 {
			meeting("group_democratic_life", fmt.Sprintf("2016-%02d-08", m), "")
		}
		if m%3 == 2 {
			meeting("party_lecture", fmt.Sprintf("2016-%02d-09", m), fmt.Sprintf(`,"lecturer_id":"m%02d"`, 1+(m/3)%2))
		}
		sessions := 2
		if m == 3 || m == 10 {
			sessions = 1
		}
		for s := 0; s < sessions; s++ {
			line("StudySessionHeld", fmt.Sprintf("2016-%02d-%02d", m, 12+s*7), fmt.Sprintf(`{"topic":"政治学习","attendees":%s,"notes_kept":true}`, att))
		}
		for _, id := range all {
			on := fmt.Sprintf("2016-%02d-20", m)
			if id == "m03" && m == 3 {
				on = "2016-04-03"
			}
			line("DuesPaid", on, fmt.Sprintf(`{"member_id":%q,"month":"2016-%02d","amount_fen":1500}`, id, m))
		}
		if m%3 == 0 {
			line("DuesRemitted", fmt.Sprintf("2016-%02d-25", m), fmt.Sprintf(`{"quarter":"2016-Q%d","amount_fen":54000}`, m/3))
		}
	}
	line("FindingRecorded", "2017-01-10", `{"year":2016,"item":"3.2","finding":"low_satisfaction","points":2,"reason":"群众满意率较低"}`)
	line("GroupAssessmentRecorded", "2017-01-15", `{"year":2016,"score":92}`)
	return b.String()
}

// scorecardJSON is the part of the scorecard JSON the tests read.
type scorecardJSON struct {
	Org         string                   `json:"org"`
	Online      json.Number              `json:"online"`
	Group       json.Number              `json:"group"`
	Final       json.Number              `json:"final"`
	Provisional bool                     `json:"provisional"`
	TierByScore string                   `json:"tier_by_score"`
	Tier        string                   `json:"tier"`
	Rulebook    struct{ Version string } `json:"rulebook"`
	Vetoes      []struct {
		Code   string   `json:"code"`
		Events []string `json:"events"`
	} `json:"vetoes"`
	Items []struct {
		Code       string `json:"code"`
		Deductions []struct {
			Rule   string      `json:"rule"`
			Points json.Number `json:"points"`
			Events []string    `json:"events"`
		} `json:"deductions"`
	} `json:"items"`
}

func TestWorkedExampleReproducesExactly(t *testing.T) {
	dir := t.TempDir()
	c := newClock()
	journal := filepath.Join(t.TempDir(), "worked.jsonl")
	if err := os.WriteFile(journal, []byte(workedExample()), 0o644); err != nil {
		t.Fatal(err)
	}
	mustOK(t, cli(t, c, "", "--data", dir, "import", journal, "--quiet"))
	r := mustOK(t, cli(t, c, "", "--data", dir, "score", "--org", "LY-0100", "--year", "2016", "--json"))
	var sc scorecardJSON
	if err := json.Unmarshal([]byte(r.stdout), &sc); err != nil {
		t.Fatalf("%v\n%s", err, r.stdout)
	}
	if sc.Online != "93.5" || sc.Group != "92" || sc.Final != "92.75" || sc.Provisional ||
		sc.TierByScore != "advanced" || sc.Tier != "compliant" || sc.Rulebook.Version != "2016.1" {
		t.Errorf("online %s group %s final %s provisional %v tier_by_score %s tier %s rulebook %s; want 93.5 92 92.75 false advanced compliant 2016.1",
			sc.Online, sc.Group, sc.Final, sc.Provisional, sc.TierByScore, sc.Tier, sc.Rulebook.Version)
	}
	want := map[string]string{"5.3": "0.5", "5.2": "1", "3.3": "1", "3.2": "2", "2.5": "2"}
	got := map[string]string{}
	n := 0
	for _, it := range sc.Items {
		for _, d := range it.Deductions {
			got[it.Code] = string(d.Points)
			n++
			if len(d.Events) == 0 && it.Code != "3.3" && it.Code != "5.3" && it.Code != "5.2" {
				t.Errorf("deduction %s of %s names no events", d.Rule, it.Code)
			}
		}
	}
	if n != 5 || fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("deductions %v (%d), want %v (5)", got, n, want)
	}
	if len(sc.Vetoes) != 1 || sc.Vetoes[0].Code != "V3" || len(sc.Vetoes[0].Events) == 0 {
		t.Errorf("vetoes %+v, want V3 with its events", sc.Vetoes)
	}
	// The readable table says the same.
	r = mustOK(t, cli(t, c, "", "--data", dir, "score", "--org", "LY-0100"))
	for _, s := range []string{"网上考核 93.5", "最终得分 92.75", "按分数 先进", "等次 达标", "否决 V3"} {
		if !strings.Contains(r.stdout, s) {
			t.Errorf("table lacks %q:\n%s", s, r.stdout)
		}
	}
}
