package matching

import (
	"context"
	"testing"
	"time"
)

// A task queue's limits hold for its worker deployment versions'
// sub-queues too, including one that appears after the limits were set,
// and with one budget: two sub-queues together get the queue's rate.
func TestRateLimitSharedBySubQueues(t *testing.T) {
	m := New()
	defer m.Close()
	v1, v2 := actKey, actKey
	v1.Version, v2.Version = "dep.1", "dep.2"
	m.SetLimits(actKey, Limits{QueueRPS: ptr(0)}) // paused
	m.Add(v1, task(1))
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	if _, ok := m.Poll(ctx, v1, "w"); ok {
		t.Fatal("a paused queue's versioned sub-queue dispatched a task")
	}
	cancel()
	if rps, fromAPI, ok := m.Rate(v1); !ok || !fromAPI || rps != 0 {
		t.Fatalf("sub-queue's rate = %v, %v, %v; want the queue's 0 from the API", rps, fromAPI, ok)
	}
	m.SetLimits(actKey, Limits{}) // lifted: the waiting task goes
	if got := drain(t, m, v1, 1, 1, time.Second); len(got) != 1 {
		t.Fatal("the sub-queue's task did not go when the limit was lifted")
	}

	m.SetLimits(actKey, Limits{QueueRPS: ptr(10)})
	for i := range 15 {
		m.Add(v1, task(i))
		m.Add(v2, task(100+i))
	}
	start := time.Now()
	done := make(chan []time.Time, 2)
	for _, k := range []Key{v1, v2} {
		go func() { done <- drain(t, m, k, 2, 15, 5*time.Second) }()
	}
	n := len(<-done) + len(<-done)
	if n != 30 {
		t.Fatalf("%d of 30 tasks dispatched", n)
	}
	// A burst of 10, then 10 a second: about 2 s for 30 (1 s if each
	// sub-queue had its own budget).
	if d := time.Since(start); d < 1700*time.Millisecond {
		t.Fatalf("30 tasks of two sub-queues under a 10/s limit took %v, want about 2 s", d)
	}
}
