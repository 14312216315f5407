package execution

import (
	"errors"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	historypb "go.temporal.io/api/history/v1"

	"github.com/sundial-io/sundial/internal/store"
)

// snapshotsChecked counts the harness steps whose snapshot was compared
// with replay, so TestSnapshotCoverage can tell the check is not vacuous.
var snapshotsChecked atomic.Int64

// checkSnapshot is run by the harness after every step of every scenario
// (checkReplay): the run's record, passed through the store encoding, must
// carry a snapshot exactly when the run is snapshotable, and the state
// LoadSnapshot rebuilds from it must be the state Load(record, history)
// replays, field by field (SnapshotDiff, reflection-based: a field added
// to State and forgotten by the encoding shows up here as soon as a
// scenario sets it).
func checkSnapshot(t *testing.T, where string, live *State, events []*historypb.HistoryEvent) {
	t.Helper()
	rec := storedRecord(t, live)
	if !live.snapshotable() {
		if len(rec.Snapshot) != 0 {
			t.Fatalf("%s: a run that is not snapshotable was stored with a snapshot", where)
		}
		return
	}
	if len(rec.Snapshot) == 0 {
		w := &snapWriter{b: []byte{snapshotVersion}}
		live.encodeSnapshot(w)
		if w.err == nil && len(w.b) > MaxSnapshotBytes {
			return // too large: stored without one, on purpose
		}
		t.Fatalf("%s: a snapshotable run was stored without a snapshot (%d bytes, %v)", where, len(w.b), w.err)
	}
	fromSnap, err := LoadSnapshot(rec)
	if err != nil {
		t.Fatalf("%s: LoadSnapshot: %v", where, err)
	}
	evs := make([]*historypb.HistoryEvent, len(events))
	for i, ev := range events {
		evs[i] = clone(ev)
	}
	replayed := Load(storedRecord(t, live), evs)
	if d := SnapshotDiff(fromSnap, replayed); len(d) > 0 {
		t.Fatalf("%s: the state loaded from the snapshot differs from replay:\n  %s", where, strings.Join(d, "\n  "))
	}
	// A state loaded from a snapshot snapshots to the same state.
	again := *rec
	again.Snapshot = fromSnap.Snapshot()
	twice, err := LoadSnapshot(&again)
	if err != nil {
		t.Fatalf("%s: LoadSnapshot of a loaded state's snapshot: %v", where, err)
	}
	if d := Diff(twice, fromSnap); len(d) > 0 {
		t.Fatalf("%s: a state loaded from a snapshot snapshots differently:\n  %s", where, strings.Join(d, "\n  "))
	}
	snapshotsChecked.Add(1)
}

// storedRecord is live's record after a round trip through the store's
// encoding.
func storedRecord(t *testing.T, live *State) *store.RunRecord {
	t.Helper()
	b, err := live.Record().Marshal()
	if err != nil {
		t.Fatalf("marshal record: %v", err)
	}
	var rec store.RunRecord
	if err := rec.Unmarshal(b); err != nil {
		t.Fatalf("unmarshal record: %v", err)
	}
	return &rec
}

// snapshotFields classifies every field of State and of the structs it
// holds: encoded in the snapshot, taken from the record, or left out (and
// why). TestSnapshotFieldsClassified fails when a field is added without
// deciding which.
var snapshotFields = map[string]string{
	"State.Namespace": "record", "State.WorkflowID": "record", "State.RunID": "record",
	"State.StartRequestID": "record", "State.StoredDue": "record (Due)", "State.Buffered": "record",
	"State.StartMetadata": "encoded", "State.lim": "engine sets it (SetLimits)",
	"State.activityRules": "engine sets it before each change (SetActivityRules): the namespace's workflow rules, not the run's state",
	"State.resetPoints":   "encoded", "State.Start": "encoded", "State.StartTime": "encoded",
	"State.Status": "encoded", "State.CloseTime": "encoded", "State.CloseEvent": "encoded",
	"State.NextEventID": "encoded", "State.HistorySize": "encoded", "State.LastEventTime": "encoded",
	"State.WFT": "encoded", "State.PrevStartedEventID": "encoded", "State.firstTaskScheduled": "encoded",
	"State.failedWFTs": "encoded", "State.StickyQueue": "memory only (sticky assignment)",
	"State.StickyTimeout": "memory only (sticky assignment)", "State.Activities": "encoded",
	"State.NexusOps": "encoded", "State.nexusEndpoints": "set per workflow task completion",
	"State.activityIDs": "rebuilt from Activities", "State.Timers": "encoded", "State.Children": "encoded",
	"State.ExternalSignals": "encoded", "State.ExternalCancels": "encoded", "State.Updates": "encoded (history-backed ones)",
	"State.updateSeq": "renumbered as replay does", "State.signalRequests": "encoded",
	"State.CancelRequested": "encoded", "State.Reset": "encoded (times) + record (ids)",
	"State.Memo": "encoded", "State.Search": "encoded", "State.priority": "encoded",
	"State.priorityUpdated": "encoded", "State.ver": "encoded", "State.bufferedBytes": "encoded",
	"State.spec": "not snapshotable while set", "State.specMode": "set within one operation",
	"State.specSnap": "read only while spec is set", "State.dropped": "set within one operation",
	"State.closeAttempted": "encoded", "State.completing": "set within one operation",
	"State.attached": "encoded", "State.out": "outbox, taken by every write",
	"State.paused": "encoded", "State.skip": "encoded",

	"timeSkipping.on": "encoded", "timeSkipping.cfg": "encoded", "timeSkipping.skipped": "encoded",
	"timeSkipping.count": "encoded", "timeSkipping.ffTarget": "encoded", "timeSkipping.ffReached": "encoded",

	"WorkflowTask.ScheduledEventID": "encoded", "WorkflowTask.StartedEventID": "encoded",
	"WorkflowTask.Attempt": "encoded", "WorkflowTask.Queue": "encoded", "WorkflowTask.Sticky": "encoded",
	"WorkflowTask.Speculative": "not snapshotable while set", "WorkflowTask.Transient": "not snapshotable while set",
	"WorkflowTask.ScheduledTime": "encoded", "WorkflowTask.StartedTime": "encoded", "WorkflowTask.Timeout": "encoded",
	"WorkflowTask.RequestID": "encoded", "WorkflowTask.Identity": "encoded",
	"WorkflowTask.UpdateIDs": "memory only (updates delivered with a started task)",

	"Activity.ScheduledEventID": "encoded", "Activity.Attrs": "encoded", "Activity.ScheduledTime": "encoded",
	"Activity.Attempt": "encoded", "Activity.AttemptScheduledTime": "encoded", "Activity.NextAttemptTime": "encoded",
	"Activity.Started": "encoded", "Activity.StartedTime": "encoded", "Activity.StartedIdentity": "encoded",
	"Activity.StartedRequestID": "memory only (Load loses it)", "Activity.HeartbeatDetails": "encoded",
	"Activity.LastHeartbeat": "encoded", "Activity.LastFailure": "encoded", "Activity.CancelRequested": "encoded",
	"Activity.CancelEventID": "encoded", "Activity.StartedEventID": "encoded", "Activity.LastAttemptCompleteTime": "encoded",
	"Activity.Paused": "encoded", "Activity.PauseInfo": "encoded", "Activity.pauseRequestID": "memory only (Load loses it)",
	"Activity.resetRequested": "memory only (Load loses it)", "Activity.resetHeartbeat": "memory only (Load loses it)",
	"Activity.origAttrs": "encoded",

	"NexusOp.ScheduledEventID": "encoded", "NexusOp.Attrs": "encoded", "NexusOp.ScheduledTime": "encoded",
	"NexusOp.Attempt": "encoded", "NexusOp.TaskHeld": "memory only (a held task is sent again)",
	"NexusOp.TaskHeldTime": "memory only", "NexusOp.NextAttemptTime": "encoded", "NexusOp.LastFailure": "encoded",
	"NexusOp.LastAttemptTime": "encoded", "NexusOp.CancelRequested": "encoded", "NexusOp.Started": "encoded",
	"NexusOp.StartedTime": "encoded", "NexusOp.OperationToken": "encoded", "NexusOp.CancelRequestedEventID": "encoded",
	"NexusOp.CancelRequestedTime": "encoded", "NexusOp.CancelState": "encoded", "NexusOp.CancelAttempt": "encoded",
	"NexusOp.CancelTaskHeld": "memory only (a held task is sent again)", "NexusOp.CancelTaskHeldTime": "memory only",
	"NexusOp.CancelNextAttemptTime": "encoded", "NexusOp.CancelLastFailure": "encoded", "NexusOp.CancelLastAttemptTime": "encoded",

	"Timer.ID": "encoded", "Timer.StartedEventID": "encoded", "Timer.FireTime": "encoded",

	"Child.InitiatedEventID": "encoded", "Child.Attrs": "encoded", "Child.StartedEventID": "encoded",
	"Child.RunID": "encoded", "Child.Started": "encoded", "Child.UserMetadata": "encoded",
	"Child.InheritedPin": "encoded", "Child.InheritedOverride": "encoded",

	"External.InitiatedEventID": "encoded", "External.Signal": "encoded", "External.Cancel": "encoded",

	"Update.ID": "encoded", "Update.State": "encoded", "Update.Request": "encoded", "Update.AcceptedEventID": "encoded",
	"Update.Outcome": "encoded", "Update.Rejected": "memory only (rejected updates are not kept)",
	"Update.Abort": "memory only (aborted updates are not kept)", "Update.Pinned": "memory only",
	"Update.InHistory": "encoded", "Update.MovedFrom": "memory only", "Update.seq": "renumbered as replay does",

	"ResetInfo.RunID": "record", "ResetInfo.RequestID": "record", "ResetInfo.Time": "encoded",
	"ResetInfo.OriginalStartTime": "encoded",

	"versioning.behavior": "encoded", "versioning.version": "encoded", "versioning.override": "encoded",
	"versioning.used": "encoded",

	"nexusAttached.callbacks": "encoded", "nexusAttached.requestIDs": "encoded",

	"specSnapshot.nextEventID": "see State.specSnap", "specSnapshot.historySize": "see State.specSnap",
	"specSnapshot.lastEventTime": "see State.specSnap", "specSnapshot.failedWFTs": "see State.specSnap",
}

// TestSnapshotFieldsClassified walks State and the structs of this package
// it holds and fails on any field snapshotFields does not classify.
func TestSnapshotFieldsClassified(t *testing.T) {
	seen := map[string]bool{}
	var walk func(reflect.Type)
	walk = func(typ reflect.Type) {
		for typ.Kind() == reflect.Pointer || typ.Kind() == reflect.Slice || typ.Kind() == reflect.Map {
			typ = typ.Elem()
		}
		if typ.Kind() != reflect.Struct || typ.PkgPath() != reflect.TypeOf(State{}).PkgPath() || seen[typ.Name()] {
			return
		}
		seen[typ.Name()] = true
		for i := 0; i < typ.NumField(); i++ {
			f := typ.Field(i)
			name := typ.Name() + "." + f.Name
			if _, ok := snapshotFields[name]; !ok {
				t.Errorf("field %s (%v) is not classified in snapshotFields: encode it in snapshot.go (and Load must rebuild it), or say why it is left out", name, f.Type)
			}
			if name != "State.out" && name != "State.lim" && name != "State.activityRules" { // not the run's state
				walk(f.Type)
			}
		}
	}
	walk(reflect.TypeOf(State{}))
	var stale []string
	for name := range snapshotFields {
		if !seen[strings.SplitN(name, ".", 2)[0]] {
			stale = append(stale, name)
		}
	}
	sort.Strings(stale)
	if len(stale) > 0 {
		t.Errorf("snapshotFields names types no longer held by State: %v", stale)
	}
}

// TestSnapshotVersionAndCorruption: a snapshot of another version or a
// corrupt one is refused with ErrNoSnapshot (the engine then replays), and
// no truncation of a real snapshot panics.
func TestSnapshotVersionAndCorruption(t *testing.T) {
	h := newHarness(t, startAttrs())
	h.pollComplete(scheduleActivity("a"), startTimer("t", 3600e9))
	rec := storedRecord(t, h.s)
	if _, err := LoadSnapshot(rec); err != nil {
		t.Fatalf("LoadSnapshot: %v", err)
	}
	if _, err := LoadSnapshot(&store.RunRecord{RunID: "r"}); !errors.Is(err, ErrNoSnapshot) {
		t.Fatalf("no snapshot: %v", err)
	}
	other := *rec
	other.Snapshot = append([]byte{snapshotVersion + 1}, rec.Snapshot[1:]...)
	if _, err := LoadSnapshot(&other); !errors.Is(err, ErrNoSnapshot) {
		t.Fatalf("other version: %v", err)
	}
	for n := 0; n < len(rec.Snapshot); n++ {
		cut := *rec
		cut.Snapshot = rec.Snapshot[:n]
		if _, err := LoadSnapshot(&cut); err != nil && !errors.Is(err, ErrNoSnapshot) {
			t.Fatalf("truncated to %d: error %v does not wrap ErrNoSnapshot", n, err)
		}
	}
	bad := *rec
	bad.Snapshot = append(append([]byte(nil), rec.Snapshot...), 0x1a, 0x7f) // field 3, length past the end
	if _, err := LoadSnapshot(&bad); !errors.Is(err, ErrNoSnapshot) {
		t.Fatalf("corrupt tail accepted: %v", err)
	}
}

// TestSnapshotSkipsClosedAndHeldBack: closed runs, runs whose workflow
// task holds its events back and runs too large are stored without a
// snapshot.
func TestSnapshotSkipsClosedAndHeldBack(t *testing.T) {
	h := newHarness(t, startAttrs())
	h.pollComplete(startTimer("t", 3600e9))
	if len(h.s.Snapshot()) == 0 {
		t.Fatal("an open sleeping run has no snapshot")
	}
	if _, err := h.s.AdmitUpdate(h.now, updateRequest("u1"), false); err != nil {
		t.Fatal(err)
	}
	if len(h.s.SpeculativeEvents()) == 0 {
		t.Fatal("setup: no speculative task")
	}
	if h.s.Snapshot() != nil {
		t.Fatal("a run with a speculative task has a snapshot")
	}
	h.sync("AdmitUpdate")
	h2 := newHarness(t, startAttrs())
	h2.pollComplete(completeWF("done"))
	if h2.s.Snapshot() != nil {
		t.Fatal("a closed run has a snapshot")
	}
	big := newHarness(t, startAttrs(func(a *historypb.WorkflowExecutionStartedEventAttributes) {
		a.Input = payloads(strings.Repeat("x", MaxSnapshotBytes))
	}))
	if big.s.Snapshot() != nil {
		t.Fatal("a run whose state encodes larger than MaxSnapshotBytes has a snapshot")
	}
}

// TestSnapshotCoverage runs last in this file's order of declaration only
// by name; it checks that the harness compared snapshots at all.
func TestSnapshotCoverage(t *testing.T) {
	h := newHarness(t, startAttrs())
	h.pollComplete(scheduleActivity("a"))
	if snapshotsChecked.Load() == 0 {
		t.Fatal("no harness step compared a snapshot with replay")
	}
}

// TestSnapshotWireNested: nested fields longer than one length byte holds
// are moved into place correctly, at every length around the boundaries.
func TestSnapshotWireNested(t *testing.T) {
	for _, n := range []int{0, 1, 120, 125, 126, 127, 128, 200, 16000, 16383, 16384, 20000} {
		w := &snapWriter{}
		w.int(1, 7)
		w.nested(2, func(w *snapWriter) { w.strAlways(1, strings.Repeat("x", n)); w.int(2, 42) })
		w.int(3, 9)
		var got []string
		err := readSnapFields(w.b, func(f snapField) error {
			switch f.num {
			case 2:
				return readSnapFields(f.b, func(g snapField) error {
					if g.num == 1 && len(g.b) != n {
						t.Errorf("n=%d: inner string of %d bytes", n, len(g.b))
					}
					got = append(got, "inner", strconv.Itoa(int(g.v)))
					return nil
				})
			default:
				got = append(got, strconv.Itoa(int(f.num)), strconv.Itoa(int(f.v)))
			}
			return nil
		})
		if err != nil {
			t.Fatalf("n=%d: %v", n, err)
		}
		if want := "1 7 inner 0 inner 42 3 9"; strings.Join(got, " ") != want {
			t.Fatalf("n=%d: got %v, want %s", n, got, want)
		}
	}
}
