package webui_test

import (
	"context"
	"fmt"
	"net/url"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/operatorservice/v1"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/sdk/client"
)

// TestWebUIPages checks the Web UI's pages for the features built after the
// workflow pages: standalone activities, worker deployments, Nexus
// endpoints, schedules, Reset and batch jobs. It makes one of each through
// the Go SDK and gRPC, then opens each page in Chromium and checks that it
// shows them, with no error on the page and no failed API call behind it.
func TestWebUIPages(t *testing.T) {
	chromium := findChromium(t)
	bin := buildSundial(t, t.TempDir())
	srv := startSundial(t, bin)

	c, err := client.Dial(client.Options{HostPort: srv.addr, Logger: quietLogger{}})
	if err != nil {
		t.Fatalf("dial %s: %v", srv.addr, err)
	}
	defer c.Close()
	startPagesWorkers(t, c)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	data := makePagesData(t, ctx, c)

	b := newBrowser(t, chromium)
	w := watchAPI(b)
	ns := srv.ui + "/namespaces/default"

	t.Run("StandaloneActivities", func(t *testing.T) {
		b.t = t
		b.open("activities list", ns+"/activities", activityID)
		b.waitRows("activities list", "a row for the standalone activity", func(rows []string) bool {
			return hasRow(rows, "COMPLETED", activityID, data.activityRunID, "ComposeGreeting")
		})
		checkPage(b, w, "activities list")
		b.screenshot("standalone-activities")
		b.open("activity page", ns+"/activities/"+url.PathEscape(activityID)+"/"+data.activityRunID,
			activityID, "ComposeGreeting", pagesQueue, "Hello, Standalone!")
		checkPage(b, w, "activity page")
		b.screenshot("standalone-activity")
	})

	t.Run("StartStandaloneActivityFromUI", func(t *testing.T) {
		b.t = t
		const id = "ui-form-activity"
		b.open("start form", ns+"/activities/start", "Start Standalone Activity", "Activity Type")
		b.typeInto("type activity id", `#activityId`, id)
		b.typeInto("type task queue", `#taskQueue`, pagesQueue)
		b.typeInto("type activity type", `#activityType`, "ComposeGreeting")
		b.typeInto("type input", `[role="textbox"]`, `"Form"`)
		b.typeInto("type start-to-close timeout", `#startToCloseTimeout`, "10") // seconds, the unit select's default
		b.screenshot("start-activity-form")
		b.click("submit", `[data-testid="start-standalone-activity-submit-button"]`, "Start Standalone Activity")
		// The form stays open and says so in a toast.
		b.waitText("started", "Activity execution started")
		checkPage(b, w, "started")

		var got string
		if err := c.GetActivityHandle(client.GetActivityHandleOptions{ActivityID: id}).Get(withTimeout(t, 10*time.Second), &got); err != nil || got != "Hello, Form!" {
			t.Fatalf("activity started in the UI: result %q, %v; want the worker's greeting for the typed input", got, err)
		}
		b.open("activities list", ns+"/activities", id)
		b.waitRows("activities list", "a row for the activity started in the UI", func(rows []string) bool {
			return hasRow(rows, "COMPLETED", id, "ComposeGreeting")
		})
		checkPage(b, w, "activities list")
	})

	t.Run("WorkerDeployments", func(t *testing.T) {
		b.t = t
		b.open("deployments list", ns+"/workers/deployments", deploymentName)
		b.waitRows("deployments list", "a row for the deployment with its current version", func(rows []string) bool {
			return hasRow(rows, deploymentName, buildID)
		})
		checkPage(b, w, "deployments list")
		b.screenshot("worker-deployments")
		b.open("deployment page", ns+"/workers/deployments/"+url.PathEscape(deploymentName), deploymentName, buildID, "Current")
		checkPage(b, w, "deployment page")
		b.screenshot("worker-deployment")

		// Make the other build current from its row's Actions menu.
		b.run("mark build-two's actions", chromedp.Evaluate(`Array.from(document.querySelectorAll('tr')).find(r =>
			r.innerText.includes('`+nextBuildID+`')).querySelector('button[data-variant="ghost"]').setAttribute('data-row-actions', '1')`, nil))
		b.click("open build-two's actions", `[data-row-actions]`, "")
		b.click("choose Set Current Version", `li`, "Set Current Version")
		b.screenshot("set-current-dialog")
		b.click("confirm", `[data-testid="confirm-modal-button"]`, "")
		b.waitRows("deployment page", "build-two current, build-one not", func(rows []string) bool {
			return hasRow(rows, nextBuildID, "Current") && !hasRow(rows, buildID, "Current")
		})
		checkPage(b, w, "after Set Current Version")
		b.screenshot("worker-deployment-switched")
		d, err := c.WorkerDeploymentClient().GetHandle(deploymentName).Describe(withTimeout(t, 10*time.Second), client.WorkerDeploymentDescribeOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if cur := d.Info.RoutingConfig.CurrentVersion; cur == nil || cur.BuildID != nextBuildID {
			t.Fatalf("current version after Set Current Version in the UI: %+v, want %s", cur, nextBuildID)
		}
	})

	t.Run("NexusEndpoints", func(t *testing.T) {
		b.t = t
		b.open("nexus list", srv.ui+"/nexus", endpointName)
		checkPage(b, w, "nexus list")
		b.screenshot("nexus-endpoints")
		b.open("endpoint page", srv.ui+"/nexus/"+data.endpointID, endpointName, "default", pagesQueue, "Task Queue is Active")
		checkPage(b, w, "endpoint page")
		b.screenshot("nexus-endpoint")
	})

	t.Run("CreateNexusEndpointFromUI", func(t *testing.T) {
		b.t = t
		const name = "ui-form-endpoint"
		b.open("create form", srv.ui+"/nexus/create", "Create Nexus Endpoint")
		b.typeInto("type name", `#name`, name)
		b.typeInto("type target namespace", `#target-namespace`, "default")
		b.click("choose target namespace", `li[role="option"]`, "default")
		b.typeInto("type task queue", `#task-queue`, pagesQueue)
		b.screenshot("nexus-create-form")
		b.click("submit", `button[type="submit"]`, "Create")
		// The UI goes back to the endpoint list, which now has it.
		b.waitRows("list after create", "a row for the new endpoint", func(rows []string) bool {
			return hasRow(rows, name) && hasRow(rows, endpointName)
		})
		checkPage(b, w, "list after create")
		b.screenshot("nexus-created")

		r, err := c.OperatorService().ListNexusEndpoints(withTimeout(t, 10*time.Second), &operatorservice.ListNexusEndpointsRequest{Name: name})
		if err != nil {
			t.Fatal(err)
		}
		if len(r.GetEndpoints()) != 1 {
			t.Fatalf("ListNexusEndpoints(%q) = %v, want the endpoint made in the form", name, r.GetEndpoints())
		}
		tgt := r.GetEndpoints()[0].GetSpec().GetTarget().GetWorker()
		if tgt.GetNamespace() != "default" || tgt.GetTaskQueue() != pagesQueue {
			t.Fatalf("endpoint made in the form targets %v, want default/%s", tgt, pagesQueue)
		}
	})

	t.Run("Schedules", func(t *testing.T) {
		b.t = t
		b.open("schedules list", ns+"/schedules", scheduleID)
		b.waitRows("schedules list", "a row for the schedule", func(rows []string) bool {
			return hasRow(rows, scheduleID, "Greet")
		})
		checkPage(b, w, "schedules list")
		b.screenshot("schedules")
		b.open("schedule page", ns+"/schedules/"+url.PathEscape(scheduleID), scheduleID, "RUNNING", "Greet", scheduledWF, "Every 1 hour(s)")
		checkPage(b, w, "schedule page")
		b.screenshot("schedule")

		// Pause it from its page; the note typed in the dialog is the
		// schedule's note afterwards.
		const note = "paused from the browser"
		b.click("choose Pause", `button`, "Pause")
		b.typeInto("type pause note", `#pause-reason`, note)
		b.click("confirm pause", `#pause-schedule-modal [data-testid="confirm-modal-button"]`, "")
		b.waitText("paused schedule", "PAUSED", "Unpause")
		checkPage(b, w, "paused schedule")
		b.screenshot("schedule-paused")
		d, err := c.ScheduleClient().GetHandle(withTimeout(t, 10*time.Second), scheduleID).Describe(withTimeout(t, 10*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		if st := d.Schedule.State; !st.Paused || st.Note != note {
			t.Fatalf("schedule state after Pause in the UI: %+v, want paused with note %q", st, note)
		}
	})

	t.Run("BatchOperations", func(t *testing.T) {
		b.t = t
		b.open("batch list", ns+"/batch-operations", batchJobID)
		b.waitRows("batch list", "a row for the finished job", func(rows []string) bool {
			return hasRow(rows, "COMPLETED", batchJobID, "TERMINATE")
		})
		checkPage(b, w, "batch list")
		b.screenshot("batch-list")
		b.open("batch page", ns+"/batch-operations/"+url.PathEscape(batchJobID), batchJobID, "COMPLETED", batchReason,
			batchIdentity, "100% complete", "1 succeeded", "0 failed")
		checkPage(b, w, "batch page")
		b.screenshot("batch-job")
	})

	t.Run("ResetFromUI", func(t *testing.T) {
		b.t = t
		const reason = "reset from the browser"
		old := data.resetRun

		b.open("workflow page", ns+"/workflows/"+url.PathEscape(resetID)+"/"+old.GetRunID()+"/history", resetID, "COMPLETED", "More Actions")
		// A closed workflow's page shows Reset as its own button, next to
		// More Actions; it is enabled once the page has the history's
		// workflow task events (the reset points).
		b.click("choose Reset", `button[data-variant="primary"]`, "Reset")
		// The dialog reloads the history to offer its reset points and
		// selects the last one when they arrive.
		w.waitIdle(b, "reset dialog loaded")
		b.typeInto("type reason", `#reset-reason`, reason)
		b.click("open reset points", `#reset-confirmation-modal [data-testid="workflow-reset-event-id-select-button"]`, "")
		b.screenshot("reset-points")
		b.click("choose the first workflow task", `#reset-event-id-select li[role="option"]`, "4 - WorkflowTaskCompleted")
		// The select shows the chosen event (it opens on the last one).
		waitTrue(b, "reset point chosen", "the select to show event 4", `Array.from(document.querySelectorAll(
			'#reset-confirmation-modal input')).some(e => e.getClientRects().length > 0 && e.value === '4 - WorkflowTaskCompleted')`)
		b.screenshot("reset-dialog")
		b.click("confirm reset", `#reset-confirmation-modal [data-testid="confirm-modal-button"]`, "Confirm")
		checkPage(b, w, "reset submitted")

		// The reset made a new run, linked both ways: the old run names it,
		// and its reset event names the old run and the reason.
		var newRun string
		waitUntil(t, withTimeout(t, 30*time.Second), "the reset run to be linked from the old one", func() error {
			d, err := c.DescribeWorkflowExecution(withTimeout(t, 10*time.Second), resetID, old.GetRunID())
			if err != nil {
				return err
			}
			if newRun = d.GetWorkflowExtendedInfo().GetResetRunId(); newRun == "" {
				return errNotYet("no reset run id")
			}
			return nil
		})
		if newRun == old.GetRunID() {
			t.Fatalf("reset run id %q is the old run's", newRun)
		}
		var result string
		if err := c.GetWorkflow(withTimeout(t, 30*time.Second), resetID, newRun).Get(withTimeout(t, 30*time.Second), &result); err != nil || result != "Hello, Reset!" {
			t.Fatalf("reset run result %q, %v", result, err)
		}
		it := c.GetWorkflowHistory(withTimeout(t, 10*time.Second), resetID, newRun, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
		var failed *historypb.WorkflowTaskFailedEventAttributes
		for it.HasNext() {
			ev, err := it.Next()
			if err != nil {
				t.Fatal(err)
			}
			if a := ev.GetWorkflowTaskFailedEventAttributes(); a != nil && a.GetCause() == enumspb.WORKFLOW_TASK_FAILED_CAUSE_RESET_WORKFLOW {
				failed = a
				if ev.GetEventId() != 4 {
					t.Fatalf("reset event is event %d, want 4 (it takes the chosen WorkflowTaskCompleted's place)", ev.GetEventId())
				}
			}
		}
		if failed == nil || failed.GetBaseRunId() != old.GetRunID() || failed.GetNewRunId() != newRun || failed.GetFailure().GetMessage() != reason {
			t.Fatalf("reset event %v, want base run %s, new run %s, reason %q", failed, old.GetRunID(), newRun, reason)
		}
		b.open("reset run page", ns+"/workflows/"+url.PathEscape(resetID)+"/"+newRun+"/history", resetID, "COMPLETED", "Workflow Task Failed", reason)
		checkPage(b, w, "reset run page")
		b.screenshot("reset-run")
	})

	t.Run("PauseActivityFromUI", func(t *testing.T) {
		b.t = t
		const id, reason = "ui-pause-activity", "paused from the browser"
		run, err := c.ExecuteWorkflow(withTimeout(t, 10*time.Second), client.StartWorkflowOptions{ID: id, TaskQueue: pagesQueue}, WaitOnActivity)
		if err != nil {
			t.Fatal(err)
		}
		pending := func() *workflowpb.PendingActivityInfo {
			d, err := c.DescribeWorkflowExecution(withTimeout(t, 10*time.Second), id, run.GetRunID())
			if err != nil || len(d.GetPendingActivities()) > 1 {
				t.Fatalf("describe %s: %v, %v", id, d, err)
			}
			if len(d.GetPendingActivities()) == 0 {
				return &workflowpb.PendingActivityInfo{} // not scheduled yet
			}
			return d.GetPendingActivities()[0]
		}
		waitUntil(t, withTimeout(t, 30*time.Second), "the activity to start", func() error {
			if s := pending().GetState(); s != enumspb.PENDING_ACTIVITY_STATE_STARTED {
				return errNotYet(s.String())
			}
			return nil
		})
		b.open("pending activities", ns+"/workflows/"+id+"/"+run.GetRunID()+"/pending-activities", "HeartbeatingWait", "STARTED", "Attempt")
		checkPage(b, w, "pending activities")
		b.clickExact("choose the activity's Pause", "button", "Pause")
		b.typeInto("type reason", `#activity-pause-reason`, reason)
		b.click("confirm pause", `#activity-pause-confirmation-modal [data-testid="confirm-modal-button"]`, "")
		checkPage(b, w, "pause submitted")

		// The pause reaches the worker through its next heartbeat; the
		// attempt ends and no retry is scheduled while paused.
		waitUntil(t, withTimeout(t, 30*time.Second), "the activity to be paused", func() error {
			p := pending()
			if !p.GetPaused() || p.GetState() != enumspb.PENDING_ACTIVITY_STATE_PAUSED {
				return errNotYet(fmt.Sprintf("paused %v, state %v", p.GetPaused(), p.GetState()))
			}
			return nil
		})
		if got := pending().GetPauseInfo().GetManual().GetReason(); got != reason {
			t.Fatalf("pause reason %q, want %q (typed in the UI)", got, reason)
		}
		b.open("paused activity", ns+"/workflows/"+id+"/"+run.GetRunID()+"/pending-activities", "HeartbeatingWait", "PAUSED", "Unpause")
		checkPage(b, w, "paused activity")
		b.screenshot("activity-paused")
		if err := c.TerminateWorkflow(withTimeout(t, 10*time.Second), id, run.GetRunID(), "test done"); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("PauseWorkflowFromUI", func(t *testing.T) {
		b.t = t
		const id, reason = "ui-pause-workflow", "workflow paused from the browser"
		run, err := c.ExecuteWorkflow(withTimeout(t, 10*time.Second), client.StartWorkflowOptions{ID: id, TaskQueue: pagesQueue}, WaitOnActivity)
		if err != nil {
			t.Fatal(err)
		}
		status := func() enumspb.WorkflowExecutionStatus {
			d, err := c.DescribeWorkflowExecution(withTimeout(t, 10*time.Second), id, run.GetRunID())
			if err != nil {
				t.Fatalf("describe %s: %v", id, err)
			}
			return d.GetWorkflowExecutionInfo().GetStatus()
		}
		// events returns the run's events of type et.
		events := func(et enumspb.EventType) []*historypb.HistoryEvent {
			var out []*historypb.HistoryEvent
			it := c.GetWorkflowHistory(withTimeout(t, 10*time.Second), id, run.GetRunID(), false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
			for it.HasNext() {
				e, err := it.Next()
				if err != nil {
					t.Fatal(err)
				}
				if e.GetEventType() == et {
					out = append(out, e)
				}
			}
			return out
		}
		page := ns + "/workflows/" + id + "/" + run.GetRunID() + "/history"
		b.open("workflow to pause", page, id, "RUNNING", "Pause Workflow")
		b.clickExact("choose Pause Workflow", "button", "Pause Workflow")
		b.typeInto("type pause reason", `#workflow-pause-details`, reason)
		b.click("confirm workflow pause", `#workflow-pause-confirmation-modal [data-testid="confirm-modal-button"]`, "")
		waitUntil(t, withTimeout(t, 30*time.Second), "the workflow to be paused", func() error {
			if s := status(); s != enumspb.WORKFLOW_EXECUTION_STATUS_PAUSED {
				return errNotYet(s.String())
			}
			return nil
		})
		paused := events(enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_PAUSED)
		if len(paused) != 1 || paused[0].GetWorkflowExecutionPausedEventAttributes().GetReason() != reason {
			t.Fatalf("paused events %v, want one with reason %q (typed in the UI)", paused, reason)
		}
		b.open("paused workflow", page, id, "PAUSED", "Unpause Workflow")
		checkPage(b, w, "paused workflow")
		b.screenshot("workflow-paused")

		b.clickExact("choose Unpause Workflow", "button", "Unpause Workflow")
		b.click("confirm workflow unpause", `#workflow-unpause-confirmation-modal [data-testid="confirm-modal-button"]`, "")
		waitUntil(t, withTimeout(t, 30*time.Second), "the workflow to run again", func() error {
			if s := status(); s != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
				return errNotYet(s.String())
			}
			return nil
		})
		if n := len(events(enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_UNPAUSED)); n != 1 {
			t.Fatalf("%d unpaused events, want 1", n)
		}
		checkPage(b, w, "unpaused workflow")
		if err := c.TerminateWorkflow(withTimeout(t, 10*time.Second), id, run.GetRunID(), "test done"); err != nil {
			t.Fatal(err)
		}
	})
}
