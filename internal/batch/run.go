package batch

import (
	"context"
	"errors"
	"fmt"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"golang.org/x/time/rate"

	"github.com/google/uuid"

	"github.com/sundial-io/sundial/internal/store"
	"github.com/sundial-io/sundial/internal/visibility"
)

// compile parses a job's query as Temporal's batcher runs it: terminate,
// cancel, signal and the option and activity operations only ever apply
// to open workflows, so their query is narrowed to running or paused
// ones (and see optionQuery); delete and reset take the query as given.
func (b *Batcher) compile(ctx context.Context, r *workflowservice.StartBatchOperationRequest) (*visibility.Query, error) {
	query := r.VisibilityQuery
	switch r.Operation.(type) {
	case *workflowservice.StartBatchOperationRequest_TerminationOperation,
		*workflowservice.StartBatchOperationRequest_CancellationOperation,
		*workflowservice.StartBatchOperationRequest_SignalOperation,
		*workflowservice.StartBatchOperationRequest_UpdateWorkflowOptionsOperation,
		*workflowservice.StartBatchOperationRequest_UnpauseActivitiesOperation,
		*workflowservice.StartBatchOperationRequest_ResetActivitiesOperation,
		*workflowservice.StartBatchOperationRequest_UpdateActivityOptionsOperation:
		query = optionQuery(r, "("+query+") AND (ExecutionStatus='Running' OR ExecutionStatus='Paused')")
	}
	custom, err := b.eng.SearchAttributes(ctx, r.Namespace)
	if err != nil {
		return nil, err
	}
	q, err := visibility.Parse(query, custom)
	if err != nil {
		return nil, serviceerror.NewInvalidArgumentf("Invalid VisibilityQuery: %v", err)
	}
	if len(q.OrderBy()) > 0 || q.GroupBy() != "" {
		return nil, serviceerror.NewInvalidArgument("Invalid VisibilityQuery: ORDER BY and GROUP BY are not allowed in a batch operation's query.")
	}
	return q, nil
}

// listOptions narrows the index scan to what q can match; ok is false
// when nothing can.
func listOptions(q *visibility.Query) (opts store.ListOptions, ok bool) {
	open, closed := q.Partitions()
	return store.ListOptions{OpenOnly: open && !closed, ClosedOnly: closed && !open, Fields: q.Fields(), Match: q.Match}, open || closed
}

// count is the job's total when it starts (Temporal's estimate: the
// matching workflows at that moment).
func (b *Batcher) count(ctx context.Context, ns string, q *visibility.Query) (int64, error) {
	opts, ok := listOptions(q)
	if !ok {
		return 0, nil
	}
	var n int64
	err := b.eng.ListVisibility(ctx, ns, opts, func([]byte, *workflowpb.WorkflowExecutionInfo) error {
		n++
		return nil
	})
	return n, err
}

// target is one execution a job will handle, with what to record once it
// has: the index cursor (query jobs) or the list position.
type target struct {
	ex     *commonpb.WorkflowExecution
	cursor []byte
	next   int
}

// pageSize is how many targets a job reads ahead.
const pageSize = 100

// page returns the next targets of a job after its recorded progress.
func (b *Batcher) page(ctx context.Context, j *job, q *visibility.Query) ([]target, error) {
	j.mu.Lock()
	cursor, next := j.st.Cursor, j.st.Next
	j.mu.Unlock()
	if q == nil {
		list := executions(j.req)
		var out []target
		for i := next; i < len(list) && len(out) < pageSize; i++ {
			out = append(out, target{ex: &commonpb.WorkflowExecution{WorkflowId: list[i].GetBusinessId(), RunId: list[i].GetRunId()}, next: i + 1})
		}
		return out, nil
	}
	opts, ok := listOptions(q)
	if !ok {
		return nil, nil
	}
	opts.After = cursor
	var out []target
	err := b.eng.ListVisibility(ctx, j.key.ns, opts, func(c []byte, info *workflowpb.WorkflowExecutionInfo) error {
		out = append(out, target{ex: info.GetExecution(), cursor: append([]byte(nil), c...)})
		if len(out) == pageSize {
			return store.ErrStop
		}
		return nil
	})
	return out, err
}

// launch starts the job's goroutine.
func (b *Batcher) launch(j *job) {
	ctx, cancel := context.WithCancel(b.ctx)
	j.mu.Lock()
	j.cancel = cancel
	j.mu.Unlock()
	b.wg.Add(1)
	go func() {
		select {
		case <-j.stop:
		case <-ctx.Done():
		}
		cancel()
	}()
	go func() {
		defer b.wg.Done()
		defer close(j.done)
		defer cancel()
		err := b.run(ctx, j)
		if err != nil && ctx.Err() == nil && !errors.Is(err, errNotHeld) && !b.lostShard(err) {
			b.finish(j, err)
		}
	}()
}

// rate is the job's operations per second: its request's, bounded by the
// server's.
func (b *Batcher) rate(j *job) float64 {
	r := float64(j.req.MaxOperationsPerSecond)
	if r <= 0 || r > b.opts.MaxOperationsPerSecond {
		r = b.opts.MaxOperationsPerSecond
	}
	return r
}

// run works through a job's targets until none are left (the job is
// then completed), the job is stopped or the server closes (both return
// with ctx done), or something fails the whole job (a query that no
// longer parses, a write that fails).
func (b *Batcher) run(ctx context.Context, j *job) error {
	var q *visibility.Query
	if j.req.VisibilityQuery != "" {
		var err error
		if q, err = b.compile(ctx, j.req); err != nil {
			return err
		}
	}
	limit := rate.NewLimiter(rate.Limit(b.rate(j)), 1)
	for {
		targets, err := b.page(ctx, j, q)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			// The store may recover (a full disk); try the page again.
			b.log.Warn("batch operation: listing targets failed; retrying", "namespace", j.key.ns, "job", j.key.id, "err", err)
			if !sleep(ctx, time.Second) {
				return ctx.Err()
			}
			continue
		}
		if len(targets) == 0 {
			return b.finish(j, nil)
		}
		for _, t := range targets {
			if err := limit.Wait(ctx); err != nil {
				return ctx.Err()
			}
			if !b.held(j) {
				return errNotHeld // the shard's new owner resumes the job
			}
			err := b.act(ctx, j, t)
			if ctx.Err() != nil {
				return ctx.Err() // stopped or closing: the action may or may not have happened; a resumed job repeats it
			}
			if err != nil {
				b.log.Info("batch operation: an execution failed", "namespace", j.key.ns, "job", j.key.id, "workflow_id", t.ex.GetWorkflowId(), "run_id", t.ex.GetRunId(), "err", err)
			}
			if err := b.progress(j, t, err == nil); err != nil {
				return err
			}
		}
	}
}

// progress records one handled target.
func (b *Batcher) progress(j *job, t target, ok bool) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if !j.running() {
		return errStopped
	}
	prev := *j.st
	if ok {
		j.st.Complete++
	} else {
		j.st.Failure++
	}
	if t.cursor != nil {
		j.st.Cursor = t.cursor
	} else {
		j.st.Next = t.next
	}
	if err := b.save(j); err != nil {
		*j.st = prev
		return fmt.Errorf("writing batch job progress: %w", err)
	}
	return nil
}

// finish closes a job: completed when cause is nil, failed otherwise. A
// job whose progress cannot be written stays running on disk and resumes
// at the next start.
func (b *Batcher) finish(j *job, cause error) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if !j.running() || errors.Is(cause, errStopped) {
		return nil
	}
	prev := *j.st
	j.st.CloseTime = b.eng.Now().UTC()
	if cause == nil {
		j.st.State = int32(enumspb.BATCH_OPERATION_STATE_COMPLETED)
		// As Temporal: once done, the total is what was handled (the
		// start's count was an estimate).
		j.st.Total = j.st.Complete + j.st.Failure
	} else {
		j.st.State = int32(enumspb.BATCH_OPERATION_STATE_FAILED)
		j.st.Error = cause.Error()
	}
	if err := b.save(j); err != nil {
		*j.st = prev
		if !b.lostShard(err) {
			b.log.Error("batch operation: writing its end failed; it resumes at the next start", "namespace", j.key.ns, "job", j.key.id, "err", err)
		}
		return nil
	}
	if cause != nil {
		b.log.Warn("batch operation failed", "namespace", j.key.ns, "job", j.key.id, "err", cause)
	}
	return nil
}

// requestID is the request id of the job's action on one execution: the
// same on every attempt, also after a restart, so the engine recognizes a
// repeat.
func requestID(j *job, ex *commonpb.WorkflowExecution) string {
	return uuid.NewSHA1(uuid.NameSpaceURL, []byte("sundial-batch\x00"+j.key.ns+"\x00"+j.key.id+"\x00"+ex.GetWorkflowId()+"\x00"+ex.GetRunId())).String()
}

// attempts bounds the tries of one execution on errors that may pass
// (Unavailable, ResourceExhausted): with the growing pause between them
// (maxRetryPause at most), about half a minute, longer than a cluster
// takes to move the shards of a node that died (a lease period).
const attempts = 20

// maxRetryPause bounds the pause between two tries.
const maxRetryPause = 2 * time.Second

// act applies the job's operation to one execution, retrying errors that
// may pass. NotFound counts as success, as in Temporal: the workflow has
// closed or gone, which is what terminate, cancel and delete want, and a
// repeated terminate or delete after a restart finds exactly that.
func (b *Batcher) act(ctx context.Context, j *job, t target) error {
	var err error
	for attempt := 1; ; attempt++ {
		err = b.apply(ctx, j, t.ex)
		var nf *serviceerror.NotFound
		if err == nil || errors.As(err, &nf) {
			return nil
		}
		if !retryable(err) || attempt >= attempts || ctx.Err() != nil {
			return err
		}
		if !sleep(ctx, min(time.Duration(attempt)*200*time.Millisecond, maxRetryPause)) {
			return ctx.Err()
		}
	}
}

func retryable(err error) bool {
	var un *serviceerror.Unavailable
	var re *serviceerror.ResourceExhausted
	var de *serviceerror.DeadlineExceeded
	return errors.As(err, &un) || errors.As(err, &re) || errors.As(err, &de)
}

// apply makes the engine call of the job's operation, here or, on a
// cluster, on the workflow's owner (onOwner).
func (b *Batcher) apply(ctx context.Context, j *job, ex *commonpb.WorkflowExecution) error {
	ns, reason, id := j.key.ns, j.req.Reason, ex.GetWorkflowId()
	switch op := j.req.Operation.(type) {
	case *workflowservice.StartBatchOperationRequest_TerminationOperation:
		r := &workflowservice.TerminateWorkflowExecutionRequest{
			Namespace: ns, WorkflowExecution: ex, Reason: reason, Identity: op.TerminationOperation.GetIdentity(),
		}
		_, err := b.onOwner(ctx, ns, id, methodTerminate, r, func() error { return b.eng.Terminate(ctx, r) })
		return err
	case *workflowservice.StartBatchOperationRequest_CancellationOperation:
		r := &workflowservice.RequestCancelWorkflowExecutionRequest{
			Namespace: ns, WorkflowExecution: ex, Reason: reason, Identity: op.CancellationOperation.GetIdentity(), RequestId: requestID(j, ex),
		}
		_, err := b.onOwner(ctx, ns, id, methodCancel, r, func() error { return b.eng.RequestCancel(ctx, r) })
		return err
	case *workflowservice.StartBatchOperationRequest_SignalOperation:
		s := op.SignalOperation
		r := &workflowservice.SignalWorkflowExecutionRequest{
			Namespace: ns, WorkflowExecution: ex, SignalName: s.GetSignal(), Input: s.GetInput(), Header: s.GetHeader(),
			Identity: s.GetIdentity(), RequestId: requestID(j, ex),
		}
		_, err := b.onOwner(ctx, ns, id, methodSignal, r, func() error { return b.eng.Signal(ctx, r) })
		return err
	case *workflowservice.StartBatchOperationRequest_DeletionOperation:
		r := &workflowservice.DeleteWorkflowExecutionRequest{Namespace: ns, WorkflowExecution: ex}
		_, err := b.onOwner(ctx, ns, id, methodDelete, r, func() error { return b.eng.DeleteWorkflow(ctx, ns, ex) })
		return err
	case *workflowservice.StartBatchOperationRequest_ResetOperation:
		return b.reset(ctx, j, ex, op.ResetOperation)
	}
	if handled, err := b.applyOptionOp(ctx, j, ex); handled {
		return err
	}
	return serviceerror.NewInvalidArgumentf("batch operation %s is not offered", operationName(j.req))
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
