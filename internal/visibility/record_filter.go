package visibility

import (
	"regexp"
	"slices"
	"strings"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
)

// Record queries: the list/count queries of executions kept outside the
// workflow visibility index (standalone activities, standalone Nexus
// operations). Each kind declares the attributes Temporal indexes for it
// as a table of RecordFields; this file parses a query against that table
// and the namespace's custom search attributes and evaluates it on one
// record. ExecutionStatus is matched by the status name ("Running",
// "Completed", ...), not by a workflow status number.

// RecordField is one system attribute of a record of type T.
type RecordField[T any] struct {
	Type enumspb.IndexedValueType
	Get  func(T) any
}

// KeywordField is a keyword attribute.
func KeywordField[T any](get func(T) string) RecordField[T] {
	return RecordField[T]{enumspb.INDEXED_VALUE_TYPE_KEYWORD, func(x T) any { return get(x) }}
}

// DatetimeField is a time attribute; a zero time is absent (NULL).
func DatetimeField[T any](get func(T) time.Time) RecordField[T] {
	return RecordField[T]{enumspb.INDEXED_VALUE_TYPE_DATETIME, func(x T) any {
		if t := get(x); !t.IsZero() {
			return t
		}
		return nil
	}}
}

// RecordSchema is what a kind of record offers to its queries.
type RecordSchema[T any] struct {
	// Fields are the system attributes by name; "ExecutionStatus", if
	// present, is matched by status name.
	Fields map[string]RecordField[T]
	// SearchAttributes are the record's custom search attributes.
	SearchAttributes func(T) *commonpb.SearchAttributes
}

// RecordFilter is a parsed record query.
type RecordFilter[T any] struct {
	schema  *RecordSchema[T]
	q       *Query
	byState bool
	custom  map[string]enumspb.IndexedValueType
}

var orderedOperators = []string{"=", "!=", "<", "<=", ">", ">=", "in", "not in", "between", "not between"}

var recordOperators = map[enumspb.IndexedValueType][]string{
	enumspb.INDEXED_VALUE_TYPE_KEYWORD:      {"=", "!=", "in", "not in", "starts_with", "not starts_with"},
	enumspb.INDEXED_VALUE_TYPE_KEYWORD_LIST: {"=", "!=", "in", "not in"},
	enumspb.INDEXED_VALUE_TYPE_TEXT:         {"=", "!="},
	enumspb.INDEXED_VALUE_TYPE_BOOL:         {"=", "!="},
	enumspb.INDEXED_VALUE_TYPE_DATETIME:     orderedOperators,
	enumspb.INDEXED_VALUE_TYPE_INT:          orderedOperators,
	enumspb.INDEXED_VALUE_TYPE_DOUBLE:       orderedOperators,
}

const (
	// customPrefix marks a custom search attribute's field.
	customPrefix = "custom:"
	// namedStatusField is ExecutionStatus's field for the parser, which
	// would read the workflow status's enum number under its own name.
	namedStatusField = "record status"
)

func (s *RecordSchema[T]) parserSchema(custom map[string]enumspb.IndexedValueType) Schema {
	return Schema{
		Resolve: func(name string) (string, enumspb.IndexedValueType, bool) {
			if f, ok := s.Fields[name]; ok {
				if name == "ExecutionStatus" {
					return namedStatusField, f.Type, true
				}
				return name, f.Type, true
			}
			if typ, ok := custom[name]; ok {
				return customPrefix + name, typ, true
			}
			return "", 0, false
		},
		Operators: func(_ string, typ enumspb.IndexedValueType) []string { return recordOperators[typ] },
	}
}

// groupByNamedStatus is the one GROUP BY clause Temporal allows on these
// queries; it is taken off before the condition is parsed, because the
// shared parser only groups a workflow's (numeric) ExecutionStatus.
var groupByNamedStatus = regexp.MustCompile(`(?i)(^|\s)group\s+by\s+` + "`?ExecutionStatus`?" + `\s*$`)

// Parse parses a list or count query against the schema and the
// namespace's custom search attributes; "" matches every record. GROUP BY
// is allowed on ExecutionStatus only, as in Temporal; anything else is
// InvalidArgument.
func (s *RecordSchema[T]) Parse(query string, custom map[string]enumspb.IndexedValueType) (*RecordFilter[T], error) {
	query = strings.TrimSpace(query)
	byState := false
	if loc := groupByNamedStatus.FindStringIndex(query); loc != nil {
		query, byState = strings.TrimSpace(query[:loc[0]]), true
	}
	q, err := ParseWith(query, s.parserSchema(custom))
	if err != nil {
		return nil, serviceerror.NewInvalidArgument(err.Error())
	}
	return &RecordFilter[T]{schema: s, q: q, byState: byState, custom: custom}, nil
}

// Match reports whether the record satisfies the filter.
func (f *RecordFilter[T]) Match(x T) bool {
	return f.q.MatchLookup(func(name string) any {
		if sa, ok := strings.CutPrefix(name, customPrefix); ok {
			v, err := DecodeValue(f.schema.SearchAttributes(x).GetIndexedFields()[sa], f.custom[sa])
			if err != nil {
				return nil
			}
			return v
		}
		if name == namedStatusField {
			name = "ExecutionStatus"
		}
		return f.schema.Fields[name].Get(x)
	})
}

// GroupByStatus reports whether the query groups its count by status.
func (f *RecordFilter[T]) GroupByStatus() bool { return f.byState }

// NamedStatusGroups turns counts by status into the groups of a count
// grouped by status: one payload (the status name) per group, in status
// order.
func NamedStatusGroups[S interface {
	~int32
	String() string
}](counts map[S]int64) (values [][]*commonpb.Payload, n []int64) {
	keys := make([]S, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		p, _ := EncodeValue(k.String(), enumspb.INDEXED_VALUE_TYPE_KEYWORD)
		values = append(values, []*commonpb.Payload{p})
		n = append(n, counts[k])
	}
	return values, n
}
