package matching

import (
	"context"
	"sync"
	"testing"
	"time"
)

func ptr(f float64) *float64 { return &f }

// drain polls k with n pollers until want tasks came or the deadline
// passed, and returns when each task was received.
func drain(t *testing.T, m *Matcher, k Key, pollers, want int, deadline time.Duration) []time.Time {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	var mu sync.Mutex
	var got []time.Time
	var wg sync.WaitGroup
	for range pollers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				mu.Lock()
				done := len(got) >= want
				mu.Unlock()
				if done || ctx.Err() != nil {
					return
				}
				if _, ok := m.Poll(ctx, k, "w"); ok {
					mu.Lock()
					got = append(got, time.Now())
					if len(got) >= want {
						cancel()
					}
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	return got
}

// A queue limited to 10/s hands out its burst (one second's worth) at
// once and the rest at the rate, whether the tasks wait in the backlog or
// arrive while pollers wait; the backlog holds what is not yet due.
func TestQueueRateLimit(t *testing.T) {
	m := New()
	defer m.Close()
	m.SetLimits(actKey, Limits{QueueRPS: ptr(10)})
	start := time.Now()
	for i := range 25 {
		m.Add(actKey, task(i))
	}
	if b := m.Backlog(actKey); b != 25 {
		t.Fatalf("backlog = %d, want 25", b)
	}
	got := drain(t, m, actKey, 4, 25, 5*time.Second)
	if len(got) != 25 {
		t.Fatalf("got %d tasks in 5 s, want 25", len(got))
	}
	// 10 at once, 15 more at 10/s: about 1.5 s.
	if d := got[len(got)-1].Sub(start); d < 1300*time.Millisecond || d > 2500*time.Millisecond {
		t.Fatalf("25 tasks at 10/s (burst 10) took %v, want about 1.5 s", d)
	}
	if n := countBefore(got, start.Add(500*time.Millisecond)); n < 10 || n > 15 {
		t.Fatalf("%d tasks in the first 0.5 s, want the burst of 10 (+ up to 5)", n)
	}
	if r, api, ok := m.Rate(actKey); !ok || !api || r != 10 {
		t.Fatalf("Rate = %v %v %v, want 10 from the API", r, api, ok)
	}

	// Tasks added while pollers wait are limited too.
	time.Sleep(time.Second) // the bucket refills
	go func() {
		for i := range 20 {
			m.Add(actKey, task(100+i))
			time.Sleep(5 * time.Millisecond)
		}
	}()
	start = time.Now()
	got = drain(t, m, actKey, 4, 20, 5*time.Second)
	if d := got[len(got)-1].Sub(start); len(got) != 20 || d < 800*time.Millisecond {
		t.Fatalf("20 tasks added to waiting pollers: %d in %v, want 20 in about 1 s", len(got), d)
	}
}

func countBefore(ts []time.Time, cut time.Time) int {
	n := 0
	for _, x := range ts {
		if x.Before(cut) {
			n++
		}
	}
	return n
}

// A rate of zero stops dispatch; removing the limit lets the backlog go to
// the pollers already waiting.
func TestRateZeroPausesQueue(t *testing.T) {
	m := New()
	defer m.Close()
	m.SetLimits(actKey, Limits{QueueRPS: ptr(0)})
	m.Add(actKey, task(1))
	if _, ok := pollNow(t, m, actKey); ok {
		t.Fatal("a queue limited to 0/s dispatched a task")
	}
	res := make(chan bool)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_, ok := m.Poll(ctx, actKey, "w")
		res <- ok
	}()
	time.Sleep(100 * time.Millisecond)
	m.SetLimits(actKey, Limits{})
	if !<-res {
		t.Fatal("the waiting poller got nothing after the limit was removed")
	}
	if _, _, ok := m.Rate(actKey); ok {
		t.Fatal("Rate reports a limit after it was removed")
	}
}

// Per-key limits: each fairness key gets the default rate times its weight
// (an override beats the task's own weight), and a key at its limit does
// not hold back the others behind it.
func TestFairnessKeyRateLimit(t *testing.T) {
	m := New()
	defer m.Close()
	m.SetLimits(actKey, Limits{KeyRPS: ptr(2), Weights: map[string]float32{"heavy": 3}})
	for i := range 10 {
		m.Add(actKey, Task{ScheduledEventID: int64(i), FairnessKey: "light"})
	}
	for i := range 10 {
		m.Add(actKey, Task{ScheduledEventID: int64(100 + i), FairnessKey: "heavy", FairnessWeight: 0.5})
	}
	counts := map[string]int{}
	deadline := time.Now().Add(1200 * time.Millisecond)
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithDeadline(context.Background(), deadline)
		tk, ok := m.Poll(ctx, actKey, "w")
		cancel()
		if ok {
			counts[tk.FairnessKey]++
		}
	}
	// light: burst 2 + 2/s; heavy (override 3): burst 6 + 6/s, in 1.2 s.
	if l := counts["light"]; l < 3 || l > 5 {
		t.Fatalf("light key got %d tasks in 1.2 s, want about 4 (2/s, burst 2)", l)
	}
	if h := counts["heavy"]; h < 10 {
		t.Fatalf("heavy key got %d tasks in 1.2 s, want all 10 (6/s, burst 6)", h)
	}
}

// The rate the pollers ask for limits the queue while the API sets none,
// and the API's rate overrides it.
func TestWorkerRateLimit(t *testing.T) {
	m := New()
	defer m.Close()
	for i := range 6 {
		m.Add(actKey, task(i))
	}
	// A poll expected to get a task may wait long (a loaded machine can
	// delay it); one expected to get none waits 20 ms, far less than the
	// second a 1/s bucket needs for its next token.
	poll := func(wait time.Duration) bool {
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		defer cancel()
		_, ok := m.PollAs(ctx, actKey, Poller{Identity: "w", RatePerSecond: 1})
		return ok
	}
	if !poll(5*time.Second) || poll(20*time.Millisecond) {
		t.Fatal("a poller asking for 1/s got more than the one-task burst at once")
	}
	if r, api, ok := m.Rate(actKey); !ok || api || r != 1 {
		t.Fatalf("Rate = %v %v %v, want 1 from the worker", r, api, ok)
	}
	m.SetLimits(actKey, Limits{QueueRPS: ptr(100)})
	if !poll(500*time.Millisecond) || !poll(500*time.Millisecond) {
		t.Fatal("the API's rate did not override the worker's")
	}
}
