package main

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	sdkpb "go.temporal.io/api/sdk/v1"
	taskqueuepb "go.temporal.io/api/taskqueue/v1"
	workflowpb "go.temporal.io/api/workflow/v1"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/sundial-io/sundial/internal/execution"
	"github.com/sundial-io/sundial/internal/store"
	"github.com/sundial-io/sundial/internal/store/pebblestore"
)

// prefillSleepers writes sleepers first..first+n-1 into the store in dir:
// open Sleeper runs whose activity completed and whose timer fires at
// fire(start). Their starts are spread over the last hour.
func prefillSleepers(dir, namespace string, first, n int, fire func(start time.Time) time.Time) error {
	s, err := pebblestore.Open(dir, pebblestore.Options{NoSync: true})
	if err != nil {
		return err
	}
	base := time.Now().Add(-time.Hour)
	step := time.Hour / time.Duration(n+1)
	batch := &store.Batch{}
	for i := range n {
		start := base.Add(time.Duration(i) * step)
		batch.Runs = append(batch.Runs, sleeperRun(namespace, first+i, start, fire(start)))
		if len(batch.Runs) == 500 || i == n-1 {
			c, err := s.Apply(batch)
			if err == nil {
				err = c.Wait()
			}
			if err != nil {
				s.Close()
				return fmt.Errorf("sleeper %d: %w", first+i, err)
			}
			batch = &store.Batch{}
		}
	}
	return s.Close()
}

// sleeperRun is the run of Sleeper(d) as the Go SDK and the engine leave it
// once its timer is started: eleven events (started, a workflow task, the
// Echo activity, a second workflow task, TimerStarted) and a running record.
func sleeperRun(namespace string, i int, start, fireAt time.Time) *store.RunWrite {
	id := uuid.Must(uuid.NewV7()).String()
	wid := sleeperID(i)
	tq := &taskqueuepb.TaskQueue{Name: sleeperQueue, Kind: enumspb.TASK_QUEUE_KIND_NORMAL}
	at := func(k int) *timestamppb.Timestamp {
		return timestamppb.New(start.Add(time.Duration(k) * 2 * time.Millisecond))
	}
	timerAt := at(11).AsTime()
	d := fireAt.Sub(timerAt)
	if d < time.Second {
		d = time.Second
	}
	jsonPayloads := func(v any) *commonpb.Payloads {
		b, _ := json.Marshal(v)
		return &commonpb.Payloads{Payloads: []*commonpb.Payload{{Metadata: map[string][]byte{"encoding": []byte("json/plain")}, Data: b}}}
	}
	ev := func(k int, t enumspb.EventType) *historypb.HistoryEvent {
		return &historypb.HistoryEvent{EventId: int64(k), EventTime: at(k), EventType: t}
	}
	wft := func(k int, first bool) []*historypb.HistoryEvent {
		s := ev(k, enumspb.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED)
		s.Attributes = &historypb.HistoryEvent_WorkflowTaskScheduledEventAttributes{WorkflowTaskScheduledEventAttributes: &historypb.WorkflowTaskScheduledEventAttributes{
			TaskQueue: tq, StartToCloseTimeout: durationpb.New(10 * time.Second), Attempt: 1}}
		st := ev(k+1, enumspb.EVENT_TYPE_WORKFLOW_TASK_STARTED)
		st.Attributes = &historypb.HistoryEvent_WorkflowTaskStartedEventAttributes{WorkflowTaskStartedEventAttributes: &historypb.WorkflowTaskStartedEventAttributes{
			ScheduledEventId: int64(k), Identity: "prefill", RequestId: uuid.NewString()}}
		done := &historypb.WorkflowTaskCompletedEventAttributes{ScheduledEventId: int64(k), StartedEventId: int64(k + 1), Identity: "prefill"}
		if first {
			// The flags the Go SDK records in a workflow's first task.
			done.SdkMetadata = &sdkpb.WorkflowTaskCompletedMetadata{LangUsedFlags: []uint32{3}, SdkName: "temporal-go"}
		}
		c := ev(k+2, enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED)
		c.Attributes = &historypb.HistoryEvent_WorkflowTaskCompletedEventAttributes{WorkflowTaskCompletedEventAttributes: done}
		return []*historypb.HistoryEvent{s, st, c}
	}

	started := ev(1, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED)
	started.Attributes = &historypb.HistoryEvent_WorkflowExecutionStartedEventAttributes{WorkflowExecutionStartedEventAttributes: &historypb.WorkflowExecutionStartedEventAttributes{
		WorkflowType: &commonpb.WorkflowType{Name: "Sleeper"}, TaskQueue: tq, Input: jsonPayloads(int64(d)),
		WorkflowExecutionTimeout: durationpb.New(0), WorkflowRunTimeout: durationpb.New(0),
		WorkflowTaskTimeout: durationpb.New(10 * time.Second), OriginalExecutionRunId: id,
		FirstExecutionRunId: id, Attempt: 1, Identity: "prefill",
	}}
	events := append([]*historypb.HistoryEvent{started}, wft(2, true)...)
	sched := ev(5, enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED)
	sched.Attributes = &historypb.HistoryEvent_ActivityTaskScheduledEventAttributes{ActivityTaskScheduledEventAttributes: &historypb.ActivityTaskScheduledEventAttributes{
		ActivityId: "5", ActivityType: &commonpb.ActivityType{Name: "Echo"}, TaskQueue: tq, Header: &commonpb.Header{},
		Input:                  jsonPayloads("hello"),
		ScheduleToCloseTimeout: durationpb.New(0), ScheduleToStartTimeout: durationpb.New(0),
		StartToCloseTimeout: durationpb.New(30 * time.Second), HeartbeatTimeout: durationpb.New(0),
		WorkflowTaskCompletedEventId: 4,
	}}
	actStarted := ev(6, enumspb.EVENT_TYPE_ACTIVITY_TASK_STARTED)
	actStarted.Attributes = &historypb.HistoryEvent_ActivityTaskStartedEventAttributes{ActivityTaskStartedEventAttributes: &historypb.ActivityTaskStartedEventAttributes{
		ScheduledEventId: 5, Identity: "prefill", RequestId: uuid.NewString(), Attempt: 1}}
	actDone := ev(7, enumspb.EVENT_TYPE_ACTIVITY_TASK_COMPLETED)
	actDone.Attributes = &historypb.HistoryEvent_ActivityTaskCompletedEventAttributes{ActivityTaskCompletedEventAttributes: &historypb.ActivityTaskCompletedEventAttributes{
		Result: jsonPayloads("hello"), ScheduledEventId: 5, StartedEventId: 6, Identity: "prefill"}}
	events = append(events, sched, actStarted, actDone)
	events = append(events, wft(8, false)...)
	timer := ev(11, enumspb.EVENT_TYPE_TIMER_STARTED)
	timer.UserMetadata = &sdkpb.UserMetadata{Summary: jsonPayloads("Sleep").Payloads[0]}
	timer.Attributes = &historypb.HistoryEvent_TimerStartedEventAttributes{TimerStartedEventAttributes: &historypb.TimerStartedEventAttributes{
		TimerId: "11", StartToFireTimeout: durationpb.New(d), WorkflowTaskCompletedEventId: 10}}
	events = append(events, timer)

	size := int64(0)
	for _, e := range events {
		size += int64(proto.Size(e))
	}
	info := &workflowpb.WorkflowExecutionInfo{
		Execution:            &commonpb.WorkflowExecution{WorkflowId: wid, RunId: id},
		Type:                 &commonpb.WorkflowType{Name: "Sleeper"},
		StartTime:            at(1),
		Status:               enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING,
		HistoryLength:        int64(len(events)),
		ExecutionTime:        at(1),
		TaskQueue:            tq.Name,
		HistorySizeBytes:     size,
		FirstRunId:           id,
		RootExecution:        &commonpb.WorkflowExecution{WorkflowId: wid, RunId: id},
		StateTransitionCount: int64(len(events)) + 1,
	}
	// Due is what the engine would store: the timer's fire time, the run's
	// only deadline (execution.State.NextAttention).
	rec := &store.RunRecord{Namespace: namespace, WorkflowID: wid, RunID: id, Info: info, StartRequestID: uuid.NewString(),
		Due: timerAt.Add(d)}
	// The snapshot of its state the engine stores with every write of an
	// open run, so that loading it cold is one read.
	rec.Snapshot = execution.Load(rec, events).Snapshot()
	return &store.RunWrite{Record: rec, Events: events, SetCurrent: true}
}
