package books

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"strings"
	"time"

	"partyledger/domain"
	"partyledger/ledger"
)

// ExportLine renders a stored event as an export-form journal line: the
// journal fields plus every envelope field, which import restores exactly.
// org is the organisation's code ("" for committee and rulebook events).
func ExportLine(ev *ledger.Event, org string) domain.JournalLine {
	rev, pos := ev.Revision, uint64(ev.Position)
	return domain.JournalLine{ID: ev.ID.String(), Org: org, Type: ev.Type, OccurredOn: ev.OccurredOn,
		Data: json.RawMessage(ev.Data), Stream: ev.Stream, Revision: &rev, Position: &pos,
		RecordedAt: ev.RecordedAt.UTC().Format(ledger.RecordedAtLayout), RecordedBy: ev.RecordedBy,
		SchemaVersion: ev.SchemaVersion, PrevHash: ev.PrevHash.String(), Hash: ev.Hash.String()}
}

// BelongsToYear reports whether an event concerns year y: it occurred in
// y, or it assesses, grades or rules y (domain.ConcernsYear).
func BelongsToYear(ev *ledger.Event, y int) bool {
	return domain.ConcernsYear(ev.Type, ev.OccurredOn, ev.Data, y)
}

// IsBooks reports whether a stream holds party work (an organisation's,
// the work committee's or a rulebook stream), not the API's tokens.
func IsBooks(stream string) bool {
	return strings.HasPrefix(stream, PrefixOrg) || strings.HasPrefix(stream, PrefixCommittee) ||
		strings.HasPrefix(stream, PrefixRulebook)
}

// Now is the ledger's clock (the default known_at of every read).
func (b *Books) Now() time.Time { return b.l.Now() }

// Journal yields, in recorded order, the export lines of every event an
// audit of year needs (domain.InYearJournal): whatever occurred on or
// before the year's last day, and the later events that name the year.
// API tokens are not part of the books and never appear.
func (b *Books) Journal(ctx context.Context, year int) iter.Seq2[domain.JournalLine, error] {
	return func(yield func(domain.JournalLine, error) bool) {
		codes := map[string]string{} // org stream → code
		for e, err := range b.l.ReadAll(ctx, 0) {
			if err != nil {
				yield(domain.JournalLine{}, err)
				return
			}
			if !IsBooks(e.Stream) {
				continue
			}
			code, err := orgCode(codes, &e)
			if err != nil {
				yield(domain.JournalLine{}, err)
				return
			}
			if domain.InYearJournal(e.Type, e.OccurredOn, e.Data, year) && !yield(ExportLine(&e, code), nil) {
				return
			}
		}
	}
}

// OrgJournal yields the lines of Journal(year) that are one
// organisation's (the lines whose org is code), read from its own stream
// alone: a branch's 台账 costs its own few hundred events, not a pass over
// the whole ledger. Nothing when the organisation has no stream.
func (b *Books) OrgJournal(ctx context.Context, code string, year int) iter.Seq2[domain.JournalLine, error] {
	return func(yield func(domain.JournalLine, error) bool) {
		for e, err := range b.l.ReadStream(ctx, OrgStream(code), 0) {
			if errors.Is(err, ledger.ErrStreamNotFound) {
				return
			}
			if err != nil {
				yield(domain.JournalLine{}, err)
				return
			}
			if domain.InYearJournal(e.Type, e.OccurredOn, e.Data, year) && !yield(ExportLine(&e, code), nil) {
				return
			}
		}
	}
}

// orgCode returns the code of the organisation whose stream holds e ("" for
// other streams), learning it from the stream's registration.
func orgCode(codes map[string]string, e *ledger.Event) (string, error) {
	if !strings.HasPrefix(e.Stream, PrefixOrg) {
		return "", nil
	}
	if code, ok := codes[e.Stream]; ok {
		return code, nil
	}
	if e.Type != domain.TypeOrganizationRegistered {
		return "", fmt.Errorf("ledger: %s begins with %s, not a registration", e.Stream, e.Type)
	}
	p, err := domain.DecodeStored(e.Type, e.Data)
	if err != nil {
		return "", fmt.Errorf("ledger: event %s: %w", e.ID, err)
	}
	code := p.(*domain.OrganizationRegistered).Code
	codes[e.Stream] = code
	return code, nil
}

// ReadAll yields every event of the books from position from (exclusive)
// in the form the folds take. Events of other streams (the API's tokens)
// are yielded with only Stream, Type and Position set and a nil Payload,
// so a reader can keep its position.
func (b *Books) ReadAll(ctx context.Context, from uint64) iter.Seq2[domain.Recorded, error] {
	return recordedOf(b.l.ReadAll(ctx, ledger.Position(from)))
}

// Subscribe is ReadAll that goes on with each event as it is committed,
// until ctx is done.
func (b *Books) Subscribe(ctx context.Context, from uint64) iter.Seq2[domain.Recorded, error] {
	return recordedOf(b.l.Subscribe(ctx, ledger.Position(from)))
}

// ReadOrg yields the events of one organisation's stream in recorded
// order; none when it is not registered.
func (b *Books) ReadOrg(ctx context.Context, code string) iter.Seq2[domain.Recorded, error] {
	return func(yield func(domain.Recorded, error) bool) {
		for r, err := range recordedOf(b.l.ReadStream(ctx, OrgStream(code), 0)) {
			if errors.Is(err, ledger.ErrStreamNotFound) {
				return
			}
			if !yield(r, err) || err != nil {
				return
			}
		}
	}
}

func recordedOf(seq iter.Seq2[ledger.Event, error]) iter.Seq2[domain.Recorded, error] {
	return func(yield func(domain.Recorded, error) bool) {
		for e, err := range seq {
			if err != nil {
				yield(domain.Recorded{}, err)
				return
			}
			if !IsBooks(e.Stream) {
				if !yield(domain.Recorded{Stream: e.Stream, Type: e.Type, Position: uint64(e.Position)}, nil) {
					return
				}
				continue
			}
			r, err := Recorded(&e)
			if !yield(r, err) || err != nil {
				return
			}
		}
	}
}
