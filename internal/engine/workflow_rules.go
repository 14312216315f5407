package engine

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	rulespb "go.temporal.io/api/rules/v1"
	"go.temporal.io/api/serviceerror"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/sundial-io/sundial/internal/execution"
	"github.com/sundial-io/sundial/internal/store"
)

// Workflow rules (Create/Describe/Delete/ListWorkflowRules), as Temporal
// 1.31 keeps them in the namespace's config: at most 10 per namespace
// (a create at the limit first drops the rule with the earliest
// expiration time, as Temporal's does), ids unique, errors as Temporal's.
// Each rule is one store record (kind workflow-rule, key namespace NUL
// id), written before a change is acknowledged and loaded at startup. The
// rules act on activities (execution/rules.go): before each change of a
// run the engine hands the state its namespace's parsed rules.

const recordKindWorkflowRule = "workflow-rule"

// maxWorkflowRules is Temporal's frontend.maxWorkflowRulesPerNamespace.
const maxWorkflowRules = 10

var (
	errRuleExists   = serviceerror.NewInvalidArgument("Workflow Rule with this ID already exists.")
	errRuleNotFound = serviceerror.NewInvalidArgument("Workflow Rule with this ID not Found.")
)

type workflowRules struct {
	mu     sync.Mutex
	byNS   map[string]map[string]*rulespb.WorkflowRule
	parsed map[string][]*execution.ActivityRule // by namespace, rebuilt on change
	// any is set while some namespace has a rule, so runs of namespaces
	// without rules skip the lock.
	any atomic.Bool
}

func ruleKey(ns, id string) string { return ns + "\x00" + id }

// loadWorkflowRules reads the stored rules at startup.
func (e *Engine) loadWorkflowRules() error {
	e.rules.parsed = map[string][]*execution.ActivityRule{}
	byNS, err := e.readWorkflowRules(context.Background())
	if err != nil {
		return err
	}
	e.rules.byNS = byNS
	for ns := range e.rules.byNS {
		e.reparseRules(ns)
	}
	return nil
}

// readWorkflowRules reads every stored rule, by namespace and id.
func (e *Engine) readWorkflowRules(ctx context.Context) (map[string]map[string]*rulespb.WorkflowRule, error) {
	byNS := map[string]map[string]*rulespb.WorkflowRule{}
	err := e.store.Records(ctx, recordKindWorkflowRule, func(r *store.KeyedRecord) error {
		ns, _, ok := strings.Cut(r.Key, "\x00")
		if !ok {
			return fmt.Errorf("corrupt workflow rule key %q", r.Key)
		}
		rule := &rulespb.WorkflowRule{}
		if err := proto.Unmarshal(r.State, rule); err != nil {
			return fmt.Errorf("decoding workflow rule %q: %w", r.Key, err)
		}
		if byNS[ns] == nil {
			byNS[ns] = map[string]*rulespb.WorkflowRule{}
		}
		byNS[ns][rule.GetSpec().GetId()] = rule
		return nil
	})
	return byNS, err
}

// reparseRules rebuilds a namespace's parsed rules (caller holds
// e.rules.mu, or is alone at startup). A rule that no longer parses (a
// custom search attribute it names was removed) matches nothing.
func (e *Engine) reparseRules(ns string) {
	custom, _ := e.SearchAttributes(context.Background(), ns)
	var out []*execution.ActivityRule
	for _, id := range sortedRuleIDs(e.rules.byNS[ns]) {
		r := e.rules.byNS[ns][id]
		spec := r.GetSpec()
		if spec.GetActivityStart() == nil {
			continue // no trigger: Temporal's matcher never matches it
		}
		act, runs, err := execution.CheckActivityRule(spec.GetActivityStart().GetPredicate(), spec.GetVisibilityQuery(), custom)
		if err != nil {
			e.log.Warn("workflow rule does not parse; it matches nothing", "namespace", ns, "rule", id, "err", err)
			continue
		}
		pr := &execution.ActivityRule{ID: id, Identity: r.CreatedByIdentity, Description: r.Description, Runs: runs, Activity: act}
		if t := spec.GetExpirationTime(); t != nil {
			pr.Expires = t.AsTime()
		}
		for _, a := range spec.GetActions() {
			if a.GetActivityPause() != nil {
				pr.Pause = true
			}
		}
		out = append(out, pr)
	}
	if len(e.rules.byNS[ns]) == 0 {
		delete(e.rules.byNS, ns)
	}
	if len(out) == 0 {
		delete(e.rules.parsed, ns)
	} else {
		e.rules.parsed[ns] = out
	}
	e.rules.any.Store(len(e.rules.parsed) > 0)
}

func sortedRuleIDs(m map[string]*rulespb.WorkflowRule) []string {
	ids := make([]string, 0, len(m))
	for id := range m {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

// activityRulesOf is the namespace's parsed rules, for the state
// (execution.State.SetActivityRules); the slice is never changed.
func (e *Engine) activityRulesOf(ns string) []*execution.ActivityRule {
	if !e.rules.any.Load() {
		return nil
	}
	e.rules.mu.Lock()
	defer e.rules.mu.Unlock()
	return e.rules.parsed[ns]
}

// writeRule stores rule (nil: deletes it) and waits until it is durable.
func (e *Engine) writeRule(ns, id string, rule *rulespb.WorkflowRule) error {
	return e.writeRules(ns, nil, ruleChange{id, rule}) // workflow_rules_cas.go
}

// CreateWorkflowRule adds a rule to a namespace. The trigger's predicate
// and the visibility query are checked here (Temporal stores any and
// matches nothing it cannot parse).
func (e *Engine) CreateWorkflowRule(ctx context.Context, ns string, spec *rulespb.WorkflowRuleSpec, identity, description string) (*rulespb.WorkflowRule, error) {
	rule, err := e.createWorkflowRule(ctx, ns, spec, identity, description)
	if err == nil {
		e.announceChange(ctx) // every node pauses activities (cluster_registries.go)
	}
	return rule, err
}

func (e *Engine) createWorkflowRule(ctx context.Context, ns string, spec *rulespb.WorkflowRuleSpec, identity, description string) (*rulespb.WorkflowRule, error) {
	custom, err := e.SearchAttributes(ctx, ns)
	if err != nil {
		return nil, err
	}
	if spec.GetActivityStart() != nil {
		if _, _, err := execution.CheckActivityRule(spec.GetActivityStart().GetPredicate(), spec.GetVisibilityQuery(), custom); err != nil {
			return nil, err
		}
	}
	e.rules.mu.Lock()
	defer e.rules.mu.Unlock()
	var rule *rulespb.WorkflowRule
	err = retryConflicts("CreateWorkflowRule", func() error { // namespace_cas.go
		rule, err = e.createWorkflowRuleLocked(ctx, ns, spec, identity, description)
		return err
	})
	return rule, err
}

// createWorkflowRuleLocked is one attempt of CreateWorkflowRule
// (e.rules.mu held); on a cluster it fails with store.ErrConflict if
// another node changed the namespace's rules meanwhile.
func (e *Engine) createWorkflowRuleLocked(ctx context.Context, ns string, spec *rulespb.WorkflowRuleSpec, identity, description string) (*rulespb.WorkflowRule, error) {
	g, err := e.readRuleGen(ctx, ns) // before the rules (workflow_rules_cas.go)
	if err != nil {
		return nil, err
	}
	if err := e.currentRulesLocked(ctx); err != nil {
		return nil, err
	}
	rules := e.rules.byNS[ns]
	var dropped string
	if len(rules) >= maxWorkflowRules {
		dropped = earliestExpiring(rules)
		if dropped == "" {
			return nil, serviceerror.NewInvalidArgumentf("Workflow Rule limit exceeded. Max: %v", maxWorkflowRules)
		}
	}
	if rules[spec.GetId()] != nil && spec.GetId() != dropped {
		return nil, errRuleExists
	}
	rule := &rulespb.WorkflowRule{Spec: proto.Clone(spec).(*rulespb.WorkflowRuleSpec), CreateTime: timestamppb.New(e.now()),
		CreatedByIdentity: identity, Description: description}
	changes := []ruleChange{{spec.GetId(), rule}}
	if dropped != "" && dropped != spec.GetId() {
		changes = append([]ruleChange{{dropped, nil}}, changes...)
	}
	if err := e.writeRules(ns, g, changes...); err != nil {
		return nil, err
	}
	if dropped != "" {
		delete(rules, dropped)
	}
	if e.rules.byNS[ns] == nil {
		e.rules.byNS[ns] = map[string]*rulespb.WorkflowRule{}
	}
	e.rules.byNS[ns][spec.GetId()] = rule
	e.reparseRules(ns)
	return rule, nil
}

// currentRulesLocked makes sure, on a cluster, that the checks of a
// change (limit, ids) see the rules other nodes stored: it re-reads them
// (with e.rules.mu held). Nothing to do on a single node.
func (e *Engine) currentRulesLocked(ctx context.Context) error {
	if e.own == nil {
		return nil
	}
	if err := e.refreshWorkflowRulesLocked(ctx, false); err != nil {
		return serviceerror.NewUnavailable(err.Error())
	}
	return nil
}

// earliestExpiring is the rule Temporal drops to make room: the one with
// the earliest expiration time ("" when no rule expires).
func earliestExpiring(rules map[string]*rulespb.WorkflowRule) string {
	best := ""
	for _, id := range sortedRuleIDs(rules) {
		t := rules[id].GetSpec().GetExpirationTime()
		if t == nil {
			continue
		}
		if best == "" || t.AsTime().Before(rules[best].GetSpec().GetExpirationTime().AsTime()) {
			best = id
		}
	}
	return best
}

// DescribeWorkflowRule returns one rule.
func (e *Engine) DescribeWorkflowRule(ns, id string) (*rulespb.WorkflowRule, error) {
	e.rules.mu.Lock()
	defer e.rules.mu.Unlock()
	r := e.rules.byNS[ns][id]
	if r == nil {
		return nil, errRuleNotFound
	}
	return proto.Clone(r).(*rulespb.WorkflowRule), nil
}

// DeleteWorkflowRule removes a rule. Activities it paused stay paused.
func (e *Engine) DeleteWorkflowRule(ns, id string) error {
	err := e.deleteWorkflowRule(ns, id)
	if err == nil {
		e.announceChange(context.Background())
	}
	return err
}

func (e *Engine) deleteWorkflowRule(ns, id string) error {
	e.rules.mu.Lock()
	defer e.rules.mu.Unlock()
	return retryConflicts("DeleteWorkflowRule", func() error { return e.deleteWorkflowRuleLocked(ns, id) }) // namespace_cas.go
}

func (e *Engine) deleteWorkflowRuleLocked(ns, id string) error {
	ctx := context.Background()
	g, err := e.readRuleGen(ctx, ns) // before the rules (workflow_rules_cas.go)
	if err != nil {
		return err
	}
	if err := e.currentRulesLocked(ctx); err != nil {
		return err
	}
	if e.rules.byNS[ns][id] == nil {
		return errRuleNotFound
	}
	if err := e.writeRules(ns, g, ruleChange{id, nil}); err != nil {
		return err
	}
	delete(e.rules.byNS[ns], id)
	e.reparseRules(ns)
	return nil
}

// ListWorkflowRules returns a namespace's rules, by id.
func (e *Engine) ListWorkflowRules(ns string) []*rulespb.WorkflowRule {
	e.rules.mu.Lock()
	defer e.rules.mu.Unlock()
	out := []*rulespb.WorkflowRule{}
	for _, id := range sortedRuleIDs(e.rules.byNS[ns]) {
		out = append(out, proto.Clone(e.rules.byNS[ns][id]).(*rulespb.WorkflowRule))
	}
	return out
}

// dropWorkflowRules deletes the rules of a deleted namespace (Temporal
// keeps them in the namespace's config, which goes with it).
func (e *Engine) dropWorkflowRules(ns string) error {
	e.rules.mu.Lock()
	defer e.rules.mu.Unlock()
	for _, id := range sortedRuleIDs(e.rules.byNS[ns]) {
		if err := e.writeRule(ns, id, nil); err != nil {
			return err
		}
		delete(e.rules.byNS[ns], id)
	}
	e.reparseRules(ns)
	return nil
}
