// Package matching hands tasks to long-polling workers.
//
// Queues live only in memory: every task can be re-derived from the
// durable state of its run (see execution.State.Recover), so after a
// restart the engine simply adds them again. A task is handed straight to
// a waiting poller when there is one, otherwise it waits in FIFO order.
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
)

// Key names one task queue.
type Key struct {
	Namespace string
	Name      string
	Kind      Kind
}

// Task is a reference to work held by a run; the engine checks on poll that
// it is still current.
type Task struct {
	Namespace        string
	WorkflowID       string
	RunID            string
	ScheduledEventID int64
	Attempt          int32
	// QueryID is set for a query task (a workflow-queue task that asks a
	// worker to answer a query without changing the run).
	QueryID string
	// Started, when set, is the engine's response for a task it already
	// started for this poller (see Claim); the poller returns it as is.
	Started any

	released bool // Claim.Release: no task after all, wait again
}

// Poller describes a recent poller, for DescribeTaskQueue.
type Poller struct {
	Identity string
	LastPoll time.Time
}

// Matcher holds all task queues.
type Matcher struct {
	mu     sync.Mutex
	queues map[Key]*queue
	closed bool
	done   chan struct{}
}

type queue struct {
	tasks   []Task
	waiters []*waiter
	pollers map[string]time.Time
	// lastPoll is when the latest poll began (Temporal's "last poller"
	// time, which decides whether a query fails for want of a worker).
	lastPoll time.Time
}

type waiter struct {
	ch       chan Task // buffered(1): a task handed over while the poller leaves is not lost
	ctx      context.Context
	identity string
	claimed  bool // taken by Claim: a delivery or release is coming (guarded by Matcher.mu)
}

// New returns an empty matcher.
func New() *Matcher {
	return &Matcher{queues: map[Key]*queue{}, done: make(chan struct{})}
}

func (m *Matcher) q(k Key) *queue {
	q := m.queues[k]
	if q == nil {
		q = &queue{pollers: map[string]time.Time{}}
		m.queues[k] = q
	}
	return q
}

// Add queues a task, or hands it to a waiting poller.
func (m *Matcher) Add(k Key, t Task) {
	m.mu.Lock()
	defer m.mu.Unlock()
	q := m.q(k)
	if !q.handOff(t) {
		q.tasks = append(q.tasks, t)
	}
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
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return Task{}, false
	}
	q := m.q(k)
	now := time.Now()
	q.pollers[identity] = now
	q.lastPoll = now
	if len(q.tasks) > 0 {
		t = q.tasks[0]
		q.tasks[0] = Task{}
		q.tasks = q.tasks[1:]
		m.mu.Unlock()
		return t, true
	}
	w := &waiter{ch: make(chan Task, 1), ctx: ctx, identity: identity}
	q.waiters = append(q.waiters, w)
	m.mu.Unlock()

	select {
	case t = <-w.ch:
		if t.released {
			return m.Poll(ctx, k, identity)
		}
		if ctx.Err() != nil && t.Started == nil {
			m.requeue(k, t)
			return Task{}, false
		}
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
	if m.closed || q == nil {
		return nil
	}
	// A poller whose worker hung up (a stopping worker cancels its polls)
	// is skipped: it leaves the list itself, and a task started for it
	// would be lost until its timeout.
	for i, w := range q.waiters {
		if w.ctx.Err() == nil {
			q.waiters = append(q.waiters[:i], q.waiters[i+1:]...)
			w.claimed = true
			return &Claim{w: w}
		}
	}
	return nil
}

// Claim is a poller reserved by Matcher.Claim.
type Claim struct{ w *waiter }

// Identity is the claimed poller's identity.
func (c *Claim) Identity() string { return c.w.identity }

// Deliver hands the started task to the claimed poller.
func (c *Claim) Deliver(t Task) { c.w.ch <- t }

// Release lets the poller go back to waiting (or return empty if its
// deadline passed meanwhile).
func (c *Claim) Release() { c.w.ch <- Task{released: true} }

// requeue gives a task back: to the next waiting poller, or to the front
// of the queue.
func (m *Matcher) requeue(k Key, t Task) {
	m.mu.Lock()
	defer m.mu.Unlock()
	q := m.q(k)
	if !q.handOff(t) {
		q.tasks = append([]Task{t}, q.tasks...)
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
	for id, t := range q.pollers {
		if t.After(cutoff) {
			out = append(out, Poller{Identity: id, LastPoll: t})
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
	for _, t := range q.pollers {
		if t.After(cutoff) {
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

// Backlog returns the number of queued tasks.
func (m *Matcher) Backlog(k Key) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	if q := m.queues[k]; q != nil {
		return len(q.tasks)
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
	out := q.tasks
	q.tasks = nil
	return out
}
