package books_test

import (
	"context"
	"errors"
	"iter"
	"strings"
	"sync"
	"testing"
	"time"

	"partyledger/domain"
	"partyledger/ledger"
	"partyledger/ledger/books"
	"partyledger/ledger/filestore"
	"partyledger/ledger/ledgertest"
)

func openBooks(t *testing.T) *books.Books {
	t.Helper()
	st, err := filestore.Open(t.TempDir(), filestore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	c := ledgertest.NewClock(time.Date(2017, 2, 1, 0, 0, 0, 0, time.UTC))
	return books.New(ledger.New(st, ledger.Options{Clock: c.Now}))
}

func parse(t *testing.T, lines ...string) []domain.Entry {
	t.Helper()
	var out []domain.Entry
	for _, l := range lines {
		e, err := domain.ParseJournalLine([]byte(l))
		if err != nil {
			t.Fatalf("%s: %v", l, err)
		}
		out = append(out, e)
	}
	return out
}

const (
	reg  = `{"org":"LY-0001","type":"OrganizationRegistered","occurred_on":"2016-01-04","data":{"code":"LY-0001","name":"一支部","kind":"branch","has_groups":false}}`
	join = `{"org":"LY-0001","type":"MemberJoined","occurred_on":"2016-01-04","data":{"member_id":"m1","name":"张伟","is_leader":false,"monthly_income_fen":300000}}`
	dues = `{"org":"LY-0001","type":"DuesPaid","occurred_on":"2016-01-20","data":{"member_id":"m1","month":"2016-01","amount_fen":1500}}`
)

func TestBooksRecord(t *testing.T) {
	ctx := context.Background()
	b := openBooks(t)
	t.Run("refuses before registration", func(t *testing.T) {
		_, err := b.Record(ctx, parse(t, join), "t", books.RecordOptions{})
		var ee *books.EntryError
		if !errors.As(err, &ee) || !strings.Contains(err.Error(), "not registered") {
			t.Fatalf("err = %v", err)
		}
	})
	res, err := b.Record(ctx, parse(t, reg, join), "t", books.RecordOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if res[0].Stream != books.OrgStream("LY-0001") || res[1].Revision != 1 {
		t.Fatalf("results %+v", res)
	}
	t.Run("batch sees its own earlier entries", func(t *testing.T) {
		_, err := b.Record(ctx, parse(t,
			`{"org":"LY-0001","type":"MemberJoined","occurred_on":"2016-02-01","data":{"member_id":"m2","name":"王芳","is_leader":false,"monthly_income_fen":300000}}`,
			`{"org":"LY-0001","type":"DuesPaid","occurred_on":"2016-02-20","data":{"member_id":"m2","month":"2016-02","amount_fen":1500}}`), "t", books.RecordOptions{})
		if err != nil {
			t.Fatal(err)
		}
	})
	t.Run("a refused entry refuses the batch", func(t *testing.T) {
		before, _ := b.Head(ctx, books.OrgStream("LY-0001"))
		_, err := b.Record(ctx, parse(t, dues,
			`{"org":"LY-0001","type":"DuesPaid","occurred_on":"2016-02-20","data":{"member_id":"m7","month":"2016-02","amount_fen":1500}}`), "t", books.RecordOptions{})
		var ee *books.EntryError
		if !errors.As(err, &ee) || ee.Index != 1 {
			t.Fatalf("err = %v, want entry 1 refused", err)
		}
		after, _ := b.Head(ctx, books.OrgStream("LY-0001"))
		if before != after {
			t.Fatalf("head moved from %d to %d", before, after)
		}
	})
	t.Run("if-match", func(t *testing.T) {
		head, _ := b.Head(ctx, books.OrgStream("LY-0001"))
		stale := ledger.ExpectRevision(uint64(head - 1))
		_, err := b.Record(ctx, parse(t, dues), "t", books.RecordOptions{Expected: &stale})
		if !errors.Is(err, ledger.ErrWrongExpectedRevision) {
			t.Fatalf("stale If-Match: err = %v", err)
		}
		cur := ledger.ExpectRevision(uint64(head))
		if _, err := b.Record(ctx, parse(t, dues), "t", books.RecordOptions{Expected: &cur}); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("idempotent by id", func(t *testing.T) {
		l := `{"id":"7b0c6a3e-1d2f-4a5b-8c9d-0e1f2a3b4c5d","org":"LY-0001","type":"WorkInfoSubmitted","occurred_on":"2016-03-01","data":{"title":"信息一"}}`
		r1, err := b.Record(ctx, parse(t, l), "a", books.RecordOptions{})
		if err != nil {
			t.Fatal(err)
		}
		r2, err := b.Record(ctx, parse(t, l), "b", books.RecordOptions{})
		if err != nil || !r2[0].Duplicate || r2[0].Position != r1[0].Position {
			t.Fatalf("second record: %+v, %v", r2, err)
		}
		other := strings.Replace(l, "信息一", "信息二", 1)
		if _, err := b.Record(ctx, parse(t, other), "a", books.RecordOptions{}); !errors.Is(err, ledger.ErrIDConflict) {
			t.Fatalf("same id, other content: err = %v", err)
		}
	})
}

func TestBooksConcurrentRecordsKeepStateConsistent(t *testing.T) {
	ctx := context.Background()
	b := openBooks(t)
	if _, err := b.Record(ctx, parse(t, reg), "t", books.RecordOptions{}); err != nil {
		t.Fatal(err)
	}
	// Eight writers race to add the same member: exactly one may succeed.
	var wg sync.WaitGroup
	var mu sync.Mutex
	ok := 0
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := b.Record(ctx, parse(t, join), "t", books.RecordOptions{}); err == nil {
				mu.Lock()
				ok++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if ok != 1 {
		t.Fatalf("%d writers added member m1, want exactly 1", ok)
	}
}

func TestBooksCheckIsADryRun(t *testing.T) {
	ctx := context.Background()
	b := openBooks(t)
	entries := parse(t, reg, join, dues,
		`{"org":"LY-0001","type":"DuesPaid","occurred_on":"2016-01-20","data":{"member_id":"m9","month":"2016-01","amount_fen":1500}}`)
	outcomes, errs := b.Check(ctx, entries, "t")
	if len(errs) != 1 || outcomes[3] != books.OutcomeRefused || outcomes[0] != books.OutcomeNew {
		t.Fatalf("outcomes %v errs %v", outcomes, errs)
	}
	if _, err := b.Head(ctx, books.OrgStream("LY-0001")); err != nil {
		t.Fatal(err)
	}
	if rep, _ := b.Verify(ctx); rep.Events != 0 {
		t.Fatalf("Check appended %d events", rep.Events)
	}
}

func TestRulebookResolution(t *testing.T) {
	ctx := context.Background()
	b := openBooks(t)
	rb, err := b.RulebookAt(ctx, 2016, time.Now(), "")
	if err != nil || rb.Version != "2016.1" {
		t.Fatalf("built-in rulebook: %v, %v", rb, err)
	}
	if _, err := b.RulebookAt(ctx, 2016, time.Now(), "2016.9"); err == nil {
		t.Fatal("unknown version accepted")
	}
	if _, err := b.RulebookAt(ctx, 2015, time.Now(), ""); err == nil {
		t.Fatal("a year without rulebook accepted")
	}
}

// failingReads is a store whose reads of one stream fail: a disk error
// met while a check reads another organisation's state.
type failingReads struct {
	ledger.Store
	stream string
}

var errDisk = errors.New("injected: read failed")

func (s *failingReads) ReadStream(ctx context.Context, stream string, from uint64) iter.Seq2[ledger.Event, error] {
	if stream == s.stream {
		return func(yield func(ledger.Event, error) bool) { yield(ledger.Event{}, errDisk) }
	}
	return s.Store.ReadStream(ctx, stream, from)
}

func (s *failingReads) LastEvent(ctx context.Context, stream string) (ledger.Event, error) {
	if stream == s.stream {
		return ledger.Event{}, errDisk
	}
	return s.Store.LastEvent(ctx, stream)
}

// A store failure inside a state check is an error of the store, never a
// validation answer ("parent not registered") that would reach a client
// as 422.
func TestCheckStoreFailureIsNotAValidationAnswer(t *testing.T) {
	ctx := context.Background()
	st, err := filestore.Open(t.TempDir(), filestore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	b := books.New(ledger.New(&failingReads{Store: st, stream: books.OrgStream("LY-0000")}, ledger.Options{}))
	child := `{"org":"LY-0001","type":"OrganizationRegistered","occurred_on":"2016-01-04","data":{"code":"LY-0001","name":"一支部","kind":"branch","parent_code":"LY-0000","has_groups":false}}`
	for name, run := range map[string]func() error{
		"record": func() error { _, err := b.Record(ctx, parse(t, child), "t", books.RecordOptions{}); return err },
		"check": func() error {
			_, errs := b.Check(ctx, parse(t, child), "t")
			return errors.Join(errs...)
		},
	} {
		t.Run(name, func(t *testing.T) {
			err := run()
			var fe *domain.FieldError
			var pe *domain.ProblemsError
			if !errors.Is(err, errDisk) || errors.As(err, &fe) || errors.As(err, &pe) {
				t.Fatalf("err = %v (%T): want the store's failure, not a field error", err, err)
			}
		})
	}
	if _, err := b.Head(ctx, books.OrgStream("LY-0001")); err != nil {
		t.Fatal(err)
	}
	if h, _ := b.Head(ctx, books.OrgStream("LY-0001")); h != ledger.NoStream {
		t.Fatalf("something was appended: head %d", h)
	}
}

// Every payload the domain accepts fits what the store accepts: a valid
// entry is never refused by the ledger's own bound.
func TestLimitsAgree(t *testing.T) {
	if domain.MaxDataBytes > ledger.MaxDataLen {
		t.Fatalf("domain.MaxDataBytes %d > ledger.MaxDataLen %d", domain.MaxDataBytes, ledger.MaxDataLen)
	}
}
