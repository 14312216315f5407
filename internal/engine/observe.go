package engine

import (
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"

	"github.com/sundial-io/sundial/internal/execution"
	"github.com/sundial-io/sundial/internal/matching"
)

// Observer is told what the engine did, for metrics. Its methods are called
// on the write path (after the write is durable for workflow outcomes), so
// an implementation must be cheap and must not block. Options.Observer nil
// means nothing is observed.
type Observer interface {
	// WorkflowStarted reports a new run (a first start, a retry, a cron run
	// or a continue-as-new run).
	WorkflowStarted(ns, workflowType string)
	// WorkflowClosed reports a run's close event type: completed, failed,
	// timed out, canceled, terminated or continued as new.
	WorkflowClosed(ns, workflowType string, closeEvent enumspb.EventType)
	// StoreWrite reports one step of a store write: "Apply" hands a batch
	// to the store, "Sync" waits until it is durable.
	StoreWrite(op string, d time.Duration, err error)
}

// Store write steps reported to Observer.StoreWrite.
const (
	StoreApply = "Apply"
	StoreSync  = "Sync"
)

type noObserver struct{}

func (noObserver) WorkflowStarted(string, string)                   {}
func (noObserver) WorkflowClosed(string, string, enumspb.EventType) {}
func (noObserver) StoreWrite(string, time.Duration, error)          {}

// outcomes is what one commit did to run lifecycles, reported to the
// observer once the commit is durable. A commit starts at most two runs
// (a new workflow, or the run that continues a closing one) and closes at
// most one.
type outcomes struct {
	ns         string
	started    [2]string // workflow types of runs started
	nStarted   int
	closed     enumspb.EventType // 0: no run closed
	closedType string
}

// note records the lifecycle events among a run's new events.
func (o *outcomes) note(run *execution.State, events []*historypb.HistoryEvent) {
	for _, ev := range events {
		switch t := ev.GetEventType(); t {
		case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
			if o.nStarted < len(o.started) {
				o.ns = run.Namespace
				o.started[o.nStarted] = run.Start.GetWorkflowType().GetName()
				o.nStarted++
			}
		case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED,
			enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED,
			enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT,
			enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED,
			enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED,
			enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW:
			o.ns = run.Namespace
			o.closed, o.closedType = t, run.Start.GetWorkflowType().GetName()
		}
	}
}

// report tells the observer, and keeps the count of open runs.
func (o *outcomes) report(e *Engine) {
	for i := 0; i < o.nStarted; i++ {
		e.obs.WorkflowStarted(o.ns, o.started[i])
	}
	n := int64(o.nStarted)
	if o.closed != 0 {
		e.obs.WorkflowClosed(o.ns, o.closedType, o.closed)
		n--
	}
	if n != 0 {
		e.openRuns.Add(n)
	}
}

// OpenRuns is the number of open (running) workflow runs: those the
// store counted at startup plus those started since, less those closed
// since. Open runs need not be in memory (see WorkflowsInMemory).
func (e *Engine) OpenRuns() int64 { return e.openRuns.Load() }

// WorkflowsInMemory is the number of workflow ids whose newest run is held
// in memory: the cache of hot runs (open ones, and closed ones for the
// ~2 s before eviction).
func (e *Engine) WorkflowsInMemory() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.workflows)
}

// TaskQueueBacklog is one task queue's backlog, for metrics.
type TaskQueueBacklog struct {
	Namespace, Name string
	Activity        bool
	Backlog         int64
	OldestAge       time.Duration
}

// TaskQueueBacklogs lists every task queue in memory with its backlog. A
// queue's worker deployment version sub-queues (matching.Key.Version) are
// summed into it, so each queue is reported once.
func (e *Engine) TaskQueueBacklogs() []TaskQueueBacklog {
	var out []TaskQueueBacklog
	at := map[matching.Key]int{}
	e.match.EachStats(func(k matching.Key, st matching.Stats) {
		k.Version = ""
		if i, ok := at[k]; ok {
			out[i].Backlog += st.Backlog
			out[i].OldestAge = max(out[i].OldestAge, st.OldestAge)
			return
		}
		at[k] = len(out)
		out = append(out, TaskQueueBacklog{Namespace: k.Namespace, Name: k.Name, Activity: k.Kind == matching.Activity, Backlog: st.Backlog, OldestAge: st.OldestAge})
	})
	return out
}
