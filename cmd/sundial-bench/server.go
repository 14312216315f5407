package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"go.temporal.io/api/workflowservice/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/credentials/insecure"
)

// server is the process under test: either one this program started or one
// reached at -address (then pid is -server-pid, or 0 when unknown).
type server struct {
	address string
	pid     int
	bin     string
	port    int
	started time.Time // when the current process was exec'd
	// onExec, if set, is called once right after the next exec.
	onExec  func(time.Time)
	cmd     *exec.Cmd
	dataDir string
	logPath string
	keep    bool
	exited  chan struct{}
	logDone chan struct{} // closed once all server output is in the log
}

// ServerInfo is the part of the report about the server itself.
type ServerInfo struct {
	Address          string  `json:"address"`
	Started          bool    `json:"started_by_bench"`
	Binary           string  `json:"binary,omitempty"`
	ListenLineMs     float64 `json:"listen_line_ms,omitempty"`
	ReadyMs          float64 `json:"ready_ms,omitempty"`
	IdleRSSBytes     int64   `json:"idle_rss_bytes,omitempty"`
	Pid              int     `json:"pid,omitempty"`
	NamespaceChecked string  `json:"namespace_check,omitempty"`
	Prefilled        int     `json:"prefilled_workflows,omitempty"`
}

// prepareServer starts the server binary when no address was given, waits
// until it answers a WorkflowService RPC and fills info with the startup
// numbers.
func prepareServer(ctx context.Context, cfg *config, info *ServerInfo) (*server, error) {
	if cfg.address != "" {
		s := &server{address: cfg.address, pid: cfg.serverPid}
		info.Address, info.Pid = s.address, s.pid
		if s.pid > 0 {
			if st, err := readStatus(s.pid); err == nil {
				info.IdleRSSBytes = st.rss
				fmt.Printf("server: %s pid %d, current RSS %s\n", s.address, s.pid, mib(st.rss))
			} else {
				fmt.Printf("server: %s, cannot read pid %d: %v\n", s.address, s.pid, err)
			}
		} else {
			fmt.Printf("server: %s (no -server-pid: CPU and RSS not measured)\n", s.address)
		}
		info.NamespaceChecked = checkNamespace(ctx, s.address, cfg.namespace)
		return s, nil
	}
	return startServer(ctx, cfg, info)
}

func startServer(ctx context.Context, cfg *config, info *ServerInfo) (*server, error) {
	s, err := newLocalServer(cfg)
	if err != nil {
		return nil, err
	}
	if cfg.prefill > 0 {
		took, err := prefillStore(s.dataDir, cfg.namespace, cfg.prefill)
		if err != nil {
			os.RemoveAll(filepath.Dir(s.logPath))
			return nil, fmt.Errorf("prefill: %w", err)
		}
		info.Prefilled = cfg.prefill
		fmt.Printf("store: prefilled with %d closed workflows in %.1f s\n", cfg.prefill, took.Seconds())
	}
	if err := s.launch(ctx, cfg, info); err != nil {
		return nil, err
	}
	fmt.Printf("server: started %s pid %d at %s: answers RPCs after %.1f ms (listening line after %.1f ms), idle RSS %s\n",
		filepath.Base(info.Binary), s.pid, s.address, info.ReadyMs, info.ListenLineMs, mib(info.IdleRSSBytes))
	info.NamespaceChecked = checkNamespace(ctx, s.address, cfg.namespace)
	return s, nil
}

// newLocalServer picks a free port and a temp dir for a server this program
// will start (the data dir inside it is created by the server).
func newLocalServer(cfg *config) (*server, error) {
	bin, err := filepath.Abs(cfg.serverBin)
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(bin); err != nil {
		return nil, fmt.Errorf("%w (build it with: go build -o bin/sundial ./cmd/sundial)", err)
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "sundial-bench-")
	if err != nil {
		return nil, err
	}
	return &server{
		address: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)),
		bin:     bin,
		port:    port,
		dataDir: filepath.Join(dir, "data"),
		logPath: filepath.Join(dir, "server.log"),
		keep:    cfg.keepData,
	}, nil
}

// launch starts (or, after kill, restarts) the server process on its port
// and data dir, waits until it answers an RPC and fills info with the
// startup numbers. The log is appended to across restarts.
func (s *server) launch(ctx context.Context, cfg *config, info *ServerInfo) error {
	args := []string{"start", "--ip", "127.0.0.1", "--port", strconv.Itoa(s.port), "--headless"}
	switch {
	case cfg.serverPostgres != "":
		args = append(args, "--postgres", cfg.serverPostgres)
	case cfg.serverMemory:
		args = append(args, "--data-dir", s.dataDir, "--memory")
	default:
		args = append(args, "--data-dir", s.dataDir)
	}
	args = append(args, cfg.serverArgs...)
	logFile, err := os.OpenFile(s.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	s.exited, s.logDone = make(chan struct{}), make(chan struct{})
	s.cmd = exec.Command(s.bin, args...)
	// Own process group, so stop() reaches anything the server forks.
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	pr, pw := io.Pipe()
	s.cmd.Stdout, s.cmd.Stderr = pw, pw
	listenSeen := make(chan time.Time, 1)
	logDone := s.logDone
	go func() {
		copyServerOutput(pr, logFile, cfg.verbose, s.port, listenSeen)
		close(logDone)
	}()

	t0 := time.Now()
	if err := s.cmd.Start(); err != nil {
		pw.Close()
		return err
	}
	s.started = t0
	if f := s.onExec; f != nil {
		s.onExec = nil
		f(t0)
	}
	s.pid = s.cmd.Process.Pid
	cmd, exited := s.cmd, s.exited
	go func() { _ = cmd.Wait(); pw.Close(); close(exited) }()

	readyAt, err := s.waitReady(ctx, 60*time.Second)
	if err != nil {
		s.keep = true // the log explains the failure
		s.stop()
		return fmt.Errorf("%v\nlast server output:\n%s", err, tailFile(s.logPath, 20))
	}
	info.Address, info.Started, info.Binary, info.Pid = s.address, true, s.bin, s.pid
	info.ReadyMs = ms(readyAt.Sub(t0))
	select {
	case t := <-listenSeen:
		info.ListenLineMs = ms(t.Sub(t0))
	case <-time.After(200 * time.Millisecond):
	}
	if st, err := readStatus(s.pid); err == nil {
		info.IdleRSSBytes = st.rss
	}
	return nil
}

// kill ends the server with SIGKILL (a crash: nothing is flushed) and waits
// for the process to be gone; the data dir stays for launch.
func (s *server) kill() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	_ = syscall.Kill(-s.pid, syscall.SIGKILL)
	<-s.exited
	select {
	case <-s.logDone:
	case <-time.After(2 * time.Second):
	}
}

// copyServerOutput keeps the server log and notes when the documented
// "listening on 127.0.0.1:N" line appears.
func copyServerOutput(r io.Reader, logFile *os.File, echo bool, port int, seen chan<- time.Time) {
	defer logFile.Close()
	want := fmt.Sprintf("listening on 127.0.0.1:%d", port)
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	var once sync.Once
	for sc.Scan() {
		line := sc.Text()
		if strings.Contains(line, want) {
			once.Do(func() { seen <- time.Now() })
		}
		fmt.Fprintln(logFile, line)
		if echo {
			fmt.Fprintln(os.Stderr, "[server]", line)
		}
	}
	_, _ = io.Copy(io.Discard, r)
}

// waitReady returns the moment the server first answered GetSystemInfo:
// a TCP accept alone does not mean the gRPC service is registered.
func (s *server) waitReady(ctx context.Context, limit time.Duration) (time.Time, error) {
	deadline := time.Now().Add(limit)
	for {
		select {
		case <-s.exited:
			return time.Time{}, fmt.Errorf("server exited before it was ready: %v", s.cmd.ProcessState)
		default:
		}
		if time.Now().After(deadline) {
			return time.Time{}, fmt.Errorf("server not ready after %s", limit)
		}
		if ctx.Err() != nil {
			return time.Time{}, ctx.Err()
		}
		c, err := net.DialTimeout("tcp", s.address, 100*time.Millisecond)
		if err != nil {
			time.Sleep(2 * time.Millisecond)
			continue
		}
		c.Close()
		if err := probeRPC(ctx, s.address); err != nil {
			time.Sleep(2 * time.Millisecond)
			continue
		}
		return time.Now(), nil
	}
}

// dialRaw opens a plain gRPC connection with a short reconnect backoff, so
// probes are not delayed by gRPC's default one-second first backoff.
func dialRaw(address string) (*grpc.ClientConn, error) {
	return grpc.NewClient(address,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithConnectParams(grpc.ConnectParams{
			Backoff:           backoff.Config{BaseDelay: 5 * time.Millisecond, Multiplier: 1.5, MaxDelay: 50 * time.Millisecond},
			MinConnectTimeout: 500 * time.Millisecond,
		}))
}

func probeRPC(ctx context.Context, address string) error {
	conn, err := dialRaw(address)
	if err != nil {
		return err
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	_, err = workflowservice.NewWorkflowServiceClient(conn).GetSystemInfo(ctx, &workflowservice.GetSystemInfoRequest{})
	return err
}

// checkNamespace reports (and records) whether the namespace exists; the
// scenarios will fail without it, and this says why up front.
func checkNamespace(ctx context.Context, address, ns string) string {
	conn, err := dialRaw(address)
	if err != nil {
		return "error: " + err.Error()
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	_, err = workflowservice.NewWorkflowServiceClient(conn).DescribeNamespace(ctx,
		&workflowservice.DescribeNamespaceRequest{Namespace: ns})
	if err != nil {
		fmt.Printf("warning: DescribeNamespace(%q): %v\n", ns, err)
		return "error: " + err.Error()
	}
	return "ok"
}

// stop ends a server this program started (SIGTERM, then SIGKILL after 10s)
// and removes its temp dir unless -keep-data.
func (s *server) stop() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	_ = syscall.Kill(-s.pid, syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(10 * time.Second):
		_ = syscall.Kill(-s.pid, syscall.SIGKILL)
		<-s.exited
	}
	select {
	case <-s.logDone:
	case <-time.After(2 * time.Second):
	}
	dir := filepath.Dir(s.logPath)
	if s.keep {
		fmt.Printf("server data and log kept in %s\n", dir)
		return
	}
	_ = os.RemoveAll(dir)
}

func (s *server) alive() error {
	if s.exited == nil {
		return nil
	}
	select {
	case <-s.exited:
		return errors.New("server process exited")
	default:
		return nil
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func tailFile(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
