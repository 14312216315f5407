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
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/sundial-io/sundial/internal/schedule/spec"
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

// everySecond is a schedule firing every second from epoch+base, at the
// cursor given, as generate sees it (no engine needed).
func everySecond(t *testing.T, cursor time.Time, pol *schedulepb.SchedulePolicies, st *schedulepb.ScheduleState) *sched {
	t.Helper()
	sp := &schedulepb.ScheduleSpec{Interval: []*schedulepb.IntervalSpec{{Interval: durationpb.New(time.Second)}}}
	c, err := spec.Compile(sp)
	if err != nil {
		t.Fatal(err)
	}
	if st == nil {
		st = &schedulepb.ScheduleState{}
	}
	return &sched{key: key{"ns", "s"}, spec: c, st: &state{
		Schedule: &schedulepb.Schedule{Spec: sp, Policies: pol, State: st},
		Info:     &schedulepb.ScheduleInfo{},
		Cursor:   cursor,
	}}
}

func TestGenerateCatchupWindow(t *testing.T) {
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	// Down for 60 s with a 10 s window: 49 times missed, 11 taken (those
	// at most 10 s old: now-10 .. now).
	sc := everySecond(t, t0, &schedulepb.SchedulePolicies{CatchupWindow: durationpb.New(10 * time.Second)}, nil)
	now := t0.Add(60 * time.Second)
	if more := sc.generate(now); more {
		t.Fatal("more to walk after 60 times")
	}
	if sc.st.Info.MissedCatchupWindow != 49 || len(sc.st.Buffer) != 11 || !sc.st.Cursor.Equal(now) {
		t.Fatalf("missed %d, buffered %d, cursor %v", sc.st.Info.MissedCatchupWindow, len(sc.st.Buffer), sc.st.Cursor)
	}
	if first := sc.st.Buffer[0]; !first.Nominal.Equal(now.Add(-10*time.Second)) || first.Manual {
		t.Fatalf("first buffered %+v", first)
	}
	// A window below 10 s counts as 10 s; the default is a year.
	sc = everySecond(t, t0, &schedulepb.SchedulePolicies{CatchupWindow: durationpb.New(time.Second)}, nil)
	if sc.catchupWindow() != 10*time.Second {
		t.Fatalf("catch-up window %v", sc.catchupWindow())
	}
	if everySecond(t, t0, nil, nil).catchupWindow() != 365*24*time.Hour {
		t.Fatal("default catch-up window is not a year")
	}
	// A very long downtime is walked in bounded steps.
	sc = everySecond(t, t0, nil, nil)
	if more := sc.generate(t0.Add(30 * time.Hour)); !more || sc.st.Cursor.Sub(t0) != maxTimesPerStep*time.Second {
		t.Fatalf("long catch-up: more=%v cursor=%v", more, sc.st.Cursor)
	}
	if len(sc.st.Buffer) != maxBuffer || sc.st.Info.BufferDropped != maxTimesPerStep-maxBuffer {
		t.Fatalf("buffer %d dropped %d", len(sc.st.Buffer), sc.st.Info.BufferDropped)
	}
}

func TestGeneratePausedAndLimited(t *testing.T) {
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	sc := everySecond(t, t0, nil, &schedulepb.ScheduleState{Paused: true})
	sc.generate(t0.Add(5 * time.Second))
	if len(sc.st.Buffer) != 0 || sc.st.Info.MissedCatchupWindow != 0 || !sc.st.Cursor.Equal(t0.Add(5*time.Second)) {
		t.Fatalf("paused: %+v", sc.st)
	}
	sc = everySecond(t, t0, nil, &schedulepb.ScheduleState{LimitedActions: true})
	sc.generate(t0.Add(5 * time.Second))
	if len(sc.st.Buffer) != 0 {
		t.Fatal("no actions left, yet buffered")
	}
	if sc.future(10) != nil {
		t.Fatal("future action times with no actions left")
	}
	sc = everySecond(t, t0, nil, &schedulepb.ScheduleState{LimitedActions: true, RemainingActions: 3})
	if f := sc.future(10); len(f) != 3 || !f[0].AsTime().Equal(t0.Add(time.Second)) {
		t.Fatalf("future times %v", f)
	}
}

func TestGenerateBackfillIncremental(t *testing.T) {
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	sc := everySecond(t, t0, nil, &schedulepb.ScheduleState{Paused: true})
	// 2,500 seconds inclusive of the start: more than the buffer holds.
	sc.patch(t0, &schedulepb.SchedulePatch{BackfillRequest: []*schedulepb.BackfillRequest{{
		StartTime: timestamppb.New(t0.Add(-3000 * time.Second)), EndTime: timestamppb.New(t0.Add(-501 * time.Second)),
		OverlapPolicy: enumspb.SCHEDULE_OVERLAP_POLICY_ALLOW_ALL,
	}}})
	sc.generate(t0)
	if len(sc.st.Buffer) != maxBuffer || len(sc.st.Backfills) != 1 {
		t.Fatalf("first pass: buffer %d backfills %d", len(sc.st.Buffer), len(sc.st.Backfills))
	}
	if p := sc.st.Buffer[0]; !p.Manual || p.RequestID == "" || !p.Nominal.Equal(t0.Add(-3000*time.Second)) {
		t.Fatalf("first backfilled start %+v", p)
	}
	total := 0
	for i := 0; i < 5 && (len(sc.st.Buffer) > 0 || len(sc.st.Backfills) > 0); i++ {
		total += len(sc.st.Buffer)
		last := sc.st.Buffer[len(sc.st.Buffer)-1].Nominal
		sc.st.Buffer = nil // as if all were started
		sc.generate(t0)
		if len(sc.st.Buffer) > 0 && !sc.st.Buffer[0].Nominal.Equal(last.Add(time.Second)) {
			t.Fatalf("backfill resumed at %v after %v", sc.st.Buffer[0].Nominal, last)
		}
	}
	if total != 2500 || len(sc.st.Backfills) != 0 {
		t.Fatalf("backfilled %d times, %d requests left", total, len(sc.st.Backfills))
	}
}
