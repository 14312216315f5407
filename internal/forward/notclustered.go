package forward

import (
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// notClustered are the RPCs that create state a Sundial node keeps in its
// own memory and serves from there, which a cluster of nodes does not
// share or divide yet: every node would act on it (a schedule firing on
// each node) or only one would know it. On a cluster they answer
// Unimplemented naming the feature, rather than misbehave
// (docs/CLUSTER.md, "Not built yet"). Empty now: schedules, batch jobs,
// standalone executions and worker deployments each have a single owner
// by shard; a feature added later that is not divided yet goes here,
// method name to feature name.
var notClustered = map[string]string{}

// refuseNotClustered returns the Unimplemented error for an RPC not
// offered on a cluster, or nil.
func refuseNotClustered(fullMethod string) error {
	name := fullMethod[strings.LastIndexByte(fullMethod, '/')+1:]
	if f, ok := notClustered[name]; ok {
		return status.Errorf(codes.Unimplemented, "Sundial does not offer %s on a cluster of nodes yet (%s is kept in one node's memory; docs/CLUSTER.md): run a single node to use %s", name, f, f)
	}
	return nil
}
