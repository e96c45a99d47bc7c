// Package redistest starts real redis-server processes for tests.
//
// Every test package that touches Redis gets its own server on a free
// loopback port, so packages run in parallel without sharing state. The
// server can be stopped, killed with SIGKILL and restarted on the same port,
// with or without an append-only file, which is what crash and restart tests
// are built on. When redis-server is missing the test fails and names the
// command that installs it: core behaviour is never skipped.
package redistest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// InstallHint is the command that installs the server these tests need.
const InstallHint = "apt-get install -y redis-server"

// Options configure a Server. The zero value starts a server without
// persistence in a fresh temporary directory.
type Options struct {
	// AOF turns on the append-only file with fsync on every write, so a
	// SIGKILLed server loses nothing that it acknowledged.
	AOF bool
	// UnixSocket has the server listen on a Unix socket in its directory
	// too (SocketURL).
	UnixSocket bool
}

// Server is one redis-server process owned by a test.
type Server struct {
	Addr string // host:port on loopback
	Port int
	Dir  string // working directory holding the AOF or RDB files

	opts  Options
	extra []string // more redis-server arguments (cluster mode)
	mu    sync.Mutex
	cmd   *exec.Cmd
	done  chan struct{}
	logf  func(format string, args ...any)
}

// Start launches a redis-server for t and stops it when t ends.
func Start(t testing.TB, opts Options) *Server {
	t.Helper()
	s, err := Launch(opts, t.TempDir())
	if err != nil {
		t.Fatalf("redistest: %v", err)
	}
	s.logf = t.Logf
	t.Cleanup(s.Stop)
	return s
}

// Launch starts a server outside of a test (TestMain, benchmarks, the load
// generator). The caller must call Stop.
func Launch(opts Options, dir string) (*Server, error) { return launch(opts, dir) }

func launch(opts Options, dir string, extra ...string) (*Server, error) {
	if _, err := exec.LookPath("redis-server"); err != nil {
		return nil, fmt.Errorf("redis-server not found on PATH; install it with: %s", InstallHint)
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	s := &Server{Addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), Port: port, Dir: dir, opts: opts, extra: extra}
	if err := s.start(); err != nil {
		return nil, err
	}
	return s, nil
}

// URL is the redis:// URL of the server, for code configured by REDIS_URL.
func (s *Server) URL() string { return "redis://" + s.Addr + "/0" }

// Socket is the path of the server's Unix socket (Options.UnixSocket).
func (s *Server) Socket() string { return filepath.Join(s.Dir, "redis.sock") }

// SocketURL is the unix:// URL of Socket.
func (s *Server) SocketURL() string { return "unix://" + s.Socket() }

// Client returns a new go-redis client connected to the server. The caller
// closes it.
func (s *Server) Client() *redis.Client {
	return redis.NewClient(&redis.Options{Addr: s.Addr})
}

// Connect returns a client that is closed when t ends, as a Backend.
func (s *Server) Connect(t testing.TB) redis.UniversalClient { return s.NewClient(t) }

// Kind is "single".
func (s *Server) Kind() string { return KindSingle }

// NewClient returns a client that is closed when t ends.
func (s *Server) NewClient(t testing.TB) *redis.Client {
	c := s.Client()
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func (s *Server) start() error {
	args := []string{
		"--port", strconv.Itoa(s.Port),
		"--bind", "127.0.0.1",
		"--dir", s.Dir,
		"--save", "",
		"--daemonize", "no",
		"--protected-mode", "yes",
		"--loglevel", "warning",
		"--logfile", filepath.Join(s.Dir, "redis.log"),
	}
	if s.opts.AOF {
		args = append(args, "--appendonly", "yes", "--appendfsync", "always")
	} else {
		args = append(args, "--appendonly", "no")
	}
	if s.opts.UnixSocket {
		args = append(args, "--unixsocket", s.Socket(), "--unixsocketperm", "700")
	}
	args = append(args, s.extra...)
	cmd := exec.Command("redis-server", args...)
	// Own process group: a SIGINT to the test binary must not take the
	// server down before the test has checked what it wanted to.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start redis-server: %w", err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	s.mu.Lock()
	s.cmd, s.done = cmd, done
	s.mu.Unlock()
	if err := waitReady(s.Addr, done, 10*time.Second); err != nil {
		_ = cmd.Process.Kill()
		return fmt.Errorf("redis-server on %s: %w (log: %s)", s.Addr, err, s.logTail())
	}
	return nil
}

// Stop shuts the server down cleanly (SIGTERM, which also flushes the AOF)
// and waits for it to exit. Stopping a stopped server does nothing.
func (s *Server) Stop() { s.signal(syscall.SIGTERM) }

// Kill sends SIGKILL, as a crash would, and waits for the process to go.
func (s *Server) Kill() { s.signal(syscall.SIGKILL) }

func (s *Server) signal(sig syscall.Signal) {
	s.mu.Lock()
	cmd, done := s.cmd, s.done
	s.cmd = nil
	s.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(sig)
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = cmd.Process.Kill()
		<-done
	}
}

// Restart starts the server again on the same port and directory, with the
// persistence given by opts, after a Stop or Kill. With AOF on both before
// and after, the data set is loaded back from the append-only file.
func (s *Server) Restart(opts Options) error {
	s.Stop()
	s.opts = opts
	var err error
	// The port was ours a moment ago; another process may grab it in between,
	// which is rare enough on loopback that a few retries cover it.
	for i := 0; i < 20; i++ {
		if err = s.start(); err == nil {
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return err
}

// Running reports whether the process is alive.
func (s *Server) Running() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return false
	}
	select {
	case <-s.done:
		return false
	default:
		return true
	}
}

func (s *Server) logTail() string {
	b, err := os.ReadFile(filepath.Join(s.Dir, "redis.log"))
	if err != nil {
		return "no log"
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) > 5 {
		lines = lines[len(lines)-5:]
	}
	return strings.Join(lines, " | ")
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// waitReady pings until the server answers PONG; loading a large AOF can
// take a moment, during which it answers LOADING.
func waitReady(addr string, exited <-chan struct{}, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			return errors.New("exited during start")
		default:
		}
		if ping(addr) == nil {
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("not ready after %s", limit)
}

func ping(addr string) error {
	conn, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(time.Second))
	if _, err := conn.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		return err
	}
	if !strings.HasPrefix(line, "+PONG") {
		return fmt.Errorf("ping answered %q", strings.TrimSpace(line))
	}
	return nil
}

// Flush empties every database; tests sharing one server per package call
// it between cases or use distinct key prefixes instead.
func Flush(ctx context.Context, c redis.UniversalClient) error {
	return c.FlushAll(ctx).Err()
}

// RunPackage starts one server for a whole test package, stores it in
// *srv, runs the package's tests and returns their exit code. Tests share
// the server and keep apart by using their own workspace (hash tag).
//
//	func TestMain(m *testing.M) { os.Exit(redistest.RunPackage(m, redistest.Options{}, &server)) }
func RunPackage(m *testing.M, opts Options, srv **Server) int {
	return runWith(m, func(dir string) (func(), error) {
		s, err := Launch(opts, dir)
		if err != nil {
			return nil, err
		}
		*srv = s
		return s.Stop, nil
	})
}

// runWith makes a temporary directory, starts what launch starts in it,
// runs the tests and stops and removes everything.
func runWith(m *testing.M, launch func(dir string) (stop func(), err error)) int {
	dir, err := os.MkdirTemp("", "redistest-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "redistest:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	stop, err := launch(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "redistest:", err)
		return 1
	}
	defer stop()
	return m.Run()
}

// Backend kinds, the values of the BackendEnv variable.
const (
	KindSingle  = "single"
	KindCluster = "cluster"
)

// BackendEnv names the environment variable that chooses what RunSuite and
// StartBackend start: "single" (or unset) for one redis-server, "cluster"
// for a 3-master Redis Cluster. `make test` runs the Redis suites both ways.
const BackendEnv = "SWITCHBOARD_TEST_REDIS"

// Backend is the Redis a suite runs against: one server or a cluster. Code
// under test sees only a redis.UniversalClient or a REDIS_URL, as in
// production.
type Backend interface {
	// URL is the backend as REDIS_URL spells it.
	URL() string
	// Connect returns a client that is closed when t ends.
	Connect(t testing.TB) redis.UniversalClient
	// Kind is KindSingle or KindCluster.
	Kind() string
}

func backendKind() (string, error) {
	switch k := os.Getenv(BackendEnv); k {
	case "", KindSingle:
		return KindSingle, nil
	case KindCluster:
		return KindCluster, nil
	default:
		return "", fmt.Errorf("%s=%q: want %q or %q", BackendEnv, k, KindSingle, KindCluster)
	}
}

// StartBackend starts the backend BackendEnv names for t and stops it when
// t ends. opts apply to a single server only (a cluster runs without
// persistence).
func StartBackend(t testing.TB, opts Options) Backend {
	t.Helper()
	kind, err := backendKind()
	if err != nil {
		t.Fatalf("redistest: %v", err)
	}
	if kind == KindCluster {
		return StartCluster(t)
	}
	return Start(t, opts)
}

// RunSuite is RunPackage for suites that also run on Redis Cluster: it
// starts the backend BackendEnv names, stores it in *b, runs the package's
// tests and returns their exit code.
//
//	func TestMain(m *testing.M) { os.Exit(redistest.RunSuite(m, redistest.Options{}, &backend)) }
func RunSuite(m *testing.M, opts Options, b *Backend) int {
	kind, err := backendKind()
	if err != nil {
		fmt.Fprintln(os.Stderr, "redistest:", err)
		return 1
	}
	return runWith(m, func(dir string) (func(), error) {
		if kind == KindCluster {
			c, err := LaunchCluster(dir)
			if err != nil {
				return nil, err
			}
			*b = c
			return c.Stop, nil
		}
		s, err := Launch(opts, dir)
		if err != nil {
			return nil, err
		}
		*b = s
		return s.Stop, nil
	})
}
