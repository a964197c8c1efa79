package api_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"partyledger/api"
)

// slowServer serves e's handler through api.NewHTTPServer on loopback,
// after shrink has shortened its limits (the defaults are seconds).
func slowServer(t *testing.T, e *env, shrink func(*http.Server)) string {
	t.Helper()
	return slowServerOn(t, e, &net.ListenConfig{}, shrink)
}

// slowServerOn is slowServer listening through lc (socket options).
func slowServerOn(t *testing.T, e *env, lc *net.ListenConfig, shrink func(*http.Server)) string {
	t.Helper()
	srv := api.NewHTTPServer("127.0.0.1:0", e.srv.Handler())
	shrink(srv)
	ln, err := lc.Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	t.Cleanup(func() {
		_ = srv.Close()
		if err := <-done; !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("serve: %v", err)
		}
	})
	return ln.Addr().String()
}

// TestHTTPServerLimits checks the limits api.NewHTTPServer sets, then
// that each one cuts off a client that breaks it, over raw TCP on
// loopback, with the limits shortened so that the test takes a second.
func TestHTTPServerLimits(t *testing.T) {
	t.Run("defaults", func(t *testing.T) {
		s := api.NewHTTPServer(":0", http.NotFoundHandler())
		for _, c := range []struct {
			name     string
			got, max time.Duration
		}{
			{"ReadHeaderTimeout", s.ReadHeaderTimeout, 10 * time.Second},
			{"ReadTimeout", s.ReadTimeout, time.Minute},
			{"WriteTimeout", s.WriteTimeout, 5 * time.Minute},
			{"IdleTimeout", s.IdleTimeout, 5 * time.Minute},
		} {
			if c.got <= 0 || c.got > c.max {
				t.Errorf("%s %v, want within (0, %v]", c.name, c.got, c.max)
			}
		}
		if s.MaxHeaderBytes <= 0 || s.MaxHeaderBytes > 1<<20 {
			t.Errorf("MaxHeaderBytes %d", s.MaxHeaderBytes)
		}
	})

	e := newEnv(t, api.Options{})
	const headerTimeout = 300 * time.Millisecond
	addr := slowServer(t, e, func(s *http.Server) {
		s.ReadHeaderTimeout = headerTimeout
		s.ReadTimeout = 2 * headerTimeout
		s.IdleTimeout = 2 * headerTimeout
	})

	t.Run("slow headers are cut off by ReadHeaderTimeout", func(t *testing.T) {
		// Our clock starts before the dial, so before the server can
		// accept the connection and start its own: however late this
		// goroutine runs, elapsed is never below the server's timeout.
		start := time.Now()
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		// One header line every 50 ms, never the blank line that ends
		// them: a slowloris. The server must hang up by itself.
		stop := make(chan struct{})
		wrote := make(chan int, 1)
		go func() {
			n := 0
			defer func() { wrote <- n }()
			if _, err := io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: x\r\n"); err != nil {
				return
			}
			for ; ; n++ {
				select {
				case <-stop:
					return
				case <-time.After(50 * time.Millisecond):
				}
				if _, err := fmt.Fprintf(c, "X-Slow-%d: y\r\n", n); err != nil {
					return
				}
			}
		}()
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second)) // the test's own limit
		got, err := io.ReadAll(c)
		elapsed := time.Since(start)
		close(stop)
		n := <-wrote
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			t.Fatalf("the server held a slow client for %v (wrote %d header lines)", elapsed, n)
		}
		if len(got) > 0 && !strings.HasPrefix(string(got), "HTTP/1.1 408") {
			t.Fatalf("answered a request whose headers never ended: %q", got)
		}
		if elapsed < headerTimeout || elapsed > headerTimeout+3*time.Second {
			t.Fatalf("cut off after %v, want about %v", elapsed, headerTimeout)
		}
		t.Logf("cut off after %v, %d header lines in", elapsed.Round(time.Millisecond), n)
	})

	t.Run("a slow body is cut off by ReadTimeout; nothing is stored", func(t *testing.T) {
		before, _ := ledgerCount(t, e)
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		body := `{"type":"WorkInfoSubmitted","occurred_on":"2016-03-01","data":{"title":"慢慢来"}}`
		start := time.Now()
		fmt.Fprintf(c, "POST /v1/orgs/%s/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n",
			ownOrg, e.tokens["branch"], len(body))
		go func() {
			for i := 0; i < len(body); i++ {
				if _, err := c.Write([]byte{body[i]}); err != nil {
					return
				}
				time.Sleep(100 * time.Millisecond)
			}
		}()
		_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
		res, err := http.ReadResponse(bufio.NewReader(c), nil)
		elapsed := time.Since(start)
		if err == nil {
			res.Body.Close()
			if res.StatusCode < 400 {
				t.Fatalf("a body dripped over %v was accepted: %d", elapsed, res.StatusCode)
			}
		} else if ne, ok := err.(net.Error); ok && ne.Timeout() {
			t.Fatalf("the server held a slow body for %v", elapsed)
		}
		if elapsed > 2*headerTimeout+3*time.Second {
			t.Fatalf("cut off after %v", elapsed)
		}
		if after, _ := ledgerCount(t, e); after != before {
			t.Fatalf("events %v → %v", before, after)
		}
	})

	t.Run("an idle keep-alive connection is closed by IdleTimeout", func(t *testing.T) {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
		br := bufio.NewReader(c)
		res, err := http.ReadResponse(br, nil)
		if err != nil || res.StatusCode != 200 {
			t.Fatalf("%v %v", res, err)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		start := time.Now()
		_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
		if _, err := br.ReadByte(); err != io.EOF {
			t.Fatalf("idle connection: %v after %v, want EOF", err, time.Since(start))
		}
		if el := time.Since(start); el > 2*headerTimeout+3*time.Second {
			t.Fatalf("closed after %v", el)
		}
	})

	t.Run("headers over MaxHeaderBytes are 431", func(t *testing.T) {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		go fmt.Fprintf(c, "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: %s\r\n\r\n", strings.Repeat("a", 200<<10))
		_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
		res, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
			t.Fatalf("status %d", res.StatusCode)
		}
	})

	t.Run("well-behaved clients are served meanwhile", func(t *testing.T) {
		// Ten slow clients hold connections open while a normal one is
		// answered at once.
		for i := 0; i < 10; i++ {
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			io.WriteString(c, "GET /healthz HTTP/1.1\r\n")
		}
		start := time.Now()
		res, err := (&http.Client{Timeout: 5 * time.Second}).Get("http://" + addr + "/healthz")
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != 200 {
			t.Fatalf("status %d", res.StatusCode)
		}
		if el := time.Since(start); el > 3*time.Second {
			t.Fatalf("a normal request took %v beside slow clients", el)
		}
	})
}
