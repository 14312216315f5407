package forward

import (
	"strings"

	deploymentpb "go.temporal.io/api/deployment/v1"
	"go.temporal.io/api/workflowservice/v1"
)

// DeploymentKeyPrefix is the prefix of the shard key of a worker
// deployment. Temporal keeps a deployment in a system workflow whose id
// starts with "temporal-sys-worker-deployment:"; Sundial keeps it as a
// record, but keys its shard by the prefixed name, so it cannot be
// confused with the shard of a user workflow of that id.
const DeploymentKeyPrefix = "temporal-sys-worker-deployment:"

// DeploymentKey is the shard key (with the namespace) of a worker
// deployment: the node holding that shard is the deployment's only
// writer (docs/CLUSTER.md, "Worker deployments across nodes").
func DeploymentKey(name string) string { return DeploymentKeyPrefix + name }

// DeploymentRouteOf returns the worker deployment a request is addressed
// to: every request that changes a deployment or one of its versions, and
// the describes of one, go to its writer. ListWorkerDeployments carries
// no name: every node answers it from its copy.
func DeploymentRouteOf(req any) (ns, name string, ok bool) {
	type byName interface {
		GetNamespace() string
		GetDeploymentName() string
	}
	type byVersion interface {
		GetNamespace() string
		GetDeploymentVersion() *deploymentpb.WorkerDeploymentVersion
	}
	switch r := req.(type) {
	case *workflowservice.CreateWorkerDeploymentRequest, *workflowservice.SetWorkerDeploymentCurrentVersionRequest,
		*workflowservice.SetWorkerDeploymentRampingVersionRequest, *workflowservice.DeleteWorkerDeploymentRequest,
		*workflowservice.SetWorkerDeploymentManagerRequest, *workflowservice.DescribeWorkerDeploymentRequest:
		b := r.(byName)
		ns, name = b.GetNamespace(), b.GetDeploymentName()
	case *workflowservice.CreateWorkerDeploymentVersionRequest, *workflowservice.UpdateWorkerDeploymentVersionComputeConfigRequest,
		*workflowservice.ValidateWorkerDeploymentVersionComputeConfigRequest:
		b := r.(byVersion)
		ns, name = b.GetNamespace(), b.GetDeploymentVersion().GetDeploymentName()
	case *workflowservice.DeleteWorkerDeploymentVersionRequest:
		ns, name = r.GetNamespace(), versionDeployment(r.GetDeploymentVersion(), r.GetVersion())
	case *workflowservice.UpdateWorkerDeploymentVersionMetadataRequest:
		ns, name = r.GetNamespace(), versionDeployment(r.GetDeploymentVersion(), r.GetVersion())
	case *workflowservice.DescribeWorkerDeploymentVersionRequest:
		ns, name = r.GetNamespace(), versionDeployment(r.GetDeploymentVersion(), r.GetVersion())
	default:
		return "", "", false
	}
	return ns, name, ns != "" && name != ""
}

// versionDeployment is the deployment a version names: the structured
// field, else the deprecated "deployment.build" string (Temporal splits
// it at the first dot; deployment names cannot hold one).
func versionDeployment(v *deploymentpb.WorkerDeploymentVersion, s string) string {
	if n := v.GetDeploymentName(); n != "" {
		return n
	}
	name, _, _ := strings.Cut(s, ".")
	return name
}
