package esdbtest

import (
	"context"
	"errors"
	"hash/fnv"
	"io"
	"slices"
	"sort"
	"strconv"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/protos/persistent"
	"github.com/EventStore/EventStore-Client-Go/v4/protos/shared"
	"github.com/google/uuid"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Persistent subscriptions: the PersistentSubscriptions service calls the
// client uses (Create, Update, Delete and the bidirectional Read with
// acks and nacks), for a stream or $all with a server-side filter, and
// the consumer strategies RoundRobin, DispatchToSingle and Pinned.
//
// As on a server, a group reads its source from its start position and
// hands each event to one consumer, which acknowledges it; what a
// consumer has not acknowledged when it leaves (its call ends, the client
// closes, DropSubscriptions) or within the message timeout is retried,
// with its retry count one higher, to whichever consumer the strategy
// picks, and parked after MaxRetryCount retries. Pinned hashes an event's
// stream name to one of 1,024 buckets, assigns a bucket to the consumer
// with the fewest buckets when it first has an event, moves buckets to a
// consumer that joins until each has its share, and frees the buckets of
// one that leaves: an event is delivered twice, or to another consumer
// than its stream's earlier events, whenever consumers come and go — the
// behaviour consumers must tolerate. The double hashes with FNV-1a; the
// server with xxHash, so the buckets differ, not the behaviour.
//
// Not implemented: GetInfo, List, ReplayParked, RestartSubsystem (the
// client then falls back to HTTP, which the double does not serve),
// checkpoints (groups live as long as the double), links, and the
// MaxSubscriberCount and buffer-size settings of the group (a consumer's
// own buffer size bounds what it has in flight).

const (
	pinnedBuckets = 1024
	// maxRetryQueue bounds the events a group holds back for a Pinned
	// consumer that is full before it stops reading its source.
	maxRetryQueue = 1000
	// groupTick is how often a group checks message timeouts at most.
	groupTick = 20 * time.Millisecond
)

// Consumer strategies, as the client names them.
const (
	StrategyRoundRobin       = "RoundRobin"
	StrategyDispatchToSingle = "DispatchToSingle"
	StrategyPinned           = "Pinned"
)

// GroupInfo is the state of a persistent subscription group, for tests.
type GroupInfo struct {
	Strategy    string
	Consumers   int // connected
	InFlight    int // sent, not acknowledged
	Retrying    int // waiting to be sent again
	Behind      int // events of the source not yet read by the group
	Delivered   int // events sent, including redeliveries
	Redelivered int // events sent again (retry count > 0)
	Acked       int
	Parked      int
}

// Group returns the state of the group on stream ("$all" for $all).
func (s *Server) Group(stream, group string) (GroupInfo, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.groups[groupKey{stream: stream, name: group}]
	if g == nil {
		return GroupInfo{}, false
	}
	info := g.info
	info.Strategy, info.Consumers, info.InFlight, info.Retrying = g.strategy, len(g.consumers), len(g.inflight), len(g.retry)
	info.Behind = len(s.source(g)) - g.next
	return info, true
}

type groupKey struct {
	stream string // "$all" for $all
	name   string
}

// group is a persistent subscription group. Its fields are guarded by
// Server.mu.
type group struct {
	key      groupKey
	strategy string
	filter   *filter // $all only; nil passes all
	maxRetry int
	timeout  time.Duration // 0: none

	next      int                      // index into the source of the next event to read
	retry     []*message               // to send again, in order
	inflight  map[uuid.UUID]*message   // sent, not acknowledged, by event id
	consumers []*consumer              // connected, in order of joining
	buckets   [pinnedBuckets]*consumer // Pinned: the consumer of each bucket, nil when free
	rr        int                      // RoundRobin: where the next search starts
	info      GroupInfo                // counters
	kick      chan struct{}            // wakes the dispatcher (buffered)
	stop      chan struct{}            // closed when the group is deleted
	seq       int                      // consumer ids
}

type message struct {
	rec      *record
	retries  int
	owner    *consumer
	deadline time.Time
}

// sent is what goes to a consumer: the record and its retry count when it
// was sent (the message itself changes under the lock afterwards).
type sent struct {
	rec     *record
	retries int
}

type consumer struct {
	id       int
	capacity int
	inflight int
	buckets  int
	out      chan sent     // capacity: never blocks while inflight < capacity
	gone     chan struct{} // closed when the group drops the consumer
	why      error         // set before gone is closed
}

// persistentService is the test double's PersistentSubscriptions service.
type persistentService struct {
	persistent.UnimplementedPersistentSubscriptionsServer
	s *Server
}

// Create creates a group; an existing one is codes.AlreadyExists.
func (ps *persistentService) Create(_ context.Context, req *persistent.CreateReq) (*persistent.CreateResp, error) {
	o := req.GetOptions()
	name := o.GetGroupName()
	if name == "" {
		return nil, invalid("persistent subscription without a group name")
	}
	st := o.GetSettings()
	g := &group{strategy: st.GetConsumerStrategy(), maxRetry: int(st.GetMaxRetryCount()),
		inflight: map[uuid.UUID]*message{}, kick: make(chan struct{}, 1), stop: make(chan struct{})}
	if g.strategy == "" {
		g.strategy = st.GetNamedConsumerStrategy().String()
	}
	switch g.strategy {
	case StrategyRoundRobin, StrategyDispatchToSingle, StrategyPinned:
	default:
		return nil, invalid("consumer strategy %q", g.strategy)
	}
	g.timeout = timeoutOf(st.GetMessageTimeoutMs(), st.GetMessageTimeoutTicks())
	s := ps.s
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case o.GetAll() != nil:
		g.key = groupKey{stream: "$all", name: name}
		a := o.GetAll()
		if f := a.GetFilter(); f != nil {
			var err error
			switch {
			case f.GetStreamIdentifier() != nil:
				g.filter, err = filterOf(false, f.GetStreamIdentifier().GetRegex(), f.GetStreamIdentifier().GetPrefix())
			case f.GetEventType() != nil:
				g.filter, err = filterOf(true, f.GetEventType().GetRegex(), f.GetEventType().GetPrefix())
			default:
				err = invalid("filter on neither stream name nor event type")
			}
			if err != nil {
				return nil, err
			}
		}
		switch v := a.GetAllOption().(type) {
		case *persistent.CreateReq_AllOptions_Position:
			p := v.Position.GetCommitPosition()
			g.next = sort.Search(len(s.all), func(i int) bool { return s.all[i].position >= p })
		case *persistent.CreateReq_AllOptions_End:
			g.next = len(s.all)
		}
	case o.GetStream() != nil || o.GetStreamIdentifier() != nil:
		so := o.GetStream()
		stream := string(so.GetStreamIdentifier().GetStreamName())
		if stream == "" {
			stream = string(o.GetStreamIdentifier().GetStreamName())
		}
		if stream == "" {
			return nil, invalid("persistent subscription without a stream")
		}
		g.key = groupKey{stream: stream, name: name}
		switch v := so.GetRevisionOption().(type) {
		case *persistent.CreateReq_StreamOptions_Revision:
			g.next = int(min(v.Revision, uint64(len(s.streams[stream]))))
		case *persistent.CreateReq_StreamOptions_End:
			g.next = len(s.streams[stream])
		}
	default:
		return nil, invalid("persistent subscription to neither a stream nor $all")
	}
	if s.closed {
		return nil, status.Error(codes.Unavailable, "test double: closed")
	}
	if s.groups[g.key] != nil {
		return nil, status.Errorf(codes.AlreadyExists, "subscription group '%s' on stream '%s' exists", name, g.key.stream)
	}
	s.groups[g.key] = g
	go s.runGroup(g)
	return &persistent.CreateResp{}, nil
}

func timeoutOf(ms int32, ticks int64) time.Duration {
	switch {
	case ms > 0:
		return time.Duration(ms) * time.Millisecond
	case ticks > 0:
		return time.Duration(ticks) * 100
	}
	return 0
}

// Update changes a group's settings and, as the server does, drops its
// consumers (what they had in flight is retried when they rejoin).
func (ps *persistentService) Update(_ context.Context, req *persistent.UpdateReq) (*persistent.UpdateResp, error) {
	o := req.GetOptions()
	key := groupKey{stream: "$all", name: o.GetGroupName()}
	if o.GetAll() == nil {
		key.stream = string(o.GetStream().GetStreamIdentifier().GetStreamName())
		if key.stream == "" {
			key.stream = string(o.GetStreamIdentifier().GetStreamName())
		}
	}
	s := ps.s
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.groups[key]
	if g == nil {
		return nil, status.Errorf(codes.NotFound, "subscription group '%s' on stream '%s' does not exist", key.name, key.stream)
	}
	st := o.GetSettings()
	switch v := st.GetNamedConsumerStrategy().String(); v {
	case StrategyRoundRobin, StrategyDispatchToSingle, StrategyPinned:
		g.strategy = v
	}
	g.maxRetry = int(st.GetMaxRetryCount())
	g.timeout = timeoutOf(st.GetMessageTimeoutMs(), st.GetMessageTimeoutTicks())
	for _, c := range slices.Clone(g.consumers) {
		g.drop(c, status.Error(codes.Aborted, "test double: subscription group updated"))
	}
	g.wake()
	return &persistent.UpdateResp{}, nil
}

// Delete deletes a group and ends its consumers' calls.
func (ps *persistentService) Delete(_ context.Context, req *persistent.DeleteReq) (*persistent.DeleteResp, error) {
	o := req.GetOptions()
	key := groupKey{stream: "$all", name: o.GetGroupName()}
	if o.GetAll() == nil {
		key.stream = string(o.GetStreamIdentifier().GetStreamName())
	}
	s := ps.s
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.groups[key]
	if g == nil {
		return nil, status.Errorf(codes.NotFound, "subscription group '%s' on stream '%s' does not exist", key.name, key.stream)
	}
	delete(s.groups, key)
	for _, c := range slices.Clone(g.consumers) {
		g.drop(c, status.Error(codes.NotFound, "test double: subscription group deleted"))
	}
	close(g.stop)
	return &persistent.DeleteResp{}, nil
}

// Read serves one consumer: options, then acks and nacks from the client
// while events go to it, until either side ends the call.
func (ps *persistentService) Read(call persistent.PersistentSubscriptions_ReadServer) error {
	s := ps.s
	s.counts.persistentReads.Add(1)
	first, err := call.Recv()
	if err != nil {
		return err
	}
	o := first.GetOptions()
	if o == nil {
		return invalid("the first persistent read message must carry options")
	}
	key := groupKey{stream: "$all", name: o.GetGroupName()}
	if o.GetAll() == nil {
		key.stream = string(o.GetStreamIdentifier().GetStreamName())
	}
	capacity := int(o.GetBufferSize())
	if capacity <= 0 {
		return invalid("buffer size %d", capacity)
	}
	s.mu.Lock()
	g := s.groups[key]
	if g == nil || s.closed {
		s.mu.Unlock()
		if s.closed {
			return status.Error(codes.Unavailable, "test double: closed")
		}
		return status.Errorf(codes.NotFound, "subscription group '%s' on stream '%s' does not exist", key.name, key.stream)
	}
	c := g.join(capacity)
	dropped := s.dropped
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		g.drop(c, nil)
		g.wake()
		s.mu.Unlock()
	}()
	if err := call.Send(&persistent.ReadResp{Content: &persistent.ReadResp_SubscriptionConfirmation_{
		SubscriptionConfirmation: &persistent.ReadResp_SubscriptionConfirmation{SubscriptionId: key.stream + "::" + key.name},
	}}); err != nil {
		return err
	}
	recvDone := make(chan error, 1)
	go func() { recvDone <- ps.receive(call, g, c) }()
	ctx := call.Context()
	for {
		select {
		case m := <-c.out:
			if err := call.Send(persistentEvent(m)); err != nil {
				return err
			}
		case err := <-recvDone:
			if errors.Is(err, io.EOF) {
				return nil // the client closed its side: it left
			}
			return err
		case <-c.gone:
			return c.why
		case <-dropped:
			return status.Error(codes.Unavailable, "test double: subscription dropped")
		case <-ctx.Done():
			return status.FromContextError(ctx.Err()).Err()
		}
	}
}

// receive applies the consumer's acks and nacks until its side ends.
func (ps *persistentService) receive(call persistent.PersistentSubscriptions_ReadServer, g *group, c *consumer) error {
	s := ps.s
	for {
		req, err := call.Recv()
		if err != nil {
			return err
		}
		switch {
		case req.GetAck() != nil:
			ids, err := parseIDs(req.GetAck().GetIds())
			if err != nil {
				return err
			}
			s.counts.acks.Add(int64(len(ids)))
			s.mu.Lock()
			for _, id := range ids {
				g.ack(id)
			}
			g.wake()
			s.mu.Unlock()
		case req.GetNack() != nil:
			n := req.GetNack()
			ids, err := parseIDs(n.GetIds())
			if err != nil {
				return err
			}
			s.counts.nacks.Add(int64(len(ids)))
			s.mu.Lock()
			stop := false
			for _, id := range ids {
				stop = g.nack(id, n.GetAction()) || stop
			}
			g.wake()
			s.mu.Unlock()
			if stop {
				return status.Error(codes.Canceled, "test double: the consumer asked to stop")
			}
		default:
			return invalid("a persistent read carries options only in its first message")
		}
	}
}

func parseIDs(in []*shared.UUID) ([]uuid.UUID, error) {
	out := make([]uuid.UUID, len(in))
	for i, u := range in {
		id, err := parseUUID(u)
		if err != nil {
			return nil, invalid("ack or nack id %d: %v", i, err)
		}
		out[i] = id
	}
	return out, nil
}

// source returns the records a group reads. Caller holds s.mu.
func (s *Server) source(g *group) []*record {
	if g.key.stream == "$all" {
		return s.all
	}
	return s.streams[g.key.stream]
}

// runGroup dispatches a group's events until it is deleted or the double
// closes: on every write, ack, nack, join and leave, and on a tick for
// message timeouts.
func (s *Server) runGroup(g *group) {
	t := time.NewTicker(groupTick)
	defer t.Stop()
	for {
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			return
		}
		s.dispatch(g, time.Now())
		changed := s.changed
		s.mu.Unlock()
		select {
		case <-g.kick:
		case <-changed:
		case <-t.C:
		case <-g.stop:
			return
		case <-s.done:
			return
		}
	}
}

// dispatch retries timed-out messages, then sends what waits for a
// retry, then reads the source while consumers have room. Caller holds
// s.mu.
func (s *Server) dispatch(g *group, now time.Time) {
	if g.timeout > 0 {
		var late []*message
		for _, m := range g.inflight {
			if now.After(m.deadline) {
				late = append(late, m)
			}
		}
		sort.Slice(late, func(i, j int) bool { return late[i].rec.position < late[j].rec.position })
		for _, m := range late {
			g.release(m)
			g.requeue(m)
		}
	}
	if len(g.consumers) == 0 {
		return
	}
	kept := g.retry[:0]
	for _, m := range g.retry {
		if !g.send(m, now) {
			kept = append(kept, m)
		}
	}
	clear(g.retry[len(kept):])
	g.retry = kept
	src := s.source(g)
	for g.next < len(src) {
		r := src[g.next]
		if !g.filter.match(r) {
			g.next++
			continue
		}
		m := &message{rec: r}
		if !g.send(m, now) {
			if g.strategy != StrategyPinned || len(g.retry) >= maxRetryQueue {
				return // every consumer is full
			}
			g.retry = append(g.retry, m) // its bucket's consumer is full: as a server does, send it later
		}
		g.next++
	}
}

// send hands m to the consumer the strategy picks, if it has room.
func (g *group) send(m *message, now time.Time) bool {
	c := g.pick(m.rec)
	if c == nil || c.inflight >= c.capacity {
		return false
	}
	c.inflight++
	m.owner = c
	if g.timeout > 0 {
		m.deadline = now.Add(g.timeout)
	}
	g.inflight[m.rec.id] = m
	g.info.Delivered++
	if m.retries > 0 {
		g.info.Redelivered++
	}
	c.out <- sent{rec: m.rec, retries: m.retries}
	return true
}

// pick returns the consumer for r, or nil when none can take it now.
func (g *group) pick(r *record) *consumer {
	switch g.strategy {
	case StrategyPinned:
		b := bucketOf(r.stream)
		if g.buckets[b] == nil {
			var least *consumer
			for _, c := range g.consumers {
				if least == nil || c.buckets < least.buckets {
					least = c
				}
			}
			g.buckets[b] = least
			least.buckets++
		}
		return g.buckets[b]
	case StrategyDispatchToSingle:
		for _, c := range g.consumers {
			if c.inflight < c.capacity {
				return c
			}
		}
		return nil
	}
	for i := range g.consumers {
		c := g.consumers[(g.rr+i)%len(g.consumers)]
		if c.inflight < c.capacity {
			g.rr = (g.rr + i + 1) % len(g.consumers)
			return c
		}
	}
	return nil
}

// bucketOf hashes a stream name to a Pinned bucket.
func bucketOf(stream string) int {
	h := fnv.New32a()
	_, _ = h.Write([]byte(stream))
	return int(h.Sum32() % pinnedBuckets)
}

// join adds a consumer; with Pinned it takes buckets from consumers that
// hold more than their share, as the server balances them. Caller holds
// s.mu.
func (g *group) join(capacity int) *consumer {
	g.seq++
	c := &consumer{id: g.seq, capacity: capacity, out: make(chan sent, capacity), gone: make(chan struct{})}
	g.consumers = append(g.consumers, c)
	if g.strategy == StrategyPinned {
		assigned := 0
		for _, o := range g.consumers {
			assigned += o.buckets
		}
		share := (assigned + len(g.consumers) - 1) / len(g.consumers)
		for b, o := range g.buckets {
			if o != nil && o != c && o.buckets > share {
				o.buckets--
				g.buckets[b] = c
				c.buckets++
			}
		}
	}
	g.wake()
	return c
}

// drop removes a consumer: its buckets are freed and what it has in
// flight is retried. why, when not nil, ends its call. Caller holds s.mu.
func (g *group) drop(c *consumer, why error) {
	i := slices.Index(g.consumers, c)
	if i < 0 {
		return
	}
	g.consumers = slices.Delete(g.consumers, i, i+1)
	for b, o := range g.buckets {
		if o == c {
			g.buckets[b] = nil
		}
	}
	var lost []*message
	for _, m := range g.inflight {
		if m.owner == c {
			lost = append(lost, m)
		}
	}
	sort.Slice(lost, func(i, j int) bool { return lost[i].rec.position < lost[j].rec.position })
	for _, m := range lost {
		g.release(m)
		g.requeue(m)
	}
	if why == nil {
		why = status.Error(codes.Unavailable, "test double: consumer dropped")
	}
	c.why = why
	close(c.gone)
}

// release takes m out of flight.
func (g *group) release(m *message) {
	delete(g.inflight, m.rec.id)
	if m.owner != nil {
		m.owner.inflight--
		m.owner = nil
	}
}

// requeue retries m later, or parks it after too many retries.
func (g *group) requeue(m *message) {
	m.retries++
	if m.retries > g.maxRetry {
		g.info.Parked++
		return
	}
	g.retry = append(g.retry, m)
}

func (g *group) ack(id uuid.UUID) {
	if m := g.inflight[id]; m != nil {
		g.release(m)
		g.info.Acked++
	}
}

// nack applies a nack's action to one message and reports whether the
// consumer asked to stop.
func (g *group) nack(id uuid.UUID, action persistent.ReadReq_Nack_Action) bool {
	m := g.inflight[id]
	if m == nil {
		return action == persistent.ReadReq_Nack_Stop
	}
	g.release(m)
	switch action {
	case persistent.ReadReq_Nack_Park:
		g.info.Parked++
	case persistent.ReadReq_Nack_Skip:
	case persistent.ReadReq_Nack_Stop:
		g.requeue(m)
		return true
	default: // Unknown, Retry
		g.requeue(m)
	}
	return false
}

func (g *group) wake() {
	select {
	case g.kick <- struct{}{}:
	default:
	}
}

// persistentEvent encodes a message as the server sends it.
func persistentEvent(m sent) *persistent.ReadResp {
	r := m.rec
	var most, least uint64
	for i := 0; i < 8; i++ {
		most = most<<8 | uint64(r.id[i])
		least = least<<8 | uint64(r.id[8+i])
	}
	ev := &persistent.ReadResp_ReadEvent{
		Event: &persistent.ReadResp_ReadEvent_RecordedEvent{
			Id: &shared.UUID{Value: &shared.UUID_Structured_{Structured: &shared.UUID_Structured{
				MostSignificantBits: int64(most), LeastSignificantBits: int64(least),
			}}},
			StreamIdentifier: &shared.StreamIdentifier{StreamName: []byte(r.stream)},
			StreamRevision:   r.revision,
			PreparePosition:  r.position,
			CommitPosition:   r.position,
			// The client exits the process (log.Fatalf) on a missing or
			// non-numeric "created", as on stream reads.
			Metadata: map[string]string{
				"type":         r.eventType,
				"content-type": r.contentType,
				"created":      strconv.FormatInt(r.created, 10),
			},
			CustomMetadata: r.metadata,
			Data:           r.data,
		},
		Position: &persistent.ReadResp_ReadEvent_CommitPosition{CommitPosition: r.position},
	}
	if m.retries > 0 {
		ev.Count = &persistent.ReadResp_ReadEvent_RetryCount{RetryCount: int32(m.retries)}
	} else {
		ev.Count = &persistent.ReadResp_ReadEvent_NoRetryCount{NoRetryCount: &shared.Empty{}}
	}
	return &persistent.ReadResp{Content: &persistent.ReadResp_Event{Event: ev}}
}
