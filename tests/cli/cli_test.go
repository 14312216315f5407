// Package cli_test drives a Sundial binary with the official `temporal` CLI:
// every `temporal` command shown in docs/VISIBILITY.md and README.md is run
// verbatim (with the test server's address) and its output checked, plus
// the other everyday workflow commands and error cases.
//
// The test needs the CLI binary and is skipped unless SUNDIAL_TEMPORAL_CLI
// names it; `make test-cli` (part of `make test`) installs the pinned
// version into bin/temporal and sets it:
//
//	SUNDIAL_TEMPORAL_CLI  path of the `temporal` binary (required)
//	SUNDIAL_BIN           path of the sundial binary (default: built into a temp dir)
//
// Relative paths are taken relative to the repository root.
package cli_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// docsAddress is the address the documented commands use; the test swaps
// in its own server's address.
const docsAddress = "127.0.0.1:7233"

// docFiles hold the commands that must all be run by TestCLI.
var docFiles = []string{"docs/VISIBILITY.md", "README.md"}

func repoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

func absFromRoot(p string) string {
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(repoRoot(), p)
}

// ---- the sundial server ----

type server struct {
	cmd    *exec.Cmd
	addr   string
	mu     sync.Mutex
	stdout bytes.Buffer
	stderr bytes.Buffer
	exited chan struct{}
	err    error
}

func (s *server) logs() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return "stdout:\n" + s.stdout.String() + "stderr:\n" + s.stderr.String()
}

type lockedWriter struct {
	mu *sync.Mutex
	w  *bytes.Buffer
}

func (l lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}

var readyLine = regexp.MustCompile(`sundial ready in \S+: listening on (\S+),`)

// startServer starts the sundial binary on a free port over a fresh data
// dir and waits for its ready line; it is stopped with SIGTERM at cleanup.
func startServer(t *testing.T) *server {
	t.Helper()
	bin := os.Getenv("SUNDIAL_BIN")
	if bin == "" {
		bin = filepath.Join(t.TempDir(), "sundial")
		build := exec.Command("go", "build", "-o", bin, "./cmd/sundial")
		build.Dir = repoRoot()
		if out, err := build.CombinedOutput(); err != nil {
			t.Fatalf("go build ./cmd/sundial: %v\n%s", err, out)
		}
	}
	bin = absFromRoot(bin)
	s := &server{exited: make(chan struct{})}
	s.cmd = exec.Command(bin, "start", "--ip", "127.0.0.1", "--port", "0", "--data-dir", t.TempDir(), "--log-level", "info")
	out, err := s.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	s.cmd.Stderr = lockedWriter{&s.mu, &s.stderr}
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", bin, err)
	}
	ready := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			line := sc.Text()
			s.mu.Lock()
			s.stdout.WriteString(line + "\n")
			s.mu.Unlock()
			if m := readyLine.FindStringSubmatch(line); m != nil {
				select {
				case ready <- m[1]:
				default:
				}
			}
		}
	}()
	go func() {
		s.err = s.cmd.Wait()
		close(s.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-s.exited:
		default:
			_ = s.cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-s.exited:
			case <-time.After(10 * time.Second):
				t.Errorf("sundial did not stop within 10s of SIGTERM")
				_ = s.cmd.Process.Kill()
				<-s.exited
			}
		}
		if t.Failed() {
			t.Logf("sundial server output:\n%s", s.logs())
		}
	})
	select {
	case s.addr = <-ready:
	case <-s.exited:
		t.Fatalf("sundial exited before ready: %v\n%s", s.err, s.logs())
	case <-time.After(20 * time.Second):
		t.Fatalf("sundial not ready after 20s\n%s", s.logs())
	}
	return s
}

// ---- the temporal CLI ----

type cli struct {
	bin  string
	addr string
	home string
	mu   sync.Mutex
	ok   map[string]bool // commands (see commandKey) that exited 0
}

type result struct {
	args   []string
	stdout string
	stderr string
	err    error
}

func (r result) String() string {
	return fmt.Sprintf("temporal %s\nexit: %v\nstdout:\n%s\nstderr:\n%s", shellQuote(r.args), r.err, r.stdout, r.stderr)
}

// commandKey identifies a command independently of its --address and of
// the flags the runner adds, to match runs against the documented commands.
func commandKey(args []string) string {
	var kept []string
	for i := 0; i < len(args); i++ {
		if args[i] == "--address" && i+1 < len(args) {
			i++
			continue
		}
		if strings.HasPrefix(args[i], "--address=") {
			continue
		}
		kept = append(kept, args[i])
	}
	return strings.Join(kept, "\x00")
}

// exec runs `temporal args...`: a documented --address is replaced by the
// test server's (one is added when missing), colors are off, and neither
// the user's config files nor TEMPORAL_* variables are seen.
func (c *cli) exec(args ...string) result {
	full := append([]string(nil), args...)
	hasAddr := false
	for i := range full {
		if full[i] == "--address" && i+1 < len(full) {
			full[i+1] = c.addr
			hasAddr = true
		}
	}
	if !hasAddr {
		full = append(full, "--address", c.addr)
	}
	full = append(full, "--color", "never")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, c.bin, full...)
	env := []string{"HOME=" + c.home, "XDG_CONFIG_HOME=" + filepath.Join(c.home, ".config")}
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "TEMPORAL_") || strings.HasPrefix(kv, "HOME=") || strings.HasPrefix(kv, "XDG_CONFIG_HOME=") {
			continue
		}
		env = append(env, kv)
	}
	cmd.Env = env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := result{args: full, stdout: stdout.String(), stderr: stderr.String(), err: err}
	if err == nil {
		c.mu.Lock()
		c.ok[commandKey(args)] = true
		c.mu.Unlock()
	}
	return r
}

// run runs a command that must succeed and returns its stdout.
func (c *cli) run(t *testing.T, args ...string) string {
	t.Helper()
	r := c.exec(args...)
	if r.err != nil {
		t.Fatalf("command failed:\n%s", r)
	}
	return r.stdout
}

// runJSON runs a command with `-o json` and decodes its stdout into v.
func (c *cli) runJSON(t *testing.T, v any, args ...string) {
	t.Helper()
	out := c.run(t, append(args, "-o", "json")...)
	if err := json.Unmarshal([]byte(out), v); err != nil {
		t.Fatalf("temporal %s: stdout is not JSON: %v\n%s", shellQuote(args), err, out)
	}
}

// fail runs a command that must exit non-zero and returns its stderr.
func (c *cli) fail(t *testing.T, args ...string) string {
	t.Helper()
	r := c.exec(args...)
	var ee *exec.ExitError
	if r.err == nil {
		t.Fatalf("command succeeded, want an error:\n%s", r)
	} else if !errors.As(r.err, &ee) {
		t.Fatalf("command did not run:\n%s", r)
	}
	return r.stderr
}

func mustContain(t *testing.T, what, out string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(out, w) {
			t.Errorf("%s: output lacks %q:\n%s", what, w, out)
		}
	}
}

// fieldsLine reports whether some line of out consists of exactly these
// whitespace-separated fields (the CLI's text tables).
func fieldsLine(out string, fields ...string) bool {
	want := strings.Join(fields, " ")
	for _, line := range strings.Split(out, "\n") {
		if strings.Join(strings.Fields(line), " ") == want {
			return true
		}
	}
	return false
}

func mustLine(t *testing.T, what, out string, fields ...string) {
	t.Helper()
	if !fieldsLine(out, fields...) {
		t.Errorf("%s: no line %q in output:\n%s", what, strings.Join(fields, "  "), out)
	}
}

// ---- JSON shapes of the CLI's -o json output (proto JSON, payloads shown as JSON values) ----

type execution struct {
	Execution struct {
		WorkflowID string `json:"workflowId"`
		RunID      string `json:"runId"`
	} `json:"execution"`
	Type struct {
		Name string `json:"name"`
	} `json:"type"`
	Status           string `json:"status"`
	TaskQueue        string `json:"taskQueue"`
	HistoryLength    string `json:"historyLength"`
	SearchAttributes struct {
		IndexedFields map[string]any `json:"indexedFields"`
	} `json:"searchAttributes"`
}

type countResult struct {
	Count  string `json:"count"`
	Groups []struct {
		GroupValues []any  `json:"groupValues"`
		Count       string `json:"count"`
	} `json:"groups"`
}

type event struct {
	EventID   string         `json:"eventId"`
	EventType string         `json:"eventType"`
	Signaled  map[string]any `json:"workflowExecutionSignaledEventAttributes"`
	Term      map[string]any `json:"workflowExecutionTerminatedEventAttributes"`
}

type namespace struct {
	NamespaceInfo struct {
		Name  string `json:"name"`
		State string `json:"state"`
		ID    string `json:"id"`
	} `json:"namespaceInfo"`
	Config struct {
		Retention string `json:"workflowExecutionRetentionTtl"`
	} `json:"config"`
}

func ids(execs []execution) []string {
	var out []string
	for _, e := range execs {
		out = append(out, e.Execution.WorkflowID)
	}
	sort.Strings(out)
	return out
}

func (c *cli) list(t *testing.T, query string) []execution {
	t.Helper()
	var execs []execution
	c.runJSON(t, &execs, "workflow", "list", "--namespace", "default", "--query", query)
	return execs
}

func (c *cli) count(t *testing.T, query string) countResult {
	t.Helper()
	var n countResult
	c.runJSON(t, &n, "workflow", "count", "--namespace", "default", "--query", query)
	if n.Count == "" {
		n.Count = "0" // proto JSON leaves out zero values
	}
	return n
}

func (c *cli) describe(t *testing.T, id string) execution {
	t.Helper()
	var d struct {
		Info execution `json:"workflowExecutionInfo"`
	}
	c.runJSON(t, &d, "workflow", "describe", "--namespace", "default", "--workflow-id", id)
	return d.Info
}

func (c *cli) history(t *testing.T, id string) []event {
	t.Helper()
	var h struct {
		Events []event `json:"events"`
	}
	c.runJSON(t, &h, "workflow", "show", "--namespace", "default", "--workflow-id", id)
	return h.Events
}

func groups(n countResult) map[string]string {
	out := map[string]string{}
	for _, g := range n.Groups {
		out[fmt.Sprint(g.GroupValues...)] = g.Count
	}
	return out
}

func equal(a, b []string) bool {
	return strings.Join(a, ",") == strings.Join(b, ",")
}

// ---- the test ----

func TestCLI(t *testing.T) {
	bin := os.Getenv("SUNDIAL_TEMPORAL_CLI")
	if bin == "" {
		t.Skip("SUNDIAL_TEMPORAL_CLI is not set; `make test-cli` installs the pinned temporal CLI and runs this test")
	}
	bin = absFromRoot(bin)
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("SUNDIAL_TEMPORAL_CLI: %v", err)
	}
	docs := documentedCommands(t)
	srv := startServer(t)
	c := &cli{bin: bin, addr: srv.addr, home: t.TempDir(), ok: map[string]bool{}}
	t.Logf("sundial at %s; %d documented temporal commands", srv.addr, len(docs))

	runIDs := map[string]string{}
	steps := []struct {
		name string
		fn   func(t *testing.T)
	}{
		{"SearchAttributeCreate", func(t *testing.T) {
			out := c.run(t, "operator", "search-attribute", "create", "--address", docsAddress, "--name", "Region", "--type", "Keyword")
			mustContain(t, "create", out, "Search attributes have been added")
			// Same name and type again: idempotent.
			c.run(t, "operator", "search-attribute", "create", "--namespace", "default", "--name", "Region", "--type", "Keyword")
			// A type change is refused.
			errOut := c.fail(t, "operator", "search-attribute", "create", "--namespace", "default", "--name", "Region", "--type", "Int")
			mustContain(t, "create with another type", errOut, "Region", "already exists")
		}},
		{"SearchAttributeList", func(t *testing.T) {
			out := c.run(t, "operator", "search-attribute", "list", "--address", docsAddress)
			mustLine(t, "list", out, "Name", "Type")
			mustLine(t, "list", out, "Region", "Keyword")
			mustLine(t, "list", out, "CustomKeywordField", "Keyword")
			mustLine(t, "list", out, "CustomIntField", "Int")
			mustLine(t, "list", out, "WorkflowType", "Keyword")
			var sa struct {
				Custom map[string]string `json:"customAttributes"`
				System map[string]string `json:"systemAttributes"`
			}
			c.runJSON(t, &sa, "operator", "search-attribute", "list", "--namespace", "default")
			for name, typ := range map[string]string{
				"Region": "KEYWORD", "CustomKeywordField": "KEYWORD", "CustomStringField": "TEXT",
				"CustomTextField": "TEXT", "CustomIntField": "INT", "CustomDoubleField": "DOUBLE",
				"CustomBoolField": "BOOL", "CustomDatetimeField": "DATETIME",
			} {
				if got := sa.Custom[name]; got != "INDEXED_VALUE_TYPE_"+typ {
					t.Errorf("custom attribute %s: type %q, want INDEXED_VALUE_TYPE_%s", name, got, typ)
				}
			}
			for _, name := range []string{"WorkflowType", "ExecutionStatus", "StartTime", "CloseTime", "WorkflowId"} {
				if sa.System[name] == "" {
					t.Errorf("system attribute %s missing: %v", name, sa.System)
				}
			}
		}},
		{"WorkflowStart", func(t *testing.T) {
			out := c.run(t, "workflow", "start", "--address", docsAddress, "--type", "OrderWorkflow", "--task-queue", "orders",
				"--workflow-id", "order-1", "--search-attribute", `Region="eu"`)
			mustContain(t, "start", out, "Running execution:")
			mustLine(t, "start", out, "WorkflowId", "order-1")
			mustLine(t, "start", out, "Type", "OrderWorkflow")
			mustLine(t, "start", out, "TaskQueue", "orders")
			for _, w := range []struct{ id, typ string }{{"order-2", "OrderWorkflow"}, {"other-1", "OtherWorkflow"}} {
				args := []string{"workflow", "start", "--namespace", "default", "--type", w.typ, "--task-queue", "orders", "--workflow-id", w.id}
				if w.id == "order-2" {
					args = append(args, "--search-attribute", `Region="us"`, "--search-attribute", `CustomKeywordField="gold"`, "--search-attribute", "CustomIntField=15")
				}
				var started struct {
					WorkflowID string `json:"workflowId"`
					RunID      string `json:"runId"`
					Type       string `json:"type"`
				}
				c.runJSON(t, &started, args...)
				if started.WorkflowID != w.id || started.Type != w.typ || started.RunID == "" {
					t.Errorf("start %s: got %+v", w.id, started)
				}
				runIDs[w.id] = started.RunID
			}
			// --fail-existing on a running id is refused.
			errOut := c.fail(t, "workflow", "start", "--namespace", "default", "--type", "OrderWorkflow", "--task-queue", "orders", "--workflow-id", "order-1", "--fail-existing")
			mustContain(t, "start --fail-existing", errOut, "already")
			// A search attribute value of the wrong type is refused.
			errOut = c.fail(t, "workflow", "start", "--namespace", "default", "--type", "OrderWorkflow", "--task-queue", "orders", "--workflow-id", "bad-1", "--search-attribute", `CustomIntField="abc"`)
			mustContain(t, "start with a bad search attribute", errOut, "CustomIntField")
		}},
		{"WorkflowList", func(t *testing.T) {
			const q = "WorkflowType = 'OrderWorkflow' AND ExecutionStatus = 'Running'"
			out := c.run(t, "workflow", "list", "--address", docsAddress, "--query", q)
			mustLine(t, "list", out, "Status", "WorkflowId", "Type", "StartTime")
			mustLine(t, "list", out, "Running", "order-1", "OrderWorkflow", "now")
			mustLine(t, "list", out, "Running", "order-2", "OrderWorkflow", "now")
			if strings.Contains(out, "other-1") {
				t.Errorf("list %q shows other-1:\n%s", q, out)
			}
			execs := c.list(t, q)
			if got := ids(execs); !equal(got, []string{"order-1", "order-2"}) {
				t.Fatalf("list %q: ids %v", q, got)
			}
			// Running workflows come newest first.
			if execs[0].Execution.WorkflowID != "order-2" {
				t.Errorf("list %q: order %v, want order-2 (newest) first", q, []string{execs[0].Execution.WorkflowID, execs[1].Execution.WorkflowID})
			}
			for _, e := range execs {
				if e.Status != "WORKFLOW_EXECUTION_STATUS_RUNNING" || e.Type.Name != "OrderWorkflow" || e.TaskQueue != "orders" {
					t.Errorf("list: %+v", e)
				}
				if e.Execution.WorkflowID == "order-2" {
					sa := e.SearchAttributes.IndexedFields
					if sa["Region"] != "us" || sa["CustomKeywordField"] != "gold" || fmt.Sprint(sa["CustomIntField"]) != "15" {
						t.Errorf("order-2 search attributes: %v", sa)
					}
				}
			}
			if got := ids(c.list(t, "")); !equal(got, []string{"order-1", "order-2", "other-1"}) {
				t.Errorf("list with no query: %v", got)
			}
			for query, want := range map[string][]string{
				"Region = 'eu'":                              {"order-1"},
				"Region IN ('eu', 'us')":                     {"order-1", "order-2"},
				"CustomKeywordField = 'gold'":                {"order-2"},
				"CustomIntField BETWEEN 10 AND 20":           {"order-2"},
				"WorkflowId STARTS_WITH 'order-'":            {"order-1", "order-2"},
				"Region IS NULL":                             {"other-1"},
				"WorkflowType = 'OtherWorkflow'":             {"other-1"},
				"ExecutionStatus = 'Completed'":              nil,
				"TaskQueue = 'orders' AND CloseTime IS NULL": {"order-1", "order-2", "other-1"},
			} {
				if got := ids(c.list(t, query)); !equal(got, want) {
					t.Errorf("list %q: %v, want %v", query, got, want)
				}
			}
			// --limit caps the output.
			var limited []execution
			c.runJSON(t, &limited, "workflow", "list", "--namespace", "default", "--limit", "1")
			if len(limited) != 1 {
				t.Errorf("list --limit 1: %d executions", len(limited))
			}
		}},
		{"WorkflowCount", func(t *testing.T) {
			out := c.run(t, "workflow", "count", "--address", docsAddress, "--query", "GROUP BY ExecutionStatus")
			mustLine(t, "count", out, "Total:", "3")
			mustLine(t, "count", out, "Group", "total:", "3,", "values:", "Running")
			out = c.run(t, "workflow", "count", "--address", docsAddress, "--query", "Region = 'eu'")
			mustLine(t, "count", out, "Total:", "1")
			if n := c.count(t, "WorkflowType = 'OrderWorkflow'"); n.Count != "2" || len(n.Groups) != 0 {
				t.Errorf("count OrderWorkflow: %+v", n)
			}
			if n := c.count(t, ""); n.Count != "3" {
				t.Errorf("count all: %+v", n)
			}
		}},
		{"WorkflowDescribe", func(t *testing.T) {
			out := c.run(t, "workflow", "describe", "--address", docsAddress, "--workflow-id", "order-1")
			mustContain(t, "describe", out, "Execution Info:")
			mustLine(t, "describe", out, "WorkflowId", "order-1")
			mustLine(t, "describe", out, "Type", "OrderWorkflow")
			mustLine(t, "describe", out, "TaskQueue", "orders")
			mustLine(t, "describe", out, "Namespace", "default")
			mustContain(t, "describe", out, "Region", `eu`)
			d := c.describe(t, "order-2")
			if d.Execution.WorkflowID != "order-2" || d.Execution.RunID != runIDs["order-2"] || d.Type.Name != "OrderWorkflow" ||
				d.Status != "WORKFLOW_EXECUTION_STATUS_RUNNING" || d.SearchAttributes.IndexedFields["Region"] != "us" {
				t.Errorf("describe order-2: %+v (run id %s)", d, runIDs["order-2"])
			}
			errOut := c.fail(t, "workflow", "describe", "--namespace", "default", "--workflow-id", "no-such-workflow")
			mustContain(t, "describe unknown", errOut, "not found")
		}},
		{"WorkflowSignal", func(t *testing.T) {
			out := c.run(t, "workflow", "signal", "--namespace", "default", "--workflow-id", "order-1", "--name", "approve", "--input", `{"ok":true}`)
			mustContain(t, "signal", out, "Signal workflow succeeded")
			h := c.history(t, "order-1")
			last := h[len(h)-1]
			if last.EventType != "EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED" || last.Signaled["signalName"] != "approve" {
				t.Fatalf("last event of order-1 after signal: %+v", last)
			}
			// `workflow show -o json` gives raw payloads (for replayers): the input is base64 JSON.
			b, _ := json.Marshal(last.Signaled["input"])
			if !strings.Contains(string(b), `"data":"eyJvayI6dHJ1ZX0="`) { // base64 of {"ok":true}
				t.Errorf("signal input: %s", b)
			}
			errOut := c.fail(t, "workflow", "signal", "--namespace", "default", "--workflow-id", "no-such-workflow", "--name", "approve")
			mustContain(t, "signal unknown", errOut, "not found")

			out = c.run(t, "workflow", "cancel", "--namespace", "default", "--workflow-id", "other-1")
			mustContain(t, "cancel", out, "Canceled workflow")
			h = c.history(t, "other-1")
			if last := h[len(h)-1]; last.EventType != "EVENT_TYPE_WORKFLOW_EXECUTION_CANCEL_REQUESTED" {
				t.Errorf("last event of other-1 after cancel: %+v", last)
			}
		}},
		{"WorkflowTerminate", func(t *testing.T) {
			out := c.run(t, "workflow", "terminate", "--namespace", "default", "--workflow-id", "order-2", "--reason", "cli-test")
			mustContain(t, "terminate", out, "Workflow terminated")
			if d := c.describe(t, "order-2"); d.Status != "WORKFLOW_EXECUTION_STATUS_TERMINATED" {
				t.Errorf("order-2 after terminate: %s", d.Status)
			}
			h := c.history(t, "order-2")
			last := h[len(h)-1]
			if last.EventType != "EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED" || last.Term["reason"] != "cli-test" {
				t.Errorf("last event of order-2: %+v", last)
			}
			g := groups(c.count(t, "GROUP BY ExecutionStatus"))
			if g["Running"] != "2" || g["Terminated"] != "1" || len(g) != 2 {
				t.Errorf("count GROUP BY ExecutionStatus after terminate: %v", g)
			}
			if got := ids(c.list(t, "ExecutionStatus = 'Terminated'")); !equal(got, []string{"order-2"}) {
				t.Errorf("list Terminated: %v", got)
			}
			errOut := c.fail(t, "workflow", "terminate", "--namespace", "default", "--workflow-id", "order-2", "--reason", "again")
			mustContain(t, "terminate closed", errOut, "already completed")
		}},
		{"WorkflowShow", func(t *testing.T) {
			out := c.run(t, "workflow", "show", "--address", docsAddress, "--workflow-id", "order-1")
			mustContain(t, "show", out, "Progress:")
			for i, typ := range []string{"WorkflowExecutionStarted", "WorkflowTaskScheduled", "WorkflowExecutionSignaled"} {
				found := false
				for _, line := range strings.Split(out, "\n") {
					f := strings.Fields(line)
					if len(f) == 3 && f[0] == fmt.Sprint(i+1) && f[2] == typ {
						found = true
					}
				}
				if !found {
					t.Errorf("show: no event %d %s:\n%s", i+1, typ, out)
				}
			}
			var types []string
			for i, e := range c.history(t, "order-1") {
				if e.EventID != fmt.Sprint(i+1) {
					t.Errorf("event %d has id %s", i+1, e.EventID)
				}
				types = append(types, e.EventType)
			}
			want := []string{"EVENT_TYPE_WORKFLOW_EXECUTION_STARTED", "EVENT_TYPE_WORKFLOW_TASK_SCHEDULED", "EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED"}
			if !equal(types, want) {
				t.Errorf("history of order-1: %v, want %v", types, want)
			}
		}},
		{"WorkflowDelete", func(t *testing.T) {
			// order-1 is still running: delete terminates it first.
			out := c.run(t, "workflow", "delete", "--address", docsAddress, "--workflow-id", "order-1")
			mustContain(t, "delete", out, "Delete workflow succeeded")
			deadline := time.Now().Add(10 * time.Second)
			for {
				r := c.exec("workflow", "describe", "--namespace", "default", "--workflow-id", "order-1")
				if r.err != nil && strings.Contains(r.stderr, "not found") {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("order-1 still describable 10s after delete:\n%s", r)
				}
				time.Sleep(100 * time.Millisecond)
			}
			if got := ids(c.list(t, "")); !equal(got, []string{"order-2", "other-1"}) {
				t.Errorf("list after delete: %v", got)
			}
			if n := c.count(t, "WorkflowId = 'order-1'"); n.Count != "0" {
				t.Errorf("count order-1 after delete: %s", n.Count)
			}
			errOut := c.fail(t, "workflow", "show", "--namespace", "default", "--workflow-id", "order-1")
			mustContain(t, "show deleted", errOut, "not found")
			// The id can be reused.
			c.run(t, "workflow", "start", "--namespace", "default", "--type", "OrderWorkflow", "--task-queue", "orders", "--workflow-id", "order-1")
			if d := c.describe(t, "order-1"); d.Status != "WORKFLOW_EXECUTION_STATUS_RUNNING" || len(d.SearchAttributes.IndexedFields) != 0 {
				t.Errorf("order-1 restarted after delete: %+v", d)
			}
		}},
		{"SearchAttributeRemove", func(t *testing.T) {
			// Without --yes the CLI asks for confirmation; with no terminal it aborts.
			errOut := c.fail(t, "operator", "search-attribute", "remove", "--namespace", "default", "--name", "Region")
			mustContain(t, "remove without --yes", errOut, "confirmation")
			out := c.run(t, "operator", "search-attribute", "remove", "--address", docsAddress, "--name", "Region", "--yes")
			mustContain(t, "remove", out, "Search attributes have been removed")
			out = c.run(t, "operator", "search-attribute", "list", "--namespace", "default")
			if fieldsLine(out, "Region", "Keyword") {
				t.Errorf("Region still listed after remove:\n%s", out)
			}
			mustLine(t, "list after remove", out, "CustomKeywordField", "Keyword")
			errOut = c.fail(t, "workflow", "list", "--namespace", "default", "--query", "Region = 'eu'")
			mustContain(t, "query on a removed attribute", errOut, "Region", "not a valid search attribute")
			errOut = c.fail(t, "operator", "search-attribute", "remove", "--namespace", "default", "--name", "Region", "--yes")
			mustContain(t, "remove twice", errOut, "Region")
		}},
		{"Namespace", func(t *testing.T) {
			out := c.run(t, "operator", "namespace", "list")
			mustLine(t, "namespace list", out, "NamespaceInfo.Name", "default")
			mustLine(t, "namespace list", out, "NamespaceInfo.State", "Registered")
			var nss []namespace
			c.runJSON(t, &nss, "operator", "namespace", "list")
			if len(nss) != 1 || nss[0].NamespaceInfo.Name != "default" || nss[0].NamespaceInfo.ID == "" {
				t.Errorf("namespace list: %+v", nss)
			}
			out = c.run(t, "operator", "namespace", "describe", "--namespace", "default")
			mustLine(t, "namespace describe", out, "NamespaceInfo.Name", "default")
			mustLine(t, "namespace describe", out, "Config.WorkflowExecutionRetentionTtl", "24h0m0s")
			var ns namespace
			c.runJSON(t, &ns, "operator", "namespace", "describe", "--namespace", "default")
			if ns.NamespaceInfo.Name != "default" || ns.NamespaceInfo.State != "NAMESPACE_STATE_REGISTERED" || ns.Config.Retention != "86400s" {
				t.Errorf("namespace describe: %+v", ns)
			}
			errOut := c.fail(t, "operator", "namespace", "describe", "--namespace", "no-such-namespace")
			mustContain(t, "describe unknown namespace", errOut, "no-such-namespace", "not found")
		}},
		{"BadQueries", func(t *testing.T) {
			for _, tc := range []struct {
				cmd, query string
				wants      []string
			}{
				{"list", "WorkflowType = ", []string{"invalid query", "syntax error"}},
				{"list", "WorkflowType = 'a' AND (", []string{"invalid query"}},
				{"count", "NoSuchAttr = 'x'", []string{"NoSuchAttr", "not a valid search attribute"}},
				{"list", "CustomIntField = 'abc'", []string{"CustomIntField", "Int"}},
				{"count", "GROUP BY WorkflowType", []string{"GROUP BY"}},
			} {
				errOut := c.fail(t, "workflow", tc.cmd, "--namespace", "default", "--query", tc.query)
				mustContain(t, fmt.Sprintf("%s %q", tc.cmd, tc.query), errOut, tc.wants...)
			}
		}},
	}
	for _, s := range steps {
		if !t.Run(s.name, s.fn) {
			// Later steps build on earlier ones; go on only for an overview.
			t.Logf("step %s failed", s.name)
		}
	}

	t.Run("DocumentedCommandsRan", func(t *testing.T) {
		for _, d := range docs {
			if !c.ok[commandKey(d.args)] {
				t.Errorf("%s: `temporal %s` is not run successfully by TestCLI; add it to a step (or fix the docs)", d.where, shellQuote(d.args))
			}
		}
	})
}

// ---- documented commands ----

type docCommand struct {
	where string   // file:line
	args  []string // after "temporal"
}

// documentedCommands extracts the `temporal ...` commands from the sh/bash
// code blocks of docFiles (with backslash line continuations).
func documentedCommands(t *testing.T) []docCommand {
	t.Helper()
	var cmds []docCommand
	for _, f := range docFiles {
		b, err := os.ReadFile(filepath.Join(repoRoot(), f))
		if err != nil {
			t.Fatal(err)
		}
		cmds = append(cmds, parseDocCommands(t, f, string(b))...)
	}
	return cmds
}

func parseDocCommands(t *testing.T, file, text string) []docCommand {
	var cmds []docCommand
	lines := strings.Split(text, "\n")
	inBlock, shBlock := false, false
	for i := 0; i < len(lines); i++ {
		line := strings.TrimSpace(lines[i])
		if strings.HasPrefix(line, "```") {
			if inBlock {
				inBlock = false
			} else {
				inBlock = true
				lang := strings.TrimPrefix(line, "```")
				shBlock = lang == "sh" || lang == "bash" || lang == "shell" || lang == "console"
			}
			continue
		}
		if !inBlock || !shBlock {
			continue
		}
		start := i + 1
		cmd := strings.TrimPrefix(line, "$ ")
		for strings.HasSuffix(cmd, `\`) && i+1 < len(lines) {
			i++
			cmd = strings.TrimSuffix(cmd, `\`) + " " + strings.TrimSpace(lines[i])
		}
		if cmd == "" || strings.HasPrefix(cmd, "#") {
			continue
		}
		words, err := shellWords(cmd)
		if err != nil {
			t.Fatalf("%s:%d: %v: %s", file, start, err, cmd)
		}
		if len(words) > 0 && words[0] == "temporal" {
			cmds = append(cmds, docCommand{where: fmt.Sprintf("%s:%d", file, start), args: words[1:]})
		}
	}
	return cmds
}

// shellWords splits a command line as sh would for plain words, '...' and
// "..." (no expansions).
func shellWords(s string) ([]string, error) {
	var words []string
	var cur strings.Builder
	inWord := false
	for i := 0; i < len(s); i++ {
		ch := s[i]
		switch {
		case ch == ' ' || ch == '\t':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		case ch == '\'':
			j := strings.IndexByte(s[i+1:], '\'')
			if j < 0 {
				return nil, errors.New("unterminated '")
			}
			cur.WriteString(s[i+1 : i+1+j])
			i += j + 1
			inWord = true
		case ch == '"':
			inWord = true
			i++
			for ; i < len(s) && s[i] != '"'; i++ {
				if s[i] == '$' || s[i] == '`' {
					return nil, errors.New("shell expansion in \"...\" is not supported")
				}
				if s[i] == '\\' && i+1 < len(s) && strings.IndexByte(`"\`, s[i+1]) >= 0 {
					i++
				}
				cur.WriteByte(s[i])
			}
			if i >= len(s) {
				return nil, errors.New(`unterminated "`)
			}
		case ch == '\\' && i+1 < len(s):
			i++
			cur.WriteByte(s[i])
			inWord = true
		case strings.IndexByte("|;&<>$`()", ch) >= 0:
			return nil, fmt.Errorf("shell syntax %q is not supported", ch)
		default:
			cur.WriteByte(ch)
			inWord = true
		}
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words, nil
}

func shellQuote(args []string) string {
	var out []string
	for _, a := range args {
		if a != "" && strings.IndexFunc(a, func(r rune) bool {
			return !(r == '-' || r == '_' || r == '.' || r == ':' || r == '/' || r == '=' ||
				(r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9'))
		}) < 0 {
			out = append(out, a)
		} else {
			out = append(out, "'"+strings.ReplaceAll(a, "'", `'\''`)+"'")
		}
	}
	return strings.Join(out, " ")
}

// TestShellWords checks the docs parser (runs without the CLI).
func TestShellWords(t *testing.T) {
	for in, want := range map[string][]string{
		`temporal workflow list --query "WorkflowType = 'A'"`:      {"temporal", "workflow", "list", "--query", "WorkflowType = 'A'"},
		`temporal workflow start --search-attribute 'Region="eu"'`: {"temporal", "workflow", "start", "--search-attribute", `Region="eu"`},
		`a  b\ c "d\"e"`: {"a", "b c", `d"e`},
	} {
		got, err := shellWords(in)
		if err != nil || !equal(got, want) || len(got) != len(want) {
			t.Errorf("shellWords(%s) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := shellWords(`temporal workflow list | head`); err == nil {
		t.Errorf("a pipe was accepted")
	}
	// The documented commands parse.
	if n := len(documentedCommands(t)); n == 0 {
		t.Errorf("no temporal commands found in %v", docFiles)
	}
}
