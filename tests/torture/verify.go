package torture

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
)

type verifier struct {
	c   client.Client
	ctx context.Context
	t   *tally
}

// history reads a run's full history, retrying transient errors.
func (v *verifier) history(id, runID string) ([]*historypb.HistoryEvent, error) {
	var last error
	for attempt := 0; attempt < 5 && v.ctx.Err() == nil; attempt++ {
		ctx, cancel := context.WithTimeout(v.ctx, 20*time.Second)
		it := v.c.GetWorkflowHistory(ctx, id, runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
		var evs []*historypb.HistoryEvent
		for it.HasNext() {
			ev, err := it.Next()
			if err != nil {
				last = err
				evs = nil
				break
			}
			evs = append(evs, ev)
		}
		cancel()
		if evs != nil {
			return evs, nil
		}
		time.Sleep(200 * time.Millisecond)
	}
	return nil, last
}

func (v *verifier) check(st *wfState) {
	t, rep, id := v.t, v.t.rep, st.plan.ID
	if !st.acked {
		return // counted as StartsUnknown by the driver
	}
	t.inc(&rep.WorkflowsChecked, 1)
	st.mu.Lock()
	res, resErr := st.result, st.resultErr
	st.mu.Unlock()
	if res == nil {
		// The driver may have run out of time before reading the result:
		// read it now.
		ctx, cancel := context.WithTimeout(v.ctx, 10*time.Second)
		var r Result
		if err := v.c.GetWorkflow(ctx, id, "").Get(ctx, &r); err == nil {
			res = &r
		}
		cancel()
	}
	if res == nil {
		// Gone, or still running (the driver ran out of time, e.g. before it
		// could send "done"): the first is a loss, the second a liveness
		// failure.
		ctx, cancel := context.WithTimeout(v.ctx, 20*time.Second)
		d, err := v.c.DescribeWorkflowExecution(ctx, id, "")
		cancel()
		if err == nil && (d.WorkflowExecutionInfo.Status == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING || !st.waited) {
			t.violate(&rep.Incomplete, "%s: not finished when the drain ended (status %v, done signal sent: %v, result awaited: %v): %v", id, d.WorkflowExecutionInfo.Status, st.doneSent, st.waited, resErr)
			return
		}
		t.violate(&rep.Lost, "%s: acknowledged workflow has no result (describe: %v): %v", id, err, resErr)
		return
	}
	if want := Expected(st.plan); res.Value != want {
		t.violate(&rep.WrongResult, "%s: value %d, want %d", id, res.Value, want)
	}

	// The run chain, walked back from the current run.
	ctx, cancel := context.WithTimeout(v.ctx, 20*time.Second)
	desc, err := v.c.DescribeWorkflowExecution(ctx, id, "")
	cancel()
	if err != nil {
		t.violate(&rep.Lost, "%s: describe after completion: %v", id, err)
		return
	}
	if s := desc.WorkflowExecutionInfo.Status; s != enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED {
		t.violate(&rep.Malformed, "%s: current run status %v after the result was read", id, s)
	}
	var chain []string // last to first
	hists := map[string][]*historypb.HistoryEvent{}
	for runID := desc.WorkflowExecutionInfo.Execution.RunId; runID != "" && len(chain) <= st.plan.Runs+1; {
		evs, err := v.history(id, runID)
		if err != nil {
			t.violate(&rep.Lost, "%s/%s: history: %v", id, runID, err)
			return
		}
		chain = append(chain, runID)
		hists[runID] = evs
		runID = ""
		if len(evs) > 0 {
			runID = evs[0].GetWorkflowExecutionStartedEventAttributes().GetContinuedExecutionRunId()
		}
	}
	for i, j := 0, len(chain)-1; i < j; i, j = i+1, j-1 {
		chain[i], chain[j] = chain[j], chain[i]
	}
	if len(chain) != st.plan.Runs {
		t.violate(&rep.Malformed, "%s: %d runs in the continue-as-new chain, want %d", id, len(chain), st.plan.Runs)
	}
	if st.firstRunID != "" && (len(chain) == 0 || chain[0] != st.firstRunID) {
		t.violate(&rep.Malformed, "%s: chain starts at %v, start returned run %s", id, chain, st.firstRunID)
	}
	if strings.Join(chain, ",") != strings.Join(res.RunIDs, ",") {
		t.violate(&rep.Malformed, "%s: chain %v, workflow saw runs %v", id, chain, res.RunIDs)
	}
	// No other run of this id exists (a second chain would be a duplicated
	// start or completion).
	v.listRuns(st, chain)

	// Histories.
	histSignals := map[string]map[string]int{} // run -> payload -> count in history
	accepted := map[string]int{}
	for i, runID := range chain {
		evs := hists[runID]
		t.inc(&rep.RunsChecked, 1)
		for _, p := range wellFormed(evs) {
			t.violate(&rep.Malformed, "%s/%s: %s", id, runID, p)
		}
		v.stalls(id+"/"+runID, evs)
		last := evs[len(evs)-1].EventType
		want := enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW
		if i == len(chain)-1 {
			want = enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED
		}
		if last != want {
			t.violate(&rep.Malformed, "%s/%s: run %d of %d ends with %v, want %v", id, runID, i+1, len(chain), last, want)
		}
		histSignals[runID] = map[string]int{}
		for _, ev := range evs {
			switch ev.EventType {
			case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED:
				a := ev.GetWorkflowExecutionSignaledEventAttributes()
				if a.SignalName == signalName {
					histSignals[runID][payloadString(a.Input)]++
				}
			case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED:
				accepted[ev.GetWorkflowExecutionUpdateAcceptedEventAttributes().ProtocolInstanceId]++
			case enumspb.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED:
				v.checkChild(id, ev.GetChildWorkflowExecutionStartedEventAttributes().WorkflowExecution)
			}
		}
	}
	// What the workflow received matches its histories.
	seen := map[string]map[string]int{}
	for _, r := range res.Signals {
		if seen[r.Run] == nil {
			seen[r.Run] = map[string]int{}
		}
		seen[r.Run][r.ID]++
	}
	for _, runID := range chain {
		if a, b := fmt.Sprint(histSignals[runID]), fmt.Sprint(seen[runID]); a != b && !(len(histSignals[runID]) == 0 && len(seen[runID]) == 0) {
			t.violate(&rep.Malformed, "%s/%s: signals in history %s, received by the workflow %s", id, runID, a, b)
		}
	}

	// Signals.
	st.mu.Lock()
	defer st.mu.Unlock()
	got := counts(res.Signals)
	for p, ack := range st.signals {
		runs := got[p]
		if ack {
			t.inc(&rep.SignalsAcked, 1)
		} else {
			t.inc(&rep.SignalsUnknown, 1)
		}
		switch {
		case len(runs) == 0 && ack:
			t.violate(&rep.Lost, "%s: acknowledged signal %s not applied", id, p)
		case len(runs) == 1 && !ack:
			t.inc(&rep.SignalsUnknownIn, 1)
		case len(runs) > 1 && distinct(runs):
			t.inc(&rep.DupAcrossCAN, 1)
		case len(runs) > 1:
			t.violate(&rep.Duplicated, "%s: signal %s applied %d times (runs %v)", id, p, len(runs), runs)
		}
	}
	for p := range got {
		if _, ok := st.signals[p]; !ok {
			t.violate(&rep.WrongResult, "%s: signal %s applied but never sent", id, p)
		}
	}

	// Updates.
	got = counts(res.Updates)
	for u, ack := range st.updates {
		runs := got[u]
		if ack {
			t.inc(&rep.UpdatesAcked, 1)
		} else {
			t.inc(&rep.UpdatesUnknown, 1)
		}
		switch {
		case len(runs) == 0 && ack:
			t.violate(&rep.Lost, "%s: acknowledged update %s not applied", id, u)
		case len(runs) > 1 || accepted[u] > 1:
			t.violate(&rep.Duplicated, "%s: update %s applied %d times, accepted %d times in history", id, u, len(runs), accepted[u])
		case len(runs) == 1 && !ack:
			t.inc(&rep.UpdatesUnknownIn, 1)
		}
		if len(runs) != accepted[u] {
			t.violate(&rep.Malformed, "%s: update %s applied %d times but accepted %d times in history", id, u, len(runs), accepted[u])
		}
	}
	for u := range got {
		if _, ok := st.updates[u]; !ok {
			t.violate(&rep.WrongResult, "%s: update %s applied but never sent", id, u)
		}
	}
}

func distinct(runs []string) bool {
	for i := 1; i < len(runs); i++ {
		if runs[i] == runs[i-1] { // sorted
			return false
		}
	}
	return true
}

// listRuns checks visibility lists exactly the runs of the chain.
func (v *verifier) listRuns(st *wfState, chain []string) {
	t, rep, id := v.t, v.t.rep, st.plan.ID
	ctx, cancel := context.WithTimeout(v.ctx, 20*time.Second)
	defer cancel()
	var runs []string
	var token []byte
	for {
		resp, err := v.c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
			Query: fmt.Sprintf("WorkflowId = '%s'", id), NextPageToken: token,
		})
		if err != nil {
			t.violate(&rep.Malformed, "%s: list runs: %v", id, err)
			return
		}
		for _, e := range resp.Executions {
			runs = append(runs, e.Execution.RunId)
		}
		if token = resp.NextPageToken; len(token) == 0 {
			break
		}
	}
	sort.Strings(runs)
	want := append([]string(nil), chain...)
	sort.Strings(want)
	if strings.Join(runs, ",") != strings.Join(want, ",") {
		counter := &rep.Malformed
		if len(runs) > len(want) {
			counter = &rep.Duplicated
		}
		t.violate(counter, "%s: visibility lists runs %v, the chain is %v", id, runs, chain)
	}
}

func (v *verifier) checkChild(parent string, ex *commonpb.WorkflowExecution) {
	t, rep := v.t, v.t.rep
	evs, err := v.history(ex.GetWorkflowId(), ex.GetRunId())
	if err != nil {
		t.violate(&rep.Lost, "%s: child %s/%s history: %v", parent, ex.GetWorkflowId(), ex.GetRunId(), err)
		return
	}
	t.inc(&rep.RunsChecked, 1)
	v.stalls(ex.GetWorkflowId()+"/"+ex.GetRunId(), evs)
	for _, p := range wellFormed(evs) {
		t.violate(&rep.Malformed, "child %s/%s: %s", ex.GetWorkflowId(), ex.GetRunId(), p)
	}
	if last := evs[len(evs)-1].EventType; last != enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED {
		t.violate(&rep.Malformed, "child %s/%s ends with %v", ex.GetWorkflowId(), ex.GetRunId(), last)
	}
}

// stalls records workflow tasks that waited long between scheduled and
// started (not a correctness violation: an availability measure).
func (v *verifier) stalls(run string, evs []*historypb.HistoryEvent) {
	for _, ev := range evs {
		a := ev.GetWorkflowTaskStartedEventAttributes()
		if a == nil || a.ScheduledEventId < 1 || a.ScheduledEventId > int64(len(evs)) {
			continue
		}
		sched := evs[a.ScheduledEventId-1]
		wait := ev.EventTime.AsTime().Sub(sched.EventTime.AsTime())
		v.t.mu.Lock()
		if wait > v.t.rep.MaxTaskWait {
			v.t.rep.MaxTaskWait = wait
		}
		if wait > StallThreshold {
			v.t.rep.Stalls = append(v.t.rep.Stalls, fmt.Sprintf("%s: workflow task scheduled at %d (%s, queue %s) started %v later",
				run, sched.EventId, sched.EventTime.AsTime().Format("15:04:05.000"),
				sched.GetWorkflowTaskScheduledEventAttributes().GetTaskQueue().GetName(), wait.Round(time.Millisecond)))
		}
		v.t.mu.Unlock()
	}
}

// StallThreshold is the schedule-to-start wait reported as a stall.
var StallThreshold = 15 * time.Second

func payloadString(p *commonpb.Payloads) string {
	var s string
	if err := converter.GetDefaultDataConverter().FromPayloads(p, &s); err != nil {
		return "<undecodable: " + err.Error() + ">"
	}
	return s
}

func isClose(t enumspb.EventType) bool {
	switch t {
	case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED,
		enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED,
		enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW:
		return true
	}
	return false
}

// wellFormed checks the invariants of a closed run's history and returns
// the problems found.
func wellFormed(evs []*historypb.HistoryEvent) []string {
	var out []string
	bad := func(format string, args ...any) { out = append(out, fmt.Sprintf(format, args...)) }
	if len(evs) == 0 {
		return []string{"empty history"}
	}
	if evs[0].EventType != enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED {
		bad("first event is %v", evs[0].EventType)
	}
	for i, ev := range evs {
		if ev.EventId != int64(i+1) {
			bad("event %d has id %d", i+1, ev.EventId)
			return out // the id-based checks below would only repeat this
		}
	}
	byID := func(id int64) *historypb.HistoryEvent {
		if id < 1 || id > int64(len(evs)) {
			return nil
		}
		return evs[id-1]
	}
	closes := 0
	actScheduled := map[int64]int{} // scheduled id -> close events
	actStarted := map[int64]int{}   // started id -> close events
	timers := map[string]int{}
	children := map[int64]int{} // initiated id -> close events
	for i, ev := range evs {
		switch ev.EventType {
		case enumspb.EVENT_TYPE_WORKFLOW_TASK_STARTED:
			if i+1 >= len(evs) {
				bad("workflow task started at %d never closed", ev.EventId)
				break
			}
			switch n := evs[i+1].EventType; n {
			case enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED, enumspb.EVENT_TYPE_WORKFLOW_TASK_FAILED, enumspb.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT:
			default:
				bad("workflow task started at %d followed by %v", ev.EventId, n)
			}
			if s := byID(ev.GetWorkflowTaskStartedEventAttributes().ScheduledEventId); s == nil || s.EventType != enumspb.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED {
				bad("workflow task started at %d refers to a missing scheduled event", ev.EventId)
			}
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
			actScheduled[ev.EventId] += 0
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_STARTED:
			actStarted[ev.EventId] += 0
			if s := byID(ev.GetActivityTaskStartedEventAttributes().ScheduledEventId); s == nil || s.EventType != enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED {
				bad("activity started at %d refers to a missing scheduled event", ev.EventId)
			}
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_COMPLETED, enumspb.EVENT_TYPE_ACTIVITY_TASK_FAILED,
			enumspb.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT, enumspb.EVENT_TYPE_ACTIVITY_TASK_CANCELED:
			var sched, started int64
			switch a := ev.Attributes.(type) {
			case *historypb.HistoryEvent_ActivityTaskCompletedEventAttributes:
				sched, started = a.ActivityTaskCompletedEventAttributes.ScheduledEventId, a.ActivityTaskCompletedEventAttributes.StartedEventId
			case *historypb.HistoryEvent_ActivityTaskFailedEventAttributes:
				sched, started = a.ActivityTaskFailedEventAttributes.ScheduledEventId, a.ActivityTaskFailedEventAttributes.StartedEventId
			case *historypb.HistoryEvent_ActivityTaskTimedOutEventAttributes:
				sched, started = a.ActivityTaskTimedOutEventAttributes.ScheduledEventId, a.ActivityTaskTimedOutEventAttributes.StartedEventId
			case *historypb.HistoryEvent_ActivityTaskCanceledEventAttributes:
				sched, started = a.ActivityTaskCanceledEventAttributes.ScheduledEventId, a.ActivityTaskCanceledEventAttributes.StartedEventId
			}
			if _, ok := actScheduled[sched]; !ok {
				bad("activity close %d refers to unknown scheduled event %d", ev.EventId, sched)
			}
			actScheduled[sched]++
			if started != 0 {
				if _, ok := actStarted[started]; !ok {
					bad("activity close %d refers to unknown started event %d", ev.EventId, started)
				}
				actStarted[started]++
			}
		case enumspb.EVENT_TYPE_TIMER_STARTED:
			timers[ev.GetTimerStartedEventAttributes().TimerId] += 0
		case enumspb.EVENT_TYPE_TIMER_FIRED:
			tid := ev.GetTimerFiredEventAttributes().TimerId
			if _, ok := timers[tid]; !ok {
				bad("timer %s fired at %d but never started", tid, ev.EventId)
			}
			timers[tid]++
		case enumspb.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED:
			children[ev.EventId] += 0
		case enumspb.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_COMPLETED:
			init := ev.GetChildWorkflowExecutionCompletedEventAttributes().InitiatedEventId
			if _, ok := children[init]; !ok {
				bad("child completed at %d for unknown initiated event %d", ev.EventId, init)
			}
			children[init]++
		}
		if isClose(ev.EventType) {
			closes++
			if i != len(evs)-1 {
				bad("close event %v at %d is not last (%d events)", ev.EventType, ev.EventId, len(evs))
			}
		}
	}
	if closes != 1 {
		bad("%d close events", closes)
	}
	for id, n := range actStarted {
		if n != 1 {
			bad("activity started at %d closed %d times", id, n)
		}
	}
	for id, n := range actScheduled {
		if n != 1 {
			bad("activity scheduled at %d closed %d times", id, n)
		}
	}
	for id, n := range timers {
		if n != 1 {
			bad("timer %s fired %d times", id, n)
		}
	}
	for id, n := range children {
		if n != 1 {
			bad("child initiated at %d completed %d times", id, n)
		}
	}
	return out
}
