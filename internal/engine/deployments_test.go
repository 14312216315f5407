package engine

import (
	"fmt"
	"testing"
)

// TestRampTarget: a ramp sends a workflow id to the ramping version
// deterministically, for about the ramp's share of ids; 0% and 100% are
// exact, and without a ramp everything goes to the current version.
func TestRampTarget(t *testing.T) {
	d := &workerDeployment{Name: "dep", Current: "1", RampingSet: true, Ramping: "2", RampPercent: 30}
	n, ramped := 10000, 0
	for i := 0; i < n; i++ {
		id := fmt.Sprintf("wf-%d", i)
		got := d.target(id)
		if got != d.target(id) {
			t.Fatalf("target of %s is not deterministic", id)
		}
		switch got {
		case "dep.2":
			ramped++
		case "dep.1":
		default:
			t.Fatalf("target %q", got)
		}
	}
	if share := float64(ramped) / float64(n); share < 0.27 || share > 0.33 {
		t.Fatalf("30%% ramp took %.3f of ids", share)
	}
	for _, c := range []struct {
		pct  float32
		set  bool
		want string
	}{{0, true, "dep.1"}, {100, true, "dep.2"}, {50, false, "dep.1"}} {
		d.RampPercent, d.RampingSet = c.pct, c.set
		for i := 0; i < 200; i++ {
			if got := d.target(fmt.Sprintf("x-%d", i)); got != c.want {
				t.Fatalf("ramp %v%% (set %v): target %q, want %q", c.pct, c.set, got, c.want)
			}
		}
	}
	// Ramping to unversioned: the ramped share goes to the plain queue.
	d.Ramping, d.RampingSet, d.RampPercent = "", true, 100
	if got := d.target("any"); got != "" {
		t.Fatalf("ramp to unversioned: target %q", got)
	}
	// Temporal's threshold for an id: farm fingerprint scaled to [0, 100).
	if th := rampThreshold("workflow_1"); th < 0 || th >= 100 {
		t.Fatalf("threshold %v out of range", th)
	}
}
