package webui_test

import (
	"context"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// HeartbeatingWait is an activity that heartbeats until it is cancelled or
// paused (the SDK cancels its context when a heartbeat answers that the
// activity was paused), so a workflow running it has a pending activity for
// the UI's Pending Activities tab.
func HeartbeatingWait(ctx context.Context) error {
	for {
		activity.RecordHeartbeat(ctx)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond): // heartbeat interval
		}
	}
}

// WaitOnActivity runs HeartbeatingWait with a short heartbeat timeout, so
// heartbeats reach the server (and bring back a pause) promptly.
func WaitOnActivity(ctx workflow.Context) error {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: time.Hour,
		HeartbeatTimeout:    2 * time.Second,
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: time.Second},
	})
	return workflow.ExecuteActivity(ctx, HeartbeatingWait).Get(ctx, nil)
}
