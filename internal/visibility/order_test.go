package visibility

import (
	"slices"
	"testing"

	enumspb "go.temporal.io/api/enums/v1"
)

func TestDefaultOrder(t *testing.T) {
	recs := fixtures()[:3]
	recs = append(recs,
		rec("wf-5", "e", "X", enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING, "2024-01-05T00:00:00Z"),
		rec("wf-6", "f", "X", enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING, "2024-01-05T00:00:00Z"),
		rec("wf-7", "0", "X", enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED, "2023-12-01T00:00:00Z",
			closed("2024-01-04T00:00:00Z", 0)),
	)
	mustParse(t, "").Sort(recs)
	// Open first (newest start first, then RunId), then by close time.
	want := []string{"wf-5", "wf-6", "wf-1", "wf-3", "wf-7", "wf-2"}
	if got := ids(recs); !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

func TestOrderBy(t *testing.T) {
	cases := []struct {
		query string
		want  []string
	}{
		{"ORDER BY StartTime", []string{"wf-1", "wf-2", "wf-3"}},
		{"ORDER BY StartTime ASC", []string{"wf-1", "wf-2", "wf-3"}},
		{"order by StartTime desc", []string{"wf-3", "wf-2", "wf-1"}},
		{"ORDER BY CloseTime ASC", []string{"wf-2", "wf-3", "wf-1"}},
		{"ORDER BY CloseTime DESC", []string{"wf-3", "wf-2", "wf-1"}},
		{"ORDER BY CustomIntField DESC", []string{"wf-2", "wf-1", "wf-3"}},
		{"ORDER BY CustomDoubleField", []string{"wf-1", "wf-2", "wf-3"}},
		{"ORDER BY CustomBoolField", []string{"wf-2", "wf-1", "wf-3"}},
		{"ORDER BY CustomDatetimeField", []string{"wf-2", "wf-1", "wf-3"}},
		{"ORDER BY CustomKeywordField DESC", []string{"wf-2", "wf-1", "wf-3"}},
		{"ORDER BY ExecutionDuration DESC", []string{"wf-3", "wf-2", "wf-1"}},
		{"ORDER BY HistoryLength DESC", []string{"wf-3", "wf-2", "wf-1"}},
		{"ORDER BY ExecutionStatus", []string{"wf-2", "wf-3", "wf-1"}}, // Completed, Failed, Running
		{"ORDER BY CustomKeywordListField", []string{"wf-1", "wf-2", "wf-3"}},
		{"ORDER BY CustomKeywordListField DESC", []string{"wf-2", "wf-1", "wf-3"}},
		// Ties broken by RunId descending: wf-3 (run c) before wf-1 (run a).
		{"ORDER BY WorkflowType", []string{"wf-3", "wf-1", "wf-2"}},
		{"ORDER BY WorkflowType, StartTime", []string{"wf-1", "wf-3", "wf-2"}},
		// Sort orders only; filtering is Match's job.
		{"WorkflowType = 'OrderWorkflow' ORDER BY `WorkflowType` DESC, HistoryLength", []string{"wf-2", "wf-1", "wf-3"}},
	}
	for _, c := range cases {
		t.Run(c.query, func(t *testing.T) {
			recs := fixtures()[:3]
			slices.Reverse(recs)
			mustParse(t, c.query).Sort(recs)
			if got := ids(recs); !slices.Equal(got, c.want) {
				t.Errorf("got %v, want %v", got, c.want)
			}
		})
	}
}

func TestOrderByFields(t *testing.T) {
	got := mustParse(t, "ORDER BY StartTime DESC, `WorkflowId`").OrderBy()
	want := []OrderField{{Name: "StartTime", Desc: true}, {Name: "WorkflowId"}}
	if !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
	if mustParse(t, "WorkflowId = 'a'").OrderBy() != nil {
		t.Error("OrderBy should be nil without ORDER BY")
	}
}

// Compare must be a total order so a server can page with it.
func TestCompareTotal(t *testing.T) {
	recs := fixtures()
	for _, q := range []string{"", "ORDER BY CustomIntField", "ORDER BY ExecutionStatus DESC"} {
		p := mustParse(t, q)
		for _, a := range recs {
			for _, b := range recs {
				ab, ba := p.Compare(a, b), p.Compare(b, a)
				if ab != -ba || (ab == 0) != (a == b) {
					t.Errorf("%q: Compare(%s,%s)=%d, reverse %d", q,
						a.GetExecution().GetWorkflowId(), b.GetExecution().GetWorkflowId(), ab, ba)
				}
			}
		}
	}
}
