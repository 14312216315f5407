package activityexec

import (
	"fmt"

	activitypb "go.temporal.io/api/activity/v1"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/sundial-io/sundial/internal/execution"
)

// MaxIDLength is the longest activity id, type or task queue name accepted
// (Temporal's default limit).
const MaxIDLength = 1000

func invalid(format string, args ...any) error {
	return serviceerror.NewInvalidArgument(fmt.Sprintf(format, args...))
}

// Normalize validates a start request and returns a copy with Temporal's
// defaults filled in: the schedule-to-start and start-to-close timeouts
// default to (and are capped by) the schedule-to-close timeout, the
// heartbeat timeout is capped by start-to-close, the retry policy gets
// its defaults (a request without one retries without limit, as in
// Temporal), and the id policies their defaults. Errors are InvalidArgument
// naming the field.
func Normalize(in *workflowservice.StartActivityExecutionRequest) (*workflowservice.StartActivityExecutionRequest, error) {
	req := proto.Clone(in).(*workflowservice.StartActivityExecutionRequest)
	if err := checkName("ActivityId", req.ActivityId); err != nil {
		return nil, err
	}
	if err := checkName("ActivityType", req.ActivityType.GetName()); err != nil {
		return nil, err
	}
	if err := checkName("TaskQueue", req.TaskQueue.GetName()); err != nil {
		return nil, err
	}
	if req.TaskQueue.Kind == enumspb.TASK_QUEUE_KIND_STICKY {
		return nil, invalid("TaskQueue cannot be a sticky queue.")
	}
	for _, f := range []struct {
		name string
		d    *durationpb.Duration
	}{
		{"ScheduleToCloseTimeout", req.ScheduleToCloseTimeout},
		{"ScheduleToStartTimeout", req.ScheduleToStartTimeout},
		{"StartToCloseTimeout", req.StartToCloseTimeout},
		{"HeartbeatTimeout", req.HeartbeatTimeout},
		{"StartDelay", req.StartDelay},
	} {
		if f.d == nil {
			continue
		}
		if err := f.d.CheckValid(); err != nil {
			return nil, invalid("invalid %s: %v", f.name, err)
		}
		if f.d.AsDuration() < 0 {
			return nil, invalid("invalid %s: negative duration", f.name)
		}
	}
	o := OriginalOptions(req)
	if err := normalizeTimeouts(o, req.ActivityId, req.ActivityType.GetName()); err != nil {
		return nil, err
	}
	req.ScheduleToCloseTimeout, req.ScheduleToStartTimeout = o.ScheduleToCloseTimeout, o.ScheduleToStartTimeout
	req.StartToCloseTimeout, req.HeartbeatTimeout = o.StartToCloseTimeout, o.HeartbeatTimeout
	if err := checkRetryPolicy(req); err != nil {
		return nil, err
	}
	switch req.IdReusePolicy {
	case enumspb.ACTIVITY_ID_REUSE_POLICY_UNSPECIFIED:
		req.IdReusePolicy = enumspb.ACTIVITY_ID_REUSE_POLICY_ALLOW_DUPLICATE
	case enumspb.ACTIVITY_ID_REUSE_POLICY_ALLOW_DUPLICATE, enumspb.ACTIVITY_ID_REUSE_POLICY_ALLOW_DUPLICATE_FAILED_ONLY,
		enumspb.ACTIVITY_ID_REUSE_POLICY_REJECT_DUPLICATE:
	default:
		return nil, invalid("unsupported IdReusePolicy: %v", req.IdReusePolicy)
	}
	switch req.IdConflictPolicy {
	case enumspb.ACTIVITY_ID_CONFLICT_POLICY_UNSPECIFIED:
		req.IdConflictPolicy = enumspb.ACTIVITY_ID_CONFLICT_POLICY_FAIL
	case enumspb.ACTIVITY_ID_CONFLICT_POLICY_FAIL, enumspb.ACTIVITY_ID_CONFLICT_POLICY_USE_EXISTING:
	default:
		return nil, invalid("unsupported IdConflictPolicy: %v", req.IdConflictPolicy)
	}
	if len(req.CompletionCallbacks) > 0 {
		return nil, invalid("CompletionCallbacks are not supported by Sundial for standalone activities.")
	}
	return req, nil
}

// OriginalOptions are the options a start request gave.
func OriginalOptions(req *workflowservice.StartActivityExecutionRequest) *activitypb.ActivityOptions {
	return proto.Clone(&activitypb.ActivityOptions{
		TaskQueue:              req.TaskQueue,
		ScheduleToCloseTimeout: req.ScheduleToCloseTimeout,
		ScheduleToStartTimeout: req.ScheduleToStartTimeout,
		StartToCloseTimeout:    req.StartToCloseTimeout,
		HeartbeatTimeout:       req.HeartbeatTimeout,
		RetryPolicy:            req.RetryPolicy,
		Priority:               req.Priority,
		StartDelay:             req.StartDelay,
	}).(*activitypb.ActivityOptions)
}

// normalizeTimeouts fills in and caps the timeouts of o as Temporal does:
// schedule-to-start and start-to-close default to (and are capped by)
// schedule-to-close; without schedule-to-close, start-to-close is
// required; the heartbeat timeout is capped by start-to-close.
func normalizeTimeouts(o *activitypb.ActivityOptions, activityID, activityType string) error {
	s2c := o.ScheduleToCloseTimeout.AsDuration()
	s2s := o.ScheduleToStartTimeout.AsDuration()
	stc := o.StartToCloseTimeout.AsDuration()
	switch {
	case s2c > 0:
		if s2s <= 0 || s2s > s2c {
			o.ScheduleToStartTimeout = durationpb.New(s2c)
		}
		if stc <= 0 || stc > s2c {
			o.StartToCloseTimeout = durationpb.New(s2c)
		}
	case stc > 0:
		o.ScheduleToCloseTimeout = durationpb.New(0)
		if s2s <= 0 {
			o.ScheduleToStartTimeout = durationpb.New(0)
		}
	default:
		return invalid("A valid StartToCloseTimeout or ScheduleToCloseTimeout must be set on the activity. ActivityId=%s ActivityType=%s",
			activityID, activityType)
	}
	if o.HeartbeatTimeout.AsDuration() > o.StartToCloseTimeout.AsDuration() {
		o.HeartbeatTimeout = o.StartToCloseTimeout
	} else if o.HeartbeatTimeout == nil {
		o.HeartbeatTimeout = durationpb.New(0)
	}
	return nil
}

func checkName(field, v string) error {
	if v == "" {
		return invalid("%s is not set on request.", field)
	}
	if len(v) > MaxIDLength {
		return invalid("%s exceeds length limit. Length=%d Limit=%d", field, len(v), MaxIDLength)
	}
	return nil
}

// checkRetryPolicy validates the request's retry policy and replaces it
// with one whose unset fields have Temporal's defaults.
func checkRetryPolicy(req *workflowservice.StartActivityExecutionRequest) error {
	p := req.RetryPolicy
	if p != nil {
		for _, f := range []struct {
			name string
			d    *durationpb.Duration
		}{{"InitialInterval", p.InitialInterval}, {"MaximumInterval", p.MaximumInterval}} {
			if f.d == nil {
				continue
			}
			if err := f.d.CheckValid(); err != nil || f.d.AsDuration() < 0 {
				return invalid("RetryPolicy.%s cannot be negative.", f.name)
			}
		}
		if p.BackoffCoefficient != 0 && p.BackoffCoefficient < 1 {
			return invalid("RetryPolicy.BackoffCoefficient cannot be less than 1.")
		}
		if p.MaximumAttempts < 0 {
			return invalid("RetryPolicy.MaximumAttempts cannot be negative.")
		}
		if p.MaximumInterval.AsDuration() > 0 && p.MaximumInterval.AsDuration() < p.InitialInterval.AsDuration() {
			return invalid("RetryPolicy.MaximumInterval cannot be less than InitialInterval.")
		}
	}
	req.RetryPolicy = execution.DefaultRetryPolicy(p)
	return nil
}
