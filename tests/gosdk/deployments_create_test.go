package gosdk

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	computepb "go.temporal.io/api/compute/v1"
	deploymentpb "go.temporal.io/api/deployment/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
)

// Explicit Worker Deployment and version creation and compute config
// (Temporal 1.31's CreateWorkerDeployment, CreateWorkerDeploymentVersion,
// Update/ValidateWorkerDeploymentVersionComputeConfig), through the Go SDK's
// raw WorkflowService.

func isAlreadyExists(err error, substr string) bool {
	var ae *serviceerror.AlreadyExists
	return errors.As(err, &ae) && strings.Contains(err.Error(), substr)
}

func isInvalid(err error, substr string) bool {
	var ia *serviceerror.InvalidArgument
	return errors.As(err, &ia) && strings.Contains(err.Error(), substr)
}

func lambdaGroup(types ...enumspb.TaskQueueType) *computepb.ComputeConfigScalingGroup {
	return &computepb.ComputeConfigScalingGroup{TaskQueueTypes: types,
		Provider: &computepb.ComputeProvider{Type: "aws-lambda"}, Scaler: &computepb.ComputeScaler{Type: "no-sync"}}
}

func TestCreateWorkerDeployment(t *testing.T) {
	e := newEnv(t)
	ctx := e.ctx()
	svc := e.c.WorkflowService()
	name := "dep-" + uuid.NewString()[:8]
	create := func(name, reqID string) (*workflowservice.CreateWorkerDeploymentResponse, error) {
		return svc.CreateWorkerDeployment(ctx, &workflowservice.CreateWorkerDeploymentRequest{Namespace: "default", DeploymentName: name, Identity: "alice", RequestId: reqID})
	}
	r1, err := create(name, "req-1")
	if err != nil || len(r1.ConflictToken) == 0 {
		t.Fatalf("create: %v, %v", r1, err)
	}
	d, err := svc.DescribeWorkerDeployment(ctx, &workflowservice.DescribeWorkerDeploymentRequest{Namespace: "default", DeploymentName: name})
	if err != nil || d.WorkerDeploymentInfo.Name != name || d.WorkerDeploymentInfo.LastModifierIdentity != "alice" ||
		d.WorkerDeploymentInfo.CreateTime == nil || len(d.WorkerDeploymentInfo.VersionSummaries) != 0 || !bytes.Equal(d.ConflictToken, r1.ConflictToken) {
		t.Fatalf("describe after create: %v, %v", d, err)
	}
	if r, err := create(name, "req-1"); err != nil || !bytes.Equal(r.ConflictToken, r1.ConflictToken) {
		t.Fatalf("create again with the same request id: %v, %v; want the same token", r, err)
	}
	if _, err := create(name, "req-2"); !isAlreadyExists(err, name) || strings.Contains(err.Error(), "auto-created") {
		t.Fatalf("create again with another request id: %v", err)
	}
	for _, c := range []struct{ name, want string }{
		{"", "deployment name cannot be empty"},
		{"a.b", "worker deployment name cannot contain '.'"},
		{"__x", "WorkerDeploymentName cannot start with '__'"},
		{strings.Repeat("a", 1001), "size of WorkerDeploymentName larger than the maximum allowed"},
	} {
		if _, err := create(c.name, "r"); !isInvalid(err, c.want) {
			t.Fatalf("create %q: %v; want InvalidArgument %q", c.name, err, c.want)
		}
	}

	// A deployment its workers' polls made cannot be created explicitly.
	polled := "dep-" + uuid.NewString()[:8]
	w := versionedWorker(e, worker.WorkerDeploymentVersion{DeploymentName: polled, BuildID: "1.0"}, "_v1")
	defer w.Stop()
	waitFor(t, 10*time.Second, "polled deployment registered", func() bool {
		_, err := svc.DescribeWorkerDeployment(ctx, &workflowservice.DescribeWorkerDeploymentRequest{Namespace: "default", DeploymentName: polled})
		return err == nil
	})
	if _, err := create(polled, "r"); !isAlreadyExists(err, "auto-created from worker polls") {
		t.Fatalf("create of a polled deployment: %v", err)
	}

	// Deleted, it can be created again, with new tokens.
	if _, err := svc.DeleteWorkerDeployment(ctx, &workflowservice.DeleteWorkerDeploymentRequest{Namespace: "default", DeploymentName: name, Identity: "alice"}); err != nil {
		t.Fatal(err)
	}
	r2, err := create(name, "req-3")
	if err != nil || bytes.Equal(r2.ConflictToken, r1.ConflictToken) {
		t.Fatalf("create after delete: %v, %v; want a new token", r2, err)
	}
}

func TestCreateWorkerDeploymentVersion(t *testing.T) {
	e := newEnv(t)
	ctx := e.ctx()
	svc := e.c.WorkflowService()
	name := "dep-" + uuid.NewString()[:8]
	ver := &deploymentpb.WorkerDeploymentVersion{DeploymentName: name, BuildId: "1.0"}
	cc := &computepb.ComputeConfig{ScalingGroups: map[string]*computepb.ComputeConfigScalingGroup{"sg1": lambdaGroup()}}
	createVersion := func(v *deploymentpb.WorkerDeploymentVersion, reqID string, cc *computepb.ComputeConfig) error {
		_, err := svc.CreateWorkerDeploymentVersion(ctx, &workflowservice.CreateWorkerDeploymentVersionRequest{Namespace: "default",
			DeploymentVersion: v, Identity: "bob", RequestId: reqID, ComputeConfig: cc})
		return err
	}
	if err := createVersion(ver, "v-1", cc); !isNotFound(err) || !strings.Contains(err.Error(), name) {
		t.Fatalf("version of a deployment that does not exist: %v", err)
	}
	if _, err := svc.CreateWorkerDeployment(ctx, &workflowservice.CreateWorkerDeploymentRequest{Namespace: "default", DeploymentName: name, RequestId: "d"}); err != nil {
		t.Fatal(err)
	}
	if err := createVersion(ver, "v-1", cc); err != nil {
		t.Fatalf("create version: %v", err)
	}
	if err := createVersion(ver, "v-1", cc); err != nil {
		t.Fatalf("create version again with the same request id: %v", err)
	}
	if err := createVersion(ver, "v-2", nil); !isAlreadyExists(err, name+".1.0") {
		t.Fatalf("create version again with another request id: %v", err)
	}
	for _, c := range []struct {
		v    *deploymentpb.WorkerDeploymentVersion
		cc   *computepb.ComputeConfig
		want string
	}{
		{&deploymentpb.WorkerDeploymentVersion{BuildId: "x"}, nil, "deployment name cannot be empty"},
		{&deploymentpb.WorkerDeploymentVersion{DeploymentName: name}, nil, "build ID cannot be empty"},
		{&deploymentpb.WorkerDeploymentVersion{DeploymentName: name, BuildId: "__x"}, nil, "BuildID cannot start with '__'"},
		{&deploymentpb.WorkerDeploymentVersion{DeploymentName: name, BuildId: "2.0"}, &computepb.ComputeConfig{ScalingGroups: map[string]*computepb.ComputeConfigScalingGroup{
			"sg1": {Provider: &computepb.ComputeProvider{Type: "invalid-provider"}}}}, "entry sg1: invalid compute provider type 'invalid-provider'"},
		{&deploymentpb.WorkerDeploymentVersion{DeploymentName: name, BuildId: "2.0"}, &computepb.ComputeConfig{ScalingGroups: map[string]*computepb.ComputeConfigScalingGroup{
			"sg1": lambdaGroup(), "sg2": lambdaGroup()}}, "only one scaling group can have no task types defined"},
		{&deploymentpb.WorkerDeploymentVersion{DeploymentName: name, BuildId: "2.0"}, &computepb.ComputeConfig{ScalingGroups: map[string]*computepb.ComputeConfigScalingGroup{
			"sg1": lambdaGroup(enumspb.TASK_QUEUE_TYPE_WORKFLOW), "sg2": lambdaGroup(enumspb.TASK_QUEUE_TYPE_WORKFLOW, enumspb.TASK_QUEUE_TYPE_ACTIVITY)}}, "task type Workflow appears in more than one entry"},
		{&deploymentpb.WorkerDeploymentVersion{DeploymentName: name, BuildId: "2.0"}, &computepb.ComputeConfig{ScalingGroups: map[string]*computepb.ComputeConfigScalingGroup{
			"sg1": {Provider: &computepb.ComputeProvider{Type: "k8s"}, Scaler: &computepb.ComputeScaler{Type: "magic"}}}}, "invalid scaling algorithm type 'magic'"},
	} {
		if err := createVersion(c.v, "bad", c.cc); !isInvalid(err, c.want) {
			t.Fatalf("create version %v with %v: %v; want InvalidArgument %q", c.v, c.cc, err, c.want)
		}
	}

	checkCreated := func(when string) {
		t.Helper()
		dv, err := svc.DescribeWorkerDeploymentVersion(ctx, &workflowservice.DescribeWorkerDeploymentVersionRequest{Namespace: "default", DeploymentVersion: ver})
		if err != nil {
			t.Fatalf("%s: describe version: %v", when, err)
		}
		info := dv.WorkerDeploymentVersionInfo
		if info.Status != enumspb.WORKER_DEPLOYMENT_VERSION_STATUS_CREATED || info.LastModifierIdentity != "bob" || !proto.Equal(info.ComputeConfig, cc) || len(info.TaskQueueInfos) != 0 {
			t.Fatalf("%s: created version: %v", when, info)
		}
		d, err := svc.DescribeWorkerDeployment(ctx, &workflowservice.DescribeWorkerDeploymentRequest{Namespace: "default", DeploymentName: name})
		if err != nil || len(d.WorkerDeploymentInfo.VersionSummaries) != 1 {
			t.Fatalf("%s: describe deployment: %v, %v", when, d, err)
		}
		wantSummary := &computepb.ComputeConfigSummary{ScalingGroups: map[string]*computepb.ComputeConfigScalingGroupSummary{"sg1": {ProviderType: "aws-lambda"}}}
		if s := d.WorkerDeploymentInfo.VersionSummaries[0]; s.Status != enumspb.WORKER_DEPLOYMENT_VERSION_STATUS_CREATED || !proto.Equal(s.ComputeConfig, wantSummary) {
			t.Fatalf("%s: version summary: %v", when, s)
		}
		l, err := svc.ListWorkerDeployments(ctx, &workflowservice.ListWorkerDeploymentsRequest{Namespace: "default"})
		if err != nil || len(l.WorkerDeployments) != 1 || !proto.Equal(l.WorkerDeployments[0].LatestVersionSummary.GetComputeConfig(), wantSummary) {
			t.Fatalf("%s: list: %v, %v", when, l, err)
		}
	}
	checkCreated("after create")
	e.restart()
	ctx = e.ctx()
	svc = e.c.WorkflowService()
	checkCreated("after restart")
	if err := createVersion(ver, "v-1", cc); err != nil {
		t.Fatalf("create version with its request id after a restart: %v", err)
	}

	// A worker of the version polls: its queue registers and the version
	// is no longer CREATED but INACTIVE; its compute config stays.
	w := versionedWorker(e, worker.WorkerDeploymentVersion{DeploymentName: name, BuildID: "1.0"}, "_v1")
	defer w.Stop()
	waitFor(t, 10*time.Second, "version inactive with the worker's queue", func() bool {
		dv, err := svc.DescribeWorkerDeploymentVersion(ctx, &workflowservice.DescribeWorkerDeploymentVersionRequest{Namespace: "default", DeploymentVersion: ver})
		return err == nil && dv.WorkerDeploymentVersionInfo.Status == enumspb.WORKER_DEPLOYMENT_VERSION_STATUS_INACTIVE &&
			len(dv.WorkerDeploymentVersionInfo.TaskQueueInfos) > 0 && proto.Equal(dv.WorkerDeploymentVersionInfo.ComputeConfig, cc)
	})
	// A version made by polls cannot be created explicitly.
	w2 := versionedWorker(e, worker.WorkerDeploymentVersion{DeploymentName: name, BuildID: "3.0"}, "_v3")
	defer w2.Stop()
	h := e.c.WorkerDeploymentClient().GetHandle(name)
	waitFor(t, 10*time.Second, "polled version registered", func() bool {
		d, err := h.Describe(ctx, client.WorkerDeploymentDescribeOptions{})
		return err == nil && len(d.Info.VersionSummaries) == 2
	})
	if err := createVersion(&deploymentpb.WorkerDeploymentVersion{DeploymentName: name, BuildId: "3.0"}, "r", nil); !isAlreadyExists(err, name+".3.0") {
		t.Fatalf("create of a polled version: %v", err)
	}
}

func TestWorkerDeploymentVersionComputeConfig(t *testing.T) {
	e := newEnv(t)
	ctx := e.ctx()
	svc := e.c.WorkflowService()
	name := "dep-" + uuid.NewString()[:8]
	ver := &deploymentpb.WorkerDeploymentVersion{DeploymentName: name, BuildId: "1.0"}
	update := func(id string, upserts map[string]*computepb.ComputeConfigScalingGroupUpdate, removes ...string) error {
		_, err := svc.UpdateWorkerDeploymentVersionComputeConfig(ctx, &workflowservice.UpdateWorkerDeploymentVersionComputeConfigRequest{Namespace: "default",
			DeploymentVersion: ver, ComputeConfigScalingGroups: upserts, RemoveComputeConfigScalingGroups: removes, Identity: "carol-" + id, RequestId: id})
		return err
	}
	validate := func(v *deploymentpb.WorkerDeploymentVersion, upserts map[string]*computepb.ComputeConfigScalingGroupUpdate, removes ...string) error {
		_, err := svc.ValidateWorkerDeploymentVersionComputeConfig(ctx, &workflowservice.ValidateWorkerDeploymentVersionComputeConfigRequest{Namespace: "default",
			DeploymentVersion: v, ComputeConfigScalingGroups: upserts, RemoveComputeConfigScalingGroups: removes})
		return err
	}
	describe := func() *deploymentpb.WorkerDeploymentVersionInfo {
		t.Helper()
		dv, err := svc.DescribeWorkerDeploymentVersion(ctx, &workflowservice.DescribeWorkerDeploymentVersionRequest{Namespace: "default", DeploymentVersion: ver})
		if err != nil {
			t.Fatal(err)
		}
		return dv.WorkerDeploymentVersionInfo
	}
	sg2 := map[string]*computepb.ComputeConfigScalingGroupUpdate{"sg2": {ScalingGroup: lambdaGroup(enumspb.TASK_QUEUE_TYPE_ACTIVITY)}}
	if err := update("u0", sg2); !isNotFound(err) {
		t.Fatalf("update of a version that does not exist: %v", err)
	}
	// Validate needs no version (as in Temporal).
	if err := validate(ver, sg2); err != nil {
		t.Fatalf("validate without a version: %v", err)
	}
	if err := validate(nil, map[string]*computepb.ComputeConfigScalingGroupUpdate{"sg": {ScalingGroup: &computepb.ComputeConfigScalingGroup{Provider: &computepb.ComputeProvider{Type: "nope"}}}}); !isInvalid(err, "invalid compute provider type 'nope'") {
		t.Fatalf("validate a bad provider: %v", err)
	}
	if _, err := svc.CreateWorkerDeployment(ctx, &workflowservice.CreateWorkerDeploymentRequest{Namespace: "default", DeploymentName: name, RequestId: "d"}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.CreateWorkerDeploymentVersion(ctx, &workflowservice.CreateWorkerDeploymentVersionRequest{Namespace: "default", DeploymentVersion: ver, RequestId: "v",
		ComputeConfig: &computepb.ComputeConfig{ScalingGroups: map[string]*computepb.ComputeConfigScalingGroup{"sg1": lambdaGroup(enumspb.TASK_QUEUE_TYPE_WORKFLOW)}}}); err != nil {
		t.Fatal(err)
	}

	// Validate changes nothing.
	if err := validate(ver, sg2); err != nil {
		t.Fatal(err)
	}
	if got := describe().ComputeConfig; len(got.ScalingGroups) != 1 {
		t.Fatalf("validate changed the config: %v", got)
	}
	// Validation looks at the whole result: a second workflow group clashes.
	clash := map[string]*computepb.ComputeConfigScalingGroupUpdate{"sg3": {ScalingGroup: lambdaGroup(enumspb.TASK_QUEUE_TYPE_WORKFLOW)}}
	if err := validate(ver, clash); !isInvalid(err, "task type Workflow appears in more than one entry") {
		t.Fatalf("validate a clashing group: %v", err)
	}
	if err := update("u1", clash); !isInvalid(err, "task type Workflow appears in more than one entry") {
		t.Fatalf("update with a clashing group: %v", err)
	}

	// Add a group.
	if err := update("u2", sg2); err != nil {
		t.Fatal(err)
	}
	want := &computepb.ComputeConfig{ScalingGroups: map[string]*computepb.ComputeConfigScalingGroup{
		"sg1": lambdaGroup(enumspb.TASK_QUEUE_TYPE_WORKFLOW), "sg2": lambdaGroup(enumspb.TASK_QUEUE_TYPE_ACTIVITY)}}
	if info := describe(); !proto.Equal(info.ComputeConfig, want) || info.LastModifierIdentity != "carol-u2" {
		t.Fatalf("after adding sg2: %v", info)
	}
	// Masked update of an existing group: only the named fields change.
	masked := map[string]*computepb.ComputeConfigScalingGroupUpdate{"sg1": {
		ScalingGroup: &computepb.ComputeConfigScalingGroup{TaskQueueTypes: []enumspb.TaskQueueType{enumspb.TASK_QUEUE_TYPE_NEXUS}, Provider: &computepb.ComputeProvider{Type: "ignored"}},
		UpdateMask:   &fieldmaskpb.FieldMask{Paths: []string{"task_queue_types", "scaler"}}}}
	if err := update("u3", masked); err != nil {
		t.Fatal(err)
	}
	want.ScalingGroups["sg1"] = &computepb.ComputeConfigScalingGroup{TaskQueueTypes: []enumspb.TaskQueueType{enumspb.TASK_QUEUE_TYPE_NEXUS},
		Provider: &computepb.ComputeProvider{Type: "aws-lambda"}}
	if info := describe(); !proto.Equal(info.ComputeConfig, want) {
		t.Fatalf("after the masked update: %v; want %v", info.ComputeConfig, want)
	}
	// An existing group with no mask is left alone; an unknown path is refused.
	if err := update("u4", map[string]*computepb.ComputeConfigScalingGroupUpdate{"sg1": {ScalingGroup: lambdaGroup()}}); err != nil {
		t.Fatal(err)
	}
	if info := describe(); !proto.Equal(info.ComputeConfig, want) {
		t.Fatalf("an update without a mask changed an existing group: %v", info.ComputeConfig)
	}
	if err := update("u5", map[string]*computepb.ComputeConfigScalingGroupUpdate{"sg1": {ScalingGroup: lambdaGroup(), UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"colour"}}}}); !isInvalid(err, `"colour"`) {
		t.Fatalf("unknown mask path: %v", err)
	}
	// A refused update leaves the config as it was, also after a restart.
	if err := update("u6", map[string]*computepb.ComputeConfigScalingGroupUpdate{"sg9": {ScalingGroup: &computepb.ComputeConfigScalingGroup{
		TaskQueueTypes: []enumspb.TaskQueueType{enumspb.TASK_QUEUE_TYPE_WORKFLOW}, Provider: &computepb.ComputeProvider{Type: "invalid-provider"}}}}); !isInvalid(err, "invalid compute provider type") {
		t.Fatalf("update with a bad provider: %v", err)
	}
	// Remove a group.
	if err := update("u7", nil, "sg2"); err != nil {
		t.Fatal(err)
	}
	delete(want.ScalingGroups, "sg2")
	e.restart()
	ctx = e.ctx()
	svc = e.c.WorkflowService()
	if info := describe(); !proto.Equal(info.ComputeConfig, want) || info.LastModifierIdentity != "carol-u7" {
		t.Fatalf("after removing sg2 and a restart: %v", info)
	}
	// The same request id again is a no-op, even after a restart.
	if err := update("u7", sg2); err != nil {
		t.Fatal(err)
	}
	if info := describe(); !proto.Equal(info.ComputeConfig, want) {
		t.Fatalf("a repeated request id changed the config: %v", info.ComputeConfig)
	}
	// Removing the last group leaves no compute config.
	if err := update("u8", nil, "sg1"); err != nil {
		t.Fatal(err)
	}
	if info := describe(); info.ComputeConfig != nil {
		t.Fatalf("after removing every group: %v", info.ComputeConfig)
	}
}
