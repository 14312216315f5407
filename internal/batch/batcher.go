// Package batch runs Temporal's batch operations (StartBatchOperation and
// the other batch RPCs): terminate, cancel, signal, delete, reset, update
// the options of, or unpause, reset or update the options of the
// activities of, every workflow a visibility query matches, or each of a
// list of executions.
//
// Temporal runs each job as a system workflow; here a job is a record in
// the store (its request and progress) and a goroutine that works through
// its targets at a bounded rate. Progress is written after each execution
// handled (counts and a cursor: the visibility index cursor of a query
// job, the list position of the others), so a job survives a restart and
// resumes where it was. Each action is idempotent (a signal carries a
// request id derived from the job and the execution, a reset too; a second
// terminate, cancel or delete finds the work done and counts as success,
// as Temporal counts NotFound), so the one execution that may have been
// handled but not recorded before a crash is not changed twice.
package batch

import (
	"context"
	"fmt"
	"log/slog"
	"sync"

	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"

	"github.com/sundial-io/sundial/internal/cluster"
	"github.com/sundial-io/sundial/internal/engine"
	"github.com/sundial-io/sundial/internal/execution"
	"github.com/sundial-io/sundial/internal/store"
)

// Options tune the batcher; zero values take Temporal's defaults.
type Options struct {
	// MaxConcurrentPerNamespace is how many jobs may run at once in one
	// namespace (Temporal's frontend.MaxConcurrentBatchOperationPerNamespace,
	// default 1).
	MaxConcurrentPerNamespace int
	// MaxOperationsPerSecond is the rate of one job when its request asks
	// for none or for more (Temporal's worker.batcherRPS, default 50).
	MaxOperationsPerSecond float64
	// MaxExecutions bounds the list of executions one job may name
	// (Temporal's frontend.MaxExecutionCountBatchOperationPerNamespace,
	// default 1000).
	MaxExecutions int
	// PostResetOptions checks a reset's post-reset operations and turns
	// them into option changes (the frontend's, for ResetWorkflowExecution
	// too); nil: batch resets with post-reset operations are refused.
	PostResetOptions func([]*workflowpb.PostResetOperation) ([]execution.OptionsMerge, error)
	// Service answers the single RPCs the option and activity operations
	// make for each workflow (options_ops.go); nil: those operations are
	// refused.
	Service Service
	// CheckWorkflowOptions checks an update-options job's mask and options
	// at its start as UpdateWorkflowExecutionOptions checks them (nil: each
	// workflow's update checks them).
	CheckWorkflowOptions CheckWorkflowOptions
}

func (o Options) withDefaults() Options {
	if o.MaxConcurrentPerNamespace <= 0 {
		o.MaxConcurrentPerNamespace = 1
	}
	if o.MaxOperationsPerSecond <= 0 {
		o.MaxOperationsPerSecond = 50
	}
	if o.MaxExecutions <= 0 {
		o.MaxExecutions = 1000
	}
	return o
}

// Batcher owns every batch job of the server.
type Batcher struct {
	eng  *engine.Engine
	st   store.Store
	log  *slog.Logger
	opts Options

	mu     sync.Mutex
	jobs   map[key]*job
	closed bool

	ctx    context.Context // canceled by Close
	cancel context.CancelFunc
	wg     sync.WaitGroup

	// On a cluster (cluster.go): the node, the forwarder to other nodes,
	// the shards whose jobs are loaded (at which epoch), and the signal to
	// reconcile them. Nil outside a cluster.
	cl     Cluster
	fwd    Forwarder
	loaded map[int]int64
	recon  *cluster.Reconciler
}

// New loads every stored job and resumes the ones still running. Call it
// after the engine has recovered its runs.
func New(eng *engine.Engine, st store.Store, log *slog.Logger, opts Options) (*Batcher, error) {
	b := newBatcher(eng, st, log, opts)
	var resume []*job
	err := st.BatchJobs(b.ctx, "", func(r *store.BatchJobRecord) error {
		state, req, err := unmarshalState(r.State)
		if err != nil {
			return fmt.Errorf("batch job %s/%s: %w", r.Namespace, r.JobID, err)
		}
		j := newJob(key{r.Namespace, r.JobID}, req, state)
		b.jobs[j.key] = j
		if j.running() {
			resume = append(resume, j)
		} else {
			close(j.done)
		}
		return nil
	})
	if err != nil {
		b.cancel()
		return nil, fmt.Errorf("loading batch jobs: %w", err)
	}
	for _, j := range resume {
		b.launch(j)
	}
	b.startRetention()
	if len(resume) > 0 {
		b.log.Info("resumed batch operations", "count", len(resume))
	}
	return b, nil
}

func newBatcher(eng *engine.Engine, st store.Store, log *slog.Logger, opts Options) *Batcher {
	if log == nil {
		log = slog.Default()
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Batcher{eng: eng, st: st, log: log, opts: opts.withDefaults(), jobs: map[key]*job{}, ctx: ctx, cancel: cancel}
}

func newJob(k key, req *workflowservice.StartBatchOperationRequest, st *jobState) *job {
	return &job{key: k, req: req, kind: operationType(req), st: st, stop: make(chan struct{}), done: make(chan struct{})}
}

// Close stops every job's goroutine (their progress is on disk; they
// resume at the next start). Call it before closing the engine.
func (b *Batcher) Close() {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return
	}
	b.closed = true
	b.mu.Unlock()
	b.cancel()
	b.wg.Wait()
}

// save writes the job's state and waits until it is durable, under the
// job's fence on a cluster. Called with j.mu held.
func (b *Batcher) save(j *job) error {
	rec, err := j.record()
	if err != nil {
		return fmt.Errorf("encoding batch job: %w", err)
	}
	c, err := b.st.Apply(&store.Batch{Fence: j.fence, BatchJobs: []*store.BatchJobRecord{rec}})
	if err != nil {
		return err
	}
	return c.Wait()
}
