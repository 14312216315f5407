package frontend

import (
	"context"
	"strings"

	enumspb "go.temporal.io/api/enums/v1"
	taskqueuepb "go.temporal.io/api/taskqueue/v1"
	"go.temporal.io/api/workflowservice/v1"
)

// ListTaskQueuePartitions answers that every task queue has one partition
// for workflow tasks and one for activity tasks, owned by this server:
// Sundial's matcher keeps each queue whole in memory. Temporal (four write
// partitions by default) lists the root partition under the queue's own
// name and the others as "/_sys/<name>/<n>"; Sundial's one partition is
// that root. The queue does not need to exist, as in Temporal.
func (s *Service) ListTaskQueuePartitions(ctx context.Context, r *workflowservice.ListTaskQueuePartitionsRequest) (*workflowservice.ListTaskQueuePartitionsResponse, error) {
	if err := s.ns(r.Namespace); err != nil {
		return nil, err
	}
	tq := r.TaskQueue
	switch {
	case tq == nil:
		return nil, invalid("taskQueue is not set")
	case tq.Name == "":
		return nil, invalid("missing task queue name")
	case len(tq.Name) > maxIDLength:
		return nil, invalid("taskQueue length exceeds limit")
	case strings.HasPrefix(tq.Name, reservedQueuePrefix):
		return nil, invalid("task queue name cannot start with reserved prefix %s", reservedQueuePrefix)
	}
	if tq.Kind == enumspb.TASK_QUEUE_KIND_STICKY && strings.HasPrefix(tq.NormalName, reservedQueuePrefix) {
		return nil, invalid("task queue name cannot start with reserved prefix %s", reservedQueuePrefix)
	}
	owner := localAddr(ctx)
	one := func() []*taskqueuepb.TaskQueuePartitionMetadata {
		return []*taskqueuepb.TaskQueuePartitionMetadata{{Key: tq.Name, OwnerHostName: owner}}
	}
	return &workflowservice.ListTaskQueuePartitionsResponse{
		ActivityTaskQueuePartitions: one(),
		WorkflowTaskQueuePartitions: one(),
	}, nil
}
