// Package torture is Sundial's crash torture test: it runs the sundial
// binary, drives a mixed Go SDK load against it (activities, timers,
// signals, updates, child workflows, continue-as-new), SIGKILLs and restarts
// the server at random moments, and finally checks from the client side
// that nothing acknowledged was lost or applied twice and that every history
// is well-formed.
//
// cmd/sundial-torture runs it at any size; torture_test.go runs a short form
// under `go test`.
package torture

import (
	"context"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"
	"google.golang.org/grpc"
)

// Config bounds one torture run.
type Config struct {
	ServerBin   string        // the sundial binary
	DataDir     string        // "" = a new temp dir (removed at the end unless KeepData)
	KeepData    bool          // keep the data dir and server log
	Kills       int           // SIGKILLs during the load
	KillMin     time.Duration // random interval between kills: [KillMin, KillMax)
	KillMax     time.Duration
	DownMax     time.Duration // random time the server stays down after a kill: [0, DownMax)
	Workflows   int           // start at least this many workflows (the load also runs until Kills are done)
	Concurrency int           // workflows driven at the same time
	MaxSignals  int           // per workflow: 0..MaxSignals signals
	MaxUpdates  int           // per workflow: 0..MaxUpdates updates
	MaxRuns     int           // per workflow: 1..MaxRuns runs (continue-as-new)
	MaxSteps    int           // per run: 1..MaxSteps steps
	MaxDuration time.Duration // bound on the load phase
	Drain       time.Duration // bound on waiting for results after the load
	Seed        int64
	Schedules   int  // schedules firing every 1-2 s during the kills (the first with a limit of actions); see schedules.go
	FreshWorker bool // replace the worker (and its client) after every restart
	SDKLog      bool // pass the Go SDK's warnings and errors to Logf
	// CacheSize, when set, is the server's --cache-size (e.g. "4KiB": a
	// tiny cache evicts runs between steps, so they are loaded cold).
	CacheSize string
	// Nodes > 1 (or Postgres set) runs a cluster: Nodes sundial processes
	// sharing the PostgreSQL database Postgres ("auto": a throwaway server
	// started through pgtest, SUNDIAL_TEST_PG_PORTS confining its port),
	// each with its own public port and --node-addr, leases of
	// LeasePeriod. Every kill picks a random node; clients, workers and
	// drivers' requests are spread over the nodes. Schedules are left out
	// (a cluster refuses them).
	Nodes       int
	Postgres    string
	LeasePeriod time.Duration
	// PortBase, when set, gives node i the public port PortBase+2i and the
	// node address 127.0.0.1:PortBase+2i+1; 0 picks free ports.
	PortBase int
	// The operator-control mix (control.go), driven during the kills:
	// workflows paused and unpaused, batch jobs (signal and terminate,
	// alternating) of BatchSize workflows each, standalone activities,
	// and workflows whose activity is paused and unpaused.
	WorkflowPauses       int
	BatchJobs            int
	BatchSize            int
	StandaloneActivities int
	ActivityPauses       int
	Logf                 func(format string, args ...any)
}

// Short is the form run by `go test`.
func Short() Config {
	return Config{
		ServerBin: "./bin/sundial", Kills: 5, KillMin: 500 * time.Millisecond, KillMax: 2 * time.Second,
		DownMax: 200 * time.Millisecond, Workflows: 40, Concurrency: 20, MaxSignals: 6, MaxUpdates: 3,
		MaxRuns: 3, MaxSteps: 3, MaxDuration: 40 * time.Second, Drain: 60 * time.Second, Seed: time.Now().UnixNano(),
		FreshWorker: true, Schedules: 3,
		WorkflowPauses: 6, BatchJobs: 2, BatchSize: 8, StandaloneActivities: 20, ActivityPauses: 4,
	}
}

// Report holds the counts printed at the end.
type Report struct {
	Kills            int // SIGKILLs survived during the load (plus the final one, see FinalKill)
	FinalKill        bool
	ServerCrashes    int // the server exited without being killed
	WorkflowsStarted int // start acknowledged (or "already started" on a retry)
	StartsUnknown    int // never acknowledged; checked if they exist
	WorkflowsChecked int
	RunsChecked      int // histories checked, continue-as-new runs and children included
	SignalsAcked     int
	SignalsUnknown   int
	SignalsUnknownIn int // unknown signals that were applied (once)
	UpdatesAcked     int
	UpdatesUnknown   int
	UpdatesUnknownIn int
	UpdateRetries    int           // update calls retried with the same update id after an error
	Lost             int           // acknowledged start/signal/update/completion missing
	Duplicated       int           // applied twice in one run, or a second chain/completion
	DupAcrossCAN     int           // a signal whose request was retried and landed in two runs of a continue-as-new chain (not guaranteed, see docs/RELIABILITY.md)
	Malformed        int           // histories violating the invariants
	Incomplete       int           // acknowledged workflows still running when the drain ended (liveness, not loss)
	WrongResult      int           // wrong value, or something applied that was never sent
	SchedulesChecked int           // schedules verified (schedules.go)
	ScheduledRuns    int           // workflow runs those schedules started
	WfPause          FeatureCount  // pause and unpause calls (control_wfpause.go)
	Batch            FeatureCount  // workflows handled by batch jobs (control_batch.go)
	Standalone       FeatureCount  // standalone activity starts (control_activities.go)
	ActPause         FeatureCount  // activity pause and unpause calls (control_activities.go)
	ControlRetries   int           // control-mix calls that failed (mostly a kill) and were retried
	BatchUncounted   int           // workflows a terminate-by-query job handled but did not count (resumed after a kill; control_batch.go)
	MaxTaskWait      time.Duration // longest workflow task schedule-to-start wait in any history
	Stalls           []string      // workflow tasks that waited longer than StallThreshold to start
	Violations       []string
	Elapsed          time.Duration
}

// OK reports whether the run found no violation.
func (r *Report) OK() bool {
	return r.Lost == 0 && r.Duplicated == 0 && r.Malformed == 0 && r.WrongResult == 0 && r.ServerCrashes == 0 && r.Incomplete == 0
}

func (r *Report) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "kills survived:      %d (+ final kill before verification: %v)\n", r.Kills, r.FinalKill)
	fmt.Fprintf(&b, "server crashes:      %d\n", r.ServerCrashes)
	fmt.Fprintf(&b, "workflows started:   %d acknowledged, %d never acknowledged\n", r.WorkflowsStarted, r.StartsUnknown)
	fmt.Fprintf(&b, "workflows checked:   %d (%d run histories incl. continue-as-new runs and children)\n", r.WorkflowsChecked, r.RunsChecked)
	fmt.Fprintf(&b, "signals checked:     %d acknowledged; %d unknown (%d of them applied once)\n", r.SignalsAcked, r.SignalsUnknown, r.SignalsUnknownIn)
	fmt.Fprintf(&b, "updates checked:     %d acknowledged; %d unknown (%d of them applied once); %d same-id retries\n", r.UpdatesAcked, r.UpdatesUnknown, r.UpdatesUnknownIn, r.UpdateRetries)
	fmt.Fprintf(&b, "schedules checked:   %d (%d scheduled workflow runs)\n", r.SchedulesChecked, r.ScheduledRuns)
	fmt.Fprintf(&b, "workflow pause:      %v (pause and unpause calls)\n", r.WfPause)
	fmt.Fprintf(&b, "batch operations:    %v (workflows in signal/terminate jobs; %d terminated but not counted by a resumed query job)\n", r.Batch, r.BatchUncounted)
	fmt.Fprintf(&b, "standalone acts:     %v (starts)\n", r.Standalone)
	fmt.Fprintf(&b, "activity pause:      %v (pause and unpause calls)\n", r.ActPause)
	fmt.Fprintf(&b, "control retries:     %d (control-mix calls retried after an error, e.g. a kill)\n", r.ControlRetries)
	fmt.Fprintf(&b, "lost:                %d\n", r.Lost)
	fmt.Fprintf(&b, "duplicated:          %d\n", r.Duplicated)
	fmt.Fprintf(&b, "dup across CAN:      %d (retried signal request landing in two runs; tolerated)\n", r.DupAcrossCAN)
	fmt.Fprintf(&b, "malformed histories: %d\n", r.Malformed)
	fmt.Fprintf(&b, "wrong results:       %d\n", r.WrongResult)
	fmt.Fprintf(&b, "incomplete:          %d (still running when the drain ended)\n", r.Incomplete)
	fmt.Fprintf(&b, "task stalls:         %d workflow tasks waited > %v to start (longest wait %v)\n", len(r.Stalls), StallThreshold, r.MaxTaskWait.Round(time.Millisecond))
	for i, s := range r.Stalls {
		if i == 10 {
			fmt.Fprintf(&b, "  ... %d more\n", len(r.Stalls)-10)
			break
		}
		fmt.Fprintf(&b, "  stall: %s\n", s)
	}
	fmt.Fprintf(&b, "elapsed:             %v\n", r.Elapsed.Round(time.Millisecond))
	for i, v := range r.Violations {
		if i == 50 {
			fmt.Fprintf(&b, "... %d more violations\n", len(r.Violations)-50)
			break
		}
		fmt.Fprintf(&b, "VIOLATION: %s\n", v)
	}
	if r.OK() {
		b.WriteString("RESULT: OK\n")
	} else {
		b.WriteString("RESULT: FAILED\n")
	}
	return b.String()
}

// wfState is the client's record of one workflow.
type wfState struct {
	plan       Plan
	acked      bool // start acknowledged
	firstRunID string
	mu         sync.Mutex
	signals    map[string]bool // payload -> acknowledged
	updates    map[string]bool // update id -> acknowledged
	doneSent   bool
	waited     bool      // the driver got to wait for the result
	stage      string    // what the driver is doing now ("" when it returned)
	stageSince time.Time // since when
	lastErr    error     // the last error of the current stage
	result     *Result
	resultErr  error
}

// Run runs one torture test and returns its report; err is set only when
// the run could not be carried out (binary missing, server never ready).
func Run(ctx context.Context, cfg Config) (*Report, error) {
	began := time.Now()
	logf := cfg.Logf
	if logf == nil {
		logf = func(string, ...any) {}
	}
	rep := &Report{}
	rng := rand.New(rand.NewSource(cfg.Seed))
	logf("torture: seed %d, %d kills every %v..%v, >= %d workflows, concurrency %d", cfg.Seed, cfg.Kills, cfg.KillMin, cfg.KillMax, cfg.Workflows, cfg.Concurrency)
	if cfg.clustered() {
		if cfg.Nodes < 1 {
			cfg.Nodes = 1
		}
		if cfg.Postgres == "" {
			cfg.Postgres = "auto"
		}
		if cfg.LeasePeriod <= 0 {
			cfg.LeasePeriod = time.Second
		}
		cfg.Schedules = 0 // refused on a cluster (internal/forward/notclustered.go)
		logf("torture: cluster of %d nodes on PostgreSQL, leases of %v", cfg.Nodes, cfg.LeasePeriod)
	}

	dir := cfg.DataDir
	if dir == "" {
		d, err := os.MkdirTemp("", "sundial-torture-")
		if err != nil {
			return nil, err
		}
		dir = d
		if !cfg.KeepData {
			defer os.RemoveAll(d)
		}
	}
	fl, err := newFleet(cfg, dir)
	if err != nil {
		return nil, err
	}
	defer fl.close()
	if err := fl.start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", cfg.ServerBin, err)
	}
	logf("torture: %s", fl.describe())

	var sdkLog log.Logger = quietLogger{}
	if cfg.SDKLog {
		sdkLog = warnLogger{logf}
	}
	copts := client.Options{Logger: sdkLog}
	if cfg.SDKLog {
		copts.ConnectionOptions.DialOptions = []grpc.DialOption{grpc.WithChainUnaryInterceptor(
			func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
				if !strings.Contains(method, "Poll") {
					return invoker(ctx, method, req, reply, cc, opts...)
				}
				began := time.Now()
				err := invoker(ctx, method, req, reply, cc, opts...)
				logf("rpc %s took %v err=%v", method[strings.LastIndex(method, "/")+1:], time.Since(began).Round(time.Millisecond), err)
				return err
			})}
	}
	// One client per server: client i talks to server i only.
	optsFor := func(i int) client.Options {
		o := copts
		o.HostPort = fl.servers[i].addr()
		return o
	}
	clients := make([]client.Client, len(fl.servers))
	for i := range clients {
		ci, err := client.Dial(optsFor(i))
		if err != nil {
			return nil, fmt.Errorf("dial %s: %w", fl.servers[i].name, err)
		}
		defer ci.Close()
		clients[i] = ci
	}
	c := clients[0]
	tq := fmt.Sprintf("torture-%d", cfg.Seed)
	// Each server has a worker with its own client. With FreshWorker they
	// are replaced after every restart (the old ones are stopped in the
	// background): the Go SDK's poll backoff otherwise keeps a worker
	// idle for as long as the server keeps dying every second or two
	// (BUGS.md #2). On a cluster every node's worker is replaced after a
	// kill: the polls of all of them are forwarded to the queue's owner,
	// which may be the node that died.
	type workerRef struct {
		c client.Client
		w worker.Worker
	}
	startWorker := func(i int) (*workerRef, error) {
		var last error
		for attempt := 0; attempt < 20; attempt++ {
			wc, err := client.Dial(optsFor(i))
			if err != nil {
				last = err
				time.Sleep(100 * time.Millisecond)
				continue
			}
			w := worker.New(wc, tq, worker.Options{})
			w.RegisterWorkflow(TortureWorkflow)
			w.RegisterWorkflow(ChildWorkflow)
			w.RegisterActivity(MixActivity)
			w.RegisterWorkflow(WaiterWorkflow)
			w.RegisterWorkflow(ActPauseWorkflow)
			w.RegisterActivity(GatedActivity)
			w.RegisterActivity(SlowMixActivity)
			if err := w.Start(); err != nil {
				wc.Close()
				last = err
				continue
			}
			return &workerRef{wc, w}, nil
		}
		return nil, fmt.Errorf("worker: %w", last)
	}
	var workerMu sync.Mutex
	workers := make([]*workerRef, len(fl.servers))
	for i := range workers {
		if workers[i], err = startWorker(i); err != nil {
			return nil, err
		}
	}
	defer func() {
		workerMu.Lock()
		defer workerMu.Unlock()
		for _, w := range workers {
			w.w.Stop()
			w.c.Close()
		}
	}()
	replaceWorkers := func() {
		if !cfg.FreshWorker {
			return
		}
		for i := range workers {
			nw, err := startWorker(i)
			if err != nil {
				logf("torture: new worker on %s after restart: %v (keeping the old one)", fl.servers[i].name, err)
				continue
			}
			workerMu.Lock()
			old := workers[i]
			workers[i] = nw
			workerMu.Unlock()
			go func() { old.w.Stop(); old.c.Close() }()
		}
	}

	t := &tally{rep: rep}
	violate := t.violate

	scheds := createSchedules(ctx, c, cfg.Seed, cfg.Schedules, logf)

	// The killer: SIGKILL a random server at random moments, restart it on
	// the same dir (or database) and port.
	loadCtx, stopLoad := context.WithTimeout(ctx, cfg.MaxDuration)
	defer stopLoad()
	var kills atomic.Int64
	killsDone := make(chan struct{})
	var killErr error
	var srvMu sync.Mutex // held while the server is being restarted
	go func() {
		defer close(killsDone)
		krng := rand.New(rand.NewSource(cfg.Seed + 1))
		for int(kills.Load()) < cfg.Kills {
			d := cfg.KillMin + time.Duration(krng.Int63n(int64(cfg.KillMax-cfg.KillMin)+1))
			select {
			case <-loadCtx.Done():
				return
			case <-time.After(d):
			}
			srvMu.Lock()
			for i, s := range fl.servers {
				if !s.alive() {
					violate(&rep.ServerCrashes, "%s exited on its own before kill %d (see %s)", s.name, kills.Load()+1, fl.logs[i])
				}
			}
			victim := 0
			if len(fl.servers) > 1 {
				victim = krng.Intn(len(fl.servers))
			}
			srv := fl.servers[victim]
			srv.kill()
			var down time.Duration
			if cfg.DownMax > 0 {
				down = time.Duration(krng.Int63n(int64(cfg.DownMax)))
				time.Sleep(down)
			}
			err := srv.start()
			srvMu.Unlock()
			if err != nil {
				killErr = fmt.Errorf("%s: %w", srv.name, err)
				stopLoad()
				return
			}
			if len(fl.servers) > 1 {
				logf("torture: kill %d: %s, down %v", kills.Load()+1, srv.name, down.Round(time.Millisecond))
			}
			replaceWorkers()
			n := kills.Add(1)
			if n%10 == 0 || n == int64(cfg.Kills) {
				logf("torture: %d kills", n)
			}
		}
	}()

	// The load: drivers, cfg.Concurrency at a time, until enough workflows
	// were started and every kill is done.
	var (
		wfs   []*wfState
		wg    sync.WaitGroup
		sem   = make(chan struct{}, cfg.Concurrency)
		drive = &driver{cs: clients, tq: tq, t: t, logf: logf}
	)
	drainCtx, stopDrain := context.WithTimeout(ctx, cfg.MaxDuration+cfg.Drain)
	defer stopDrain()
	drive.ctx = drainCtx
	ctl := &control{cs: clients, tq: tq, seed: cfg.Seed, ctx: drainCtx, t: t, logf: logf, kills: kills.Load,
		killing: func() bool {
			select {
			case <-killsDone:
				return false
			default:
				return true
			}
		}}
	ctlDone := make(chan struct{})
	go func() { defer close(ctlDone); ctl.run(cfg) }()
	for i := 0; ; i++ {
		killing := true
		select {
		case <-killsDone:
			killing = false
		default:
		}
		if loadCtx.Err() != nil || (!killing && i >= cfg.Workflows) {
			break
		}
		select {
		case sem <- struct{}{}:
		case <-loadCtx.Done():
			continue
		}
		st := &wfState{
			plan: Plan{
				ID:    fmt.Sprintf("torture-%d-%d", cfg.Seed, i),
				Seed:  rng.Uint64(),
				Runs:  1 + rng.Intn(cfg.MaxRuns),
				Steps: 1 + rng.Intn(cfg.MaxSteps),
			},
			signals: map[string]bool{},
			updates: map[string]bool{},
		}
		nsig, nupd := rng.Intn(cfg.MaxSignals+1), rng.Intn(cfg.MaxUpdates+1)
		seed := rng.Int63()
		wfs = append(wfs, st)
		wg.Add(1)
		go func() {
			defer wg.Done()
			drive.run(st, nsig, nupd, seed, sem)
		}()
	}
	logf("torture: load stopped after %d workflows, %d kills; waiting for results", len(wfs), kills.Load())
	drainTimer := time.AfterFunc(cfg.Drain, stopDrain) // drivers get cfg.Drain from here on
	defer drainTimer.Stop()
	<-killsDone
	if killErr != nil {
		return nil, fmt.Errorf("restart after kill %d: %w", kills.Load()+1, killErr)
	}
	waitDrivers(&wg, wfs, logf)
	<-ctlDone
	rep.Kills = int(kills.Load())

	pctx, pcancel := context.WithTimeout(ctx, cfg.Drain)
	pauseSchedules(pctx, c, scheds, logf)
	pcancel()

	// One more kill -9 (of every node) so that everything verified below is
	// read back from disk (or the database) by freshly started servers.
	srvMu.Lock()
	for i, s := range fl.servers {
		if !s.alive() {
			violate(&rep.ServerCrashes, "%s exited on its own (see %s)", s.name, fl.logs[i])
		}
	}
	fl.killAll()
	err = fl.start()
	srvMu.Unlock()
	if err != nil {
		return nil, fmt.Errorf("final restart: %w", err)
	}
	rep.FinalKill = true
	replaceWorkers() // a run the drain left open may still need one

	logf("torture: verifying %d workflows", len(wfs))
	vctx, vcancel := context.WithTimeout(ctx, cfg.Drain+time.Minute)
	defer vcancel()
	v := &verifier{c: c, ctx: vctx, t: t}
	var vwg sync.WaitGroup
	vsem := make(chan struct{}, 16)
	for _, st := range wfs {
		vwg.Add(1)
		vsem <- struct{}{}
		go func(st *wfState) {
			defer vwg.Done()
			defer func() { <-vsem }()
			v.check(st)
		}(st)
	}
	vwg.Wait()
	for _, s := range scheds {
		v.checkSchedule(s)
	}
	ctl.verify(v)
	for i, s := range fl.servers {
		if !s.alive() {
			violate(&rep.ServerCrashes, "%s exited on its own during verification (see %s)", s.name, fl.logs[i])
		}
	}
	for _, s := range fl.servers {
		if err := s.stop(); err != nil {
			violate(&rep.ServerCrashes, "%s did not stop cleanly on SIGTERM: %v", s.name, err)
		}
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	sort.Strings(rep.Violations)
	rep.Elapsed = time.Since(began)
	if !rep.OK() {
		// Keep the evidence.
		if cfg.DataDir == "" && !cfg.KeepData {
			keep, err := os.MkdirTemp("", "sundial-torture-failed-")
			if err == nil {
				_ = os.Rename(dir, filepath.Join(keep, "run"))
				logf("torture: FAILED; data dir and server log kept in %s", keep)
			}
		}
	}
	return rep, nil
}

// tally guards the report's counters, which drivers and verifiers update
// concurrently.
type tally struct {
	mu  sync.Mutex
	rep *Report
}

func (t *tally) inc(counter *int, n int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	*counter += n
}

func (t *tally) violate(counter *int, format string, args ...any) {
	t.mu.Lock()
	defer t.mu.Unlock()
	*counter++
	t.rep.Violations = append(t.rep.Violations, fmt.Sprintf(format, args...))
}

// warnLogger passes the SDK's warnings and errors on.
type warnLogger struct{ logf func(string, ...any) }

func (warnLogger) Debug(string, ...interface{}) {}
func (warnLogger) Info(string, ...interface{})  {}
func (l warnLogger) Warn(msg string, kv ...interface{}) {
	l.logf("sdk warn: %s %v", msg, kv)
}
func (l warnLogger) Error(msg string, kv ...interface{}) {
	l.logf("sdk error: %s %v", msg, kv)
}

type quietLogger struct{}

func (quietLogger) Debug(string, ...interface{}) {}
func (quietLogger) Info(string, ...interface{})  {}
func (quietLogger) Warn(string, ...interface{})  {}
func (quietLogger) Error(string, ...interface{}) {}
