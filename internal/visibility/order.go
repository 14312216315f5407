package visibility

import (
	"slices"
	"strings"

	enumspb "go.temporal.io/api/enums/v1"
	workflowpb "go.temporal.io/api/workflow/v1"
)

type orderKey struct {
	a    *attribute
	desc bool
}

// Compare orders two records for listing; it is a total order, so a server
// can page by remembering the last record returned and resuming after it.
//
// Without ORDER BY it is Temporal's SQL order: open workflows first, then
// CloseTime descending, then StartTime descending, then RunId ascending.
// With ORDER BY it follows Elasticsearch, the only Temporal store that
// supports it: each term in turn with missing values last in either
// direction, then RunId descending. A KeywordList sorts by its smallest
// element ascending and its largest descending, and ExecutionStatus by its
// name, as in Elasticsearch.
func (q *Query) Compare(a, b *workflowpb.WorkflowExecutionInfo) int {
	if len(q.orderBy) == 0 {
		return defaultCompare(a, b)
	}
	for _, k := range q.orderBy {
		va, vb := k.sortValue(a), k.sortValue(b)
		switch {
		case va == nil && vb == nil:
			continue
		case va == nil:
			return 1
		case vb == nil:
			return -1
		}
		c := compare(va, vb)
		if k.desc {
			c = -c
		}
		if c != 0 {
			return c
		}
	}
	return -strings.Compare(a.GetExecution().GetRunId(), b.GetExecution().GetRunId())
}

// Sort sorts records in place into the query's order (see Compare).
func (q *Query) Sort(infos []*workflowpb.WorkflowExecutionInfo) {
	slices.SortStableFunc(infos, q.Compare)
}

func defaultCompare(a, b *workflowpb.WorkflowExecutionInfo) int {
	ca, cb := a.GetCloseTime(), b.GetCloseTime()
	switch {
	case ca == nil && cb != nil:
		return -1
	case ca != nil && cb == nil:
		return 1
	case ca != nil:
		if c := cb.AsTime().Compare(ca.AsTime()); c != 0 {
			return c
		}
	}
	if c := b.GetStartTime().AsTime().Compare(a.GetStartTime().AsTime()); c != 0 {
		return c
	}
	return strings.Compare(a.GetExecution().GetRunId(), b.GetExecution().GetRunId())
}

func (k orderKey) sortValue(info *workflowpb.WorkflowExecutionInfo) any {
	if k.a.field == ExecutionStatus {
		return enumspb.WorkflowExecutionStatus(info.GetStatus()).String()
	}
	v := k.a.value(info)
	if list, ok := v.([]string); ok {
		if len(list) == 0 {
			return nil
		}
		if k.desc {
			return slices.Max(list)
		}
		return slices.Min(list)
	}
	return v
}
