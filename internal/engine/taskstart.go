package engine

import (
	"context"
	"errors"

	"github.com/sundial-io/sundial/internal/execution"
	"github.com/sundial-io/sundial/internal/matching"
)

// startTask runs fn, which starts task t (taken from matching under key)
// on its run, through mutate. When the run could not even be reached (its
// cold load failed, or the poller hung up while it loaded, or the store
// refused writes) the task was not started, so it goes back to matching for
// the next poll instead of being lost: with a small cache most polls load
// their run from the store.
func (e *Engine) startTask(ctx context.Context, key matching.Key, t matching.Task, fn func(w *workflow) error) error {
	entered := false
	err := e.mutate(ctx, t.Namespace, t.WorkflowID, func(w *workflow) error {
		entered = true
		return fn(w)
	})
	if err != nil && !entered && IsNotOwner(err) {
		// The run's shard moved: its new owner offers the task again.
		return execution.ErrStaleTask
	}
	if err == nil || errors.Is(err, execution.ErrStaleTask) {
		e.taskDone(key, t) // remote_tasks.go
	}
	if err != nil && !entered && ctx.Value(remoteStartKey{}) == nil {
		e.match.Requeue(key, t) // (a remote start's caller requeues it on its node)
	}
	return err
}
