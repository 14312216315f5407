package engine

import (
	"context"
	"fmt"
	"testing"
	"time"

	commandpb "go.temporal.io/api/command/v1"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	taskqueuepb "go.temporal.io/api/taskqueue/v1"
	"go.temporal.io/api/workflowservice/v1"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/sundial-io/sundial/internal/store/pebblestore"
)

// BenchmarkColdLoad: a Describe of a run not in memory (a cold load), from
// its snapshot and by replay of its history (the snapshot hidden), on a
// Pebble store on disk holding sleeping runs of 24 events (a start,
// signals, a workflow task that started a timer). Each op loads a
// different run: run with -benchtime 2000x.
func BenchmarkColdLoad(b *testing.B) {
	dir := b.TempDir()
	ps, err := pebblestore.Open(dir, pebblestore.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer ps.Close()
	cs := &snapCountingStore{Store: ps}
	ctx := context.Background()
	const runs, signals = 2000, 18
	{
		e, err := New(cs, Options{})
		if err != nil {
			b.Fatal(err)
		}
		for i := 0; i < runs; i++ {
			id := fmt.Sprintf("wf-%d", i)
			if _, err := e.StartWorkflow(ctx, &StartParams{Namespace: DefaultNamespace, WorkflowID: id, WorkflowType: &commonpb.WorkflowType{Name: "T"}, TaskQueue: "q", RequestID: id}); err != nil {
				b.Fatal(err)
			}
			for j := 0; j < signals; j++ {
				if err := e.Signal(ctx, &workflowservice.SignalWorkflowExecutionRequest{Namespace: DefaultNamespace,
					WorkflowExecution: &commonpb.WorkflowExecution{WorkflowId: id}, SignalName: "s", RequestId: fmt.Sprint(id, "-", j)}); err != nil {
					b.Fatal(err)
				}
			}
			// The workflow task starts a timer: the run then sleeps with
			// nothing due (no recovery on the next start).
			resp, err := e.PollWorkflowTask(ctx, &workflowservice.PollWorkflowTaskQueueRequest{Namespace: DefaultNamespace, TaskQueue: &taskqueuepb.TaskQueue{Name: "q"}, Identity: "w"})
			if err != nil {
				b.Fatal(err)
			}
			if _, err := e.CompleteWorkflowTask(ctx, &workflowservice.RespondWorkflowTaskCompletedRequest{Namespace: DefaultNamespace, TaskToken: resp.TaskToken, Identity: "w",
				Commands: []*commandpb.Command{{CommandType: enumspb.COMMAND_TYPE_START_TIMER, Attributes: &commandpb.Command_StartTimerCommandAttributes{
					StartTimerCommandAttributes: &commandpb.StartTimerCommandAttributes{TimerId: "t", StartToFireTimeout: durationpb.New(time.Hour)}}}}}); err != nil {
				b.Fatal(err)
			}
		}
		e.Close()
	}
	for _, mode := range []string{"snapshot", "replay"} {
		b.Run(mode, func(b *testing.B) {
			var none []byte
			if mode == "replay" {
				cs.snapshot.Store(&none)
			} else {
				cs.snapshot.Store(nil)
			}
			e, err := New(cs, Options{})
			if err != nil {
				b.Fatal(err)
			}
			defer e.Close()
			if b.N > runs {
				b.Fatalf("-benchtime %dx loads runs twice: at most %dx", b.N, runs)
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := e.Describe(ctx, DefaultNamespace, &commonpb.WorkflowExecution{WorkflowId: fmt.Sprintf("wf-%d", i)}); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			loads, _ := e.SnapshotStats()
			if (mode == "snapshot") != (loads > 0) {
				b.Fatalf("%s: %d snapshot loads", mode, loads)
			}
		})
	}
}
