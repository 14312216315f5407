package engine

import (
	"context"

	rulespb "go.temporal.io/api/rules/v1"
	"google.golang.org/protobuf/proto"

	"github.com/sundial-io/sundial/internal/store"
)

// Workflow rules changed through two nodes at once (namespace_cas.go).
// The limit of rules per namespace and the uniqueness of ids span all of
// a namespace's rule records, so on a cluster every change of a
// namespace's rules also advances the namespace's rule generation (one
// keyed record) and is written only if the generation is still the one
// read before the rules were: two creates racing through two nodes
// cannot both pass the limit check; the loser reads the rules again and
// is judged against the winner's.

// recordKindWorkflowRuleGen holds one record per namespace whose rules
// were changed on a cluster: an 8-byte big-endian change counter.
const recordKindWorkflowRuleGen = "workflow-rule-gen"

// readRuleGen reads the rule generation of ns on a cluster; nil on one
// node, where e.rules.mu serializes the changes.
func (e *Engine) readRuleGen(ctx context.Context, ns string) (*generation, error) {
	return e.readGeneration(ctx, recordKindWorkflowRuleGen, ns) // namespace_cas.go
}

// ruleChange is one rule stored (rule set) or deleted (rule nil).
type ruleChange struct {
	id   string
	rule *rulespb.WorkflowRule
}

// writeRules stores changes of ns's rules in one batch and waits until
// it is durable; with g (a cluster) only if the generation is still g,
// advancing it (store.ErrConflict otherwise).
func (e *Engine) writeRules(ns string, g *generation, changes ...ruleChange) error {
	b := &store.Batch{}
	for _, c := range changes {
		k := ruleKey(ns, c.id)
		if c.rule == nil {
			b.RecordDeletes = append(b.RecordDeletes, store.RecordKey{Kind: recordKindWorkflowRule, Key: k})
			continue
		}
		data, err := proto.Marshal(c.rule)
		if err != nil {
			return err
		}
		b.Records = append(b.Records, &store.KeyedRecord{Kind: recordKindWorkflowRule, Key: k, State: data})
	}
	g.guard(b)
	return e.writeDurable(b)
}
