package engine

import (
	"context"
	"errors"
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
	clock := time.Now()
	e.now = func() time.Time { return clock }
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
	clock = clock.Add(20 * time.Hour)
	start("recent")
	terminate("recent")
	clock = clock.Add(5 * time.Hour) // "old" closed 25 h ago, "recent" 5 h ago; retention 24 h
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
