package main

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// runOpen starts -open-count Parked workflows and leaves them open, to see
// what an open workflow costs the server in memory; then it signals them all
// to finish. The reported rate and latency are those of the starts.
func runOpen(ctx context.Context, e *env) outcome {
	n := e.cfg.openCount
	extra := map[string]float64{}
	var notes []string
	rss := func(key string) int64 {
		if e.pid <= 0 {
			return 0
		}
		st, err := readStatus(e.pid)
		if err != nil {
			return 0
		}
		extra[key] = float64(st.rss)
		return st.rss
	}
	before := rss("rss_before_bytes")

	t0 := time.Now()
	starts := runOps(ctx, n, e.cfg.concurrency, e.cfg.opTimeout, func(ctx context.Context, _, i int) error {
		_, err := e.c.ExecuteWorkflow(ctx, e.startOpts(i), Parked)
		return err
	})
	out := outcome{main: starts, extra: extra}
	if err := starts.err(); err != nil {
		out.err = fmt.Errorf("starts: %w", err)
		return out
	}

	// Started is not yet open in memory: wait until each workflow's first
	// task has run, i.e. the server dispatched it and recorded completion.
	if err := waitParked(ctx, e.prefix+"-", n); err != nil {
		out.err = err
		return out
	}
	extra["all_open_seconds"] = time.Since(t0).Seconds()
	time.Sleep(500 * time.Millisecond) // let the last task completions land
	after := rss("rss_open_bytes")
	if before > 0 && after > 0 {
		per := float64(after-before) / float64(n)
		extra["bytes_per_open_wf"] = per
		notes = append(notes, fmt.Sprintf("RSS %s -> %s with %d open: %.0f bytes per open workflow (all open after %.1fs)",
			mib(before), mib(after), n, per, extra["all_open_seconds"]))
	}

	finish := runOps(ctx, n, e.cfg.concurrency, e.cfg.opTimeout, func(ctx context.Context, _, i int) error {
		if err := e.c.SignalWorkflow(ctx, e.id(i), "", "done", nil); err != nil {
			return fmt.Errorf("signal: %w", err)
		}
		return e.c.GetWorkflow(ctx, e.id(i), "").Get(ctx, nil)
	})
	fl := summarize(finish.lat)
	extra["finish_rate"] = finish.rate()
	extra["finish_p50_ms"], extra["finish_p95_ms"], extra["finish_p99_ms"] = fl.P50, fl.P95, fl.P99
	rss("rss_after_finish_bytes")
	notes = append(notes, fmt.Sprintf("signal+finish all: %.1f wf/s, p50 %.1fms p95 %.1fms p99 %.1fms",
		finish.rate(), fl.P50, fl.P95, fl.P99))
	if err := finish.err(); err != nil {
		out.err = fmt.Errorf("finishing: %w", err)
	}
	out.notes = notes
	return out
}

// waitParked polls until n Parked workflows with this prefix have run.
func waitParked(ctx context.Context, prefix string, n int) error {
	last, lastChange := -1, time.Now()
	for {
		got := 0
		parked.Range(func(k, _ any) bool {
			if strings.HasPrefix(k.(string), prefix) {
				got++
			}
			return true
		})
		if got >= n {
			return nil
		}
		if got != last {
			last, lastChange = got, time.Now()
		}
		if time.Since(lastChange) > 2*time.Minute {
			return fmt.Errorf("only %d of %d workflows ran their first task; no progress for 2m", got, n)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("only %d of %d workflows ran their first task: %w", got, n, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}
