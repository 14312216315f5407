package activityexec

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

// The query of ListActivityExecutions and CountActivityExecutions is
// Temporal's list-filter language over the attributes Temporal indexes for
// a standalone activity (ActivityId, ActivityType, ExecutionStatus with
// the status names "Running", "Completed", ..., TaskQueue, and the times)
// and the namespace's custom search attributes the start request set,
// parsed and evaluated by internal/visibility.

type queryField struct {
	typ enumspb.IndexedValueType
	get func(*Execution) any
}

func keyword(get func(*Execution) string) queryField {
	return queryField{enumspb.INDEXED_VALUE_TYPE_KEYWORD, func(x *Execution) any { return get(x) }}
}

func datetime(get func(*Execution) time.Time) queryField {
	return queryField{enumspb.INDEXED_VALUE_TYPE_DATETIME, func(x *Execution) any {
		if t := get(x); !t.IsZero() {
			return t
		}
		return nil
	}}
}

var queryFields = map[string]queryField{
	"ActivityId":      keyword(func(x *Execution) string { return x.ActivityID }),
	"RunId":           keyword(func(x *Execution) string { return x.RunID }),
	"ActivityType":    keyword(func(x *Execution) string { return x.Start.ActivityType.GetName() }),
	"ExecutionStatus": keyword(func(x *Execution) string { return x.APIStatus().String() }),
	"TaskQueue":       keyword(func(x *Execution) string { return x.Options.TaskQueue.GetName() }),
	"StartTime":       datetime(func(x *Execution) time.Time { return x.ScheduleTime }),
	"ScheduleTime":    datetime(func(x *Execution) time.Time { return x.ScheduleTime }),
	"ExecutionTime":   datetime((*Execution).ExecutionTime),
	"CloseTime":       datetime(func(x *Execution) time.Time { return x.CloseTime }),
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

func querySchema(custom map[string]enumspb.IndexedValueType) visibility.Schema {
	return visibility.Schema{
		Resolve: func(name string) (string, enumspb.IndexedValueType, bool) {
			if f, ok := queryFields[name]; ok {
				if name == "ExecutionStatus" {
					// visibility reads a workflow's ExecutionStatus as an
					// enum number; an activity's is matched by its name.
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

// Filter is a parsed activity list query.
type Filter struct {
	q       *visibility.Query
	byState bool
	custom  map[string]enumspb.IndexedValueType
}

// groupByStatus is the one GROUP BY clause Temporal allows here; it is
// taken off before the condition is parsed, because the shared parser
// only groups a workflow's (numeric) ExecutionStatus.
var groupByStatus = regexp.MustCompile(`(?i)(^|\s)group\s+by\s+` + "`?ExecutionStatus`?" + `\s*$`)

// ParseQuery parses a ListActivityExecutions/CountActivityExecutions
// query against the namespace's custom search attributes; "" matches
// every execution. GROUP BY is allowed on ExecutionStatus only, as in
// Temporal; any other is InvalidArgument.
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

const statusField = "activity status"

// Match reports whether the execution satisfies the filter.
func (f *Filter) Match(x *Execution) bool {
	return f.q.MatchLookup(func(name string) any {
		if sa, ok := strings.CutPrefix(name, customPrefix); ok {
			v, err := visibility.DecodeValue(x.Start.GetSearchAttributes().GetIndexedFields()[sa], f.custom[sa])
			if err != nil {
				return nil
			}
			return v
		}
		if name == statusField {
			name = "ExecutionStatus"
		}
		return queryFields[name].get(x)
	})
}

// GroupByStatus reports whether the query groups its count by status.
func (f *Filter) GroupByStatus() bool { return f.byState }

// StatusGroups counts executions by status, as CountActivityExecutions
// reports groups: one payload (the status name) per group, in status
// order.
func StatusGroups(counts map[enumspb.ActivityExecutionStatus]int64) (values [][]*commonpb.Payload, n []int64) {
	keys := make([]enumspb.ActivityExecutionStatus, 0, len(counts))
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
