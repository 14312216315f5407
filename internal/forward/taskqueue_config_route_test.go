package forward

import (
	"testing"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"

	"github.com/sundial-io/sundial/internal/matching"
)

// UpdateTaskQueueConfig goes to the owner of the queue of its type, which
// enforces the configuration; without a queue name it is left to the
// handler's refusal.
func TestUpdateTaskQueueConfigRoutesToQueueOwner(t *testing.T) {
	for typ, kind := range map[enumspb.TaskQueueType]matching.Kind{
		enumspb.TASK_QUEUE_TYPE_ACTIVITY: matching.Activity,
		enumspb.TASK_QUEUE_TYPE_NEXUS:    matching.Nexus,
		enumspb.TASK_QUEUE_TYPE_WORKFLOW: matching.Workflow,
	} {
		ns, key, name, ok := QueueRouteOf(&workflowservice.UpdateTaskQueueConfigRequest{Namespace: "ns", TaskQueue: "q", TaskQueueType: typ})
		if !ok || ns != "ns" || name != "q" || key != matching.ShardKey(kind, "q") {
			t.Errorf("%v routed to %q %q %q %v", typ, ns, key, name, ok)
		}
	}
	if _, _, _, ok := QueueRouteOf(&workflowservice.UpdateTaskQueueConfigRequest{Namespace: "ns", TaskQueueType: enumspb.TASK_QUEUE_TYPE_ACTIVITY}); ok {
		t.Errorf("a request without a task queue was routed")
	}
}
