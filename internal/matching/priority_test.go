package matching

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// pollAll takes n tasks from a queue with nothing else adding to it.
func pollAll(t *testing.T, m *Matcher, k Key, n int) []Task {
	t.Helper()
	var out []Task
	for range n {
		tk, ok := pollNow(t, m, k)
		if !ok {
			t.Fatalf("poll %d of %d: no task (backlog %d)", len(out)+1, n, m.Backlog(k))
		}
		out = append(out, tk)
	}
	return out
}

func ids(ts []Task) []int64 {
	out := make([]int64, len(ts))
	for i, t := range ts {
		out[i] = t.ScheduledEventID
	}
	return out
}

// A lower priority key goes first; an unset key is the middle level (3);
// keys past the last level count as the last; FIFO within a level.
func TestPriorityOrder(t *testing.T) {
	m := New()
	defer m.Close()
	for i, key := range []int32{5, 0, 1, 7, 3, 2, 4, 1, 0} {
		m.Add(actKey, Task{ScheduledEventID: int64(i), PriorityKey: key})
	}
	got := fmt.Sprint(ids(pollAll(t, m, actKey, 9)))
	// keys:       1 1 2 (3 0 0) 4 (5 7)
	if want := "[2 7 5 1 4 8 6 0 3]"; got != want {
		t.Fatalf("dispatch order %s, want %s", got, want)
	}
}

// Within a level, backlogged fairness keys are served in proportion to
// their weights (the task's weight, or the queue's override), FIFO within a
// key, and tasks without a key keep FIFO order.
func TestFairnessWeightedProportions(t *testing.T) {
	for _, tc := range []struct {
		name      string
		overrides map[string]float32
		wantA     int // of the first 40 tasks
	}{
		{"carried weights 3:1", nil, 30},
		{"override makes them equal", map[string]float32{"b": 3}, 20},
		{"override 1:4", map[string]float32{"a": 1, "b": 4}, 8},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := New()
			defer m.Close()
			if tc.overrides != nil {
				m.SetLimits(actKey, Limits{Weights: tc.overrides})
			}
			// All of a's tasks arrive before b's: arrival order must not matter.
			for i := range 100 {
				m.Add(actKey, Task{ScheduledEventID: int64(i), FairnessKey: "a", FairnessWeight: 3})
			}
			for i := range 100 {
				m.Add(actKey, Task{ScheduledEventID: int64(1000 + i), FairnessKey: "b", FairnessWeight: 1})
			}
			got := pollAll(t, m, actKey, 40)
			a := 0
			last := map[string]int64{"a": -1, "b": -1}
			for _, tk := range got {
				if tk.FairnessKey == "a" {
					a++
				}
				if tk.ScheduledEventID <= last[tk.FairnessKey] {
					t.Fatalf("key %s out of FIFO order: %v", tk.FairnessKey, ids(got))
				}
				last[tk.FairnessKey] = tk.ScheduledEventID
			}
			if a < tc.wantA-1 || a > tc.wantA+1 {
				t.Fatalf("key a got %d of the first 40 tasks, want %d: %v", a, tc.wantA, ids(got))
			}
		})
	}
}

// Without fairness keys the backlog is FIFO, interleaved keys keep their
// own order, and a requeued task goes back to the front.
func TestFIFOWithinKeyAndRequeue(t *testing.T) {
	m := New()
	defer m.Close()
	for i := range 6 {
		m.Add(actKey, Task{ScheduledEventID: int64(i), FairnessKey: []string{"x", "y"}[i%2]})
	}
	first := pollAll(t, m, actKey, 1)[0]
	m.Requeue(actKey, first)
	got := ids(pollAll(t, m, actKey, 6))
	if fmt.Sprint(got) != "[0 1 2 3 4 5]" {
		t.Fatalf("equal-weight keys added alternately came out %v, want arrival order", got)
	}
	// A task handed straight to a poller that then left goes back ahead
	// of the tasks of its level.
	m.Add(actKey, Task{ScheduledEventID: 10})
	m.Add(actKey, Task{ScheduledEventID: 11})
	m.Requeue(actKey, Task{ScheduledEventID: 9})
	if got := fmt.Sprint(ids(pollAll(t, m, actKey, 3))); got != "[9 10 11]" {
		t.Fatalf("after a requeue: %s, want [9 10 11]", got)
	}
}

// A key that had nothing queued starts at the level's virtual time: it
// gets no credit for its idle time (it does not take the queue over), and
// no penalty either (it need not wait behind the whole backlog).
func TestIdleKeyStartsAtVirtualTime(t *testing.T) {
	m := New()
	defer m.Close()
	for i := range 100 {
		m.Add(actKey, Task{ScheduledEventID: int64(i), FairnessKey: "busy"})
	}
	pollAll(t, m, actKey, 50)
	for i := range 20 {
		m.Add(actKey, Task{ScheduledEventID: int64(1000 + i), FairnessKey: "new"})
	}
	newer := 0
	for _, tk := range pollAll(t, m, actKey, 20) {
		if tk.FairnessKey == "new" {
			newer++
		}
	}
	if newer < 9 || newer > 11 {
		t.Fatalf("a key joining a backlog of an equal-weight key got %d of the next 20 tasks, want about 10", newer)
	}
}

// A query goes ahead of the tasks of its level, behind a higher level's.
func TestQueryOrder(t *testing.T) {
	m := New()
	defer m.Close()
	m.Add(wfKey, Task{ScheduledEventID: 1})
	m.Add(wfKey, Task{ScheduledEventID: 2, PriorityKey: 1})
	m.Add(wfKey, Task{QueryID: "q"})
	got := pollAll(t, m, wfKey, 3)
	if got[0].ScheduledEventID != 2 || got[1].QueryID != "q" || got[2].ScheduledEventID != 1 {
		t.Fatalf("order %+v", got)
	}
}

// A worker deployment version's sub-queue orders its backlog the same way,
// with the task queue's weight overrides.
func TestPriorityInVersionSubQueue(t *testing.T) {
	m := New()
	defer m.Close()
	v := actKey
	v.Version = "dep.1"
	m.SetLimits(actKey, Limits{Weights: map[string]float32{"b": 4}})
	m.Add(v, Task{ScheduledEventID: 1, PriorityKey: 4})
	for i := range 10 {
		m.Add(v, Task{ScheduledEventID: int64(10 + i), PriorityKey: 2, FairnessKey: "a"})
		m.Add(v, Task{ScheduledEventID: int64(20 + i), PriorityKey: 2, FairnessKey: "b"})
	}
	m.Add(v, Task{ScheduledEventID: 2, PriorityKey: 1})
	m.Add(actKey, Task{ScheduledEventID: 99, PriorityKey: 1}) // the unversioned queue is another backlog
	got := pollAll(t, m, v, 22)
	if got[0].ScheduledEventID != 2 || got[21].ScheduledEventID != 1 {
		t.Fatalf("sub-queue order %v", ids(got))
	}
	b := 0
	for _, tk := range got[1:6] {
		if tk.FairnessKey == "b" {
			b++
		}
	}
	if b < 3 {
		t.Fatalf("override weight 4 got %d of the first 5 tasks of the level: %v", b, ids(got))
	}
	if tk, ok := pollNow(t, m, actKey); !ok || tk.ScheduledEventID != 99 {
		t.Fatalf("unversioned queue: %v %v", tk, ok)
	}
}

// Rate limits still apply: a fairness key at its limit does not hold back
// lower-priority keys, and the queue's rate bounds dispatch whatever the
// order.
func TestPriorityWithRateLimits(t *testing.T) {
	m := New()
	defer m.Close()
	m.SetLimits(actKey, Limits{KeyRPS: ptr(1)}) // burst 1 per key
	for i := range 3 {
		m.Add(actKey, Task{ScheduledEventID: int64(i), PriorityKey: 1, FairnessKey: "hot"})
		m.Add(actKey, Task{ScheduledEventID: int64(10 + i), PriorityKey: 5, FairnessKey: "cold"})
	}
	got := pollAll(t, m, actKey, 2)
	if got[0].ScheduledEventID != 0 || got[1].ScheduledEventID != 10 {
		t.Fatalf("with hot at its key limit, want hot then cold: %v", ids(got))
	}
	// After about a second both keys have a token again: hot (higher
	// priority) first.
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	tk, ok := m.Poll(ctx, actKey, "w")
	if !ok || tk.ScheduledEventID != 1 {
		t.Fatalf("after the refill: %v %v, want hot's next task", tk, ok)
	}

	// A queue-wide rate: tasks leave in priority order, at the rate.
	m2 := New()
	defer m2.Close()
	m2.SetLimits(actKey, Limits{QueueRPS: ptr(5)})
	for i := range 10 {
		m2.Add(actKey, Task{ScheduledEventID: int64(i), PriorityKey: int32(5 - i%5)})
	}
	start := time.Now()
	var order []int32
	for len(order) < 10 {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		tk, ok := m2.Poll(ctx, actKey, "w")
		cancel()
		if !ok {
			t.Fatalf("queue-limited poll timed out after %d tasks", len(order))
		}
		order = append(order, tk.PriorityKey)
	}
	if el := time.Since(start); el < 800*time.Millisecond {
		t.Fatalf("10 tasks at 5/s (burst 5) took %v", el)
	}
	if fmt.Sprint(order) != "[1 1 2 2 3 3 4 4 5 5]" {
		t.Fatalf("queue-limited dispatch order %v", order)
	}
}

// Fairness keys far beyond the sweep threshold: idle keys are dropped and
// order still holds.
func TestManyFairnessKeys(t *testing.T) {
	m := New()
	defer m.Close()
	for i := range 5000 {
		m.Add(actKey, Task{ScheduledEventID: int64(i), FairnessKey: fmt.Sprint("k", i)})
		if tk, ok := pollNow(t, m, actKey); !ok || tk.ScheduledEventID != int64(i) {
			t.Fatalf("task %d: got %v %v", i, tk, ok)
		}
	}
	m.mu.Lock()
	n := len(m.queues[actKey].tasks.levels[DefaultPriorityKey-1].keys)
	m.mu.Unlock()
	if n > 2*minKeySweep {
		t.Fatalf("%d idle fairness keys kept", n)
	}
}

// Statistics per priority key: each level's backlog, oldest age and rates;
// the default key is always reported; a queue of one level reports that
// level's rates equal to the queue's.
func TestStatsByPriority(t *testing.T) {
	m := New()
	defer m.Close()
	if _, got := m.StatsByPriority(actKey); len(got) != 1 || got[DefaultPriorityKey] != (Stats{}) {
		t.Fatalf("unused queue: %+v", got)
	}
	m.Add(actKey, Task{ScheduledEventID: 1, PriorityKey: 1})
	m.Add(actKey, Task{ScheduledEventID: 2, PriorityKey: 1})
	m.Add(actKey, Task{ScheduledEventID: 3, PriorityKey: 9})
	m.Add(actKey, Task{QueryID: "q", PriorityKey: 5})
	time.Sleep(10 * time.Millisecond)
	_, got := m.StatsByPriority(actKey)
	if len(got) != 3 || got[1].Backlog != 2 || got[5].Backlog != 1 || got[3].Backlog != 0 || got[1].OldestAge < 10*time.Millisecond || got[1].AddRate <= 0 {
		t.Fatalf("by priority %+v", got)
	}
	pollAll(t, m, actKey, 2) // key 1's two (the query waits at level 5)
	_, got = m.StatsByPriority(actKey)
	if got[1].Backlog != 0 || got[1].DispatchRate <= 0 || got[5].Backlog != 1 || got[5].DispatchRate != 0 {
		t.Fatalf("after dispatch %+v", got)
	}

	m2 := New()
	defer m2.Close()
	m2.Add(wfKey, Task{ScheduledEventID: 1})
	all, by := m2.StatsByPriority(wfKey)
	if st := m2.Stats(wfKey); st.Backlog != all.Backlog || st.LastID != all.LastID {
		t.Fatalf("Stats %+v, StatsByPriority's total %+v", st, all)
	}
	if len(by) != 1 || by[DefaultPriorityKey].AddRate != all.AddRate || by[DefaultPriorityKey].Backlog != all.Backlog {
		t.Fatalf("one level: queue %+v, by priority %+v", all, by)
	}
}
