package visibility

import (
	"slices"
	"testing"

	enumspb "go.temporal.io/api/enums/v1"
)

func TestPartitions(t *testing.T) {
	cases := []struct {
		query        string
		open, closed bool
	}{
		{"", true, true},
		{"ExecutionStatus = 'Running'", true, false},
		{"ExecutionStatus = 'Completed' AND WorkflowType = 'x'", false, true},
		// A paused run is open too (workflow pause): != 'Running' may match it.
		{"WorkflowType = 'x' AND ExecutionStatus != 'Running'", true, true},
		{"ExecutionStatus NOT IN ('Running', 'Paused')", false, true},
		{"ExecutionStatus = 'Paused'", true, false},
		{"WorkflowType = 'x' AND (ExecutionStatus = 'Running' OR ExecutionStatus = 'Paused')", true, false},
		{"ExecutionStatus = 'Running' OR ExecutionStatus = 'Failed'", true, true},
		{"ExecutionStatus IN ('Running', 'Failed')", true, true},
		{"ExecutionStatus = 'Running' OR WorkflowType = 'x'", true, true},
		{"CloseTime IS NULL", true, false},
		{"CloseTime IS NOT NULL", false, true},
		{"ExecutionStatus = 'Running' AND CloseTime IS NOT NULL", false, false},
	}
	for _, c := range cases {
		q, err := Parse(c.query, testAttrs())
		if err != nil {
			t.Fatalf("Parse(%q): %v", c.query, err)
		}
		if o, cl := q.Partitions(); o != c.open || cl != c.closed {
			t.Errorf("Partitions(%q) = %v, %v; want %v, %v", c.query, o, cl, c.open, c.closed)
		}
	}
}

func TestStatuses(t *testing.T) {
	const (
		running   = enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING
		completed = enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED
	)
	all := len(enumspb.WorkflowExecutionStatus_name) - 1
	cases := []struct {
		query  string
		field  string
		wfType string                            // the value
		want   []enumspb.WorkflowExecutionStatus // nil with nAll: every status
		nAll   bool
		ok     bool
	}{
		{query: "ExecutionStatus = 'Running'", want: []enumspb.WorkflowExecutionStatus{running}, ok: true},
		{query: "ExecutionStatus IN ('Completed', 'Running', 'Running')", want: []enumspb.WorkflowExecutionStatus{running, completed}, ok: true},
		{query: "ExecutionStatus = 'Running' AND WorkflowType = 'x'", field: WorkflowType, wfType: "x", want: []enumspb.WorkflowExecutionStatus{running}, ok: true},
		{query: "WorkflowType = 'x' AND ExecutionStatus IN ('Completed')", field: WorkflowType, wfType: "x", want: []enumspb.WorkflowExecutionStatus{completed}, ok: true},
		{query: "WorkflowType = 'x'", field: WorkflowType, wfType: "x", nAll: true, ok: true},
		{query: "WorkflowType = 'x' GROUP BY ExecutionStatus", field: WorkflowType, wfType: "x", nAll: true, ok: true},
		{query: "TaskQueue = 'q'", field: TaskQueue, wfType: "q", nAll: true, ok: true},
		{query: "TaskQueue = 'q' AND ExecutionStatus = 'Completed'", field: TaskQueue, wfType: "q", want: []enumspb.WorkflowExecutionStatus{completed}, ok: true},
		{query: "TaskQueue != 'q'"},
		{query: "TaskQueue = 'q' AND TaskQueue = 'r'"},
		{query: "TaskQueue STARTS_WITH 'q'"},
		{query: "ExecutionStatus != 'Running'"},
		{query: "WorkflowType = 'x' OR ExecutionStatus = 'Running'"},
		{query: "WorkflowType = 'x' AND WorkflowType = 'y'"},
		{query: "WorkflowType IN ('x', 'y')"},
		{query: "WorkflowType = ''"},
		{query: "WorkflowType = 'x' AND TaskQueue = 'q'"},
		{query: "ExecutionStatus = 'Running' AND ExecutionStatus = 'Completed'"},
	}
	for _, c := range cases {
		q, err := Parse(c.query, testAttrs())
		if err != nil {
			t.Fatalf("Parse(%q): %v", c.query, err)
		}
		field, wfType, got, ok := q.Statuses()
		if ok != c.ok || field != c.field || wfType != c.wfType || (c.nAll && len(got) != all) || (!c.nAll && !slices.Equal(got, c.want)) {
			t.Errorf("Statuses(%q) = %q, %v, %v; want %q, %v (all: %v), %v", c.query, wfType, got, ok, c.wfType, c.want, c.nAll, c.ok)
		}
	}
	q, _ := Parse("GROUP BY ExecutionStatus", testAttrs())
	if _, _, all, ok := q.Statuses(); !ok || len(all) != len(enumspb.WorkflowExecutionStatus_name)-1 {
		t.Errorf("Statuses(GROUP BY ExecutionStatus) = %v, %v", all, ok)
	}
	groups := StatusGroups(map[enumspb.WorkflowExecutionStatus]int64{completed: 2, running: 3, enumspb.WORKFLOW_EXECUTION_STATUS_FAILED: 0})
	if got := groupString(t, groups); !slices.Equal(got, []string{"Running:3", "Completed:2"}) {
		t.Errorf("StatusGroups = %v", got)
	}
}
