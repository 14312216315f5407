package engine

import (
	"context"
	"os"
	"strings"

	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/serviceerror"

	"github.com/sundial-io/sundial/internal/execution"
	"github.com/sundial-io/sundial/internal/store"
)

// A run not in memory is loaded from its record's snapshot when it has one
// (execution.LoadSnapshot): one read, whatever the length of its history.
// Its history is then not cached; it is read from the store when something
// needs it (a poll that sends the full history, GetWorkflowExecutionHistory),
// and the first full read fills the cache again (history.go). Runs stored
// without a snapshot (closed runs, runs written before snapshots existed,
// runs with a held-back workflow task when they were last written) load by
// replay as before.
//
// In check mode (Options.CheckSnapshots, or SUNDIAL_TEST_SNAPSHOT_CHECK=1
// for the binary) every load from a snapshot also replays the history and
// compares the two states (execution.SnapshotDiff); a difference is logged
// as an error and fails the load, so tests and tortures cannot miss it.

// snapshotCheckEnv turns check mode on in any engine (tortures and
// benchmarks run the binary).
const snapshotCheckEnv = "SUNDIAL_TEST_SNAPSHOT_CHECK"

func snapshotCheckFromEnv() bool {
	v := os.Getenv(snapshotCheckEnv)
	return v != "" && v != "0"
}

// loadState rebuilds a run from its record: from the snapshot when it has
// a usable one (events is then nil), else by replaying its history.
func (e *Engine) loadState(ctx context.Context, rec *store.RunRecord) (*execution.State, []*historypb.HistoryEvent, error) {
	st, err := execution.LoadSnapshot(rec)
	if err == nil {
		e.snapshotLoads.Add(1)
		if e.checkSnapshots {
			if err := e.checkSnapshot(ctx, rec, st); err != nil {
				return nil, nil, err
			}
		}
		st.SetLimits(e.limits)
		return st, nil, nil
	}
	if len(rec.Snapshot) > 0 {
		// Another version (written by a newer build) or corrupt: replay,
		// and the next write stores this build's snapshot.
		e.log.Warn("run snapshot not usable; replaying its history", "namespace", rec.Namespace, "workflow", rec.WorkflowID, "run", rec.RunID, "err", err)
	}
	events, err := e.store.History(ctx, rec.Namespace, rec.RunID, 1, 0)
	if err != nil {
		return nil, nil, serviceerror.NewUnavailable("reading history: " + err.Error())
	}
	st = execution.Load(rec, events)
	st.SetLimits(e.limits)
	return st, events, nil
}

// checkSnapshot replays the run's history and fails when the state loaded
// from the snapshot differs (check mode).
func (e *Engine) checkSnapshot(ctx context.Context, rec *store.RunRecord, fromSnapshot *execution.State) error {
	events, err := e.store.History(ctx, rec.Namespace, rec.RunID, 1, 0)
	if err != nil {
		return serviceerror.NewUnavailable("reading history: " + err.Error())
	}
	replayRec := *rec
	replayRec.Snapshot = nil
	replayed := execution.Load(&replayRec, events)
	diff := execution.SnapshotDiff(fromSnapshot, replayed)
	if len(diff) == 0 {
		// Say that the check runs (visible at --log-level warn, which the
		// tortures use), at 1, 2, 4, 8, ... checked loads.
		if n := e.snapshotChecked.Add(1); n&(n-1) == 0 {
			e.log.Warn("snapshot check mode: runs loaded from their snapshot and checked against their replayed history",
				"checked", n, "mismatches", e.snapshotMismatches.Load())
		}
		return nil
	}
	e.snapshotMismatches.Add(1)
	e.log.Error("SNAPSHOT MISMATCH: the run loaded from its snapshot differs from its replayed history",
		"namespace", rec.Namespace, "workflow", rec.WorkflowID, "run", rec.RunID, "diff", strings.Join(diff, "; "))
	return serviceerror.NewInternal("sundial: run snapshot differs from its history (check mode): " + strings.Join(diff, "; "))
}

// SnapshotStats reports runs loaded from a snapshot since start, and in
// check mode how many of them differed from their replayed history.
func (e *Engine) SnapshotStats() (loads, mismatches int64) {
	return e.snapshotLoads.Load(), e.snapshotMismatches.Load()
}
