package visibility

import (
	"fmt"
	"slices"
	"testing"

	enumspb "go.temporal.io/api/enums/v1"
)

// groupString renders groups as "value:count" using the decoded payloads.
func groupString(t *testing.T, groups []Group) []string {
	t.Helper()
	out := []string{}
	for _, g := range groups {
		if len(g.Values) != 1 {
			t.Fatalf("group has %d values", len(g.Values))
		}
		v, err := DecodeValue(g.Values[0], enumspb.INDEXED_VALUE_TYPE_UNSPECIFIED)
		if err != nil {
			t.Fatal(err)
		}
		if v != nil && string(g.Values[0].Metadata[metaType]) != "Keyword" {
			t.Errorf("group payload type metadata %q", g.Values[0].Metadata[metaType])
		}
		out = append(out, fmt.Sprintf("%v:%d", v, g.Count))
	}
	return out
}

func TestCount(t *testing.T) {
	recs := append(fixtures(),
		rec("wf-8", "h", "OrderWorkflow", enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING, "2024-01-06T00:00:00Z",
			attrs(map[string]any{"TemporalLowCardinalityKeyword01": "gold"})),
	)
	cases := []struct {
		query  string
		total  int64
		groups []string
	}{
		{"", 4, nil},
		{"WorkflowType = 'OrderWorkflow'", 3, nil},
		{"GROUP BY ExecutionStatus", 4, []string{"Running:2", "Completed:1", "Failed:1"}},
		{"group by ExecutionStatus", 4, []string{"Running:2", "Completed:1", "Failed:1"}},
		{"WorkflowType = 'OrderWorkflow' GROUP BY ExecutionStatus", 3, []string{"Running:2", "Failed:1"}},
		{"WorkflowId = 'none' GROUP BY ExecutionStatus", 0, []string{}},
		{"GROUP BY TemporalNamespaceDivision", 5, []string{":4", "TemporalScheduler:1"}},
		{"GROUP BY TemporalLowCardinalityKeyword01", 4, []string{"<nil>:3", "gold:1"}},
		{"GROUP BY ExecutionStatus ORDER BY StartTime", 4, []string{"Running:2", "Completed:1", "Failed:1"}},
	}
	for _, c := range cases {
		t.Run(c.query, func(t *testing.T) {
			total, groups := mustParse(t, c.query).Count(recs)
			if total != c.total {
				t.Errorf("total %d, want %d", total, c.total)
			}
			if c.groups == nil {
				if groups != nil {
					t.Errorf("groups %v without GROUP BY", groups)
				}
				return
			}
			if got := groupString(t, groups); !slices.Equal(got, c.groups) {
				t.Errorf("groups %v, want %v", got, c.groups)
			}
		})
	}
}

func TestGroupByName(t *testing.T) {
	if got := mustParse(t, "GROUP BY ExecutionStatus").GroupBy(); got != "ExecutionStatus" {
		t.Errorf("GroupBy() = %q", got)
	}
	if got := mustParse(t, "ExecutionStatus = 'Running'").GroupBy(); got != "" {
		t.Errorf("GroupBy() = %q", got)
	}
}
