package engine

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	enumspb "go.temporal.io/api/enums/v1"
	failurepb "go.temporal.io/api/failure/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"

	"github.com/sundial-io/sundial/internal/matching"
	"github.com/sundial-io/sundial/internal/nexusexec"
	"github.com/sundial-io/sundial/internal/store"
)

// standaloneNexusOps holds every standalone Nexus operation
// (StartNexusOperationExecution), open and closed, in memory, each stored
// as one keyed record (kind recordKindNexusOperation) that is written,
// and synced, before a change is acknowledged or its task dispatched. One
// mutex covers them all, as for standalone activities: changes are small
// and touch one operation. Each open operation has a timer for its next
// deadline (nexusexec.Operation.NextDeadline). Its start and cancel tasks
// go to the endpoint target's Nexus task queue through matching, marked
// Standalone (standalone_nexus_tasks.go).
type standaloneNexusOps struct {
	mu   sync.Mutex
	runs map[snKey][]*snRun // by namespace and operation id, oldest first
	// deletedSeq is the newest write that deleted operations: an answer
	// that one is not found waits until that write is durable.
	deletedSeq uint64
}

type snKey struct{ ns, id string }

type snRun struct {
	o     *nexusexec.Operation
	timer *time.Timer
	seq   uint64 // the write that made the state; reads wait until it is durable
	// changed is closed (and replaced) after every change and when the
	// operation is deleted, waking long polls.
	changed chan struct{}
}

func newSNRun(o *nexusexec.Operation) *snRun {
	return &snRun{o: o, changed: make(chan struct{})}
}

func (r *snRun) wake() {
	close(r.changed)
	r.changed = make(chan struct{})
}

// recordKindNexusOperation is the store.KeyedRecord kind of standalone
// Nexus operations.
const recordKindNexusOperation = "nexus-operation"

// nexusOpKey is an operation's record key: namespace, operation id and
// run id, each length-prefixed so no two triples share a key.
func nexusOpKey(ns, id, runID string) string {
	var b strings.Builder
	for _, s := range []string{ns, id, runID} {
		b.WriteString(strconv.Itoa(len(s)))
		b.WriteByte(':')
		b.WriteString(s)
	}
	return b.String()
}

// nexusOpNotFoundError is the NotFound of an operation id (or run) that
// does not exist, worded as Temporal words it.
func nexusOpNotFoundError(id string) error {
	return serviceerror.NewNotFoundf("operation not found for ID: %s", id)
}

// isNexusOpNotFound reports whether err says the operation does not exist.
func isNexusOpNotFound(err error) bool {
	var nf *serviceerror.NotFound
	return errors.As(err, &nf)
}

// loadNexusOperations reads every stored operation at startup, arms the
// timers of the open ones, queues their tasks again (which worker held a
// task is not stored) and checks, in the background, whether the handler
// workflow of a started one closed while its completion was undelivered.
func (e *Engine) loadNexusOperations() error {
	m := &e.nexusOps
	m.runs = map[snKey][]*snRun{}
	var open []*snRun
	err := e.store.Records(context.Background(), recordKindNexusOperation, func(r *store.KeyedRecord) error {
		o, err := nexusexec.Decode(r.State)
		if err != nil {
			return fmt.Errorf("decoding Nexus operation record %q: %w", r.Key, err)
		}
		run := newSNRun(o)
		k := snKey{o.Namespace, o.OperationID}
		m.runs[k] = append(m.runs[k], run)
		if o.Running() {
			o.Recover()
			open = append(open, run)
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, runs := range m.runs {
		slices.SortFunc(runs, func(a, b *snRun) int {
			if c := a.o.ScheduleTime.Compare(b.o.ScheduleTime); c != 0 {
				return c
			}
			return strings.Compare(a.o.RunID, b.o.RunID)
		})
	}
	var due []snDispatch
	var started []*nexusexec.Operation
	m.mu.Lock()
	for _, r := range open {
		e.armNexusOp(r)
		due = append(due, takeNexusDispatch(r.o))
		if r.o.Started {
			started = append(started, r.o)
		}
	}
	m.mu.Unlock()
	for _, d := range due {
		e.dispatchNexusOp(d)
	}
	if len(started) > 0 {
		e.wg.Add(1)
		go func() {
			defer e.wg.Done()
			for _, o := range started {
				e.checkStandaloneNexusHandler(o)
			}
		}()
	}
	if len(open) > 0 {
		e.log.Info("recovered open standalone Nexus operations", "count", len(open))
	}
	return nil
}

// findNexusOp returns the run of an operation id (runID "": the newest);
// the caller holds e.nexusOps.mu.
func (e *Engine) findNexusOp(ns, id, runID string) *snRun {
	runs := e.nexusOps.runs[snKey{ns, id}]
	if runID == "" {
		if len(runs) == 0 {
			return nil
		}
		return runs[len(runs)-1]
	}
	for _, r := range runs {
		if r.o.RunID == runID {
			return r
		}
	}
	return nil
}

// nexusOpNotFound unlocks e.nexusOps.mu and answers NotFound for id once
// a deletion it may rest on is durable.
func (e *Engine) nexusOpNotFound(id string) error {
	seq := e.nexusOps.deletedSeq
	e.nexusOps.mu.Unlock()
	if err := e.settle(nil, seq); err != nil {
		return err
	}
	return nexusOpNotFoundError(id)
}

// writeNexusOp hands the operation's record to the store (still under
// e.nexusOps.mu, so the order on disk is the order of changes) and wakes
// long polls; the caller waits for the commit after unlocking.
func (e *Engine) writeNexusOp(r *snRun) (store.Commit, uint64, error) {
	data, err := r.o.Encode()
	if err != nil {
		return nil, 0, err
	}
	c, seq, err := e.apply(&store.Batch{Records: []*store.KeyedRecord{{
		Kind: recordKindNexusOperation, Key: nexusOpKey(r.o.Namespace, r.o.OperationID, r.o.RunID), State: data,
	}}})
	if err != nil {
		return nil, 0, err
	}
	r.seq = seq
	r.wake()
	return c, seq, nil
}

// mutateNexusOp is the write path of one operation: fn changes it under
// the lock and says whether there is something to write; the write is
// durable before mutateNexusOp returns, and only then are the tasks that
// came due dispatched.
func (e *Engine) mutateNexusOp(ns, id, runID string, fn func(o *nexusexec.Operation) (bool, error)) error {
	if err := e.writable(); err != nil {
		return err
	}
	m := &e.nexusOps
	m.mu.Lock()
	r := e.findNexusOp(ns, id, runID)
	if r == nil {
		return e.nexusOpNotFound(id)
	}
	write, ferr := fn(r.o)
	var c store.Commit
	if write {
		var err error
		if c, _, err = e.writeNexusOp(r); err != nil {
			m.mu.Unlock()
			return err
		}
	}
	seq := r.seq
	e.armNexusOp(r)
	due := takeNexusDispatch(r.o)
	m.mu.Unlock()
	if err := e.settle(c, seq); err != nil {
		return err
	}
	e.dispatchNexusOp(due)
	return ferr
}

// nexusOpChanged runs a state change and reports whether it counted a
// transition (then the operation must be written).
func nexusOpChanged(o *nexusexec.Operation, fn func() error) (bool, error) {
	before := o.Transitions
	err := fn()
	return err == nil && o.Transitions != before, err
}

// snDispatch is an operation's tasks taken under e.nexusOps.mu, handed to
// matching once the state that made them is durable.
type snDispatch struct {
	ns, id, runID, endpointID string
	tasks                     []nexusexec.Task
}

func takeNexusDispatch(o *nexusexec.Operation) snDispatch {
	return snDispatch{ns: o.Namespace, id: o.OperationID, runID: o.RunID, endpointID: o.EndpointID, tasks: o.TakeDispatch()}
}

// dispatchNexusOp hands the tasks to the Nexus queue of the endpoint's
// current target; when the endpoint is gone the start fails (and a cancel
// request fails) as Temporal fails them: endpoint not registered.
func (e *Engine) dispatchNexusOp(d snDispatch) {
	if len(d.tasks) == 0 {
		return
	}
	tns, queue, ok := e.nexusTarget(d.endpointID)
	for _, t := range d.tasks {
		if !ok {
			t := t
			e.wg.Add(1)
			go func() {
				defer e.wg.Done()
				e.nexusOpEndpointGone(d, t)
			}()
			continue
		}
		e.match.Add(matching.Key{Namespace: tns, Name: queue, Kind: matching.Nexus}, matching.Task{
			Namespace: d.ns, WorkflowID: d.id, RunID: d.runID, Attempt: t.Attempt, NexusCancel: t.Cancel, Standalone: true,
		})
	}
}

func (e *Engine) nexusOpEndpointGone(d snDispatch, t nexusexec.Task) {
	err := e.mutateNexusOp(d.ns, d.id, d.runID, func(o *nexusexec.Operation) (bool, error) {
		if t.Cancel {
			if err := o.StartCancelTask(e.now(), t.Attempt); err != nil {
				return false, nil
			}
			return nexusOpChanged(o, func() error {
				return o.CancelFailed(e.now(), t.Attempt, &failurepb.Failure{
					Message: "endpoint not registered",
					FailureInfo: &failurepb.Failure_NexusHandlerFailureInfo{NexusHandlerFailureInfo: &failurepb.NexusHandlerFailureInfo{
						Type: "NOT_FOUND", RetryBehavior: enumspb.NEXUS_HANDLER_ERROR_RETRY_BEHAVIOR_NON_RETRYABLE,
					}},
				}, false)
			})
		}
		if err := o.EndpointGone(e.now(), t.Attempt); err != nil {
			return false, nil // already answered or retried
		}
		return true, nil
	})
	if err != nil && !isNexusOpNotFound(err) {
		e.log.Warn("failing a standalone Nexus operation whose endpoint is gone", "operation", d.id, "run", d.runID, "error", err)
	}
}

// armNexusOp sets the operation's timer to its next deadline; the caller
// holds e.nexusOps.mu.
func (e *Engine) armNexusOp(r *snRun) {
	if r.timer != nil {
		r.timer.Stop()
		r.timer = nil
	}
	d := r.o.NextDeadline()
	if d.IsZero() {
		return
	}
	ns, id, run := r.o.Namespace, r.o.OperationID, r.o.RunID
	r.timer = time.AfterFunc(max(0, d.Sub(e.now())), func() { e.tickNexusOp(ns, id, run) })
}

// tickNexusOp fires the deadlines of one operation that came due.
func (e *Engine) tickNexusOp(ns, id, runID string) {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return
	}
	e.wg.Add(1)
	e.mu.Unlock()
	defer e.wg.Done()
	err := e.mutateNexusOp(ns, id, runID, func(o *nexusexec.Operation) (bool, error) {
		return o.Tick(e.now()), nil
	})
	if err != nil && !isNexusOpNotFound(err) {
		// The store refused (a full disk): try again shortly.
		e.log.Warn("standalone Nexus operation timer", "operation", id, "run", runID, "err", err)
		time.AfterFunc(time.Second, func() { e.tickNexusOp(ns, id, runID) })
	}
}

// StartNexusOperationExecution starts a standalone Nexus operation; req
// must be validated and normalized (nexusexec.Normalize) and carry a
// request id. The endpoint is looked up by name now (NotFound if it does
// not exist, as in Temporal); its tasks go to its target at dispatch.
func (e *Engine) StartNexusOperationExecution(ctx context.Context, req *workflowservice.StartNexusOperationExecutionRequest) (*workflowservice.StartNexusOperationExecutionResponse, error) {
	if err := e.writable(); err != nil {
		return nil, err
	}
	endpointID, ok := e.NexusEndpointIDs([]string{req.Endpoint})[req.Endpoint]
	if !ok {
		return nil, serviceerror.NewNotFoundf("could not find Nexus endpoint by name: %s", req.Endpoint)
	}
	m := &e.nexusOps
	ns := req.Namespace
	k := snKey{ns, req.OperationId}
	m.mu.Lock()
	var curRun *snRun
	for _, r := range m.runs[k] {
		if r.o.HasStartRequest(req.RequestId) {
			curRun = r // a retried start: the operation it made
			break
		}
	}
	if curRun == nil {
		curRun = e.findNexusOp(ns, req.OperationId, "")
	}
	var cur *nexusexec.Operation
	if curRun != nil {
		cur = curRun.o
	}
	choice, err := nexusexec.ResolveStart(cur, req)
	if err != nil {
		m.mu.Unlock()
		return nil, err
	}
	if choice != nexusexec.StartNew {
		var c store.Commit
		if choice == nexusexec.UseExisting && cur.AttachOnConflict(req) {
			if c, _, err = e.writeNexusOp(curRun); err != nil {
				m.mu.Unlock()
				return nil, err
			}
		}
		seq := curRun.seq
		resp := &workflowservice.StartNexusOperationExecutionResponse{RunId: cur.RunID}
		m.mu.Unlock()
		if err := e.settle(c, seq); err != nil {
			return nil, err
		}
		return resp, nil
	}
	r := newSNRun(nexusexec.New(ns, newRunID(), endpointID, uuid.NewString(), req, e.now()))
	c, seq, err := e.writeNexusOp(r)
	if err != nil {
		m.mu.Unlock()
		return nil, err
	}
	m.runs[k] = append(m.runs[k], r)
	e.armNexusOp(r)
	due := takeNexusDispatch(r.o)
	resp := &workflowservice.StartNexusOperationExecutionResponse{RunId: r.o.RunID, Started: true}
	m.mu.Unlock()
	if err := e.settle(c, seq); err != nil {
		return nil, err
	}
	e.dispatchNexusOp(due)
	return resp, nil
}
