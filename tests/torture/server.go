package torture

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"regexp"
	"sync"
	"syscall"
	"time"
)

// server runs the sundial binary on a fixed 127.0.0.1 port and data dir (or,
// as a cluster node, on a fixed port and node address with its store in
// PostgreSQL, given by extra) and can SIGKILL and restart it.
type server struct {
	bin, dir string // dir "": no --data-dir (the store is named in extra)
	port     int
	name     string    // "node 1" in a cluster, "" for the single server
	log      io.Writer // server stdout+stderr of every incarnation
	extra    []string  // more flags for `sundial start`

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{}
	err    error
	starts int
}

var readyLine = regexp.MustCompile(`sundial ready in \S+: listening on (\S+),`)

// freePort returns a port on 127.0.0.1 that was free a moment ago.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func (s *server) addr() string { return fmt.Sprintf("127.0.0.1:%d", s.port) }

// start starts the binary and waits for its ready line. A few attempts are
// made (the port may briefly still be held after a kill).
func (s *server) start() error {
	var last error
	for attempt := 0; attempt < 20; attempt++ {
		if last = s.startOnce(); last == nil {
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return last
}

func (s *server) startOnce() error {
	args := []string{"start", "--ip", "127.0.0.1", "--port", fmt.Sprint(s.port), "--log-level", "warn", "--headless"}
	if s.dir != "" {
		args = append(args, "--data-dir", s.dir)
	}
	args = append(args, s.extra...)
	cmd := exec.Command(s.bin, args...)
	pr, pw := io.Pipe()
	cmd.Stdout = pw
	cmd.Stderr = s.log
	if err := cmd.Start(); err != nil {
		return err
	}
	exited := make(chan struct{})
	ready := make(chan struct{}, 1)
	s.mu.Lock()
	s.starts++
	n := s.starts
	s.mu.Unlock()
	fmt.Fprintf(s.log, "--- torture: %s start #%d pid %d at %s\n", s.name, n, cmd.Process.Pid, time.Now().Format(time.RFC3339Nano))
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			fmt.Fprintln(s.log, sc.Text())
			if readyLine.MatchString(sc.Text()) {
				select {
				case ready <- struct{}{}:
				default:
				}
			}
		}
		_, _ = io.Copy(io.Discard, pr)
	}()
	var werr error
	go func() {
		werr = cmd.Wait()
		pw.Close()
		close(exited)
	}()
	select {
	case <-ready:
	case <-exited:
		return fmt.Errorf("sundial exited before ready: %v", werr)
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		<-exited
		return fmt.Errorf("sundial not ready after 30s")
	}
	s.mu.Lock()
	s.cmd, s.exited = cmd, exited
	s.mu.Unlock()
	go func() {
		<-exited
		s.mu.Lock()
		s.err = werr
		s.mu.Unlock()
	}()
	return nil
}

// alive reports whether the current process is still running.
func (s *server) alive() bool {
	s.mu.Lock()
	ex := s.exited
	s.mu.Unlock()
	if ex == nil {
		return false
	}
	select {
	case <-ex:
		return false
	default:
		return true
	}
}

// kill SIGKILLs the current process and waits for it to be gone.
func (s *server) kill() {
	s.mu.Lock()
	cmd, ex := s.cmd, s.exited
	s.mu.Unlock()
	if cmd == nil {
		return
	}
	fmt.Fprintf(s.log, "--- torture: %s SIGKILL pid %d at %s\n", s.name, cmd.Process.Pid, time.Now().Format(time.RFC3339Nano))
	_ = cmd.Process.Signal(syscall.SIGKILL)
	<-ex
}

// stop sends SIGTERM and waits (then SIGKILL after 10 s).
func (s *server) stop() error {
	s.mu.Lock()
	cmd, ex := s.cmd, s.exited
	s.mu.Unlock()
	if cmd == nil {
		return nil
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-ex:
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.err
	case <-time.After(10 * time.Second):
		_ = cmd.Process.Signal(syscall.SIGKILL)
		<-ex
		return fmt.Errorf("no exit 10s after SIGTERM")
	}
}

// syncWriter serializes writes to a file.
type syncWriter struct {
	mu sync.Mutex
	f  *os.File
}

func (w *syncWriter) Write(b []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.f.Write(b)
}
