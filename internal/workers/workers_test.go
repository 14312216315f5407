package workers

import (
	"testing"
	"time"

	deploymentpb "go.temporal.io/api/deployment/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	workerpb "go.temporal.io/api/worker/v1"
	"google.golang.org/protobuf/types/known/timestamppb"
)

var t0 = time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)

func hb(key, tq string) *workerpb.WorkerHeartbeat {
	return &workerpb.WorkerHeartbeat{
		WorkerInstanceKey: key, WorkerIdentity: "id-" + key, TaskQueue: tq,
		HostInfo: &workerpb.WorkerHostInfo{HostName: "host1"}, SdkName: "temporal-go", SdkVersion: "1.50.0",
		Status: enumspb.WORKER_STATUS_RUNNING, StartTime: timestamppb.New(t0),
		DeploymentVersion: &deploymentpb.WorkerDeploymentVersion{DeploymentName: "dep", BuildId: "b1"},
	}
}

func TestFilter(t *testing.T) {
	w := hb("k1", "orders")
	cases := map[string]bool{
		"":                                true,
		"TaskQueue = 'orders'":            true,
		`TaskQueue = "orders"`:            true,
		"`TaskQueue` = 'orders'":          true,
		"TaskQueue != 'orders'":           false,
		"TaskQueue <> 'other'":            true,
		"TaskQueue STARTS_WITH 'ord'":     true,
		"TaskQueue not starts_with 'ord'": false,
		"HostName = 'host1' AND SdkName = 'temporal-go'":                          true,
		"HostName = 'nope' OR (BuildId = 'b1' AND DeploymentName = 'dep')":        true,
		"WorkerStatus = 'Running'":                                                true,
		"status = 'Running'":                                                      true,
		"Status = 'Running'":                                                      true, // Temporal's SQL parser reads the reserved word as `status`
		"STATUS = 'Running'":                                                      true,
		"taskqueue = 'orders'":                                                    false, // other names are case-sensitive
		"StartTime = '2025-01-02T03:04:05Z'":                                      true,
		"StartTime > '2025-01-01T00:00:00Z'":                                      true,
		"StartTime < '2025-01-01T00:00:00Z'":                                      false,
		"StartTime BETWEEN '2025-01-01T00:00:00Z' AND '2025-01-03T00:00:00Z'":     true,
		"StartTime NOT BETWEEN '2025-01-01T00:00:00Z' AND '2025-01-03T00:00:00Z'": false,
		"HeartbeatTime IS NULL":                                                   true,
		"HeartbeatTime IS NOT NULL":                                               false,
		"HostName IS NOT NULL":                                                    true,
		"NOT TaskQueue = 'orders'":                                                false, // NOT is not supported: no match
		"TaskQueue IN ('orders')":                                                 false,
		"TaskQueue = ''":                                                          false,
		"TaskQueue = 5":                                                           false,
		"Unknown = 'x'":                                                           false,
		"TaskQueue":                                                               false,
		"TaskQueue IS NOT TRUE":                                                   false,
		"TaskQueue = 'orders' ORDER BY StartTime DESC":                            true,
		"TaskQueue = 'orders' ORDER BY Nope":                                      true,
		// A condition that cannot be applied fails evaluation unless AND or
		// OR decided before reaching it, as Temporal evaluates left to right.
		"TaskQueue = 'orders' OR Unknown = 'x'": true,
		"Unknown = 'x' OR TaskQueue = 'orders'": false,
		"TaskQueue = 'other' AND Unknown = 'x'": false,
	}
	for q, want := range cases {
		f, err := ParseFilter(q)
		if err != nil {
			t.Errorf("ParseFilter(%q): %v", q, err)
			continue
		}
		if got := f.Match(w); got != want {
			t.Errorf("%q matched %v, want %v", q, got, want)
		}
	}
	// An unset value is "" or the zero time to comparisons and missing to
	// IS NULL, as in Temporal.
	bare := &workerpb.WorkerHeartbeat{WorkerInstanceKey: "k2", TaskQueue: "orders"}
	for q, want := range map[string]bool{
		"DeploymentName != 'dep'": true, "DeploymentName IS NULL": true, "BuildId IS NOT NULL": false,
		"StartTime IS NULL": true, "StartTime < '2025-01-01T00:00:00Z'": true,
		"HeartbeatTime BETWEEN 0 AND '2025-01-01T00:00:00Z'": false,
	} {
		if f, err := ParseFilter(q); err != nil || f.Match(bare) != want {
			t.Errorf("%q on a bare heartbeat: match %v (err %v), want %v", q, !want, err, want)
		}
	}
	for _, q := range []string{"TaskQueue =", "TaskQueue = 'x' AND", "(TaskQueue = 'x'", "TaskQueue = 'x' LIMIT 5", "where TaskQueue = 'x'", "select * from w", "TaskQueue = 'x", "TaskQueue ~ 'x'"} {
		_, err := ParseFilter(q)
		if _, ok := err.(*serviceerror.InvalidArgument); !ok {
			t.Errorf("ParseFilter(%q) = %v, want InvalidArgument", q, err)
		}
	}
}

func TestRegistry(t *testing.T) {
	r := New()
	now := t0
	r.now = func() time.Time { return now }
	r.Record("ns", []*workerpb.WorkerHeartbeat{hb("b", "q1"), hb("a", "q2"), hb("c", "temporal-sys-x")})
	r.Record("other", []*workerpb.WorkerHeartbeat{hb("z", "q1")})

	if n, _ := r.Count("ns", "", false); n != 2 {
		t.Fatalf("count %d, want 2 (system worker excluded)", n)
	}
	if n, _ := r.Count("ns", "", true); n != 3 {
		t.Fatalf("count with system workers %d", n)
	}
	if n, _ := r.Count("ns", "TaskQueue = 'q1'", false); n != 1 {
		t.Fatalf("filtered count %d", n)
	}
	// Paged: in key order, token continues after the last key.
	page, next, err := r.List("ns", "", 1, nil, false)
	if err != nil || len(page) != 1 || page[0].WorkerInstanceKey != "a" || next == nil {
		t.Fatalf("page 1: %v %s %v", page, next, err)
	}
	page, next, err = r.List("ns", "", 1, next, false)
	if err != nil || len(page) != 1 || page[0].WorkerInstanceKey != "b" || next != nil {
		t.Fatalf("page 2: %v %s %v", page, next, err)
	}
	if _, _, err := r.List("ns", "", 1, []byte("junk"), false); err == nil {
		t.Fatalf("bad token accepted")
	}
	if got, err := r.Describe("ns", "a"); err != nil || got.TaskQueue != "q2" {
		t.Fatalf("describe: %v %v", got, err)
	}
	if _, err := r.Describe("ns", "z"); err == nil {
		t.Fatalf("describe found another namespace's worker")
	}

	// A newer heartbeat replaces the old; SHUTDOWN removes the worker.
	upd := hb("a", "q3")
	now = now.Add(time.Minute)
	r.Record("ns", []*workerpb.WorkerHeartbeat{upd})
	if got, _ := r.Describe("ns", "a"); got.TaskQueue != "q3" {
		t.Fatalf("not replaced: %v", got)
	}
	down := hb("b", "q1")
	down.Status = enumspb.WORKER_STATUS_SHUTDOWN
	r.Record("ns", []*workerpb.WorkerHeartbeat{down})
	if _, err := r.Describe("ns", "b"); err == nil {
		t.Fatalf("shut-down worker still listed")
	}

	// Entries expire EntryTTL after their last heartbeat.
	now = t0.Add(EntryTTL + 30*time.Second) // "a" was seen a minute later
	if _, err := r.Describe("ns", "c"); err == nil {
		t.Fatalf("expired worker still listed")
	}
	if _, err := r.Describe("ns", "a"); err != nil {
		t.Fatalf("live worker expired: %v", err)
	}

	// Past capacity the oldest entries older than MinEvictAge go.
	r.max = 1
	now = now.Add(2 * time.Minute)
	r.Record("ns", []*workerpb.WorkerHeartbeat{hb("d", "q1")})
	r.Record("ns", []*workerpb.WorkerHeartbeat{hb("e", "q1")})
	if _, err := r.Describe("ns", "a"); err == nil {
		t.Fatalf("oldest entry kept past capacity")
	}
	if _, err := r.Describe("ns", "e"); err != nil {
		t.Fatalf("newest entry evicted: %v", err)
	}
}
