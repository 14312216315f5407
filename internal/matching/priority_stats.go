package matching

import "time"

// Statistics per priority key, for DescribeTaskQueue's stats_by_priority_key
// (Temporal reports each priority level's backlog and rates there; the
// queue-wide Stats are their sum).

// levelRates are the add and dispatch rates of one priority level of a
// queue, made when the level first sees a task. Their windows start and
// turn over with the queue's, so a queue whose tasks are all of one level
// reports that level's rates equal to its own.
type levelRates struct {
	added, dispatched *rateWindow
}

func (q *queue) level(t Task) *levelRates {
	i := priorityLevel(t.PriorityKey)
	if q.byLevel[i] == nil {
		q.byLevel[i] = &levelRates{
			added:      &rateWindow{start: q.added.start, bucketStart: q.added.bucketStart},
			dispatched: &rateWindow{start: q.dispatched.start, bucketStart: q.dispatched.bucketStart},
		}
	}
	return q.byLevel[i]
}

// countAdded counts a task (not a query) added to the queue.
func (q *queue) countAdded(t Task, now time.Time) {
	q.added.add(now, 1)
	q.level(t).added.add(now, 1)
}

// countDispatched counts a task (not a query) a poller got.
func (q *queue) countDispatched(t Task, now time.Time) {
	q.dispatched.add(now, 1)
	q.level(t).dispatched.add(now, 1)
}

// StatsByPriority returns a queue's statistics (as Stats does) and the same
// per priority key (1 to 5), taken at one instant: the backlog and its
// oldest task's age, and the add and dispatch rates, of each level that has
// had tasks. The default key is always there, as in Temporal, whose default
// subqueue always exists. LastID and AckLevel are the queue's.
func (m *Matcher) StatsByPriority(k Key) (Stats, map[int32]Stats) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := map[int32]Stats{DefaultPriorityKey: {}}
	q := m.queues[k]
	if q == nil {
		return Stats{}, out
	}
	now := time.Now()
	all := Stats{AddRate: q.added.rate(now), DispatchRate: q.dispatched.rate(now), LastID: q.lastID, AckLevel: q.ackLevel}
	q.backlogStats(now, &all)
	for i, r := range q.byLevel {
		if r != nil {
			out[int32(i+1)] = Stats{AddRate: r.added.rate(now), DispatchRate: r.dispatched.rate(now), LastID: q.lastID, AckLevel: q.ackLevel}
		}
	}
	q.tasks.each(func(t *Task) {
		if t.QueryID != "" {
			return
		}
		key := int32(priorityLevel(t.PriorityKey) + 1)
		st := out[key]
		if !t.added.IsZero() {
			st.OldestAge = max(st.OldestAge, now.Sub(t.added))
		}
		st.Backlog++
		out[key] = st
	})
	return all, out
}
