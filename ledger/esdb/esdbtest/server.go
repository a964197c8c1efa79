// Package esdbtest is a wire-protocol test double of EventStoreDB/KurrentDB,
// for tests only: no production code imports it, and it is not a product.
//
// The test double is an in-process gRPC server that implements the parts of
// EventStoreDB's Streams service (Append and Read, including catch-up
// subscriptions), ServerFeatures and Gossip that the ledger's esdb adapter
// uses, built on the client module's own generated protobuf service
// definitions, so the real client library
// (github.com/EventStore/EventStore-Client-Go/v4) speaks real gRPC to it.
// It keeps everything in memory and reproduces the server behaviours the
// adapter relies on:
//
//   - stream revisions (0-based) and $all positions (byte-offset-like: unique,
//     strictly increasing, not contiguous; commit == prepare, as for every
//     write without an explicit transaction);
//   - wrong expected version, answered in the AppendResp with the actual
//     revision (or no stream), never as a gRPC error;
//   - the server's idempotent re-append: the same event ids sent again with
//     the same expected revision succeed and write nothing;
//   - stream_not_found as the only reply to a read of a missing stream;
//   - $all reads forwards (inclusive of the start position) and backwards
//     (exclusive), with positions on stream reads as servers since 22.6 send
//     them (SetLegacyStreamPositions emulates older servers);
//   - subscriptions that confirm, deliver history, send caught_up, then live
//     events, with server-side stream-name and event-type filters and
//     checkpoints; DropSubscriptions ends every open subscription with
//     codes.Unavailable to test reconnects;
//   - the maximum append size (1 MiB by default).
//
// It also serves persistent subscriptions (persistent.go): groups on a
// stream or on $all with a filter, consumers with acks and nacks, retries
// on timeout and when a consumer leaves, and the RoundRobin,
// DispatchToSingle and Pinned consumer strategies. Counts reports the
// calls answered.
//
// Deletes, tombstones, stream metadata, $-system streams, links and ACLs
// are not implemented.
package esdbtest

import (
	"context"
	"net"
	"net/url"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/protos/gossip"
	"github.com/EventStore/EventStore-Client-Go/v4/protos/persistent"
	"github.com/EventStore/EventStore-Client-Go/v4/protos/serverfeatures"
	"github.com/EventStore/EventStore-Client-Go/v4/protos/shared"
	"github.com/EventStore/EventStore-Client-Go/v4/protos/streams"
	"github.com/google/uuid"
	"google.golang.org/grpc"
	"google.golang.org/grpc/keepalive"
)

// DefaultMaxAppendSize is the test double's limit on the bytes (data plus
// metadata) of one append, the default of EventStoreDB.
const DefaultMaxAppendSize = 1 << 20

// firstPosition is the $all position of the first event the test double
// stores: a real server has written its own records before any user event,
// and a non-zero start catches code that takes position 0 for an event.
const firstPosition = 1 << 12

// Server is a running test double. Its methods are safe for concurrent use.
type Server struct {
	lis net.Listener
	srv *grpc.Server

	mu            sync.Mutex
	all           []*record            // $all in commit order
	streams       map[string][]*record // by stream name, in revision order
	next          uint64               // $all position of the next record
	changed       chan struct{}        // closed and replaced on every write
	dropped       chan struct{}        // closed and replaced by DropSubscriptions
	subscriptions []Subscription       // every subscription request, in order
	open          int                  // subscriptions being served
	legacy        bool
	maxAppendSize int
	closed        bool
	done          chan struct{}       // closed by Close
	groups        map[groupKey]*group // persistent subscription groups

	counts counters
}

// Subscription describes one subscription request the test double received.
type Subscription struct {
	// Stream is the subscribed stream, or "" for $all.
	Stream string
	// From is the exclusive start: a $all commit position or a stream
	// revision. It is meaningless when FromStart or FromEnd is set.
	From uint64
	// FromStart and FromEnd report a start at the beginning or the end.
	FromStart, FromEnd bool
	// Filtered reports a server-side filter.
	Filtered bool
}

// record is one stored event. Records are never modified once stored, so
// they may be read without the lock once reached through a snapshot.
type record struct {
	id          uuid.UUID
	stream      string
	revision    uint64
	position    uint64 // commit and prepare position
	eventType   string
	contentType string
	created     int64 // 100-ns ticks since the Unix epoch
	data        []byte
	metadata    []byte // the client's custom metadata
}

// Start starts a test double on a free loopback port and stops it when the
// test ends.
func Start(t testing.TB) *Server {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("esdbtest: listen: %v", err)
	}
	s := &Server{
		lis:           lis,
		streams:       map[string][]*record{},
		next:          firstPosition,
		changed:       make(chan struct{}),
		dropped:       make(chan struct{}),
		done:          make(chan struct{}),
		groups:        map[groupKey]*group{},
		maxAppendSize: DefaultMaxAppendSize,
	}
	// The client pings every 10 s; grpc's default policy answers pings
	// more frequent than every 5 minutes with GOAWAY "too_many_pings",
	// which would kill idle subscriptions.
	s.srv = grpc.NewServer(grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{
		MinTime:             time.Second,
		PermitWithoutStream: true,
	}))
	streams.RegisterStreamsServer(s.srv, &streamsService{s: s})
	persistent.RegisterPersistentSubscriptionsServer(s.srv, &persistentService{s: s})
	serverfeatures.RegisterServerFeaturesServer(s.srv, &featuresService{s: s})
	gossip.RegisterGossipServer(s.srv, &gossipService{s: s})
	go func() { _ = s.srv.Serve(lis) }()
	t.Cleanup(s.Close)
	return s
}

// URL returns the connection string of the test double, without TLS.
func (s *Server) URL() string { return "esdb://" + s.Addr() + "?tls=false" }

// Addr returns the host:port the test double listens on.
func (s *Server) Addr() string { return s.lis.Addr().String() }

// Close stops the test double, ending every call in flight. Clients see a
// connection failure afterwards. Close is idempotent.
func (s *Server) Close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	close(s.dropped)
	close(s.done)
	s.mu.Unlock()
	s.srv.Stop()
}

// DropSubscriptions ends every open subscription of the test double with
// codes.Unavailable, as a server does when it shuts down or loses
// leadership, and returns how many catch-up subscriptions it ended (the
// consumers of persistent subscriptions are dropped too). Events already
// sent are still delivered to the client before the drop.
func (s *Server) DropSubscriptions() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return 0
	}
	n := s.open
	close(s.dropped)
	s.dropped = make(chan struct{})
	return n
}

// Subscriptions returns every subscription request the test double has
// received, in order.
func (s *Server) Subscriptions() []Subscription {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.subscriptions)
}

// SetLegacyStreamPositions makes the test double answer like servers
// before 22.6: events read from a stream carry no $all position (the
// client reports math.MaxUint64), and ServerFeatures reports 21.10.0.
// $all reads and subscriptions carry positions either way.
func (s *Server) SetLegacyStreamPositions(on bool) {
	s.mu.Lock()
	s.legacy = on
	s.mu.Unlock()
}

// SetMaxAppendSize changes the test double's limit on the bytes of one
// append.
func (s *Server) SetMaxAppendSize(n int) {
	s.mu.Lock()
	s.maxAppendSize = n
	s.mu.Unlock()
}

// Len returns the number of events the test double stores.
func (s *Server) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.all)
}

// featuresService answers the client's first call on every connection.
type featuresService struct {
	serverfeatures.UnimplementedServerFeaturesServer
	s *Server
}

// GetSupportedMethods lists the methods the test double implements.
// BatchAppend is left out on purpose: the client would use it otherwise.
func (f *featuresService) GetSupportedMethods(context.Context, *shared.Empty) (*serverfeatures.SupportedMethods, error) {
	f.s.mu.Lock()
	version := "24.10.0"
	if f.s.legacy {
		version = "21.10.0"
	}
	f.s.mu.Unlock()
	const svc = "event_store.client.streams.streams"
	const psvc = "event_store.client.persistent_subscriptions.persistentsubscriptions"
	return &serverfeatures.SupportedMethods{
		EventStoreServerVersion: version,
		Methods: []*serverfeatures.SupportedMethod{
			{ServiceName: svc, MethodName: "read"},
			{ServiceName: svc, MethodName: "append"},
			// "all": persistent subscriptions to $all (servers since 21.10).
			{ServiceName: psvc, MethodName: "create", Features: []string{"stream", "all"}},
			{ServiceName: psvc, MethodName: "update", Features: []string{"stream", "all"}},
			{ServiceName: psvc, MethodName: "delete"},
			{ServiceName: psvc, MethodName: "read"},
		},
	}, nil
}

// gossipService answers cluster discovery (esdb+discover:// URLs) with a
// single alive leader: the test double itself.
type gossipService struct {
	gossip.UnimplementedGossipServer
	s *Server
}

// Read returns the one-member cluster: the test double as its leader.
func (g *gossipService) Read(context.Context, *shared.Empty) (*gossip.ClusterInfo, error) {
	host, port, err := net.SplitHostPort(g.s.Addr())
	if err != nil {
		return nil, err
	}
	p, err := strconv.ParseUint(port, 10, 16)
	if err != nil {
		return nil, err
	}
	id := uuid.NewSHA1(uuid.NameSpaceURL, []byte((&url.URL{Scheme: "esdb", Host: g.s.Addr()}).String()))
	return &gossip.ClusterInfo{Members: []*gossip.MemberInfo{{
		InstanceId:   &shared.UUID{Value: &shared.UUID_String_{String_: id.String()}},
		TimeStamp:    time.Now().UnixNano() / 100,
		State:        gossip.MemberInfo_Leader,
		IsAlive:      true,
		HttpEndPoint: &gossip.EndPoint{Address: host, Port: uint32(p)},
	}}}, nil
}
