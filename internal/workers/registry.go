// Package workers keeps the worker heartbeats that SDK workers send
// (RecordWorkerHeartbeat) for ListWorkers, CountWorkers and DescribeWorker,
// as Temporal's matching service does: in memory only, each worker's
// latest heartbeat by its instance key, forgotten when it reports shutdown
// or has not heartbeated for EntryTTL, the oldest first evicted past
// MaxEntries.
package workers

import (
	"container/list"
	"encoding/json"
	"slices"
	"strings"
	"sync"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	workerpb "go.temporal.io/api/worker/v1"
)

// Temporal's defaults (matching.workerRegistry*).
const (
	// EntryTTL: a worker that has not heartbeated for this long is gone
	// (SDKs heartbeat every 60 s by default).
	EntryTTL = 5 * time.Minute
	// MaxEntries bounds the registry; past it the oldest entries, if older
	// than MinEvictAge, are dropped.
	MaxEntries  = 1_000_000
	MinEvictAge = time.Minute
)

// systemQueuePrefix marks the server's own task queues: their workers are
// listed only on request.
const systemQueuePrefix = "temporal-sys-"

type entry struct {
	ns       string
	hb       *workerpb.WorkerHeartbeat
	lastSeen time.Time
	elem     *list.Element
}

// Registry holds the workers of every namespace.
type Registry struct {
	mu    sync.Mutex
	ns    map[string]map[string]*entry // namespace -> instance key -> entry
	order *list.List                   // of *entry, least recently seen first
	now   func() time.Time
	max   int
}

// New returns an empty registry.
func New() *Registry {
	return &Registry{ns: map[string]map[string]*entry{}, order: list.New(), now: time.Now, max: MaxEntries}
}

// Record stores heartbeats: each replaces its worker's previous one; a
// worker reporting SHUTDOWN is removed.
func (r *Registry) Record(ns string, hbs []*workerpb.WorkerHeartbeat) {
	now := r.now()
	r.mu.Lock()
	defer r.mu.Unlock()
	r.evictLocked(now)
	workers := r.ns[ns]
	if workers == nil {
		workers = map[string]*entry{}
		r.ns[ns] = workers
	}
	for _, hb := range hbs {
		key := hb.GetWorkerInstanceKey()
		e := workers[key]
		if hb.GetStatus() == enumspb.WORKER_STATUS_SHUTDOWN {
			if e != nil {
				r.order.Remove(e.elem)
				delete(workers, key)
			}
			continue
		}
		if e != nil {
			e.hb, e.lastSeen = hb, now
			r.order.MoveToBack(e.elem)
			continue
		}
		e = &entry{ns: ns, hb: hb, lastSeen: now}
		e.elem = r.order.PushBack(e)
		workers[key] = e
	}
}

// evictLocked drops expired entries, then the oldest past capacity.
func (r *Registry) evictLocked(now time.Time) {
	for f := r.order.Front(); f != nil; f = r.order.Front() {
		e := f.Value.(*entry)
		expired := e.lastSeen.Before(now.Add(-EntryTTL))
		full := r.order.Len() > r.max && e.lastSeen.Before(now.Add(-MinEvictAge))
		if !expired && !full {
			return
		}
		r.order.Remove(f)
		delete(r.ns[e.ns], e.hb.GetWorkerInstanceKey())
	}
}

// matching returns the live heartbeats of a namespace that pass the filter.
func (r *Registry) matching(ns string, f *Filter, includeSystem bool) []*workerpb.WorkerHeartbeat {
	now := r.now()
	r.mu.Lock()
	defer r.mu.Unlock()
	r.evictLocked(now)
	var out []*workerpb.WorkerHeartbeat
	for _, e := range r.ns[ns] {
		if !includeSystem && strings.HasPrefix(e.hb.GetTaskQueue(), systemQueuePrefix) {
			continue
		}
		if f.Match(e.hb) {
			out = append(out, e.hb)
		}
	}
	return out
}

// Count counts the workers of a namespace that match query.
func (r *Registry) Count(ns, query string, includeSystem bool) (int64, error) {
	f, err := ParseFilter(query)
	if err != nil {
		return 0, err
	}
	return int64(len(r.matching(ns, f, includeSystem))), nil
}

// pageToken is the ListWorkers continuation: the last instance key sent.
type pageToken struct {
	Last string `json:"l"`
}

// List returns the workers of a namespace that match query. With no page
// size and no token every match comes back at once, in no order; paged,
// workers come in instance-key order, as in Temporal.
func (r *Registry) List(ns, query string, pageSize int, token []byte, includeSystem bool) ([]*workerpb.WorkerHeartbeat, []byte, error) {
	f, err := ParseFilter(query)
	if err != nil {
		return nil, nil, err
	}
	hbs := r.matching(ns, f, includeSystem)
	if len(hbs) == 0 || (pageSize <= 0 && len(token) == 0) {
		return hbs, nil, nil
	}
	slices.SortFunc(hbs, func(a, b *workerpb.WorkerHeartbeat) int {
		return strings.Compare(a.GetWorkerInstanceKey(), b.GetWorkerInstanceKey())
	})
	start := 0
	if len(token) > 0 {
		var t pageToken
		if err := json.Unmarshal(token, &t); err != nil {
			return nil, nil, serviceerror.NewInvalidArgument("invalid next_page_token")
		}
		start, _ = slices.BinarySearchFunc(hbs, t.Last, func(h *workerpb.WorkerHeartbeat, k string) int {
			return strings.Compare(h.GetWorkerInstanceKey(), k)
		})
		if start < len(hbs) && hbs[start].GetWorkerInstanceKey() == t.Last {
			start++
		}
		if start >= len(hbs) {
			return nil, nil, nil
		}
	}
	end := len(hbs)
	if pageSize > 0 {
		end = min(start+pageSize, len(hbs))
	}
	page := hbs[start:end]
	var next []byte
	if end < len(hbs) {
		next, _ = json.Marshal(pageToken{Last: page[len(page)-1].GetWorkerInstanceKey()})
	}
	return page, next, nil
}

// Describe returns one worker's latest heartbeat.
func (r *Registry) Describe(ns, key string) (*workerpb.WorkerHeartbeat, error) {
	now := r.now()
	r.mu.Lock()
	defer r.mu.Unlock()
	r.evictLocked(now)
	if e := r.ns[ns][key]; e != nil {
		return e.hb, nil
	}
	return nil, serviceerror.NewNotFound("Worker " + key + " not found")
}

// ListInfo is the short form of a heartbeat that ListWorkers returns.
func ListInfo(hb *workerpb.WorkerHeartbeat) *workerpb.WorkerListInfo {
	host := hb.GetHostInfo()
	return &workerpb.WorkerListInfo{
		WorkerInstanceKey: hb.GetWorkerInstanceKey(),
		WorkerIdentity:    hb.GetWorkerIdentity(),
		TaskQueue:         hb.GetTaskQueue(),
		DeploymentVersion: hb.GetDeploymentVersion(),
		SdkName:           hb.GetSdkName(),
		SdkVersion:        hb.GetSdkVersion(),
		Status:            hb.GetStatus(),
		StartTime:         hb.GetStartTime(),
		HostName:          host.GetHostName(),
		WorkerGroupingKey: host.GetWorkerGroupingKey(),
		ProcessId:         host.GetProcessId(),
		Plugins:           hb.GetPlugins(),
		Drivers:           hb.GetDrivers(),
	}
}
