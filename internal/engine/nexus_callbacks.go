package engine

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"strings"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	failurepb "go.temporal.io/api/failure/v1"
	historypb "go.temporal.io/api/history/v1"
	nexuspb "go.temporal.io/api/nexus/v1"
	"go.temporal.io/api/temporalnexus"
	"google.golang.org/protobuf/proto"

	"github.com/sundial-io/sundial/internal/execution"
)

// Completion callbacks of asynchronous Nexus operations.
//
// A start request sent to a handler carries a callback, as Temporal's own
// Nexus callers send it: the fixed URL temporal://system (Temporal uses it
// for every worker-targeted endpoint since 1.30) and a callback token
// header naming the caller run, the operation's scheduled event id and its
// request id. A handler that starts a workflow for the operation passes
// the callback in StartWorkflowExecution's completion_callbacks; the
// callbacks live in that run's started event (so they are as durable as
// the run, and continue-as-new and retries carry them on). When the run
// closes for good, the engine delivers its outcome to each callback:
// temporal://system ones in process, as an idempotent change of the
// caller run (execution.State.CompleteNexusAsync: applied only while the
// operation with that scheduled id and request id is open, so a repeated
// delivery changes nothing). A delivery cut short by a restart is made
// again from the caller's side: every started operation of a recovered
// run checks its handler workflow (CheckNexusHandler), found through the
// workflow-run operation token the SDKs issue.

// NexusSystemCallbackURL is the callback URL of in-process completions.
const NexusSystemCallbackURL = "temporal://system"

// nexusCallbackTokenHeader carries the caller's identity in the callback
// (Nexus headers are case-insensitive; the SDKs lower-case them).
const nexusCallbackTokenHeader = "temporal-callback-token"

// nexusCallbackToken names the operation a callback completes.
type nexusCallbackToken struct {
	Namespace        string `json:"ns"`
	WorkflowID       string `json:"wid"`
	RunID            string `json:"rid"`
	ScheduledEventID int64  `json:"sched"`
	RequestID        string `json:"req"`
	// Operation is set instead of WorkflowID and ScheduledEventID when the
	// caller is a standalone Nexus operation (standalone_nexus_tasks.go):
	// its operation id, RunID its run id.
	Operation string `json:"op,omitempty"`
}

func (t nexusCallbackToken) encode() string {
	b, _ := json.Marshal(t)
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeCallbackToken(s string) (nexusCallbackToken, bool) {
	var t nexusCallbackToken
	b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
	if err != nil || json.Unmarshal(b, &t) != nil || t.RunID == "" {
		return t, false
	}
	if t.Operation == "" && (t.WorkflowID == "" || t.ScheduledEventID <= 0) {
		return t, false
	}
	return t, true
}

// headerValue reads a Nexus header case-insensitively.
func headerValue(h map[string]string, key string) string {
	for k, v := range h {
		if strings.EqualFold(k, key) {
			return v
		}
	}
	return ""
}

// addNexusCallback gives a start request the callback of its operation
// and a link to the caller's NexusOperationScheduled event.
func addNexusCallback(start *nexuspb.StartOperationRequest, st *execution.State, op *execution.NexusOp) {
	start.Callback = NexusSystemCallbackURL
	start.CallbackHeader = map[string]string{nexusCallbackTokenHeader: nexusCallbackToken{
		Namespace: st.Namespace, WorkflowID: st.WorkflowID, RunID: st.RunID,
		ScheduledEventID: op.ScheduledEventID, RequestID: op.Attrs.RequestId,
	}.encode()}
	link := workflowEventLink(st.Namespace, st.WorkflowID, st.RunID, op.ScheduledEventID, enumspb.EVENT_TYPE_NEXUS_OPERATION_SCHEDULED)
	if nl, ok := temporalnexus.CommonLinkToNexusLink(link); ok {
		start.Links = []*nexuspb.Link{nl}
	}
}

func workflowEventLink(ns, wfID, runID string, eventID int64, t enumspb.EventType) *commonpb.Link {
	return &commonpb.Link{Variant: &commonpb.Link_WorkflowEvent_{WorkflowEvent: &commonpb.Link_WorkflowEvent{
		Namespace: ns, WorkflowId: wfID, RunId: runID,
		Reference: &commonpb.Link_WorkflowEvent_EventRef{EventRef: &commonpb.Link_WorkflowEvent_EventReference{EventId: eventID, EventType: t}},
	}}}
}

// commonLinks converts a handler's Nexus links to Temporal links (those
// of an unknown type are dropped, as Temporal drops them).
func commonLinks(links []*nexuspb.Link) []*commonpb.Link {
	var out []*commonpb.Link
	for _, l := range links {
		if c, ok := temporalnexus.NexusLinkToCommonLink(l); ok {
			out = append(out, c)
		}
	}
	return out
}

// nexusOutcomeOf maps a closed handler run to the outcome its callbacks
// report, as Temporal does: the result's first payload; the workflow's
// failure; a canceled failure; and, for a terminated or timed-out run, a
// failure that says only that (no termination reason goes to callers).
func nexusOutcomeOf(run *execution.State) execution.NexusOutcome {
	o := execution.NexusOutcome{StartLinks: []*commonpb.Link{
		workflowEventLink(run.Namespace, run.WorkflowID, run.RunID, 1, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED),
	}}
	switch a := run.CloseEvent.GetAttributes().(type) {
	case *historypb.HistoryEvent_WorkflowExecutionCompletedEventAttributes:
		if p := a.WorkflowExecutionCompletedEventAttributes.GetResult().GetPayloads(); len(p) > 0 {
			o.Result = p[0]
		}
	case *historypb.HistoryEvent_WorkflowExecutionFailedEventAttributes:
		o.Failure = a.WorkflowExecutionFailedEventAttributes.GetFailure()
		if o.Failure == nil {
			o.Failure = &failurepb.Failure{Message: "operation failed"}
		}
	case *historypb.HistoryEvent_WorkflowExecutionCanceledEventAttributes:
		o.Canceled = true
		o.Failure = &failurepb.Failure{Message: "operation canceled", FailureInfo: &failurepb.Failure_CanceledFailureInfo{CanceledFailureInfo: &failurepb.CanceledFailureInfo{
			Details: a.WorkflowExecutionCanceledEventAttributes.GetDetails(),
		}}}
	case *historypb.HistoryEvent_WorkflowExecutionTimedOutEventAttributes:
		o.Failure = &failurepb.Failure{Message: "operation exceeded internal timeout", FailureInfo: &failurepb.Failure_TimeoutFailureInfo{TimeoutFailureInfo: &failurepb.TimeoutFailureInfo{}}}
	default: // terminated
		o.Failure = &failurepb.Failure{Message: "operation terminated", FailureInfo: &failurepb.Failure_TerminatedFailureInfo{TerminatedFailureInfo: &failurepb.TerminatedFailureInfo{}}}
	}
	return o
}

// deliverNexusCallbacks reports a run's final close to each of its
// completion callbacks.
func (e *Engine) deliverNexusCallbacks(ctx context.Context, run *execution.State) error {
	o := nexusOutcomeOf(run)
	for i, cb := range run.CompletionCallbacks() {
		n := cb.GetNexus()
		if n == nil {
			continue
		}
		if isHTTPCallback(n.Url) {
			// Each external callback is retried on its own, so one that
			// keeps failing does not repeat the others; its record
			// (written with the close) is deleted once it is delivered.
			e.wg.Add(1)
			go func() {
				defer e.wg.Done()
				e.driveHTTPCallback(run, i)
			}()
			continue
		}
		if err := e.deliverNexusCallback(ctx, run, n, o); err != nil {
			return err
		}
	}
	return nil
}

// deliverNexusCallback delivers one callback; only storage trouble is an
// error (retried by the action loop).
func (e *Engine) deliverNexusCallback(ctx context.Context, run *execution.State, n *commonpb.Callback_Nexus, o execution.NexusOutcome) error {
	if n.Url != NexusSystemCallbackURL {
		return e.postNexusCallback(ctx, run, n, o)
	}
	tok, ok := decodeCallbackToken(headerValue(n.Header, nexusCallbackTokenHeader))
	if !ok {
		e.log.Warn("dropping a Nexus completion callback with an unreadable token", "workflow", run.WorkflowID, "run", run.RunID)
		return nil
	}
	o.OperationToken = headerValue(n.Header, "nexus-operation-token")
	if o.OperationToken == "" {
		o.OperationToken = headerValue(n.Header, "nexus-operation-id")
	}
	if tok.Operation != "" {
		return e.deliverStandaloneNexus(ctx, tok, o) // here or on its owner
	}
	err := e.nexusCompleted(ctx, tok.Namespace, tok.WorkflowID, tok.ScheduledEventID, tok.RequestID, o) // remote.go
	if retryable(err) {
		return err
	}
	return nil
}

// workflowRunToken is the operation token the SDKs' workflow-run
// operations issue: base64url JSON naming the handler namespace and
// workflow id (type 1).
type workflowRunToken struct {
	Type       int    `json:"t"`
	Namespace  string `json:"ns"`
	WorkflowID string `json:"wid"`
}

func decodeWorkflowRunToken(s string) (workflowRunToken, bool) {
	var t workflowRunToken
	b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
	if err != nil || json.Unmarshal(b, &t) != nil || t.Type != 1 || t.WorkflowID == "" || t.Namespace == "" {
		return t, false
	}
	return t, true
}

// checkNexusHandler makes sure a started operation of caller hears of a
// handler workflow that already closed: the delivery of its callback may
// have been cut short by a restart (closed runs are not recovered, open
// callers are). Operations whose token is not a workflow-run token are
// left to their callback or timeout.
func (e *Engine) checkNexusHandler(ctx context.Context, caller *execution.State, sched int64) error {
	var opToken, reqID string
	err := e.mutate(ctx, caller.Namespace, caller.WorkflowID, func(w *workflow) error {
		if w.cur == nil || w.cur.RunID != caller.RunID {
			return nil
		}
		if op := w.cur.NexusOpStarted(sched); op != nil {
			opToken, reqID = op.OperationToken, op.Attrs.RequestId
		}
		return nil
	})
	if err != nil || opToken == "" {
		return retryErr(err)
	}
	tok, ok := decodeWorkflowRunToken(opToken)
	if !ok {
		return nil
	}
	var handler *execution.State
	if e.remote(tok.Namespace, tok.WorkflowID) {
		// Another node's workflow: its current run, read from the store
		// (a closed run does not change any more).
		if runID, cerr := e.store.CurrentRun(ctx, tok.Namespace, tok.WorkflowID); cerr == nil {
			if st, lerr := e.loadOldRun(ctx, tok.Namespace, tok.WorkflowID, runID); lerr == nil &&
				!st.Running() && st.FinalClose() && !st.TerminatedByReset() {
				handler = st
			}
		}
	} else {
		err = e.mutate(ctx, tok.Namespace, tok.WorkflowID, func(w *workflow) error {
			if st := w.cur; st != nil && !st.Running() && st.FinalClose() && !st.TerminatedByReset() {
				handler = st // a closed run does not change any more
			}
			return nil
		})
	}
	if err != nil || handler == nil {
		return retryErr(err)
	}
	for _, cb := range handler.CompletionCallbacks() {
		n := cb.GetNexus()
		if n == nil || n.Url != NexusSystemCallbackURL {
			continue
		}
		ct, ok := decodeCallbackToken(headerValue(n.Header, nexusCallbackTokenHeader))
		// The request id names the operation (a reset run keeps it).
		if ok && ct.Namespace == caller.Namespace && ct.WorkflowID == caller.WorkflowID &&
			ct.ScheduledEventID == sched && ct.RequestID == reqID {
			return e.deliverNexusCallback(ctx, handler, n, nexusOutcomeOf(handler))
		}
	}
	return nil
}

// retryErr keeps only errors worth retrying.
func retryErr(err error) error {
	if retryable(err) {
		return err
	}
	return nil
}

// startLinks are the links a start request puts on the run's started
// event: its links, less those its Nexus callbacks carry already (the
// SDKs send them twice for older servers; Temporal keeps one copy).
func startLinks(p *StartParams) []*commonpb.Link {
	var cbLinks []*commonpb.Link
	for _, cb := range p.CompletionCallbacks {
		if cb.GetNexus() != nil {
			cbLinks = append(cbLinks, cb.GetLinks()...)
		}
	}
	var out []*commonpb.Link
	for _, l := range p.Links {
		dup := false
		for _, c := range cbLinks {
			dup = dup || proto.Equal(l, c)
		}
		if !dup {
			out = append(out, l)
		}
	}
	return out
}

// StartedEventLink links to a run's WorkflowExecutionStarted event
// (StartWorkflowExecutionResponse.link, which the SDKs' workflow-run
// operations hand back to their callers).
func StartedEventLink(ns, wfID, runID string) *commonpb.Link {
	return workflowEventLink(ns, wfID, runID, 1, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED)
}

// attachOnConflict attaches what on_conflict_options asks for to a running
// run that a USE_EXISTING start found (Temporal records it in a
// WorkflowExecutionOptionsUpdated event): the start's request id, its
// completion callbacks, its links.
func attachOnConflict(now time.Time, cur *execution.State, p *StartParams) error {
	oc := p.OnConflict
	if oc == nil {
		return nil
	}
	var reqID string
	var cbs []*commonpb.Callback
	var links []*commonpb.Link
	if oc.AttachRequestId {
		reqID = p.RequestID
	}
	if oc.AttachCompletionCallbacks {
		cbs = p.CompletionCallbacks
	}
	if oc.AttachLinks {
		links = startLinks(p)
	}
	return cur.AttachToRunning(now, reqID, cbs, links, p.Identity)
}
