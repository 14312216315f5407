package engine

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	deploymentpb "go.temporal.io/api/deployment/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"

	"github.com/sundial-io/sundial/internal/matching"
	"github.com/sundial-io/sundial/internal/store/pebblestore"
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

// TestDeploymentLimits: Temporal's limits on deployments per namespace,
// versions per deployment (the oldest deletable version makes room) and
// task queues per version refuse a poll with ResourceExhausted.
func TestDeploymentLimits(t *testing.T) {
	st, err := pebblestore.Open("", pebblestore.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	e, err := New(st, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	defer func(d, v, q int) { maxDeployments, maxVersionsInDeployment, maxQueuesInVersion = d, v, q }(maxDeployments, maxVersionsInDeployment, maxQueuesInVersion)
	maxDeployments, maxVersionsInDeployment, maxQueuesInVersion = 2, 2, 2
	poll := func(queue, dep, build string) error {
		_, err := e.versionedPoll(matching.Key{Namespace: DefaultNamespace, Name: queue, Kind: matching.Workflow},
			&deploymentpb.WorkerDeploymentOptions{DeploymentName: dep, BuildId: build, WorkerVersioningMode: enumspb.WORKER_VERSIONING_MODE_VERSIONED}, "w-"+build, false)
		return err
	}
	exhausted := func(err error, what string) {
		t.Helper()
		var re *serviceerror.ResourceExhausted
		if !errors.As(err, &re) || !strings.Contains(err.Error(), what) || re.Cause != enumspb.RESOURCE_EXHAUSTED_CAUSE_WORKER_DEPLOYMENT_LIMITS {
			t.Fatalf("got %v, want ResourceExhausted about %q", err, what)
		}
	}
	for _, p := range [][3]string{{"q", "a", "1"}, {"q2", "a", "1"}, {"q", "b", "1"}} {
		if err := poll(p[0], p[1], p[2]); err != nil {
			t.Fatal(err)
		}
	}
	exhausted(poll("q", "c", "1"), "maximum deployments in namespace (2)")
	exhausted(poll("q3", "a", "1"), "maximum number of task queues (2)")
	if err := poll("q", "a", "1"); err != nil { // a known queue is no new registration
		t.Fatal(err)
	}
	if err := poll("q", "a", "2"); err != nil {
		t.Fatal(err)
	}
	// Both versions of "a" have pollers: no room for a third.
	exhausted(poll("q", "a", "3"), "maximum number of versions (2)")
	// Once version 1's worker shut down it is deleted to make room.
	e.DeploymentWorkerGone(DefaultNamespace, "w-1")
	if err := poll("q", "a", "3"); err != nil {
		t.Fatal(err)
	}
	d, err := e.DescribeWorkerDeployment(context.Background(), DefaultNamespace, "a")
	if err != nil {
		t.Fatal(err)
	}
	var builds []string
	for _, v := range d.WorkerDeploymentInfo.VersionSummaries {
		builds = append(builds, v.DeploymentVersion.BuildId)
	}
	if fmt.Sprint(builds) != "[2 3]" {
		t.Fatalf("versions after eviction: %v", builds)
	}
}
