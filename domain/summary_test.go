package domain_test

import (
	"encoding/json"
	"strings"
	"testing"

	"partyledger/domain"
)

func TestYuan(t *testing.T) {
	for _, c := range []struct {
		fen  domain.Fen
		want string
	}{{0, "0.00 元"}, {5, "0.05 元"}, {60, "0.60 元"}, {100, "1.00 元"}, {1360, "13.60 元"}, {13603, "136.03 元"},
		{100_000_000, "1000000.00 元"}, {-1360, "-13.60 元"}} {
		if got := domain.Yuan(c.fen); got != c.want {
			t.Errorf("Yuan(%d) = %q, want %q", c.fen, got, c.want)
		}
	}
}

func TestSummary(t *testing.T) {
	names := func(id string) string { return map[string]string{"m001": "张三", "m002": "李四"}[id] }
	attendees := []string{}
	for _, id := range []string{"m001", "m002", "m003", "m004", "m005", "m006", "m007", "m008", "m009", "m010"} {
		attendees = append(attendees, id)
	}
	att, _ := json.Marshal(attendees)
	for _, c := range []struct {
		name, typ, data string
		names           func(string) string
		want            string // the whole summary, or with a leading "~" a part of it
		never           string // a text it must not contain
	}{
		{"dues with a known member", domain.TypeDuesPaid, `{"member_id":"m001","month":"2016-03","amount_fen":1360}`, names, "张三 2016-03 党费 13.60 元", ""},
		{"dues, unknown member", domain.TypeDuesPaid, `{"member_id":"m404","month":"2016-03","amount_fen":13603}`, names, "m404 2016-03 党费 136.03 元", ""},
		{"dues without names", domain.TypeDuesPaid, `{"member_id":"m001","month":"2016-12","amount_fen":5}`, nil, "m001 2016-12 党费 0.05 元", ""},
		{"an income is never shown", domain.TypeMemberJoined, `{"member_id":"m001","name":"张三","is_leader":false,"monthly_income_fen":680000}`, nil, "张三（m001）加入", "6800"},
		{"a changed income is not shown either", domain.TypeMemberDetailsChanged, `{"member_id":"m002","monthly_income_fen":720000}`, names, "李四 月收入已变更", "7200"},
		{"many attendees", domain.TypeMeetingHeld, `{"kind":"general_assembly","topic":"学习","attendees":` + string(att) + `}`, names,
			"党员大会「学习」，出席 10 人：张三、李四、m003、m004、m005、m006、m007、m008 等", "m009"},
		{"no attendees", domain.TypeStudySessionHeld, `{"topic":"自学","attendees":[],"notes_kept":false}`, nil, "「自学」，参加 无；无学习笔记", ""},
		{"a half", domain.TypeSelfInspectionCompleted, `{"half":"2016-H2"}`, nil, "2016 年下半年自查", ""},
		{"a remittance", domain.TypeDuesRemitted, `{"quarter":"2016-Q4","amount_fen":123456}`, nil, "2016 年第 4 季度 上缴党费 1234.56 元", ""},
		{"a finding without points", domain.TypeFindingRecorded, `{"year":2016,"item":"2.4","finding":"admission_quality","reason":"质量问题"}`, nil,
			"2016 年度 第 2.4 项，扣分情形 「发展党员质量有问题」；原因：质量问题", "扣 "},
		{"a finding the rulebook lacks", domain.TypeFindingRecorded, `{"year":2016,"item":"9.9","finding":"x_y","points":1.5,"reason":"理由"}`, nil,
			"2016 年度 第 9.9 项，扣分情形 x_y，扣 1.5 分；原因：理由", ""},
		{"a grade with an override", domain.TypeGradeIssued, `{"year":2016,"rulebook_version":"2016.1","final":88,"tier":"compliant","override_reason":"申诉"}`, nil,
			"2016 年度 达标，88 分（细则 2016.1）；调整理由：申诉", ""},
		{"all organisations", domain.TypeRequiredEventScheduled, `{"scheduled_event_id":"s1","kind":"meeting","title":"大会","targets":["*"]}`, nil,
			"工委部署会议「大会」（s1），对象：全部组织", ""},
		{"a token's hash is not shown", domain.TypeTokenIssued, `{"token_id":"1a2b3c4d","role":"auditor","name":"审计甲","sha256":"5d41402abc4b2a76b9719d911017c592aa2e3bd3c9f0e6a4b7c8d9e0f1a2b3c4"}`, nil,
			"签发令牌 1a2b3c4d 给 审计甲（审计）", "5d41402a"},
		{"an unknown type, field by field", "SomethingNew", `{"year":2017,"reason":"试行","amount_fen":250}`, nil, "金额：2.50 元；理由：试行；年度：2017", ""},
		{"undecodable data is shown as it is", domain.TypeDuesPaid, `{"member_id":`, nil, `{"member_id":`, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := domain.Summary(c.typ, json.RawMessage(c.data), c.names)
			if got != c.want {
				t.Errorf("got  %q\nwant %q", got, c.want)
			}
			if c.never != "" && strings.Contains(got, c.never) {
				t.Errorf("%q shows %q", got, c.never)
			}
		})
	}
}

func TestMemberNamesPerOrganisation(t *testing.T) {
	n := domain.NewMemberNames()
	n.Learn("A", domain.TypeMemberJoined, json.RawMessage(`{"member_id":"m001","name":"张三","is_leader":false,"monthly_income_fen":0}`))
	n.Learn("B", domain.TypeMemberJoined, json.RawMessage(`{"member_id":"m001","name":"王五","is_leader":false,"monthly_income_fen":0}`))
	n.Learn("A", domain.TypeDuesPaid, json.RawMessage(`{"member_id":"m002","month":"2016-01","amount_fen":1}`))
	if a, b, c := n.Of("A")("m001"), n.Of("B")("m001"), n.Of("C")("m001"); a != "张三" || b != "王五" || c != "" {
		t.Fatalf("names %q %q %q", a, b, c)
	}
}
