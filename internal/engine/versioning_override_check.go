package engine

import (
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	workflowpb "go.temporal.io/api/workflow/v1"

	"github.com/sundial-io/sundial/internal/execution"
)

// CheckPinnedOverride refuses a pinned versioning override whose version
// does not poll the run's workflow task queue, as Temporal does for a
// start, a signal-with-start, an options update and a reset's post-reset
// options (its task queue version membership check): such a run's tasks
// would wait for workers that never come. The deprecated override by
// deployment is not checked (nor is it in Temporal).
func (e *Engine) CheckPinnedOverride(ns, queue string, o *workflowpb.VersioningOverride) error {
	//lint:ignore SA1019 older clients send the string form
	if o.GetPinned() == nil && o.GetPinnedVersion() == "" {
		return nil
	}
	v := execution.OverridePinnedVersion(o)
	if v == nil {
		return nil
	}
	e.deps.mu.Lock()
	defer e.deps.mu.Unlock()
	if d := e.deps.byNS[ns][v.DeploymentName]; d != nil {
		if ver := d.Versions[v.BuildId]; ver != nil && ver.hasQueue(queue, enumspb.TASK_QUEUE_TYPE_WORKFLOW) {
			return nil
		}
	}
	return serviceerror.NewFailedPreconditionf("Pinned version '%s:%s' is not present in task queue '%s' of type 'Workflow'", v.DeploymentName, v.BuildId, queue)
}
