package frontend

import (
	"context"
	"errors"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/sundial-io/sundial/internal/visibility"
)

// searchAttributes is the registry of custom search attributes: for now
// the dev server's defaults.
var searchAttributes = visibility.DefaultCustomSearchAttributes()

func queryError(err error) error {
	var qe *visibility.Error
	if errors.As(err, &qe) {
		return serviceerror.NewInvalidArgument(qe.Error())
	}
	return serviceerror.NewInvalidArgument(err.Error())
}

// matching returns the runs of a namespace that match query, in the
// query's order.
func (s *Service) matching(ctx context.Context, ns, query string) (*visibility.Query, []*workflowpb.WorkflowExecutionInfo, error) {
	q, err := visibility.Parse(query, searchAttributes)
	if err != nil {
		return nil, nil, queryError(err)
	}
	infos, err := s.e.ListRuns(ctx, ns)
	if err != nil {
		return nil, nil, err
	}
	out := infos[:0]
	for _, info := range infos {
		if q.Match(info) {
			out = append(out, info)
		}
	}
	q.Sort(out)
	return q, out, nil
}

// Page tokens are the offset of the next page.
func pageToken(next int) []byte { return protowire.AppendVarint(nil, uint64(next)) }

func pageOffset(b []byte) (int, error) {
	if len(b) == 0 {
		return 0, nil
	}
	v, n := protowire.ConsumeVarint(b)
	if n != len(b) {
		return 0, invalid("invalid NextPageToken")
	}
	return int(v), nil
}

func page(infos []*workflowpb.WorkflowExecutionInfo, token []byte, size int32) ([]*workflowpb.WorkflowExecutionInfo, []byte, error) {
	off, err := pageOffset(token)
	if err != nil {
		return nil, nil, err
	}
	if size <= 0 || size > 1000 {
		size = 1000
	}
	if off > len(infos) {
		off = len(infos)
	}
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
	q, infos, err := s.matching(ctx, r.Namespace, r.Query)
	if err != nil {
		return nil, err
	}
	if q.GroupBy() != "" {
		return nil, invalid("GROUP BY is only supported by CountWorkflowExecutions.")
	}
	p, next, err := page(infos, r.NextPageToken, r.PageSize)
	if err != nil {
		return nil, err
	}
	return &workflowservice.ListWorkflowExecutionsResponse{Executions: p, NextPageToken: next}, nil
}

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
	q, infos, err := s.matching(ctx, r.Namespace, r.Query)
	if err != nil {
		return nil, err
	}
	total, groups := q.Count(infos)
	resp := &workflowservice.CountWorkflowExecutionsResponse{Count: total}
	for _, g := range groups {
		resp.Groups = append(resp.Groups, &workflowservice.CountWorkflowExecutionsResponse_AggregationGroup{GroupValues: g.Values, Count: g.Count})
	}
	return resp, nil
}

func (s *Service) GetSearchAttributes(ctx context.Context, r *workflowservice.GetSearchAttributesRequest) (*workflowservice.GetSearchAttributesResponse, error) {
	keys := map[string]enumspb.IndexedValueType{}
	for k, v := range visibility.SystemSearchAttributes() {
		keys[k] = v
	}
	for k, v := range searchAttributes {
		keys[k] = v
	}
	return &workflowservice.GetSearchAttributesResponse{Keys: keys}, nil
}

// validateSearch type-checks search attributes against the registry.
func validateSearch(sa *commonpb.SearchAttributes) error {
	if len(sa.GetIndexedFields()) == 0 {
		return nil
	}
	if err := visibility.ValidateSearchAttributes(sa, searchAttributes); err != nil {
		return serviceerror.NewInvalidArgument(err.Error())
	}
	return nil
}
