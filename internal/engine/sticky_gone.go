package engine

import (
	"sync"
	"time"
)

// goneStickyTTL is how long a shut-down worker's sticky queue is
// remembered. Its runs are unstuck by ShutdownWorker at once; the memory
// only covers runs that call missed (loaded, moved between nodes or in
// flight at that moment), whose next change is then routed to the normal
// queue instead of waiting out the sticky schedule-to-start timeout.
const goneStickyTTL = 10 * time.Minute

// goneSticky remembers the sticky queues of workers that shut down
// (ShutdownWorker), by namespace and queue name. Sticky queue names are
// unique per worker process, so a name is never polled again.
type goneSticky struct {
	mu sync.Mutex
	at map[[2]string]time.Time
}

func (g *goneSticky) add(ns, queue string, now time.Time) {
	if queue == "" {
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.at == nil {
		g.at = map[[2]string]time.Time{}
	}
	for k, t := range g.at {
		if now.Sub(t) > goneStickyTTL {
			delete(g.at, k)
		}
	}
	g.at[[2]string{ns, queue}] = now
}

func (g *goneSticky) has(ns, queue string) bool {
	if queue == "" {
		return false
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	_, ok := g.at[[2]string{ns, queue}]
	return ok
}
