package engine

import "context"

// StartWorkflowOn starts a workflow here or, on a cluster, on the owner of
// its shard (the operation a parent uses to start a child elsewhere). The
// scheduler starts its workflows this way: a schedule's shard and the
// shards of the workflows it starts are usually held by different nodes.
// The start is as idempotent as StartWorkflow (by request id), so a retry
// after a lost answer starts nothing twice.
func (e *Engine) StartWorkflowOn(ctx context.Context, p *StartParams) (*StartResult, error) {
	return e.startChildOn(ctx, p)
}

// OwnsWorkflow reports whether this node serves workflow (ns, id): always
// outside cluster mode.
func (e *Engine) OwnsWorkflow(ns, id string) bool { return e.owns(ns, id) }
