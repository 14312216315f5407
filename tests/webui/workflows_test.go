package webui_test

import (
	"context"
	"fmt"
	"time"

	"go.temporal.io/sdk/workflow"
)

// The workflows the browser looks at. They run on a worker in the test
// process against the sundial binary.

// Greet completes after one activity, so its history has activity events.
func Greet(ctx workflow.Context, name string) (string, error) {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: 10 * time.Second})
	var out string
	err := workflow.ExecuteActivity(ctx, ComposeGreeting, name).Get(ctx, &out)
	return out, err
}

// ComposeGreeting is Greet's activity.
func ComposeGreeting(ctx context.Context, name string) (string, error) {
	return "Hello, " + name + "!", nil
}

// waiterQuery is the query Waiter answers; waiterSignal ends it.
const (
	waiterQuery  = "progress"
	waiterSignal = "finish"
)

// Waiter runs until it is signalled (or terminated). Its query answers a
// sentence the test looks for on the Queries tab; it returns the signal's
// payload.
func Waiter(ctx workflow.Context, label string) (string, error) {
	if err := workflow.SetQueryHandler(ctx, waiterQuery, func() (string, error) {
		return fmt.Sprintf("%s is waiting for %q", label, waiterSignal), nil
	}); err != nil {
		return "", err
	}
	var got string
	workflow.GetSignalChannel(ctx, waiterSignal).Receive(ctx, &got)
	return "finished by " + got, nil
}
