package forward

// StandaloneRouteOf returns the standalone activity or standalone Nexus
// operation a request is addressed to by id: its namespace and activity
// (operation) id, the key of its shard as a workflow id is a workflow's
// (docs/CLUSTER.md, "Standalone activities and Nexus operations"). A
// worker's by-id answer that names a workflow is a workflow activity's,
// routed by RouteOf first. Task tokens of standalone executions name their
// id as the token's workflow id, so RouteOf routes those.
func StandaloneRouteOf(req any) (ns, id string, ok bool) {
	switch r := req.(type) {
	case interface {
		GetNamespace() string
		GetActivityId() string
	}:
		ns, id = r.GetNamespace(), r.GetActivityId()
	case interface {
		GetNamespace() string
		GetOperationId() string
	}:
		ns, id = r.GetNamespace(), r.GetOperationId()
	}
	return ns, id, ns != "" && id != ""
}
