package gosdk

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

// MessagesWorkflow keeps a counter that updates change; a query reads it;
// the "finish" signal ends the workflow.
func MessagesWorkflow(ctx workflow.Context) (int, error) {
	total := 0
	phase := "waiting"
	var signals []string
	if err := workflow.SetQueryHandler(ctx, "state", func(prefix string) (string, error) {
		return fmt.Sprintf("%s%s:%d:%s", prefix, phase, total, strings.Join(signals, ",")), nil
	}); err != nil {
		return 0, err
	}
	err := workflow.SetUpdateHandlerWithOptions(ctx, "add", func(ctx workflow.Context, n int) (int, error) {
		total += n
		return total, nil
	}, workflow.UpdateHandlerOptions{Validator: func(ctx workflow.Context, n int) error {
		if n < 0 {
			return errors.New("negative amounts are rejected")
		}
		return nil
	}})
	if err != nil {
		return 0, err
	}
	err = workflow.SetUpdateHandler(ctx, "slowAdd", func(ctx workflow.Context, n int) (int, error) {
		if err := workflow.Sleep(ctx, 300*time.Millisecond); err != nil {
			return 0, err
		}
		total += n
		return total, nil
	})
	if err != nil {
		return 0, err
	}
	err = workflow.SetUpdateHandler(ctx, "activityAdd", func(ctx workflow.Context, n int) (int, error) {
		ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: 5 * time.Second})
		var v int
		if err := workflow.ExecuteActivity(ctx, AddOne, n).Get(ctx, &v); err != nil {
			return 0, err
		}
		total += v
		return total, nil
	})
	if err != nil {
		return 0, err
	}
	sigCh := workflow.GetSignalChannel(ctx, "note")
	finish := workflow.GetSignalChannel(ctx, "finish")
	done := false
	for !done {
		sel := workflow.NewSelector(ctx)
		sel.AddReceive(sigCh, func(c workflow.ReceiveChannel, more bool) {
			var s string
			c.Receive(ctx, &s)
			signals = append(signals, s)
		})
		sel.AddReceive(finish, func(c workflow.ReceiveChannel, more bool) {
			c.Receive(ctx, nil)
			done = true
		})
		sel.Select(ctx)
	}
	if err := workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) }); err != nil {
		return 0, err
	}
	phase = "done"
	return total, nil
}

func messagesEnv(t *testing.T) (*env, client.WorkflowRun) {
	e := newEnv(t)
	e.worker(func(w worker.Worker) {
		w.RegisterWorkflow(MessagesWorkflow)
		w.RegisterActivity(AddOne)
	})
	run, err := e.c.ExecuteWorkflow(e.ctx(), e.opts("messages"), MessagesWorkflow)
	if err != nil {
		t.Fatal(err)
	}
	return e, run
}

func queryString(t *testing.T, e *env, id, runID, prefix string) string {
	t.Helper()
	v, err := e.c.QueryWorkflow(e.ctx(), id, runID, "state", prefix)
	if err != nil {
		t.Fatalf("query: %v", err)
	}
	var s string
	if err := v.Get(&s); err != nil {
		t.Fatal(err)
	}
	return s
}

func TestFeatureSignalsAndQueries(t *testing.T) {
	t.Parallel()
	e, run := messagesEnv(t)
	if s := queryString(t, e, run.GetID(), "", ">"); s != ">waiting:0:" {
		t.Fatalf("query of new workflow: %q", s)
	}
	// A query sent after a signal was acknowledged sees that signal
	// (Temporal delivers queries with the pending workflow task).
	var sent []string
	for _, n := range []string{"a", "b", "c"} {
		if err := e.c.SignalWorkflow(e.ctx(), run.GetID(), run.GetRunID(), "note", n); err != nil {
			t.Fatal(err)
		}
		sent = append(sent, n)
		if s, want := queryString(t, e, run.GetID(), run.GetRunID(), ""), "waiting:0:"+strings.Join(sent, ","); s != want {
			t.Errorf("query right after signal %q: got %q, want %q", n, s, want)
		}
	}
	// Unknown query type is an error naming the known types.
	if _, err := e.c.QueryWorkflow(e.ctx(), run.GetID(), "", "nope"); err == nil || !strings.Contains(err.Error(), "nope") {
		t.Fatalf("unknown query: %v", err)
	}
	if err := e.c.SignalWorkflow(e.ctx(), run.GetID(), "", "finish", nil); err != nil {
		t.Fatal(err)
	}
	var total int
	if err := run.Get(e.ctx(), &total); err != nil || total != 0 {
		t.Fatalf("result %d err %v", total, err)
	}
	// Query of a closed workflow replays the history.
	if s := queryString(t, e, run.GetID(), "", "closed-"); s != "closed-done:0:a,b,c" {
		t.Fatalf("query of closed workflow: %q", s)
	}
	evs := e.history(run.GetID(), run.GetRunID())
	requireWellFormed(t, evs)
	requireClosedBy(t, evs, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED)
	sigs := allOf(evs, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED)
	if len(sigs) != 4 {
		t.Fatalf("%d signals: %v", len(sigs), types(evs))
	}
	for i, want := range []string{"note", "note", "note", "finish"} {
		a := sigs[i].GetWorkflowExecutionSignaledEventAttributes()
		if a.SignalName != want {
			t.Fatalf("signal %d name %q", i, a.SignalName)
		}
		if i < 3 {
			var s string
			if err := converter.GetDefaultDataConverter().FromPayloads(a.Input, &s); err != nil || s != string(rune('a'+i)) {
				t.Fatalf("signal %d input %q %v", i, s, err)
			}
		}
	}
	// Queries leave no trace in history.
	for _, ev := range evs {
		if strings.Contains(ev.EventType.String(), "QUERY") {
			t.Fatalf("query event in history: %v", types(evs))
		}
	}
}

func updateEvents(evs []*historypb.HistoryEvent) (acc, done []*historypb.HistoryEvent) {
	return allOf(evs, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED), allOf(evs, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED)
}

func TestFeatureUpdateAcceptedAndRejected(t *testing.T) {
	t.Parallel()
	e, run := messagesEnv(t)
	h, err := e.c.UpdateWorkflow(e.ctx(), client.UpdateWorkflowOptions{
		WorkflowID: run.GetID(), UpdateID: "add-5", UpdateName: "add", Args: []interface{}{5},
		WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	if err != nil {
		t.Fatal(err)
	}
	var v int
	if err := h.Get(e.ctx(), &v); err != nil || v != 5 {
		t.Fatalf("update result %d err %v", v, err)
	}
	// Rejected by the validator.
	h2, err := e.c.UpdateWorkflow(e.ctx(), client.UpdateWorkflowOptions{
		WorkflowID: run.GetID(), UpdateID: "add-neg", UpdateName: "add", Args: []interface{}{-1},
		WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	if err == nil {
		err = h2.Get(e.ctx(), nil)
	}
	if err == nil || !strings.Contains(err.Error(), "negative amounts are rejected") {
		t.Fatalf("rejected update: %v", err)
	}
	// A second update with the same id returns the first outcome (dedup).
	h3, err := e.c.UpdateWorkflow(e.ctx(), client.UpdateWorkflowOptions{
		WorkflowID: run.GetID(), UpdateID: "add-5", UpdateName: "add", Args: []interface{}{5},
		WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := h3.Get(e.ctx(), &v); err != nil || v != 5 {
		t.Fatalf("deduplicated update result %d err %v", v, err)
	}
	if s := queryString(t, e, run.GetID(), "", ""); s != "waiting:5:" {
		t.Fatalf("state after updates %q", s)
	}
	if err := e.c.SignalWorkflow(e.ctx(), run.GetID(), "", "finish", nil); err != nil {
		t.Fatal(err)
	}
	if err := run.Get(e.ctx(), &v); err != nil || v != 5 {
		t.Fatalf("result %d err %v", v, err)
	}
	evs := e.history(run.GetID(), run.GetRunID())
	requireWellFormed(t, evs)
	requireNoEventsInsideWFT(t, evs)
	acc, done := updateEvents(evs)
	if len(acc) != 1 || len(done) != 1 {
		t.Fatalf("want exactly one accepted and one completed update event: %v", types(evs))
	}
	aa, ca := acc[0].GetWorkflowExecutionUpdateAcceptedEventAttributes(), done[0].GetWorkflowExecutionUpdateCompletedEventAttributes()
	if aa.ProtocolInstanceId != "add-5" || aa.AcceptedRequest.GetMeta().GetUpdateId() != "add-5" || aa.AcceptedRequest.GetInput().GetName() != "add" {
		t.Fatalf("accepted attrs %v", aa)
	}
	if ca.Meta.GetUpdateId() != "add-5" || ca.AcceptedEventId != acc[0].EventId {
		t.Fatalf("completed attrs %v (accepted event %d)", ca, acc[0].EventId)
	}
	var res int
	if err := converter.GetDefaultDataConverter().FromPayloads(ca.Outcome.GetSuccess(), &res); err != nil || res != 5 {
		t.Fatalf("completed outcome %v", ca.Outcome)
	}
	for _, ev := range evs {
		if strings.Contains(ev.String(), "add-neg") {
			t.Fatalf("rejected update left event %d %v in history", ev.EventId, ev.EventType)
		}
	}
}

func TestFeatureUpdateWaitForAccepted(t *testing.T) {
	t.Parallel()
	e, run := messagesEnv(t)
	start := time.Now()
	h, err := e.c.UpdateWorkflow(e.ctx(), client.UpdateWorkflowOptions{
		WorkflowID: run.GetID(), RunID: run.GetRunID(), UpdateID: "slow", UpdateName: "slowAdd", Args: []interface{}{7},
		WaitForStage: client.WorkflowUpdateStageAccepted,
	})
	if err != nil {
		t.Fatal(err)
	}
	if el := time.Since(start); el >= 300*time.Millisecond {
		t.Fatalf("UpdateWorkflow waited %v for acceptance of a 300ms handler", el)
	}
	if h.UpdateID() != "slow" || h.RunID() != run.GetRunID() {
		t.Fatalf("handle %s %s", h.UpdateID(), h.RunID())
	}
	var v int
	if err := h.Get(e.ctx(), &v); err != nil || v != 7 {
		t.Fatalf("update result %d err %v", v, err)
	}
	if el := time.Since(start); el < 300*time.Millisecond {
		t.Fatalf("update completed after %v, before its 300ms sleep", el)
	}
	// A handle obtained by id sees the same outcome.
	h2 := e.c.GetWorkflowUpdateHandle(client.GetWorkflowUpdateHandleOptions{WorkflowID: run.GetID(), RunID: run.GetRunID(), UpdateID: "slow"})
	if err := h2.Get(e.ctx(), &v); err != nil || v != 7 {
		t.Fatalf("update result by handle %d err %v", v, err)
	}
	// Update running an activity.
	h3, err := e.c.UpdateWorkflow(e.ctx(), client.UpdateWorkflowOptions{
		WorkflowID: run.GetID(), UpdateID: "act", UpdateName: "activityAdd", Args: []interface{}{10},
		WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := h3.Get(e.ctx(), &v); err != nil || v != 18 {
		t.Fatalf("activity update result %d err %v", v, err)
	}
	if err := e.c.SignalWorkflow(e.ctx(), run.GetID(), "", "finish", nil); err != nil {
		t.Fatal(err)
	}
	if err := run.Get(e.ctx(), &v); err != nil || v != 18 {
		t.Fatalf("result %d err %v", v, err)
	}
	evs := e.history(run.GetID(), run.GetRunID())
	requireWellFormed(t, evs)
	requireNoEventsInsideWFT(t, evs)
	acc, done := updateEvents(evs)
	if len(acc) != 2 || len(done) != 2 {
		t.Fatalf("want 2 accepted and 2 completed update events: %v", types(evs))
	}
	if count(evs, enumspb.EVENT_TYPE_TIMER_FIRED) != 1 || count(evs, enumspb.EVENT_TYPE_ACTIVITY_TASK_COMPLETED) != 1 {
		t.Fatalf("history %v", types(evs))
	}
	// The activity was scheduled after the "act" update was accepted and
	// the update completed after the activity.
	var actAcc, actDone int64
	for _, ev := range acc {
		if ev.GetWorkflowExecutionUpdateAcceptedEventAttributes().ProtocolInstanceId == "act" {
			actAcc = ev.EventId
		}
	}
	for _, ev := range done {
		if ev.GetWorkflowExecutionUpdateCompletedEventAttributes().Meta.GetUpdateId() == "act" {
			actDone = ev.EventId
		}
	}
	sched := firstOf(evs, enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED).EventId
	comp := firstOf(evs, enumspb.EVENT_TYPE_ACTIVITY_TASK_COMPLETED).EventId
	if !(actAcc > 0 && actAcc < sched && comp < actDone) {
		t.Fatalf("order accepted %d scheduled %d completed %d update done %d: %v", actAcc, sched, comp, actDone, types(evs))
	}
}
