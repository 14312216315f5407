package nexusexec

import (
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"

	"github.com/sundial-io/sundial/internal/visibility"
)

// The query of ListNexusOperationExecutions and
// CountNexusOperationExecutions is Temporal's list-filter language over
// the attributes the API documents for standalone Nexus operations
// (OperationId, RunId, Endpoint, Service, Operation, RequestId, StartTime,
// ExecutionTime, CloseTime, ExecutionStatus with the status names
// "Running", "Completed", ..., ExecutionDuration, StateTransitionCount)
// and the namespace's custom search attributes the start request set,
// parsed and evaluated by internal/visibility (record_filter.go).

var querySchema = &visibility.RecordSchema[*Operation]{
	Fields: map[string]visibility.RecordField[*Operation]{
		"OperationId":     visibility.KeywordField(func(o *Operation) string { return o.OperationID }),
		"RunId":           visibility.KeywordField(func(o *Operation) string { return o.RunID }),
		"Endpoint":        visibility.KeywordField(func(o *Operation) string { return o.Start.Endpoint }),
		"Service":         visibility.KeywordField(func(o *Operation) string { return o.Start.Service }),
		"Operation":       visibility.KeywordField(func(o *Operation) string { return o.Start.Operation }),
		"RequestId":       visibility.KeywordField(func(o *Operation) string { return o.RequestID }),
		"ExecutionStatus": visibility.KeywordField(func(o *Operation) string { return o.Status.String() }),
		"StartTime":       visibility.DatetimeField(func(o *Operation) time.Time { return o.ScheduleTime }),
		"ExecutionTime":   visibility.DatetimeField(func(o *Operation) time.Time { return o.ScheduleTime }),
		"CloseTime":       visibility.DatetimeField(func(o *Operation) time.Time { return o.CloseTime }),
		// ExecutionDuration is set once closed (nanoseconds; the parser
		// reads durations such as '1m' too).
		"ExecutionDuration": {Type: enumspb.INDEXED_VALUE_TYPE_INT, Get: func(o *Operation) any {
			if o.Running() {
				return nil
			}
			return int64(o.CloseTime.Sub(o.ScheduleTime))
		}},
		"StateTransitionCount": {Type: enumspb.INDEXED_VALUE_TYPE_INT, Get: func(o *Operation) any { return o.Transitions }},
	},
	SearchAttributes: func(o *Operation) *commonpb.SearchAttributes { return o.Start.GetSearchAttributes() },
}

// Filter is a parsed operation list query.
type Filter = visibility.RecordFilter[*Operation]

// ParseQuery parses a list or count query against the namespace's custom
// search attributes; "" matches every operation. GROUP BY is allowed on
// ExecutionStatus only; anything else is InvalidArgument.
func ParseQuery(query string, custom map[string]enumspb.IndexedValueType) (*Filter, error) {
	return querySchema.Parse(query, custom)
}

// StatusGroups turns counts by status into CountNexusOperationExecutions
// groups: one payload (the status name) per group, in status order.
func StatusGroups(counts map[enumspb.NexusOperationExecutionStatus]int64) (values [][]*commonpb.Payload, n []int64) {
	return visibility.NamedStatusGroups(counts)
}
