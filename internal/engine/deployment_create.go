package engine

import (
	"context"
	"fmt"

	computepb "go.temporal.io/api/compute/v1"
	"go.temporal.io/api/serviceerror"
)

// Explicit creation of worker deployments and versions, and their compute
// config, as Temporal 1.31 answers them (its deployment workflow's create
// handlers and validators):
//
//   - CreateWorkerDeployment makes an empty deployment. One that exists
//     already is AlreadyExists, unless it was made by a create with the same
//     request id (then the answer is its conflict token again); one made by
//     a versioned worker's poll says so in the message.
//   - CreateWorkerDeploymentVersion adds a version, in status CREATED until
//     a worker of it polls, to a deployment that must exist (NotFound);
//     the same request id again is success, another is AlreadyExists, also
//     for a version its workers' polls made; at the version limit the oldest
//     version that could be deleted makes room, as for polls.
//   - The compute config is checked, stored with the version and described;
//     nothing is launched or scaled.

func errVersionExists(name, buildID string) error {
	return serviceerror.NewAlreadyExists(fmt.Sprintf("Worker Deployment Version %q already exists", versionKey(name, buildID)))
}

// CreateWorkerDeployment creates an empty deployment and returns its
// conflict token.
func (e *Engine) CreateWorkerDeployment(ns, name, identity, requestID string) ([]byte, error) {
	if err := e.deploymentWriter(context.Background(), ns, name); err != nil { // deployments_cluster.go
		return nil, err
	}
	defer e.announceChange(context.Background())
	e.deps.mu.Lock()
	defer e.deps.mu.Unlock()
	if d := e.deps.byNS[ns][name]; d != nil {
		switch d.CreateRequestID {
		case requestID:
			return d.conflictToken(), nil
		case "":
			return nil, serviceerror.NewAlreadyExists(fmt.Sprintf("Worker Deployment with name %q already exists (auto-created from worker polls)", name))
		}
		return nil, serviceerror.NewAlreadyExists(fmt.Sprintf("Worker Deployment with name %q already exists", name))
	}
	if len(e.deps.byNS[ns]) >= maxDeployments {
		return nil, errDeploymentLimit("reached maximum deployments in namespace (%d)", maxDeployments)
	}
	d := &workerDeployment{Name: name, CreateTime: e.now(), Versions: map[string]*deploymentVersion{},
		CreateRequestID: requestID, LastModifier: identity}
	if err := e.writeDeployment(ns, name, d); err != nil {
		return nil, err
	}
	e.deps.ns(ns)[name] = d
	return d.conflictToken(), nil
}

// CreateWorkerDeploymentVersion adds a version to an existing deployment,
// with its compute config (nil: none).
func (e *Engine) CreateWorkerDeploymentVersion(ns, name, buildID, identity, requestID string, cc *computepb.ComputeConfig) error {
	if err := e.deploymentWriter(context.Background(), ns, name); err != nil { // deployments_cluster.go
		return err
	}
	defer e.announceChange(context.Background())
	e.deps.mu.Lock()
	defer e.deps.mu.Unlock()
	d := e.deps.byNS[ns][name]
	if d == nil {
		return errDeploymentNotFound(name)
	}
	if v := d.Versions[buildID]; v != nil {
		if v.CreateRequestID == requestID {
			return nil
		}
		return errVersionExists(name, buildID)
	}
	now := e.now()
	nd := d.clone()
	if len(nd.Versions) >= maxVersionsInDeployment {
		old := e.evictableVersion(ns, nd, now)
		if old == "" {
			return errDeploymentLimit("cannot add version %s since maximum number of versions (%d) have been registered in the deployment", versionKey(name, buildID), maxVersionsInDeployment)
		}
		delete(nd.Versions, old)
	}
	if err := checkComputeConfig(cc); err != nil {
		return err
	}
	enc, err := encodeCompute(cc)
	if err != nil {
		return err
	}
	nd.Versions[buildID] = &deploymentVersion{BuildID: buildID, CreateTime: now, CreateRequestID: requestID,
		LastModifier: identity, ComputeConfig: enc, ComputeRequestID: requestID}
	if err := e.writeDeployment(ns, name, nd); err != nil {
		return err
	}
	e.deps.byNS[ns][name] = nd
	e.deps.dropOwners(ns, nd) // of a version evicted to make room
	return nil
}

// ComputeChange is an Update or ValidateWorkerDeploymentVersionComputeConfig
// request.
type ComputeChange struct {
	Namespace, Deployment, BuildID, Identity, RequestID string
	Upserts                                             map[string]*computepb.ComputeConfigScalingGroupUpdate
	Removes                                             []string
}

// UpdateWorkerDeploymentVersionComputeConfig applies a change to a
// version's compute config. The change is checked on the whole resulting
// config; removing every group leaves the version without one. A repeat of
// the last change's request id is a no-op.
func (e *Engine) UpdateWorkerDeploymentVersionComputeConfig(c ComputeChange) error {
	if err := e.deploymentWriter(context.Background(), c.Namespace, c.Deployment); err != nil { // deployments_cluster.go
		return err
	}
	defer e.announceChange(context.Background())
	e.deps.mu.Lock()
	defer e.deps.mu.Unlock()
	d := e.deps.byNS[c.Namespace][c.Deployment]
	if d == nil || d.Versions[c.BuildID] == nil {
		return errVersionNotFound(c.Deployment, c.BuildID)
	}
	if v := d.Versions[c.BuildID]; c.RequestID != "" && v.ComputeRequestID == c.RequestID {
		return nil
	}
	cc, err := applyComputeUpdate(decodeCompute(d.Versions[c.BuildID].ComputeConfig), c.Upserts, c.Removes)
	if err != nil {
		return err
	}
	if err := checkComputeConfig(cc); err != nil {
		return err
	}
	enc, err := encodeCompute(cc)
	if err != nil {
		return err
	}
	nd := d.clone()
	v := nd.Versions[c.BuildID]
	v.ComputeConfig, v.ComputeRequestID, v.LastModifier = enc, c.RequestID, c.Identity
	if err := e.writeDeployment(c.Namespace, c.Deployment, nd); err != nil {
		return err
	}
	e.deps.byNS[c.Namespace][c.Deployment] = nd
	return nil
}

// ValidateWorkerDeploymentVersionComputeConfig checks a change as the
// update would, changing nothing. As in Temporal the version need not
// exist: then the change is checked on its own.
func (e *Engine) ValidateWorkerDeploymentVersionComputeConfig(c ComputeChange) error {
	e.deps.mu.Lock()
	var cur *computepb.ComputeConfig
	if v := e.deps.byNS[c.Namespace][c.Deployment].versionOrNil(c.BuildID); v != nil {
		cur = decodeCompute(v.ComputeConfig)
	}
	e.deps.mu.Unlock()
	cc, err := applyComputeUpdate(cur, c.Upserts, c.Removes)
	if err != nil {
		return err
	}
	return checkComputeConfig(cc)
}

func (d *workerDeployment) versionOrNil(buildID string) *deploymentVersion {
	if d == nil {
		return nil
	}
	return d.Versions[buildID]
}
