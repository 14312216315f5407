package execution

import (
	"testing"
	"time"
)

// TestNextAttentionStartedTransientTask: a workflow task retried after a
// timeout is transient (not in history), started or not. A reloaded copy
// has no workflow task at all and Recover schedules the retry, so the run
// needs attention after a crash whether or not the retry was started; with
// the started retry's timeout as its Due, a crash before that timeout left
// the run without any workflow task (found by the cluster crash torture:
// a workflow stuck after WorkflowTaskTimedOut, its signals unhandled).
func TestNextAttentionStartedTransientTask(t *testing.T) {
	h := newHarness(t, startAttrs())
	h.poll()
	h.advance(11 * time.Second) // past the 10 s workflow task timeout
	h.tick()
	if w := h.s.WFT; w == nil || !w.Transient {
		t.Fatalf("after the timeout: WFT %+v, want a transient retry", w)
	}
	h.wantAttention(h.now, "transient retry scheduled")
	h.advance(time.Second)
	h.poll()
	if w := h.s.WFT; w == nil || w.StartedEventID == 0 {
		t.Fatalf("retry not started: %+v", w)
	}
	h.wantAttention(h.now, "transient retry started")
}
