package scoreboard

// SetCardChunk makes Rank and Cards hold n scorecards at a time until the
// returned function restores the default.
func SetCardChunk(n int) (restore func()) {
	old := testChunk
	testChunk = n
	return func() { testChunk = old }
}

// Scored returns the number of organisations Rank has scored so far.
func Scored() int64 { return scored.Load() }
