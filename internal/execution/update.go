package execution

import (
	"errors"
	"sort"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	failurepb "go.temporal.io/api/failure/v1"
	historypb "go.temporal.io/api/history/v1"
	protocolpb "go.temporal.io/api/protocol/v1"
	updatepb "go.temporal.io/api/update/v1"
	"go.temporal.io/api/workflowservice/v1"
)

// ErrClosed is returned for operations that need an open run.
var ErrClosed = errors.New("workflow execution already completed")

// ErrTaskFailing refuses an update while the workflow's task keeps failing:
// the update could not fix it (its messages are applied after the events
// that make the task fail), so Temporal fails the request at once.
var ErrTaskFailing = errors.New("Unable to perform workflow execution update due to Workflow Task in failed state.")

// ErrWorkflowClosing refuses an update while the workflow task that will
// most likely close the run is running (see State.closeAttempted). The
// caller is expected to retry.
var ErrWorkflowClosing = errors.New("workflow operation can not be applied because workflow is closing")

// failingTaskAttempt is the workflow task attempt from which new updates are
// refused (Temporal's failUpdateWorkflowTaskAttemptCount).
const failingTaskAttempt = 3

// AdmitUpdate registers an update request and makes sure a workflow task
// will deliver it. An update id that is already known returns the existing
// update (requests are deduplicated by id). pinned says the request named
// this run: such an update is not carried over to a run that continues
// this one.
func (s *State) AdmitUpdate(now time.Time, req *updatepb.Request, pinned bool) (*Update, error) {
	id := req.GetMeta().GetUpdateId()
	if s.Running() && s.wftAttempt() >= failingTaskAttempt {
		return nil, ErrTaskFailing // checked first, as in Temporal: a retried request fails too
	}
	if s.Running() && s.closeAttempted && s.WFTStarted() {
		return nil, ErrWorkflowClosing
	}
	if u := s.Updates[id]; u != nil && u.State != UpdateAborted && !u.Rejected {
		return u, nil
	}
	if !s.Running() {
		return nil, ErrClosed
	}
	if s.Paused() {
		return nil, ErrWorkflowPaused
	}
	s.updateSeq++
	u := &Update{ID: id, State: UpdateAdmitted, Request: req, Pinned: pinned, seq: s.updateSeq}
	s.Updates[id] = u
	if s.WFT == nil && s.firstTaskScheduled {
		s.scheduleSpeculativeWFT(now)
	}
	return u, nil
}

// AcceptedUpdateCompletedWorkflow is the outcome of an update that was
// accepted but had not completed when its run closed. Temporal fails such
// updates with this failure (not an error): a caller that saw the update
// accepted expects an update outcome.
func AcceptedUpdateCompletedWorkflow() *updatepb.Outcome {
	return &updatepb.Outcome{Value: &updatepb.Outcome_Failure{Failure: &failurepb.Failure{
		Message: "Workflow Update failed because the Workflow completed before the Update completed.",
		Source:  "Server",
		FailureInfo: &failurepb.Failure_ApplicationFailureInfo{ApplicationFailureInfo: &failurepb.ApplicationFailureInfo{
			Type: "AcceptedUpdateCompletedWorkflow", NonRetryable: true,
		}},
	}}}
}

func (s *State) sortedUpdates() []*Update {
	out := make([]*Update, 0, len(s.Updates))
	for _, u := range s.Updates {
		out = append(out, u)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].seq < out[j].seq })
	return out
}

// hasUndeliveredUpdates reports updates admitted but not yet sent.
func (s *State) hasUndeliveredUpdates() bool {
	for _, u := range s.Updates {
		if u.State == UpdateAdmitted && !u.InHistory {
			return true
		}
	}
	return false
}

// handleMessage processes one protocol message from a completed workflow
// task: update acceptance, rejection or response.
func (s *State) handleMessage(now time.Time, m *protocolpb.Message) error {
	body, err := m.GetBody().UnmarshalNew()
	if err != nil {
		return err
	}
	u := s.Updates[m.ProtocolInstanceId]
	switch b := body.(type) {
	case *updatepb.Acceptance:
		if u == nil || (u.State != UpdateSent && u.State != UpdateAdmitted) {
			return errors.New("acceptance for unknown or already accepted update " + m.ProtocolInstanceId)
		}
		req := b.AcceptedRequest
		if req == nil && !u.InHistory { // an UpdateAdmitted event holds it
			req = u.Request
		}
		s.addEvent(now, false, func(ev *historypb.HistoryEvent) {
			ev.Attributes = &historypb.HistoryEvent_WorkflowExecutionUpdateAcceptedEventAttributes{WorkflowExecutionUpdateAcceptedEventAttributes: &historypb.WorkflowExecutionUpdateAcceptedEventAttributes{
				ProtocolInstanceId:               u.ID,
				AcceptedRequestMessageId:         b.AcceptedRequestMessageId,
				AcceptedRequestSequencingEventId: b.AcceptedRequestSequencingEventId,
				AcceptedRequest:                  req,
			}}
		})
	case *updatepb.Rejection:
		if u == nil || u.State == UpdateCompleted || u.State == UpdateAccepted {
			return errors.New("rejection for unknown or accepted update " + m.ProtocolInstanceId)
		}
		u.State = UpdateCompleted
		u.Rejected = true
		u.Outcome = &updatepb.Outcome{Value: &updatepb.Outcome_Failure{Failure: b.Failure}}
	case *updatepb.Response:
		if u == nil || u.State != UpdateAccepted {
			return errors.New("response for update that was not accepted " + m.ProtocolInstanceId)
		}
		s.addEvent(now, false, func(ev *historypb.HistoryEvent) {
			ev.Attributes = &historypb.HistoryEvent_WorkflowExecutionUpdateCompletedEventAttributes{WorkflowExecutionUpdateCompletedEventAttributes: &historypb.WorkflowExecutionUpdateCompletedEventAttributes{
				Meta:            b.Meta,
				AcceptedEventId: u.AcceptedEventID,
				Outcome:         b.Outcome,
			}}
		})
	default:
		return errors.New("unsupported protocol message body")
	}
	s.out.UpdatesChanged = true
	return nil
}

// rejectUnprocessed rejects updates delivered with the completed task that
// the worker neither accepted nor rejected, so callers do not wait forever.
// A task that closed the run may leave updates unprocessed: those are
// handled by closeUpdates instead.
func (s *State) rejectUnprocessed(ids []string) {
	if !s.Running() {
		return
	}
	for _, id := range ids {
		if u := s.Updates[id]; u != nil && u.State == UpdateSent {
			u.State = UpdateCompleted
			u.Rejected = true
			u.Outcome = &updatepb.Outcome{Value: &updatepb.Outcome_Failure{Failure: &failurepb.Failure{
				Message:     "Workflow Update is rejected because it wasn't processed by worker. Probably, Workflow Update is not supported by the worker.",
				Source:      "Server",
				FailureInfo: &failurepb.Failure_ApplicationFailureInfo{ApplicationFailureInfo: &failurepb.ApplicationFailureInfo{Type: "UnprocessedUpdate", NonRetryable: true}},
			}}}
			s.out.UpdatesChanged = true
		}
	}
}

// closeUpdates is called when the run closes. Accepted updates stay as
// they are: history records them, and a closed run reports them failed
// with AcceptedUpdateCompletedWorkflow. Updates not yet accepted either
// move to the run that continues this one (continue-as-new, retry, cron),
// where its first workflow task delivers them, or, when the run ends here
// or the caller named this run, are aborted.
func (s *State) closeUpdates() {
	next := s.out.NewRun
	for _, u := range s.sortedUpdates() {
		if u.State != UpdateAdmitted && u.State != UpdateSent {
			continue
		}
		s.out.UpdatesChanged = true
		if next != nil && !u.Pinned {
			next.updateSeq++
			next.Updates[u.ID] = &Update{
				ID: u.ID, State: UpdateAdmitted, Request: u.Request,
				MovedFrom: append(append([]string(nil), u.MovedFrom...), s.RunID),
				seq:       next.updateSeq,
			}
			delete(s.Updates, u.ID)
			continue
		}
		u.State = UpdateAborted
		u.Abort = AbortRunClosed
	}
}

// isRejection reports whether a protocol message rejects an update.
func isRejection(m *protocolpb.Message) bool {
	body, err := m.GetBody().UnmarshalNew()
	if err != nil {
		return false
	}
	_, ok := body.(*updatepb.Rejection)
	return ok
}

// abortClosedOut aborts an update that the worker accepted or answered
// only after the run closed in the same task: nothing can be recorded for
// it any more, and it stays with this run.
func (s *State) abortClosedOut(id string) {
	if u := s.Updates[id]; u != nil && (u.State == UpdateAdmitted || u.State == UpdateSent) {
		u.State = UpdateAborted
		u.Abort = AbortRunClosed
		s.out.UpdatesChanged = true
	}
}

// abortDelivered aborts the updates a workflow task delivered when the
// server fails that task (a bad command or message): the workflow saw them,
// so they are not delivered again.
func (s *State) abortDelivered(w *WorkflowTask) {
	for _, id := range w.UpdateIDs {
		if u := s.Updates[id]; u != nil && u.State == UpdateSent {
			u.State = UpdateAborted
			u.Abort = AbortTaskFailed
			s.out.UpdatesChanged = true
		}
	}
}

// validateMessages checks the protocol messages of a completed workflow
// task (and the ProtocolMessage commands that reference them) before
// anything is applied, so a bad message fails the task cleanly.
func (s *State) validateMessages(req *workflowservice.RespondWorkflowTaskCompletedRequest) *CommandError {
	bad := func(format string, args ...any) *CommandError {
		return cmdErr(enumspb.WORKFLOW_TASK_FAILED_CAUSE_BAD_UPDATE_WORKFLOW_EXECUTION_MESSAGE, format, args...)
	}
	ids := map[string]bool{}
	accepted := map[string]bool{}
	for _, m := range req.Messages {
		ids[m.Id] = true
		body, err := m.GetBody().UnmarshalNew()
		if err != nil {
			return bad("Message %s has an unreadable body: %v", m.Id, err)
		}
		u := s.Updates[m.ProtocolInstanceId]
		switch body.(type) {
		case *updatepb.Acceptance:
			if u == nil || (u.State != UpdateSent && u.State != UpdateAdmitted) {
				return bad("Acceptance for unknown or already accepted update %s.", m.ProtocolInstanceId)
			}
			accepted[u.ID] = true
		case *updatepb.Rejection:
			if u == nil || u.State == UpdateCompleted || u.State == UpdateAccepted || accepted[m.ProtocolInstanceId] {
				return bad("Rejection for unknown or accepted update %s.", m.ProtocolInstanceId)
			}
		case *updatepb.Response:
			if u == nil || (u.State != UpdateAccepted && !accepted[m.ProtocolInstanceId]) {
				return bad("Response for update %s that was not accepted.", m.ProtocolInstanceId)
			}
		default:
			return bad("Message %s has an unsupported body type.", m.Id)
		}
	}
	for _, cmd := range req.Commands {
		if id := cmd.GetProtocolMessageCommandAttributes().GetMessageId(); cmd.CommandType == enumspb.COMMAND_TYPE_PROTOCOL_MESSAGE && !ids[id] {
			return bad("ProtocolMessageCommand referenced absent message ID %s", id)
		}
	}
	return nil
}
