package batch

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"
	"google.golang.org/protobuf/proto"

	"github.com/sundial-io/sundial/internal/store"
)

// jobState is what the store keeps of one job: the request that started
// it and its progress. It is written after every execution the job
// handles, so after a restart the job resumes just past the last one it
// recorded; the one execution that may have been handled but not recorded
// is handled again, which the per-execution actions tolerate (see act).
type jobState struct {
	Request   []byte    `json:"request"` // the StartBatchOperationRequest, proto-encoded
	State     int32     `json:"state"`   // enumspb.BatchOperationState
	StartTime time.Time `json:"start"`
	CloseTime time.Time `json:"close,omitzero"`
	Total     int64     `json:"total"`
	Complete  int64     `json:"complete"`
	Failure   int64     `json:"failure"`
	// Cursor is, for a query job, the visibility index cursor of the last
	// execution handled (nil: none yet).
	Cursor []byte `json:"cursor,omitempty"`
	// Next is, for a job over a list of executions, the index of the next
	// one to handle.
	Next int `json:"next,omitempty"`
	// Error says why a job failed or who stopped it.
	Error string `json:"error,omitempty"`
}

func (st *jobState) marshal() ([]byte, error) { return json.Marshal(st) }

func unmarshalState(b []byte) (*jobState, *workflowservice.StartBatchOperationRequest, error) {
	st := &jobState{}
	if err := json.Unmarshal(b, st); err != nil {
		return nil, nil, fmt.Errorf("decoding batch job: %w", err)
	}
	req := &workflowservice.StartBatchOperationRequest{}
	if err := proto.Unmarshal(st.Request, req); err != nil {
		return nil, nil, fmt.Errorf("decoding batch job request: %w", err)
	}
	return st, req, nil
}

type key struct{ ns, id string }

// job is one batch operation in memory. Its fields are guarded by mu.
type job struct {
	key  key
	req  *workflowservice.StartBatchOperationRequest
	kind enumspb.BatchOperationType

	// fence is, on a cluster, the lease of the job's shard it was loaded
	// or started under; its writes carry it (nil on a single node).
	fence *store.Fence

	mu     sync.Mutex
	st     *jobState
	stop   chan struct{}      // closed by StopBatchOperation
	done   chan struct{}      // closed when the job's goroutine has returned
	cancel context.CancelFunc // ends the job's goroutine (set by launch)
}

func (j *job) running() bool {
	return enumspb.BatchOperationState(j.st.State) == enumspb.BATCH_OPERATION_STATE_RUNNING
}

// record returns the store record of the job's current state.
func (j *job) record() (*store.BatchJobRecord, error) {
	b, err := j.st.marshal()
	if err != nil {
		return nil, err
	}
	return &store.BatchJobRecord{Namespace: j.key.ns, JobID: j.key.id, State: b}, nil
}

// executions are the targets of a job started with a list, as
// DescribeBatchOperation reports them (TargetExecutions, or the
// deprecated Executions converted).
func executions(r *workflowservice.StartBatchOperationRequest) []*commonpb.Execution {
	if len(r.TargetExecutions) > 0 {
		return r.TargetExecutions
	}
	out := make([]*commonpb.Execution, 0, len(r.Executions))
	for _, ex := range r.Executions { //nolint:staticcheck // the deprecated field is still sent by clients
		out = append(out, &commonpb.Execution{Type: enumspb.EXECUTION_TYPE_WORKFLOW, BusinessId: ex.GetWorkflowId(), RunId: ex.GetRunId()})
	}
	return out
}

// operationType is the type Describe and List report, Temporal's names for
// the workflow operations.
func operationType(r *workflowservice.StartBatchOperationRequest) enumspb.BatchOperationType {
	switch r.Operation.(type) {
	case *workflowservice.StartBatchOperationRequest_TerminationOperation:
		return enumspb.BATCH_OPERATION_TYPE_TERMINATE
	case *workflowservice.StartBatchOperationRequest_CancellationOperation:
		return enumspb.BATCH_OPERATION_TYPE_CANCEL
	case *workflowservice.StartBatchOperationRequest_SignalOperation:
		return enumspb.BATCH_OPERATION_TYPE_SIGNAL
	case *workflowservice.StartBatchOperationRequest_DeletionOperation:
		return enumspb.BATCH_OPERATION_TYPE_DELETE
	case *workflowservice.StartBatchOperationRequest_ResetOperation:
		return enumspb.BATCH_OPERATION_TYPE_RESET
	case *workflowservice.StartBatchOperationRequest_UpdateWorkflowOptionsOperation:
		// The legacy name, as the five above, which is what Temporal's
		// frontend records for these jobs.
		return enumspb.BATCH_OPERATION_TYPE_UPDATE_EXECUTION_OPTIONS
	case *workflowservice.StartBatchOperationRequest_UnpauseActivitiesOperation:
		return enumspb.BATCH_OPERATION_TYPE_UNPAUSE_ACTIVITY
	case *workflowservice.StartBatchOperationRequest_ResetActivitiesOperation:
		return enumspb.BATCH_OPERATION_TYPE_RESET_ACTIVITY
	case *workflowservice.StartBatchOperationRequest_UpdateActivityOptionsOperation:
		return enumspb.BATCH_OPERATION_TYPE_UPDATE_ACTIVITY_OPTIONS
	}
	return enumspb.BATCH_OPERATION_TYPE_UNSPECIFIED
}

// identity is the identity the operation carries (Describe's Identity and
// the identity recorded on each workflow it changes).
func identity(r *workflowservice.StartBatchOperationRequest) string {
	switch op := r.Operation.(type) {
	case *workflowservice.StartBatchOperationRequest_TerminationOperation:
		return op.TerminationOperation.GetIdentity()
	case *workflowservice.StartBatchOperationRequest_CancellationOperation:
		return op.CancellationOperation.GetIdentity()
	case *workflowservice.StartBatchOperationRequest_SignalOperation:
		return op.SignalOperation.GetIdentity()
	case *workflowservice.StartBatchOperationRequest_DeletionOperation:
		return op.DeletionOperation.GetIdentity()
	case *workflowservice.StartBatchOperationRequest_ResetOperation:
		return op.ResetOperation.GetIdentity()
	case *workflowservice.StartBatchOperationRequest_UpdateWorkflowOptionsOperation:
		return op.UpdateWorkflowOptionsOperation.GetIdentity()
	case *workflowservice.StartBatchOperationRequest_UnpauseActivitiesOperation:
		return op.UnpauseActivitiesOperation.GetIdentity()
	case *workflowservice.StartBatchOperationRequest_ResetActivitiesOperation:
		return op.ResetActivitiesOperation.GetIdentity()
	case *workflowservice.StartBatchOperationRequest_UpdateActivityOptionsOperation:
		return op.UpdateActivityOptionsOperation.GetIdentity()
	}
	return ""
}
