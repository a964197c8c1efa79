package projections

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/google/uuid"

	"partyledger/domain"
)

// TestDayArithmetic checks the integer day arithmetic against the
// calendar of package time, over every day of 1999..2101.
func TestDayArithmetic(t *testing.T) {
	d := domain.Date{Year: 1999, Month: 1, Day: 1}
	for i := 0; i < 103*366; i++ {
		next := d.AddDays(1)
		if got, want := dayOf(d).addDays(1), dayOf(next); got != want {
			t.Fatalf("%s + 1 = %s, want %s", d, got, want)
		}
		if got, want := dayOf(d).addDays(-90), dayOf(d.AddDays(-90)); got != want {
			t.Fatalf("%s - 90 = %s, want %s", d, got, want)
		}
		if got, want := dayOf(d).String(), d.String(); got != want {
			t.Fatalf("String = %s, want %s", got, want)
		}
		d = next
	}
}

func TestEventIDRoundTrip(t *testing.T) {
	for _, s := range []string{"00000000-0000-4000-8000-000000000001", "0a1b2c3d-4e5f-6789-abcd-ef0123456789"} {
		id, ok := parseEventID(s)
		if !ok || id.String() != s {
			t.Errorf("%s: %v %s", s, ok, id)
		}
	}
	for _, s := range []string{"", "x", "0A1B2C3D-4E5F-6789-ABCD-EF0123456789", "0a1b2c3d-4e5f-6789-abcd-ef012345678g", "0a1b2c3d04e5f-6789-abcd-ef0123456789"} {
		if _, ok := parseEventID(s); ok {
			t.Errorf("%q parsed", s)
		}
	}
}

// TestAppendUUID: the text late entries are built from is String's.
func TestAppendUUID(t *testing.T) {
	ids := []eventID{{}, eventID(uuid.Max)}
	for range 200 {
		ids = append(ids, eventID(uuid.New()))
	}
	for _, id := range ids {
		got := string(appendUUID([]byte("x"), id))
		if want := "x" + id.String(); got != want {
			t.Fatalf("appendUUID = %q, want %q", got, want)
		}
	}
}

// TestAppendInstant checks appendInstant against time.Time.AppendFormat:
// edges of days, years and the layout's range, and random instants.
func TestAppendInstant(t *testing.T) {
	ats := []int64{0, 1, 999, 1000, -1, -1000, 1e9 - 1,
		time.Date(2016, 12, 31, 23, 59, 59, 999_999_999, time.UTC).UnixNano(),
		time.Date(2017, 1, 1, 0, 0, 0, 0, domain.CST).UnixNano(),
		time.Date(2000, 2, 29, 12, 0, 0, 123_456_789, time.UTC).UnixNano(),
		time.Date(1677, 9, 21, 0, 12, 44, 0, time.UTC).UnixNano(),
		math.MinInt64, math.MaxInt64}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 100_000 {
		ats = append(ats, rng.Int64())
	}
	for _, at := range ats {
		want := time.Unix(0, at).UTC().Format(KnownAtLayout)
		if got := string(appendInstant([]byte("x"), at)); got != "x"+want {
			t.Fatalf("appendInstant(%d) = %q, want %q", at, got, "x"+want)
		}
	}
}

// TestLateDays checks lateDays against domain.LateDays where it must agree
// (either is positive) over random dates of 1999..2101 and instants up to
// 500 days either side of them.
func TestLateDays(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	start := time.Date(1999, 1, 1, 0, 0, 0, 0, domain.CST)
	for range 200_000 {
		on := domain.DateOf(start.AddDate(0, 0, rng.IntN(103*365)))
		at := on.Start().Add(time.Duration(rng.Int64N(int64(1000*24*time.Hour))) - 500*24*time.Hour)
		got, want := lateDays(dayOf(on), at.UnixNano()), domain.LateDays(on, at)
		if (got > 0 || want > 0) && got != want {
			t.Fatalf("lateDays(%s, %s) = %d, domain.LateDays = %d", on, at, got, want)
		}
	}
}
