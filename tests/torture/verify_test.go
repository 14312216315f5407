package torture

import (
	"strings"
	"testing"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
)

func hist(types ...enumspb.EventType) []*historypb.HistoryEvent {
	var out []*historypb.HistoryEvent
	for i, t := range types {
		ev := &historypb.HistoryEvent{EventId: int64(i + 1), EventType: t}
		switch t {
		case enumspb.EVENT_TYPE_WORKFLOW_TASK_STARTED:
			ev.Attributes = &historypb.HistoryEvent_WorkflowTaskStartedEventAttributes{WorkflowTaskStartedEventAttributes: &historypb.WorkflowTaskStartedEventAttributes{ScheduledEventId: int64(i)}}
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_STARTED:
			ev.Attributes = &historypb.HistoryEvent_ActivityTaskStartedEventAttributes{ActivityTaskStartedEventAttributes: &historypb.ActivityTaskStartedEventAttributes{ScheduledEventId: int64(i)}}
		}
		out = append(out, ev)
	}
	return out
}

// The checker must catch what it claims to catch.
func TestWellFormedDetects(t *testing.T) {
	const (
		st   = enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED
		ws   = enumspb.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED
		wst  = enumspb.EVENT_TYPE_WORKFLOW_TASK_STARTED
		wc   = enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED
		as   = enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
		ast  = enumspb.EVENT_TYPE_ACTIVITY_TASK_STARTED
		done = enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED
		sig  = enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED
	)
	if p := wellFormed(hist(st, ws, wst, wc, done)); len(p) != 0 {
		t.Fatalf("good history flagged: %v", p)
	}
	bad := map[string][]*historypb.HistoryEvent{
		"never closed":          hist(st, ws, wst),
		"followed by":           hist(st, ws, wst, sig, wc, done),
		"close events":          hist(st, ws, wst, wc),
		"is not last":           hist(st, ws, wst, wc, done, sig),
		"scheduled at 5 closed": hist(st, ws, wst, wc, as, ast, done),
	}
	gap := hist(st, ws, wst, wc, done)
	gap[3].EventId = 5
	bad["has id"] = gap
	for want, evs := range bad {
		p := strings.Join(wellFormed(evs), "; ")
		if !strings.Contains(p, want) {
			t.Errorf("%q not detected: got %q", want, p)
		}
	}
}
