package auth

import (
	"testing"

	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/workflowservice/v1"
	"google.golang.org/grpc"
)

// TestClassifyMatchesTemporal checks the classes against Temporal's own
// table (common/api/metadata.go): its read-only APIs are read here, its
// admin APIs admin, and its write APIs write or, for the calls workers
// make, worker.
func TestClassifyMatchesTemporal(t *testing.T) {
	wf := func(m string) string { return workflowServicePrefix + m }
	op := func(m string) string { return operatorServicePrefix + m }
	want := map[string]Access{
		wf("GetSystemInfo"): AccessPublic, "/grpc.health.v1.Health/Check": AccessPublic, "/grpc.health.v1.Health/Watch": AccessPublic,
		wf("DescribeNamespace"): AccessRead, wf("ListNamespaces"): AccessRead, wf("GetWorkflowExecutionHistory"): AccessRead,
		wf("GetWorkflowExecutionHistoryReverse"): AccessRead, wf("ListWorkflowExecutions"): AccessRead, wf("ScanWorkflowExecutions"): AccessRead,
		wf("CountWorkflowExecutions"): AccessRead, wf("GetSearchAttributes"): AccessRead, wf("QueryWorkflow"): AccessRead,
		wf("DescribeWorkflowExecution"): AccessRead, wf("DescribeTaskQueue"): AccessRead, wf("GetClusterInfo"): AccessRead,
		wf("ListTaskQueuePartitions"): AccessRead, wf("DescribeSchedule"): AccessRead, wf("ListSchedules"): AccessRead,
		wf("ListScheduleMatchingTimes"): AccessRead, wf("PollWorkflowExecutionUpdate"): AccessRead, wf("DescribeBatchOperation"): AccessRead,
		wf("ListBatchOperations"): AccessRead, op("ListSearchAttributes"): AccessRead,
		wf("PollWorkflowTaskQueue"): AccessWorker, wf("RespondWorkflowTaskCompleted"): AccessWorker, wf("PollActivityTaskQueue"): AccessWorker,
		wf("RecordActivityTaskHeartbeat"): AccessWorker, wf("RespondActivityTaskFailedById"): AccessWorker, wf("RespondQueryTaskCompleted"): AccessWorker,
		wf("PollNexusTaskQueue"): AccessWorker, wf("ShutdownWorker"): AccessWorker,
		wf("StartWorkflowExecution"): AccessWrite, wf("SignalWithStartWorkflowExecution"): AccessWrite, wf("TerminateWorkflowExecution"): AccessWrite,
		wf("DeleteWorkflowExecution"): AccessWrite, wf("ResetWorkflowExecution"): AccessWrite, wf("UpdateWorkflowExecution"): AccessWrite,
		wf("CreateSchedule"): AccessWrite, wf("StartBatchOperation"): AccessWrite, wf("ExecuteMultiOperation"): AccessWrite,
		wf("PauseActivity"):     AccessWrite,
		wf("RegisterNamespace"): AccessAdmin, wf("UpdateNamespace"): AccessAdmin, wf("DeprecateNamespace"): AccessAdmin,
		op("DeleteNamespace"): AccessAdmin, op("AddSearchAttributes"): AccessAdmin, op("RemoveSearchAttributes"): AccessAdmin,
		op("ListClusters"): AccessAdmin, op("CreateNexusEndpoint"): AccessAdmin,
		"/some.other.Service/Method": AccessAdmin,
	}
	for m, a := range want {
		if got := Classify(m); got != a {
			t.Errorf("Classify(%s) = %v, want %v", m, got, a)
		}
	}
	// Every served method gets a class; only GetSystemInfo is public.
	for _, d := range []struct {
		prefix  string
		methods []string
	}{
		{workflowServicePrefix, names(workflowservice.WorkflowService_ServiceDesc.Methods)},
		{operatorServicePrefix, names(operatorservice.OperatorService_ServiceDesc.Methods)},
	} {
		for _, m := range d.methods {
			if Classify(d.prefix+m) == AccessPublic && m != "GetSystemInfo" {
				t.Errorf("%s is public", m)
			}
		}
	}
}

func names(ms []grpc.MethodDesc) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.MethodName
	}
	return out
}
