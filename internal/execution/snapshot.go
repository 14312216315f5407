package execution

import (
	"errors"
	"fmt"
	"sort"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	deploymentpb "go.temporal.io/api/deployment/v1"
	enumspb "go.temporal.io/api/enums/v1"
	failurepb "go.temporal.io/api/failure/v1"
	historypb "go.temporal.io/api/history/v1"
	sdkpb "go.temporal.io/api/sdk/v1"
	updatepb "go.temporal.io/api/update/v1"
	workflowpb "go.temporal.io/api/workflow/v1"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/sundial-io/sundial/internal/store"
)

// A snapshot is a run's mutable state encoded whole, stored in its run
// record (store.RunRecord.Snapshot) by every write, so that loading a run
// that is not in memory is one read instead of a replay of its history.
//
// It holds exactly what Load(record, history) would rebuild, no more: the
// parts of the live state that are in memory only by design (sticky queue,
// update requests not yet accepted, the request id of a started activity
// attempt, Nexus tasks held by a handler, ...; see the field table in
// snapshot_test.go) are left out, so a run loaded from its snapshot is the
// run a replay gives (Diff between the two is empty; the tests and the
// engine's check mode compare them).
//
// Runs whose live state cannot be told apart from what replay gives are
// stored without a snapshot and load by replay, as before snapshots
// existed: closed runs (rarely loaded again, and where the live state
// drops updates replay keeps), a workflow task whose events are held back
// (speculative or transient), and updates in a stage replay cannot
// reproduce (see snapshotable).

// snapshotVersion is the first byte of every snapshot. A snapshot of
// another version is not decoded: the run loads by replay, and its next
// write stores a snapshot of this version.
const snapshotVersion = 1

// MaxSnapshotBytes bounds a snapshot: a run whose state encodes larger
// (large inputs of its start, activities or children) is stored without
// one and loads by replay, so every write of it does not rewrite that much
// (its history holds those inputs once; a snapshot would be rewritten with
// every change of the run).
const MaxSnapshotBytes = 64 << 10

// ErrNoSnapshot is returned by LoadSnapshot for a record without a usable
// snapshot; the caller replays history instead.
var ErrNoSnapshot = errors.New("run record has no snapshot")

// Field numbers of a snapshot (after the version byte). Never reuse one.
const (
	snStartMetadata      protowire.Number = 1
	snResetPoints        protowire.Number = 2
	snStart              protowire.Number = 3
	snStartTime          protowire.Number = 4
	snStatus             protowire.Number = 5
	snCloseTime          protowire.Number = 6
	snCloseEvent         protowire.Number = 7
	snNextEventID        protowire.Number = 8
	snHistorySize        protowire.Number = 9
	snLastEventTime      protowire.Number = 10
	snWFT                protowire.Number = 11
	snPrevStartedEventID protowire.Number = 12
	snFirstTaskScheduled protowire.Number = 13
	snFailedWFTs         protowire.Number = 14
	snActivity           protowire.Number = 15
	snNexusOp            protowire.Number = 16
	snTimer              protowire.Number = 17
	snChild              protowire.Number = 18
	snExternalSignal     protowire.Number = 19
	snExternalCancel     protowire.Number = 20
	snUpdate             protowire.Number = 21
	snSignalRequest      protowire.Number = 22
	snCancelRequested    protowire.Number = 23
	snResetTime          protowire.Number = 24
	snResetOrigStart     protowire.Number = 25
	snMemo               protowire.Number = 26
	snSearch             protowire.Number = 27
	snPriority           protowire.Number = 28
	snPriorityUpdated    protowire.Number = 29
	snVerBehavior        protowire.Number = 30
	snVerVersion         protowire.Number = 31
	snVerOverride        protowire.Number = 32
	snVerUsed            protowire.Number = 33
	snBufferedBytes      protowire.Number = 34
	snCloseAttempted     protowire.Number = 35
	snAttachedCallback   protowire.Number = 36
	snAttachedRequestID  protowire.Number = 37
	// snPaused (the WorkflowExecutionPaused event of a paused run) is
	// numbered apart from the sequence above so that branches adding
	// fields at the same time do not pick the same number.
	snPaused protowire.Number = 60
	// Time skipping (time_skipping.go), numbered apart for the same reason.
	snSkipOn        protowire.Number = 70
	snSkipCfg       protowire.Number = 71
	snSkipped       protowire.Number = 72
	snSkipCount     protowire.Number = 73
	snSkipFFTarget  protowire.Number = 74
	snSkipFFReached protowire.Number = 75
)

// Snapshot encodes the run's state for its record, or returns nil when the
// run is stored without one (see snapshotable, MaxSnapshotBytes).
func (s *State) Snapshot() []byte {
	if !s.snapshotable() {
		return nil
	}
	w := &snapWriter{b: append(make([]byte, 0, 1024), snapshotVersion)}
	s.encodeSnapshot(w)
	if w.err != nil || len(w.b) > MaxSnapshotBytes {
		return nil
	}
	return w.b
}

// snapshotable reports whether the snapshot can hold what replay gives:
// the run is open, no workflow task has events held back, and every update
// is either unknown to history (left out: replay loses it too) or in a
// stage its history events give.
func (s *State) snapshotable() bool {
	if !s.Running() || s.Start == nil || len(s.spec) > 0 {
		return false
	}
	if w := s.WFT; w != nil && (w.Speculative || w.Transient) {
		return false
	}
	for _, u := range s.Updates {
		if _, ok := snapshotUpdate(u); !ok {
			return false
		}
	}
	return true
}

// snapshotUpdate reports whether replay keeps u (keep) and whether its
// stage is one replay reproduces (ok).
func snapshotUpdate(u *Update) (keep, ok bool) {
	switch {
	case !u.InHistory && u.AcceptedEventID == 0:
		return false, true // no event names it: in memory only
	case u.AcceptedEventID != 0 && !u.Rejected && (u.State == UpdateAccepted || u.State == UpdateCompleted):
		return true, true
	case u.InHistory && u.AcceptedEventID == 0 && u.State == UpdateAdmitted:
		return true, true
	}
	return false, false
}

func (s *State) encodeSnapshot(w *snapWriter) {
	w.msg(snStartMetadata, s.StartMetadata)
	if len(s.resetPoints) > 0 {
		w.msg(snResetPoints, &workflowpb.ResetPoints{Points: s.resetPoints})
	}
	w.msg(snStart, s.Start)
	w.time(snStartTime, s.StartTime)
	w.uint(snStatus, uint64(s.Status))
	w.time(snCloseTime, s.CloseTime)
	w.msg(snCloseEvent, s.CloseEvent)
	w.int(snNextEventID, s.NextEventID)
	w.int(snHistorySize, s.HistorySize)
	w.time(snLastEventTime, s.LastEventTime)
	if s.WFT != nil {
		w.nested(snWFT, s.WFT.encode)
	}
	w.int(snPrevStartedEventID, s.PrevStartedEventID)
	w.bool(snFirstTaskScheduled, s.firstTaskScheduled)
	w.int(snFailedWFTs, int64(s.failedWFTs))
	for _, id := range sortedKeys(s.Activities) {
		w.nested(snActivity, s.Activities[id].encode)
	}
	for _, id := range sortedKeys(s.NexusOps) {
		w.nested(snNexusOp, s.NexusOps[id].encode)
	}
	for _, id := range sortedKeys(s.Timers) {
		w.nested(snTimer, s.Timers[id].encode)
	}
	for _, id := range sortedKeys(s.Children) {
		w.nested(snChild, s.Children[id].encode)
	}
	for _, id := range sortedKeys(s.ExternalSignals) {
		w.nested(snExternalSignal, s.ExternalSignals[id].encode)
	}
	for _, id := range sortedKeys(s.ExternalCancels) {
		w.nested(snExternalCancel, s.ExternalCancels[id].encode)
	}
	// In the order they were admitted: replay numbers the updates its
	// UpdateAdmitted events create in event order (their delivery order).
	if len(s.Updates) > 0 {
		for _, u := range s.sortedUpdates() {
			if keep, _ := snapshotUpdate(u); keep {
				w.nested(snUpdate, u.encode)
			}
		}
	}
	for _, r := range sortedKeys(s.signalRequests) {
		w.strAlways(snSignalRequest, r)
	}
	w.bool(snCancelRequested, s.CancelRequested)
	w.time(snResetTime, s.Reset.Time)
	w.time(snResetOrigStart, s.Reset.OriginalStartTime)
	w.msg(snMemo, s.Memo)
	w.msg(snSearch, s.Search)
	w.msg(snPriority, s.priority)
	w.bool(snPriorityUpdated, s.priorityUpdated)
	w.uint(snVerBehavior, uint64(s.ver.behavior))
	w.msg(snVerVersion, s.ver.version)
	w.msg(snVerOverride, s.ver.override)
	for _, v := range s.ver.used {
		w.strAlways(snVerUsed, v)
	}
	w.int(snBufferedBytes, int64(s.bufferedBytes))
	w.bool(snCloseAttempted, s.closeAttempted)
	for _, c := range s.attached.callbacks {
		w.msg(snAttachedCallback, c)
	}
	for _, r := range sortedKeys(s.attached.requestIDs) {
		w.strAlways(snAttachedRequestID, r)
	}
	w.msg(snPaused, s.paused)
	w.bool(snSkipOn, s.skip.on)
	w.msg(snSkipCfg, s.skip.cfg)
	w.int(snSkipped, int64(s.skip.skipped))
	w.int(snSkipCount, int64(s.skip.count))
	w.time(snSkipFFTarget, s.skip.ffTarget)
	w.bool(snSkipFFReached, s.skip.ffReached)
}

// LoadSnapshot rebuilds a run from its record's snapshot: the same State
// Load(rec, history) gives, without reading history. It returns
// ErrNoSnapshot when the record has none or one of another version, and an
// error wrapping it when the snapshot is corrupt; the caller then replays.
func LoadSnapshot(rec *store.RunRecord) (*State, error) {
	b := rec.Snapshot
	if len(b) == 0 {
		return nil, ErrNoSnapshot
	}
	if b[0] != snapshotVersion {
		return nil, fmt.Errorf("%w: snapshot version %d, this build reads %d", ErrNoSnapshot, b[0], snapshotVersion)
	}
	s := New(rec.Namespace, rec.WorkflowID, rec.RunID)
	s.StartRequestID = rec.StartRequestID
	s.StoredDue = rec.Due
	s.Reset.RunID, s.Reset.RequestID = rec.ResetRunID, rec.ResetRequestID
	// Buffered events are in the record already; what applying them did
	// to the state is in the snapshot.
	s.Buffered = rec.Buffered
	if err := readSnapFields(b[1:], s.decodeField); err != nil {
		return nil, fmt.Errorf("%w: run %s: %w", ErrNoSnapshot, rec.RunID, err)
	}
	for id, a := range s.Activities {
		s.activityIDs[a.Attrs.GetActivityId()] = id
	}
	// Updates were numbered in the order they were stored; replay numbers
	// only those UpdateAdmitted events created, in that order.
	ordered := s.sortedUpdates()
	s.updateSeq = 0
	for _, u := range ordered {
		u.seq = 0
		if u.InHistory {
			s.updateSeq++
			u.seq = s.updateSeq
		}
	}
	if s.Start == nil {
		return nil, fmt.Errorf("%w: run %s: snapshot without a start", ErrNoSnapshot, rec.RunID)
	}
	return s, nil
}

func (s *State) decodeField(f snapField) error {
	var err error
	switch f.num {
	case snStartMetadata:
		s.StartMetadata, err = snapMsg(f, &sdkpb.UserMetadata{})
	case snResetPoints:
		var p *workflowpb.ResetPoints
		p, err = snapMsg(f, &workflowpb.ResetPoints{})
		s.resetPoints = p.GetPoints()
	case snStart:
		s.Start, err = snapMsg(f, &historypb.WorkflowExecutionStartedEventAttributes{})
	case snStartTime:
		s.StartTime, err = f.time()
	case snStatus:
		s.Status = enumspb.WorkflowExecutionStatus(f.v)
	case snCloseTime:
		s.CloseTime, err = f.time()
	case snCloseEvent:
		s.CloseEvent, err = snapMsg(f, &historypb.HistoryEvent{})
	case snNextEventID:
		s.NextEventID = f.int()
	case snHistorySize:
		s.HistorySize = f.int()
	case snLastEventTime:
		s.LastEventTime, err = f.time()
	case snWFT:
		s.WFT = &WorkflowTask{}
		err = readSnapFields(f.b, s.WFT.decodeField)
	case snPrevStartedEventID:
		s.PrevStartedEventID = f.int()
	case snFirstTaskScheduled:
		s.firstTaskScheduled = f.bool()
	case snFailedWFTs:
		s.failedWFTs = int32(f.int())
	case snActivity:
		a := &Activity{}
		if err = readSnapFields(f.b, a.decodeField); err == nil {
			if a.Attrs == nil {
				return fmt.Errorf("%w: activity %d without attributes", errCorruptSnapshot, a.ScheduledEventID)
			}
			s.Activities[a.ScheduledEventID] = a
		}
	case snNexusOp:
		op := &NexusOp{}
		if err = readSnapFields(f.b, op.decodeField); err == nil {
			if s.NexusOps == nil {
				s.NexusOps = map[int64]*NexusOp{}
			}
			s.NexusOps[op.ScheduledEventID] = op
		}
	case snTimer:
		t := &Timer{}
		if err = readSnapFields(f.b, t.decodeField); err == nil {
			s.Timers[t.ID] = t
		}
	case snChild:
		c := &Child{}
		if err = readSnapFields(f.b, c.decodeField); err == nil {
			s.Children[c.InitiatedEventID] = c
		}
	case snExternalSignal, snExternalCancel:
		e := &External{}
		if err = readSnapFields(f.b, e.decodeField); err == nil {
			if f.num == snExternalSignal {
				s.ExternalSignals[e.InitiatedEventID] = e
			} else {
				s.ExternalCancels[e.InitiatedEventID] = e
			}
		}
	case snUpdate:
		u := &Update{}
		if err = readSnapFields(f.b, u.decodeField); err == nil {
			s.updateSeq++
			u.seq = s.updateSeq // stored order, renumbered in LoadSnapshot
			s.Updates[u.ID] = u
		}
	case snSignalRequest:
		s.signalRequests[f.str()] = true
	case snCancelRequested:
		s.CancelRequested = f.bool()
	case snResetTime:
		s.Reset.Time, err = f.time()
	case snResetOrigStart:
		s.Reset.OriginalStartTime, err = f.time()
	case snMemo:
		s.Memo, err = snapMsg(f, &commonpb.Memo{})
	case snSearch:
		s.Search, err = snapMsg(f, &commonpb.SearchAttributes{})
	case snPriority:
		s.priority, err = snapMsg(f, &commonpb.Priority{})
	case snPriorityUpdated:
		s.priorityUpdated = f.bool()
	case snVerBehavior:
		s.ver.behavior = enumspb.VersioningBehavior(f.v)
	case snVerVersion:
		s.ver.version, err = snapMsg(f, &deploymentpb.WorkerDeploymentVersion{})
	case snVerOverride:
		s.ver.override, err = snapMsg(f, &workflowpb.VersioningOverride{})
	case snVerUsed:
		s.ver.used = append(s.ver.used, f.str())
	case snBufferedBytes:
		s.bufferedBytes = int(f.int())
	case snCloseAttempted:
		s.closeAttempted = f.bool()
	case snAttachedCallback:
		var c *commonpb.Callback
		if c, err = snapMsg(f, &commonpb.Callback{}); err == nil {
			s.attached.callbacks = append(s.attached.callbacks, c)
		}
	case snAttachedRequestID:
		if s.attached.requestIDs == nil {
			s.attached.requestIDs = map[string]bool{}
		}
		s.attached.requestIDs[f.str()] = true
	case snPaused:
		s.paused, err = snapMsg(f, &historypb.HistoryEvent{})
	case snSkipOn:
		s.skip.on = f.bool()
	case snSkipCfg:
		s.skip.cfg, err = snapMsg(f, &commonpb.TimeSkippingConfig{})
	case snSkipped:
		s.skip.skipped = time.Duration(f.int())
	case snSkipCount:
		s.skip.count = int32(f.int())
	case snSkipFFTarget:
		s.skip.ffTarget, err = f.time()
	case snSkipFFReached:
		s.skip.ffReached = f.bool()
	}
	return err
}

// Workflow task fields. Left out: UpdateIDs (the updates a started task
// delivered are in memory only) and Speculative/Transient (such a task
// makes the run unsnapshotable).
const (
	snWFTScheduledEventID protowire.Number = 1
	snWFTStartedEventID   protowire.Number = 2
	snWFTAttempt          protowire.Number = 3
	snWFTQueue            protowire.Number = 4
	snWFTSticky           protowire.Number = 5
	snWFTScheduledTime    protowire.Number = 6
	snWFTStartedTime      protowire.Number = 7
	snWFTTimeout          protowire.Number = 8
	snWFTRequestID        protowire.Number = 9
	snWFTIdentity         protowire.Number = 10
)

func (t *WorkflowTask) encode(w *snapWriter) {
	w.int(snWFTScheduledEventID, t.ScheduledEventID)
	w.int(snWFTStartedEventID, t.StartedEventID)
	w.int(snWFTAttempt, int64(t.Attempt))
	w.str(snWFTQueue, t.Queue)
	w.bool(snWFTSticky, t.Sticky)
	w.time(snWFTScheduledTime, t.ScheduledTime)
	w.time(snWFTStartedTime, t.StartedTime)
	w.int(snWFTTimeout, int64(t.Timeout))
	w.str(snWFTRequestID, t.RequestID)
	w.str(snWFTIdentity, t.Identity)
}

func (t *WorkflowTask) decodeField(f snapField) error {
	var err error
	switch f.num {
	case snWFTScheduledEventID:
		t.ScheduledEventID = f.int()
	case snWFTStartedEventID:
		t.StartedEventID = f.int()
	case snWFTAttempt:
		t.Attempt = int32(f.int())
	case snWFTQueue:
		t.Queue = f.str()
	case snWFTSticky:
		t.Sticky = f.bool()
	case snWFTScheduledTime:
		t.ScheduledTime, err = f.time()
	case snWFTStartedTime:
		t.StartedTime, err = f.time()
	case snWFTTimeout:
		t.Timeout = time.Duration(f.int())
	case snWFTRequestID:
		t.RequestID = f.str()
	case snWFTIdentity:
		t.Identity = f.str()
	}
	return err
}

// Activity fields. Left out, as Load loses them too: StartedRequestID,
// pauseRequestID, resetRequested, resetHeartbeat.
const (
	snActScheduledEventID protowire.Number = 1
	snActAttrs            protowire.Number = 2
	snActScheduledTime    protowire.Number = 3
	snActAttempt          protowire.Number = 4
	snActAttemptScheduled protowire.Number = 5
	snActNextAttemptTime  protowire.Number = 6
	snActStarted          protowire.Number = 7
	snActStartedTime      protowire.Number = 8
	snActStartedIdentity  protowire.Number = 9
	snActHeartbeatDetails protowire.Number = 10
	snActLastHeartbeat    protowire.Number = 11
	snActLastFailure      protowire.Number = 12
	snActCancelRequested  protowire.Number = 13
	snActCancelEventID    protowire.Number = 14
	snActStartedEventID   protowire.Number = 15
	snActLastAttemptDone  protowire.Number = 16
	snActPaused           protowire.Number = 17
	snActPauseInfo        protowire.Number = 18
	snActOrigAttrs        protowire.Number = 19
)

func (a *Activity) encode(w *snapWriter) {
	w.int(snActScheduledEventID, a.ScheduledEventID)
	w.msg(snActAttrs, a.Attrs)
	w.time(snActScheduledTime, a.ScheduledTime)
	w.int(snActAttempt, int64(a.Attempt))
	w.time(snActAttemptScheduled, a.AttemptScheduledTime)
	w.time(snActNextAttemptTime, a.NextAttemptTime)
	w.bool(snActStarted, a.Started)
	w.time(snActStartedTime, a.StartedTime)
	w.str(snActStartedIdentity, a.StartedIdentity)
	w.msg(snActHeartbeatDetails, a.HeartbeatDetails)
	w.time(snActLastHeartbeat, a.LastHeartbeat)
	w.msg(snActLastFailure, a.LastFailure)
	w.bool(snActCancelRequested, a.CancelRequested)
	w.int(snActCancelEventID, a.CancelEventID)
	w.int(snActStartedEventID, a.StartedEventID)
	w.time(snActLastAttemptDone, a.LastAttemptCompleteTime)
	w.bool(snActPaused, a.Paused)
	w.msg(snActPauseInfo, a.PauseInfo)
	w.msg(snActOrigAttrs, a.origAttrs)
}

func (a *Activity) decodeField(f snapField) error {
	var err error
	switch f.num {
	case snActScheduledEventID:
		a.ScheduledEventID = f.int()
	case snActAttrs:
		a.Attrs, err = snapMsg(f, &historypb.ActivityTaskScheduledEventAttributes{})
	case snActScheduledTime:
		a.ScheduledTime, err = f.time()
	case snActAttempt:
		a.Attempt = int32(f.int())
	case snActAttemptScheduled:
		a.AttemptScheduledTime, err = f.time()
	case snActNextAttemptTime:
		a.NextAttemptTime, err = f.time()
	case snActStarted:
		a.Started = f.bool()
	case snActStartedTime:
		a.StartedTime, err = f.time()
	case snActStartedIdentity:
		a.StartedIdentity = f.str()
	case snActHeartbeatDetails:
		a.HeartbeatDetails, err = snapMsg(f, &commonpb.Payloads{})
	case snActLastHeartbeat:
		a.LastHeartbeat, err = f.time()
	case snActLastFailure:
		a.LastFailure, err = snapMsg(f, &failurepb.Failure{})
	case snActCancelRequested:
		a.CancelRequested = f.bool()
	case snActCancelEventID:
		a.CancelEventID = f.int()
	case snActStartedEventID:
		a.StartedEventID = f.int()
	case snActLastAttemptDone:
		a.LastAttemptCompleteTime, err = f.time()
	case snActPaused:
		a.Paused = f.bool()
	case snActPauseInfo:
		a.PauseInfo, err = snapMsg(f, &workflowpb.PendingActivityInfo_PauseInfo{})
	case snActOrigAttrs:
		a.origAttrs, err = snapMsg(f, &historypb.ActivityTaskScheduledEventAttributes{})
	}
	return err
}

// Nexus operation fields. Left out: TaskHeld, CancelTaskHeld and their
// times (a held task is in memory only; Load sends it again).
const (
	snNexScheduledEventID    protowire.Number = 1
	snNexAttrs               protowire.Number = 2
	snNexScheduledTime       protowire.Number = 3
	snNexAttempt             protowire.Number = 4
	snNexNextAttemptTime     protowire.Number = 5
	snNexLastFailure         protowire.Number = 6
	snNexLastAttemptTime     protowire.Number = 7
	snNexCancelRequested     protowire.Number = 8
	snNexStarted             protowire.Number = 9
	snNexStartedTime         protowire.Number = 10
	snNexOperationToken      protowire.Number = 11
	snNexCancelRequestedID   protowire.Number = 12
	snNexCancelRequestedTime protowire.Number = 13
	snNexCancelState         protowire.Number = 14
	snNexCancelAttempt       protowire.Number = 15
	snNexCancelNextAttempt   protowire.Number = 16
	snNexCancelLastFailure   protowire.Number = 17
	snNexCancelLastAttempt   protowire.Number = 18
)

func (op *NexusOp) encode(w *snapWriter) {
	w.int(snNexScheduledEventID, op.ScheduledEventID)
	w.msg(snNexAttrs, op.Attrs)
	w.time(snNexScheduledTime, op.ScheduledTime)
	w.int(snNexAttempt, int64(op.Attempt))
	w.time(snNexNextAttemptTime, op.NextAttemptTime)
	w.msg(snNexLastFailure, op.LastFailure)
	w.time(snNexLastAttemptTime, op.LastAttemptTime)
	w.bool(snNexCancelRequested, op.CancelRequested)
	w.bool(snNexStarted, op.Started)
	w.time(snNexStartedTime, op.StartedTime)
	w.str(snNexOperationToken, op.OperationToken)
	w.int(snNexCancelRequestedID, op.CancelRequestedEventID)
	w.time(snNexCancelRequestedTime, op.CancelRequestedTime)
	w.uint(snNexCancelState, uint64(op.CancelState))
	w.int(snNexCancelAttempt, int64(op.CancelAttempt))
	w.time(snNexCancelNextAttempt, op.CancelNextAttemptTime)
	w.msg(snNexCancelLastFailure, op.CancelLastFailure)
	w.time(snNexCancelLastAttempt, op.CancelLastAttemptTime)
}

func (op *NexusOp) decodeField(f snapField) error {
	var err error
	switch f.num {
	case snNexScheduledEventID:
		op.ScheduledEventID = f.int()
	case snNexAttrs:
		op.Attrs, err = snapMsg(f, &historypb.NexusOperationScheduledEventAttributes{})
	case snNexScheduledTime:
		op.ScheduledTime, err = f.time()
	case snNexAttempt:
		op.Attempt = int32(f.int())
	case snNexNextAttemptTime:
		op.NextAttemptTime, err = f.time()
	case snNexLastFailure:
		op.LastFailure, err = snapMsg(f, &failurepb.Failure{})
	case snNexLastAttemptTime:
		op.LastAttemptTime, err = f.time()
	case snNexCancelRequested:
		op.CancelRequested = f.bool()
	case snNexStarted:
		op.Started = f.bool()
	case snNexStartedTime:
		op.StartedTime, err = f.time()
	case snNexOperationToken:
		op.OperationToken = f.str()
	case snNexCancelRequestedID:
		op.CancelRequestedEventID = f.int()
	case snNexCancelRequestedTime:
		op.CancelRequestedTime, err = f.time()
	case snNexCancelState:
		op.CancelState = enumspb.NexusOperationCancellationState(f.v)
	case snNexCancelAttempt:
		op.CancelAttempt = int32(f.int())
	case snNexCancelNextAttempt:
		op.CancelNextAttemptTime, err = f.time()
	case snNexCancelLastFailure:
		op.CancelLastFailure, err = snapMsg(f, &failurepb.Failure{})
	case snNexCancelLastAttempt:
		op.CancelLastAttemptTime, err = f.time()
	}
	return err
}

const (
	snTimerID       protowire.Number = 1
	snTimerStarted  protowire.Number = 2
	snTimerFireTime protowire.Number = 3
)

func (t *Timer) encode(w *snapWriter) {
	w.strAlways(snTimerID, t.ID)
	w.int(snTimerStarted, t.StartedEventID)
	w.time(snTimerFireTime, t.FireTime)
}

func (t *Timer) decodeField(f snapField) error {
	var err error
	switch f.num {
	case snTimerID:
		t.ID = f.str()
	case snTimerStarted:
		t.StartedEventID = f.int()
	case snTimerFireTime:
		t.FireTime, err = f.time()
	}
	return err
}

const (
	snChildInitiated      protowire.Number = 1
	snChildAttrs          protowire.Number = 2
	snChildStartedEventID protowire.Number = 3
	snChildRunID          protowire.Number = 4
	snChildStarted        protowire.Number = 5
	snChildUserMetadata   protowire.Number = 6
	snChildInheritedPin   protowire.Number = 7
	snChildInheritedOvr   protowire.Number = 8
)

func (c *Child) encode(w *snapWriter) {
	w.int(snChildInitiated, c.InitiatedEventID)
	w.msg(snChildAttrs, c.Attrs)
	w.int(snChildStartedEventID, c.StartedEventID)
	w.str(snChildRunID, c.RunID)
	w.bool(snChildStarted, c.Started)
	w.msg(snChildUserMetadata, c.UserMetadata)
	w.msg(snChildInheritedPin, c.InheritedPin)
	w.msg(snChildInheritedOvr, c.InheritedOverride)
}

func (c *Child) decodeField(f snapField) error {
	var err error
	switch f.num {
	case snChildInitiated:
		c.InitiatedEventID = f.int()
	case snChildAttrs:
		c.Attrs, err = snapMsg(f, &historypb.StartChildWorkflowExecutionInitiatedEventAttributes{})
	case snChildStartedEventID:
		c.StartedEventID = f.int()
	case snChildRunID:
		c.RunID = f.str()
	case snChildStarted:
		c.Started = f.bool()
	case snChildUserMetadata:
		c.UserMetadata, err = snapMsg(f, &sdkpb.UserMetadata{})
	case snChildInheritedPin:
		c.InheritedPin, err = snapMsg(f, &deploymentpb.WorkerDeploymentVersion{})
	case snChildInheritedOvr:
		c.InheritedOverride, err = snapMsg(f, &workflowpb.VersioningOverride{})
	}
	return err
}

const (
	snExtInitiated protowire.Number = 1
	snExtSignal    protowire.Number = 2
	snExtCancel    protowire.Number = 3
)

func (e *External) encode(w *snapWriter) {
	w.int(snExtInitiated, e.InitiatedEventID)
	w.msg(snExtSignal, e.Signal)
	w.msg(snExtCancel, e.Cancel)
}

func (e *External) decodeField(f snapField) error {
	var err error
	switch f.num {
	case snExtInitiated:
		e.InitiatedEventID = f.int()
	case snExtSignal:
		e.Signal, err = snapMsg(f, &historypb.SignalExternalWorkflowExecutionInitiatedEventAttributes{})
	case snExtCancel:
		e.Cancel, err = snapMsg(f, &historypb.RequestCancelExternalWorkflowExecutionInitiatedEventAttributes{})
	}
	return err
}

// Update fields: only what history events give an update (see
// snapshotUpdate); Pinned, Rejected, Abort and MovedFrom are in memory
// only, and seq is renumbered on load as replay numbers it.
const (
	snUpdID        protowire.Number = 1
	snUpdState     protowire.Number = 2
	snUpdRequest   protowire.Number = 3
	snUpdAccepted  protowire.Number = 4
	snUpdOutcome   protowire.Number = 5
	snUpdInHistory protowire.Number = 6
)

func (u *Update) encode(w *snapWriter) {
	w.strAlways(snUpdID, u.ID)
	w.uint(snUpdState, uint64(u.State))
	w.msg(snUpdRequest, u.Request)
	w.int(snUpdAccepted, u.AcceptedEventID)
	w.msg(snUpdOutcome, u.Outcome)
	w.bool(snUpdInHistory, u.InHistory)
}

func (u *Update) decodeField(f snapField) error {
	var err error
	switch f.num {
	case snUpdID:
		u.ID = f.str()
	case snUpdState:
		u.State = UpdateState(f.v)
	case snUpdRequest:
		u.Request, err = snapMsg(f, &updatepb.Request{})
	case snUpdAccepted:
		u.AcceptedEventID = f.int()
	case snUpdOutcome:
		u.Outcome, err = snapMsg(f, &updatepb.Outcome{})
	case snUpdInHistory:
		u.InHistory = f.bool()
	}
	return err
}

// sortedKeys returns a map's keys in order, so a snapshot's bytes depend
// only on the state.
func sortedKeys[K int64 | string, V any](m map[K]V) []K {
	if len(m) == 0 {
		return nil
	}
	out := make([]K, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}
