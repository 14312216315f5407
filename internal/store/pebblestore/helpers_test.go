package pebblestore

import (
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	namespacepb "go.temporal.io/api/namespace/v1"
)

func nsInfo(name string) *namespacepb.NamespaceInfo {
	return &namespacepb.NamespaceInfo{Name: name}
}

// testEvents returns n workflow-task-scheduled events from id first on.
func testEvents(first int64, n int) []*historypb.HistoryEvent {
	out := make([]*historypb.HistoryEvent, n)
	for i := range out {
		out[i] = &historypb.HistoryEvent{EventId: first + int64(i), EventType: enumspb.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED}
	}
	return out
}
