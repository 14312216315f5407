package visibility

import (
	"sort"

	workflowpb "go.temporal.io/api/workflow/v1"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// infoFields maps each system attribute to the WorkflowExecutionInfo field
// it is read from (see attribute.value); every other attribute lives in
// search_attributes.
var infoFields = func() map[string]protoreflect.FieldNumber {
	fd := (&workflowpb.WorkflowExecutionInfo{}).ProtoReflect().Descriptor().Fields()
	num := func(name protoreflect.Name) protoreflect.FieldNumber {
		f := fd.ByName(name)
		if f == nil {
			panic("visibility: WorkflowExecutionInfo has no field " + string(name))
		}
		return f.Number()
	}
	return map[string]protoreflect.FieldNumber{
		WorkflowID: num("execution"), RunID: num("execution"), WorkflowType: num("type"),
		TaskQueue: num("task_queue"), ExecutionStatus: num("status"),
		StartTime: num("start_time"), ExecutionTime: num("execution_time"), CloseTime: num("close_time"),
		HistoryLength: num("history_length"), HistorySizeBytes: num("history_size_bytes"),
		StateTransitionCount: num("state_transition_count"), ExecutionDuration: num("execution_duration"),
		ParentWorkflowID: num("parent_execution"), ParentRunID: num("parent_execution"),
		RootWorkflowID: num("root_execution"), RootRunID: num("root_execution"),
		"": num("search_attributes"), // no attribute has an empty name; Fields always adds it
	}
}()

// Fields returns the numbers of the WorkflowExecutionInfo fields that Match,
// a Counter and Sort read for this query, sorted. A scan that decodes only
// these fields of each stored summary (and the whole summary only for
// records that match) gets the same answers for much less work: a task
// queue filter needs one string per record instead of the full message.
// nil means every field. search_attributes is always included, because
// Match hides records in a namespace division from queries that do not
// name it.
func (q *Query) Fields() []protoreflect.FieldNumber {
	set := map[protoreflect.FieldNumber]bool{infoFields[""]: true}
	add := func(a *attribute) {
		if n, ok := infoFields[a.field]; ok {
			set[n] = true
		}
	}
	all := false
	var walk func(n node)
	walk = func(n node) {
		switch n := n.(type) {
		case andNode:
			walk(n.l)
			walk(n.r)
		case orNode:
			walk(n.l)
			walk(n.r)
		case notNode:
			walk(n.x)
		case cmpNode:
			add(n.a)
		case isNullNode:
			add(n.a)
		default:
			all = true // a node this walk does not know: decode everything
		}
	}
	if q.where != nil {
		walk(q.where)
	}
	for _, k := range q.orderBy {
		add(k.a)
	}
	if q.groupBy != nil {
		add(q.groupBy)
	}
	if all {
		return nil
	}
	out := make([]protoreflect.FieldNumber, 0, len(set))
	for n := range set {
		out = append(out, n)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}
