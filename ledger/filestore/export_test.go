package filestore

// QueueLen reports how many appends wait for the committer, so that a test
// can line up a batch without sleeping.
func QueueLen(s *Store) int { return len(s.queue) }
