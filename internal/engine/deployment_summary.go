package engine

import (
	deploymentpb "go.temporal.io/api/deployment/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// routedVersionSummary summarises the deployment's current or ramping
// version for ListWorkerDeployments. The Web UI's Deployments page reads the
// list entry's current_version_summary (not the routing config) to show a
// deployment's current version, so an entry without it reads "No Current
// Version". A routed version's status needs no drainage check, so this runs
// under the deployments lock without I/O. It is nil when buildID is not a
// version of d (unversioned current, or no ramping version).
func (d *workerDeployment) routedVersionSummary(buildID string, status enumspb.WorkerDeploymentVersionStatus) *deploymentpb.WorkerDeploymentInfo_WorkerDeploymentVersionSummary {
	v := d.Versions[buildID]
	if buildID == "" || v == nil {
		return nil
	}
	s := &deploymentpb.WorkerDeploymentInfo_WorkerDeploymentVersionSummary{
		DeploymentVersion:   protoVersion(d.Name, v.BuildID),
		Status:              status,
		CreateTime:          timestamppb.New(v.CreateTime),
		CurrentSinceTime:    tsOrNil(v.CurrentSince),
		RampingSinceTime:    tsOrNil(v.RampingSince),
		RoutingUpdateTime:   tsOrNil(v.RoutingChanged),
		FirstActivationTime: tsOrNil(v.FirstActivation),
		LastCurrentTime:     tsOrNil(v.LastCurrent),
		ComputeConfig:       computeSummary(v.ComputeConfig),
	}
	//lint:ignore SA1019 older clients read the string form
	s.Version = versionKey(d.Name, v.BuildID)
	return s
}
