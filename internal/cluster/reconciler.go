package cluster

import (
	"context"
	"log/slog"
	"time"
)

// Reconciler drives what a component keeps of the node's shards
// (schedules, batch jobs): its pass drops what belongs to shards the node
// no longer holds at the epoch it loaded them under and loads what belongs
// to shards newly held. A pass runs when asked (Soon: the node's shards
// changed, or a local lease check saw one move) and every few seconds as
// a backstop for a change missed between the node's notices and a load;
// a failed pass is retried after a second.
type Reconciler struct {
	kick chan struct{}
}

// reconcileBackstop is how often a pass runs unasked.
const reconcileBackstop = 5 * time.Second

// NewReconciler returns a reconciler; Run starts its passes.
func NewReconciler() *Reconciler { return &Reconciler{kick: make(chan struct{}, 1)} }

// Soon asks for a pass without waiting for it. A nil Reconciler (a single
// node) ignores it.
func (r *Reconciler) Soon() {
	if r == nil {
		return
	}
	select {
	case r.kick <- struct{}{}:
	default:
	}
}

// Run calls pass whenever asked and on the backstop until ctx is done;
// what names the component's records in the log line of a failed pass.
func (r *Reconciler) Run(ctx context.Context, log *slog.Logger, what string, pass func() error) {
	t := time.NewTicker(reconcileBackstop)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-r.kick:
		case <-t.C:
		}
		if err := pass(); err != nil && ctx.Err() == nil {
			log.Warn("loading the "+what+" of taken shards failed; retrying", "err", err)
			select {
			case <-ctx.Done():
				return
			case <-time.After(time.Second):
			}
			r.Soon()
		}
	}
}
