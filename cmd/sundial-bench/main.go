// Command sundial-bench measures any Temporal-compatible server with the
// official Go SDK: client and worker run in this process, the server is either
// started here from a binary (so its CPU and memory can be read from /proc) or
// reached at -address.
//
// It exists so that performance work on Sundial has numbers to compare: each
// scenario prints one line and can be written to JSON and diffed against an
// earlier run with -compare.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime/debug"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"
)

// config holds every flag; it is also recorded in the JSON output so a result
// file says how it was produced.
type config struct {
	address         string
	serverBin       string
	serverPid       int
	serverMemory    bool
	serverPostgres  string
	keepData        bool
	scenarios       string
	count           int
	openCount       int
	warmup          int
	concurrency     int
	namespace       string
	out             string
	compare         string
	threshold       float64
	failOnRegress   bool
	opTimeout       time.Duration
	scenarioTimeout time.Duration
	settle          time.Duration
	workers         int
	wfPollers       int
	actPollers      int
	wfExec          int
	actExec         int
	stickyCache     int
	verbose         bool
	prefill         int
	visCount        int
	cpuProfile      string
	gogc            int
	noCompression   bool
	schedCount      int
	schedOverlap    string
	schedLead       time.Duration
	schedWindow     time.Duration
	schedWFTimeout  time.Duration
	serverArgs      stringList
	sleepers        int
	sleepersDue     int
	sleepersLead    time.Duration
	downtime        time.Duration
	sleeperProbes   int
	stores          string
	repeat          int
	pgSettings      stringList
}

func parseFlags() *config {
	c := &config{}
	flag.StringVar(&c.address, "address", "", "host:port of a running server; empty starts -server-bin on a free 127.0.0.1 port")
	flag.StringVar(&c.serverBin, "server-bin", "./bin/sundial", "server binary started when -address is empty")
	flag.IntVar(&c.serverPid, "server-pid", 0, "pid of the server at -address, to read its CPU and RSS from /proc")
	flag.BoolVar(&c.serverMemory, "server-memory", false, "pass --memory to the started server (no data dir persistence)")
	flag.StringVar(&c.serverPostgres, "server-postgres", "", "pass --postgres `URL` to the started server (its store in that PostgreSQL database instead of a temp data dir)")
	flag.BoolVar(&c.keepData, "keep-data", false, "keep the started server's temp data dir and log")
	flag.StringVar(&c.scenarios, "scenarios", "all", "comma list of scenarios: "+strings.Join(scenarioNames(), ","))
	flag.IntVar(&c.count, "count", 1000, "workflows (or operations) per scenario")
	flag.IntVar(&c.warmup, "warmup", 100, "unmeasured operations run before each workflow scenario (capped at -count)")
	flag.IntVar(&c.openCount, "open-count", 10000, "workflows left open by the open10k scenario")
	flag.IntVar(&c.concurrency, "concurrency", 50, "client goroutines issuing work in parallel")
	flag.StringVar(&c.namespace, "namespace", "default", "namespace")
	flag.StringVar(&c.out, "out", "", "write machine-readable results to this JSON file")
	flag.StringVar(&c.compare, "compare", "", "earlier JSON result to compare against")
	flag.Float64Var(&c.threshold, "regress-pct", 10, "percent change counted as a regression by -compare")
	flag.BoolVar(&c.failOnRegress, "fail-on-regression", false, "exit 3 when -compare finds a regression")
	flag.DurationVar(&c.opTimeout, "op-timeout", time.Minute, "timeout of one operation (one workflow start-to-result, one update...)")
	flag.DurationVar(&c.scenarioTimeout, "scenario-timeout", 10*time.Minute, "timeout of one scenario")
	flag.DurationVar(&c.settle, "settle", time.Second, "pause before each scenario so the previous one's tail is not counted")
	flag.IntVar(&c.workers, "workers", 8, "workers per scenario task queue (the Go SDK caps each at 1000 polls/s)")
	flag.IntVar(&c.wfPollers, "wf-pollers", 8, "worker MaxConcurrentWorkflowTaskPollers")
	flag.IntVar(&c.actPollers, "act-pollers", 2, "worker MaxConcurrentActivityTaskPollers")
	flag.IntVar(&c.wfExec, "wf-exec", 1000, "worker MaxConcurrentWorkflowTaskExecutionSize")
	flag.IntVar(&c.actExec, "act-exec", 1000, "worker MaxConcurrentActivityExecutionSize")
	flag.IntVar(&c.stickyCache, "sticky-cache", 0, "worker sticky workflow cache size (0: max(10000, open-count+1000))")
	flag.BoolVar(&c.verbose, "v", false, "show SDK info logs and server output")
	flag.IntVar(&c.prefill, "prefill", 0, "write this many closed workflows into the started server's store before starting it")
	flag.BoolVar(&c.noCompression, "no-compression", false, "the SDK client sends requests uncompressed (the Go SDK gzips every call by default)")
	flag.IntVar(&c.gogc, "gogc", 0, "GOGC of this process (the SDK client and workers; 0: the Go default or $GOGC); the started server keeps its own")
	flag.StringVar(&c.cpuProfile, "cpuprofile", "", "write a CPU profile of this process (SDK client and workers) over all scenarios to this file")
	flag.IntVar(&c.visCount, "vis-count", 50, "requests made by the list and count scenarios (countscan: a tenth, at least 3)")
	flag.IntVar(&c.schedCount, "sched-count", 2000, "schedules created by the schedburst scenario, all firing at one instant")
	flag.StringVar(&c.schedOverlap, "sched-overlap", "skip", "overlap policy of the schedburst schedules (skip, allow_all, ...)")
	flag.DurationVar(&c.schedLead, "sched-lead", 90*time.Second, "schedburst fires at the first whole minute at least this far after the scenario starts (creating the schedules must fit in it)")
	flag.DurationVar(&c.schedWindow, "sched-window", time.Minute, "schedburst fails if a start comes later than this after the fire time")
	flag.DurationVar(&c.schedWFTimeout, "sched-wf-timeout", 10*time.Minute, "execution timeout of the workflows schedburst starts (no worker runs them)")
	flag.Var(&c.serverArgs, "server-arg", "extra argument for the started server, e.g. -server-arg=--cache-size=64MiB (repeatable)")
	flag.IntVar(&c.sleepers, "sleepers", 1000000, "sleepers scenario: open workflows (one activity done, then a timer) written into the store before the server starts")
	flag.IntVar(&c.sleepersDue, "sleepers-due", 100000, "sleepers scenario: how many of them have timers that come due while the server is down")
	flag.DurationVar(&c.sleepersLead, "sleepers-lead", 3*time.Minute, "sleepers scenario: time from the end of the store prefill to the SIGKILL (server start and the cold-run probes must fit in it)")
	flag.DurationVar(&c.downtime, "downtime", time.Minute, "sleepers scenario: how long the server stays down after the SIGKILL")
	flag.IntVar(&c.sleeperProbes, "sleeper-probes", 1000, "sleepers scenario: cold runs signalled, and as many queried, one at a time")
	flag.StringVar(&c.stores, "stores", "", "run the scenarios on one node per store, back to back, e.g. pebble,postgres (a fresh server each; PostgreSQL started by the bench unless -server-postgres), and print medians")
	flag.IntVar(&c.repeat, "repeat", 1, "-stores: rounds over the stores, interleaved")
	flag.Var(&c.pgSettings, "pg-setting", "-stores: a setting name=value of the PostgreSQL the bench starts (repeatable)")
	flag.Parse()
	return c
}

func main() {
	os.Exit(run())
}

func run() int {
	cfg := parseFlags()
	selected, err := selectScenarios(cfg.scenarios)
	if err != nil {
		fmt.Fprintln(os.Stderr, "sundial-bench:", err)
		return 2
	}
	if cfg.count < 1 || cfg.concurrency < 1 || cfg.openCount < 1 || cfg.workers < 1 || cfg.visCount < 1 || cfg.schedCount < 1 {
		fmt.Fprintln(os.Stderr, "sundial-bench: -count, -open-count, -concurrency, -workers, -vis-count and -sched-count must be >= 1")
		return 2
	}
	if cfg.prefill < 0 || (cfg.prefill > 0 && (cfg.address != "" || cfg.serverMemory || cfg.serverPostgres != "" || cfg.namespace != "default")) {
		fmt.Fprintln(os.Stderr, "sundial-bench: -prefill needs a server started by the bench with a data dir, namespace default (no -address, no -server-memory)")
		return 2
	}
	if cfg.gogc != 0 {
		debug.SetGCPercent(cfg.gogc)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if cfg.stores != "" {
		if cfg.repeat < 1 {
			fmt.Fprintln(os.Stderr, "sundial-bench: -repeat must be >= 1")
			return 2
		}
		return runStoresMode(ctx, cfg, selected)
	}
	if len(selected) == 1 && selected[0].name == "sleepers" {
		return runSleepersMode(ctx, cfg)
	}
	for _, sc := range selected {
		if sc.name == "sleepers" {
			fmt.Fprintln(os.Stderr, "sundial-bench: the sleepers scenario restarts the server: run it alone (-scenarios sleepers)")
			return 2
		}
	}

	report := newReport(cfg)
	srv, err := prepareServer(ctx, cfg, &report.Server)
	if err != nil {
		fmt.Fprintln(os.Stderr, "sundial-bench: server:", err)
		return 1
	}
	defer srv.stop()

	b, err := newBench(ctx, cfg, srv)
	if err != nil {
		fmt.Fprintln(os.Stderr, "sundial-bench: client:", err)
		return 1
	}
	defer b.close()

	if cfg.cpuProfile != "" {
		f, err := os.Create(cfg.cpuProfile)
		if err == nil {
			err = pprof.StartCPUProfile(f)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "sundial-bench: cpuprofile:", err)
			return 1
		}
		defer f.Close()
		defer pprof.StopCPUProfile()
	}
	printHeader()
	for _, sc := range selected {
		if ctx.Err() != nil {
			break
		}
		res := b.runScenario(ctx, sc)
		printResult(res)
		report.Scenarios = append(report.Scenarios, res)
	}

	code := 0
	if cfg.out != "" {
		if err := writeReport(cfg.out, report); err != nil {
			fmt.Fprintln(os.Stderr, "sundial-bench:", err)
			code = 1
		} else {
			fmt.Printf("results written to %s\n", cfg.out)
		}
	}
	if cfg.compare != "" {
		regressions, err := compareWith(cfg.compare, report, cfg.threshold)
		if err != nil {
			fmt.Fprintln(os.Stderr, "sundial-bench: compare:", err)
			code = 1
		} else if regressions > 0 && cfg.failOnRegress && code == 0 {
			code = 3
		}
	}
	for _, r := range report.Scenarios {
		if r.Status != "ok" && code == 0 {
			code = 1
		}
	}
	return code
}

// stringList is a repeatable string flag.
type stringList []string

func (l *stringList) String() string     { return strings.Join(*l, " ") }
func (l *stringList) Set(v string) error { *l = append(*l, v); return nil }
