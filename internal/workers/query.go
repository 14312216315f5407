package workers

import (
	"errors"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	workerpb "go.temporal.io/api/worker/v1"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/sundial-io/sundial/internal/visibility"
)

// The filter of ListWorkers and CountWorkers is Temporal's list-filter
// language over worker attributes, parsed and evaluated by
// internal/visibility under the rules of Temporal's worker query engine
// (service/matching/workers): names are case-sensitive except the
// `status` alias; a query that does not parse is InvalidArgument, while a
// condition that parses but cannot be applied to a worker (an unknown
// attribute, NOT, IN, LIKE, IS TRUE, a bare name, a number where a string
// is expected, an empty string) makes evaluation fail, so no worker
// matches unless AND or OR decided before reaching it. ORDER BY is ignored.

// field is one worker attribute: its type in the filter language and how
// a heartbeat's value is read. As in Temporal, an unset string is "" and
// an unset time the zero time, which comparisons take as they are and IS
// NULL takes as missing.
type field struct {
	typ enumspb.IndexedValueType
	get func(*workerpb.WorkerHeartbeat) any
}

func str(get func(*workerpb.WorkerHeartbeat) string) field {
	return field{enumspb.INDEXED_VALUE_TYPE_KEYWORD, func(h *workerpb.WorkerHeartbeat) any { return get(h) }}
}

func timestamp(get func(*workerpb.WorkerHeartbeat) *timestamppb.Timestamp) field {
	return field{enumspb.INDEXED_VALUE_TYPE_DATETIME, func(h *workerpb.WorkerHeartbeat) any {
		if ts := get(h); ts != nil {
			return ts.AsTime()
		}
		return time.Time{}
	}}
}

var fields = map[string]field{
	"WorkerInstanceKey": str((*workerpb.WorkerHeartbeat).GetWorkerInstanceKey),
	"WorkerIdentity":    str((*workerpb.WorkerHeartbeat).GetWorkerIdentity),
	"HostName":          str(func(h *workerpb.WorkerHeartbeat) string { return h.GetHostInfo().GetHostName() }),
	"TaskQueue":         str((*workerpb.WorkerHeartbeat).GetTaskQueue),
	"DeploymentName":    str(func(h *workerpb.WorkerHeartbeat) string { return h.GetDeploymentVersion().GetDeploymentName() }),
	"BuildId":           str(func(h *workerpb.WorkerHeartbeat) string { return h.GetDeploymentVersion().GetBuildId() }),
	"SdkName":           str((*workerpb.WorkerHeartbeat).GetSdkName),
	"SdkVersion":        str((*workerpb.WorkerHeartbeat).GetSdkVersion),
	"WorkerStatus":      str(func(h *workerpb.WorkerHeartbeat) string { return h.GetStatus().String() }),
	"StartTime":         timestamp((*workerpb.WorkerHeartbeat).GetStartTime),
	"HeartbeatTime":     timestamp((*workerpb.WorkerHeartbeat).GetHeartbeatTime),
}

// operators are Temporal's per-type lists for worker attributes.
var operators = map[enumspb.IndexedValueType][]string{
	enumspb.INDEXED_VALUE_TYPE_KEYWORD:  {"=", "!=", "starts_with", "not starts_with"},
	enumspb.INDEXED_VALUE_TYPE_DATETIME: {"=", "!=", "<", "<=", ">", ">=", "between", "not between"},
}

var errEmptyValue = errors.New("a worker attribute cannot be compared with an empty string")

var schema = visibility.Schema{
	Resolve: func(name string) (string, enumspb.IndexedValueType, bool) {
		// Temporal's SQL parser reads Status, a reserved word, as `status`.
		if strings.EqualFold(name, "status") {
			name = "WorkerStatus"
		}
		f, ok := fields[name]
		return name, f.typ, ok
	},
	Operators: func(_ string, typ enumspb.IndexedValueType) []string { return operators[typ] },
	CheckValue: func(_ string, _ enumspb.IndexedValueType, v any) error {
		if v == "" {
			return errEmptyValue
		}
		return nil
	},
	NoNot:       true,
	EmptyIsNull: true,
	DeferErrors: true,
}

// Filter is a parsed ListWorkers/CountWorkers query.
type Filter struct{ q *visibility.Query }

// Match reports whether a worker satisfies the filter.
func (f *Filter) Match(h *workerpb.WorkerHeartbeat) bool {
	return f.q.MatchLookup(func(name string) any { return fields[name].get(h) })
}

// ParseFilter parses a query; "" matches every worker.
func ParseFilter(query string) (*Filter, error) {
	query = strings.TrimSpace(query)
	// As in Temporal, the query is the condition alone.
	if lower := strings.ToLower(query); strings.HasPrefix(lower, "where ") || strings.HasPrefix(lower, "select ") {
		return nil, serviceerror.NewInvalidArgument("invalid filter: " + query)
	}
	q, err := visibility.ParseWith(query, schema)
	if err != nil {
		return nil, serviceerror.NewInvalidArgument(err.Error())
	}
	return &Filter{q}, nil
}
