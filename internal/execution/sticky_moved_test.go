package execution

import (
	"testing"
	"time"

	"go.temporal.io/api/workflowservice/v1"
)

// A task scheduled on the sticky queue and moved to the normal queue
// without an event (ResetSticky: ShutdownWorker, ResetStickyTaskQueue),
// then started and timed out, is retried as a transient task. Replay must
// rebuild the same count, or a reloaded run had no workflow task at all
// (the harness compares live and replayed state after every step), and
// Recover must schedule the retry.
func TestStickyTaskMovedThenTimedOut(t *testing.T) {
	h := newHarness(t, startAttrs())
	h.poll()
	if err := h.completeReq(&workflowservice.RespondWorkflowTaskCompletedRequest{StickyAttributes: withSticky("sticky-1", DefaultStickyTimeout)}); err != nil {
		t.Fatal(err)
	}
	h.signal("s", "")
	h.wantWFT(6, 0, 1, "sticky-1")
	h.s.ResetSticky()
	h.sync("ResetSticky")
	h.poll()
	h.advance(11 * time.Second)
	h.tick()
	h.wantStep(evWFTTimedOut)

	re := Replay(testNS, testWFID, testRunID, h.events)
	if re.WFT != nil {
		t.Fatalf("replayed run has a workflow task in history: %+v", re.WFT)
	}
	o := re.Recover(h.now)
	var wft *Task
	for i := range o.Tasks {
		if o.Tasks[i].Kind == WorkflowTaskKind {
			wft = &o.Tasks[i]
		}
	}
	if wft == nil || re.WFT == nil {
		t.Fatalf("Recover of the replayed run scheduled no workflow task (tasks %+v)", o.Tasks)
	}
}
