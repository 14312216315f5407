package main

import (
	"encoding/json"
	"fmt"
	"os"
)

// metric is one number compared between runs; higherBetter tells which
// direction of change is a regression.
type metric struct {
	name         string
	higherBetter bool
	get          func(r *Result) (float64, bool)
}

var metrics = []metric{
	{"rate", true, func(r *Result) (float64, bool) { return r.Rate, r.Rate > 0 }},
	{"p50", false, func(r *Result) (float64, bool) { return r.LatencyMs.P50, r.LatencyMs.P50 > 0 }},
	{"p95", false, func(r *Result) (float64, bool) { return r.LatencyMs.P95, r.LatencyMs.P95 > 0 }},
	{"p99", false, func(r *Result) (float64, bool) { return r.LatencyMs.P99, r.LatencyMs.P99 > 0 }},
	// CPU per operation, not total CPU: totals differ whenever -count does.
	{"cpu_ms/op", false, func(r *Result) (float64, bool) { return ptr(r.ServerCPUMsPerOp) }},
	{"peak_rss", false, func(r *Result) (float64, bool) {
		if r.ServerPeakRSSBytes == nil {
			return 0, false
		}
		return float64(*r.ServerPeakRSSBytes), *r.ServerPeakRSSBytes > 0
	}},
	{"bytes/open_wf", false, func(r *Result) (float64, bool) {
		v, ok := r.Extra["bytes_per_open_wf"]
		return v, ok && v > 0
	}},
}

func ptr(p *float64) (float64, bool) {
	if p == nil || *p <= 0 {
		return 0, false
	}
	return *p, true
}

// compareWith prints each scenario's change against an earlier result file
// and returns how many metrics regressed by more than threshold percent.
func compareWith(path string, cur *Report, threshold float64) (int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	var old Report
	if err := json.Unmarshal(b, &old); err != nil {
		return 0, fmt.Errorf("%s: %w", path, err)
	}
	prev := map[string]*Result{}
	for i := range old.Scenarios {
		prev[old.Scenarios[i].Scenario] = &old.Scenarios[i]
	}
	fmt.Printf("\ncompared with %s (commit %s, %s); regression = worse by more than %.0f%%\n",
		path, short(old.GitCommit), old.Date, threshold)
	regressions := 0
	for i := range cur.Scenarios {
		r := &cur.Scenarios[i]
		o, ok := prev[r.Scenario]
		if !ok {
			fmt.Printf("%-16s not in old results\n", r.Scenario)
			continue
		}
		if r.Status != "ok" || o.Status != "ok" {
			fmt.Printf("%-16s not compared: old %s, new %s\n", r.Scenario, o.Status, r.Status)
			continue
		}
		line := ""
		for _, m := range metrics {
			ov, ok1 := m.get(o)
			nv, ok2 := m.get(r)
			if !ok1 || !ok2 {
				continue
			}
			pct := (nv - ov) / ov * 100
			worse := pct > threshold
			if m.higherBetter {
				worse = pct < -threshold
			}
			mark := ""
			if worse {
				mark = " REGRESSION"
				regressions++
			}
			line += fmt.Sprintf("  %s %+.1f%%%s", m.name, pct, mark)
		}
		if disturbed(o) || disturbed(r) {
			line += "  (other load on the machine in one run: noisy)"
		}
		fmt.Printf("%-16s%s\n", r.Scenario, line)
	}
	if regressions > 0 {
		fmt.Printf("%d regression(s) over %.0f%%\n", regressions, threshold)
	} else {
		fmt.Println("no regressions")
	}
	return regressions, nil
}

func short(c string) string {
	if len(c) > 12 {
		return c[:12]
	}
	return c
}

// disturbed tells whether other processes used a quarter core or more
// during the scenario, which makes its timings unreliable.
func disturbed(r *Result) bool {
	return r.OtherCPUSeconds != nil && r.MeteredSeconds > 0 && *r.OtherCPUSeconds > 0.25*r.MeteredSeconds
}
