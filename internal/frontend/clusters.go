package frontend

import (
	"context"

	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/serviceerror"
	"google.golang.org/grpc/peer"
)

// Sundial is one process and one cluster: it does not offer Temporal's
// multi-cluster replication (global namespaces, failover). The cluster
// calls of the OperatorService answer accordingly: the cluster list is the
// local cluster alone, adding a remote cluster is refused with a message
// that says why, and removing one finds none to remove.

// The local cluster's identity, as GetClusterInfo and ListClusters give it.
const (
	clusterName = "active"
	clusterID   = "sundial"
)

const replicationOff = "Sundial does not offer multi-cluster replication: it runs as a single cluster, so there are no remote clusters or global namespaces."

// ListClusters lists the local cluster. Its address is the one the caller
// reached this server on.
func (o *Operator) ListClusters(ctx context.Context, r *operatorservice.ListClustersRequest) (*operatorservice.ListClustersResponse, error) {
	if len(r.NextPageToken) > 0 {
		return nil, invalid("Invalid NextPageToken: there are no more clusters.")
	}
	return &operatorservice.ListClustersResponse{Clusters: []*operatorservice.ClusterMetadata{{
		ClusterName:            clusterName,
		ClusterId:              clusterID,
		Address:                localAddr(ctx),
		InitialFailoverVersion: 1,
		HistoryShardCount:      1,
		IsConnectionEnabled:    true,
	}}}, nil
}

// AddOrUpdateRemoteCluster is not offered.
func (o *Operator) AddOrUpdateRemoteCluster(ctx context.Context, r *operatorservice.AddOrUpdateRemoteClusterRequest) (*operatorservice.AddOrUpdateRemoteClusterResponse, error) {
	return nil, serviceerror.NewUnimplemented("Cannot add a remote cluster. " + replicationOff)
}

// RemoveRemoteCluster finds no remote cluster, as Temporal answers for a
// name it does not know; the local cluster cannot be removed.
func (o *Operator) RemoveRemoteCluster(ctx context.Context, r *operatorservice.RemoveRemoteClusterRequest) (*operatorservice.RemoveRemoteClusterResponse, error) {
	if r.ClusterName == clusterName {
		return nil, invalid("Cannot remove the local cluster %q. %s", clusterName, replicationOff)
	}
	return nil, serviceerror.NewNotFoundf("Remote cluster %q not found. %s", r.ClusterName, replicationOff)
}

// localAddr is the server address the caller connected to ("" if unknown).
func localAddr(ctx context.Context) string {
	if p, ok := peer.FromContext(ctx); ok && p.LocalAddr != nil {
		return p.LocalAddr.String()
	}
	return ""
}
