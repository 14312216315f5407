package engine

// settledRead waits until the writes up to seq, which an answer read from
// w's memory rests on, are durable, and reports whether they were stored.
// On a cluster a write whose shard was lost meanwhile is refused by the
// fence: finish then marks it "durable" (later writes of other shards go
// on) after dropping w with fencedOut set. An answer built from that
// memory (an update's outcome, a deduplicated signal) was never stored and
// must not be acknowledged: the caller gets NotOwnerError (Unavailable)
// and retries on the shard's new owner. Found by the crash torture: an
// update acknowledged as completed to the client was missing from the
// workflow's history after the run.
func (e *Engine) settledRead(w *workflow, seq uint64) error {
	e.barrier(seq)
	if err := e.checkHealthy(); err != nil {
		return err
	}
	w.mu.Lock()
	out := w.fencedOut
	w.mu.Unlock()
	if out && e.own != nil {
		return &NotOwnerError{e.own.ShardOf(w.key.ns, w.key.id)}
	}
	return nil
}
