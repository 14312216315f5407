package visibility

import (
	"slices"
	"strings"
	"testing"

	workflowpb "go.temporal.io/api/workflow/v1"
	"google.golang.org/protobuf/proto"

	"github.com/sundial-io/sundial/internal/store"
)

func TestMatch(t *testing.T) {
	cases := []struct {
		query string
		want  string // comma-separated workflow ids, in fixture order
	}{
		{"", "wf-1,wf-2,wf-3"},
		{"   ", "wf-1,wf-2,wf-3"},

		// Keyword system attributes and every Keyword operator.
		{"WorkflowId = 'wf-1'", "wf-1"},
		{"WorkflowId != 'wf-1'", "wf-2,wf-3"},
		{"WorkflowId <> 'wf-1'", "wf-2,wf-3"},
		{"WorkflowId > 'wf-1'", "wf-2,wf-3"},
		{"WorkflowId >= 'wf-1'", "wf-1,wf-2,wf-3"},
		{"WorkflowId < 'wf-2'", "wf-1"},
		{"WorkflowId <= 'wf-2'", "wf-1,wf-2"},
		{"WorkflowId IN ('wf-1', 'wf-3')", "wf-1,wf-3"},
		{"WorkflowId NOT IN ('wf-1', 'wf-3')", "wf-2"},
		{"WorkflowId BETWEEN 'wf-1' AND 'wf-2'", "wf-1,wf-2"},
		{"WorkflowId NOT BETWEEN 'wf-1' AND 'wf-2'", "wf-3"},
		{"WorkflowId STARTS_WITH 'wf-'", "wf-1,wf-2,wf-3"},
		{"WorkflowId NOT STARTS_WITH 'wf-1'", "wf-2,wf-3"},
		{"RunId = 'b'", "wf-2"},
		{"WorkflowType = 'OrderWorkflow'", "wf-1,wf-3"},
		{"TaskQueue = 'payments'", "wf-2"},
		{"ParentWorkflowId = 'wf-1'", "wf-2"},
		{"ParentRunId = 'a'", "wf-2"},
		{"RootWorkflowId = 'wf-1'", "wf-2"},
		{"RootRunId = 'a'", "wf-2"},
		{"ParentWorkflowId IS NULL", "wf-1,wf-3"},
		{"ParentWorkflowId IS NOT NULL", "wf-2"},
		{"ParentWorkflowId != 'x'", "wf-2"}, // NULL != 'x' is unknown

		// Aliases resolved like Temporal.
		{"ScheduleId = 'wf-1'", "wf-1"},
		{"TemporalWorkflowId = 'wf-2'", "wf-2"},
		{"ChangeVersion = 'patch-1'", "wf-1"},
		{"BuildIds = 'v2'", "wf-1"},

		// ExecutionStatus by name, long name or number; ranges use numbers.
		{"ExecutionStatus = 'Running'", "wf-1"},
		{`ExecutionStatus = "Completed"`, "wf-2"},
		{"ExecutionStatus = 'WORKFLOW_EXECUTION_STATUS_FAILED'", "wf-3"},
		{"ExecutionStatus = 3", "wf-3"},
		{"ExecutionStatus != 'Running'", "wf-2,wf-3"},
		{"ExecutionStatus IN ('Completed', 'Failed')", "wf-2,wf-3"},
		{"ExecutionStatus NOT IN ('Completed', 'Failed')", "wf-1"},
		{"ExecutionStatus > 'Running'", "wf-2,wf-3"},
		{"ExecutionStatus BETWEEN 'Completed' AND 'Failed'", "wf-2,wf-3"},

		// Datetime.
		{"StartTime > '2024-01-01T12:00:00Z'", "wf-2,wf-3"},
		{"StartTime > '2024-01-01T11:00:00+01:00'", "wf-2,wf-3"},
		{"StartTime >= '2024-01-02T00:00:00Z'", "wf-2,wf-3"},
		{"StartTime < '2024-01-02T00:00:00Z'", "wf-1"},
		{"StartTime <= '2024-01-02T00:00:00Z'", "wf-1,wf-2"},
		{"StartTime = '2024-01-01T10:00:00Z'", "wf-1"},
		{"StartTime != '2024-01-01T10:00:00Z'", "wf-2,wf-3"},
		{"StartTime = 1704103200000000000", "wf-1"},
		{"StartTime IN ('2024-01-01T10:00:00Z', '2024-01-03T00:00:00Z')", "wf-1,wf-3"},
		{"StartTime NOT IN ('2024-01-01T10:00:00Z')", "wf-2,wf-3"},
		{"StartTime BETWEEN '2024-01-01T00:00:00Z' AND '2024-01-02T00:00:00Z'", "wf-1,wf-2"},
		{"StartTime NOT BETWEEN '2024-01-01T00:00:00Z' AND '2024-01-02T00:00:00Z'", "wf-3"},
		{"ExecutionTime = '2024-01-01T10:00:00.000Z'", "wf-1"},
		{"CloseTime IS NULL", "wf-1"},
		{"CloseTime IS NOT NULL", "wf-2,wf-3"},
		{"CloseTime < '2024-01-03T12:00:00Z'", "wf-2"},
		{"NOT (CloseTime < '2024-01-03T12:00:00Z')", "wf-3"},
		{"CustomDatetimeField > '2024-01-15T00:00:00Z'", "wf-1"},
		{"CustomDatetimeField <= '2024-01-10T00:00:00Z'", "wf-2"},

		// Int: system, ExecutionDuration and custom.
		{"HistoryLength = 10", "wf-1"},
		{"HistoryLength != 10", "wf-2,wf-3"},
		{"HistoryLength > 10", "wf-2,wf-3"},
		{"HistoryLength >= 20", "wf-2,wf-3"},
		{"HistoryLength < 20.5", "wf-1,wf-2"},
		{"HistoryLength <= 10", "wf-1"},
		{"HistoryLength IN (10, 30)", "wf-1,wf-3"},
		{"HistoryLength NOT IN (10, 30)", "wf-2"},
		{"HistoryLength BETWEEN 15 AND 30", "wf-2,wf-3"},
		{"HistoryLength NOT BETWEEN 15 AND 30", "wf-1"},
		{"HistorySizeBytes > 150", "wf-2,wf-3"},
		{"StateTransitionCount = 7", "wf-3"},
		{"ExecutionDuration IS NULL", "wf-1"},
		{"ExecutionDuration = '1h'", "wf-2"},
		{"ExecutionDuration = 3600000000000", "wf-2"},
		{"ExecutionDuration = '3600000000000'", "wf-2"},
		{"ExecutionDuration > '90m'", "wf-3"},
		{"ExecutionDuration < '01:30:00'", "wf-2"},
		{"ExecutionDuration >= '0.05d'", "wf-3"},
		{"CustomIntField = 5", "wf-1"},
		{"CustomIntField != 5", "wf-2"},
		{"CustomIntField > 5", "wf-2"},
		{"CustomIntField >= 5", "wf-1,wf-2"},
		{"CustomIntField < 5.5", "wf-1"},
		{"CustomIntField <= 10", "wf-1,wf-2"},
		{"CustomIntField IN (5, 7)", "wf-1"},
		{"CustomIntField NOT IN (5)", "wf-2"},
		{"CustomIntField BETWEEN 1 AND 10", "wf-1,wf-2"},
		{"CustomIntField NOT BETWEEN 6 AND 100", "wf-1"},
		{"CustomIntField IS NULL", "wf-3"},
		{"CustomIntField IS NOT NULL", "wf-1,wf-2"},
		{"CustomIntField > -3", "wf-1,wf-2"},
		{"CustomIntField = +5", "wf-1"},

		// Double.
		{"CustomDoubleField = 1.5", "wf-1"},
		{"CustomDoubleField = 2.5e0", "wf-2"},
		{"CustomDoubleField != 1.5", "wf-2"},
		{"CustomDoubleField > 2", "wf-2"},
		{"CustomDoubleField >= 1.5", "wf-1,wf-2"},
		{"CustomDoubleField < 2", "wf-1"},
		{"CustomDoubleField <= 2.5", "wf-1,wf-2"},
		{"CustomDoubleField IN (2.5, 9)", "wf-2"},
		{"CustomDoubleField NOT IN (2.5)", "wf-1"},
		{"CustomDoubleField BETWEEN 1 AND 2", "wf-1"},
		{"CustomDoubleField NOT BETWEEN 1 AND 2", "wf-2"},
		{"CustomDoubleField IS NULL", "wf-3"},

		// Bool.
		{"CustomBoolField = true", "wf-1"},
		{"CustomBoolField = FALSE", "wf-2"},
		{"CustomBoolField != true", "wf-2"},
		{"CustomBoolField > false", "wf-1"},
		{"CustomBoolField IN (true, false)", "wf-1,wf-2"},
		{"CustomBoolField NOT IN (true)", "wf-2"},
		{"CustomBoolField IS NULL", "wf-3"},

		// Keyword custom.
		{"CustomKeywordField = 'alpha'", "wf-1"},
		{"CustomKeywordField != 'alpha'", "wf-2"},
		{"CustomKeywordField > 'alpha'", "wf-2"},
		{"CustomKeywordField IN ('alpha', 'gamma')", "wf-1"},
		{"CustomKeywordField BETWEEN 'a' AND 'b'", "wf-1"},
		{"CustomKeywordField STARTS_WITH 'be'", "wf-2"},
		{"CustomKeywordField NOT STARTS_WITH 'al'", "wf-2"},
		{"CustomKeywordField STARTS_WITH 'A'", ""},
		{"CustomKeywordField IS NULL", "wf-3"},

		// KeywordList: = means contains; a missing list contains nothing.
		{"CustomKeywordListField = 'a'", "wf-1"},
		{"CustomKeywordListField = 'c'", "wf-2"},
		{"CustomKeywordListField != 'a'", "wf-2,wf-3"},
		{"CustomKeywordListField IN ('b', 'c')", "wf-1,wf-2"},
		{"CustomKeywordListField NOT IN ('a', 'c')", "wf-3"},
		{"CustomKeywordListField IS NULL", "wf-3"},

		// Text: any space-separated phrase, case-insensitive words.
		{"CustomTextField = 'quick'", "wf-1"},
		{"CustomTextField = 'QUICK'", "wf-1"},
		{"CustomTextField = 'fox dog'", "wf-1,wf-2"},
		{"CustomTextField = 'brown-fox'", "wf-1"},
		{"CustomTextField = 'fox-brown'", ""},
		{"CustomTextField = 'qui'", ""},
		{"CustomTextField != 'quick'", "wf-2,wf-3"},
		{"CustomTextField IS NOT NULL", "wf-1,wf-2"},
		{"CustomStringField IS NULL", "wf-1,wf-2,wf-3"},

		// Logic, precedence and three-valued logic.
		{"WorkflowType = 'OrderWorkflow' AND ExecutionStatus = 'Failed'", "wf-3"},
		{"WorkflowId = 'wf-1' OR WorkflowId = 'wf-3'", "wf-1,wf-3"},
		{"NOT WorkflowId = 'wf-1'", "wf-2,wf-3"},
		{"NOT (WorkflowId = 'wf-1' OR WorkflowId = 'wf-2')", "wf-3"},
		{"NOT NOT WorkflowId = 'wf-1'", "wf-1"},
		{"HistoryLength BETWEEN 15 AND 30 AND WorkflowType = 'OrderWorkflow'", "wf-3"},
		{"WorkflowId = 'wf-1' OR WorkflowId = 'wf-2' AND ExecutionStatus = 'Running'", "wf-1"},
		{"(WorkflowId = 'wf-1' OR WorkflowId = 'wf-2') AND ExecutionStatus = 'Completed'", "wf-2"},
		{"CustomIntField = 5 OR WorkflowId = 'wf-3'", "wf-1,wf-3"},
		{"NOT (CustomIntField = 5)", "wf-2"},
		{"NOT (CustomIntField = 5 AND WorkflowId = 'wf-3')", "wf-1,wf-2"},
		{"NOT (CustomIntField = 5 OR WorkflowId = 'wf-1')", "wf-2"},

		// Spelling: keywords in any case, quoted names and strings.
		{"WorkflowId = 'wf-1' and ExecutionStatus = 'Running'", "wf-1"},
		{"WorkflowId in ('wf-2') or CloseTime is null", "wf-1,wf-2"},
		{"CustomIntField between 1 and 5", "wf-1"},
		{"WorkflowId not starts_with 'wf-1'", "wf-2,wf-3"},
		{"`WorkflowId` = 'wf-1'", "wf-1"},
		{"TaskQueue = 'it''s q'", "wf-3"},
		{`TaskQueue = "it's q"`, "wf-3"},
		{`TaskQueue = 'it\'s q'`, "wf-3"},
		{"\tWorkflowId='wf-1'\n", "wf-1"},
		{"WorkflowId = 'wf-1' ORDER BY StartTime", "wf-1"},

		// Namespace division hides internal workflows unless named.
		{"TemporalNamespaceDivision = 'TemporalScheduler'", "temporal-sys-scheduler:s"},
		{"TemporalNamespaceDivision IS NULL", "wf-1,wf-2,wf-3"},
		{"TemporalNamespaceDivision IS NULL OR TemporalNamespaceDivision IS NOT NULL", "wf-1,wf-2,wf-3,temporal-sys-scheduler:s"},
	}
	all := fixtures()
	for _, c := range cases {
		t.Run(c.query, func(t *testing.T) {
			q := mustParse(t, c.query)
			var got []*workflowpb.WorkflowExecutionInfo
			for _, info := range all {
				if q.Match(info) {
					got = append(got, info)
				}
			}
			want := []string{}
			if c.want != "" {
				want = strings.Split(c.want, ",")
			}
			if !slices.Equal(ids(got), want) {
				t.Errorf("got %v, want %v", ids(got), want)
			}
			// Decoding only q.Fields() of a stored summary gives the same
			// answer as the whole summary.
			for _, info := range all {
				b, err := proto.Marshal(info)
				if err != nil {
					t.Fatal(err)
				}
				part, err := store.DecodeInfo(b, q.Fields())
				if err != nil {
					t.Fatal(err)
				}
				if q.Match(part) != q.Match(info) {
					t.Errorf("%s: Match on fields %v = %v, on the whole summary %v", ids([]*workflowpb.WorkflowExecutionInfo{info}), q.Fields(), q.Match(part), q.Match(info))
				}
			}
		})
	}
}

func TestMatchNilRecord(t *testing.T) {
	if mustParse(t, "").Match(nil) {
		t.Error("nil record matched")
	}
	// An empty record must not panic on any attribute.
	empty := &workflowpb.WorkflowExecutionInfo{}
	for name := range SystemSearchAttributes() {
		q := mustParse(t, name+" IS NULL")
		q.Match(empty)
	}
}

func TestMatchBadStoredValueIsNull(t *testing.T) {
	info := fixtures()[2]
	p, _ := EncodeValue("not a number", kw)
	info.SearchAttributes = sa(map[string]any{})
	info.SearchAttributes.IndexedFields["CustomIntField"] = p
	if !mustParse(t, "CustomIntField IS NULL").Match(info) {
		t.Error("undecodable value should read as NULL")
	}
}
