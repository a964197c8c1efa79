package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer safe to read while a command writes it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestTokenAndServe(t *testing.T) {
	dir := t.TempDir()
	c := newClock()
	mustOK(t, cli(t, c, "", "--data", dir, "import", "testdata/small.jsonl", "--quiet"))
	r := mustOK(t, cli(t, c, "", "--data", dir, "token", "create", "--role", "branch", "--org", "LY-0002", "--name", "王书记"))
	branch := strings.TrimSpace(r.stdout)
	if !strings.HasPrefix(branch, "plt_") || !strings.Contains(r.stderr, "shown once") {
		t.Fatalf("token create: stdout %q stderr %q", r.stdout, r.stderr)
	}
	if r := cli(t, c, "", "--data", dir, "token", "create", "--role", "branch", "--name", "无组织"); r.err == nil {
		t.Fatal("a branch token without --org was created")
	}
	if r := cli(t, c, "", "--data", dir, "token", "create", "--role", "king", "--name", "x"); exitCode(r.err) != 2 {
		t.Fatalf("unknown role: %v", r.err)
	}
	list := mustOK(t, cli(t, c, "", "--data", dir, "token", "list")).stdout
	if !strings.Contains(list, "王书记") || strings.Contains(list, branch) {
		t.Fatalf("token list shows the name, never the token:\n%s", list)
	}

	var base string
	get := func(path, token string) int {
		req, _ := http.NewRequest("GET", base+path, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	base, stop := startServe(t, dir, c)
	if got := get("/healthz", ""); got != 200 {
		t.Fatalf("healthz: %d", got)
	}
	if got := get("/v1/orgs/LY-0002/scorecard?year=2016", branch); got != 200 {
		t.Fatalf("own scorecard with a branch token: %d", got)
	}
	if got := get("/v1/orgs/LY-0001/scorecard?year=2016", branch); got != 403 {
		t.Fatalf("another organisation's scorecard with a branch token: %d", got)
	}
	stop()

	// Revoked, the token opens nothing.
	id := regexp.MustCompile(`token_id=(\S+)`).FindStringSubmatch(r.stderr)
	if id == nil {
		t.Fatalf("no token id in %q", r.stderr)
	}
	mustOK(t, cli(t, c, "", "--data", dir, "token", "revoke", id[1], "--reason", "调离"))
	list = mustOK(t, cli(t, c, "", "--data", dir, "token", "list")).stdout
	if !strings.Contains(list, "已吊销 revoked") {
		t.Fatalf("token list after revoke:\n%s", list)
	}
	base, stop = startServe(t, dir, c)
	defer stop()
	if got := get("/v1/orgs/LY-0002/scorecard?year=2016", branch); got != 401 {
		t.Fatalf("a revoked token: %d, want 401", got)
	}
}

// startServe runs `serve` on a free loopback port and returns its base URL
// and a function that stops it and checks it stopped cleanly.
func startServe(t *testing.T, dir string, c *testClock, flags ...string) (string, func()) {
	t.Helper()
	base, _, stop := startServeOut(t, dir, c, flags...)
	return base, stop
}

// startServeOut is startServe that also gives what serve prints.
func startServeOut(t *testing.T, dir string, c *testClock, flags ...string) (string, *syncBuffer, func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	out := &syncBuffer{}
	e := &env{stdin: strings.NewReader(""), stdout: out, stderr: io.Discard, getenv: func(string) string { return "" }, now: c.Now}
	done := make(chan error, 1)
	go func() {
		done <- e.run(ctx, append([]string{"--data", dir, "serve", "--addr", "127.0.0.1:0"}, flags...))
	}()
	urlRE := regexp.MustCompile(`serving on (https?://127\.0\.0\.1:\d+)`)
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if m := urlRE.FindStringSubmatch(out.String()); m != nil {
			return m[1], out, func() {
				t.Helper()
				cancel()
				select {
				case err := <-done:
					if err != nil {
						t.Fatalf("serve ended with %v", err)
					}
				case <-time.After(15 * time.Second):
					t.Fatal("serve did not stop")
				}
			}
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("serve did not start:\n%s", out.String())
		}
	}
}

// serve's /metrics reports the embedded store's commit syncs: the store it
// opens reports each one to the server's histogram.
func TestServeMetricsStoreSync(t *testing.T) {
	dir := t.TempDir()
	c := newClock()
	mustOK(t, cli(t, c, "", "--data", dir, "import", "testdata/small.jsonl", "--quiet"))
	admin := strings.TrimSpace(mustOK(t, cli(t, c, "", "--data", dir, "token", "create", "--role", "admin", "--name", "管理员")).stdout)
	base, out, stop := startServeOut(t, dir, c, "--metrics-addr", "127.0.0.1:0")
	defer stop()
	postEvent(t, base, admin, "LY-0002", `{"type":"StudySessionHeld","occurred_on":"2016-04-05","data":{"topic":"学习","attendees":["m001"],"notes_kept":true}}`)
	get := func(url, token string) (int, []byte) {
		t.Helper()
		req, _ := http.NewRequest("GET", url, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, body
	}
	syncs := regexp.MustCompile(`(?m)^partyledger_store_sync_duration_seconds_count (\d+)$`)
	status, body := get(base+"/metrics", admin)
	if m := syncs.FindSubmatch(body); status != http.StatusOK || m == nil || string(m[1]) == "0" {
		t.Fatalf("GET /metrics: %d, no store sync after an append:\n%s", status, body)
	}
	if status, _ := get(base+"/metrics", ""); status != http.StatusUnauthorized {
		t.Errorf("GET /metrics on --addr without a token: %d, want 401", status)
	}
	// --metrics-addr: the same, without a token, and nothing else there.
	m := regexp.MustCompile(`metrics \(no token\) on (http://127\.0\.0\.1:\d+)/metrics`).FindStringSubmatch(out.String())
	if m == nil {
		t.Fatalf("serve did not say where --metrics-addr listens:\n%s", out.String())
	}
	if status, body := get(m[1]+"/metrics", ""); status != http.StatusOK || syncs.Find(body) == nil {
		t.Fatalf("GET /metrics on --metrics-addr: %d\n%.300s", status, body)
	}
	if status, _ := get(m[1]+"/v1/orgs", admin); status != http.StatusNotFound {
		t.Errorf("GET /v1/orgs on --metrics-addr: %d, want 404", status)
	}
}

// TestServeSecureCookies: serve marks its cookies Secure by default when
// it serves TLS or sits behind a --trusted-proxy (which terminates TLS),
// and --secure-cookies true|false overrides that.
func TestServeSecureCookies(t *testing.T) {
	dir := t.TempDir()
	c := newClock()
	mustOK(t, cli(t, c, "", "--data", dir, "import", "testdata/small.jsonl", "--quiet"))
	cert, key := selfSignedCert(t)
	for _, tc := range []struct {
		name   string
		flags  []string
		secure bool
	}{
		{"plain HTTP", nil, false},
		{"behind a trusted proxy", []string{"--trusted-proxy", "127.0.0.1"}, true},
		{"TLS", []string{"--tls-cert", cert, "--tls-key", key}, true},
		{"proxy, secure-cookies false", []string{"--trusted-proxy", "10.0.0.0/8", "--secure-cookies", "false"}, false},
		{"plain HTTP, secure-cookies true", []string{"--secure-cookies", "true"}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			base, stop := startServe(t, dir, c, tc.flags...)
			defer stop()
			client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
			res, err := client.Get(base + "/login")
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			cookies := res.Header.Values("Set-Cookie")
			if len(cookies) == 0 {
				t.Fatal("the sign-in page set no cookie")
			}
			for _, ck := range cookies {
				if got := strings.Contains(ck, "; Secure"); got != tc.secure {
					t.Errorf("Secure %v, want %v: %s", got, tc.secure, ck)
				}
			}
		})
	}
	if r := cli(t, c, "", "--data", dir, "serve", "--addr", "127.0.0.1:0", "--secure-cookies", "sometimes"); exitCode(r.err) != 2 {
		t.Fatalf("--secure-cookies sometimes: %v", r.err)
	}
}

// selfSignedCert writes a certificate for 127.0.0.1 and its key (PEM).
func selfSignedCert(t *testing.T) (certFile, keyFile string) {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &priv.PublicKey, priv)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}
