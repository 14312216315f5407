package frontend

import (
	"context"
	"strings"

	deploymentpb "go.temporal.io/api/deployment/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"

	"github.com/sundial-io/sundial/internal/engine"
	"github.com/sundial-io/sundial/internal/execution"
)

// The Worker Deployment RPCs (worker versioning), served by the engine
// (engine/deployments.go, engine/deployment_api.go). Deployments and
// versions come into being when versioned workers poll; these RPCs read
// them and change their routing.

// unversionedVersion is the deprecated string form of "no version".
const unversionedVersion = "__unversioned__"

// maxVersionField is Temporal's limit on a deployment name or build id:
// half of the id length limit left after its version workflow id prefix.
const maxVersionField = (maxIDLength - 39) / 2

// checkVersionField checks a deployment name or build id as Temporal does.
func checkVersionField(field, v string) error {
	switch {
	case v == "":
		return invalid("%s cannot be empty", field)
	case len(v) > maxVersionField:
		return invalid("size of %s larger than the maximum allowed", field)
	case field == "WorkerDeploymentName" && strings.Contains(v, "."):
		return invalid("worker deployment name cannot contain '.'")
	case field == "WorkerDeploymentName" && strings.Contains(v, ":"):
		return invalid("worker deployment name cannot contain ':'")
	case strings.HasPrefix(v, "__"):
		return invalid("%s cannot start with '__'", field)
	}
	return nil
}

func checkDeploymentName(name string) error { return checkVersionField("WorkerDeploymentName", name) }

func checkBuildID(id string) error { return checkVersionField("BuildID", id) }

// checkPollerDeployment checks the deployment options of a versioned
// poller.
func checkPollerDeployment(o *deploymentpb.WorkerDeploymentOptions) error {
	if o.GetWorkerVersioningMode() != enumspb.WORKER_VERSIONING_MODE_VERSIONED {
		return nil
	}
	if err := checkDeploymentName(o.DeploymentName); err != nil {
		return err
	}
	return checkBuildID(o.BuildId)
}

// deploymentVersionOf reads a request's version: the structured field,
// else the deprecated "<deployment>.<build id>" string.
func deploymentVersionOf(v *deploymentpb.WorkerDeploymentVersion, str string) (name, buildID string, err error) {
	if v != nil {
		if err := checkDeploymentName(v.DeploymentName); err != nil {
			return "", "", err
		}
		if err := checkBuildID(v.BuildId); err != nil {
			return "", "", err
		}
		return v.DeploymentName, v.BuildId, nil
	}
	i := strings.IndexByte(str, '.')
	if i <= 0 || i == len(str)-1 {
		return "", "", invalid("invalid version string %q, expected format is \"<deployment_name>.<build_id>\"", str)
	}
	return str[:i], str[i+1:], nil
}

// buildIDOf reads the target build id of a routing change: BuildId, else
// the deprecated version string ("" and "__unversioned__": unversioned).
func buildIDOf(deployment, buildID, version string) (string, error) {
	if buildID != "" {
		return buildID, checkBuildID(buildID)
	}
	if version == "" || version == unversionedVersion {
		return "", nil
	}
	name, b, err := deploymentVersionOf(nil, version)
	if err != nil {
		return "", err
	}
	if name != deployment {
		return "", invalid("invalid version string '%s' does not match deployment name '%s'", version, deployment)
	}
	return b, nil
}

func (s *Service) DescribeWorkerDeployment(ctx context.Context, r *workflowservice.DescribeWorkerDeploymentRequest) (*workflowservice.DescribeWorkerDeploymentResponse, error) {
	if err := s.ns(r.Namespace); err != nil {
		return nil, err
	}
	if err := checkDeploymentName(r.DeploymentName); err != nil {
		return nil, err
	}
	return s.e.DescribeWorkerDeployment(ctx, r.Namespace, r.DeploymentName)
}

func (s *Service) ListWorkerDeployments(ctx context.Context, r *workflowservice.ListWorkerDeploymentsRequest) (*workflowservice.ListWorkerDeploymentsResponse, error) {
	if err := s.ns(r.Namespace); err != nil {
		return nil, err
	}
	size := int(r.PageSize)
	if size <= 0 || size > 1000 {
		size = 1000
	}
	out, next := s.e.ListWorkerDeployments(r.Namespace, size, string(r.NextPageToken))
	resp := &workflowservice.ListWorkerDeploymentsResponse{WorkerDeployments: out}
	if next != "" {
		resp.NextPageToken = []byte(next)
	}
	return resp, nil
}

func (s *Service) DeleteWorkerDeployment(ctx context.Context, r *workflowservice.DeleteWorkerDeploymentRequest) (*workflowservice.DeleteWorkerDeploymentResponse, error) {
	if err := s.ns(r.Namespace); err != nil {
		return nil, err
	}
	if err := checkDeploymentName(r.DeploymentName); err != nil {
		return nil, err
	}
	if err := s.e.DeleteWorkerDeployment(r.Namespace, r.DeploymentName, r.Identity); err != nil {
		return nil, err
	}
	return &workflowservice.DeleteWorkerDeploymentResponse{}, nil
}

func (s *Service) DescribeWorkerDeploymentVersion(ctx context.Context, r *workflowservice.DescribeWorkerDeploymentVersionRequest) (*workflowservice.DescribeWorkerDeploymentVersionResponse, error) {
	if err := s.ns(r.Namespace); err != nil {
		return nil, err
	}
	//lint:ignore SA1019 older clients send the string form
	name, build, err := deploymentVersionOf(r.DeploymentVersion, r.Version)
	if err != nil {
		return nil, err
	}
	return s.e.DescribeWorkerDeploymentVersion(ctx, r.Namespace, name, build)
}

func (s *Service) DeleteWorkerDeploymentVersion(ctx context.Context, r *workflowservice.DeleteWorkerDeploymentVersionRequest) (*workflowservice.DeleteWorkerDeploymentVersionResponse, error) {
	if err := s.ns(r.Namespace); err != nil {
		return nil, err
	}
	//lint:ignore SA1019 older clients send the string form
	name, build, err := deploymentVersionOf(r.DeploymentVersion, r.Version)
	if err != nil {
		return nil, err
	}
	if err := s.e.DeleteWorkerDeploymentVersion(ctx, r.Namespace, name, build, r.Identity, r.SkipDrainage); err != nil {
		return nil, err
	}
	return &workflowservice.DeleteWorkerDeploymentVersionResponse{}, nil
}

func previousVersion(deployment, buildID string) (string, *deploymentpb.WorkerDeploymentVersion) {
	if buildID == "" {
		return unversionedVersion, nil
	}
	return deployment + "." + buildID, &deploymentpb.WorkerDeploymentVersion{DeploymentName: deployment, BuildId: buildID}
}

func (s *Service) SetWorkerDeploymentCurrentVersion(ctx context.Context, r *workflowservice.SetWorkerDeploymentCurrentVersionRequest) (*workflowservice.SetWorkerDeploymentCurrentVersionResponse, error) {
	if err := s.ns(r.Namespace); err != nil {
		return nil, err
	}
	if err := checkDeploymentName(r.DeploymentName); err != nil {
		return nil, err
	}
	//lint:ignore SA1019 older clients send the string form
	build, err := buildIDOf(r.DeploymentName, r.BuildId, r.Version)
	if err != nil {
		return nil, err
	}
	res, err := s.e.SetRouting(ctx, engine.RoutingChange{Namespace: r.Namespace, Deployment: r.DeploymentName, BuildID: build,
		Identity: r.Identity, ConflictToken: r.ConflictToken, IgnoreMissingTaskQueues: r.IgnoreMissingTaskQueues, AllowNoPollers: r.AllowNoPollers})
	if err != nil {
		return nil, err
	}
	str, v := previousVersion(r.DeploymentName, res.PreviousBuildID)
	resp := &workflowservice.SetWorkerDeploymentCurrentVersionResponse{ConflictToken: res.ConflictToken, PreviousDeploymentVersion: v}
	//lint:ignore SA1019 older clients read the string form
	resp.PreviousVersion = str
	return resp, nil
}

func (s *Service) SetWorkerDeploymentRampingVersion(ctx context.Context, r *workflowservice.SetWorkerDeploymentRampingVersionRequest) (*workflowservice.SetWorkerDeploymentRampingVersionResponse, error) {
	if err := s.ns(r.Namespace); err != nil {
		return nil, err
	}
	if err := checkDeploymentName(r.DeploymentName); err != nil {
		return nil, err
	}
	if r.Percentage < 0 || r.Percentage > 100 {
		return nil, invalid("Percentage must be between 0 and 100 (inclusive)")
	}
	//lint:ignore SA1019 older clients send the string form
	build, err := buildIDOf(r.DeploymentName, r.BuildId, r.Version)
	if err != nil {
		return nil, err
	}
	res, err := s.e.SetRouting(ctx, engine.RoutingChange{Namespace: r.Namespace, Deployment: r.DeploymentName, BuildID: build,
		Identity: r.Identity, ConflictToken: r.ConflictToken, IgnoreMissingTaskQueues: r.IgnoreMissingTaskQueues, AllowNoPollers: r.AllowNoPollers,
		Ramping: true, Percentage: r.Percentage})
	if err != nil {
		return nil, err
	}
	resp := &workflowservice.SetWorkerDeploymentRampingVersionResponse{ConflictToken: res.ConflictToken}
	if res.PreviousBuildID != "" || res.PreviousPercentage != 0 {
		str, v := previousVersion(r.DeploymentName, res.PreviousBuildID)
		resp.PreviousDeploymentVersion = v
		//lint:ignore SA1019 older clients read the string form
		resp.PreviousVersion = str
		//lint:ignore SA1019 older clients read it
		resp.PreviousPercentage = res.PreviousPercentage
	}
	return resp, nil
}

func (s *Service) SetWorkerDeploymentManager(ctx context.Context, r *workflowservice.SetWorkerDeploymentManagerRequest) (*workflowservice.SetWorkerDeploymentManagerResponse, error) {
	if err := s.ns(r.Namespace); err != nil {
		return nil, err
	}
	if err := checkDeploymentName(r.DeploymentName); err != nil {
		return nil, err
	}
	manager := r.GetManagerIdentity()
	if r.GetSelf() {
		if r.Identity == "" {
			return nil, invalid("Identity must be set when Self is true")
		}
		manager = r.Identity
	} else if r.NewManagerIdentity == nil {
		return nil, invalid("NewManagerIdentity is not set on request.")
	}
	prev, token, err := s.e.SetWorkerDeploymentManager(r.Namespace, r.DeploymentName, manager, r.Identity, r.ConflictToken)
	if err != nil {
		return nil, err
	}
	return &workflowservice.SetWorkerDeploymentManagerResponse{ConflictToken: token, PreviousManagerIdentity: prev}, nil
}

func (s *Service) UpdateWorkerDeploymentVersionMetadata(ctx context.Context, r *workflowservice.UpdateWorkerDeploymentVersionMetadataRequest) (*workflowservice.UpdateWorkerDeploymentVersionMetadataResponse, error) {
	if err := s.ns(r.Namespace); err != nil {
		return nil, err
	}
	//lint:ignore SA1019 older clients send the string form
	name, build, err := deploymentVersionOf(r.DeploymentVersion, r.Version)
	if err != nil {
		return nil, err
	}
	md, err := s.e.UpdateWorkerDeploymentVersionMetadata(r.Namespace, name, build, r.UpsertEntries, r.RemoveEntries, r.Identity)
	if err != nil {
		return nil, err
	}
	return &workflowservice.UpdateWorkerDeploymentVersionMetadataResponse{Metadata: md}, nil
}

// checkVersioningOverride refuses overrides Temporal refuses; the one-time
// override (Temporal's newest kind) is not offered.
func checkVersioningOverride(o *workflowpb.VersioningOverride) error {
	if o == nil {
		return nil
	}
	var v *deploymentpb.WorkerDeploymentVersion
	switch x := o.Override.(type) {
	case *workflowpb.VersioningOverride_AutoUpgrade:
		if !x.AutoUpgrade {
			return invalid("auto-upgrade override must be true")
		}
		return nil
	case *workflowpb.VersioningOverride_Pinned:
		if x.Pinned.GetVersion() == nil {
			return invalid("must provide version if override is pinned.")
		}
		if x.Pinned.GetBehavior() == workflowpb.VersioningOverride_PINNED_OVERRIDE_BEHAVIOR_UNSPECIFIED {
			return invalid("must specify pinned override behavior if override is pinned.")
		}
		v = x.Pinned.Version
	case *workflowpb.VersioningOverride_OneTime:
		return serviceerror.NewUnimplemented("VersioningOverride.one_time is not offered: Sundial supports pinned and auto-upgrade overrides.")
	default:
		//lint:ignore SA1019 older clients send the deprecated fields only
		switch o.Behavior {
		case enumspb.VERSIONING_BEHAVIOR_PINNED:
			if execution.OverridePinnedVersion(o) == nil {
				return invalid("must provide deployment (deprecated) or pinned version if behavior is 'PINNED'")
			}
			return nil
		case enumspb.VERSIONING_BEHAVIOR_AUTO_UPGRADE:
			//lint:ignore SA1019 older clients send the deprecated fields only
			if o.Deployment != nil || o.PinnedVersion != "" {
				return invalid("only provide deployment or pinned version if behavior is 'PINNED'")
			}
			return nil
		default:
			return invalid("override behavior is required")
		}
	}
	if err := checkDeploymentName(v.DeploymentName); err != nil {
		return err
	}
	return checkBuildID(v.BuildId)
}

// checkCompletionVersioning refuses a versioning behavior from a worker
// that is not versioned, as Temporal does.
func checkCompletionVersioning(r *workflowservice.RespondWorkflowTaskCompletedRequest) error {
	//lint:ignore SA1019 the deprecated Deployment still counts as versioned, as in Temporal
	if r.VersioningBehavior != enumspb.VERSIONING_BEHAVIOR_UNSPECIFIED && r.Deployment == nil &&
		r.DeploymentOptions.GetWorkerVersioningMode() != enumspb.WORKER_VERSIONING_MODE_VERSIONED {
		return invalid("versioning behavior cannot be specified without deployment options being set with versioned mode")
	}
	return nil
}
