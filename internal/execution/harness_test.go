package execution

// Test harness: drives one run through live operations and, after every
// step, checks the central invariant of the package: Load(Record(), events
// emitted so far) reproduces the live State.

import (
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	commandpb "go.temporal.io/api/command/v1"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	failurepb "go.temporal.io/api/failure/v1"
	historypb "go.temporal.io/api/history/v1"
	protocolpb "go.temporal.io/api/protocol/v1"
	taskqueuepb "go.temporal.io/api/taskqueue/v1"
	updatepb "go.temporal.io/api/update/v1"
	"go.temporal.io/api/workflowservice/v1"
	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/sundial-io/sundial/internal/store"
)

var t0 = time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)

const (
	testNS    = "default"
	testWFID  = "wf-1"
	testRunID = "run-1"
	testTQ    = "tq"
)

// runIDs returns a deterministic NewRunID.
func runIDs(prefix string) NewRunID {
	n := 1
	return func() string {
		n++
		return fmt.Sprintf("%s-%d", prefix, n)
	}
}

func startAttrs(mod ...func(*historypb.WorkflowExecutionStartedEventAttributes)) *historypb.WorkflowExecutionStartedEventAttributes {
	a := &historypb.WorkflowExecutionStartedEventAttributes{
		WorkflowType:           &commonpb.WorkflowType{Name: "wt"},
		TaskQueue:              &taskqueuepb.TaskQueue{Name: testTQ, Kind: enumspb.TASK_QUEUE_KIND_NORMAL},
		WorkflowTaskTimeout:    durationpb.New(10 * time.Second),
		OriginalExecutionRunId: testRunID,
		FirstExecutionRunId:    testRunID,
		Attempt:                1,
		WorkflowId:             testWFID,
	}
	for _, m := range mod {
		m(a)
	}
	return a
}

// harness drives one run.
type harness struct {
	t      *testing.T
	s      *State
	now    time.Time
	newRun NewRunID
	events []*historypb.HistoryEvent // history as the store would hold it (copies)
	live   []*historypb.HistoryEvent // the event objects as emitted
	last   Outbox                    // outbox of the last step
	steps  int
}

func newHarness(t *testing.T, attrs *historypb.WorkflowExecutionStartedEventAttributes) *harness {
	t.Helper()
	h := &harness{t: t, s: New(testNS, testWFID, testRunID), now: t0, newRun: runIDs("run")}
	h.s.StartWorkflow(h.now, attrs, "start-req")
	h.sync("StartWorkflow")
	return h
}

// adopt wraps a run created in an outbox (continue-as-new, retry); its
// start events are still in its own outbox.
func adopt(t *testing.T, s *State, now time.Time) *harness {
	t.Helper()
	h := &harness{t: t, s: s, now: now, newRun: runIDs(s.RunID)}
	h.sync("adopt new run")
	return h
}

func clone(ev *historypb.HistoryEvent) *historypb.HistoryEvent {
	b, err := proto.Marshal(ev)
	if err != nil {
		panic(err)
	}
	out := &historypb.HistoryEvent{}
	if err := proto.Unmarshal(b, out); err != nil {
		panic(err)
	}
	return out
}

// sync takes the outbox, appends its events to the stored history (checking
// that ids are contiguous) and checks the replay invariant.
func (h *harness) sync(step string) Outbox {
	h.t.Helper()
	h.steps++
	o := h.s.TakeOutbox()
	h.last = o
	for _, ev := range o.Events {
		want := int64(len(h.events) + 1)
		if ev.EventId != want {
			h.t.Fatalf("step %d (%s): event %v has id %d, want %d (history must be contiguous)", h.steps, step, ev.EventType, ev.EventId, want)
		}
		if ev.EventType == enumspb.EVENT_TYPE_UNSPECIFIED {
			h.t.Fatalf("step %d (%s): event %d has no type", h.steps, step, ev.EventId)
		}
		h.live = append(h.live, ev)
		h.events = append(h.events, clone(ev))
	}
	// A speculative workflow task's events are deliberately not emitted
	// (nor durable) until the task matters; replay cannot see it then.
	spec := len(h.s.SpeculativeEvents())
	if h.s.NextEventID != int64(len(h.events)+1+spec) {
		h.t.Fatalf("step %d (%s): NextEventID %d but %d events emitted (+%d speculative)", h.steps, step, h.s.NextEventID, len(h.events), spec)
	}
	if spec == 0 {
		checkReplay(h.t, fmt.Sprintf("step %d (%s)", h.steps, step), h.s, h.events)
	} else if h.s.Snapshot() != nil {
		h.t.Fatalf("step %d (%s): a run with held-back events has a snapshot", h.steps, step)
	}
	return o
}

// reload returns Load(Record(), events) with the record passed through the
// store encoding, as the engine does after a restart.
func reload(t *testing.T, s *State, events []*historypb.HistoryEvent) *State {
	t.Helper()
	b, err := s.Record().Marshal()
	if err != nil {
		t.Fatalf("marshal record: %v", err)
	}
	var rec store.RunRecord
	if err := rec.Unmarshal(b); err != nil {
		t.Fatalf("unmarshal record: %v", err)
	}
	evs := make([]*historypb.HistoryEvent, len(events))
	for i, ev := range events {
		evs[i] = clone(ev)
	}
	return Load(&rec, evs)
}

func checkReplay(t *testing.T, where string, live *State, events []*historypb.HistoryEvent) {
	t.Helper()
	checkSnapshot(t, where, live, events)
	loaded := reload(t, live, events)
	// The sticky schedule-to-start timeout is not durable by design (after
	// a restart Recover re-dispatches the task to the normal queue), so
	// give the loaded state the live value before comparing deadlines.
	loaded.StickyTimeout = live.StickyTimeout
	// Where a pending task is dispatched is not durable either: a task
	// moved off its sticky queue (sticky timeout, ResetSticky) still reads
	// as sticky from history. The engine calls Recover after a restart,
	// which moves it to the normal queue; do the same here.
	if w := live.WFT; w != nil && w.StartedEventID == 0 && !w.Sticky {
		loaded.Recover(t0)
	}
	a, b := snapshot(live), snapshot(loaded)
	if a != b {
		t.Fatalf("%s: Load(Record, history) differs from the live state:\n%s", where, lineDiff(a, b))
	}
	// A loaded state must describe itself as the live one does.
	if !proto.Equal(live.Info(), loaded.Info()) {
		t.Fatalf("%s: Info differs:\nlive:   %v\nloaded: %v", where, live.Info(), loaded.Info())
	}
	if !proto.Equal(live.PendingWorkflowTask(), loaded.PendingWorkflowTask()) {
		t.Fatalf("%s: PendingWorkflowTask differs:\nlive:   %v\nloaded: %v", where, live.PendingWorkflowTask(), loaded.PendingWorkflowTask())
	}
}

func lineDiff(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	var out []string
	n := len(al)
	if len(bl) > n {
		n = len(bl)
	}
	for i := 0; i < n; i++ {
		var x, y string
		if i < len(al) {
			x = al[i]
		}
		if i < len(bl) {
			y = bl[i]
		}
		if x != y {
			out = append(out, "  live:   "+x, "  loaded: "+y)
		}
	}
	return strings.Join(out, "\n")
}

func pt(m proto.Message) string {
	if m == nil || !m.ProtoReflect().IsValid() {
		return "<nil>"
	}
	return strings.Join(strings.Fields(prototext.Format(m)), " ")
}

func tm(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339Nano)
}

// snapshot renders the durable, observable state of a run. Deliberately
// left out (not durable by design, see state.go/record.go): StickyQueue,
// StickyTimeout, WFT.UpdateIDs, updates that have no history event
// (admitted, sent, rejected), Activity.StartedRequestID, updateSeq.
func snapshot(s *State) string {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	p("ids=%s/%s/%s req=%s", s.Namespace, s.WorkflowID, s.RunID, s.StartRequestID)
	p("status=%v start=%s close=%s closeEvent=%d", s.Status, tm(s.StartTime), tm(s.CloseTime), s.CloseEvent.GetEventId())
	p("next=%d size=%d lastEventTime=%s", s.NextEventID, s.HistorySize, tm(s.LastEventTime))
	p("prevStarted=%d firstTaskScheduled=%v failedWFTs=%d cancelRequested=%v", s.PrevStartedEventID, s.firstTaskScheduled, s.failedWFTs, s.CancelRequested)
	p("start=%s", pt(s.Start))
	p("memo=%s", pt(s.Memo))
	p("search=%s", pt(s.Search))
	p("paused=%s", pt(s.paused))
	p("nextDeadline=%s", tm(s.NextDeadline()))
	if w := s.WFT; w != nil {
		queue, sticky := w.Queue, w.Sticky
		if w.StartedEventID != 0 { // where a started task was dispatched no longer matters
			queue, sticky = "", false
		}
		p("wft sched=%d started=%d attempt=%d queue=%s sticky=%v schedTime=%s startTime=%s timeout=%v req=%s id=%s",
			w.ScheduledEventID, w.StartedEventID, w.Attempt, queue, sticky, tm(w.ScheduledTime), tm(w.StartedTime), w.Timeout, w.RequestID, w.Identity)
	} else {
		p("wft none")
	}
	var ids []int64
	for id := range s.Activities {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	for _, id := range ids {
		a := s.Activities[id]
		p("activity %d id=%s attempt=%d sched=%s attemptSched=%s next=%s started=%v startedTime=%s identity=%s hb=%s hbDetails=%s lastFailure=%s cancel=%v/%d startedEvent=%d attrs=%s",
			id, a.Attrs.GetActivityId(), a.Attempt, tm(a.ScheduledTime), tm(a.AttemptScheduledTime), tm(a.NextAttemptTime), a.Started, tm(a.StartedTime),
			startedIdentity(a), tm(a.LastHeartbeat), pt(a.HeartbeatDetails), pt(a.LastFailure), a.CancelRequested, a.CancelEventID, a.StartedEventID, pt(a.Attrs))
		if got := s.ActivityByID(a.Attrs.GetActivityId()); got != a {
			p("activity %d: ActivityByID index broken", id)
		}
	}
	for _, id := range ids {
		p("activity %d lastAttemptComplete=%s", id, tm(s.Activities[id].LastAttemptCompleteTime))
	}
	p("resetPoints=%s", pt(s.AutoResetPoints()))
	p("startMetadata=%s", pt(s.StartMetadata))
	p("activityIDs=%d", len(s.activityIDs))
	var tids []string
	for id := range s.Timers {
		tids = append(tids, id)
	}
	sort.Strings(tids)
	for _, id := range tids {
		t := s.Timers[id]
		p("timer %s started=%d fire=%s", t.ID, t.StartedEventID, tm(t.FireTime))
	}
	ids = ids[:0]
	for id := range s.NexusOps {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	for _, id := range ids {
		// Attempts are not persisted (a restart sends every operation again).
		op := s.NexusOps[id]
		p("nexus %d endpoint=%s sched=%s cancelRequested=%v attrs=%s", id, op.Attrs.EndpointId, tm(op.ScheduledTime), op.CancelRequested, pt(op.Attrs))
		p("nexus %d started=%v at=%s token=%s cancelState=%v cancelAttempt=%d", id, op.Started, tm(op.StartedTime), op.OperationToken, op.CancelState, op.CancelAttempt)
	}
	ids = ids[:0]
	for id := range s.Children {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	for _, id := range ids {
		c := s.Children[id]
		p("child %d started=%v/%d run=%s attrs=%s", id, c.Started, c.StartedEventID, c.RunID, pt(c.Attrs))
	}
	for _, m := range []struct {
		name string
		m    map[int64]*External
	}{{"signal", s.ExternalSignals}, {"cancel", s.ExternalCancels}} {
		ids = ids[:0]
		for id := range m.m {
			ids = append(ids, id)
		}
		sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
		for _, id := range ids {
			e := m.m[id]
			p("external %s %d %s %s", m.name, id, pt(e.Signal), pt(e.Cancel))
		}
	}
	var uids []string
	for id, u := range s.Updates {
		if durableUpdate(u) {
			uids = append(uids, id)
		}
	}
	sort.Strings(uids)
	for _, id := range uids {
		u := s.Updates[id]
		p("update %s state=%d accepted=%d outcome=%s", id, u.State, u.AcceptedEventID, pt(u.Outcome))
	}
	var reqs []string
	for r := range s.signalRequests {
		reqs = append(reqs, r)
	}
	sort.Strings(reqs)
	p("signalRequests=%v", reqs)
	for _, ev := range s.Buffered {
		p("buffered %v %s", ev.EventType, pt(ev))
	}
	return b.String()
}

// durableUpdate reports updates that history records (accepted, or
// completed after acceptance).
func durableUpdate(u *Update) bool {
	return u.State == UpdateAccepted || (u.State == UpdateCompleted && !u.Rejected)
}

// ---- live operations (each one ends with sync) ----

func (h *harness) advance(d time.Duration) { h.now = h.now.Add(d) }

func (h *harness) at(d time.Duration) { h.now = t0.Add(d) }

func (h *harness) tick() Outbox {
	h.t.Helper()
	h.s.Tick(h.now, h.newRun)
	return h.sync("Tick " + h.now.Sub(t0).String())
}

// poll starts the pending workflow task.
func (h *harness) poll() []*protocolpb.Message {
	h.t.Helper()
	if h.s.WFT == nil {
		h.t.Fatalf("poll: no workflow task pending")
	}
	msgs, err := h.s.StartWorkflowTask(h.now, h.s.WFT.ScheduledEventID, fmt.Sprintf("poll-%d", h.steps), "worker")
	if err != nil {
		h.t.Fatalf("StartWorkflowTask: %v", err)
	}
	h.sync("StartWorkflowTask")
	return msgs
}

func (h *harness) completeReq(req *workflowservice.RespondWorkflowTaskCompletedRequest) error {
	h.t.Helper()
	if req.Identity == "" {
		req.Identity = "worker"
	}
	err := h.s.CompleteWorkflowTask(h.now, req, h.newRun)
	h.sync("CompleteWorkflowTask")
	return err
}

// complete completes the started workflow task with commands and expects
// success.
func (h *harness) complete(cmds ...*commandpb.Command) {
	h.t.Helper()
	if err := h.completeReq(&workflowservice.RespondWorkflowTaskCompletedRequest{Commands: cmds}); err != nil {
		h.t.Fatalf("CompleteWorkflowTask: %v", err)
	}
}

// pollComplete polls and completes the pending task.
func (h *harness) pollComplete(cmds ...*commandpb.Command) {
	h.t.Helper()
	h.poll()
	h.complete(cmds...)
}

func (h *harness) signal(name, reqID string) {
	h.t.Helper()
	if err := h.s.Signal(h.now, name, nil, nil, "client", reqID, nil); err != nil {
		h.t.Fatalf("Signal: %v", err)
	}
	h.sync("Signal " + name)
}

func (h *harness) act(id string) *Activity {
	h.t.Helper()
	a := h.s.ActivityByID(id)
	if a == nil {
		h.t.Fatalf("activity %s not pending", id)
	}
	return a
}

func (h *harness) startAct(id string) *Activity {
	h.t.Helper()
	a := h.act(id)
	got, err := h.s.StartActivityTask(h.now, a.ScheduledEventID, a.Attempt, fmt.Sprintf("act-poll-%d", h.steps), "act-worker")
	if err != nil {
		h.t.Fatalf("StartActivityTask(%s attempt %d): %v", id, a.Attempt, err)
	}
	h.sync("StartActivityTask " + id)
	return got
}

func (h *harness) completeAct(id string) {
	h.t.Helper()
	a := h.act(id)
	if err := h.s.CompleteActivity(h.now, a.ScheduledEventID, a.Attempt, payloads("ok"), "act-worker"); err != nil {
		h.t.Fatalf("CompleteActivity: %v", err)
	}
	h.sync("CompleteActivity " + id)
}

func (h *harness) failAct(id string, f *failurepb.Failure) {
	h.t.Helper()
	a := h.act(id)
	if err := h.s.FailActivity(h.now, a.ScheduledEventID, a.Attempt, f, nil, "act-worker"); err != nil {
		h.t.Fatalf("FailActivity: %v", err)
	}
	h.sync("FailActivity " + id)
}

// ---- assertions ----

func (h *harness) lastEvent() *historypb.HistoryEvent {
	if len(h.events) == 0 {
		return nil
	}
	return h.events[len(h.events)-1]
}

// types returns the types of the events of the last step.
func (h *harness) stepTypes() []enumspb.EventType {
	var out []enumspb.EventType
	for _, ev := range h.last.Events {
		out = append(out, ev.EventType)
	}
	return out
}

func (h *harness) wantStep(want ...enumspb.EventType) {
	h.t.Helper()
	got := h.stepTypes()
	if fmt.Sprint(got) != fmt.Sprint(want) {
		h.t.Fatalf("events of last step:\n got  %v\n want %v", got, want)
	}
}

func (h *harness) eventsOfType(et enumspb.EventType) []*historypb.HistoryEvent {
	var out []*historypb.HistoryEvent
	for _, ev := range h.events {
		if ev.EventType == et {
			out = append(out, ev)
		}
	}
	return out
}

func (h *harness) wantWFT(scheduled, started int64, attempt int32, queue string) {
	h.t.Helper()
	w := h.s.WFT
	if w == nil {
		h.t.Fatalf("no workflow task, want scheduled=%d", scheduled)
	}
	if w.ScheduledEventID != scheduled || w.StartedEventID != started || w.Attempt != attempt || w.Queue != queue {
		h.t.Fatalf("WFT = {sched %d started %d attempt %d queue %q}, want {%d %d %d %q}", w.ScheduledEventID, w.StartedEventID, w.Attempt, w.Queue, scheduled, started, attempt, queue)
	}
}

func (h *harness) wantTasks(want ...Task) {
	h.t.Helper()
	if fmt.Sprint(h.last.Tasks) != fmt.Sprint(want) {
		h.t.Fatalf("tasks of last step:\n got  %+v\n want %+v", h.last.Tasks, want)
	}
}

func (h *harness) wantStatus(st enumspb.WorkflowExecutionStatus) {
	h.t.Helper()
	if h.s.Status != st {
		h.t.Fatalf("status %v, want %v", h.s.Status, st)
	}
}

func (h *harness) wantDeadline(d time.Duration) {
	h.t.Helper()
	got := h.s.NextDeadline()
	if d < 0 {
		if !got.IsZero() {
			h.t.Fatalf("NextDeadline = %s, want none", got.Sub(t0))
		}
		return
	}
	if !got.Equal(t0.Add(d)) {
		h.t.Fatalf("NextDeadline = t0+%s, want t0+%s", got.Sub(t0), d)
	}
}

// ---- builders ----

func payloads(s string) *commonpb.Payloads {
	return &commonpb.Payloads{Payloads: []*commonpb.Payload{{Metadata: map[string][]byte{"encoding": []byte("json/plain")}, Data: []byte(`"` + s + `"`)}}}
}

func appFailure(typ string, nonRetryable bool) *failurepb.Failure {
	return &failurepb.Failure{Message: "boom " + typ, FailureInfo: &failurepb.Failure_ApplicationFailureInfo{ApplicationFailureInfo: &failurepb.ApplicationFailureInfo{Type: typ, NonRetryable: nonRetryable}}}
}

func dur(d time.Duration) *durationpb.Duration { return durationpb.New(d) }

func scheduleActivity(id string, mod ...func(*commandpb.ScheduleActivityTaskCommandAttributes)) *commandpb.Command {
	a := &commandpb.ScheduleActivityTaskCommandAttributes{
		ActivityId:          id,
		ActivityType:        &commonpb.ActivityType{Name: "at"},
		StartToCloseTimeout: dur(time.Minute),
	}
	for _, m := range mod {
		m(a)
	}
	return &commandpb.Command{CommandType: enumspb.COMMAND_TYPE_SCHEDULE_ACTIVITY_TASK, Attributes: &commandpb.Command_ScheduleActivityTaskCommandAttributes{ScheduleActivityTaskCommandAttributes: a}}
}

func cancelActivityCmd(scheduledID int64) *commandpb.Command {
	return &commandpb.Command{CommandType: enumspb.COMMAND_TYPE_REQUEST_CANCEL_ACTIVITY_TASK, Attributes: &commandpb.Command_RequestCancelActivityTaskCommandAttributes{RequestCancelActivityTaskCommandAttributes: &commandpb.RequestCancelActivityTaskCommandAttributes{ScheduledEventId: scheduledID}}}
}

func startTimer(id string, d time.Duration) *commandpb.Command {
	return &commandpb.Command{CommandType: enumspb.COMMAND_TYPE_START_TIMER, Attributes: &commandpb.Command_StartTimerCommandAttributes{StartTimerCommandAttributes: &commandpb.StartTimerCommandAttributes{TimerId: id, StartToFireTimeout: dur(d)}}}
}

func cancelTimer(id string) *commandpb.Command {
	return &commandpb.Command{CommandType: enumspb.COMMAND_TYPE_CANCEL_TIMER, Attributes: &commandpb.Command_CancelTimerCommandAttributes{CancelTimerCommandAttributes: &commandpb.CancelTimerCommandAttributes{TimerId: id}}}
}

func completeWF(result string) *commandpb.Command {
	return &commandpb.Command{CommandType: enumspb.COMMAND_TYPE_COMPLETE_WORKFLOW_EXECUTION, Attributes: &commandpb.Command_CompleteWorkflowExecutionCommandAttributes{CompleteWorkflowExecutionCommandAttributes: &commandpb.CompleteWorkflowExecutionCommandAttributes{Result: payloads(result)}}}
}

func failWF(f *failurepb.Failure) *commandpb.Command {
	return &commandpb.Command{CommandType: enumspb.COMMAND_TYPE_FAIL_WORKFLOW_EXECUTION, Attributes: &commandpb.Command_FailWorkflowExecutionCommandAttributes{FailWorkflowExecutionCommandAttributes: &commandpb.FailWorkflowExecutionCommandAttributes{Failure: f}}}
}

func cancelWF() *commandpb.Command {
	return &commandpb.Command{CommandType: enumspb.COMMAND_TYPE_CANCEL_WORKFLOW_EXECUTION, Attributes: &commandpb.Command_CancelWorkflowExecutionCommandAttributes{CancelWorkflowExecutionCommandAttributes: &commandpb.CancelWorkflowExecutionCommandAttributes{Details: payloads("bye")}}}
}

func continueAsNew(mod ...func(*commandpb.ContinueAsNewWorkflowExecutionCommandAttributes)) *commandpb.Command {
	a := &commandpb.ContinueAsNewWorkflowExecutionCommandAttributes{Input: payloads("next")}
	for _, m := range mod {
		m(a)
	}
	return &commandpb.Command{CommandType: enumspb.COMMAND_TYPE_CONTINUE_AS_NEW_WORKFLOW_EXECUTION, Attributes: &commandpb.Command_ContinueAsNewWorkflowExecutionCommandAttributes{ContinueAsNewWorkflowExecutionCommandAttributes: a}}
}

func startChild(wfID string) *commandpb.Command {
	return &commandpb.Command{CommandType: enumspb.COMMAND_TYPE_START_CHILD_WORKFLOW_EXECUTION, Attributes: &commandpb.Command_StartChildWorkflowExecutionCommandAttributes{StartChildWorkflowExecutionCommandAttributes: &commandpb.StartChildWorkflowExecutionCommandAttributes{
		WorkflowId: wfID, WorkflowType: &commonpb.WorkflowType{Name: "child"}, ParentClosePolicy: enumspb.PARENT_CLOSE_POLICY_TERMINATE,
	}}}
}

func signalExternal(wfID, name string) *commandpb.Command {
	return &commandpb.Command{CommandType: enumspb.COMMAND_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION, Attributes: &commandpb.Command_SignalExternalWorkflowExecutionCommandAttributes{SignalExternalWorkflowExecutionCommandAttributes: &commandpb.SignalExternalWorkflowExecutionCommandAttributes{
		Execution: &commonpb.WorkflowExecution{WorkflowId: wfID}, SignalName: name, Input: payloads("x"),
	}}}
}

func cancelExternal(wfID string) *commandpb.Command {
	return &commandpb.Command{CommandType: enumspb.COMMAND_TYPE_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION, Attributes: &commandpb.Command_RequestCancelExternalWorkflowExecutionCommandAttributes{RequestCancelExternalWorkflowExecutionCommandAttributes: &commandpb.RequestCancelExternalWorkflowExecutionCommandAttributes{
		WorkflowId: wfID, Reason: "stop",
	}}}
}

func marker(name string) *commandpb.Command {
	return &commandpb.Command{CommandType: enumspb.COMMAND_TYPE_RECORD_MARKER, Attributes: &commandpb.Command_RecordMarkerCommandAttributes{RecordMarkerCommandAttributes: &commandpb.RecordMarkerCommandAttributes{
		MarkerName: name, Details: map[string]*commonpb.Payloads{"d": payloads("v")},
	}}}
}

func upsertSA(fields map[string]*commonpb.Payload) *commandpb.Command {
	return &commandpb.Command{CommandType: enumspb.COMMAND_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES, Attributes: &commandpb.Command_UpsertWorkflowSearchAttributesCommandAttributes{UpsertWorkflowSearchAttributesCommandAttributes: &commandpb.UpsertWorkflowSearchAttributesCommandAttributes{
		SearchAttributes: &commonpb.SearchAttributes{IndexedFields: fields},
	}}}
}

func modifyProps(fields map[string]*commonpb.Payload) *commandpb.Command {
	return &commandpb.Command{CommandType: enumspb.COMMAND_TYPE_MODIFY_WORKFLOW_PROPERTIES, Attributes: &commandpb.Command_ModifyWorkflowPropertiesCommandAttributes{ModifyWorkflowPropertiesCommandAttributes: &commandpb.ModifyWorkflowPropertiesCommandAttributes{
		UpsertedMemo: &commonpb.Memo{Fields: fields},
	}}}
}

func protocolCmd(msgID string) *commandpb.Command {
	return &commandpb.Command{CommandType: enumspb.COMMAND_TYPE_PROTOCOL_MESSAGE, Attributes: &commandpb.Command_ProtocolMessageCommandAttributes{ProtocolMessageCommandAttributes: &commandpb.ProtocolMessageCommandAttributes{MessageId: msgID}}}
}

func payload(s string) *commonpb.Payload {
	return &commonpb.Payload{Metadata: map[string][]byte{"encoding": []byte("json/plain")}, Data: []byte(`"` + s + `"`)}
}

func updateRequest(id string) *updatepb.Request {
	return &updatepb.Request{Meta: &updatepb.Meta{UpdateId: id, Identity: "client"}, Input: &updatepb.Input{Name: "upd", Args: payloads("arg")}}
}

func message(id, updateID string, body proto.Message) *protocolpb.Message {
	a, err := anypb.New(body)
	if err != nil {
		panic(err)
	}
	return &protocolpb.Message{Id: id, ProtocolInstanceId: updateID, Body: a}
}

func acceptMsg(updateID string, seq int64) *protocolpb.Message {
	return message(updateID+"/accept", updateID, &updatepb.Acceptance{AcceptedRequestMessageId: updateID + "/request", AcceptedRequestSequencingEventId: seq})
}

func respondMsg(updateID, result string) *protocolpb.Message {
	return message(updateID+"/complete", updateID, &updatepb.Response{Meta: &updatepb.Meta{UpdateId: updateID}, Outcome: &updatepb.Outcome{Value: &updatepb.Outcome_Success{Success: payloads(result)}}})
}

func rejectMsg(updateID string) *protocolpb.Message {
	return message(updateID+"/reject", updateID, &updatepb.Rejection{RejectedRequestMessageId: updateID + "/request", Failure: &failurepb.Failure{Message: "no"}})
}

// startedIdentity is the identity of the worker running the current
// attempt. The identity of an earlier attempt's worker survives a retry in
// the live state but not a reload (see BUGS.md, TestBugLastWorkerIdentityLostOnLoad).
func startedIdentity(a *Activity) string {
	if !a.Started {
		return ""
	}
	return a.StartedIdentity
}
