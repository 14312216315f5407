package engine

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
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

// standaloneNexusOps are the standalone Nexus operations
// (StartNexusOperationExecution), each stored as one keyed record (kind
// recordKindNexusOperation; standalone_set.go). Each open operation has a
// timer for its next deadline (nexusexec.Operation.NextDeadline). Its
// start and cancel tasks go to the endpoint target's Nexus task queue
// through matching, marked Standalone (standalone_nexus_tasks.go).
type standaloneNexusOps = standaloneSet[*nexusexec.Operation]

var nexusOpKind = &standaloneKind[*nexusexec.Operation]{
	name:     "standalone Nexus operation",
	ident:    func(o *nexusexec.Operation) saKey { return saKey{o.Namespace, o.OperationID} },
	runID:    func(o *nexusexec.Operation) string { return o.RunID },
	schedule: func(o *nexusexec.Operation) time.Time { return o.ScheduleTime },
	closed:   func(o *nexusexec.Operation) time.Time { return o.CloseTime },
	notFound: nexusOpNotFoundError,
	put: func(b *store.Batch, o *nexusexec.Operation, data []byte) {
		b.Records = append(b.Records, &store.KeyedRecord{
			Kind: recordKindNexusOperation, Key: nexusOpKey(o.Namespace, o.OperationID, o.RunID), State: data,
		})
	},
	del: func(b *store.Batch, k saKey, runID string) {
		b.RecordDeletes = append(b.RecordDeletes, store.RecordKey{Kind: recordKindNexusOperation, Key: nexusOpKey(k.ns, k.id, runID)})
	},
	takeDispatch: func(e *Engine, o *nexusexec.Operation) func() {
		d := takeNexusDispatch(o)
		if len(d.tasks) == 0 {
			return nil
		}
		return func() { e.dispatchNexusOp(d) }
	},
	scan: scanNexusOperations,
	// Which worker held a task is not stored: an operation read back has
	// its tasks due again.
	recover:  (*nexusexec.Operation).Recover,
	readBack: checkStartedNexusOps,
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
// task is not stored) and checks their handler workflows
// (checkStartedNexusOps).
func (e *Engine) loadNexusOperations() error {
	open, err := e.nexusOps.load(e, nexusOpKind)
	if err != nil {
		return err
	}
	if len(open) > 0 {
		e.log.Info("recovered open standalone Nexus operations", "count", len(open))
	}
	return nil
}

// checkStartedNexusOps checks, in the background, whether the handler
// workflow of a started operation read back from the store closed while
// its completion was undelivered.
func checkStartedNexusOps(e *Engine, open []*nexusexec.Operation) {
	var started []*nexusexec.Operation
	for _, o := range open {
		if o.Started {
			started = append(started, o)
		}
	}
	if len(started) == 0 {
		return
	}
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		for _, o := range started {
			e.checkStandaloneNexusHandler(o)
		}
	}()
}

// scanNexusOperations reads the stored operations of a namespace ("":
// all).
func scanNexusOperations(e *Engine, ctx context.Context, ns string, yield func(*nexusexec.Operation)) error {
	return e.store.Records(ctx, recordKindNexusOperation, func(r *store.KeyedRecord) error {
		o, err := nexusexec.Decode(r.State)
		if err != nil {
			return fmt.Errorf("decoding Nexus operation record %q: %w", r.Key, err)
		}
		if ns == "" || o.Namespace == ns {
			yield(o)
		}
		return nil
	})
}

// mutateNexusOp is the write path of one operation (standaloneSet.mutate).
func (e *Engine) mutateNexusOp(ns, id, runID string, fn func(o *nexusexec.Operation) (bool, error)) error {
	return e.nexusOps.mutate(e, ns, id, runID, fn)
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
		e.addTask(matching.Key{Namespace: tns, Name: queue, Kind: matching.Nexus}, matching.Task{
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
	k := saKey{ns, req.OperationId}
	m.mu.Lock()
	f, err := m.check(e, ns, req.OperationId)
	if err != nil {
		m.mu.Unlock()
		return nil, err
	}
	var curRun *standaloneRun[*nexusexec.Operation]
	for _, r := range m.runs[k] {
		if r.x.HasStartRequest(req.RequestId) {
			curRun = r // a retried start: the operation it made
			break
		}
	}
	if curRun == nil {
		curRun = m.find(ns, req.OperationId, "")
	}
	var cur *nexusexec.Operation
	if curRun != nil {
		cur = curRun.x
	}
	choice, err := nexusexec.ResolveStart(cur, req)
	if err != nil {
		m.mu.Unlock()
		return nil, err
	}
	if choice != nexusexec.StartNew {
		var c store.Commit
		if choice == nexusexec.UseExisting && cur.AttachOnConflict(req) {
			if c, _, err = m.write(e, curRun, f); err != nil {
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
	o := nexusexec.New(ns, newRunID(), endpointID, uuid.NewString(), req, e.now())
	c, seq, due, err := m.add(e, o, f)
	if err != nil {
		m.mu.Unlock()
		return nil, err
	}
	resp := &workflowservice.StartNexusOperationExecutionResponse{RunId: o.RunID, Started: true}
	m.mu.Unlock()
	if err := e.settle(c, seq); err != nil {
		return nil, err
	}
	if due != nil {
		due()
	}
	return resp, nil
}
