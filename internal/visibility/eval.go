package visibility

import (
	"slices"
	"strings"
	"time"
)

// truth is SQL's three-valued logic. Temporal's dev server evaluates
// queries in SQLite, where comparing a missing (NULL) attribute yields
// unknown, and NOT unknown is still unknown; a row is listed only when the
// whole condition is true. Matching that keeps results identical to the
// dev server, e.g. `CustomIntField != 5` does not list workflows without
// CustomIntField.
type truth uint8

// tFail is a fourth value for schemas with DeferErrors: a condition that
// cannot be applied fails evaluation as a whole, as an evaluation error
// does in Temporal's ListWorkers, unless AND or OR have already decided
// from their left side.
const (
	tFalse truth = iota
	tTrue
	tUnknown
	tFail
)

func truthOf(b bool) truth {
	if b {
		return tTrue
	}
	return tFalse
}

// record is what a query is evaluated against: a workflow's summary
// (workflowRecord) or a caller's Lookup.
type record interface {
	value(a *attribute) any
}

type node interface {
	eval(r record) truth
}

type andNode struct{ l, r node }
type orNode struct{ l, r node }
type notNode struct{ x node }

func (n andNode) eval(rec record) truth {
	l := n.l.eval(rec)
	if l == tFalse || l == tFail {
		return l
	}
	r := n.r.eval(rec)
	if r == tFalse || r == tFail {
		return r
	}
	if l == tTrue && r == tTrue {
		return tTrue
	}
	return tUnknown
}

func (n orNode) eval(rec record) truth {
	l := n.l.eval(rec)
	if l == tTrue || l == tFail {
		return l
	}
	r := n.r.eval(rec)
	if r == tTrue || r == tFail {
		return r
	}
	if l == tFalse && r == tFalse {
		return tFalse
	}
	return tUnknown
}

func (n notNode) eval(rec record) truth {
	switch x := n.x.eval(rec); x {
	case tTrue:
		return tFalse
	case tFalse:
		return tTrue
	case tFail:
		return x
	}
	return tUnknown
}

// failNode is a condition that parsed but cannot be applied, kept instead
// of an error when the schema has DeferErrors.
type failNode struct{}

func (failNode) eval(record) truth { return tFail }

// isNullNode is `a IS [NOT] NULL`; it is never unknown. emptyIsNull is
// the schema's EmptyIsNull.
type isNullNode struct {
	a           *attribute
	not         bool
	emptyIsNull bool
}

func (n isNullNode) eval(rec record) truth {
	v := rec.value(n.a)
	null := v == nil || n.emptyIsNull && (v == "" || v == time.Time{})
	return truthOf(null != n.not)
}

// Operators after parsing; "<>" has become "!=" and keywords are lower case.
const (
	opEq            = "="
	opNe            = "!="
	opLt            = "<"
	opLe            = "<="
	opGt            = ">"
	opGe            = ">="
	opIn            = "in"
	opNotIn         = "not in"
	opBetween       = "between"
	opNotBetween    = "not between"
	opStartsWith    = "starts_with"
	opNotStartsWith = "not starts_with"
)

// cmpNode compares an attribute with converted constants (one for most
// operators, two for BETWEEN, one or more for IN).
type cmpNode struct {
	a    *attribute
	op   string
	vals []any
}

func (n cmpNode) eval(rec record) truth {
	v := rec.value(n.a)
	switch n.a.typ {
	case kwList:
		return listMatch(v, n.op, n.vals)
	case text:
		return textMatch(v, n.op, n.vals[0].(string))
	}
	if v == nil {
		return tUnknown
	}
	eq := func(x any) bool { return compare(v, x) == 0 }
	switch n.op {
	case opEq:
		return truthOf(eq(n.vals[0]))
	case opNe:
		return truthOf(!eq(n.vals[0]))
	case opLt:
		return truthOf(compare(v, n.vals[0]) < 0)
	case opLe:
		return truthOf(compare(v, n.vals[0]) <= 0)
	case opGt:
		return truthOf(compare(v, n.vals[0]) > 0)
	case opGe:
		return truthOf(compare(v, n.vals[0]) >= 0)
	case opIn:
		return truthOf(slices.ContainsFunc(n.vals, eq))
	case opNotIn:
		return truthOf(!slices.ContainsFunc(n.vals, eq))
	case opBetween, opNotBetween:
		in := compare(v, n.vals[0]) >= 0 && compare(v, n.vals[1]) <= 0
		return truthOf(in == (n.op == opBetween))
	case opStartsWith, opNotStartsWith:
		s, _ := v.(string)
		return truthOf(strings.HasPrefix(s, n.vals[0].(string)) == (n.op == opStartsWith))
	}
	return tUnknown
}

// listMatch gives KeywordList its "contains" meaning: `= v` holds when the
// list contains v, IN when it contains any of the values. Temporal's SQL
// store answers these with a full-text index, so a missing list simply does
// not contain anything and the result is never unknown.
func listMatch(v any, op string, vals []any) truth {
	list, _ := v.([]string)
	has := slices.ContainsFunc(vals, func(x any) bool {
		s, _ := x.(string)
		return slices.Contains(list, s)
	})
	return truthOf(has == (op == opEq || op == opIn))
}

// compare orders two values of the same attribute type. Int and Double
// values may meet each other because a query may compare an Int attribute
// with 1.5.
func compare(a, b any) int {
	switch x := a.(type) {
	case string:
		y, _ := b.(string)
		return strings.Compare(x, y)
	case int64:
		if y, ok := b.(int64); ok {
			return cmpOrdered(x, y)
		}
		return cmpOrdered(float64(x), toFloat(b))
	case float64:
		return cmpOrdered(x, toFloat(b))
	case bool:
		y, _ := b.(bool)
		return cmpOrdered(boolInt(x), boolInt(y))
	case time.Time:
		y, _ := b.(time.Time)
		return x.Compare(y)
	}
	return 0
}

func cmpOrdered[T int64 | float64 | int](a, b T) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func toFloat(v any) float64 {
	switch x := v.(type) {
	case int64:
		return float64(x)
	case float64:
		return x
	}
	return 0
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
