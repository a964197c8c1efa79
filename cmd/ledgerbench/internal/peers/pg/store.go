package pg

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"partyledger/ledger"
)

var _ ledger.Store = (*Store)(nil)

// Schema is Message DB's messages table (its columns, its unique id and
// its unique (stream_name, position)), without Message DB's category index,
// which the ledger would not use. The envelope fields Message DB has no
// column for travel in metadata.
const Schema = `
CREATE TABLE IF NOT EXISTS messages (
	global_position bigserial NOT NULL,
	position bigint NOT NULL,
	time timestamp without time zone DEFAULT (now() AT TIME ZONE 'utc') NOT NULL,
	stream_name text NOT NULL,
	type text NOT NULL,
	data jsonb,
	metadata jsonb,
	id uuid NOT NULL,
	CONSTRAINT messages_pkey PRIMARY KEY (global_position),
	CONSTRAINT messages_id UNIQUE (id),
	CONSTRAINT messages_stream UNIQUE (stream_name, position)
)`

// ErrUnsupported is returned by the methods this benchmark peer leaves out.
var ErrUnsupported = errors.New("pg: not supported by the benchmark peer")

// Store is a ledger.Store over the messages table.
type Store struct {
	pool *pgxpool.Pool

	mu   sync.Mutex
	sqls map[int]string // events per append → INSERT statement
}

// Open connects with up to maxConns connections and creates the table.
func Open(ctx context.Context, connString string, maxConns int) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(connString)
	if err != nil {
		return nil, fmt.Errorf("pg: %w", err)
	}
	cfg.MaxConns = int32(maxConns)
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("pg: connect: %w", err)
	}
	if _, err := pool.Exec(ctx, Schema); err != nil {
		pool.Close()
		return nil, fmt.Errorf("pg: create table: %w", err)
	}
	return &Store{pool: pool, sqls: map[int]string{}}, nil
}

// Pool returns the connection pool.
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// Close closes the pool.
func (s *Store) Close() error {
	s.pool.Close()
	return nil
}

// Warm opens n connections and prepares the append statement on each, so
// that the first appends of a measurement do not pay for them.
func (s *Store) Warm(ctx context.Context, n int) error {
	conns := make([]*pgxpool.Conn, 0, n)
	defer func() {
		for _, c := range conns {
			c.Release()
		}
	}()
	for range n {
		c, err := s.pool.Acquire(ctx)
		if err != nil {
			return fmt.Errorf("pg: warm: %w", err)
		}
		conns = append(conns, c)
		if _, err := c.Conn().Prepare(ctx, "", s.insertSQL(1)); err != nil {
			return fmt.Errorf("pg: warm: %w", err)
		}
	}
	return nil
}

// insertSQL returns the append statement for n events: one multi-row
// INSERT … SELECT that inserts only while the stream's last position is
// the expected one ($2), so the check and the write are one statement and
// one round trip. Two writers that both pass the check collide on the
// unique (stream_name, position) and one of them fails.
func (s *Store) insertSQL(n int) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if q, ok := s.sqls[n]; ok {
		return q
	}
	var b strings.Builder
	b.WriteString(`INSERT INTO messages (id, stream_name, position, type, data, metadata, time)
SELECT v.id, $1::text, v.position, v.type, v.data, v.metadata, v.time FROM (VALUES `)
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		p := 3 + 6*i
		fmt.Fprintf(&b, "($%d::uuid, $%d::bigint, $%d::text, $%d::jsonb, $%d::jsonb, $%d::timestamp)", p, p+1, p+2, p+3, p+4, p+5)
	}
	b.WriteString(`) AS v(id, position, type, data, metadata, time)
WHERE (SELECT coalesce(max(m.position), -1) FROM messages m WHERE m.stream_name = $1::text) = $2::bigint
RETURNING global_position, position`)
	q := b.String()
	s.sqls[n] = q
	return q
}

// metadata is what Message DB would keep in metadata: the envelope fields
// it has no column for.
type metadata struct {
	OccurredOn    string `json:"occurred_on,omitempty"`
	RecordedBy    string `json:"recorded_by,omitempty"`
	SchemaVersion int    `json:"schema_version"`
	PrevHash      string `json:"prev_hash"`
	Hash          string `json:"hash"`
}

// Metadata returns the metadata document of e.
func Metadata(e *ledger.Event) []byte {
	b, _ := json.Marshal(metadata{OccurredOn: e.OccurredOn, RecordedBy: e.RecordedBy, SchemaVersion: e.SchemaVersion,
		PrevHash: hex.EncodeToString(e.PrevHash[:]), Hash: hex.EncodeToString(e.Hash[:])}) // cannot fail
	return b
}

func data(e *ledger.Event) []byte {
	if len(e.Data) == 0 {
		return []byte("null")
	}
	return e.Data
}

// Append implements ledger.Store.
func (s *Store) Append(ctx context.Context, stream string, expected int64, events []ledger.Event) ([]ledger.Position, error) {
	if len(events) == 0 {
		return nil, errors.New("pg: append of no events")
	}
	args := make([]any, 0, 2+6*len(events))
	args = append(args, stream, expected)
	for i := range events {
		e := &events[i]
		if e.Stream != stream || e.Revision != uint64(expected+1)+uint64(i) {
			return nil, fmt.Errorf("pg: event %d: stream %q revision %d does not continue %q at %d", i, e.Stream, e.Revision, stream, expected)
		}
		args = append(args, e.ID, int64(e.Revision), e.Type, data(e), Metadata(e), e.RecordedAt.UTC())
	}
	rows, err := s.pool.Query(ctx, s.insertSQL(len(events)), args...)
	if err != nil {
		return nil, fmt.Errorf("pg: append to %s: %w", stream, err)
	}
	positions := make([]ledger.Position, len(events))
	n := 0
	for rows.Next() {
		var gp, rev int64
		if err := rows.Scan(&gp, &rev); err != nil {
			rows.Close()
			return nil, fmt.Errorf("pg: append to %s: %w", stream, err)
		}
		i := rev - (expected + 1)
		if i < 0 || i >= int64(len(events)) {
			rows.Close()
			return nil, fmt.Errorf("pg: append to %s: returned position %d out of range", stream, rev)
		}
		positions[i] = ledger.Position(gp)
		n++
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		var pe *pgconn.PgError
		if errors.As(err, &pe) && pe.Code == "23505" {
			switch pe.ConstraintName {
			case "messages_stream":
				return nil, s.wrongRevision(ctx, stream, expected)
			case "messages_id":
				return nil, fmt.Errorf("pg: append to %s: %w", stream, ledger.ErrDuplicateEventID)
			}
		}
		return nil, fmt.Errorf("pg: append to %s: %w", stream, err)
	}
	switch n {
	case len(events):
		return positions, nil
	case 0:
		return nil, s.wrongRevision(ctx, stream, expected)
	}
	return nil, fmt.Errorf("pg: append to %s: %d of %d rows inserted", stream, n, len(events))
}

func (s *Store) wrongRevision(ctx context.Context, stream string, expected int64) error {
	var cur int64
	if err := s.pool.QueryRow(ctx, `SELECT coalesce(max(position), -1) FROM messages WHERE stream_name = $1`, stream).Scan(&cur); err != nil {
		return fmt.Errorf("pg: append to %s: wrong revision, and reading the current one failed: %w", stream, err)
	}
	return &ledger.WrongRevisionError{Stream: stream, Expected: expected, Actual: cur}
}

// Load copies sealed events (positions included) into the table with COPY,
// then moves the sequence past them and vacuums, so that reads find the
// visibility map set: the untimed set-up of the read benchmarks.
func (s *Store) Load(ctx context.Context, events []ledger.Event) error {
	cols := []string{"global_position", "position", "time", "stream_name", "type", "data", "metadata", "id"}
	_, err := s.pool.CopyFrom(ctx, pgx.Identifier{"messages"}, cols, pgx.CopyFromSlice(len(events), func(i int) ([]any, error) {
		e := &events[i]
		return []any{int64(e.Position), int64(e.Revision), e.RecordedAt.UTC(), e.Stream, e.Type, data(e), Metadata(e), e.ID}, nil
	}))
	if err != nil {
		return fmt.Errorf("pg: copy: %w", err)
	}
	if _, err := s.pool.Exec(ctx, `SELECT setval(pg_get_serial_sequence('messages', 'global_position'), (SELECT max(global_position) FROM messages))`); err != nil {
		return fmt.Errorf("pg: set sequence: %w", err)
	}
	if _, err := s.pool.Exec(ctx, `VACUUM ANALYZE messages`); err != nil {
		return fmt.Errorf("pg: vacuum: %w", err)
	}
	return nil
}

const selectEvent = `SELECT global_position, position, time, stream_name, type, data, metadata, id FROM messages `

// scanEvent reads a row of selectEvent into an envelope, decoding the
// metadata document.
func scanEvent(rows pgx.Rows) (ledger.Event, error) {
	var (
		gp, rev int64
		at      time.Time
		e       ledger.Event
		d, md   []byte
	)
	if err := rows.Scan(&gp, &rev, &at, &e.Stream, &e.Type, &d, &md, &e.ID); err != nil {
		return ledger.Event{}, err
	}
	var m metadata
	if err := json.Unmarshal(md, &m); err != nil {
		return ledger.Event{}, fmt.Errorf("metadata of %d: %w", gp, err)
	}
	e.Position, e.Revision, e.RecordedAt = ledger.Position(gp), uint64(rev), at.UTC()
	e.Data = d
	e.OccurredOn, e.RecordedBy, e.SchemaVersion = m.OccurredOn, m.RecordedBy, m.SchemaVersion
	if _, err := hex.Decode(e.PrevHash[:], []byte(m.PrevHash)); err != nil {
		return ledger.Event{}, fmt.Errorf("prev_hash of %d: %w", gp, err)
	}
	if _, err := hex.Decode(e.Hash[:], []byte(m.Hash)); err != nil {
		return ledger.Event{}, fmt.Errorf("hash of %d: %w", gp, err)
	}
	return e, nil
}

// query yields the events of one query.
func (s *Store) query(ctx context.Context, what string, sql string, args ...any) iter.Seq2[ledger.Event, error] {
	return func(yield func(ledger.Event, error) bool) {
		rows, err := s.pool.Query(ctx, sql, args...)
		if err != nil {
			yield(ledger.Event{}, fmt.Errorf("pg: %s: %w", what, err))
			return
		}
		defer rows.Close()
		for rows.Next() {
			e, err := scanEvent(rows)
			if err != nil {
				yield(ledger.Event{}, fmt.Errorf("pg: %s: %w", what, err))
				return
			}
			if !yield(e, nil) {
				return
			}
		}
		if err := rows.Err(); err != nil {
			yield(ledger.Event{}, fmt.Errorf("pg: %s: %w", what, err))
		}
	}
}

// ReadStream implements ledger.Store with one query, as Message DB's
// get_stream_messages does for a batch.
func (s *Store) ReadStream(ctx context.Context, stream string, from uint64) iter.Seq2[ledger.Event, error] {
	return func(yield func(ledger.Event, error) bool) {
		n := 0
		for e, err := range s.query(ctx, "read "+stream, selectEvent+`WHERE stream_name = $1 AND position >= $2 ORDER BY position`, stream, int64(from)) {
			if !yield(e, err) || err != nil {
				return
			}
			n++
		}
		if n == 0 {
			var exists bool
			if err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM messages WHERE stream_name = $1)`, stream).Scan(&exists); err != nil {
				yield(ledger.Event{}, fmt.Errorf("pg: read %s: %w", stream, err))
			} else if !exists {
				yield(ledger.Event{}, fmt.Errorf("pg: stream %q: %w", stream, ledger.ErrStreamNotFound))
			}
		}
	}
}

// LastEvent implements ledger.Store.
func (s *Store) LastEvent(ctx context.Context, stream string) (ledger.Event, error) {
	for e, err := range s.query(ctx, "last event of "+stream, selectEvent+`WHERE stream_name = $1 ORDER BY position DESC LIMIT 1`, stream) {
		return e, err
	}
	return ledger.Event{}, fmt.Errorf("pg: stream %q: %w", stream, ledger.ErrStreamNotFound)
}

// ReadAll implements ledger.Store with one query, whose rows pgx reads
// from the socket as the iteration goes.
func (s *Store) ReadAll(ctx context.Context, from ledger.Position) iter.Seq2[ledger.Event, error] {
	return s.query(ctx, "read all", selectEvent+`WHERE global_position > $1 ORDER BY global_position`, int64(from))
}

// Scan reads every event in position order without decoding anything but
// the position: fn gets the raw column bytes of the row (stream, type and
// the jsonb payload as PostgreSQL sends it), valid only during the call.
// With headerOnly only stream_name and type are selected.
func (s *Store) Scan(ctx context.Context, headerOnly bool, fn func(pos uint64, stream, typ, data []byte)) (int, error) {
	q := `SELECT global_position, stream_name, type, data, position, metadata, id, time FROM messages ORDER BY global_position`
	if headerOnly {
		q = `SELECT global_position, stream_name, type FROM messages ORDER BY global_position`
	}
	rows, err := s.pool.Query(ctx, q)
	if err != nil {
		return 0, fmt.Errorf("pg: scan: %w", err)
	}
	defer rows.Close()
	// jsonb comes as text or as its binary form, a version byte and the text.
	skip := 0
	if fd := rows.FieldDescriptions(); len(fd) > 3 && fd[3].Format == pgx.BinaryFormatCode {
		skip = 1
	}
	n := 0
	for rows.Next() {
		v := rows.RawValues()
		if len(v[0]) != 8 {
			return n, fmt.Errorf("pg: scan: global_position is %d bytes, want 8 (binary int8)", len(v[0]))
		}
		var d []byte
		if !headerOnly && len(v[3]) > skip {
			d = v[3][skip:]
		}
		fn(binary.BigEndian.Uint64(v[0]), v[1], v[2], d)
		n++
	}
	if err := rows.Err(); err != nil {
		return n, fmt.Errorf("pg: scan: %w", err)
	}
	return n, nil
}

// Subscribe is not supported by the benchmark peer.
func (s *Store) Subscribe(ctx context.Context, from ledger.Position) iter.Seq2[ledger.Event, error] {
	return func(yield func(ledger.Event, error) bool) { yield(ledger.Event{}, ErrUnsupported) }
}

// EventByID implements ledger.Store through the unique id index.
func (s *Store) EventByID(ctx context.Context, id uuid.UUID) (ledger.Event, error) {
	for e, err := range s.query(ctx, "event "+id.String(), selectEvent+`WHERE id = $1`, id) {
		return e, err
	}
	return ledger.Event{}, fmt.Errorf("pg: event %s: %w", id, ledger.ErrEventNotFound)
}

// Size returns the bytes of the messages table with its indexes.
func (s *Store) Size(ctx context.Context) (int64, error) {
	var n int64
	err := s.pool.QueryRow(ctx, `SELECT pg_total_relation_size('messages')`).Scan(&n)
	return n, err
}

// Truncate empties the table.
func (s *Store) Truncate(ctx context.Context) error {
	_, err := s.pool.Exec(ctx, `TRUNCATE messages RESTART IDENTITY`)
	return err
}
