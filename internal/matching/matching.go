// Package matching hands tasks to long-polling workers.
//
// Queues live only in memory: every task can be re-derived from the
// durable state of its run (see execution.State.Recover), so after a
// restart the engine simply adds them again. A task is handed straight to
// a waiting poller when there is one, otherwise it waits in the backlog,
// ordered by priority and fairness as in Temporal (priority.go).
package matching

import (
	"context"
	"sync"
	"time"
)

// Kind separates workflow and activity queues that share a name.
type Kind int

const (
	Workflow Kind = iota
	Activity
	Nexus
)

// Key names one task queue.
type Key struct {
	Namespace string
	Name      string
	Kind      Kind
	// Version is a worker deployment version's sub-queue of the queue
	// ("<deployment>.<build id>"), polled only by that version's workers;
	// "" is the queue of unversioned workers. The engine routes tasks.
	Version string
}

// Task is a reference to work held by a run; the engine checks on poll that
// it is still current.
type Task struct {
	Namespace        string
	WorkflowID       string
	RunID            string
	ScheduledEventID int64
	Attempt          int32
	// PriorityKey (with FairnessKey and FairnessWeight below) is the task's
	// priority (common.v1.Priority), which orders the backlog (priority.go).
	PriorityKey int32
	// QueryID is set for a query task (a workflow-queue task that asks a
	// worker to answer a query without changing the run).
	QueryID string
	// NexusCancel marks a Nexus cancel-operation task (a start-operation
	// task otherwise).
	NexusCancel bool
	// Standalone marks an attempt of a standalone activity execution
	// (WorkflowID is then the activity id, RunID its run id and
	// ScheduledEventID the attempt's dispatch stamp) or, on a Nexus queue,
	// a task of a standalone Nexus operation (WorkflowID the operation
	// id, RunID its run id, Attempt the start or cancel attempt).
	Standalone bool
	// Started, when set, is the engine's response for a task it already
	// started for this poller (see Claim); the poller returns it as is.
	Started any
	// FairnessKey and FairnessWeight are the rest of the task's priority:
	// they order the backlog within a priority level (priority.go), and
	// per-key rate limits count tasks by fairness key (see Limits).
	FairnessKey    string
	FairnessWeight float32
	// Pinned: the task belongs to its queue's version (a pinned run), so
	// the engine leaves it there when the deployment's routing changes.
	Pinned bool

	released bool      // Claim.Release: no task after all, wait again
	evicted  bool      // Evict: the queue left this matcher, stop waiting
	hasPass  bool      // pass is set: the task waited in the backlog before
	id       int64     // backlog task id (0: never waited in the backlog); orders equal passes
	added    time.Time // when it joined the backlog
	pass     int64     // backlog order within its priority level (priority.go)
}

// Poller describes a recent poller, for DescribeTaskQueue.
type Poller struct {
	Identity string
	LastPoll time.Time
	// RatePerSecond is the dispatch rate the worker asked for (activity
	// pollers' TaskQueueActivitiesPerSecond); 0 when it set none.
	RatePerSecond float64
	// Info is what else the engine wants to report about the poller (its
	// versioning options), opaque to matching.
	Info any
}

// Matcher holds all task queues.
type Matcher struct {
	mu     sync.Mutex
	queues map[Key]*queue
	// limiters are the rate limits in force, by task queue (a key without
	// version), shared by its sub-queues (ratelimit.go).
	limiters map[Key]*limiter
	// weights are the fairness weight overrides, by task queue, shared by
	// its sub-queues (they order backlogs even when no rate is limited).
	weights map[Key]map[string]float32
	closed  bool
	done    chan struct{}
}

type queue struct {
	tasks   backlog
	weights map[string]float32 // fairness weight overrides (Matcher.weights)
	waiters []*waiter
	pollers map[string]Poller
	// lastPoll is when the latest poll began (Temporal's "last poller"
	// time, which decides whether a query fails for want of a worker).
	lastPoll time.Time

	// For DescribeTaskQueue: tasks that wait in the backlog get ids in
	// order, as Temporal's persisted tasks do (tasks handed straight to a
	// poller get none); ackLevel is the highest id dispatched.
	lastID, ackLevel  int64
	added, dispatched *rateWindow // tasks per second (queries excluded)

	rl *limiter // dispatch rate limits (ratelimit.go); nil: none

	byLevel [priorityLevels]*levelRates // per priority level (priority_stats.go)
}

type waiter struct {
	ch       chan Task // buffered(1): a task handed over while the poller leaves is not lost
	ctx      context.Context
	identity string
	claimed  bool // taken by Claim: a delivery or release is coming (guarded by Matcher.mu)
}

// New returns an empty matcher.
func New() *Matcher {
	return &Matcher{queues: map[Key]*queue{}, limiters: map[Key]*limiter{}, weights: map[Key]map[string]float32{}, done: make(chan struct{})}
}

func (m *Matcher) q(k Key) *queue {
	q := m.queues[k]
	if q == nil {
		now := time.Now()
		q = &queue{pollers: map[string]Poller{}, added: newRateWindow(now), dispatched: newRateWindow(now), weights: m.weights[k.base()]}
		m.queues[k] = q
		if rl := m.limiters[k.base()]; rl != nil { // a new version's sub-queue shares its queue's limits
			q.rl = rl
			rl.subs[k] = q
		}
	}
	return q
}

// Add queues a task, or hands it to a waiting poller.
func (m *Matcher) Add(k Key, t Task) {
	m.mu.Lock()
	defer m.mu.Unlock()
	q := m.q(k)
	now := time.Now()
	t.hasPass = false // a pass from another queue (Drain) means nothing here
	if t.QueryID == "" {
		q.countAdded(t, now)
	}
	// With rate limits pollers may wait while tasks wait for tokens: a new
	// task then joins the backlog, so that pump picks the first in
	// dispatch order (priority.go).
	if len(q.waiters) == 0 || (q.rl != nil && q.tasks.len() > 0) || !q.admit(t, now) || !q.handOff(t) {
		if t.QueryID == "" {
			q.lastID++
			t.id, t.added = q.lastID, now
		}
		q.tasks.push(t, q.weights)
		if q.rl != nil {
			m.pump(k, q)
		}
	}
}

// taken records that a poller got t (called with m.mu held).
func (q *queue) taken(t Task) {
	if t.QueryID != "" || t.released {
		return
	}
	q.countDispatched(t, time.Now())
	if t.id > q.ackLevel {
		q.ackLevel = t.id
	}
}

// tookTask records a task a poller got outside the lock.
func (m *Matcher) tookTask(k Key, t Task) {
	m.mu.Lock()
	m.q(k).taken(t)
	m.mu.Unlock()
}

// handOff gives t to the longest-waiting poller, if any.
func (q *queue) handOff(t Task) bool {
	if len(q.waiters) == 0 {
		return false
	}
	w := q.waiters[0]
	q.waiters = q.waiters[1:]
	w.ch <- t
	return true
}

// Poll waits for a task until ctx ends or the matcher closes. ok is false
// when no task came.
func (m *Matcher) Poll(ctx context.Context, k Key, identity string) (t Task, ok bool) {
	return m.PollAs(ctx, k, Poller{Identity: identity})
}

// PollAs is Poll for a poller described by p (LastPoll is set here).
func (m *Matcher) PollAs(ctx context.Context, k Key, p Poller) (t Task, ok bool) {
	identity := p.Identity
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return Task{}, false
	}
	q := m.q(k)
	now := time.Now()
	p.LastPoll = now
	q.pollers[identity] = p
	q.lastPoll = now
	if k.Kind != Workflow {
		m.setWorkerRate(k, q, p.RatePerSecond)
	}
	if t, ok := q.nextReady(now); ok {
		q.taken(t)
		m.mu.Unlock()
		return t, true
	}
	w := &waiter{ch: make(chan Task, 1), ctx: ctx, identity: identity}
	q.waiters = append(q.waiters, w)
	if q.rl != nil && q.tasks.len() > 0 {
		m.pump(k, q) // the backlog waits for tokens: wake this poller when one comes
	}
	m.mu.Unlock()

	select {
	case t = <-w.ch:
		if t.released {
			return m.PollAs(ctx, k, p)
		}
		if t.evicted {
			return Task{}, false
		}
		if ctx.Err() != nil && t.Started == nil {
			m.requeue(k, t)
			return Task{}, false
		}
		m.tookTask(k, t)
		return t, true
	case <-ctx.Done():
	case <-m.done:
	}
	m.mu.Lock()
	if w.claimed {
		// The engine is starting a task for this poller; it is on its way
		// (after one write) and only this poller can return it.
		m.mu.Unlock()
		if t = <-w.ch; t.released {
			return Task{}, false
		}
		m.tookTask(k, t)
		return t, true
	}
	for i, x := range q.waiters {
		if x == w {
			q.waiters = append(q.waiters[:i], q.waiters[i+1:]...)
			break
		}
	}
	m.mu.Unlock()
	select {
	case t = <-w.ch:
		// Handed over just as the poller gave up: its caller is gone, so
		// the task goes back to the front of the queue, not to a dead
		// connection (where it would wait out its timeout).
		m.requeue(k, t)
	default:
	}
	return Task{}, false
}

// Claim reserves the longest-waiting poller of a queue, if there is one,
// so the engine can start a newly scheduled task for it in the same write
// that schedules the task (saving the second write a poll would cost). The
// engine must then Deliver the started task or Release the claim; until
// then the poller keeps waiting even past its deadline.
func (m *Matcher) Claim(k Key) *Claim {
	m.mu.Lock()
	defer m.mu.Unlock()
	q := m.queues[k]
	if m.closed || q == nil || q.rl != nil {
		// A rate-limited queue's tasks go through Add, where the limits apply.
		return nil
	}
	// A poller whose worker hung up (a stopping worker cancels its polls)
	// is skipped: it leaves the list itself, and a task started for it
	// would be lost until its timeout.
	for i, w := range q.waiters {
		if w.ctx.Err() == nil {
			q.waiters = append(q.waiters[:i], q.waiters[i+1:]...)
			w.claimed = true
			return &Claim{w: w, m: m, q: q}
		}
	}
	return nil
}

// Claim is a poller reserved by Matcher.Claim.
type Claim struct {
	w *waiter
	m *Matcher
	q *queue
}

// Identity is the claimed poller's identity.
func (c *Claim) Identity() string { return c.w.identity }

// Deliver hands the started task to the claimed poller. The task never
// went through Add, so it is counted as added here (the poller counts it
// as dispatched).
func (c *Claim) Deliver(t Task) {
	c.m.mu.Lock()
	c.q.countAdded(t, time.Now())
	c.m.mu.Unlock()
	c.w.ch <- t
}

// Release lets the poller go back to waiting (or return empty if its
// deadline passed meanwhile).
func (c *Claim) Release() { c.w.ch <- Task{released: true} }

// requeue gives a task back: to the next waiting poller, or to the front
// of its fairness key in the backlog.
func (m *Matcher) requeue(k Key, t Task) {
	m.mu.Lock()
	defer m.mu.Unlock()
	q := m.q(k)
	if !q.handOff(t) {
		if t.QueryID == "" && t.id == 0 {
			q.lastID++
			t.id, t.added = q.lastID, time.Now()
		}
		q.tasks.pushFront(t)
	}
}

// Requeue returns a task that a poller took but could not deliver.
func (m *Matcher) Requeue(k Key, t Task) { m.requeue(k, t) }

// Pollers lists identities that polled the queue within the last window.
func (m *Matcher) Pollers(k Key, window time.Duration) []Poller {
	m.mu.Lock()
	defer m.mu.Unlock()
	q := m.queues[k]
	if q == nil {
		return nil
	}
	var out []Poller
	cutoff := time.Now().Add(-window)
	for id, p := range q.pollers {
		if p.LastPoll.After(cutoff) {
			out = append(out, p)
		} else {
			delete(q.pollers, id)
		}
	}
	return out
}

// HasPoller reports whether a worker polled the queue within window or is
// polling now.
func (m *Matcher) HasPoller(k Key, window time.Duration) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	q := m.queues[k]
	if q == nil {
		return false
	}
	if len(q.waiters) > 0 {
		return true
	}
	cutoff := time.Now().Add(-window)
	for _, p := range q.pollers {
		if p.LastPoll.After(cutoff) {
			return true
		}
	}
	return false
}

// SinceLastPoll is how long ago the latest poll of the queue began; a
// queue never polled reports the largest duration.
func (m *Matcher) SinceLastPoll(k Key) time.Duration {
	m.mu.Lock()
	defer m.mu.Unlock()
	q := m.queues[k]
	if q == nil || q.lastPoll.IsZero() {
		return time.Duration(1<<63 - 1)
	}
	return time.Since(q.lastPoll)
}

// Stats describes a queue's backlog and throughput, for DescribeTaskQueue.
type Stats struct {
	// Backlog counts tasks waiting for a poller (queries excluded: like
	// Temporal's they only ever wait for a direct match).
	Backlog int64
	// OldestAge is how long the oldest of them has waited.
	OldestAge time.Duration
	// AddRate and DispatchRate are tasks per second over the last 30 s.
	AddRate, DispatchRate float32
	// LastID is the id of the latest task that joined the backlog and
	// AckLevel the highest id dispatched (Temporal's read and ack levels).
	LastID, AckLevel int64
}

// Stats returns a queue's statistics; a queue never used has none.
func (m *Matcher) Stats(k Key) Stats {
	m.mu.Lock()
	defer m.mu.Unlock()
	q := m.queues[k]
	if q == nil {
		return Stats{}
	}
	now := time.Now()
	st := Stats{AddRate: q.added.rate(now), DispatchRate: q.dispatched.rate(now), LastID: q.lastID, AckLevel: q.ackLevel}
	q.backlogStats(now, &st)
	return st
}

// Backlog returns the number of queued tasks.
func (m *Matcher) Backlog(k Key) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	if q := m.queues[k]; q != nil {
		return q.tasks.len()
	}
	return 0
}

// Close releases every waiting poller; later polls return at once.
func (m *Matcher) Close() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.closed {
		m.closed = true
		close(m.done)
	}
}

// Drain removes and returns every queued task of a queue.
func (m *Matcher) Drain(k Key) []Task {
	m.mu.Lock()
	defer m.mu.Unlock()
	q := m.queues[k]
	if q == nil {
		return nil
	}
	return q.tasks.drain()
}
