package matching

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"
)

var (
	wfKey  = Key{Namespace: "ns", Name: "tq", Kind: Workflow}
	actKey = Key{Namespace: "ns", Name: "tq", Kind: Activity}
)

func task(i int) Task {
	return Task{Namespace: "ns", WorkflowID: "wf", RunID: "run", ScheduledEventID: int64(i), Attempt: 1}
}

func pollNow(t *testing.T, m *Matcher, k Key) (Task, bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	return m.Poll(ctx, k, "w")
}

func TestFIFOAndQueueSeparation(t *testing.T) {
	cases := []struct {
		name string
		add  []struct {
			k Key
			i int
		}
		poll Key
		want []int
	}{
		{"fifo", []struct {
			k Key
			i int
		}{{wfKey, 1}, {wfKey, 2}, {wfKey, 3}}, wfKey, []int{1, 2, 3}},
		{"kinds are separate queues", []struct {
			k Key
			i int
		}{{actKey, 9}, {wfKey, 1}, {actKey, 8}, {wfKey, 2}}, wfKey, []int{1, 2}},
		{"namespaces are separate queues", []struct {
			k Key
			i int
		}{{Key{Namespace: "other", Name: "tq", Kind: Workflow}, 7}, {wfKey, 1}}, wfKey, []int{1}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := New()
			for _, a := range c.add {
				m.Add(a.k, task(a.i))
			}
			if got := m.Backlog(c.poll); got != len(c.want) {
				t.Fatalf("Backlog = %d, want %d", got, len(c.want))
			}
			for _, w := range c.want {
				got, ok := pollNow(t, m, c.poll)
				if !ok || got.ScheduledEventID != int64(w) {
					t.Fatalf("Poll = %v %v, want %d", got, ok, w)
				}
			}
			if _, ok := pollNow(t, m, c.poll); ok {
				t.Fatalf("queue not empty")
			}
		})
	}
}

func TestDirectHandOff(t *testing.T) {
	m := New()
	got := make(chan Task, 1)
	go func() {
		tk, ok := m.Poll(context.Background(), wfKey, "w")
		if ok {
			got <- tk
		}
		close(got)
	}()
	waitFor(t, func() bool { return m.HasPoller(wfKey, 0) })
	m.Add(wfKey, task(42))
	select {
	case tk, ok := <-got:
		if !ok || tk.ScheduledEventID != 42 {
			t.Fatalf("handed %v %v", tk, ok)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("poller not woken")
	}
	if m.Backlog(wfKey) != 0 {
		t.Fatalf("handed-off task was also queued")
	}
}

func TestWaitersServedInOrder(t *testing.T) {
	m := New()
	const n = 3
	results := make([]chan Task, n)
	for i := 0; i < n; i++ {
		results[i] = make(chan Task, 1)
		go func(i int) {
			tk, _ := m.Poll(context.Background(), wfKey, fmt.Sprintf("w%d", i))
			results[i] <- tk
		}(i)
		waitFor(t, func() bool {
			m.mu.Lock()
			defer m.mu.Unlock()
			return len(m.q(wfKey).waiters) == i+1
		})
	}
	for i := 0; i < n; i++ {
		m.Add(wfKey, task(i))
	}
	for i := 0; i < n; i++ {
		if tk := <-results[i]; tk.ScheduledEventID != int64(i) {
			t.Fatalf("poller %d got %d", i, tk.ScheduledEventID)
		}
	}
}

func TestPollTimeout(t *testing.T) {
	m := New()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	start := time.Now()
	tk, ok := m.Poll(ctx, wfKey, "w")
	if ok || tk != (Task{}) {
		t.Fatalf("Poll = %v %v", tk, ok)
	}
	if time.Since(start) < 25*time.Millisecond {
		t.Fatalf("returned before the deadline")
	}
	m.mu.Lock()
	n := len(m.q(wfKey).waiters)
	m.mu.Unlock()
	if n != 0 {
		t.Fatalf("waiter leaked: %d", n)
	}
	// a task added after the poller left is queued, not lost
	m.Add(wfKey, task(1))
	if m.Backlog(wfKey) != 1 {
		t.Fatalf("task lost")
	}
}

// TestNoTaskLostWhenPollersLeave races Add against pollers whose contexts
// end at the same moment: every task is either returned by a Poll or still
// queued. Run with -race.
func TestNoTaskLostWhenPollersLeave(t *testing.T) {
	for round := 0; round < 20; round++ {
		m := New()
		const pollers, tasks = 32, 200
		var (
			mu  sync.Mutex
			got = map[int64]int{}
			wg  sync.WaitGroup
		)
		stop := make(chan struct{})
		for p := 0; p < pollers; p++ {
			wg.Add(1)
			go func(p int) {
				defer wg.Done()
				for {
					select {
					case <-stop:
						return
					default:
					}
					// very short polls, so contexts end while tasks are handed over
					ctx, cancel := context.WithTimeout(context.Background(), time.Duration(p%4)*50*time.Microsecond)
					tk, ok := m.Poll(ctx, wfKey, fmt.Sprintf("w%d", p))
					cancel()
					if ok {
						mu.Lock()
						got[tk.ScheduledEventID]++
						mu.Unlock()
					}
				}
			}(p)
		}
		for i := 0; i < tasks; i++ {
			m.Add(wfKey, task(i))
			if i%16 == 0 {
				time.Sleep(10 * time.Microsecond)
			}
		}
		// let pollers drain, then stop them
		deadline := time.Now().Add(5 * time.Second)
		for time.Now().Before(deadline) {
			mu.Lock()
			n := len(got)
			mu.Unlock()
			if n+m.Backlog(wfKey) >= tasks && m.Backlog(wfKey) == 0 {
				break
			}
			time.Sleep(time.Millisecond)
		}
		close(stop)
		wg.Wait()
		for _, tk := range m.Drain(wfKey) {
			got[tk.ScheduledEventID]++
		}
		if len(got) != tasks {
			t.Fatalf("round %d: %d of %d tasks seen", round, len(got), tasks)
		}
		for id, n := range got {
			if n != 1 {
				t.Fatalf("round %d: task %d delivered %d times", round, id, n)
			}
		}
	}
}

func TestCloseReleasesPollers(t *testing.T) {
	m := New()
	const n = 5
	var wg sync.WaitGroup
	oks := make(chan bool, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, ok := m.Poll(context.Background(), wfKey, "w")
			oks <- ok
		}()
	}
	waitFor(t, func() bool {
		m.mu.Lock()
		defer m.mu.Unlock()
		return len(m.q(wfKey).waiters) == n
	})
	m.Close()
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("pollers not released by Close")
	}
	close(oks)
	for ok := range oks {
		if ok {
			t.Fatalf("released poller reported a task")
		}
	}
	m.Add(wfKey, task(1))
	if _, ok := m.Poll(context.Background(), wfKey, "w"); ok {
		t.Fatalf("poll after Close returned a task")
	}
	m.Close() // idempotent
}

func TestPollersAndHasPoller(t *testing.T) {
	m := New()
	if m.HasPoller(wfKey, time.Hour) || m.Pollers(wfKey, time.Hour) != nil {
		t.Fatalf("unknown queue has pollers")
	}
	m.Add(wfKey, task(1))
	m.Add(wfKey, task(2))
	pollNow(t, m, wfKey)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	m.Poll(ctx, wfKey, "other")
	cancel()
	ps := m.Pollers(wfKey, time.Hour)
	if len(ps) != 2 {
		t.Fatalf("Pollers = %v", ps)
	}
	ids := map[string]bool{}
	for _, p := range ps {
		ids[p.Identity] = true
		if time.Since(p.LastPoll) > time.Minute {
			t.Fatalf("LastPoll %v", p.LastPoll)
		}
	}
	if !ids["w"] || !ids["other"] {
		t.Fatalf("identities %v", ids)
	}
	if !m.HasPoller(wfKey, time.Hour) {
		t.Fatalf("HasPoller false within window")
	}
	time.Sleep(5 * time.Millisecond)
	if m.HasPoller(wfKey, time.Millisecond) {
		t.Fatalf("HasPoller true outside window with no waiter")
	}
	if ps := m.Pollers(wfKey, time.Millisecond); len(ps) != 0 {
		t.Fatalf("Pollers outside window = %v", ps)
	}
	// Pollers prunes expired entries
	m.mu.Lock()
	left := len(m.queues[wfKey].pollers)
	m.mu.Unlock()
	if left != 0 {
		t.Fatalf("expired pollers kept: %d", left)
	}
	// a waiting poller counts regardless of the window
	go m.Poll(context.Background(), actKey, "waiting")
	waitFor(t, func() bool { return m.HasPoller(actKey, 0) })
	if m.HasPoller(Key{Namespace: "ns", Name: "tq", Kind: Workflow}, 0) {
		t.Fatalf("waiter on the activity queue counted for the workflow queue")
	}
	m.Close()
}

func TestDrain(t *testing.T) {
	m := New()
	if m.Drain(wfKey) != nil {
		t.Fatalf("drain of unknown queue")
	}
	for i := 0; i < 3; i++ {
		m.Add(wfKey, task(i))
	}
	if got := m.Drain(wfKey); len(got) != 3 || got[0].ScheduledEventID != 0 || got[2].ScheduledEventID != 2 {
		t.Fatalf("Drain = %v", got)
	}
	if m.Backlog(wfKey) != 0 {
		t.Fatalf("backlog after drain")
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached")
		}
		time.Sleep(100 * time.Microsecond)
	}
}

// waitForPoller blocks until a poller is waiting on k.
func waitForPoller(t *testing.T, m *Matcher, k Key) {
	t.Helper()
	for i := 0; i < 1000; i++ {
		m.mu.Lock()
		n := 0
		if q := m.queues[k]; q != nil {
			n = len(q.waiters)
		}
		m.mu.Unlock()
		if n > 0 {
			return
		}
		time.Sleep(time.Millisecond)
	}
	t.Fatal("no poller arrived")
}

type pollResult struct {
	t  Task
	ok bool
}

func pollAsync(m *Matcher, k Key, d time.Duration) chan pollResult {
	out := make(chan pollResult, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), d)
		defer cancel()
		t, ok := m.Poll(ctx, k, "claimed-worker")
		out <- pollResult{t, ok}
	}()
	return out
}

func TestClaim(t *testing.T) {
	t.Run("no poller, no claim", func(t *testing.T) {
		if c := New().Claim(wfKey); c != nil {
			t.Fatal("claimed a poller that does not exist")
		}
	})
	t.Run("delivered to the claimed poller, not to Add", func(t *testing.T) {
		m := New()
		res := pollAsync(m, wfKey, 5*time.Second)
		waitForPoller(t, m, wfKey)
		c := m.Claim(wfKey)
		if c == nil || c.Identity() != "claimed-worker" {
			t.Fatalf("claim %v", c)
		}
		m.Add(wfKey, task(1)) // the claimed poller no longer takes plain tasks
		if m.Backlog(wfKey) != 1 {
			t.Fatal("task handed to a claimed poller")
		}
		c.Deliver(Task{Started: "resp"})
		if r := <-res; !r.ok || r.t.Started != "resp" {
			t.Fatalf("poll got %+v", r)
		}
	})
	t.Run("claimed poller waits past its deadline", func(t *testing.T) {
		m := New()
		res := pollAsync(m, wfKey, 20*time.Millisecond)
		waitForPoller(t, m, wfKey)
		c := m.Claim(wfKey)
		time.Sleep(60 * time.Millisecond)
		select {
		case r := <-res:
			t.Fatalf("claimed poller returned before delivery: %+v", r)
		default:
		}
		c.Deliver(Task{Started: "late"})
		if r := <-res; !r.ok || r.t.Started != "late" {
			t.Fatalf("poll got %+v", r)
		}
	})
	t.Run("released poller waits again", func(t *testing.T) {
		m := New()
		res := pollAsync(m, wfKey, 5*time.Second)
		waitForPoller(t, m, wfKey)
		m.Claim(wfKey).Release()
		waitForPoller(t, m, wfKey)
		m.Add(wfKey, task(7))
		if r := <-res; !r.ok || r.t.ScheduledEventID != 7 {
			t.Fatalf("poll got %+v", r)
		}
	})
	t.Run("released after the deadline returns empty", func(t *testing.T) {
		m := New()
		res := pollAsync(m, wfKey, 20*time.Millisecond)
		waitForPoller(t, m, wfKey)
		c := m.Claim(wfKey)
		time.Sleep(60 * time.Millisecond)
		c.Release()
		if r := <-res; r.ok {
			t.Fatalf("poll got %+v", r)
		}
	})
}

func TestClaimSkipsCanceledPoller(t *testing.T) {
	m := New()
	ctx, cancel := context.WithCancel(context.Background())
	w := &waiter{ch: make(chan Task, 1), ctx: ctx, identity: "gone"}
	m.q(wfKey).waiters = append(m.q(wfKey).waiters, w)
	cancel()
	if c := m.Claim(wfKey); c != nil {
		t.Fatalf("claimed a poller whose worker hung up: %s", c.Identity())
	}
	res := pollAsync(m, wfKey, 5*time.Second)
	for {
		m.mu.Lock()
		n := len(m.q(wfKey).waiters)
		m.mu.Unlock()
		if n == 2 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	c := m.Claim(wfKey)
	if c == nil || c.Identity() != "claimed-worker" {
		t.Fatalf("claim %v", c)
	}
	c.Deliver(Task{Started: 1})
	if r := <-res; r.t.Started != 1 {
		t.Fatalf("poll got %+v", r)
	}
}

// TestStats: backlog tasks get ids in order and the ack level follows
// dispatch; queries are not backlog; rates count adds and dispatches.
func TestStats(t *testing.T) {
	m := New()
	if st := m.Stats(wfKey); st != (Stats{}) {
		t.Fatalf("unused queue stats %+v", st)
	}
	m.Add(wfKey, Task{RunID: "a"})
	m.Add(wfKey, Task{RunID: "b"})
	m.Add(wfKey, Task{RunID: "q", QueryID: "q1"})
	time.Sleep(20 * time.Millisecond)
	st := m.Stats(wfKey)
	if st.Backlog != 2 || st.LastID != 2 || st.AckLevel != 0 || st.OldestAge < 20*time.Millisecond {
		t.Fatalf("stats after adds %+v", st)
	}
	if st.AddRate <= 0 || st.DispatchRate != 0 {
		t.Fatalf("rates after adds %+v", st)
	}
	// A query goes ahead of the tasks of its priority level (priority.go).
	if tk, ok := m.Poll(context.Background(), wfKey, "w"); !ok || tk.QueryID != "q1" {
		t.Fatalf("poll %v %v", tk, ok)
	}
	if tk, ok := m.Poll(context.Background(), wfKey, "w"); !ok || tk.RunID != "a" {
		t.Fatalf("poll %v %v", tk, ok)
	}
	st = m.Stats(wfKey)
	if st.Backlog != 1 || st.AckLevel != 1 || st.DispatchRate <= 0 {
		t.Fatalf("stats after a dispatch %+v", st)
	}
}

func TestRateWindow(t *testing.T) {
	t0 := time.Unix(1000, 0)
	r := newRateWindow(t0)
	r.add(t0, 10)
	if got := r.rate(t0.Add(10 * time.Second)); got != 1 {
		t.Fatalf("10 tasks over 10s = %v/s", got)
	}
	// Long after, the window has forgotten them.
	if got := r.rate(t0.Add(time.Minute)); got != 0 {
		t.Fatalf("rate a minute later = %v", got)
	}
}

func TestEvictReleasesPollersAndReturnsTasks(t *testing.T) {
	m := New()
	gone := Key{Namespace: "ns", Name: "gone", Kind: Workflow}
	kept := Key{Namespace: "ns", Name: "kept", Kind: Workflow}
	m.Add(gone, Task{WorkflowID: "a"})
	m.Add(kept, Task{WorkflowID: "b"})
	if got := m.Evict(func(k Key) bool { return k == gone }); len(got) != 1 || got[0].WorkflowID != "a" {
		t.Fatalf("evicted tasks %v, want a", got)
	}
	if m.Backlog(kept) != 1 {
		t.Fatal("the kept queue lost its task")
	}
	done := make(chan bool)
	go func() {
		_, ok := m.Poll(context.Background(), gone, "w")
		done <- ok
	}()
	for {
		m.mu.Lock()
		n := 0
		if q := m.queues[gone]; q != nil {
			n = len(q.waiters)
		}
		m.mu.Unlock()
		if n == 1 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	m.Evict(func(k Key) bool { return k == gone })
	select {
	case ok := <-done:
		if ok {
			t.Fatal("an evicted poller got a task")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the evicted poller kept waiting")
	}
}
