package main

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"
)

// The sleepers scenario (issue 15): a store holding -sleepers open
// workflows that ran one activity and then sleep (Sleeper), the shape people
// keep open by the million. It measures what the server costs with them
// open, the round trip of a signal and a query on a cold run, and a crash:
// SIGKILL, -downtime of nothing, restart, with -sleepers-due of the timers
// coming due while the server is down.
//
// Writing a million workflows through the API takes a quarter of an hour,
// so they are written straight into the store before the server starts
// (sleeperRun builds exactly the history the Go SDK produces for Sleeper, so
// the worker replays them without a nondeterminism error). The due ones are
// written last, with their timers set to fire in the middle of the planned
// downtime.
const (
	sleeperQueue  = "sleepers"
	sleeperPrefix = "sleeper-"
)

func runSleepersMode(ctx context.Context, cfg *config) int {
	report := newReport(cfg)
	res := Result{Scenario: "sleepers", Unit: "ops/s", Count: cfg.sleeperProbes, Status: "ok", Extra: map[string]float64{}}
	if cfg.address != "" || cfg.serverMemory || cfg.serverPostgres != "" || cfg.namespace != "default" {
		fmt.Fprintln(os.Stderr, "sundial-bench: sleepers needs a server started by the bench with a data dir, namespace default")
		return 2
	}
	if cfg.sleepersDue > cfg.sleepers || cfg.sleepers < 1 || cfg.sleeperProbes < 1 || cfg.sleeperProbes > cfg.sleepers-cfg.sleepersDue {
		fmt.Fprintln(os.Stderr, "sundial-bench: need 1 <= -sleeper-probes <= -sleepers minus -sleepers-due")
		return 2
	}
	s, err := newLocalServer(cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "sundial-bench: server:", err)
		return 1
	}
	defer s.stop()
	err = sleepers(ctx, cfg, s, &report.Server, &res)
	if err != nil {
		res.fail(err)
	}
	printHeader()
	printResult(res)
	report.Scenarios = append(report.Scenarios, res)
	code := 0
	if cfg.out != "" {
		if err := writeReport(cfg.out, report); err != nil {
			fmt.Fprintln(os.Stderr, "sundial-bench:", err)
			code = 1
		} else {
			fmt.Printf("results written to %s\n", cfg.out)
		}
	}
	if res.Status != "ok" {
		code = 1
	}
	return code
}

func sleepers(ctx context.Context, cfg *config, s *server, info *ServerInfo, res *Result) error {
	x := res.Extra
	note := func(format string, a ...any) {
		line := fmt.Sprintf(format, a...)
		res.Notes = append(res.Notes, line)
		fmt.Println("sleepers:", line)
	}
	rss := func(key string) int64 {
		st, err := readStatus(s.pid)
		if err != nil {
			return 0
		}
		x[key] = float64(st.rss)
		return st.rss
	}

	// 1. The store: far sleepers, then the due ones.
	far := cfg.sleepers - cfg.sleepersDue
	t0 := time.Now()
	if err := prefillSleepers(s.dataDir, cfg.namespace, 0, far, func(time.Time) time.Time { return t0.Add(24 * time.Hour) }); err != nil {
		return fmt.Errorf("prefill: %w", err)
	}
	killAt := time.Now().Add(cfg.sleepersLead)
	dueAt := killAt.Add(cfg.downtime / 2)
	if err := prefillSleepers(s.dataDir, cfg.namespace, far, cfg.sleepersDue, func(time.Time) time.Time { return dueAt }); err != nil {
		return fmt.Errorf("prefill: %w", err)
	}
	info.Prefilled = cfg.sleepers
	note("store prefilled with %d open Sleeper workflows in %.1f s (%d due at the middle of the downtime)", cfg.sleepers, time.Since(t0).Seconds(), cfg.sleepersDue)

	// 2. Start with them all open.
	if err := s.launch(ctx, cfg, info); err != nil {
		return err
	}
	x["start_first_rpc_ms"] = info.ReadyMs
	x["start_rss_bytes"] = float64(info.IdleRSSBytes)
	note("first start: first RPC answered %.1f ms after exec, RSS %s", info.ReadyMs, mib(info.IdleRSSBytes))
	sampler := startSampler(s.pid, 50*time.Millisecond)

	c, stopWorkers, err := sleeperClient(ctx, cfg, s, "probe-1")
	if err != nil {
		return err
	}
	// Warm numbers: new one-activity workflows while a million are open.
	warm := runOps(ctx, 500, 20, cfg.opTimeout, func(ctx context.Context, _, i int) error {
		return oneActivity(ctx, c, fmt.Sprintf("sleepers-warm-%d", i), "probe-1")
	})
	if err := warm.err(); err != nil {
		stopWorkers()
		return fmt.Errorf("one-activity workflows with the sleepers open: %w", err)
	}
	wl := summarize(warm.lat)
	note("500 new one-activity workflows (concurrency 20) with %d open: %.0f wf/s, p50 %.1f ms, p99 %.1f ms", cfg.sleepers, warm.rate(), wl.P50, wl.P99)

	// Cold runs: one request at a time, each to a run not touched before.
	picks := rand.Perm(far)[:2*cfg.sleeperProbes]
	sig := runOps(ctx, cfg.sleeperProbes, 1, cfg.opTimeout, func(ctx context.Context, _, i int) error {
		return c.SignalWorkflow(ctx, sleeperID(picks[i]), "", "poke", nil)
	})
	if err := sig.err(); err != nil {
		stopWorkers()
		return fmt.Errorf("signals: %w", err)
	}
	res.LatencyMs = summarize(sig.lat)
	res.Completed, res.Rate, res.WallSeconds = len(sig.lat), sig.rate(), sig.wall.Seconds()
	x["cold_signal_p50_ms"], x["cold_signal_p99_ms"] = res.LatencyMs.P50, res.LatencyMs.P99
	note("signal to a cold run (%d, one at a time): p50 %.2f ms, p99 %.2f ms", cfg.sleeperProbes, res.LatencyMs.P50, res.LatencyMs.P99)
	qry := runOps(ctx, cfg.sleeperProbes, 1, cfg.opTimeout, func(ctx context.Context, _, i int) error {
		v, err := c.QueryWorkflow(ctx, sleeperID(picks[cfg.sleeperProbes+i]), "", "pokes")
		if err != nil {
			return err
		}
		var n int
		if err := v.Get(&n); err != nil {
			return err
		}
		if n != 0 {
			return fmt.Errorf("query pokes = %d, want 0", n)
		}
		return nil
	})
	if err := qry.err(); err != nil {
		stopWorkers()
		return fmt.Errorf("queries: %w", err)
	}
	ql := summarize(qry.lat)
	x["cold_query_p50_ms"], x["cold_query_p99_ms"] = ql.P50, ql.P99
	note("query of a cold run (%d, one at a time; the worker replays its history): p50 %.2f ms, p99 %.2f ms", cfg.sleeperProbes, ql.P50, ql.P99)
	before := rss("before_kill_rss_bytes")
	x["before_kill_peak_rss_bytes"] = float64(sampler.finish())
	if size, err := dirSize(s.dataDir); err == nil {
		x["store_bytes"] = float64(size)
		note("store: %.1f MiB on disk; server RSS %s before the kill (peak %s)", float64(size)/(1<<20), mib(before), mib(int64(x["before_kill_peak_rss_bytes"])))
	}
	stopWorkers()

	// 3. The crash.
	if wait := time.Until(killAt); wait < 0 {
		return fmt.Errorf("setup ran %s past the planned kill: raise -sleepers-lead", -wait.Round(time.Second))
	} else {
		time.Sleep(wait)
	}
	s.kill()
	time.Sleep(time.Until(killAt.Add(cfg.downtime)))

	// 4. Restart: first RPC, then a new workflow end to end, both from exec.
	var wg sync.WaitGroup
	var e2e time.Duration
	var e2eErr error
	var c2 client.Client
	var stop2 func()
	execed := make(chan time.Time, 1)
	s.onExec = func(t time.Time) { execed <- t }
	wg.Add(1)
	go func() {
		defer wg.Done()
		at := <-execed
		cl, stop, err := sleeperClient(ctx, cfg, s, "probe-2")
		if err != nil {
			e2eErr = err
			return
		}
		c2, stop2 = cl, stop
		e2eErr = oneActivity(ctx, cl, "sleepers-after-restart", "probe-2")
		e2e = time.Since(at)
	}()
	err = s.launch(ctx, cfg, info)
	if err != nil {
		execed <- time.Now() // unblock the client if exec never happened
		wg.Wait()
		return fmt.Errorf("restart: %w", err)
	}
	wg.Wait()
	if stop2 != nil {
		defer stop2()
	}
	if e2eErr != nil {
		return fmt.Errorf("first workflow after restart: %w", e2eErr)
	}
	x["restart_first_rpc_ms"], x["restart_first_workflow_ms"] = info.ReadyMs, ms(e2e)
	note("restart after SIGKILL: first RPC answered %.1f ms after exec; a new one-activity workflow completed %.1f ms after exec", info.ReadyMs, ms(e2e))
	if ph := lastStartupPhases(s.logPath); ph != nil {
		total, _ := phaseMs(ph, "total")
		open, _ := phaseMs(ph, "store.pebble_open")
		replayed, _ := phaseMs(ph, "store.replayed_bytes")
		x["restart_server_start_ms"], x["restart_store_open_ms"], x["restart_replayed_bytes"] = total, open, replayed
		note("restart: the server's own start took %.1f ms (store open %.1f ms, %.0f bytes replayed from the WAL; the rest of the time from exec is process start and scheduling)", total, open, replayed)
	}

	// 5. The timers that came due while the server was down.
	sampler = startSampler(s.pid, 50*time.Millisecond)
	doneAll, err := waitCompleted(ctx, c2, cfg.sleepersDue, s.started, 5*time.Minute)
	if err != nil {
		return err
	}
	x["due_all_completed_s"] = doneAll.Seconds()
	fired, late, err := sampleFired(ctx, c2, far, cfg.sleepersDue, min(1000, cfg.sleepersDue), s.started)
	if err != nil {
		return err
	}
	fl := summarize(fired)
	x["due_fired_p50_s"], x["due_fired_max_s"] = fl.P50/1000, fl.Max/1000
	note("%d timers due during the downtime: every workflow completed (worker included) %.1f s after exec; fired in a sample of %d: p50 %.1f s, max %.1f s after exec%s",
		cfg.sleepersDue, doneAll.Seconds(), len(fired), fl.P50/1000, fl.Max/1000, late)
	after := rss("after_restart_rss_bytes")
	peak := sampler.finish()
	res.ServerPeakRSSBytes = &peak
	note("server RSS after the restart and the due timers: %s (peak %s)", mib(after), mib(peak))
	return nil
}

// sleeperClient dials the server (retrying while it starts) and runs one
// worker for the sleepers' queue and one for the probe queue.
func sleeperClient(ctx context.Context, cfg *config, s *server, probeQueue string) (client.Client, func(), error) {
	dctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	var c client.Client
	var err error
	for {
		c, err = client.DialContext(dctx, client.Options{HostPort: s.address, Namespace: cfg.namespace, Logger: quietLogger(cfg)})
		if err == nil || dctx.Err() != nil {
			break
		}
		time.Sleep(2 * time.Millisecond)
	}
	if err != nil {
		return nil, nil, err
	}
	var ws []worker.Worker
	stop := func() {
		for _, w := range ws {
			w.Stop()
		}
		c.Close()
	}
	for _, q := range []string{sleeperQueue, probeQueue} {
		w := worker.New(c, q, worker.Options{WorkerStopTimeout: 2 * time.Second})
		w.RegisterWorkflow(Sleeper)
		w.RegisterWorkflow(OneActivity)
		w.RegisterActivity(Echo)
		if err := w.Start(); err != nil {
			stop()
			return nil, nil, err
		}
		ws = append(ws, w)
	}
	return c, stop, nil
}

func oneActivity(ctx context.Context, c client.Client, id, queue string) error {
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: queue}, OneActivity)
	if err != nil {
		return fmt.Errorf("start: %w", err)
	}
	return run.Get(ctx, nil)
}

func quietLogger(cfg *config) sdklog.Logger {
	level := slog.LevelError
	if cfg.verbose {
		level = slog.LevelInfo
	}
	return sdklog.NewStructuredLogger(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level})))
}

func sleeperID(i int) string { return fmt.Sprintf("%s%d", sleeperPrefix, i) }

// waitCompleted waits until n Sleeper workflows have completed (their timer
// fired and the worker finished them), counting through visibility.
func waitCompleted(ctx context.Context, c client.Client, n int, since time.Time, limit time.Duration) (time.Duration, error) {
	q := "WorkflowType = 'Sleeper' AND ExecutionStatus = 'Completed'"
	deadline := time.Now().Add(limit)
	for {
		r, err := c.CountWorkflow(ctx, &workflowservice.CountWorkflowExecutionsRequest{Query: q})
		if err == nil && r.Count >= int64(n) {
			return time.Since(since), nil
		}
		if time.Now().After(deadline) {
			got := int64(-1)
			if r != nil {
				got = r.Count
			}
			return 0, fmt.Errorf("only %d of %d due sleepers completed %s after the restart (last error %v)", got, n, limit, err)
		}
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// sampleFired reads the histories of k random due sleepers and returns, for
// each, when its TimerFired event was written, relative to since.
func sampleFired(ctx context.Context, c client.Client, first, n, k int, since time.Time) ([]time.Duration, string, error) {
	var out []time.Duration
	late := 0
	for _, j := range rand.Perm(n)[:k] {
		it := c.GetWorkflowHistory(ctx, sleeperID(first+j), "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
		found := false
		for it.HasNext() {
			ev, err := it.Next()
			if err != nil {
				return nil, "", err
			}
			if ev.GetEventType() == enumspb.EVENT_TYPE_TIMER_FIRED {
				d := ev.GetEventTime().AsTime().Sub(since)
				out = append(out, d)
				if d > 30*time.Second {
					late++
				}
				found = true
			}
		}
		if !found {
			return nil, "", fmt.Errorf("%s completed without a TimerFired event", sleeperID(first+j))
		}
	}
	msg := ""
	if late > 0 {
		msg = fmt.Sprintf(" (%d later than 30 s)", late)
	}
	return out, msg, nil
}

func dirSize(dir string) (int64, error) {
	var n int64
	err := filepath.Walk(dir, func(_ string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() {
			n += fi.Size()
		}
		return err
	})
	return n, err
}
