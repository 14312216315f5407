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
	c := q.NewCounter()
	for _, info := range infos {
		c.Add(info)
	}
	return c.Result()
}

// Counter counts records one at a time, so a server can stream them from
// its store instead of collecting them first.
type Counter struct {
	q     *Query
	total int64
	found []*countGroup
	index map[any]*countGroup
}

type countGroup struct {
	key   any
	count int64
}

// NewCounter returns an empty counter for q.
func (q *Query) NewCounter() *Counter { return &Counter{q: q, index: map[any]*countGroup{}} }

// Add counts info if it matches the query.
func (c *Counter) Add(info *workflowpb.WorkflowExecutionInfo) {
	q := c.q
	if !q.Match(info) {
		return
	}
	c.total++
	if q.groupBy == nil {
		return
	}
	key := q.groupBy.value(info)
	if key == nil && q.groupBy.field == NamespaceDivision {
		key = ""
	}
	g := c.index[key]
	if g == nil {
		g = &countGroup{key: key}
		c.index[key] = g
		c.found = append(c.found, g)
	}
	g.count++
}

// Result returns the total and, with GROUP BY, the groups (see Count).
func (c *Counter) Result() (total int64, groups []Group) {
	q := c.q
	if q.groupBy == nil {
		return c.total, nil
	}
	found := slices.Clone(c.found)
	slices.SortFunc(found, func(a, b *countGroup) int {
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
		groups = append(groups, Group{Values: singlePayload(p), Count: g.count})
	}
	return c.total, groups
}

func singlePayload(p *commonpb.Payload) []*commonpb.Payload { return []*commonpb.Payload{p} }
