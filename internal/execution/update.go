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

// AdmitUpdate registers an update request and makes sure a workflow task
// will deliver it. An update id that is already known returns the existing
// update (requests are deduplicated by id).
func (s *State) AdmitUpdate(now time.Time, req *updatepb.Request) (*Update, error) {
	id := req.GetMeta().GetUpdateId()
	if u := s.Updates[id]; u != nil && u.State != UpdateAborted {
		return u, nil
	}
	if !s.Running() {
		return nil, ErrClosed
	}
	s.updateSeq++
	u := &Update{ID: id, State: UpdateAdmitted, Request: req, seq: s.updateSeq}
	s.Updates[id] = u
	if s.WFT == nil && s.firstTaskScheduled {
		s.scheduleSpeculativeWFT(now)
	}
	return u, nil
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
		if u.State == UpdateAdmitted {
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
		if req == nil {
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
func (s *State) rejectUnprocessed(ids []string) {
	for _, id := range ids {
		if u := s.Updates[id]; u != nil && u.State == UpdateSent {
			u.State = UpdateCompleted
			u.Rejected = true
			u.Outcome = &updatepb.Outcome{Value: &updatepb.Outcome_Failure{Failure: &failurepb.Failure{
				Message:     "workflow task completed without accepting or rejecting the update",
				FailureInfo: &failurepb.Failure_ApplicationFailureInfo{ApplicationFailureInfo: &failurepb.ApplicationFailureInfo{Type: "UnprocessedUpdate", NonRetryable: true}},
			}}}
			s.out.UpdatesChanged = true
		}
	}
}

// abortUpdates is called when the run closes: updates that can no longer
// complete are dropped so their waiters get an error.
func (s *State) abortUpdates() {
	for id, u := range s.Updates {
		if u.State != UpdateCompleted {
			delete(s.Updates, id)
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
