package frontend

import (
	"context"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
)

// FetchWorkerConfig and UpdateWorkerConfig (worker commands) are not
// offered: Temporal 1.31 answers both Unimplemented ("command is not
// enabled") whatever its configuration.

func (s *Service) FetchWorkerConfig(ctx context.Context, r *workflowservice.FetchWorkerConfigRequest) (*workflowservice.FetchWorkerConfigResponse, error) {
	return nil, serviceerror.NewUnimplemented("FetchWorkerConfig command is not enabled: Sundial does not offer worker commands, as Temporal 1.31 does not.")
}

func (s *Service) UpdateWorkerConfig(ctx context.Context, r *workflowservice.UpdateWorkerConfigRequest) (*workflowservice.UpdateWorkerConfigResponse, error) {
	return nil, serviceerror.NewUnimplemented("UpdateWorkerConfig command is not enabled: Sundial does not offer worker commands, as Temporal 1.31 does not.")
}
