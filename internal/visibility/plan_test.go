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
		{"WorkflowType = 'x' AND ExecutionStatus != 'Running'", false, true},
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
	cases := []struct {
		query string
		want  []enumspb.WorkflowExecutionStatus
		ok    bool
	}{
		{"ExecutionStatus = 'Running'", []enumspb.WorkflowExecutionStatus{running}, true},
		{"ExecutionStatus IN ('Completed', 'Running', 'Running')", []enumspb.WorkflowExecutionStatus{running, completed}, true},
		{"ExecutionStatus = 'Running' AND WorkflowType = 'x'", nil, false},
		{"ExecutionStatus != 'Running'", nil, false},
		{"WorkflowType = 'x'", nil, false},
	}
	for _, c := range cases {
		q, err := Parse(c.query, testAttrs())
		if err != nil {
			t.Fatalf("Parse(%q): %v", c.query, err)
		}
		got, ok := q.Statuses()
		if ok != c.ok || !slices.Equal(got, c.want) {
			t.Errorf("Statuses(%q) = %v, %v; want %v, %v", c.query, got, ok, c.want, c.ok)
		}
	}
	q, _ := Parse("GROUP BY ExecutionStatus", testAttrs())
	if all, ok := q.Statuses(); !ok || len(all) != len(enumspb.WorkflowExecutionStatus_name)-1 {
		t.Errorf("Statuses(GROUP BY ExecutionStatus) = %v, %v", all, ok)
	}
	groups := StatusGroups(map[enumspb.WorkflowExecutionStatus]int64{completed: 2, running: 3, enumspb.WORKFLOW_EXECUTION_STATUS_FAILED: 0})
	if got := groupString(t, groups); !slices.Equal(got, []string{"Running:3", "Completed:2"}) {
		t.Errorf("StatusGroups = %v", got)
	}
}
