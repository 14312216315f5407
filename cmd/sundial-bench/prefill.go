package main

import (
	"fmt"
	"time"

	"github.com/google/uuid"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	failurepb "go.temporal.io/api/failure/v1"
	historypb "go.temporal.io/api/history/v1"
	taskqueuepb "go.temporal.io/api/taskqueue/v1"
	workflowpb "go.temporal.io/api/workflow/v1"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/sundial-io/sundial/internal/store"
	"github.com/sundial-io/sundial/internal/store/pebblestore"
)

// Prefilled runs: what the list and count scenarios look for. A quarter are
// of type prefillRefund, the rest OneActivity (the activity scenario's type);
// every tenth failed, the others completed; they are spread round-robin over
// prefillQueues task queues.
const (
	prefillRefund = "PrefillRefund"
	prefillQueues = 10
	// prefillSpan is how far back the prefilled runs start: well inside the
	// default namespace's 24 h retention, so the server keeps them all.
	prefillSpan = 2 * time.Hour
)

func prefillQueue(k int) string { return fmt.Sprintf("prefill-%d", k) }

// prefillStore writes n closed workflows into the (not yet started) server's
// data dir directly through the store, at about 40,000 a second instead of the
// ~1,000 a second the API would take. Each has the eleven-event history of a
// one-activity workflow and a record as the engine writes it, so the store
// looks like one that ran n workflows: the list and count scenarios then
// measure the visibility index at that size, and every other scenario runs
// on a store that already holds n workflows.
func prefillStore(dir, namespace string, n int) (time.Duration, error) {
	t0 := time.Now()
	s, err := pebblestore.Open(dir, pebblestore.Options{NoSync: true})
	if err != nil {
		return 0, err
	}
	base := time.Now().Add(-prefillSpan)
	step := prefillSpan / time.Duration(n+1)
	batch := &store.Batch{}
	for i := range n {
		start := base.Add(time.Duration(i) * step)
		batch.Runs = append(batch.Runs, prefillRun(namespace, i, start))
		if len(batch.Runs) == 500 || i == n-1 {
			c, err := s.Apply(batch)
			if err == nil {
				err = c.Wait()
			}
			if err != nil {
				s.Close()
				return 0, fmt.Errorf("prefill run %d: %w", i, err)
			}
			batch = &store.Batch{}
		}
	}
	if err := s.Close(); err != nil {
		return 0, err
	}
	return time.Since(t0), nil
}

// prefillRun builds run i: a workflow that scheduled one activity, got its
// result and completed (or, every tenth, failed) 20 ms after it started.
func prefillRun(namespace string, i int, start time.Time) *store.RunWrite {
	id := uuid.Must(uuid.NewV7()).String()
	wid := fmt.Sprintf("prefill-%d", i)
	wfType := "OneActivity"
	if i%4 == 1 {
		wfType = prefillRefund
	}
	tq := &taskqueuepb.TaskQueue{Name: prefillQueue(i % prefillQueues), Kind: enumspb.TASK_QUEUE_KIND_NORMAL}
	payload := &commonpb.Payloads{Payloads: []*commonpb.Payload{{
		Metadata: map[string][]byte{"encoding": []byte("json/plain")},
		Data:     []byte(fmt.Sprintf(`"order-%d"`, i)),
	}}}
	at := func(k int) *timestamppb.Timestamp {
		return timestamppb.New(start.Add(time.Duration(k) * 2 * time.Millisecond))
	}
	ev := func(k int, t enumspb.EventType) *historypb.HistoryEvent {
		return &historypb.HistoryEvent{EventId: int64(k), EventTime: at(k), EventType: t}
	}
	wftDone := func(k int) []*historypb.HistoryEvent {
		s := ev(k, enumspb.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED)
		s.Attributes = &historypb.HistoryEvent_WorkflowTaskScheduledEventAttributes{WorkflowTaskScheduledEventAttributes: &historypb.WorkflowTaskScheduledEventAttributes{
			TaskQueue: tq, StartToCloseTimeout: durationpb.New(10 * time.Second), Attempt: 1}}
		st := ev(k+1, enumspb.EVENT_TYPE_WORKFLOW_TASK_STARTED)
		st.Attributes = &historypb.HistoryEvent_WorkflowTaskStartedEventAttributes{WorkflowTaskStartedEventAttributes: &historypb.WorkflowTaskStartedEventAttributes{
			ScheduledEventId: int64(k), Identity: "prefill", RequestId: uuid.NewString()}}
		c := ev(k+2, enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED)
		c.Attributes = &historypb.HistoryEvent_WorkflowTaskCompletedEventAttributes{WorkflowTaskCompletedEventAttributes: &historypb.WorkflowTaskCompletedEventAttributes{
			ScheduledEventId: int64(k), StartedEventId: int64(k + 1), Identity: "prefill"}}
		return []*historypb.HistoryEvent{s, st, c}
	}

	started := ev(1, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED)
	started.Attributes = &historypb.HistoryEvent_WorkflowExecutionStartedEventAttributes{WorkflowExecutionStartedEventAttributes: &historypb.WorkflowExecutionStartedEventAttributes{
		WorkflowType: &commonpb.WorkflowType{Name: wfType}, TaskQueue: tq, Input: payload,
		WorkflowTaskTimeout: durationpb.New(10 * time.Second), OriginalExecutionRunId: id,
		FirstExecutionRunId: id, Attempt: 1, Identity: "prefill",
	}}
	events := append([]*historypb.HistoryEvent{started}, wftDone(2)...)
	sched := ev(5, enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED)
	sched.Attributes = &historypb.HistoryEvent_ActivityTaskScheduledEventAttributes{ActivityTaskScheduledEventAttributes: &historypb.ActivityTaskScheduledEventAttributes{
		ActivityId: "5", ActivityType: &commonpb.ActivityType{Name: "Echo"}, TaskQueue: tq, Input: payload,
		ScheduleToCloseTimeout: durationpb.New(0), ScheduleToStartTimeout: durationpb.New(0),
		StartToCloseTimeout: durationpb.New(10 * time.Second), HeartbeatTimeout: durationpb.New(0),
		WorkflowTaskCompletedEventId: 4,
	}}
	actStarted := ev(6, enumspb.EVENT_TYPE_ACTIVITY_TASK_STARTED)
	actStarted.Attributes = &historypb.HistoryEvent_ActivityTaskStartedEventAttributes{ActivityTaskStartedEventAttributes: &historypb.ActivityTaskStartedEventAttributes{
		ScheduledEventId: 5, Identity: "prefill", RequestId: uuid.NewString(), Attempt: 1}}
	actDone := ev(7, enumspb.EVENT_TYPE_ACTIVITY_TASK_COMPLETED)
	actDone.Attributes = &historypb.HistoryEvent_ActivityTaskCompletedEventAttributes{ActivityTaskCompletedEventAttributes: &historypb.ActivityTaskCompletedEventAttributes{
		Result: payload, ScheduledEventId: 5, StartedEventId: 6, Identity: "prefill"}}
	events = append(events, sched, actStarted, actDone)
	events = append(events, wftDone(8)...)

	status := enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED
	closed := ev(11, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED)
	closed.Attributes = &historypb.HistoryEvent_WorkflowExecutionCompletedEventAttributes{WorkflowExecutionCompletedEventAttributes: &historypb.WorkflowExecutionCompletedEventAttributes{
		Result: payload, WorkflowTaskCompletedEventId: 10}}
	if i%10 == 0 {
		status = enumspb.WORKFLOW_EXECUTION_STATUS_FAILED
		closed.EventType = enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED
		closed.Attributes = &historypb.HistoryEvent_WorkflowExecutionFailedEventAttributes{WorkflowExecutionFailedEventAttributes: &historypb.WorkflowExecutionFailedEventAttributes{
			Failure: &failurepb.Failure{Message: "prefilled failure", Source: "GoSDK"}, RetryState: enumspb.RETRY_STATE_RETRY_POLICY_NOT_SET,
			WorkflowTaskCompletedEventId: 10}}
	}
	events = append(events, closed)

	size := int64(0)
	for _, e := range events {
		size += int64(proto.Size(e))
	}
	closeTime := at(11)
	info := &workflowpb.WorkflowExecutionInfo{
		Execution:            &commonpb.WorkflowExecution{WorkflowId: wid, RunId: id},
		Type:                 &commonpb.WorkflowType{Name: wfType},
		StartTime:            at(1),
		CloseTime:            closeTime,
		Status:               status,
		HistoryLength:        int64(len(events)),
		ExecutionTime:        at(1),
		TaskQueue:            tq.Name,
		HistorySizeBytes:     size,
		FirstRunId:           id,
		RootExecution:        &commonpb.WorkflowExecution{WorkflowId: wid, RunId: id},
		StateTransitionCount: int64(len(events)) + 1,
		ExecutionDuration:    durationpb.New(closeTime.AsTime().Sub(start.Add(2 * time.Millisecond))),
	}
	rec := &store.RunRecord{Namespace: namespace, WorkflowID: wid, RunID: id, Info: info, StartRequestID: uuid.NewString()}
	return &store.RunWrite{Record: rec, Events: events, SetCurrent: true}
}
