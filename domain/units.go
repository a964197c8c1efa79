package domain

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"
)

// CST is China Standard Time (UTC+8, no daylight saving). It is a fixed
// zone so the package needs no time-zone database.
var CST = time.FixedZone("CST", 8*3600)

// Date is a civil date in China Standard Time. The zero Date is invalid.
type Date struct {
	Year  int
	Month time.Month
	Day   int
}

// DateMin and DateMax bound every occurred_on the ledger accepts.
var (
	DateMin = Date{2000, time.January, 1}
	DateMax = Date{2099, time.December, 31}
)

// ParseDate parses YYYY-MM-DD strictly: the date must exist (2016-02-30
// does not) and lie within DateMin..DateMax.
func ParseDate(s string) (Date, error) {
	if len(s) != 10 || s[4] != '-' || s[7] != '-' {
		return Date{}, errors.New("want a date as YYYY-MM-DD")
	}
	t, err := time.ParseInLocation("2006-01-02", s, CST)
	if err != nil {
		return Date{}, fmt.Errorf("%q is not a calendar date", s)
	}
	d := DateOf(t)
	if d.Before(DateMin) || d.After(DateMax) {
		return Date{}, fmt.Errorf("%s is outside %s..%s", s, DateMin, DateMax)
	}
	return d, nil
}

// MustDate parses s or panics; for tests and literals.
func MustDate(s string) Date {
	d, err := ParseDate(s)
	if err != nil {
		panic(err)
	}
	return d
}

// DateOf returns the CST calendar date of the instant t.
func DateOf(t time.Time) Date {
	y, m, d := t.In(CST).Date()
	return Date{y, m, d}
}

// IsZero reports whether d is the zero Date.
func (d Date) IsZero() bool { return d.Year == 0 }

// String formats d as YYYY-MM-DD.
func (d Date) String() string {
	if d.IsZero() {
		return ""
	}
	return fmt.Sprintf("%04d-%02d-%02d", d.Year, int(d.Month), d.Day)
}

// Start returns the instant d begins (00:00 CST).
func (d Date) Start() time.Time { return time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, CST) }

// End returns the instant d closes: the next CST midnight.
func (d Date) End() time.Time { return d.Start().AddDate(0, 0, 1) }

// AddDays returns d moved by n days.
func (d Date) AddDays(n int) Date { return DateOf(d.Start().AddDate(0, 0, n)) }

// Compare returns -1, 0 or +1.
func (d Date) Compare(o Date) int {
	switch {
	case d.Year != o.Year:
		return cmpInt(d.Year, o.Year)
	case d.Month != o.Month:
		return cmpInt(int(d.Month), int(o.Month))
	default:
		return cmpInt(d.Day, o.Day)
	}
}

// Before reports d < o.
func (d Date) Before(o Date) bool { return d.Compare(o) < 0 }

// After reports d > o.
func (d Date) After(o Date) bool { return d.Compare(o) > 0 }

// Quarter returns 1..4.
func (d Date) Quarter() int { return (int(d.Month)-1)/3 + 1 }

// Half returns 1 or 2.
func (d Date) Half() int { return (int(d.Month)-1)/6 + 1 }

// MonthEnd returns the last day of month m of year y.
func MonthEnd(y int, m time.Month) Date {
	return DateOf(time.Date(y, m+1, 1, 0, 0, 0, 0, CST).AddDate(0, 0, -1))
}

// QuarterEnd returns the last day of quarter q (1..4) of year y.
func QuarterEnd(y, q int) Date { return MonthEnd(y, time.Month(q*3)) }

// HalfEnd returns the last day of half h (1..2) of year y.
func HalfEnd(y, h int) Date { return MonthEnd(y, time.Month(h*6)) }

// YearEnd returns December 31 of year y.
func YearEnd(y int) Date { return Date{y, time.December, 31} }

// MarshalJSON writes "YYYY-MM-DD".
func (d Date) MarshalJSON() ([]byte, error) { return json.Marshal(d.String()) }

// UnmarshalJSON reads "YYYY-MM-DD" strictly.
func (d *Date) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return &json.UnmarshalTypeError{Value: truncate(string(b), 40), Type: reflect.TypeFor[Date]()}
	}
	v, err := ParseDate(s)
	if err != nil {
		// An UnmarshalTypeError gets the field path from the decoder.
		return &json.UnmarshalTypeError{Value: fmt.Sprintf("%q (%v)", truncate(s, 40), err), Type: reflect.TypeFor[Date]()}
	}
	*d = v
	return nil
}

func cmpInt(a, b int) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// Month is a calendar month "YYYY-MM".
type Month struct {
	Year  int
	Month time.Month
}

// ParseMonth parses YYYY-MM.
func ParseMonth(s string) (Month, error) {
	if len(s) != 7 || s[4] != '-' {
		return Month{}, errors.New("want a month as YYYY-MM")
	}
	y, err1 := strconv.Atoi(s[:4])
	m, err2 := strconv.Atoi(s[5:])
	if err1 != nil || err2 != nil || m < 1 || m > 12 || y < DateMin.Year || y > DateMax.Year {
		return Month{}, fmt.Errorf("%q is not a month YYYY-MM within %d..%d", s, DateMin.Year, DateMax.Year)
	}
	return Month{y, time.Month(m)}, nil
}

// String formats YYYY-MM.
func (m Month) String() string { return fmt.Sprintf("%04d-%02d", m.Year, int(m.Month)) }

// End returns the month's last day.
func (m Month) End() Date { return MonthEnd(m.Year, m.Month) }

// Period is a quarter ("YYYY-Qn") or a half ("YYYY-Hn").
type Period struct {
	Year int
	Kind byte // 'Q' or 'H'
	N    int
}

// ParseQuarter parses YYYY-Qn.
func ParseQuarter(s string) (Period, error) { return parsePeriod(s, 'Q', 4) }

// ParseHalf parses YYYY-Hn.
func ParseHalf(s string) (Period, error) { return parsePeriod(s, 'H', 2) }

func parsePeriod(s string, kind byte, max int) (Period, error) {
	want := fmt.Sprintf("want YYYY-%c1..YYYY-%c%d", kind, kind, max)
	if len(s) != 7 || s[4] != '-' || s[5] != kind {
		return Period{}, errors.New(want)
	}
	y, err := strconv.Atoi(s[:4])
	n := int(s[6] - '0')
	if err != nil || n < 1 || n > max || y < DateMin.Year || y > DateMax.Year {
		return Period{}, errors.New(want)
	}
	return Period{y, kind, n}, nil
}

// String formats YYYY-Qn or YYYY-Hn.
func (p Period) String() string { return fmt.Sprintf("%04d-%c%d", p.Year, p.Kind, p.N) }

// End returns the period's last day.
func (p Period) End() Date {
	if p.Kind == 'H' {
		return HalfEnd(p.Year, p.N)
	}
	return QuarterEnd(p.Year, p.N)
}

// Fen is money in 分 (hundredths of a yuan). Never a float.
type Fen int64

// Points is a score in hundredths of a point: 0.5 point is Points(50).
// JSON form: a number with at most two decimals ("92.75", "2", "0.5").
type Points int64

// PointsOf returns whole points.
func PointsOf(n int64) Points { return Points(n * 100) }

// String formats p as a decimal with no trailing zeros ("92.75", "2", "0.5").
func (p Points) String() string {
	neg := p < 0
	v := int64(p)
	if neg {
		v = -v
	}
	s := strconv.FormatInt(v/100, 10)
	if f := v % 100; f != 0 {
		if f%10 == 0 {
			s += "." + strconv.FormatInt(f/10, 10)
		} else {
			s += fmt.Sprintf(".%02d", f)
		}
	}
	if neg {
		s = "-" + s
	}
	return s
}

// MarshalJSON writes p as a JSON number with at most two decimals.
func (p Points) MarshalJSON() ([]byte, error) { return []byte(p.String()), nil }

// UnmarshalJSON reads a JSON number with at most two decimals and no
// exponent.
func (p *Points) UnmarshalJSON(b []byte) error {
	v, err := ParsePoints(string(b))
	if err != nil {
		// An UnmarshalTypeError gets the field path from the decoder.
		return &json.UnmarshalTypeError{Value: "number " + truncate(string(b), 40), Type: reflect.TypeFor[Points]()}
	}
	*p = v
	return nil
}

// ParsePoints parses a decimal with at most two fraction digits, no
// exponent, no sign other than a leading '-'.
func ParsePoints(s string) (Points, error) {
	bad := fmt.Errorf("%q is not a number with at most two decimals", truncate(s, 40))
	neg := strings.HasPrefix(s, "-")
	if neg {
		s = s[1:]
	}
	whole, frac, hasFrac := strings.Cut(s, ".")
	if whole == "" || len(whole) > 9 || (hasFrac && (len(frac) == 0 || len(frac) > 2)) {
		return 0, bad
	}
	if len(whole) > 1 && whole[0] == '0' {
		return 0, bad
	}
	for _, c := range whole + frac {
		if c < '0' || c > '9' {
			return 0, bad
		}
	}
	w, _ := strconv.ParseInt(whole, 10, 64)
	var f int64
	if hasFrac {
		f, _ = strconv.ParseInt(frac, 10, 64)
		if len(frac) == 1 {
			f *= 10
		}
	}
	v := Points(w*100 + f)
	if neg {
		v = -v
	}
	return v, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
