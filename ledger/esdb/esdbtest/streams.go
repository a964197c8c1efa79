package esdbtest

import (
	"errors"
	"io"
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/protos/shared"
	api "github.com/EventStore/EventStore-Client-Go/v4/protos/streams"
	"github.com/google/uuid"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// streamsService is the test double's Streams service.
type streamsService struct {
	api.UnimplementedStreamsServer
	s *Server
}

// expectation is the expected stream revision of an append.
type expectation struct {
	kind expKind
	rev  uint64 // for expRevision
}

type expKind int

const (
	expAny expKind = iota
	expNoStream
	expStreamExists
	expRevision
)

func invalid(format string, args ...any) error {
	return status.Errorf(codes.InvalidArgument, "test double: "+format, args...)
}

// Append stores the proposed events of one append call atomically.
func (ss *streamsService) Append(call api.Streams_AppendServer) error {
	ss.s.counts.appends.Add(1)
	first, err := call.Recv()
	if err != nil {
		return err
	}
	opts := first.GetOptions()
	if opts == nil {
		return invalid("the first append message must carry options")
	}
	stream := string(opts.GetStreamIdentifier().GetStreamName())
	if stream == "" {
		return invalid("append without a stream identifier")
	}
	var exp expectation
	switch v := opts.GetExpectedStreamRevision().(type) {
	case *api.AppendReq_Options_Any:
		exp = expectation{kind: expAny}
	case *api.AppendReq_Options_NoStream:
		exp = expectation{kind: expNoStream}
	case *api.AppendReq_Options_StreamExists:
		exp = expectation{kind: expStreamExists}
	case *api.AppendReq_Options_Revision:
		exp = expectation{kind: expRevision, rev: v.Revision}
	default:
		return invalid("append without an expected stream revision")
	}
	ss.s.mu.Lock()
	limit := ss.s.maxAppendSize
	ss.s.mu.Unlock()
	var proposed []*record
	size := 0
	for {
		req, err := call.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		m := req.GetProposedMessage()
		if m == nil {
			return invalid("only proposed messages may follow the append options")
		}
		id, err := parseUUID(m.GetId())
		if err != nil {
			return invalid("proposed message %d: %v", len(proposed), err)
		}
		md := m.GetMetadata()
		if md["type"] == "" {
			return invalid("proposed message %d has no type", len(proposed))
		}
		ct := md["content-type"]
		if ct != "application/json" && ct != "application/octet-stream" {
			return invalid("proposed message %d: content-type %q", len(proposed), ct)
		}
		size += len(m.GetData()) + len(m.GetCustomMetadata())
		if size > limit {
			// As EventStoreDB answers: a status with the limit in trailers.
			call.SetTrailer(metadata.Pairs("exception", "maximum-append-size-exceeded",
				"maximum-append-size", strconv.Itoa(limit)))
			return status.Errorf(codes.InvalidArgument, "Maximum Append Size of %d Exceeded.", limit)
		}
		proposed = append(proposed, &record{
			id: id, stream: stream, eventType: md["type"], contentType: ct,
			data: clone(m.GetData()), metadata: clone(m.GetCustomMetadata()),
		})
	}
	return call.SendAndClose(ss.s.append(stream, exp, proposed))
}

func clone(b []byte) []byte { return append([]byte{}, b...) }

func parseUUID(u *shared.UUID) (uuid.UUID, error) {
	switch v := u.GetValue().(type) {
	case *shared.UUID_Structured_:
		var id uuid.UUID
		most, least := uint64(v.Structured.GetMostSignificantBits()), uint64(v.Structured.GetLeastSignificantBits())
		for i := 0; i < 8; i++ {
			id[i] = byte(most >> (56 - 8*i))
			id[8+i] = byte(least >> (56 - 8*i))
		}
		return id, nil
	case *shared.UUID_String_:
		return uuid.Parse(v.String_)
	}
	return uuid.Nil, errors.New("missing event id")
}

// append decides and performs one append under the lock, following
// EventStoreDB's commit check: an exact expectation below the current
// revision is an idempotent replay when the events at the following
// revisions carry the proposed ids in order, and a conflict otherwise; Any
// replays when the first proposed id is already in the stream.
func (s *Server) append(stream string, exp expectation, proposed []*record) *api.AppendResp {
	s.mu.Lock()
	defer s.mu.Unlock()
	recs := s.streams[stream]
	current := int64(len(recs)) - 1 // -1: no stream
	var expected int64
	switch exp.kind {
	case expNoStream:
		expected = -1
	case expRevision:
		if exp.rev > math.MaxInt64 {
			return wrongVersion(current, exp)
		}
		expected = int64(exp.rev)
	case expStreamExists:
		if current < 0 {
			return wrongVersion(current, exp)
		}
		fallthrough
	case expAny:
		if len(proposed) > 0 {
			if start, ok := revisionOf(recs, proposed[0].id); ok {
				if int(start)+len(proposed) > len(recs) {
					return wrongVersion(current, exp) // partly replayed
				}
				for i, p := range proposed {
					if recs[int(start)+i].id != p.id {
						return wrongVersion(current, exp)
					}
				}
				return success(recs[int(start)+len(proposed)-1])
			}
		}
		expected = current
	}
	switch {
	case expected > current:
		return wrongVersion(current, exp)
	case expected < current:
		if len(proposed) == 0 || expected+int64(len(proposed)) > current {
			return wrongVersion(current, exp)
		}
		for i, p := range proposed {
			if recs[expected+1+int64(i)].id != p.id {
				return wrongVersion(current, exp)
			}
		}
		return success(recs[expected+int64(len(proposed))])
	}
	if len(proposed) == 0 {
		return emptySuccess(current)
	}
	created := time.Now().UnixNano() / 100
	for i, p := range proposed {
		p.revision = uint64(current + 1 + int64(i))
		p.position = s.next
		p.created = created
		// Advance as a transaction log would: by the size of the record.
		s.next += uint64(64 + len(p.stream) + len(p.eventType) + len(p.data) + len(p.metadata))
		recs = append(recs, p)
		s.all = append(s.all, p)
	}
	s.streams[stream] = recs
	close(s.changed)
	s.changed = make(chan struct{})
	return success(proposed[len(proposed)-1])
}

func revisionOf(recs []*record, id uuid.UUID) (uint64, bool) {
	for _, r := range recs {
		if r.id == id {
			return r.revision, true
		}
	}
	return 0, false
}

func success(last *record) *api.AppendResp {
	return &api.AppendResp{Result: &api.AppendResp_Success_{Success: &api.AppendResp_Success{
		CurrentRevisionOption: &api.AppendResp_Success_CurrentRevision{CurrentRevision: last.revision},
		PositionOption: &api.AppendResp_Success_Position{Position: &api.AppendResp_Position{
			CommitPosition: last.position, PreparePosition: last.position,
		}},
	}}}
}

func emptySuccess(current int64) *api.AppendResp {
	ok := &api.AppendResp_Success{PositionOption: &api.AppendResp_Success_NoPosition{NoPosition: &shared.Empty{}}}
	if current < 0 {
		ok.CurrentRevisionOption = &api.AppendResp_Success_NoStream{NoStream: &shared.Empty{}}
	} else {
		ok.CurrentRevisionOption = &api.AppendResp_Success_CurrentRevision{CurrentRevision: uint64(current)}
	}
	return &api.AppendResp{Result: &api.AppendResp_Success_{Success: ok}}
}

// wrongVersion is EventStoreDB's answer to a failed expectation: a normal
// reply (not a gRPC error) carrying the actual revision, in both the
// current fields and those kept for clients of 20.6.
func wrongVersion(current int64, exp expectation) *api.AppendResp {
	w := &api.AppendResp_WrongExpectedVersion{}
	if current < 0 {
		w.CurrentRevisionOption = &api.AppendResp_WrongExpectedVersion_CurrentNoStream{CurrentNoStream: &shared.Empty{}}
		w.CurrentRevisionOption_20_6_0 = &api.AppendResp_WrongExpectedVersion_NoStream_20_6_0{NoStream_20_6_0: &shared.Empty{}}
	} else {
		w.CurrentRevisionOption = &api.AppendResp_WrongExpectedVersion_CurrentRevision{CurrentRevision: uint64(current)}
		w.CurrentRevisionOption_20_6_0 = &api.AppendResp_WrongExpectedVersion_CurrentRevision_20_6_0{CurrentRevision_20_6_0: uint64(current)}
	}
	switch exp.kind {
	case expAny:
		w.ExpectedRevisionOption = &api.AppendResp_WrongExpectedVersion_ExpectedAny{ExpectedAny: &shared.Empty{}}
		w.ExpectedRevisionOption_20_6_0 = &api.AppendResp_WrongExpectedVersion_Any_20_6_0{Any_20_6_0: &shared.Empty{}}
	case expNoStream:
		w.ExpectedRevisionOption = &api.AppendResp_WrongExpectedVersion_ExpectedNoStream{ExpectedNoStream: &shared.Empty{}}
	case expStreamExists:
		w.ExpectedRevisionOption = &api.AppendResp_WrongExpectedVersion_ExpectedStreamExists{ExpectedStreamExists: &shared.Empty{}}
		w.ExpectedRevisionOption_20_6_0 = &api.AppendResp_WrongExpectedVersion_StreamExists_20_6_0{StreamExists_20_6_0: &shared.Empty{}}
	case expRevision:
		w.ExpectedRevisionOption = &api.AppendResp_WrongExpectedVersion_ExpectedRevision{ExpectedRevision: exp.rev}
		w.ExpectedRevisionOption_20_6_0 = &api.AppendResp_WrongExpectedVersion_ExpectedRevision_20_6_0{ExpectedRevision_20_6_0: exp.rev}
	}
	return &api.AppendResp{Result: &api.AppendResp_WrongExpectedVersion_{WrongExpectedVersion: w}}
}

// readOptions are the parts of a ReadReq the test double honours.
type readOptions struct {
	backwards  bool
	uuidString bool
	filter     *filter
}

// Read serves stream reads, $all reads and subscriptions.
func (ss *streamsService) Read(req *api.ReadReq, call api.Streams_ReadServer) error {
	o := req.GetOptions()
	if o == nil {
		return invalid("read without options")
	}
	ro := readOptions{
		backwards:  o.GetReadDirection() == api.ReadReq_Options_Backwards,
		uuidString: o.GetUuidOption().GetString_() != nil,
	}
	if f := o.GetFilter(); f != nil {
		var err error
		if ro.filter, err = newFilter(f); err != nil {
			return err
		}
	}
	if o.GetSubscription() != nil {
		if ro.backwards {
			return invalid("a subscription reads forwards")
		}
		ss.s.counts.subscriptions.Add(1)
		return ss.s.subscribe(o, ro, call)
	}
	count := o.GetCount()
	switch {
	case o.GetStream() != nil:
		if ro.filter != nil {
			return invalid("a stream read takes no filter")
		}
		ss.s.counts.streamReads.Add(1)
		return ss.s.readStream(o.GetStream(), count, ro, call)
	case o.GetAll() != nil:
		ss.s.counts.allReads.Add(1)
		return ss.s.readAll(o.GetAll(), count, ro, call)
	}
	return invalid("read of neither a stream nor $all")
}

func (s *Server) readStream(so *api.ReadReq_Options_StreamOptions, count uint64, ro readOptions, call api.Streams_ReadServer) error {
	name := string(so.GetStreamIdentifier().GetStreamName())
	s.mu.Lock()
	recs := s.streams[name] // records are immutable: the snapshot is safe to read unlocked
	legacy := s.legacy
	s.mu.Unlock()
	if len(recs) == 0 {
		return call.Send(&api.ReadResp{Content: &api.ReadResp_StreamNotFound_{StreamNotFound: &api.ReadResp_StreamNotFound{
			StreamIdentifier: &shared.StreamIdentifier{StreamName: []byte(name)},
		}}})
	}
	last := uint64(len(recs) - 1)
	var out []*record
	switch {
	case !ro.backwards:
		from := uint64(0)
		switch v := so.GetRevisionOption().(type) {
		case *api.ReadReq_Options_StreamOptions_Revision:
			from = v.Revision
		case *api.ReadReq_Options_StreamOptions_End:
			from = last + 1
		}
		if from <= last {
			out = recs[from:]
		}
		if uint64(len(out)) > count {
			out = out[:count]
		}
	default:
		from := last
		switch v := so.GetRevisionOption().(type) {
		case *api.ReadReq_Options_StreamOptions_Revision:
			from = min(v.Revision, last)
		case *api.ReadReq_Options_StreamOptions_Start:
			from = 0
		}
		for r := int64(from); r >= 0 && uint64(len(out)) < count; r-- {
			out = append(out, recs[r])
		}
	}
	for _, r := range out {
		if err := call.Send(readEvent(r, ro.uuidString, !legacy)); err != nil {
			return err
		}
	}
	return nil
}

// readAll reads $all: forwards from a position inclusive, backwards from a
// position exclusive, as EventStoreDB's transaction log reader does.
func (s *Server) readAll(ao *api.ReadReq_Options_AllOptions, count uint64, ro readOptions, call api.Streams_ReadServer) error {
	s.mu.Lock()
	all := s.all
	s.mu.Unlock()
	var out []*record
	keep := func(r *record) bool {
		if uint64(len(out)) >= count {
			return false
		}
		if ro.filter.match(r) {
			out = append(out, r)
		}
		return true
	}
	if !ro.backwards {
		i := 0
		switch v := ao.GetAllOption().(type) {
		case *api.ReadReq_Options_AllOptions_Position:
			i = sort.Search(len(all), func(i int) bool { return all[i].position >= v.Position.GetCommitPosition() })
		case *api.ReadReq_Options_AllOptions_End:
			i = len(all)
		}
		for ; i < len(all) && keep(all[i]); i++ {
		}
	} else {
		i := len(all) - 1
		switch v := ao.GetAllOption().(type) {
		case *api.ReadReq_Options_AllOptions_Position:
			i = sort.Search(len(all), func(i int) bool { return all[i].position >= v.Position.GetCommitPosition() }) - 1
		case *api.ReadReq_Options_AllOptions_Start:
			i = -1
		}
		for ; i >= 0 && keep(all[i]); i-- {
		}
	}
	for _, r := range out {
		if err := call.Send(readEvent(r, ro.uuidString, true)); err != nil {
			return err
		}
	}
	return nil
}

// subscribe serves a catch-up subscription: confirmation, history,
// caught_up, then live events until the client leaves, the test double
// closes or DropSubscriptions is called.
func (s *Server) subscribe(o *api.ReadReq_Options, ro readOptions, call api.Streams_ReadServer) error {
	sub := Subscription{Filtered: ro.filter != nil}
	var cursor int // index into $all or the stream of the next record to consider
	s.mu.Lock()
	switch {
	case o.GetAll() != nil:
		switch v := o.GetAll().GetAllOption().(type) {
		case *api.ReadReq_Options_AllOptions_Position:
			p := v.Position.GetCommitPosition()
			sub.From = p
			cursor = sort.Search(len(s.all), func(i int) bool { return s.all[i].position > p })
		case *api.ReadReq_Options_AllOptions_End:
			sub.FromEnd = true
			cursor = len(s.all)
		default:
			sub.FromStart = true
		}
	case o.GetStream() != nil:
		sub.Stream = string(o.GetStream().GetStreamIdentifier().GetStreamName())
		if sub.Stream == "" {
			s.mu.Unlock()
			return invalid("subscription without a stream identifier")
		}
		switch v := o.GetStream().GetRevisionOption().(type) {
		case *api.ReadReq_Options_StreamOptions_Revision:
			sub.From = v.Revision
			cursor = int(min(v.Revision+1, uint64(len(s.streams[sub.Stream]))))
		case *api.ReadReq_Options_StreamOptions_End:
			sub.FromEnd = true
			cursor = len(s.streams[sub.Stream])
		default:
			sub.FromStart = true
		}
	default:
		s.mu.Unlock()
		return invalid("subscription to neither a stream nor $all")
	}
	if s.closed {
		s.mu.Unlock()
		return status.Error(codes.Unavailable, "test double: closed")
	}
	s.subscriptions = append(s.subscriptions, sub)
	s.open++
	dropped := s.dropped
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.open--
		s.mu.Unlock()
	}()

	ctx := call.Context()
	errDropped := status.Error(codes.Unavailable, "test double: subscription dropped")
	if err := call.Send(&api.ReadResp{Content: &api.ReadResp_Confirmation{Confirmation: &api.ReadResp_SubscriptionConfirmation{
		SubscriptionId: uuid.NewString(),
	}}}); err != nil {
		return err
	}
	interval := ro.filter.checkpointInterval()
	considered := uint64(0)
	caughtUp := false
	for {
		s.mu.Lock()
		var batch []*record
		if sub.Stream == "" {
			batch = s.all[cursor:]
		} else {
			batch = s.streams[sub.Stream][cursor:]
		}
		changed := s.changed
		s.mu.Unlock()
		for _, r := range batch {
			select {
			case <-dropped:
				return errDropped
			default:
			}
			if ro.filter.match(r) {
				if err := call.Send(readEvent(r, ro.uuidString, true)); err != nil {
					return err
				}
			}
			considered++
			if interval > 0 && considered%interval == 0 {
				if err := call.Send(&api.ReadResp{Content: &api.ReadResp_Checkpoint_{Checkpoint: &api.ReadResp_Checkpoint{
					CommitPosition: r.position, PreparePosition: r.position,
				}}}); err != nil {
					return err
				}
			}
		}
		cursor += len(batch)
		if !caughtUp {
			caughtUp = true
			if err := call.Send(&api.ReadResp{Content: &api.ReadResp_CaughtUp_{CaughtUp: &api.ReadResp_CaughtUp{}}}); err != nil {
				return err
			}
		}
		select {
		case <-changed:
		case <-dropped:
			return errDropped
		case <-ctx.Done():
			return status.FromContextError(ctx.Err()).Err()
		}
	}
}

// readEvent encodes a record as the server does. withPosition false
// emulates servers before 22.6 on stream reads: no $all position.
func readEvent(r *record, uuidString, withPosition bool) *api.ReadResp {
	id := &shared.UUID{}
	if uuidString {
		id.Value = &shared.UUID_String_{String_: r.id.String()}
	} else {
		var most, least uint64
		for i := 0; i < 8; i++ {
			most = most<<8 | uint64(r.id[i])
			least = least<<8 | uint64(r.id[8+i])
		}
		id.Value = &shared.UUID_Structured_{Structured: &shared.UUID_Structured{
			MostSignificantBits: int64(most), LeastSignificantBits: int64(least),
		}}
	}
	pos := r.position
	if !withPosition {
		pos = math.MaxUint64
	}
	ev := &api.ReadResp_ReadEvent{Event: &api.ReadResp_ReadEvent_RecordedEvent{
		Id:               id,
		StreamIdentifier: &shared.StreamIdentifier{StreamName: []byte(r.stream)},
		StreamRevision:   r.revision,
		CommitPosition:   pos,
		PreparePosition:  pos,
		// The client requires all three; it exits the process (log.Fatalf)
		// on a missing or non-numeric "created".
		Metadata: map[string]string{
			"type":         r.eventType,
			"content-type": r.contentType,
			"created":      strconv.FormatInt(r.created, 10),
		},
		CustomMetadata: r.metadata,
		Data:           r.data,
	}}
	if withPosition {
		ev.Position = &api.ReadResp_ReadEvent_CommitPosition{CommitPosition: pos}
	} else {
		ev.Position = &api.ReadResp_ReadEvent_NoPosition{NoPosition: &shared.Empty{}}
	}
	return &api.ReadResp{Content: &api.ReadResp_Event{Event: ev}}
}

// filter is a server-side filter on stream names or event types.
type filter struct {
	onType   bool
	prefixes []string
	regex    *regexp.Regexp
	window   uint64 // max search window; 0 when the client asked for "count"
	mult     uint64
}

func newFilter(f *api.ReadReq_Options_FilterOptions) (*filter, error) {
	var e *api.ReadReq_Options_FilterOptions_Expression
	onType := false
	switch {
	case f.GetStreamIdentifier() != nil:
		e = f.GetStreamIdentifier()
	case f.GetEventType() != nil:
		e = f.GetEventType()
		onType = true
	default:
		return nil, invalid("filter on neither stream name nor event type")
	}
	out, err := filterOf(onType, e.GetRegex(), e.GetPrefix())
	if err != nil {
		return nil, err
	}
	out.window, out.mult = uint64(f.GetMax()), uint64(f.GetCheckpointIntervalMultiplier())
	return out, nil
}

// filterOf builds a filter on event types (onType) or stream names.
func filterOf(onType bool, regex string, prefixes []string) (*filter, error) {
	out := &filter{onType: onType, prefixes: prefixes}
	if regex != "" {
		re, err := regexp.Compile(regex)
		if err != nil {
			return nil, invalid("filter regex: %v", err)
		}
		out.regex = re
	}
	if len(out.prefixes) == 0 && out.regex == nil {
		return nil, invalid("filter without prefixes or regex")
	}
	return out, nil
}

// match reports whether r passes the filter; a nil filter passes all.
func (f *filter) match(r *record) bool {
	if f == nil {
		return true
	}
	subject := r.stream
	if f.onType {
		subject = r.eventType
	}
	if f.regex != nil {
		return f.regex.MatchString(subject)
	}
	for _, p := range f.prefixes {
		if strings.HasPrefix(subject, p) {
			return true
		}
	}
	return false
}

// checkpointInterval is the number of considered events between two
// checkpoints of a filtered subscription (window × multiplier), or 0.
func (f *filter) checkpointInterval() uint64 {
	if f == nil || f.window == 0 {
		return 0
	}
	return f.window * max(f.mult, 1)
}
