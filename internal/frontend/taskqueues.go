package frontend

import (
	"context"
	"strings"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"
)

// reservedQueuePrefix starts the names of Temporal's internal task queue
// partitions ("/_sys/<name>/<n>"); a user queue cannot use it.
const reservedQueuePrefix = "/_sys/"

// DescribeTaskQueue validates and fills the request as Temporal's
// frontend does, then lets the engine answer in the mode asked for.
func (s *Service) DescribeTaskQueue(ctx context.Context, r *workflowservice.DescribeTaskQueueRequest) (*workflowservice.DescribeTaskQueueResponse, error) {
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
	}
	enhanced := r.ApiMode == enumspb.DESCRIBE_TASK_QUEUE_MODE_ENHANCED
	partition := strings.HasPrefix(tq.Name, reservedQueuePrefix)
	if enhanced && partition {
		return nil, invalid("task queue name cannot start with reserved prefix %s", reservedQueuePrefix)
	}
	if r.TaskQueueType == enumspb.TASK_QUEUE_TYPE_UNSPECIFIED || enhanced {
		r.TaskQueueType = enumspb.TASK_QUEUE_TYPE_WORKFLOW
	}
	if len(r.TaskQueueTypes) == 0 { //nolint:staticcheck // deprecated, still sent by the SDKs
		r.TaskQueueTypes = []enumspb.TaskQueueType{enumspb.TASK_QUEUE_TYPE_WORKFLOW, enumspb.TASK_QUEUE_TYPE_ACTIVITY} //nolint:staticcheck // deprecated, still sent by the SDKs
	}
	if enhanced && tq.Kind == enumspb.TASK_QUEUE_KIND_STICKY {
		return nil, invalid("Enhanced DescribeTaskQueue is not valid for a sticky queue, use api_mode=UNSPECIFIED or a normal queue.")
	}
	if !enhanced && r.ReportStats && partition {
		return nil, invalid("DescribeTaskQueue stats are only supported for the root partition")
	}
	return s.e.DescribeTaskQueue(r), nil
}
