package storetest

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	namespacepb "go.temporal.io/api/namespace/v1"
	workflowpb "go.temporal.io/api/workflow/v1"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/sundial-io/sundial/internal/store"
)

const (
	running   = enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING
	completed = enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED
)

var epoch = time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)

func namespace(name string) *store.Namespace {
	return &store.Namespace{
		NamespaceInfo: &namespacepb.NamespaceInfo{
			Name:  name,
			State: enumspb.NAMESPACE_STATE_REGISTERED,
			Id:    "id-" + name,
		},
		Config: &namespacepb.NamespaceConfig{
			WorkflowExecutionRetentionTtl: durationpb.New(72 * time.Hour),
		},
	}
}

// record builds a run record with every field set, so round trips check
// the whole encoding.
func record(ns, wfID, runID string, status enumspb.WorkflowExecutionStatus) *store.RunRecord {
	r := &store.RunRecord{
		Namespace:  ns,
		WorkflowID: wfID,
		RunID:      runID,
		Info: &workflowpb.WorkflowExecutionInfo{
			Execution: &commonpb.WorkflowExecution{WorkflowId: wfID, RunId: runID},
			Type:      &commonpb.WorkflowType{Name: "Greet"},
			StartTime: timestamppb.New(epoch),
			Status:    status,
			TaskQueue: "queue",
			Memo: &commonpb.Memo{Fields: map[string]*commonpb.Payload{
				"k": {Data: []byte("v")},
			}},
		},
		StartRequestID: "req-" + runID,
		Activities: []*workflowpb.PendingActivityInfo{
			{ActivityId: "a1", Attempt: 3, State: enumspb.PENDING_ACTIVITY_STATE_STARTED},
		},
		Buffered: []*historypb.HistoryEvent{
			{EventType: enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED, EventTime: timestamppb.New(epoch)},
		},
	}
	if status == running {
		// The engine stores open runs with a snapshot of their state
		// (opaque to the store).
		r.Snapshot = []byte("\x01snapshot of " + runID + "\x00\xff")
	}
	return r
}

// events returns n events with ids first, first+1, ...
func events(first int64, n int) []*historypb.HistoryEvent {
	out := make([]*historypb.HistoryEvent, n)
	for i := range out {
		id := first + int64(i)
		out[i] = &historypb.HistoryEvent{
			EventId:   id,
			EventTime: timestamppb.New(epoch.Add(time.Duration(id) * time.Second)),
			EventType: enumspb.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED,
			Attributes: &historypb.HistoryEvent_WorkflowTaskScheduledEventAttributes{
				WorkflowTaskScheduledEventAttributes: &historypb.WorkflowTaskScheduledEventAttributes{
					Attempt: int32(id),
				},
			},
		}
	}
	return out
}

func runWrite(r *store.RunRecord, evs []*historypb.HistoryEvent, setCurrent bool) *store.Batch {
	return &store.Batch{Runs: []*store.RunWrite{{Record: r, Events: evs, SetCurrent: setCurrent}}}
}

func checkRecord(t *testing.T, want, got *store.RunRecord) {
	t.Helper()
	if got == nil {
		t.Fatalf("run %q: got nil record", want.RunID)
	}
	if got.Namespace != want.Namespace || got.WorkflowID != want.WorkflowID ||
		got.RunID != want.RunID || got.StartRequestID != want.StartRequestID {
		t.Fatalf("record ids: got %q/%q/%q/%q, want %q/%q/%q/%q",
			got.Namespace, got.WorkflowID, got.RunID, got.StartRequestID,
			want.Namespace, want.WorkflowID, want.RunID, want.StartRequestID)
	}
	if !proto.Equal(got.Info, want.Info) {
		t.Fatalf("record %q info:\ngot  %v\nwant %v", want.RunID, got.Info, want.Info)
	}
	if !got.Due.Equal(want.Due) {
		t.Fatalf("record %q due: got %v, want %v", want.RunID, got.Due, want.Due)
	}
	checkMessages(t, "activities", got.Activities, want.Activities)
	checkMessages(t, "buffered", got.Buffered, want.Buffered)
	if !bytes.Equal(got.Snapshot, want.Snapshot) {
		t.Fatalf("record %q snapshot: got %d bytes %q, want %d bytes", want.RunID, len(got.Snapshot), trim(got.Snapshot), len(want.Snapshot))
	}
}

func trim(b []byte) []byte {
	if len(b) > 40 {
		return b[:40]
	}
	return b
}

func checkMessages[M proto.Message](t *testing.T, what string, got, want []M) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: got %d, want %d", what, len(got), len(want))
	}
	for i := range got {
		if !proto.Equal(got[i], want[i]) {
			t.Fatalf("%s[%d]:\ngot  %v\nwant %v", what, i, got[i], want[i])
		}
	}
}

func checkEvents(t *testing.T, got, want []*historypb.HistoryEvent) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("history: got %d events %v, want %d %v", len(got), ids(got), len(want), ids(want))
	}
	checkMessages(t, "history", got, want)
}

func ids(evs []*historypb.HistoryEvent) string {
	s := "["
	for i, e := range evs {
		if i > 0 {
			s += " "
		}
		s += fmt.Sprint(e.GetEventId())
	}
	return s + "]"
}
