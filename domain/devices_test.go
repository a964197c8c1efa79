package domain_test

import (
	"strings"
	"testing"

	"partyledger/domain"
)

func TestDeviceEventsValidate(t *testing.T) {
	hex := func(n int) string { return strings.Repeat("a", n) }
	good := []domain.Payload{
		&domain.SignInCodeIssued{CodeID: hex(16), TokenID: hex(16), KDF: domain.SignInCodeKDF, Salt: hex(32), Hash: hex(64), ExpiresAt: "2017-02-02T01:00:00Z"},
		&domain.SignInCodeVoided{CodeID: hex(16)},
		&domain.DeviceSessionStarted{SessionID: hex(16), TokenID: hex(16), CodeID: hex(16), SHA256: hex(64), ExpiresAt: "2017-03-03T01:00:00Z", Device: "手机"},
		&domain.DeviceSessionRevoked{SessionID: hex(16), Reason: "丢失"},
	}
	for _, p := range good {
		if err := p.Validate(); err != nil {
			t.Errorf("%s: %v", p.EventType(), err)
		}
		if k, _ := domain.StreamKindOf(p.EventType()); k != domain.StreamAuth {
			t.Errorf("%s lives in %s", p.EventType(), k)
		}
	}
	for _, c := range []struct {
		p     domain.Payload
		field string
	}{
		{&domain.SignInCodeIssued{CodeID: "x", TokenID: hex(16), KDF: domain.SignInCodeKDF, Salt: hex(32), Hash: hex(64), ExpiresAt: "2017-02-02T01:00:00Z"}, "code_id"},
		{&domain.SignInCodeIssued{CodeID: hex(16), TokenID: hex(16), KDF: "sha256", Salt: hex(32), Hash: hex(64), ExpiresAt: "2017-02-02T01:00:00Z"}, "kdf"},
		{&domain.SignInCodeIssued{CodeID: hex(16), TokenID: hex(16), KDF: domain.SignInCodeKDF, Salt: hex(31), Hash: hex(64), ExpiresAt: "2017-02-02T01:00:00Z"}, "salt"},
		{&domain.SignInCodeIssued{CodeID: hex(16), TokenID: hex(16), KDF: domain.SignInCodeKDF, Salt: hex(32), Hash: "12345678", ExpiresAt: "2017-02-02T01:00:00Z"}, "hash"},
		{&domain.SignInCodeIssued{CodeID: hex(16), TokenID: hex(16), KDF: domain.SignInCodeKDF, Salt: hex(32), Hash: hex(64), ExpiresAt: "tomorrow"}, "expires_at"},
		{&domain.DeviceSessionStarted{SessionID: hex(16), TokenID: hex(16), CodeID: hex(16), SHA256: hex(63), ExpiresAt: "2017-03-03T01:00:00Z"}, "sha256"},
		{&domain.DeviceSessionStarted{SessionID: hex(16), TokenID: hex(16), CodeID: hex(16), SHA256: hex(64), ExpiresAt: "2017-03-03T01:00:00Z", Device: strings.Repeat("机", 201)}, "device"},
		{&domain.DeviceSessionRevoked{SessionID: "ABC"}, "session_id"},
	} {
		fes := domain.FieldErrors(c.p.Validate())
		if len(fes) != 1 || fes[0].Field != c.field {
			t.Errorf("%s: %v, want one problem with %s", c.p.EventType(), fes, c.field)
		}
	}
}

// TestScheduleAhead: the work committee schedules its events ahead, up to
// a year; other committee events are not dated in the future.
func TestScheduleAhead(t *testing.T) {
	today := domain.MustDate("2016-09-13")
	env := &domain.CheckEnv{Today: today, OrgKnown: func(string) bool { return true }}
	s := domain.NewSchedule()
	for _, c := range []struct {
		on string
		p  domain.Payload
		ok bool
	}{
		{"2016-10-20", &domain.RequiredEventScheduled{ScheduledEventID: "S1", Kind: domain.ScheduledMeeting, Title: "会议", Targets: []string{"*"}}, true},
		{"2017-09-14", &domain.RequiredEventScheduled{ScheduledEventID: "S2", Kind: domain.ScheduledMeeting, Title: "会议", Targets: []string{"*"}}, true},
		{"2017-09-15", &domain.RequiredEventScheduled{ScheduledEventID: "S3", Kind: domain.ScheduledMeeting, Title: "会议", Targets: []string{"*"}}, false},
		{"2016-09-14", &domain.YearClosed{Year: 2015, Reason: "封账"}, false},
	} {
		err := s.Check(&domain.Entry{Type: c.p.EventType(), OccurredOn: domain.MustDate(c.on), Payload: c.p}, env)
		if (err == nil) != c.ok {
			t.Errorf("%s on %s: %v", c.p.EventType(), c.on, err)
		}
	}
}
