package gosdk

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/sundial-io/sundial/internal/store/pgstore/pgtest"
)

// TestClusterBench measures one-activity workflows (sundial-bench's
// activity scenario) on one node on Pebble, one node on PostgreSQL, one
// cluster node on PostgreSQL and three cluster nodes on PostgreSQL, one
// after another on this machine. With three nodes the benchmark's client
// and workers use node 0 only, so two thirds of the workflows are owned by
// another node: the run measures the cost of forwarding and of task
// queues across nodes, not a speed-up (all processes share the machine).
// It logs each configuration's line and the sundial processes' CPU
// seconds, and for three nodes the internal calls between nodes per
// workflow by kind (sundial_cluster_internal_calls_total). Off unless
// SUNDIAL_CLUSTER_BENCH=1. SUNDIAL_CLUSTER_BENCH_COUNT sets the workflows
// per configuration (2000 by default); SUNDIAL_CLUSTER_BENCH_CONFIGS picks
// configurations (a comma list of pebble, pg, one, three; all by default);
// SUNDIAL_CLUSTER_BENCH_PORT is the first of the 30 ports the cluster
// nodes use (18520 by default: node addresses from it, metrics from +10,
// profiling endpoints (--pprof) from +20); SUNDIAL_CLUSTER_BENCH_BIN runs
// a sundial binary built elsewhere instead of building this tree's.
func TestClusterBench(t *testing.T) {
	if os.Getenv("SUNDIAL_CLUSTER_BENCH") != "1" {
		t.Skip("set SUNDIAL_CLUSTER_BENCH=1 to run")
	}
	count := 2000
	if n, err := strconv.Atoi(os.Getenv("SUNDIAL_CLUSTER_BENCH_COUNT")); err == nil && n > 0 {
		count = n
	}
	base := 18520
	if n, err := strconv.Atoi(os.Getenv("SUNDIAL_CLUSTER_BENCH_PORT")); err == nil && n > 0 {
		base = n
	}
	want := func(config string) bool {
		v := os.Getenv("SUNDIAL_CLUSTER_BENCH_CONFIGS")
		return v == "" || slices.Contains(strings.Split(v, ","), config)
	}
	dir := t.TempDir()
	bin := os.Getenv("SUNDIAL_CLUSTER_BENCH_BIN") // a sundial binary built elsewhere (to compare builds)
	if bin == "" {
		bin = binBuild(t, dir)
	}
	_, file, _, _ := runtime.Caller(0)
	bench := filepath.Join(dir, "sundial-bench")
	cmd := exec.Command("go", "build", "-o", bench, "./cmd/sundial-bench")
	cmd.Dir = filepath.Join(filepath.Dir(file), "..", "..")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, b)
	}
	pg := pgtest.Start(t, pgtest.Options{})
	run := func(name string, pids []int, args ...string) {
		before := cpuOf(t, pids)
		out, err := exec.Command(bench, append([]string{"-scenarios", "activity", "-count", fmt.Sprint(count), "-concurrency", "50"}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("%s: %v\n%s", name, err, out)
		}
		var line string
		for _, l := range strings.Split(string(out), "\n") {
			if strings.HasPrefix(l, "activity ") {
				line = l
			}
		}
		used := cpuOf(t, pids) - before
		if len(pids) == 0 {
			t.Logf("%-28s %s", name, line)
			return
		}
		t.Logf("%-28s %s  | sundial CPU %.2f s over %d process(es), %.0f µs per workflow", name, line, used, len(pids), used/float64(count)*1e6)
	}
	if want("pebble") {
		run("1 node, Pebble", nil, "-server-bin", bin)
	}
	if want("pg") {
		run("1 node, PostgreSQL", nil, "-server-bin", bin, "-server-postgres", pg.NewDatabase(t))
	}
	if want("one") {
		one := clusterBinStart(t, bin, pg.NewDatabase(t), fmt.Sprintf("127.0.0.1:%d", base))
		run("1 cluster node, PostgreSQL", []int{one.cmd.Process.Pid}, "-address", one.addr, "-server-pid", fmt.Sprint(one.cmd.Process.Pid))
	}
	if !want("three") {
		return
	}
	url := pg.NewDatabase(t)
	var nodes []*binProc
	var pids []int
	var metricsAt []string
	for i := range 3 {
		maddr := fmt.Sprintf("127.0.0.1:%d", base+11+i)
		p := clusterBinStartArgs(t, bin, url, fmt.Sprintf("127.0.0.1:%d", base+1+i), "--port", "0",
			"--metrics-port", fmt.Sprint(base+11+i), "--pprof", fmt.Sprintf("127.0.0.1:%d", base+21+i))
		nodes = append(nodes, p)
		pids = append(pids, p.cmd.Process.Pid)
		metricsAt = append(metricsAt, maddr)
	}
	before := internalCallsOf(t, metricsAt)
	run("3 cluster nodes, PostgreSQL", pids, "-address", nodes[0].addr)
	after := internalCallsOf(t, metricsAt)
	var kinds []string
	var total float64
	for k := range after {
		kinds = append(kinds, k)
		total += after[k] - before[k]
	}
	sort.Strings(kinds)
	var parts []string
	for _, k := range kinds {
		if d := after[k] - before[k]; d > 0 {
			parts = append(parts, fmt.Sprintf("%s %.2f", k, d/float64(count)))
		}
	}
	t.Logf("internal calls per workflow: %.2f (%s)", total/float64(count), strings.Join(parts, ", "))
}

// internalCallsOf sums sundial_cluster_internal_calls_total by kind over
// the nodes' metrics endpoints.
func internalCallsOf(t *testing.T, addrs []string) map[string]float64 {
	sum := map[string]float64{}
	for _, a := range addrs {
		resp, err := http.Get("http://" + a + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range strings.Split(string(b), "\n") {
			rest, ok := strings.CutPrefix(l, `sundial_cluster_internal_calls_total{kind="`)
			if !ok {
				continue
			}
			kind, val, _ := strings.Cut(rest, `"} `)
			v, _ := strconv.ParseFloat(val, 64)
			sum[kind] += v
		}
	}
	return sum
}

// cpuOf sums the user and system CPU seconds of processes from /proc.
func cpuOf(t *testing.T, pids []int) float64 {
	var sum float64
	for _, pid := range pids {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			t.Fatal(err)
		}
		f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
		ut, _ := strconv.ParseFloat(f[11], 64)
		st, _ := strconv.ParseFloat(f[12], 64)
		sum += (ut + st) / 100 // clock ticks (USER_HZ = 100)
	}
	return sum
}
