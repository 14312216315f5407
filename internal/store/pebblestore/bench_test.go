package pebblestore

import (
	"fmt"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	workflowpb "go.temporal.io/api/workflow/v1"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/sundial-io/sundial/internal/store"
)

// BenchmarkApplyParallel measures durable write throughput the way the
// engine writes: each op is one batch holding a ~1 KB run record and 3
// history events, and waits for its fsync. Concurrent writers share fsyncs
// through Pebble's group commit, so ops/s should grow with writers.
//
//	go test ./internal/store/pebblestore -run '^$' -bench ApplyParallel -benchtime 5s
func BenchmarkApplyParallel(b *testing.B) {
	for _, writers := range []int{1, 8, 64} {
		b.Run(fmt.Sprintf("writers=%d", writers), func(b *testing.B) {
			s := mustOpen(b, b.TempDir(), Options{})
			defer s.Close()
			var runs atomic.Int64
			work := func(next func() bool) {
				rec := benchRecord(fmt.Sprintf("run-%d", runs.Add(1)))
				for id := int64(1); next(); id += 3 {
					c, err := s.Apply(&store.Batch{Runs: []*store.RunWrite{{Record: rec, Events: benchEvents(id), SetCurrent: id == 1}}})
					if err == nil {
						err = c.Wait()
					}
					if err != nil {
						b.Error(err)
						return
					}
				}
			}
			b.ResetTimer()
			if writers == 1 {
				// RunParallel starts at least GOMAXPROCS goroutines.
				i := 0
				work(func() bool { i++; return i <= b.N })
			} else {
				b.SetParallelism((writers + runtime.GOMAXPROCS(0) - 1) / runtime.GOMAXPROCS(0))
				b.RunParallel(func(pb *testing.PB) { work(pb.Next) })
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
		})
	}
}

// benchRecord returns a run record of about 1 KB encoded.
func benchRecord(runID string) *store.RunRecord {
	now := timestamppb.New(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC))
	return &store.RunRecord{
		Namespace:  "default",
		WorkflowID: "order-" + runID,
		RunID:      runID,
		Info: &workflowpb.WorkflowExecutionInfo{
			Execution:     &commonpb.WorkflowExecution{WorkflowId: "order-" + runID, RunId: runID},
			Type:          &commonpb.WorkflowType{Name: "ProcessOrder"},
			StartTime:     now,
			ExecutionTime: now,
			Status:        enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING,
			TaskQueue:     "orders",
			Memo: &commonpb.Memo{Fields: map[string]*commonpb.Payload{
				"note": {Metadata: map[string][]byte{"encoding": []byte("json/plain")}, Data: []byte(`"` + strings.Repeat("x", 800) + `"`)},
			}},
		},
		StartRequestID: "3f1c9a52-7d0e-4b7a-9a51-0c2b6f0e9d11",
		Activities: []*workflowpb.PendingActivityInfo{
			{ActivityId: "1", ActivityType: &commonpb.ActivityType{Name: "Charge"}, Attempt: 1, State: enumspb.PENDING_ACTIVITY_STATE_SCHEDULED},
		},
	}
}

// benchEvents returns a workflow task's scheduled/started/completed events.
func benchEvents(first int64) []*historypb.HistoryEvent {
	now := timestamppb.Now()
	return []*historypb.HistoryEvent{
		{EventId: first, EventTime: now, EventType: enumspb.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED,
			Attributes: &historypb.HistoryEvent_WorkflowTaskScheduledEventAttributes{WorkflowTaskScheduledEventAttributes: &historypb.WorkflowTaskScheduledEventAttributes{
				TaskQueue: nil, Attempt: 1}}},
		{EventId: first + 1, EventTime: now, EventType: enumspb.EVENT_TYPE_WORKFLOW_TASK_STARTED,
			Attributes: &historypb.HistoryEvent_WorkflowTaskStartedEventAttributes{WorkflowTaskStartedEventAttributes: &historypb.WorkflowTaskStartedEventAttributes{
				ScheduledEventId: first, Identity: "worker-1@host", RequestId: "8d2f6a7e-1c3b-4e5f-9a0b-1c2d3e4f5a6b"}}},
		{EventId: first + 2, EventTime: now, EventType: enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED,
			Attributes: &historypb.HistoryEvent_WorkflowTaskCompletedEventAttributes{WorkflowTaskCompletedEventAttributes: &historypb.WorkflowTaskCompletedEventAttributes{
				ScheduledEventId: first, StartedEventId: first + 1, Identity: "worker-1@host"}}},
	}
}

func TestBenchPayloadSize(t *testing.T) {
	b, err := benchRecord("run-1").Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if len(b) < 900 || len(b) > 1300 {
		t.Fatalf("bench record is %d bytes, want about 1 KB", len(b))
	}
}
