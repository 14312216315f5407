package pebblestore

import (
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	workflowpb "go.temporal.io/api/workflow/v1"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/sundial-io/sundial/internal/store"
)

// BenchmarkVisibility measures the listing questions issue 6 bounds at
// 100 ms with a million runs: the newest page of a namespace, and counts
// by status (what `temporal workflow count --query "ExecutionStatus=..."`
// and the Web UI's status tabs ask). The store is filled once with
// SUNDIAL_VIS_BENCH_RUNS runs (default 1,000,000; 1% running, the rest
// closed with mixed statuses), closed and reopened so reads come from
// sstables rather than the memtable.
//
//	go test ./internal/store/pebblestore -run '^$' -bench Visibility -benchtime 20x
func BenchmarkVisibility(b *testing.B) {
	n := 1_000_000
	if v, err := strconv.Atoi(os.Getenv("SUNDIAL_VIS_BENCH_RUNS")); err == nil && v > 0 {
		n = v
	}
	dir := b.TempDir()
	s := mustOpen(b, dir, Options{NoSync: true})
	start := time.Now()
	fillVisibility(b, s, n)
	if err := s.Close(); err != nil {
		b.Fatal(err)
	}
	s = mustOpen(b, dir, Options{})
	defer s.Close()
	b.Logf("filled %d runs in %v", n, time.Since(start).Round(time.Millisecond))
	msPerOp := func(b *testing.B) {
		b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/op")
	}
	b.Run("ListNewest100", func(b *testing.B) {
		for b.Loop() {
			got := 0
			err := s.ListRuns(b.Context(), "default", store.ListOptions{}, func(_ []byte, _ *workflowpb.WorkflowExecutionInfo) error {
				if got++; got == 100 {
					return store.ErrStop
				}
				return nil
			})
			if err != nil || got != 100 {
				b.Fatalf("listed %d: %v", got, err)
			}
		}
		msPerOp(b)
	})
	b.Run("ListNewest100Closed", func(b *testing.B) {
		for b.Loop() {
			got := 0
			err := s.ListRuns(b.Context(), "default", store.ListOptions{ClosedOnly: true}, func(_ []byte, _ *workflowpb.WorkflowExecutionInfo) error {
				if got++; got == 100 {
					return store.ErrStop
				}
				return nil
			})
			if err != nil || got != 100 {
				b.Fatalf("listed %d: %v", got, err)
			}
		}
		msPerOp(b)
	})
	// A filter the index cannot narrow (here on WorkflowType) reads every
	// record of the namespace: the cost a non-status count pays.
	b.Run("FullScan", func(b *testing.B) {
		var got int
		for b.Loop() {
			got = 0
			err := s.ListRuns(b.Context(), "default", store.ListOptions{}, func(_ []byte, info *workflowpb.WorkflowExecutionInfo) error {
				if info.GetType().GetName() == "ProcessOrder" {
					got++
				}
				return nil
			})
			if err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(got), "runs")
		msPerOp(b)
	})
	for _, st := range []enumspb.WorkflowExecutionStatus{enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING, enumspb.WORKFLOW_EXECUTION_STATUS_FAILED, enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED} {
		b.Run("Count"+st.String(), func(b *testing.B) {
			var got int64
			for b.Loop() {
				var err error
				if got, err = s.CountRuns(b.Context(), "default", store.CountBy{}, st); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(got), "runs")
			msPerOp(b)
		})
	}
	// WorkflowType = 'Refund' AND ExecutionStatus = 'Completed' (a quarter
	// of the runs are Refunds).
	b.Run("CountTypeCompleted", func(b *testing.B) {
		var got int64
		for b.Loop() {
			var err error
			if got, err = s.CountRuns(b.Context(), "default", store.ByType("Refund"), enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(got), "runs")
		msPerOp(b)
	})
}

// fillVisibility writes n runs, 1000 per batch, started one second apart.
// Every 100th is running; of the closed ones every 10th failed.
func fillVisibility(b *testing.B, s *Store, n int) {
	base := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	rec := benchRecord("x")
	rec.Info.Memo = nil
	rec.Activities = nil
	batch := &store.Batch{}
	for i := range n {
		r := *rec
		info := proto.Clone(rec.Info).(*workflowpb.WorkflowExecutionInfo)
		r.RunID = fmt.Sprintf("run-%07d", i)
		r.WorkflowID = "order-" + r.RunID
		info.Execution = &commonpb.WorkflowExecution{WorkflowId: r.WorkflowID, RunId: r.RunID}
		info.StartTime = timestamppb.New(base.Add(time.Duration(i) * time.Second))
		if i%4 == 1 {
			info.Type = &commonpb.WorkflowType{Name: "Refund"}
		}
		switch {
		case i%100 == 0:
			info.Status = enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING
		case i%10 == 0:
			info.Status = enumspb.WORKFLOW_EXECUTION_STATUS_FAILED
		default:
			info.Status = enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED
		}
		if info.Status != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
			info.CloseTime = timestamppb.New(base.Add(time.Duration(i)*time.Second + time.Duration(i%7)*time.Minute))
		}
		r.Info = info
		batch.Runs = append(batch.Runs, &store.RunWrite{Record: &r, SetCurrent: true})
		if len(batch.Runs) == 1000 || i == n-1 {
			c, err := s.Apply(batch)
			if err == nil {
				err = c.Wait()
			}
			if err != nil {
				b.Fatal(err)
			}
			batch = &store.Batch{}
		}
	}
}
