package visibility

import (
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	workflowpb "go.temporal.io/api/workflow/v1"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// workflowRecord evaluates a query against a workflow's summary.
type workflowRecord struct {
	info *workflowpb.WorkflowExecutionInfo
}

func (r workflowRecord) value(a *attribute) any { return a.value(r.info) }

// value reads the attribute from a record. The result is nil when the
// record has no value (SQL NULL), else a string, []string, int64, float64,
// bool or time.Time according to the attribute's type. ExecutionStatus is
// read as its enum number because Temporal's SQL store compares it as one.
func (a *attribute) value(info *workflowpb.WorkflowExecutionInfo) any {
	switch a.field {
	case WorkflowID:
		return info.GetExecution().GetWorkflowId()
	case RunID:
		return info.GetExecution().GetRunId()
	case WorkflowType:
		return info.GetType().GetName()
	case TaskQueue:
		return info.GetTaskQueue()
	case ExecutionStatus:
		return int64(info.GetStatus())
	case StartTime:
		return timeOrNil(info.GetStartTime())
	case ExecutionTime:
		return timeOrNil(info.GetExecutionTime())
	case CloseTime:
		return timeOrNil(info.GetCloseTime())
	case HistoryLength:
		return info.GetHistoryLength()
	case HistorySizeBytes:
		return info.GetHistorySizeBytes()
	case StateTransitionCount:
		return info.GetStateTransitionCount()
	case ExecutionDuration:
		if d := info.GetExecutionDuration(); d != nil {
			return int64(d.AsDuration())
		}
		return nil
	case ParentWorkflowID:
		return stringOrNil(info.GetParentExecution().GetWorkflowId())
	case ParentRunID:
		return stringOrNil(info.GetParentExecution().GetRunId())
	case RootWorkflowID:
		return stringOrNil(info.GetRootExecution().GetWorkflowId())
	case RootRunID:
		return stringOrNil(info.GetRootExecution().GetRunId())
	}
	return searchAttr(info.GetSearchAttributes(), a.field, a.typ)
}

// searchAttr decodes one entry of the SearchAttributes map. A value that
// does not decode as the registered type is treated as absent rather than
// failing the whole listing: the record was accepted earlier, perhaps under
// a different registry.
func searchAttr(sa *commonpb.SearchAttributes, name string, t enumspb.IndexedValueType) any {
	p, ok := sa.GetIndexedFields()[name]
	if !ok {
		return nil
	}
	v, err := DecodeValue(p, t)
	if err != nil {
		return nil
	}
	return v
}

func timeOrNil(ts *timestamppb.Timestamp) any {
	if ts == nil {
		return nil
	}
	return ts.AsTime()
}

// stringOrNil treats an empty id as missing: parent and root executions are
// optional and an empty id means there is none.
func stringOrNil(s string) any {
	if s == "" {
		return nil
	}
	return s
}
