package auth

import (
	"strings"
)

// Access is what an RPC needs, following Temporal's API classification
// (common/api metadata in temporalio/temporal: read-only, write, admin),
// with the calls workers make (polls, task responses, heartbeats) split
// out so a "worker" permission can run a worker without being able to
// start, signal or terminate workflows.
type Access uint8

const (
	// AccessPublic needs no credentials: health checks and GetSystemInfo,
	// which every SDK calls while connecting and which carry nothing
	// sensitive (Temporal exempts them too).
	AccessPublic Access = iota
	AccessRead
	AccessWorker
	AccessWrite
	AccessAdmin
)

func (a Access) String() string {
	switch a {
	case AccessPublic:
		return "public"
	case AccessRead:
		return "read"
	case AccessWorker:
		return "worker"
	case AccessWrite:
		return "write"
	}
	return "admin"
}

const (
	workflowServicePrefix = "/temporal.api.workflowservice.v1.WorkflowService/"
	operatorServicePrefix = "/temporal.api.operatorservice.v1.OperatorService/"
	healthServicePrefix   = "/grpc.health.v1.Health/"
)

// workerCalls are the RPCs a worker makes on its task queues.
var workerCalls = set(
	"PollWorkflowTaskQueue", "RespondWorkflowTaskCompleted", "RespondWorkflowTaskFailed",
	"PollActivityTaskQueue", "RecordActivityTaskHeartbeat", "RecordActivityTaskHeartbeatById",
	"RespondActivityTaskCompleted", "RespondActivityTaskCompletedById",
	"RespondActivityTaskFailed", "RespondActivityTaskFailedById",
	"RespondActivityTaskCanceled", "RespondActivityTaskCanceledById",
	"RespondQueryTaskCompleted", "ResetStickyTaskQueue", "ShutdownWorker",
	"PollNexusTaskQueue", "RespondNexusTaskCompleted", "RespondNexusTaskFailed",
	"RecordWorkerHeartbeat", "FetchWorkerConfig",
)

// workerReads are the read-only RPCs a worker itself makes (checking its
// namespace at start, paging a workflow's history during a workflow
// task); a worker permission grants them and no other read.
var workerReads = set("DescribeNamespace", "GetWorkflowExecutionHistory")

// adminCalls change namespaces, search attributes, clusters or Nexus
// endpoints (Temporal: AccessAdmin).
var adminCalls = set(
	"RegisterNamespace", "UpdateNamespace", "DeprecateNamespace", "DeleteNamespace",
	"AddSearchAttributes", "RemoveSearchAttributes",
	"AddOrUpdateRemoteCluster", "RemoveRemoteCluster", "ListClusters",
	"CreateNexusEndpoint", "UpdateNexusEndpoint", "DeleteNexusEndpoint",
)

// readCalls are read-only RPCs whose names do not start with one of
// readPrefixes.
var readCalls = set(
	"QueryWorkflow", "PollWorkflowExecutionUpdate", "PollActivityExecution", "PollNexusOperationExecution",
)

var readPrefixes = []string{"Describe", "List", "Get", "Count", "Scan"}

// Classify says what the RPC named by its full gRPC method needs. Methods
// of services other than the WorkflowService, OperatorService and health
// need admin: nothing else is served, and an unknown name is refused
// rather than guessed open.
func Classify(fullMethod string) Access {
	if strings.HasPrefix(fullMethod, healthServicePrefix) {
		return AccessPublic
	}
	var name string
	switch {
	case strings.HasPrefix(fullMethod, workflowServicePrefix):
		name = fullMethod[len(workflowServicePrefix):]
	case strings.HasPrefix(fullMethod, operatorServicePrefix):
		name = fullMethod[len(operatorServicePrefix):]
	default:
		return AccessAdmin
	}
	if name == "GetSystemInfo" {
		return AccessPublic
	}
	if _, ok := adminCalls[name]; ok {
		return AccessAdmin
	}
	if _, ok := workerCalls[name]; ok {
		return AccessWorker
	}
	if _, ok := readCalls[name]; ok {
		return AccessRead
	}
	for _, p := range readPrefixes {
		if strings.HasPrefix(name, p) {
			return AccessRead
		}
	}
	return AccessWrite
}

// allows says whether role r may make a call needing a (method is the
// short method name, for the worker's reads).
func allows(r Role, a Access, method string) bool {
	switch a {
	case AccessPublic:
		return true
	case AccessRead:
		if r&(RoleReader|RoleWriter|RoleAdmin) != 0 {
			return true
		}
		_, ok := workerReads[method]
		return ok && r&RoleWorker != 0
	case AccessWorker:
		return r&(RoleWorker|RoleWriter|RoleAdmin) != 0
	case AccessWrite:
		return r&(RoleWriter|RoleAdmin) != 0
	}
	return r&RoleAdmin != 0
}

// needed names the weakest permission that would allow a call.
func needed(a Access) string {
	switch a {
	case AccessRead:
		return "read"
	case AccessWorker:
		return "worker or write"
	case AccessWrite:
		return "write"
	}
	return "admin"
}

func set(names ...string) map[string]struct{} {
	m := make(map[string]struct{}, len(names))
	for _, n := range names {
		m[n] = struct{}{}
	}
	return m
}
