package schedule

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	failurepb "go.temporal.io/api/failure/v1"
	schedulepb "go.temporal.io/api/schedule/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/sundial-io/sundial/internal/engine"
	"github.com/sundial-io/sundial/internal/visibility"
)

// Temporal's defaults for the numbers a schedule keeps.
const (
	defaultCatchupWindow = 365 * 24 * time.Hour
	minCatchupWindow     = 10 * time.Second
	maxBuffer            = 1000
	recentActions        = 10
	futureActions        = 10
	// maxTimesPerStep bounds the nominal times one step walks (after a
	// long downtime most are past the catch-up window); the rest are
	// walked by the next step, at once.
	maxTimesPerStep = 10000
)

func (sc *sched) catchupWindow() time.Duration {
	cw := sc.st.Schedule.GetPolicies().GetCatchupWindow()
	switch {
	case cw == nil:
		return defaultCatchupWindow
	case cw.AsDuration() < minCatchupWindow:
		return minCatchupWindow
	}
	return cw.AsDuration()
}

func (sc *sched) policy(p enumspb.ScheduleOverlapPolicy) enumspb.ScheduleOverlapPolicy {
	if p == enumspb.SCHEDULE_OVERLAP_POLICY_UNSPECIFIED {
		p = sc.st.Schedule.GetPolicies().GetOverlapPolicy()
	}
	if p == enumspb.SCHEDULE_OVERLAP_POLICY_UNSPECIFIED {
		p = enumspb.SCHEDULE_OVERLAP_POLICY_SKIP
	}
	return p
}

// canTakeScheduled says whether a scheduled (not manual) action may run:
// not paused, and an action left if they are limited.
func (sc *sched) canTakeScheduled() bool {
	st := sc.st.Schedule.GetState()
	return !st.GetPaused() && (!st.GetLimitedActions() || st.GetRemainingActions() > 0)
}

// step is one turn of the schedule, with sc.mu held: buffer the times that
// came due, make the starts the overlap policy allows, write the progress,
// and set the timer again.
func (sc *sched) step() {
	now := sc.s.eng.Now()
	if !sc.held() {
		// The shard moved (the new owner fires the schedule, and this
		// one is dropped), or the lease is not offered until a renewal
		// succeeds: try again then.
		sc.arm(now, retryDelay)
		return
	}
	more := sc.generate(now)
	again := sc.drain(now)
	if err := sc.save(); err != nil {
		// The starts made are durable; the next step makes them again,
		// idempotently, and records them.
		sc.s.log.Error("writing schedule failed; retrying", "namespace", sc.key.ns, "schedule", sc.key.id, "err", err)
		sc.arm(now, retryDelay)
		return
	}
	switch {
	case more || (len(sc.st.Backfills) > 0 && len(sc.st.Buffer) < maxBuffer):
		// More times to walk, or backfill left and room to buffer it.
		sc.arm(now, 0)
	case again:
		sc.arm(now, retryDelay)
	default:
		sc.arm(now, -1)
	}
}

// add buffers one start, dropping it if the buffer is full.
func (sc *sched) add(p *pending) {
	if len(sc.st.Buffer) >= maxBuffer {
		sc.st.Info.BufferDropped++
		return
	}
	sc.st.Buffer = append(sc.st.Buffer, p)
}

// generate buffers the scheduled times that came due up to now and the
// next parts of backfills. It reports whether there is more to walk.
func (sc *sched) generate(now time.Time) bool {
	more := false
	if sc.spec != nil {
		if !sc.canTakeScheduled() {
			// Paused or out of actions: the time passes unused (and does
			// not count as missed).
			sc.st.Cursor = now
		} else {
			cw := sc.catchupWindow()
			for i := 0; ; i++ {
				if i == maxTimesPerStep {
					more = true
					break
				}
				t, ok := sc.spec.Next(sc.seed(), sc.st.Cursor)
				if !ok || t.Actual.After(now) {
					break
				}
				sc.st.Cursor = t.Nominal
				if now.Sub(t.Actual) > cw {
					sc.st.Info.MissedCatchupWindow++
					continue
				}
				sc.add(&pending{Nominal: t.Nominal, Actual: t.Actual})
			}
		}
	}
	// Backfills fill what room the buffer has, oldest request first.
	for len(sc.st.Backfills) > 0 && sc.spec != nil {
		bf := sc.st.Backfills[0]
		from, to := bf.StartTime.AsTime(), bf.EndTime.AsTime()
		for len(sc.st.Buffer) < maxBuffer {
			t, ok := sc.spec.Next(sc.seed(), from)
			if !ok || t.Actual.After(to) {
				from = to
				break
			}
			sc.add(&pending{Nominal: t.Nominal, Actual: t.Actual, Overlap: bf.OverlapPolicy, Manual: true, RequestID: newRequestID()})
			from = t.Nominal
		}
		if !from.Before(to) {
			sc.st.Backfills = sc.st.Backfills[1:]
			continue
		}
		bf.StartTime = timestamppb.New(from)
		break // buffer full: the rest waits for room
	}
	return more
}

// decision is what the overlap policies make of the buffer.
type decision struct {
	overlapping    []*pending // ALLOW_ALL: start all now
	next           *pending   // the one non-overlapping start to make now
	keep           []*pending // the new buffer
	cancel, kill   bool       // cancel / terminate what is running
	overlapSkipped int64
}

// decide applies the overlap policies to the buffer, Temporal's way: with
// nothing running the first start goes; otherwise SKIP drops, BUFFER_ONE
// keeps one, BUFFER_ALL keeps all, CANCEL_OTHER and TERMINATE_OTHER keep
// theirs and stop what runs; ALLOW_ALL always starts.
func (sc *sched) decide(running bool) decision {
	var d decision
	for _, p := range sc.st.Buffer {
		pol := sc.policy(p.Overlap)
		if pol == enumspb.SCHEDULE_OVERLAP_POLICY_ALLOW_ALL {
			d.overlapping = append(d.overlapping, p)
			continue
		}
		if !running && d.next == nil {
			d.next = p
			continue
		}
		switch pol {
		case enumspb.SCHEDULE_OVERLAP_POLICY_SKIP:
			d.overlapSkipped++
		case enumspb.SCHEDULE_OVERLAP_POLICY_BUFFER_ONE:
			if len(d.keep) == 0 {
				d.keep = append(d.keep, p)
			} else {
				d.overlapSkipped++
			}
		case enumspb.SCHEDULE_OVERLAP_POLICY_BUFFER_ALL:
			d.keep = append(d.keep, p)
		case enumspb.SCHEDULE_OVERLAP_POLICY_CANCEL_OTHER, enumspb.SCHEDULE_OVERLAP_POLICY_TERMINATE_OTHER:
			if running {
				d.cancel = d.cancel || pol == enumspb.SCHEDULE_OVERLAP_POLICY_CANCEL_OTHER
				d.kill = d.kill || pol == enumspb.SCHEDULE_OVERLAP_POLICY_TERMINATE_OTHER
				d.keep = append(d.keep, p)
			} else {
				d.next = p // replaces the one not started yet
			}
		default:
			d.overlapSkipped++
		}
	}
	if d.cancel || d.kill {
		d.overlapping = nil // they would be stopped at once
	}
	return d
}

// drain makes the starts the buffer allows now. It reports whether a
// start failed for a reason worth retrying.
func (sc *sched) drain(now time.Time) (retry bool) {
	if len(sc.st.Buffer) == 0 {
		return false
	}
	running := len(sc.st.Info.RunningWorkflows) > 0
	d := sc.decide(running)
	sc.st.Info.OverlapSkipped += d.overlapSkipped
	sc.st.Buffer = d.keep
	starts := append(d.overlapping, d.next)
	for _, p := range starts {
		if p == nil {
			continue
		}
		if !p.Manual {
			// Paused or out of actions since it was buffered: dropped.
			if !sc.canTakeScheduled() {
				continue
			}
		}
		err := sc.start(now, p, p != d.next)
		if err != nil && retryable(err) {
			sc.st.Buffer = append([]*pending{p}, sc.st.Buffer...)
			retry = true
		}
	}
	if d.cancel || d.kill {
		sc.stopRunning(d.kill)
	}
	return retry
}

func retryable(err error) bool {
	var unavailable *serviceerror.Unavailable
	var exhausted *serviceerror.ResourceExhausted
	return errors.As(err, &unavailable) || errors.As(err, &exhausted)
}

// workflowID is the id of the workflow started for a nominal time: the
// action's id plus the nominal time in RFC 3339 at second precision, UTC,
// unless the policy keeps the original id.
func (sc *sched) workflowID(nominal time.Time) string {
	id := sc.st.Schedule.GetAction().GetStartWorkflow().GetWorkflowId()
	if sc.st.Schedule.GetPolicies().GetKeepOriginalWorkflowId() {
		return id
	}
	return id + "-" + nominal.UTC().Truncate(time.Second).Format(time.RFC3339)
}

// scheduledRequestID is the request id of a scheduled start: the same for
// one schedule and nominal time however often it is made, so a start
// repeated after a crash finds the run already started.
func (sc *sched) scheduledRequestID(nominal time.Time) string {
	h := sha256.Sum256([]byte(fmt.Sprintf("%s\x00%s\x00%d", sc.key.ns, sc.key.id, nominal.UnixNano())))
	return "sched-" + hex.EncodeToString(h[:16])
}

// start starts the workflow of one pending start and records the action.
func (sc *sched) start(now time.Time, p *pending, overlapping bool) error {
	nw := sc.st.Schedule.GetAction().GetStartWorkflow()
	if nw == nil {
		return nil
	}
	reuse := enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE
	reqID := p.RequestID
	if p.Manual {
		reuse = enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE
	}
	if reqID == "" {
		reqID = sc.scheduledRequestID(p.Nominal)
	}
	params := &engine.StartParams{
		Namespace:    sc.key.ns,
		WorkflowID:   sc.workflowID(p.Nominal),
		WorkflowType: nw.WorkflowType,
		TaskQueue:    nw.TaskQueue.GetName(),
		Input:        nw.Input,
		ExecTimeout:  nw.WorkflowExecutionTimeout.AsDuration(),
		RunTimeout:   nw.WorkflowRunTimeout.AsDuration(),
		TaskTimeout:  nw.WorkflowTaskTimeout.AsDuration(),
		Identity:     fmt.Sprintf("temporal-scheduler-%s-%s", sc.key.ns, sc.key.id),
		RequestID:    reqID,
		ReusePolicy:  reuse,
		RetryPolicy:  nw.RetryPolicy,
		Memo:         nw.Memo,
		Search:       scheduledSearchAttributes(nw.SearchAttributes, p.Nominal, sc.key.id),
		Header:       nw.Header,
		Priority:     nw.Priority,
	}
	if !overlapping {
		// ALLOW_ALL runs do not take part in the chain of results.
		params.LastCompletionResult, params.ContinuedFailure = sc.st.LastResult, sc.st.LastFailure
	}
	res, err := sc.s.eng.StartWorkflowOn(sc.ctx, params)
	if err != nil {
		sc.s.log.Warn("schedule could not start its workflow", "namespace", sc.key.ns, "schedule", sc.key.id, "workflow", params.WorkflowID, "err", err)
		return err
	}
	if !p.Manual && sc.st.Schedule.GetState().GetLimitedActions() {
		sc.st.Schedule.State.RemainingActions--
		sc.st.Token++
	}
	ex := &commonpb.WorkflowExecution{WorkflowId: params.WorkflowID, RunId: res.RunID}
	info := sc.st.Info
	info.ActionCount++
	info.RecentActions = append(info.RecentActions, &schedulepb.ScheduleActionResult{
		ScheduleTime:        timestamppb.New(p.Actual),
		ActualTime:          timestamppb.New(now),
		StartWorkflowResult: ex,
		StartWorkflowStatus: enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING,
	})
	if n := len(info.RecentActions); n > recentActions {
		info.RecentActions = info.RecentActions[n-recentActions:]
	}
	if !overlapping {
		info.RunningWorkflows = append(info.RunningWorkflows, ex)
		sc.watch(ex)
	}
	return nil
}

// scheduledSearchAttributes adds TemporalScheduledStartTime (the nominal
// time) and TemporalScheduledById to the action's search attributes.
func scheduledSearchAttributes(sa *commonpb.SearchAttributes, nominal time.Time, scheduleID string) *commonpb.SearchAttributes {
	fields := map[string]*commonpb.Payload{}
	for k, v := range sa.GetIndexedFields() {
		fields[k] = v
	}
	if p, err := visibility.EncodeValue(nominal.UTC(), enumspb.INDEXED_VALUE_TYPE_DATETIME); err == nil {
		fields["TemporalScheduledStartTime"] = p
	}
	if p, err := visibility.EncodeValue(scheduleID, enumspb.INDEXED_VALUE_TYPE_KEYWORD); err == nil {
		fields["TemporalScheduledById"] = p
	}
	return &commonpb.SearchAttributes{IndexedFields: fields}
}

// stopRunning cancels or terminates the workflows the schedule runs (for
// CANCEL_OTHER and TERMINATE_OTHER); the buffered start waits until they
// have closed.
func (sc *sched) stopRunning(terminate bool) {
	identity := fmt.Sprintf("temporal-scheduler-%s-%s", sc.key.ns, sc.key.id)
	for _, ex := range sc.st.Info.RunningWorkflows {
		target := &commonpb.WorkflowExecution{WorkflowId: ex.WorkflowId}
		var err error
		if terminate {
			err = sc.s.terminate(sc.ctx, &workflowservice.TerminateWorkflowExecutionRequest{
				Namespace: sc.key.ns, WorkflowExecution: target, Reason: "terminated by schedule overlap policy", Identity: identity,
			})
		} else {
			err = sc.s.requestCancel(sc.ctx, &workflowservice.RequestCancelWorkflowExecutionRequest{
				Namespace: sc.key.ns, WorkflowExecution: target, Reason: "canceled by schedule overlap policy", Identity: identity,
				RequestId: sc.scheduledRequestID(time.Unix(0, 0)) + "-cancel-" + ex.WorkflowId,
			})
		}
		if err != nil {
			sc.s.log.Debug("schedule could not stop a running workflow", "workflow", ex.WorkflowId, "err", err)
		}
	}
}

// closed records that a workflow the schedule started has closed: it
// leaves the running list, its recent action shows its status, a failure
// may pause the schedule, its result or failure goes to the next run, and
// a buffered start may now go.
func (sc *sched) closed(workflowID string, status enumspb.WorkflowExecutionStatus, result *commonpb.Payloads, failure *failurepb.Failure) {
	delete(sc.watched, workflowID)
	info := sc.st.Info
	for i, ex := range info.RunningWorkflows {
		if ex.WorkflowId == workflowID {
			info.RunningWorkflows = append(info.RunningWorkflows[:i:i], info.RunningWorkflows[i+1:]...)
			break
		}
	}
	for _, a := range info.RecentActions {
		if a.GetStartWorkflowResult().GetWorkflowId() == workflowID {
			a.StartWorkflowStatus = status
		}
	}
	state := sc.st.Schedule.State
	failed := status == enumspb.WORKFLOW_EXECUTION_STATUS_FAILED || status == enumspb.WORKFLOW_EXECUTION_STATUS_TIMED_OUT
	if failed && sc.st.Schedule.GetPolicies().GetPauseOnFailure() && !state.GetPaused() {
		state.Paused = true
		if status == enumspb.WORKFLOW_EXECUTION_STATUS_FAILED {
			state.Notes = fmt.Sprintf("paused due to workflow failure: %s: %s", workflowID, failure.GetMessage())
		} else {
			state.Notes = fmt.Sprintf("paused due to workflow timeout: %s", workflowID)
		}
		sc.st.Token++
	}
	if result != nil {
		sc.st.LastResult, sc.st.LastFailure = result, nil
	} else if failure != nil {
		sc.st.LastFailure = failure
	}
	sc.step()
}
