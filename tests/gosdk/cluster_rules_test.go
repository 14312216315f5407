package gosdk

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

// Workflow rules on a cluster (docs/CLUSTER.md, "Namespaces, rules and
// task queue configurations across nodes"): a rule created through one
// node pauses the matching activities of workflows every node owns.

// ClusterRuleWF runs one activity of the given type and returns its result.
func ClusterRuleWF(ctx workflow.Context, act string) (string, error) {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: 10 * time.Second})
	var s string
	err := workflow.ExecuteActivity(ctx, act).Get(ctx, &s)
	return s, err
}

func clusterPending(ctx context.Context, t *testing.T, c client.Client, id, typ string) *workflowpb.PendingActivityInfo {
	t.Helper()
	d, err := c.DescribeWorkflowExecution(ctx, id, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range d.PendingActivities {
		if p.ActivityType.GetName() == typ {
			return p
		}
	}
	return nil
}

// TestClusterWorkflowRules creates a pausing rule through node 0; node 1
// describes and lists it at once; workflows owned by each node, started
// through node 1 with workers on both nodes, have their matching activity
// paused by the rule (none runs) while another activity type runs. The
// rule is deleted through node 1 and the activities unpaused through node
// 0: they run once and the workflows complete.
func TestClusterWorkflowRules(t *testing.T) {
	tc := newCluster(t, 2)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var pausedRuns, freeRuns atomic.Int32
	tc.workers(func(w worker.Worker) {
		w.RegisterWorkflow(ClusterRuleWF)
		w.RegisterActivityWithOptions(func(ctx context.Context) (string, error) {
			pausedRuns.Add(1)
			return "ran", nil
		}, activity.RegisterOptions{Name: "ClusterPausedAct"})
		w.RegisterActivityWithOptions(func(ctx context.Context) (string, error) {
			freeRuns.Add(1)
			return "free", nil
		}, activity.RegisterOptions{Name: "ClusterFreeAct"})
	})
	ws0, ws1 := tc.nodes[0].c.WorkflowService(), tc.nodes[1].c.WorkflowService()
	if _, err := ws0.CreateWorkflowRule(ctx, &workflowservice.CreateWorkflowRuleRequest{Namespace: "default",
		Spec: pauseRule("cl-pause", `ActivityType = "ClusterPausedAct"`, ""), Identity: "ops", Description: "stop it"}); err != nil {
		t.Fatalf("CreateWorkflowRule on a cluster: %v", err)
	}
	d, err := ws1.DescribeWorkflowRule(ctx, &workflowservice.DescribeWorkflowRuleRequest{Namespace: "default", RuleId: "cl-pause"})
	if err != nil || d.GetRule().GetDescription() != "stop it" {
		t.Fatalf("node 1 describes the rule created through node 0: %v %v", d, err)
	}
	l, err := ws1.ListWorkflowRules(ctx, &workflowservice.ListWorkflowRulesRequest{Namespace: "default"})
	if err != nil || len(l.GetRules()) != 1 {
		t.Fatalf("node 1 lists %d rules (%v), want 1", len(l.GetRules()), err)
	}
	// A second rule with the same id through node 1 is refused.
	if _, err := ws1.CreateWorkflowRule(ctx, &workflowservice.CreateWorkflowRuleRequest{Namespace: "default",
		Spec: pauseRule("cl-pause", `ActivityType = "Other"`, "")}); err == nil {
		t.Errorf("node 1 accepted a rule whose id node 0 created")
	}

	c1 := tc.nodes[1].c
	var paused []string
	for owner := range 2 {
		for range 2 {
			id := tc.idOwnedBy("default", "clrule", owner)
			if _, err := c1.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: tc.tq}, ClusterRuleWF, "ClusterPausedAct"); err != nil {
				t.Fatal(err)
			}
			paused = append(paused, id)
		}
		free := tc.idOwnedBy("default", "clfree", owner)
		run, err := c1.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: free, TaskQueue: tc.tq}, ClusterRuleWF, "ClusterFreeAct")
		if err != nil {
			t.Fatal(err)
		}
		var s string
		if err := run.Get(ctx, &s); err != nil || s != "free" {
			t.Fatalf("unmatched activity on node %d: %q %v", owner, s, err)
		}
	}
	for _, id := range paused {
		waitFor(t, 10*time.Second, "activity of "+id+" paused by the rule", func() bool {
			p := clusterPending(ctx, t, c1, id, "ClusterPausedAct")
			return p != nil && p.Paused
		})
		p := clusterPending(ctx, t, tc.nodes[0].c, id, "ClusterPausedAct")
		if r := p.GetPauseInfo().GetRule(); r.GetRuleId() != "cl-pause" || r.GetIdentity() != "ops" {
			t.Errorf("%s (owner node %d): pause info %v, want rule cl-pause by ops", id, tc.ownerOf(id), p.GetPauseInfo())
		}
	}
	time.Sleep(300 * time.Millisecond)
	if n := pausedRuns.Load(); n != 0 {
		t.Fatalf("paused activities ran %d times", n)
	}

	if _, err := ws1.DeleteWorkflowRule(ctx, &workflowservice.DeleteWorkflowRuleRequest{Namespace: "default", RuleId: "cl-pause"}); err != nil {
		t.Fatal(err)
	}
	if l, err := ws0.ListWorkflowRules(ctx, &workflowservice.ListWorkflowRulesRequest{Namespace: "default"}); err != nil || len(l.GetRules()) != 0 {
		t.Fatalf("node 0 lists %d rules after the delete through node 1 (%v), want 0", len(l.GetRules()), err)
	}
	for _, id := range paused {
		if _, err := ws0.UnpauseActivity(ctx, &workflowservice.UnpauseActivityRequest{Namespace: "default",
			Execution: &commonpb.WorkflowExecution{WorkflowId: id}, Activity: &workflowservice.UnpauseActivityRequest_Type{Type: "ClusterPausedAct"}, Identity: "ops"}); err != nil {
			t.Fatal(err)
		}
		var s string
		if err := tc.nodes[0].c.GetWorkflow(ctx, id, "").Get(ctx, &s); err != nil || s != "ran" {
			t.Fatalf("%s after unpause: %q %v", id, s, err)
		}
	}
	if n := pausedRuns.Load(); n != int32(len(paused)) {
		t.Errorf("unpaused activities ran %d times, want %d", n, len(paused))
	}
}
