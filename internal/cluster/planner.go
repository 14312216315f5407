package cluster

import (
	"hash/fnv"
	"slices"
	"sort"
	"strconv"
)

// View is what a node knows of the cluster when it plans: the live nodes
// and the owner of each shard. It is read from the database in one go,
// so every node plans from (nearly) the same facts and reaches the same
// targets.
type View struct {
	// Live holds the ids of the nodes whose heartbeat is recent.
	Live []string
	// Owner maps every shard to its current live owner; a shard that is
	// free (no owner, lease expired, or owner no longer live) maps to "".
	Owner []string
}

// Plan is what one node should do with shards now.
type Plan struct {
	Take    []int // free shards to take (each with a compare-and-set)
	Release []int // own shards to hand back, so another node can take them
}

// Target returns how many shards node should own: the shards spread over
// the live nodes as evenly as they divide, the first (shards mod nodes)
// nodes in id order getting one more. Zero when node is not live.
func Target(node string, live []string, shards int) int {
	ids := slices.Clone(live)
	sort.Strings(ids)
	i := slices.Index(ids, node)
	if i < 0 || len(ids) == 0 {
		return 0
	}
	t := shards / len(ids)
	if i < shards%len(ids) {
		t++
	}
	return t
}

// PlanFor decides what node should take or release so each live node
// owns about shards/nodes:
//   - under its target, it takes free shards, up to the target;
//   - over its target, it releases the excess: since the targets add up
//     to the shard count, what one node has too many another lacks (or
//     it is free), so a released shard always has a taker.
//
// Free shards are taken in an order particular to the node (a hash of
// node and shard), so nodes that plan at the same moment mostly reach
// for different shards; a collision just loses a compare-and-set. Own
// shards are released from the highest number down.
func PlanFor(node string, v View) Plan {
	shards := len(v.Owner)
	if !slices.Contains(v.Live, node) {
		return Plan{}
	}
	var mine, free []int
	for s, o := range v.Owner {
		switch o {
		case "":
			free = append(free, s)
		case node:
			mine = append(mine, s)
		}
	}
	target := Target(node, v.Live, shards)
	var p Plan
	if len(mine) < target {
		sort.Slice(free, func(i, j int) bool { return takeRank(node, free[i]) < takeRank(node, free[j]) })
		p.Take = free[:min(target-len(mine), len(free))]
		sort.Ints(p.Take)
		return p
	}
	if len(mine) > target {
		p.Release = slices.Clone(mine[target:])
	}
	return p
}

// takeRank orders free shards for one node.
func takeRank(node string, shard int) uint64 {
	h := fnv.New64a()
	h.Write([]byte(node))
	h.Write([]byte{0})
	h.Write([]byte(strconv.Itoa(shard)))
	return h.Sum64()
}
