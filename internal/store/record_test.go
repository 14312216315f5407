package store

import (
	"testing"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	workflowpb "go.temporal.io/api/workflow/v1"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

func fullRecord() *RunRecord {
	return &RunRecord{
		Namespace:  "default",
		WorkflowID: "wf\x00odd",
		RunID:      "run",
		Info: &workflowpb.WorkflowExecutionInfo{
			Execution:     &commonpb.WorkflowExecution{WorkflowId: "wf", RunId: "run"},
			Status:        enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING,
			HistoryLength: 7,
		},
		StartRequestID: "req",
		ResetRunID:     "reset-run",
		ResetRequestID: "reset-req",
		Activities: []*workflowpb.PendingActivityInfo{
			{ActivityId: "a1", Attempt: 2}, {ActivityId: "a2", Attempt: 5},
		},
		Buffered: []*historypb.HistoryEvent{
			{EventType: enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED},
		},
		NexusOperations: []*workflowpb.PendingNexusOperationInfo{
			{ScheduledEventId: 5, Attempt: 3},
		},
		Snapshot: []byte{1, 0, 0xff, 'x'},
	}
}

func checkSame(t *testing.T, got, want *RunRecord) {
	t.Helper()
	if got.Namespace != want.Namespace || got.WorkflowID != want.WorkflowID ||
		got.RunID != want.RunID || got.StartRequestID != want.StartRequestID ||
		got.ResetRunID != want.ResetRunID || got.ResetRequestID != want.ResetRequestID {
		t.Fatalf("ids differ: got %+v", got)
	}
	if string(got.Snapshot) != string(want.Snapshot) {
		t.Fatalf("snapshot: got %x want %x", got.Snapshot, want.Snapshot)
	}
	if !proto.Equal(got.Info, want.Info) {
		t.Fatalf("info: got %v want %v", got.Info, want.Info)
	}
	if len(got.Activities) != len(want.Activities) || len(got.Buffered) != len(want.Buffered) {
		t.Fatalf("lengths differ: got %d/%d", len(got.Activities), len(got.Buffered))
	}
	for i := range got.Activities {
		if !proto.Equal(got.Activities[i], want.Activities[i]) {
			t.Fatalf("activity %d differs", i)
		}
	}
	for i := range got.Buffered {
		if !proto.Equal(got.Buffered[i], want.Buffered[i]) {
			t.Fatalf("buffered %d differs", i)
		}
	}
	if len(got.NexusOperations) != len(want.NexusOperations) {
		t.Fatalf("Nexus operations: got %d, want %d", len(got.NexusOperations), len(want.NexusOperations))
	}
	for i := range got.NexusOperations {
		if !proto.Equal(got.NexusOperations[i], want.NexusOperations[i]) {
			t.Fatalf("Nexus operation %d differs", i)
		}
	}
}

func TestRecordRoundTrip(t *testing.T) {
	for _, want := range []*RunRecord{fullRecord(), {}, {RunID: "only"}} {
		b, err := want.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		got := &RunRecord{Namespace: "stale", Activities: fullRecord().Activities}
		if err := got.Unmarshal(b); err != nil {
			t.Fatal(err)
		}
		for i := range b {
			b[i] = 0 // a store may reuse the buffer it read
		}
		checkSame(t, got, want)
	}
}

// TestRecordSkipsUnknownFields simulates a record written by a newer
// version, with fields of every wire type this version does not know.
func TestRecordSkipsUnknownFields(t *testing.T) {
	want := fullRecord()
	b, err := want.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	b = protowire.AppendTag(b, 50, protowire.VarintType)
	b = protowire.AppendVarint(b, 12345)
	b = protowire.AppendTag(b, 51, protowire.BytesType)
	b = protowire.AppendBytes(b, []byte("future"))
	b = protowire.AppendTag(b, 52, protowire.Fixed64Type)
	b = protowire.AppendFixed64(b, 1)
	b = protowire.AppendTag(b, 53, protowire.Fixed32Type)
	b = protowire.AppendFixed32(b, 1)
	// A known number with an unexpected type is skipped too.
	b = protowire.AppendTag(b, fieldRunID, protowire.VarintType)
	b = protowire.AppendVarint(b, 9)
	got := &RunRecord{}
	if err := got.Unmarshal(b); err != nil {
		t.Fatal(err)
	}
	checkSame(t, got, want)
}

func TestRecordRejectsGarbage(t *testing.T) {
	b, err := fullRecord().Marshal()
	if err != nil {
		t.Fatal(err)
	}
	for name, bad := range map[string][]byte{
		"truncated":   b[:len(b)-3],
		"bad tag":     {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff},
		"bad info":    protowire.AppendBytes(protowire.AppendTag(nil, fieldInfo, protowire.BytesType), []byte{0x0a, 0x7f}),
		"bad history": protowire.AppendBytes(protowire.AppendTag(nil, fieldBuffered, protowire.BytesType), []byte{0xff}),
	} {
		if err := (&RunRecord{}).Unmarshal(bad); err == nil {
			t.Errorf("%s: Unmarshal accepted garbage", name)
		}
	}
}

func TestRecordRejectsNilElements(t *testing.T) {
	r := fullRecord()
	r.Activities = append(r.Activities, nil)
	if _, err := r.Marshal(); err == nil {
		t.Fatal("Marshal accepted a nil activity")
	}
}

func TestDecodeInfoPicksFields(t *testing.T) {
	full := &workflowpb.WorkflowExecutionInfo{
		Execution: &commonpb.WorkflowExecution{WorkflowId: "w", RunId: "r"},
		Type:      &commonpb.WorkflowType{Name: "T"},
		TaskQueue: "q", HistoryLength: 11,
		Status: enumspb.WORKFLOW_EXECUTION_STATUS_FAILED,
	}
	b, err := proto.Marshal(full)
	if err != nil {
		t.Fatal(err)
	}
	all, err := DecodeInfo(b, nil)
	if err != nil || !proto.Equal(all, full) {
		t.Fatalf("nil fields: %v (%v)", all, err)
	}
	fd := full.ProtoReflect().Descriptor().Fields()
	part, err := DecodeInfo(b, []protoreflect.FieldNumber{fd.ByName("task_queue").Number(), fd.ByName("status").Number()})
	if err != nil {
		t.Fatal(err)
	}
	want := &workflowpb.WorkflowExecutionInfo{TaskQueue: "q", Status: enumspb.WORKFLOW_EXECUTION_STATUS_FAILED}
	if !proto.Equal(part, want) {
		t.Fatalf("got %v, want %v", part, want)
	}
	if _, err := DecodeInfo(b[:len(b)-1], []protoreflect.FieldNumber{1}); err == nil {
		t.Fatal("truncated input decoded without error")
	}
}
