package cluster

import (
	"fmt"
	"math/rand"
	"slices"
	"testing"
)

func TestTarget(t *testing.T) {
	live := []string{"c", "a", "b"}
	got := []int{Target("a", live, 64), Target("b", live, 64), Target("c", live, 64), Target("z", live, 64)}
	if fmt.Sprint(got) != "[22 21 21 0]" {
		t.Fatalf("targets %v, want [22 21 21 0]", got)
	}
	if Target("a", []string{"a"}, 64) != 64 || Target("a", nil, 64) != 0 {
		t.Fatal("one node must own all shards; no live nodes own none")
	}
}

// simulate runs planning rounds over nodes until nothing changes, applying
// each plan to the view as the SQL side would (take = owner set, release
// = owner cleared), and returns the final owners and the rounds taken.
func simulate(t *testing.T, live []string, owner []string, rng *rand.Rand) ([]string, int) {
	t.Helper()
	for round := 1; round <= 20; round++ {
		changed := false
		order := slices.Clone(live)
		rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		for _, n := range order {
			p := PlanFor(n, View{Live: live, Owner: owner})
			for _, s := range p.Take {
				if owner[s] != "" {
					t.Fatalf("node %s plans to take shard %d owned by %s", n, s, owner[s])
				}
				owner[s] = n
				changed = true
			}
			for _, s := range p.Release {
				if owner[s] != n {
					t.Fatalf("node %s releases shard %d it does not own", n, s)
				}
				owner[s] = ""
				changed = true
			}
		}
		if !changed {
			return owner, round
		}
	}
	t.Fatalf("planning did not settle in 20 rounds: %v", owner)
	return nil, 0
}

func checkBalanced(t *testing.T, live []string, owner []string) {
	t.Helper()
	count := map[string]int{}
	for s, o := range owner {
		if o == "" {
			t.Fatalf("shard %d left free", s)
		}
		if !slices.Contains(live, o) {
			t.Fatalf("shard %d owned by %s, not live", s, o)
		}
		count[o]++
	}
	for _, n := range live {
		if want := Target(n, live, len(owner)); count[n] != want {
			t.Fatalf("node %s owns %d shards, target %d (%v)", n, count[n], want, count)
		}
	}
}

func TestPlanSettlesBalanced(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	// A fresh cluster of 3.
	live := []string{"a", "b", "c"}
	owner, _ := simulate(t, live, make([]string, 64), rng)
	checkBalanced(t, live, owner)
	// A joiner gets its share from releases.
	live = append(live, "d")
	owner, _ = simulate(t, live, owner, rng)
	checkBalanced(t, live, owner)
	// A node dies: its shards are free, the others take them.
	live = []string{"a", "c", "d"}
	for s, o := range owner {
		if o == "b" {
			owner[s] = ""
		}
	}
	owner, _ = simulate(t, live, owner, rng)
	checkBalanced(t, live, owner)
	// Down to one node: it takes everything.
	live = []string{"d"}
	for s, o := range owner {
		if o != "d" {
			owner[s] = ""
		}
	}
	owner, _ = simulate(t, live, owner, rng)
	checkBalanced(t, live, owner)
}

// TestPlanTakesAndReleasesToTarget: an over-target node releases its
// highest shards down to its target; an under-target node takes free
// shards up to its target only; a node not live plans nothing.
func TestPlanTakesAndReleasesToTarget(t *testing.T) {
	owner := make([]string, 8)
	for s := range 6 {
		owner[s] = "a"
	}
	p := PlanFor("a", View{Live: []string{"a", "b"}, Owner: owner})
	if fmt.Sprint(p.Release) != "[4 5]" || len(p.Take) != 0 {
		t.Fatalf("plan %+v, want release [4 5]", p)
	}
	if p := PlanFor("z", View{Live: []string{"a", "b"}, Owner: owner}); len(p.Take)+len(p.Release) != 0 {
		t.Fatalf("non-live node plans %+v", p)
	}
	owner = []string{"a", "", "", "", "", "", "", ""}
	p = PlanFor("a", View{Live: []string{"a", "b"}, Owner: owner})
	if len(p.Take) != 3 || len(p.Release) != 0 || slices.Contains(p.Take, 0) {
		t.Fatalf("plan %+v, want 3 free shards taken", p)
	}
	// Two nodes at once reach mostly for different free shards.
	owner = make([]string, 64)
	pa := PlanFor("a", View{Live: []string{"a", "b"}, Owner: owner})
	pb := PlanFor("b", View{Live: []string{"a", "b"}, Owner: owner})
	both := 0
	for _, s := range pa.Take {
		if slices.Contains(pb.Take, s) {
			both++
		}
	}
	if len(pa.Take) != 32 || len(pb.Take) != 32 || both > 24 {
		t.Fatalf("a takes %d, b takes %d, %d in common", len(pa.Take), len(pb.Take), both)
	}
}

// TestPlanRandomViews settles random starting ownerships of random sizes.
func TestPlanRandomViews(t *testing.T) {
	rng := rand.New(rand.NewSource(7))
	for range 200 {
		n := 1 + rng.Intn(6)
		var live []string
		for i := range n {
			live = append(live, fmt.Sprintf("n%d", i))
		}
		owner := make([]string, 1+rng.Intn(100))
		for s := range owner {
			if k := rng.Intn(n + 1); k < n {
				owner[s] = live[k]
			}
		}
		owner, _ = simulate(t, live, owner, rng)
		checkBalanced(t, live, owner)
	}
}
