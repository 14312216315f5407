package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"
)

// Report is the JSON written by -out and read by -compare.
type Report struct {
	GitCommit string            `json:"git_commit"`
	Date      string            `json:"date"`
	GoVersion string            `json:"go_version"`
	CPUs      int               `json:"cpus"`
	LoadAvg   string            `json:"loadavg_at_start"`
	Flags     map[string]string `json:"flags"`
	Server    ServerInfo        `json:"server"`
	Servers   []ServerInfo      `json:"servers,omitempty"` // -stores mode: one per run, in order
	Scenarios []Result          `json:"scenarios"`
}

// Result is one scenario. Pointers are nil when a number could not be
// measured (no server pid), so absent never reads as zero.
type Result struct {
	Scenario            string             `json:"scenario"`
	Store               string             `json:"store,omitempty"`  // -stores mode: pebble, postgres
	Repeat              int                `json:"repeat,omitempty"` // -stores mode: which round (1..-repeat)
	Status              string             `json:"status"`           // ok | failed
	Error               string             `json:"error,omitempty"`
	Count               int                `json:"count"`
	Completed           int                `json:"completed"`
	Errors              int                `json:"errors"`
	Concurrency         int                `json:"concurrency"`
	Unit                string             `json:"unit"`
	Rate                float64            `json:"rate"`
	WallSeconds         float64            `json:"wall_seconds"`
	LatencyMs           Latency            `json:"latency_ms"`
	ServerCPUSeconds    *float64           `json:"server_cpu_seconds,omitempty"`
	ServerCPUMsPerOp    *float64           `json:"server_cpu_ms_per_op,omitempty"`
	ServerPeakRSSBytes  *int64             `json:"server_peak_rss_bytes,omitempty"`
	ServerRSSStartBytes int64              `json:"server_rss_start_bytes,omitempty"`
	ServerRSSEndBytes   int64              `json:"server_rss_end_bytes,omitempty"`
	DBCPUSeconds        *float64           `json:"db_cpu_seconds,omitempty"` // PostgreSQL started by the bench: postmaster and all its children
	DBCPUMsPerOp        *float64           `json:"db_cpu_ms_per_op,omitempty"`
	BenchCPUSeconds     float64            `json:"bench_cpu_seconds"`
	OtherCPUSeconds     *float64           `json:"other_cpu_seconds,omitempty"`
	MeteredSeconds      float64            `json:"metered_seconds"` // window of the CPU numbers: warm-up, setup and teardown included
	Extra               map[string]float64 `json:"extra,omitempty"`
	Notes               []string           `json:"notes,omitempty"`
}

func (r *Result) fail(err error) {
	r.Status = "failed"
	r.Error = err.Error()
}

func newReport(cfg *config) *Report {
	flags := map[string]string{}
	flag.VisitAll(func(f *flag.Flag) { flags[f.Name] = f.Value.String() })
	return &Report{
		GitCommit: gitCommit(),
		Date:      time.Now().UTC().Format(time.RFC3339),
		GoVersion: runtime.Version(),
		CPUs:      runtime.NumCPU(),
		LoadAvg:   loadAvg(),
		Flags:     flags,
	}
}

// gitCommit names the checkout the bench runs from, "+dirty" when it has
// uncommitted changes, so a result can be traced to code.
func gitCommit() string {
	out, err := exec.Command("git", "rev-parse", "HEAD").Output()
	if err != nil {
		return "unknown"
	}
	c := strings.TrimSpace(string(out))
	if st, err := exec.Command("git", "status", "--porcelain", "--untracked-files=no").Output(); err == nil && len(st) > 0 {
		c += "+dirty"
	}
	return c
}

func writeReport(path string, r *Report) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

const lineFmt = "%-16s %11s %14s %9s %9s %9s %8s %10s  %s\n"

func printHeader() {
	fmt.Printf(lineFmt, "scenario", "count", "rate", "p50", "p95", "p99", "cpu_s", "peak_rss", "status")
}

func printResult(r Result) {
	cpu := "-"
	if r.ServerCPUSeconds != nil {
		cpu = fmt.Sprintf("%.2f", *r.ServerCPUSeconds)
	}
	peak := "-"
	if r.ServerPeakRSSBytes != nil {
		peak = mib(*r.ServerPeakRSSBytes)
	}
	status := r.Status
	if r.Status != "ok" {
		status = "FAILED: " + r.Error
	}
	fmt.Printf(lineFmt, r.Scenario, fmt.Sprintf("%d/%d", r.Completed, r.Count),
		fmt.Sprintf("%.1f %s", r.Rate, r.Unit),
		fmtMs(r.LatencyMs.P50), fmtMs(r.LatencyMs.P95), fmtMs(r.LatencyMs.P99), cpu, peak, status)
	for _, n := range r.Notes {
		fmt.Printf("%16s   %s\n", "", n)
	}
}

func fmtMs(v float64) string {
	if v == 0 {
		return "-"
	}
	if v < 10 {
		return fmt.Sprintf("%.2fms", v)
	}
	return fmt.Sprintf("%.1fms", v)
}

// loadAvg is /proc/loadavg at start: a busy machine explains a slow run.
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}
