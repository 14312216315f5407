package webui_test

import (
	"bufio"
	"bytes"

	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"sync"
	"testing"
	"time"
)

// sundialProc is a sundial binary running in memory with its Web UI on.
type sundialProc struct {
	addr string // gRPC host:port
	ui   string // Web UI URL
	mu   sync.Mutex
	log  bytes.Buffer
}

// readyLine is the startup line; it names the gRPC address and the UI URL.
var readyLine = regexp.MustCompile(`sundial ready in \S+: listening on (\S+),.*Web UI at (http://[^\s,]+)`)

// buildSundial builds cmd/sundial into dir, as a user's `make build` does.
func buildSundial(t *testing.T, dir string) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	root := filepath.Join(filepath.Dir(file), "..", "..")
	out := filepath.Join(dir, "sundial")
	cmd := exec.Command("go", "build", "-o", out, "./cmd/sundial")
	cmd.Dir = root
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, b)
	}
	return out
}

// startSundial starts bin on free gRPC and UI ports and waits for the
// startup line. The process is killed when the test ends.
func startSundial(t *testing.T, bin string) *sundialProc {
	t.Helper()
	p := &sundialProc{}
	cmd := exec.Command(bin, "start", "--memory", "--ip", "127.0.0.1", "--port", "0", "--ui-port", "0", "--log-level", "warn")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = writerFunc(p.write)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	ready := make(chan []string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			line := sc.Text()
			p.write([]byte(line + "\n"))
			if m := readyLine.FindStringSubmatch(line); m != nil {
				ready <- m
			}
		}
	}()
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
	})
	select {
	case m := <-ready:
		p.addr, p.ui = m[1], m[2]
	case err := <-exited:
		t.Fatalf("sundial exited before ready: %v\n%s", err, p.output())
	case <-time.After(20 * time.Second):
		t.Fatalf("sundial not ready after 20s\n%s", p.output())
	}
	return p
}

func (p *sundialProc) write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.log.Write(b)
}

func (p *sundialProc) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.log.String()
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(b []byte) (int, error) { return f(b) }
