package torture

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
)

// Schedules in the torture: a few schedules fire every 1 or 2 s (overlap
// ALLOW_ALL, so every nominal time starts a workflow) while the server is
// SIGKILLed; one has a limit of remaining actions. Their workflows go to a
// queue no worker polls: only their starts matter. After the load the
// schedules are paused, the server is killed once more, and the verifier
// checks from the workflows' TemporalScheduledStartTime that each schedule
// started exactly one workflow per nominal time from its first action to
// its last (the default catch-up window, a year, covers every downtime),
// none before the schedule was created, that it kept firing until it was
// paused, that its action count matches, and that a limited schedule took
// exactly its limit.

// schedLimit is the remaining-actions limit of the limited schedule.
const schedLimit = 4

type schedState struct {
	id       string
	every    time.Duration
	limit    int // 0: unlimited
	created  time.Time
	acked    bool
	pausedAt time.Time // when the pause was acknowledged (zero: never)
}

// retry calls fn until it succeeds, fn reports a final error (ok false),
// or ctx ends.
func retry(ctx context.Context, fn func(ctx context.Context) (done bool, err error)) error {
	var last error
	for ctx.Err() == nil {
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		done, err := fn(cctx)
		cancel()
		if done {
			return err
		}
		last = err
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("%w (last error: %v)", ctx.Err(), last)
}

// createSchedules creates n schedules (the first one limited), retrying
// across kills; an "already exists" after a retry means an earlier
// attempt got through.
func createSchedules(ctx context.Context, c client.Client, seed int64, n int, logf func(string, ...any)) []*schedState {
	var out []*schedState
	for i := range n {
		s := &schedState{id: fmt.Sprintf("torture-sched-%d-%d", seed, i), every: time.Duration(1+i%2) * time.Second}
		if i == 0 {
			s.limit = schedLimit
		}
		s.created = time.Now()
		err := retry(ctx, func(ctx context.Context) (bool, error) {
			_, err := c.ScheduleClient().Create(ctx, client.ScheduleOptions{
				ID:   s.id,
				Spec: client.ScheduleSpec{Intervals: []client.ScheduleIntervalSpec{{Every: s.every}}},
				Action: &client.ScheduleWorkflowAction{
					ID: s.id + "-wf", Workflow: "TortureScheduled", TaskQueue: fmt.Sprintf("torture-sched-%d", seed),
				},
				Overlap:          enumspb.SCHEDULE_OVERLAP_POLICY_ALLOW_ALL,
				RemainingActions: s.limit,
			})
			if err == nil || errors.Is(err, temporal.ErrScheduleAlreadyRunning) {
				return true, nil
			}
			return false, err
		})
		if err != nil {
			logf("torture: schedule %s not created: %v", s.id, err)
			continue
		}
		s.acked = true
		out = append(out, s)
	}
	return out
}

// pauseSchedules stops every schedule before the final kill, so that what
// the verifier reads afterwards no longer changes.
func pauseSchedules(ctx context.Context, c client.Client, scheds []*schedState, logf func(string, ...any)) {
	for _, s := range scheds {
		err := retry(ctx, func(ctx context.Context) (bool, error) {
			err := c.ScheduleClient().GetHandle(ctx, s.id).Pause(ctx, client.SchedulePauseOptions{Note: "torture: load done"})
			return err == nil, err
		})
		if err != nil {
			logf("torture: schedule %s not paused: %v", s.id, err)
			continue
		}
		s.pausedAt = time.Now()
	}
}

// checkSchedule verifies one schedule against the workflows it started.
func (v *verifier) checkSchedule(s *schedState) {
	t, rep := v.t, v.t.rep
	t.inc(&rep.SchedulesChecked, 1)
	var desc *client.ScheduleDescription
	err := retry(v.ctx, func(ctx context.Context) (bool, error) {
		d, err := v.c.ScheduleClient().GetHandle(ctx, s.id).Describe(ctx)
		desc = d
		return err == nil, err
	})
	if err != nil {
		t.violate(&rep.Lost, "schedule %s: acknowledged but not described: %v", s.id, err)
		return
	}
	times, runs, err := v.scheduledStarts(s.id)
	if err != nil {
		t.violate(&rep.Lost, "schedule %s: listing its workflows: %v", s.id, err)
		return
	}
	t.inc(&rep.ScheduledRuns, runs)
	if runs != len(times) {
		t.violate(&rep.Duplicated, "schedule %s: %d workflow runs for %d nominal times", s.id, runs, len(times))
	}
	nominal := make([]time.Time, 0, len(times))
	for tm, n := range times {
		if n > 1 {
			t.violate(&rep.Duplicated, "schedule %s: nominal time %s started %d workflows", s.id, tm.Format(time.RFC3339Nano), n)
		}
		nominal = append(nominal, tm)
	}
	sort.Slice(nominal, func(i, j int) bool { return nominal[i].Before(nominal[j]) })
	if got := desc.Info.NumActions; got != len(nominal) {
		t.violate(&rep.Lost, "schedule %s: describe counts %d actions, %d workflows exist", s.id, got, len(nominal))
	}
	if s.limit > 0 {
		if len(nominal) != s.limit {
			t.violate(&rep.WrongResult, "schedule %s: limited to %d actions, started %d", s.id, s.limit, len(nominal))
		}
		if r := desc.Schedule.State.RemainingActions; r != 0 {
			t.violate(&rep.WrongResult, "schedule %s: %d remaining actions after its workflows ran", s.id, r)
		}
	}
	if len(nominal) == 0 {
		t.violate(&rep.Lost, "schedule %s: never fired", s.id)
		return
	}
	if first := nominal[0]; first.Before(s.created.Add(-s.every)) || first.After(s.created.Add(s.every+5*time.Second)) {
		t.violate(&rep.WrongResult, "schedule %s: first nominal time %s, created at %s", s.id, first.Format(time.RFC3339Nano), s.created.Format(time.RFC3339Nano))
	}
	for i := 1; i < len(nominal); i++ {
		if gap := nominal[i].Sub(nominal[i-1]); gap != s.every {
			t.violate(&rep.Lost, "schedule %s: %v between nominal times %s and %s (every %v): missed %d", s.id, gap,
				nominal[i-1].Format(time.RFC3339Nano), nominal[i].Format(time.RFC3339Nano), s.every, int(gap/s.every)-1)
		}
	}
	// An unlimited schedule fired until it was paused.
	if last := nominal[len(nominal)-1]; s.limit == 0 && !s.pausedAt.IsZero() && last.Before(s.pausedAt.Add(-s.every-3*time.Second)) {
		t.violate(&rep.Lost, "schedule %s: last nominal time %s, paused only at %s", s.id, last.Format(time.RFC3339Nano), s.pausedAt.Format(time.RFC3339Nano))
	}
}

// scheduledStarts lists the workflow runs a schedule started, by their
// nominal time (TemporalScheduledStartTime), and counts the runs.
func (v *verifier) scheduledStarts(id string) (map[time.Time]int, int, error) {
	var (
		times map[time.Time]int
		runs  int
	)
	err := retry(v.ctx, func(ctx context.Context) (bool, error) {
		times, runs = map[time.Time]int{}, 0
		var token []byte
		for {
			resp, err := v.c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
				Namespace: "default", PageSize: 1000, NextPageToken: token,
				Query: fmt.Sprintf("TemporalScheduledById = '%s'", id),
			})
			if err != nil {
				var inv *serviceerror.InvalidArgument
				return errors.As(err, &inv), err
			}
			for _, ex := range resp.Executions {
				p := ex.GetSearchAttributes().GetIndexedFields()["TemporalScheduledStartTime"]
				var tm time.Time
				if err := converter.GetDefaultDataConverter().FromPayload(p, &tm); err != nil {
					return true, fmt.Errorf("run %s: TemporalScheduledStartTime: %w", ex.GetExecution().GetRunId(), err)
				}
				times[tm.UTC()]++
				runs++
			}
			if token = resp.NextPageToken; len(token) == 0 {
				return true, nil
			}
		}
	})
	return times, runs, err
}
