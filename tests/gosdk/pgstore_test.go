package gosdk

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/sundial-io/sundial/internal/server"
	"github.com/sundial-io/sundial/internal/store/pgstore/pgtest"
)

// Workflows through the Go SDK against a server whose store is a
// throwaway PostgreSQL database (server.Config.Postgres).

// newPGEnv starts a PostgreSQL server, a database and a Sundial server on
// it; the returned restart stops the Sundial server and starts a new one
// on the same database.
func newPGEnv(t *testing.T) (e *env, pg *pgtest.Server, restart func()) {
	t.Helper()
	pg = pgtest.Start(t, pgtest.Options{})
	db := "sdk_" + strings.ReplaceAll(uuid.NewString()[:8], "-", "")
	url, err := pg.CreateDatabase(db)
	if err != nil {
		t.Fatal(err)
	}
	e = &env{t: t, tq: "tq-" + uuid.NewString()[:8]}
	start := func() {
		srv, err := server.Start(server.Config{Addr: "127.0.0.1:0", Postgres: url, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
		if err != nil {
			t.Fatalf("start server on PostgreSQL: %v", err)
		}
		if want := fmt.Sprintf("PostgreSQL 127.0.0.1:%d/%s", pg.Port, db); srv.DataDir() != "" || srv.StoreDescription() != want {
			t.Fatalf("server on PostgreSQL: data dir %q, store %q", srv.DataDir(), srv.StoreDescription())
		}
		e.srv = srv
		c, err := client.Dial(client.Options{HostPort: srv.Addr(), Logger: quietLogger{}})
		if err != nil {
			t.Fatalf("dial: %v", err)
		}
		e.c = c
	}
	start()
	t.Cleanup(e.stop)
	return e, pg, func() { e.stop(); start() }
}

// PgGreet is the activity of the PostgreSQL tests.
func PgGreet(ctx context.Context, name string) (string, error) { return "hello " + name, nil }

// PgChild is the child workflow of PgParent.
func PgChild(ctx workflow.Context, n int) (int, error) { return n * 10, nil }

// PgParent runs an activity, a timer, waits for a signal, runs a child,
// and continues as new once (round 0 -> 1) before returning.
func PgParent(ctx workflow.Context, round int) (string, error) {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 10 * time.Second,
		RetryPolicy:         &temporal.RetryPolicy{MaximumAttempts: 3},
	})
	var greeting string
	if err := workflow.ExecuteActivity(ctx, PgGreet, fmt.Sprint("round ", round)).Get(ctx, &greeting); err != nil {
		return "", err
	}
	if err := workflow.Sleep(ctx, 50*time.Millisecond); err != nil {
		return "", err
	}
	var sig string
	workflow.GetSignalChannel(ctx, "go").Receive(ctx, &sig)
	var child int
	if err := workflow.ExecuteChildWorkflow(ctx, PgChild, round+1).Get(ctx, &child); err != nil {
		return "", err
	}
	if round == 0 {
		return "", workflow.NewContinueAsNewError(ctx, PgParent, round+1)
	}
	return fmt.Sprintf("%s/%s/%d", greeting, sig, child), nil
}

// pgSignalUntilDone signals "go" to the workflow's current run until the
// workflow (through its continue-as-new) completes.
func pgSignalUntilDone(t *testing.T, e *env, id string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	done := make(chan error, 1)
	var out string
	go func() { done <- e.c.GetWorkflow(ctx, id, "").Get(ctx, &out) }()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("workflow %s: %v", id, err)
			}
			return out
		case <-tick.C:
			_ = e.c.SignalWorkflow(ctx, id, "", "go", "sig")
		}
	}
}

func pgWorker(e *env) worker.Worker {
	return e.worker(func(w worker.Worker) {
		w.RegisterWorkflow(PgParent)
		w.RegisterWorkflow(PgChild)
		w.RegisterActivity(PgGreet)
	})
}

// TestPostgresWorkflows runs activities, timers, signals, a child and a
// continue-as-new on a PostgreSQL store, then lists and counts them.
func TestPostgresWorkflows(t *testing.T) {
	e, _, _ := newPGEnv(t)
	pgWorker(e)
	const n = 3
	var ids []string
	for i := range n {
		run, err := e.c.ExecuteWorkflow(e.ctx(), e.opts(fmt.Sprint("pg-", i)), PgParent, 0)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, run.GetID())
	}
	for _, id := range ids {
		if out := pgSignalUntilDone(t, e, id); out != "hello round 1/sig/20" {
			t.Fatalf("workflow %s result %q", id, out)
		}
		// The first run continued as new after its activity, timer, signal
		// and child; the second completed.
		var first string
		resp, err := e.c.ListWorkflow(e.ctx(), &workflowservice.ListWorkflowExecutionsRequest{Query: fmt.Sprintf("WorkflowId = '%s'", id)})
		if err != nil {
			t.Fatal(err)
		}
		if len(resp.Executions) != 2 {
			t.Fatalf("workflow %s: %d runs listed, want 2 (continued as new once)", id, len(resp.Executions))
		}
		for _, ex := range resp.Executions {
			if ex.Status == enumspb.WORKFLOW_EXECUTION_STATUS_CONTINUED_AS_NEW {
				first = ex.Execution.RunId
			}
		}
		if first == "" {
			t.Fatalf("workflow %s: no continued-as-new run listed: %v", id, resp.Executions)
		}
		evs := e.history(id, first)
		requireWellFormed(t, evs)
		for _, want := range []enumspb.EventType{
			enumspb.EVENT_TYPE_ACTIVITY_TASK_COMPLETED, enumspb.EVENT_TYPE_TIMER_FIRED,
			enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED, enumspb.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_COMPLETED,
		} {
			if count(evs, want) < 1 {
				t.Fatalf("first run of %s lacks %v: %v", id, want, types(evs))
			}
		}
		if last := evs[len(evs)-1].EventType; last != enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW {
			t.Fatalf("first run of %s ends with %v", id, last)
		}
	}
	// Visibility: n parents of two runs each and 2n children.
	for q, want := range map[string]int64{
		"WorkflowType = 'PgParent' AND ExecutionStatus = 'Completed'":           n,
		"WorkflowType = 'PgParent' AND ExecutionStatus = 'ContinuedAsNew'":      n,
		"WorkflowType = 'PgChild'":                                              2 * n,
		"ExecutionStatus = 'Running'":                                           0,
		fmt.Sprintf("TaskQueue = '%s' AND ExecutionStatus = 'Completed'", e.tq): 3 * n,
	} {
		c, err := e.c.CountWorkflow(e.ctx(), &workflowservice.CountWorkflowExecutionsRequest{Query: q})
		if err != nil || c.Count != want {
			t.Errorf("count %q = %v, %v; want %d", q, c.GetCount(), err, want)
		}
	}
	resp, err := e.c.ListWorkflow(e.ctx(), &workflowservice.ListWorkflowExecutionsRequest{PageSize: 4})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Executions) != 4 || len(resp.NextPageToken) == 0 {
		t.Fatalf("first page: %d executions, next page token %q", len(resp.Executions), resp.NextPageToken)
	}
	seen := map[string]bool{}
	total := 0
	for token := []byte(nil); ; {
		resp, err := e.c.ListWorkflow(e.ctx(), &workflowservice.ListWorkflowExecutionsRequest{PageSize: 4, NextPageToken: token})
		if err != nil {
			t.Fatal(err)
		}
		for i, ex := range resp.Executions {
			if seen[ex.Execution.RunId] {
				t.Fatalf("run %s listed twice", ex.Execution.RunId)
			}
			seen[ex.Execution.RunId] = true
			if i > 0 && ex.CloseTime.AsTime().After(resp.Executions[i-1].CloseTime.AsTime()) {
				t.Fatalf("closed runs not newest first")
			}
			total++
		}
		if token = resp.NextPageToken; len(token) == 0 {
			break
		}
	}
	if total != 4*n {
		t.Fatalf("listed %d runs over pages, want %d", total, 4*n)
	}
}

// TestPostgresRestart stops the server while workflows wait for a signal
// (one in its first run, one after continuing as new) and starts a new
// server on the same database: the workflows finish there.
func TestPostgresRestart(t *testing.T) {
	e, _, restart := newPGEnv(t)
	w := pgWorker(e)
	run, err := e.c.ExecuteWorkflow(e.ctx(), e.opts("pg-restart"), PgParent, 0)
	if err != nil {
		t.Fatal(err)
	}
	id := run.GetID()
	rsWaitHistory(e, id, run.GetRunID(), 10*time.Second, "the timer fired", func(evs []*historypb.HistoryEvent) bool {
		return count(evs, enumspb.EVENT_TYPE_TIMER_FIRED) == 1
	})
	w.Stop()
	restart()
	pgWorker(e)
	if out := pgSignalUntilDone(t, e, id); out != "hello round 1/sig/20" {
		t.Fatalf("result after restart %q", out)
	}
	evs := e.history(id, run.GetRunID())
	requireWellFormed(t, evs)
	if n := count(evs, enumspb.EVENT_TYPE_ACTIVITY_TASK_COMPLETED); n != 1 {
		t.Fatalf("first run: %d activity completions (want 1: not redone after restart): %v", n, types(evs))
	}
	// And a second restart finds the closed runs in the index.
	restart()
	c, err := e.c.CountWorkflow(e.ctx(), &workflowservice.CountWorkflowExecutionsRequest{Query: "WorkflowType = 'PgParent'"})
	if err != nil || c.Count != 2 {
		t.Fatalf("count after second restart = %v, %v; want 2", c.GetCount(), err)
	}
}
