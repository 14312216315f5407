package execution

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	activitypb "go.temporal.io/api/activity/v1"
	commandpb "go.temporal.io/api/command/v1"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	taskqueuepb "go.temporal.io/api/taskqueue/v1"
	workflowpb "go.temporal.io/api/workflow/v1"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/sundial-io/sundial/internal/visibility"
)

// Activity control (Temporal's PauseActivity, UnpauseActivity,
// ResetActivity, UpdateActivityOptions) changes the run's mutable state
// only, never its history, as in Temporal: pause state and changed options
// live in the run record (PendingActivityInfo.Paused, PauseInfo and
// ActivityOptions) and are restored by Load.
//
// A paused activity is not dispatched and has no deadlines: no timeout
// fires and no retry backoff ends while it is paused. An attempt that was
// already running goes on; its heartbeats are told the activity is paused
// (the SDKs then stop it), its completion is accepted, and its failure
// counts an attempt but schedules nothing until the activity is unpaused.

// ErrActivityNotFound is returned when no pending activity matches.
var ErrActivityNotFound = errors.New("Can't find pending activity with such ID. Invalid activityID or activity already completed")

// ErrActivityAlreadyPaused is returned by a second pause with another
// request id (FailedPrecondition in Temporal).
var ErrActivityAlreadyPaused = errors.New("activity is already paused")

// ActivitySelector names the activities a control request is for: one
// activity id, every activity of a type, or all pending activities.
type ActivitySelector struct {
	ID   string
	Type string
	All  bool
}

// SelectActivities returns the pending activities sel names, in schedule
// order. An id that names no pending activity yields ErrActivityNotFound,
// and so does a type or "all" that matches nothing, as in Temporal.
func (s *State) SelectActivities(sel ActivitySelector) ([]*Activity, error) {
	if !s.Running() {
		return nil, ErrClosed
	}
	var out []*Activity
	switch {
	case sel.ID != "":
		if a := s.ActivityByID(sel.ID); a != nil {
			out = append(out, a)
		}
	default:
		for _, a := range s.Activities {
			if sel.All || a.Attrs.GetActivityType().GetName() == sel.Type {
				out = append(out, a)
			}
		}
		sort.Slice(out, func(i, j int) bool { return out[i].ScheduledEventID < out[j].ScheduledEventID })
	}
	if len(out) == 0 {
		return nil, ErrActivityNotFound
	}
	return out, nil
}

// CheckPause reports whether PauseActivity would refuse act: a paused
// activity may only be paused again by a repeat of the same request.
func CheckPause(act *Activity, requestID string) error {
	if act.Paused && (requestID == "" || act.pauseRequestID != requestID) {
		return ErrActivityAlreadyPaused
	}
	return nil
}

// PauseActivity pauses act. A repeated request (same request id) is a
// no-op; another pause of a paused activity is refused.
func (s *State) PauseActivity(now time.Time, act *Activity, identity, reason, requestID string) error {
	if err := CheckPause(act, requestID); err != nil {
		return err
	}
	if act.Paused {
		return nil // a repeat of the request that paused it
	}
	act.Paused = true
	act.pauseRequestID = requestID
	act.PauseInfo = &workflowpb.PendingActivityInfo_PauseInfo{
		PauseTime: timestamppb.New(now),
		PausedBy: &workflowpb.PendingActivityInfo_PauseInfo_Manual_{Manual: &workflowpb.PendingActivityInfo_PauseInfo_Manual{
			Identity: identity, Reason: reason,
		}},
	}
	s.out.RecordChanged = true
	return nil
}

// UnpauseActivity lifts the pause of act (an activity that is not paused
// is left alone). An activity that is not running is dispatched at
// now+delay (delay: the caller's random pick within the jitter), whatever
// backoff it was waiting out before the pause, as in Temporal.
func (s *State) UnpauseActivity(now time.Time, act *Activity, resetAttempts, resetHeartbeat bool, delay time.Duration) {
	if !act.Paused {
		return
	}
	act.Paused, act.PauseInfo, act.pauseRequestID = false, nil, ""
	if resetAttempts && !act.Started {
		act.Attempt = 1
	}
	if resetHeartbeat {
		act.HeartbeatDetails, act.LastHeartbeat = nil, time.Time{}
	}
	if !act.Started {
		s.scheduleAttempt(now, act, delay)
	}
	s.out.RecordChanged = true
}

// ResetActivity sets act's attempt count back to 1 (Temporal's
// ResetActivity). A paused activity is unpaused unless keepPaused; one
// that is not running is dispatched at now+delay. A running attempt goes
// on, but its heartbeats are told the activity was reset; the heartbeat
// details are cleared for the next attempt when resetHeartbeat is set.
// restoreOptions puts back the options the activity was scheduled with.
func (s *State) ResetActivity(now time.Time, act *Activity, resetHeartbeat, keepPaused, restoreOptions bool, delay time.Duration) {
	if restoreOptions && act.origAttrs != nil {
		act.Attrs, act.origAttrs = act.origAttrs, nil
	}
	if act.Paused && !keepPaused {
		act.Paused, act.PauseInfo, act.pauseRequestID = false, nil, ""
	}
	s.out.RecordChanged = true
	if act.Started {
		// The running attempt keeps its own number so that its result is
		// still accepted; the next attempt is the first again.
		act.resetRequested = true
		act.resetHeartbeat = act.resetHeartbeat || resetHeartbeat
		return
	}
	act.Attempt = 1
	if resetHeartbeat {
		act.HeartbeatDetails, act.LastHeartbeat = nil, time.Time{}
	}
	if !act.Paused {
		s.scheduleAttempt(now, act, delay)
	}
}

// scheduleAttempt makes the current (not started) attempt dispatchable at
// now+delay: at once when delay is zero, else when the backoff deadline
// fires. A task already queued for an older attempt is refused when a
// worker polls it (its attempt no longer matches).
func (s *State) scheduleAttempt(now time.Time, act *Activity, delay time.Duration) {
	act.LastAttemptCompleteTime = now
	s.out.RecordChanged = true
	if delay > 0 {
		act.NextAttemptTime = now.Add(delay)
		return
	}
	s.dispatchActivity(now, act)
}

// ActivityControl reports what a heartbeat of act's running attempt is
// told besides a cancel request: that the activity was paused or reset.
func (s *State) ActivityControl(scheduledID int64) (paused, reset bool) {
	if a := s.Activities[scheduledID]; a != nil {
		return a.Paused, a.resetRequested
	}
	return false, false
}

// ActivityOptionsOf returns act's current options as Temporal reports
// them (PendingActivityInfo.ActivityOptions, UpdateActivityOptions' answer).
func ActivityOptionsOf(act *Activity) *activitypb.ActivityOptions {
	at := act.Attrs
	return &activitypb.ActivityOptions{
		TaskQueue:              &taskqueuepb.TaskQueue{Name: at.TaskQueue.GetName(), NormalName: at.TaskQueue.GetName()},
		ScheduleToCloseTimeout: at.ScheduleToCloseTimeout,
		ScheduleToStartTimeout: at.ScheduleToStartTimeout,
		StartToCloseTimeout:    at.StartToCloseTimeout,
		HeartbeatTimeout:       at.HeartbeatTimeout,
		Priority:               at.Priority,
		RetryPolicy: &commonpb.RetryPolicy{
			InitialInterval:    at.RetryPolicy.GetInitialInterval(),
			BackoffCoefficient: at.RetryPolicy.GetBackoffCoefficient(),
			MaximumInterval:    at.RetryPolicy.GetMaximumInterval(),
			MaximumAttempts:    at.RetryPolicy.GetMaximumAttempts(),
		},
	}
}

// activityOptionPaths are the update_mask paths UpdateActivityOptions
// takes (Temporal's, in the camelCase it compares; snake_case is accepted
// too).
var activityOptionPaths = map[string]bool{
	"taskQueue.name": true, "scheduleToCloseTimeout": true, "scheduleToStartTimeout": true,
	"startToCloseTimeout": true, "heartbeatTimeout": true, "priority": true, "priority.priorityKey": true,
	"priority.fairnessKey": true, "priority.fairnessWeight": true, "retryPolicy": true,
	"retryPolicy.initialInterval": true, "retryPolicy.backoffCoefficient": true,
	"retryPolicy.maximumInterval": true, "retryPolicy.maximumAttempts": true,
}

// NormalizeActivityOptionPaths turns update_mask paths into the camelCase
// form and refuses paths UpdateActivityOptions does not know.
func NormalizeActivityOptionPaths(paths []string) (map[string]bool, error) {
	out := map[string]bool{}
	for _, p := range paths {
		parts := strings.Split(p, ".")
		for i, part := range parts {
			parts[i] = camel(part)
		}
		c := strings.Join(parts, ".")
		if c == "taskQueue" {
			c = "taskQueue.name"
		}
		if !activityOptionPaths[c] {
			return nil, fmt.Errorf("UpdateMask path %q is not an activity option that can be updated", p)
		}
		out[c] = true
	}
	return out, nil
}

func camel(s string) string {
	var b strings.Builder
	up := false
	for _, r := range s {
		switch {
		case r == '_':
			up = true
		case up:
			b.WriteString(strings.ToUpper(string(r)))
			up = false
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// MergeActivityOptions applies the masked fields of from onto a copy of
// into, as Temporal merges them; a masked message that is absent is an
// error naming it.
func MergeActivityOptions(into, from *activitypb.ActivityOptions, mask map[string]bool) (*activitypb.ActivityOptions, error) {
	o := proto.Clone(into).(*activitypb.ActivityOptions)
	if o.RetryPolicy == nil {
		o.RetryPolicy = &commonpb.RetryPolicy{}
	}
	if o.Priority == nil {
		o.Priority = &commonpb.Priority{}
	}
	need := func(ok bool, name string) error {
		if !ok {
			return fmt.Errorf("ActivityOptions.%s is not provided but the UpdateMask names it", name)
		}
		return nil
	}
	if mask["taskQueue.name"] {
		if err := need(from.GetTaskQueue().GetName() != "", "TaskQueue.Name"); err != nil {
			return nil, err
		}
		o.TaskQueue = &taskqueuepb.TaskQueue{Name: from.TaskQueue.Name, NormalName: from.TaskQueue.Name}
	}
	if mask["scheduleToCloseTimeout"] {
		o.ScheduleToCloseTimeout = from.GetScheduleToCloseTimeout()
	}
	if mask["scheduleToStartTimeout"] {
		o.ScheduleToStartTimeout = from.GetScheduleToStartTimeout()
	}
	if mask["startToCloseTimeout"] {
		o.StartToCloseTimeout = from.GetStartToCloseTimeout()
	}
	if mask["heartbeatTimeout"] {
		o.HeartbeatTimeout = from.GetHeartbeatTimeout()
	}
	if mask["priority"] {
		o.Priority = from.GetPriority()
	}
	for _, k := range []string{"priority.priorityKey", "priority.fairnessKey", "priority.fairnessWeight"} {
		if !mask[k] {
			continue
		}
		if err := need(from.GetPriority() != nil, "Priority"); err != nil {
			return nil, err
		}
		if o.Priority == nil {
			o.Priority = &commonpb.Priority{}
		}
		switch k {
		case "priority.priorityKey":
			o.Priority.PriorityKey = from.Priority.PriorityKey
		case "priority.fairnessKey":
			o.Priority.FairnessKey = from.Priority.FairnessKey
		default:
			o.Priority.FairnessWeight = from.Priority.FairnessWeight
		}
	}
	if mask["retryPolicy"] {
		if err := need(from.GetRetryPolicy() != nil, "RetryPolicy"); err != nil {
			return nil, err
		}
		o.RetryPolicy = proto.Clone(from.RetryPolicy).(*commonpb.RetryPolicy)
	}
	for _, k := range []string{"retryPolicy.initialInterval", "retryPolicy.backoffCoefficient", "retryPolicy.maximumInterval", "retryPolicy.maximumAttempts"} {
		if !mask[k] {
			continue
		}
		if err := need(from.GetRetryPolicy() != nil, "RetryPolicy"); err != nil {
			return nil, err
		}
		rp := from.RetryPolicy
		switch k {
		case "retryPolicy.initialInterval":
			o.RetryPolicy.InitialInterval = rp.InitialInterval
		case "retryPolicy.backoffCoefficient":
			o.RetryPolicy.BackoffCoefficient = rp.BackoffCoefficient
		case "retryPolicy.maximumInterval":
			o.RetryPolicy.MaximumInterval = rp.MaximumInterval
		default:
			o.RetryPolicy.MaximumAttempts = rp.MaximumAttempts
		}
	}
	return o, nil
}

// UpdateActivityOptions gives act the options o (already merged and
// validated; unset timeouts are filled in as for a scheduled activity).
// An attempt that is not running is scheduled again under the new
// options (rescheduleAttempt); a running one goes on and the new timeouts
// apply to it.
func (s *State) UpdateActivityOptions(now time.Time, act *Activity, o *activitypb.ActivityOptions) *activitypb.ActivityOptions {
	if act.origAttrs == nil {
		act.origAttrs = act.Attrs
	}
	a := proto.Clone(act.Attrs).(*historypb.ActivityTaskScheduledEventAttributes)
	s.applyOptions(a, o)
	act.Attrs = a
	s.out.RecordChanged = true
	s.rescheduleAttempt(now, act)
	return ActivityOptionsOf(act)
}

// applyOptions writes options onto scheduled-event attributes, filling in
// unset timeouts the way scheduling does.
func (s *State) applyOptions(a *historypb.ActivityTaskScheduledEventAttributes, o *activitypb.ActivityOptions) {
	if n := o.GetTaskQueue().GetName(); n != "" && n != a.TaskQueue.GetName() {
		a.TaskQueue = &taskqueuepb.TaskQueue{Name: n, Kind: a.TaskQueue.GetKind()}
	}
	s2c, s2s, st2c, hb := activityTimeouts(&commandpb.ScheduleActivityTaskCommandAttributes{
		ScheduleToCloseTimeout: o.GetScheduleToCloseTimeout(), ScheduleToStartTimeout: o.GetScheduleToStartTimeout(),
		StartToCloseTimeout: o.GetStartToCloseTimeout(), HeartbeatTimeout: o.GetHeartbeatTimeout(),
	}, s.Start.GetWorkflowRunTimeout().AsDuration())
	a.ScheduleToCloseTimeout, a.ScheduleToStartTimeout = durationpb.New(s2c), durationpb.New(s2s)
	a.StartToCloseTimeout, a.HeartbeatTimeout = durationpb.New(st2c), durationpb.New(hb)
	a.Priority = o.GetPriority()
	if rp := o.GetRetryPolicy(); rp != nil {
		merged := proto.Clone(a.RetryPolicy).(*commonpb.RetryPolicy)
		if merged == nil {
			merged = &commonpb.RetryPolicy{}
		}
		merged.InitialInterval, merged.BackoffCoefficient = rp.InitialInterval, rp.BackoffCoefficient
		merged.MaximumInterval, merged.MaximumAttempts = rp.MaximumInterval, rp.MaximumAttempts
		a.RetryPolicy = DefaultRetryPolicy(merged)
	}
}

// CheckActivityOptions refuses merged options Temporal would refuse for a
// scheduled activity: negative or malformed timeouts, neither a
// start-to-close nor a schedule-to-close timeout, a bad retry policy.
func CheckActivityOptions(o *activitypb.ActivityOptions) error {
	for _, d := range []struct {
		name string
		v    *durationpb.Duration
	}{{"ScheduleToCloseTimeout", o.GetScheduleToCloseTimeout()}, {"ScheduleToStartTimeout", o.GetScheduleToStartTimeout()},
		{"StartToCloseTimeout", o.GetStartToCloseTimeout()}, {"HeartbeatTimeout", o.GetHeartbeatTimeout()}} {
		if err := checkDuration(d.v); err != nil {
			return fmt.Errorf("invalid ActivityOptions.%s: %v", d.name, err)
		}
	}
	if o.GetScheduleToCloseTimeout().AsDuration() <= 0 && o.GetStartToCloseTimeout().AsDuration() <= 0 {
		return errors.New("a valid StartToCloseTimeout or ScheduleToCloseTimeout must be set in ActivityOptions")
	}
	if o.GetTaskQueue().GetName() == "" {
		return errors.New("ActivityOptions.TaskQueue.Name must not be empty")
	}
	if err := checkRetryPolicy(o.GetRetryPolicy()); err != nil {
		return fmt.Errorf("invalid ActivityOptions.RetryPolicy: %v", err)
	}
	return nil
}

// restoreOptions re-applies options changed by UpdateActivityOptions when
// a run is loaded from its record.
func (s *State) restoreOptions(act *Activity, o *activitypb.ActivityOptions) {
	act.origAttrs = act.Attrs
	a := proto.Clone(act.Attrs).(*historypb.ActivityTaskScheduledEventAttributes)
	s.applyOptions(a, o)
	act.Attrs = a
}

// RestoreActivityOptions puts back the options act was scheduled with
// (UpdateActivityOptions with restore_original).
func (s *State) RestoreActivityOptions(now time.Time, act *Activity) *activitypb.ActivityOptions {
	if act.origAttrs != nil {
		act.Attrs, act.origAttrs = act.origAttrs, nil
		s.out.RecordChanged = true
		s.rescheduleAttempt(now, act)
	}
	return ActivityOptionsOf(act)
}

// rescheduleAttempt schedules act's next attempt again after its options
// changed, as Temporal does: the first attempt at once, a retry at the end
// of the backoff the new retry policy gives it, counted from when the last
// attempt failed (at once if that time has passed). The attempt is offered
// on the activity's current task queue; a task queued before on another
// queue is refused when polled.
func (s *State) rescheduleAttempt(now time.Time, act *Activity) {
	if act.Started || act.Paused {
		return
	}
	if act.Attempt > 1 && !act.LastAttemptCompleteTime.IsZero() {
		p := DefaultRetryPolicy(act.Attrs.RetryPolicy)
		d := float64(p.InitialInterval.AsDuration()) * math.Pow(p.BackoffCoefficient, float64(act.Attempt-2))
		if mx := float64(p.MaximumInterval.AsDuration()); mx > 0 && (d > mx || math.IsInf(d, 0) || math.IsNaN(d)) {
			d = mx
		}
		if next := act.LastAttemptCompleteTime.Add(time.Duration(d)); next.After(now) {
			act.NextAttemptTime = next
			return
		}
	}
	s.dispatchActivity(now, act)
}

// pauseInfoAttribute is Temporal's TemporalPauseInfo search attribute of
// the run: for a paused run "Workflow:<id>" and "Reason:<reason>"
// (workflow_pause.go), then "property:activityType=<type>" for each type
// with a paused activity (sorted), nil when nothing is paused. It is derived from the
// activities, never stored in history, so Info adds it to a copy of the
// run's search attributes; `TemporalPauseInfo = '...'` queries (and batch
// unpause by query) find the run through it.
func (s *State) pauseInfoAttribute() *commonpb.Payload {
	wf := s.workflowPauseEntries()
	types := wf
	seen := map[string]bool{}
	for _, a := range s.Activities {
		t := a.Attrs.GetActivityType().GetName()
		if a.Paused && !seen[t] {
			seen[t] = true
			types = append(types, "property:activityType="+t)
		}
	}
	if len(types) == 0 {
		return nil
	}
	sort.Strings(types[len(wf):])
	p, err := visibility.EncodeValue(types, enumspb.INDEXED_VALUE_TYPE_KEYWORD_LIST)
	if err != nil {
		return nil // a list of strings always encodes
	}
	return p
}

// withPauseInfo returns sa with TemporalPauseInfo set (a copy; sa is the
// run's own map and is not changed).
func withPauseInfo(sa *commonpb.SearchAttributes, p *commonpb.Payload) *commonpb.SearchAttributes {
	out := &commonpb.SearchAttributes{IndexedFields: make(map[string]*commonpb.Payload, len(sa.GetIndexedFields())+1)}
	for k, v := range sa.GetIndexedFields() {
		out.IndexedFields[k] = v
	}
	out.IndexedFields[pauseInfoAttr] = p
	return out
}

const pauseInfoAttr = "TemporalPauseInfo"
