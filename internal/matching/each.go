package matching

import "time"

// EachStats calls fn with every queue's backlog statistics (rates are left
// out). fn runs under the matcher's lock and must not call back into it;
// it is meant for a metrics scrape, a few times a minute.
func (m *Matcher) EachStats(fn func(Key, Stats)) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := time.Now()
	for k, q := range m.queues {
		st := Stats{LastID: q.lastID, AckLevel: q.ackLevel}
		q.backlogStats(now, &st)
		fn(k, st)
	}
}

// backlogStats fills in the backlog count and the age of its oldest task
// (queries excluded; called with Matcher.mu held).
func (q *queue) backlogStats(now time.Time, st *Stats) {
	q.tasks.each(func(t *Task) {
		if t.QueryID != "" {
			return
		}
		if !t.added.IsZero() {
			st.OldestAge = max(st.OldestAge, now.Sub(t.added))
		}
		st.Backlog++
	})
}
