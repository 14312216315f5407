// Package webui_test drives Temporal's Web UI, as served by `sundial start`,
// in headless Chromium, against workflows made through the Go SDK, and checks
// what a person sees and what the buttons do.
package webui_test

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
)

const taskQueue = "webui"

// Workflow ids: one completed, two running (one to be signalled from the
// UI, one to be terminated from it). The running ones carry a search
// attribute that the list filter selects them by.
const (
	doneID      = "ui-greet-done"
	signalID    = "ui-wait-for-signal"
	terminateID = "ui-wait-to-terminate"
	filterValue = "ui-blue"
)

var blue = temporal.NewSearchAttributes(temporal.NewSearchAttributeKeyKeyword("CustomKeywordField").ValueSet(filterValue))

func TestWebUI(t *testing.T) {
	chromium := findChromium(t)
	bin := buildSundial(t, t.TempDir())
	srv := startSundial(t, bin)

	c, err := client.Dial(client.Options{HostPort: srv.addr, Logger: quietLogger{}})
	if err != nil {
		t.Fatalf("dial %s: %v", srv.addr, err)
	}
	defer c.Close()
	w := worker.New(c, taskQueue, worker.Options{})
	w.RegisterWorkflow(Greet)
	w.RegisterWorkflow(Waiter)
	w.RegisterActivity(ComposeGreeting)
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	defer w.Stop()

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	done, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: doneID, TaskQueue: taskQueue}, Greet, "Ada")
	if err != nil {
		t.Fatal(err)
	}
	var greeting string
	if err := done.Get(ctx, &greeting); err != nil || greeting != "Hello, Ada!" {
		t.Fatalf("Greet = %q, %v", greeting, err)
	}
	waiting, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: signalID, TaskQueue: taskQueue, TypedSearchAttributes: blue}, Waiter, "signal-me")
	if err != nil {
		t.Fatal(err)
	}
	doomed, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: terminateID, TaskQueue: taskQueue, TypedSearchAttributes: blue}, Waiter, "terminate-me")
	if err != nil {
		t.Fatal(err)
	}
	// Both Waiters have run their first workflow task (their query handler
	// is registered) once a query answers.
	for _, r := range []client.WorkflowRun{waiting, doomed} {
		if _, err := c.QueryWorkflow(ctx, r.GetID(), r.GetRunID(), waiterQuery); err != nil {
			t.Fatalf("query %s: %v", r.GetID(), err)
		}
	}

	b := newBrowser(t, chromium)
	ns := srv.ui + "/namespaces/default"
	page := func(r client.WorkflowRun, tab string) string {
		return ns + "/workflows/" + url.PathEscape(r.GetID()) + "/" + r.GetRunID() + "/" + tab
	}

	t.Run("ListShowsIdsAndStatuses", func(t *testing.T) {
		b.t = t
		b.run("open list", chromedp.Navigate(ns+"/workflows"))
		b.waitRows("list", "a row per workflow with its status", func(rows []string) bool {
			return hasRow(rows, doneID, "COMPLETED", "Greet") &&
				hasRow(rows, signalID, "RUNNING", "Waiter") &&
				hasRow(rows, terminateID, "RUNNING", "Waiter")
		})
		b.waitText("list", "3 Workflows")
		b.screenshot("workflow-list")
	})

	t.Run("CompletedHistoryListsEvents", func(t *testing.T) {
		b.t = t
		b.open("history", page(done, "history"),
			"Workflow Execution Started", "Workflow Task Completed", "Activity Task Scheduled",
			"Activity Task Started", "Activity Task Completed", "Workflow Execution Completed",
			"ComposeGreeting", `"Hello, Ada!"`)
		b.screenshot("completed-history")
	})

	t.Run("QueriesTabRunsQuery", func(t *testing.T) {
		b.t = t
		b.open("queries tab", page(waiting, "query"), "Query Type", "Run Query")
		b.click("run query", "button", "Run Query")
		b.waitText("query result", `signal-me is waiting for "finish"`)
		b.screenshot("query-result")
	})

	t.Run("SearchAttributeFilterNarrowsList", func(t *testing.T) {
		b.t = t
		q := url.Values{"query": {`CustomKeywordField="` + filterValue + `"`}}
		b.run("open filtered list", chromedp.Navigate(ns+"/workflows?"+q.Encode()))
		rows := b.waitRows("filtered list", "only the two tagged workflows", func(rows []string) bool {
			return hasRow(rows, signalID) && hasRow(rows, terminateID) && !hasRow(rows, doneID)
		})
		if n := countRows(rows, "ui-"); n != 2 {
			t.Fatalf("filtered list has %d workflow rows, want 2: %q", n, rows)
		}
		b.waitText("filtered list", "2 Workflows")
		b.screenshot("filtered-list")
	})

	// Pages with nothing to list, or whose API Sundial does not implement,
	// show the UI's own empty state or message, not an error page. (Nexus is
	// offered since synchronous operations were built: with no endpoint yet
	// the page shows its "Get Started" state.)
	t.Run("UnsupportedPagesShowUIMessages", func(t *testing.T) {
		b.t = t
		b.open("nexus page", srv.ui+"/nexus", "Get Started", "Create Nexus Endpoint")
		b.screenshot("nexus")
		b.open("batch page", ns+"/batch-operations", "Batch Operations", "No Batch Operations")
		b.screenshot("batch-operations")
		b.open("archival page", ns+"/archival", "This namespace is currently not enabled for archival")
	})

	t.Run("SignalFromUI", func(t *testing.T) {
		b.t = t
		b.open("workflow page", page(waiting, "history"), signalID, "RUNNING", "More Actions")
		b.click("open More Actions", `button[aria-controls="workflow-actions"]`, "More Actions")
		b.click("choose Send a Signal", `li[data-testid="signal-button"]`, "Send a Signal")
		b.click("open signal names", `#signal-confirmation-modal [data-testid="signal-select-button"]`, "")
		b.click("choose the signal", `#signal-select-select li[role="option"]`, waiterSignal)
		b.typeInto("type signal input", `#signal-confirmation-modal [role="textbox"]`, `"browser"`)
		b.screenshot("signal-dialog")
		b.click("submit signal", `#signal-confirmation-modal [data-testid="confirm-modal-button"]`, "Submit")

		var got string
		if err := waiting.Get(withTimeout(t, 30*time.Second), &got); err != nil {
			t.Fatalf("signalled workflow did not complete: %v", err)
		}
		if got != "finished by browser" {
			t.Fatalf("workflow result %q, want %q (the signal's input typed in the UI)", got, "finished by browser")
		}
		b.open("signalled page", page(waiting, "history"), "COMPLETED", "Workflow Execution Signaled", `"finished by browser"`)
		b.screenshot("signalled")
	})

	t.Run("TerminateFromUI", func(t *testing.T) {
		b.t = t
		const reason = "stopped from the browser"
		b.open("workflow page", page(doomed, "history"), terminateID, "RUNNING", "More Actions")
		b.click("open More Actions", `button[aria-controls="workflow-actions"]`, "More Actions")
		b.click("choose Terminate", `li[data-testid="terminate-button"]`, "Terminate")
		b.typeInto("type reason", `#workflow-termination-reason`, reason)
		b.click("confirm terminate", `#terminate-confirmation-modal [data-testid="confirm-modal-button"]`, "Terminate")
		err := doomed.Get(withTimeout(t, 30*time.Second), nil)
		var term *temporal.TerminatedError
		if !errors.As(err, &term) {
			t.Fatalf("workflow after Terminate in the UI: err %v, want a TerminatedError", err)
		}
		d, err := c.DescribeWorkflowExecution(withTimeout(t, 10*time.Second), doomed.GetID(), doomed.GetRunID())
		if err != nil {
			t.Fatal(err)
		}
		if s := d.GetWorkflowExecutionInfo().GetStatus(); s != enumspb.WORKFLOW_EXECUTION_STATUS_TERMINATED {
			t.Fatalf("status %v, want TERMINATED", s)
		}
		it := c.GetWorkflowHistory(withTimeout(t, 10*time.Second), doomed.GetID(), doomed.GetRunID(), false, enumspb.HISTORY_EVENT_FILTER_TYPE_CLOSE_EVENT)
		ev, err := it.Next()
		if err != nil {
			t.Fatal(err)
		}
		if a := ev.GetWorkflowExecutionTerminatedEventAttributes(); a == nil || a.GetReason() != reason {
			t.Fatalf("close event %v, want WorkflowExecutionTerminated with reason %q", ev, reason)
		}
		b.open("terminated page", page(doomed, "history"), "TERMINATED", "Workflow Execution Terminated", reason)
		b.screenshot("terminated")
	})
}

// hasRow reports whether one row contains every one of parts.
func hasRow(rows []string, parts ...string) bool {
	for _, r := range rows {
		ok := true
		for _, p := range parts {
			if !strings.Contains(r, p) {
				ok = false
				break
			}
		}
		if ok {
			return true
		}
	}
	return false
}

func countRows(rows []string, part string) int {
	n := 0
	for _, r := range rows {
		if strings.Contains(r, part) {
			n++
		}
	}
	return n
}

func withTimeout(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// quietLogger keeps the SDK's logging out of the test output.
type quietLogger struct{}

func (quietLogger) Debug(string, ...any) {}
func (quietLogger) Info(string, ...any)  {}
func (quietLogger) Warn(string, ...any)  {}
func (quietLogger) Error(string, ...any) {}
