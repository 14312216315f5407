package visibility

import (
	"maps"
	"slices"

	enumspb "go.temporal.io/api/enums/v1"
)

// What an index can learn from a query. The evaluator alone would have to
// read every record of a namespace; a store ordered by open/closed and
// counting runs per status can skip most of them when the query pins the
// status, which is also what the Web UI and `temporal workflow count` ask
// most often.

const (
	runningStatus = int64(enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING)
	// pausedStatus is open too: a paused run is still running.
	pausedStatus = int64(enumspb.WORKFLOW_EXECUTION_STATUS_PAUSED)
)

func openStatus(v any) bool { return v.(int64) == runningStatus || v.(int64) == pausedStatus }

// Partitions reports whether open (Running or Paused) and closed runs can
// match at all, judged from the top-level AND terms on ExecutionStatus and
// `CloseTime IS [NOT] NULL` (an OR of such terms counts as the union of
// its sides). It is conservative: true, true means "could be either".
func (q *Query) Partitions() (open, closed bool) {
	open, closed = true, true
	for _, n := range conjuncts(q.where) {
		o, c := termPartitions(n)
		open, closed = open && o, closed && c
	}
	return open, closed
}

func termPartitions(n node) (open, closed bool) {
	switch n := n.(type) {
	case orNode:
		lo, lc := termPartitions(n.l)
		ro, rc := termPartitions(n.r)
		return lo || ro, lc || rc
	case isNullNode:
		if n.a.field == CloseTime {
			return !n.not, n.not
		}
	case cmpNode:
		if n.a.field != ExecutionStatus {
			break
		}
		switch n.op {
		case opEq, opIn:
			for _, v := range n.vals {
				if openStatus(v) {
					open = true
				} else {
					closed = true
				}
			}
			return open, closed
		case opNe, opNotIn:
			if slices.Contains(n.vals, any(runningStatus)) && slices.Contains(n.vals, any(pausedStatus)) {
				return false, true
			}
		}
	}
	return true, true
}

func conjuncts(n node) []node {
	if a, ok := n.(andNode); ok {
		return append(conjuncts(a.l), conjuncts(a.r)...)
	}
	if n == nil {
		return nil
	}
	return []node{n}
}

// Statuses returns the statuses the query selects when its condition is
// nothing but a status test (none, `ExecutionStatus = x` or
// `ExecutionStatus IN (...)`), optionally AND-ed with one equality on an
// attribute the stores keep a count index for (`WorkflowType = 'x'` or
// `TaskQueue = 'q'`, returned as field and value; field is "" without
// one), so that CountWorkflowExecutions is answered by counting index keys
// instead of reading records; ok is false otherwise. Records hidden by
// TemporalNamespaceDivision are not told apart: Sundial runs no internal
// workflows.
func (q *Query) Statuses() (field, value string, statuses []enumspb.WorkflowExecutionStatus, ok bool) {
	if q.groupBy != nil && q.groupBy.field != ExecutionStatus {
		return "", "", nil, false
	}
	var status *cmpNode
	for _, n := range conjuncts(q.where) {
		c, isCmp := n.(cmpNode)
		switch {
		case !isCmp:
			return "", "", nil, false
		case c.a.field == ExecutionStatus && (c.op == opEq || c.op == opIn) && status == nil:
			status = &c
		case (c.a.field == WorkflowType || c.a.field == TaskQueue) && c.op == opEq && field == "" && len(c.vals) == 1:
			v, isStr := c.vals[0].(string)
			if !isStr || v == "" {
				return "", "", nil, false
			}
			field, value = c.a.field, v
		default:
			return "", "", nil, false
		}
	}
	if status == nil {
		for v := range enumspb.WorkflowExecutionStatus_name {
			if v != 0 {
				statuses = append(statuses, enumspb.WorkflowExecutionStatus(v))
			}
		}
		slices.Sort(statuses)
		return field, value, statuses, true
	}
	for _, v := range status.vals {
		s := enumspb.WorkflowExecutionStatus(v.(int64))
		if !slices.Contains(statuses, s) {
			statuses = append(statuses, s)
		}
	}
	slices.Sort(statuses)
	return field, value, statuses, true
}

// StatusGroups turns per-status counts into the GROUP BY ExecutionStatus
// answer Count would give: groups in enum order, empty ones left out.
func StatusGroups(counts map[enumspb.WorkflowExecutionStatus]int64) []Group {
	var out []Group
	for _, s := range slices.Sorted(maps.Keys(counts)) {
		if counts[s] == 0 {
			continue
		}
		p, _ := EncodeValue(s.String(), kw)
		out = append(out, Group{Values: singlePayload(p), Count: counts[s]})
	}
	return out
}
