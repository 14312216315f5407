package main

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"os"
	"time"

	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"
)

// bench holds what every scenario shares: one SDK client and the server.
type bench struct {
	cfg   *config
	srv   *server
	c     client.Client
	runID string
	// db, when set, is the PostgreSQL server the bench started for the
	// server's store: its CPU and WAL are read around each scenario.
	db *dbProbe
}

func newBench(ctx context.Context, cfg *config, srv *server) (*bench, error) {
	level := slog.LevelWarn
	if cfg.verbose {
		level = slog.LevelInfo
	}
	logger := sdklog.NewStructuredLogger(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level})))
	dctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	opts := client.Options{
		HostPort:  srv.address,
		Namespace: cfg.namespace,
		Logger:    logger,
		Identity:  fmt.Sprintf("sundial-bench-%d", os.Getpid()),
	}
	if cfg.noCompression {
		opts.ConnectionOptions.GrpcCompression = &client.GrpcCompressionNone{}
	}
	c, err := client.DialContext(dctx, opts)
	if err != nil {
		return nil, err
	}
	cache := cfg.stickyCache
	if cache <= 0 {
		cache = max(10000, cfg.openCount+1000)
	}
	// Must precede the first worker; the default (10000) would make open10k
	// with a larger -open-count replay whole histories on every task.
	worker.SetStickyWorkflowCacheSize(cache)
	// Unique per run, so workflow IDs never collide with an earlier run
	// against the same -address.
	runID := fmt.Sprintf("%s-%04x", time.Now().UTC().Format("150405"), rand.IntN(1<<16))
	return &bench{cfg: cfg, srv: srv, c: c, runID: runID}, nil
}

func (b *bench) close() { b.c.Close() }

// env is what a scenario's run function sees.
type env struct {
	c         client.Client
	cfg       *config
	taskQueue string
	prefix    string
	pid       int
}

// id names workflow i of the scenario.
func (e *env) id(i int) string { return fmt.Sprintf("%s-%d", e.prefix, i) }

func (e *env) startOpts(i int) client.StartWorkflowOptions {
	return client.StartWorkflowOptions{ID: e.id(i), TaskQueue: e.taskQueue}
}

// runScenario starts the scenario's worker on its own task queue, runs it
// and wraps it with the server's CPU and memory readings.
func (b *bench) runScenario(ctx context.Context, sc scenario) Result {
	res := Result{Scenario: sc.name, Unit: sc.unit, Concurrency: b.cfg.concurrency, Count: b.cfg.count}
	if err := b.srv.alive(); err != nil {
		res.fail(err)
		return res
	}
	e := &env{
		c: b.c, cfg: b.cfg, pid: b.srv.pid,
		taskQueue: fmt.Sprintf("bench-%s-%s", sc.name, b.runID),
		prefix:    fmt.Sprintf("bench-%s-%s", sc.name, b.runID),
	}
	stop, err := b.startWorkers(sc, e.taskQueue)
	if err != nil {
		res.fail(err)
		return res
	}
	defer stop()
	time.Sleep(b.cfg.settle)

	meter := startMeter(b.srv.pid)
	meter.db, meter.db0 = b.db, b.db.sample(ctx)
	sctx, cancel := context.WithTimeout(ctx, b.cfg.scenarioTimeout)
	out := sc.run(sctx, e)
	cancel()
	meter.finish(&res)

	if out.main.n > 0 {
		res.Count = out.main.n
	}
	res.Completed = len(out.main.lat)
	res.Errors = out.main.errs
	res.WallSeconds = out.main.wall.Seconds()
	res.Rate = out.main.rate()
	res.LatencyMs = summarize(out.main.lat)
	for k, v := range out.extra {
		if res.Extra == nil {
			res.Extra = map[string]float64{}
		}
		res.Extra[k] = v
	}
	b.db.perOp(&res, res.Completed)
	res.Notes = append(out.notes, res.Notes...)
	if res.ServerCPUSeconds != nil && res.Completed > 0 {
		v := math.Round(*res.ServerCPUSeconds*1e6/float64(res.Completed)) / 1000
		res.ServerCPUMsPerOp = &v
	}
	res.Status = "ok"
	err = out.err
	if err == nil {
		err = out.main.err()
	}
	if err == nil {
		err = b.srv.alive()
	}
	if err != nil {
		res.fail(err)
	}
	return res
}

// startWorkers starts -workers workers on the scenario's task queue. More
// than one is needed because the Go SDK caps each worker at 1000 polls per
// second (defaultPollerRate, not configurable): one worker would make most
// scenarios measure that cap instead of the server.
func (b *bench) startWorkers(sc scenario, taskQueue string) (stop func(), err error) {
	var ws []worker.Worker
	stop = func() {
		for _, w := range ws {
			w.Stop()
		}
	}
	if sc.register == nil {
		return stop, nil
	}
	for i := 0; i < b.cfg.workers; i++ {
		w := worker.New(b.c, taskQueue, worker.Options{
			MaxConcurrentWorkflowTaskPollers:       b.cfg.wfPollers,
			MaxConcurrentActivityTaskPollers:       b.cfg.actPollers,
			MaxConcurrentWorkflowTaskExecutionSize: b.cfg.wfExec,
			MaxConcurrentActivityExecutionSize:     b.cfg.actExec,
			WorkerStopTimeout:                      5 * time.Second,
			Identity:                               fmt.Sprintf("sundial-bench-%d-w%d", os.Getpid(), i),
		})
		sc.register(w)
		if err := w.Start(); err != nil {
			stop()
			return nil, fmt.Errorf("worker start: %w", err)
		}
		ws = append(ws, w)
	}
	return stop, nil
}

// meter reads server and client resource use around one scenario.
type meter struct {
	pid      int
	start    time.Time
	cpu0     float64
	cpuOK    bool
	self0    float64
	busy0    float64
	busyOK   bool
	hwmReset bool
	sampler  *rssSampler
	rss0     int64
	db       *dbProbe // nil: no database measured
	db0      dbSample
}

func startMeter(pid int) *meter {
	m := &meter{pid: pid, start: time.Now()}
	m.self0, _ = cpuSeconds(os.Getpid())
	var err error
	m.busy0, err = machineBusySeconds()
	m.busyOK = err == nil
	if pid <= 0 {
		return m
	}
	m.cpu0, err = cpuSeconds(pid)
	m.cpuOK = err == nil
	if st, err := readStatus(pid); err == nil {
		m.rss0 = st.rss
	}
	m.hwmReset = resetPeak(pid)
	m.sampler = startSampler(pid, 20*time.Millisecond)
	return m
}

func (m *meter) finish(r *Result) {
	r.MeteredSeconds = time.Since(m.start).Seconds()
	if self, err := cpuSeconds(os.Getpid()); err == nil {
		r.BenchCPUSeconds = ticks(self - m.self0)
	}
	m.db.finish(m.db0, r)
	if m.pid <= 0 {
		return
	}
	defer m.otherLoad(r)
	peak := m.sampler.finish()
	if m.cpuOK {
		if c, err := cpuSeconds(m.pid); err == nil {
			d := ticks(c - m.cpu0)
			r.ServerCPUSeconds = &d
		}
	}
	if st, err := readStatus(m.pid); err == nil {
		if m.hwmReset && st.hwm > peak {
			peak = st.hwm
		}
		r.ServerRSSEndBytes = st.rss
	}
	r.ServerRSSStartBytes = m.rss0
	if peak > 0 {
		r.ServerPeakRSSBytes = &peak
	}
}

// ticks rounds a CPU time difference to the clock tick it is measured in,
// dropping float noise such as 0.29000000000000004.
func ticks(s float64) float64 { return math.Round(s*userHZ) / userHZ }

// otherLoad records CPU used on the machine by neither the server nor the
// bench during the scenario, and notes it when it is large enough to make
// the numbers noisy (a quarter of one core or more).
func (m *meter) otherLoad(r *Result) {
	busy, err := machineBusySeconds()
	if !m.busyOK || err != nil || r.ServerCPUSeconds == nil {
		return
	}
	other := busy - m.busy0 - *r.ServerCPUSeconds - r.BenchCPUSeconds
	if r.DBCPUSeconds != nil {
		other -= *r.DBCPUSeconds
	}
	other = max(0, ticks(other))
	r.OtherCPUSeconds = &other
	if wall := r.MeteredSeconds; other >= 0.1 && other > 0.25*wall {
		r.Notes = append(r.Notes, fmt.Sprintf("other processes used %.1f CPU-s in %.1fs: numbers may be disturbed", other, wall))
	}
}
