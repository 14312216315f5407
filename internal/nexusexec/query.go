package nexusexec

import (
	"regexp"
	"slices"
	"strings"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"

	"github.com/sundial-io/sundial/internal/visibility"
)

// The query of ListNexusOperationExecutions and
// CountNexusOperationExecutions is Temporal's list-filter language over
// the attributes the API documents for standalone Nexus operations
// (OperationId, RunId, Endpoint, Service, Operation, RequestId, StartTime,
// ExecutionTime, CloseTime, ExecutionStatus with the status names
// "Running", "Completed", ..., ExecutionDuration, StateTransitionCount)
// and the namespace's custom search attributes the start request set,
// parsed and evaluated by internal/visibility.

type queryField struct {
	typ enumspb.IndexedValueType
	get func(*Operation) any
}

func keyword(get func(*Operation) string) queryField {
	return queryField{enumspb.INDEXED_VALUE_TYPE_KEYWORD, func(o *Operation) any { return get(o) }}
}

func datetime(get func(*Operation) time.Time) queryField {
	return queryField{enumspb.INDEXED_VALUE_TYPE_DATETIME, func(o *Operation) any {
		if t := get(o); !t.IsZero() {
			return t
		}
		return nil
	}}
}

var queryFields = map[string]queryField{
	"OperationId":     keyword(func(o *Operation) string { return o.OperationID }),
	"RunId":           keyword(func(o *Operation) string { return o.RunID }),
	"Endpoint":        keyword(func(o *Operation) string { return o.Start.Endpoint }),
	"Service":         keyword(func(o *Operation) string { return o.Start.Service }),
	"Operation":       keyword(func(o *Operation) string { return o.Start.Operation }),
	"RequestId":       keyword(func(o *Operation) string { return o.RequestID }),
	"ExecutionStatus": keyword(func(o *Operation) string { return o.Status.String() }),
	"StartTime":       datetime(func(o *Operation) time.Time { return o.ScheduleTime }),
	"ExecutionTime":   datetime(func(o *Operation) time.Time { return o.ScheduleTime }),
	"CloseTime":       datetime(func(o *Operation) time.Time { return o.CloseTime }),
	// ExecutionDuration is set once closed (nanoseconds; the parser reads
	// durations such as '1m' too).
	"ExecutionDuration": {enumspb.INDEXED_VALUE_TYPE_INT, func(o *Operation) any {
		if o.Running() {
			return nil
		}
		return int64(o.CloseTime.Sub(o.ScheduleTime))
	}},
	"StateTransitionCount": {enumspb.INDEXED_VALUE_TYPE_INT, func(o *Operation) any { return o.Transitions }},
}

var ordered = []string{"=", "!=", "<", "<=", ">", ">=", "in", "not in", "between", "not between"}

var queryOperators = map[enumspb.IndexedValueType][]string{
	enumspb.INDEXED_VALUE_TYPE_KEYWORD:      {"=", "!=", "in", "not in", "starts_with", "not starts_with"},
	enumspb.INDEXED_VALUE_TYPE_KEYWORD_LIST: {"=", "!=", "in", "not in"},
	enumspb.INDEXED_VALUE_TYPE_TEXT:         {"=", "!="},
	enumspb.INDEXED_VALUE_TYPE_BOOL:         {"=", "!="},
	enumspb.INDEXED_VALUE_TYPE_DATETIME:     ordered,
	enumspb.INDEXED_VALUE_TYPE_INT:          ordered,
	enumspb.INDEXED_VALUE_TYPE_DOUBLE:       ordered,
}

// customPrefix marks a custom search attribute's field, read from the
// start request's search attributes.
const customPrefix = "custom:"

// statusField is the status's field name for the shared parser, which
// reads a workflow's ExecutionStatus as an enum number; an operation's is
// matched by its name.
const statusField = "operation status"

func querySchema(custom map[string]enumspb.IndexedValueType) visibility.Schema {
	return visibility.Schema{
		Resolve: func(name string) (string, enumspb.IndexedValueType, bool) {
			if f, ok := queryFields[name]; ok {
				if name == "ExecutionStatus" {
					return statusField, f.typ, true
				}
				return name, f.typ, true
			}
			if typ, ok := custom[name]; ok {
				return customPrefix + name, typ, true
			}
			return "", 0, false
		},
		Operators: func(_ string, typ enumspb.IndexedValueType) []string { return queryOperators[typ] },
	}
}

// Filter is a parsed operation list query.
type Filter struct {
	q       *visibility.Query
	byState bool
	custom  map[string]enumspb.IndexedValueType
}

// groupByStatus is the one GROUP BY clause allowed here, taken off before
// the condition is parsed.
var groupByStatus = regexp.MustCompile(`(?i)(^|\s)group\s+by\s+` + "`?ExecutionStatus`?" + `\s*$`)

// ParseQuery parses a list or count query against the namespace's custom
// search attributes; "" matches every operation. GROUP BY is allowed on
// ExecutionStatus only; anything else is InvalidArgument.
func ParseQuery(query string, custom map[string]enumspb.IndexedValueType) (*Filter, error) {
	query = strings.TrimSpace(query)
	byState := false
	if loc := groupByStatus.FindStringIndex(query); loc != nil {
		query, byState = strings.TrimSpace(query[:loc[0]]), true
	}
	q, err := visibility.ParseWith(query, querySchema(custom))
	if err != nil {
		return nil, serviceerror.NewInvalidArgument(err.Error())
	}
	return &Filter{q: q, byState: byState, custom: custom}, nil
}

// Match reports whether the operation satisfies the filter.
func (f *Filter) Match(o *Operation) bool {
	return f.q.MatchLookup(func(name string) any {
		if sa, ok := strings.CutPrefix(name, customPrefix); ok {
			v, err := visibility.DecodeValue(o.Start.GetSearchAttributes().GetIndexedFields()[sa], f.custom[sa])
			if err != nil {
				return nil
			}
			return v
		}
		if name == statusField {
			name = "ExecutionStatus"
		}
		return queryFields[name].get(o)
	})
}

// GroupByStatus reports whether the query groups its count by status.
func (f *Filter) GroupByStatus() bool { return f.byState }

// StatusGroups turns counts by status into CountNexusOperationExecutions
// groups: one payload (the status name) per group, in status order.
func StatusGroups(counts map[enumspb.NexusOperationExecutionStatus]int64) (values [][]*commonpb.Payload, n []int64) {
	keys := make([]enumspb.NexusOperationExecutionStatus, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		p, _ := visibility.EncodeValue(k.String(), enumspb.INDEXED_VALUE_TYPE_KEYWORD)
		values = append(values, []*commonpb.Payload{p})
		n = append(n, counts[k])
	}
	return values, n
}
