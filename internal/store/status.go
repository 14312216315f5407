package store

import enumspb "go.temporal.io/api/enums/v1"

// OpenStatuses are the statuses of an open run: RUNNING, and PAUSED for a
// run paused by PauseWorkflowExecution (still open; it keeps its place
// among the open runs and its count is kept under PAUSED).
var OpenStatuses = [...]enumspb.WorkflowExecutionStatus{
	enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING,
	enumspb.WORKFLOW_EXECUTION_STATUS_PAUSED,
}

// Open reports whether a run of this status is open.
func Open(st enumspb.WorkflowExecutionStatus) bool {
	return st == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING || st == enumspb.WORKFLOW_EXECUTION_STATUS_PAUSED
}
