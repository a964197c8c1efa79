package ledger

import (
	"encoding/json"
	"strconv"
	"strings"

	"partyledger/domain"
)

// ExportLine renders a stored event as an export-form journal line: the
// journal fields plus every envelope field, which import restores exactly.
// org is the organisation's code ("" for committee and rulebook events).
func ExportLine(ev *Event, org string) domain.JournalLine {
	rev, pos := ev.Revision, uint64(ev.Position)
	return domain.JournalLine{ID: ev.ID.String(), Org: org, Type: ev.Type, OccurredOn: ev.OccurredOn,
		Data: json.RawMessage(ev.Data), Stream: ev.Stream, Revision: &rev, Position: &pos,
		RecordedAt: ev.RecordedAt.UTC().Format(RecordedAtLayout), RecordedBy: ev.RecordedBy,
		SchemaVersion: ev.SchemaVersion, PrevHash: ev.PrevHash.String(), Hash: ev.Hash.String()}
}

// BelongsToYear reports whether an event concerns year y: it occurred in
// y, or it assesses, grades or rules y (the events naming a year).
func BelongsToYear(ev *Event, y int) bool {
	if strings.HasPrefix(ev.OccurredOn, strconv.Itoa(y)+"-") {
		return true
	}
	switch ev.Type {
	case domain.TypeFindingRecorded, domain.TypeGroupAssessmentRecorded, domain.TypeGradeIssued,
		domain.TypeGradeRevised, domain.TypeRulebookPublished:
		var v struct {
			Year int `json:"year"`
		}
		return json.Unmarshal(ev.Data, &v) == nil && v.Year == y
	}
	return false
}
