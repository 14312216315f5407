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
		for _, t := range q.tasks {
			if t.QueryID != "" {
				continue
			}
			if st.Backlog == 0 && !t.added.IsZero() {
				st.OldestAge = now.Sub(t.added)
			}
			st.Backlog++
		}
		fn(k, st)
	}
}
