package visibility

import (
	"slices"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	workflowpb "go.temporal.io/api/workflow/v1"
)

// Group is one GROUP BY bucket; the fields map one to one onto
// CountWorkflowExecutionsResponse_AggregationGroup. (The package avoids
// importing workflowservice so it stays a leaf with few dependencies.)
type Group struct {
	Values []*commonpb.Payload
	Count  int64
}

// Count answers CountWorkflowExecutions over the given records: the number
// that match, and with GROUP BY one group per distinct value. Groups come
// in the SQL store's order (ExecutionStatus by enum number, other values
// by string) with values encoded as Keyword payloads; records without the
// attribute fall in a null-payload group, except TemporalNamespaceDivision,
// whose absence Temporal reports as "".
func (q *Query) Count(infos []*workflowpb.WorkflowExecutionInfo) (total int64, groups []Group) {
	type group struct {
		key   any
		count int64
	}
	var found []*group
	index := map[any]*group{}
	for _, info := range infos {
		if !q.Match(info) {
			continue
		}
		total++
		if q.groupBy == nil {
			continue
		}
		key := q.groupBy.value(info)
		if key == nil && q.groupBy.field == NamespaceDivision {
			key = ""
		}
		g := index[key]
		if g == nil {
			g = &group{key: key}
			index[key] = g
			found = append(found, g)
		}
		g.count++
	}
	if q.groupBy == nil {
		return total, nil
	}
	slices.SortFunc(found, func(a, b *group) int {
		switch {
		case a.key == nil:
			return -1
		case b.key == nil:
			return 1
		}
		return compare(a.key, b.key)
	})
	for _, g := range found {
		v := g.key
		if q.groupBy.field == ExecutionStatus {
			v = enumspb.WorkflowExecutionStatus(g.key.(int64)).String()
		}
		p, _ := EncodeValue(v, kw) // strings always encode
		groups = append(groups, Group{Values: []*commonpb.Payload{p}, Count: g.count})
	}
	return total, groups
}
