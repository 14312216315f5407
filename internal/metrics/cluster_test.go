package metrics

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

// TestClusterCalls: the internal calls a node's forwarder counted are
// exported by kind, read at scrape time.
func TestClusterCalls(t *testing.T) {
	m := New()
	calls := map[string]uint64{"op:addTasks": 3, "forward:StartWorkflowExecution": 2}
	m.ClusterCalls(func() map[string]uint64 { return calls })
	want := `
# HELP sundial_cluster_internal_calls_total Internal calls this cluster node made to other nodes, by kind: forward:<Method> (a public RPC forwarded to a shard's owner), op:<name> (an internal operation, e.g. op:addTask, op:startTask).
# TYPE sundial_cluster_internal_calls_total counter
sundial_cluster_internal_calls_total{kind="forward:StartWorkflowExecution"} 2
sundial_cluster_internal_calls_total{kind="op:addTasks"} 3
`
	if err := testutil.GatherAndCompare(m.Registry(), strings.NewReader(want), "sundial_cluster_internal_calls_total"); err != nil {
		t.Fatal(err)
	}
	calls["op:addTasks"] = 5 // read again at the next scrape
	if err := testutil.GatherAndCompare(m.Registry(), strings.NewReader(strings.Replace(want, "} 3", "} 5", 1)), "sundial_cluster_internal_calls_total"); err != nil {
		t.Fatal(err)
	}
	var nilM *Metrics
	nilM.ClusterCalls(func() map[string]uint64 { return nil }) // records nothing, no panic
}
