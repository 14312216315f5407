package main

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestSummarizeNearestRank(t *testing.T) {
	var lat []time.Duration
	for i := 100; i >= 1; i-- {
		lat = append(lat, time.Duration(i)*time.Millisecond)
	}
	l := summarize(lat)
	if l.P50 != 50 || l.P95 != 95 || l.P99 != 99 || l.Min != 1 || l.Max != 100 {
		t.Fatalf("got %+v", l)
	}
	if summarize(nil) != (Latency{}) {
		t.Fatal("empty input must give zeros")
	}
}

func TestProcReadersOnSelf(t *testing.T) {
	pid := os.Getpid()
	if _, err := cpuSeconds(pid); err != nil {
		t.Fatal(err)
	}
	m, err := readStatus(pid)
	if err != nil || m.rss <= 0 || m.hwm < m.rss {
		t.Fatalf("status %+v err %v", m, err)
	}
}

func TestRunOpsStopsAfterMaxErrors(t *testing.T) {
	p := runOps(context.Background(), 1000, 4, time.Second, func(context.Context, int, int) error {
		return errors.New("boom")
	})
	if p.errs < maxErrors || p.errs > maxErrors+4 || p.err() == nil {
		t.Fatalf("errs %d", p.errs)
	}
}

func TestCompareFlagsRegression(t *testing.T) {
	oldR := &Report{Scenarios: []Result{{Scenario: "timer", Status: "ok", Rate: 100, LatencyMs: Latency{P50: 10}}}}
	path := filepath.Join(t.TempDir(), "old.json")
	if err := writeReport(path, oldR); err != nil {
		t.Fatal(err)
	}
	cur := &Report{Scenarios: []Result{{Scenario: "timer", Status: "ok", Rate: 85, LatencyMs: Latency{P50: 10.5}}}}
	n, err := compareWith(path, cur, 10)
	if err != nil || n != 1 {
		t.Fatalf("regressions %d err %v, want 1 (rate -15%%)", n, err)
	}
}
