package matching

import (
	"context"
	"strconv"
	"testing"
)

// Dispatch throughput of the matcher (go test ./internal/matching -run '^$'
// -bench Dispatch). The backlog benchmarks add b.N tasks with no poller and
// then poll them all, so they measure the backlog's ordering work; the
// hand-off benchmark matches each new task to a waiting poller.

func benchBacklog(b *testing.B, mk func(i int) Task) {
	m := New()
	k := Key{Namespace: "ns", Name: "q", Kind: Activity}
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		m.Add(k, mk(i))
	}
	for i := 0; i < b.N; i++ {
		if _, ok := m.Poll(ctx, k, "w"); !ok {
			b.Fatal("no task")
		}
	}
}

func BenchmarkDispatchBacklogFIFO(b *testing.B) {
	benchBacklog(b, func(i int) Task { return Task{WorkflowID: "wf", ScheduledEventID: int64(i)} })
}

func BenchmarkDispatchBacklogPriorities(b *testing.B) {
	benchBacklog(b, func(i int) Task {
		return Task{WorkflowID: "wf", ScheduledEventID: int64(i), PriorityKey: int32(i%5 + 1)}
	})
}

var benchKeys = func() []string {
	ks := make([]string, 100)
	for i := range ks {
		ks[i] = "tenant-" + strconv.Itoa(i)
	}
	return ks
}()

func BenchmarkDispatchBacklogFairness100Keys(b *testing.B) {
	benchBacklog(b, func(i int) Task {
		return Task{WorkflowID: "wf", ScheduledEventID: int64(i), FairnessKey: benchKeys[i%100], FairnessWeight: float32(i%3 + 1)}
	})
}

func BenchmarkDispatchHandOff(b *testing.B) {
	m := New()
	k := Key{Namespace: "ns", Name: "q", Kind: Activity}
	ctx := context.Background()
	got := make(chan struct{})
	go func() {
		for {
			if _, ok := m.Poll(ctx, k, "w"); !ok {
				return
			}
			got <- struct{}{}
		}
	}()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		m.Add(k, Task{WorkflowID: "wf", ScheduledEventID: int64(i), FairnessKey: benchKeys[i%100]})
		<-got
	}
	b.StopTimer()
	m.Close()
}

// BenchmarkDispatchBacklogSteady keeps a backlog of 1000 tasks of 10
// fairness keys and 5 priority keys: each op adds one task and polls one.
func BenchmarkDispatchBacklogSteady(b *testing.B) {
	m := New()
	k := Key{Namespace: "ns", Name: "q", Kind: Activity}
	ctx := context.Background()
	mk := func(i int) Task {
		return Task{WorkflowID: "wf", ScheduledEventID: int64(i), PriorityKey: int32(i%5 + 1), FairnessKey: benchKeys[i%10]}
	}
	for i := range 1000 {
		m.Add(k, mk(i))
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		m.Add(k, mk(i))
		if _, ok := m.Poll(ctx, k, "w"); !ok {
			b.Fatal("no task")
		}
	}
}
