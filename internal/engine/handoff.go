package engine

import (
	"context"

	"github.com/google/uuid"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/workflowservice/v1"

	"github.com/sundial-io/sundial/internal/execution"
	"github.com/sundial-io/sundial/internal/matching"
)

// Direct hand-off of workflow tasks. When a change schedules a workflow
// task and a worker is already long-polling that queue, the task is started
// for that worker in the same write that schedules it, and the poll is
// answered once the write is durable. Without this, the poll would take the
// task and make a second write (WorkflowTaskStarted): a one-activity
// workflow needed six writes, now four. History is the same either way.

// handoff is a workflow task started for a claimed poller.
type handoff struct {
	claim  *matching.Claim
	ns     string
	runID  string
	sticky bool
	prio   int32 // the task's priority key (matching's statistics count it there)
	resp   *workflowservice.PollWorkflowTaskQueueResponse
	spec   []*historypb.HistoryEvent
}

// handOff starts the run's newly scheduled workflow task for a waiting
// poller, if there is one. It runs under the workflow's lock, before the
// outbox is written.
func (e *Engine) handOff(st *execution.State) *handoff {
	// Speculative and transient tasks keep their events out of the
	// history until completed; they take the ordinary poll path.
	if st.WFT == nil || st.WFT.StartedEventID != 0 || st.WFT.Speculative || st.WFT.Transient || !st.Running() {
		return nil
	}
	for _, t := range st.Outbox().Tasks {
		if t.Kind != execution.WorkflowTaskKind || t.ScheduledEventID != st.WFT.ScheduledEventID {
			continue
		}
		key, _ := e.taskKey(st.Namespace, st.WorkflowID, t, st.Routing())
		c := e.match.Claim(key)
		if c == nil {
			return nil
		}
		msgs, err := st.StartWorkflowTask(e.runNow(st), t.ScheduledEventID, uuid.NewString(), c.Identity())
		if err != nil {
			c.Release()
			return nil
		}
		st.DropTask(execution.WorkflowTaskKind, t.ScheduledEventID)
		return &handoff{claim: c, ns: st.Namespace, runID: st.RunID, sticky: t.Sticky && key.Name == t.Queue, prio: t.PriorityKey,
			resp: workflowTaskResponse(st, msgs), spec: st.SpeculativeEvents()}
	}
	return nil
}

// deliver answers the claimed poll; call it once the write is durable.
func (h *handoff) deliver() {
	if h != nil {
		h.claim.Deliver(matching.Task{Started: h, PriorityKey: h.prio})
	}
}

// release frees the claimed poller when the write failed. The started
// task is lost with the failed write (the engine refuses further writes).
func (h *handoff) release() {
	if h != nil {
		h.claim.Release()
	}
}

// handedOff completes a poll answered by a hand-off: the history is read
// now that it is durable (the poll path does the same after its write).
func (e *Engine) handedOff(ctx context.Context, h *handoff) (*workflowservice.PollWorkflowTaskQueueResponse, error) {
	resp := h.resp
	if err := e.attachHistory(ctx, h.ns, h.runID, resp, h.sticky); err != nil {
		return nil, err
	}
	resp.History.Events = append(resp.History.Events, h.spec...)
	return resp, nil
}
