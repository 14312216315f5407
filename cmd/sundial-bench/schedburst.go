package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
)

// schedburst answers "can the server start N scheduled workflows that all
// fire at the same minute?": it creates -sched-count schedules whose
// calendar matches one instant only (second, minute, hour, day, month and
// year all fixed: each fires exactly once), waits for that instant, and
// reads every workflow the schedules started from visibility. No worker
// runs: what is measured is the start, the workflows stay open (with a
// -sched-wf-timeout execution timeout, so a server reached at -address
// cleans them up).
//
// Main phase: one "operation" per started workflow; its latency is the
// start delay (StartTime minus TemporalScheduledStartTime), the wall time
// runs from the fire instant to the last start.

// schedFireTime is the first whole minute at least lead from now.
func schedFireTime(now time.Time, lead time.Duration) time.Time {
	t := now.Add(lead).Truncate(time.Minute)
	if t.Before(now.Add(lead)) {
		t = t.Add(time.Minute)
	}
	return t.UTC()
}

// onceSpec is a calendar matching t (to the second) and nothing else.
func onceSpec(t time.Time) client.ScheduleSpec {
	one := func(v int) []client.ScheduleRange { return []client.ScheduleRange{{Start: v}} }
	return client.ScheduleSpec{Calendars: []client.ScheduleCalendarSpec{{
		Second: one(t.Second()), Minute: one(t.Minute()), Hour: one(t.Hour()),
		DayOfMonth: one(t.Day()), Month: one(int(t.Month())), Year: one(t.Year()),
	}}}
}

func parseOverlap(s string) (enumspb.ScheduleOverlapPolicy, error) {
	v, ok := enumspb.ScheduleOverlapPolicy_value["SCHEDULE_OVERLAP_POLICY_"+strings.ToUpper(s)]
	if !ok || v == 0 {
		return 0, fmt.Errorf("-sched-overlap %q: want skip, buffer_one, buffer_all, cancel_other, terminate_other or allow_all", s)
	}
	return enumspb.ScheduleOverlapPolicy(v), nil
}

func runSchedBurst(ctx context.Context, e *env) outcome {
	n := e.cfg.schedCount
	extra := map[string]float64{}
	out := outcome{extra: extra}
	overlap, err := parseOverlap(e.cfg.schedOverlap)
	if err != nil {
		out.err = err
		return out
	}
	fire := schedFireTime(time.Now(), e.cfg.schedLead)
	wfType := "SchedBurst-" + strings.TrimPrefix(e.prefix, "bench-schedburst-")
	schedID := func(i int) string { return fmt.Sprintf("%s-s%d", e.prefix, i) }
	fmt.Printf("schedburst: creating %d schedules (overlap %s) firing at %s\n", n, overlap, fire.Format(time.RFC3339))

	sc := e.c.ScheduleClient()
	create := runOps(ctx, n, e.cfg.concurrency, e.cfg.opTimeout, func(ctx context.Context, _, i int) error {
		_, err := sc.Create(ctx, client.ScheduleOptions{
			ID:      schedID(i),
			Spec:    onceSpec(fire),
			Overlap: overlap,
			Action: &client.ScheduleWorkflowAction{
				ID:                       fmt.Sprintf("%s-w%d", e.prefix, i),
				Workflow:                 wfType,
				TaskQueue:                e.taskQueue,
				WorkflowExecutionTimeout: e.cfg.schedWFTimeout,
			},
		})
		return err
	})
	cl := summarize(create.lat)
	extra["create_rate"] = create.rate()
	extra["create_p50_ms"], extra["create_p99_ms"] = cl.P50, cl.P99
	out.notes = append(out.notes, fmt.Sprintf("created %d schedules in %.1fs (%.0f/s, p50 %.1fms p99 %.1fms)",
		len(create.lat), create.wall.Seconds(), create.rate(), cl.P50, cl.P99))
	if err := create.err(); err != nil {
		out.err = fmt.Errorf("creating schedules: %w", err)
		return out
	}
	if left := time.Until(fire); left < 0 {
		out.err = fmt.Errorf("creating the schedules ended %s after the fire time; raise -sched-lead", -left)
		return out
	} else {
		extra["idle_before_fire_seconds"] = left.Seconds()
	}

	// Watch the burst: count the started workflows every 250 ms from just
	// before the fire time until all are there or the window has passed,
	// and read the server's CPU around it.
	if err := sleepUntil(ctx, fire.Add(-time.Second)); err != nil {
		out.err = err
		return out
	}
	cpu0, cpuErr := cpuSeconds(e.pid)
	if st, err := readStatus(e.pid); e.pid > 0 && err == nil {
		extra["rss_before_fire_bytes"] = float64(st.rss)
		out.notes = append(out.notes, fmt.Sprintf("server RSS with %d schedules waiting: %s", n, mib(st.rss)))
	}
	query := fmt.Sprintf("WorkflowType = '%s'", wfType)
	deadline := fire.Add(e.cfg.schedWindow)
	var seen int64
	for time.Now().Before(deadline) && ctx.Err() == nil {
		r, err := e.c.CountWorkflow(ctx, &workflowservice.CountWorkflowExecutionsRequest{Namespace: e.cfg.namespace, Query: query})
		if err == nil {
			seen = r.Count
			if seen >= int64(n) {
				break
			}
		}
		time.Sleep(250 * time.Millisecond)
	}
	allSeen := time.Now()
	if cpu1, err := cpuSeconds(e.pid); e.pid > 0 && cpuErr == nil && err == nil {
		extra["burst_cpu_seconds"] = ticks(cpu1 - cpu0)
		out.notes = append(out.notes, fmt.Sprintf("server CPU from 1 s before the fire time until all were counted (%.1fs): %.2f s",
			allSeen.Sub(fire.Add(-time.Second)).Seconds(), cpu1-cpu0))
	}

	// Read every started workflow and check one per schedule.
	perSched := map[string]int{}
	var delays []time.Duration
	var last time.Time
	var badAttrs int
	dc := converter.GetDefaultDataConverter()
	var token []byte
	for {
		r, err := e.c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
			Namespace: e.cfg.namespace, Query: query, PageSize: 1000, NextPageToken: token,
		})
		if err != nil {
			out.err = fmt.Errorf("listing the started workflows: %w", err)
			return out
		}
		for _, ex := range r.Executions {
			nominal, by, ok := scheduledBy(dc, ex.GetSearchAttributes())
			if !ok {
				badAttrs++
				continue
			}
			perSched[by]++
			st := ex.GetStartTime().AsTime()
			delays = append(delays, st.Sub(nominal))
			if st.After(last) {
				last = st
			}
		}
		token = r.NextPageToken
		if len(token) == 0 {
			break
		}
	}
	missed, doubled := 0, 0
	for i := 0; i < n; i++ {
		switch c := perSched[schedID(i)]; {
		case c == 0:
			missed++
		case c > 1:
			doubled += c - 1
		}
	}
	extra["started"] = float64(len(delays))
	extra["missed"] = float64(missed)
	extra["doubled"] = float64(doubled)
	dl := summarize(delays)
	extra["delay_max_ms"] = dl.Max
	if !last.IsZero() {
		extra["last_start_after_fire_seconds"] = last.Sub(fire).Seconds()
	}
	out.notes = append(out.notes, fmt.Sprintf("started %d of %d (missed %d, doubled %d); start delay p50 %.0fms p99 %.0fms max %.0fms; last start %.1fs after the fire time",
		len(delays), n, missed, doubled, dl.P50, dl.P99, dl.Max, extra["last_start_after_fire_seconds"]))
	out.main = phase{n: n, lat: delays, wall: last.Sub(fire)}
	switch {
	case badAttrs > 0:
		out.err = fmt.Errorf("%d started workflows lack TemporalScheduledById or TemporalScheduledStartTime", badAttrs)
	case missed > 0 || doubled > 0:
		out.err = fmt.Errorf("%d schedules missed, %d starts doubled", missed, doubled)
	case last.Sub(fire) > e.cfg.schedWindow:
		out.err = fmt.Errorf("last start %s after the fire time, over -sched-window %s", last.Sub(fire), e.cfg.schedWindow)
	}
	return out
}

// scheduledBy reads the nominal time and schedule id a schedule gives the
// workflows it starts.
func scheduledBy(dc converter.DataConverter, sa *commonpb.SearchAttributes) (time.Time, string, bool) {
	f := sa.GetIndexedFields()
	var t time.Time
	var id string
	if f["TemporalScheduledStartTime"] == nil || f["TemporalScheduledById"] == nil {
		return t, id, false
	}
	if dc.FromPayload(f["TemporalScheduledStartTime"], &t) != nil || dc.FromPayload(f["TemporalScheduledById"], &id) != nil {
		return t, id, false
	}
	return t, id, true
}

func sleepUntil(ctx context.Context, t time.Time) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(time.Until(t)):
		return nil
	}
}
