package engine

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/api/serviceerror"
	taskqueuepb "go.temporal.io/api/taskqueue/v1"
	"go.temporal.io/api/workflowservice/v1"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/sundial-io/sundial/internal/activityexec"
	"github.com/sundial-io/sundial/internal/store"
	"github.com/sundial-io/sundial/internal/store/pebblestore"
)

// TestPurgeExpiredActivities: a standalone activity closed longer ago than
// its namespace's retention is deleted from memory and the store; a
// running one and a recently closed one are kept.
func TestPurgeExpiredActivities(t *testing.T) {
	st, err := pebblestore.Open("", pebblestore.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	e, err := New(st, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	ctx := context.Background()
	// The clock is read by timer goroutines too.
	var clock atomic.Int64
	clock.Store(time.Now().UnixNano())
	e.now = func() time.Time { return time.Unix(0, clock.Load()) }
	advance := func(d time.Duration) { clock.Add(int64(d)) }
	start := func(id string) {
		req, err := activityexec.Normalize(&workflowservice.StartActivityExecutionRequest{Namespace: DefaultNamespace, RequestId: id,
			ActivityId: id, ActivityType: &commonpb.ActivityType{Name: "A"}, TaskQueue: &taskqueuepb.TaskQueue{Name: "q"},
			ScheduleToCloseTimeout: durationpb.New(100 * time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.StartActivityExecution(ctx, req); err != nil {
			t.Fatal(err)
		}
	}
	terminate := func(id string) {
		if err := e.TerminateActivityExecution(ctx, &workflowservice.TerminateActivityExecutionRequest{Namespace: DefaultNamespace, ActivityId: id}); err != nil {
			t.Fatal(err)
		}
	}
	start("old")
	start("running")
	terminate("old")
	advance(20 * time.Hour)
	start("recent")
	terminate("recent")
	advance(5 * time.Hour) // "old" closed 25 h ago, "recent" 5 h ago; retention 24 h
	n, err := e.purgeExpiredActivities()
	if err != nil || n != 1 {
		t.Fatalf("purged %d, %v; want 1", n, err)
	}
	var nf *serviceerror.NotFound
	if _, err := e.DescribeActivityExecution(ctx, &workflowservice.DescribeActivityExecutionRequest{Namespace: DefaultNamespace, ActivityId: "old"}); !errors.As(err, &nf) {
		t.Fatalf("describe purged: %v", err)
	}
	var stored []string
	_ = st.ActivityExecutions(ctx, "", func(r *store.ActivityExecutionRecord) error {
		stored = append(stored, r.ActivityID)
		return nil
	})
	if len(stored) != 2 || stored[0] != "recent" || stored[1] != "running" {
		t.Fatalf("stored after purge: %v", stored)
	}
}

// TestListActivityExecutionsPages: pages of a listing follow each other
// newest first without repeats, and a paused execution counts as Paused.
func TestListActivityExecutionsPages(t *testing.T) {
	st, err := pebblestore.Open("", pebblestore.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	e, err := New(st, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	ctx := context.Background()
	var clock atomic.Int64 // read by timer goroutines too
	clock.Store(time.Now().UnixNano())
	e.now = func() time.Time { return time.Unix(0, clock.Add(int64(time.Millisecond))) }
	for _, id := range []string{"a", "b", "c"} {
		req, err := activityexec.Normalize(&workflowservice.StartActivityExecutionRequest{Namespace: DefaultNamespace, RequestId: id,
			ActivityId: id, ActivityType: &commonpb.ActivityType{Name: "A"}, TaskQueue: &taskqueuepb.TaskQueue{Name: "q"},
			StartToCloseTimeout: durationpb.New(time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.StartActivityExecution(ctx, req); err != nil {
			t.Fatal(err)
		}
	}
	var got []string
	var token []byte
	for page := 0; ; page++ {
		resp, err := e.ListActivityExecutions(ctx, &workflowservice.ListActivityExecutionsRequest{Namespace: DefaultNamespace, PageSize: 2, NextPageToken: token})
		if err != nil {
			t.Fatal(err)
		}
		for _, x := range resp.Executions {
			got = append(got, x.ActivityId)
		}
		if token = resp.NextPageToken; token == nil {
			break
		}
		if page > 2 {
			t.Fatal("listing does not end")
		}
	}
	if len(got) != 3 || got[0] != "c" || got[1] != "b" || got[2] != "a" {
		t.Fatalf("pages = %v", got)
	}
	if err := e.PauseActivityExecution(ctx, &workflowservice.PauseActivityExecutionRequest{Namespace: DefaultNamespace, ActivityId: "b"}); err != nil {
		t.Fatal(err)
	}
	c, err := e.CountActivityExecutions(ctx, &workflowservice.CountActivityExecutionsRequest{Namespace: DefaultNamespace, Query: "GROUP BY ExecutionStatus"})
	if err != nil || c.Count != 3 || len(c.Groups) != 2 || c.Groups[1].Count != 1 || string(c.Groups[1].GroupValues[0].Data) != `"Paused"` {
		t.Fatalf("count = %v, %v", c, err)
	}
}
