package engine

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	taskqueuepb "go.temporal.io/api/taskqueue/v1"
	"go.temporal.io/api/workflowservice/v1"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/sundial-io/sundial/internal/matching"
	"github.com/sundial-io/sundial/internal/store"
)

// recordKindTaskQueueConfig is the store record kind of task queue
// configurations (store.KeyedRecord), one per namespace, queue and type.
const recordKindTaskQueueConfig = "taskqueue-config"

// tqConfigs holds every task queue configuration set by
// UpdateTaskQueueConfig (Temporal keeps it in the queue's user data), in
// memory and one store record each, written before a change is
// acknowledged. Matching enforces the rate limits it holds.
type tqConfigs struct {
	mu  sync.Mutex
	cfg map[matching.Key]*taskqueuepb.TaskQueueConfig
}

// tqConfigKey is a configuration's store key: namespace, type and name,
// NUL-separated (namespace names hold no NUL; the queue name comes last,
// so it may).
func tqConfigKey(k matching.Key) string {
	return k.Namespace + "\x00" + strconv.Itoa(int(k.Kind)) + "\x00" + k.Name
}

func parseTQConfigKey(s string) (matching.Key, bool) {
	parts := strings.SplitN(s, "\x00", 3)
	if len(parts) != 3 {
		return matching.Key{}, false
	}
	kind, err := strconv.Atoi(parts[1])
	if err != nil {
		return matching.Key{}, false
	}
	return matching.Key{Namespace: parts[0], Kind: matching.Kind(kind), Name: parts[2]}, true
}

// loadTaskQueueConfigs reads the stored configurations at startup and
// hands their limits to matching.
func (e *Engine) loadTaskQueueConfigs() error {
	e.tqcfg.cfg = map[matching.Key]*taskqueuepb.TaskQueueConfig{}
	return e.store.Records(context.Background(), recordKindTaskQueueConfig, func(r *store.KeyedRecord) error {
		k, ok := parseTQConfigKey(r.Key)
		if !ok {
			return fmt.Errorf("corrupt task queue config key %q", r.Key)
		}
		c := &taskqueuepb.TaskQueueConfig{}
		if err := proto.Unmarshal(r.State, c); err != nil {
			return fmt.Errorf("decoding task queue config %q: %w", r.Key, err)
		}
		e.tqcfg.cfg[k] = c
		e.match.SetLimits(k, limitsOf(c))
		return nil
	})
}

// limitsOf turns a configuration into matching's limits.
func limitsOf(c *taskqueuepb.TaskQueueConfig) matching.Limits {
	var l matching.Limits
	if r := c.GetQueueRateLimit().GetRateLimit(); r != nil {
		v := float64(r.RequestsPerSecond)
		l.QueueRPS = &v
	}
	if r := c.GetFairnessKeysRateLimitDefault().GetRateLimit(); r != nil {
		v := float64(r.RequestsPerSecond)
		l.KeyRPS = &v
	}
	l.Weights = c.GetFairnessWeightOverrides()
	return l
}

// TaskQueueConfig returns a queue's configuration (nil: never set).
func (e *Engine) TaskQueueConfig(ns, queue string, t enumspb.TaskQueueType) *taskqueuepb.TaskQueueConfig {
	kind, ok := matchKind(t)
	if !ok {
		return nil
	}
	e.tqcfg.mu.Lock()
	defer e.tqcfg.mu.Unlock()
	return proto.CloneOf(e.tqcfg.cfg[matching.Key{Namespace: ns, Name: queue, Kind: kind}])
}

// MaxFairnessWeightOverrides is how many weight overrides a queue may hold
// (Temporal's matching.maxFairnessKeyWeightOverrides default).
const MaxFairnessWeightOverrides = 1000

// UpdateTaskQueueConfig applies a validated request as Temporal's matching
// does: a rate limit update replaces that limit with its reason, the
// request's identity and the time (an update without a rate removes the
// limit but keeps who removed it and why); weight overrides are merged.
// The new configuration is durable before it is returned and enforced.
func (e *Engine) UpdateTaskQueueConfig(r *workflowservice.UpdateTaskQueueConfigRequest) (*taskqueuepb.TaskQueueConfig, error) {
	c, err := e.updateTaskQueueConfig(r)
	if err == nil {
		e.announceChange(context.Background()) // every node keeps every configuration (taskqueue_config_cluster.go)
	}
	return c, err
}

func (e *Engine) updateTaskQueueConfig(r *workflowservice.UpdateTaskQueueConfigRequest) (*taskqueuepb.TaskQueueConfig, error) {
	kind, ok := matchKind(r.TaskQueueType)
	if !ok {
		return nil, fmt.Errorf("unknown task queue type %v", r.TaskQueueType)
	}
	k := matching.Key{Namespace: r.Namespace, Name: r.TaskQueue, Kind: kind}
	e.tqcfg.mu.Lock()
	defer e.tqcfg.mu.Unlock()
	if e.own != nil {
		if err := e.refreshTaskQueueConfigsLocked(context.Background()); err != nil {
			return nil, serviceerror.NewUnavailable(err.Error())
		}
	}
	c := proto.CloneOf(e.tqcfg.cfg[k])
	if c == nil {
		c = &taskqueuepb.TaskQueueConfig{}
	}
	now := timestamppb.New(e.now())
	limitConfig := func(u *workflowservice.UpdateTaskQueueConfigRequest_RateLimitUpdate) *taskqueuepb.RateLimitConfig {
		return &taskqueuepb.RateLimitConfig{
			RateLimit: proto.CloneOf(u.RateLimit),
			Metadata:  &taskqueuepb.ConfigMetadata{Reason: u.Reason, UpdateIdentity: r.Identity, UpdateTime: now},
		}
	}
	if u := r.UpdateQueueRateLimit; u != nil {
		c.QueueRateLimit = limitConfig(u)
	}
	if u := r.UpdateFairnessKeyRateLimitDefault; u != nil {
		c.FairnessKeysRateLimitDefault = limitConfig(u)
	}
	if len(r.SetFairnessWeightOverrides) > 0 || len(r.UnsetFairnessWeightOverrides) > 0 {
		w := map[string]float32{}
		for key, v := range c.FairnessWeightOverrides {
			w[key] = v
		}
		for _, key := range r.UnsetFairnessWeightOverrides {
			delete(w, key)
		}
		for key, v := range r.SetFairnessWeightOverrides {
			w[key] = v
		}
		if len(w) > MaxFairnessWeightOverrides {
			return nil, serviceerror.NewInvalidArgument("fairness weight overrides update rejected: exceeding maximum key size")
		}
		c.FairnessWeightOverrides = w
	}
	data, err := proto.Marshal(c)
	if err != nil {
		return nil, err
	}
	if err := e.writeDurable(&store.Batch{Records: []*store.KeyedRecord{{Kind: recordKindTaskQueueConfig, Key: tqConfigKey(k), State: data}}}); err != nil {
		return nil, err
	}
	e.tqcfg.cfg[k] = c
	e.match.SetLimits(k, limitsOf(c))
	return proto.CloneOf(c), nil
}

// effectiveRate is DescribeTaskQueue's effective rate limit of a queue:
// the rate set through the API, else the one its pollers asked for when it
// is below Temporal's system default, else that default.
func (e *Engine) effectiveRate(k matching.Key) (float32, enumspb.RateLimitSource) {
	r, fromAPI, ok := e.match.Rate(k)
	switch {
	case ok && fromAPI:
		return float32(r), enumspb.RATE_LIMIT_SOURCE_API
	case ok && r < systemQueueRate:
		return float32(r), enumspb.RATE_LIMIT_SOURCE_WORKER
	}
	return systemQueueRate, enumspb.RATE_LIMIT_SOURCE_SYSTEM
}

// activityQueueLimited reports whether an activity queue has dispatch
// rate limits set through the API: its activities are then not started
// eagerly (the SDKs ask for that only on the workflow's own queue), so
// every one of them waits for the limit in matching.
func (e *Engine) activityQueueLimited(ns, queue string) bool {
	return e.match.LimitedByAPI(matching.Key{Namespace: ns, Name: queue, Kind: matching.Activity})
}

// dropTaskQueueConfigs deletes the task queue configurations of a deleted
// namespace (with its runs), so a namespace registered again under the
// name starts without limits, as Temporal's would (its queues' user data
// goes with the namespace).
func (e *Engine) dropTaskQueueConfigs(ns string) error {
	e.tqcfg.mu.Lock()
	defer e.tqcfg.mu.Unlock()
	var keys []matching.Key
	b := &store.Batch{}
	for k := range e.tqcfg.cfg {
		if k.Namespace == ns {
			keys = append(keys, k)
			b.RecordDeletes = append(b.RecordDeletes, store.RecordKey{Kind: recordKindTaskQueueConfig, Key: tqConfigKey(k)})
		}
	}
	if len(keys) == 0 {
		return nil
	}
	if err := e.writeDurable(b); err != nil {
		return err
	}
	for _, k := range keys {
		delete(e.tqcfg.cfg, k)
		e.match.SetLimits(k, matching.Limits{})
	}
	return nil
}
