package projections

import (
	"fmt"
	"sync"
	"time"

	"partyledger/domain"
)

// period is one calendar period of an assessment year (CST dates).
type period struct {
	label      string // "2016-03", "2016-Q1", "2016-H1", "2016"
	start, end day
	n          int // month 1..12, quarter 1..4, half 1..2; 0 for the year
}

type yearPeriods struct {
	months   [12]period
	quarters [4]period
	halves   [2]period
	year     period
	years    [1]period // year, as the one period of its kind (all)
}

var periodTables sync.Map // year → *yearPeriods

// periodsOf returns the periods of year y (memoised: labels are built once).
func periodsOf(y int) *yearPeriods {
	if p, ok := periodTables.Load(y); ok {
		return p.(*yearPeriods)
	}
	yp := &yearPeriods{}
	start := func(m int) day { return day(y*10000 + m*100 + 1) }
	for m := 1; m <= 12; m++ {
		yp.months[m-1] = period{label: fmt.Sprintf("%04d-%02d", y, m), start: start(m), end: dayOf(domain.MonthEnd(y, time.Month(m))), n: m}
	}
	for q := 1; q <= 4; q++ {
		yp.quarters[q-1] = period{label: fmt.Sprintf("%04d-Q%d", y, q), start: start(q*3 - 2), end: dayOf(domain.QuarterEnd(y, q)), n: q}
	}
	for h := 1; h <= 2; h++ {
		yp.halves[h-1] = period{label: fmt.Sprintf("%04d-H%d", y, h), start: start(h*6 - 5), end: dayOf(domain.HalfEnd(y, h)), n: h}
	}
	yp.year = period{label: fmt.Sprintf("%04d", y), start: start(1), end: dayOf(domain.YearEnd(y))}
	yp.years[0] = yp.year
	periodTables.Store(y, yp)
	return yp
}

// all returns the periods of a kind (month, quarter, half, year).
func (yp *yearPeriods) all(kind string) []period {
	switch kind {
	case domain.PeriodMonth:
		return yp.months[:]
	case domain.PeriodQuarter:
		return yp.quarters[:]
	case domain.PeriodHalf:
		return yp.halves[:]
	case domain.PeriodYear:
		return yp.years[:]
	}
	return nil
}

// index returns the number of the period of kind that contains d (a day
// of the year): the month, quarter or half; 0 for the year.
func index(kind string, d day) int {
	m := d.month()
	switch kind {
	case domain.PeriodMonth:
		return m
	case domain.PeriodQuarter:
		return (m-1)/3 + 1
	case domain.PeriodHalf:
		return (m-1)/6 + 1
	}
	return 0
}
