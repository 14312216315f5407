package metrics

import "github.com/prometheus/client_golang/prometheus"

// internalCalls exposes a cluster node's internal calls to other nodes
// (forwarded RPCs and internal operations) as the counter
// sundial_cluster_internal_calls_total{kind}, read from the node's
// forwarder when Prometheus scrapes.
type internalCalls struct {
	desc *prometheus.Desc
	read func() map[string]uint64
}

func (c internalCalls) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c internalCalls) Collect(ch chan<- prometheus.Metric) {
	for kind, n := range c.read() {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.CounterValue, float64(n), kind)
	}
}

// ClusterCalls registers the counter of internal calls of a cluster node;
// read returns the calls made so far by kind ("forward:<Method>",
// "op:<name>"). A nil *Metrics records nothing.
func (m *Metrics) ClusterCalls(read func() map[string]uint64) {
	if m == nil {
		return
	}
	m.reg.MustRegister(internalCalls{
		desc: prometheus.NewDesc("sundial_cluster_internal_calls_total",
			"Internal calls this cluster node made to other nodes, by kind: forward:<Method> (a public RPC forwarded to a shard's owner), op:<name> (an internal operation, e.g. op:addTask, op:startTask).",
			[]string{"kind"}, nil),
		read: read,
	})
}
