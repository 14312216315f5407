package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sundial-io/sundial/internal/engine"
)

// storeMetrics time the engine's store writes under Temporal's
// persistence_* names, with operation "Apply" (hand the batch to the
// store) or "Sync" (wait until it is durable: the group-committed fsync).
type storeMetrics struct {
	requests, errors *prometheus.CounterVec
	latency          *prometheus.HistogramVec
	apply, sync      storeSeries
}

type storeSeries struct {
	requests, errors prometheus.Counter
	latency          prometheus.Observer
}

func (s *storeMetrics) init(reg prometheus.Registerer) {
	l := []string{labelOperation}
	s.requests = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "persistence_requests", Help: "Store writes, by step (Apply, Sync)."}, l)
	s.errors = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "persistence_errors", Help: "Store writes that failed, by step."}, l)
	s.latency = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "persistence_latency", Help: "Store write latency in seconds, by step: Apply hands a batch to the store, Sync waits for its fsync (shared by concurrent writes).", Buckets: storeBuckets}, l)
	reg.MustRegister(s.requests, s.errors, s.latency)
	series := func(op string) storeSeries {
		return storeSeries{s.requests.WithLabelValues(op), s.errors.WithLabelValues(op), s.latency.WithLabelValues(op)}
	}
	s.apply, s.sync = series(engine.StoreApply), series(engine.StoreSync)
}

func (s *storeMetrics) write(op string, d time.Duration, err error) {
	ss := &s.apply
	if op == engine.StoreSync {
		ss = &s.sync
	}
	ss.requests.Inc()
	ss.latency.Observe(d.Seconds())
	if err != nil {
		ss.errors.Inc()
	}
}
