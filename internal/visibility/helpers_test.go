package visibility

import (
	"testing"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	workflowpb "go.temporal.io/api/workflow/v1"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// testAttrs is the dev-server registry plus the types it lacks.
func testAttrs() map[string]enumspb.IndexedValueType {
	m := DefaultCustomSearchAttributes()
	m["CustomKeywordListField"] = kwList
	m["TemporalLowCardinalityKeyword01"] = kw
	return m
}

func ts(s string) *timestamppb.Timestamp {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return timestamppb.New(t)
}

// sa encodes values the way SDKs send them, taking types from testAttrs or
// the predefined table.
func sa(fields map[string]any) *commonpb.SearchAttributes {
	out := &commonpb.SearchAttributes{IndexedFields: map[string]*commonpb.Payload{}}
	for name, v := range fields {
		t, ok := testAttrs()[name]
		if !ok {
			t = predefinedAttrs[name]
		}
		p, err := EncodeValue(v, t)
		if err != nil {
			panic(err)
		}
		out.IndexedFields[name] = p
	}
	return out
}

type recOpt func(*workflowpb.WorkflowExecutionInfo)

func rec(wid, rid, wtype string, status enumspb.WorkflowExecutionStatus, start string, opts ...recOpt) *workflowpb.WorkflowExecutionInfo {
	info := &workflowpb.WorkflowExecutionInfo{
		Execution:     &commonpb.WorkflowExecution{WorkflowId: wid, RunId: rid},
		Type:          &commonpb.WorkflowType{Name: wtype},
		Status:        status,
		StartTime:     ts(start),
		ExecutionTime: ts(start),
	}
	for _, o := range opts {
		o(info)
	}
	return info
}

func closed(at string, d time.Duration) recOpt {
	return func(i *workflowpb.WorkflowExecutionInfo) {
		i.CloseTime = ts(at)
		i.ExecutionDuration = durationpb.New(d)
	}
}

func attrs(fields map[string]any) recOpt {
	return func(i *workflowpb.WorkflowExecutionInfo) { i.SearchAttributes = sa(fields) }
}

func with(f func(*workflowpb.WorkflowExecutionInfo)) recOpt { return f }

// fixtures: wf-1 running with every custom attribute, wf-2 completed child
// of wf-1, wf-3 failed without custom attributes, and a scheduler workflow
// hidden by TemporalNamespaceDivision.
func fixtures() []*workflowpb.WorkflowExecutionInfo {
	return []*workflowpb.WorkflowExecutionInfo{
		rec("wf-1", "a", "OrderWorkflow", enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING, "2024-01-01T10:00:00Z",
			with(func(i *workflowpb.WorkflowExecutionInfo) {
				i.TaskQueue, i.HistoryLength, i.HistorySizeBytes, i.StateTransitionCount = "orders", 10, 100, 5
			}),
			attrs(map[string]any{
				"CustomKeywordField":     "alpha",
				"CustomIntField":         5,
				"CustomDoubleField":      1.5,
				"CustomBoolField":        true,
				"CustomDatetimeField":    ts("2024-02-01T00:00:00Z").AsTime(),
				"CustomTextField":        "The quick brown fox",
				"CustomKeywordListField": []string{"a", "b"},
				"BuildIds":               []string{"v1", "v2"},
				"TemporalChangeVersion":  []string{"patch-1"},
			})),
		rec("wf-2", "b", "PaymentWorkflow", enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED, "2024-01-02T00:00:00Z",
			closed("2024-01-03T00:00:00Z", time.Hour),
			with(func(i *workflowpb.WorkflowExecutionInfo) {
				i.TaskQueue, i.HistoryLength, i.HistorySizeBytes, i.StateTransitionCount = "payments", 20, 200, 6
				i.ParentExecution = &commonpb.WorkflowExecution{WorkflowId: "wf-1", RunId: "a"}
				i.RootExecution = &commonpb.WorkflowExecution{WorkflowId: "wf-1", RunId: "a"}
			}),
			attrs(map[string]any{
				"CustomKeywordField":     "beta",
				"CustomIntField":         10,
				"CustomDoubleField":      2.5,
				"CustomBoolField":        false,
				"CustomDatetimeField":    ts("2024-01-10T00:00:00Z").AsTime(),
				"CustomTextField":        "lazy dog",
				"CustomKeywordListField": []string{"c"},
			})),
		rec("wf-3", "c", "OrderWorkflow", enumspb.WORKFLOW_EXECUTION_STATUS_FAILED, "2024-01-03T00:00:00Z",
			closed("2024-01-04T00:00:00Z", 2*time.Hour),
			with(func(i *workflowpb.WorkflowExecutionInfo) {
				i.TaskQueue, i.HistoryLength, i.HistorySizeBytes, i.StateTransitionCount = "it's q", 30, 300, 7
			})),
		rec("temporal-sys-scheduler:s", "d", "TemporalScheduler", enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING, "2024-01-01T00:00:00Z",
			attrs(map[string]any{NamespaceDivision: "TemporalScheduler"})),
	}
}

func ids(infos []*workflowpb.WorkflowExecutionInfo) []string {
	out := []string{}
	for _, i := range infos {
		out = append(out, i.GetExecution().GetWorkflowId())
	}
	return out
}

func mustParse(t *testing.T, q string) *Query {
	t.Helper()
	p, err := Parse(q, testAttrs())
	if err != nil {
		t.Fatalf("Parse(%q): %v", q, err)
	}
	return p
}
