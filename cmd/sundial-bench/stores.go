package main

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"sort"
	"strings"

	"go.temporal.io/sdk/worker"

	"github.com/sundial-io/sundial/internal/store/pgstore/pgtest"
)

// The -stores mode runs the selected scenarios on one Sundial node per
// store, back to back in one invocation, so the stores are compared under
// the same machine load: a fresh server (and, for PostgreSQL, a fresh
// database) per run, -repeat rounds interleaved (pebble, postgres, pebble,
// postgres, ...), then a table of medians. For PostgreSQL the bench starts
// a throwaway server itself (pgtest, fsync and synchronous_commit on) and
// measures its CPU (postmaster and every backend, from /proc), the WAL it
// wrote and its write transactions, unless -server-postgres names a
// database elsewhere (then its CPU is not measured).
//
// Three nodes on one database belong here as a third kind once the cluster
// forwards requests between nodes (issue 16): it would start three servers
// on one database, spread the workers over them, and report each node's
// CPU per workflow next to the database's.

// storeKinds are the stores -stores accepts.
var storeKinds = []string{"pebble", "postgres"}

// benchPGSettings are the settings of the PostgreSQL the bench starts, on
// top of fsync=on and synchronous_commit=on; durability stays PostgreSQL's
// default (full_page_writes on). They space checkpoints out and compress
// the full-page images written after each one: a run of minutes then has
// at most one checkpoint, as a production server sized for this write
// rate would. Runs of the default size end before the first checkpoint
// either way (no difference measured, docs/PERFORMANCE.md).
var benchPGSettings = map[string]string{
	"wal_compression":    "lz4",
	"max_wal_size":       "4GB",
	"checkpoint_timeout": "15min",
}

func parseStores(list string) ([]string, error) {
	var out []string
	for _, k := range strings.Split(list, ",") {
		k = strings.TrimSpace(k)
		if k == "" {
			continue
		}
		ok := false
		for _, s := range storeKinds {
			ok = ok || s == k
		}
		if !ok {
			return nil, fmt.Errorf("unknown store %q in -stores (have %s)", k, strings.Join(storeKinds, ","))
		}
		out = append(out, k)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("-stores names no store")
	}
	return out, nil
}

func runStoresMode(ctx context.Context, cfg *config, selected []scenario) int {
	kinds, err := parseStores(cfg.stores)
	if err != nil {
		fmt.Fprintln(os.Stderr, "sundial-bench:", err)
		return 2
	}
	if cfg.address != "" || cfg.prefill > 0 || cfg.serverMemory {
		fmt.Fprintln(os.Stderr, "sundial-bench: -stores starts its own servers: no -address, -prefill or -server-memory")
		return 2
	}
	for _, sc := range selected {
		if sc.name == "sleepers" {
			fmt.Fprintln(os.Stderr, "sundial-bench: the sleepers scenario restarts the server: run it alone, without -stores")
			return 2
		}
	}
	var pg *pgtest.Server
	var pgPID int
	if cfg.serverPostgres == "" && contains(kinds, "postgres") {
		settings := map[string]string{}
		for k, v := range benchPGSettings {
			settings[k] = v
		}
		for _, kv := range cfg.pgSettings {
			k, v, ok := strings.Cut(kv, "=")
			if !ok {
				fmt.Fprintf(os.Stderr, "sundial-bench: -pg-setting %q is not name=value\n", kv)
				return 2
			}
			settings[k] = v
		}
		pg, err = pgtest.StartServer(pgtest.Options{Fsync: true, Settings: settings})
		if err != nil {
			fmt.Fprintln(os.Stderr, "sundial-bench: PostgreSQL:", err)
			return 1
		}
		defer pg.Stop()
		if pgPID, err = pg.PID(); err != nil {
			fmt.Fprintln(os.Stderr, "sundial-bench:", err)
			return 1
		}
		fmt.Printf("postgres: started on 127.0.0.1:%d (pid %d), fsync on, synchronous_commit on, settings %v\n", pg.Port, pgPID, settings)
	}

	report := newReport(cfg)
	code := 0
	for round := 1; round <= cfg.repeat && ctx.Err() == nil; round++ {
		for _, kind := range kinds {
			if ctx.Err() != nil {
				break
			}
			fmt.Printf("\n== %s, round %d of %d\n", kind, round, cfg.repeat)
			results, info, err := runStoreOnce(ctx, cfg, kind, round, pg, pgPID, selected)
			if err != nil {
				fmt.Fprintf(os.Stderr, "sundial-bench: %s round %d: %v\n", kind, round, err)
				code = 1
				continue
			}
			report.Servers = append(report.Servers, info)
			report.Scenarios = append(report.Scenarios, results...)
		}
	}
	printStoresSummary(report.Scenarios, kinds)
	if cfg.out != "" {
		if err := writeReport(cfg.out, report); err != nil {
			fmt.Fprintln(os.Stderr, "sundial-bench:", err)
			code = 1
		} else {
			fmt.Printf("results written to %s\n", cfg.out)
		}
	}
	for _, r := range report.Scenarios {
		if r.Status != "ok" && code == 0 {
			code = 1
		}
	}
	return code
}

// runStoreOnce starts a server on the given store, runs the scenarios and
// stops it.
func runStoreOnce(ctx context.Context, cfg *config, kind string, round int, pg *pgtest.Server, pgPID int, selected []scenario) ([]Result, ServerInfo, error) {
	rc := *cfg
	var info ServerInfo
	var probe *dbProbe
	if kind == "postgres" && pg != nil {
		url, err := pg.CreateDatabase(fmt.Sprintf("bench_%d_%d", os.Getpid(), round))
		if err != nil {
			return nil, info, err
		}
		rc.serverPostgres = url
		if probe, err = newDBProbe(ctx, pgPID, url); err != nil {
			return nil, info, fmt.Errorf("database probe: %w", err)
		}
		defer probe.close()
	}
	if kind == "pebble" {
		rc.serverPostgres = ""
	}
	srv, err := startServer(ctx, &rc, &info)
	if err != nil {
		return nil, info, err
	}
	defer srv.stop()
	b, err := newBench(ctx, &rc, srv)
	if err != nil {
		return nil, info, err
	}
	defer b.close()
	b.db = probe
	printHeader()
	var out []Result
	for _, sc := range selected {
		if ctx.Err() != nil {
			break
		}
		res := b.runScenario(ctx, sc)
		res.Store, res.Repeat = kind, round
		printResult(res)
		printDBLine(res)
		out = append(out, res)
	}
	// The next run starts with an empty SDK cache, as this one did.
	worker.PurgeStickyWorkflowCache()
	return out, info, nil
}

func printDBLine(r Result) {
	if r.DBCPUSeconds == nil {
		return
	}
	fmt.Printf("%16s   postgres: CPU %.2f s (%s ms/op), WAL %.0f B/op, %.1f ops per write transaction\n", "",
		*r.DBCPUSeconds, fmtPtr(r.DBCPUMsPerOp), r.Extra["db_wal_bytes_per_op"], r.Extra["db_ops_per_write_txn"])
}

func fmtPtr(v *float64) string {
	if v == nil {
		return "-"
	}
	return fmt.Sprintf("%.3f", *v)
}

// printStoresSummary prints, per store and scenario, the median of each
// figure over the rounds that succeeded, and every round's rate.
func printStoresSummary(results []Result, kinds []string) {
	type key struct{ store, scenario string }
	groups := map[key][]Result{}
	var scenarioOrder []string
	for _, r := range results {
		if r.Status != "ok" {
			continue
		}
		if !contains(scenarioOrder, r.Scenario) {
			scenarioOrder = append(scenarioOrder, r.Scenario)
		}
		k := key{r.Store, r.Scenario}
		groups[k] = append(groups[k], r)
	}
	var order []key
	var computed []string
	for _, sc := range scenarioOrder {
		for _, kind := range kinds {
			if _, ok := groups[key{kind, sc}]; ok {
				order = append(order, key{kind, sc})
			}
		}
	}
	fmt.Printf("\nmedians over rounds (CPU in ms per operation, warm-up included in the CPU window)\n")
	const f = "%-9s %-12s %6s %9s %9s %9s %9s %8s %8s %8s %8s  %s\n"
	fmt.Printf(f, "store", "scenario", "rounds", "rate", "p50", "p95", "p99", "server", "db", "srv+db", "bench", "rates")
	for _, k := range order {
		rs := groups[k]
		pick := func(get func(Result) (float64, bool)) []float64 {
			var v []float64
			for _, r := range rs {
				if x, ok := get(r); ok {
					v = append(v, x)
				}
			}
			return v
		}
		rate := pick(func(r Result) (float64, bool) { return r.Rate, true })
		srv := pick(func(r Result) (float64, bool) { return deref(r.ServerCPUMsPerOp) })
		db := pick(func(r Result) (float64, bool) { return deref(r.DBCPUMsPerOp) })
		both := pick(func(r Result) (float64, bool) {
			s, ok := deref(r.ServerCPUMsPerOp)
			d, _ := deref(r.DBCPUMsPerOp)
			return s + d, ok
		})
		bench := pick(func(r Result) (float64, bool) {
			if r.Completed == 0 {
				return 0, false
			}
			return r.BenchCPUSeconds * 1000 / float64(r.Completed), true
		})
		var rates []string
		for _, x := range rate {
			rates = append(rates, fmt.Sprintf("%.0f", x))
		}
		fmt.Printf(f, k.store, k.scenario, fmt.Sprint(len(rs)),
			fmtMed(rate, "%.1f"),
			fmtMs(median(pick(func(r Result) (float64, bool) { return r.LatencyMs.P50, true }))),
			fmtMs(median(pick(func(r Result) (float64, bool) { return r.LatencyMs.P95, true }))),
			fmtMs(median(pick(func(r Result) (float64, bool) { return r.LatencyMs.P99, true }))),
			fmtMed(srv, "%.3f"), fmtMed(db, "%.3f"), fmtMed(both, "%.3f"), fmtMed(bench, "%.3f"),
			strings.Join(rates, " / "))
		if len(both) > 0 && len(bench) > 0 {
			computed = append(computed, fmt.Sprintf("%s %s: %.0f %s", k.store, k.scenario,
				float64(runtime.NumCPU())*1000/(median(both)+median(bench)), rs[0].Unit))
		}
	}
	if len(computed) > 0 {
		fmt.Printf("computed, not measured: %d cores / (server + db + bench CPU per op) = %s\n",
			runtime.NumCPU(), strings.Join(computed, ", "))
	}
	fmt.Printf("%-9s %s\n", "postgres3", "three nodes on one database: not measured (needs request forwarding between nodes, issue 16)")
}

func deref(v *float64) (float64, bool) {
	if v == nil {
		return 0, false
	}
	return *v, true
}

// median of v (NaN-free; 0 for none).
func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func fmtMed(v []float64, format string) string {
	if len(v) == 0 {
		return "-"
	}
	return fmt.Sprintf(format, median(v))
}

func contains(list []string, s string) bool { return indexOf(list, s) >= 0 }

func indexOf(list []string, s string) int {
	for i, x := range list {
		if x == s {
			return i
		}
	}
	return -1
}
