package projections

import (
	"encoding/hex"
	"strings"
	"time"

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

func (id eventID) String() string {
	var b [36]byte
	hex.Encode(b[0:8], id[0:4])
	b[8] = '-'
	hex.Encode(b[9:13], id[4:6])
	b[13] = '-'
	hex.Encode(b[14:18], id[6:8])
	b[18] = '-'
	hex.Encode(b[19:23], id[8:10])
	b[23] = '-'
	hex.Encode(b[24:], id[10:])
	return string(b[:])
}

// day is a civil date packed as yyyymmdd: ordered like the dates.
type day int32

func dayOf(d domain.Date) day { return day(d.Year*10000 + int(d.Month)*100 + d.Day) }

func (d day) year() int  { return int(d) / 10000 }
func (d day) month() int { return int(d) / 100 % 100 }
func (d day) date() domain.Date {
	return domain.Date{Year: d.year(), Month: time.Month(d.month()), Day: int(d) % 100}
}
func (d day) String() string { return d.date().String() }

// addDays returns d moved by n days.
func (d day) addDays(n int) day { return dayOf(d.date().AddDays(n)) }

// addYears returns d moved by n years; February 29 becomes March 1 in a
// year without one (time.Date's normalisation).
func (d day) addYears(n int) day {
	t := d.date()
	return dayOf(domain.DateOf(time.Date(t.Year+n, t.Month, t.Day, 0, 0, 0, 0, domain.CST)))
}

// sameFold reports whether two id texts name the same event, ignoring
// case (UUIDs are case-insensitive).
func sameFold(a, b string) bool { return strings.EqualFold(a, b) }
