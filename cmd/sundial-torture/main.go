// Command sundial-torture is Sundial's crash torture test: it starts the
// sundial binary on a temp data dir, runs a mixed Go SDK load against it
// (activities, timers, signals, updates, child workflows, continue-as-new,
// schedules, workflow and activity pause, batch jobs, standalone activities),
// SIGKILLs and restarts the server -kills times at random moments, then
// checks from the client side that every acknowledged start, signal and
// update was applied exactly once (updates at most once per id), every
// result is right and every history is well-formed. It prints the counts
// and exits 1 on any violation (2 if the run could not be carried out).
//
// With -nodes 3 -postgres auto it runs a cluster instead: three sundial
// processes with --node-addr on one (throwaway) PostgreSQL database, the
// load spread over them, each kill SIGKILLing a random node and restarting
// it at the same address (docs/CLUSTER.md).
//
// The logic lives in tests/torture, which `go test` also runs in a short
// form.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/sundial-io/sundial/tests/torture"
)

func main() {
	cfg := torture.Short()
	flag.StringVar(&cfg.ServerBin, "server-bin", "./bin/sundial", "the sundial binary")
	flag.StringVar(&cfg.DataDir, "data-dir", "", "data dir (and server.log) to use; empty: a temp dir, removed unless the run fails or -keep-data")
	flag.BoolVar(&cfg.KeepData, "keep-data", false, "keep the temp data dir")
	flag.IntVar(&cfg.Kills, "kills", 50, "SIGKILLs during the load")
	flag.DurationVar(&cfg.KillMin, "kill-min", 300*time.Millisecond, "shortest interval between kills")
	flag.DurationVar(&cfg.KillMax, "kill-max", 2*time.Second, "longest interval between kills")
	flag.DurationVar(&cfg.DownMax, "down-max", 200*time.Millisecond, "longest time the server stays down after a kill")
	flag.IntVar(&cfg.Workflows, "workflows", 200, "start at least this many workflows (the load runs until every kill is done)")
	flag.IntVar(&cfg.Concurrency, "concurrency", 30, "workflows driven at the same time")
	flag.IntVar(&cfg.MaxSignals, "max-signals", 6, "signals per workflow: 0..N")
	flag.IntVar(&cfg.MaxUpdates, "max-updates", 3, "updates per workflow: 0..N")
	flag.IntVar(&cfg.MaxRuns, "max-runs", 3, "runs per workflow (continue-as-new chain): 1..N")
	flag.IntVar(&cfg.MaxSteps, "max-steps", 3, "steps (activity, timer or child) per run: 1..N")
	flag.DurationVar(&cfg.MaxDuration, "max-duration", 25*time.Minute, "bound on the load phase")
	flag.DurationVar(&cfg.Drain, "drain", 2*time.Minute, "bound on waiting for results after the load")
	flag.Int64Var(&cfg.Seed, "seed", time.Now().UnixNano(), "random seed (plans, kill times)")
	flag.BoolVar(&cfg.FreshWorker, "fresh-worker", true, "replace the worker and its client after every restart (false: one worker rides out every kill)")
	flag.IntVar(&cfg.Schedules, "schedules", 3, "schedules firing every 1-2 s during the kills (the first limited to 4 actions)")
	flag.IntVar(&cfg.WorkflowPauses, "workflow-pauses", cfg.WorkflowPauses, "workflows paused (kept paused over a kill) and unpaused during the kills")
	flag.IntVar(&cfg.BatchJobs, "batch-jobs", cfg.BatchJobs, "batch jobs during the kills (even: signal, odd: terminate)")
	flag.IntVar(&cfg.BatchSize, "batch-size", cfg.BatchSize, "workflows per batch job")
	flag.IntVar(&cfg.StandaloneActivities, "standalone-activities", cfg.StandaloneActivities, "standalone activities started during the kills")
	flag.IntVar(&cfg.ActivityPauses, "activity-pauses", cfg.ActivityPauses, "workflows whose activity is paused (over a kill) and unpaused")
	flag.BoolVar(&cfg.SDKLog, "sdk-log", false, "print the Go SDK's warnings and errors")
	flag.IntVar(&cfg.Nodes, "nodes", 1, "sundial processes; > 1 runs a cluster of nodes on PostgreSQL (see -postgres)")
	flag.StringVar(&cfg.Postgres, "postgres", "", `PostgreSQL URL of the cluster's database, or "auto" for a throwaway server (SUNDIAL_TEST_PG_PORTS=lo-hi confines its port); implies a cluster`)
	flag.DurationVar(&cfg.LeasePeriod, "lease-period", time.Second, "the nodes' --lease-period (cluster only)")
	flag.IntVar(&cfg.PortBase, "port-base", 0, "a single server listens on PORT-BASE; node i of a cluster on PORT-BASE+2i with node address 127.0.0.1:PORT-BASE+2i+1; 0: free ports")
	flag.StringVar(&cfg.CacheSize, "cache-size", "", "the server's --cache-size (e.g. 4KiB: runs are evicted between steps and loaded cold); empty: the server's default")
	flag.Parse()
	if cfg.KillMax < cfg.KillMin || cfg.Kills < 0 || cfg.Concurrency < 1 || cfg.MaxRuns < 1 || cfg.MaxSteps < 1 {
		fmt.Fprintln(os.Stderr, "sundial-torture: bad flags")
		os.Exit(2)
	}
	cfg.Logf = func(format string, args ...any) {
		fmt.Printf("%s %s\n", time.Now().Format("15:04:05.000"), fmt.Sprintf(format, args...))
	}
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	rep, err := torture.Run(ctx, cfg)
	if err != nil {
		fmt.Fprintf(os.Stderr, "sundial-torture: %v\n", err)
		os.Exit(2)
	}
	fmt.Print(rep)
	if !rep.OK() {
		os.Exit(1)
	}
}
