package activityexec

import (
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
)

// StartChoice is what a start request does, given the newest execution of
// its activity id.
type StartChoice int

const (
	// StartNew starts a new execution.
	StartNew StartChoice = iota
	// Deduplicated: the request was already applied (same request id);
	// the answer is that execution, reported as started.
	Deduplicated
	// UseExisting: the running execution is the answer
	// (ACTIVITY_ID_CONFLICT_POLICY_USE_EXISTING), reported as not started.
	UseExisting
)

// ResolveStart applies Temporal's request-id deduplication and the
// request's id conflict policy (cur running) or id reuse policy (cur
// closed). cur is nil when the activity id was never used (or its
// executions were deleted). req must be normalized.
func ResolveStart(cur *Execution, req *workflowservice.StartActivityExecutionRequest) (StartChoice, error) {
	if cur == nil {
		return StartNew, nil
	}
	if req.RequestId != "" && cur.Start.GetRequestId() == req.RequestId {
		return Deduplicated, nil
	}
	already := func() error {
		return serviceerror.NewActivityExecutionAlreadyStarted("activity execution already started", cur.Start.GetRequestId(), cur.RunID)
	}
	if cur.Running() {
		if req.IdConflictPolicy == enumspb.ACTIVITY_ID_CONFLICT_POLICY_USE_EXISTING {
			return UseExisting, nil
		}
		return 0, already()
	}
	switch req.IdReusePolicy {
	case enumspb.ACTIVITY_ID_REUSE_POLICY_REJECT_DUPLICATE:
		return 0, already()
	case enumspb.ACTIVITY_ID_REUSE_POLICY_ALLOW_DUPLICATE_FAILED_ONLY:
		if cur.Status == enumspb.ACTIVITY_EXECUTION_STATUS_COMPLETED {
			return 0, already()
		}
	}
	return StartNew, nil
}
