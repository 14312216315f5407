package metrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/sundial-io/sundial/internal/engine"
	"github.com/sundial-io/sundial/internal/store/pebblestore"
)

// Sources are what the scrape-time gauges read. Either may be nil.
type Sources struct {
	Engine *engine.Engine
	// Store returns the store's statistics; ok false when it is closed.
	Store func() (pebblestore.Stats, bool)
}

// Watch registers the gauges read from the engine and the store at scrape
// time (task queue backlogs, workflows in memory, store size and fsync
// latency): nothing is paid for them between scrapes.
func (m *Metrics) Watch(src Sources) {
	if m == nil {
		return
	}
	m.reg.MustRegister(&gauges{src: src})
}

var (
	backlogCountDesc = prometheus.NewDesc("approximate_backlog_count", "Tasks waiting in a task queue for a worker.", []string{labelNamespace, labelTaskQueue, labelTaskType}, nil)
	backlogAgeDesc   = prometheus.NewDesc("approximate_backlog_age_seconds", "How long the oldest task waiting in a task queue has waited, in seconds.", []string{labelNamespace, labelTaskQueue, labelTaskType}, nil)
	openRunsDesc     = prometheus.NewDesc("sundial_open_workflows", "Open (running) workflow runs (in memory or not).", nil, nil)
	inMemoryDesc     = prometheus.NewDesc("sundial_workflows_in_memory", "Workflows whose newest run is held in memory: every open run, plus closed runs for about 2 s after they close.", nil, nil)
	diskBytesDesc    = prometheus.NewDesc("sundial_store_disk_bytes", "Space the store takes on disk (sstables and write-ahead log), in bytes.", nil, nil)
	fsyncDesc        = prometheus.NewDesc("sundial_store_fsync_latency", "Latency of the store's write-ahead-log fsyncs in seconds (one fsync covers every write committed with it).", nil, nil)
)

type gauges struct{ src Sources }

func (g *gauges) Describe(ch chan<- *prometheus.Desc) {
	ch <- backlogCountDesc
	ch <- backlogAgeDesc
	ch <- inMemoryDesc
	ch <- openRunsDesc
	ch <- diskBytesDesc
	ch <- fsyncDesc
}

func (g *gauges) Collect(ch chan<- prometheus.Metric) {
	if e := g.src.Engine; e != nil {
		ch <- prometheus.MustNewConstMetric(inMemoryDesc, prometheus.GaugeValue, float64(e.WorkflowsInMemory()))
		ch <- prometheus.MustNewConstMetric(openRunsDesc, prometheus.GaugeValue, float64(e.OpenRuns()))
		for _, q := range e.TaskQueueBacklogs() {
			typ := taskTypeWorkflow
			if q.Activity {
				typ = taskTypeActivity
			}
			ch <- prometheus.MustNewConstMetric(backlogCountDesc, prometheus.GaugeValue, float64(q.Backlog), q.Namespace, q.Name, typ)
			ch <- prometheus.MustNewConstMetric(backlogAgeDesc, prometheus.GaugeValue, q.OldestAge.Seconds(), q.Namespace, q.Name, typ)
		}
	}
	if g.src.Store == nil {
		return
	}
	st, ok := g.src.Store()
	if !ok {
		return
	}
	ch <- prometheus.MustNewConstMetric(diskBytesDesc, prometheus.GaugeValue, float64(st.DiskBytes))
	if h := st.WALFsync; h != nil {
		// Pebble observes nanoseconds; report seconds like every other
		// latency here.
		// Pebble's hundred buckets are folded into ours: each of ours
		// counts the samples of Pebble's buckets that end at or below it.
		buckets := make(map[float64]uint64, len(storeBuckets))
		for _, le := range storeBuckets {
			var n uint64
			for _, b := range h.Bucket {
				if b.GetUpperBound()/1e9 <= le*(1+1e-9) {
					n = b.GetCumulativeCount()
				}
			}
			buckets[le] = n
		}
		ch <- prometheus.MustNewConstHistogram(fsyncDesc, h.GetSampleCount(), h.GetSampleSum()/1e9, buckets)
	}
}
