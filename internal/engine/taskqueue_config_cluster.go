package engine

import (
	"context"
	"fmt"

	taskqueuepb "go.temporal.io/api/taskqueue/v1"
	"google.golang.org/protobuf/proto"

	"github.com/sundial-io/sundial/internal/matching"
	"github.com/sundial-io/sundial/internal/store"
)

// Task queue configurations on a cluster (docs/CLUSTER.md, "Namespaces,
// rules and task queue configurations across nodes"). UpdateTaskQueueConfig
// is routed to the queue's owner (forward.QueueRouteOf), which serializes
// the changes of a queue and enforces its limits at dispatch; it re-reads
// the stored configurations before changing one (it may have taken the
// queue's shard from a node that changed it), and announces the change.
// Every node keeps every configuration and its limits in matching
// (re-read on announcements, every registry refresh and when it takes
// shards), so a node that becomes a queue's owner enforces them at once.

// readTaskQueueConfigs reads every stored configuration.
func (e *Engine) readTaskQueueConfigs(ctx context.Context) (map[matching.Key]*taskqueuepb.TaskQueueConfig, error) {
	out := map[matching.Key]*taskqueuepb.TaskQueueConfig{}
	err := e.store.Records(ctx, recordKindTaskQueueConfig, func(r *store.KeyedRecord) error {
		k, ok := parseTQConfigKey(r.Key)
		if !ok {
			return fmt.Errorf("corrupt task queue config key %q", r.Key)
		}
		c := &taskqueuepb.TaskQueueConfig{}
		if err := proto.Unmarshal(r.State, c); err != nil {
			return fmt.Errorf("decoding task queue config %q: %w", r.Key, err)
		}
		out[k] = c
		return nil
	})
	return out, err
}

// refreshTaskQueueConfigs replaces the in-memory configurations (and
// matching's limits) with the stored ones.
func (e *Engine) refreshTaskQueueConfigs(ctx context.Context) error {
	return retryStale(func() error { // cluster_registries.go
		gen := e.registryWrites.Load()
		stored, err := e.readTaskQueueConfigs(ctx)
		if err != nil {
			return err
		}
		e.tqcfg.mu.Lock()
		defer e.tqcfg.mu.Unlock()
		if e.registryWrites.Load() != gen {
			return errStaleRead
		}
		e.applyTaskQueueConfigs(stored)
		return nil
	})
}

// refreshTaskQueueConfigsLocked re-reads them with e.tqcfg.mu held (before
// a change).
func (e *Engine) refreshTaskQueueConfigsLocked(ctx context.Context) error {
	stored, err := e.readTaskQueueConfigs(ctx)
	if err != nil {
		return err
	}
	e.applyTaskQueueConfigs(stored)
	return nil
}

// applyTaskQueueConfigs replaces the configurations in memory and their
// limits in matching (e.tqcfg.mu held).
func (e *Engine) applyTaskQueueConfigs(stored map[matching.Key]*taskqueuepb.TaskQueueConfig) {
	for k, c := range stored {
		if !proto.Equal(c, e.tqcfg.cfg[k]) {
			e.tqcfg.cfg[k] = c
			e.match.SetLimits(k, limitsOf(c))
		}
	}
	for k := range e.tqcfg.cfg {
		if stored[k] == nil {
			delete(e.tqcfg.cfg, k)
			e.match.SetLimits(k, matching.Limits{})
		}
	}
}
