package engine

import (
	"context"
	"slices"

	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/workflowservice/v1"

	"github.com/sundial-io/sundial/internal/execution"
)

// HistoryReverse serves GetWorkflowExecutionHistoryReverse: the history of
// a run newest event first (the Web UI and `temporal workflow show
// --reverse` read recent events of long histories this way). Page tokens
// carry the run id and the highest event id of the next page, so paging
// does not drift while the run keeps appending events.
func (e *Engine) HistoryReverse(ctx context.Context, r *workflowservice.GetWorkflowExecutionHistoryReverseRequest) (*workflowservice.GetWorkflowExecutionHistoryReverseResponse, error) {
	ns, id := r.Namespace, r.Execution.GetWorkflowId()
	runID, last := r.Execution.GetRunId(), int64(0)
	if len(r.NextPageToken) > 0 {
		var err error
		if runID, last, err = decodePageToken(r.NextPageToken); err != nil {
			return nil, err
		}
	} else {
		err := e.view(ctx, ns, id, runID, func(st *execution.State) error {
			runID, last = st.RunID, st.StoredNextEventID()-1
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	pageSize := int64(r.MaximumPageSize)
	if pageSize <= 0 || pageSize > 1000 {
		pageSize = 1000
	}
	from := max(last-pageSize+1, 1)
	resp := &workflowservice.GetWorkflowExecutionHistoryReverseResponse{History: &historypb.History{}}
	if last < 1 {
		return resp, nil
	}
	evs, err := e.readHistory(ctx, ns, id, runID, from, int(last-from+1))
	if err != nil {
		return nil, err
	}
	evs = slices.Clone(evs)
	slices.Reverse(evs)
	resp.History.Events = evs
	if from > 1 {
		resp.NextPageToken = encodePageToken(runID, from-1)
	}
	return resp, nil
}
