//go:build race

package filestore_test

// raceEnabled shrinks the exhaustive loops, which the race detector slows
// tenfold; the full versions run without -race.
const raceEnabled = true
