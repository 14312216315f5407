package visibility

import (
	"errors"
	"slices"

	enumspb "go.temporal.io/api/enums/v1"
)

// Schema is the per-use part of the filter language: which attributes a
// query may name, what it may do with them, and what becomes of a
// condition that cannot be applied. The lexer, parser and evaluator are
// shared; Parse supplies the workflow schema of ListWorkflowExecutions,
// and internal/workers the one of Temporal's ListWorkers.
type Schema struct {
	// Resolve (required) maps a name as written in the query to the field
	// a record is read by and its type; ok is false for a name the schema
	// lacks.
	Resolve func(name string) (field string, typ enumspb.IndexedValueType, ok bool)
	// Operators (required) lists the operators a condition on the attribute
	// may use, spelled "=", "!=", "<", "<=", ">", ">=", "in", "not in",
	// "between", "not between", "starts_with", "not starts_with".
	Operators func(field string, typ enumspb.IndexedValueType) []string
	// CheckValue, if set, vets each value of a condition once converted to
	// the attribute's type; a non-nil error rejects the condition.
	CheckValue func(field string, typ enumspb.IndexedValueType, v any) error
	// NoNot makes NOT a condition that cannot be applied.
	NoNot bool
	// EmptyIsNull makes IS NULL also hold for an empty string and the zero
	// time, for records that keep unset values so and compare them as such.
	EmptyIsNull bool
	// DeferErrors makes a condition that is well formed but cannot be
	// applied (an unknown name, an operator or value the schema refuses, a
	// bare name, IS TRUE, NOT under NoNot) fail evaluation instead of
	// Parse; such names in ORDER BY and GROUP BY are ignored. Syntax
	// errors, LIMIT and excessive nesting still fail Parse.
	DeferErrors bool
}

// ParseWith parses a query against a caller's schema. Like Parse, an
// empty query matches every record and errors are *Error.
func ParseWith(query string, s Schema) (*Query, error) {
	toks, err := lex(query)
	if err != nil {
		return nil, err
	}
	p := &parser{toks: toks, s: &s, q: &Query{}}
	if err := p.parseQuery(); err != nil {
		return nil, err
	}
	return p.q, nil
}

// Lookup reads an attribute of the record a query from ParseWith is
// evaluated against, by the field its schema resolved the name to. It
// returns nil when the record has no value (SQL NULL), else a string,
// []string, int64, float64, bool or time.Time by the attribute's type.
type Lookup func(field string) any

func (l Lookup) value(a *attribute) any { return l(a.field) }

// MatchLookup reports whether the record that get reads satisfies the
// query's condition.
func (q *Query) MatchLookup(get Lookup) bool {
	return q.where == nil || q.where.eval(get) == tTrue
}

// workflowSchema is Temporal's visibility: system, predefined and the
// namespace's custom search attributes, every error at Parse.
func workflowSchema(custom map[string]enumspb.IndexedValueType) Schema {
	return Schema{
		Resolve: func(name string) (string, enumspb.IndexedValueType, bool) {
			return resolve(name, custom)
		},
		Operators:  workflowOperators,
		CheckValue: checkTextValue,
	}
}

// rangeTypes are the types Temporal allows in BETWEEN.
var rangeTypes = []enumspb.IndexedValueType{dt, dbl, intT, kw}

// workflowOperators are Temporal's per-type operator lists.
func workflowOperators(field string, typ enumspb.IndexedValueType) []string {
	switch typ {
	case kwList:
		return []string{opEq, opNe, opIn, opNotIn}
	case text:
		return []string{opEq, opNe}
	}
	ops := []string{opEq, opNe, opLt, opLe, opGt, opGe, opIn, opNotIn}
	// ExecutionStatus is matched by enum number, which has no prefix.
	if typ == kw && field != ExecutionStatus {
		ops = append(ops, opStartsWith, opNotStartsWith)
	}
	if slices.Contains(rangeTypes, typ) {
		ops = append(ops, opBetween, opNotBetween)
	}
	return ops
}

var errNoTextTokens = errors.New("unexpected value for Text type search attribute (no tokens found)")

func checkTextValue(_ string, typ enumspb.IndexedValueType, v any) error {
	if s, ok := v.(string); ok && typ == text && !hasTextTokens(s) {
		return errNoTextTokens
	}
	return nil
}
