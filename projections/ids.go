package projections

import (
	"encoding/hex"
	"strings"
	"time"

	"github.com/google/uuid"

	"partyledger/domain"
)

// eventID is an event id kept in 16 bytes: the ledger's ids are UUIDs.
// An id that is not a canonical lower-case UUID is kept verbatim in
// Facts.oddIDs instead, so nothing is lost.
type eventID [16]byte

// parseEventID parses a canonical lower-case UUID.
func parseEventID(s string) (eventID, bool) {
	var id eventID
	if len(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return id, false
	}
	j := 0
	for i := 0; i < 36; i += 2 {
		if i == 8 || i == 13 || i == 18 || i == 23 {
			i--
			continue
		}
		hi, lo := unhex[s[i]], unhex[s[i+1]]
		if hi|lo == 0xff {
			return id, false
		}
		id[j] = hi<<4 | lo
		j++
	}
	return id, true
}

// unhex maps a lower-case hex digit to its value and anything else to 0xff.
var unhex = func() (t [256]byte) {
	for i := range t {
		t[i] = 0xff
	}
	for c := '0'; c <= '9'; c++ {
		t[c] = byte(c - '0')
	}
	for c := 'a'; c <= 'f'; c++ {
		t[c] = byte(c - 'a' + 10)
	}
	return t
}()

func (id eventID) String() string { return uuid.UUID(id).String() }

// appendUUID appends id's canonical text (what String returns) to b.
func appendUUID(b []byte, id eventID) []byte {
	var t [36]byte
	hex.Encode(t[0:8], id[0:4])
	t[8] = '-'
	hex.Encode(t[9:13], id[4:6])
	t[13] = '-'
	hex.Encode(t[14:18], id[6:8])
	t[18] = '-'
	hex.Encode(t[19:23], id[8:10])
	t[23] = '-'
	hex.Encode(t[24:], id[10:])
	return append(b, t[:]...)
}

// day is a civil date packed as yyyymmdd: ordered like the dates.
type day int32

func dayOf(d domain.Date) day { return day(d.Year*10000 + int(d.Month)*100 + d.Day) }

func (d day) year() int  { return int(d) / 10000 }
func (d day) month() int { return int(d) / 100 % 100 }
func (d day) date() domain.Date {
	return domain.Date{Year: d.year(), Month: time.Month(d.month()), Day: int(d) % 100}
}

// String formats d as YYYY-MM-DD without the fmt package: reasons and
// counts format many dates.
func (d day) String() string {
	var b [10]byte
	y, m, dd := d.year(), d.month(), int(d)%100
	b[0], b[1], b[2], b[3] = byte('0'+y/1000%10), byte('0'+y/100%10), byte('0'+y/10%10), byte('0'+y%10)
	b[4], b[5], b[6] = '-', byte('0'+m/10), byte('0'+m%10)
	b[7], b[8], b[9] = '-', byte('0'+dd/10), byte('0'+dd%10)
	return string(b[:])
}

// addDays returns d moved by n days, in integer arithmetic (the proleptic
// Gregorian day count of H. Hinnant's days_from_civil and its inverse).
func (d day) addDays(n int) day { return dayFromSerial(d.serial() + n) }

// serial returns the number of days from 1970-01-01 to d.
func (d day) serial() int {
	y, m, dd := d.year(), d.month(), int(d)%100
	if m <= 2 {
		y--
	}
	era := y / 400 // years are positive here (DateMin.Year and later)
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + dd - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return era*146097 + doe - 719468
}

func dayFromSerial(n int) day {
	z := n + 719468
	era := z / 146097
	doe := z - era*146097
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	y := yoe + era*400
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	dd := doy - (153*mp+2)/5 + 1
	m := mp + 3
	if m > 12 {
		m -= 12
	}
	if m <= 2 {
		y++
	}
	return day(y*10000 + m*100 + dd)
}

// addYears returns d moved by n years; February 29 becomes March 1 in a
// year without one (time.Date's normalisation).
func (d day) addYears(n int) day {
	t := d.date()
	return dayOf(domain.DateOf(time.Date(t.Year+n, t.Month, t.Day, 0, 0, 0, 0, domain.CST)))
}

// sameFold reports whether two id texts name the same event, ignoring
// case (UUIDs are case-insensitive).
func sameFold(a, b string) bool { return strings.EqualFold(a, b) }

// appendInstant appends the instant at (Unix nanoseconds) to b in UTC as
// KnownAtLayout ("2006-01-02T15:04:05.000000Z", microseconds truncated),
// the bytes time.Time.AppendFormat gives, at a fraction of its cost (it is
// called for every late entry of a scorecard).
func appendInstant(b []byte, at int64) []byte {
	t := time.Unix(0, at).UTC()
	y, mo, d := t.Date()
	if y < 0 || y > 9999 {
		return t.AppendFormat(b, KnownAtLayout)
	}
	h, mi, s := t.Clock()
	us := t.Nanosecond() / 1000
	var o [27]byte
	put := func(i, n, width int) {
		for j := i + width - 1; j >= i; j-- {
			o[j] = byte('0' + n%10)
			n /= 10
		}
	}
	put(0, y, 4)
	o[4] = '-'
	put(5, int(mo), 2)
	o[7] = '-'
	put(8, d, 2)
	o[10] = 'T'
	put(11, h, 2)
	o[13] = ':'
	put(14, mi, 2)
	o[16] = ':'
	put(17, s, 2)
	o[19] = '.'
	put(20, us, 6)
	o[26] = 'Z'
	return append(b, o[:]...)
}

// lateDays returns how many CST calendar days after on an entry recorded
// at at (Unix nanoseconds) was recorded, in integers: domain.LateDays
// without its time.Time arithmetic, equal to it whenever either is
// positive — all that the late-entry rule (late_entry_days ≥ 1) asks.
func lateDays(on day, at int64) int {
	const nsPerDay, cstOffset = int64(24 * time.Hour), int64(8 * time.Hour)
	// Floor division: the days from 1970-01-01 (CST) to the day of at.
	q := (at + cstOffset) / nsPerDay
	if (at+cstOffset)%nsPerDay < 0 {
		q--
	}
	return int(q) - on.serial()
}
