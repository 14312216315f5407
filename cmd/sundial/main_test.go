package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/sundial-io/sundial/internal/version"
)

// These tests build the sundial binary and run it: exit codes, output,
// and what a started server serves.

var bin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "sundial-cli-test")
	if err != nil {
		panic(err)
	}
	bin = filepath.Join(dir, "sundial")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "go build: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

type result struct {
	code           int
	stdout, stderr string
}

// runBin runs the binary to completion (or kills it after 10 s).
func runBin(t *testing.T, env []string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append(os.Environ(), env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("sundial %v did not exit: stdout %q stderr %q", args, out.String(), errb.String())
	}
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return result{code, out.String(), errb.String()}
}

var allFlags = []string{"--ip", "--port", "--data-dir", "--memory", "--log-level", "--log-format", "--metrics-ip", "--metrics-port", "--namespace", "--search-attribute", "--pprof", "--postgres", "--node-addr"}

func TestHelpListsEveryFlagWithDefault(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"-h"}, {"help"}, {"start", "--help"}, {"start", "-h"}, {"help", "start"}} {
		r := runBin(t, nil, args...)
		if r.code != 0 {
			t.Errorf("sundial %v: exit %d, want 0", args, r.code)
		}
		for _, f := range allFlags {
			// Each flag's entry has its default and environment variable.
			re := regexp.MustCompile(`(?m)^  ` + regexp.QuoteMeta(f) + `\b.*\n.*\n\s+\(default [^)]+\)? ?.*\[SUNDIAL_[A-Z_]+\]`)
			if !re.MatchString(r.stdout) {
				t.Errorf("sundial %v: flag %s not listed with its default:\n%s", args, f, r.stdout)
			}
		}
		for _, want := range []string{"(default 7233)", "(default 127.0.0.1)", "(default sundial-data)", "(default info)", "(default text)", "[SUNDIAL_DATA_DIR]"} {
			if !strings.Contains(r.stdout, want) {
				t.Errorf("sundial %v: help lacks %q", args, want)
			}
		}
	}
}

func TestVersion(t *testing.T) {
	for _, args := range [][]string{{"version"}, {"--version"}} {
		r := runBin(t, nil, args...)
		if r.code != 0 || !strings.HasPrefix(r.stdout, "sundial "+version.Version+" ") {
			t.Errorf("sundial %v: exit %d, stdout %q; want version %s", args, r.code, r.stdout, version.Version)
		}
	}
}

func TestBadUsageExits2WithUsage(t *testing.T) {
	port := freePort(t)
	cases := []struct {
		args []string
		want string
	}{
		{nil, "usage:"},
		{[]string{"bogus"}, `unknown command "bogus"`},
		{[]string{"start", "extra", "--port", port, "--memory"}, `unexpected argument "extra"`},
		{[]string{"start", "--memory", "--port", port, "extra"}, `unexpected argument "extra"`},
		{[]string{"start", "--no-such-flag"}, "flag provided but not defined: --no-such-flag"},
		{[]string{"start", "--port", "99999"}, "is not a port"},
		{[]string{"start", "--log-level", "loud"}, "--log-level"},
		{[]string{"start", "--log-format", "xml"}, "not one of text, json"},
		{[]string{"start", "--search-attribute", "Foo"}, "not NAME=TYPE"},
		{[]string{"start", "--search-attribute", "Foo=Blob"}, `unknown search attribute type "Blob"`},
		{[]string{"version", "extra"}, `unexpected argument "extra"`},
	}
	for _, c := range cases {
		r := runBin(t, nil, c.args...)
		if r.code != 2 {
			t.Errorf("sundial %v: exit %d, want 2 (stdout %q)", c.args, r.code, r.stdout)
		}
		if !strings.Contains(r.stderr, c.want) || !strings.Contains(r.stderr, "usage:") {
			t.Errorf("sundial %v: stderr lacks %q and the usage:\n%s", c.args, c.want, r.stderr)
		}
		if strings.Contains(r.stdout, "ready") {
			t.Errorf("sundial %v started a server", c.args)
		}
	}
	r := runBin(t, []string{"SUNDIAL_PORT=notaport"}, "start", "--memory")
	if r.code != 2 || !strings.Contains(r.stderr, "SUNDIAL_PORT") {
		t.Errorf("bad SUNDIAL_PORT: exit %d, stderr %q", r.code, r.stderr)
	}
}

// proc is a started server.
type proc struct {
	cmd    *exec.Cmd
	addr   string
	stdout *bytes.Buffer
	stderr *bytes.Buffer
}

var readyLine = regexp.MustCompile(`sundial ready in \S+: listening on (\S+), .*, version (\S+)`)

// startBin starts a server and waits for its ready line.
func startBin(t *testing.T, env []string, args ...string) *proc {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"start"}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	p := &proc{cmd: cmd, stdout: &bytes.Buffer{}, stderr: &bytes.Buffer{}}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = p.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
	})
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	deadline := time.After(20 * time.Second)
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("sundial %v exited before ready: %s", args, p.stderr)
			}
			p.stdout.WriteString(l + "\n")
			if m := readyLine.FindStringSubmatch(l); m != nil {
				if m[2] != version.Version {
					t.Errorf("ready line version %q, want %q", m[2], version.Version)
				}
				p.addr = m[1]
				go func() {
					for l := range lines {
						_ = l
					}
				}()
				return p
			}
		case <-deadline:
			t.Fatalf("sundial %v: no ready line; stdout %q stderr %q", args, p.stdout, p.stderr)
		}
	}
}

func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	_, port, _ := net.SplitHostPort(l.Addr().String())
	return port
}

func TestEnvironmentAndFlagPrecedence(t *testing.T) {
	envPort, flagPort := freePort(t), freePort(t)
	p := startBin(t, []string{"SUNDIAL_PORT=" + envPort, "SUNDIAL_MEMORY=true"})
	if p.addr != "127.0.0.1:"+envPort {
		t.Errorf("SUNDIAL_PORT=%s: listening on %s", envPort, p.addr)
	}
	if !strings.Contains(p.stdout.String(), "in memory") {
		t.Errorf("SUNDIAL_MEMORY=true: %q", p.stdout)
	}
	q := startBin(t, []string{"SUNDIAL_PORT=" + envPort, "SUNDIAL_MEMORY=true"}, "--port", flagPort)
	if q.addr != "127.0.0.1:"+flagPort {
		t.Errorf("--port %s with SUNDIAL_PORT=%s: listening on %s (the flag must win)", flagPort, envPort, q.addr)
	}
}

func TestNamespacesAndSearchAttributesAtStart(t *testing.T) {
	dir := t.TempDir()
	args := []string{"--port", "0", "--data-dir", dir, "--namespace", "orders", "--namespace", "billing",
		"--search-attribute", "CustomerId=Keyword", "--search-attribute", "Amount=double"}
	check := func(p *proc) {
		t.Helper()
		c, err := client.Dial(client.Options{HostPort: p.addr})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		info, err := c.WorkflowService().GetSystemInfo(ctx, &workflowservice.GetSystemInfoRequest{})
		if err != nil || info.ServerVersion != version.Version {
			t.Errorf("GetSystemInfo: version %q, %v; want %q", info.GetServerVersion(), err, version.Version)
		}
		for _, ns := range []string{"default", "orders", "billing"} {
			if _, err := c.WorkflowService().DescribeNamespace(ctx, &workflowservice.DescribeNamespaceRequest{Namespace: ns}); err != nil {
				t.Errorf("namespace %s: %v", ns, err)
			}
			r, err := c.OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: ns})
			if err != nil {
				t.Fatalf("ListSearchAttributes %s: %v", ns, err)
			}
			if got := r.CustomAttributes["CustomerId"]; got != enumspb.INDEXED_VALUE_TYPE_KEYWORD {
				t.Errorf("%s: CustomerId is %v", ns, got)
			}
			if got := r.CustomAttributes["Amount"]; got != enumspb.INDEXED_VALUE_TYPE_DOUBLE {
				t.Errorf("%s: Amount is %v", ns, got)
			}
		}
	}
	p := startBin(t, nil, args...)
	check(p)
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	_ = p.cmd.Wait()
	// Again over the same data dir: both are idempotent.
	p = startBin(t, nil, args...)
	check(p)
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	_ = p.cmd.Wait()
	// The same attribute with another type is refused at start.
	r := runBin(t, nil, "start", "--port", "0", "--data-dir", dir, "--search-attribute", "CustomerId=Int")
	if r.code != 1 || !strings.Contains(r.stderr, "CustomerId already exists") {
		t.Errorf("conflicting type: exit %d, stderr %q", r.code, r.stderr)
	}
	// From the environment, comma-separated.
	q := startBin(t, []string{"SUNDIAL_NAMESPACE=envns1,envns2", "SUNDIAL_SEARCH_ATTRIBUTE=EnvAttr=Int"}, "--memory", "--port", "0")
	c, err := client.Dial(client.Options{HostPort: q.addr})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, ns := range []string{"envns1", "envns2"} {
		r, err := c.OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: ns})
		if err != nil || r.CustomAttributes["EnvAttr"] != enumspb.INDEXED_VALUE_TYPE_INT {
			t.Errorf("namespace %s from SUNDIAL_NAMESPACE: %v, %v", ns, r, err)
		}
	}
}

// TestStartFailsBeforeTouchingDisk: a taken port or an unusable data dir
// fails the start with the cause named, and nothing is created.
func TestStartFailsBeforeTouchingDisk(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	_, takenPort, _ := net.SplitHostPort(taken.Addr().String())
	tmp := t.TempDir()
	fresh := filepath.Join(tmp, "fresh", "data")

	expectFail := func(want string, args ...string) {
		t.Helper()
		r := runBin(t, nil, append([]string{"start"}, args...)...)
		if r.code != 1 || !strings.Contains(r.stderr, want) {
			t.Errorf("sundial start %v: exit %d, stderr %q; want exit 1 and %q", args, r.code, r.stderr, want)
		}
		if _, err := os.Stat(filepath.Join(tmp, "fresh")); err == nil {
			t.Errorf("sundial start %v created %s", args, fresh)
		}
	}
	expectFail("127.0.0.1:"+takenPort+" is already in use by another process", "--port", takenPort, "--data-dir", fresh)
	expectFail("metrics address 127.0.0.1:"+takenPort+" is already in use by another process", "--port", "0", "--metrics-port", takenPort, "--data-dir", fresh)
	expectFail("Web UI address 127.0.0.1:"+takenPort+" is already in use by another process", "--port", "0", "--ui-port", takenPort, "--data-dir", fresh)

	file := filepath.Join(tmp, "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	expectFail("is not a directory", "--port", "0", "--data-dir", file)
	expectFail(file+" is not a directory", "--port", "0", "--data-dir", filepath.Join(file, "data"))

	// A directory with other files in it is refused without adding any.
	junk := filepath.Join(tmp, "junk")
	if err := os.MkdirAll(junk, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(junk, "notes.txt"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	expectFail("is not empty and holds no Sundial store", "--port", "0", "--data-dir", junk)
	if entries, _ := os.ReadDir(junk); len(entries) != 1 {
		t.Errorf("the refused directory now holds %d entries", len(entries))
	}

	// A data dir used by a running server.
	used := filepath.Join(tmp, "used")
	p := startBin(t, nil, "--port", "0", "--data-dir", used)
	expectFail(fmt.Sprintf("is in use by another process (pid %d)", p.cmd.Process.Pid), "--port", "0", "--data-dir", used)

	if os.Geteuid() != 0 {
		ro := filepath.Join(tmp, "ro")
		if err := os.Mkdir(ro, 0o555); err != nil {
			t.Fatal(err)
		}
		expectFail("permission denied", "--port", "0", "--data-dir", filepath.Join(ro, "data"))
	}
}

// TestLogFormatJSON: --log-format json writes JSON log lines (here, the
// error of a pprof address that is taken).
func TestLogFormatJSON(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	p := startBin(t, nil, "--memory", "--port", "0", "--log-format", "json", "--pprof", taken.Addr().String())
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) && !strings.Contains(p.stderr.String(), "pprof") {
		time.Sleep(20 * time.Millisecond)
	}
	line := strings.TrimSpace(p.stderr.String())
	if !strings.HasPrefix(line, "{") || !strings.Contains(line, `"msg":"pprof server stopped"`) {
		t.Errorf("--log-format json: stderr %q", line)
	}
}

// TestMetricsFlag: --metrics-port serves /metrics; the address is printed.
func TestMetricsFlag(t *testing.T) {
	port := freePort(t)
	p := startBin(t, nil, "--memory", "--port", "0", "--metrics-port", port)
	if want := "sundial: metrics on http://127.0.0.1:" + port + "/metrics\n"; !strings.Contains(p.stdout.String(), want) {
		t.Errorf("stdout %q lacks %q", p.stdout, want)
	}
	r, err := http.Get("http://127.0.0.1:" + port + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Body.Close()
	body, _ := io.ReadAll(r.Body)
	resp := string(body)
	for _, m := range []string{"go_goroutines", "process_resident_memory_bytes", "sundial_store_disk_bytes"} {
		if !strings.Contains(resp, "\n"+m+" ") {
			t.Errorf("/metrics lacks %s", m)
		}
	}
}

// TestParseStart covers the parsing rules without a process.
func TestParseStart(t *testing.T) {
	env := func(m map[string]string) func(string) (string, bool) {
		return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
	}
	o, err := parseStart(nil, env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if o.ip != "127.0.0.1" || o.port != 7233 || o.dataDir != "sundial-data" || o.memory || o.logFormat != "text" || o.metricsPort != 0 || o.metricsIP != "127.0.0.1" || len(o.namespaces) != 0 {
		t.Errorf("defaults: %+v", o)
	}
	// A repeatable flag given on the command line replaces the
	// environment's list instead of adding to it.
	o, err = parseStart([]string{"--namespace", "a"}, env(map[string]string{"SUNDIAL_NAMESPACE": "x,y", "SUNDIAL_LOG_LEVEL": "debug", "SUNDIAL_DATA_DIR": "/d"}))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(o.namespaces, ",") != "a" || o.logLevel.String() != "DEBUG" || o.dataDir != "/d" {
		t.Errorf("flag over env: namespaces %v, level %v, dir %q", o.namespaces, o.logLevel, o.dataDir)
	}
	o, err = parseStart([]string{"--search-attribute", "A=keywordlist", "--search-attribute", "B=Datetime", "--search-attribute", "C=TEXT"}, env(nil))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]enumspb.IndexedValueType{"A": enumspb.INDEXED_VALUE_TYPE_KEYWORD_LIST, "B": enumspb.INDEXED_VALUE_TYPE_DATETIME, "C": enumspb.INDEXED_VALUE_TYPE_TEXT}
	for k, v := range want {
		if o.searchAttributes[k] != v {
			t.Errorf("search attribute %s = %v, want %v", k, o.searchAttributes[k], v)
		}
	}
	if _, err := parseStart([]string{"--search-attribute", "A=Int", "--search-attribute", "A=Text"}, env(nil)); err == nil {
		t.Error("one attribute with two types accepted")
	}
	if _, err := parseStart([]string{"--data-dir", ""}, env(nil)); err == nil {
		t.Error("empty --data-dir accepted")
	}
	if _, err := parseStart(nil, env(map[string]string{"SUNDIAL_MEMORY": "maybe"})); err == nil || !strings.Contains(err.Error(), "SUNDIAL_MEMORY") {
		t.Errorf("bad SUNDIAL_MEMORY: %v", err)
	}
	// --postgres replaces the local store: with --memory or a data dir
	// (flag or environment) it is refused, naming both flags.
	const pgURL = "postgres://u@db:5432/sundial"
	o, err = parseStart(nil, env(map[string]string{"SUNDIAL_POSTGRES": pgURL}))
	if err != nil || o.postgres != pgURL {
		t.Errorf("SUNDIAL_POSTGRES: %+v, %v", o, err)
	}
	for _, c := range []struct {
		args []string
		env  map[string]string
		want string
	}{
		{[]string{"--postgres", pgURL, "--memory"}, nil, "--postgres and --memory cannot be used together"},
		{[]string{"--postgres", pgURL, "--data-dir", "/d"}, nil, "--postgres and --data-dir cannot be used together"},
		{[]string{"--postgres", pgURL}, map[string]string{"SUNDIAL_DATA_DIR": "/d"}, "--postgres and --data-dir"},
	} {
		if _, err := parseStart(c.args, env(c.env)); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("parseStart(%q, env %v) err = %v, want %q", c.args, c.env, err, c.want)
		}
	}
}
