package cluster

import (
	"fmt"
	"hash/fnv"
	"testing"
)

// TestShardOfIsStable pins the hash: these values must never change, or
// existing workflows would move to other shards on upgrade.
func TestShardOfIsStable(t *testing.T) {
	for _, c := range []struct {
		ns, id string
		n      int
	}{
		{"default", "order-1", 64},
		{"default", "order-2", 64},
		{"billing", "order-1", 64},
		{"", "", 64},
		{"default", "order-1", 7},
	} {
		// Cross-check against the standard library's FNV-1a over the same
		// bytes (namespace, 0, id).
		h := fnv.New64a()
		h.Write([]byte(c.ns))
		h.Write([]byte{0})
		h.Write([]byte(c.id))
		want := int(h.Sum64() % uint64(c.n))
		if got := ShardOf(c.ns, c.id, c.n); got != want {
			t.Errorf("ShardOf(%q, %q, %d) = %d, want %d", c.ns, c.id, c.n, got, want)
		}
	}
	// And a literal value, so a change of both implementations still fails.
	if got, want := ShardOf("default", "wf", 64), 35; got != want {
		t.Errorf(`ShardOf("default", "wf", 64) = %d, want the pinned %d`, got, want)
	}
}

func TestShardOfSeparatesNamespaceAndID(t *testing.T) {
	if ShardOf("ab", "c", 1<<30) == ShardOf("a", "bc", 1<<30) {
		t.Error(`("ab","c") and ("a","bc") hash alike: the separator is missing`)
	}
}

// TestShardOfSpreads checks 64k workflow ids land on 64 shards evenly
// (each within 15% of the mean).
func TestShardOfSpreads(t *testing.T) {
	const n, shards = 65536, 64
	counts := make([]int, shards)
	for i := range n {
		s := ShardOf("default", fmt.Sprintf("workflow-%d", i), shards)
		if s < 0 || s >= shards {
			t.Fatalf("shard %d out of range", s)
		}
		counts[s]++
	}
	mean := n / shards
	for s, c := range counts {
		if c < mean*85/100 || c > mean*115/100 {
			t.Errorf("shard %d holds %d workflows, mean %d", s, c, mean)
		}
	}
}

func TestValidateShardCount(t *testing.T) {
	for n, ok := range map[int]bool{0: true, 1: true, 64: true, MaxShardCount: true, -1: false, MaxShardCount + 1: false} {
		if err := ValidateShardCount(n); (err == nil) != ok {
			t.Errorf("ValidateShardCount(%d) = %v", n, err)
		}
	}
}
