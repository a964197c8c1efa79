package books_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"partyledger/domain"
	"partyledger/ledger"
	"partyledger/ledger/books"
	"partyledger/ledger/filestore"
	"partyledger/ledger/ledgertest"
)

// sharedStore opens one store and returns a function that makes
// independent Books over it (as separate processes would have).
func sharedStore(t *testing.T) func() *books.Books {
	t.Helper()
	st, err := filestore.Open(t.TempDir(), filestore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	c := ledgertest.NewClock(time.Date(2017, 2, 1, 0, 0, 0, 0, time.UTC))
	return func() *books.Books { return books.New(ledger.New(st, ledger.Options{Clock: c.Now})) }
}

func correction(t testing.TB, version string) *domain.Rulebook {
	t.Helper()
	rb := domain.Builtin2016().Clone()
	rb.Version = version
	for i := range rb.Item("5.3").Rules {
		if r := &rb.Item("5.3").Rules[i]; r.ID == "5.3.general_assembly" {
			r.Need = 3
		}
	}
	if err := rb.Validate(); err != nil {
		t.Fatal(err)
	}
	return rb
}

func streamTypes(t *testing.T, b *books.Books, stream string) []string {
	t.Helper()
	var out []string
	for e, err := range b.ReadStream(context.Background(), stream, 0) {
		if errors.Is(err, ledger.ErrStreamNotFound) {
			return nil
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, e.ID.String())
	}
	return out
}

func TestEnsureBuiltin(t *testing.T) {
	ctx := context.Background()
	t.Run("once, whoever calls it", func(t *testing.T) {
		bk := sharedStore(t)
		var wg sync.WaitGroup
		errs := make([]error, 8)
		for i := range errs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[i] = bk().EnsureBuiltin(ctx, 2016)
			}()
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			t.Fatal(err)
		}
		b := bk()
		ids := streamTypes(t, b, books.RulebookStream(2016))
		if len(ids) != 1 || ids[0] != books.RulebookEventID(2016, "2016.1").String() {
			t.Fatalf("rulebook stream %v, want the built-in publication once", ids)
		}
		all, err := b.Rulebooks(ctx, 2016)
		if err != nil || len(all) != 1 || all[0].Builtin || all[0].Reason != books.BuiltinReason ||
			all[0].Rulebook.SHA256() != domain.Builtin2016().SHA256() {
			t.Fatalf("rulebooks %+v, %v", all, err)
		}
	})
	t.Run("other years", func(t *testing.T) {
		b := sharedStore(t)()
		if err := b.EnsureBuiltin(ctx, 2017); err != nil {
			t.Fatal(err)
		}
		if ids := streamTypes(t, b, books.RulebookStream(2017)); len(ids) != 0 {
			t.Fatalf("2017 stream %v", ids)
		}
	})
}

func TestPublishRulebook(t *testing.T) {
	ctx := context.Background()
	bk := sharedStore(t)
	b := bk()
	stream := books.RulebookStream(2016)

	t.Run("invalid: every problem, nothing appended", func(t *testing.T) {
		rb := correction(t, "2016.2")
		rb.Total = 0
		rb.Item("5.3").Rules[2].Need = -1
		rb.Tiers[0].Tier = "gold"
		_, err := b.PublishRulebook(ctx, rb, "更正", "admin")
		fes := domain.FieldErrors(err)
		if len(fes) < 3 {
			t.Fatalf("%d problems, want every one: %v", len(fes), err)
		}
		if ids := streamTypes(t, b, stream); len(ids) != 0 {
			t.Fatalf("appended %v", ids)
		}
		if _, err := b.PublishRulebook(ctx, correction(t, "2016.2"), "", "admin"); err == nil {
			t.Fatal("publication without a reason accepted")
		}
	})
	t.Run("the built-in version", func(t *testing.T) {
		_, err := b.PublishRulebook(ctx, domain.Builtin2016().Clone(), "再发一次", "admin")
		var pe *books.RulebookPublishedError
		if !errors.As(err, &pe) || !pe.Builtin || !errors.Is(err, books.ErrRulebookPublished) {
			t.Fatalf("err = %v", err)
		}
	})

	before := b.Now()
	res, err := b.PublishRulebook(ctx, correction(t, "2016.2"), "5.3 支部党员大会次数更正为不少于3次", "admin")
	if err != nil {
		t.Fatal(err)
	}
	t.Run("the built-in one first", func(t *testing.T) {
		all, err := b.Rulebooks(ctx, 2016)
		if err != nil || len(all) != 2 || all[0].Rulebook.Version != "2016.1" || all[1].Rulebook.Version != "2016.2" ||
			all[1].EventID != res.ID.String() || all[1].RecordedBy != "admin" || res.Revision != 1 {
			t.Fatalf("versions %+v %v; result %+v", all, err, res)
		}
		if !all[0].RecordedAt.Before(res.RecordedAt) || all[0].RecordedAt.Before(before) {
			t.Fatalf("recorded %s, %s (publishing began at %s)", all[0].RecordedAt, res.RecordedAt, before)
		}
	})
	t.Run("in force from its recorded_at", func(t *testing.T) {
		all, _ := b.Rulebooks(ctx, 2016)
		for _, c := range []struct {
			k    time.Time
			want string
		}{
			{before.Add(-time.Hour), "2016.1"},
			{all[0].RecordedAt, "2016.1"},
			{res.RecordedAt.Add(-time.Microsecond), "2016.1"},
			{res.RecordedAt, "2016.2"},
			{res.RecordedAt.Add(time.Hour), "2016.2"},
		} {
			rb, err := b.RulebookAt(ctx, 2016, c.k, "")
			if err != nil || rb.Version != c.want {
				t.Errorf("at %s: %v, %v; want %s", c.k, rb.Version, err, c.want)
			}
			if c.want == "2016.1" && rb.SHA256() != domain.Builtin2016().SHA256() {
				t.Errorf("at %s: the recorded 2016.1 differs from the built-in one", c.k)
			}
		}
		if rb, err := bk().RulebookAt(ctx, 2016, before, "2016.2"); err != nil || rb.Version != "2016.2" {
			t.Errorf("named version: %v %v", rb, err)
		}
	})
	t.Run("a published version again", func(t *testing.T) {
		_, err := bk().PublishRulebook(ctx, correction(t, "2016.2"), "再发", "admin")
		if !errors.Is(err, books.ErrRulebookPublished) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("concurrent publishers", func(t *testing.T) {
		var wg sync.WaitGroup
		errs := make([]error, 6)
		for i := range errs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				// Three versions, each published by two processes.
				_, errs[i] = bk().PublishRulebook(ctx, correction(t, fmt.Sprintf("2016.%d", 3+i%3)), "并发", "admin")
			}()
		}
		wg.Wait()
		ok := 0
		for _, err := range errs {
			switch {
			case err == nil:
				ok++
			case !errors.Is(err, books.ErrRulebookPublished):
				t.Fatal(err)
			}
		}
		all, err := bk().Rulebooks(ctx, 2016)
		if ok != 3 || err != nil || len(all) != 5 {
			t.Fatalf("%d publications succeeded, %d versions (%v)", ok, len(all), err)
		}
	})
	t.Run("an imported publication comes after the built-in one", func(t *testing.T) {
		b := sharedStore(t)()
		rb := correction(t, "2016.7")
		e := domain.Entry{Type: domain.TypeRulebookPublished, OccurredOn: domain.MustDate("2017-01-05"),
			Payload: &domain.RulebookPublished{Year: 2016, Version: rb.Version, Reason: "导入", Rulebook: rb}}
		if _, err := b.Record(ctx, []domain.Entry{e}, "import", books.RecordOptions{}); err != nil {
			t.Fatal(err)
		}
		all, err := b.Rulebooks(ctx, 2016)
		if err != nil || len(all) != 2 || all[0].Rulebook.Version != "2016.1" || all[1].Rulebook.Version != "2016.7" {
			t.Fatalf("versions %+v %v", all, err)
		}
	})
}
