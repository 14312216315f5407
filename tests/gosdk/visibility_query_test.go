package gosdk

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	filterpb "go.temporal.io/api/filter/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/serviceerror"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

// Visibility tests: a small set of workflows with varied search attributes
// and statuses, then one query per operator and attribute type, checked
// against the exact set of workflow ids each should return.

func VisQuickWorkflow(ctx workflow.Context) error { return nil }

func VisBlockWorkflow(ctx workflow.Context) error {
	workflow.GetSignalChannel(ctx, "never").Receive(ctx, nil)
	return nil
}

var (
	visKeyword  = temporal.NewSearchAttributeKeyKeyword("CustomKeywordField")
	visInt      = temporal.NewSearchAttributeKeyInt64("CustomIntField")
	visDouble   = temporal.NewSearchAttributeKeyFloat64("CustomDoubleField")
	visBool     = temporal.NewSearchAttributeKeyBool("CustomBoolField")
	visTime     = temporal.NewSearchAttributeKeyTime("CustomDatetimeField")
	visText     = temporal.NewSearchAttributeKeyString("CustomTextField")
	visKeywords = temporal.NewSearchAttributeKeyKeywordList("VisKeywordList")
)

type visFixture struct {
	*env
	ids   map[string]string // short name -> workflow id
	start time.Time
}

// newVisFixture starts w1 (completed), w2 (running), w3 (terminated) and
// w4 (completed, no attributes).
func newVisFixture(t *testing.T) *visFixture {
	e := newEnv(t)
	e.worker(func(w worker.Worker) {
		w.RegisterWorkflow(VisQuickWorkflow)
		w.RegisterWorkflow(VisBlockWorkflow)
	})
	addSearchAttributes(t, e, map[string]enumspb.IndexedValueType{"VisKeywordList": enumspb.INDEXED_VALUE_TYPE_KEYWORD_LIST})
	f := &visFixture{env: e, ids: map[string]string{}, start: time.Now().Add(-time.Second)}
	day := func(s string) time.Time { t, _ := time.Parse(time.DateOnly, s); return t }
	type spec struct {
		name  string
		wf    any
		attrs temporal.SearchAttributes
		term  bool
	}
	specs := []spec{
		{"w1", VisQuickWorkflow, temporal.NewSearchAttributes(visKeyword.ValueSet("alpha"), visInt.ValueSet(1), visDouble.ValueSet(1.5),
			visBool.ValueSet(true), visTime.ValueSet(day("2024-01-01")), visText.ValueSet("hello world"), visKeywords.ValueSet([]string{"a", "b"})), false},
		{"w2", VisBlockWorkflow, temporal.NewSearchAttributes(visKeyword.ValueSet("beta"), visInt.ValueSet(5), visDouble.ValueSet(2.5),
			visBool.ValueSet(false), visTime.ValueSet(day("2024-06-01")), visText.ValueSet("goodbye moon"), visKeywords.ValueSet([]string{"c"})), false},
		{"w3", VisBlockWorkflow, temporal.NewSearchAttributes(visKeyword.ValueSet("gamma"), visInt.ValueSet(10), visBool.ValueSet(true)), true},
		{"w4", VisQuickWorkflow, temporal.SearchAttributes{}, false},
	}
	for _, s := range specs {
		o := e.opts("vis-" + s.name)
		o.TypedSearchAttributes = s.attrs
		run, err := e.c.ExecuteWorkflow(e.ctx(), o, s.wf)
		if err != nil {
			t.Fatalf("start %s: %v", s.name, err)
		}
		f.ids[s.name] = run.GetID()
		switch {
		case s.term:
			if err := e.c.TerminateWorkflow(e.ctx(), run.GetID(), "", "test"); err != nil {
				t.Fatal(err)
			}
		case s.name != "w2":
			if err := run.Get(e.ctx(), nil); err != nil {
				t.Fatal(err)
			}
		}
	}
	return f
}

func addSearchAttributes(t *testing.T, e *env, attrs map[string]enumspb.IndexedValueType) {
	t.Helper()
	_, err := e.c.OperatorService().AddSearchAttributes(e.ctx(), &operatorservice.AddSearchAttributesRequest{Namespace: "default", SearchAttributes: attrs})
	if err != nil {
		t.Fatalf("AddSearchAttributes: %v", err)
	}
}

// names maps listed executions back to the fixture's short names, sorted.
func (f *visFixture) names(execs []*workflowpb.WorkflowExecutionInfo) []string {
	var out []string
	for _, ex := range execs {
		for n, id := range f.ids {
			if id == ex.GetExecution().GetWorkflowId() {
				out = append(out, n)
			}
		}
	}
	slices.Sort(out)
	return out
}

func (f *visFixture) list(t *testing.T, query string) []string {
	t.Helper()
	resp, err := f.c.ListWorkflow(f.ctx(), &workflowservice.ListWorkflowExecutionsRequest{Query: query})
	if err != nil {
		t.Fatalf("ListWorkflow(%q): %v", query, err)
	}
	return f.names(resp.Executions)
}

func TestVisibilityOperators(t *testing.T) {
	t.Parallel()
	f := newVisFixture(t)
	since := f.start.UTC().Format(time.RFC3339Nano)
	cases := []struct {
		query string
		want  []string
	}{
		{"", []string{"w1", "w2", "w3", "w4"}},
		{"CustomKeywordField = 'alpha'", []string{"w1"}},
		{"CustomKeywordField != 'alpha'", []string{"w2", "w3"}},
		{"CustomKeywordField STARTS_WITH 'ga'", []string{"w3"}},
		{"CustomKeywordField NOT STARTS_WITH 'ga'", []string{"w1", "w2"}},
		{"CustomKeywordField IN ('alpha', 'gamma')", []string{"w1", "w3"}},
		{"CustomKeywordField NOT IN ('alpha')", []string{"w2", "w3"}},
		{"CustomIntField > 1", []string{"w2", "w3"}},
		{"CustomIntField >= 5", []string{"w2", "w3"}},
		{"CustomIntField < 5", []string{"w1"}},
		{"CustomIntField <= 5", []string{"w1", "w2"}},
		{"CustomIntField BETWEEN 2 AND 10", []string{"w2", "w3"}},
		{"CustomIntField NOT BETWEEN 2 AND 10", []string{"w1"}},
		{"CustomDoubleField > 2.0", []string{"w2"}},
		{"CustomDoubleField IS NULL", []string{"w3", "w4"}},
		{"CustomDoubleField IS NOT NULL", []string{"w1", "w2"}},
		{"CustomBoolField = true", []string{"w1", "w3"}},
		{"CustomBoolField = false", []string{"w2"}},
		{"CustomDatetimeField > '2024-03-01T00:00:00Z'", []string{"w2"}},
		{"CustomDatetimeField <= '2024-01-01T00:00:00Z'", []string{"w1"}},
		{"CustomTextField = 'world'", []string{"w1"}},
		{"VisKeywordList = 'b'", []string{"w1"}},
		{"VisKeywordList IN ('c', 'x')", []string{"w2"}},
		{"ExecutionStatus = 'Running'", []string{"w2"}},
		{"ExecutionStatus = 'Terminated'", []string{"w3"}},
		{"ExecutionStatus != 'Running'", []string{"w1", "w3", "w4"}},
		{"(CustomKeywordField = 'alpha' OR CustomKeywordField = 'beta') AND CustomBoolField = false", []string{"w2"}},
		{"WorkflowType = 'VisBlockWorkflow'", []string{"w2", "w3"}},
		{"WorkflowId = '" + f.ids["w4"] + "'", []string{"w4"}},
		{"StartTime > '" + since + "'", []string{"w1", "w2", "w3", "w4"}},
		{"CloseTime IS NULL", []string{"w2"}},
		{"TaskQueue = '" + f.tq + "'", []string{"w1", "w2", "w3", "w4"}},
		{"HistoryLength > 0 AND ExecutionStatus = 'Completed'", []string{"w1", "w4"}},
		{"ExecutionDuration >= 0 AND CustomIntField = 10", []string{"w3"}},
	}
	for _, c := range cases {
		if got := f.list(t, c.query); !slices.Equal(got, c.want) {
			t.Errorf("ListWorkflow(%q) = %v, want %v", c.query, got, c.want)
		}
		cnt, err := f.c.CountWorkflow(f.ctx(), &workflowservice.CountWorkflowExecutionsRequest{Query: c.query})
		if err != nil || cnt.Count != int64(len(c.want)) {
			t.Errorf("CountWorkflow(%q) = %v, %v; want %d", c.query, cnt, err, len(c.want))
		}
	}
	scan, err := f.c.ScanWorkflow(f.ctx(), &workflowservice.ScanWorkflowExecutionsRequest{Query: "CustomBoolField = true"})
	if err != nil || !slices.Equal(f.names(scan.Executions), []string{"w1", "w3"}) {
		t.Errorf("ScanWorkflow = %v, %v", scan, err)
	}
	// Results carry search attributes and the default order: open first.
	resp, err := f.c.ListWorkflow(f.ctx(), &workflowservice.ListWorkflowExecutionsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if resp.Executions[0].GetExecution().GetWorkflowId() != f.ids["w2"] {
		t.Errorf("first listed %s, want the running w2", resp.Executions[0].GetExecution().GetWorkflowId())
	}
	if _, ok := resp.Executions[0].GetSearchAttributes().GetIndexedFields()["CustomKeywordField"]; !ok {
		t.Errorf("listed execution lacks its search attributes")
	}
}

func TestVisibilityGroupByAndOpenClosed(t *testing.T) {
	t.Parallel()
	f := newVisFixture(t)
	cnt, err := f.c.CountWorkflow(f.ctx(), &workflowservice.CountWorkflowExecutionsRequest{Query: "GROUP BY ExecutionStatus"})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int64{}
	for _, g := range cnt.Groups {
		var s string
		if err := converter.GetDefaultDataConverter().FromPayload(g.GroupValues[0], &s); err != nil {
			t.Fatal(err)
		}
		got[s] = g.Count
	}
	want := map[string]int64{"Running": 1, "Completed": 2, "Terminated": 1}
	if cnt.Count != 4 || fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("GROUP BY ExecutionStatus = %d %v, want 4 %v", cnt.Count, got, want)
	}
	cnt, err = f.c.CountWorkflow(f.ctx(), &workflowservice.CountWorkflowExecutionsRequest{Query: "CustomBoolField = true GROUP BY ExecutionStatus"})
	if err != nil || cnt.Count != 2 || len(cnt.Groups) != 2 {
		t.Fatalf("filtered GROUP BY = %v, %v", cnt, err)
	}
	open, err := f.c.ListOpenWorkflow(f.ctx(), &workflowservice.ListOpenWorkflowExecutionsRequest{})
	if err != nil || !slices.Equal(f.names(open.Executions), []string{"w2"}) {
		t.Fatalf("ListOpenWorkflow = %v, %v", open, err)
	}
	closed, err := f.c.ListClosedWorkflow(f.ctx(), &workflowservice.ListClosedWorkflowExecutionsRequest{
		Filters: &workflowservice.ListClosedWorkflowExecutionsRequest_StatusFilter{StatusFilter: &filterpb.StatusFilter{Status: enumspb.WORKFLOW_EXECUTION_STATUS_TERMINATED}},
	})
	if err != nil || !slices.Equal(f.names(closed.Executions), []string{"w3"}) {
		t.Fatalf("ListClosedWorkflow(terminated) = %v, %v", closed, err)
	}
	closed, err = f.c.ListClosedWorkflow(f.ctx(), &workflowservice.ListClosedWorkflowExecutionsRequest{})
	if err != nil || !slices.Equal(f.names(closed.Executions), []string{"w1", "w3", "w4"}) {
		t.Fatalf("ListClosedWorkflow = %v, %v", closed, err)
	}
}

func TestVisibilityPaging(t *testing.T) {
	t.Parallel()
	f := newVisFixture(t)
	var seen []string
	var token []byte
	for page := 0; ; page++ {
		resp, err := f.c.ListWorkflow(f.ctx(), &workflowservice.ListWorkflowExecutionsRequest{PageSize: 1, NextPageToken: token})
		if err != nil {
			t.Fatal(err)
		}
		seen = append(seen, f.names(resp.Executions)...)
		if page == 1 {
			// A workflow started mid-listing must not shift later pages.
			if _, err := f.c.ExecuteWorkflow(f.ctx(), f.opts("vis-late"), VisBlockWorkflow); err != nil {
				t.Fatal(err)
			}
		}
		token = resp.NextPageToken
		if len(token) == 0 {
			break
		}
		if page > 10 {
			t.Fatal("paging does not end")
		}
	}
	slices.Sort(seen)
	if !slices.Equal(seen, []string{"w1", "w2", "w3", "w4"}) {
		t.Fatalf("paged through %v", seen)
	}
	_, err := f.c.ListWorkflow(f.ctx(), &workflowservice.ListWorkflowExecutionsRequest{NextPageToken: []byte("garbage")})
	requireInvalidArgument(t, err, "garbage page token")
	// ORDER BY listings page by offset.
	resp, err := f.c.ListWorkflow(f.ctx(), &workflowservice.ListWorkflowExecutionsRequest{PageSize: 2, Query: "CustomIntField IS NOT NULL ORDER BY CustomIntField DESC"})
	if err != nil || len(resp.Executions) != 2 || len(resp.NextPageToken) == 0 {
		t.Fatalf("ORDER BY page 1 = %v, %v", resp, err)
	}
	if got := resp.Executions[0].GetExecution().GetWorkflowId(); got != f.ids["w3"] {
		t.Errorf("ORDER BY CustomIntField DESC starts with %s, want w3", got)
	}
	resp, err = f.c.ListWorkflow(f.ctx(), &workflowservice.ListWorkflowExecutionsRequest{PageSize: 2, Query: "CustomIntField IS NOT NULL ORDER BY CustomIntField DESC", NextPageToken: resp.NextPageToken})
	if err != nil || !slices.Equal(f.names(resp.Executions), []string{"w1"}) || len(resp.NextPageToken) != 0 {
		t.Fatalf("ORDER BY page 2 = %v, %v", resp, err)
	}
}

func requireInvalidArgument(t *testing.T, err error, what string) {
	t.Helper()
	var ia *serviceerror.InvalidArgument
	if !errors.As(err, &ia) {
		t.Fatalf("%s: got %T %v, want InvalidArgument", what, err, err)
	}
}

func TestVisibilityErrors(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, q := range []string{
		"WorkflowType = ",
		"CustomIntField = 'abc'",
		"CustomBoolField > 'maybe'",
		"NoSuchAttribute = 1",
		"CustomDatetimeField = 'yesterday'",
		"ExecutionStatus = 'Sleeping'",
		"CustomKeywordField = 'a' AND (",
		"ORDER BY",
	} {
		_, err := e.c.ListWorkflow(e.ctx(), &workflowservice.ListWorkflowExecutionsRequest{Query: q})
		requireInvalidArgument(t, err, "ListWorkflow("+q+")")
		_, err = e.c.CountWorkflow(e.ctx(), &workflowservice.CountWorkflowExecutionsRequest{Query: q})
		requireInvalidArgument(t, err, "CountWorkflow("+q+")")
	}
	_, err := e.c.ListWorkflow(e.ctx(), &workflowservice.ListWorkflowExecutionsRequest{Query: "GROUP BY ExecutionStatus"})
	requireInvalidArgument(t, err, "GROUP BY in List")
	for name, v := range map[string]any{"CustomIntField": "x", "CustomBoolField": 3, "CustomDatetimeField": "not a time", "NoSuchAttribute": 1} {
		o := e.opts("badsa")
		o.SearchAttributes = map[string]any{name: v}
		_, err := e.c.ExecuteWorkflow(e.ctx(), o, VisQuickWorkflow)
		requireInvalidArgument(t, err, "start with "+name)
	}
}

func TestOperatorSearchAttributes(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.worker(func(w worker.Worker) { w.RegisterWorkflow(VisQuickWorkflow) })
	op := e.c.OperatorService()
	list := func() map[string]enumspb.IndexedValueType {
		resp, err := e.c.OperatorService().ListSearchAttributes(e.ctx(), &operatorservice.ListSearchAttributesRequest{Namespace: "default"})
		if err != nil {
			t.Fatal(err)
		}
		if resp.SystemAttributes["WorkflowId"] != enumspb.INDEXED_VALUE_TYPE_KEYWORD {
			t.Fatalf("system attributes %v", resp.SystemAttributes)
		}
		return resp.CustomAttributes
	}
	if got := list(); got["CustomKeywordField"] != enumspb.INDEXED_VALUE_TYPE_KEYWORD || got["CustomIntField"] != enumspb.INDEXED_VALUE_TYPE_INT {
		t.Fatalf("defaults missing: %v", got)
	}
	addSearchAttributes(t, e, map[string]enumspb.IndexedValueType{"OrderSize": enumspb.INDEXED_VALUE_TYPE_INT})
	addSearchAttributes(t, e, map[string]enumspb.IndexedValueType{"OrderSize": enumspb.INDEXED_VALUE_TYPE_INT}) // idempotent
	if got := list(); got["OrderSize"] != enumspb.INDEXED_VALUE_TYPE_INT {
		t.Fatalf("added attribute missing: %v", got)
	}
	keys, err := e.c.WorkflowService().GetSearchAttributes(e.ctx(), &workflowservice.GetSearchAttributesRequest{})
	if err != nil || keys.Keys["OrderSize"] != enumspb.INDEXED_VALUE_TYPE_INT || keys.Keys["StartTime"] != enumspb.INDEXED_VALUE_TYPE_DATETIME {
		t.Fatalf("GetSearchAttributes = %v, %v", keys, err)
	}
	o := e.opts("sized")
	o.TypedSearchAttributes = temporal.NewSearchAttributes(temporal.NewSearchAttributeKeyInt64("OrderSize").ValueSet(42))
	run, err := e.c.ExecuteWorkflow(e.ctx(), o, VisQuickWorkflow)
	if err != nil {
		t.Fatal(err)
	}
	if err := run.Get(e.ctx(), nil); err != nil {
		t.Fatal(err)
	}
	resp, err := e.c.ListWorkflow(e.ctx(), &workflowservice.ListWorkflowExecutionsRequest{Query: "OrderSize >= 40"})
	if err != nil || len(resp.Executions) != 1 {
		t.Fatalf("query on added attribute = %v, %v", resp, err)
	}
	for what, attrs := range map[string]map[string]enumspb.IndexedValueType{
		"reserved":      {"WorkflowId": enumspb.INDEXED_VALUE_TYPE_KEYWORD},
		"Temporal name": {"TemporalThing": enumspb.INDEXED_VALUE_TYPE_KEYWORD},
		"type change":   {"OrderSize": enumspb.INDEXED_VALUE_TYPE_KEYWORD},
		"bad type":      {"Weird": enumspb.IndexedValueType(99)},
	} {
		_, err := op.AddSearchAttributes(e.ctx(), &operatorservice.AddSearchAttributesRequest{Namespace: "default", SearchAttributes: attrs})
		requireInvalidArgument(t, err, "add "+what)
	}
	_, err = op.AddSearchAttributes(e.ctx(), &operatorservice.AddSearchAttributesRequest{Namespace: "default"})
	requireInvalidArgument(t, err, "add nothing")
	if _, err := op.RemoveSearchAttributes(e.ctx(), &operatorservice.RemoveSearchAttributesRequest{Namespace: "default", SearchAttributes: []string{"OrderSize"}}); err != nil {
		t.Fatal(err)
	}
	if _, ok := list()["OrderSize"]; ok {
		t.Fatal("removed attribute still listed")
	}
	_, err = e.c.ListWorkflow(e.ctx(), &workflowservice.ListWorkflowExecutionsRequest{Query: "OrderSize >= 40"})
	requireInvalidArgument(t, err, "query on removed attribute")
	_, err = op.RemoveSearchAttributes(e.ctx(), &operatorservice.RemoveSearchAttributesRequest{Namespace: "default", SearchAttributes: []string{"OrderSize"}})
	requireInvalidArgument(t, err, "remove missing attribute")
	_, err = op.RemoveSearchAttributes(e.ctx(), &operatorservice.RemoveSearchAttributesRequest{Namespace: "default", SearchAttributes: []string{"StartTime"}})
	requireInvalidArgument(t, err, "remove system attribute")
	// The registry is durable.
	addSearchAttributes(t, e, map[string]enumspb.IndexedValueType{"Region": enumspb.INDEXED_VALUE_TYPE_KEYWORD})
	e.restart()
	if got := list(); got["Region"] != enumspb.INDEXED_VALUE_TYPE_KEYWORD {
		t.Fatalf("registry after restart: %v", got)
	}
}

func TestDeleteWorkflowAndReverseHistory(t *testing.T) {
	t.Parallel()
	f := newVisFixture(t)
	ctx := f.ctx()
	svc := f.c.WorkflowService()
	// Reverse history is the forward history backwards, paged.
	fwd := f.history(f.ids["w1"], "")
	var rev []int64
	var token []byte
	for {
		resp, err := svc.GetWorkflowExecutionHistoryReverse(ctx, &workflowservice.GetWorkflowExecutionHistoryReverseRequest{
			Namespace: "default", Execution: &commonpb.WorkflowExecution{WorkflowId: f.ids["w1"]}, MaximumPageSize: 2, NextPageToken: token,
		})
		if err != nil {
			t.Fatal(err)
		}
		for _, ev := range resp.History.Events {
			rev = append(rev, ev.EventId)
		}
		if token = resp.NextPageToken; len(token) == 0 {
			break
		}
	}
	if len(rev) != len(fwd) || rev[0] != fwd[len(fwd)-1].EventId || rev[len(rev)-1] != 1 {
		t.Fatalf("reverse history ids %v, forward has %d events", rev, len(fwd))
	}
	// Delete a closed and a running workflow.
	for _, name := range []string{"w4", "w2"} {
		_, err := svc.DeleteWorkflowExecution(ctx, &workflowservice.DeleteWorkflowExecutionRequest{
			Namespace: "default", WorkflowExecution: &commonpb.WorkflowExecution{WorkflowId: f.ids[name]},
		})
		if err != nil {
			t.Fatalf("delete %s: %v", name, err)
		}
		_, err = f.c.DescribeWorkflowExecution(ctx, f.ids[name], "")
		var nf *serviceerror.NotFound
		if !errors.As(err, &nf) {
			t.Fatalf("describe deleted %s: %T %v", name, err, err)
		}
	}
	if got := f.list(t, ""); !slices.Equal(got, []string{"w1", "w3"}) {
		t.Fatalf("listed after delete: %v", got)
	}
	cnt, err := f.c.CountWorkflow(ctx, &workflowservice.CountWorkflowExecutionsRequest{Query: "ExecutionStatus = 'Running'"})
	if err != nil || cnt.Count != 0 {
		t.Fatalf("running count after delete = %v, %v", cnt, err)
	}
	_, err = svc.DeleteWorkflowExecution(ctx, &workflowservice.DeleteWorkflowExecutionRequest{
		Namespace: "default", WorkflowExecution: &commonpb.WorkflowExecution{WorkflowId: f.ids["w4"]},
	})
	var nf *serviceerror.NotFound
	if !errors.As(err, &nf) {
		t.Fatalf("delete twice: %T %v", err, err)
	}
	_, err = svc.DeleteWorkflowExecution(ctx, &workflowservice.DeleteWorkflowExecutionRequest{Namespace: "default"})
	requireInvalidArgument(t, err, "delete without execution")
	// The id can be reused after deletion.
	o := client.StartWorkflowOptions{ID: f.ids["w4"], TaskQueue: f.tq}
	run, err := f.c.ExecuteWorkflow(ctx, o, VisQuickWorkflow)
	if err != nil {
		t.Fatal(err)
	}
	if err := run.Get(ctx, nil); err != nil {
		t.Fatal(err)
	}
	ctxTimeout, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if _, err := f.c.DescribeWorkflowExecution(ctxTimeout, f.ids["w4"], ""); err != nil {
		t.Fatal(err)
	}
}
