package projections_test

import (
	"testing"
	"time"

	"partyledger/domain"
)

// TestRejections: an assessor's 退回 (EventRejected) hides the entry from
// its recorded_at on, like a retraction, and is listed with its reason;
// a retraction of the rejection makes the entry count again.
func TestRejections(t *testing.T) {
	reject := func(b *book, recorded time.Time) string {
		target := b.find(t, isMeeting(domain.MeetingGeneralAssembly))
		b.addAt("2017-02-01", recorded, &domain.EventRejected{EventID: target.ID, Reason: "会议记录缺签到"})
		return target.ID
	}
	t.Run("counts only from its recorded_at, listed with its reason", func(t *testing.T) {
		b := perfect(domain.KindBranch, true)
		id := reject(b, at("2017-02-01"))
		before := b.scoreAt(t, "", at("2017-01-31"))
		wantDeductions(t, before, nil)
		if len(before.Rejected) != 0 {
			t.Fatalf("rejected before it was recorded: %+v", before.Rejected)
		}
		after := b.scoreAt(t, "", at("2017-02-02"))
		wantDeductions(t, after, map[string]string{"5.3.general_assembly": "0.5"})
		if len(after.Rejected) != 1 || after.Rejected[0].EventID != id || after.Rejected[0].Reason != "会议记录缺签到" {
			t.Fatalf("rejected %+v", after.Rejected)
		}
	})
	t.Run("a retracted rejection: the entry counts again", func(t *testing.T) {
		b := perfect(domain.KindBranch, true)
		reject(b, at("2017-02-01"))
		rej := b.evs[len(b.evs)-1].ID
		b.addAt("2017-02-03", at("2017-02-03"), &domain.EventRetracted{EventID: rej, Reason: "复核后认可"})
		sc := b.scoreAt(t, "", at("2017-02-04"))
		wantDeductions(t, sc, nil)
		if len(sc.Rejected) != 0 {
			t.Fatalf("still listed: %+v", sc.Rejected)
		}
	})
}

// TestLateEntriesOnTheScorecard: the organisation's own entries recorded
// more than late_entry_days (2016: 30) after they occurred are listed
// 补录 with both dates; findings and timely entries are not.
func TestLateEntriesOnTheScorecard(t *testing.T) {
	b := perfect(domain.KindBranch, true)
	b.addAt("2016-09-09", at("2016-10-09"), &domain.ResearchReportSubmitted{Title: "第30天登记"})
	b.addAt("2016-09-09", at("2016-10-10"), &domain.ResearchReportSubmitted{Title: "第31天登记"})
	late := b.evs[len(b.evs)-1].ID
	sc := b.scoreAt(t, "", at("2017-03-01"))
	var got []string
	for _, l := range sc.Late {
		got = append(got, l.EventID)
		if l.EventID == late && (l.OccurredOn.String() != "2016-09-09" || l.Days != 31 || l.RecordedAt != at("2016-10-10").UTC().Format(domain.InstantLayout)) {
			t.Fatalf("late entry %+v", l)
		}
	}
	found := false
	for _, id := range got {
		found = found || id == late
	}
	if !found {
		t.Fatalf("the entry recorded 31 days late is not listed: %v", got)
	}
	for _, l := range sc.Late {
		for _, e := range b.evs {
			if e.ID == l.EventID {
				if l.RecordedAt != e.RecordedAt.UTC().Format(domain.InstantLayout) || l.OccurredOn != e.OccurredOn {
					t.Fatalf("late entry %+v: recorded at %s, occurred on %s", l, e.RecordedAt, e.OccurredOn)
				}
				if side, _ := domain.SideOf(e.Type); side != domain.SideOrg {
					t.Fatalf("a %s listed as 补录", e.Type)
				}
				if days := domain.LateDays(e.OccurredOn, e.RecordedAt); days <= 30 {
					t.Fatalf("an entry %d days late listed", days)
				}
			}
		}
	}
}
