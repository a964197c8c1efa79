package filestore_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"

	"partyledger/ledger"
	"partyledger/ledger/filestore"
)

// crashChildEnv switches the test binary into the crash child: it appends
// to the store in the named directory until it is killed.
const crashChildEnv = "PARTYLEDGER_CRASH_CHILD"

func TestMain(m *testing.M) {
	if dir := os.Getenv(crashChildEnv); dir != "" {
		crashChild(dir)
		return
	}
	code := m.Run()
	populated.Range(func(_, dir any) bool {
		os.RemoveAll(dir.(string))
		return true
	})
	os.Exit(code)
}

var crashOpts = filestore.Options{SegmentSize: 256 << 10}

// crashChild opens the store and appends from 8 goroutines, each to its own
// streams, chaining hashes, and prints "ack <id>" for every event of every
// acknowledged append, one write per append, until it is killed.
func crashChild(dir string) {
	s, err := filestore.Open(dir, crashOpts)
	if err != nil {
		fmt.Fprintln(os.Stderr, "child: open:", err)
		os.Exit(2)
	}
	fmt.Println("ready")
	var outMu sync.Mutex
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx := context.Background()
			r := rand.New(rand.NewPCG(uint64(g), uint64(time.Now().UnixNano())))
			last := map[string]*ledger.Event{}
			for i := 0; ; i++ {
				stream := fmt.Sprintf("crash-g%d-s%d", g, i%4)
				if _, seen := last[stream]; !seen {
					e, err := s.LastEvent(ctx, stream)
					switch {
					case err == nil:
						last[stream] = &e
					case errors.Is(err, ledger.ErrStreamNotFound):
						last[stream] = nil
					default:
						fmt.Fprintln(os.Stderr, "child: last event:", err)
						os.Exit(2)
					}
				}
				evs := chain(stream, last[stream], 1+r.IntN(3))
				expected := ledger.NoStream
				if l := last[stream]; l != nil {
					expected = int64(l.Revision)
				}
				if _, err := s.Append(ctx, stream, expected, evs); err != nil {
					fmt.Fprintln(os.Stderr, "child: append:", err)
					os.Exit(2)
				}
				last[stream] = &evs[len(evs)-1]
				var b strings.Builder
				for _, e := range evs {
					b.WriteString("ack " + e.ID.String() + "\n")
				}
				outMu.Lock()
				os.Stdout.WriteString(b.String()) // unbuffered: one write(2) per append
				outMu.Unlock()
			}
		}()
	}
	wg.Wait()
}

// TestCrashSIGKILL runs the crash child against one directory again and
// again, kills it with SIGKILL at a random moment while it appends from 8
// goroutines, and after each kill reopens the store and checks that every
// acknowledged event is there exactly once, that no stream has a revision
// gap, and that Ledger.Verify passes (VerifyStorage, then every hash chain
// recomputed). It kills 20 times (3 with -short, 100 with
// PARTYLEDGER_LONG=1); PARTYLEDGER_CRASH_CYCLES sets the number.
func TestCrashSIGKILL(t *testing.T) {
	cycles := 20
	if longMode() {
		cycles = 100
	}
	if v := os.Getenv("PARTYLEDGER_CRASH_CYCLES"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			t.Fatalf("PARTYLEDGER_CRASH_CYCLES=%q: want a positive integer", v)
		}
		cycles = n
	}
	if testing.Short() && os.Getenv("PARTYLEDGER_CRASH_CYCLES") == "" && !longMode() {
		cycles = 3
	}
	dir := t.TempDir()
	acked := map[uuid.UUID]bool{}
	r := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 1))
	for c := 0; c < cycles; c++ {
		ids := runAndKill(t, dir, time.Duration(r.IntN(300))*time.Millisecond)
		for _, id := range ids {
			acked[id] = true
		}
		t.Run(fmt.Sprintf("cycle %d", c), func(t *testing.T) {
			checkAfterCrash(t, dir, acked)
		})
		if t.Failed() {
			return
		}
	}
	t.Logf("%d cycles, %d acknowledged events", cycles, len(acked))
}

// runAndKill starts the child, lets it append for about d after it is
// ready, kills it with SIGKILL and returns the ids it acknowledged (whole
// lines only).
func runAndKill(t *testing.T, dir string, d time.Duration) []uuid.UUID {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), crashChildEnv+"="+dir)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 1024)
	go func() {
		defer close(lines)
		br := bufio.NewReader(out)
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				return // a line cut by the kill has no newline: not acknowledged
			}
			lines <- strings.TrimSuffix(line, "\n")
		}
	}()
	var ids []uuid.UUID
	collect := func(line string) {
		if id, ok := strings.CutPrefix(line, "ack "); ok {
			u, err := uuid.Parse(id)
			if err != nil {
				t.Fatalf("child printed %q", line)
			}
			ids = append(ids, u)
		}
	}
	// Wait until the child is up (or dead), then give it d to append.
	if first, ok := <-lines; ok {
		collect(first)
	}
	deadline := time.After(d)
wait:
	for {
		select {
		case line, ok := <-lines:
			if !ok {
				break wait
			}
			collect(line)
		case <-deadline:
			break wait
		}
	}
	cmd.Process.Signal(syscall.SIGKILL)
	for line := range lines {
		collect(line)
	}
	err = cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("child ended with %v, not by SIGKILL; stderr:\n%s", err, stderr.String())
	}
	io.Copy(io.Discard, out)
	return ids
}

func checkAfterCrash(t *testing.T, dir string, acked map[uuid.UUID]bool) {
	t.Helper()
	s, err := filestore.Open(dir, crashOpts)
	if err != nil {
		t.Fatalf("reopen after SIGKILL: %v", err)
	}
	defer s.Close()
	all := readAll(t, s, 0)
	seen := make(map[uuid.UUID]bool, len(all))
	for _, e := range all {
		if seen[e.ID] {
			t.Fatalf("event %s stored twice", e.ID)
		}
		seen[e.ID] = true
	}
	for id := range acked {
		if !seen[id] {
			t.Fatalf("acknowledged event %s is missing (%d stored)", id, len(all))
		}
	}
	// No revision gaps, every hash recomputes and chains, every record's
	// checksum holds.
	rep, err := ledger.New(s, ledger.Options{}).Verify(ctxT(t))
	if err != nil {
		t.Fatalf("Ledger.Verify: %v", err)
	}
	if !rep.StorageChecked || rep.Events != uint64(len(all)) {
		t.Fatalf("Ledger.Verify checked %d events (storage checked: %v), the store holds %d", rep.Events, rep.StorageChecked, len(all))
	}
	t.Logf("%d events stored, %d acknowledged so far", len(all), len(acked))
}
