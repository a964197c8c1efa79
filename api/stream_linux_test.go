package api_test

import (
	"bytes"
	"errors"
	"io"
	"net"
	"net/http"
	"syscall"
	"testing"
	"time"
)

// smallBuffers sets a socket's kernel buffers to a few kilobytes, so that
// a write blocks until the other side reads instead of vanishing into
// megabytes of loopback buffer.
func smallBuffers(_, _ string, c syscall.RawConn) error {
	var serr error
	err := c.Control(func(fd uintptr) {
		serr = errors.Join(
			syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_SNDBUF, 8<<10),
			syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 8<<10))
	})
	return errors.Join(err, serr)
}

// TestLongRankingOutlivesWriteTimeout: a ranking that streams for longer
// than the server's WriteTimeout (a province's takes minutes) is answered
// whole, because each chunk it sends gets its own write window. Here the
// limit is 300 ms, the sockets' buffers are a few kilobytes, and a slow
// client reads the demo city's ranking 64 KiB at a time, so the server's
// writes block well past the limit.
func TestLongRankingOutlivesWriteTimeout(t *testing.T) {
	e := newDemoEnv(t, demoAsOf)
	const path = "/v1/scorecards?year=2016&known_at=2016-09-20&under=*"
	want := e.do("GET", path, "assessor", nil)
	if want.status != http.StatusOK || len(want.body) < 1<<20 {
		t.Fatalf("%d, %d bytes: want a 200 past a megabyte (the first chunk the server sends)", want.status, len(want.body))
	}

	const writeTimeout = 300 * time.Millisecond
	addr := slowServerOn(t, e, &net.ListenConfig{Control: smallBuffers}, func(s *http.Server) { s.WriteTimeout = writeTimeout })
	client := &http.Client{Transport: &http.Transport{DialContext: (&net.Dialer{Control: smallBuffers}).DialContext}}
	req, err := http.NewRequest("GET", "http://"+addr+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+e.tokens["assessor"])
	start := time.Now()
	res, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var got bytes.Buffer
	chunk := make([]byte, 64<<10)
	for {
		n, err := io.ReadFull(res.Body, chunk)
		got.Write(chunk[:n])
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			break
		}
		if err != nil {
			t.Fatalf("after %d bytes in %v: %v", got.Len(), time.Since(start), err)
		}
		time.Sleep(40 * time.Millisecond)
	}
	elapsed := time.Since(start)
	if elapsed < 2*writeTimeout {
		t.Fatalf("read in %v: not past the write timeout of %v, the test proves nothing", elapsed, writeTimeout)
	}
	if !bytes.Equal(got.Bytes(), want.body) {
		t.Fatalf("%d bytes in %v, want the %d of the same ranking: cut short", got.Len(), elapsed, len(want.body))
	}
	t.Logf("%d bytes in %v past a write timeout of %v", got.Len(), elapsed.Round(time.Millisecond), writeTimeout)
}
