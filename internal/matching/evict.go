package matching

// Evict removes the queues for which drop says so: their waiting pollers
// return at once with no task (their workers poll again, on a cluster at
// the queue's new owner node) and their queued tasks are returned. A
// poller claimed for a task being started (Claim) is left to get it.
func (m *Matcher) Evict(drop func(Key) bool) []Task {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []Task
	for k, q := range m.queues {
		if !drop(k) {
			continue
		}
		out = append(out, q.tasks.drain()...)
		var keep []*waiter
		for _, w := range q.waiters {
			if w.claimed {
				keep = append(keep, w)
				continue
			}
			w.ch <- Task{evicted: true}
		}
		q.waiters = keep
		if len(keep) == 0 {
			delete(m.queues, k)
		}
	}
	return out
}
