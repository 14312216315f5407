package schedule

import (
	"testing"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	failurepb "go.temporal.io/api/failure/v1"
	schedulepb "go.temporal.io/api/schedule/v1"
	workflowpb "go.temporal.io/api/workflow/v1"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
)

func TestStateRoundTrip(t *testing.T) {
	now := time.Date(2024, 5, 1, 10, 0, 0, 123, time.UTC)
	in := &state{
		Schedule: &schedulepb.Schedule{State: &schedulepb.ScheduleState{Paused: true, Notes: "n", LimitedActions: true, RemainingActions: 3}},
		Info:     &schedulepb.ScheduleInfo{ActionCount: 7, RunningWorkflows: []*commonpb.WorkflowExecution{{WorkflowId: "w", RunId: "r"}}},
		Memo:     &commonpb.Memo{Fields: map[string]*commonpb.Payload{"k": {Data: []byte("v")}}},
		Token:    42,
		Cursor:   now,
		Buffer: []*pending{
			{Nominal: now, Actual: now.Add(time.Second), Overlap: enumspb.SCHEDULE_OVERLAP_POLICY_BUFFER_ALL, Manual: true, RequestID: "req"},
			{Nominal: now.Add(time.Minute), Actual: now.Add(time.Minute)},
		},
		Backfills:   []*schedulepb.BackfillRequest{{StartTime: timestamppb.New(now), EndTime: timestamppb.New(now.Add(time.Hour))}},
		LastResult:  &commonpb.Payloads{Payloads: []*commonpb.Payload{{Data: []byte("res")}}},
		LastFailure: &failurepb.Failure{Message: "boom"},
	}
	b, err := in.marshal()
	if err != nil {
		t.Fatal(err)
	}
	out, err := unmarshalState(b)
	if err != nil {
		t.Fatal(err)
	}
	if !proto.Equal(in.Schedule, out.Schedule) || !proto.Equal(in.Info, out.Info) || !proto.Equal(in.Memo, out.Memo) ||
		!proto.Equal(in.LastResult, out.LastResult) || !proto.Equal(in.LastFailure, out.LastFailure) || out.Search != nil {
		t.Fatalf("messages differ after a round trip: %+v", out)
	}
	if out.Token != 42 || !out.Cursor.Equal(now) || len(out.Buffer) != 2 || len(out.Backfills) != 1 {
		t.Fatalf("progress differs: %+v", out)
	}
	if p := out.Buffer[0]; !p.Nominal.Equal(now) || !p.Actual.Equal(now.Add(time.Second)) || p.Overlap != enumspb.SCHEDULE_OVERLAP_POLICY_BUFFER_ALL || !p.Manual || p.RequestID != "req" {
		t.Fatalf("buffered start: %+v", p)
	}
	if p := out.Buffer[1]; p.Manual || p.RequestID != "" || p.Overlap != 0 {
		t.Fatalf("second buffered start: %+v", p)
	}
	if _, err := unmarshalState([]byte{0xff, 0xff}); err == nil {
		t.Fatal("garbage decoded")
	}
}

// decideWith runs the overlap rules on a buffer of starts with the given
// policies (the schedule's own policy is def).
func decideWith(def enumspb.ScheduleOverlapPolicy, running bool, pols ...enumspb.ScheduleOverlapPolicy) (decision, []*pending) {
	sc := &sched{st: &state{Schedule: &schedulepb.Schedule{Policies: &schedulepb.SchedulePolicies{OverlapPolicy: def}}, Info: &schedulepb.ScheduleInfo{}}}
	for i, p := range pols {
		sc.st.Buffer = append(sc.st.Buffer, &pending{Nominal: time.Unix(int64(i), 0), Overlap: p})
	}
	return sc.decide(running), sc.st.Buffer
}

func TestOverlapDecisions(t *testing.T) {
	const (
		unset  = enumspb.SCHEDULE_OVERLAP_POLICY_UNSPECIFIED
		skip   = enumspb.SCHEDULE_OVERLAP_POLICY_SKIP
		one    = enumspb.SCHEDULE_OVERLAP_POLICY_BUFFER_ONE
		all    = enumspb.SCHEDULE_OVERLAP_POLICY_BUFFER_ALL
		cancel = enumspb.SCHEDULE_OVERLAP_POLICY_CANCEL_OTHER
		term   = enumspb.SCHEDULE_OVERLAP_POLICY_TERMINATE_OTHER
		allow  = enumspb.SCHEDULE_OVERLAP_POLICY_ALLOW_ALL
	)
	// Unspecified means the schedule's policy, and SKIP when that is unset.
	d, b := decideWith(unset, false, unset, unset, unset)
	if d.next != b[0] || len(d.keep) != 0 || d.overlapSkipped != 2 {
		t.Fatalf("default SKIP, idle: %+v", d)
	}
	d, _ = decideWith(skip, true, unset)
	if d.next != nil || d.overlapSkipped != 1 {
		t.Fatalf("SKIP, running: %+v", d)
	}
	d, b = decideWith(one, true, unset, unset, unset)
	if d.next != nil || len(d.keep) != 1 || d.keep[0] != b[0] || d.overlapSkipped != 2 {
		t.Fatalf("BUFFER_ONE, running: %+v", d)
	}
	d, b = decideWith(all, false, unset, unset, unset)
	if d.next != b[0] || len(d.keep) != 2 || d.overlapSkipped != 0 {
		t.Fatalf("BUFFER_ALL, idle: %+v", d)
	}
	d, b = decideWith(cancel, true, unset)
	if !d.cancel || d.kill || d.next != nil || len(d.keep) != 1 {
		t.Fatalf("CANCEL_OTHER, running: %+v", d)
	}
	d, b = decideWith(term, false, unset, unset)
	if d.kill || d.next != b[1] || len(d.keep) != 0 {
		t.Fatalf("TERMINATE_OTHER, idle: the newest replaces the one not started: %+v", d)
	}
	d, _ = decideWith(allow, true, unset, unset)
	if len(d.overlapping) != 2 || d.next != nil || d.overlapSkipped != 0 {
		t.Fatalf("ALLOW_ALL: %+v", d)
	}
	// A per-start policy (trigger, backfill) overrides the schedule's; a
	// terminate drops overlapping starts made in the same pass.
	d, _ = decideWith(skip, true, allow, term)
	if !d.kill || len(d.overlapping) != 0 || len(d.keep) != 1 {
		t.Fatalf("ALLOW_ALL with TERMINATE_OTHER: %+v", d)
	}
}

func TestWorkflowIDAndRequestID(t *testing.T) {
	sc := &sched{key: key{"default", "s"}, st: &state{Schedule: &schedulepb.Schedule{
		Action: &schedulepb.ScheduleAction{Action: &schedulepb.ScheduleAction_StartWorkflow{StartWorkflow: &workflowpb.NewWorkflowExecutionInfo{WorkflowId: "wf"}}},
	}}}
	nominal := time.Date(2024, 3, 10, 7, 30, 15, 999, time.FixedZone("X", 3600))
	if got := sc.workflowID(nominal); got != "wf-2024-03-10T06:30:15Z" {
		t.Fatalf("workflow id %q", got)
	}
	if sc.scheduledRequestID(nominal) != sc.scheduledRequestID(nominal.UTC()) || sc.scheduledRequestID(nominal) == sc.scheduledRequestID(nominal.Add(time.Second)) {
		t.Fatal("request id is not a function of the nominal time")
	}
	sc.st.Schedule.Policies = &schedulepb.SchedulePolicies{KeepOriginalWorkflowId: true}
	if got := sc.workflowID(nominal); got != "wf" {
		t.Fatalf("kept workflow id %q", got)
	}
}
