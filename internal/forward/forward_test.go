package forward

import (
	deploymentpb "go.temporal.io/api/deployment/v1"
	"strings"
	"testing"

	enumspb "go.temporal.io/api/enums/v1"
	taskqueuepb "go.temporal.io/api/taskqueue/v1"
	"go.temporal.io/api/workflowservice/v1"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	"github.com/sundial-io/sundial/internal/matching"
	"github.com/sundial-io/sundial/internal/tasktoken"
)

// TestRouteOfEveryRequest fills, in every WorkflowService request, the
// fields that address a workflow (workflow_id, workflow_execution,
// execution, update_ref, task_token, operations) and checks RouteOf finds
// the workflow; requests without such fields must not be routed, and
// polls are routed by their queue.
func TestRouteOfEveryRequest(t *testing.T) {
	sd := workflowservice.File_temporal_api_workflowservice_v1_service_proto.Services().Get(0)
	tok := (&tasktoken.Token{Kind: tasktoken.Activity, Namespace: "ns", WorkflowID: "wf", RunID: "r"}).Encode()
	routed := 0
	for i := 0; i < sd.Methods().Len(); i++ {
		m := sd.Methods().Get(i)
		mt, err := protoregistry.GlobalTypes.FindMessageByName(m.Input().FullName())
		if err != nil {
			t.Fatal(err)
		}
		msg := mt.New()
		fields := msg.Descriptor().Fields()
		addressed := false
		if f := fields.ByName("namespace"); f != nil {
			msg.Set(f, protoreflect.ValueOfString("ns"))
		}
		for _, name := range []protoreflect.Name{"workflow_id", "workflow_execution", "execution", "update_ref", "task_token", "operations"} {
			f := fields.ByName(name)
			if f == nil {
				continue
			}
			addressed = true
			switch {
			case name == "workflow_id":
				msg.Set(f, protoreflect.ValueOfString("wf"))
			case name == "task_token":
				msg.Set(f, protoreflect.ValueOfBytes(tok))
			case name == "update_ref":
				ref := msg.Mutable(f).Message()
				ex := ref.Mutable(ref.Descriptor().Fields().ByName("workflow_execution")).Message()
				ex.Set(ex.Descriptor().Fields().ByName("workflow_id"), protoreflect.ValueOfString("wf"))
			case name == "operations":
				op := msg.Mutable(f).List().AppendMutable().Message()
				sw := op.Mutable(op.Descriptor().Fields().ByName("start_workflow")).Message()
				sw.Set(sw.Descriptor().Fields().ByName("workflow_id"), protoreflect.ValueOfString("wf"))
			default: // a WorkflowExecution
				ex := msg.Mutable(f).Message()
				ex.Set(ex.Descriptor().Fields().ByName("workflow_id"), protoreflect.ValueOfString("wf"))
			}
		}
		ns, id, ok := RouteOf(msg.Interface())
		if addressed && (!ok || ns != "ns" || id != "wf") {
			t.Errorf("%s: RouteOf = %q, %q, %v; want ns, wf", m.Name(), ns, id, ok)
		}
		if !addressed && ok {
			t.Errorf("%s: routed to %q/%q without a workflow field", m.Name(), ns, id)
		}
		if ok {
			routed++
		}
	}
	if routed < 30 {
		t.Errorf("only %d requests routed", routed)
	}
	poll := &workflowservice.PollActivityTaskQueueRequest{Namespace: "ns"}
	poll.TaskQueue = nil
	if _, _, _, ok := QueueRouteOf(poll); ok {
		t.Error("a poll without a queue was routed")
	}
	wp := &workflowservice.PollWorkflowTaskQueueRequest{Namespace: "ns"}
	wp.TaskQueue = nil
	if _, _, _, ok := QueueRouteOf(wp); ok {
		t.Error("a workflow poll without a queue was routed")
	}
	sticky := &workflowservice.PollWorkflowTaskQueueRequest{Namespace: "ns", TaskQueue: &taskqueuepb.TaskQueue{Name: "sticky-q", Kind: enumspb.TASK_QUEUE_KIND_STICKY}}
	if ns, key, name, ok := QueueRouteOf(sticky); !ok || ns != "ns" || name != "sticky-q" || key != matching.ShardKey(matching.Workflow, "sticky-q") {
		t.Errorf("sticky poll routed to %q %q %q %v", ns, key, name, ok)
	}
	act := &workflowservice.PollActivityTaskQueueRequest{Namespace: "ns", TaskQueue: &taskqueuepb.TaskQueue{Name: "q"}}
	if _, key, _, ok := QueueRouteOf(act); !ok || key != matching.ShardKey(matching.Activity, "q") {
		t.Errorf("activity poll routed by %q %v", key, ok)
	}
	if _, key, _, ok := QueueRouteOf(&workflowservice.PollNexusTaskQueueRequest{Namespace: "ns", TaskQueue: &taskqueuepb.TaskQueue{Name: "q"}}); !ok || key != matching.ShardKey(matching.Nexus, "q") {
		t.Errorf("Nexus poll routed by %q %v", key, ok)
	}
	if k := matching.ShardKey(matching.Workflow, "q"); k == matching.ShardKey(matching.Activity, "q") {
		t.Errorf("workflow and activity queues share the shard key %q", k)
	}
}

func TestWorkerHeartbeatsRouteToOneNode(t *testing.T) {
	for _, req := range []any{
		&workflowservice.RecordWorkerHeartbeatRequest{Namespace: "ns"},
		&workflowservice.ListWorkersRequest{Namespace: "ns"},
		&workflowservice.CountWorkersRequest{Namespace: "ns"},
		&workflowservice.DescribeWorkerRequest{Namespace: "ns"},
	} {
		if ns, key, _, ok := QueueRouteOf(req); !ok || ns != "ns" || key != WorkersKey {
			t.Errorf("%T routed to %q %q %v", req, ns, key, ok)
		}
	}
}

func TestRefuseNotClustered(t *testing.T) {
	// Nothing is refused today; the mechanism still works for a feature
	// listed.
	notClustered["CreateFrobnicator"] = "frobnicators"
	defer delete(notClustered, "CreateFrobnicator")
	err := refuseNotClustered("/temporal.api.workflowservice.v1.WorkflowService/CreateFrobnicator")
	if status.Code(err) != codes.Unimplemented || !strings.Contains(err.Error(), "frobnicators") {
		t.Errorf("listed method: %v, want Unimplemented naming the feature", err)
	}
	for _, m := range []string{"StartWorkflowExecution", "CreateSchedule", "StartBatchOperation", "StartActivityExecution", "StartNexusOperationExecution", "DeleteNamespace", "CreateWorkflowRule", "UpdateTaskQueueConfig",
		"CreateWorkerDeployment", "CreateWorkerDeploymentVersion", "SetWorkerDeploymentCurrentVersion", "SetWorkerDeploymentRampingVersion"} {
		if err := refuseNotClustered("/temporal.api.workflowservice.v1.WorkflowService/" + m); err != nil {
			t.Errorf("%s refused: %v", m, err)
		}
	}
}

// Worker deployment RPCs naming a deployment go to the owner of the shard
// of (namespace, "temporal-sys-worker-deployment:" + name), whichever
// field names it; ListWorkerDeployments is answered by any node.
func TestDeploymentRoutes(t *testing.T) {
	v := &deploymentpb.WorkerDeploymentVersion{DeploymentName: "d", BuildId: "b"}
	for _, req := range []any{
		&workflowservice.CreateWorkerDeploymentRequest{Namespace: "ns", DeploymentName: "d"},
		&workflowservice.CreateWorkerDeploymentVersionRequest{Namespace: "ns", DeploymentVersion: v},
		&workflowservice.SetWorkerDeploymentCurrentVersionRequest{Namespace: "ns", DeploymentName: "d"},
		&workflowservice.SetWorkerDeploymentRampingVersionRequest{Namespace: "ns", DeploymentName: "d"},
		&workflowservice.SetWorkerDeploymentManagerRequest{Namespace: "ns", DeploymentName: "d"},
		&workflowservice.DeleteWorkerDeploymentRequest{Namespace: "ns", DeploymentName: "d"},
		&workflowservice.DeleteWorkerDeploymentVersionRequest{Namespace: "ns", DeploymentVersion: v},
		&workflowservice.DeleteWorkerDeploymentVersionRequest{Namespace: "ns", Version: "d.b"},
		&workflowservice.UpdateWorkerDeploymentVersionMetadataRequest{Namespace: "ns", Version: "d.b"},
		&workflowservice.UpdateWorkerDeploymentVersionComputeConfigRequest{Namespace: "ns", DeploymentVersion: v},
		&workflowservice.ValidateWorkerDeploymentVersionComputeConfigRequest{Namespace: "ns", DeploymentVersion: v},
		&workflowservice.DescribeWorkerDeploymentRequest{Namespace: "ns", DeploymentName: "d"},
		&workflowservice.DescribeWorkerDeploymentVersionRequest{Namespace: "ns", DeploymentVersion: v},
	} {
		if ns, name, ok := DeploymentRouteOf(req); !ok || ns != "ns" || name != "d" {
			t.Errorf("%T routed to %q %q %v", req, ns, name, ok)
		}
		if _, _, ok := RouteOf(req); ok {
			t.Errorf("%T is also routed as a workflow request", req)
		}
	}
	for _, req := range []any{
		&workflowservice.ListWorkerDeploymentsRequest{Namespace: "ns"},
		&workflowservice.DescribeWorkerDeploymentRequest{Namespace: "ns"},
	} {
		if _, _, ok := DeploymentRouteOf(req); ok {
			t.Errorf("%T routed to a deployment", req)
		}
	}
	if DeploymentKey("d") != "temporal-sys-worker-deployment:d" {
		t.Errorf("DeploymentKey: %q", DeploymentKey("d"))
	}
}

// Schedule RPCs naming a schedule go to the owner of the shard of
// (namespace, "temporal-sys-scheduler:" + id); List and Count are
// answered by any node.
func TestScheduleRoutes(t *testing.T) {
	for _, req := range []any{
		&workflowservice.CreateScheduleRequest{Namespace: "ns", ScheduleId: "s"},
		&workflowservice.DescribeScheduleRequest{Namespace: "ns", ScheduleId: "s"},
		&workflowservice.UpdateScheduleRequest{Namespace: "ns", ScheduleId: "s"},
		&workflowservice.PatchScheduleRequest{Namespace: "ns", ScheduleId: "s"},
		&workflowservice.DeleteScheduleRequest{Namespace: "ns", ScheduleId: "s"},
		&workflowservice.ListScheduleMatchingTimesRequest{Namespace: "ns", ScheduleId: "s"},
	} {
		if ns, id, ok := ScheduleRouteOf(req); !ok || ns != "ns" || id != "s" {
			t.Errorf("%T routed to %q %q %v", req, ns, id, ok)
		}
		if _, _, ok := RouteOf(req); ok {
			t.Errorf("%T is also routed as a workflow request", req)
		}
	}
	for _, req := range []any{
		&workflowservice.ListSchedulesRequest{Namespace: "ns"},
		&workflowservice.CountSchedulesRequest{Namespace: "ns"},
		&workflowservice.DescribeScheduleRequest{Namespace: "ns"}, // refused by the handler
	} {
		if _, _, ok := ScheduleRouteOf(req); ok {
			t.Errorf("%T routed to an owner", req)
		}
	}
	if k := ScheduleKey("s"); k != "temporal-sys-scheduler:s" {
		t.Errorf("ScheduleKey = %q", k)
	}
}
