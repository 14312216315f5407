package visibility

import (
	"errors"
	"strings"
	"testing"

	enumspb "go.temporal.io/api/enums/v1"
)

// FuzzParse checks that no input panics Parse, and that every accepted query
// can be evaluated, sorted and counted without panicking; likewise for
// ParseWith under a schema that defers errors.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"", "WorkflowId = 'wf-1'", "ExecutionStatus IN ('Running', 3) ORDER BY StartTime DESC",
		"CustomTextField = 'quick brown' OR NOT (CustomIntField BETWEEN -1 AND 2.5e3)",
		"CustomKeywordListField NOT IN (\"a\", 'b') AND CloseTime IS NOT NULL",
		"ExecutionDuration > '1d2h' GROUP BY ExecutionStatus", "`CustomBoolField` != true",
		"StartTime > 1704103200000000000 AND CustomDatetimeField < '2024-01-01T00:00:00Z'",
		"WorkflowId STARTS_WITH 'it''s \\n' LIMIT 5", "((((", "'", "`", "ORDER BY CustomKeywordListField DESC, RunId",
		"TemporalNamespaceDivision IS NULL OR TemporalNamespaceDivision IS NOT NULL GROUP BY TemporalNamespaceDivision",
	} {
		f.Add(s)
	}
	recs := fixtures()
	attrs := testAttrs()
	deferring := Schema{
		Resolve:   func(n string) (string, enumspb.IndexedValueType, bool) { return n, kw, n == "WorkflowId" },
		Operators: func(string, enumspb.IndexedValueType) []string { return []string{opEq, opStartsWith} },
		NoNot:     true, EmptyIsNull: true, DeferErrors: true,
	}
	f.Fuzz(func(t *testing.T, query string) {
		if q, err := ParseWith(query, deferring); err == nil {
			q.MatchLookup(func(string) any { return "wf-1" })
		} else if e := (*Error)(nil); !errors.As(err, &e) {
			t.Fatalf("ParseWith(%q) returned %v (%T)", query, err, err)
		}
		q, err := Parse(query, attrs)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || !strings.HasPrefix(e.Msg, "invalid query: ") {
				t.Fatalf("Parse(%q) returned %v (%T)", query, err, err)
			}
			if e.Pos < 0 || e.Pos > len(query)+1 {
				t.Fatalf("Parse(%q) Pos %d out of range", query, e.Pos)
			}
			return
		}
		for _, r := range recs {
			q.Match(r)
		}
		sorted := append(recs[:0:0], recs...)
		q.Sort(sorted)
		q.Count(recs)
	})
}
