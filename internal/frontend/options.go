package frontend

import (
	"context"

	commonpb "go.temporal.io/api/common/v1"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"google.golang.org/protobuf/proto"
)

// UpdateWorkflowExecutionOptions changes a run's options: the priority,
// the worker versioning override and the time-skipping config (recorded
// in a WorkflowExecutionOptionsUpdated event, shown by describe, followed
// by task routing and the run's clock; timeskipping.go).
func (s *Service) UpdateWorkflowExecutionOptions(ctx context.Context, r *workflowservice.UpdateWorkflowExecutionOptionsRequest) (*workflowservice.UpdateWorkflowExecutionOptionsResponse, error) {
	if err := s.ns(r.Namespace); err != nil {
		return nil, err
	}
	if err := checkExecution(r.WorkflowExecution); err != nil {
		return nil, err
	}
	if r.UpdateMask == nil {
		return nil, invalid("UpdateMask is required")
	}
	opts := r.WorkflowExecutionOptions
	if opts == nil {
		return nil, invalid("WorkflowExecutionOptions is required")
	}
	merge, err := optionsMerge(r.UpdateMask.Paths, opts)
	if err != nil {
		return nil, err
	}
	out, err := s.e.UpdateWorkflowOptions(ctx, r.Namespace, r.WorkflowExecution, r.Identity, merge)
	if err != nil {
		return nil, err
	}
	return &workflowservice.UpdateWorkflowExecutionOptionsResponse{WorkflowExecutionOptions: out}, nil
}

// optionsMerge checks the options an update mask names, as Temporal does,
// and returns the function that merges them into a run's current options
// (UpdateWorkflowExecutionOptions, and a reset's UpdateWorkflowOptions
// post-reset operation).
func optionsMerge(maskPaths []string, opts *workflowpb.WorkflowExecutionOptions) (func(cur *workflowpb.WorkflowExecutionOptions) (*workflowpb.WorkflowExecutionOptions, error), error) {
	paths := map[string]bool{}
	for _, p := range maskPaths {
		switch p {
		case "versioning_override", "versioningOverride":
			if err := checkVersioningOverride(opts.VersioningOverride); err != nil {
				return nil, err
			}
			paths["versioning_override"] = true
		case "time_skipping_config", "timeSkippingConfig":
			// Checked below, with or without the path (as Temporal).
			paths["time_skipping_config"] = true
		case "priority", "priority.priority_key", "priority.fairness_key", "priority.fairness_weight":
			paths[p] = true
		case "priority.priorityKey", "priority.fairnessKey", "priority.fairnessWeight":
			paths[map[string]string{"priority.priorityKey": "priority.priority_key", "priority.fairnessKey": "priority.fairness_key", "priority.fairnessWeight": "priority.fairness_weight"}[p]] = true
		default:
			if timeSkippingSubPath(p) {
				return nil, invalid("error applying update_options: time_skipping_config doesn't support partial update")
			}
			return nil, invalid("error parsing UpdateMask: proto: invalid path %q for message %q", p, "temporal.api.workflow.v1.WorkflowExecutionOptions")
		}
	}
	if err := checkPriority(opts.Priority); err != nil {
		return nil, err
	}
	if err := checkTimeSkipping(opts.TimeSkippingConfig); err != nil {
		return nil, err
	}
	return func(cur *workflowpb.WorkflowExecutionOptions) (*workflowpb.WorkflowExecutionOptions, error) {
		o := proto.Clone(cur).(*workflowpb.WorkflowExecutionOptions)
		if paths["priority"] {
			o.Priority = opts.Priority
		}
		if paths["versioning_override"] {
			o.VersioningOverride = opts.VersioningOverride
		}
		if paths["time_skipping_config"] {
			// Replaced as a whole, as in Temporal; nil clears it.
			o.TimeSkippingConfig = opts.TimeSkippingConfig
		}
		for _, k := range []string{"priority.priority_key", "priority.fairness_key", "priority.fairness_weight"} {
			if !paths[k] {
				continue
			}
			if opts.Priority == nil {
				return nil, invalid("error applying update_options: WorkflowExecutionOptions.priority is not set but the UpdateMask names %s", k)
			}
			if o.Priority == nil {
				o.Priority = &commonpb.Priority{}
			}
			switch k {
			case "priority.priority_key":
				o.Priority.PriorityKey = opts.Priority.PriorityKey
			case "priority.fairness_key":
				o.Priority.FairnessKey = opts.Priority.FairnessKey
			default:
				o.Priority.FairnessWeight = opts.Priority.FairnessWeight
			}
		}
		if o.Priority != nil && proto.Equal(o.Priority, &commonpb.Priority{}) {
			o.Priority = nil
		}
		return o, nil
	}, nil
}

// checkPriority refuses priorities Temporal refuses: a negative priority
// key, a fairness key over 64 bytes, a negative fairness weight.
func checkPriority(p *commonpb.Priority) error {
	switch {
	case p == nil:
		return nil
	case p.PriorityKey < 0:
		return invalid("priority key can't be negative")
	case len(p.FairnessKey) > 64:
		return invalid("fairness key length exceeds limit of 64")
	case p.FairnessWeight < 0:
		return invalid("fairness weight can't be negative")
	}
	return nil
}

// CheckOptionsUpdate checks an update mask and the options it names as
// UpdateWorkflowExecutionOptions does (a batch update-options job checks
// its request with it when it starts).
func CheckOptionsUpdate(maskPaths []string, opts *workflowpb.WorkflowExecutionOptions) error {
	_, err := optionsMerge(maskPaths, opts)
	return err
}

// timeSkippingSubPath reports a mask path inside time_skipping_config,
// which Temporal refuses: the config is replaced as a whole.
func timeSkippingSubPath(p string) bool {
	for _, field := range []string{"enabled", "fast_forward_config", "fastForwardConfig", "disable_propagation", "disablePropagation",
		"max_session_skip_count", "maxSessionSkipCount", "fast_forward_config.id", "fastForwardConfig.id",
		"fast_forward_config.duration", "fastForwardConfig.duration"} {
		if p == "time_skipping_config."+field || p == "timeSkippingConfig."+field {
			return true
		}
	}
	return false
}
