package engine

import (
	"bytes"
	"context"
	"fmt"
	"sort"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	deploymentpb "go.temporal.io/api/deployment/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	taskqueuepb "go.temporal.io/api/taskqueue/v1"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/sundial-io/sundial/internal/execution"
	"github.com/sundial-io/sundial/internal/matching"
	"github.com/sundial-io/sundial/internal/store"
)

// The Worker Deployment RPCs, with Temporal's checks and messages (its
// worker deployment workflow's validators and client).

func errDeploymentNotFound(name string) error {
	return serviceerror.NewNotFoundf("no Worker Deployment found with name '%s'; does your Worker Deployment have pollers?", name)
}

func errVersionNotFound(name, buildID string) error {
	return serviceerror.NewNotFoundf("build ID '%s' not found in Worker Deployment '%s'", buildID, name)
}

// v32 is Temporal's newer "<deployment>:<build id>" form used in messages.
func v32(name, buildID string) string {
	if buildID == "" {
		return unversionedVersion
	}
	return name + ":" + buildID
}

func tsOrNil(t time.Time) *timestamppb.Timestamp {
	if t.IsZero() {
		return nil
	}
	return timestamppb.New(t)
}

func protoVersion(name, buildID string) *deploymentpb.WorkerDeploymentVersion {
	if buildID == "" {
		return nil
	}
	return &deploymentpb.WorkerDeploymentVersion{DeploymentName: name, BuildId: buildID}
}

// versionStringOrUnversioned is the deprecated string form routing
// configs carry ("__unversioned__" for none).
func versionStringOrUnversioned(name, buildID string) string {
	if buildID == "" {
		return unversionedVersion
	}
	return versionKey(name, buildID)
}

func (d *workerDeployment) routingConfig() *deploymentpb.RoutingConfig {
	rc := &deploymentpb.RoutingConfig{
		CurrentDeploymentVersion:  protoVersion(d.Name, d.Current),
		CurrentVersionChangedTime: tsOrNil(d.CurrentChanged),
		RevisionNumber:            d.Revision,
	}
	//lint:ignore SA1019 older SDKs read the string forms
	rc.CurrentVersion = versionStringOrUnversioned(d.Name, d.Current)
	if d.RampingSet {
		rc.RampingDeploymentVersion = protoVersion(d.Name, d.Ramping)
		//lint:ignore SA1019 older SDKs read the string forms
		rc.RampingVersion = versionStringOrUnversioned(d.Name, d.Ramping)
		rc.RampingVersionPercentage = d.RampPercent
	}
	rc.RampingVersionChangedTime = tsOrNil(d.RampingChanged)
	rc.RampingVersionPercentageChangedTime = tsOrNil(d.RampPctChanged)
	return rc
}

// versionStatus is the version's place in the routing, and for a version
// that left it whether pinned runs still use it (drainage).
func (e *Engine) versionStatus(ctx context.Context, ns string, d *workerDeployment, v *deploymentVersion) (enumspb.WorkerDeploymentVersionStatus, *deploymentpb.VersionDrainageInfo) {
	switch {
	case d.Current == v.BuildID:
		return enumspb.WORKER_DEPLOYMENT_VERSION_STATUS_CURRENT, nil
	case d.RampingSet && d.Ramping == v.BuildID:
		return enumspb.WORKER_DEPLOYMENT_VERSION_STATUS_RAMPING, nil
	case v.LastDeactivation.IsZero() && v.CreateRequestID != "" && len(v.TaskQueues) == 0:
		return enumspb.WORKER_DEPLOYMENT_VERSION_STATUS_CREATED, nil
	case v.LastDeactivation.IsZero():
		return enumspb.WORKER_DEPLOYMENT_VERSION_STATUS_INACTIVE, nil
	}
	now := e.now()
	info := &deploymentpb.VersionDrainageInfo{Status: enumspb.VERSION_DRAINAGE_STATUS_DRAINED,
		LastChangedTime: timestamppb.New(v.LastDeactivation), LastCheckedTime: timestamppb.New(now)}
	if e.pinnedRunsOn(ctx, ns, versionKey(d.Name, v.BuildID)) {
		info.Status = enumspb.VERSION_DRAINAGE_STATUS_DRAINING
		return enumspb.WORKER_DEPLOYMENT_VERSION_STATUS_DRAINING, info
	}
	return enumspb.WORKER_DEPLOYMENT_VERSION_STATUS_DRAINED, info
}

// pinnedRunsOn reports whether an open run is pinned to the version (the
// visibility query Temporal's drainage check makes).
func (e *Engine) pinnedRunsOn(ctx context.Context, ns, version string) bool {
	found := false
	_ = e.store.ListRuns(ctx, ns, store.ListOptions{OpenOnly: true, Match: func(info *workflowpb.WorkflowExecutionInfo) bool {
		vi := info.GetVersioningInfo()
		if vi == nil {
			return false
		}
		pinned := vi.Behavior == enumspb.VERSIONING_BEHAVIOR_PINNED && execution.VersionString(vi.DeploymentVersion) == version
		if o := execution.OverridePinnedVersion(vi.VersioningOverride); o != nil {
			pinned = execution.VersionString(o) == version
		}
		return pinned
	}}, func([]byte, *workflowpb.WorkflowExecutionInfo) error {
		found = true
		return store.ErrStop
	})
	return found
}

func (e *Engine) lookupDeployment(ns, name string) (*workerDeployment, error) {
	d := e.deps.byNS[ns][name]
	if d == nil {
		return nil, errDeploymentNotFound(name)
	}
	return d, nil
}

// DescribeWorkerDeployment describes a deployment and its versions.
func (e *Engine) DescribeWorkerDeployment(ctx context.Context, ns, name string) (*workflowservice.DescribeWorkerDeploymentResponse, error) {
	if err := e.deploymentWriter(ctx, ns, name); err != nil { // deployments_cluster.go
		return nil, err
	}
	e.deps.mu.Lock()
	d, err := e.lookupDeployment(ns, name)
	if err != nil {
		e.deps.mu.Unlock()
		return nil, err
	}
	d = d.clone()
	e.deps.mu.Unlock()
	info := &deploymentpb.WorkerDeploymentInfo{
		Name:                     d.Name,
		CreateTime:               timestamppb.New(d.CreateTime),
		RoutingConfig:            d.routingConfig(),
		LastModifierIdentity:     d.LastModifier,
		ManagerIdentity:          d.Manager,
		RoutingConfigUpdateState: enumspb.ROUTING_CONFIG_UPDATE_STATE_COMPLETED,
	}
	for _, v := range d.sortedVersions() {
		status, drain := e.versionStatus(ctx, ns, d, v)
		s := &deploymentpb.WorkerDeploymentInfo_WorkerDeploymentVersionSummary{
			DeploymentVersion:    protoVersion(d.Name, v.BuildID),
			Status:               status,
			CreateTime:           timestamppb.New(v.CreateTime),
			DrainageInfo:         drain,
			CurrentSinceTime:     tsOrNil(v.CurrentSince),
			RampingSinceTime:     tsOrNil(v.RampingSince),
			RoutingUpdateTime:    tsOrNil(v.RoutingChanged),
			FirstActivationTime:  tsOrNil(v.FirstActivation),
			LastCurrentTime:      tsOrNil(v.LastCurrent),
			LastDeactivationTime: tsOrNil(v.LastDeactivation),
			ComputeConfig:        computeSummary(v.ComputeConfig),
		}
		//lint:ignore SA1019 older SDKs read the string form
		s.Version = versionKey(d.Name, v.BuildID)
		if drain != nil {
			s.DrainageStatus = drain.Status
		}
		info.VersionSummaries = append(info.VersionSummaries, s)
	}
	return &workflowservice.DescribeWorkerDeploymentResponse{ConflictToken: d.conflictToken(), WorkerDeploymentInfo: info}, nil
}

// ListWorkerDeployments lists a namespace's deployments by name, a page
// at a time (the token is the last name returned).
func (e *Engine) ListWorkerDeployments(ns string, size int, after string) ([]*workflowservice.ListWorkerDeploymentsResponse_WorkerDeploymentSummary, string) {
	e.deps.mu.Lock()
	defer e.deps.mu.Unlock()
	names := make([]string, 0, len(e.deps.byNS[ns]))
	for n := range e.deps.byNS[ns] {
		if n > after {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	next := ""
	if size > 0 && len(names) > size {
		names = names[:size]
		next = names[size-1]
	}
	var out []*workflowservice.ListWorkerDeploymentsResponse_WorkerDeploymentSummary
	for _, n := range names {
		d := e.deps.byNS[ns][n]
		s := &workflowservice.ListWorkerDeploymentsResponse_WorkerDeploymentSummary{
			Name: d.Name, CreateTime: timestamppb.New(d.CreateTime), RoutingConfig: d.routingConfig(),
		}
		if v := d.latestVersion(); v != nil {
			s.LatestVersionSummary = &deploymentpb.WorkerDeploymentInfo_WorkerDeploymentVersionSummary{
				DeploymentVersion: protoVersion(d.Name, v.BuildID), CreateTime: timestamppb.New(v.CreateTime),
				ComputeConfig: computeSummary(v.ComputeConfig)}
		}
		s.CurrentVersionSummary = d.routedVersionSummary(d.Current, enumspb.WORKER_DEPLOYMENT_VERSION_STATUS_CURRENT)
		if d.RampingSet {
			s.RampingVersionSummary = d.routedVersionSummary(d.Ramping, enumspb.WORKER_DEPLOYMENT_VERSION_STATUS_RAMPING)
		}
		out = append(out, s)
	}
	return out, next
}

func (d *workerDeployment) latestVersion() *deploymentVersion {
	vs := d.sortedVersions()
	if len(vs) == 0 {
		return nil
	}
	return vs[len(vs)-1]
}

// DescribeWorkerDeploymentVersion describes one version.
func (e *Engine) DescribeWorkerDeploymentVersion(ctx context.Context, ns, name, buildID string) (*workflowservice.DescribeWorkerDeploymentVersionResponse, error) {
	if err := e.deploymentWriter(ctx, ns, name); err != nil { // deployments_cluster.go
		return nil, err
	}
	e.deps.mu.Lock()
	d := e.deps.byNS[ns][name]
	if d == nil || d.Versions[buildID] == nil {
		e.deps.mu.Unlock()
		return nil, errVersionNotFound(name, buildID)
	}
	d = d.clone()
	e.deps.mu.Unlock()
	v := d.Versions[buildID]
	status, drain := e.versionStatus(ctx, ns, d, v)
	info := &deploymentpb.WorkerDeploymentVersionInfo{
		DeploymentVersion:    protoVersion(name, buildID),
		Status:               status,
		DeploymentName:       name,
		CreateTime:           timestamppb.New(v.CreateTime),
		RoutingChangedTime:   tsOrNil(v.RoutingChanged),
		CurrentSinceTime:     tsOrNil(v.CurrentSince),
		RampingSinceTime:     tsOrNil(v.RampingSince),
		FirstActivationTime:  tsOrNil(v.FirstActivation),
		LastCurrentTime:      tsOrNil(v.LastCurrent),
		LastDeactivationTime: tsOrNil(v.LastDeactivation),
		DrainageInfo:         drain,
		LastModifierIdentity: v.LastModifier,
		ComputeConfig:        decodeCompute(v.ComputeConfig),
	}
	//lint:ignore SA1019 older SDKs read the string form
	info.Version = versionKey(name, buildID)
	if d.RampingSet && d.Ramping == buildID {
		info.RampPercentage = d.RampPercent
	}
	if len(v.Metadata) > 0 {
		info.Metadata = &deploymentpb.VersionMetadata{Entries: map[string]*commonpb.Payload{}}
		for k, b := range v.Metadata {
			p := &commonpb.Payload{}
			if err := proto.Unmarshal(b, p); err == nil {
				info.Metadata.Entries[k] = p
			}
		}
	}
	resp := &workflowservice.DescribeWorkerDeploymentVersionResponse{WorkerDeploymentVersionInfo: info}
	for _, q := range v.TaskQueues {
		info.TaskQueueInfos = append(info.TaskQueueInfos, &deploymentpb.WorkerDeploymentVersionInfo_VersionTaskQueueInfo{Name: q.Name, Type: q.Type})
		k := matching.Key{Namespace: ns, Name: q.Name, Kind: kindOfType(q.Type), Version: versionKey(name, buildID)}
		st := e.match.Stats(k)
		resp.VersionTaskQueues = append(resp.VersionTaskQueues, &workflowservice.DescribeWorkerDeploymentVersionResponse_VersionTaskQueue{
			Name: q.Name, Type: q.Type, Stats: &taskqueuepb.TaskQueueStats{
				ApproximateBacklogCount: st.Backlog, ApproximateBacklogAge: durationpb.New(st.OldestAge),
				TasksAddRate: st.AddRate, TasksDispatchRate: st.DispatchRate,
			}})
	}
	return resp, nil
}

// checkManager refuses a change by someone other than the deployment's
// manager, when it has one.
func checkManager(d *workerDeployment, identity string) error {
	if d.Manager != "" && d.Manager != identity {
		return serviceerror.NewFailedPreconditionf("ManagerIdentity '%s' is set and does not match user identity '%s'; to proceed, set your own identity as the ManagerIdentity, remove the ManagerIdentity, or wait for the other client to do so", d.Manager, identity)
	}
	return nil
}

var errConflictToken = serviceerror.NewFailedPrecondition("conflict token mismatch")

// RoutingChange is a SetCurrentVersion or SetRampingVersion request.
type RoutingChange struct {
	Namespace, Deployment, BuildID, Identity string
	ConflictToken                            []byte
	IgnoreMissingTaskQueues, AllowNoPollers  bool
	// Ramping: a SetRampingVersion with Percentage.
	Ramping    bool
	Percentage float32
}

// RoutingResult is what a routing change answers.
type RoutingResult struct {
	ConflictToken      []byte
	PreviousBuildID    string
	PreviousPercentage float32
	changed            bool // the routing changed (not a repeated request)
}

// SetRouting sets a deployment's current or ramping version; queued
// unpinned tasks of its queues then follow the new routing.
func (e *Engine) SetRouting(ctx context.Context, c RoutingChange) (*RoutingResult, error) {
	if err := e.deploymentWriter(ctx, c.Namespace, c.Deployment); err != nil { // deployments_cluster.go
		return nil, err
	}
	defer e.announceChange(ctx)
	res, changed, err := e.setRouting(c)
	if changed {
		e.rerouteDeployment(c.Namespace, c.Deployment, nil)
	}
	return res, err
}

func (e *Engine) setRouting(c RoutingChange) (res *RoutingResult, changed bool, err error) {
	e.deps.mu.Lock()
	defer e.deps.mu.Unlock()
	res, err = e.setRoutingLocked(c)
	return res, err == nil && res.changed, err
}

func (e *Engine) setRoutingLocked(c RoutingChange) (*RoutingResult, error) {
	d, err := e.lookupDeployment(c.Namespace, c.Deployment)
	if err != nil {
		return nil, err
	}
	now := e.now()
	res := &RoutingResult{PreviousBuildID: d.Current}
	if c.Ramping {
		res.PreviousBuildID, res.PreviousPercentage = d.Ramping, d.RampPercent
		unset := c.BuildID == "" && c.Percentage == 0
		if (unset && !d.RampingSet || d.RampingSet && d.Ramping == c.BuildID && d.RampPercent == c.Percentage) && d.LastModifier == c.Identity {
			return &RoutingResult{ConflictToken: d.conflictToken(), PreviousBuildID: d.Ramping, PreviousPercentage: d.RampPercent}, nil
		}
		if c.ConflictToken != nil && !bytes.Equal(c.ConflictToken, d.conflictToken()) {
			return nil, errConflictToken
		}
		if c.BuildID == d.Current && !unset {
			return nil, serviceerror.NewFailedPreconditionf("requested ramping version %s is already current", versionStringOrUnversioned(d.Name, c.BuildID))
		}
	} else {
		if d.Current == c.BuildID && d.LastModifier == c.Identity {
			return &RoutingResult{ConflictToken: d.conflictToken(), PreviousBuildID: d.Current}, nil
		}
		if c.ConflictToken != nil && !bytes.Equal(c.ConflictToken, d.conflictToken()) {
			return nil, errConflictToken
		}
	}
	v := d.Versions[c.BuildID]
	if c.BuildID != "" && v == nil && !c.AllowNoPollers {
		return nil, errVersionNotFound(d.Name, c.BuildID)
	}
	if err := checkManager(d, c.Identity); err != nil {
		return nil, err
	}
	if !c.IgnoreMissingTaskQueues && d.Current != "" && c.BuildID != "" && v != nil && e.missingQueues(c.Namespace, d, d.Versions[d.Current], v) {
		what := "current"
		if c.Ramping {
			what = "ramping"
		}
		return nil, serviceerror.NewFailedPreconditionf("proposed %s version '%s' is missing active task queues from the current version; these would become unversioned if it is set as the %s version", what, v32(d.Name, c.BuildID), what)
	}
	nd := d.clone()
	if c.BuildID != "" && nd.Versions[c.BuildID] == nil { // allow_no_pollers: a version no worker polled yet
		nd.Versions[c.BuildID] = &deploymentVersion{BuildID: c.BuildID, CreateTime: now}
	}
	deactivate := func(id string) {
		if pv := nd.Versions[id]; pv != nil && id != "" && id != nd.Current && !(nd.RampingSet && nd.Ramping == id) {
			pv.LastDeactivation, pv.RoutingChanged, pv.DrainageChanged = now, now, now
			pv.CurrentSince, pv.RampingSince = time.Time{}, time.Time{}
		}
	}
	activate := func(nv *deploymentVersion) {
		if nv.FirstActivation.IsZero() {
			nv.FirstActivation = now
		}
		nv.LastDeactivation, nv.RoutingChanged = time.Time{}, now
	}
	if c.Ramping {
		prev := nd.Ramping
		if c.BuildID == "" && c.Percentage == 0 {
			nd.RampingSet, nd.Ramping, nd.RampPercent = false, "", 0
		} else {
			if !nd.RampingSet || nd.Ramping != c.BuildID {
				nd.RampingChanged = now
			}
			nd.RampingSet, nd.Ramping, nd.RampPercent = true, c.BuildID, c.Percentage
			if nv := nd.Versions[c.BuildID]; nv != nil {
				if nv.RampingSince.IsZero() {
					nv.RampingSince = now
				}
				activate(nv)
			}
		}
		nd.RampPctChanged = now
		if prev != c.BuildID {
			nd.RampingChanged = now
			deactivate(prev)
		}
	} else {
		prev := nd.Current
		nd.Current, nd.CurrentChanged = c.BuildID, now
		if nd.RampingSet && nd.Ramping == c.BuildID { // a ramping version made current stops ramping
			nd.RampingSet, nd.Ramping, nd.RampPercent, nd.RampingChanged, nd.RampPctChanged = false, "", 0, now, now
		}
		if nv := nd.Versions[c.BuildID]; nv != nil {
			nv.CurrentSince, nv.RampingSince, nv.LastCurrent = now, time.Time{}, now
			activate(nv)
		}
		if pv := nd.Versions[prev]; pv != nil {
			pv.LastCurrent = now
		}
		deactivate(prev)
	}
	nd.LastModifier = c.Identity
	nd.Revision++
	if err := e.writeDeployment(c.Namespace, d.Name, nd); err != nil {
		return nil, err
	}
	e.deps.byNS[c.Namespace][d.Name] = nd
	res.ConflictToken, res.changed = nd.conflictToken(), true
	return res, nil
}

// missingQueues: the proposed version lacks a queue of the current one
// that still gets work (a backlog or tasks added lately) and that no
// other deployment took over, as Temporal checks.
func (e *Engine) missingQueues(ns string, d *workerDeployment, cur, proposed *deploymentVersion) bool {
	if cur == nil {
		return false
	}
	for _, q := range cur.TaskQueues {
		if proposed.hasQueue(q.Name, q.Type) || e.deps.owner[queueRef{ns, q.Name, kindOfType(q.Type)}] != d.Name {
			continue
		}
		st := e.match.Stats(matching.Key{Namespace: ns, Name: q.Name, Kind: kindOfType(q.Type), Version: versionKey(d.Name, cur.BuildID)})
		if st.Backlog > 0 || st.AddRate > 0 {
			return true
		}
	}
	return false
}

// SetWorkerDeploymentManager sets (or clears) a deployment's manager.
func (e *Engine) SetWorkerDeploymentManager(ns, name, manager, identity string, token []byte) (prev string, newToken []byte, err error) {
	if err := e.deploymentWriter(context.Background(), ns, name); err != nil { // deployments_cluster.go
		return "", nil, err
	}
	defer e.announceChange(context.Background())
	e.deps.mu.Lock()
	defer e.deps.mu.Unlock()
	d, err := e.lookupDeployment(ns, name)
	if err != nil {
		return "", nil, err
	}
	if d.Manager == manager && d.LastModifier == identity {
		return d.Manager, d.conflictToken(), nil
	}
	if token != nil && !bytes.Equal(token, d.conflictToken()) {
		return "", nil, errConflictToken
	}
	nd := d.clone()
	nd.Manager, nd.LastModifier = manager, identity
	nd.Revision++
	if err := e.writeDeployment(ns, name, nd); err != nil {
		return "", nil, err
	}
	e.deps.byNS[ns][name] = nd
	return d.Manager, nd.conflictToken(), nil
}

// DeleteWorkerDeploymentVersion deletes a version that is neither current
// nor ramping, has no pollers and (unless skipDrainage) is not draining.
// A version that does not exist is already deleted (success, as Temporal).
func (e *Engine) DeleteWorkerDeploymentVersion(ctx context.Context, ns, name, buildID, identity string, skipDrainage bool) error {
	if err := e.deploymentWriter(ctx, ns, name); err != nil { // deployments_cluster.go
		return err
	}
	defer e.announceChange(ctx)
	e.deps.mu.Lock()
	d := e.deps.byNS[ns][name]
	if d == nil {
		e.deps.mu.Unlock()
		return errDeploymentNotFound(name)
	}
	v := d.Versions[buildID]
	if v == nil {
		e.deps.mu.Unlock()
		return nil
	}
	if d.Current == buildID || d.RampingSet && d.Ramping == buildID {
		e.deps.mu.Unlock()
		return serviceerror.NewFailedPreconditionf("version '%s' cannot be deleted since it is current or ramping", v32(name, buildID))
	}
	if err := checkManager(d, identity); err != nil {
		e.deps.mu.Unlock()
		return err
	}
	if v.hasPollers(e.now()) {
		e.deps.mu.Unlock()
		return serviceerror.NewFailedPreconditionf("version '%s' cannot be deleted since it has active pollers", v32(name, buildID))
	}
	snapshot := d.clone()
	e.deps.mu.Unlock()
	if err := e.polledOnQueueOwners(ctx, ns, name, snapshot.Versions[buildID]); err != nil { // deployments_cluster.go
		return err
	}
	if !skipDrainage {
		if st, _ := e.versionStatus(ctx, ns, snapshot, snapshot.Versions[buildID]); st == enumspb.WORKER_DEPLOYMENT_VERSION_STATUS_DRAINING {
			return serviceerror.NewFailedPreconditionf("version '%s' cannot be deleted since it is draining", v32(name, buildID))
		}
	}
	keys, err := e.deleteVersionLocked(ns, name, buildID, identity)
	if err == nil {
		// Unpinned tasks queued for the deleted version go where the
		// routing sends them now.
		e.rerouteDeployment(ns, name, keys)
	}
	return err
}

// deleteVersionLocked removes the version and returns its sub-queues.
func (e *Engine) deleteVersionLocked(ns, name, buildID, identity string) ([]matching.Key, error) {
	e.deps.mu.Lock()
	defer e.deps.mu.Unlock()
	d := e.deps.byNS[ns][name]
	if d == nil || d.Versions[buildID] == nil {
		return nil, nil
	}
	if d.Current == buildID || d.RampingSet && d.Ramping == buildID { // it became so while drainage was checked
		return nil, serviceerror.NewFailedPreconditionf("version '%s' cannot be deleted since it is current or ramping", v32(name, buildID))
	}
	nd := d.clone()
	gone := nd.Versions[buildID]
	delete(nd.Versions, buildID)
	nd.LastModifier = identity
	nd.Revision++
	if err := e.writeDeployment(ns, name, nd); err != nil {
		return nil, err
	}
	e.deps.byNS[ns][name] = nd
	e.deps.dropOwners(ns, nd)
	var keys []matching.Key
	for _, q := range gone.TaskQueues {
		keys = append(keys, matching.Key{Namespace: ns, Name: q.Name, Kind: kindOfType(q.Type), Version: versionKey(name, buildID)})
	}
	return keys, nil
}

// dropOwners forgets queue owners that no version of d polls any more;
// the caller holds g.mu.
func (g *deploymentRegistry) dropOwners(ns string, d *workerDeployment) {
	for ref, owner := range g.owner {
		if ref.ns != ns || owner != d.Name {
			continue
		}
		kept := false
		for _, v := range d.Versions {
			kept = kept || v.hasQueue(ref.name, typeOfKind(ref.kind))
		}
		if !kept {
			delete(g.owner, ref)
		}
	}
	g.owned.Store(int64(len(g.owner)))
}

// DeleteWorkerDeployment deletes a deployment that has no versions left.
// A deployment that does not exist is already deleted (success).
func (e *Engine) DeleteWorkerDeployment(ns, name, identity string) error {
	if err := e.deploymentWriter(context.Background(), ns, name); err != nil { // deployments_cluster.go
		return err
	}
	defer e.announceChange(context.Background())
	e.deps.mu.Lock()
	defer e.deps.mu.Unlock()
	d := e.deps.byNS[ns][name]
	if d == nil {
		return nil
	}
	if len(d.Versions) > 0 {
		return serviceerror.NewFailedPrecondition("deployment has versions, can't be deleted")
	}
	if err := e.writeDeployment(ns, name, nil); err != nil {
		return err
	}
	delete(e.deps.byNS[ns], name)
	e.deps.dropOwners(ns, &workerDeployment{Name: name})
	return nil
}

// UpdateWorkerDeploymentVersionMetadata upserts and removes metadata
// entries of a version and returns the resulting metadata.
func (e *Engine) UpdateWorkerDeploymentVersionMetadata(ns, name, buildID string, upsert map[string]*commonpb.Payload, remove []string, identity string) (*deploymentpb.VersionMetadata, error) {
	if err := e.deploymentWriter(context.Background(), ns, name); err != nil { // deployments_cluster.go
		return nil, err
	}
	defer e.announceChange(context.Background())
	e.deps.mu.Lock()
	defer e.deps.mu.Unlock()
	d := e.deps.byNS[ns][name]
	if d == nil || d.Versions[buildID] == nil {
		return nil, errVersionNotFound(name, buildID)
	}
	nd := d.clone()
	v := nd.Versions[buildID]
	if v.Metadata == nil {
		v.Metadata = map[string][]byte{}
	}
	for k, p := range upsert {
		b, err := proto.Marshal(p)
		if err != nil {
			return nil, serviceerror.NewInvalidArgumentf("metadata entry %q: %v", k, err)
		}
		v.Metadata[k] = b
	}
	for _, k := range remove {
		delete(v.Metadata, k)
	}
	v.LastModifier = identity
	if err := e.writeDeployment(ns, name, nd); err != nil {
		return nil, err
	}
	e.deps.byNS[ns][name] = nd
	out := &deploymentpb.VersionMetadata{Entries: map[string]*commonpb.Payload{}}
	for k, b := range v.Metadata {
		p := &commonpb.Payload{}
		if err := proto.Unmarshal(b, p); err != nil {
			return nil, fmt.Errorf("decoding metadata entry %q: %w", k, err)
		}
		out.Entries[k] = p
	}
	return out, nil
}
