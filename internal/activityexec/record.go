package activityexec

import (
	"errors"
	"fmt"
	"time"

	activitypb "go.temporal.io/api/activity/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
)

// The stored form of an execution is a small protobuf-wire message whose
// fields hold the public protos Temporal defines for the same things (the
// start request; progress in an ActivityExecutionInfo; the outcome) plus
// the few internal values they lack. Unknown fields are skipped, so later
// versions can add fields.
const (
	fStart           = 1
	fProgress        = 2
	fOutcome         = 3
	fStamp           = 4
	fFlags           = 5
	fCancelRequestID = 6
	fCancelIdentity  = 7
	fTerminateReqID  = 8
	fNamespace       = 9
	fActivityID      = 10
	fRunID           = 11
	fOptions         = 12
	fPauseRequestID  = 13
	fPauseIdentity   = 14
	fPauseReason     = 15
	fPauseTime       = 16 // unix nanoseconds
	fUnpauseReqID    = 17
	fResetRequestID  = 18
	fUpdateReqID     = 19
)

const (
	flagStarted = 1 << iota
	flagCancelRequested
	flagPaused
	flagResetRequested
	flagResetKeepPaused
	flagResetClearHeartbeat
	flagResetRestoreOptions
)

// Encode serializes the execution for the store.
func (x *Execution) Encode() ([]byte, error) {
	progress := &activitypb.ActivityExecutionInfo{
		Status:                  x.Status,
		Attempt:                 x.Attempt,
		ScheduleTime:            ts(x.ScheduleTime),
		NextAttemptScheduleTime: ts(x.DispatchAt),
		LastStartedTime:         ts(x.StartedTime),
		LastWorkerIdentity:      x.LastWorkerIdentity,
		LastHeartbeatTime:       ts(x.HeartbeatTime),
		HeartbeatDetails:        x.HeartbeatDetails,
		TotalHeartbeatCount:     x.HeartbeatCount,
		LastFailure:             x.LastFailure,
		LastAttemptCompleteTime: ts(x.LastAttemptCompleteTime),
		CurrentRetryInterval:    durationpb.New(x.RetryInterval),
		CanceledReason:          x.CancelReason,
		CloseTime:               ts(x.CloseTime),
		StateTransitionCount:    x.Transitions,
	}
	var b []byte
	for _, m := range []struct {
		n protowire.Number
		m proto.Message
	}{{fStart, x.Start}, {fProgress, progress}, {fOutcome, x.Outcome()}, {fOptions, x.Options}} {
		if m.m == nil || (m.n == fOutcome && x.Running()) {
			continue
		}
		data, err := proto.Marshal(m.m)
		if err != nil {
			return nil, err
		}
		b = protowire.AppendTag(b, m.n, protowire.BytesType)
		b = protowire.AppendBytes(b, data)
	}
	flags := uint64(0)
	if x.Started {
		flags |= flagStarted
	}
	for _, f := range []struct {
		on   bool
		flag uint64
	}{{x.CancelRequested, flagCancelRequested}, {x.Paused, flagPaused}, {x.ResetRequested, flagResetRequested},
		{x.ResetKeepPaused, flagResetKeepPaused}, {x.ResetClearHeartbeat, flagResetClearHeartbeat}, {x.ResetRestoreOptions, flagResetRestoreOptions}} {
		if f.on {
			flags |= f.flag
		}
	}
	b = protowire.AppendTag(b, fStamp, protowire.VarintType)
	b = protowire.AppendVarint(b, uint64(x.Stamp))
	b = protowire.AppendTag(b, fFlags, protowire.VarintType)
	b = protowire.AppendVarint(b, flags)
	if !x.PauseTime.IsZero() {
		b = protowire.AppendTag(b, fPauseTime, protowire.VarintType)
		b = protowire.AppendVarint(b, uint64(x.PauseTime.UnixNano()))
	}
	for _, s := range []struct {
		n protowire.Number
		v string
	}{{fCancelRequestID, x.CancelRequestID}, {fCancelIdentity, x.CancelIdentity}, {fTerminateReqID, x.TerminateRequestID},
		{fNamespace, x.Namespace}, {fActivityID, x.ActivityID}, {fRunID, x.RunID},
		{fPauseRequestID, x.PauseRequestID}, {fPauseIdentity, x.PauseIdentity}, {fPauseReason, x.PauseReason},
		{fUnpauseReqID, x.UnpauseRequestID}, {fResetRequestID, x.ResetRequestID}, {fUpdateReqID, x.UpdateOptionsRequestID}} {
		if s.v == "" {
			continue
		}
		b = protowire.AppendTag(b, s.n, protowire.BytesType)
		b = protowire.AppendString(b, s.v)
	}
	return b, nil
}

var errCorrupt = errors.New("activityexec: corrupt stored execution")

// Decode parses what Encode produced.
func Decode(b []byte) (*Execution, error) {
	x := &Execution{}
	progress := &activitypb.ActivityExecutionInfo{}
	outcome := &activitypb.ActivityExecutionOutcome{}
	var flags uint64
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
			case fStamp:
				x.Stamp = int64(v)
			case fFlags:
				flags = v
			case fPauseTime:
				x.PauseTime = time.Unix(0, int64(v)).UTC()
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
				x.Start = &workflowservice.StartActivityExecutionRequest{}
				err = proto.Unmarshal(v, x.Start)
			case fProgress:
				err = proto.Unmarshal(v, progress)
			case fOutcome:
				err = proto.Unmarshal(v, outcome)
			case fOptions:
				x.Options = &activitypb.ActivityOptions{}
				err = proto.Unmarshal(v, x.Options)
			case fPauseRequestID:
				x.PauseRequestID = string(v)
			case fPauseIdentity:
				x.PauseIdentity = string(v)
			case fPauseReason:
				x.PauseReason = string(v)
			case fUnpauseReqID:
				x.UnpauseRequestID = string(v)
			case fResetRequestID:
				x.ResetRequestID = string(v)
			case fUpdateReqID:
				x.UpdateOptionsRequestID = string(v)
			case fCancelRequestID:
				x.CancelRequestID = string(v)
			case fCancelIdentity:
				x.CancelIdentity = string(v)
			case fTerminateReqID:
				x.TerminateRequestID = string(v)
			case fNamespace:
				x.Namespace = string(v)
			case fActivityID:
				x.ActivityID = string(v)
			case fRunID:
				x.RunID = string(v)
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
	if x.Start == nil || x.ActivityID == "" || x.RunID == "" {
		return nil, errCorrupt
	}
	t := func(p interface{ AsTime() time.Time }, ok bool) time.Time {
		if !ok {
			return time.Time{}
		}
		return p.AsTime()
	}
	p := progress
	x.Status = p.Status
	x.Attempt = p.Attempt
	x.ScheduleTime = t(p.ScheduleTime, p.ScheduleTime != nil)
	x.DispatchAt = t(p.NextAttemptScheduleTime, p.NextAttemptScheduleTime != nil)
	x.StartedTime = t(p.LastStartedTime, p.LastStartedTime != nil)
	x.LastWorkerIdentity = p.LastWorkerIdentity
	x.HeartbeatTime = t(p.LastHeartbeatTime, p.LastHeartbeatTime != nil)
	x.HeartbeatDetails = p.HeartbeatDetails
	x.HeartbeatCount = p.TotalHeartbeatCount
	x.LastFailure = p.LastFailure
	x.LastAttemptCompleteTime = t(p.LastAttemptCompleteTime, p.LastAttemptCompleteTime != nil)
	x.RetryInterval = p.CurrentRetryInterval.AsDuration()
	x.CancelReason = p.CanceledReason
	x.CloseTime = t(p.CloseTime, p.CloseTime != nil)
	x.Transitions = p.StateTransitionCount
	x.Started = flags&flagStarted != 0
	x.CancelRequested = flags&flagCancelRequested != 0
	x.Paused = flags&flagPaused != 0
	x.ResetRequested = flags&flagResetRequested != 0
	x.ResetKeepPaused = flags&flagResetKeepPaused != 0
	x.ResetClearHeartbeat = flags&flagResetClearHeartbeat != 0
	x.ResetRestoreOptions = flags&flagResetRestoreOptions != 0
	if x.Options == nil {
		x.Options = OriginalOptions(x.Start)
	}
	if x.Status != enumspb.ACTIVITY_EXECUTION_STATUS_RUNNING {
		x.Result = outcome.GetResult()
		x.Failure = outcome.GetFailure()
		x.RetryState = outcome.RetryState
	}
	return x, nil
}
