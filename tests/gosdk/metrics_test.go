package gosdk

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/sundial-io/sundial/internal/server"
)

// Workflows of the metrics workload.

func metricsActivity(ctx context.Context) (string, error) {
	if activity.GetInfo(ctx).Attempt < 2 {
		return "", errors.New("first attempt fails")
	}
	return "ok", nil
}

func MetricsOK(ctx workflow.Context) (string, error) {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 10 * time.Second,
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: 10 * time.Millisecond},
	})
	var s string
	err := workflow.ExecuteActivity(ctx, metricsActivity).Get(ctx, &s)
	return s, err
}

func MetricsFail(ctx workflow.Context) error {
	return temporal.NewApplicationError("fails on purpose", "Boom")
}

func MetricsContinue(ctx workflow.Context, n int) error {
	if n == 0 {
		return workflow.NewContinueAsNewError(ctx, MetricsContinue, 1)
	}
	return nil
}

// MetricsWait waits until it is canceled, terminated or times out.
func MetricsWait(ctx workflow.Context) error {
	return workflow.Await(ctx, func() bool { return false })
}

// scrape reads /metrics over HTTP and parses Prometheus' text format.
func scrape(t *testing.T, addr string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatalf("scrape: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("scrape: HTTP %d", resp.StatusCode)
	}
	var p expfmt.TextParser
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parse /metrics: %v", err)
	}
	return fams
}

// metricSum adds up the samples of a family whose labels include want: a
// counter's or gauge's value, a histogram's sample count.
func metricSum(fams map[string]*dto.MetricFamily, name string, want map[string]string) (float64, bool) {
	f := fams[name]
	if f == nil {
		return 0, false
	}
	var sum float64
	found := false
next:
	for _, m := range f.Metric {
		for k, v := range want {
			ok := false
			for _, l := range m.Label {
				if l.GetName() == k && l.GetValue() == v {
					ok = true
				}
			}
			if !ok {
				continue next
			}
		}
		found = true
		switch {
		case m.Counter != nil:
			sum += m.Counter.GetValue()
		case m.Gauge != nil:
			sum += m.Gauge.GetValue()
		case m.Histogram != nil:
			sum += float64(m.Histogram.GetSampleCount())
		case m.Untyped != nil:
			sum += m.Untyped.GetValue()
		}
	}
	return sum, found
}

// TestMetricsScrape runs a Go SDK workload against a server with metrics
// on, then scrapes /metrics and checks that each family moved by what the
// workload did.
func TestMetricsScrape(t *testing.T) {
	dir := t.TempDir()
	srv, err := server.Start(server.Config{Addr: "127.0.0.1:0", DataDir: dir, MetricsAddr: "127.0.0.1:0",
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	stopped := false
	defer func() {
		if !stopped {
			srv.Stop()
		}
	}()
	if srv.MetricsAddr() == "" {
		t.Fatal("metrics not served")
	}
	before := scrape(t, srv.MetricsAddr())
	for _, name := range []string{"go_goroutines", "process_resident_memory_bytes", "sundial_store_disk_bytes", "sundial_workflows_in_memory"} {
		if _, ok := metricSum(before, name, nil); !ok {
			t.Errorf("%s missing before any workload", name)
		}
	}

	c, err := client.Dial(client.Options{HostPort: srv.Addr(), Logger: quietLogger{}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	tq := "metrics-" + uuid.NewString()[:8]
	w := worker.New(c, tq, worker.Options{})
	w.RegisterWorkflow(MetricsOK)
	w.RegisterWorkflow(MetricsFail)
	w.RegisterWorkflow(MetricsContinue)
	w.RegisterWorkflow(MetricsWait)
	w.RegisterActivity(metricsActivity)
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	opts := func(id string) client.StartWorkflowOptions {
		return client.StartWorkflowOptions{ID: id + "-" + uuid.NewString()[:8], TaskQueue: tq}
	}

	const okRuns = 3
	for i := 0; i < okRuns; i++ {
		run, err := c.ExecuteWorkflow(ctx, opts("ok"), MetricsOK)
		if err != nil {
			t.Fatal(err)
		}
		var s string
		if err := run.Get(ctx, &s); err != nil || s != "ok" {
			t.Fatalf("MetricsOK: %q, %v", s, err)
		}
	}
	run, err := c.ExecuteWorkflow(ctx, opts("fail"), MetricsFail)
	if err != nil {
		t.Fatal(err)
	}
	if err := run.Get(ctx, nil); err == nil {
		t.Fatal("MetricsFail succeeded")
	}
	run, err = c.ExecuteWorkflow(ctx, opts("can"), MetricsContinue, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := run.Get(ctx, nil); err != nil {
		t.Fatal(err)
	}
	term, err := c.ExecuteWorkflow(ctx, opts("term"), MetricsWait)
	if err != nil {
		t.Fatal(err)
	}
	canc, err := c.ExecuteWorkflow(ctx, opts("cancel"), MetricsWait)
	if err != nil {
		t.Fatal(err)
	}
	o := opts("timeout")
	o.WorkflowExecutionTimeout = time.Second
	tout, err := c.ExecuteWorkflow(ctx, o, MetricsWait)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.TerminateWorkflow(ctx, term.GetID(), "", "metrics test"); err != nil {
		t.Fatal(err)
	}
	if err := c.CancelWorkflow(ctx, canc.GetID(), ""); err != nil {
		t.Fatal(err)
	}
	for _, r := range []client.WorkflowRun{term, canc, tout} {
		if err := r.Get(ctx, nil); err == nil {
			t.Fatalf("%s closed without error", r.GetID())
		}
	}
	// A workflow on a queue nobody polls waits in the backlog.
	idle := "idle-" + uuid.NewString()[:8]
	if _, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "idle-" + uuid.NewString()[:8], TaskQueue: idle}, MetricsWait); err != nil {
		t.Fatal(err)
	}
	// An expected error (NotFound) and an unknown namespace.
	if _, err := c.DescribeWorkflowExecution(ctx, "no-such-workflow", ""); err == nil {
		t.Fatal("describe of a missing workflow succeeded")
	}
	if _, err := c.WorkflowService().DescribeNamespace(ctx, &workflowservice.DescribeNamespaceRequest{Namespace: "no-such-namespace-" + uuid.NewString()}); err == nil {
		t.Fatal("describe of a missing namespace succeeded")
	}

	after := scrape(t, srv.MetricsAddr())
	moved := func(name string, labels map[string]string) float64 {
		t.Helper()
		a, _ := metricSum(after, name, labels)
		b, _ := metricSum(before, name, labels)
		return a - b
	}
	ns := map[string]string{"namespace": "default"}
	wf := func(typ string) map[string]string {
		return map[string]string{"namespace": "default", "workflowType": typ}
	}
	checks := []struct {
		name   string
		labels map[string]string
		want   float64 // at least
		exact  bool
	}{
		// 3 ok, fail, continue, terminate, cancel, timeout, idle.
		{"service_requests", map[string]string{"operation": "StartWorkflowExecution", "namespace": "default"}, okRuns + 6, true},
		{"service_latency", map[string]string{"operation": "StartWorkflowExecution", "namespace": "default"}, okRuns + 6, true},
		{"service_requests", map[string]string{"operation": "PollWorkflowTaskQueue", "namespace": "default"}, 1, false},
		{"service_requests", map[string]string{"operation": "RespondActivityTaskFailed", "namespace": "default"}, okRuns, true},
		{"service_requests", map[string]string{"operation": "DescribeNamespace", "namespace": "_unknown_"}, 1, false},
		{"service_error_with_type", map[string]string{"operation": "DescribeWorkflowExecution", "error_type": "NotFound"}, 1, true},
		{"sundial_workflow_started", wf("MetricsOK"), okRuns, true},
		{"sundial_workflow_started", wf("MetricsContinue"), 2, true},
		{"workflow_success", wf("MetricsOK"), okRuns, true},
		{"workflow_success", wf("MetricsContinue"), 1, true},
		{"workflow_continued_as_new", wf("MetricsContinue"), 1, true},
		{"workflow_failed", wf("MetricsFail"), 1, true},
		{"workflow_terminate", wf("MetricsWait"), 1, true},
		{"workflow_cancel", wf("MetricsWait"), 1, true},
		{"workflow_timeout", wf("MetricsWait"), 1, true},
		{"workflow_task_attempt", ns, 10, false},
		{"sundial_activity_task_attempt", ns, 2 * okRuns, true},
		{"task_schedule_to_start_latency", map[string]string{"namespace": "default", "taskqueue": tq, "task_type": "Workflow"}, 1, false},
		// The retries are polled; first attempts may be started eagerly
		// (returned with the workflow task completion), which have no wait.
		{"task_schedule_to_start_latency", map[string]string{"namespace": "default", "taskqueue": tq, "task_type": "Activity"}, okRuns, false},
		{"approximate_backlog_count", map[string]string{"namespace": "default", "taskqueue": idle, "task_type": "Workflow"}, 1, true},
		{"persistence_latency", map[string]string{"operation": "Apply"}, 20, false},
		{"persistence_latency", map[string]string{"operation": "Sync"}, 20, false},
		{"persistence_requests", map[string]string{"operation": "Sync"}, 20, false},
		{"sundial_store_fsync_latency", nil, 1, false},
	}
	for _, ck := range checks {
		got := moved(ck.name, ck.labels)
		if got < ck.want || ck.exact && got != ck.want {
			t.Errorf("%s%v moved by %v, want %s%v", ck.name, ck.labels, got, map[bool]string{true: "", false: ">= "}[ck.exact], ck.want)
		}
	}
	// Expected errors are not server errors.
	if got := moved("service_errors", nil); got != 0 {
		t.Errorf("service_errors moved by %v, want 0 (only NotFound errors happened)", got)
	}
	if got, _ := metricSum(after, "sundial_workflows_in_memory", nil); got < 1 {
		t.Errorf("sundial_workflows_in_memory = %v, want >= 1 (the idle workflow is open)", got)
	}
	if got, _ := metricSum(after, "sundial_open_workflows", nil); got != 1 {
		t.Errorf("sundial_open_workflows = %v, want 1 (the idle workflow)", got)
	}
	// The second attempt of each activity is counted in the histogram's
	// buckets above 1.
	if f := after["sundial_activity_task_attempt"]; f != nil {
		for _, m := range f.Metric {
			for _, b := range m.Histogram.Bucket {
				if b.GetUpperBound() == 1 && m.Histogram.GetSampleCount()-b.GetCumulativeCount() < okRuns {
					t.Errorf("activity attempts above 1: %d, want >= %d", m.Histogram.GetSampleCount()-b.GetCumulativeCount(), okRuns)
				}
			}
		}
	}
	// After a restart the open run is counted again (recovered), and
	// counters start from zero in the new process.
	w.Stop()
	c.Close()
	srv.Stop()
	stopped = true
	srv2, err := server.Start(server.Config{Addr: "127.0.0.1:0", DataDir: dir, MetricsAddr: "127.0.0.1:0",
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer srv2.Stop()
	again := scrape(t, srv2.MetricsAddr())
	if got, _ := metricSum(again, "sundial_open_workflows", nil); got != 1 {
		t.Errorf("after restart sundial_open_workflows = %v, want 1", got)
	}
	// Runs are recovered in the background after a restart (issue 15):
	// the backlog comes back shortly after the server serves.
	for deadline := time.Now().Add(5 * time.Second); ; {
		got, _ := metricSum(again, "approximate_backlog_count", map[string]string{"taskqueue": idle})
		if got == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Errorf("after restart the idle queue's backlog = %v, want 1", got)
			break
		}
		time.Sleep(50 * time.Millisecond)
		again = scrape(t, srv2.MetricsAddr())
	}
	if t.Failed() {
		var names []string
		for n := range after {
			names = append(names, n)
		}
		t.Logf("families: %s", strings.Join(names, " "))
		t.Logf("workflow counters: %v", fmt.Sprint(after["workflow_success"]))
	}
}

// TestMetricsOff checks that metrics are off unless asked for.
func TestMetricsOff(t *testing.T) {
	e := newEnv(t)
	if a := e.srv.MetricsAddr(); a != "" {
		t.Fatalf("metrics served on %s without MetricsAddr", a)
	}
}
