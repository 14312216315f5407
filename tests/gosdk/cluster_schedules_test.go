package gosdk

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"

	"github.com/sundial-io/sundial/internal/cluster"
	"github.com/sundial-io/sundial/internal/forward"
)

// Schedules on a cluster (docs/CLUSTER.md, "Schedules"): a schedule is
// held and fired by the owner of its shard, its RPCs work through any
// node, and it keeps firing on the new owner when its owner dies, with no
// nominal time doubled or skipped.

// scheduleOwner returns the index of the node holding a schedule's shard.
func (tc *testCluster) scheduleOwner(id string) int {
	shard := cluster.ShardOf("default", forward.ScheduleKey(id), 16)
	for i, nd := range tc.nodes {
		if nd.srv == nil {
			continue
		}
		if _, ok := nd.srv.Node().Fence(shard); ok {
			return i
		}
	}
	return -1
}

func TestClusterSchedules(t *testing.T) {
	tc := newCluster(t, 3)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()

	// A schedule owned by node 0, created through node 1, its workflows
	// run by a worker on node 2 only.
	var id string
	for {
		id = "csched-" + uuid.NewString()[:8]
		if tc.scheduleOwner(id) == 0 {
			break
		}
	}
	tc.workersOn([]*clusterNode{tc.nodes[2]}, func(w worker.Worker) { w.RegisterWorkflow(SchedEcho) })
	wfid := "cs-" + uuid.NewString()[:6]
	_, err := tc.nodes[1].c.ScheduleClient().Create(ctx, client.ScheduleOptions{
		ID: id, Overlap: enumspb.SCHEDULE_OVERLAP_POLICY_ALLOW_ALL,
		Spec:   client.ScheduleSpec{Intervals: []client.ScheduleIntervalSpec{{Every: time.Second}}},
		Action: &client.ScheduleWorkflowAction{ID: wfid, Workflow: "SchedEcho", Args: []any{"tick"}, TaskQueue: tc.tq},
	})
	if err != nil {
		t.Fatal(err)
	}
	// An id in use is refused whichever node is asked.
	_, err = tc.nodes[2].c.ScheduleClient().Create(ctx, client.ScheduleOptions{
		ID: id, Spec: client.ScheduleSpec{Intervals: []client.ScheduleIntervalSpec{{Every: time.Hour}}},
		Action: &client.ScheduleWorkflowAction{ID: "x", Workflow: "SchedEcho", TaskQueue: tc.tq},
	})
	if err == nil {
		t.Fatal("second create with the same id through another node succeeded")
	}
	waitFor(t, 20*time.Second, "first actions", func() bool { return len(schedWorkflowIDs(t, tc.nodes[2].c, id)) >= 3 })
	for i, nd := range tc.nodes {
		d, err := nd.c.ScheduleClient().GetHandle(ctx, id).Describe(ctx)
		if err != nil || d.Info.NumActions < 3 {
			t.Fatalf("describe through node %d: %v, %+v", i, err, d)
		}
	}
	// The runs completed (the worker is on another node than the owner).
	for _, wid := range schedWorkflowIDs(t, tc.nodes[1].c, id)[:2] {
		var got string
		if err := tc.nodes[1].c.GetWorkflow(ctx, wid, "").Get(ctx, &got); err != nil || got != "tick" {
			t.Fatalf("%s: %q, %v", wid, got, err)
		}
	}

	// A second schedule, paused, handled through every node: pause,
	// unpause, trigger.
	var id2 string
	for {
		id2 = "csched2-" + uuid.NewString()[:8]
		if tc.scheduleOwner(id2) == 1 {
			break
		}
	}
	wfid2 := "cs2-" + uuid.NewString()[:6]
	h2c, err := tc.nodes[0].c.ScheduleClient().Create(ctx, client.ScheduleOptions{
		ID: id2, Paused: true,
		Spec:   client.ScheduleSpec{Intervals: []client.ScheduleIntervalSpec{{Every: time.Hour}}},
		Action: &client.ScheduleWorkflowAction{ID: wfid2, Workflow: "SchedEcho", Args: []any{"manual"}, TaskQueue: tc.tq},
	})
	if err != nil {
		t.Fatal(err)
	}
	_ = h2c
	h2 := func(i int) client.ScheduleHandle { return tc.nodes[i].c.ScheduleClient().GetHandle(ctx, id2) }
	if err := h2(2).Unpause(ctx, client.ScheduleUnpauseOptions{Note: "go"}); err != nil {
		t.Fatal(err)
	}
	if d, err := h2(0).Describe(ctx); err != nil || d.Schedule.State.Paused || d.Schedule.State.Note != "go" {
		t.Fatalf("after unpause through node 2, node 0 describes %+v, %v", d, err)
	}
	if err := h2(0).Pause(ctx, client.SchedulePauseOptions{Note: "stop"}); err != nil {
		t.Fatal(err)
	}
	if d, err := h2(2).Describe(ctx); err != nil || !d.Schedule.State.Paused || d.Schedule.State.Note != "stop" {
		t.Fatalf("after pause through node 0, node 2 describes %+v, %v", d, err)
	}
	if err := h2(2).Trigger(ctx, client.ScheduleTriggerOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 20*time.Second, "the triggered workflow", func() bool { return len(schedWorkflowIDs(t, tc.nodes[0].c, id2)) == 1 })
	trig := schedWorkflowIDs(t, tc.nodes[0].c, id2)[0]
	var got string
	if err := tc.nodes[0].c.GetWorkflow(ctx, trig, "").Get(ctx, &got); err != nil || got != "manual" {
		t.Fatalf("triggered %s: %q, %v", trig, got, err)
	}
	// List and count see every node's schedules, from every node.
	for i, nd := range tc.nodes {
		it, err := nd.c.ScheduleClient().List(ctx, client.ScheduleListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		seen := map[string]bool{}
		for it.HasNext() {
			e, err := it.Next()
			if err != nil {
				t.Fatal(err)
			}
			seen[e.ID] = true
		}
		if !seen[id] || !seen[id2] {
			t.Fatalf("list through node %d: %v", i, seen)
		}
	}

	// Kill the owner of the first schedule: it goes on firing on the new
	// owner, every second exactly once.
	before, err := tc.nodes[1].c.ScheduleClient().GetHandle(ctx, id).Describe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	tc.nodes[0].kill()
	killed := time.Now()
	tc.waitBalanced()
	h := tc.nodes[2].c.ScheduleClient().GetHandle(ctx, id)
	waitFor(t, 30*time.Second, "actions on the new owner", func() bool {
		d, err := h.Describe(ctx)
		return err == nil && d.Info.NumActions >= before.Info.NumActions+4
	})
	t.Logf("schedule owned by node %d now; %v after the kill", tc.scheduleOwner(id), time.Since(killed).Round(time.Millisecond))
	if err := h.Pause(ctx, client.SchedulePauseOptions{}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	d, err := tc.nodes[1].c.ScheduleClient().GetHandle(ctx, id).Describe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ids := schedWorkflowIDs(t, tc.nodes[1].c, id)
	if n := requireEverySecond(t, wfid, ids); n != d.Info.NumActions {
		t.Fatalf("%d workflows for %d actions: %v", n, d.Info.NumActions, ids)
	}
	first := nominalOf(t, wfid, ids[0])
	if last := nominalOf(t, wfid, ids[len(ids)-1]); !last.After(killed.Add(time.Second)) {
		t.Fatalf("last nominal time %v not after the kill at %v", last, killed)
	}
	t.Log(fmt.Sprintf("%d workflows, one a second from %v, none doubled or skipped across the owner's death", len(ids), first))
}

// TestClusterSchedulesMoveOnJoin: one schedule per shard fires every
// second on two nodes; a third joins and takes shards from the two live
// owners (a hand-over while the old owner runs, not a crash). Every
// schedule, moved or not, fires once per second throughout, none twice.
func TestClusterSchedulesMoveOnJoin(t *testing.T) {
	tc := newCluster(t, 2)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	ids := make([]string, 16)
	for n := 0; n < 16; {
		id := "cjoin-" + uuid.NewString()[:8]
		if s := cluster.ShardOf("default", forward.ScheduleKey(id), 16); ids[s] == "" {
			ids[s] = id
			n++
		}
	}
	// No worker: the starts are what is checked.
	wf := map[string]string{}
	for i, id := range ids {
		wf[id] = "cj-" + uuid.NewString()[:6]
		if _, err := tc.nodes[i%2].c.ScheduleClient().Create(ctx, client.ScheduleOptions{
			ID: id, Overlap: enumspb.SCHEDULE_OVERLAP_POLICY_ALLOW_ALL,
			Spec:   client.ScheduleSpec{Intervals: []client.ScheduleIntervalSpec{{Every: time.Second}}},
			Action: &client.ScheduleWorkflowAction{ID: wf[id], Workflow: "SchedEcho", TaskQueue: tc.tq},
		}); err != nil {
			t.Fatal(err)
		}
	}
	owners := map[string]int{}
	for _, id := range ids {
		owners[id] = tc.scheduleOwner(id)
	}
	time.Sleep(2 * time.Second)
	tc.add()
	tc.waitBalanced()
	moved := 0
	for _, id := range ids {
		if tc.scheduleOwner(id) == 2 {
			moved++
		}
	}
	if moved == 0 {
		t.Fatalf("no schedule moved to the joiner: owners before %v", owners)
	}
	time.Sleep(3 * time.Second)
	for _, id := range ids {
		if err := tc.nodes[2].c.ScheduleClient().GetHandle(ctx, id).Pause(ctx, client.SchedulePauseOptions{}); err != nil {
			t.Fatalf("pause %s: %v", id, err)
		}
	}
	time.Sleep(300 * time.Millisecond)
	total := 0
	for _, id := range ids {
		d, err := tc.nodes[0].c.ScheduleClient().GetHandle(ctx, id).Describe(ctx)
		if err != nil {
			t.Fatal(err)
		}
		got := schedWorkflowIDs(t, tc.nodes[1].c, id)
		if n := requireEverySecond(t, wf[id], got); n != d.Info.NumActions || n < 5 {
			t.Fatalf("%s (owner %d, then %d): %d workflows for %d actions: %v", id, owners[id], tc.scheduleOwner(id), n, d.Info.NumActions, got)
		}
		total += len(got)
	}
	t.Logf("%d schedules of 16 moved to the joiner; %d workflows, one per schedule and second", moved, total)
}
