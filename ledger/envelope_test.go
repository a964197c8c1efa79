package ledger_test

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"strconv"
	"testing"
	"time"

	"github.com/google/uuid"

	"partyledger/ledger"
)

// referenceCanonical is the canonical envelope built the slow, obvious way
// with encoding/json: the definition AppendCanonical must match.
func referenceCanonical(e *ledger.Event) []byte {
	str := func(s string) string {
		var b bytes.Buffer
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(false)
		_ = enc.Encode(s)
		return string(bytes.TrimSuffix(b.Bytes(), []byte("\n")))
	}
	data := string(e.Data)
	if data == "" {
		data = "null"
	}
	return []byte(`{"data":` + data + `,"id":"` + e.ID.String() + `","occurred_on":` + str(e.OccurredOn) +
		`,"prev_hash":"` + hex.EncodeToString(e.PrevHash[:]) + `","recorded_at":"` + e.RecordedAt.UTC().Format(ledger.RecordedAtLayout) +
		`","recorded_by":` + str(e.RecordedBy) + `,"revision":` + strconv.FormatUint(e.Revision, 10) +
		`,"schema_version":` + strconv.Itoa(e.SchemaVersion) + `,"stream":` + str(e.Stream) + `,"type":` + str(e.Type) + `}`)
}

func FuzzCanonicalMatchesEncodingJSON(f *testing.F) {
	for _, s := range []string{"", "plain", "书记", `quo"te`, `back\slash`, "line\nbreak", "\x00\x1f", "\u2028\u2029", "\xff\xfe", "<&>", "é\u00a0"} {
		f.Add(s, s+"x", uint64(3), []byte(`{"a":1}`))
	}
	f.Fuzz(func(t *testing.T, by, stream string, rev uint64, data []byte) {
		e := ledger.Event{ID: uuid.New(), Stream: stream, Type: by + "T", SchemaVersion: 1, Revision: rev,
			OccurredOn: by, RecordedAt: time.Unix(1_480_000_000, 123456000), RecordedBy: by, Data: data}
		e.PrevHash[3] = 7
		if got, want := ledger.Canonical(&e), referenceCanonical(&e); !bytes.Equal(got, want) {
			t.Fatalf("canonical form differs from encoding/json's:\n got %s\nwant %s", got, want)
		}
	})
}

func BenchmarkComputeHash(b *testing.B) {
	e := ledger.Event{ID: uuid.New(), Stream: "org-6f1c2a4e-9b0d-5e7a-8c3f-2d4b6a8e0c11", Type: "StudySessionHeld", SchemaVersion: 1,
		Revision: 42, OccurredOn: "2016-03-08", RecordedAt: time.Now(), RecordedBy: "import",
		Data: []byte(`{"topic":"学习党章党规","attendees":["m001","m002","m003","m004","m005","m006","m007","m008"],"notes_kept":true}`)}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		_ = ledger.ComputeHash(&e)
	}
}
