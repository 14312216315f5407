package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"sync"
	"testing"
	"time"

	"github.com/sundial-io/sundial/internal/matching"
	"github.com/sundial-io/sundial/internal/store"
	"github.com/sundial-io/sundial/internal/store/pebblestore"
)

// batchOwn is a node's shards (of 8) for the batching tests.
type batchOwn struct{ held map[int]bool }

func batchShardOf(ns, id string) int {
	h := fnv.New32a()
	h.Write([]byte(ns + "\x00" + id))
	return int(h.Sum32() % 8)
}

func (o batchOwn) ShardOf(ns, id string) int { return batchShardOf(ns, id) }
func (o batchOwn) Lease(s int) (*store.Fence, time.Time, bool) {
	if o.held[s] {
		return &store.Fence{Shard: s, Node: "n", Epoch: 1}, time.Time{}, true
	}
	return nil, time.Time{}, false
}
func (o batchOwn) Owned() map[int]int64 {
	m := map[int]int64{}
	for s := range o.held {
		m[s] = 1
	}
	return m
}

// batchNet delivers internal operations between engines in process,
// routing by a fixed shard → address map, and records the calls made.
type batchNet struct {
	owner map[int]string // shard → address
	nodes map[string]*Engine

	gate    chan struct{} // when set, CallAt waits for it first
	entered chan struct{} // CallAt signals here when it starts waiting

	mu      sync.Mutex
	batches []int // offers per addTasks call, in order
	alone   []string
}

func (n *batchNet) deliver(ctx context.Context, addr, op string, args, result any) error {
	b, err := json.Marshal(args)
	if err != nil {
		return err
	}
	n.mu.Lock()
	e := n.nodes[addr]
	n.mu.Unlock()
	res, err := e.HandleOp(ctx, op, b)
	if err != nil {
		return err
	}
	if result != nil {
		rb, _ := json.Marshal(res)
		return json.Unmarshal(rb, result)
	}
	return nil
}

func (n *batchNet) Call(ctx context.Context, ns, key, op string, args, result any) error {
	n.mu.Lock()
	if op == opAddTask {
		n.alone = append(n.alone, args.(addTaskArgs).Key.Name)
	}
	n.mu.Unlock()
	return n.deliver(ctx, n.OwnerAddrOf(ns, key), op, args, result)
}

func (n *batchNet) Owner(ns, key string) string { return n.OwnerAddrOf(ns, key) + "#1" }
func (n *batchNet) OwnerAddrOf(ns, key string) string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.owner[batchShardOf(ns, key)]
}

func (n *batchNet) CallAt(ctx context.Context, addr, op string, args, result any) error {
	if n.gate != nil {
		n.entered <- struct{}{}
		<-n.gate
	}
	n.mu.Lock()
	n.batches = append(n.batches, len(args.([]addTaskArgs)))
	n.mu.Unlock()
	return n.deliver(ctx, addr, op, args, result)
}

func batchEngine(t *testing.T, held map[int]bool, net *batchNet) *Engine {
	t.Helper()
	ps, err := pebblestore.Open("", pebblestore.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	e, err := New(ps, Options{Ownership: batchOwn{held}, Peers: net})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close(); ps.Close() })
	return e
}

// queueOnShard returns an activity queue whose key hashes to shard.
func queueOnShard(t *testing.T, shard int) matching.Key {
	for i := range 1000 {
		k := matching.Key{Namespace: DefaultNamespace, Name: fmt.Sprintf("q%d", i), Kind: matching.Activity}
		if batchShardOf(k.Namespace, queueKey(k)) == shard {
			return k
		}
	}
	t.Fatalf("no queue on shard %d", shard)
	return matching.Key{}
}

func waitBacklog(t *testing.T, e *Engine, k matching.Key, want int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for e.match.Backlog(k) != want {
		if time.Now().After(deadline) {
			t.Fatalf("queue %s holds %d tasks on its owner, want %d", k.Name, e.match.Backlog(k), want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestOfferBatching: offers made while a call to the queue's owner is in
// flight go together in the next call, and each reaches the queue.
func TestOfferBatching(t *testing.T) {
	net := &batchNet{owner: map[int]string{0: "a", 1: "q"}, nodes: map[string]*Engine{},
		gate: make(chan struct{}), entered: make(chan struct{}, 1)}
	a := batchEngine(t, map[int]bool{0: true}, net)
	q := batchEngine(t, map[int]bool{1: true}, net)
	net.nodes["a"], net.nodes["q"] = a, q
	k := queueOnShard(t, 1)
	task := func(i int) matching.Task {
		return matching.Task{Namespace: DefaultNamespace, WorkflowID: fmt.Sprintf("wf%d", i), RunID: "r", ScheduledEventID: 5}
	}
	a.addTask(k, task(0))
	<-net.entered // the first offer's call is in flight
	for i := 1; i <= 4; i++ {
		a.addTask(k, task(i))
	}
	close(net.gate)
	<-net.entered // the second call, carrying the four held offers
	waitBacklog(t, q, k, 5)
	net.mu.Lock()
	defer net.mu.Unlock()
	if fmt.Sprint(net.batches) != "[1 4]" || len(net.alone) != 0 {
		t.Fatalf("calls: batches %v, alone %v; want batches [1 4], none alone", net.batches, net.alone)
	}
}

// TestOfferBatchRefusedSentAlone: an offer the receiving node refuses (it
// does not hold that queue: ownership moved after the sender looked) is
// sent again on its own to the queue's owner; the others of the batch
// are queued on the receiver.
func TestOfferBatchRefusedSentAlone(t *testing.T) {
	net := &batchNet{owner: map[int]string{0: "a", 1: "q", 2: "q"}, nodes: map[string]*Engine{}}
	a := batchEngine(t, map[int]bool{0: true}, net)
	q := batchEngine(t, map[int]bool{1: true}, net) // shard 2 moved to r
	r := batchEngine(t, map[int]bool{2: true}, net)
	net.nodes["a"], net.nodes["q"], net.nodes["r"] = a, q, r
	k1, k2 := queueOnShard(t, 1), queueOnShard(t, 2)
	// Hold the first call so both offers go in one batch.
	net.gate, net.entered = make(chan struct{}), make(chan struct{}, 1)
	a.addTask(k1, matching.Task{Namespace: DefaultNamespace, WorkflowID: "w0", RunID: "r", ScheduledEventID: 5})
	<-net.entered
	a.addTask(k1, matching.Task{Namespace: DefaultNamespace, WorkflowID: "w1", RunID: "r", ScheduledEventID: 5})
	a.addTask(k2, matching.Task{Namespace: DefaultNamespace, WorkflowID: "w2", RunID: "r", ScheduledEventID: 5})
	net.mu.Lock()
	net.owner[2] = "r" // the sender learns the new owner
	net.mu.Unlock()
	close(net.gate)
	<-net.entered
	waitBacklog(t, q, k1, 2)
	waitBacklog(t, r, k2, 1)
	net.mu.Lock()
	defer net.mu.Unlock()
	if fmt.Sprint(net.batches) != "[1 2]" || fmt.Sprint(net.alone) != "["+k2.Name+"]" {
		t.Fatalf("calls: batches %v, alone %v; want batches [1 2], %s alone", net.batches, net.alone, k2.Name)
	}
	if q.match.Backlog(k2) != 0 {
		t.Fatalf("the refusing node queued %d tasks of a queue it does not hold", q.match.Backlog(k2))
	}
}
