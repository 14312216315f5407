package execution

import (
	"math"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	failurepb "go.temporal.io/api/failure/v1"
	"google.golang.org/protobuf/types/known/durationpb"
)

// DefaultRetryPolicy fills the unset fields of an activity retry policy
// with Temporal's defaults (1s initial interval, coefficient 2, maximum
// interval 100x initial, unlimited attempts).
func DefaultRetryPolicy(p *commonpb.RetryPolicy) *commonpb.RetryPolicy {
	out := &commonpb.RetryPolicy{}
	if p != nil {
		out.InitialInterval = p.InitialInterval
		out.BackoffCoefficient = p.BackoffCoefficient
		out.MaximumInterval = p.MaximumInterval
		out.MaximumAttempts = p.MaximumAttempts
		out.NonRetryableErrorTypes = p.NonRetryableErrorTypes
	}
	if out.InitialInterval.AsDuration() <= 0 {
		out.InitialInterval = durationpb.New(time.Second)
	}
	if out.BackoffCoefficient < 1 {
		out.BackoffCoefficient = 2
	}
	if out.MaximumInterval.AsDuration() <= 0 {
		out.MaximumInterval = durationpb.New(100 * out.InitialInterval.AsDuration())
	}
	return out
}

// nextRetry decides whether attempt (which just failed with f) is retried
// under policy p and after what delay. expiration, if not zero, is the
// deadline after which no attempt may start.
func nextRetry(p *commonpb.RetryPolicy, attempt int32, f *failurepb.Failure, now, expiration time.Time) (time.Duration, enumspb.RetryState) {
	if p == nil {
		return 0, enumspb.RETRY_STATE_RETRY_POLICY_NOT_SET
	}
	if !retryable(p, f) {
		return 0, enumspb.RETRY_STATE_NON_RETRYABLE_FAILURE
	}
	if p.MaximumAttempts > 0 && attempt >= p.MaximumAttempts {
		return 0, enumspb.RETRY_STATE_MAXIMUM_ATTEMPTS_REACHED
	}
	p = DefaultRetryPolicy(p)
	initial := p.InitialInterval.AsDuration()
	d := float64(initial) * math.Pow(p.BackoffCoefficient, float64(attempt-1))
	if max := float64(p.MaximumInterval.AsDuration()); d > max || math.IsInf(d, 0) || math.IsNaN(d) {
		d = max
	}
	// A next-retry delay from the failure itself (ApplicationError's
	// next_retry_delay) overrides the computed one.
	if nd := f.GetApplicationFailureInfo().GetNextRetryDelay().AsDuration(); nd > 0 {
		d = float64(nd)
	}
	delay := time.Duration(d)
	if !expiration.IsZero() && now.Add(delay).After(expiration) {
		return 0, enumspb.RETRY_STATE_TIMEOUT
	}
	return delay, enumspb.RETRY_STATE_IN_PROGRESS
}

func retryable(p *commonpb.RetryPolicy, f *failurepb.Failure) bool {
	if f == nil {
		return true
	}
	switch info := f.FailureInfo.(type) {
	case *failurepb.Failure_ApplicationFailureInfo:
		if info.ApplicationFailureInfo.NonRetryable {
			return false
		}
		for _, t := range p.NonRetryableErrorTypes {
			if t == info.ApplicationFailureInfo.Type {
				return false
			}
		}
	case *failurepb.Failure_TimeoutFailureInfo:
		tt := info.TimeoutFailureInfo.TimeoutType
		if tt == enumspb.TIMEOUT_TYPE_SCHEDULE_TO_START || tt == enumspb.TIMEOUT_TYPE_SCHEDULE_TO_CLOSE {
			return false
		}
	case *failurepb.Failure_ServerFailureInfo:
		return !info.ServerFailureInfo.NonRetryable
	case *failurepb.Failure_CanceledFailureInfo, *failurepb.Failure_TerminatedFailureInfo:
		return false
	}
	return true
}

// NextRetry decides, as for an activity of a workflow, whether attempt
// (which just failed with f) is retried under policy p and after what
// delay; standalone activities (package activityexec) share the rule.
func NextRetry(p *commonpb.RetryPolicy, attempt int32, f *failurepb.Failure, now, expiration time.Time) (time.Duration, enumspb.RetryState) {
	return nextRetry(p, attempt, f, now, expiration)
}
