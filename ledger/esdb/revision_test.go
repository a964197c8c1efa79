package esdb_test

import (
	"testing"

	client "github.com/EventStore/EventStore-Client-Go/v4/esdb"

	"partyledger/ledger"
	"partyledger/ledger/esdb"
)

func TestExpectedRevision(t *testing.T) {
	cases := []struct {
		expected int64
		want     client.ExpectedRevision
		err      bool
	}{
		{ledger.NoStream, client.NoStream{}, false},
		{0, client.StreamRevision{Value: 0}, false},
		{1, client.StreamRevision{Value: 1}, false},
		{1 << 40, client.StreamRevision{Value: 1 << 40}, false},
		{-2, nil, true},
		{-1 << 63, nil, true},
	}
	for _, tc := range cases {
		got, err := esdb.ExpectedRevision(tc.expected)
		if (err != nil) != tc.err || got != tc.want {
			t.Errorf("ExpectedRevision(%d) = %#v, %v; want %#v, error %v", tc.expected, got, err, tc.want, tc.err)
		}
		if _, isAny := got.(client.Any); isAny {
			t.Errorf("ExpectedRevision(%d) is Any{}: ledger writes always state what they expect", tc.expected)
		}
	}
}

func TestEventRevision(t *testing.T) {
	cases := []struct {
		expected int64
		i        int
		want     uint64
	}{
		{ledger.NoStream, 0, 0},
		{ledger.NoStream, 2, 2},
		{0, 0, 1},
		{41, 1, 43},
	}
	for _, tc := range cases {
		if got := esdb.EventRevision(tc.expected, tc.i); got != tc.want {
			t.Errorf("EventRevision(%d, %d) = %d, want %d", tc.expected, tc.i, got, tc.want)
		}
	}
}

func TestParseRevision(t *testing.T) {
	cases := []struct {
		in   string
		want int64
		err  bool
	}{
		{"no_stream", ledger.NoStream, false},
		{"0", 0, false},
		{"17", 17, false},
		{"9223372036854775807", 1<<63 - 1, false},
		{"9223372036854775808", 0, true},
		{"-1", 0, true},
		{"", 0, true},
		{"any", 0, true},
	}
	for _, tc := range cases {
		got, err := esdb.ParseRevision(tc.in)
		if (err != nil) != tc.err || (!tc.err && got != tc.want) {
			t.Errorf("ParseRevision(%q) = %d, %v; want %d, error %v", tc.in, got, err, tc.want, tc.err)
		}
	}
}

func TestActualRevision(t *testing.T) {
	cases := []struct {
		msg  string
		want int64
		ok   bool
	}{
		{"wrong expected version: expecting '1' but got '2'", 2, true},
		{"[ErrorCodeWrongExpectedVersion] an append request failed: wrong expected version: expecting 'no_stream' but got '0'", 0, true},
		{"wrong expected version: expecting '0' but got 'no_stream'", ledger.NoStream, true},
		{"wrong expected version: expecting 'any' but got 'x'", 0, false},
		{"something else", 0, false},
	}
	for _, tc := range cases {
		got, ok := esdb.ActualRevision(tc.msg)
		if ok != tc.ok || (ok && got != tc.want) {
			t.Errorf("ActualRevision(%q) = %d, %v; want %d, %v", tc.msg, got, ok, tc.want, tc.ok)
		}
	}
}
