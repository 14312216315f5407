package frontend

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	filterpb "go.temporal.io/api/filter/v1"
	"go.temporal.io/api/serviceerror"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/sundial-io/sundial/internal/store"
	"github.com/sundial-io/sundial/internal/visibility"
)

// Visibility: List/Scan/Count and ListOpen/ListClosed. Queries are parsed
// against the namespace's search attribute registry and answered from the
// store's visibility index, which holds runs in Temporal's default order,
// so a page costs a seek plus the records it reads (and skips), not a
// decode of every run. Queries with ORDER BY fall back to reading and
// sorting all runs.

// maxPageSize is Temporal's frontend.visibilityMaxPageSize default.
const maxPageSize = 1000

// Page tokens of index listings are tokenCursor followed by a cursor into
// the index, stable while runs start, close or are deleted; ORDER BY
// listings use offsets (pageToken).
const tokenCursor = 'c'

func queryError(err error) error {
	var qe *visibility.Error
	if errors.As(err, &qe) {
		return serviceerror.NewInvalidArgument(qe.Error())
	}
	return serviceerror.NewInvalidArgument(err.Error())
}

// parse parses a query against the namespace's registry.
func (s *Service) parse(ctx context.Context, ns, query string) (*visibility.Query, error) {
	custom, err := s.e.SearchAttributes(ctx, ns)
	if err != nil {
		return nil, err
	}
	q, err := visibility.Parse(query, custom)
	if err != nil {
		return nil, queryError(err)
	}
	return q, nil
}

// listOptions narrows the index scan to the partitions the query can match;
// ok is false when none can.
func listOptions(q *visibility.Query) (opts store.ListOptions, ok bool) {
	open, closed := q.Partitions()
	return store.ListOptions{OpenOnly: open && !closed, ClosedOnly: closed && !open}, open || closed
}

// page returns one page of the runs matching q, and the token of the next
// page (nil when this one is the last or was not full).
func (s *Service) page(ctx context.Context, ns string, q *visibility.Query, token []byte, size int32) ([]*workflowpb.WorkflowExecutionInfo, []byte, error) {
	if size <= 0 || size > maxPageSize {
		size = maxPageSize
	}
	if len(q.OrderBy()) > 0 {
		return s.sortedPage(ctx, ns, q, token, int(size))
	}
	opts, ok := listOptions(q)
	if !ok {
		return nil, nil, nil
	}
	if len(token) > 0 {
		if token[0] != tokenCursor || len(token) == 1 {
			return nil, nil, invalid("Invalid NextPageToken.")
		}
		opts.After = token[1:]
	}
	opts.Fields, opts.Match = q.Fields(), q.Match
	var out []*workflowpb.WorkflowExecutionInfo
	var next []byte
	err := s.e.ListVisibility(ctx, ns, opts, func(cursor []byte, info *workflowpb.WorkflowExecutionInfo) error {
		out = append(out, info)
		if len(out) == int(size) {
			next = append([]byte{tokenCursor}, cursor...)
			return store.ErrStop
		}
		return nil
	})
	return out, next, err
}

// sortedPage serves ORDER BY queries: every matching run is read and
// sorted, and the token is an offset.
func (s *Service) sortedPage(ctx context.Context, ns string, q *visibility.Query, token []byte, size int) ([]*workflowpb.WorkflowExecutionInfo, []byte, error) {
	if _, err := pageOffset(token); err != nil {
		return nil, nil, err
	}
	var all []*workflowpb.WorkflowExecutionInfo
	opts := store.ListOptions{Fields: q.Fields(), Match: q.Match}
	err := s.e.ListVisibility(ctx, ns, opts, func(_ []byte, info *workflowpb.WorkflowExecutionInfo) error {
		all = append(all, info)
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	q.Sort(all)
	return page(all, token, int32(size))
}

// Offset tokens (ORDER BY queries) are the varint offset of the next page.
func pageToken(next int) []byte { return protowire.AppendVarint(nil, uint64(next)) }

func pageOffset(b []byte) (int, error) {
	if len(b) == 0 {
		return 0, nil
	}
	v, n := protowire.ConsumeVarint(b)
	if n != len(b) {
		return 0, invalid("Invalid NextPageToken.")
	}
	return int(min(v, 1<<40)), nil // clamped: an offset past the end is the end
}

// page cuts one page out of sorted records.
func page(infos []*workflowpb.WorkflowExecutionInfo, token []byte, size int32) ([]*workflowpb.WorkflowExecutionInfo, []byte, error) {
	off, err := pageOffset(token)
	if err != nil {
		return nil, nil, err
	}
	if size <= 0 || size > maxPageSize {
		size = maxPageSize
	}
	off = min(off, len(infos))
	end := off + int(size)
	if end >= len(infos) {
		return infos[off:], nil, nil
	}
	return infos[off:end], pageToken(end), nil
}

func (s *Service) ListWorkflowExecutions(ctx context.Context, r *workflowservice.ListWorkflowExecutionsRequest) (*workflowservice.ListWorkflowExecutionsResponse, error) {
	if err := s.ns(r.Namespace); err != nil {
		return nil, err
	}
	q, err := s.parse(ctx, r.Namespace, r.Query)
	if err != nil {
		return nil, err
	}
	if q.GroupBy() != "" {
		return nil, invalid("GROUP BY is only supported by CountWorkflowExecutions.")
	}
	p, next, err := s.page(ctx, r.Namespace, q, r.NextPageToken, r.PageSize)
	if err != nil {
		return nil, err
	}
	return &workflowservice.ListWorkflowExecutionsResponse{Executions: p, NextPageToken: next}, nil
}

// ScanWorkflowExecutions is List without ordering guarantees in Temporal;
// here it is List.
func (s *Service) ScanWorkflowExecutions(ctx context.Context, r *workflowservice.ScanWorkflowExecutionsRequest) (*workflowservice.ScanWorkflowExecutionsResponse, error) {
	resp, err := s.ListWorkflowExecutions(ctx, &workflowservice.ListWorkflowExecutionsRequest{Namespace: r.Namespace, PageSize: r.PageSize, NextPageToken: r.NextPageToken, Query: r.Query})
	if err != nil {
		return nil, err
	}
	return &workflowservice.ScanWorkflowExecutionsResponse{Executions: resp.Executions, NextPageToken: resp.NextPageToken}, nil
}

func (s *Service) CountWorkflowExecutions(ctx context.Context, r *workflowservice.CountWorkflowExecutionsRequest) (*workflowservice.CountWorkflowExecutionsResponse, error) {
	if err := s.ns(r.Namespace); err != nil {
		return nil, err
	}
	q, err := s.parse(ctx, r.Namespace, r.Query)
	if err != nil {
		return nil, err
	}
	resp := &workflowservice.CountWorkflowExecutionsResponse{}
	var groups []visibility.Group
	if field, value, statuses, ok := q.Statuses(); ok {
		// Status queries, alone or with a workflow type or task queue,
		// are answered by counting index keys.
		by := store.CountBy{}
		switch field {
		case visibility.WorkflowType:
			by = store.ByType(value)
		case visibility.TaskQueue:
			by = store.ByTaskQueue(value)
		}
		counts, err := s.e.CountByStatus(ctx, r.Namespace, by, statuses)
		if err != nil {
			return nil, err
		}
		for _, n := range counts {
			resp.Count += n
		}
		if q.GroupBy() != "" {
			groups = visibility.StatusGroups(counts)
		}
	} else {
		opts, ok := listOptions(q)
		// The counter reads only the fields the query names, so the store
		// decodes only those.
		opts.Fields = q.Fields()
		c := q.NewCounter()
		if ok {
			err = s.e.ListVisibility(ctx, r.Namespace, opts, func(_ []byte, info *workflowpb.WorkflowExecutionInfo) error {
				c.Add(info)
				return nil
			})
			if err != nil {
				return nil, err
			}
		}
		resp.Count, groups = c.Result()
	}
	for _, g := range groups {
		resp.Groups = append(resp.Groups, &workflowservice.CountWorkflowExecutionsResponse_AggregationGroup{GroupValues: g.Values, Count: g.Count})
	}
	return resp, nil
}

// quote makes s a string literal of the list-filter language.
func quote(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `''`).Replace(s) + "'"
}

// timeFilter turns a StartTimeFilter into a condition on field, as
// Temporal's frontend does (ListClosed filters on CloseTime).
func timeFilter(field string, f *filterpb.StartTimeFilter) ([]string, error) {
	from, to := f.GetEarliestTime(), f.GetLatestTime()
	set := func(t interface{ AsTime() time.Time }) bool { return t != nil && !t.AsTime().IsZero() }
	format := func(t interface{ AsTime() time.Time }) string { return quote(t.AsTime().Format(time.RFC3339Nano)) }
	switch {
	case from != nil && set(from) && to != nil && set(to):
		if from.AsTime().After(to.AsTime()) {
			return nil, invalid("EarliestTime in StartTimeFilter should not be larger than LatestTime.")
		}
		return []string{fmt.Sprintf("%s BETWEEN %s AND %s", field, format(from), format(to))}, nil
	case from != nil && set(from):
		return []string{fmt.Sprintf("%s >= %s", field, format(from))}, nil
	case to != nil && set(to):
		return []string{fmt.Sprintf("%s <= %s", field, format(to))}, nil
	}
	return nil, nil
}

// listFiltered serves ListOpen/ListClosed by building the query Temporal's
// frontend builds for them.
func (s *Service) listFiltered(ctx context.Context, ns string, terms []string, size int32, token []byte) ([]*workflowpb.WorkflowExecutionInfo, []byte, error) {
	q, err := s.parse(ctx, ns, strings.Join(terms, " AND "))
	if err != nil {
		return nil, nil, err
	}
	return s.page(ctx, ns, q, token, size)
}

func (s *Service) ListOpenWorkflowExecutions(ctx context.Context, r *workflowservice.ListOpenWorkflowExecutionsRequest) (*workflowservice.ListOpenWorkflowExecutionsResponse, error) {
	if err := s.ns(r.Namespace); err != nil {
		return nil, err
	}
	terms := []string{"ExecutionStatus = 'Running'"}
	tf, err := timeFilter("StartTime", r.StartTimeFilter)
	if err != nil {
		return nil, err
	}
	terms = append(terms, tf...)
	if f := r.GetExecutionFilter(); f != nil {
		terms = append(terms, "WorkflowId = "+quote(f.GetWorkflowId()))
	} else if f := r.GetTypeFilter(); f != nil {
		terms = append(terms, "WorkflowType = "+quote(f.GetName()))
	}
	p, next, err := s.listFiltered(ctx, r.Namespace, terms, r.MaximumPageSize, r.NextPageToken)
	if err != nil {
		return nil, err
	}
	return &workflowservice.ListOpenWorkflowExecutionsResponse{Executions: p, NextPageToken: next}, nil
}

func (s *Service) ListClosedWorkflowExecutions(ctx context.Context, r *workflowservice.ListClosedWorkflowExecutionsRequest) (*workflowservice.ListClosedWorkflowExecutionsResponse, error) {
	if err := s.ns(r.Namespace); err != nil {
		return nil, err
	}
	terms := []string{"ExecutionStatus != 'Running'"}
	tf, err := timeFilter("CloseTime", r.StartTimeFilter)
	if err != nil {
		return nil, err
	}
	terms = append(terms, tf...)
	switch {
	case r.GetExecutionFilter() != nil:
		terms = append(terms, "WorkflowId = "+quote(r.GetExecutionFilter().GetWorkflowId()))
	case r.GetTypeFilter() != nil:
		terms = append(terms, "WorkflowType = "+quote(r.GetTypeFilter().GetName()))
	case r.GetStatusFilter() != nil:
		st := r.GetStatusFilter().GetStatus()
		if st == enumspb.WORKFLOW_EXECUTION_STATUS_UNSPECIFIED || st == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
			return nil, invalid("StatusFilter must be specified and must be not Running.")
		}
		terms = append(terms, "ExecutionStatus = "+quote(st.String()))
	}
	p, next, err := s.listFiltered(ctx, r.Namespace, terms, r.MaximumPageSize, r.NextPageToken)
	if err != nil {
		return nil, err
	}
	return &workflowservice.ListClosedWorkflowExecutionsResponse{Executions: p, NextPageToken: next}, nil
}

func (s *Service) GetSearchAttributes(ctx context.Context, r *workflowservice.GetSearchAttributesRequest) (*workflowservice.GetSearchAttributesResponse, error) {
	custom, err := s.e.SearchAttributes(ctx, defaultNamespace)
	if err != nil {
		return nil, err
	}
	return &workflowservice.GetSearchAttributesResponse{Keys: allSearchAttributes(custom)}, nil
}

// defaultNamespace is whose registry GetSearchAttributes reports: the
// request names no namespace (in Temporal the answer is cluster-wide).
const defaultNamespace = "default"

// allSearchAttributes is custom plus system and predefined attributes.
func allSearchAttributes(custom map[string]enumspb.IndexedValueType) map[string]enumspb.IndexedValueType {
	keys := visibility.SystemSearchAttributes()
	for k, v := range visibility.PredefinedSearchAttributes() {
		keys[k] = v
	}
	for k, v := range custom {
		keys[k] = v
	}
	return keys
}

// validateSearchIn type-checks search attributes against the registry of
// namespace ns (InvalidArgument with Temporal's wording).
func (s *Service) validateSearchIn(ns string, sa *commonpb.SearchAttributes) error {
	return s.e.ValidateSearchAttributes(ns, sa)
}
