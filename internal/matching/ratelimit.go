package matching

import (
	"math"
	"time"

	"golang.org/x/time/rate"
)

// Limits is the dispatch rate configuration of one queue, as
// UpdateTaskQueueConfig sets it. Temporal applies it where tasks are handed
// to pollers, so a limited queue's backlog grows instead of its workers
// getting more than the rate.
type Limits struct {
	// QueueRPS limits the whole queue (tasks per second); nil: no limit
	// set through the API, the rate the pollers ask for applies. Zero
	// stops dispatch (Temporal's way to pause a queue).
	QueueRPS *float64
	// KeyRPS limits each fairness key to this rate times the key's weight;
	// nil: no per-key limit.
	KeyRPS *float64
	// Weights overrides the weight tasks carry for their fairness key.
	Weights map[string]float32
}

const (
	// minWeight is the smallest weight a fairness key counts with, as in
	// Temporal (a weight of zero or less means the default, 1).
	minWeight = 0.001
	// maxScan bounds how far into a backlog a poll looks for a task whose
	// fairness key is not at its limit.
	maxScan = 1000
	// maxIdleKeys: past this many per-key buckets, full (idle) ones are
	// dropped; a dropped bucket comes back full, so nothing changes.
	maxIdleKeys = 4096
)

// limiter is the token buckets of one rate-limited queue. A bucket holds
// one second of its rate (at least one task), as Temporal's matching sizes
// its burst, and starts full.
type limiter struct {
	api, worker *float64 // the queue rate set through the API and by pollers
	keyRPS      *float64
	weights     map[string]float32

	queue *rate.Limiter // nil: no queue-wide limit in force
	keys  map[string]*rate.Limiter
	timer *time.Timer // wakes the queues when their next task may go

	// subs are the sub-queues that share these buckets: a task queue's
	// unversioned queue and its worker deployment versions' queues (the
	// limit is per task queue, as in Temporal, whose partitions hold one
	// rate limiter for all their versioned physical queues).
	subs map[Key]*queue
}

// base is the task queue a (sub-)queue belongs to: the key without its
// deployment version.
func (k Key) base() Key {
	k.Version = ""
	return k
}

// bucket returns a token bucket for r tasks per second.
func bucket(r float64) *rate.Limiter {
	l := rate.NewLimiter(rate.Limit(r), burst(r))
	return l
}

func burst(r float64) int {
	if r <= 0 {
		return 0
	}
	return max(int(math.Ceil(r)), 1)
}

// effective is the queue-wide rate in force: the API's, else the pollers'.
func (l *limiter) effective() *float64 {
	if l.api != nil {
		return l.api
	}
	return l.worker
}

// apply brings the queue bucket in line with the configured rates,
// keeping the tokens it holds (capped at the new burst).
func (l *limiter) apply(now time.Time) {
	r := l.effective()
	switch {
	case r == nil:
		l.queue = nil
	case l.queue == nil:
		l.queue = bucket(*r)
	default:
		l.queue.SetLimitAt(now, rate.Limit(*r))
		l.queue.SetBurstAt(now, burst(*r))
	}
	// Per-key buckets are made again (full) at their keys' next task, with
	// the new rate and weights.
	l.keys = nil
}

// idle reports whether the limiter limits nothing (the queue can drop it).
func (l *limiter) idle() bool {
	return l.effective() == nil && l.keyRPS == nil
}

// weight is a fairness key's weight: its override, else what the task
// carries, else 1.
func (l *limiter) weight(key string, carried float32) float32 {
	return effectiveWeight(l.weights, key, carried)
}

func (l *limiter) keyBucket(t Task, now time.Time) *rate.Limiter {
	if l.keyRPS == nil {
		return nil
	}
	b := l.keys[t.FairnessKey]
	if b == nil {
		if len(l.keys) >= maxIdleKeys {
			for k, kb := range l.keys {
				if kb.TokensAt(now) >= float64(kb.Burst()) {
					delete(l.keys, k)
				}
			}
		}
		if l.keys == nil {
			l.keys = map[string]*rate.Limiter{}
		}
		b = bucket(*l.keyRPS * float64(l.weight(t.FairnessKey, t.FairnessWeight)))
		l.keys[t.FairnessKey] = b
	}
	return b
}

// queueReady reports whether the queue-wide bucket has a token.
func (l *limiter) queueReady(now time.Time) bool {
	return l.queue == nil || l.queue.TokensAt(now) >= 1
}

// take spends a token of the queue and one of t's fairness key if both
// have one; otherwise it spends nothing and reports false.
func (l *limiter) take(t Task, now time.Time) bool {
	if t.QueryID != "" {
		return true // queries are answered, not dispatched work
	}
	if !l.queueReady(now) {
		return false
	}
	kb := l.keyBucket(t, now)
	if kb != nil && kb.TokensAt(now) < 1 {
		return false
	}
	if l.queue != nil {
		l.queue.AllowN(now, 1)
	}
	if kb != nil {
		kb.AllowN(now, 1)
	}
	return true
}

// until is how long until a bucket has a token; false: never (rate 0).
func until(b *rate.Limiter, now time.Time) (time.Duration, bool) {
	if b == nil {
		return 0, true
	}
	tok := b.TokensAt(now)
	if tok >= 1 {
		return 0, true
	}
	r := float64(b.Limit())
	if r <= 0 || b.Burst() == 0 {
		return 0, false
	}
	return time.Duration((1 - tok) / r * float64(time.Second)), true
}

// delay is how long until one of the backlog's tasks may go; false: none
// ever will under the present limits.
func (l *limiter) delay(b *backlog, now time.Time) (time.Duration, bool) {
	qd, ok := until(l.queue, now)
	if !ok {
		return 0, false
	}
	if l.keyRPS == nil {
		return qd, true
	}
	best, found := time.Duration(0), false
	b.heads(func(t *Task) bool {
		kd, ok := until(l.keyBucket(*t, now), now)
		if ok && (!found || kd < best) {
			best, found = kd, true
		}
		return true
	})
	if !found {
		return 0, false
	}
	return max(qd, best), true
}

// nextReady removes and returns the first backlog task, in dispatch order
// (priority.go), that the limits let go now, spending its tokens (called
// with Matcher.mu held). Queries are never limited.
func (q *queue) nextReady(now time.Time) (Task, bool) {
	if q.tasks.len() == 0 {
		return Task{}, false
	}
	switch {
	case q.rl == nil:
		return q.tasks.next()
	case !q.rl.queueReady(now):
		return q.tasks.nextQuery()
	case q.rl.keyRPS == nil:
		t, ok := q.tasks.next()
		q.rl.take(t, now)
		return t, ok
	}
	return q.tasks.nextWhere(func(t *Task) bool { return q.rl.take(*t, now) })
}

// admit reports whether a new task may go straight to a waiting poller
// (spending its tokens), rather than join the backlog.
func (q *queue) admit(t Task, now time.Time) bool {
	return q.rl == nil || q.rl.take(t, now)
}

// pump hands backlog tasks to waiting pollers as the limits allow, then
// sets the limiter's timer for when the next one may go (called with m.mu
// held, after anything that may let a task go: a poller arriving while
// the backlog is blocked, or a change of limits). A rate-limited queue's
// buckets are shared by all the sub-queues of its task queue, so all of
// them are pumped.
func (m *Matcher) pump(k Key, q *queue) {
	if q.rl == nil {
		for len(q.waiters) > 0 && q.tasks.len() > 0 {
			t, _ := q.tasks.next()
			q.handOff(t)
		}
		return
	}
	m.pumpShared(k.base(), q.rl)
}

// pumpShared pumps the sub-queues of a limited task queue (called with
// m.mu held).
func (m *Matcher) pumpShared(base Key, rl *limiter) {
	now := time.Now()
	for _, q := range rl.subs {
		for len(q.waiters) > 0 {
			t, ok := q.nextReady(now)
			if !ok {
				break
			}
			q.handOff(t)
		}
	}
	if rl.timer != nil {
		rl.timer.Stop()
		rl.timer = nil
	}
	if m.closed {
		return
	}
	wait, found := time.Duration(0), false
	for _, q := range rl.subs {
		if len(q.waiters) == 0 || q.tasks.len() == 0 {
			continue
		}
		if d, ok := rl.delay(&q.tasks, now); ok && (!found || d < wait) {
			wait, found = d, true
		}
	}
	if !found {
		return // nothing waits, or rate 0: nothing goes until the limits change
	}
	rl.timer = time.AfterFunc(max(wait, time.Millisecond), func() {
		m.mu.Lock()
		defer m.mu.Unlock()
		if m.limiters[base] == rl {
			m.pumpShared(base, rl)
		}
	})
}

// SetLimits replaces a queue's API-set limits (UpdateTaskQueueConfig, and
// at startup from the store). Tasks the new limits let go are handed to
// waiting pollers at once.
func (m *Matcher) SetLimits(k Key, l Limits) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.q(k)
	m.setWeights(k.base(), l.Weights)
	rl := m.limiters[k.base()]
	if rl == nil {
		rl = &limiter{}
	}
	rl.api, rl.keyRPS, rl.weights = l.QueueRPS, l.KeyRPS, l.Weights
	m.setLimiter(k.base(), rl)
}

// setWorkerRate records the queue rate the latest poller asked for
// (TaskQueueMetadata.max_tasks_per_second; 0: none), which applies while
// no rate is set through the API, as in Temporal (called with m.mu held).
func (m *Matcher) setWorkerRate(k Key, q *queue, r float64) {
	var w *float64
	if r > 0 {
		w = &r
	}
	if q.rl == nil && w == nil {
		return
	}
	if q.rl != nil && ((q.rl.worker == nil) == (w == nil)) && (w == nil || *q.rl.worker == *w) {
		return
	}
	rl := m.limiters[k.base()]
	if rl == nil {
		rl = &limiter{}
	}
	rl.worker = w
	m.setLimiter(k.base(), rl)
}

// setLimiter puts rl in force on every sub-queue of the task queue base
// (or takes it away when it limits nothing) and pumps them (called with
// m.mu held).
func (m *Matcher) setLimiter(base Key, rl *limiter) {
	if rl.timer != nil {
		rl.timer.Stop()
		rl.timer = nil
	}
	rl.subs = map[Key]*queue{}
	for k, q := range m.queues {
		if k.base() == base {
			rl.subs[k] = q
		}
	}
	if rl.idle() {
		delete(m.limiters, base)
		for k, q := range rl.subs {
			q.rl = nil
			m.pump(k, q)
		}
		return
	}
	rl.apply(time.Now())
	m.limiters[base] = rl
	for _, q := range rl.subs {
		q.rl = rl
	}
	m.pumpShared(base, rl)
}

// Rate is the queue-wide dispatch rate in force and where it comes from
// (for DescribeTaskQueue's effective rate limit): fromAPI when set through
// UpdateTaskQueueConfig, else the rate pollers asked for (ok false: none).
func (m *Matcher) Rate(k Key) (rps float64, fromAPI, ok bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	q := m.queues[k]
	if q == nil || q.rl == nil {
		return 0, false, false
	}
	if q.rl.api != nil {
		return *q.rl.api, true, true
	}
	if q.rl.worker != nil {
		return *q.rl.worker, false, true
	}
	return 0, false, false
}

// LimitedByAPI reports whether limits set through the API (a queue or a
// per-key rate) are in force on a queue.
func (m *Matcher) LimitedByAPI(k Key) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	q := m.queues[k]
	return q != nil && q.rl != nil && (q.rl.api != nil || q.rl.keyRPS != nil)
}
