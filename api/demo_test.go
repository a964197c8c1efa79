package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"log/slog"
	"net/http/httptest"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"partyledger/api"
	"partyledger/domain"
	"partyledger/domain/democity"
	"partyledger/ledger"
	"partyledger/ledger/books"
	"partyledger/ledger/filestore"
	"partyledger/ledger/ledgertest"
	"partyledger/projections/scoreboard"
)

// demoBranch is the demo city's branch the tests sign in as: derelict,
// its term expired on 2016-06-13 (issue 17: its pages said nothing).
const demoBranch = "LY-0054"

// demoAsOf is the demo city's day: mid-September 2016, the year open.
var demoAsOf = domain.MustDate("2016-09-20")

// newDemoEnv is a server over the demo city (seed 2016, 64
// organisations) as it stood on asOf: every line dated on or before it,
// recorded through the append path, the ledger's clock on that day. The
// tokens carry Chinese names: "branch" is bound to demoBranch.
func newDemoEnv(t testing.TB, asOf domain.Date) *env {
	t.Helper()
	st, err := filestore.Open(t.TempDir(), filestore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	clock := ledgertest.NewClock(domain.DateMin.Start())
	bk := books.New(ledger.New(st, ledger.Options{Clock: clock.Now}))
	e := &env{t: t, bk: bk, clock: clock, logs: &syncBuffer{}, tokens: map[string]string{}, ids: map[string]string{}}
	// Each line is recorded on the evening of the day it occurred, as a
	// branch keeping its 台账 live would: in date order (the journal's
	// order within a day), consecutive lines of one stream together.
	// An organisation is ready once it and its parent are registered; a
	// line dated before that waits for it.
	var lines []domain.JournalLine
	ready := map[string]string{}
	for _, l := range democity.Generate(2016, democity.Options{}) {
		if l.OccurredOn > asOf.String() {
			continue
		}
		if l.Type == domain.TypeOrganizationRegistered {
			var reg struct {
				Parent string `json:"parent_code"`
			}
			_ = json.Unmarshal(l.Data, &reg)
			ready[l.Org] = max(l.OccurredOn, ready[reg.Parent])
		}
		lines = append(lines, l)
	}
	when := func(l domain.JournalLine) string { return max(l.OccurredOn, ready[l.Org]) }
	sort.SliceStable(lines, func(i, j int) bool { return when(lines[i]) < when(lines[j]) })
	var batch []domain.Entry
	flush := func() {
		if len(batch) == 0 {
			return
		}
		if _, err := bk.Record(context.Background(), batch, "demo", books.RecordOptions{}); err != nil {
			t.Fatalf("demo city: %v", err)
		}
		batch = batch[:0]
	}
	stream, day := "", ""
	for _, l := range lines {
		ent, err := lineEntry(l)
		if err != nil {
			t.Fatalf("demo city line %+v: %v", l, err)
		}
		s, _ := books.StreamOf(&ent)
		if s != stream || when(l) != day || len(batch) == 500 {
			flush()
			stream = s
		}
		if when(l) != day {
			day = when(l)
			clock.Set(domain.MustDate(day).Start().Add(20 * time.Hour))
		}
		batch = append(batch, ent)
	}
	flush()
	// The committee schedules its next events ahead.
	for _, l := range []string{
		fmt.Sprintf(`{"type":"RequiredEventScheduled","occurred_on":%q,"data":{"scheduled_event_id":"S2016-10","kind":"training","title":"第四季度党务干部培训","targets":["*"]}}`, asOf.AddDays(20)),
	} {
		ent, err := domain.ParseJournalLine([]byte(l))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := bk.Record(context.Background(), []domain.Entry{ent}, "demo", books.RecordOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	clock.Set(asOf.Start().Add(20 * time.Hour))
	e.board = scoreboard.New(bk, scoreboard.Options{Now: clock.Now})
	e.srv = api.New(bk, e.board, api.Options{Now: clock.Now, Year: 2016, Logger: slog.New(slog.NewTextHandler(e.logs, nil)),
		RequestsPerSecond: 1e6, Burst: 1 << 20})
	e.ts = httptest.NewServer(e.srv.Handler())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = e.board.Run(ctx) }()
	t.Cleanup(func() {
		e.ts.Close()
		cancel()
		<-done
		st.Close()
	})
	for _, g := range []struct{ key, role, org, name string }{
		{"admin", "admin", "", "工委管理员"}, {"assessor", "assessor", "", "考核组张组长"}, {"auditor", "auditor", "", "审计室王审计"},
		{"branch", "branch", demoBranch, "李书记"},
	} {
		r, _ := domain.ParseAccessRole(g.role)
		tok, info, err := e.srv.Tokens().Issue(context.Background(), r, g.org, g.name, "工委")
		if err != nil {
			t.Fatal(err)
		}
		e.tokens[g.key], e.ids[g.key] = tok, info.ID
	}
	return e
}

// lineEntry parses a generated journal line as import does.
func lineEntry(l domain.JournalLine) (domain.Entry, error) {
	b, err := jsonMarshal(l)
	if err != nil {
		return domain.Entry{}, err
	}
	return domain.ParseJournalLine(b)
}

// demoPages lists every page a role sees in the demo city: each of its
// navigation's pages, each form it may fill, the error pages.
func demoPages(role string) []string {
	org := "/ui/orgs/" + demoBranch
	pages := []string{"/", org, org + "/journal?year=2016", org + "/print?year=2016", org + "/roster", "/ui/devices",
		org + "/journal?year=2016&type=StudySessionHeld&month=2016-09", "/ui/nonexistent"}
	switch role {
	case "branch":
		pages = append(pages, org+"/record", org+"/dues", "/ui/orgs/LY-0001")
	case "assessor":
		pages = append(pages, "/ui/overview", "/ui/review?year=2016", org+"/record",
			org+"/record/FindingRecorded", org+"/record/FindingRecorded?year=2016&finding=3.2%2Flow_satisfaction")
	case "auditor":
		pages = append(pages, "/ui/overview", "/ui/overview?year=2016&under=*")
	case "admin":
		pages = append(pages, "/ui/overview", "/ui/review?year=2016", org+"/record", org+"/dues", "/ui/signin-codes")
	}
	for _, t := range api.AppendableTypes(domain.AccessRole(role)) {
		if role != "auditor" && t != domain.TypeFindingRecorded {
			pages = append(pages, org+"/record/"+t)
		}
	}
	return pages
}

var (
	tagRE      = regexp.MustCompile(`(?s)<style.*?</style>|<script.*?</script>|<!--.*?-->`)
	attrTextRE = regexp.MustCompile(`(?i)\s(?:placeholder|title|aria-label|alt)="([^"]*)"`)
	anyTagRE   = regexp.MustCompile(`(?s)<[^>]*>`)
	// What may be ASCII on a page: codes and ids (LY-0054, AJ-2016-01,
	// S2016-10, V3, m001, hex and UUIDs), periods (2016-Q3, 2016-H2),
	// and the few format names.
	allowedASCII = regexp.MustCompile(`^(?:[A-Z]{1,4}-?\d[0-9A-Z-]*|[0-9a-f]{8,}(?:-[0-9a-f]+)*|[a-z]{1,2}\d{1,4}|\d{4}-[QH]\d|XLSX|CSV|A4|plt_)$`)
	// A token is a run of ASCII letters, digits and joiners; it is a
	// word when it holds a letter.
	asciiTokenRE = regexp.MustCompile(`[A-Za-z0-9_.\-]+`)
	letterRE     = regexp.MustCompile(`[A-Za-z]`)
)

// visibleText is what a person reads on a page: the text between tags and
// the attributes shown as text.
func visibleText(page string) string {
	page = tagRE.ReplaceAllString(page, " ")
	var attrs []string
	for _, m := range attrTextRE.FindAllStringSubmatch(page, -1) {
		attrs = append(attrs, m[1])
	}
	body := page
	if i := strings.Index(body, "<body"); i >= 0 {
		body = body[i:]
	}
	title := ""
	if m := regexp.MustCompile(`<title>(.*?)</title>`).FindStringSubmatch(page); m != nil {
		title = m[1]
	}
	return html.UnescapeString(title + " " + anyTagRE.ReplaceAllString(body, " ") + " " + strings.Join(attrs, " "))
}

// englishWords returns the ASCII words of text that are not codes,
// numbers or ids.
func englishWords(text string) []string {
	seen := map[string]bool{}
	for _, w := range asciiTokenRE.FindAllString(text, -1) {
		w = strings.Trim(w, ".-")
		if letterRE.MatchString(w) && !allowedASCII.MatchString(w) && !isVersion(w) {
			seen[w] = true
		}
	}
	out := make([]string, 0, len(seen))
	for w := range seen {
		out = append(out, w)
	}
	sort.Strings(out)
	return out
}

// isVersion reports a rulebook version, a date or a decimal: 2016.1.
func isVersion(w string) bool { return !letterRE.MatchString(w) }

// TestNoEnglishOnPages renders every page of every role of the demo city
// and finds no English: every ASCII word is a code, a number or an id.
func TestNoEnglishOnPages(t *testing.T) {
	e := newDemoEnv(t, demoAsOf)
	check := func(t *testing.T, what string, body []byte) {
		t.Helper()
		if words := englishWords(visibleText(string(body))); len(words) > 0 {
			t.Errorf("%s shows English: %v", what, words)
		}
	}
	for _, role := range roles {
		b := e.login(role)
		for _, p := range demoPages(role) {
			res := b.get(p)
			if res.status == 303 {
				res = b.get(res.header.Get("Location"))
			}
			if res.status >= 500 {
				t.Errorf("%s %s: %d", role, p, res.status)
			}
			check(t, role+" "+p, res.body)
		}
		// Errors of a form, in Chinese: an empty dues form and study session.
		for _, typ := range []string{domain.TypeDuesPaid, domain.TypeStudySessionHeld, domain.TypeFindingRecorded, domain.TypeMeetingHeld} {
			if !api.AppendAllowed(domain.AccessRole(role), typ, "") {
				continue
			}
			res := b.post("/ui/orgs/"+demoBranch+"/record/"+typ, url.Values{"csrf": {b.csrf}, "occurred_on": {""}, "points": {"9"}, "finding": {"3.2/low_sat"}})
			check(t, role+" empty "+typ, res.body)
		}
	}
	for _, p := range []string{"/login", "/signin", "/signin?c=0123456789abcdef"} {
		res := e.do("GET", p, "", nil)
		check(t, "anonymous "+p, res.body)
	}
}

// TestEnglishScanner checks the scanner itself: what it lets through and
// what it catches.
func TestEnglishScanner(t *testing.T) {
	page := `<html><head><title>台账 · 党建台账</title><style>body{font:x}</style></head><body>
<p>LY-0054 2016-Q3 2016-H2 V3 m001 1a2b3c4d 2016.1 XLSX</p><input placeholder="如 党章" type="text" value="abc">
<p>item 3.2 has no finding</p><span title="hover text">x</span></body></html>`
	got := englishWords(visibleText(page))
	want := []string{"finding", "has", "hover", "item", "no", "text", "x"}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("got %v, want %v", got, want)
	}
	_ = io.Discard
}
