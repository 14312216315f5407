package gosdk

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// SchedEcho is the workflow the schedules in these tests start.
func SchedEcho(ctx workflow.Context, s string) (string, error) { return s, nil }

// SchedBlock runs until signalled "done" or canceled.
func SchedBlock(ctx workflow.Context) error {
	sel := workflow.NewSelector(ctx)
	sel.AddReceive(workflow.GetSignalChannel(ctx, "done"), func(c workflow.ReceiveChannel, _ bool) { c.Receive(ctx, nil) })
	sel.AddReceive(ctx.Done(), func(workflow.ReceiveChannel, bool) {})
	sel.Select(ctx)
	return ctx.Err()
}

// schedRuns lists the workflows a schedule started (by its
// TemporalScheduledById search attribute), oldest id first.
func schedRuns(t *testing.T, c client.Client, scheduleID string) []*workflowservice.ListWorkflowExecutionsResponse {
	t.Helper()
	var pages []*workflowservice.ListWorkflowExecutionsResponse
	req := &workflowservice.ListWorkflowExecutionsRequest{Namespace: "default", Query: fmt.Sprintf("TemporalScheduledById = '%s'", scheduleID)}
	for {
		resp, err := c.ListWorkflow(context.Background(), req)
		if err != nil {
			t.Fatalf("list runs of %s: %v", scheduleID, err)
		}
		pages = append(pages, resp)
		if len(resp.NextPageToken) == 0 {
			return pages
		}
		req.NextPageToken = resp.NextPageToken
	}
}

// schedWorkflowIDs returns the ids of the workflows a schedule started,
// sorted, and fails on an id with more than one run.
func schedWorkflowIDs(t *testing.T, c client.Client, scheduleID string) []string {
	t.Helper()
	seen := map[string]int{}
	for _, p := range schedRuns(t, c, scheduleID) {
		for _, ex := range p.Executions {
			seen[ex.Execution.WorkflowId]++
		}
	}
	var ids []string
	for id, n := range seen {
		if n != 1 {
			t.Fatalf("workflow %s has %d runs: a schedule fired twice for one time", id, n)
		}
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

// nominalOf parses the nominal time a scheduled workflow id ends with.
func nominalOf(t *testing.T, prefix, id string) time.Time {
	t.Helper()
	if !strings.HasPrefix(id, prefix+"-") {
		t.Fatalf("workflow id %q lacks prefix %q", id, prefix+"-")
	}
	ts, err := time.Parse(time.RFC3339, strings.TrimPrefix(id, prefix+"-"))
	if err != nil || ts.Location() != time.UTC || ts.Nanosecond() != 0 {
		t.Fatalf("workflow id %q does not end with an RFC 3339 UTC second: %v", id, err)
	}
	return ts
}

// requireEverySecond checks that ids cover consecutive seconds, none twice
// or missing, and returns how many.
func requireEverySecond(t *testing.T, prefix string, ids []string) int {
	t.Helper()
	for i := 1; i < len(ids); i++ {
		a, b := nominalOf(t, prefix, ids[i-1]), nominalOf(t, prefix, ids[i])
		if b.Sub(a) != time.Second {
			t.Fatalf("gap or repeat between %s and %s (all: %v)", ids[i-1], ids[i], ids)
		}
	}
	return len(ids)
}

func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestScheduleLifecycle(t *testing.T) {
	e := newEnv(t)
	e.worker(func(w worker.Worker) { w.RegisterWorkflow(SchedEcho) })
	sc := e.c.ScheduleClient()
	ctx := e.ctx()
	id, wfid := "sched-life-"+uuid.NewString()[:8], "life-wf-"+uuid.NewString()[:8]
	h, err := sc.Create(ctx, client.ScheduleOptions{
		ID: id,
		Spec: client.ScheduleSpec{
			CronExpressions: []string{"CRON_TZ=Europe/Paris 30 9 * * mon-fri"},
			Intervals:       []client.ScheduleIntervalSpec{{Every: 24 * time.Hour, Offset: 3 * time.Hour}},
		},
		Action:                &client.ScheduleWorkflowAction{ID: wfid, Workflow: SchedEcho, Args: []any{"hi"}, TaskQueue: e.tq},
		Paused:                true,
		Note:                  "created paused",
		Memo:                  map[string]any{"owner": "ops"},
		Overlap:               enumspb.SCHEDULE_OVERLAP_POLICY_BUFFER_ONE,
		TypedSearchAttributes: temporal.NewSearchAttributes(temporal.NewSearchAttributeKeyKeyword("CustomKeywordField").ValueSet("team-" + id)),
	})
	if err != nil {
		t.Fatal(err)
	}

	// Creating it again: the SDK's "already running" error.
	_, err = sc.Create(ctx, client.ScheduleOptions{ID: id, Spec: client.ScheduleSpec{Intervals: []client.ScheduleIntervalSpec{{Every: time.Hour}}},
		Action: &client.ScheduleWorkflowAction{ID: wfid, Workflow: SchedEcho, Args: []any{"x"}, TaskQueue: e.tq}})
	if !errors.Is(err, temporal.ErrScheduleAlreadyRunning) {
		t.Fatalf("duplicate create: %v, want ErrScheduleAlreadyRunning", err)
	}

	d, err := h.Describe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// The cron string comes back as a structured calendar in Paris time.
	if d.Schedule.Spec.TimeZoneName != "Europe/Paris" || len(d.Schedule.Spec.CronExpressions) != 0 || len(d.Schedule.Spec.Calendars) != 1 || len(d.Schedule.Spec.Intervals) != 1 {
		t.Fatalf("described spec: %+v", d.Schedule.Spec)
	}
	if cal := d.Schedule.Spec.Calendars[0]; len(cal.Hour) != 1 || cal.Hour[0].Start != 9 || cal.Minute[0].Start != 30 || cal.DayOfWeek[0].Start != 1 || cal.DayOfWeek[0].End != 5 {
		t.Fatalf("described calendar: %+v", cal)
	}
	if !d.Schedule.State.Paused || d.Schedule.State.Note != "created paused" || d.Schedule.Policy.Overlap != enumspb.SCHEDULE_OVERLAP_POLICY_BUFFER_ONE {
		t.Fatalf("described state/policy: %+v %+v", d.Schedule.State, d.Schedule.Policy)
	}
	if d.Info.CreatedAt.IsZero() || time.Since(d.Info.CreatedAt) > time.Minute || len(d.Info.NextActionTimes) != 10 {
		t.Fatalf("described info: %+v", d.Info)
	}
	for i := 1; i < len(d.Info.NextActionTimes); i++ {
		if !d.Info.NextActionTimes[i].After(d.Info.NextActionTimes[i-1]) {
			t.Fatalf("future action times not increasing: %v", d.Info.NextActionTimes)
		}
	}
	var owner string
	if err := converter.GetDefaultDataConverter().FromPayload(d.Memo.Fields["owner"], &owner); err != nil || owner != "ops" {
		t.Fatalf("memo owner = %q, %v", owner, err)
	}
	if a := d.Schedule.Action.(*client.ScheduleWorkflowAction); a.ID != wfid || a.TaskQueue != e.tq {
		t.Fatalf("described action: %+v", a)
	}

	// Listed, and counted, and matched by TemporalSchedulePaused.
	it, err := sc.List(ctx, client.ScheduleListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for it.HasNext() {
		ent, err := it.Next()
		if err != nil {
			t.Fatal(err)
		}
		if ent.ID == id {
			found = true
			if !ent.Paused || ent.Note != "created paused" || ent.WorkflowType.Name != "SchedEcho" || len(ent.NextActionTimes) == 0 {
				t.Fatalf("list entry: %+v", ent)
			}
		}
	}
	if !found {
		t.Fatal("schedule not listed")
	}
	svc := e.c.WorkflowService()
	cnt, err := svc.CountSchedules(ctx, &workflowservice.CountSchedulesRequest{Namespace: "default", Query: "TemporalSchedulePaused = true"})
	if err != nil || cnt.Count != 1 {
		t.Fatalf("CountSchedules paused = %v, %v", cnt, err)
	}
	cnt, err = svc.CountSchedules(ctx, &workflowservice.CountSchedulesRequest{Namespace: "default", Query: "TemporalSchedulePaused = false"})
	if err != nil || cnt.Count != 0 {
		t.Fatalf("CountSchedules unpaused = %v, %v", cnt, err)
	}
	if kw, _ := d.TypedSearchAttributes.GetKeyword(temporal.NewSearchAttributeKeyKeyword("CustomKeywordField")); kw != "team-"+id {
		t.Fatalf("schedule search attribute = %q", kw)
	}
	cnt, err = svc.CountSchedules(ctx, &workflowservice.CountSchedulesRequest{Namespace: "default", Query: fmt.Sprintf("CustomKeywordField = 'team-%s'", id)})
	if err != nil || cnt.Count != 1 {
		t.Fatalf("CountSchedules by search attribute = %v, %v", cnt, err)
	}
	cnt, err = svc.CountSchedules(ctx, &workflowservice.CountSchedulesRequest{Namespace: "default", Query: fmt.Sprintf("ScheduleId = '%s' AND TemporalSchedulePaused = true", id)})
	if err != nil || cnt.Count != 1 {
		t.Fatalf("CountSchedules by ScheduleId = %v, %v", cnt, err)
	}
	ls, err := svc.ListSchedules(ctx, &workflowservice.ListSchedulesRequest{Namespace: "default", Query: fmt.Sprintf("ScheduleId = '%s-other'", id)})
	if err != nil || len(ls.Schedules) != 0 {
		t.Fatalf("ListSchedules by another id = %v, %v", ls, err)
	}

	// Matching times: weekdays 9:30 Paris and 03:00 UTC daily.
	mt, err := svc.ListScheduleMatchingTimes(ctx, &workflowservice.ListScheduleMatchingTimesRequest{Namespace: "default", ScheduleId: id,
		StartTime: timestamppb.New(time.Date(2024, 1, 5, 0, 0, 0, 0, time.UTC)), EndTime: timestamppb.New(time.Date(2024, 1, 8, 23, 0, 0, 0, time.UTC))})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, ts := range mt.StartTime {
		got = append(got, ts.AsTime().UTC().Format(time.RFC3339))
	}
	want := "2024-01-05T03:00:00Z 2024-01-05T08:30:00Z 2024-01-06T03:00:00Z 2024-01-07T03:00:00Z 2024-01-08T03:00:00Z 2024-01-08T08:30:00Z"
	if strings.Join(got, " ") != want {
		t.Fatalf("matching times:\n got  %v\n want %s", got, want)
	}

	// Pause notes, unpause, pause again.
	if err := h.Unpause(ctx, client.ScheduleUnpauseOptions{Note: "go"}); err != nil {
		t.Fatal(err)
	}
	if d, _ = h.Describe(ctx); d.Schedule.State.Paused || d.Schedule.State.Note != "go" {
		t.Fatalf("after unpause: %+v", d.Schedule.State)
	}
	if err := h.Pause(ctx, client.SchedulePauseOptions{}); err != nil {
		t.Fatal(err)
	}
	if d, _ = h.Describe(ctx); !d.Schedule.State.Paused || d.Schedule.State.Note != "Paused via Go SDK" {
		t.Fatalf("after pause: %+v", d.Schedule.State)
	}

	// Trigger while paused: a workflow starts with the schedule's search
	// attributes and an id of the action id plus the time.
	if err := h.Trigger(ctx, client.ScheduleTriggerOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "triggered action", func() bool {
		d, _ = h.Describe(ctx)
		return d.Info.NumActions == 1 && len(d.Info.RunningWorkflows) == 0
	})
	ra := d.Info.RecentActions[0]
	nominalOf(t, wfid, ra.StartWorkflowResult.WorkflowID)
	var res string
	if err := e.c.GetWorkflow(ctx, ra.StartWorkflowResult.WorkflowID, "").Get(ctx, &res); err != nil || res != "hi" {
		t.Fatalf("triggered workflow result %q, %v", res, err)
	}
	desc, err := e.c.DescribeWorkflowExecution(ctx, ra.StartWorkflowResult.WorkflowID, "")
	if err != nil {
		t.Fatal(err)
	}
	sa := desc.WorkflowExecutionInfo.SearchAttributes.GetIndexedFields()
	var by string
	if err := converter.GetDefaultDataConverter().FromPayload(sa["TemporalScheduledById"], &by); err != nil || by != id {
		t.Fatalf("TemporalScheduledById = %q, %v", by, err)
	}
	if sa["TemporalScheduledStartTime"] == nil {
		t.Fatal("TemporalScheduledStartTime not set")
	}

	// Update the action's argument; backfill two hours of the interval.
	err = h.Update(ctx, client.ScheduleUpdateOptions{DoUpdate: func(in client.ScheduleUpdateInput) (*client.ScheduleUpdate, error) {
		s := in.Description.Schedule
		s.Action.(*client.ScheduleWorkflowAction).Args = []any{"updated"}
		return &client.ScheduleUpdate{Schedule: &s}, nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	d, _ = h.Describe(ctx)
	if d.Info.LastUpdateAt.IsZero() || !d.Schedule.State.Paused {
		t.Fatalf("after update: %+v %+v", d.Info, d.Schedule.State)
	}
	day := time.Date(2023, 6, 1, 0, 0, 0, 0, time.UTC)
	if err := h.Backfill(ctx, client.ScheduleBackfillOptions{Backfill: []client.ScheduleBackfill{{Start: day, End: day.Add(72 * time.Hour), Overlap: enumspb.SCHEDULE_OVERLAP_POLICY_ALLOW_ALL}}}); err != nil {
		t.Fatal(err)
	}
	// 2023-06-01..04 at 03:00 UTC (daily interval) and 2023-06-01/02 at
	// 09:30 Paris (Thursday, Friday) = 07:30 UTC.
	wantIDs := []string{"2023-06-01T03:00:00Z", "2023-06-01T07:30:00Z", "2023-06-02T03:00:00Z", "2023-06-02T07:30:00Z", "2023-06-03T03:00:00Z"}
	waitFor(t, 10*time.Second, "backfilled actions", func() bool {
		d, _ = h.Describe(ctx)
		return d.Info.NumActions == 1+len(wantIDs)
	})
	for _, w := range wantIDs {
		if err := e.c.GetWorkflow(ctx, wfid+"-"+w, "").Get(ctx, &res); err != nil || res != "updated" {
			t.Fatalf("backfilled %s: %q, %v", w, res, err)
		}
	}

	// Errors: bad spec names the field, unknown schedule is NotFound.
	_, err = sc.Create(ctx, client.ScheduleOptions{ID: id + "-bad", Spec: client.ScheduleSpec{CronExpressions: []string{"0 25 * * *"}},
		Action: &client.ScheduleWorkflowAction{ID: wfid, Workflow: SchedEcho, Args: []any{"x"}, TaskQueue: e.tq}})
	var inv *serviceerror.InvalidArgument
	if !errors.As(err, &inv) || !strings.Contains(inv.Message, "cron_string[0]") || !strings.Contains(inv.Message, "Hour") {
		t.Fatalf("bad cron: %v", err)
	}
	_, err = svc.CreateSchedule(ctx, &workflowservice.CreateScheduleRequest{Namespace: "default", ScheduleId: "s-nil"})
	if !errors.As(err, &inv) || !strings.Contains(inv.Message, "Schedule") {
		t.Fatalf("nil schedule: %v", err)
	}

	// Delete: gone, and its workflows stay.
	if err := h.Delete(ctx); err != nil {
		t.Fatal(err)
	}
	_, err = h.Describe(ctx)
	var nf *serviceerror.NotFound
	if !errors.As(err, &nf) {
		t.Fatalf("describe after delete: %v", err)
	}
	if err := h.Delete(ctx); !errors.As(err, &nf) {
		t.Fatalf("delete twice: %v", err)
	}
	if ids := schedWorkflowIDs(t, e.c, id); len(ids) != 1+len(wantIDs) {
		t.Fatalf("workflows after delete: %v", ids)
	}
}

func TestScheduleFiresEverySecond(t *testing.T) {
	e := newEnv(t)
	e.worker(func(w worker.Worker) { w.RegisterWorkflow(SchedEcho) })
	id, wfid := "sched-1s-"+uuid.NewString()[:8], "every-"+uuid.NewString()[:8]
	// ALLOW_ALL so that a slow worker on a busy machine cannot turn a
	// second into an overlap skip (SKIP is covered by the overlap test).
	h, err := e.c.ScheduleClient().Create(e.ctx(), client.ScheduleOptions{
		ID:      id,
		Overlap: enumspb.SCHEDULE_OVERLAP_POLICY_ALLOW_ALL,
		Spec:    client.ScheduleSpec{Intervals: []client.ScheduleIntervalSpec{{Every: time.Second}}},
		Action:  &client.ScheduleWorkflowAction{ID: wfid, Workflow: SchedEcho, Args: []any{"tick"}, TaskQueue: e.tq},
	})
	if err != nil {
		t.Fatal(err)
	}
	var d *client.ScheduleDescription
	waitFor(t, 15*time.Second, "4 actions", func() bool {
		d, err = h.Describe(e.ctx())
		return err == nil && d.Info.NumActions >= 4
	})
	if err := h.Pause(e.ctx(), client.SchedulePauseOptions{}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	d, _ = h.Describe(e.ctx())
	ids := schedWorkflowIDs(t, e.c, id)
	if requireEverySecond(t, wfid, ids) != d.Info.NumActions {
		t.Fatalf("%d workflows, %d actions", len(ids), d.Info.NumActions)
	}
	// Each recent action: scheduled time = the id's time, started just after.
	for _, a := range d.Info.RecentActions {
		n := nominalOf(t, wfid, a.StartWorkflowResult.WorkflowID)
		if !a.ScheduleTime.Equal(n) || a.ActualTime.Before(n) || a.ActualTime.Sub(n) > 2*time.Second {
			t.Fatalf("recent action %+v for nominal %v", a, n)
		}
	}
	// Every started workflow completed through a real worker.
	for _, p := range schedRuns(t, e.c, id) {
		for _, ex := range p.Executions {
			var out string
			if err := e.c.GetWorkflow(e.ctx(), ex.Execution.WorkflowId, "").Get(e.ctx(), &out); err != nil || out != "tick" {
				t.Fatalf("%s: %q, %v", ex.Execution.WorkflowId, out, err)
			}
			if ex.Type.Name != "SchedEcho" {
				t.Fatalf("type %v", ex.Type)
			}
		}
	}
	evs := e.history(ids[0], "")
	requireWellFormed(t, evs)
	if start := evs[0].GetWorkflowExecutionStartedEventAttributes(); start.Identity != "temporal-scheduler-default-"+id {
		t.Fatalf("start identity %q", start.Identity)
	}
}

func TestScheduleOverlapPolicies(t *testing.T) {
	e := newEnv(t)
	e.worker(func(w worker.Worker) { w.RegisterWorkflow(SchedBlock) })
	sc := e.c.ScheduleClient()
	create := func(pol enumspb.ScheduleOverlapPolicy) (client.ScheduleHandle, string) {
		id := "sched-ov-" + strings.ToLower(strings.TrimPrefix(pol.String(), "SCHEDULE_OVERLAP_POLICY_")) + "-" + uuid.NewString()[:6]
		h, err := sc.Create(e.ctx(), client.ScheduleOptions{
			ID: id, Overlap: pol,
			Spec:   client.ScheduleSpec{Intervals: []client.ScheduleIntervalSpec{{Every: time.Second}}},
			Action: &client.ScheduleWorkflowAction{ID: id + "-wf", Workflow: SchedBlock, TaskQueue: e.tq},
		})
		if err != nil {
			t.Fatal(err)
		}
		return h, id
	}
	describe := func(h client.ScheduleHandle) *client.ScheduleDescription {
		d, err := h.Describe(e.ctx())
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	release := func(wfID string) {
		if err := e.c.SignalWorkflow(e.ctx(), wfID, "", "done", nil); err != nil {
			t.Fatal(err)
		}
	}
	statusOf := func(wfID string) enumspb.WorkflowExecutionStatus {
		d, err := e.c.DescribeWorkflowExecution(e.ctx(), wfID, "")
		if err != nil {
			t.Fatal(err)
		}
		return d.WorkflowExecutionInfo.Status
	}

	hSkip, _ := create(enumspb.SCHEDULE_OVERLAP_POLICY_SKIP)
	hOne, _ := create(enumspb.SCHEDULE_OVERLAP_POLICY_BUFFER_ONE)
	hAll, idAll := create(enumspb.SCHEDULE_OVERLAP_POLICY_ALLOW_ALL)
	hTerm, _ := create(enumspb.SCHEDULE_OVERLAP_POLICY_TERMINATE_OTHER)
	hCancel, _ := create(enumspb.SCHEDULE_OVERLAP_POLICY_CANCEL_OTHER)
	time.Sleep(3500 * time.Millisecond)
	for _, h := range []client.ScheduleHandle{hSkip, hAll, hTerm, hCancel} {
		if err := h.Pause(e.ctx(), client.SchedulePauseOptions{}); err != nil {
			t.Fatal(err)
		}
	}

	// SKIP: one runs, the others were skipped.
	d := describe(hSkip)
	if d.Info.NumActions != 1 || len(d.Info.RunningWorkflows) != 1 || d.Info.NumActionsSkippedOverlap < 2 {
		t.Fatalf("SKIP: %+v", d.Info)
	}
	// BUFFER_ONE: one runs, one waits; releasing the first starts it (a
	// paused schedule would drop it, so this one still runs).
	d = describe(hOne)
	if d.Info.NumActions != 1 || len(d.Info.RunningWorkflows) != 1 || d.Info.NumActionsSkippedOverlap < 1 {
		t.Fatalf("BUFFER_ONE: %+v", d.Info)
	}
	first := d.Info.RunningWorkflows[0].WorkflowID
	release(first)
	waitFor(t, 10*time.Second, "buffered start", func() bool {
		d = describe(hOne)
		return d.Info.NumActions == 2 && len(d.Info.RunningWorkflows) == 1 && d.Info.RunningWorkflows[0].WorkflowID != first
	})
	if err := hOne.Pause(e.ctx(), client.SchedulePauseOptions{}); err != nil {
		t.Fatal(err)
	}
	if d = describe(hOne); d.Info.NumActions != 2 || d.Info.RecentActions[0].StartWorkflowResult.WorkflowID != first {
		t.Fatalf("BUFFER_ONE after release: %+v", d.Info)
	}
	release(d.Info.RunningWorkflows[0].WorkflowID)
	// ALLOW_ALL: all run at once and none is tracked as running.
	d = describe(hAll)
	if d.Info.NumActions < 3 || len(d.Info.RunningWorkflows) != 0 || d.Info.NumActionsSkippedOverlap != 0 {
		t.Fatalf("ALLOW_ALL: %+v", d.Info)
	}
	running := 0
	for _, p := range schedRuns(t, e.c, idAll) {
		for _, ex := range p.Executions {
			if ex.Status == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
				running++
			}
		}
	}
	if running != d.Info.NumActions {
		t.Fatalf("ALLOW_ALL: %d running of %d", running, d.Info.NumActions)
	}
	// TERMINATE_OTHER / CANCEL_OTHER: each new time stopped the previous.
	for _, c := range []struct {
		h    client.ScheduleHandle
		want enumspb.WorkflowExecutionStatus
	}{{hTerm, enumspb.WORKFLOW_EXECUTION_STATUS_TERMINATED}, {hCancel, enumspb.WORKFLOW_EXECUTION_STATUS_CANCELED}} {
		d = describe(c.h)
		if d.Info.NumActions < 2 || len(d.Info.RunningWorkflows) != 1 {
			t.Fatalf("%v: %+v", c.want, d.Info)
		}
		for _, a := range d.Info.RecentActions[:len(d.Info.RecentActions)-1] {
			if s := statusOf(a.StartWorkflowResult.WorkflowID); s != c.want {
				t.Fatalf("%s: %v, want %v", a.StartWorkflowResult.WorkflowID, s, c.want)
			}
		}
		last := d.Info.RecentActions[len(d.Info.RecentActions)-1].StartWorkflowResult.WorkflowID
		if s := statusOf(last); s != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
			t.Fatalf("newest %s: %v", last, s)
		}
	}
}

// TestSchedulePauseOnFailureAndLimitedActions: a failed run pauses the
// schedule with a note; remaining actions run out.
func TestSchedulePauseOnFailureAndLimitedActions(t *testing.T) {
	e := newEnv(t)
	e.worker(func(w worker.Worker) {
		w.RegisterWorkflowWithOptions(func(ctx workflow.Context) error {
			return temporal.NewNonRetryableApplicationError("boom", "Boom", nil)
		}, workflow.RegisterOptions{Name: "SchedFail"})
		w.RegisterWorkflow(SchedEcho)
	})
	sc := e.c.ScheduleClient()
	h, err := sc.Create(e.ctx(), client.ScheduleOptions{
		ID: "sched-pof-" + uuid.NewString()[:6], PauseOnFailure: true,
		Spec:   client.ScheduleSpec{Intervals: []client.ScheduleIntervalSpec{{Every: time.Second}}},
		Action: &client.ScheduleWorkflowAction{ID: "pof-wf", Workflow: "SchedFail", TaskQueue: e.tq},
	})
	if err != nil {
		t.Fatal(err)
	}
	var d *client.ScheduleDescription
	waitFor(t, 10*time.Second, "pause on failure", func() bool {
		d, _ = h.Describe(e.ctx())
		return d.Schedule.State.Paused
	})
	if !strings.HasPrefix(d.Schedule.State.Note, "paused due to workflow failure: pof-wf-") || !strings.Contains(d.Schedule.State.Note, "boom") || d.Info.NumActions < 1 {
		t.Fatalf("after failure: %+v %+v", d.Schedule.State, d.Info)
	}
	// Paused: no more actions.
	n := d.Info.NumActions
	time.Sleep(1500 * time.Millisecond)
	if d, _ = h.Describe(e.ctx()); d.Info.NumActions != n || !d.Schedule.State.Paused {
		t.Fatalf("acted while paused: %+v", d.Info)
	}

	h2, err := sc.Create(e.ctx(), client.ScheduleOptions{
		ID: "sched-limit-" + uuid.NewString()[:6], RemainingActions: 2,
		Spec:   client.ScheduleSpec{Intervals: []client.ScheduleIntervalSpec{{Every: time.Second}}},
		Action: &client.ScheduleWorkflowAction{ID: "limit-wf", Workflow: SchedEcho, Args: []any{"x"}, TaskQueue: e.tq},
	})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "two limited actions", func() bool {
		d, _ = h2.Describe(e.ctx())
		return d.Info.NumActions == 2
	})
	time.Sleep(2500 * time.Millisecond)
	d, _ = h2.Describe(e.ctx())
	if d.Info.NumActions != 2 || d.Schedule.State.RemainingActions != 0 || !d.Schedule.State.LimitedActions || len(d.Info.NextActionTimes) != 0 {
		t.Fatalf("limited: %+v %+v", d.Info, d.Schedule.State)
	}
	// A trigger is not limited.
	if err := h2.Trigger(e.ctx(), client.ScheduleTriggerOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "triggered beyond the limit", func() bool {
		d, _ = h2.Describe(e.ctx())
		return d.Info.NumActions == 3
	})
}

// TestScheduleRestartNoDoubleFire: a server restart keeps the schedule and
// its progress; the seconds missed while down are caught up, none twice.
func TestScheduleRestartNoDoubleFire(t *testing.T) {
	e := newEnv(t)
	id, wfid := "sched-rs-"+uuid.NewString()[:6], "rs-"+uuid.NewString()[:6]
	_, err := e.c.ScheduleClient().Create(e.ctx(), client.ScheduleOptions{
		ID: id, Overlap: enumspb.SCHEDULE_OVERLAP_POLICY_ALLOW_ALL,
		Spec:   client.ScheduleSpec{Intervals: []client.ScheduleIntervalSpec{{Every: time.Second}}},
		Action: &client.ScheduleWorkflowAction{ID: wfid, Workflow: "SchedEcho", TaskQueue: e.tq},
		Memo:   map[string]any{"k": "v"},
	})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "first actions", func() bool { return len(schedWorkflowIDs(t, e.c, id)) >= 2 })
	e.restart()
	time.Sleep(500 * time.Millisecond)
	e.restart() // twice, quickly
	h := e.c.ScheduleClient().GetHandle(e.ctx(), id)
	var d *client.ScheduleDescription
	waitFor(t, 10*time.Second, "actions after restart", func() bool {
		d, err = h.Describe(e.ctx())
		return err == nil && d.Info.NumActions >= 6
	})
	if d.Memo.Fields["k"] == nil || len(d.Schedule.Spec.Intervals) != 1 {
		t.Fatalf("schedule after restart: %+v", d)
	}
	if err := h.Pause(e.ctx(), client.SchedulePauseOptions{}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	d, _ = h.Describe(e.ctx())
	ids := schedWorkflowIDs(t, e.c, id)
	if n := requireEverySecond(t, wfid, ids); n != d.Info.NumActions {
		t.Fatalf("%d workflows for %d actions: %v", n, d.Info.NumActions, ids)
	}
}

// TestScheduleSIGKILL: kill -9 the binary while a schedule fires every
// second; after the restart every second since creation has exactly one
// workflow.
func TestScheduleSIGKILL(t *testing.T) {
	bin := binBuild(t, t.TempDir())
	dir := t.TempDir()
	p := binStart(t, bin, dir, 0)
	c := p.client(t)
	id, wfid := "sched-kill-"+uuid.NewString()[:6], "kill-"+uuid.NewString()[:6]
	_, err := c.ScheduleClient().Create(binCtx(t), client.ScheduleOptions{
		ID: id, Overlap: enumspb.SCHEDULE_OVERLAP_POLICY_ALLOW_ALL,
		Spec:   client.ScheduleSpec{Intervals: []client.ScheduleIntervalSpec{{Every: time.Second}}},
		Action: &client.ScheduleWorkflowAction{ID: wfid, Workflow: "SchedEcho", TaskQueue: "nobody"},
	})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "first actions", func() bool { return len(schedWorkflowIDs(t, c, id)) >= 3 })
	time.Sleep(time.Duration(uuid.New().ID()%1000) * time.Millisecond) // kill at any point of a second
	c.Close()
	if err := p.signalAndWait(syscall.SIGKILL, 5*time.Second); err == nil {
		t.Fatal("SIGKILL: process exited cleanly?")
	}
	p2 := binStart(t, bin, dir, 0)
	c2 := p2.client(t)
	h := c2.ScheduleClient().GetHandle(binCtx(t), id)
	waitFor(t, 15*time.Second, "actions after the kill", func() bool {
		d, err := h.Describe(binCtx(t))
		return err == nil && d.Info.NumActions >= 6
	})
	if err := h.Pause(binCtx(t), client.SchedulePauseOptions{}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	d, err := h.Describe(binCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	ids := schedWorkflowIDs(t, c2, id)
	if n := requireEverySecond(t, wfid, ids); n != d.Info.NumActions {
		t.Fatalf("%d workflows for %d actions: %v", n, d.Info.NumActions, ids)
	}
	created := d.Info.CreatedAt.Truncate(time.Second)
	if first := nominalOf(t, wfid, ids[0]); first.Sub(created) > time.Second {
		t.Fatalf("first workflow at %v, schedule created %v: a second was missed", first, d.Info.CreatedAt)
	}
	c2.Close()
	if err := p2.signalAndWait(syscall.SIGTERM, 5*time.Second); err != nil {
		t.Fatalf("exit after SIGTERM: %v", err)
	}
}

// SchedCount returns one more than the previous run of its schedule.
func SchedCount(ctx workflow.Context) (int, error) {
	n := 0
	if workflow.HasLastCompletionResult(ctx) {
		if err := workflow.GetLastCompletionResult(ctx, &n); err != nil {
			return 0, err
		}
	}
	return n + 1, nil
}

// TestScheduleLastCompletionResult: each run of a schedule sees the result
// of the run before it.
func TestScheduleLastCompletionResult(t *testing.T) {
	e := newEnv(t)
	e.worker(func(w worker.Worker) { w.RegisterWorkflow(SchedCount) })
	h, err := e.c.ScheduleClient().Create(e.ctx(), client.ScheduleOptions{
		ID:     "sched-last-" + uuid.NewString()[:6],
		Spec:   client.ScheduleSpec{Intervals: []client.ScheduleIntervalSpec{{Every: time.Second}}},
		Action: &client.ScheduleWorkflowAction{ID: "last-wf", Workflow: SchedCount, TaskQueue: e.tq},
	})
	if err != nil {
		t.Fatal(err)
	}
	var d *client.ScheduleDescription
	waitFor(t, 15*time.Second, "3 actions", func() bool {
		d, err = h.Describe(e.ctx())
		return err == nil && d.Info.NumActions >= 3
	})
	if err := h.Pause(e.ctx(), client.SchedulePauseOptions{}); err != nil {
		t.Fatal(err)
	}
	for i, a := range d.Info.RecentActions[:3] {
		var n int
		if err := e.c.GetWorkflow(e.ctx(), a.StartWorkflowResult.WorkflowID, "").Get(e.ctx(), &n); err != nil || n != i+1 {
			t.Fatalf("run %d (%s) returned %d, %v; want %d", i, a.StartWorkflowResult.WorkflowID, n, err, i+1)
		}
	}
}
