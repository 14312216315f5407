package engine

import (
	"context"
	"encoding/json"
	"sync"
	"time"

	"github.com/sundial-io/sundial/internal/matching"
)

// Task offers to other nodes' queues travel in batches, as writes do in
// group commit (docs/CLUSTER.md, "Task queues across nodes"): the offers
// bound for one queue-owning node go in one internal call (opAddTasks).
// No offer waits for a timer: the first offer to a node is sent at once;
// offers made while a call to that node is in flight are held and sent
// together as soon as it returns. Under load each call carries the
// offers of a call's round trip; idle, every offer goes alone as before.
//
// Delivery stays at least once: every offer is still remembered in
// e.offers until its task starts or is stale, and re-sent by reofferLoop
// when its queue's owner changes. An offer the receiving node refuses
// (it does not hold that queue now) or that a failed call carried is
// sent again on its own (sendTaskAlone), with the usual retries.

const opAddTasks = "addTasks"

// maxOfferBatch bounds the offers of one call.
const maxOfferBatch = 256

// addrPeers is what batching needs of the peers (forward.Forwarder): the
// address of a shard's owner, and a call to a node by address.
type addrPeers interface {
	OwnerAddrOf(namespace, key string) string
	CallAt(ctx context.Context, addr, op string, args, result any) error
}

// offerBatches holds, per queue-owning node address, the offers waiting
// for the call in flight to that node.
type offerBatches struct {
	mu      sync.Mutex
	pending map[string][]addTaskArgs
	busy    map[string]bool // a call to that address is in flight
}

// sendTaskBatched queues an offer for its queue owner's next batch. It
// returns false (the caller sends the offer alone) when the peers cannot
// call by address or the owner is unknown.
func (e *Engine) sendTaskBatched(key matching.Key, t matching.Task) bool {
	ap, ok := e.peers.(addrPeers)
	if !ok {
		return false
	}
	addr := ap.OwnerAddrOf(key.Namespace, queueKey(key))
	if addr == "" {
		return false
	}
	b := &e.offers.batches
	b.mu.Lock()
	if b.pending == nil {
		b.pending, b.busy = map[string][]addTaskArgs{}, map[string]bool{}
	}
	b.pending[addr] = append(b.pending[addr], addTaskArgs{key, t})
	start := !b.busy[addr]
	b.busy[addr] = true
	b.mu.Unlock()
	if start {
		e.wg.Add(1)
		go func() { defer e.wg.Done(); e.flushOffers(ap, addr) }()
	}
	return true
}

// flushOffers sends the offers pending for addr, one batch per call,
// until none is left.
func (e *Engine) flushOffers(ap addrPeers, addr string) {
	b := &e.offers.batches
	for {
		select {
		case <-e.stop:
			// Stopping: the offers are forgotten with the engine; the
			// workflows' next owner offers their tasks again.
			return
		default:
		}
		b.mu.Lock()
		batch := b.pending[addr]
		if len(batch) == 0 {
			delete(b.pending, addr)
			delete(b.busy, addr)
			b.mu.Unlock()
			return
		}
		if len(batch) > maxOfferBatch {
			b.pending[addr] = batch[maxOfferBatch:]
			batch = batch[:maxOfferBatch]
		} else {
			delete(b.pending, addr)
		}
		b.mu.Unlock()
		var refused []int
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err := ap.CallAt(ctx, addr, opAddTasks, batch, &refused)
		cancel()
		if err != nil {
			e.log.Debug("sending task offers to their queues' owner failed; sending them one by one", "node", addr, "offers", len(batch), "err", err)
			refused = refused[:0]
			for i := range batch {
				refused = append(refused, i)
			}
		}
		for _, i := range refused {
			if i >= 0 && i < len(batch) {
				e.sendTaskAlone(batch[i].Key, batch[i].Task)
			}
		}
	}
}

// handleAddTasks queues the offers of a batch whose queues this node
// holds and returns the positions of the others (refused: the sender
// sends them again to the queues' current owners).
func (e *Engine) handleAddTasks(_ context.Context, args []byte) (any, error) {
	var batch []addTaskArgs
	if err := json.Unmarshal(args, &batch); err != nil {
		return nil, err
	}
	refused := []int{}
	for i, a := range batch {
		if !e.owns(a.Key.Namespace, queueKey(a.Key)) {
			refused = append(refused, i)
			continue
		}
		e.match.Add(a.Key, a.Task)
	}
	return refused, nil
}
