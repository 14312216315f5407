package torture

import (
	"context"
	"fmt"
	"math/rand"
	"time"

	batchpb "go.temporal.io/api/batch/v1"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Batch operations in the torture: each job starts its own set of
// WaiterWorkflows, the even jobs a signal ("poke" with the job id) over
// the list of their executions, the odd ones a terminate over a visibility
// query matching their ids. The job is
// started with a fixed job id (retried: AlreadyExists after a failed
// attempt is an acknowledgement) and waited for across kills. Verified: the
// job is COMPLETED with every execution counted complete and none failed;
// each workflow of a signal job got the job's signal exactly once (then it
// is finished and returns its poke count, 1); each of a terminate job is
// TERMINATED.

type batchState struct {
	job       string
	terminate bool
	ids       []string // the workflows whose start was acknowledged
	size      int      // the workflows whose start was tried (a query job may find an unacknowledged one)
	acked     bool
	finished  bool // the driver saw the job leave RUNNING
	overKill  bool // a kill came between the acknowledged start and the end
	kills     int  // kills between the start call and the end
}

func (x *control) driveBatch(j, size int, rng *rand.Rand) {
	s := &batchState{job: fmt.Sprintf("torture-batch-%d-%d", x.seed, j), terminate: j%2 == 1, size: size}
	x.batches[j] = s
	for i := range size {
		id := fmt.Sprintf("%s-wf%d", s.job, i)
		if x.startWaiter(rng, id) {
			s.ids = append(s.ids, id)
		}
	}
	if len(s.ids) == 0 {
		return
	}
	execs := make([]*commonpb.WorkflowExecution, len(s.ids))
	for i, id := range s.ids {
		execs[i] = execOf(id)
	}
	// A rate limit stretches the job over a few seconds, so that kills
	// fall inside it.
	req := &workflowservice.StartBatchOperationRequest{Namespace: "default", JobId: s.job, Reason: "torture", MaxOperationsPerSecond: 3}
	if s.terminate {
		req.VisibilityQuery = fmt.Sprintf("WorkflowId STARTS_WITH '%s-wf'", s.job)
		req.Operation = &workflowservice.StartBatchOperationRequest_TerminationOperation{TerminationOperation: &batchpb.BatchOperationTermination{Identity: "torture"}}
	} else {
		req.Executions = execs
		in, err := converter.GetDefaultDataConverter().ToPayloads(s.job)
		if err != nil {
			panic(err)
		}
		req.Operation = &workflowservice.StartBatchOperationRequest_SignalOperation{SignalOperation: &batchpb.BatchOperationSignal{Signal: pokeSignal, Input: in, Identity: "torture"}}
	}
	k := x.kills() // an unacknowledged first attempt may have started the job
	err := x.call(rng, 60*time.Second, func(ctx context.Context, c client.Client, attempt int) (bool, error) {
		_, err := c.WorkflowService().StartBatchOperation(ctx, req)
		return err == nil || (attempt > 0 && status.Code(err) == codes.AlreadyExists), err
	})
	if err != nil {
		x.logf("torture: batch %s: start never acknowledged: %v", s.job, err)
	} else {
		s.acked = true
	}
	// Wait for the job to finish, through the kills.
	err = x.call(rng, 3*time.Minute, func(ctx context.Context, c client.Client, _ int) (bool, error) {
		d, err := c.WorkflowService().DescribeBatchOperation(ctx, &workflowservice.DescribeBatchOperationRequest{Namespace: "default", JobId: s.job})
		if err == nil && d.State == enumspb.BATCH_OPERATION_STATE_RUNNING {
			time.Sleep(200 * time.Millisecond)
			return false, fmt.Errorf("still running: %d of %d done", d.CompleteOperationCount+d.FailureOperationCount, d.TotalOperationCount)
		}
		return err == nil, err
	})
	if err != nil {
		x.logf("torture: batch %s: never finished: %v", s.job, err)
		return
	}
	s.finished = true
	s.overKill = s.acked && x.kills() > k
	s.kills = int(x.kills() - k)
	if !s.terminate {
		for _, id := range s.ids {
			if err := x.signal(rng, id, finishSignal, nil); err != nil {
				x.logf("torture: %s: finish: %v", id, err)
			}
		}
	}
}

func (x *control) verifyBatch(v *verifier, s *batchState) {
	f := &x.t.rep.Batch
	if len(s.ids) == 0 {
		return
	}
	if !s.acked {
		x.t.inc(&f.Unknown, len(s.ids))
	} else {
		x.t.inc(&f.Acked, len(s.ids))
	}
	if s.overKill {
		x.t.inc(&f.OverKill, len(s.ids))
	}
	var d *workflowservice.DescribeBatchOperationResponse
	err := retry(v.ctx, func(ctx context.Context) (bool, error) {
		var err error
		d, err = v.c.WorkflowService().DescribeBatchOperation(ctx, &workflowservice.DescribeBatchOperationRequest{Namespace: "default", JobId: s.job})
		return err == nil, err
	})
	if err != nil {
		if s.acked {
			x.lost(f, "batch %s: acknowledged job not described: %v", s.job, err)
		}
		return
	}
	// A list job counts exactly the acknowledged workflows. A terminate
	// job over a query may count fewer: a job resumed after a kill re-runs
	// its query, narrowed to open runs as Temporal's batcher does, so the
	// workflow it terminated but had not yet recorded no longer matches and
	// is never counted (what internal/batch TestRepeatedActionsAreIdempotent
	// asserts for a rewound terminate job). The job records each execution
	// as it goes, so on one server that is at most one a kill during the
	// job. On a cluster a job also moves when its shard does, which may
	// lag a kill (the restarted node takes shards back later), so the
	// shortfall is only reported. Every workflow must still be terminated
	// exactly once (below).
	n := int64(len(s.ids))
	low, high := n, n
	if s.terminate {
		low, high = max(0, n-int64(s.kills)), int64(s.size)
		if len(x.cs) > 1 {
			low = 0
		}
	}
	if d.State != enumspb.BATCH_OPERATION_STATE_COMPLETED || d.TotalOperationCount < low || d.TotalOperationCount > high ||
		d.CompleteOperationCount != d.TotalOperationCount || d.FailureOperationCount != 0 {
		x.lost(f, "batch %s: %v with %d of %d complete, %d failed; want COMPLETED with %d..%d for %d acknowledged workflows (kills during the job: %d)",
			s.job, d.State, d.CompleteOperationCount, d.TotalOperationCount, d.FailureOperationCount, low, high, n, s.kills)
	}
	if d.CompleteOperationCount < n {
		x.t.inc(&x.t.rep.BatchUncounted, int(n-d.CompleteOperationCount))
	}
	for _, id := range s.ids {
		if s.terminate {
			evs := x.closedHistory(v, f, id, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED)
			if evs != nil && countEvents(evs, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED) != 1 {
				x.dup(f, "%s: %d terminated events", id, countEvents(evs, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED))
			}
			continue
		}
		evs := x.closedHistory(v, f, id, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED)
		if evs == nil {
			continue
		}
		p := pokes(evs)
		switch got := p[s.job]; {
		case got > 1:
			x.dup(f, "%s: batch %s signal applied %d times", id, s.job, got)
		case got == 0 && s.acked:
			x.lost(f, "%s: batch %s signal not applied", id, s.job)
		}
		if len(p) > 1 || (len(p) == 1 && p[s.job] == 0) {
			x.wrong("%s: pokes %v, only the batch's was sent", id, p)
		}
	}
}
