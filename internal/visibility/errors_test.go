package visibility

import (
	"errors"
	"strings"
	"testing"

	enumspb "go.temporal.io/api/enums/v1"
)

func TestParseErrors(t *testing.T) {
	cases := []struct {
		query string
		want  string // substring of the message
		pos   int    // expected Error.Pos, 0 to skip the check
	}{
		// Syntax, with position and what was expected.
		{"WorkflowId = ", "invalid query: malformed SQL query: syntax error at position 14: unexpected end of query, expected a value", 14},
		{"WorkflowId = 'a' AND", "unexpected end of query, expected a search attribute name", 21},
		{"WorkflowId == 'a'", "syntax error at position 13 near '=': expected a value", 13},
		{"'wf-1' = WorkflowId", "syntax error at position 1 near ''wf-1'': expected a search attribute name", 1},
		{"(WorkflowId = 'a'", "unexpected end of query, expected ')'", 0},
		{"WorkflowId = 'a')", "near ')': expected AND, OR, GROUP BY, ORDER BY or end of query", 17},
		{"WorkflowId = 'a' RunId = 'b'", "near 'RunId': expected AND, OR", 18},
		{"WorkflowId = 'abc", "syntax error at position 14: unterminated string", 14},
		{"`WorkflowId = 'a'", "unterminated quoted name", 1},
		{"WorkflowId = 'a'; DROP TABLE x", "near ';': unexpected character", 17},
		{"WorkflowId IN ()", "near ')': expected a value", 0},
		{"WorkflowId IN 'a'", "near ''a'': expected '('", 0},
		{"WorkflowId IN ('a' 'b')", "expected ')'", 0},
		{"WorkflowId BETWEEN 'a' 'b'", "near ''b'': expected AND", 0},
		{"WorkflowId NOT 'a'", "expected IN, BETWEEN or STARTS_WITH after NOT", 0},
		{"WorkflowId 'a'", "near ''a'': expected a comparison operator", 12},
		{"AND WorkflowId = 'a'", "near 'AND': expected a search attribute name", 1},
		{"CustomIntField = -'a'", "near ''a'': expected a number", 0},
		{"ORDER BY", "unexpected end of query, expected a search attribute name", 0},
		{"ORDER StartTime", "near 'StartTime': expected BY", 0},
		{"WorkflowId", "invalid query: invalid expression: incomplete expression: search attribute 'WorkflowId' must be followed by an operator", 0},
		{"WorkflowId AND RunId = 'a'", "incomplete expression", 0},
		{strings.Repeat("(", 200) + "WorkflowId = 'a'" + strings.Repeat(")", 200), "nested more than 100 levels deep", 0},

		// Names.
		{"Foo = 'a'", "invalid query: invalid expression: column name 'Foo' is not a valid search attribute", 1},
		{"`Custom Field` = 'a'", "column name 'Custom Field' is not a valid search attribute", 0},
		{"WorkflowId = 'a' ORDER BY Nope", "column name 'Nope' is not a valid search attribute", 27},
		{"NamespaceId = 'x'", "column name 'NamespaceId' is not a valid search attribute", 0},

		// Value types.
		{"CustomIntField = 'abc'", `invalid query: invalid expression: invalid value type for search attribute CustomIntField of type Int: "abc" (type: string)`, 18},
		{"CustomDoubleField = 'abc'", "search attribute CustomDoubleField of type Double", 0},
		{"WorkflowId = 123", "invalid value type for search attribute WorkflowId of type Keyword: 123 (type: int64)", 0},
		{"CustomKeywordListField = 1", "of type KeywordList: 1 (type: int64)", 0},
		{"CustomTextField = 1.5", "of type Text: 1.5 (type: float64)", 0},
		{"CustomIntField = true", "of type Int: true (type: bool)", 0},
		{"CustomBoolField = 'true'", `of type Bool: "true" (type: string)`, 0},
		{"CustomBoolField = 1", "of type Bool: 1 (type: int64)", 0},
		{"CustomDatetimeField > 'yesterday'", "invalid expression: unable to parse datetime 'yesterday'", 0},
		{"CustomDatetimeField > 1.5", "of type Datetime: 1.5 (type: float64)", 0},
		{"CustomIntField IN (1, 'x')", `of type Int: "x"`, 0},
		{"CustomIntField = 1e999", `unable to parse value "1e999"`, 0},
		{"ExecutionStatus = 'Done'", "invalid expression: invalid ExecutionStatus value 'Done'", 0},
		{"ExecutionStatus = 99", "invalid ExecutionStatus value 99", 0},
		{"ExecutionStatus = 1.5", "unexpected value type float64 for search attribute ExecutionStatus", 0},
		{"ExecutionDuration > 'forever'", "invalid duration value for search attribute ExecutionDuration: forever", 0},
		{"ExecutionDuration > '1:99:00'", "invalid duration value", 0},
		{"ExecutionDuration > 1.5", "unexpected value type float64 for search attribute ExecutionDuration", 0},
		{"CustomTextField = '   '", "unexpected value for Text type search attribute (no tokens found)", 0},
		{"WorkflowId = RunId", `operation is not supported: column name on the right side of comparison expression (did you forget to quote "RunId"?)`, 14},
		{"WorkflowId = NULL", "use IS NULL or IS NOT NULL", 0},
		{"WorkflowId IS 'a'", "invalid expression: 'IS' operator can only be used as 'IS NULL' or 'IS NOT NULL'", 0},
		{"CustomBoolField IS TRUE", "'IS' operator can only be used as 'IS NULL' or 'IS NOT NULL'", 0},

		// Operators per type.
		{"CustomIntField STARTS_WITH '1'", "invalid query: operation is not supported: operator 'STARTS_WITH' not supported for Int type search attribute 'CustomIntField'", 16},
		{"CustomTextField > 'a'", "operator '>' not supported for Text type search attribute 'CustomTextField'", 0},
		{"CustomTextField IN ('a')", "operator 'IN' not supported for Text type", 0},
		{"CustomTextField STARTS_WITH 'a'", "operator 'STARTS_WITH' not supported for Text type", 0},
		{"CustomKeywordListField STARTS_WITH 'a'", "operator 'STARTS_WITH' not supported for KeywordList type", 0},
		{"CustomKeywordListField < 'a'", "operator '<' not supported for KeywordList type", 0},
		{"CustomBoolField NOT STARTS_WITH 'a'", "operator 'NOT STARTS_WITH' not supported for Bool type", 0},
		{"ExecutionStatus STARTS_WITH 'Run'", "operator 'STARTS_WITH' not supported for Keyword type search attribute 'ExecutionStatus'", 0},
		{"WorkflowId LIKE 'a%'", "operator 'LIKE' not supported for Keyword type search attribute 'WorkflowId'", 0},
		{"WorkflowId NOT LIKE 'a%'", "operator 'NOT LIKE' not supported", 0},
		{"WorkflowId <=> 'a'", "operator '<=>' not supported", 0},
		{"CustomKeywordListField BETWEEN 'a' AND 'b'", "invalid expression: cannot do range condition on search attribute 'CustomKeywordListField' of type KeywordList", 0},
		{"CustomBoolField BETWEEN true AND false", "cannot do range condition on search attribute 'CustomBoolField' of type Bool", 0},
		{"CustomTextField NOT BETWEEN 'a' AND 'b'", "of type Text", 0},

		// Clauses.
		{"WorkflowId = 'a' LIMIT 10", "invalid query: operation is not supported: 'LIMIT' clause", 18},
		{"ORDER BY CustomTextField", "operation is not supported: unable to sort by search attribute type Text", 0},
		{"GROUP BY WorkflowType", "operation is not supported: 'GROUP BY' clause is not supported for search attribute WorkflowType", 0},
		{"GROUP BY ExecutionStatus, WorkflowType", "'GROUP BY' clause supports only a single field", 0},
		{"ORDER BY StartTime GROUP BY ExecutionStatus", "near 'GROUP': expected ASC, DESC, ',' or end of query", 20},
		{"GROUP BY ExecutionStatus WorkflowId = 'a'", "near 'WorkflowId': expected ORDER BY or end of query", 26},
		{"ORDER BY StartTime DESC ASC", "near 'ASC'", 25},
	}
	for _, c := range cases {
		t.Run(c.query, func(t *testing.T) {
			_, err := Parse(c.query, testAttrs())
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("got %v (%T), want *Error", err, err)
			}
			if !strings.Contains(e.Error(), c.want) {
				t.Errorf("message %q does not contain %q", e.Error(), c.want)
			}
			if !strings.HasPrefix(e.Error(), "invalid query: ") {
				t.Errorf("message %q lacks the invalid query prefix", e.Error())
			}
			if c.pos != 0 && e.Pos != c.pos {
				t.Errorf("Pos = %d, want %d", e.Pos, c.pos)
			}
		})
	}
}

func TestParseUnknownRegistryType(t *testing.T) {
	_, err := Parse("X = 1", map[string]enumspb.IndexedValueType{"X": 99})
	if err == nil || !strings.Contains(err.Error(), "unknown search attribute type 99 for X") {
		t.Fatalf("got %v", err)
	}
}

func TestParseWithoutRegistry(t *testing.T) {
	if _, err := Parse("WorkflowId = 'a' AND BuildIds = 'x'", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := Parse("CustomIntField = 1", nil); err == nil {
		t.Fatal("custom attribute accepted without registry")
	}
}

// A custom attribute may not shadow a system one, as in Temporal.
func TestCustomCannotShadowSystem(t *testing.T) {
	q, err := Parse("WorkflowId = 'wf-1'", map[string]enumspb.IndexedValueType{"WorkflowId": intT})
	if err != nil {
		t.Fatal(err)
	}
	if !q.Match(fixtures()[0]) {
		t.Error("WorkflowId should stay the system attribute")
	}
}
