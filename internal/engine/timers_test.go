package engine

import (
	"fmt"
	"testing"
	"time"
)

// TestTimerHeapCompacts: deadlines dropped for evicted runs do not stay in
// the heap until they would have fired.
func TestTimerHeapCompacts(t *testing.T) {
	q := newTimerQueue(func(runRef) {})
	far := time.Now().Add(24 * time.Hour)
	const n = 20000
	for i := range n {
		r := runRef{wfKey{"default", fmt.Sprint(i)}, "run"}
		q.set(r, far)
		q.forgetStored(r, far) // evicted: the due index will bring it back
	}
	keep := runRef{wfKey{"default", "kept"}, "run"}
	q.set(keep, far)
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.due) != 1 || len(q.h) > 2*len(q.due)+4096 {
		t.Fatalf("after %d evictions: %d live deadlines, %d heap entries", n, len(q.due), len(q.h))
	}
	found := false
	for _, e := range q.h {
		found = found || e.ref == keep
	}
	if !found {
		t.Fatal("the live deadline was lost by compaction")
	}
}
