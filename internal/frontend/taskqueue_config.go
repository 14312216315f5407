package frontend

import (
	"context"
	"math"
	"strings"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
)

const (
	// maxReasonLength bounds a rate limit update's reason, as in Temporal.
	maxReasonLength = 1000
	// maxFairnessKeyLength bounds a fairness key (Temporal's priorities
	// package).
	maxFairnessKeyLength = 64
	// maxFairnessOverridesPerRequest is Temporal's default limit on the
	// overrides one request sets and unsets together.
	maxFairnessOverridesPerRequest = 1000
)

// UpdateTaskQueueConfig sets a task queue's rate limits and fairness
// weight overrides, with Temporal's validation and its messages (which
// name the request field), and returns the queue's new configuration.
// Temporal does not rate-limit workflow tasks: a rate on a workflow queue
// is refused, weight overrides are accepted. Sundial also refuses a
// request with no task queue or type (Temporal would store a
// configuration for the queue named "" or the unspecified type, which no
// task ever uses).
func (s *Service) UpdateTaskQueueConfig(ctx context.Context, r *workflowservice.UpdateTaskQueueConfigRequest) (*workflowservice.UpdateTaskQueueConfigResponse, error) {
	if err := s.ns(r.Namespace); err != nil {
		return nil, err
	}
	if err := validateTaskQueueConfigUpdate(r); err != nil {
		return nil, err
	}
	cfg, err := s.e.UpdateTaskQueueConfig(r)
	if err != nil {
		return nil, err
	}
	return &workflowservice.UpdateTaskQueueConfigResponse{Config: cfg}, nil
}

func validateTaskQueueConfigUpdate(r *workflowservice.UpdateTaskQueueConfigRequest) error {
	switch {
	case r.TaskQueue == "":
		return invalid("TaskQueue is not set on request.")
	case len(r.TaskQueue) > maxIDLength:
		return invalid("TaskQueue exceeds length limit. Length=%d Limit=%d", len(r.TaskQueue), maxIDLength)
	case strings.HasPrefix(r.TaskQueue, reservedQueuePrefix):
		return invalid("task queue family name cannot have prefix %s %s", reservedQueuePrefix, r.TaskQueue)
	}
	switch r.TaskQueueType {
	case enumspb.TASK_QUEUE_TYPE_WORKFLOW, enumspb.TASK_QUEUE_TYPE_ACTIVITY, enumspb.TASK_QUEUE_TYPE_NEXUS:
	case enumspb.TASK_QUEUE_TYPE_UNSPECIFIED:
		return invalid("TaskQueueType is not set on request.")
	default:
		return invalid("TaskQueueType %d is not a valid task queue type.", int32(r.TaskQueueType))
	}
	workflowQueue := r.TaskQueueType == enumspb.TASK_QUEUE_TYPE_WORKFLOW
	if r.UpdateQueueRateLimit.GetRateLimit() != nil && workflowQueue {
		return invalid("Setting rate limit on workflow task queues is not allowed.")
	}
	if err := validateRateLimitUpdate(r.UpdateQueueRateLimit, "UpdateQueueRateLimit"); err != nil {
		return err
	}
	if r.UpdateFairnessKeyRateLimitDefault.GetRateLimit() != nil && workflowQueue {
		return invalid("Setting fairness key rate limit on workflow task queues is not allowed.")
	}
	if err := validateRateLimitUpdate(r.UpdateFairnessKeyRateLimitDefault, "UpdateFairnessKeyRateLimitDefault"); err != nil {
		return err
	}
	if len(r.Identity) > maxIDLength {
		return invalid("Identity field too long (max %d characters).", maxIDLength)
	}
	if r.UpdateQueueConcurrencyLimit != nil {
		return serviceerror.NewUnimplemented("Sundial does not implement task queue concurrency limits (UpdateQueueConcurrencyLimit) yet.")
	}
	return validateFairnessWeightUpdate(r.SetFairnessWeightOverrides, r.UnsetFairnessWeightOverrides)
}

func validateRateLimitUpdate(u *workflowservice.UpdateTaskQueueConfigRequest_RateLimitUpdate, field string) error {
	if u == nil {
		return nil
	}
	if rl := u.RateLimit; rl != nil {
		v := float64(rl.RequestsPerSecond)
		if v < 0 {
			return invalid("RequestsPerSecond for %s rate limit must be non-negative.", field)
		}
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return invalid("RequestsPerSecond for %s rate limit must be a finite number.", field)
		}
	}
	if len(u.Reason) > maxReasonLength {
		return invalid("%s.Reason field too long (max %d characters).", field, maxReasonLength)
	}
	return nil
}

func validateFairnessWeightUpdate(set map[string]float32, unset []string) error {
	if n := len(set) + len(unset); n > maxFairnessOverridesPerRequest {
		return invalid("too many fairness weight overrides in request: got %d, maximum %d", n, maxFairnessOverridesPerRequest)
	}
	checkKey := func(k string) error {
		if k == "" {
			return invalid("fairness weight override key must not be empty")
		}
		if len(k) > maxFairnessKeyLength {
			return invalid("fairness key length exceeds limit")
		}
		return nil
	}
	for k, w := range set {
		if err := checkKey(k); err != nil {
			return err
		}
		if !(w > 0) || math.IsInf(float64(w), 0) {
			return invalid("invalid fairness weight weight for key %q: must be greater than zero", k)
		}
	}
	for _, k := range unset {
		if err := checkKey(k); err != nil {
			return err
		}
		if _, ok := set[k]; ok {
			return invalid("fairness weight override key %q present in both set and unset lists", k)
		}
	}
	return nil
}
