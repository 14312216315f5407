package engine

import (
	"testing"
	"time"
)

func TestGoneSticky(t *testing.T) {
	var g goneSticky
	t0 := time.Unix(1000, 0)
	g.add("ns", "", t0) // no sticky queue: nothing remembered
	if g.has("ns", "") {
		t.Fatal("the empty queue name is remembered")
	}
	g.add("ns", "sticky-a", t0)
	if !g.has("ns", "sticky-a") || g.has("other", "sticky-a") || g.has("ns", "sticky-b") {
		t.Fatal("remembered the wrong queues")
	}
	g.add("ns", "sticky-b", t0.Add(goneStickyTTL+time.Second)) // prunes sticky-a
	if g.has("ns", "sticky-a") || !g.has("ns", "sticky-b") {
		t.Fatal("an expired queue was kept or a new one lost")
	}
}
