package engine

import (
	"context"
	"encoding/binary"

	rulespb "go.temporal.io/api/rules/v1"
	"go.temporal.io/api/serviceerror"
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

// ruleGen is a namespace's rule generation as read (cluster only).
type ruleGen struct {
	ns    string
	state []byte
	found bool
}

// readRuleGen reads the rule generation of ns on a cluster; nil on one
// node, where e.rules.mu serializes the changes.
func (e *Engine) readRuleGen(ctx context.Context, ns string) (*ruleGen, error) {
	if !e.conditional() {
		return nil, nil
	}
	g := &ruleGen{ns: ns}
	err := e.store.Records(ctx, recordKindWorkflowRuleGen, func(r *store.KeyedRecord) error {
		if r.Key == ns {
			g.state, g.found = r.State, true
			return store.ErrStop
		}
		return nil
	})
	if err != nil {
		return nil, serviceerror.NewUnavailable("reading the workflow rules' generation: " + err.Error())
	}
	return g, nil
}

// ruleChange is one rule stored (rule set) or deleted (rule nil).
type ruleChange struct {
	id   string
	rule *rulespb.WorkflowRule
}

// writeRules stores changes of ns's rules in one batch and waits until
// it is durable; with g (a cluster) only if the generation is still g,
// advancing it (store.ErrConflict otherwise).
func (e *Engine) writeRules(ns string, g *ruleGen, changes ...ruleChange) error {
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
	if g != nil {
		var n uint64
		if len(g.state) == 8 {
			n = binary.BigEndian.Uint64(g.state)
		}
		b.Records = append(b.Records, &store.KeyedRecord{Kind: recordKindWorkflowRuleGen, Key: ns, State: binary.BigEndian.AppendUint64(nil, n+1)})
		b.ExpectRecords = []store.RecordExpect{{Kind: recordKindWorkflowRuleGen, Key: ns, Was: g.state, Absent: !g.found}}
	}
	return e.writeDurable(b)
}
