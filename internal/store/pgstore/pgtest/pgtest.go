// Package pgtest starts a throwaway PostgreSQL server for tests: initdb
// into a temp dir, pg_ctl start on 127.0.0.1 with the unix socket inside
// that dir, and removal of everything at Stop. PostgreSQL refuses to run
// as root, so when the test runs as root the server runs as the postgres
// user (Debian's postgresql package creates it).
//
// Without PostgreSQL binaries Start skips the test, or fails it when the
// CI environment variable is set (CI installs Debian's postgresql package,
// so a missing binary there is a broken setup, not an optional feature).
package pgtest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// PortRangeEnv names the environment variable that confines the servers
// tests start to a port range ("17250-17299"), for machines shared by
// several test runs; unset, a free ephemeral port is used.
const PortRangeEnv = "SUNDIAL_TEST_PG_PORTS"

// Options configures Start.
type Options struct {
	// Fsync keeps PostgreSQL's fsync on (benchmarks). Tests leave it off:
	// the server is thrown away, and synchronous_commit stays on either
	// way, so commits still wait for the WAL write.
	Fsync bool
	// Settings are extra server settings (name -> value), passed as -c
	// options at start: the benchmark's tuning (docs/PERFORMANCE.md).
	Settings map[string]string
}

// Server is a running throwaway PostgreSQL server.
type Server struct {
	Host string
	Port int
	dir  string // temp dir: data/, the socket and the log
	bin  string
	asPG bool // run PostgreSQL commands as the postgres user
	dbs  atomic.Int64
}

// Start starts a server for t and stops it when t ends.
func Start(t testing.TB, opts Options) *Server {
	t.Helper()
	s, err := StartServer(opts)
	if errors.Is(err, ErrNoPostgres) {
		if os.Getenv("CI") != "" {
			t.Fatalf("pgtest: %v (CI must install Debian's postgresql package)", err)
		}
		t.Skipf("pgtest: %v; install Debian's postgresql package to run this test", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Stop)
	return s
}

// ErrNoPostgres is returned by StartServer when no PostgreSQL binaries are
// installed.
var ErrNoPostgres = errors.New("PostgreSQL binaries (initdb, pg_ctl) not found")

// StartServer starts a server; the caller must Stop it (for TestMain).
func StartServer(opts Options) (*Server, error) {
	bin, err := findBin()
	if err != nil {
		return nil, err
	}
	s := &Server{Host: "127.0.0.1", bin: bin, asPG: os.Geteuid() == 0}
	s.reapOrphans()
	if s.dir, err = os.MkdirTemp("", dirPrefix); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(s.dir, ownerFile), []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
		os.RemoveAll(s.dir)
		return nil, err
	}
	if err := s.chown(); err != nil {
		os.RemoveAll(s.dir)
		return nil, err
	}
	data := filepath.Join(s.dir, "data")
	if out, err := s.run("initdb", "-D", data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync"); err != nil {
		os.RemoveAll(s.dir)
		return nil, fmt.Errorf("pgtest: initdb: %v\n%s", err, out)
	}
	fsync := "off"
	if opts.Fsync {
		fsync = "on"
	}
	for attempt := 0; ; attempt++ {
		if s.Port, err = freePort(); err != nil {
			os.RemoveAll(s.dir)
			return nil, err
		}
		o := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=%s -c synchronous_commit=on", s.Port, s.dir, fsync)
		names := make([]string, 0, len(opts.Settings))
		for k := range opts.Settings {
			names = append(names, k)
		}
		sort.Strings(names)
		for _, k := range names {
			o += fmt.Sprintf(" -c %s=%s", k, opts.Settings[k])
		}
		out, err := s.run("pg_ctl", "-D", data, "-l", filepath.Join(s.dir, "log"), "-w", "-t", "60", "-o", o, "start")
		if err == nil {
			break
		}
		log, _ := os.ReadFile(filepath.Join(s.dir, "log"))
		if attempt < 3 && strings.Contains(string(log), "in use") {
			continue // the port was taken between the check and the start
		}
		os.RemoveAll(s.dir)
		return nil, fmt.Errorf("pgtest: pg_ctl start: %v\n%s\n%s", err, out, log)
	}
	return s, nil
}

const (
	dirPrefix = "sundial-pg-"
	ownerFile = "owner.pid" // pid of the test process that started the server
)

// reapOrphans stops and removes the servers of test processes that died
// without cleaning up (a test binary killed by its -timeout panics past
// every Cleanup), so they do not pile up on the machine.
func (s *Server) reapOrphans() {
	owners, _ := filepath.Glob(filepath.Join(os.TempDir(), dirPrefix+"*", ownerFile))
	for _, f := range owners {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil || pid <= 0 || syscall.Kill(pid, 0) != syscall.ESRCH {
			continue // alive, or not ours to judge
		}
		o := &Server{dir: filepath.Dir(f), bin: s.bin, asPG: s.asPG}
		o.Stop()
	}
}

// findBin returns the directory of initdb and pg_ctl: Debian keeps them
// in /usr/lib/postgresql/<major>/bin, outside PATH; the newest major wins.
func findBin() (string, error) {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return major(dirs[i]) > major(dirs[j]) })
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "pg_ctl")); err == nil {
			return d, nil
		}
	}
	if p, err := exec.LookPath("pg_ctl"); err == nil {
		return filepath.Dir(p), nil
	}
	return "", ErrNoPostgres
}

func major(binDir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return n
}

// chown gives the temp dir to the postgres user when running as root.
func (s *Server) chown() error {
	if !s.asPG {
		return nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return fmt.Errorf("pgtest: running as root needs the postgres user: %w", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	if err := os.Chmod(s.dir, 0o755); err != nil {
		return err
	}
	return os.Chown(s.dir, uid, gid)
}

// run runs a PostgreSQL binary, as the postgres user when root.
func (s *Server) run(name string, args ...string) ([]byte, error) {
	path := filepath.Join(s.bin, name)
	var cmd *exec.Cmd
	if s.asPG {
		cmd = exec.Command("runuser", append([]string{"-u", "postgres", "--", path}, args...)...)
	} else {
		cmd = exec.Command(path, args...)
	}
	cmd.Dir = s.dir
	cmd.WaitDelay = 10 * time.Second // a server child holding the output open
	return cmd.CombinedOutput()
}

// freePort picks a port nobody listens on, inside PortRangeEnv when set.
func freePort() (int, error) {
	lo, hi := 0, 0
	if r := os.Getenv(PortRangeEnv); r != "" {
		a, b, ok := strings.Cut(r, "-")
		lo, _ = strconv.Atoi(a)
		hi, _ = strconv.Atoi(b)
		if !ok || lo <= 0 || hi < lo {
			return 0, fmt.Errorf("pgtest: %s=%q is not a range like 17250-17299", PortRangeEnv, r)
		}
	}
	if lo == 0 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, err
		}
		defer l.Close()
		return l.Addr().(*net.TCPAddr).Port, nil
	}
	start := lo + int(time.Now().UnixNano()%int64(hi-lo+1))
	for i := 0; i <= hi-lo; i++ {
		p := lo + (start-lo+i)%(hi-lo+1)
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
		if err == nil {
			l.Close()
			return p, nil
		}
	}
	return 0, fmt.Errorf("pgtest: no free port in %s", os.Getenv(PortRangeEnv))
}

// PID is the process id of the server's postmaster (the parent of every
// backend), from its postmaster.pid file: a benchmark adds up the CPU time
// of it and its children.
func (s *Server) PID() (int, error) {
	b, err := os.ReadFile(filepath.Join(s.dir, "data", "postmaster.pid"))
	if err != nil {
		return 0, fmt.Errorf("pgtest: %w", err)
	}
	line, _, _ := strings.Cut(string(b), "\n")
	pid, err := strconv.Atoi(strings.TrimSpace(line))
	if err != nil || pid <= 0 {
		return 0, fmt.Errorf("pgtest: bad postmaster.pid %q", line)
	}
	return pid, nil
}

// URL is the connection URL of database db on this server.
func (s *Server) URL(db string) string {
	return fmt.Sprintf("postgres://postgres@%s:%d/%s?sslmode=disable", s.Host, s.Port, db)
}

// NewDatabase creates an empty database with a fresh name and returns its
// URL.
func (s *Server) NewDatabase(t testing.TB) string {
	t.Helper()
	url, err := s.CreateDatabase(fmt.Sprintf("test_%d_%d", os.Getpid(), s.dbs.Add(1)))
	if err != nil {
		t.Fatal(err)
	}
	return url
}

// CreateDatabase creates database name and returns its URL.
func (s *Server) CreateDatabase(name string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, s.URL("postgres"))
	if err != nil {
		return "", fmt.Errorf("pgtest: connect: %w", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		return "", fmt.Errorf("pgtest: create database %s: %w", name, err)
	}
	return s.URL(name), nil
}

// Stop stops the server at once and removes its files.
func (s *Server) Stop() {
	if s.dir == "" {
		return
	}
	s.run("pg_ctl", "-D", filepath.Join(s.dir, "data"), "-m", "immediate", "-w", "stop")
	os.RemoveAll(s.dir)
	s.dir = ""
}

// Restart stops the server (fast shutdown: open connections are cut, as
// in a database failover or upgrade) and starts it again on the same
// port and data.
func (s *Server) Restart() error {
	data := filepath.Join(s.dir, "data")
	// -l: the new postmaster must not inherit run's output pipe, or
	// reading it would wait for the server to exit.
	if out, err := s.run("pg_ctl", "-D", data, "-l", filepath.Join(s.dir, "log"), "-m", "fast", "-w", "-t", "60", "restart"); err != nil {
		log, _ := os.ReadFile(filepath.Join(s.dir, "log"))
		return fmt.Errorf("pgtest: pg_ctl restart: %v\n%s\n%s", err, out, log)
	}
	return nil
}
