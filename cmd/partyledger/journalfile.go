package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"time"

	"github.com/google/uuid"

	"partyledger/domain"
	"partyledger/ledger"
	"partyledger/ledger/books"
)

// journalItem is one parsed import line: an entry to record, or (export
// form) a sealed event to restore as it is.
type journalItem struct {
	line   int
	entry  domain.Entry
	sealed *ledger.Event
}

// lineProblems collects the problems of an import, by line.
type lineProblems map[int][]*domain.FieldError

func (lp lineProblems) add(line int, err error) {
	lp[line] = append(lp[line], domain.FieldErrors(err)...)
}

// print writes "line N: field: reason" for each problem, in line order.
func (lp lineProblems) print(w io.Writer) {
	lines := make([]int, 0, len(lp))
	for n := range lp {
		lines = append(lines, n)
	}
	sort.Ints(lines)
	for _, n := range lines {
		for _, fe := range lp[n] {
			printProblems(w, fmt.Sprintf("line %d: ", n), fe)
		}
	}
}

// printProblems writes "PREFIXfield: reason" for each field error of err
// (the field of a problem with the whole line or input is "line").
func printProblems(w io.Writer, prefix string, err error) {
	for _, fe := range domain.FieldErrors(err) {
		field := fe.Field
		if field == "" {
			field = "line"
		}
		fmt.Fprintf(w, "%s%s: %s\n", prefix, field, fe.Reason)
	}
}

// parseJournal reads every line, printing "line N: field: reason" for each
// problem. Lines without an id get a deterministic one, so importing the
// same file again writes nothing and an interrupted import can be re-run.
func parseJournal(in io.Reader) ([]journalItem, lineProblems) {
	r := bufio.NewReaderSize(in, 64<<10)
	var items []journalItem
	bad := lineProblems{}
	seen := map[string]int{}
	for n := 1; ; n++ {
		raw, err := readLine(r, domain.MaxLineBytes)
		if errors.Is(err, io.EOF) && len(raw) == 0 {
			break
		}
		if errors.Is(err, errLineTooLong) {
			bad.add(n, fmt.Errorf("longer than %d bytes", domain.MaxLineBytes))
			continue
		}
		if err != nil && !errors.Is(err, io.EOF) {
			bad.add(n, fmt.Errorf("read: %w", err))
			break
		}
		if len(bytes.TrimSpace(raw)) == 0 {
			continue
		}
		it, perr := parseItem(raw)
		if perr != nil {
			bad.add(n, perr)
			continue
		}
		it.line = n
		if it.sealed == nil && it.entry.ID == "" {
			data, _ := domain.CanonicalJSON(it.entry.Payload)
			key := it.entry.Org + "\x00" + it.entry.Type + "\x00" + it.entry.OccurredOn.String() + "\x00" + string(data)
			it.entry.ID = books.DerivedID("import\x00" + key + "\x00" + strconv.Itoa(seen[key])).String()
			seen[key]++
		}
		items = append(items, it)
	}
	return items, bad
}

var errLineTooLong = errors.New("line too long")

func readLine(r *bufio.Reader, max int) ([]byte, error) {
	var line []byte
	for {
		chunk, err := r.ReadSlice('\n')
		if len(line)+len(chunk) > max {
			// Skip the rest of the line.
			for errors.Is(err, bufio.ErrBufferFull) {
				_, err = r.ReadSlice('\n')
			}
			return nil, errLineTooLong
		}
		line = append(line, chunk...)
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		return line, err
	}
}

// parseItem accepts a journal line or an exported line (one that carries
// the ledger's envelope: hash, prev_hash, revision, recorded_at…).
func parseItem(raw []byte) (journalItem, error) {
	if !bytes.Contains(raw, []byte(`"hash"`)) {
		ent, err := domain.ParseJournalLine(raw)
		return journalItem{entry: ent}, err
	}
	ent, l, err := domain.ParseExportLine(raw)
	if err != nil {
		return journalItem{}, err
	}
	ev, err := sealedOf(&l, &ent)
	if err != nil {
		return journalItem{}, err
	}
	return journalItem{entry: ent, sealed: ev}, nil
}

// sealedOf rebuilds the envelope of an exported line.
func sealedOf(l *domain.JournalLine, ent *domain.Entry) (*ledger.Event, error) {
	var p domain.Problems
	id, err := uuid.Parse(l.ID)
	if err != nil {
		p.Add("id", "an exported line needs its event id")
	}
	if l.Stream == "" {
		p.Add("stream", "an exported line needs its stream")
	} else if want, err := books.StreamOf(ent); err == nil && want != l.Stream {
		p.Add("stream", fmt.Sprintf("%s belongs in %s", l.Type, want))
	}
	if l.Revision == nil {
		p.Add("revision", "an exported line needs its revision")
	}
	at, err := time.Parse(ledger.RecordedAtLayout, l.RecordedAt)
	if err != nil {
		p.Add("recorded_at", "want "+ledger.RecordedAtLayout)
	}
	prev, err := ledger.ParseHash(l.PrevHash)
	if err != nil {
		p.Add("prev_hash", "want 64 hex digits")
	}
	hash, err := ledger.ParseHash(l.Hash)
	if err != nil {
		p.Add("hash", "want 64 hex digits")
	}
	if err := p.Err(); err != nil {
		return nil, err
	}
	// Whether the envelope may enter this ledger (its hash, its chain,
	// its recorded_at) is the ledger's decision: ledger.Ledger.Restore.
	return &ledger.Event{ID: id, Stream: l.Stream, Type: l.Type, SchemaVersion: l.SchemaVersion, Revision: *l.Revision,
		OccurredOn: l.OccurredOn, RecordedAt: at, RecordedBy: l.RecordedBy, Data: compactJSON(l.Data), PrevHash: prev, Hash: hash}, nil
}

func compactJSON(b []byte) []byte {
	var buf bytes.Buffer
	if err := json.Compact(&buf, b); err != nil {
		return b
	}
	return buf.Bytes()
}
