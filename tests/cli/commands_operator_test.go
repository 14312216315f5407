package cli_test

import (
	"strings"
	"testing"
)

// TestCLICommandsOperator runs the operator cluster and Nexus endpoint
// commands: the one local cluster is described and listed, adding or
// removing a remote cluster is refused saying Sundial offers no
// replication, and endpoints are created, read, listed, updated and
// deleted.
func TestCLICommandsOperator(t *testing.T) {
	c, srv := cmdCLI(t)

	out := c.run(t, "operator", "cluster", "describe")
	mustLine(t, "cluster describe", out, "ClusterName", "PersistenceStore", "VisibilityStore")
	mustLine(t, "cluster describe", out, "active", "pebble", "pebble")
	out = c.run(t, "operator", "cluster", "list")
	mustContain(t, "cluster list", out, "active", srv.addr, "true")
	out = c.run(t, "operator", "cluster", "system")
	mustContain(t, "cluster system", out, "ServerVersion", "SupportsSchedules", "sundial")
	errOut := c.fail(t, "operator", "cluster", "upsert", "--frontend-address", "127.0.0.1:9")
	mustContain(t, "cluster upsert", errOut, "Sundial does not offer multi-cluster replication")
	errOut = c.fail(t, "operator", "cluster", "remove", "--name", "other")
	mustContain(t, "cluster remove", errOut, `\"other\" not found`, "Sundial does not offer multi-cluster replication")

	out = c.run(t, "operator", "nexus", "endpoint", "create", "--name", "cli-ep", "--target-namespace", "default",
		"--target-task-queue", "nexus-tq", "--description", "first")
	mustContain(t, "endpoint create", out, "Endpoint cli-ep successfully created.")
	c.run(t, "operator", "nexus", "endpoint", "create", "--name", "cli-ep2", "--target-namespace", "default", "--target-task-queue", "nexus-tq2")
	errOut = c.fail(t, "operator", "nexus", "endpoint", "create", "--name", "cli-ep", "--target-namespace", "default", "--target-task-queue", "x")
	mustContain(t, "duplicate endpoint", errOut, "already registered")
	out = c.run(t, "operator", "nexus", "endpoint", "get", "--name", "cli-ep")
	mustLine(t, "endpoint get", out, "Name", "cli-ep")
	mustLine(t, "endpoint get", out, "Target.Worker.TaskQueue", "nexus-tq")
	mustLine(t, "endpoint get", out, "Description", "first")
	out = c.run(t, "operator", "nexus", "endpoint", "list")
	mustContain(t, "endpoint list", out, "cli-ep", "cli-ep2", "nexus-tq2")
	out = c.run(t, "operator", "nexus", "endpoint", "update", "--name", "cli-ep", "--target-task-queue", "nexus-tq3", "--description", "second")
	mustContain(t, "endpoint update", out, "Endpoint cli-ep successfully updated.")
	out = c.run(t, "operator", "nexus", "endpoint", "get", "--name", "cli-ep")
	mustLine(t, "endpoint get after update", out, "Target.Worker.TaskQueue", "nexus-tq3")
	mustLine(t, "endpoint get after update", out, "Description", "second")
	out = c.run(t, "operator", "nexus", "endpoint", "delete", "--name", "cli-ep2")
	mustContain(t, "endpoint delete", out, "Endpoint cli-ep2 successfully deleted")
	if out = c.run(t, "operator", "nexus", "endpoint", "list"); strings.Contains(out, "cli-ep2") {
		t.Fatalf("deleted endpoint still listed:\n%s", out)
	}
	errOut = c.fail(t, "operator", "nexus", "endpoint", "get", "--name", "cli-ep2")
	mustContain(t, "get of a deleted endpoint", errOut, "endpoint not found")
}

// TestCLICommandsTaskQueue runs the task-queue commands: config set and
// get (rate limits with reasons, refused on a workflow queue, unset with
// "default"), list-partition, and the deprecated build-id versioning
// commands, which Sundial does not offer and says so.
func TestCLICommandsTaskQueue(t *testing.T) {
	c, srv := cmdCLI(t)

	out := c.run(t, "task-queue", "config", "set", "--task-queue", "cli-cfg", "--task-queue-type", "activity",
		"--queue-rps-limit", "5", "--queue-rps-limit-reason", "slow down", "--fairness-key-rps-limit-default", "2", "--fairness-key-rps-limit-reason", "share")
	mustContain(t, "config set", out, "Successfully updated task queue configuration", `"requestsPerSecond":5`, `"reason":"slow down"`)
	out = c.run(t, "task-queue", "config", "get", "--task-queue", "cli-cfg", "--task-queue-type", "activity")
	mustContain(t, "config get", out, "Queue Rate Limit", "5.00 rps", "slow down", "Fairness Key Rate Limit Default", "2.00 rps", "share")
	errOut := c.fail(t, "task-queue", "config", "set", "--task-queue", "cli-cfg", "--task-queue-type", "workflow", "--queue-rps-limit", "5")
	mustContain(t, "config set on a workflow queue", errOut, "setting rate limit on workflow task queues is not allowed")
	c.run(t, "task-queue", "config", "set", "--task-queue", "cli-cfg", "--task-queue-type", "activity", "--queue-rps-limit", "default")
	var cfg struct {
		QueueRateLimit struct {
			RateLimit *struct{} `json:"rateLimit"`
		} `json:"queueRateLimit"`
		FairnessKeysRateLimitDefault struct {
			RateLimit struct {
				RequestsPerSecond float64 `json:"requestsPerSecond"`
			} `json:"rateLimit"`
		} `json:"fairnessKeysRateLimitDefault"`
	}
	c.runJSON(t, &cfg, "task-queue", "config", "get", "--task-queue", "cli-cfg", "--task-queue-type", "activity")
	if cfg.QueueRateLimit.RateLimit != nil || cfg.FairnessKeysRateLimitDefault.RateLimit.RequestsPerSecond != 2 {
		t.Fatalf("after unsetting the queue limit: %+v", cfg)
	}

	out = c.run(t, "task-queue", "list-partition", "--task-queue", "cli-cfg")
	mustContain(t, "list-partition", out, "Workflow Task Queue Partitions", "Activity Task Queue Partitions")
	mustLine(t, "list-partition", out, "cli-cfg", srv.addr)

	v1 := "Sundial does not offer the deprecated build-id based worker versioning APIs"
	for _, args := range [][]string{
		{"task-queue", "get-build-ids"},
		{"task-queue", "get-build-id-reachability", "--build-id", "b1"},
		{"task-queue", "update-build-ids", "add-new-default", "--build-id", "b1"},
		{"task-queue", "update-build-ids", "add-new-compatible", "--build-id", "b2", "--existing-compatible-build-id", "b1"},
		{"task-queue", "update-build-ids", "promote-id-in-set", "--build-id", "b1"},
		{"task-queue", "update-build-ids", "promote-set", "--build-id", "b1"},
		{"task-queue", "versioning", "get-rules"},
		{"task-queue", "versioning", "insert-assignment-rule", "--build-id", "b1", "--yes"},
		{"task-queue", "versioning", "replace-assignment-rule", "--build-id", "b1", "--rule-index", "0", "--yes"},
		{"task-queue", "versioning", "delete-assignment-rule", "--rule-index", "0", "--yes"},
		{"task-queue", "versioning", "add-redirect-rule", "--source-build-id", "a", "--target-build-id", "b", "--yes"},
		{"task-queue", "versioning", "replace-redirect-rule", "--source-build-id", "a", "--target-build-id", "b", "--yes"},
		{"task-queue", "versioning", "delete-redirect-rule", "--source-build-id", "a", "--yes"},
		{"task-queue", "versioning", "commit-build-id", "--build-id", "b1", "--yes"},
	} {
		errOut := c.fail(t, append(args, "--task-queue", "cli-cfg")...)
		mustContain(t, strings.Join(args, " "), errOut, "is disabled on this namespace", v1)
	}
}
