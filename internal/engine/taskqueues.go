package engine

import (
	"time"

	commonpb "go.temporal.io/api/common/v1"
	deploymentpb "go.temporal.io/api/deployment/v1"
	enumspb "go.temporal.io/api/enums/v1"
	taskqueuepb "go.temporal.io/api/taskqueue/v1"
	"go.temporal.io/api/workflowservice/v1"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/sundial-io/sundial/internal/matching"
)

// What DescribeTaskQueue reports, with the values of Temporal's defaults
// (its matching service and dynamic config) so tools read the same
// numbers; Sundial has one partition per queue and no per-queue limits.
const (
	// pollerTTL: a poller is listed this long after its last poll.
	pollerTTL = 5 * time.Minute
	// systemQueueRate is Temporal's default dispatch limit of a task queue
	// partition (admin.matchingNamespaceTaskqueueToPartitionDispatchRate),
	// reported as the queue's rate with source SYSTEM.
	systemQueueRate = 1000
	// defaultPollerRate is reported for a poller that set no rate.
	defaultPollerRate = 100000
	// taskIDRange is the size of the task id blocks a queue reports.
	taskIDRange = 100000
	// unversionedVersion names the current version of a queue with no
	// worker deployment.
	unversionedVersion = "__unversioned__"
)

// pollerVersioning is what a poller said of its versioning, kept by
// matching for DescribeTaskQueue.
type pollerVersioning struct {
	capabilities *commonpb.WorkerVersionCapabilities
	deployment   *deploymentpb.WorkerDeploymentOptions
}

// matchKind maps a task queue type to its matching queue.
func matchKind(t enumspb.TaskQueueType) (kind matching.Kind, ok bool) {
	switch t {
	case enumspb.TASK_QUEUE_TYPE_WORKFLOW, enumspb.TASK_QUEUE_TYPE_UNSPECIFIED:
		return matching.Workflow, true
	case enumspb.TASK_QUEUE_TYPE_ACTIVITY:
		return matching.Activity, true
	case enumspb.TASK_QUEUE_TYPE_NEXUS:
		return matching.Nexus, true
	}
	return 0, false
}

// DescribeTaskQueue answers both modes of the RPC as Temporal does. The
// frontend has validated the request and filled Temporal's defaults
// (TaskQueueType, TaskQueueTypes).
func (e *Engine) DescribeTaskQueue(r *workflowservice.DescribeTaskQueueRequest) *workflowservice.DescribeTaskQueueResponse {
	if r.ApiMode == enumspb.DESCRIBE_TASK_QUEUE_MODE_ENHANCED {
		return e.describeEnhanced(r)
	}
	return e.describeLegacy(r)
}

// describeLegacy describes one queue of one type: its pollers, and on
// request its status (backlog, read and ack levels), statistics and rate
// limit, plus its versioning info.
func (e *Engine) describeLegacy(r *workflowservice.DescribeTaskQueueRequest) *workflowservice.DescribeTaskQueueResponse {
	resp := &workflowservice.DescribeTaskQueueResponse{}
	var st matching.Stats
	byPriority := map[int32]matching.Stats{matching.DefaultPriorityKey: {}}
	rps, source := float32(systemQueueRate), enumspb.RATE_LIMIT_SOURCE_SYSTEM
	if kind, ok := matchKind(r.TaskQueueType); ok {
		key := matching.Key{Namespace: r.Namespace, Name: r.TaskQueue.GetName(), Kind: kind}
		// With worker deployments the queue has a sub-queue per version
		// (deployments.go); the queue's pollers and stats are all of them.
		for _, k := range e.queueKeys(key) {
			resp.Pollers = append(resp.Pollers, pollerInfos(e.match.Pollers(k, pollerTTL))...)
			all, byP := e.match.StatsByPriority(k)
			st = addStats(st, all)
			for p, s := range byP {
				byPriority[p] = addStats(byPriority[p], s)
			}
		}
		rps, source = e.effectiveRate(key)
	}
	if r.ReportConfig {
		resp.Config = e.TaskQueueConfig(r.Namespace, r.TaskQueue.GetName(), r.TaskQueueType)
	}
	if r.IncludeTaskQueueStatus { //nolint:staticcheck // deprecated, still sent by the CLI
		start := st.LastID / taskIDRange * taskIDRange
		resp.TaskQueueStatus = &taskqueuepb.TaskQueueStatus{ //nolint:staticcheck // deprecated, still read by the CLI
			BacklogCountHint: st.Backlog,
			ReadLevel:        st.LastID,
			AckLevel:         st.AckLevel,
			RatePerSecond:    float64(rps),
			TaskIdBlock:      &taskqueuepb.TaskIdBlock{StartId: start + 1, EndId: start + taskIDRange},
		}
	}
	if r.ReportStats {
		resp.Stats = queueStats(st)
		resp.StatsByPriorityKey = map[int32]*taskqueuepb.TaskQueueStats{}
		for p, s := range byPriority {
			resp.StatsByPriorityKey[p] = queueStats(s)
		}
	}
	if kind, ok := matchKind(r.TaskQueueType); ok && r.TaskQueue.GetKind() != enumspb.TASK_QUEUE_KIND_STICKY {
		resp.VersioningInfo = e.queueVersioningInfo(r.Namespace, r.TaskQueue.GetName(), kind)
	}
	resp.EffectiveRateLimit = &workflowservice.DescribeTaskQueueResponse_EffectiveRateLimit{
		RequestsPerSecond: rps,
		RateLimitSource:   source,
	}
	return resp
}

// describeEnhanced reports, per selected build id and task queue type,
// the pollers and statistics. Sundial does not version workers: every
// poller and task belongs to the unversioned queue (build id ""), which
// is the one selected by default; any other build id has none.
func (e *Engine) describeEnhanced(r *workflowservice.DescribeTaskQueueRequest) *workflowservice.DescribeTaskQueueResponse {
	var buildIDs []string
	if v := r.Versions; v == nil { //nolint:staticcheck // deprecated, still sent by the SDKs
		buildIDs = []string{""}
	} else {
		buildIDs = append(buildIDs, v.BuildIds...)
		if v.Unversioned {
			buildIDs = append(buildIDs, "")
		}
	}
	infos := map[string]*taskqueuepb.TaskQueueVersionInfo{}
	for _, id := range buildIDs {
		types := map[int32]*taskqueuepb.TaskQueueTypeInfo{}
		for _, t := range r.TaskQueueTypes { //nolint:staticcheck // deprecated, still sent by the SDKs
			var pollers []matching.Poller
			var st matching.Stats
			if kind, ok := matchKind(t); ok && id == "" {
				key := matching.Key{Namespace: r.Namespace, Name: r.TaskQueue.GetName(), Kind: kind}
				pollers = e.match.Pollers(key, pollerTTL)
				st = e.match.Stats(key)
			}
			info := &taskqueuepb.TaskQueueTypeInfo{}
			if r.ReportPollers { //nolint:staticcheck // deprecated, still sent by the SDKs
				info.Pollers = pollerInfos(pollers)
			}
			if r.ReportStats {
				info.Stats = queueStats(st)
			}
			types[int32(t)] = info
		}
		v := &taskqueuepb.TaskQueueVersionInfo{TypesInfo: types}
		if r.ReportTaskReachability { //nolint:staticcheck // deprecated, still sent by the SDKs
			// New tasks go to the unversioned queue; no workflow is ever
			// assigned to a build id.
			v.TaskReachability = enumspb.BUILD_ID_TASK_REACHABILITY_UNREACHABLE
			if id == "" {
				v.TaskReachability = enumspb.BUILD_ID_TASK_REACHABILITY_REACHABLE
			}
		}
		infos[id] = v
	}
	return &workflowservice.DescribeTaskQueueResponse{VersionsInfo: infos} //nolint:staticcheck // deprecated, still read by the SDKs
}

// addStats sums the statistics of a queue's sub-queues.
func addStats(a, b matching.Stats) matching.Stats {
	a.Backlog += b.Backlog
	a.AddRate += b.AddRate
	a.DispatchRate += b.DispatchRate
	a.OldestAge = max(a.OldestAge, b.OldestAge)
	a.LastID = max(a.LastID, b.LastID)
	a.AckLevel = max(a.AckLevel, b.AckLevel)
	return a
}

func queueStats(st matching.Stats) *taskqueuepb.TaskQueueStats {
	return &taskqueuepb.TaskQueueStats{
		ApproximateBacklogCount: st.Backlog,
		ApproximateBacklogAge:   durationpb.New(st.OldestAge),
		TasksAddRate:            st.AddRate,
		TasksDispatchRate:       st.DispatchRate,
	}
}

func pollerInfos(ps []matching.Poller) []*taskqueuepb.PollerInfo {
	var out []*taskqueuepb.PollerInfo
	for _, p := range ps {
		info := &taskqueuepb.PollerInfo{Identity: p.Identity, LastAccessTime: timestamppb.New(p.LastPoll), RatePerSecond: p.RatePerSecond}
		if info.RatePerSecond == 0 {
			info.RatePerSecond = defaultPollerRate
		}
		if v, ok := p.Info.(pollerVersioning); ok {
			info.WorkerVersionCapabilities = proto.CloneOf(v.capabilities) //nolint:staticcheck // deprecated, still reported
			info.DeploymentOptions = proto.CloneOf(v.deployment)
		}
		out = append(out, info)
	}
	return out
}
