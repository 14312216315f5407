package main

import (
	"os"
	"path/filepath"
	"testing"
)

func TestLastStartupPhases(t *testing.T) {
	path := filepath.Join(t.TempDir(), "server.log")
	log := `time=2026-11-27T10:00:00Z level=INFO msg="startup phases" total=48ms store=30ms store.pebble_open=29.5ms store.replayed_bytes=5308948
sundial ready in 50ms: listening on 127.0.0.1:7233
time=2026-11-27T10:05:00Z level=INFO msg="startup phases" total=17.81ms store=11.97ms store.pebble_open=10.89ms store.replayed_bytes=0 engine.namespaces=5.12ms
`
	if err := os.WriteFile(path, []byte(log), 0o644); err != nil {
		t.Fatal(err)
	}
	ph := lastStartupPhases(path)
	for key, want := range map[string]float64{"total": 17.81, "store.pebble_open": 10.89, "store.replayed_bytes": 0, "engine.namespaces": 5.12} {
		got, ok := phaseMs(ph, key)
		if !ok || got != want {
			t.Errorf("%s = %v (found %v), want %v (the last line's)", key, got, ok, want)
		}
	}
	if _, ok := phaseMs(ph, "grpc"); ok {
		t.Error("grpc found in a line without it")
	}
	if lastStartupPhases(filepath.Join(t.TempDir(), "missing.log")) != nil {
		t.Error("phases from a missing log")
	}
}
