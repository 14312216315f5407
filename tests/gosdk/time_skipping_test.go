package gosdk

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/serviceerror"
	taskqueuepb "go.temporal.io/api/taskqueue/v1"
	updatepb "go.temporal.io/api/update/v1"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
)

// Time skipping, as Temporal runs it with frontend.WorkflowTimeSkippingEnabled
// on: a run whose config enables it jumps its clock, whenever it is idle,
// to the next point at which something happens, each jump a
// WorkflowExecutionTimeSkippingTransitioned event. The Go SDK (v1.50) has
// no API for it, so runs are started with the raw StartWorkflowExecution.

const evTransitioned = enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_TIME_SKIPPING_TRANSITIONED

// tsStart starts workflow type wt with args and the time-skipping config.
func (e *env) tsStart(id, wt string, cfg *commonpb.TimeSkippingConfig, args ...any) *commonpb.WorkflowExecution {
	e.t.Helper()
	in, err := converter.GetDefaultDataConverter().ToPayloads(args...)
	if err != nil {
		e.t.Fatal(err)
	}
	id += "-" + uuid.NewString()[:8]
	resp, err := e.c.WorkflowService().StartWorkflowExecution(e.ctx(), &workflowservice.StartWorkflowExecutionRequest{Namespace: "default", WorkflowId: id,
		RequestId: uuid.NewString(), WorkflowType: &commonpb.WorkflowType{Name: wt}, TaskQueue: &taskqueuepb.TaskQueue{Name: e.tq}, Input: in,
		TimeSkippingConfig: cfg})
	if err != nil {
		e.t.Fatalf("start %s: %v", wt, err)
	}
	return &commonpb.WorkflowExecution{WorkflowId: id, RunId: resp.RunId}
}

// tsResult waits for the workflow's result (following its chain of runs).
func (e *env) tsResult(ex *commonpb.WorkflowExecution, out any) {
	e.t.Helper()
	if err := e.c.GetWorkflow(e.ctx(), ex.WorkflowId, "").Get(e.ctx(), out); err != nil {
		e.t.Fatalf("result of %s: %v", ex.WorkflowId, err)
	}
}

func (e *env) tsDescribe(ex *commonpb.WorkflowExecution) *commonpb.TimeSkippingInfo {
	e.t.Helper()
	d, err := e.c.DescribeWorkflowExecution(e.ctx(), ex.WorkflowId, "")
	if err != nil {
		e.t.Fatal(err)
	}
	return d.WorkflowExtendedInfo.GetTimeSkippingInfo()
}

// checkTransitions checks each transition of a history as Temporal
// records it: ignorable by workers, its target no earlier than its event
// time, later events at or after the target (their times are virtual), and
// the wall-clock time close to the real now. It returns the transitions.
func checkTransitions(t *testing.T, evs []*historypb.HistoryEvent, began time.Time) []*historypb.HistoryEvent {
	t.Helper()
	var out []*historypb.HistoryEvent
	var floor time.Time
	for _, ev := range evs {
		if ev.EventTime.AsTime().Before(floor) {
			t.Fatalf("event %d (%v) at %s, before the clock's jump to %s", ev.EventId, ev.EventType, ev.EventTime.AsTime(), floor)
		}
		if ev.EventType != evTransitioned {
			continue
		}
		out = append(out, ev)
		at := ev.GetWorkflowExecutionTimeSkippingTransitionedEventAttributes()
		if !ev.WorkerMayIgnore {
			t.Fatalf("transition %d not marked worker_may_ignore", ev.EventId)
		}
		if wall := at.GetWallClockTime().AsTime(); wall.Before(began.Add(-time.Second)) || wall.After(time.Now().Add(time.Second)) {
			t.Fatalf("transition %d: wall clock time %s, real time began %s", ev.EventId, wall, began)
		}
		if at.TargetTime != nil {
			if at.TargetTime.AsTime().Before(ev.EventTime.AsTime()) {
				t.Fatalf("transition %d goes back: %v", ev.EventId, ev)
			}
			floor = at.TargetTime.AsTime()
		}
	}
	return out
}

// A workflow sleeping for a day completes at once: one transition to the
// timer's time, the timer fires at it, and the workflow sees a day pass.
func TestTimeSkippingSleepsADay(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.worker(func(w worker.Worker) { w.RegisterWorkflow(SleepWorkflow) })
	began := time.Now()
	ex := e.tsStart("ts-day", "SleepWorkflow", &commonpb.TimeSkippingConfig{Enabled: true}, 24*time.Hour)
	var slept time.Duration
	e.tsResult(ex, &slept)
	if real := time.Since(began); real > 5*time.Second {
		t.Fatalf("a day's sleep took %s of real time", real)
	}
	if slept < 24*time.Hour || slept > 24*time.Hour+time.Minute {
		t.Fatalf("the workflow saw %s pass, want a day", slept)
	}
	evs := e.history(ex.WorkflowId, ex.RunId)
	requireWellFormed(t, evs)
	tr := checkTransitions(t, evs, began)
	if len(tr) != 1 {
		t.Fatalf("%d transitions, want 1: %v", len(tr), types(evs))
	}
	var timerStarted, fired *historypb.HistoryEvent
	for _, ev := range evs {
		switch ev.EventType {
		case enumspb.EVENT_TYPE_TIMER_STARTED:
			timerStarted = ev
		case enumspb.EVENT_TYPE_TIMER_FIRED:
			fired = ev
		}
	}
	target := tr[0].GetWorkflowExecutionTimeSkippingTransitionedEventAttributes().TargetTime.AsTime()
	if want := timerStarted.EventTime.AsTime().Add(24 * time.Hour); !target.Equal(want) {
		t.Fatalf("jumped to %s, want the timer's time %s", target, want)
	}
	if tr[0].EventId != timerStarted.EventId+1 || fired.EventTime.AsTime().Before(target) || fired.EventTime.AsTime().After(target.Add(time.Minute)) {
		t.Fatalf("transition %d after timer %d; fired at %s, target %s", tr[0].EventId, timerStarted.EventId, fired.EventTime.AsTime(), target)
	}
	info := e.tsDescribe(ex)
	if info == nil || !info.EffectiveConfig.GetEnabled() || info.EffectiveConfig.GetMaxSessionSkipCount() != 200 || info.CurrentSessionSkipCount != 1 ||
		info.CurrentTime.AsTime().Before(target) || info.FastForwardInfo != nil {
		t.Fatalf("describe: %v", info)
	}
}

var tsAttempts sync.Map // workflow id → attempts made

func TsFlakyActivity(ctx context.Context) (int32, error) {
	info := activity.GetInfo(ctx)
	tsAttempts.Store(info.WorkflowExecution.ID, info.Attempt)
	if info.Attempt < 3 {
		return 0, errors.New("not yet")
	}
	return info.Attempt, nil
}

func TsRetryWorkflow(ctx workflow.Context) (time.Duration, error) {
	start := workflow.Now(ctx)
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: 10 * time.Second,
		RetryPolicy: &temporal.RetryPolicy{InitialInterval: time.Hour, BackoffCoefficient: 1, MaximumAttempts: 5}})
	var n int32
	if err := workflow.ExecuteActivity(ctx, TsFlakyActivity).Get(ctx, &n); err != nil {
		return 0, err
	}
	return workflow.Now(ctx).Sub(start), nil
}

// An activity's retry backoff is skipped; the attempts themselves run in
// real time.
func TestTimeSkippingActivityRetry(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.worker(func(w worker.Worker) {
		w.RegisterWorkflow(TsRetryWorkflow)
		w.RegisterActivity(TsFlakyActivity)
	})
	began := time.Now()
	ex := e.tsStart("ts-retry", "TsRetryWorkflow", &commonpb.TimeSkippingConfig{Enabled: true})
	var took time.Duration
	e.tsResult(ex, &took)
	if real := time.Since(began); real > 10*time.Second {
		t.Fatalf("two hour-long backoffs took %s of real time", real)
	}
	if took < 2*time.Hour || took > 2*time.Hour+time.Minute {
		t.Fatalf("the workflow saw %s pass, want two hours", took)
	}
	if n, _ := tsAttempts.Load(ex.WorkflowId); n != int32(3) {
		t.Fatalf("attempts %v", n)
	}
	evs := e.history(ex.WorkflowId, ex.RunId)
	requireWellFormed(t, evs)
	if tr := checkTransitions(t, evs, began); len(tr) != 2 {
		t.Fatalf("%d transitions, want 2 (one per backoff): %v", len(tr), types(evs))
	}
}

func TsWaitWorkflow(ctx workflow.Context, d time.Duration) (time.Duration, error) {
	start := workflow.Now(ctx)
	if err := workflow.Sleep(ctx, d); err != nil {
		return 0, err
	}
	workflow.GetSignalChannel(ctx, "go").Receive(ctx, nil)
	if err := workflow.Sleep(ctx, d); err != nil {
		return 0, err
	}
	return workflow.Now(ctx).Sub(start), nil
}

func TsSlowActivity(ctx context.Context, d time.Duration) error {
	time.Sleep(d)
	return nil
}

func TsBusyThenSleepWorkflow(ctx workflow.Context) (time.Duration, error) {
	start := workflow.Now(ctx)
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: 10 * time.Second})
	if err := workflow.ExecuteActivity(actx, TsSlowActivity, 1500*time.Millisecond).Get(ctx, nil); err != nil {
		return 0, err
	}
	if err := workflow.Sleep(ctx, 100*time.Hour); err != nil {
		return 0, err
	}
	return workflow.Now(ctx).Sub(start), nil
}

func (e *env) tsPoll(ex *commonpb.WorkflowExecution, ffID string) *workflowservice.PollWorkflowExecutionTimeSkippingResponse {
	e.t.Helper()
	r, err := e.c.WorkflowService().PollWorkflowExecutionTimeSkipping(e.ctx(), &workflowservice.PollWorkflowExecutionTimeSkippingRequest{Namespace: "default",
		WorkflowExecution: ex, FastForwardId: ffID})
	if err != nil {
		e.t.Fatalf("poll %s: %v", ffID, err)
	}
	return r
}

func (e *env) tsUpdate(ex *commonpb.WorkflowExecution, cfg *commonpb.TimeSkippingConfig) (*workflowservice.UpdateWorkflowExecutionOptionsResponse, error) {
	return e.c.WorkflowService().UpdateWorkflowExecutionOptions(e.ctx(), &workflowservice.UpdateWorkflowExecutionOptionsRequest{Namespace: "default",
		WorkflowExecution: &commonpb.WorkflowExecution{WorkflowId: ex.WorkflowId}, WorkflowExecutionOptions: &workflowpb.WorkflowExecutionOptions{TimeSkippingConfig: cfg},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"time_skipping_config"}}})
}

// A fast-forward caps the jump and ends skipping; the poll waits for it
// while the run is busy and answers COMPLETED once the run reached it, or
// FAILED for another id.
func TestTimeSkippingFastForwardPoll(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.worker(func(w worker.Worker) {
		w.RegisterWorkflow(TsBusyThenSleepWorkflow)
		w.RegisterActivity(TsSlowActivity)
	})
	ff := &commonpb.FastForwardConfig{Id: "ff-1", Duration: durationpb.New(5 * time.Hour)}
	ex := e.tsStart("ts-ff", "TsBusyThenSleepWorkflow", &commonpb.TimeSkippingConfig{Enabled: true, FastForwardConfig: ff})
	if r := e.tsPoll(ex, "ff-other"); r.FastForwardPollingResult != enumspb.FAST_FORWARD_POLLING_RESULT_FAST_FORWARD_FAILED ||
		r.FailedReason != "the requested fast_forward_id does not match the execution's current fast-forward" || r.FastForwardInfo.GetFastForwardId() != "ff-1" {
		t.Fatalf("poll of another id: %v", r)
	}
	began := time.Now()
	r := e.tsPoll(ex, "ff-1") // the activity runs 1.5 s: the poll waits for it
	if waited := time.Since(began); r.FastForwardPollingResult != enumspb.FAST_FORWARD_POLLING_RESULT_FAST_FORWARD_COMPLETED || !r.FastForwardInfo.HasCompleted ||
		r.FastForwardInfo.FastForwardDuration.AsDuration() != 5*time.Hour || waited < 500*time.Millisecond {
		t.Fatalf("poll after %s: %v", waited, r)
	}
	info := e.tsDescribe(ex)
	if info.EffectiveConfig.GetEnabled() || !info.FastForwardInfo.GetHasCompleted() || !info.FastForwardInfo.TargetTime.AsTime().Equal(r.FastForwardInfo.TargetTime.AsTime()) {
		t.Fatalf("describe after the fast-forward: %v", info)
	}
	evs := e.history(ex.WorkflowId, ex.RunId)
	tr := checkTransitions(t, evs, began.Add(-5*time.Second))
	if len(tr) != 1 || !tr[0].GetWorkflowExecutionTimeSkippingTransitionedEventAttributes().DisabledAfterFastForward ||
		!tr[0].GetWorkflowExecutionTimeSkippingTransitionedEventAttributes().TargetTime.AsTime().Equal(r.FastForwardInfo.TargetTime.AsTime()) {
		t.Fatalf("transitions %v", tr)
	}
	if n := count(evs, enumspb.EVENT_TYPE_TIMER_FIRED); n != 0 {
		t.Fatal("the 100 h timer fired: the fast-forward did not stop skipping")
	}

	// A second fast-forward, set by UpdateWorkflowExecutionOptions: the
	// idle run jumps by it, its poll completes at once.
	ff2 := &commonpb.FastForwardConfig{Id: "ff-2", Duration: durationpb.New(20 * time.Hour)}
	out, err := e.tsUpdate(ex, &commonpb.TimeSkippingConfig{Enabled: true, FastForwardConfig: ff2})
	if err != nil {
		t.Fatal(err)
	}
	if c := out.WorkflowExecutionOptions.GetTimeSkippingConfig(); c.GetFastForwardConfig().GetId() != "ff-2" || c.GetMaxSessionSkipCount() != 200 {
		t.Fatalf("options after the update: %v", out.WorkflowExecutionOptions)
	}
	if r := e.tsPoll(ex, "ff-2"); r.FastForwardPollingResult != enumspb.FAST_FORWARD_POLLING_RESULT_FAST_FORWARD_COMPLETED {
		t.Fatalf("second poll: %v", r)
	}
	if r := e.tsPoll(ex, "ff-1"); r.FastForwardPollingResult != enumspb.FAST_FORWARD_POLLING_RESULT_FAST_FORWARD_FAILED {
		t.Fatalf("poll of the replaced fast-forward: %v", r)
	}
	evs = e.history(ex.WorkflowId, ex.RunId)
	if n := count(evs, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_OPTIONS_UPDATED); n != 1 {
		t.Fatalf("%d options-updated events", n)
	}
	if tr := checkTransitions(t, evs, began.Add(-5*time.Second)); len(tr) != 2 {
		t.Fatalf("%d transitions: %v", len(tr), types(evs))
	}
	// Skipping disabled, with no fast-forward: the poll says so.
	if _, err := e.tsUpdate(ex, &commonpb.TimeSkippingConfig{}); err != nil {
		t.Fatal(err)
	}
	if r := e.tsPoll(ex, "ff-2"); r.FastForwardPollingResult != enumspb.FAST_FORWARD_POLLING_RESULT_FAST_FORWARD_FAILED {
		t.Fatalf("poll with skipping disabled: %v", r)
	}
}

func TsHoursWorkflow(ctx workflow.Context, n int) error {
	for i := 0; i < n; i++ {
		if err := workflow.Sleep(ctx, time.Hour); err != nil {
			return err
		}
	}
	return nil
}

// The session's skips run out at max_session_skip_count: the run then
// sleeps on the wall clock.
func TestTimeSkippingMaxSkips(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.worker(func(w worker.Worker) { w.RegisterWorkflow(TsHoursWorkflow) })
	ex := e.tsStart("ts-max", "TsHoursWorkflow", &commonpb.TimeSkippingConfig{Enabled: true, MaxSessionSkipCount: 2}, 3)
	waitFor(t, 10*time.Second, "two timers fired and the third started", func() bool {
		evs := e.history(ex.WorkflowId, ex.RunId)
		return count(evs, enumspb.EVENT_TYPE_TIMER_FIRED) == 2 && count(evs, enumspb.EVENT_TYPE_TIMER_STARTED) == 3
	})
	time.Sleep(300 * time.Millisecond)
	evs := e.history(ex.WorkflowId, ex.RunId)
	if n := count(evs, evTransitioned); n != 2 || count(evs, enumspb.EVENT_TYPE_TIMER_FIRED) != 2 {
		t.Fatalf("after the maximum: %v", types(evs))
	}
	info := e.tsDescribe(ex)
	if info.EffectiveConfig.GetEnabled() || info.CurrentSessionSkipCount != 2 {
		t.Fatalf("describe: %v", info)
	}
	// A new session (an update) lets it skip again.
	if _, err := e.tsUpdate(ex, &commonpb.TimeSkippingConfig{Enabled: true, MaxSessionSkipCount: 5}); err != nil {
		t.Fatal(err)
	}
	var none any
	e.tsResult(ex, &none)
}

func TsChildWorkflow(ctx workflow.Context) (time.Time, error) {
	if err := workflow.Sleep(ctx, 3*time.Hour); err != nil {
		return time.Time{}, err
	}
	return workflow.Now(ctx), nil
}

func TsParentWorkflow(ctx workflow.Context) ([]time.Time, error) {
	if err := workflow.Sleep(ctx, 2*time.Hour); err != nil {
		return nil, err
	}
	before := workflow.Now(ctx)
	var childNow time.Time
	cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{WorkflowID: workflow.GetInfo(ctx).WorkflowExecution.ID + "-child"})
	if err := workflow.ExecuteChildWorkflow(cctx, TsChildWorkflow).Get(ctx, &childNow); err != nil {
		return nil, err
	}
	return []time.Time{before, childNow}, nil
}

// A child inherits the parent's config without its fast-forward, starts
// at the parent's virtual time, and skips on its own.
func TestTimeSkippingChild(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.worker(func(w worker.Worker) {
		w.RegisterWorkflow(TsParentWorkflow)
		w.RegisterWorkflow(TsChildWorkflow)
	})
	began := time.Now()
	ff := &commonpb.FastForwardConfig{Id: "ff", Duration: durationpb.New(1000 * time.Hour)}
	ex := e.tsStart("ts-parent", "TsParentWorkflow", &commonpb.TimeSkippingConfig{Enabled: true, FastForwardConfig: ff})
	var times []time.Time
	e.tsResult(ex, &times)
	if real := time.Since(began); real > 10*time.Second {
		t.Fatalf("took %s of real time", real)
	}
	if len(times) != 2 || times[0].Sub(began) < 2*time.Hour || times[1].Sub(times[0]) < 3*time.Hour || times[1].Sub(times[0]) > 3*time.Hour+time.Minute {
		t.Fatalf("parent's time before the child %v, child's after its sleep %v (began %s)", times[0], times[1], began)
	}
	child := e.history(ex.WorkflowId+"-child", "")
	requireWellFormed(t, child)
	st := child[0].GetWorkflowExecutionStartedEventAttributes()
	if c := st.GetTimeSkippingConfig(); !c.GetEnabled() || c.GetFastForwardConfig() != nil || c.GetMaxSessionSkipCount() != 200 {
		t.Fatalf("child's config: %v", c)
	}
	if d := st.GetTimeSkippingStatePropagation().GetInitialSkippedDuration().AsDuration(); d < 2*time.Hour-time.Minute || d > 2*time.Hour {
		t.Fatalf("child inherits %s skipped", d)
	}
	if at := child[0].EventTime.AsTime(); at.Before(times[0]) || at.Sub(times[0]) > time.Minute {
		t.Fatalf("child started at %s, parent's time was %s", at, times[0])
	}
	if n := len(checkTransitions(t, child, began)); n != 1 {
		t.Fatalf("child made %d transitions", n)
	}
}

func TsChainWorkflow(ctx workflow.Context, n int) (time.Time, error) {
	if err := workflow.Sleep(ctx, time.Hour); err != nil {
		return time.Time{}, err
	}
	if n > 1 {
		return time.Time{}, workflow.NewContinueAsNewError(ctx, TsChainWorkflow, n-1)
	}
	return workflow.Now(ctx), nil
}

// Continue-as-new: each run inherits the config, the skipped time and the
// session's skip count; a server restart in between loses nothing.
func TestTimeSkippingContinueAsNewAndRestart(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.worker(func(w worker.Worker) { w.RegisterWorkflow(TsChainWorkflow) })
	began := time.Now()
	ex := e.tsStart("ts-chain", "TsChainWorkflow", &commonpb.TimeSkippingConfig{Enabled: true, MaxSessionSkipCount: 10}, 3)
	var end time.Time
	e.tsResult(ex, &end)
	if d := end.Sub(began); d < 3*time.Hour || d > 3*time.Hour+time.Minute {
		t.Fatalf("the chain ended %s after it began, want 3 h", d)
	}
	d, err := e.c.DescribeWorkflowExecution(e.ctx(), ex.WorkflowId, "")
	if err != nil {
		t.Fatal(err)
	}
	last := e.history(ex.WorkflowId, d.WorkflowExecutionInfo.Execution.RunId)
	prop := last[0].GetWorkflowExecutionStartedEventAttributes().GetTimeSkippingStatePropagation()
	if prop.GetInitialSkipCount() != 2 || prop.GetInitialSkippedDuration().AsDuration() < 2*time.Hour-time.Minute {
		t.Fatalf("third run inherits %v", prop)
	}
	info := d.WorkflowExtendedInfo.GetTimeSkippingInfo()
	if info.GetCurrentSessionSkipCount() != 3 || info.EffectiveConfig.GetMaxSessionSkipCount() != 10 {
		t.Fatalf("describe of the last run: %v", info)
	}

	// Across a restart: a run that skipped and waits for a signal keeps
	// its clock; its next sleep is skipped too.
	e.worker(func(w worker.Worker) { w.RegisterWorkflow(TsWaitWorkflow) })
	ex = e.tsStart("ts-restart", "TsWaitWorkflow", &commonpb.TimeSkippingConfig{Enabled: true}, 5*time.Hour)
	waitFor(t, 10*time.Second, "the first sleep skipped", func() bool {
		return count(e.history(ex.WorkflowId, ex.RunId), enumspb.EVENT_TYPE_TIMER_FIRED) == 1
	})
	before := e.tsDescribe(ex)
	e.restart()
	e.worker(func(w worker.Worker) { w.RegisterWorkflow(TsWaitWorkflow) })
	after := e.tsDescribe(ex)
	if after.CurrentSessionSkipCount != 1 || after.CurrentTime.AsTime().Sub(before.CurrentTime.AsTime()) < 0 ||
		after.CurrentTime.AsTime().Sub(time.Now()) < 5*time.Hour-time.Minute {
		t.Fatalf("after the restart: %v (before %v)", after, before)
	}
	if err := e.c.SignalWorkflow(e.ctx(), ex.WorkflowId, "", "go", nil); err != nil {
		t.Fatal(err)
	}
	var took time.Duration
	e.tsResult(ex, &took)
	if took < 10*time.Hour || took > 10*time.Hour+time.Minute {
		t.Fatalf("the workflow saw %s pass, want 10 h", took)
	}
	requireWellFormed(t, e.history(ex.WorkflowId, ex.RunId))
}

// Bad configs get Temporal's InvalidArgument answers, and nothing starts.
func TestTimeSkippingValidation(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	svc := e.c.WorkflowService()
	expect := func(what string, err error, code codes.Code, msg string) {
		t.Helper()
		st := serviceerror.ToStatus(err)
		if err == nil || st.Code() != code || !strings.Contains(st.Message(), msg) {
			t.Fatalf("%s: got %v, want %v %q", what, err, code, msg)
		}
	}
	day := durationpb.New(24 * time.Hour)
	for what, c := range map[string]struct {
		cfg *commonpb.TimeSkippingConfig
		msg string
	}{
		"no id":          {&commonpb.TimeSkippingConfig{Enabled: true, FastForwardConfig: &commonpb.FastForwardConfig{Duration: day}}, "Time skipping config invalid: fast_forward_id must be set"},
		"no duration":    {&commonpb.TimeSkippingConfig{Enabled: true, FastForwardConfig: &commonpb.FastForwardConfig{Id: "x"}}, "Time skipping config invalid: fast_forward duration must be positive"},
		"disabled + ff":  {&commonpb.TimeSkippingConfig{FastForwardConfig: &commonpb.FastForwardConfig{Id: "x", Duration: day}}, "time_skipping_config: cannot set fast_forward when enabled is false"},
		"negative ff":    {&commonpb.TimeSkippingConfig{Enabled: true, FastForwardConfig: &commonpb.FastForwardConfig{Id: "x", Duration: durationpb.New(-time.Hour)}}, "fast_forward duration must be positive"},
		"blank id (spc)": {&commonpb.TimeSkippingConfig{Enabled: true, FastForwardConfig: &commonpb.FastForwardConfig{Id: "  ", Duration: day}}, "fast_forward_id must be set"},
	} {
		id := "ts-bad-" + uuid.NewString()[:8]
		_, err := svc.StartWorkflowExecution(e.ctx(), &workflowservice.StartWorkflowExecutionRequest{Namespace: "default", WorkflowId: id, RequestId: uuid.NewString(),
			WorkflowType: &commonpb.WorkflowType{Name: "SleepWorkflow"}, TaskQueue: &taskqueuepb.TaskQueue{Name: e.tq}, TimeSkippingConfig: c.cfg})
		expect("start "+what, err, codes.InvalidArgument, c.msg)
		if _, err := e.c.DescribeWorkflowExecution(e.ctx(), id, ""); err == nil {
			t.Fatalf("start %s: refused but started", what)
		}
	}
	e.worker(func(w worker.Worker) { w.RegisterWorkflow(SleepWorkflow) })
	ex := e.tsStart("ts-val", "SleepWorkflow", &commonpb.TimeSkippingConfig{}, time.Hour)
	_, err := e.tsUpdate(ex, &commonpb.TimeSkippingConfig{Enabled: true, FastForwardConfig: &commonpb.FastForwardConfig{Id: "x"}})
	expect("update", err, codes.InvalidArgument, "fast_forward duration must be positive")
	_, err = svc.UpdateWorkflowExecutionOptions(e.ctx(), &workflowservice.UpdateWorkflowExecutionOptionsRequest{Namespace: "default", WorkflowExecution: ex,
		WorkflowExecutionOptions: &workflowpb.WorkflowExecutionOptions{TimeSkippingConfig: &commonpb.TimeSkippingConfig{Enabled: true}},
		UpdateMask:               &fieldmaskpb.FieldMask{Paths: []string{"time_skipping_config.enabled"}}})
	expect("partial mask", err, codes.InvalidArgument, "time_skipping_config doesn't support partial update")
	_, err = svc.PollWorkflowExecutionTimeSkipping(e.ctx(), &workflowservice.PollWorkflowExecutionTimeSkippingRequest{Namespace: "default", WorkflowExecution: ex})
	expect("poll without id", err, codes.InvalidArgument, "fast_forward_id must be set")
	_, err = svc.PollWorkflowExecutionTimeSkipping(e.ctx(), &workflowservice.PollWorkflowExecutionTimeSkippingRequest{Namespace: "default", FastForwardId: "x"})
	expect("poll without execution", err, codes.InvalidArgument, "Execution is not set")
	_, err = svc.PollWorkflowExecutionTimeSkipping(e.ctx(), &workflowservice.PollWorkflowExecutionTimeSkippingRequest{Namespace: "default", FastForwardId: "x",
		WorkflowExecution: &commonpb.WorkflowExecution{WorkflowId: "nope-" + uuid.NewString()}})
	expect("poll of an unknown workflow", err, codes.NotFound, "")
	// A run started with skipping disabled has no fast-forward: the poll
	// fails at once; describe shows the (disabled) config.
	r := e.tsPoll(ex, "x")
	if r.FastForwardPollingResult != enumspb.FAST_FORWARD_POLLING_RESULT_FAST_FORWARD_FAILED || r.FastForwardInfo != nil {
		t.Fatalf("poll of a run without fast-forward: %v", r)
	}
	if info := e.tsDescribe(ex); info == nil || info.EffectiveConfig.GetEnabled() || info.EffectiveConfig.GetMaxSessionSkipCount() != 200 {
		t.Fatalf("describe: %v", info)
	}
	if n := count(e.history(ex.WorkflowId, ex.RunId), evTransitioned); n != 0 {
		t.Fatalf("a disabled config skipped %d times", n)
	}
}

// Signal-with-start and update-with-start carry the config too: the
// signalled run skips its day's sleep; the update-with-start's run
// describes the config it was started with.
func TestTimeSkippingWithStartRequests(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.worker(func(w worker.Worker) {
		w.RegisterWorkflow(SleepWorkflow)
		w.RegisterWorkflow(waitForUpdateWorkflow)
	})
	svc := e.c.WorkflowService()
	in, _ := converter.GetDefaultDataConverter().ToPayloads(24 * time.Hour)
	id := "ts-sws-" + uuid.NewString()[:8]
	began := time.Now()
	if _, err := svc.SignalWithStartWorkflowExecution(e.ctx(), &workflowservice.SignalWithStartWorkflowExecutionRequest{Namespace: "default", WorkflowId: id,
		RequestId: uuid.NewString(), WorkflowType: &commonpb.WorkflowType{Name: "SleepWorkflow"}, TaskQueue: &taskqueuepb.TaskQueue{Name: e.tq}, Input: in,
		SignalName: "s", TimeSkippingConfig: &commonpb.TimeSkippingConfig{Enabled: true}}); err != nil {
		t.Fatal(err)
	}
	var slept time.Duration
	e.tsResult(&commonpb.WorkflowExecution{WorkflowId: id}, &slept)
	if slept < 24*time.Hour || time.Since(began) > 5*time.Second {
		t.Fatalf("signal-with-start: slept %s in %s", slept, time.Since(began))
	}

	id = "ts-uws-" + uuid.NewString()[:8]
	_, err := svc.ExecuteMultiOperation(e.ctx(), &workflowservice.ExecuteMultiOperationRequest{Namespace: "default", Operations: []*workflowservice.ExecuteMultiOperationRequest_Operation{
		{Operation: &workflowservice.ExecuteMultiOperationRequest_Operation_StartWorkflow{StartWorkflow: &workflowservice.StartWorkflowExecutionRequest{
			Namespace: "default", WorkflowId: id, RequestId: uuid.NewString(), WorkflowType: &commonpb.WorkflowType{Name: "waitForUpdateWorkflow"},
			TaskQueue: &taskqueuepb.TaskQueue{Name: e.tq}, WorkflowIdConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
			TimeSkippingConfig: &commonpb.TimeSkippingConfig{Enabled: true, MaxSessionSkipCount: 7}}}},
		{Operation: &workflowservice.ExecuteMultiOperationRequest_Operation_UpdateWorkflow{UpdateWorkflow: &workflowservice.UpdateWorkflowExecutionRequest{
			Namespace: "default", WorkflowExecution: &commonpb.WorkflowExecution{WorkflowId: id},
			Request:    &updatepb.Request{Meta: &updatepb.Meta{UpdateId: "u"}, Input: &updatepb.Input{Name: "finish", Args: mustPayloads(t, e, "x")}},
			WaitPolicy: &updatepb.WaitPolicy{LifecycleStage: enumspb.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_COMPLETED}}}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	var out string
	e.tsResult(&commonpb.WorkflowExecution{WorkflowId: id}, &out)
	d, err := svc.DescribeWorkflowExecution(e.ctx(), &workflowservice.DescribeWorkflowExecutionRequest{Namespace: "default", Execution: &commonpb.WorkflowExecution{WorkflowId: id}})
	if err != nil {
		t.Fatal(err)
	}
	if c := d.WorkflowExtendedInfo.GetTimeSkippingInfo().GetEffectiveConfig(); !c.GetEnabled() || c.GetMaxSessionSkipCount() != 7 {
		t.Fatalf("update-with-start's run: %v", d.WorkflowExtendedInfo.GetTimeSkippingInfo())
	}
}
