package batch

import (
	"context"
	"errors"
	"math"
	"sort"

	batchpb "go.temporal.io/api/batch/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// maxIDLength is Temporal's limit on ids (job ids are workflow ids there).
const maxIDLength = 1000

// validate checks a start request as Temporal's frontend and batcher do:
// job id, reason, a query or a list of executions but not both, and one
// supported operation with what it needs.
func (b *Batcher) validate(r *workflowservice.StartBatchOperationRequest) error {
	if err := refuseStandaloneActivities(r); err != nil {
		return err // Temporal's frontend answers this before any other check
	}
	if r.JobId == "" {
		return serviceerror.NewInvalidArgument("JobId is not set on request.")
	}
	if len(r.JobId) > maxIDLength {
		return serviceerror.NewInvalidArgumentf("JobId exceeds length limit. Length=%d Limit=%d", len(r.JobId), maxIDLength)
	}
	if r.Reason == "" {
		return serviceerror.NewInvalidArgument("Reason is not set on request.")
	}
	n := len(r.Executions) + len(r.TargetExecutions) //nolint:staticcheck // deprecated field still sent
	if r.VisibilityQuery == "" && n == 0 {
		return serviceerror.NewInvalidArgument("VisibilityQuery or Executions must be set on request.")
	}
	if r.VisibilityQuery != "" && n > 0 {
		return serviceerror.NewInvalidArgument("VisibilityQuery and Executions are mutually exclusive: set one of them.")
	}
	if len(r.Executions) > 0 && len(r.TargetExecutions) > 0 { //nolint:staticcheck
		return serviceerror.NewInvalidArgument("Executions and TargetExecutions are mutually exclusive: set one of them.")
	}
	if n > b.opts.MaxExecutions {
		return serviceerror.NewInvalidArgumentf("Executions has %d entries; the limit is %d.", n, b.opts.MaxExecutions)
	}
	for i, ex := range executions(r) {
		if ex.GetBusinessId() == "" {
			return serviceerror.NewInvalidArgumentf("Executions[%d]: WorkflowId is not set.", i)
		}
		if t := ex.GetType(); t != enumspb.EXECUTION_TYPE_UNSPECIFIED && t != enumspb.EXECUTION_TYPE_WORKFLOW {
			return serviceerror.NewInvalidArgumentf("TargetExecutions[%d]: only workflow executions can be the target of a batch operation here, not %s.", i, t)
		}
	}
	if r.MaxOperationsPerSecond < 0 || math.IsNaN(float64(r.MaxOperationsPerSecond)) {
		return serviceerror.NewInvalidArgument("MaxOperationsPerSecond must be a number >= 0 (0: the server's limit).")
	}
	switch op := r.Operation.(type) {
	case nil:
		return serviceerror.NewInvalidArgument("Batch operation is not set on request.")
	case *workflowservice.StartBatchOperationRequest_TerminationOperation,
		*workflowservice.StartBatchOperationRequest_CancellationOperation,
		*workflowservice.StartBatchOperationRequest_DeletionOperation:
		return nil
	case *workflowservice.StartBatchOperationRequest_SignalOperation:
		if op.SignalOperation.GetSignal() == "" {
			return serviceerror.NewInvalidArgument("SignalOperation.Signal (the signal name) is not set on request.")
		}
		return nil
	case *workflowservice.StartBatchOperationRequest_ResetOperation:
		return validateReset(op.ResetOperation, b.opts.PostResetOptions)
	}
	if handled, err := b.validateOptionOp(r); handled {
		if err == nil && b.opts.Service == nil {
			err = errNoService
		}
		return err
	}
	return serviceerror.NewInvalidArgumentf("The operation type %T is not supported", r.Operation)
}

// Start starts a job. The job's record is durable before it returns.
func (b *Batcher) Start(ctx context.Context, r *workflowservice.StartBatchOperationRequest) error {
	if err := b.validate(r); err != nil {
		return err
	}
	fence, err := b.fenceFor(r.Namespace, r.JobId)
	if err != nil {
		return err
	}
	// On a cluster the namespace's other jobs may run on other nodes: the
	// limit counts them in the store.
	var stored []*job
	if b.cl != nil {
		if stored, err = b.storedJobs(ctx, r.Namespace); err != nil {
			return err
		}
	}
	var total int64
	if r.VisibilityQuery != "" {
		q, err := b.compile(ctx, r)
		if err != nil {
			return err
		}
		if total, err = b.count(ctx, r.Namespace, q); err != nil {
			return err
		}
	} else {
		total = int64(len(executions(r)))
	}
	enc, err := proto.Marshal(r)
	if err != nil {
		return err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return serviceerror.NewUnavailable("server is shutting down")
	}
	k := key{r.Namespace, r.JobId}
	if _, ok := b.jobs[k]; ok {
		return serviceerror.NewWorkflowExecutionAlreadyStarted("Batch operation with job id "+r.JobId+" already exists.", "", "")
	}
	running := 0
	if b.cl != nil {
		for _, j := range stored {
			if j.key != k && j.running() {
				running++
			}
		}
	} else {
		for jk, j := range b.jobs {
			if jk.ns == k.ns {
				j.mu.Lock()
				if j.running() {
					running++
				}
				j.mu.Unlock()
			}
		}
	}
	if running >= b.opts.MaxConcurrentPerNamespace {
		return &serviceerror.ResourceExhausted{
			Cause:   enumspb.RESOURCE_EXHAUSTED_CAUSE_CONCURRENT_LIMIT,
			Scope:   enumspb.RESOURCE_EXHAUSTED_SCOPE_NAMESPACE,
			Message: "Max concurrent batch operations is reached",
		}
	}
	j := newJob(k, r, &jobState{
		Request: enc, State: int32(enumspb.BATCH_OPERATION_STATE_RUNNING),
		StartTime: b.eng.Now().UTC(), Total: total,
	})
	j.fence = fence
	j.mu.Lock()
	err = b.save(j)
	j.mu.Unlock()
	if err != nil {
		b.lostShard(err)
		return serviceerror.NewUnavailable("writing batch job: " + err.Error())
	}
	b.jobs[k] = j
	b.launch(j)
	return nil
}

func (b *Batcher) get(ns, id string) (*job, error) {
	b.mu.Lock()
	j := b.jobs[key{ns, id}]
	b.mu.Unlock()
	if j == nil {
		// On a cluster, a job not in memory is not found only if this
		// node serves its shard (the shard may have moved after the
		// request was forwarded: then the client retries).
		if _, err := b.fenceFor(ns, id); err != nil {
			return nil, err
		}
		return nil, serviceerror.NewNotFoundf("Batch operation %q not found.", id)
	}
	return j, nil
}

// Stop ends a running job: it is recorded as failed (Temporal terminates
// the job's workflow), and no execution is handled after Stop returns.
// Stopping a job that has already ended is NotFound, as terminating a
// closed workflow is.
func (b *Batcher) Stop(ctx context.Context, r *workflowservice.StopBatchOperationRequest) error {
	if r.JobId == "" {
		return serviceerror.NewInvalidArgument("JobId is not set on request.")
	}
	if r.Reason == "" {
		return serviceerror.NewInvalidArgument("Reason is not set on request.")
	}
	j, err := b.get(r.Namespace, r.JobId)
	if err != nil {
		return err
	}
	j.mu.Lock()
	if !j.running() {
		j.mu.Unlock()
		return serviceerror.NewNotFound("batch operation already completed")
	}
	prev := *j.st
	j.st.State = int32(enumspb.BATCH_OPERATION_STATE_FAILED)
	j.st.CloseTime = b.eng.Now().UTC()
	j.st.Error = "stopped: " + r.Reason
	if r.Identity != "" {
		j.st.Error += " (by " + r.Identity + ")"
	}
	if err := b.save(j); err != nil {
		*j.st = prev
		j.mu.Unlock()
		b.lostShard(err)
		return serviceerror.NewUnavailable("writing batch job: " + err.Error())
	}
	close(j.stop)
	j.mu.Unlock()
	// Wait for an action in flight, so that nothing changes after Stop
	// returns.
	select {
	case <-j.done:
	case <-ctx.Done():
	}
	return nil
}

// Describe reports a job's state and progress.
func (b *Batcher) Describe(ctx context.Context, ns, id string) (*workflowservice.DescribeBatchOperationResponse, error) {
	j, err := b.get(ns, id)
	if err != nil {
		return nil, err
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	resp := &workflowservice.DescribeBatchOperationResponse{
		OperationType:          j.kind,
		JobId:                  id,
		State:                  enumspb.BatchOperationState(j.st.State),
		StartTime:              timestamppb.New(j.st.StartTime),
		TotalOperationCount:    j.st.Total,
		CompleteOperationCount: j.st.Complete,
		FailureOperationCount:  j.st.Failure,
		Identity:               identity(j.req),
		Reason:                 j.req.Reason,
		Query:                  j.req.VisibilityQuery,
	}
	if j.req.VisibilityQuery == "" {
		resp.Executions = executions(j.req)
	}
	if !j.st.CloseTime.IsZero() {
		resp.CloseTime = timestamppb.New(j.st.CloseTime)
	}
	return resp, nil
}

// List returns a page of a namespace's jobs in Temporal's visibility
// order: running ones first, newest start first; then the others, newest
// close first. The page token is an offset. On a cluster the jobs are
// read from the store (this node holds only its own shards' jobs).
func (b *Batcher) List(ctx context.Context, r *workflowservice.ListBatchOperationsRequest) (*workflowservice.ListBatchOperationsResponse, error) {
	off := 0
	if len(r.NextPageToken) > 0 {
		v, n := protowire.ConsumeVarint(r.NextPageToken)
		if n != len(r.NextPageToken) {
			return nil, serviceerror.NewInvalidArgument("Invalid NextPageToken.")
		}
		off = int(min(v, 1<<40))
	}
	size := int(r.PageSize)
	if size <= 0 || size > 1000 {
		size = 1000
	}
	var jobs []*job
	if b.cl != nil {
		var err error
		if jobs, err = b.storedJobs(ctx, r.Namespace); err != nil {
			return nil, err
		}
	} else {
		b.mu.Lock()
		for k, j := range b.jobs {
			if k.ns == r.Namespace {
				jobs = append(jobs, j)
			}
		}
		b.mu.Unlock()
	}
	var infos []*batchpb.BatchOperationInfo
	for _, j := range jobs {
		k := j.key
		j.mu.Lock()
		info := &batchpb.BatchOperationInfo{JobId: k.id, State: enumspb.BatchOperationState(j.st.State), StartTime: timestamppb.New(j.st.StartTime), OperationType: j.kind}
		if !j.st.CloseTime.IsZero() {
			info.CloseTime = timestamppb.New(j.st.CloseTime)
		}
		j.mu.Unlock()
		infos = append(infos, info)
	}
	sort.Slice(infos, func(a, c int) bool {
		x, y := infos[a], infos[c]
		xr, yr := x.State == enumspb.BATCH_OPERATION_STATE_RUNNING, y.State == enumspb.BATCH_OPERATION_STATE_RUNNING
		if xr != yr {
			return xr
		}
		if !xr && !x.CloseTime.AsTime().Equal(y.CloseTime.AsTime()) {
			return x.CloseTime.AsTime().After(y.CloseTime.AsTime())
		}
		if !x.StartTime.AsTime().Equal(y.StartTime.AsTime()) {
			return x.StartTime.AsTime().After(y.StartTime.AsTime())
		}
		return x.JobId < y.JobId
	})
	off = min(off, len(infos))
	end := off + size
	resp := &workflowservice.ListBatchOperationsResponse{}
	if end < len(infos) {
		resp.NextPageToken = protowire.AppendVarint(nil, uint64(end))
	} else {
		end = len(infos)
	}
	resp.OperationInfo = infos[off:end]
	return resp, nil
}

// errStopped ends a job's goroutine without recording anything.
var errStopped = errors.New("batch job stopped")

// errNotHeld ends the goroutine of a job whose shard this node no longer
// holds, without recording anything (cluster.go).
var errNotHeld = errors.New("batch job's shard moved to another node")
