package gosdk

import (
	"errors"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

// ChildEcho returns its input decorated; "fail" makes it fail.
func ChildEcho(ctx workflow.Context, s string) (string, error) {
	if s == "fail" {
		return "", temporal.NewApplicationError("child exploded", "ChildBoom")
	}
	return "child:" + s, nil
}

// ChildBlock waits for the "release" signal (or cancellation).
func ChildBlock(ctx workflow.Context) (string, error) {
	sel := workflow.NewSelector(ctx)
	sel.AddReceive(workflow.GetSignalChannel(ctx, "release"), func(c workflow.ReceiveChannel, more bool) { c.Receive(ctx, nil) })
	sel.AddReceive(ctx.Done(), func(workflow.ReceiveChannel, bool) {})
	sel.Select(ctx)
	if err := ctx.Err(); err != nil {
		return "", err
	}
	return "released", nil
}

// ParentOfEcho runs ChildEcho with the given input.
func ParentOfEcho(ctx workflow.Context, in string) (string, error) {
	ctx = workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{WorkflowID: workflow.GetInfo(ctx).WorkflowExecution.ID + "-child"})
	var out string
	err := workflow.ExecuteChildWorkflow(ctx, ChildEcho, in).Get(ctx, &out)
	return "parent(" + out + ")", err
}

// ParentLeavesChild starts a blocking child with the given close policy,
// waits until it started and completes, returning the child's run id.
func ParentLeavesChild(ctx workflow.Context, policy enumspb.ParentClosePolicy) (string, error) {
	ctx = workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{
		WorkflowID:        workflow.GetInfo(ctx).WorkflowExecution.ID + "-child",
		ParentClosePolicy: policy,
	})
	f := workflow.ExecuteChildWorkflow(ctx, ChildBlock)
	var ex workflow.Execution
	if err := f.GetChildWorkflowExecution().Get(ctx, &ex); err != nil {
		return "", err
	}
	return ex.RunID, nil
}

func childEnv(t *testing.T) *env {
	e := newEnv(t)
	e.worker(func(w worker.Worker) {
		w.RegisterWorkflow(ChildEcho)
		w.RegisterWorkflow(ChildBlock)
		w.RegisterWorkflow(ParentOfEcho)
		w.RegisterWorkflow(ParentLeavesChild)
		w.RegisterWorkflow(ExternalTarget)
		w.RegisterWorkflow(ExternalSender)
	})
	return e
}

func TestFeatureChildWorkflowResult(t *testing.T) {
	t.Parallel()
	e := childEnv(t)
	run, err := e.c.ExecuteWorkflow(e.ctx(), e.opts("parent"), ParentOfEcho, "hi")
	if err != nil {
		t.Fatal(err)
	}
	var out string
	if err := run.Get(e.ctx(), &out); err != nil || out != "parent(child:hi)" {
		t.Fatalf("result %q err %v", out, err)
	}
	evs := e.history(run.GetID(), run.GetRunID())
	requireWellFormed(t, evs)
	requireNoEventsInsideWFT(t, evs)
	requireClosedBy(t, evs, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED)
	ini := firstOf(evs, enumspb.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED)
	st := firstOf(evs, enumspb.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED)
	co := firstOf(evs, enumspb.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_COMPLETED)
	if ini == nil || st == nil || co == nil || !(ini.EventId < st.EventId && st.EventId < co.EventId) {
		t.Fatalf("history %v", types(evs))
	}
	childID := run.GetID() + "-child"
	sa, ca := st.GetChildWorkflowExecutionStartedEventAttributes(), co.GetChildWorkflowExecutionCompletedEventAttributes()
	if sa.InitiatedEventId != ini.EventId || sa.WorkflowExecution.GetWorkflowId() != childID || sa.WorkflowType.GetName() != "ChildEcho" {
		t.Fatalf("started attrs %v", sa)
	}
	if ca.InitiatedEventId != ini.EventId || ca.StartedEventId != st.EventId || ca.WorkflowExecution.GetRunId() != sa.WorkflowExecution.GetRunId() {
		t.Fatalf("completed attrs %v", ca)
	}
	// The child's history points back at the parent.
	cevs := e.history(childID, sa.WorkflowExecution.GetRunId())
	requireWellFormed(t, cevs)
	requireClosedBy(t, cevs, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED)
	cs := cevs[0].GetWorkflowExecutionStartedEventAttributes()
	if cs.ParentWorkflowExecution.GetWorkflowId() != run.GetID() || cs.ParentWorkflowExecution.GetRunId() != run.GetRunID() || cs.ParentInitiatedEventId != ini.EventId {
		t.Fatalf("child start attrs parent %v initiated %d", cs.ParentWorkflowExecution, cs.ParentInitiatedEventId)
	}
	if cs.RootWorkflowExecution.GetWorkflowId() != run.GetID() {
		t.Fatalf("child root %v", cs.RootWorkflowExecution)
	}
	d, err := e.c.DescribeWorkflowExecution(e.ctx(), childID, "")
	if err != nil {
		t.Fatal(err)
	}
	if d.WorkflowExecutionInfo.ParentExecution.GetWorkflowId() != run.GetID() {
		t.Fatalf("describe child parent %v", d.WorkflowExecutionInfo.ParentExecution)
	}
}

func TestFeatureChildWorkflowFailure(t *testing.T) {
	t.Parallel()
	e := childEnv(t)
	run, err := e.c.ExecuteWorkflow(e.ctx(), e.opts("parentfail"), ParentOfEcho, "fail")
	if err != nil {
		t.Fatal(err)
	}
	err = run.Get(e.ctx(), nil)
	var cwe *temporal.ChildWorkflowExecutionError
	if !errors.As(err, &cwe) {
		t.Fatalf("want ChildWorkflowExecutionError, got %T %v", err, err)
	}
	var app *temporal.ApplicationError
	if !errors.As(err, &app) || app.Type() != "ChildBoom" {
		t.Fatalf("want ChildBoom application error, got %v", err)
	}
	evs := e.history(run.GetID(), run.GetRunID())
	requireWellFormed(t, evs)
	requireClosedBy(t, evs, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED)
	cf := firstOf(evs, enumspb.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_FAILED)
	if cf == nil {
		t.Fatalf("history %v", types(evs))
	}
	a := cf.GetChildWorkflowExecutionFailedEventAttributes()
	if a.Failure.GetApplicationFailureInfo().GetType() != "ChildBoom" || a.Failure.Message != "child exploded" {
		t.Fatalf("child failure %v", a.Failure)
	}
	if a.RetryState != enumspb.RETRY_STATE_RETRY_POLICY_NOT_SET {
		t.Fatalf("retry state %v", a.RetryState)
	}
}

func TestFeatureChildParentClosePolicy(t *testing.T) {
	t.Parallel()
	e := childEnv(t)
	for _, tc := range []struct {
		policy enumspb.ParentClosePolicy
		want   enumspb.WorkflowExecutionStatus
	}{
		{enumspb.PARENT_CLOSE_POLICY_TERMINATE, enumspb.WORKFLOW_EXECUTION_STATUS_TERMINATED},
		{enumspb.PARENT_CLOSE_POLICY_ABANDON, enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING},
		{enumspb.PARENT_CLOSE_POLICY_REQUEST_CANCEL, enumspb.WORKFLOW_EXECUTION_STATUS_CANCELED},
	} {
		t.Run(tc.policy.String(), func(t *testing.T) {
			run, err := e.c.ExecuteWorkflow(e.ctx(), e.opts("pcp"), ParentLeavesChild, tc.policy)
			if err != nil {
				t.Fatal(err)
			}
			var childRun string
			if err := run.Get(e.ctx(), &childRun); err != nil {
				t.Fatal(err)
			}
			childID := run.GetID() + "-child"
			var status enumspb.WorkflowExecutionStatus
			deadline := time.Now().Add(3 * time.Second)
			for {
				d, err := e.c.DescribeWorkflowExecution(e.ctx(), childID, childRun)
				if err != nil {
					t.Fatal(err)
				}
				status = d.WorkflowExecutionInfo.Status
				if status == tc.want || time.Now().After(deadline) {
					break
				}
				time.Sleep(20 * time.Millisecond)
			}
			if status != tc.want {
				t.Fatalf("child status %v, want %v", status, tc.want)
			}
			if tc.policy == enumspb.PARENT_CLOSE_POLICY_ABANDON {
				// Still running a little later, and still usable.
				time.Sleep(100 * time.Millisecond)
				if err := e.c.SignalWorkflow(e.ctx(), childID, childRun, "release", nil); err != nil {
					t.Fatal(err)
				}
				var out string
				if err := e.c.GetWorkflow(e.ctx(), childID, childRun).Get(e.ctx(), &out); err != nil || out != "released" {
					t.Fatalf("abandoned child result %q err %v", out, err)
				}
				return
			}
			cevs := e.history(childID, childRun)
			requireWellFormed(t, cevs)
			switch tc.policy {
			case enumspb.PARENT_CLOSE_POLICY_TERMINATE:
				requireClosedBy(t, cevs, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED)
			case enumspb.PARENT_CLOSE_POLICY_REQUEST_CANCEL:
				if count(cevs, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_CANCEL_REQUESTED) != 1 {
					t.Fatalf("child history %v", types(cevs))
				}
				requireClosedBy(t, cevs, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED)
			}
		})
	}
}

// ExternalTarget waits for the "ext" signal, then for cancellation.
func ExternalTarget(ctx workflow.Context) (string, error) {
	var msg string
	workflow.GetSignalChannel(ctx, "ext").Receive(ctx, &msg)
	err := workflow.Await(ctx, func() bool { return false })
	return msg, err
}

// ExternalSender signals and then cancels the target workflow; it also
// signals a workflow that does not exist.
func ExternalSender(ctx workflow.Context, targetID string) (string, error) {
	if err := workflow.SignalExternalWorkflow(ctx, targetID, "", "ext", "hello from sender").Get(ctx, nil); err != nil {
		return "", err
	}
	if err := workflow.RequestCancelExternalWorkflow(ctx, targetID, "").Get(ctx, nil); err != nil {
		return "", err
	}
	missing := workflow.SignalExternalWorkflow(ctx, targetID+"-missing", "", "ext", "nobody").Get(ctx, nil)
	if missing == nil {
		return "", errors.New("signal to a missing workflow succeeded")
	}
	return "sent", nil
}

func TestFeatureExternalSignalAndCancel(t *testing.T) {
	t.Parallel()
	e := childEnv(t)
	target, err := e.c.ExecuteWorkflow(e.ctx(), e.opts("target"), ExternalTarget)
	if err != nil {
		t.Fatal(err)
	}
	sender, err := e.c.ExecuteWorkflow(e.ctx(), e.opts("sender"), ExternalSender, target.GetID())
	if err != nil {
		t.Fatal(err)
	}
	var out string
	if err := sender.Get(e.ctx(), &out); err != nil || out != "sent" {
		t.Fatalf("sender result %q err %v", out, err)
	}
	err = target.Get(e.ctx(), &out)
	var ce *temporal.CanceledError
	if !errors.As(err, &ce) {
		t.Fatalf("target: want CanceledError, got %T %v", err, err)
	}
	sevs := e.history(sender.GetID(), sender.GetRunID())
	requireWellFormed(t, sevs)
	requireClosedBy(t, sevs, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED)
	for typ, n := range map[enumspb.EventType]int{
		enumspb.EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED:         2,
		enumspb.EVENT_TYPE_EXTERNAL_WORKFLOW_EXECUTION_SIGNALED:                 1,
		enumspb.EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_FAILED:            1,
		enumspb.EVENT_TYPE_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED: 1,
		enumspb.EVENT_TYPE_EXTERNAL_WORKFLOW_EXECUTION_CANCEL_REQUESTED:         1,
	} {
		if c := count(sevs, typ); c != n {
			t.Fatalf("%d %v events, want %d: %v", c, typ, n, types(sevs))
		}
	}
	sf := firstOf(sevs, enumspb.EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_FAILED).GetSignalExternalWorkflowExecutionFailedEventAttributes()
	if sf.Cause != enumspb.SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_FAILED_CAUSE_EXTERNAL_WORKFLOW_EXECUTION_NOT_FOUND {
		t.Fatalf("signal failed cause %v", sf.Cause)
	}
	tevs := e.history(target.GetID(), target.GetRunID())
	requireWellFormed(t, tevs)
	requireClosedBy(t, tevs, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED)
	sig := firstOf(tevs, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED).GetWorkflowExecutionSignaledEventAttributes()
	if sig.SignalName != "ext" || sig.ExternalWorkflowExecution.GetWorkflowId() != sender.GetID() {
		t.Fatalf("target signal attrs %v", sig)
	}
	cr := firstOf(tevs, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_CANCEL_REQUESTED)
	if cr == nil || cr.GetWorkflowExecutionCancelRequestedEventAttributes().ExternalWorkflowExecution.GetWorkflowId() != sender.GetID() {
		t.Fatalf("target cancel request %v", cr)
	}
}
