package frontend

import (
	"context"

	"github.com/google/uuid"
	deploymentpb "go.temporal.io/api/deployment/v1"
	"go.temporal.io/api/workflowservice/v1"

	"github.com/sundial-io/sundial/internal/engine"
)

// Explicit Worker Deployment and version creation and compute config
// (engine/deployment_create.go), with Temporal's request checks: an empty
// deployment name or build id is named first, then the usual rules of the
// fields; a missing request id is a fresh one (so a retry without one is
// not idempotent, as in Temporal).

func requestIDOrNew(id string) string {
	if id == "" {
		return uuid.NewString()
	}
	return id
}

// checkExplicitVersion checks the version of a create or compute config
// request.
func checkExplicitVersion(v *deploymentpb.WorkerDeploymentVersion) error {
	if v.GetDeploymentName() == "" {
		return invalid("deployment name cannot be empty")
	}
	if v.GetBuildId() == "" {
		return invalid("build ID cannot be empty")
	}
	if err := checkDeploymentName(v.DeploymentName); err != nil {
		return err
	}
	return checkBuildID(v.BuildId)
}

func (s *Service) CreateWorkerDeployment(ctx context.Context, r *workflowservice.CreateWorkerDeploymentRequest) (*workflowservice.CreateWorkerDeploymentResponse, error) {
	if err := s.ns(r.Namespace); err != nil {
		return nil, err
	}
	if r.DeploymentName == "" {
		return nil, invalid("deployment name cannot be empty")
	}
	if err := checkDeploymentName(r.DeploymentName); err != nil {
		return nil, err
	}
	token, err := s.e.CreateWorkerDeployment(r.Namespace, r.DeploymentName, r.Identity, requestIDOrNew(r.RequestId))
	if err != nil {
		return nil, err
	}
	return &workflowservice.CreateWorkerDeploymentResponse{ConflictToken: token}, nil
}

func (s *Service) CreateWorkerDeploymentVersion(ctx context.Context, r *workflowservice.CreateWorkerDeploymentVersionRequest) (*workflowservice.CreateWorkerDeploymentVersionResponse, error) {
	if err := s.ns(r.Namespace); err != nil {
		return nil, err
	}
	if err := checkExplicitVersion(r.DeploymentVersion); err != nil {
		return nil, err
	}
	v := r.DeploymentVersion
	if err := s.e.CreateWorkerDeploymentVersion(r.Namespace, v.DeploymentName, v.BuildId, r.Identity, requestIDOrNew(r.RequestId), r.ComputeConfig); err != nil {
		return nil, err
	}
	return &workflowservice.CreateWorkerDeploymentVersionResponse{}, nil
}

func (s *Service) UpdateWorkerDeploymentVersionComputeConfig(ctx context.Context, r *workflowservice.UpdateWorkerDeploymentVersionComputeConfigRequest) (*workflowservice.UpdateWorkerDeploymentVersionComputeConfigResponse, error) {
	if err := s.ns(r.Namespace); err != nil {
		return nil, err
	}
	if err := checkExplicitVersion(r.DeploymentVersion); err != nil {
		return nil, err
	}
	v := r.DeploymentVersion
	err := s.e.UpdateWorkerDeploymentVersionComputeConfig(engine.ComputeChange{Namespace: r.Namespace, Deployment: v.DeploymentName,
		BuildID: v.BuildId, Identity: r.Identity, RequestID: requestIDOrNew(r.RequestId),
		Upserts: r.ComputeConfigScalingGroups, Removes: r.RemoveComputeConfigScalingGroups})
	if err != nil {
		return nil, err
	}
	return &workflowservice.UpdateWorkerDeploymentVersionComputeConfigResponse{}, nil
}

// ValidateWorkerDeploymentVersionComputeConfig needs no version (Temporal
// validates the change on its own then); one that is given is checked.
func (s *Service) ValidateWorkerDeploymentVersionComputeConfig(ctx context.Context, r *workflowservice.ValidateWorkerDeploymentVersionComputeConfigRequest) (*workflowservice.ValidateWorkerDeploymentVersionComputeConfigResponse, error) {
	if err := s.ns(r.Namespace); err != nil {
		return nil, err
	}
	v := r.DeploymentVersion
	if v != nil {
		if err := checkExplicitVersion(v); err != nil {
			return nil, err
		}
	}
	err := s.e.ValidateWorkerDeploymentVersionComputeConfig(engine.ComputeChange{Namespace: r.Namespace, Deployment: v.GetDeploymentName(),
		BuildID: v.GetBuildId(), Identity: r.Identity, Upserts: r.ComputeConfigScalingGroups, Removes: r.RemoveComputeConfigScalingGroups})
	if err != nil {
		return nil, err
	}
	return &workflowservice.ValidateWorkerDeploymentVersionComputeConfigResponse{}, nil
}
