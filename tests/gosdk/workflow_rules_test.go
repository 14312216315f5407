package gosdk

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	rulespb "go.temporal.io/api/rules/v1"
	"go.temporal.io/api/serviceerror"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// Workflow rules (Temporal 1.31's Create/Describe/Delete/ListWorkflowRules):
// rules that pause activities as they start or retry.

func pauseRule(id, predicate, query string) *rulespb.WorkflowRuleSpec {
	return &rulespb.WorkflowRuleSpec{Id: id, VisibilityQuery: query,
		Trigger: &rulespb.WorkflowRuleSpec_ActivityStart{ActivityStart: &rulespb.WorkflowRuleSpec_ActivityStartingTrigger{Predicate: predicate}},
		Actions: []*rulespb.WorkflowRuleAction{{Variant: &rulespb.WorkflowRuleAction_ActivityPause{ActivityPause: &rulespb.WorkflowRuleAction_ActionActivityPause{}}}}}
}

func createRule(e *env, spec *rulespb.WorkflowRuleSpec) (*rulespb.WorkflowRule, error) {
	resp, err := e.c.WorkflowService().CreateWorkflowRule(e.ctx(), &workflowservice.CreateWorkflowRuleRequest{Namespace: "default", Spec: spec,
		Identity: "ops", Description: "stop " + spec.GetId()})
	return resp.GetRule(), err
}

func listRuleIDs(t *testing.T, e *env) []string {
	t.Helper()
	resp, err := e.c.WorkflowService().ListWorkflowRules(e.ctx(), &workflowservice.ListWorkflowRulesRequest{Namespace: "default"})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, r := range resp.Rules {
		ids = append(ids, r.Spec.Id)
	}
	return ids
}

func TestWorkflowRulesCRUD(t *testing.T) {
	e := newEnv(t)
	svc := e.c.WorkflowService()
	inv := func(err error, want string) bool {
		var ia *serviceerror.InvalidArgument
		return errors.As(err, &ia) && strings.Contains(err.Error(), want)
	}
	r, err := createRule(e, pauseRule("r1", `ActivityType = "Flaky" AND Attempts >= 1`, "WorkflowType = 'RuleWF'"))
	if err != nil || r.Spec.Id != "r1" || r.CreatedByIdentity != "ops" || r.Description != "stop r1" || r.CreateTime == nil {
		t.Fatalf("create: %v, %v", r, err)
	}
	for what, c := range map[string]struct {
		spec *rulespb.WorkflowRuleSpec
		want string
	}{
		"duplicate id":    {pauseRule("r1", `ActivityType = "x"`, ""), "Workflow Rule with this ID already exists."},
		"no id":           {pauseRule("", `ActivityType = "x"`, ""), "Workflow Rule ID is not set."},
		"no spec":         {nil, "Rule Specification is not set."},
		"long id":         {pauseRule(strings.Repeat("x", 1001), `ActivityType = "x"`, ""), "Workflow Rule Id length exceeds limit."},
		"bad predicate":   {pauseRule("r2", `Colour = "red"`, ""), "Spec.ActivityStart.Predicate"},
		"not in pred":     {pauseRule("r2", `NOT ActivityType = "x"`, ""), "Spec.ActivityStart.Predicate"},
		"bad query":       {pauseRule("r2", `ActivityType = "x"`, "Colour = 'red'"), "Spec.VisibilityQuery"},
		"where predicate": {pauseRule("r2", `where ActivityType = "x"`, ""), "invalid filter"},
	} {
		if _, err := createRule(e, c.spec); !inv(err, c.want) {
			t.Errorf("%s: %v; want InvalidArgument %q", what, err, c.want)
		}
	}
	d, err := svc.DescribeWorkflowRule(e.ctx(), &workflowservice.DescribeWorkflowRuleRequest{Namespace: "default", RuleId: "r1"})
	if err != nil || d.Rule.Spec.GetActivityStart().GetPredicate() != `ActivityType = "Flaky" AND Attempts >= 1` || d.Rule.Spec.VisibilityQuery != "WorkflowType = 'RuleWF'" {
		t.Fatalf("describe: %v, %v", d, err)
	}
	if _, err := svc.DescribeWorkflowRule(e.ctx(), &workflowservice.DescribeWorkflowRuleRequest{Namespace: "default", RuleId: "nope"}); !inv(err, "Workflow Rule with this ID not Found.") {
		t.Fatalf("describe unknown: %v", err)
	}
	if _, err := svc.DeleteWorkflowRule(e.ctx(), &workflowservice.DeleteWorkflowRuleRequest{Namespace: "default", RuleId: "nope"}); !inv(err, "Workflow Rule with this ID not Found.") {
		t.Fatalf("delete unknown: %v", err)
	}
	// Up to 10 rules; at the limit the rule expiring first makes room, and
	// without one that expires the create is refused.
	for i := 2; i <= 10; i++ {
		spec := pauseRule(fmt.Sprintf("r%d", i), `ActivityType = "x"`, "")
		if i == 5 {
			spec.ExpirationTime = timestamppb.New(time.Now().Add(time.Hour))
		}
		if _, err := createRule(e, spec); err != nil {
			t.Fatalf("create r%d: %v", i, err)
		}
	}
	if _, err := createRule(e, pauseRule("r11", `ActivityType = "x"`, "")); err != nil {
		t.Fatalf("create at the limit with an expiring rule: %v", err)
	}
	if _, err := createRule(e, pauseRule("r12", `ActivityType = "x"`, "")); !inv(err, "Workflow Rule limit exceeded. Max: 10") {
		t.Fatalf("create at the limit: %v", err)
	}
	e.restart()
	ids := listRuleIDs(t, e)
	if len(ids) != 10 || strings.Contains(strings.Join(ids, ","), "r5,") {
		t.Fatalf("rules after a restart: %v; want r1..r11 without r5", ids)
	}
	if _, err := e.c.WorkflowService().DeleteWorkflowRule(e.ctx(), &workflowservice.DeleteWorkflowRuleRequest{Namespace: "default", RuleId: "r1"}); err != nil {
		t.Fatal(err)
	}
	if ids := listRuleIDs(t, e); len(ids) != 9 || ids[0] != "r10" {
		t.Fatalf("rules after deleting r1: %v", ids)
	}
	_, err = e.c.WorkflowService().TriggerWorkflowRule(e.ctx(), &workflowservice.TriggerWorkflowRuleRequest{Namespace: "default"})
	if st, _ := serviceerrorCode(err); st != codes.Unimplemented {
		t.Fatalf("TriggerWorkflowRule: %v", err)
	}
}

func serviceerrorCode(err error) (codes.Code, string) {
	var u *serviceerror.Unimplemented
	if errors.As(err, &u) {
		return codes.Unimplemented, u.Message
	}
	return codes.Unknown, fmt.Sprint(err)
}

// pendingActivity describes the run's one pending activity of a type.
func pendingActivity(t *testing.T, e *env, id, typ string) *workflowpb.PendingActivityInfo {
	t.Helper()
	d, err := e.c.DescribeWorkflowExecution(e.ctx(), id, "")
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

func TestWorkflowRulePausesActivities(t *testing.T) {
	e := newEnv(t)
	svc := e.c.WorkflowService()
	var firstRuns, retryRuns, otherRuns atomic.Int32
	w1 := ruleWorker(t, e, &firstRuns, &retryRuns, &otherRuns)
	for _, spec := range []*rulespb.WorkflowRuleSpec{
		pauseRule("first", `ActivityType = "PausedFirst"`, "WorkflowType = 'RuleWF'"),
		// Matches a failed attempt (Started), not a new one (Scheduled).
		pauseRule("retry", `ActivityType = "PausedOnRetry" AND ActivityState = "Started" AND Attempts = 1`, ""),
		// Runs of another type, or an expired rule: no pause.
		pauseRule("elsewhere", `ActivityType = "Unmatched"`, "WorkflowType = 'OtherWF'"),
		func() *rulespb.WorkflowRuleSpec {
			s := pauseRule("expired", `ActivityType = "Unmatched"`, "")
			s.ExpirationTime = timestamppb.New(time.Now().Add(-time.Minute))
			return s
		}(),
	} {
		if _, err := createRule(e, spec); err != nil {
			t.Fatal(err)
		}
	}
	start := func(name, act string) string {
		o := e.opts(name)
		if _, err := e.c.ExecuteWorkflow(e.ctx(), o, "RuleWF", act); err != nil {
			t.Fatal(err)
		}
		return o.ID
	}
	unpause := func(id, typ string) {
		if _, err := svc.UnpauseActivity(e.ctx(), &workflowservice.UnpauseActivityRequest{Namespace: "default",
			Execution: &commonpb.WorkflowExecution{WorkflowId: id}, Activity: &workflowservice.UnpauseActivityRequest_Type{Type: typ}, Identity: "ops"}); err != nil {
			t.Fatal(err)
		}
	}
	result := func(id string) string {
		var s string
		if err := e.c.GetWorkflow(e.ctx(), id, "").Get(e.ctx(), &s); err != nil {
			t.Fatalf("%s: %v", id, err)
		}
		return s
	}
	checkRulePause := func(p *workflowpb.PendingActivityInfo, rule string) {
		t.Helper()
		r := p.GetPauseInfo().GetRule()
		if !p.GetPaused() || r.GetRuleId() != rule || r.GetIdentity() != "ops" || r.GetReason() != "stop "+rule || p.GetPauseInfo().GetPauseTime() == nil {
			t.Fatalf("activity %s: paused %v, pause info %v; want paused by rule %s", p.ActivityType.GetName(), p.GetPaused(), p.GetPauseInfo(), rule)
		}
	}

	// A rule that matches the first attempt pauses it before any worker
	// gets it.
	first := start("first", "PausedFirst")
	waitFor(t, 10*time.Second, "first attempt paused by the rule", func() bool {
		p := pendingActivity(t, e, first, "PausedFirst")
		return p != nil && p.Paused
	})
	p := pendingActivity(t, e, first, "PausedFirst")
	checkRulePause(p, "first")
	if p.State != enumspb.PENDING_ACTIVITY_STATE_PAUSED || p.Attempt != 1 {
		t.Fatalf("paused first attempt: %v", p)
	}

	// A rule that matches a failed attempt pauses its retry.
	retry := start("retry", "PausedOnRetry")
	waitFor(t, 10*time.Second, "retry paused by the rule", func() bool {
		p := pendingActivity(t, e, retry, "PausedOnRetry")
		return p != nil && p.Paused
	})
	p = pendingActivity(t, e, retry, "PausedOnRetry")
	checkRulePause(p, "retry")
	if p.Attempt != 2 || p.LastFailure.GetMessage() != "boom" {
		t.Fatalf("paused retry: %v", p)
	}

	// Rules for other runs, or expired, leave activities alone.
	if got := result(start("unmatched", "Unmatched")); got != "other" {
		t.Fatalf("unmatched activity: %q", got)
	}

	// The pauses survive a restart and the rules too.
	time.Sleep(300 * time.Millisecond)
	if firstRuns.Load() != 0 || retryRuns.Load() != 1 {
		t.Fatalf("paused activities ran: first %d, retry %d", firstRuns.Load(), retryRuns.Load())
	}
	w1.Stop()
	e.restart()
	svc = e.c.WorkflowService()
	ruleWorker(t, e, &firstRuns, &retryRuns, &otherRuns)
	checkRulePause(pendingActivity(t, e, first, "PausedFirst"), "first")
	checkRulePause(pendingActivity(t, e, retry, "PausedOnRetry"), "retry")
	if ids := listRuleIDs(t, e); strings.Join(ids, ",") != "elsewhere,expired,first,retry" {
		t.Fatalf("rules after a restart: %v", ids)
	}

	// As in Temporal, the rule is deleted before the unpause (a rule still
	// in force would pause the first attempt again).
	for _, id := range []string{"first", "retry"} {
		if _, err := svc.DeleteWorkflowRule(e.ctx(), &workflowservice.DeleteWorkflowRuleRequest{Namespace: "default", RuleId: id}); err != nil {
			t.Fatal(err)
		}
	}
	unpause(first, "PausedFirst")
	unpause(retry, "PausedOnRetry")
	if got := result(first); got != "first" {
		t.Fatalf("first after unpause: %q", got)
	}
	if got := result(retry); got != "retried" {
		t.Fatalf("retry after unpause: %q", got)
	}
	if firstRuns.Load() != 1 || retryRuns.Load() != 2 {
		t.Fatalf("runs: first %d, retry %d", firstRuns.Load(), retryRuns.Load())
	}
}

// ruleWorker runs RuleWF and its activities: PausedOnRetry fails its
// first attempt (counted over all workers), the others succeed.
func ruleWorker(t *testing.T, e *env, firstRuns, retryRuns, otherRuns *atomic.Int32) worker.Worker {
	t.Helper()
	w := worker.New(e.c, e.tq, worker.Options{})
	w.RegisterActivityWithOptions(func(ctx context.Context) (string, error) {
		firstRuns.Add(1)
		return "first", nil
	}, activity.RegisterOptions{Name: "PausedFirst"})
	w.RegisterActivityWithOptions(func(ctx context.Context) (string, error) {
		if retryRuns.Add(1) == 1 {
			return "", errors.New("boom")
		}
		return "retried", nil
	}, activity.RegisterOptions{Name: "PausedOnRetry"})
	w.RegisterActivityWithOptions(func(ctx context.Context) (string, error) {
		otherRuns.Add(1)
		return "other", nil
	}, activity.RegisterOptions{Name: "Unmatched"})
	w.RegisterWorkflowWithOptions(func(ctx workflow.Context, act string) (string, error) {
		ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: time.Minute,
			RetryPolicy: &temporal.RetryPolicy{InitialInterval: 100 * time.Millisecond, MaximumAttempts: 5}})
		var s string
		err := workflow.ExecuteActivity(ctx, act).Get(ctx, &s)
		return s, err
	}, workflow.RegisterOptions{Name: "RuleWF"})
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Stop) // Stop is idempotent: tests may stop it earlier
	return w
}
