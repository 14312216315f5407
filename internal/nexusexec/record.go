package nexusexec

import (
	"errors"
	"fmt"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	failurepb "go.temporal.io/api/failure/v1"
	nexuspb "go.temporal.io/api/nexus/v1"
	"go.temporal.io/api/workflowservice/v1"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
)

// The stored form of an operation is a small protobuf-wire message whose
// fields hold the public protos Temporal defines for the same things (the
// start request; progress in a NexusOperationExecutionInfo; the result
// payload or failure) plus the few internal values they lack. Unknown
// fields are skipped, so later versions can add fields. Which worker held
// a task is not stored: after a restart tasks are dispatched again.
const (
	fStart          = 1
	fProgress       = 2
	fResult         = 3
	fFailure        = 4
	fFlags          = 5
	fStartedTime    = 6 // unix nanoseconds
	fNamespace      = 7
	fOperationID    = 8
	fRunID          = 9
	fEndpointID     = 10
	fTerminateReqID = 11
	fCancelReqID    = 12
	fCancelIdentity = 13
	fAttachedReqID  = 14 // repeated
)

const (
	flagStarted = 1 << iota
	flagHasResult
)

// Encode serializes the operation for the store.
func (o *Operation) Encode() ([]byte, error) {
	progress := &nexuspb.NexusOperationExecutionInfo{
		Status:                  o.Status,
		Attempt:                 o.Attempt,
		ScheduleTime:            ts(o.ScheduleTime),
		CloseTime:               ts(o.CloseTime),
		LastAttemptCompleteTime: ts(o.LastAttemptTime),
		LastAttemptFailure:      o.LastFailure,
		NextAttemptScheduleTime: ts(o.NextAttemptTime),
		RequestId:               o.RequestID,
		OperationToken:          o.OperationToken,
		StateTransitionCount:    o.Transitions,
		Links:                   o.Links,
	}
	if c := o.Cancel; c != nil {
		progress.CancellationInfo = &nexuspb.NexusOperationExecutionCancellationInfo{
			RequestedTime:           ts(c.RequestedTime),
			State:                   c.State,
			Attempt:                 c.Attempt,
			LastAttemptCompleteTime: ts(c.LastAttemptTime),
			LastAttemptFailure:      c.LastFailure,
			NextAttemptScheduleTime: ts(c.NextAttemptTime),
			Reason:                  c.Reason,
		}
	}
	var b []byte
	flags := uint64(0)
	msgs := []struct {
		n protowire.Number
		m proto.Message
	}{{fStart, o.Start}, {fProgress, progress}}
	if o.Result != nil {
		flags |= flagHasResult
		msgs = append(msgs, struct {
			n protowire.Number
			m proto.Message
		}{fResult, o.Result})
	}
	if o.Failure != nil {
		msgs = append(msgs, struct {
			n protowire.Number
			m proto.Message
		}{fFailure, o.Failure})
	}
	for _, m := range msgs {
		data, err := proto.Marshal(m.m)
		if err != nil {
			return nil, err
		}
		b = protowire.AppendTag(b, m.n, protowire.BytesType)
		b = protowire.AppendBytes(b, data)
	}
	if o.Started {
		flags |= flagStarted
	}
	b = protowire.AppendTag(b, fFlags, protowire.VarintType)
	b = protowire.AppendVarint(b, flags)
	if !o.StartedTime.IsZero() {
		b = protowire.AppendTag(b, fStartedTime, protowire.VarintType)
		b = protowire.AppendVarint(b, uint64(o.StartedTime.UnixNano()))
	}
	strs := []struct {
		n protowire.Number
		v string
	}{{fNamespace, o.Namespace}, {fOperationID, o.OperationID}, {fRunID, o.RunID}, {fEndpointID, o.EndpointID},
		{fTerminateReqID, o.TerminateRequestID}}
	if c := o.Cancel; c != nil {
		strs = append(strs, struct {
			n protowire.Number
			v string
		}{fCancelReqID, c.RequestID}, struct {
			n protowire.Number
			v string
		}{fCancelIdentity, c.Identity})
	}
	for _, id := range o.AttachedRequestIDs {
		strs = append(strs, struct {
			n protowire.Number
			v string
		}{fAttachedReqID, id})
	}
	for _, s := range strs {
		if s.v == "" {
			continue
		}
		b = protowire.AppendTag(b, s.n, protowire.BytesType)
		b = protowire.AppendString(b, s.v)
	}
	return b, nil
}

var errCorrupt = errors.New("nexusexec: corrupt stored operation")

// Decode parses what Encode produced.
func Decode(b []byte) (*Operation, error) {
	o := &Operation{}
	progress := &nexuspb.NexusOperationExecutionInfo{}
	var flags uint64
	var result *commonpb.Payload
	var cancelReqID, cancelIdentity string
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return nil, errCorrupt
		}
		b = b[n:]
		switch typ {
		case protowire.VarintType:
			v, n := protowire.ConsumeVarint(b)
			if n < 0 {
				return nil, errCorrupt
			}
			b = b[n:]
			switch num {
			case fFlags:
				flags = v
			case fStartedTime:
				o.StartedTime = time.Unix(0, int64(v)).UTC()
			}
		case protowire.BytesType:
			v, n := protowire.ConsumeBytes(b)
			if n < 0 {
				return nil, errCorrupt
			}
			b = b[n:]
			var err error
			switch num {
			case fStart:
				o.Start = &workflowservice.StartNexusOperationExecutionRequest{}
				err = proto.Unmarshal(v, o.Start)
			case fProgress:
				err = proto.Unmarshal(v, progress)
			case fResult:
				result = &commonpb.Payload{}
				err = proto.Unmarshal(v, result)
			case fFailure:
				o.Failure = &failurepb.Failure{}
				err = proto.Unmarshal(v, o.Failure)
			case fNamespace:
				o.Namespace = string(v)
			case fOperationID:
				o.OperationID = string(v)
			case fRunID:
				o.RunID = string(v)
			case fEndpointID:
				o.EndpointID = string(v)
			case fTerminateReqID:
				o.TerminateRequestID = string(v)
			case fCancelReqID:
				cancelReqID = string(v)
			case fCancelIdentity:
				cancelIdentity = string(v)
			case fAttachedReqID:
				o.AttachedRequestIDs = append(o.AttachedRequestIDs, string(v))
			}
			if err != nil {
				return nil, fmt.Errorf("%w: %v", errCorrupt, err)
			}
		default:
			n := protowire.ConsumeFieldValue(num, typ, b)
			if n < 0 {
				return nil, errCorrupt
			}
			b = b[n:]
		}
	}
	if o.Start == nil || o.OperationID == "" || o.RunID == "" {
		return nil, errCorrupt
	}
	t := func(p interface{ AsTime() time.Time }, ok bool) time.Time {
		if !ok {
			return time.Time{}
		}
		return p.AsTime()
	}
	p := progress
	o.Status = p.Status
	o.Attempt = p.Attempt
	o.ScheduleTime = t(p.ScheduleTime, p.ScheduleTime != nil)
	o.CloseTime = t(p.CloseTime, p.CloseTime != nil)
	o.LastAttemptTime = t(p.LastAttemptCompleteTime, p.LastAttemptCompleteTime != nil)
	o.LastFailure = p.LastAttemptFailure
	o.NextAttemptTime = t(p.NextAttemptScheduleTime, p.NextAttemptScheduleTime != nil)
	o.RequestID = p.RequestId
	o.OperationToken = p.OperationToken
	o.Transitions = p.StateTransitionCount
	o.Links = p.Links
	o.Started = flags&flagStarted != 0
	if flags&flagHasResult != 0 {
		o.Result = result
	}
	if ci := p.CancellationInfo; ci != nil {
		o.Cancel = &Cancel{
			RequestID:       cancelReqID,
			Identity:        cancelIdentity,
			Reason:          ci.Reason,
			RequestedTime:   t(ci.RequestedTime, ci.RequestedTime != nil),
			State:           ci.State,
			Attempt:         ci.Attempt,
			LastAttemptTime: t(ci.LastAttemptCompleteTime, ci.LastAttemptCompleteTime != nil),
			LastFailure:     ci.LastAttemptFailure,
			NextAttemptTime: t(ci.NextAttemptScheduleTime, ci.NextAttemptScheduleTime != nil),
		}
	}
	return o, nil
}
