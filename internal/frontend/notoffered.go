package frontend

import (
	"context"
	"fmt"
	"strings"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Two kinds of RPC get no real answer from Sundial, and neither may answer
// with grpc's bare "method X not implemented":
//
//   - What Sundial deliberately does not offer (the deprecated build-id
//     versioning APIs, the pre-release deployment APIs, archival,
//     multi-cluster replication) answers as Temporal does when that feature
//     is off: the same gRPC code, and a message that says the feature is
//     off here and why. These RPCs have their own handlers below (and in
//     clusters.go for the OperatorService).
//   - What is simply not built yet answers Unimplemented naming the RPC and
//     its feature (explainUnimplemented, applied by Interceptor to whatever
//     the embedded Unimplemented servers answer).
//
// docs/COMPATIBILITY.md lists every RPC with its status; TestCompatTable
// keeps that table and these answers in step.

// notYetFeature names the feature each RPC that Sundial has not built yet
// belongs to, for the Unimplemented message. An RPC missing here still gets
// a message naming it, only without the feature.
// (Every WorkflowService RPC is built now; the map is kept for the next
// API version's new RPCs.)
var notYetFeature = map[string]string{}

// notYet is the answer for an RPC Sundial has not built yet.
func notYet(rpc string) error {
	if f := notYetFeature[rpc]; f != "" {
		return serviceerror.NewUnimplemented(fmt.Sprintf("Sundial does not implement %s yet (%s).", rpc, f))
	}
	return serviceerror.NewUnimplemented(fmt.Sprintf("Sundial does not implement %s yet.", rpc))
}

// explainUnimplemented replaces the bare answer of an embedded
// Unimplemented*Server ("method X not implemented") with notYet's. Any
// other error, including an Unimplemented a handler chose to answer with
// its own message, is returned as is.
func explainUnimplemented(fullMethod string, err error) error {
	st, ok := status.FromError(err)
	if !ok || st.Code() != codes.Unimplemented {
		return err
	}
	rpc := fullMethod[strings.LastIndexByte(fullMethod, '/')+1:]
	if st.Message() != "method "+rpc+" not implemented" {
		return err
	}
	return serviceerror.ToStatus(notYet(rpc)).Err()
}

// The deprecated build-id based worker versioning (v0.1: version sets; v0.2:
// assignment and redirect rules). Temporal turns these off per namespace
// with dynamic config and then answers PermissionDenied before looking at
// the request; Sundial never turns them on. Its replacement, Worker
// Deployments, is offered (deployments.go).

const buildIDVersioningOff = "Sundial does not offer the deprecated build-id based worker versioning APIs."

func versionSetsOff() error {
	return serviceerror.NewPermissionDenied("Worker versioning v0.1 (version sets, deprecated) is disabled on this namespace: "+buildIDVersioningOff, "")
}

func versioningRulesOff() error {
	return serviceerror.NewPermissionDenied("Worker versioning v0.2 (versioning rules, deprecated) is disabled on this namespace: "+buildIDVersioningOff, "")
}

// UpdateWorkerBuildIdCompatibility is not offered (v0.1 versioning).
func (s *Service) UpdateWorkerBuildIdCompatibility(ctx context.Context, r *workflowservice.UpdateWorkerBuildIdCompatibilityRequest) (*workflowservice.UpdateWorkerBuildIdCompatibilityResponse, error) {
	return nil, versionSetsOff()
}

// GetWorkerBuildIdCompatibility is not offered (v0.1 versioning).
func (s *Service) GetWorkerBuildIdCompatibility(ctx context.Context, r *workflowservice.GetWorkerBuildIdCompatibilityRequest) (*workflowservice.GetWorkerBuildIdCompatibilityResponse, error) {
	return nil, versionSetsOff()
}

// GetWorkerTaskReachability is not offered. Temporal gates it on the v0.1
// switch but answers with the v0.2 message; the code is what clients see.
func (s *Service) GetWorkerTaskReachability(ctx context.Context, r *workflowservice.GetWorkerTaskReachabilityRequest) (*workflowservice.GetWorkerTaskReachabilityResponse, error) {
	return nil, versioningRulesOff()
}

// UpdateWorkerVersioningRules is not offered (v0.2 versioning).
func (s *Service) UpdateWorkerVersioningRules(ctx context.Context, r *workflowservice.UpdateWorkerVersioningRulesRequest) (*workflowservice.UpdateWorkerVersioningRulesResponse, error) {
	return nil, versioningRulesOff()
}

// GetWorkerVersioningRules is not offered (v0.2 versioning).
func (s *Service) GetWorkerVersioningRules(ctx context.Context, r *workflowservice.GetWorkerVersioningRulesRequest) (*workflowservice.GetWorkerVersioningRulesResponse, error) {
	return nil, versioningRulesOff()
}

// The pre-release deployment APIs were withdrawn in Temporal in favour of
// Worker Deployments; Temporal answers them Unimplemented unconditionally.

func deploymentsWithdrawn() error {
	return serviceerror.NewUnimplemented("Deployments (the pre-release API) are deprecated and not offered by Sundial, as in Temporal: Worker Deployments replace them.")
}

// DescribeDeployment is not offered (withdrawn API).
func (s *Service) DescribeDeployment(ctx context.Context, r *workflowservice.DescribeDeploymentRequest) (*workflowservice.DescribeDeploymentResponse, error) {
	return nil, deploymentsWithdrawn()
}

// GetCurrentDeployment is not offered (withdrawn API).
func (s *Service) GetCurrentDeployment(ctx context.Context, r *workflowservice.GetCurrentDeploymentRequest) (*workflowservice.GetCurrentDeploymentResponse, error) {
	return nil, deploymentsWithdrawn()
}

// ListDeployments is not offered (withdrawn API).
func (s *Service) ListDeployments(ctx context.Context, r *workflowservice.ListDeploymentsRequest) (*workflowservice.ListDeploymentsResponse, error) {
	return nil, deploymentsWithdrawn()
}

// GetDeploymentReachability is not offered (withdrawn API).
func (s *Service) GetDeploymentReachability(ctx context.Context, r *workflowservice.GetDeploymentReachabilityRequest) (*workflowservice.GetDeploymentReachabilityResponse, error) {
	return nil, deploymentsWithdrawn()
}

// SetCurrentDeployment is not offered (withdrawn API).
func (s *Service) SetCurrentDeployment(ctx context.Context, r *workflowservice.SetCurrentDeploymentRequest) (*workflowservice.SetCurrentDeploymentResponse, error) {
	return nil, deploymentsWithdrawn()
}

// archivalOff is said wherever a request asks for archival: Sundial keeps
// closed workflows until their namespace's retention and then deletes
// them; it writes no archive. Temporal answers a cluster without archival
// InvalidArgument.
const archivalOff = "Sundial does not offer archival: closed workflows are kept for the namespace's retention period and then deleted, never archived."

// ListArchivedWorkflowExecutions is not offered: the cluster has no
// visibility archival, whatever the request.
func (s *Service) ListArchivedWorkflowExecutions(ctx context.Context, r *workflowservice.ListArchivedWorkflowExecutionsRequest) (*workflowservice.ListArchivedWorkflowExecutionsResponse, error) {
	return nil, invalid("Cluster is not configured for visibility archival. %s", archivalOff)
}

// checkRegisterOffered refuses a RegisterNamespace that asks for archival
// or replication. Temporal refuses a global namespace on a cluster without
// them (InvalidArgument) but silently leaves archival off when the cluster
// has none configured; Sundial says so instead, as UpdateNamespace does.
func checkRegisterOffered(r *workflowservice.RegisterNamespaceRequest) error {
	if r.IsGlobalNamespace {
		return invalid("Cannot register global namespace when not enabled. %s", replicationOff)
	}
	if r.ActiveClusterName != "" && r.ActiveClusterName != clusterName {
		return invalid("ActiveClusterName %q is not a cluster of this server (the one cluster is %q). %s", r.ActiveClusterName, clusterName, replicationOff)
	}
	for _, c := range r.Clusters {
		if c.GetClusterName() != clusterName {
			return invalid("Clusters: %q is not a cluster of this server (the one cluster is %q). %s", c.GetClusterName(), clusterName, replicationOff)
		}
	}
	if r.HistoryArchivalState == enumspb.ARCHIVAL_STATE_ENABLED || r.HistoryArchivalUri != "" {
		return invalid("HistoryArchivalState: %s", archivalOff)
	}
	if r.VisibilityArchivalState == enumspb.ARCHIVAL_STATE_ENABLED || r.VisibilityArchivalUri != "" {
		return invalid("VisibilityArchivalState: %s", archivalOff)
	}
	return nil
}
