package esdbtest

import "sync/atomic"

// Counts are the calls the test double has answered, by kind: tests use
// them to prove what a client does not do (Open with per-stream ids reads
// nothing of $all).
type Counts struct {
	Appends         int64 // Streams.Append calls
	StreamReads     int64 // Streams.Read of one stream, not a subscription
	AllReads        int64 // Streams.Read of $all, not a subscription
	Subscriptions   int64 // Streams.Read subscriptions, to $all or a stream
	PersistentReads int64 // PersistentSubscriptions.Read calls (consumers joining)
	Acks, Nacks     int64 // event ids acknowledged and not, over all consumers
}

type counters struct {
	appends, streamReads, allReads, subscriptions, persistentReads, acks, nacks atomic.Int64
}

// Counts returns the calls answered so far.
func (s *Server) Counts() Counts {
	c := &s.counts
	return Counts{
		Appends: c.appends.Load(), StreamReads: c.streamReads.Load(), AllReads: c.allReads.Load(),
		Subscriptions: c.subscriptions.Load(), PersistentReads: c.persistentReads.Load(),
		Acks: c.acks.Load(), Nacks: c.nacks.Load(),
	}
}
