package activityexec

import (
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"

	"github.com/sundial-io/sundial/internal/visibility"
)

// The query of ListActivityExecutions and CountActivityExecutions is
// Temporal's list-filter language over the attributes Temporal indexes for
// a standalone activity (ActivityId, ActivityType, ExecutionStatus with
// the status names "Running", "Completed", ..., TaskQueue, and the times)
// and the namespace's custom search attributes the start request set,
// parsed and evaluated by internal/visibility (record_filter.go).

var querySchema = &visibility.RecordSchema[*Execution]{
	Fields: map[string]visibility.RecordField[*Execution]{
		"ActivityId":      visibility.KeywordField(func(x *Execution) string { return x.ActivityID }),
		"RunId":           visibility.KeywordField(func(x *Execution) string { return x.RunID }),
		"ActivityType":    visibility.KeywordField(func(x *Execution) string { return x.Start.ActivityType.GetName() }),
		"ExecutionStatus": visibility.KeywordField(func(x *Execution) string { return x.APIStatus().String() }),
		"TaskQueue":       visibility.KeywordField(func(x *Execution) string { return x.Options.TaskQueue.GetName() }),
		"StartTime":       visibility.DatetimeField(func(x *Execution) time.Time { return x.ScheduleTime }),
		"ScheduleTime":    visibility.DatetimeField(func(x *Execution) time.Time { return x.ScheduleTime }),
		"ExecutionTime":   visibility.DatetimeField((*Execution).ExecutionTime),
		"CloseTime":       visibility.DatetimeField(func(x *Execution) time.Time { return x.CloseTime }),
	},
	SearchAttributes: func(x *Execution) *commonpb.SearchAttributes { return x.Start.GetSearchAttributes() },
}

// Filter is a parsed activity list query.
type Filter = visibility.RecordFilter[*Execution]

// ParseQuery parses a ListActivityExecutions/CountActivityExecutions
// query against the namespace's custom search attributes; "" matches
// every execution. GROUP BY is allowed on ExecutionStatus only, as in
// Temporal; any other is InvalidArgument.
func ParseQuery(query string, custom map[string]enumspb.IndexedValueType) (*Filter, error) {
	return querySchema.Parse(query, custom)
}

// StatusGroups counts executions by status, as CountActivityExecutions
// reports groups: one payload (the status name) per group, in status
// order.
func StatusGroups(counts map[enumspb.ActivityExecutionStatus]int64) (values [][]*commonpb.Payload, n []int64) {
	return visibility.NamedStatusGroups(counts)
}
