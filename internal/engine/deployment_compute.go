package engine

import (
	"fmt"
	"sort"

	computepb "go.temporal.io/api/compute/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"google.golang.org/protobuf/proto"
)

// Compute config of a worker deployment version: Temporal hands it to its
// worker controller (which starts serverless workers and scales them);
// Sundial launches no compute, so the config is only checked (with the
// rules Temporal's controller applies to the spec before any provider is
// called), stored with the version and described.

// computeProviderTypes are the provider types Temporal's worker controller
// knows (its test-only providers aside).
var computeProviderTypes = map[string]bool{
	"aws-lambda": true, "aws-ecs": true, "subprocess": true, "k8s": true, "gcp-cloud-run": true, "webhook": true,
}

// computeScalerTypes are the scaling algorithms it knows.
var computeScalerTypes = map[string]bool{"no-sync": true, "rate-based": true}

// computeMaskPaths are the update-mask paths a scaling group update may
// name (temporal.api.compute.v1.ComputeConfigScalingGroupUpdate).
var computeMaskPaths = map[string]bool{
	"task_queue_types": true, "region_ids": true, "provider": true, "provider.type": true, "provider.details": true,
	"provider.nexus_endpoint": true, "scaler": true, "scaler.type": true, "scaler.details": true,
}

func invalidCompute(format string, args ...any) error {
	return serviceerror.NewInvalidArgument(fmt.Sprintf(format, args...))
}

// checkComputeConfig checks a whole compute config as Temporal's worker
// controller checks its spec: named groups, at most one group without task
// queue types (it serves the types no other group names), no type in two
// groups, no unspecified type, known provider and scaler types. Groups are
// checked in name order so the message is stable. An empty config (no
// groups) is no compute config.
func checkComputeConfig(cc *computepb.ComputeConfig) error {
	names := make([]string, 0, len(cc.GetScalingGroups()))
	for n := range cc.GetScalingGroups() {
		names = append(names, n)
	}
	sort.Strings(names)
	seen := map[enumspb.TaskQueueType]bool{}
	catchAll := false
	for _, n := range names {
		g := cc.ScalingGroups[n]
		if n == "" {
			return invalidCompute("scaling groups without an ID are not supported")
		}
		if len(g.GetTaskQueueTypes()) == 0 {
			if catchAll {
				return invalidCompute("entry %s: only one scaling group can have no task types defined", n)
			}
			catchAll = true
		}
		for _, t := range g.GetTaskQueueTypes() {
			if seen[t] {
				return invalidCompute("entry %s: task type %s appears in more than one entry", n, t.String())
			}
			if t == enumspb.TASK_QUEUE_TYPE_UNSPECIFIED {
				return invalidCompute("entry %s: task type undefined not allowed in compute spec", n)
			}
			seen[t] = true
		}
		if p := g.GetProvider().GetType(); !computeProviderTypes[p] {
			return invalidCompute("entry %s: invalid compute provider type '%s'", n, p)
		}
		if g.GetScaler() != nil && !computeScalerTypes[g.Scaler.GetType()] {
			return invalidCompute("entry %s: invalid scaling algorithm type '%s'", n, g.Scaler.GetType())
		}
	}
	return nil
}

// applyComputeUpdate returns cur (nil: none) with the scaling groups of
// upserts added or changed and those of removes taken out, by the update
// mask rules of the API: a new group is taken whole (its mask ignored); an
// existing group with an empty mask is left as it is; a mask names the
// fields to copy from the update (a field the update leaves unset is
// cleared). cur is not changed. The result is not checked.
func applyComputeUpdate(cur *computepb.ComputeConfig, upserts map[string]*computepb.ComputeConfigScalingGroupUpdate, removes []string) (*computepb.ComputeConfig, error) {
	out := &computepb.ComputeConfig{ScalingGroups: map[string]*computepb.ComputeConfigScalingGroup{}}
	for n, g := range cur.GetScalingGroups() {
		out.ScalingGroups[n] = proto.Clone(g).(*computepb.ComputeConfigScalingGroup)
	}
	names := make([]string, 0, len(upserts))
	for n := range upserts {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		u := upserts[n]
		from := u.GetScalingGroup()
		if from == nil {
			from = &computepb.ComputeConfigScalingGroup{}
		}
		to, ok := out.ScalingGroups[n]
		if !ok {
			out.ScalingGroups[n] = proto.Clone(from).(*computepb.ComputeConfigScalingGroup)
			continue
		}
		for _, path := range u.GetUpdateMask().GetPaths() {
			if !computeMaskPaths[path] {
				return nil, invalidCompute("scaling group %s: update_mask path %q is not one of task_queue_types, region_ids, provider, provider.type, provider.details, provider.nexus_endpoint, scaler, scaler.type, scaler.details", n, path)
			}
			applyComputePath(to, from, path)
		}
	}
	for _, n := range removes {
		delete(out.ScalingGroups, n)
	}
	return out, nil
}

// applyComputePath copies one masked field of a scaling group update.
func applyComputePath(to, from *computepb.ComputeConfigScalingGroup, path string) {
	provider := func() *computepb.ComputeProvider {
		if to.Provider == nil {
			to.Provider = &computepb.ComputeProvider{}
		}
		return to.Provider
	}
	scaler := func() *computepb.ComputeScaler {
		if to.Scaler == nil {
			to.Scaler = &computepb.ComputeScaler{}
		}
		return to.Scaler
	}
	switch path {
	case "task_queue_types":
		to.TaskQueueTypes = append([]enumspb.TaskQueueType(nil), from.TaskQueueTypes...)
	case "region_ids":
		to.RegionIds = append([]string(nil), from.RegionIds...)
	case "provider":
		to.Provider = cloneOrNil(from.Provider)
	case "provider.type":
		provider().Type = from.GetProvider().GetType()
	case "provider.details":
		provider().Details = cloneOrNil(from.GetProvider().GetDetails())
	case "provider.nexus_endpoint":
		provider().NexusEndpoint = from.GetProvider().GetNexusEndpoint()
	case "scaler":
		to.Scaler = cloneOrNil(from.Scaler)
	case "scaler.type":
		scaler().Type = from.GetScaler().GetType()
	case "scaler.details":
		scaler().Details = cloneOrNil(from.GetScaler().GetDetails())
	}
}

// cloneOrNil deep-copies m, keeping a nil message nil.
func cloneOrNil[M proto.Message](m M) M {
	if !m.ProtoReflect().IsValid() {
		var zero M
		return zero
	}
	return proto.Clone(m).(M)
}

// encodeCompute is the stored form of a compute config; nil for none.
func encodeCompute(cc *computepb.ComputeConfig) ([]byte, error) {
	if len(cc.GetScalingGroups()) == 0 {
		return nil, nil
	}
	return proto.MarshalOptions{Deterministic: true}.Marshal(cc)
}

// decodeCompute reads a stored compute config; nil for none.
func decodeCompute(b []byte) *computepb.ComputeConfig {
	if len(b) == 0 {
		return nil
	}
	cc := &computepb.ComputeConfig{}
	if err := proto.Unmarshal(b, cc); err != nil {
		return nil
	}
	return cc
}

// computeSummary is what version summaries show of a compute config.
func computeSummary(b []byte) *computepb.ComputeConfigSummary {
	cc := decodeCompute(b)
	if cc == nil {
		return nil
	}
	s := &computepb.ComputeConfigSummary{ScalingGroups: map[string]*computepb.ComputeConfigScalingGroupSummary{}}
	for n, g := range cc.ScalingGroups {
		s.ScalingGroups[n] = &computepb.ComputeConfigScalingGroupSummary{
			TaskQueueTypes: g.TaskQueueTypes, ProviderType: g.GetProvider().GetType(), RegionIds: g.RegionIds}
	}
	return s
}
