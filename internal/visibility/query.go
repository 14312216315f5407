package visibility

import (
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	workflowpb "go.temporal.io/api/workflow/v1"
)

// Query is a parsed list filter. It is immutable and safe for concurrent use.
type Query struct {
	where        node // nil matches everything
	orderBy      []orderKey
	groupBy      *attribute
	seesDivision bool
}

// OrderField is one ORDER BY term.
type OrderField struct {
	Name string // as written in the query
	Desc bool
}

// Parse parses a ListWorkflowExecutions/CountWorkflowExecutions query.
// custom maps the namespace's custom search attribute names to their types
// (DefaultCustomSearchAttributes for a dev-server-like setup); system and
// predefined attributes are always known. An empty query matches every
// record. Errors are *Error with Temporal's "invalid query: ..." wording.
func Parse(query string, custom map[string]enumspb.IndexedValueType) (*Query, error) {
	return ParseWith(query, workflowSchema(custom))
}

// Match reports whether the record satisfies the query's condition.
//
// Like Temporal, a query that never names TemporalNamespaceDivision only
// sees records without that attribute; this is how workflows the server
// runs for itself (schedulers, batch operations) stay out of user listings.
func (q *Query) Match(info *workflowpb.WorkflowExecutionInfo) bool {
	if info == nil {
		return false
	}
	if !q.seesDivision && hasDivision(info.GetSearchAttributes()) {
		return false
	}
	return q.where == nil || q.where.eval(workflowRecord{info}) == tTrue
}

func hasDivision(sa *commonpb.SearchAttributes) bool {
	return searchAttr(sa, NamespaceDivision, kw) != nil
}

// OrderBy returns the ORDER BY terms, or nil when the query has none and
// the default order applies. Temporal's SQL store rejects ORDER BY; a
// server that wants to mirror that can check this.
func (q *Query) OrderBy() []OrderField {
	var out []OrderField
	for _, k := range q.orderBy {
		out = append(out, OrderField{Name: k.a.name, Desc: k.desc})
	}
	return out
}

// GroupBy returns the GROUP BY attribute name as written, or "" if none.
// Temporal allows GROUP BY only in CountWorkflowExecutions; List handlers
// should reject a query where this is set.
func (q *Query) GroupBy() string {
	if q.groupBy == nil {
		return ""
	}
	return q.groupBy.name
}
