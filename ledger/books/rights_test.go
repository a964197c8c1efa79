package books_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"partyledger/domain"
	"partyledger/ledger/books"
)

// Principals of the rights tests.
var (
	branch      = domain.Principal{TokenID: "0123456789abcdef", Role: domain.AccessBranch, Org: "LY-0001", Name: "王书记"}
	otherBranch = domain.Principal{TokenID: "1123456789abcdef", Role: domain.AccessBranch, Org: "LY-0002", Name: "李书记"}
	assessor    = domain.Principal{TokenID: "2123456789abcdef", Role: domain.AccessAssessor, Name: "考核组"}
	auditor     = domain.Principal{TokenID: "3123456789abcdef", Role: domain.AccessAuditor, Name: "审计"}
	admin       = domain.Principal{TokenID: "4123456789abcdef", Role: domain.AccessAdmin, Name: "工委"}
)

const (
	reg2  = `{"org":"LY-0002","type":"OrganizationRegistered","occurred_on":"2016-01-04","data":{"code":"LY-0002","name":"二支部","kind":"branch","has_groups":false}}`
	study = `{"org":"LY-0001","type":"StudySessionHeld","occurred_on":"2016-06-20","data":{"topic":"党章","attendees":["m1"],"notes_kept":true}}`
	viol  = `{"org":"LY-0001","type":"ViolationRecorded","occurred_on":"2016-05-01","data":{"case_id":"c1","person":"m1","severity":"serious","impact":"severe","summary":"严重违纪"}}`
)

// line builds a journal line of LY-0001.
func line(typ, on, data string) string {
	return fmt.Sprintf(`{"org":"LY-0001","type":%q,"occurred_on":%q,"data":%s}`, typ, on, data)
}

func retraction(id string) string {
	return line(domain.TypeEventRetracted, "2016-12-01", fmt.Sprintf(`{"event_id":%q,"reason":"撤回"}`, id))
}

func rejection(id string) string {
	return line(domain.TypeEventRejected, "2016-12-02", fmt.Sprintf(`{"event_id":%q,"reason":"学习记录不全，请补充后重新登记"}`, id))
}

// as records one line as p and returns the new event's id.
func as(t *testing.T, b *books.Books, p domain.Principal, l string) (string, error) {
	t.Helper()
	res, err := b.RecordAs(context.Background(), parse(t, l), p, books.RecordOptions{})
	if err != nil {
		return "", err
	}
	return res[0].ID.String(), nil
}

func mustAs(t *testing.T, b *books.Books, p domain.Principal, l string) string {
	t.Helper()
	id, err := as(t, b, p, l)
	if err != nil {
		t.Fatalf("%s as %s: %v", l, p.Role, err)
	}
	return id
}

// wantRights checks err is a rights refusal about field.
func wantRights(t *testing.T, err error, field string) {
	t.Helper()
	var re *domain.RightsError
	if !errors.As(err, &re) || !errors.Is(err, domain.ErrForbidden) || re.Field != field {
		t.Fatalf("err = %v, want a RightsError on %s", err, field)
	}
}

// wantField checks err is a validation refusal (not a right) about field.
func wantField(t *testing.T, err error, field string) {
	t.Helper()
	if errors.Is(err, domain.ErrForbidden) {
		t.Fatalf("err = %v, want a field error on %s, not a refusal of rights", err, field)
	}
	for _, fe := range domain.FieldErrors(err) {
		if fe.Field == field {
			return
		}
	}
	t.Fatalf("err = %v, want a field error on %s", err, field)
}

func governed(t *testing.T) *books.Books {
	t.Helper()
	b := openBooks(t)
	for _, l := range []string{reg, reg2, join} {
		if _, err := b.Record(context.Background(), parse(t, l), "fixture", books.RecordOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	return b
}

func TestRecorderRoleRoundTrip(t *testing.T) {
	for _, p := range []domain.Principal{branch, assessor, auditor, admin,
		{Role: domain.AccessBranch, Org: "LY-0001", Name: "无令牌"}, domain.LocalAdmin("cli"),
		domain.LocalAdmin("伪装 (branch 0123456789abcdef)"), {TokenID: "5123456789abcdef", Role: domain.AccessAdmin, Name: "x (branch 0123456789abcdef)"}} {
		if got := domain.RecorderRole(p.RecordedBy()); got != p.Role {
			t.Errorf("%+v: recorded_by %q reads back as %s", p, p.RecordedBy(), got)
		}
	}
	if got := domain.LocalAdmin("cli").RecordedBy(); got != "cli" {
		t.Errorf("the CLI's recorded_by changed: %q", got)
	}
	for _, s := range []string{"cli", "partyledger", "", "王 (branch)x", "(branch abc)"} {
		if got := domain.RecorderRole(s); got != domain.AccessAdmin {
			t.Errorf("%q reads as %s, want admin (the committee's own tools)", s, got)
		}
	}
}

// TestWhoRecordsWhat walks GOVERNANCE.md's table: every type of an
// organisation's stream, recorded by every role, for its own organisation
// and another.
func TestWhoRecordsWhat(t *testing.T) {
	b := governed(t)
	for _, typ := range domain.Types() {
		side, ok := domain.SideOf(typ)
		if k, _ := domain.StreamKindOf(typ); !ok || k != domain.StreamOrg {
			continue
		}
		for _, p := range []domain.Principal{branch, assessor, auditor, admin} {
			for _, org := range []string{"LY-0001", "LY-0002"} {
				t.Run(fmt.Sprintf("%s/%s/%s", typ, p.Role, org), func(t *testing.T) {
					e := domain.Entry{Org: org, Type: typ, OccurredOn: domain.MustDate("2016-05-05")}
					e.Payload, _ = domain.NewPayload(typ)
					_, errs := b.CheckAs(context.Background(), []domain.Entry{e}, p)
					var err error
					if len(errs) > 0 {
						err = errs[0]
					}
					mayType := domain.MayRecord(p.Role, typ)
					switch {
					case !mayType:
						wantRights(t, err, "type")
					case p.Role == domain.AccessBranch && org != p.Org:
						wantRights(t, err, "org")
					case errors.Is(err, domain.ErrForbidden):
						t.Fatalf("%s (%s) refused to %s: %v", typ, side, p.Role, err)
					}
				})
			}
		}
	}
}

func TestRetractionByTheRecordersSide(t *testing.T) {
	b := governed(t)
	adminStudy := mustAs(t, b, domain.LocalAdmin("fixture"), study)
	own := mustAs(t, b, branch, study)
	finding := mustAs(t, b, assessor, line(domain.TypeFindingRecorded, "2017-01-20", `{"year":2016,"item":"3.5","finding":"perfunctory","points":1,"reason":"记录不全"}`))

	t.Run("a branch may not record a violation; an assessor may", func(t *testing.T) {
		_, err := as(t, b, branch, viol)
		wantRights(t, err, "type")
	})
	v := mustAs(t, b, assessor, viol)
	t.Run("a branch may not retract the assessor's violation", func(t *testing.T) {
		_, err := as(t, b, branch, retraction(v))
		wantRights(t, err, "data.event_id")
	})
	t.Run("nor the assessor's finding", func(t *testing.T) {
		_, err := as(t, b, branch, retraction(finding))
		wantRights(t, err, "data.event_id")
	})
	t.Run("nor an entry the committee recorded for it", func(t *testing.T) {
		_, err := as(t, b, branch, retraction(adminStudy))
		wantRights(t, err, "data.event_id")
	})
	t.Run("another branch may not retract it at all", func(t *testing.T) {
		_, err := as(t, b, otherBranch, retraction(own))
		wantRights(t, err, "org")
	})
	t.Run("an assessor may not retract an organisation's entry", func(t *testing.T) {
		_, err := as(t, b, assessor, retraction(own))
		wantRights(t, err, "data.event_id")
	})
	t.Run("an auditor retracts nothing", func(t *testing.T) {
		_, err := as(t, b, auditor, retraction(own))
		wantRights(t, err, "type")
	})
	t.Run("a branch retracts what it recorded", func(t *testing.T) {
		mustAs(t, b, branch, retraction(own))
	})
	t.Run("the admin retracts anything, with a reason", func(t *testing.T) {
		mustAs(t, b, admin, retraction(v))
		mustAs(t, b, admin, retraction(adminStudy))
	})
	t.Run("the assessor retracts its finding", func(t *testing.T) {
		mustAs(t, b, assessor, retraction(finding))
	})
	t.Run("judged on the stored event after a restart", func(t *testing.T) {
		// A fresh Books folds the stream: the recorder comes from recorded_by.
		st, err := b.Org(context.Background(), "LY-0001")
		if err != nil || st.Meta[own].By != domain.AccessBranch || st.Meta[adminStudy].By != domain.AccessAdmin || st.Meta[finding].By != domain.AccessAssessor {
			t.Fatalf("meta %+v %v", st.Meta, err)
		}
	})
}

func TestYearClose(t *testing.T) {
	b := governed(t)
	own := mustAs(t, b, branch, study)
	closeLine := `{"type":"YearClosed","occurred_on":"2017-01-31","data":{"year":2016,"reason":"2016年度考核封账"}}`
	t.Run("only the work committee closes a year", func(t *testing.T) {
		for _, p := range []domain.Principal{branch, assessor, auditor} {
			_, err := as(t, b, p, closeLine)
			wantRights(t, err, "type")
		}
	})
	closeID := mustAs(t, b, admin, closeLine)
	t.Run("a year is closed once", func(t *testing.T) {
		_, err := as(t, b, admin, closeLine)
		wantField(t, err, "data.year")
	})
	t.Run("the organisation's entries of the year are refused, the close named", func(t *testing.T) {
		for _, p := range []domain.Principal{branch, admin} {
			_, err := as(t, b, p, study)
			var ye *domain.YearClosedError
			if !errors.As(err, &ye) || ye.Close.EventID != closeID || !strings.Contains(err.Error(), closeID) || !strings.Contains(err.Error(), "2016年度考核封账") {
				t.Fatalf("as %s: %v, want the close %s named", p.Role, err, closeID)
			}
		}
	})
	t.Run("a branch may not retract its entry of a closed year", func(t *testing.T) {
		_, err := as(t, b, branch, retraction(own))
		var ye *domain.YearClosedError
		if !errors.As(err, &ye) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("the next year is open", func(t *testing.T) {
		mustAs(t, b, branch, line(domain.TypeStudySessionHeld, "2017-01-20", `{"topic":"新年","attendees":["m1"],"notes_kept":true}`))
	})
	t.Run("assessors and the committee go on", func(t *testing.T) {
		mustAs(t, b, assessor, line(domain.TypeGroupAssessmentRecorded, "2017-01-31", `{"year":2016,"score":90}`))
		mustAs(t, b, assessor, rejection(own))
		mustAs(t, b, admin, retraction(own))
	})
	t.Run("an import's first pass sees a close earlier in the file", func(t *testing.T) {
		c := openBooks(t)
		if _, err := c.Record(context.Background(), parse(t, reg, join), "fixture", books.RecordOptions{}); err != nil {
			t.Fatal(err)
		}
		_, errs := c.CheckAs(context.Background(), parse(t, closeLine, study), admin)
		var ye *domain.YearClosedError
		if len(errs) != 1 || !errors.As(errs[0], &ye) {
			t.Fatalf("errs = %v", errs)
		}
	})
}

// TestYearCloseRacesAppends records a close while branches append: every
// entry of the closed year that was stored precedes the close in recorded
// time, and every append refused names it.
func TestYearCloseRacesAppends(t *testing.T) {
	b := governed(t)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var closedAt time.Time
	refused, stored := 0, 0
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 20; i++ {
				_, err := b.RecordAs(context.Background(), parse(t, study), branch, books.RecordOptions{})
				var ye *domain.YearClosedError
				switch {
				case errors.As(err, &ye):
					mu.Lock()
					refused++
					mu.Unlock()
				case err != nil:
					t.Error(err)
					return
				default:
					mu.Lock()
					stored++
					mu.Unlock()
				}
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for { // close in the middle of the appends
			mu.Lock()
			n := stored
			mu.Unlock()
			if n >= 40 {
				break
			}
			time.Sleep(100 * time.Microsecond)
		}
		res, err := b.RecordAs(context.Background(), parse(t, `{"type":"YearClosed","occurred_on":"2017-01-31","data":{"year":2016,"reason":"封账"}}`), admin, books.RecordOptions{})
		if err != nil {
			t.Error(err)
			return
		}
		mu.Lock()
		closedAt = res[0].RecordedAt
		mu.Unlock()
	}()
	wg.Wait()
	n := 0
	for e, err := range b.ReadStream(context.Background(), books.OrgStream("LY-0001"), 0) {
		if err != nil {
			t.Fatal(err)
		}
		if e.Type == domain.TypeStudySessionHeld {
			n++
			if !e.RecordedAt.Before(closedAt) {
				t.Fatalf("an entry of 2016 recorded at %s, after the close at %s", e.RecordedAt, closedAt)
			}
		}
	}
	if n+refused != 160 {
		t.Fatalf("%d stored + %d refused, want 160", n, refused)
	}
	t.Logf("%d stored before the close, %d refused after it", n, refused)
}

func TestReview(t *testing.T) {
	open := sharedStore(t)
	b := open()
	if _, err := b.Record(context.Background(), parse(t, reg, join), "fixture", books.RecordOptions{}); err != nil {
		t.Fatal(err)
	}
	own := mustAs(t, b, branch, study)
	finding := mustAs(t, b, assessor, line(domain.TypeFindingRecorded, "2017-01-20", `{"year":2016,"item":"3.5","finding":"perfunctory","points":1,"reason":"记录不全"}`))
	t.Run("a branch may not reject", func(t *testing.T) {
		_, err := as(t, b, branch, rejection(own))
		wantRights(t, err, "type")
	})
	t.Run("only the organisation's own entries", func(t *testing.T) {
		_, err := as(t, b, assessor, rejection(finding))
		wantField(t, err, "data.event_id")
		_, err = as(t, b, assessor, rejection("00000000-0000-4000-8000-000000000000"))
		wantField(t, err, "data.event_id")
	})
	rej := mustAs(t, b, assessor, rejection(own))
	t.Run("rejected once", func(t *testing.T) {
		_, err := as(t, b, assessor, rejection(own))
		wantField(t, err, "data.event_id")
	})
	t.Run("the branch cannot undo a rejection", func(t *testing.T) {
		_, err := as(t, b, branch, retraction(rej))
		wantRights(t, err, "data.event_id")
	})
	t.Run("an assessor's retraction of the rejection restores the entry", func(t *testing.T) {
		mustAs(t, b, assessor, retraction(rej))
		st, _ := b.Org(context.Background(), "LY-0001")
		if st.Rejects[own] != "" {
			t.Fatalf("still rejected: %v", st.Rejects)
		}
		mustAs(t, b, assessor, rejection(own))
	})
	t.Run("a rejected MemberJoined frees the id for the corrected one, and comes back when un-rejected", func(t *testing.T) {
		j := mustAs(t, b, branch, line(domain.TypeMemberJoined, "2016-02-01", `{"member_id":"m9","name":"赵九","is_leader":false,"monthly_income_fen":100000}`))
		r := mustAs(t, b, assessor, rejection(j))
		st, _ := b.Org(context.Background(), "LY-0001")
		if st.Members["m9"] != nil {
			t.Fatal("the rejected member is still on the roster")
		}
		mustAs(t, b, assessor, retraction(r))
		st, _ = b.Org(context.Background(), "LY-0001")
		if st.Members["m9"] == nil {
			t.Fatal("the member did not come back")
		}
		// A fresh fold agrees.
		st2, _ := open().Org(context.Background(), "LY-0001")
		if st2.Members["m9"] == nil || len(st2.Rejects) != len(st.Rejects) {
			t.Fatalf("a fresh fold differs: %v %v", st2.Members["m9"], st2.Rejects)
		}
	})
}

func TestGradeRules(t *testing.T) {
	b := governed(t)
	computed := domain.GradeBasis{Final: 9600, Tier: domain.TierAdvanced}
	b.SetGradeBasis(func(_ context.Context, code string, _ int, _ string, _ time.Time) (domain.GradeBasis, error) {
		if code == "LY-0002" {
			return domain.GradeBasis{Final: 8000, Tier: domain.TierCompliant}, nil
		}
		return computed, nil
	})
	grade := func(final, tier, override string) string {
		o := ""
		if override != "" {
			o = fmt.Sprintf(`,"override_reason":%q`, override)
		}
		return line(domain.TypeGradeIssued, "2017-02-01", fmt.Sprintf(`{"year":2016,"rulebook_version":"2016.1","final":%s,"tier":%q%s}`, final, tier, o))
	}
	t.Run("only the committee grades", func(t *testing.T) {
		_, err := as(t, b, assessor, grade("96", "compliant", ""))
		wantRights(t, err, "type")
	})
	t.Run("先进 needs a designation", func(t *testing.T) {
		_, err := as(t, b, admin, grade("96", "advanced", ""))
		wantField(t, err, "data.tier")
		_, err = as(t, b, admin, grade("96", "advanced", "申诉"))
		wantField(t, err, "data.tier")
	})
	t.Run("a grade that differs from the computation needs a reason", func(t *testing.T) {
		_, err := as(t, b, admin, grade("12", "compliant", ""))
		wantField(t, err, "data.override_reason")
		_, err = as(t, b, admin, grade("96", "non_compliant", ""))
		wantField(t, err, "data.override_reason")
	})
	t.Run("an eligible organisation not designated is 达标", func(t *testing.T) {
		if _, err := b.CheckAs(context.Background(), parse(t, grade("96", "compliant", "")), admin); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("designation: eligible and registered only, by the committee", func(t *testing.T) {
		_, err := as(t, b, assessor, `{"type":"AdvancedDesignated","occurred_on":"2017-01-31","data":{"year":2016,"codes":["LY-0001"],"reason":"先进"}}`)
		wantRights(t, err, "type")
		_, err = as(t, b, admin, `{"type":"AdvancedDesignated","occurred_on":"2017-01-31","data":{"year":2016,"codes":["LY-0002"],"reason":"先进"}}`)
		wantField(t, err, "data.codes[0]")
		_, err = as(t, b, admin, `{"type":"AdvancedDesignated","occurred_on":"2017-01-31","data":{"year":2016,"codes":["LY-0404"],"reason":"先进"}}`)
		wantField(t, err, "data.codes[0]")
	})
	mustAs(t, b, admin, `{"type":"AdvancedDesignated","occurred_on":"2017-01-31","data":{"year":2016,"codes":["LY-0001"],"reason":"工委会议确定"}}`)
	t.Run("a designated organisation is 先进", func(t *testing.T) {
		_, err := as(t, b, admin, grade("96", "compliant", ""))
		wantField(t, err, "data.override_reason")
		mustAs(t, b, admin, grade("96", "advanced", ""))
	})
	t.Run("an override is stored and read back", func(t *testing.T) {
		mustAs(t, b, admin, line(domain.TypeGradeRevised, "2017-02-01", `{"year":2016,"rulebook_version":"2016.1","final":95,"tier":"advanced","reason":"申诉","override_reason":"申诉复核：3.2 扣分撤销后 95 分"}`))
		gs, err := b.OrgGrades(context.Background(), "LY-0001", 2016)
		if err != nil || len(gs) != 2 || gs[1].OverrideReason == "" {
			t.Fatalf("%+v %v", gs, err)
		}
	})
	t.Run("without a computation grades are refused", func(t *testing.T) {
		c := governed(t)
		_, err := as(t, c, admin, grade("96", "compliant", ""))
		wantField(t, err, "type")
	})
}

// TestCommitteeAndRulebookRights: only the work committee records in the
// committee's and the rulebooks' streams, also through an import's first
// pass.
func TestCommitteeAndRulebookRights(t *testing.T) {
	b := governed(t)
	for _, typ := range []string{domain.TypeRequiredEventScheduled, domain.TypeYearClosed, domain.TypeAdvancedDesignated, domain.TypeRulebookPublished} {
		for _, p := range []domain.Principal{branch, assessor, auditor, admin} {
			t.Run(typ+"/"+string(p.Role), func(t *testing.T) {
				e := domain.Entry{Type: typ, OccurredOn: domain.MustDate("2017-01-31")}
				e.Payload, _ = domain.NewPayload(typ)
				if rp, ok := e.Payload.(*domain.RulebookPublished); ok {
					rp.Year = 2016
				}
				_, errs := b.CheckAs(context.Background(), []domain.Entry{e}, p)
				var err error
				if len(errs) > 0 {
					err = errs[0]
				}
				if p.Role != domain.AccessAdmin {
					wantRights(t, err, "type")
				} else if errors.Is(err, domain.ErrForbidden) {
					t.Fatalf("the admin refused: %v", err)
				}
				if p.Role != domain.AccessAdmin {
					_, err = b.RecordAs(context.Background(), []domain.Entry{e}, p, books.RecordOptions{})
					wantRights(t, err, "type")
				}
			})
		}
	}
}
