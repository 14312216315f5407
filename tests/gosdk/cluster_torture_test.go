package gosdk

import (
	"context"
	"fmt"
	"math/rand"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/sundial-io/sundial/internal/store/pgstore/pgtest"
)

// TortureCounter records every "inc" signal payload and every "add"
// update id it receives, until the "done" signal.
func TortureCounter(ctx workflow.Context) ([]string, error) {
	var seen []string
	if err := workflow.SetUpdateHandler(ctx, "add", func(ctx workflow.Context, id string) (int, error) {
		seen = append(seen, "u:"+id)
		return len(seen), nil
	}); err != nil {
		return nil, err
	}
	inc := workflow.GetSignalChannel(ctx, "inc")
	done := workflow.GetSignalChannel(ctx, "done")
	for finished := false; !finished; {
		sel := workflow.NewSelector(ctx)
		sel.AddReceive(inc, func(c workflow.ReceiveChannel, _ bool) {
			var s string
			c.Receive(ctx, &s)
			seen = append(seen, "s:"+s)
		})
		sel.AddReceive(done, func(c workflow.ReceiveChannel, _ bool) {
			c.Receive(ctx, nil)
			finished = true
		})
		sel.Select(ctx)
	}
	// Signals that came with "done" in one task are still delivered.
	for {
		var s string
		if !inc.ReceiveAsync(&s) {
			break
		}
		seen = append(seen, "s:"+s)
	}
	return seen, nil
}

// TestClusterBinaryKillRounds: three sundial processes on fixed ports,
// workers and clients on all three; while signals and updates flow through
// random nodes, each node in turn is SIGKILLed and restarted.
// Every acknowledged signal and update is then in its workflow's result
// exactly once, and nothing is there twice.
func TestClusterBinaryKillRounds(t *testing.T) {
	pg := pgtest.Start(t, pgtest.Options{})
	url := pg.NewDatabase(t)
	bin := binBuild(t, t.TempDir())
	nodes := make([]*binProc, 3)
	start := func(i int) {
		nodes[i] = clusterBinStartPort(t, bin, url, fmt.Sprintf("127.0.0.1:%d", 18540+i), 18530+i)
	}
	for i := range 3 {
		start(i)
	}
	tq := "torture-" + fmt.Sprint(time.Now().UnixNano())
	var clients []client.Client
	for i := range 3 {
		c, err := client.Dial(client.Options{HostPort: fmt.Sprintf("127.0.0.1:%d", 18530+i), Logger: quietLogger{}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(c.Close)
		clients = append(clients, c)
		binWorker(t, c, tq, func(w worker.Worker) { w.RegisterWorkflow(TortureCounter) })
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	const wfs = 12
	ids := make([]string, wfs)
	for i := range ids {
		ids[i] = fmt.Sprintf("torture-%d", i)
		if _, err := clients[i%3].ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: ids[i], TaskQueue: tq}, TortureCounter); err != nil {
			t.Fatal(err)
		}
	}
	var mu sync.Mutex
	acked := map[string][]string{}
	load, stopLoad := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for g := range 6 {
		wg.Go(func() {
			r := rand.New(rand.NewSource(int64(g)))
			for n := 0; load.Err() == nil; n++ {
				id := ids[r.Intn(wfs)]
				c := clients[r.Intn(3)]
				octx, ocancel := context.WithTimeout(load, 5*time.Second)
				var err error
				var mark string
				if n%3 == 2 {
					uid := fmt.Sprintf("g%d-%d", g, n)
					mark = "u:" + uid
					var h client.WorkflowUpdateHandle
					h, err = c.UpdateWorkflow(octx, client.UpdateWorkflowOptions{WorkflowID: id, UpdateID: uid, UpdateName: "add", Args: []any{uid}, WaitForStage: client.WorkflowUpdateStageCompleted})
					if err == nil {
						err = h.Get(octx, nil)
					}
				} else {
					s := fmt.Sprintf("g%d-%d", g, n)
					mark = "s:" + s
					err = c.SignalWorkflow(octx, id, "", "inc", s)
				}
				ocancel()
				if err == nil {
					mu.Lock()
					acked[id] = append(acked[id], mark)
					mu.Unlock()
				}
				time.Sleep(20 * time.Millisecond)
			}
		})
	}
	first := rand.Intn(3)
	for round := range 3 {
		time.Sleep(2 * time.Second)
		v := (first + round) % 3 // each node is killed once
		_ = nodes[v].signalAndWait(syscall.SIGKILL, 5*time.Second)
		t.Logf("round %d: node %d killed", round, v)
		time.Sleep(time.Second)
		start(v)
	}
	time.Sleep(2 * time.Second)
	stopLoad()
	wg.Wait()
	total := 0
	for _, id := range ids {
		if err := clients[0].SignalWorkflow(ctx, id, "", "done", nil); err != nil {
			t.Fatalf("%s: done: %v", id, err)
		}
	}
	for _, id := range ids {
		var seen []string
		wctx, wcancel := context.WithTimeout(ctx, 30*time.Second)
		err := clients[1].GetWorkflow(wctx, id, "").Get(wctx, &seen)
		wcancel()
		if err != nil {
			t.Fatalf("%s: not finished 30 s after its done signal: %v", id, err)
		}
		count := map[string]int{}
		for _, s := range seen {
			count[s]++
			if count[s] == 2 {
				t.Errorf("%s: %s delivered twice", id, s)
			}
		}
		for _, a := range acked[id] {
			if count[a] == 0 {
				t.Errorf("%s: acknowledged %s lost", id, a)
			}
		}
		total += len(acked[id])
	}
	t.Logf("%d acknowledged signals and updates checked", total)
	if total < 100 {
		t.Errorf("only %d operations acknowledged", total)
	}
}

// clusterBinStartPort is clusterBinStart with a fixed public port (so
// clients reconnect to a restarted node).
func clusterBinStartPort(t *testing.T, bin, url, nodeAddr string, port int) *binProc {
	t.Helper()
	return clusterBinStartArgs(t, bin, url, nodeAddr, "--port", fmt.Sprint(port))
}
