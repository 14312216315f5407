package metrics

import (
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	enumspb "go.temporal.io/api/enums/v1"

	"github.com/sundial-io/sundial/internal/engine"
)

// workflowMetrics count run outcomes by namespace and workflow type, under
// Temporal's names (workflow_success, workflow_failed, ...).
type workflowMetrics struct {
	started, success, failed, timeout, cancel, terminate, continued *prometheus.CounterVec
	series                                                          sync.Map // wfKey -> *wfSeries
}

type wfKey struct{ ns, typ string }

type wfSeries struct {
	started, success, failed, timeout, cancel, terminate, continued prometheus.Counter
}

func (w *workflowMetrics) init(reg prometheus.Registerer) {
	l := []string{labelNamespace, labelWorkflowType}
	c := func(name, help string) *prometheus.CounterVec {
		v := prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, l)
		reg.MustRegister(v)
		return v
	}
	w.started = c("sundial_workflow_started", "Workflow runs started (first runs, retries, cron runs and continue-as-new runs).")
	w.success = c("workflow_success", "Workflow runs completed.")
	w.failed = c("workflow_failed", "Workflow runs failed.")
	w.timeout = c("workflow_timeout", "Workflow runs timed out.")
	w.cancel = c("workflow_cancel", "Workflow runs canceled.")
	w.terminate = c("workflow_terminate", "Workflow runs terminated.")
	w.continued = c("workflow_continued_as_new", "Workflow runs continued as new.")
}

func (w *workflowMetrics) get(ns, typ string) *wfSeries {
	k := wfKey{ns, typ}
	if s, ok := w.series.Load(k); ok {
		return s.(*wfSeries)
	}
	s := &wfSeries{
		started: w.started.WithLabelValues(ns, typ), success: w.success.WithLabelValues(ns, typ),
		failed: w.failed.WithLabelValues(ns, typ), timeout: w.timeout.WithLabelValues(ns, typ),
		cancel: w.cancel.WithLabelValues(ns, typ), terminate: w.terminate.WithLabelValues(ns, typ),
		continued: w.continued.WithLabelValues(ns, typ),
	}
	actual, _ := w.series.LoadOrStore(k, s)
	return actual.(*wfSeries)
}

// Observer returns the engine's view of the metrics (nil-safe: a nil
// *Metrics gives a nil Observer, which the engine treats as none).
func (m *Metrics) Observer() engine.Observer {
	if m == nil {
		return nil
	}
	return (*observer)(m)
}

type observer Metrics

var _ engine.Observer = (*observer)(nil)

func (o *observer) WorkflowStarted(ns, typ string) { o.wf.get(ns, typ).started.Inc() }

func (o *observer) WorkflowClosed(ns, typ string, ev enumspb.EventType) {
	s := o.wf.get(ns, typ)
	switch ev {
	case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED:
		s.success.Inc()
	case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED:
		s.failed.Inc()
	case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT:
		s.timeout.Inc()
	case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED:
		s.cancel.Inc()
	case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED:
		s.terminate.Inc()
	case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW:
		s.continued.Inc()
	}
}

func (o *observer) StoreWrite(op string, d time.Duration, err error) { o.st.write(op, d, err) }
