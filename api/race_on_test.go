//go:build race

package api_test

// raceEnabled: the race detector is on, and slows every request about
// tenfold; TestLoad scales its request count down.
const raceEnabled = true
