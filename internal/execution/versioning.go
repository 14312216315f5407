package execution

import (
	commonpb "go.temporal.io/api/common/v1"
	deploymentpb "go.temporal.io/api/deployment/v1"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"

	"github.com/sundial-io/sundial/internal/visibility"
)

// Worker versioning (worker deployments) as far as one run is concerned.
// Everything here is derived from history: the versioning behavior and
// deployment version the worker declared when it completed the run's last
// workflow task (WorkflowTaskCompleted), and the versioning override of
// the start (WorkflowExecutionStarted) or of the latest
// WorkflowExecutionOptionsUpdated. The engine routes the run's tasks from
// Routing(); where the deployments point is not the run's business.

// versioning is the run's worker-versioning state.
type versioning struct {
	behavior enumspb.VersioningBehavior
	version  *deploymentpb.WorkerDeploymentVersion
	override *workflowpb.VersioningOverride
	// used lists every version that completed a task, in order
	// ("<deployment>:<build id>").
	used []string
}

// VersionString is Temporal's "<deployment name>.<build id>" form of a
// version; the empty string is the unversioned "version".
func VersionString(v *deploymentpb.WorkerDeploymentVersion) string {
	if v.GetDeploymentName() == "" && v.GetBuildId() == "" {
		return ""
	}
	return v.GetDeploymentName() + "." + v.GetBuildId()
}

// CompletionVersioning is what a RespondWorkflowTaskCompleted declares
// about the worker: the deployment version of a versioned worker (nil
// otherwise) and the behavior of the workflow type.
func CompletionVersioning(r *workflowservice.RespondWorkflowTaskCompletedRequest) (*deploymentpb.WorkerDeploymentVersion, enumspb.VersioningBehavior) {
	o := r.GetDeploymentOptions()
	if o.GetWorkerVersioningMode() != enumspb.WORKER_VERSIONING_MODE_VERSIONED || o.GetDeploymentName() == "" {
		return nil, r.GetVersioningBehavior()
	}
	return &deploymentpb.WorkerDeploymentVersion{DeploymentName: o.DeploymentName, BuildId: o.BuildId}, r.GetVersioningBehavior()
}

// decorateCompleted adds the worker's versioning to a WorkflowTaskCompleted
// event, as Temporal records it.
func decorateCompleted(a *historypb.WorkflowTaskCompletedEventAttributes, r *workflowservice.RespondWorkflowTaskCompletedRequest) {
	v, b := CompletionVersioning(r)
	a.DeploymentVersion, a.VersioningBehavior = v, b
	a.WorkerDeploymentName = v.GetDeploymentName()
}

// applyVersioningCompleted: a task completed with a behavior makes the
// run versioned on the worker's version; one without makes it unversioned.
func (s *State) applyVersioningCompleted(a *historypb.WorkflowTaskCompletedEventAttributes) {
	s.noteUsedVersion(a.GetDeploymentVersion())
	if a.GetVersioningBehavior() == enumspb.VERSIONING_BEHAVIOR_UNSPECIFIED || a.GetDeploymentVersion() == nil {
		s.ver.behavior, s.ver.version = enumspb.VERSIONING_BEHAVIOR_UNSPECIFIED, nil
		return
	}
	s.ver.behavior, s.ver.version = a.VersioningBehavior, a.DeploymentVersion
}

// applyVersioningOptions applies the override part of a
// WorkflowExecutionOptionsUpdated event.
func (s *State) applyVersioningOptions(a *historypb.WorkflowExecutionOptionsUpdatedEventAttributes) {
	if a.GetVersioningOverride() != nil {
		s.ver.override = a.VersioningOverride
	} else if a.GetUnsetVersioningOverride() {
		s.ver.override = nil
	}
}

// VersioningOverride is the run's override, nil when it has none.
func (s *State) VersioningOverride() *workflowpb.VersioningOverride { return s.ver.override }

// OverridePinnedVersion is the version a pinned override names (nil for
// none or an auto-upgrade override), in either of the API's forms.
func OverridePinnedVersion(o *workflowpb.VersioningOverride) *deploymentpb.WorkerDeploymentVersion {
	if p := o.GetPinned(); p != nil {
		return p.GetVersion()
	}
	if o.GetAutoUpgrade() {
		return nil
	}
	//lint:ignore SA1019 older clients send the deprecated fields only
	if o.GetBehavior() == enumspb.VERSIONING_BEHAVIOR_PINNED {
		if d := o.GetDeployment(); d != nil {
			return &deploymentpb.WorkerDeploymentVersion{DeploymentName: d.SeriesName, BuildId: d.BuildId}
		}
		if name, build, ok := splitVersionString(o.GetPinnedVersion()); ok {
			return &deploymentpb.WorkerDeploymentVersion{DeploymentName: name, BuildId: build}
		}
	}
	return nil
}

func splitVersionString(s string) (name, build string, ok bool) {
	for i := 0; i < len(s); i++ {
		if s[i] == '.' {
			return s[:i], s[i+1:], i > 0 && i+1 < len(s)
		}
	}
	return "", "", false
}

// Routing is what the engine needs to route the run's tasks.
type Routing struct {
	// Pinned is the version every task must go to (a pinned override, or
	// a PINNED behavior on the version that declared it); "" when the run
	// follows its task queue's current (or ramping) version.
	Pinned string
	// Version is the version of the worker that completed the last
	// workflow task ("" when unversioned): an unpinned run whose queue's
	// target moved elsewhere must leave that worker's sticky queue.
	Version string
	// TaskQueue is the run's normal workflow task queue.
	TaskQueue string
}

// Routing returns the run's routing inputs.
func (s *State) Routing() Routing {
	r := Routing{Version: VersionString(s.ver.version), TaskQueue: s.TaskQueue()}
	if v := OverridePinnedVersion(s.ver.override); v != nil {
		r.Pinned = VersionString(v)
	} else if s.ver.override.GetAutoUpgrade() || s.ver.override.GetBehavior() == enumspb.VERSIONING_BEHAVIOR_AUTO_UPGRADE {
		r.Pinned = ""
	} else if s.ver.behavior == enumspb.VERSIONING_BEHAVIOR_PINNED {
		r.Pinned = r.Version
	}
	return r
}

// VersioningInfo is DescribeWorkflowExecution's versioning_info: the
// behavior and version the worker declared, and the override; nil for an
// unversioned run without one.
func (s *State) VersioningInfo() *workflowpb.WorkflowExecutionVersioningInfo {
	if s.ver.behavior == enumspb.VERSIONING_BEHAVIOR_UNSPECIFIED && s.ver.version == nil && s.ver.override == nil {
		return nil
	}
	info := &workflowpb.WorkflowExecutionVersioningInfo{
		Behavior:           s.ver.behavior,
		DeploymentVersion:  s.ver.version,
		VersioningOverride: s.ver.override,
	}
	//lint:ignore SA1019 older SDKs read the deprecated string form
	info.Version = VersionString(s.ver.version)
	return info
}

// Temporal's versioning search attributes, derived like TemporalPauseInfo
// (never written to history): the run's effective version and behavior,
// its deployment, and every version that completed one of its tasks.
const (
	attrDeploymentVersion  = "TemporalWorkerDeploymentVersion"
	attrVersioningBehavior = "TemporalWorkflowVersioningBehavior"
	attrDeployment         = "TemporalWorkerDeployment"
	attrUsedVersions       = "TemporalUsedWorkerDeploymentVersions"
)

// externalVersion is the "<deployment>:<build id>" form Temporal's
// search attributes use.
func externalVersion(v *deploymentpb.WorkerDeploymentVersion) string {
	return v.GetDeploymentName() + ":" + v.GetBuildId()
}

// effectiveVersioning is the behavior and version that route the run: a
// pinned override's, an auto-upgrade override's behavior with the
// worker's version, or what the worker declared.
func (s *State) effectiveVersioning() (enumspb.VersioningBehavior, *deploymentpb.WorkerDeploymentVersion) {
	if v := OverridePinnedVersion(s.ver.override); v != nil {
		return enumspb.VERSIONING_BEHAVIOR_PINNED, v
	}
	if s.ver.override.GetAutoUpgrade() || s.ver.override.GetBehavior() == enumspb.VERSIONING_BEHAVIOR_AUTO_UPGRADE {
		return enumspb.VERSIONING_BEHAVIOR_AUTO_UPGRADE, s.ver.version
	}
	return s.ver.behavior, s.ver.version
}

// withVersioningAttributes returns sa with the versioning attributes set
// (a copy; sa is the run's own map), or sa itself for an unversioned run.
func (s *State) withVersioningAttributes(sa *commonpb.SearchAttributes) *commonpb.SearchAttributes {
	b, v := s.effectiveVersioning()
	if v == nil && len(s.ver.used) == 0 {
		return sa
	}
	out := &commonpb.SearchAttributes{IndexedFields: make(map[string]*commonpb.Payload, len(sa.GetIndexedFields())+4)}
	for k, p := range sa.GetIndexedFields() {
		out.IndexedFields[k] = p
	}
	set := func(name string, val any, t enumspb.IndexedValueType) {
		if p, err := visibility.EncodeValue(val, t); err == nil {
			out.IndexedFields[name] = p
		}
	}
	if v != nil {
		set(attrDeploymentVersion, externalVersion(v), enumspb.INDEXED_VALUE_TYPE_KEYWORD)
		set(attrDeployment, v.GetDeploymentName(), enumspb.INDEXED_VALUE_TYPE_KEYWORD)
	}
	if b != enumspb.VERSIONING_BEHAVIOR_UNSPECIFIED {
		set(attrVersioningBehavior, b.String(), enumspb.INDEXED_VALUE_TYPE_KEYWORD)
	}
	if len(s.ver.used) > 0 {
		set(attrUsedVersions, append([]string(nil), s.ver.used...), enumspb.INDEXED_VALUE_TYPE_KEYWORD_LIST)
	}
	return out
}

// noteUsedVersion records a version that completed a task of the run.
func (s *State) noteUsedVersion(v *deploymentpb.WorkerDeploymentVersion) {
	if v == nil {
		return
	}
	ext := externalVersion(v)
	for _, u := range s.ver.used {
		if u == ext {
			return
		}
	}
	s.ver.used = append(s.ver.used, ext)
}

// pinToInherit is the version a child or a following run of this run
// starts pinned to (Temporal's inherited pinned version): the run's
// version when it is effectively PINNED, else nil.
func (s *State) pinToInherit() *deploymentpb.WorkerDeploymentVersion {
	if b, v := s.effectiveVersioning(); b == enumspb.VERSIONING_BEHAVIOR_PINNED {
		return v
	}
	return nil
}

// pinnedOverride is the run's override when it pins (children and
// following runs inherit only those).
func (s *State) pinnedOverride() *workflowpb.VersioningOverride {
	if OverridePinnedVersion(s.ver.override) != nil {
		return s.ver.override
	}
	return nil
}

// inheritVersioning gives a following run (continue-as-new, retry, cron)
// what Temporal passes on when it stays on the same task queue: a pinned
// override, and the version of a pinned run, unless continue-as-new asked
// for another initial behavior. (Temporal also lets a run that moves to
// another queue inherit when the version polls that queue; the state
// machine does not know deployments, so such a run starts unversioned.)
func (s *State) inheritVersioning(a *historypb.WorkflowExecutionStartedEventAttributes, initial enumspb.ContinueAsNewVersioningBehavior) {
	if a.GetTaskQueue().GetName() != s.TaskQueue() {
		return
	}
	if o := s.pinnedOverride(); o != nil && a.VersioningOverride == nil {
		a.VersioningOverride = o
	}
	if initial == enumspb.CONTINUE_AS_NEW_VERSIONING_BEHAVIOR_UNSPECIFIED {
		a.InheritedPinnedVersion = s.pinToInherit()
	}
}

// applyVersioningStarted: a run starts with its start's override, pinned
// to an inherited version until its first task says otherwise.
func (s *State) applyVersioningStarted(a *historypb.WorkflowExecutionStartedEventAttributes) {
	s.ver.override = a.GetVersioningOverride()
	if v := a.GetInheritedPinnedVersion(); v != nil {
		s.ver.behavior, s.ver.version = enumspb.VERSIONING_BEHAVIOR_PINNED, v
	}
}
