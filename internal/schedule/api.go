package schedule

import (
	"context"
	"encoding/binary"
	"errors"
	"time"

	"github.com/google/uuid"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	schedulepb "go.temporal.io/api/schedule/v1"
	"go.temporal.io/api/serviceerror"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/sundial-io/sundial/internal/schedule/spec"
	"github.com/sundial-io/sundial/internal/store"
	"github.com/sundial-io/sundial/internal/visibility"
)

var errNotFound = serviceerror.NewNotFound("schedule not found")

func newRequestID() string { return uuid.NewString() }

func token(n int64) []byte { return binary.BigEndian.AppendUint64(nil, uint64(n)) }

// compile checks a spec and returns it with its canonical form.
func compile(in *schedulepb.ScheduleSpec) (*spec.Spec, error) {
	c, err := spec.Compile(in)
	if err != nil {
		var se *spec.Error
		if errors.As(err, &se) {
			return nil, serviceerror.NewInvalidArgumentf("Invalid schedule spec: schedule.spec.%v", err)
		}
		return nil, serviceerror.NewInvalidArgumentf("Invalid schedule spec: %v", err)
	}
	return c, nil
}

// normalize fills what Describe reports even when the client left it out.
func normalize(s *schedulepb.Schedule, c *spec.Spec) {
	s.Spec = c.Canonical()
	if s.Policies == nil {
		s.Policies = &schedulepb.SchedulePolicies{}
	}
	if s.State == nil {
		s.State = &schedulepb.ScheduleState{}
	}
	cw := s.Policies.CatchupWindow
	switch {
	case cw == nil:
		s.Policies.CatchupWindow = durationpb.New(defaultCatchupWindow)
	case cw.AsDuration() < minCatchupWindow:
		s.Policies.CatchupWindow = durationpb.New(minCatchupWindow)
	}
}

// Create registers a new schedule. An id already in use answers
// WorkflowExecutionAlreadyStarted, which the SDKs turn into their
// "schedule already running" error, as Temporal does.
func (s *Scheduler) Create(ctx context.Context, r *workflowservice.CreateScheduleRequest) (*workflowservice.CreateScheduleResponse, error) {
	c, err := compile(r.Schedule.GetSpec())
	if err != nil {
		return nil, err
	}
	now := s.eng.Now()
	sch := proto.Clone(r.Schedule).(*schedulepb.Schedule)
	normalize(sch, c)
	st := &state{
		Schedule: sch,
		Info:     &schedulepb.ScheduleInfo{CreateTime: timestamppb.New(now)},
		Memo:     r.Memo,
		Search:   r.SearchAttributes,
		Cursor:   now,
	}
	fence, err := s.fenceFor(r.Namespace, r.ScheduleId)
	if err != nil {
		return nil, err
	}
	sc := s.newSched(key{r.Namespace, r.ScheduleId}, st, fence)
	sc.spec = c
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil, serviceerror.NewUnavailable("server is shutting down")
	}
	if _, ok := s.all[sc.key]; ok {
		s.mu.Unlock()
		return nil, serviceerror.NewWorkflowExecutionAlreadyStarted("schedule with this ID is already registered", "", "")
	}
	s.all[sc.key] = sc
	sc.mu.Lock() // held until the schedule is durable, so nobody sees it before
	s.mu.Unlock()
	defer sc.mu.Unlock()
	if p := r.InitialPatch; p != nil {
		sc.patch(now, p)
	}
	if err := sc.save(); err != nil {
		sc.deleted = true
		sc.cancel()
		s.mu.Lock()
		delete(s.all, sc.key)
		s.mu.Unlock()
		return nil, serviceerror.NewUnavailable("writing schedule: " + err.Error())
	}
	sc.arm(now, -1)
	if len(st.Buffer) > 0 || len(st.Backfills) > 0 {
		sc.kick()
	}
	return &workflowservice.CreateScheduleResponse{ConflictToken: token(st.Token)}, nil
}

// Describe answers DescribeSchedule.
func (s *Scheduler) Describe(ctx context.Context, ns, id string) (*workflowservice.DescribeScheduleResponse, error) {
	sc, err := s.get(ns, id)
	if err != nil {
		return nil, err
	}
	defer sc.mu.Unlock()
	info := proto.Clone(sc.st.Info).(*schedulepb.ScheduleInfo)
	info.BufferSize = int64(len(sc.st.Buffer))
	info.FutureActionTimes = sc.future(futureActions)
	return &workflowservice.DescribeScheduleResponse{
		Schedule:         proto.Clone(sc.st.Schedule).(*schedulepb.Schedule),
		Info:             info,
		Memo:             sc.st.Memo,
		SearchAttributes: sc.st.Search,
		ConflictToken:    token(sc.st.Token),
	}, nil
}

// future returns the next n action times (fewer if actions are limited).
func (sc *sched) future(n int) []*timestamppb.Timestamp {
	if sc.spec == nil {
		return nil
	}
	if st := sc.st.Schedule.GetState(); st.GetLimitedActions() && int(st.GetRemainingActions()) < n {
		n = int(st.GetRemainingActions())
	}
	var out []*timestamppb.Timestamp
	after := sc.st.Cursor
	for len(out) < n {
		t, ok := sc.spec.Next(sc.seed(), after)
		if !ok {
			break
		}
		out = append(out, timestamppb.New(t.Actual))
		after = t.Nominal
	}
	return out
}

// Update replaces a schedule's spec, action, policies and state (and its
// search attributes and memo when given). Its info and progress stay;
// times before the update are not taken.
func (s *Scheduler) Update(ctx context.Context, r *workflowservice.UpdateScheduleRequest) error {
	c, err := compile(r.Schedule.GetSpec())
	if err != nil {
		return err
	}
	sc, err := s.get(r.Namespace, r.ScheduleId)
	if err != nil {
		return err
	}
	defer sc.mu.Unlock()
	if len(r.ConflictToken) > 0 && string(r.ConflictToken) != string(token(sc.st.Token)) {
		return serviceerror.NewFailedPrecondition("mismatched conflict token")
	}
	now := s.eng.Now()
	old := sc.st
	next := *old
	next.Schedule = proto.Clone(r.Schedule).(*schedulepb.Schedule)
	normalize(next.Schedule, c)
	next.Info = proto.Clone(old.Info).(*schedulepb.ScheduleInfo)
	next.Info.UpdateTime = timestamppb.New(now)
	if r.SearchAttributes != nil {
		next.Search = r.SearchAttributes
	}
	if r.Memo != nil {
		next.Memo = r.Memo
	}
	next.Token++
	if next.Cursor.Before(now) {
		next.Cursor = now
	}
	oldSpec := sc.spec
	sc.st, sc.spec = &next, c
	if err := sc.save(); err != nil {
		sc.st, sc.spec = old, oldSpec
		return serviceerror.NewUnavailable("writing schedule: " + err.Error())
	}
	sc.arm(now, -1)
	return nil
}

// patch applies a SchedulePatch in memory.
func (sc *sched) patch(now time.Time, p *schedulepb.SchedulePatch) {
	if t := p.TriggerImmediately; t != nil {
		nominal := now
		if t.ScheduledTime != nil {
			nominal = t.ScheduledTime.AsTime()
		}
		sc.add(&pending{Nominal: nominal, Actual: now, Overlap: t.OverlapPolicy, Manual: true, RequestID: newRequestID()})
	}
	for _, bf := range p.BackfillRequest {
		if len(sc.st.Backfills) >= maxBuffer {
			sc.st.Info.BufferDropped++
			continue
		}
		// The start is inclusive (as in Temporal since 1.24): a time
		// exactly at the start is taken.
		sc.st.Backfills = append(sc.st.Backfills, &schedulepb.BackfillRequest{
			StartTime: timestamppb.New(bf.StartTime.AsTime().Add(-time.Millisecond)), EndTime: bf.EndTime, OverlapPolicy: bf.OverlapPolicy,
		})
	}
	state := sc.st.Schedule.State
	if p.Pause != "" {
		state.Paused, state.Notes = true, p.Pause
	}
	if p.Unpause != "" {
		if state.Paused && sc.st.Cursor.Before(now) {
			sc.st.Cursor = now // the paused time is not caught up
		}
		state.Paused, state.Notes = false, p.Unpause
	}
}

// Patch triggers, backfills, pauses or unpauses a schedule. What it asks
// for is durable when it returns; the starts follow at once.
func (s *Scheduler) Patch(ctx context.Context, r *workflowservice.PatchScheduleRequest) error {
	sc, err := s.get(r.Namespace, r.ScheduleId)
	if err != nil {
		return err
	}
	defer sc.mu.Unlock()
	before, err := sc.st.marshal()
	if err != nil {
		return err
	}
	now := s.eng.Now()
	sc.patch(now, r.Patch)
	// As Temporal: every patch counts as an update of the schedule.
	sc.st.Info.UpdateTime = timestamppb.New(now)
	sc.st.Token++
	if err := sc.save(); err != nil {
		if old, uerr := unmarshalState(before); uerr == nil {
			sc.st = old
		}
		return serviceerror.NewUnavailable("writing schedule: " + err.Error())
	}
	sc.kick()
	return nil
}

// Delete removes a schedule. Workflows it started keep running.
func (s *Scheduler) Delete(ctx context.Context, ns, id string) error {
	sc, err := s.get(ns, id)
	if err != nil {
		return err
	}
	defer sc.mu.Unlock()
	c, err := s.st.Apply(&store.Batch{Fence: sc.fence, ScheduleDeletes: []store.ScheduleKey{{Namespace: ns, ScheduleID: id}}})
	if err == nil {
		err = c.Wait()
	}
	s.checkFenced(err)
	if err != nil {
		return serviceerror.NewUnavailable("deleting schedule: " + err.Error())
	}
	sc.deleted = true
	sc.cancel()
	if sc.timer != nil {
		sc.timer.Stop()
	}
	s.mu.Lock()
	delete(s.all, sc.key)
	s.mu.Unlock()
	return nil
}

// Matcher filters schedules for ListSchedules and CountSchedules.
type Matcher func(*workflowpb.WorkflowExecutionInfo) bool

// asExecution shows a schedule to the visibility query language the way
// Temporal's visibility holds it: a running execution whose id is the
// schedule id, with the schedule's memo and search attributes plus
// TemporalSchedulePaused.
func (sc *sched) asExecution() *workflowpb.WorkflowExecutionInfo {
	fields := map[string]*commonpb.Payload{}
	for k, v := range sc.st.Search.GetIndexedFields() {
		fields[k] = v
	}
	if p, err := visibility.EncodeValue(sc.st.Schedule.GetState().GetPaused(), enumspb.INDEXED_VALUE_TYPE_BOOL); err == nil {
		fields["TemporalSchedulePaused"] = p
	}
	return &workflowpb.WorkflowExecutionInfo{
		Execution:        &commonpb.WorkflowExecution{WorkflowId: sc.key.id},
		Type:             &commonpb.WorkflowType{Name: "temporal-sys-scheduler-workflow"},
		Status:           enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING,
		StartTime:        sc.st.Info.GetCreateTime(),
		Memo:             sc.st.Memo,
		SearchAttributes: &commonpb.SearchAttributes{IndexedFields: fields},
	}
}

// listEntry is a schedule as ListSchedules shows it.
func (sc *sched) listEntry() *schedulepb.ScheduleListEntry {
	sp := proto.Clone(sc.st.Schedule.GetSpec()).(*schedulepb.ScheduleSpec)
	sp.TimezoneData = nil
	recent := sc.st.Info.GetRecentActions()
	if len(recent) > 5 {
		recent = recent[len(recent)-5:]
	}
	var recentCopy []*schedulepb.ScheduleActionResult
	for _, a := range recent {
		recentCopy = append(recentCopy, proto.Clone(a).(*schedulepb.ScheduleActionResult))
	}
	return &schedulepb.ScheduleListEntry{
		ScheduleId:       sc.key.id,
		Memo:             sc.st.Memo,
		SearchAttributes: sc.st.Search,
		Info: &schedulepb.ScheduleListInfo{
			Spec:              sp,
			WorkflowType:      sc.st.Schedule.GetAction().GetStartWorkflow().GetWorkflowType(),
			Notes:             sc.st.Schedule.GetState().GetNotes(),
			Paused:            sc.st.Schedule.GetState().GetPaused(),
			RecentActions:     recentCopy,
			FutureActionTimes: sc.future(5),
		},
	}
}

// List returns up to pageSize schedules of a namespace after the id in
// the page token, ordered by id, that match.
func (s *Scheduler) List(ctx context.Context, ns string, pageSize int, pageToken []byte, match Matcher) (*workflowservice.ListSchedulesResponse, error) {
	if pageSize <= 0 || pageSize > 1000 {
		pageSize = 1000
	}
	after := string(pageToken)
	resp := &workflowservice.ListSchedulesResponse{}
	list, err := s.listed(ctx, ns)
	if err != nil {
		return nil, err
	}
	for _, sc := range list {
		if after != "" && sc.key.id <= after {
			continue
		}
		sc.mu.Lock()
		if sc.deleted || (match != nil && !match(sc.asExecution())) {
			sc.mu.Unlock()
			continue
		}
		if len(resp.Schedules) == pageSize {
			sc.mu.Unlock()
			resp.NextPageToken = []byte(resp.Schedules[len(resp.Schedules)-1].ScheduleId)
			break
		}
		resp.Schedules = append(resp.Schedules, sc.listEntry())
		sc.mu.Unlock()
	}
	return resp, nil
}

// Count counts the schedules of a namespace that match.
func (s *Scheduler) Count(ctx context.Context, ns string, match Matcher) (int64, error) {
	var n int64
	list, err := s.listed(ctx, ns)
	if err != nil {
		return 0, err
	}
	for _, sc := range list {
		sc.mu.Lock()
		if !sc.deleted && (match == nil || match(sc.asExecution())) {
			n++
		}
		sc.mu.Unlock()
	}
	return n, nil
}

// listed is what List and Count walk: this node's schedules, or on a
// cluster every node's, as stored.
func (s *Scheduler) listed(ctx context.Context, ns string) ([]*sched, error) {
	if s.cl != nil {
		return s.stored(ctx, ns)
	}
	return s.list(ns), nil
}

// maxMatchingTimes bounds ListScheduleMatchingTimes' answer.
const maxMatchingTimes = 1000

// MatchingTimes lists the times (with jitter) a schedule's spec matches
// after start and up to end (start exclusive, as in Temporal).
func (s *Scheduler) MatchingTimes(ctx context.Context, r *workflowservice.ListScheduleMatchingTimesRequest) (*workflowservice.ListScheduleMatchingTimesResponse, error) {
	sc, err := s.get(r.Namespace, r.ScheduleId)
	if err != nil {
		return nil, err
	}
	defer sc.mu.Unlock()
	resp := &workflowservice.ListScheduleMatchingTimesResponse{}
	if sc.spec == nil {
		return resp, nil
	}
	for _, t := range sc.spec.Times(sc.seed(), r.StartTime.AsTime(), r.EndTime.AsTime(), maxMatchingTimes) {
		resp.StartTime = append(resp.StartTime, timestamppb.New(t.Actual))
	}
	return resp, nil
}
