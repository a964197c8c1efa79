// Package pg is the PostgreSQL benchmark peer: a throwaway PostgreSQL
// server on a unix socket in a temporary directory (Server), and a
// ledger.Store over a Message-DB-style messages table (Store).
package pg

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// BinDirs are where Debian's postgresql package puts the server programs,
// newest wanted first. PARTYLEDGER_PG_BIN overrides them.
var BinDirs = []string{"/usr/lib/postgresql/15/bin", "/usr/lib/postgresql/16/bin", "/usr/lib/postgresql/17/bin"}

// OSUser is the account the server runs as when the benchmark runs as
// root: PostgreSQL refuses to run as root.
const OSUser = "ledgerbench"

// ErrNotInstalled reports that no PostgreSQL server programs were found.
var ErrNotInstalled = errors.New("pg: PostgreSQL server programs not found (apt-get install postgresql)")

// BinDir returns the directory holding initdb and postgres.
func BinDir() (string, error) {
	dirs := BinDirs
	if d := os.Getenv("PARTYLEDGER_PG_BIN"); d != "" {
		dirs = []string{d}
	}
	for _, d := range dirs {
		if fileExists(filepath.Join(d, "initdb")) && fileExists(filepath.Join(d, "postgres")) {
			return d, nil
		}
	}
	return "", ErrNotInstalled
}

func fileExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir()
}

// Server is a running throwaway PostgreSQL server.
type Server struct {
	Dir     string // temporary directory: data/, the socket, postgres.log
	User    string // database superuser (the OS user it runs as)
	Version string // server version, e.g. "15.14"
	Port    int

	proc   *os.Process
	exited chan error // receives the postgres process's exit
}

// Settings are the server settings the benchmark runs with. Durability is
// PostgreSQL's default and is stated explicitly: every commit is flushed
// to the WAL with fdatasync before it is acknowledged. The rest is the
// tuning a dedicated event store would get: enough shared buffers to hold
// the tables, no checkpoints during a run, and minimal WAL (no replicas).
var Settings = []string{
	"fsync=on",
	"synchronous_commit=on",
	"full_page_writes=on",
	"wal_sync_method=fdatasync",
	"shared_buffers=1GB",
	"max_connections=150",
	"wal_level=minimal",
	"max_wal_senders=0",
	"max_wal_size=8GB",
	"checkpoint_timeout=30min",
	"listen_addresses=",
	"unix_socket_permissions=0777",
}

// Start creates a cluster in a new temporary directory under parent and
// starts PostgreSQL on a unix socket there. The server is tied to this
// process: it receives SIGINT (fast shutdown) if the process dies, and Stop
// stops it and removes the directory.
func Start(ctx context.Context, parent string) (_ *Server, err error) {
	bin, err := BinDir()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp(parent, "pg-")
	if err != nil {
		return nil, fmt.Errorf("pg: temp dir: %w", err)
	}
	defer func() {
		if err != nil {
			os.RemoveAll(dir)
		}
	}()
	s := &Server{Dir: dir, Port: 5432, exited: make(chan error, 1)}
	cred, name, err := runAs()
	if err != nil {
		return nil, err
	}
	s.User = name
	if cred != nil {
		// The parent of a temp dir may be private to root.
		if err := os.Chmod(parent, 0o755); err != nil && !errors.Is(err, os.ErrPermission) {
			return nil, fmt.Errorf("pg: %w", err)
		}
		if err := os.Chown(dir, int(cred.Uid), int(cred.Gid)); err != nil {
			return nil, fmt.Errorf("pg: chown %s: %w", dir, err)
		}
	}
	logf, err := os.Create(filepath.Join(dir, "postgres.log"))
	if err != nil {
		return nil, fmt.Errorf("pg: %w", err)
	}
	defer logf.Close()
	if cred != nil {
		if err := logf.Chown(int(cred.Uid), int(cred.Gid)); err != nil {
			return nil, fmt.Errorf("pg: %w", err)
		}
	}
	initdb := exec.CommandContext(ctx, filepath.Join(bin, "initdb"), "-D", filepath.Join(dir, "data"),
		"-U", name, "-A", "trust", "-E", "UTF8", "--no-locale", "--no-sync")
	initdb.Stdout, initdb.Stderr = logf, logf
	initdb.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	initdb.Dir = dir
	if err := initdb.Run(); err != nil {
		return nil, fmt.Errorf("pg: initdb: %w\n%s", err, tail(filepath.Join(dir, "postgres.log")))
	}
	args := []string{"-D", filepath.Join(dir, "data"), "-k", dir, "-p", strconv.Itoa(s.Port)}
	for _, kv := range Settings {
		args = append(args, "-c", kv)
	}
	if err := s.spawn(filepath.Join(bin, "postgres"), args, cred, logf); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			s.Stop()
		}
	}()
	if err := s.waitReady(ctx, 60*time.Second); err != nil {
		return nil, err
	}
	return s, nil
}

// spawn starts postgres from a goroutine locked to its OS thread, which
// lives until postgres exits: the parent-death signal fires when the
// thread that started the child ends, so the thread must outlive the
// child.
func (s *Server) spawn(path string, args []string, cred *syscall.Credential, logf *os.File) error {
	started := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		// Never unlocked: the thread exits with this goroutine, after
		// postgres has.
		cmd := exec.Command(path, args...)
		cmd.Stdout, cmd.Stderr = logf, logf
		cmd.Dir = s.Dir
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred, Pdeathsig: syscall.SIGINT, Setpgid: true}
		if err := cmd.Start(); err != nil {
			started <- fmt.Errorf("pg: start postgres: %w", err)
			return
		}
		s.proc = cmd.Process
		started <- nil
		s.exited <- cmd.Wait()
	}()
	return <-started
}

// runAs returns the credential to run the server with (nil: as this
// process) and the user name it runs as. As root it creates the system
// user OSUser if needed.
func runAs() (*syscall.Credential, string, error) {
	if os.Geteuid() != 0 {
		u, err := user.Current()
		if err != nil {
			return nil, "", fmt.Errorf("pg: current user: %w", err)
		}
		return nil, u.Username, nil
	}
	u, err := user.Lookup(OSUser)
	if err != nil {
		out, err := exec.Command("useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", OSUser).CombinedOutput()
		if err != nil {
			return nil, "", fmt.Errorf("pg: useradd %s: %w: %s", OSUser, err, out)
		}
		if u, err = user.Lookup(OSUser); err != nil {
			return nil, "", fmt.Errorf("pg: %w", err)
		}
	}
	uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
	gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
	if err := errors.Join(err1, err2); err != nil {
		return nil, "", fmt.Errorf("pg: user %s: %w", OSUser, err)
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), NoSetGroups: true}, OSUser, nil
}

func (s *Server) waitReady(ctx context.Context, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		conn, err := pgx.Connect(ctx, s.ConnString("postgres"))
		if err == nil {
			err = conn.QueryRow(ctx, "SHOW server_version").Scan(&s.Version)
			conn.Close(ctx)
			if err == nil {
				return nil
			}
		}
		select {
		case werr := <-s.exited:
			s.exited <- werr
			return fmt.Errorf("pg: postgres exited while starting: %v\n%s", werr, tail(filepath.Join(s.Dir, "postgres.log")))
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("pg: postgres not ready after %s: %v\n%s", limit, err, tail(filepath.Join(s.Dir, "postgres.log")))
		}
	}
}

// ConnString returns a libpq connection string for database db.
func (s *Server) ConnString(db string) string {
	return fmt.Sprintf("host=%s port=%d user=%s dbname=%s sslmode=disable", s.Dir, s.Port, s.User, db)
}

// CreateDatabase creates database name.
func (s *Server) CreateDatabase(ctx context.Context, name string) error {
	conn, err := pgx.Connect(ctx, s.ConnString("postgres"))
	if err != nil {
		return fmt.Errorf("pg: connect: %w", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		return fmt.Errorf("pg: create database %s: %w", name, err)
	}
	return nil
}

// Stop shuts the server down (fast shutdown, then a kill after 30 s) and
// removes its directory. It is safe to call more than once.
func (s *Server) Stop() error {
	var err error
	if s.proc != nil {
		_ = s.proc.Signal(syscall.SIGINT)
		select {
		case <-s.exited:
		case <-time.After(30 * time.Second):
			_ = s.proc.Kill()
			<-s.exited
			err = errors.New("pg: postgres did not stop in 30 s; killed")
		}
		s.proc = nil
	}
	if s.Dir != "" {
		if rerr := os.RemoveAll(s.Dir); rerr != nil && err == nil {
			err = fmt.Errorf("pg: remove %s: %w", s.Dir, rerr)
		}
		s.Dir = ""
	}
	return err
}

// tail returns the last lines of a log file, for error messages.
func tail(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	b, _ := io.ReadAll(io.LimitReader(f, 1<<20))
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) > 15 {
		lines = lines[len(lines)-15:]
	}
	return strings.Join(lines, "\n")
}
