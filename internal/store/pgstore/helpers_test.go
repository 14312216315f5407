package pgstore

import namespacepb "go.temporal.io/api/namespace/v1"

func nsInfo(name string) *namespacepb.NamespaceInfo {
	return &namespacepb.NamespaceInfo{Name: name}
}
