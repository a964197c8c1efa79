package api_test

import (
	"archive/zip"
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"partyledger/api"
	"partyledger/domain"
	"partyledger/ledger/books"
)

var (
	booksOpts   = books.RecordOptions{}
	jsonMarshal = json.Marshal
)

// memberOf is a member of each fixture organisation.
var memberOf = map[string]string{ownOrg: "m1", otherOrg: "n1"}

var fresh atomic.Int64

// sample returns a journal line of type typ for org that the state will
// accept now (recording, as the committee, whatever it needs first: a
// member, a case, an office, a scheduled event, an entry to reject).
func sample(t *testing.T, e *env, typ, org, by string) map[string]any {
	t.Helper()
	n := fresh.Add(1)
	m := memberOf[org]
	on := "2016-09-01"
	var data map[string]any
	setup := func(l string) string {
		t.Helper()
		ent, err := domain.ParseJournalLine([]byte(l))
		if err != nil {
			t.Fatal(err)
		}
		res, err := e.bk.Record(context.Background(), []domain.Entry{ent}, "fixture", booksOpts)
		if err != nil {
			t.Fatalf("setup %s: %v", l, err)
		}
		return res[0].ID.String()
	}
	newMember := func() string {
		id := fmt.Sprintf("x%d", n)
		setup(fmt.Sprintf(`{"org":%q,"type":"MemberJoined","occurred_on":"2016-01-05","data":{"member_id":%q,"name":"新党员","is_leader":false,"monthly_income_fen":200000}}`, org, id))
		return id
	}
	title := map[string]any{"title": fmt.Sprintf("样例 %d", n)}
	switch typ {
	case domain.TypeCommitteeElected:
		data = map[string]any{"term_years": 3}
	case domain.TypeTermExtensionApproved:
		data = map[string]any{"until": "2017-06-30", "reason": "延期换届经上级批准"}
	case domain.TypeOfficerAppointed:
		data = map[string]any{"role": "affairs_officer", "member_id": newMember()}
	case domain.TypeOfficerVacated:
		id := newMember()
		setup(fmt.Sprintf(`{"org":%q,"type":"OfficerAppointed","occurred_on":"2016-01-06","data":{"role":"affairs_officer","member_id":%q}}`, org, id))
		data = map[string]any{"role": "affairs_officer", "member_id": id}
	case domain.TypeMemberJoined:
		data = map[string]any{"member_id": fmt.Sprintf("j%d", n), "name": "新人", "is_leader": false, "monthly_income_fen": 100000}
	case domain.TypeMemberDetailsChanged:
		data = map[string]any{"member_id": m, "is_leader": false}
	case domain.TypeMemberTransferredOut:
		data = map[string]any{"member_id": newMember()}
	case domain.TypeMeetingHeld:
		data = map[string]any{"kind": "branch_committee", "topic": "支委会", "attendees": []string{m}}
	case domain.TypeStudySessionHeld:
		data = map[string]any{"topic": "学习", "attendees": []string{m}, "notes_kept": true}
	case domain.TypeEducationActivityHeld:
		data = map[string]any{"topic": "policy", "title": "方针政策"}
	case domain.TypeCampaignActivityHeld:
		data = map[string]any{"campaign": "volunteer", "title": "志愿服务"}
	case domain.TypeMassOrgEducationHeld, domain.TypeSignatureActivityHeld, domain.TypeInnovationRecorded, domain.TypeResearchReportSubmitted,
		domain.TypeWorkInfoSubmitted, domain.TypeIntegrityActivityHeld, domain.TypePartyWorkReviewed, domain.TypeDemocraticLifeReported,
		domain.TypeAdministrativeReportGiven:
		data = title
	case domain.TypeDuesAccountOpened:
		data = map[string]any{"bank": "工商银行", "account_last4": "1234"}
	case domain.TypeDuesPaid:
		data = map[string]any{"member_id": m, "month": "2016-09", "amount_fen": 1500}
	case domain.TypeDuesRemitted:
		data = map[string]any{"quarter": "2016-Q3", "amount_fen": 4500}
	case domain.TypeSelfInspectionCompleted:
		data = map[string]any{"half": "2016-H2"}
	case domain.TypeSubordinateInspected:
		data = map[string]any{"subordinate_code": genOrg}
	case domain.TypeAttendanceRecorded:
		sid := fmt.Sprintf("sched-%d", n)
		setup(fmt.Sprintf(`{"type":"RequiredEventScheduled","occurred_on":"2016-08-01","data":{"scheduled_event_id":%q,"kind":"training","title":"培训","targets":["*"]}}`, sid))
		data = map[string]any{"scheduled_event_id": sid}
	case domain.TypeMeetingSatIn:
		data = map[string]any{"kind": "leadership_meeting", "title": "班子会议"}
	case domain.TypeWorkPlanFiled, domain.TypeWorkSummaryFiled:
		data = map[string]any{"area": "outreach"}
	case domain.TypeOutreachVisit:
		data = map[string]any{"kind": "village", "title": "驻村"}
	case domain.TypeSystemAdopted:
		data = map[string]any{"system": "org_life", "title": "组织生活制度"}
	case domain.TypeViolationRecorded:
		data = map[string]any{"case_id": fmt.Sprintf("C-%d", n), "person": m, "severity": "serious", "impact": "severe", "summary": "严重违纪"}
	case domain.TypeCaseHandled:
		cid := fmt.Sprintf("H-%d", n)
		setup(fmt.Sprintf(`{"org":%q,"type":"ViolationRecorded","occurred_on":"2016-05-01","data":{"case_id":%q,"person":%q,"severity":"ordinary","impact":"normal","summary":"违纪"}}`, org, cid, m))
		data = map[string]any{"case_id": cid, "outcome": "结案"}
	case domain.TypeFindingRecorded:
		on = "2017-01-10"
		data = map[string]any{"year": 2016, "item": "3.5", "finding": "perfunctory", "points": 1, "reason": "记录不全"}
	case domain.TypeGroupAssessmentRecorded:
		on = "2017-01-10"
		data = map[string]any{"year": 2016, "score": 90}
	case domain.TypeEventRejected:
		id := setup(fmt.Sprintf(`{"org":%q,"type":"StudySessionHeld","occurred_on":"2016-09-02","data":{"topic":"待审 %d","attendees":[%q],"notes_kept":true}}`, org, n, m))
		on = "2017-01-10"
		data = map[string]any{"event_id": id, "reason": "记录不全"}
	case domain.TypeEventRetracted:
		// What the recorder may retract: its own side's entry.
		target := domain.TypeStudySessionHeld
		if by == "assessor" {
			target = domain.TypeFindingRecorded
		}
		id := e.recordAs(t, by, org, sample(t, e, target, org, by))
		on = "2017-01-20"
		data = map[string]any{"event_id": id, "reason": "重复"}
	case domain.TypeGradeIssued, domain.TypeGradeRevised:
		on = "2017-01-31"
		data = map[string]any{"year": 2016, "rulebook_version": "2016.1", "final": 60, "tier": "non_compliant", "override_reason": "样例"}
		if typ == domain.TypeGradeRevised {
			data["reason"] = "更正"
		}
	default:
		t.Fatalf("no sample for %s", typ)
	}
	return map[string]any{"type": typ, "occurred_on": on, "data": data}
}

// recorders are who may record a type: the roles of GOVERNANCE.md's table
// (with the own or the other branch's token for its organisation) and the
// command line ("cli", the local admin).
func recorders(typ, org string) []string {
	var out []string
	for _, k := range []string{"branch", "assessor", "admin"} {
		r, _ := domain.ParseAccessRole(k)
		if !domain.MayRecord(r, typ) {
			continue
		}
		if k == "branch" && org == otherOrg {
			k = "branch-other"
		}
		out = append(out, k)
	}
	return append(out, "cli")
}

// record records a sample as key ("cli": through the append path as the
// local admin) and returns its id.
func (e *env) recordAs(t *testing.T, key, org string, line map[string]any) string {
	t.Helper()
	if key == "cli" {
		line["org"] = org
		b, _ := jsonMarshal(line)
		ent, err := domain.ParseJournalLine(b)
		if err != nil {
			t.Fatal(err)
		}
		res, err := e.bk.Record(context.Background(), []domain.Entry{ent}, "cli", booksOpts)
		if err != nil {
			t.Fatalf("cli %s: %v", line["type"], err)
		}
		return res[0].ID.String()
	}
	res := e.do("POST", "/v1/orgs/"+org+"/events", key, line)
	if res.status != http.StatusCreated {
		t.Fatalf("%s records %s: %d %s", key, line["type"], res.status, res.body)
	}
	return res.json(t)["id"].(string)
}

// TestRetractionMatrix: every type of an organisation's stream, recorded
// by every principal that may record it (own and other organisation,
// and the command line), retracted by every role — each answer judged by
// GOVERNANCE.md: the recorder's side only, a branch only what a branch of
// the organisation recorded, the admin anything.
func TestRetractionMatrix(t *testing.T) {
	e := newEnv(t, api.Options{RequestsPerSecond: 1e6, Burst: 1 << 20})
	retractors := []string{"branch", "branch-other", "assessor", "auditor", "admin"}
	for _, typ := range domain.Types() {
		if k, _ := domain.StreamKindOf(typ); k != domain.StreamOrg || typ == domain.TypeOrganizationRegistered {
			continue
		}
		for _, org := range []string{ownOrg, otherOrg} {
			for _, by := range recorders(typ, org) {
				for _, q := range retractors {
					name := fmt.Sprintf("%s/%s/recorded-by-%s/retracted-by-%s", typ, map[string]string{ownOrg: "own", otherOrg: "other"}[org], by, q)
					t.Run(name, func(t *testing.T) {
						id := e.recordAs(t, by, org, sample(t, e, typ, org, by))
						res := e.do("POST", "/v1/orgs/"+org+"/events", q, map[string]any{"type": "EventRetracted", "occurred_on": "2016-12-20",
							"data": map[string]any{"event_id": id, "reason": "矩阵撤回"}})
						want := retractionWant(typ, org, by, q)
						if res.status != want {
							t.Fatalf("got %d, want %d: %s", res.status, want, res.body)
						}
						if want == http.StatusForbidden {
							if code, _ := res.apiErr(t); code != "forbidden" {
								t.Fatalf("code %s", code)
							}
						}
					})
				}
			}
		}
	}
}

// retractionWant is GOVERNANCE.md's answer to a retraction by q of a typ
// in org recorded by by.
func retractionWant(typ, org, by, q string) int {
	notRetractable := typ == domain.TypeEventRetracted || typ == domain.TypeGradeIssued || typ == domain.TypeGradeRevised
	recorderRole := map[string]domain.AccessRole{"branch": domain.AccessBranch, "branch-other": domain.AccessBranch,
		"assessor": domain.AccessAssessor, "admin": domain.AccessAdmin, "cli": domain.AccessAdmin}[by]
	switch {
	case q == "auditor":
		return http.StatusForbidden // the policy: auditors write nothing
	case (q == "branch") != (org == ownOrg) && strings.HasPrefix(q, "branch"):
		return http.StatusForbidden // another organisation
	case q == "branch-other" && org == ownOrg:
		return http.StatusForbidden
	case typ == domain.TypeEventRetracted:
		return http.StatusForbidden // a retraction of a retraction is no one's to record
	case q == "admin" && notRetractable:
		return http.StatusUnprocessableEntity
	case q == "admin":
		return http.StatusCreated
	}
	role := map[string]domain.AccessRole{"branch": domain.AccessBranch, "branch-other": domain.AccessBranch, "assessor": domain.AccessAssessor}[q]
	switch {
	case !domain.MayRecord(role, typ):
		return http.StatusForbidden
	case role == domain.AccessBranch && recorderRole != domain.AccessBranch:
		return http.StatusForbidden
	case notRetractable:
		return http.StatusUnprocessableEntity
	}
	return http.StatusCreated
}

// TestHeldBackBodyRace: a branch starts a retraction whose body arrives
// slowly; an assessor's finding is recorded meanwhile; the body then
// names that finding. The append path judges it on the stored finding,
// under its lock: 403, however stale the request's first look was.
//
// No timing: the request says "Expect: 100-continue", and Go's server
// answers "100 Continue" only when the handler first reads the body —
// after it has looked at the organisation's state. The finding is
// recorded after that answer, so the handler's first look cannot have
// seen it, and the refusal must come from the append path (its message,
// not the early check's "may not append EventRetracted of a …").
func TestHeldBackBodyRace(t *testing.T) {
	e := newEnv(t, api.Options{})
	conn, err := net.Dial("tcp", strings.TrimPrefix(e.ts.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	const idLen = 36 // a UUID
	head, tail := `{"type":"EventRetracted","occurred_on":"2016-12-20","data":{"event_id":"`, `","reason":"不认可"}}`
	fmt.Fprintf(conn, "POST /v1/orgs/%s/events HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\n"+
		"Content-Length: %d\r\nExpect: 100-continue\r\n\r\n", ownOrg, strings.TrimPrefix(e.ts.URL, "http://"), e.tokens["branch"], len(head)+idLen+len(tail))
	br := bufio.NewReader(conn)
	cont, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if cont.StatusCode != http.StatusContinue {
		t.Fatalf("before the body: %s", cont.Status)
	}
	// The handler has read the organisation's state and waits for the body.
	finding := e.do("POST", "/v1/orgs/"+ownOrg+"/events", "assessor", map[string]any{"type": "FindingRecorded", "occurred_on": "2017-01-10",
		"data": map[string]any{"year": 2016, "item": "3.5", "finding": "perfunctory", "points": 1, "reason": "记录不全"}})
	if finding.status != http.StatusCreated {
		t.Fatalf("finding: %d %s", finding.status, finding.body)
	}
	id := finding.json(t)["id"].(string)
	if _, err := io.WriteString(conn, head+id+tail); err != nil {
		t.Fatal(err)
	}
	res, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	var a struct {
		Error struct{ Code, Message, Field string }
	}
	if err := json.Unmarshal(body, &a); err != nil || res.StatusCode != http.StatusForbidden || a.Error.Code != "forbidden" || a.Error.Field != "data.event_id" {
		t.Fatalf("the held-back retraction of the assessor's finding: %d %s", res.StatusCode, body)
	}
	if want := "role branch may not retract a FindingRecorded"; !strings.HasPrefix(a.Error.Message, want) {
		t.Fatalf("refused by %q, want the append path's %q", a.Error.Message, want)
	}
	st, _ := e.bk.Org(context.Background(), ownOrg)
	if st.Retracts[id] {
		t.Fatal("the finding was retracted")
	}
}

// TestGovernanceDoneWhen walks issue 12's "Done when" through the API with
// the branch's token.
func TestGovernanceDoneWhen(t *testing.T) {
	e := newEnv(t, api.Options{})
	violation := map[string]any{"type": "ViolationRecorded", "occurred_on": "2016-05-01", "data": map[string]any{"case_id": "C-1",
		"person": "m1", "severity": "serious", "impact": "severe", "summary": "严重违纪"}}
	t.Run("a branch may not record a violation", func(t *testing.T) {
		res := e.do("POST", "/v1/orgs/"+ownOrg+"/events", "branch", violation)
		if code, field := res.apiErr(t); res.status != 403 || code != "forbidden" || field != "type" {
			t.Fatalf("%d %s", res.status, res.body)
		}
	})
	res := e.do("POST", "/v1/orgs/"+ownOrg+"/events", "assessor", violation)
	if res.status != 201 {
		t.Fatalf("the assessor's violation: %d %s", res.status, res.body)
	}
	vid := res.json(t)["id"].(string)
	t.Run("nor retract the assessor's", func(t *testing.T) {
		res := e.do("POST", "/v1/orgs/"+ownOrg+"/events", "branch", map[string]any{"type": "EventRetracted", "occurred_on": "2016-12-01",
			"data": map[string]any{"event_id": vid, "reason": "撤回"}})
		if code, field := res.apiErr(t); res.status != 403 || code != "forbidden" || field != "data.event_id" {
			t.Fatalf("%d %s", res.status, res.body)
		}
		if sc := e.scorecard("branch", ownOrg); sc["tier"] != "non_compliant" {
			t.Fatalf("the violation's veto is gone: %v", sc["tier"])
		}
	})
	t.Run("GET /v1/me lists what the branch may record", func(t *testing.T) {
		me := e.do("GET", "/v1/me", "branch", nil).json(t)
		may := fmt.Sprint(me["may_record"])
		for _, no := range []string{"ViolationRecorded", "CaseHandled", "AttendanceRecorded", "FindingRecorded", "EventRejected", "YearClosed", "GradeIssued"} {
			if strings.Contains(may, no+" ") || strings.Contains(may, no+"]") {
				t.Errorf("a branch may record %s: %s", no, may)
			}
		}
		if !strings.Contains(may, "StudySessionHeld") || !strings.Contains(may, "EventRetracted") {
			t.Errorf("may_record %s", may)
		}
		a := fmt.Sprint(e.do("GET", "/v1/me", "assessor", nil).json(t)["may_record"])
		for _, yes := range []string{"ViolationRecorded", "CaseHandled", "FindingRecorded", "EventRejected"} {
			if !strings.Contains(a, yes) {
				t.Errorf("an assessor may not record %s: %s", yes, a)
			}
		}
	})

	// 退回: the branch's own study session, rejected by an assessor.
	study := e.do("POST", "/v1/orgs/"+ownOrg+"/events", "branch", map[string]any{"type": "StudySessionHeld", "occurred_on": "2016-06-25",
		"data": map[string]any{"topic": "六月第二次政治学习", "attendees": []string{"m1", "m2", "m3"}, "notes_kept": true}})
	if study.status != 201 {
		t.Fatalf("study: %d %s", study.status, study.body)
	}
	sid := study.json(t)["id"].(string)
	before := e.scorecard("branch", ownOrg)["final"].(float64)
	reason := "学习记录缺少签到表，请补充后重新登记"
	t.Run("a branch may not reject", func(t *testing.T) {
		res := e.do("POST", "/v1/orgs/"+ownOrg+"/events", "branch", map[string]any{"type": "EventRejected", "occurred_on": "2017-01-10",
			"data": map[string]any{"event_id": sid, "reason": reason}})
		if res.status != 403 {
			t.Fatalf("%d %s", res.status, res.body)
		}
	})
	res = e.do("POST", "/v1/orgs/"+ownOrg+"/events", "assessor", map[string]any{"type": "EventRejected", "occurred_on": "2017-01-10",
		"data": map[string]any{"event_id": sid, "reason": reason}})
	if res.status != 201 {
		t.Fatalf("rejection: %d %s", res.status, res.body)
	}
	t.Run("the rejection lowers the score and the branch sees 退回 and the reason", func(t *testing.T) {
		sc := e.scorecard("branch", ownOrg)
		if after := sc["final"].(float64); after >= before {
			t.Fatalf("final %v after the rejection, %v before", after, before)
		}
		if rj := fmt.Sprint(sc["rejected"]); !strings.Contains(rj, sid) || !strings.Contains(rj, reason) {
			t.Fatalf("scorecard rejected: %s", rj)
		}
		miss := e.do("GET", "/v1/orgs/"+ownOrg+"/missing?year=2016", "branch", nil).json(t)
		if rj := fmt.Sprint(miss["rejected"]); !strings.Contains(rj, reason) {
			t.Fatalf("missing list: %s", rj)
		}
		j := e.do("GET", "/v1/orgs/"+ownOrg+"/events?year=2016&limit=1000", "branch", nil).json(t)
		found := false
		for _, ev := range j["events"].([]any) {
			m := ev.(map[string]any)
			if m["id"] == sid {
				rej, _ := m["rejected"].(map[string]any)
				found = rej != nil && rej["reason"] == reason
			}
		}
		if !found {
			t.Fatal("the journal does not show the rejection on the entry")
		}
		b := e.login("branch")
		card := string(b.get("/ui/orgs/" + ownOrg + "?year=2016").body)
		journal := string(b.get("/ui/orgs/" + ownOrg + "/journal?year=2016").body)
		for name, page := range map[string]string{"scorecard": card, "journal": journal} {
			if !strings.Contains(page, "退回") || !strings.Contains(page, reason) {
				t.Errorf("the %s page lacks 退回 and the reason", name)
			}
		}
	})

	t.Run("after YearClosed for 2016 a branch entry of 2016 is refused, the close named", func(t *testing.T) {
		for _, key := range []string{"branch", "assessor", "auditor"} {
			res := e.do("POST", "/v1/committee/events", key, map[string]any{"type": "YearClosed", "occurred_on": "2017-01-31",
				"data": map[string]any{"year": 2016, "reason": "2016年度考核结束封账"}})
			if res.status != 403 {
				t.Fatalf("%s closes a year: %d", key, res.status)
			}
		}
		res := e.do("POST", "/v1/committee/events", "admin", map[string]any{"type": "YearClosed", "occurred_on": "2017-01-31",
			"data": map[string]any{"year": 2016, "reason": "2016年度考核结束封账"}})
		if res.status != 201 {
			t.Fatalf("close: %d %s", res.status, res.body)
		}
		closeID := res.json(t)["id"].(string)
		res = e.do("POST", "/v1/orgs/"+ownOrg+"/events", "branch", map[string]any{"type": "StudySessionHeld", "occurred_on": "2016-12-20",
			"data": map[string]any{"topic": "补录学习", "attendees": []string{"m1"}, "notes_kept": true}})
		code, field := res.apiErr(t)
		if res.status != 403 || code != "year_closed" || field != "occurred_on" || !strings.Contains(string(res.body), closeID) {
			t.Fatalf("%d %s", res.status, res.body)
		}
		// The form says so in Chinese, next to the date.
		b := e.login("branch")
		page := b.post("/ui/orgs/"+ownOrg+"/record/StudySessionHeld", url.Values{"csrf": {b.csrf}, "occurred_on": {"2016-12-21"},
			"topic": {"补录学习"}, "attendees": {"m1"}, "notes_kept": {"true"}})
		if page.status != 422 || !strings.Contains(string(page.body), "封账") {
			t.Fatalf("form: %d %.300s", page.status, page.body)
		}
		// Findings go on.
		res = e.do("POST", "/v1/orgs/"+ownOrg+"/events", "assessor", map[string]any{"type": "GroupAssessmentRecorded", "occurred_on": "2017-01-31",
			"data": map[string]any{"year": 2016, "score": 88}})
		if res.status != 201 {
			t.Fatalf("assessor after the close: %d %s", res.status, res.body)
		}
	})

	t.Run("the admin grade form refuses 12 and 先进 against the computation", func(t *testing.T) {
		b := e.login("admin")
		page := b.post("/ui/orgs/"+ownOrg+"/record/GradeIssued", url.Values{"csrf": {b.csrf}, "occurred_on": {"2017-01-31"},
			"year": {"2016"}, "rulebook_version": {"2016.1"}, "final": {"12"}, "tier": {"advanced"}})
		if page.status != 422 || !strings.Contains(string(page.body), "先进") {
			t.Fatalf("form: %d %.300s", page.status, page.body)
		}
		page = b.post("/ui/orgs/"+ownOrg+"/record/GradeIssued", url.Values{"csrf": {b.csrf}, "occurred_on": {"2017-01-31"},
			"year": {"2016"}, "rulebook_version": {"2016.1"}, "final": {"12"}, "tier": {"non_compliant"}})
		if page.status != 422 || !strings.Contains(string(page.body), "改定理由") {
			t.Fatalf("form: %d %.300s", page.status, page.body)
		}
	})
}

// TestLateEntries: an entry recorded more than late_entry_days after it
// occurred is marked 补录 with both dates in the journal (API and page),
// on the scorecard and in the export.
func TestLateEntries(t *testing.T) {
	e := newEnv(t, api.Options{}) // the clock is at 2017-02-01
	res := e.do("POST", "/v1/orgs/"+ownOrg+"/events", "branch", map[string]any{"type": "StudySessionHeld", "occurred_on": "2016-06-28",
		"data": map[string]any{"topic": "补登的学习", "attendees": []string{"m1"}, "notes_kept": true}})
	if res.status != 201 {
		t.Fatal(res.status)
	}
	late := res.json(t)["id"].(string)
	res = e.do("POST", "/v1/orgs/"+ownOrg+"/events", "branch", map[string]any{"type": "StudySessionHeld", "occurred_on": "2017-01-20",
		"data": map[string]any{"topic": "按时的学习", "attendees": []string{"m1"}, "notes_kept": true}})
	onTime := res.json(t)["id"].(string)
	j := e.do("GET", "/v1/orgs/"+ownOrg+"/events?limit=1000", "auditor", nil).json(t)
	marks := map[string]map[string]any{}
	for _, ev := range j["events"].([]any) {
		m := ev.(map[string]any)
		if l, ok := m["late"].(map[string]any); ok {
			marks[m["id"].(string)] = l
		}
	}
	if l := marks[late]; l == nil || l["occurred_on"] != "2016-06-28" || l["recorded_on"] != "2017-02-01" || l["late_entry_days"] != 30.0 {
		t.Fatalf("late mark %v", l)
	}
	if marks[onTime] != nil {
		t.Fatal("an entry recorded in time is marked 补录")
	}
	if sc := fmt.Sprint(e.scorecard("auditor", ownOrg)["late"]); !strings.Contains(sc, late) || strings.Contains(sc, onTime) {
		t.Fatalf("scorecard late: %s", sc)
	}
	page := string(e.login("assessor").get("/ui/orgs/" + ownOrg + "/journal?year=2016").body)
	if !strings.Contains(page, "补录") || !strings.Contains(page, "发生于 2016-06-28，登记于 2017-02-01") {
		t.Fatal("the journal page does not mark the late entry")
	}
	csv := string(e.do("GET", "/v1/reports/2016?format=csv&table=journal", "auditor", nil).body)
	if !strings.Contains(csv, "补录：发生 2016-06-28，登记 2017-02-01") {
		t.Fatal("the export does not mark the late entry")
	}
	t.Run("the review page lists 补录 first, with 退回", func(t *testing.T) {
		a := e.login("assessor")
		body := string(a.get("/ui/review?year=2016").body)
		i, k := strings.Index(body, late), strings.Index(body, "第1月第1次政治学习")
		if i < 0 || k < 0 || i > k {
			t.Fatalf("the late entry is not listed first (%d, %d)", i, k)
		}
		res := a.post("/ui/review", url.Values{"csrf": {a.csrf}, "org": {ownOrg}, "event_id": {late}, "reason": {"补录无依据"}, "year": {"2016"}})
		if res.status != http.StatusSeeOther {
			t.Fatalf("退回: %d %.300s", res.status, res.body)
		}
		if body := string(a.get("/ui/review?year=2016").body); strings.Contains(body, late) {
			t.Fatal("a rejected entry is still listed for review")
		}
		res = a.post("/ui/review", url.Values{"csrf": {a.csrf}, "org": {ownOrg}, "event_id": {onTime}, "reason": {""}, "year": {"2016"}})
		if res.status != 422 || !strings.Contains(string(res.body), "退回原因") {
			t.Fatalf("a rejection without a reason: %d", res.status)
		}
	})
}

// TestIncomesArePersonal: monthly_income_fen reaches the organisation's
// own branch and the admin only — the journal (API and page) and the
// exports.
func TestIncomesArePersonal(t *testing.T) {
	e := newEnv(t, api.Options{})
	if res := e.do("POST", "/v1/orgs/"+ownOrg+"/events", "branch", map[string]any{"type": "MemberJoined", "occurred_on": "2016-03-01",
		"data": map[string]any{"member_id": "m7", "name": "周七", "is_leader": false, "monthly_income_fen": 456700}}); res.status != 201 {
		t.Fatalf("%d %s", res.status, res.body)
	}
	for key, want := range map[string]bool{"branch": true, "admin": true, "assessor": false, "auditor": false} {
		body := string(e.do("GET", "/v1/orgs/"+ownOrg+"/events", key, nil).body)
		if got := strings.Contains(body, `"monthly_income_fen":`); got != want {
			t.Errorf("%s sees incomes in the journal: %v", key, got)
		}
		if !want && !strings.Contains(body, `"redacted":["data.monthly_income_fen"]`) {
			t.Errorf("%s: the redaction is not said", key)
		}
		if key == "branch" {
			continue // no export for a branch
		}
		csv := string(e.do("GET", "/v1/reports/2016?format=csv&table=journal", key, nil).body)
		if got := strings.Contains(csv, `monthly_income_fen""`); got != want {
			t.Errorf("%s sees incomes in the export: %v", key, got)
		}
	}
	page := string(e.login("auditor").get("/ui/orgs/" + ownOrg + "/journal?year=2016").body)
	if strings.Contains(page, "月收入") {
		t.Error("the auditor's journal page shows incomes")
	}
	if page := string(e.login("branch").get("/ui/orgs/" + ownOrg + "/journal?year=2016").body); !strings.Contains(page, "月收入") {
		t.Error("the branch's own journal page hides its incomes")
	}
	// The workbooks, the printed 台账 and the roster: 周七's 456700 fen
	// (4567.00 元) in none of an assessor's or auditor's, in the branch's
	// and the admin's.
	income := func(s string) bool { return strings.Contains(s, "456700") || strings.Contains(s, "4567.00") }
	for key, want := range map[string]bool{"branch": true, "admin": true, "assessor": false, "auditor": false} {
		b := e.login(key)
		for _, path := range []string{"/print?year=2016", "/roster?month=2016-03", "/xlsx?year=2016"} {
			res := b.get("/ui/orgs/" + ownOrg + path)
			if res.status != 200 {
				t.Fatalf("%s %s: %d", key, path, res.status)
			}
			body := string(res.body)
			if strings.HasPrefix(path, "/xlsx") {
				body = xlsxText(t, res.body)
			}
			if got := income(body); got != want {
				t.Errorf("%s sees incomes in %s: %v", key, path, got)
			}
		}
		if key == "branch" {
			continue // no city-wide export for a branch
		}
		if got := income(xlsxText(t, e.do("GET", "/v1/reports/2016?format=xlsx", key, nil).body)); got != want {
			t.Errorf("%s sees incomes in the workbook export: %v", key, got)
		}
	}
}

// xlsxText is every part of a workbook, concatenated.
func xlsxText(t *testing.T, b []byte) string {
	t.Helper()
	z, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatalf("not a workbook: %v", err)
	}
	var out strings.Builder
	for _, f := range z.File {
		r, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		part, err := io.ReadAll(r)
		r.Close()
		if err != nil {
			t.Fatal(err)
		}
		out.Write(part)
	}
	return out.String()
}
