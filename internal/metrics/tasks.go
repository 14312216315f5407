package metrics

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"go.temporal.io/api/workflowservice/v1"
)

// Task types, as Temporal's task_type label spells them.
const (
	taskTypeWorkflow = "Workflow"
	taskTypeActivity = "Activity"
)

// taskMetrics are about tasks handed to workers: how long they waited to
// be started and which attempt they were.
type taskMetrics struct {
	scheduleToStart  *prometheus.HistogramVec // task_schedule_to_start_latency
	wftAttempt       *prometheus.HistogramVec // workflow_task_attempt
	activityAttempts *prometheus.HistogramVec // sundial_activity_task_attempt
	queues           sync.Map                 // tqKey -> prometheus.Observer
	attempts         sync.Map                 // attemptKey -> prometheus.Observer
}

type tqKey struct{ ns, queue, typ string }

type attemptKey struct {
	ns       string
	activity bool
}

var attemptBuckets = []float64{1, 2, 3, 5, 10, 20, 50, 100}

func (t *taskMetrics) init(reg prometheus.Registerer) {
	t.scheduleToStart = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "task_schedule_to_start_latency", Help: "Time in seconds from a task's scheduling (of this attempt) to its start by a worker.", Buckets: latencyBuckets}, []string{labelNamespace, labelTaskQueue, labelTaskType})
	t.wftAttempt = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "workflow_task_attempt", Help: "Attempt number of each workflow task started.", Buckets: attemptBuckets}, []string{labelNamespace})
	t.activityAttempts = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "sundial_activity_task_attempt", Help: "Attempt number of each activity task started.", Buckets: attemptBuckets}, []string{labelNamespace})
	reg.MustRegister(t.scheduleToStart, t.wftAttempt, t.activityAttempts)
}

func (t *taskMetrics) queue(ns, queue, typ string) prometheus.Observer {
	k := tqKey{ns, queue, typ}
	if o, ok := t.queues.Load(k); ok {
		return o.(prometheus.Observer)
	}
	o, _ := t.queues.LoadOrStore(k, t.scheduleToStart.WithLabelValues(ns, queue, typ))
	return o.(prometheus.Observer)
}

func (t *taskMetrics) attempt(ns string, activity bool) prometheus.Observer {
	k := attemptKey{ns, activity}
	if o, ok := t.attempts.Load(k); ok {
		return o.(prometheus.Observer)
	}
	v := t.wftAttempt
	if activity {
		v = t.activityAttempts
	}
	o, _ := t.attempts.LoadOrStore(k, v.WithLabelValues(ns))
	return o.(prometheus.Observer)
}

// workflowTaskStarted records a workflow task given to a worker, under its
// workflow's normal task queue (sticky queues are per worker).
func (t *taskMetrics) workflowTaskStarted(ns string, r *workflowservice.PollWorkflowTaskQueueResponse) {
	if r.GetQuery() != nil {
		return // a legacy query task: no attempt, not scheduled in history
	}
	t.attempt(ns, false).Observe(float64(r.GetAttempt()))
	if r.ScheduledTime != nil && r.StartedTime != nil {
		d := r.StartedTime.AsTime().Sub(r.ScheduledTime.AsTime())
		t.queue(ns, r.GetWorkflowExecutionTaskQueue().GetName(), taskTypeWorkflow).Observe(max(d.Seconds(), 0))
	}
}

// activityStarted records an activity task given to a polling worker.
func (t *taskMetrics) activityStarted(ns, queue string, r *workflowservice.PollActivityTaskQueueResponse) {
	t.activityAttempt(ns, r.GetAttempt())
	if r.CurrentAttemptScheduledTime != nil && r.StartedTime != nil {
		d := r.StartedTime.AsTime().Sub(r.CurrentAttemptScheduledTime.AsTime())
		t.queue(ns, queue, taskTypeActivity).Observe(max(d.Seconds(), 0))
	}
}

// activityAttempt records an activity started eagerly (returned with a
// workflow task completion, never queued).
func (t *taskMetrics) activityAttempt(ns string, attempt int32) {
	t.attempt(ns, true).Observe(float64(attempt))
}
